"""How many masks an upload holds, and whose folder holds them: archives made by Info-ZIP, GNU
tar and 7-Zip of real PNGs written by Pillow, checked by `verify` and by the sync.

- An image's masks under several suffixes or extensions (an older export's `labels/img_001_label.png`
  beside `masks/img_001_mask.png`, a fix named `img_001_seg.png`) are one mask, as matching
  takes them: the receipt, the batch's mask check and the Receipts page say 3 masks for 3 images.
- Only a folder naming a batch of the list is another batch's: a dated `export_batch_20261207/`,
  `Batch 2026/` or `masks_batch_999/` name no batch, so their masks count for the upload's.
"""

from dataclasses import replace

import numpy as np
import pytest

from segcore.masks.mask_check import verify
from segcore.masks.receipts import list_receipts
from segcore.report import stats
from segcore.store.connection import open_databases
from segcore.sync import sync
from tests.archives import archive_with
from tests.masks_content_files import label_square, png

IMAGES = ["img_001.png", "img_002.png", "img_003.png"]
SHAPE = (32, 40)
OPTIONS = {"zip": (), "tar": ("-czf",), "7z": ()}
ENDING = {"zip": ".zip", "tar": ".tar.gz", "7z": ".7z"}


@pytest.fixture
def lab(dbs, client, tmp_path):
    """batch_1 to batch_3 (three 32×40 PNGs each), and `lab.add(id)` for one more."""
    data = tmp_path / "data"

    def add(batch: str, stored_id: str | None = None):
        (data / batch).mkdir(parents=True)
        for name in IMAGES:
            png(data / batch / name, np.full(SHAPE, 80))
        dbs.work.batches.insert_one(
            {"id": stored_id or batch, "folder": str(data / batch), "status": "pending"}
        )

    for batch in ("batch_1", "batch_2", "batch_3"):
        add(batch)
    databases = open_databases(replace(dbs.settings, data_directory=data), client=client)
    databases.add = add
    return databases


