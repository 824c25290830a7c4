"""A batch whose images repeat a name in per-patient subfolders (`patient_A/img_001.png`,
`patient_B/img_001.png`): each image needs its own mask, named by its folder. Real PNGs by
Pillow, packed by Info-ZIP and GNU tar, stored in GridFS, checked by `verify`, the sync and the
content check."""

from dataclasses import replace

import numpy as np
import pytest

from segcore.content.mask_content import describe
from segcore.content.mask_content_check import check_content
from segcore.masks.mask_check import batch_detail, verify
from segcore.masks.receipts import list_receipts
from segcore.store.connection import open_databases
from segcore.sync import sync
from tests.archives import archive_with
from tests.masks_content_files import label_square, png

PATIENTS = ("patient_A", "patient_B")
NAMES = ("img_001", "img_002")
SHAPE = (12, 16)  # rows, columns: a 16×12 PNG


@pytest.fixture
def lab(dbs, client, tmp_path):
    """batch_1: img_001.png and img_002.png under patient_A/ and under patient_B/."""
    data = tmp_path / "data"
    for patient in PATIENTS:
        (data / "batch_1" / patient).mkdir(parents=True)
        for name in NAMES:
            png(data / "batch_1" / patient / f"{name}.png", np.full(SHAPE, 100))
    dbs.work.batches.insert_one(
        {"id": "batch_1", "folder": str(data / "batch_1"), "status": "pending"}
    )
    databases = open_databases(replace(dbs.settings, data_directory=data), client=client)
    databases.data = data
    return databases


def upload_masks(upload, tmp_path, tool: str, paths, shape=SHAPE) -> None:
    """Masks at `paths` (relative), archived by `tool` and stored as batch_1's upload."""
    root = tmp_path / "m"
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        png(root / path, label_square(shape))
    name = "batch_1" + (".zip" if tool == "zip" else ".tar.gz")
    options = () if tool == "zip" else ("-czf",)
    upload(name, archive_with(tool, root, tmp_path / name, *options))


def result(lab) -> dict:
    return lab.work.batches.find_one({"id": "batch_1"})["mask_check"]


@pytest.mark.parametrize("run", ["verify", "sync"])
@pytest.mark.parametrize("tool", ["zip", "tar"])
def test_masks_for_one_subfolder_leave_the_other_s_images_without_a_mask(
    lab, upload, tmp_path, run, tool
):
    upload_masks(upload, tmp_path, tool, [f"patient_A/{n}_mask.png" for n in NAMES])
    if run == "verify":
        verify(lab)
    else:
        sync.run_sync(lab)
    found = result(lab)
    assert (found["state"], found["usable"]) == ("incomplete", False)
    assert (found["masks"], found["matched"], found["missing_count"]) == (2, 2, 2)
    assert found["missing"] == ["patient_B/img_001.png", "patient_B/img_002.png"]
    receipt = list_receipts(lab.work)[0]
    assert (receipt["problem"], receipt["matched"], receipt["missing_count"]) == (
        "incomplete",
        2,
        2,
    )


@pytest.mark.parametrize("tool", ["zip", "tar"])
def test_a_mask_for_each_subfolder_s_image_makes_the_batch_complete(lab, upload, tmp_path, tool):
    """Wherever the folders start, the image's own folder at the end of the path says whose."""
    paths = [f"patient_A/{n}_mask.png" for n in NAMES] + [
        "masks/patient_B/img_001_mask.png",
        "upload/batch_1/patient_B/img_002_mask.png",
    ]
    upload_masks(upload, tmp_path, tool, paths)
    verify(lab)
    found = result(lab)
    assert (found["state"], found["usable"]) == ("complete", True)
    assert (found["masks"], found["matched"], found["missing_count"]) == (4, 4, 0)
    assert list_receipts(lab.work)[0]["masks"] == 4


def test_a_mask_whose_folders_do_not_say_which_image_counts_for_none(lab, upload, tmp_path):
    paths = ["img_001_mask.png"] + [f"{p}/img_002_mask.png" for p in PATIENTS]
    upload_masks(upload, tmp_path, "zip", paths)
    report = verify(lab).as_dict()["batches"][0]
    assert (report["state"], report["missing_count"]) == ("incomplete", 2)
    assert report["missing"] == ["patient_A/img_001.png", "patient_B/img_001.png"]
    assert report["ambiguous"] == [
        {"mask": "img_001_mask.png", "images": ["patient_A/img_001.png", "patient_B/img_001.png"]}
    ]
    assert result(lab)["usable"] is False
    assert batch_detail(lab, "batch_1").ambiguous == report["ambiguous"]


@pytest.mark.parametrize("tool", ["zip", "tar"])
def test_a_wrong_size_mask_in_the_second_subfolder_is_flagged(lab, upload, tmp_path, tool):
    """patient_B's img_001.png is 20×20: its 16×12 mask is wrong, patient_A's fits."""
    png(lab.data / "batch_1" / "patient_B" / "img_001.png", np.full((20, 20), 100))
    paths = [f"{p}/{n}_mask.png" for p in PATIENTS for n in NAMES]
    upload_masks(upload, tmp_path, tool, paths)
    verify(lab)
    row = check_content(lab, ["batch_1"]).by_batch()["batch_1"]
    assert row["problems"] == 1 and row["checked"] == 4
    assert [describe(o) for o in row["offenders"]] == [
        "patient_B/img_001_mask.png: 16×12, image 20×20"
    ]


def test_a_batch_with_unique_names_still_ignores_folders(dbs, client, upload, tmp_path):
    """Subfolders whose image names are unique: masks anywhere count, as before."""
    data = tmp_path / "data"
    for path in ("patient_A/img_001.png", "patient_B/img_002.png"):
        (data / "batch_1" / path).parent.mkdir(parents=True, exist_ok=True)
        png(data / "batch_1" / path, np.full(SHAPE, 100))
    dbs.work.batches.insert_one({"id": "batch_1", "folder": str(data / "batch_1")})
    lab = open_databases(replace(dbs.settings, data_directory=data), client=client)
    upload_masks(upload, tmp_path, "tar", ["img_001_mask.png", "other/img_002_mask.png"])
    verify(lab)
    found = result(lab)
    assert (found["state"], found["masks"], found["matched"], found["usable"]) == (
        "complete",
        2,
        2,
        True,
    )
    assert found["ambiguous"] == []
