"""A batch's content is its images' newest masks: a corrected re-upload replaces what was wrong,
and the masks of an upload that cannot be read to its end count as unreadable. Real PNGs by
Pillow, packed by Info-ZIP and 7-Zip, uploaded to GridFS, synced and checked."""

import json
from dataclasses import replace

import numpy as np
import pytest

from segcore.masks.receipts import list_receipts
from segcore.store.connection import open_databases
from tests.archives import archive_with
from tests.masks_content_files import label_square, png

SHAPE = (32, 40)


@pytest.fixture
def lab(dbs, client, tmp_path):
    data = tmp_path / "data" / "batch_1"
    data.mkdir(parents=True)
    for n in (1, 2, 3):
        png(data / f"img_00{n}.png", np.full(SHAPE, 80))
    dbs.work.batches.insert_one({"id": "batch_1", "folder": str(data), "status": "pending"})
    settings = replace(dbs.settings, data_directory=tmp_path / "data", mask_labels=(0.0, 1.0))
    return open_databases(settings, client=client)


def masks(folder, empty=(), only=None):
    """PNG masks of the three images (`empty`: those left all zero; `only`: just those)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in only or (1, 2, 3):
        array = np.zeros(SHAPE) if n in empty else label_square(SHAPE)
        png(folder / f"img_00{n}_mask.png", array)
    return folder


def status(lab) -> str:
    return lab.work.batches.find_one({"id": "batch_1"})["status"]


@pytest.fixture
def sync_and_check(dbs, run_cli, tmp_path):
    """`segcore sync --verify --content`, as the coordinator's schedule runs it; batch_1's
    content as the run stored it."""

    def run() -> dict:
        env = {"DATA_DIRECTORY": str(tmp_path / "data"), "MASK_LABELS": "0,1"}
        done = run_cli("sync", "--verify", "--content", "--json", env=env)
        assert done.returncode == 0, done.stderr
        return {**(dbs.work.batches.find_one({"id": "batch_1"}).get("mask_content") or {})}

    return run


@pytest.mark.parametrize("only", [None, (2,)], ids=["whole batch again", "the fixed mask alone"])
def test_a_corrected_re_upload_replaces_the_wrong_mask(lab, upload, tmp_path, only, sync_and_check):
    first = archive_with("zip", masks(tmp_path / "first", empty=(2,)), tmp_path / "1.zip")
    upload("batch_1_masks.zip", first)
    row = sync_and_check()
    assert (row["problems"], status(lab)) == (1, "rework")
    second = archive_with("zip", masks(tmp_path / "second", only=only), tmp_path / "2.zip")
    upload("batch_1_masks_fixed.zip", second)
    row = sync_and_check()
    assert (row["checked"], row["problems"], row["offenders"]) == (3, 0, [])
    assert status(lab) == "review"
    newest = list_receipts(lab.work)[0]
    assert (newest["filename"], newest["usable"]) == ("batch_1_masks_fixed.zip", True)


def test_a_wrong_re_upload_replaces_a_right_mask(lab, upload, tmp_path, sync_and_check):
    upload("batch_1_masks.zip", archive_with("zip", masks(tmp_path / "a"), tmp_path / "1.zip"))
    assert sync_and_check()["problems"] == 0
    again = archive_with("zip", masks(tmp_path / "b", empty=(3,), only=(3,)), tmp_path / "2.zip")
    upload("batch_1_img3.zip", again)
    row = sync_and_check()
    assert (row["checked"], row["problems"], status(lab)) == (3, 1, "rework")
    assert [o["name"] for o in row["offenders"]] == ["img_003_mask.png"]


def test_masks_of_a_7z_whose_data_cannot_be_read_are_unreadable(
    lab, upload, tmp_path, sync_and_check
):
    """Its headers list every mask (so it is complete), its packed data is damaged: each mask
    it counted is unreadable and the upload is not usable."""
    data = bytearray(
        archive_with("7z", masks(tmp_path / "m"), tmp_path / "m.7z", "-mx=9", "-mhc=off")
    )
    packed_end = 32 + int.from_bytes(data[12:20], "little")  # the start header's next offset
    middle = (32 + packed_end) // 2
    data[middle - 4 : middle + 4] = bytes(8)  # in the packed data, before the headers
    upload("batch_1_masks.7z", bytes(data))
    row = sync_and_check()
    assert (row["checked"], row["counts"]["unreadable"], row["problems"]) == (3, 3, 3)
    assert status(lab) == "rework"
    receipt = list_receipts(lab.work)[0]
    assert (receipt["usable"], receipt["problem"]) == (False, "content")
    # a good re-upload makes the batch delivered
    upload("batch_1_again.zip", archive_with("zip", masks(tmp_path / "n"), tmp_path / "n.zip"))
    assert sync_and_check()["problems"] == 0
    assert status(lab) == "review"


@pytest.fixture
def two(dbs, tmp_path):
    """batch_1 of 40×32 images and batch_2 of 64×64 ones, the same image names in both."""
    for batch, shape in (("batch_1", (32, 40)), ("batch_2", (64, 64))):
        folder = tmp_path / "data" / batch
        folder.mkdir(parents=True)
        for n in (1, 2):
            png(folder / f"img_00{n}.png", np.full(shape, 80))
        dbs.work.batches.insert_one({"id": batch, "folder": str(folder), "status": "pending"})
    return dbs


def test_one_upload_for_two_batches_checks_each_mask_against_its_own_batch(
    two, upload, tmp_path, sync_and_check
):
    """`batch_1/img_001_mask.png` is batch_1's, `batch_2/img_001_mask.png` batch_2's: each is
    compared with its own batch's image, and a problem of one batch is never the other's."""
    masks = tmp_path / "m"
    for batch, shape in (("batch_1", (32, 40)), ("batch_2", (64, 64))):
        (masks / batch).mkdir(parents=True)
        for n in (1, 2):
            empty = batch == "batch_2" and n == 2
            png(
                masks / batch / f"img_00{n}_mask.png",
                np.zeros(shape) if empty else label_square(shape),
            )
    upload("batch_1_and_batch_2.zip", archive_with("zip", masks, tmp_path / "both.zip"))
    sync_and_check()
    content = {
        d["id"]: d["mask_content"] for d in two.work.batches.find({}, {"id": 1, "mask_content": 1})
    }
    assert (content["batch_1"]["checked"], content["batch_1"]["problems"]) == (2, 0)
    assert (content["batch_2"]["checked"], content["batch_2"]["problems"]) == (2, 1)
    assert [o["name"] for o in content["batch_2"]["offenders"]] == ["img_002_mask.png"]
    assert content["batch_1"]["offenders"] == []
    statuses = {d["id"]: d["status"] for d in two.work.batches.find({}, {"id": 1, "status": 1})}
    assert statuses == {"batch_1": "review", "batch_2": "rework"}


def test_a_mask_of_zero_bytes_never_replaces_a_right_one(lab, upload, tmp_path, sync_and_check):
    upload("batch_1_masks.zip", archive_with("zip", masks(tmp_path / "a"), tmp_path / "1.zip"))
    assert sync_and_check()["problems"] == 0
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "img_002_mask.png").write_bytes(b"")  # a failed export
    upload("batch_1_again.zip", archive_with("zip", folder, tmp_path / "2.zip"))
    upload("batch_1/img_003_mask.png", b"")
    row = sync_and_check()
    assert (row["checked"], row["problems"], status(lab)) == (3, 0, "review")


def test_an_upload_re_tagged_to_another_batch_moves_its_content_with_it(
    two, upload, tmp_path, sync_and_check
):
    """Its metadata named batch_2 by mistake, then batch_1: the empty mask is batch_1's."""
    folder = tmp_path / "m"
    folder.mkdir()
    png(folder / "img_001_mask.png", np.zeros((32, 40)))
    upload_id = upload(
        "masks.zip", archive_with("zip", folder, tmp_path / "m.zip"), batch_id="batch_2"
    )
    sync_and_check()
    two.masks_files.update_one({"_id": upload_id}, {"$set": {"metadata.batch_id": "batch_1"}})
    sync_and_check()
    content = {
        d["id"]: d.get("mask_content") or {}
        for d in two.work.batches.find({}, {"id": 1, "mask_content": 1})
    }
    assert content["batch_1"]["problems"] == 1
    assert content["batch_2"].get("problems", 0) == 0


