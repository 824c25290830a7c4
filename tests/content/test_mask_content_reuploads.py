"""A batch's content is its images' newest masks: a corrected re-upload replaces what was wrong,
and the masks of an upload that cannot be read to its end count as unreadable. Real PNGs by
Pillow, packed by Info-ZIP and 7-Zip, uploaded to GridFS, synced and checked."""

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
def sync_and_check(lab, run_cli):
    """`segcore sync --verify --content`, as the coordinator's schedule runs it; the batch's
    content as the run reports it."""

    def run() -> dict:
        env = {"DATA_DIRECTORY": str(lab.settings.data_directory), "MASK_LABELS": "0,1"}
        done = run_cli("sync", "--verify", "--content", "--json", env=env)
        assert done.returncode == 0, done.stderr
        return {**lab.work.batches.find_one({"id": "batch_1"})["mask_content"]}

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
