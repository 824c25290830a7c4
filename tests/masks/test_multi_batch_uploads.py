"""One upload for several batches (`batch_1_to_batch_2.zip`): each batch counts the masks under
the folder naming it, and those under no such folder. Real PNGs by Pillow, packed by Info-ZIP
and GNU tar, stored in GridFS, checked by `verify` and by the sync."""

from dataclasses import replace

import numpy as np
import pytest

from segcore.core.actors import Actor
from segcore.masks.mask_check import batch_detail, verify
from segcore.masks.owed_receipts import batch_problem
from segcore.masks.receipts import list_receipts
from segcore.report import stats
from segcore.store.connection import open_databases
from segcore.sync import sync
from segcore.team import team
from segcore.views import my_work
from tests.archives import archive_with
from tests.masks_content_files import label_square, png

IMAGES = ["img_001.png", "img_002.png", "img_003.png"]
MASKS = [n.replace(".png", "_mask.png") for n in IMAGES]


@pytest.fixture
def lab(dbs, client, tmp_path):
    """batch_1 and batch_2, the same three image names in each (32×40 PNGs)."""
    data = tmp_path / "data"
    for batch in ("batch_1", "batch_2"):
        (data / batch).mkdir(parents=True)
        for name in IMAGES:
            png(data / batch / name, np.full((32, 40), 80))
        dbs.work.batches.insert_one({"id": batch, "folder": str(data / batch), "status": "pending"})
    return open_databases(replace(dbs.settings, data_directory=data), client=client)