def delete_upload(dbs, upload_id) -> None:
    """What an annotator's tool does to take an upload back: its file document and chunks."""
    dbs.masks_files.delete_one({"_id": upload_id})
    dbs.training[f"{dbs.settings.masks_bucket}.chunks"].delete_many({"files_id": upload_id})


def delivered(run_cli) -> int:
    done = run_cli("status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["delivered"]


def test_a_deleted_part_or_fix_takes_its_masks_with_it(
    lab, upload, tmp_path, sync_and_check, run_cli
):
    """Two parts make the batch complete; the second deleted, it is not delivered any more. A
    fix deleted, the wrong mask it replaced counts again."""
    first = archive_with("zip", masks(tmp_path / "p1", only=(1, 2)), tmp_path / "p1.zip")
    upload("batch_1_part1.zip", first)
    part2 = upload(
        "batch_1_part2.zip",
        archive_with("zip", masks(tmp_path / "p2", only=(3,)), tmp_path / "p2.zip"),
    )
    sync_and_check()
    assert delivered(run_cli) == 1 and status(lab) == "review"
    delete_upload(lab, part2)
    sync_and_check()
    check = lab.work.batches.find_one({"id": "batch_1"})["mask_check"]
    assert (check["usable"], check["missing_count"]) == (False, 1)
    assert delivered(run_cli) == 0
    # a wrong mask, then its fix; the fix taken back
    upload(
        "batch_1_part2_again.zip",
        archive_with("zip", masks(tmp_path / "p3", only=(3,), empty=(3,)), tmp_path / "p3.zip"),
    )
    assert sync_and_check()["problems"] == 1
    fix = upload(
        "batch_1_fix.zip",
        archive_with("zip", masks(tmp_path / "p4", only=(3,)), tmp_path / "p4.zip"),
    )
    assert sync_and_check()["problems"] == 0 and delivered(run_cli) == 1
    delete_upload(lab, fix)
    assert sync_and_check()["problems"] == 1
    assert delivered(run_cli) == 0


def test_a_batch_whose_uploads_are_all_deleted_is_not_delivered_after_a_check(
    lab, upload, tmp_path, run_cli
):
    only = upload(
        "batch_1_masks.zip", archive_with("zip", masks(tmp_path / "a"), tmp_path / "a.zip")
    )
    env = {"DATA_DIRECTORY": str(tmp_path / "data"), "MASK_LABELS": "0,1"}
    assert run_cli("verify", "--content", env=env).returncode == 0
    assert delivered(run_cli) == 1
    delete_upload(lab, only)
    assert run_cli("verify", "--content", env=env).returncode == 0
    assert delivered(run_cli) == 0
    assert (lab.work.batches.find_one({"id": "batch_1"}).get("mask_content") or {}).get(
        "checked", 0
    ) == 0


def test_an_upload_counting_for_no_batch_is_never_checked_nor_charged_to_its_batch(
    lab, tmp_path, sync_and_check, run_cli
):
    """Another tool stored the upload's date as text: the sync counts it for no batch, so its
    empty masks are no problem of batch_1, which stays without masks and is not sent back."""
    data = archive_with("zip", masks(tmp_path / "m", empty=(1, 2, 3)), tmp_path / "m.zip")
    files = lab.masks_files
    upload_id = files.insert_one(
        {
            "filename": "batch_1_masks.zip",
            "length": len(data),
            "chunkSize": 261120,
            "uploadDate": "2026-12-01 10:00:00",
            "metadata": {"batch_id": "batch_1", "uploaded_by": "flor"},
        }
    ).inserted_id
    lab.training[f"{lab.settings.masks_bucket}.chunks"].insert_one(
        {"files_id": upload_id, "n": 0, "data": data}
    )
    row = sync_and_check()
    assert (row.get("checked", 0), row.get("problems", 0)) == (0, 0)
    assert status(lab) == "pending"
    done = run_cli("status", "--json")
    assert json.loads(done.stdout)["without_masks"] == 1
    env = {"DATA_DIRECTORY": str(tmp_path / "data"), "MASK_LABELS": "0,1"}
    text = run_cli("verify", "--content", env=env).stdout
    assert "empty" not in text and "0 uploads content-checked" in text
    assert lab.work.mask_content.count_documents({}) == 0