def masks(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        png(folder / name, label_square(SHAPE))
    return folder


def packed(tool: str, root, tmp_path, name: str) -> tuple[str, bytes]:
    filename = name + ENDING[tool]
    return filename, archive_with(tool, root, tmp_path / filename, *OPTIONS[tool])


def mask_checks(lab) -> dict:
    return {
        d["id"]: d.get("mask_check") for d in lab.work.batches.find({}, {"id": 1, "mask_check": 1})
    }


def receipt_of(lab, filename: str) -> dict:
    return next(r for r in list_receipts(lab.work) if r["filename"] == filename)


# --- one mask per image, whatever its suffix -------------------------------------------------


@pytest.mark.parametrize("tool", ["zip", "tar", "7z"])
def test_an_older_exports_mask_beside_the_new_one_is_the_same_mask(lab, upload, tmp_path, tool):
    """batch_1's upload holds `masks/img_00N_mask.png` and, from an older export,
    `labels/img_001_label.png`: 3 masks, matched 3, as batch_2's with `old/img_001_mask.png`."""
    first = tmp_path / "b1"
    masks(first / "masks", [n.replace(".png", "_mask.png") for n in IMAGES])
    masks(first / "labels", ["img_001_label.png"])
    second = tmp_path / "b2"
    masks(second / "masks", [n.replace(".png", "_mask.png") for n in IMAGES])
    masks(second / "old", ["img_001_mask.png"])
    upload(*packed(tool, first, tmp_path, "batch_1"), batch_id="batch_1")
    upload(*packed(tool, second, tmp_path, "batch_2"), batch_id="batch_2")
    verify(lab, author="test")
    found = mask_checks(lab)
    for batch in ("batch_1", "batch_2"):
        receipt = receipt_of(lab, batch + ENDING[tool])
        assert (receipt["masks"], receipt["matched"], receipt["problem"]) == (3, 3, None)
        assert (found[batch]["masks"], found[batch]["matched"]) == (3, 3)


def test_a_fix_named_with_another_suffix_leaves_three_masks(lab, upload, tmp_path):
    """A first upload of `img_00N_mask.png`, then a fix of img_001 saved by another tool as
    `img_001_seg.png`: the fix replaces the mask, and the batch holds 3 masks, not 4."""
    first = masks(tmp_path / "first", [n.replace(".png", "_mask.png") for n in IMAGES])
    fix = masks(tmp_path / "fix", ["img_001_seg.png"])
    upload(*packed("zip", first, tmp_path, "batch_1"), batch_id="batch_1")
    sync.run_sync(lab)
    upload(*packed("tar", fix, tmp_path, "batch_1_fix"), batch_id="batch_1")
    sync.run_sync(lab)
    found = mask_checks(lab)["batch_1"]
    assert (found["state"], found["masks"], found["matched"]) == ("complete", 3, 3)
    assert receipt_of(lab, "batch_1_fix.tar.gz")["masks"] == 1
    assert stats.summary(lab.work).delivered == 1


def test_a_stored_check_counting_by_name_is_counted_again(lab, upload, tmp_path):
    """A batch's result stored by the earlier rule (4 masks: one per name) is recomputed by
    the next check, so its figures follow the rule without `--recheck`."""
    root = tmp_path / "b1"
    masks(root / "masks", [n.replace(".png", "_mask.png") for n in IMAGES])
    masks(root / "labels", ["img_001_label.png"])
    upload(*packed("zip", root, tmp_path, "batch_1"), batch_id="batch_1")
    verify(lab, author="test")
    lab.work.batches.update_one(
        {"id": "batch_1"}, {"$set": {"mask_check.masks": 4, "mask_check.version": 5}}
    )
    verify(lab, author="test")
    assert mask_checks(lab)["batch_1"]["masks"] == 3


# --- only a batch of the list has a folder of its own ----------------------------------------


@pytest.mark.parametrize("tool", ["zip", "tar", "7z"])
@pytest.mark.parametrize(
    "folder", ["export_batch_20261207/masks", "Batch 2026/masks", "masks_batch_999", "batch_20"]
)
def test_masks_under_a_folder_naming_no_batch_of_the_list_count(
    lab, upload, tmp_path, tool, folder
):
    """A dated export folder, a year, a batch number nobody imported: no batch owns them, so
    the masks are batch_2's and it is delivered."""
    root = tmp_path / "m"
    masks(root / folder, [n.replace(".png", "_mask.png") for n in IMAGES])
    upload(*packed(tool, root, tmp_path, "batch_2"), batch_id="batch_2")
    sync.run_sync(lab)
    found = mask_checks(lab)["batch_2"]
    assert (found["state"], found["masks"], found["usable"]) == ("complete", 3, True)
    assert not [f for f in found["other_files"] if "folder, not this batch's" in f]
    assert receipt_of(lab, "batch_2" + ENDING[tool])["problem"] is None
    assert stats.summary(lab.work).delivered == 1


@pytest.mark.parametrize(
    "folder, stored_id, named",
    [
        ("batch_3", "batch_3", "batch_3"),  # another batch of the list
        ("Batch 3", "batch_3", "batch_3"),  # any spelling of its id
        ("ｂａｔｃｈ＿３", "batch_3", "batch_3"),  # full-width, typed with an IME
        ("batch_7", "batch_0007", "batch_7"),  # a legacy id stored with leading zeros
    ],
)
def test_masks_under_a_listed_batchs_folder_stay_that_batchs(
    lab, upload, tmp_path, folder, stored_id, named
):
    """`batch_1.zip` holding batch_1's img_001 mask and a listed batch's folder whole: those
    masks never stand in for batch_1's, by whatever spelling the folder names that batch."""
    if stored_id == "batch_0007":
        lab.add("batch_0007")
    root = tmp_path / "m"
    masks(root / "batch_1", ["img_001_mask.png"])
    masks(root / folder, [n.replace(".png", "_mask.png") for n in IMAGES])
    upload(*packed("zip", root, tmp_path, "batch_1"), batch_id="batch_1")
    sync.run_sync(lab)
    found = mask_checks(lab)["batch_1"]
    assert (found["state"], found["missing"]) == ("incomplete", ["img_002.png", "img_003.png"])
    said = f"{folder}/img_002_mask.png (in {named}'s folder, not this batch's)"
    assert said in found["other_files"]


def test_a_batch_imported_after_the_upload_owns_its_folder_from_the_next_check(
    lab, upload, tmp_path
):
    """`batch_1.zip` holds `batch_9/` before batch_9 is in the list: its masks count for
    batch_1. Once batch_9 is imported, the next `verify` lists the upload again and they are
    batch_9's folder's, as they would have been had the list held it."""
    root = tmp_path / "m"
    masks(root / "batch_9", [n.replace(".png", "_mask.png") for n in IMAGES])
    upload(*packed("tar", root, tmp_path, "batch_1"), batch_id="batch_1")
    verify(lab, author="test")
    assert mask_checks(lab)["batch_1"]["state"] == "complete"
    lab.add("batch_9")
    report = verify(lab, author="test")
    assert report.checked_uploads == 1
    found = mask_checks(lab)["batch_1"]
    assert (found["state"], found["matched"]) == ("incomplete", 0)
    assert receipt_of(lab, "batch_1.tar.gz")["problem"] == "incomplete"
    assert verify(lab, author="test").checked_uploads == 0  # listed once, not every time


@pytest.mark.parametrize("tool", ["zip", "tar"])
def test_a_third_batchs_folder_in_an_upload_naming_two_is_listed_not_lost(
    lab, upload, tmp_path, tool
):
    """`batch_1_to_batch_2` holding `batch_3/` too (zipped along by mistake): its mask is
    batch_3's, listed among the other files of the upload and of both batches, so the receipt
    adds up (5 masks, 5 matched) and says why batch_2 lacks img_002 (it counted 6 masks,
    matched 5, and named the sixth nowhere)."""
    root = tmp_path / "m"
    masks(root / "batch_1", ["img_001_mask.png", "img_002_mask.png", "img_003_mask.png"])
    masks(root / "batch_2", ["img_001_mask.png", "img_003_mask.png"])
    masks(root / "batch_3", ["img_002_mask.png"])
    filename, data = packed(tool, root, tmp_path, "batch_1_to_batch_2")
    upload(filename, data)
    sync.run_sync(lab)
    verify(lab, author="test")
    found = mask_checks(lab)
    said = "batch_3/img_002_mask.png (in batch_3's folder, not this batch's)"
    assert (found["batch_1"]["state"], found["batch_2"]["missing"]) == (
        "complete",
        ["img_002.png"],
    )
    assert said in found["batch_2"]["other_files"]
    receipt = receipt_of(lab, filename)
    assert (receipt["masks"], receipt["matched"], receipt["extra"]) == (5, 5, [])
    assert said in receipt["other_files"]