def masks(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        png(folder / name, label_square((32, 40)))
    return folder


def checks(lab) -> dict:
    return {
        d["id"]: d.get("mask_check") for d in lab.work.batches.find({}, {"id": 1, "mask_check": 1})
    }


@pytest.mark.parametrize("run", ["verify", "sync"])
@pytest.mark.parametrize("tool", ["zip", "tar"])
def test_each_batch_counts_the_masks_under_its_own_folder(lab, upload, tmp_path, run, tool):
    """batch_2/ lacks img_002's mask: batch_2 is incomplete though batch_1/ holds one; the mask
    beside the folders (img_003's) is every batch's."""
    root = tmp_path / "m"
    masks(root / "batch_1", MASKS[:2])
    masks(root / "batch_2", MASKS[:1])
    masks(root, MASKS[2:])
    name = "batch_1_to_batch_2" + (".zip" if tool == "zip" else ".tar.gz")
    options = () if tool == "zip" else ("-czf",)
    upload(name, archive_with(tool, root, tmp_path / name, *options))
    if run == "verify":
        verify(lab)
    else:
        sync.run_sync(lab)
    found = checks(lab)
    assert (found["batch_1"]["state"], found["batch_1"]["usable"]) == ("complete", True)
    assert (found["batch_2"]["state"], found["batch_2"]["usable"]) == ("incomplete", False)
    assert found["batch_2"]["missing"] == ["img_002.png"]
    receipt = list_receipts(lab.work)[0]
    assert receipt["problem"] == "incomplete" and receipt["usable"] is False
    parts = {p["id"]: (p["matched"], p["missing"]) for p in receipt["parts"]}
    assert parts == {"batch_1": (3, []), "batch_2": (2, ["img_002.png"])}
    assert batch_detail(lab, "batch_2").missing == ["img_002.png"]


@pytest.mark.parametrize("run", ["verify", "sync"])
def test_each_batch_is_sent_back_for_its_own_part_and_its_holder_reads_only_that(
    lab, upload, tmp_path, run
):
    """Flor's batch_1_to_batch_2.zip holds one mask per batch. Ignacio's batch_2 went to rework
    with the upload's one reason, about Flor's batch ("incomplete: batch_1: 2 of 3 images
    without a mask"), which his own page showed him."""
    for name, batch in (("Flor", "batch_1"), ("Ignacio", "batch_2")):
        team.add_member(lab.work, name, author="test")
        lab.work.batches.update_one({"id": batch}, {"$set": {"assignee": name}})
    root = tmp_path / "m"
    masks(root / "batch_1", MASKS[:1])
    masks(root / "batch_2", MASKS[:1])
    upload("batch_1_to_batch_2.zip", archive_with("zip", root, tmp_path / "both.zip"))
    verify(lab) if run == "verify" else sync.run_sync(lab)
    stored = {
        d["id"]: d for d in lab.work.batches.find({}, {"id": 1, "status": 1, "rework_reason": 1})
    }
    for batch in ("batch_1", "batch_2"):
        assert stored[batch]["status"] == "rework"
        assert (
            stored[batch]["rework_reason"] == f"incomplete: {batch}: 2 of 3 images without a mask"
        )
    ignacio = Actor("ignacio", "segmentador", "Ignacio")
    [seen] = my_work.my_reviews(lab.work, ignacio)
    assert (seen["id"], seen["note"]) == (
        "batch_2",
        "incomplete: batch_2: 2 of 3 images without a mask",
    )
    # the coordinator's Receipts page keeps the upload's whole reason
    assert list_receipts(lab.work)[0]["reason"] == "batch_1: 2 of 3 images without a mask"


def _both(problem: str, reason: str, parts: list[dict]) -> dict:
    """A stored receipt of batch_1_to_batch_2.zip."""
    return {"problem": problem, "reason": reason, "batches": ["batch_1", "batch_2"], "parts": parts}


@pytest.mark.parametrize(
    "receipt, expected",
    [
        (  # batch_2 lacks nothing of its own (its images unknown): no problem, no reason
            _both(
                "incomplete",
                "batch_1: 2 of 3 images without a mask",
                [{"id": "batch_1", "images": 3, "missing_count": 2}, {"id": "batch_2"}],
            ),
            None,
        ),
        (  # the file itself: every batch's problem, in its words
            _both("unreadable", "truncated", [{"id": "batch_1"}, {"id": "batch_2"}]),
            "unreadable: truncated",
        ),
        (  # content problems of the upload, told without the other batch's count
            _both("content", "3 content problems", [{"id": "batch_1"}, {"id": "batch_2"}]),
            "content problems: the content checks found problems",
        ),
    ],
)
def test_a_batch_of_a_multi_batch_upload_gets_its_own_problem_only(receipt, expected):
    assert batch_problem(receipt, "batch_2") == expected


@pytest.mark.parametrize("tool", ["zip", "tar"])
@pytest.mark.parametrize("beside", [False, True])
def test_the_receipt_counts_the_masks_under_every_batch_folder(lab, upload, tmp_path, tool, beside):
    """batch_1/ and batch_2/ hold masks of the same names: the receipt said "3 masks, matched
    6". Each folder's masks are its batch's own; one beside the folders (`beside`: img_003's
    for batch_2) counts once, whichever batches it counts for."""
    root = tmp_path / "m"
    masks(root / "batch_1", MASKS)
    masks(root / "batch_2", MASKS[:2] if beside else MASKS)
    if beside:
        masks(root, MASKS[2:])
    name = "batch_1_to_batch_2" + (".zip" if tool == "zip" else ".tar.gz")
    options = () if tool == "zip" else ("-czf",)
    upload(name, archive_with(tool, root, tmp_path / name, *options))
    sync.run_sync(lab)
    receipt = list_receipts(lab.work)[0]
    assert (receipt["masks"], receipt["matched"], receipt["problem"]) == (6, 6, None)
    assert [p["matched"] for p in receipt["parts"]] == [3, 3]
    assert stats.summary(lab.work).delivered == 2


@pytest.mark.parametrize("tool", ["zip", "tar"])
def test_an_upload_naming_one_batch_counts_no_mask_under_another_batchs_folder(
    lab, upload, tmp_path, tool
):
    """batch_1.zip (`batch_id: batch_1`) holds batch_1/ with img_001's mask, img_003's beside
    the folders, and batch_2/ whole (two batch folders zipped, named after the first):
    batch_2's masks never stand in for batch_1's img_002, as they would not in
    batch_1_to_batch_2.zip. They are listed among the upload's other files, saying why."""
    root = tmp_path / "m"
    masks(root / "batch_1", MASKS[:1])
    masks(root, MASKS[2:])
    masks(root / "batch_2", MASKS)
    name = "batch_1" + (".zip" if tool == "zip" else ".tar.gz")
    options = () if tool == "zip" else ("-czf",)
    upload(name, archive_with(tool, root, tmp_path / name, *options), batch_id="batch_1")
    sync.run_sync(lab)
    found = checks(lab)
    assert (found["batch_1"]["state"], found["batch_1"]["usable"]) == ("incomplete", False)
    assert found["batch_1"]["missing"] == ["img_002.png"]
    assert found["batch_2"] is None
    elsewhere = [f"batch_2/{m} (in batch_2's folder, not this batch's)" for m in MASKS]
    assert set(elsewhere) <= set(found["batch_1"]["other_files"])
    receipt = list_receipts(lab.work)[0]
    assert (receipt["masks"], receipt["matched"], receipt["problem"]) == (2, 2, "incomplete")
    assert set(elsewhere) <= set(receipt["other_files"])
    assert stats.summary(lab.work).delivered == 0
