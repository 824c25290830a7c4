"""What is an image, what is a mask, what changed: real folders (pydicom's DICOM tree with its
DICOMDIR, nibabel's NIfTI) against uploads made by the real tools, through `verify`."""

import shutil
import unicodedata
from dataclasses import replace

import pytest

from segcore.archives import archive_listing
from segcore.archives.listing_changes import changes_between
from segcore.masks.mask_check import upload_changes, verify
from segcore.store.connection import open_databases
from tests.archives import archive_with, fill, medical_files, png_bytes

UID = "1.2.840.113619.2.55.3.604688119.969.1268071029.320"


@pytest.fixture
def lab(dbs, client, tmp_path):
    """Databases whose DATA_DIRECTORY holds batch folders; `lab.batch(n, files)` makes one."""
    data = tmp_path / "data"
    data.mkdir()
    databases = open_databases(replace(dbs.settings, data_directory=data), client=client)

    def batch(number: int, files: dict):
        fill(data / f"batch_{number}", files)
        dbs.work.batches.insert_one(
            {
                "id": f"batch_{number}",
                "number": number,
                "folder": str(data / f"batch_{number}"),
                "status": "pending",
            }
        )

    databases.batch = batch
    return databases


def checked(lab, batch="batch_1") -> dict:
    return {row["id"]: row for row in verify(lab, author="test").as_dict()["batches"]}[batch]


def test_dicom_by_uid_and_in_a_dicomdir_tree(lab, upload, tmp_path):
    real = medical_files()
    patients = {
        str(p.relative_to(real["dicomdir"])): p
        for p in real["dicomdir"].rglob("*")
        if p.is_file() and p.relative_to(real["dicomdir"]).parts[0] in ("77654033", "98892001")
    }
    files = {
        "DICOMDIR": real["dicomdir"] / "DICOMDIR",
        UID: real["ct"],
        "notes.txt": b"scanned 2025",
        **patients,
    }
    lab.batch(1, files)
    images = sorted([UID, *patients])
    masks = {f"{UID}.seg.nrrd": b"NRRD0004\n"} | {
        f"{name.rsplit('/', 1)[-1]}_mask.dcm": real["mr"] for name in sorted(patients)[1:]
    }
    upload("batch_1.zip", archive_with("zip", fill(tmp_path / "m", masks), tmp_path / "m.zip"))
    row = checked(lab)
    assert (row["images"], row["state"]) == (len(images), "incomplete")
    assert row["missing"] == [sorted(patients)[0]]  # DICOMDIR and notes.txt are no images


def test_a_dicomdir_named_dcm_is_no_image(lab, upload, tmp_path):
    """pydicom's DICOMDIR-empty.dcm (its file meta names the Media Storage Directory class), as
    shipped and as DICOMDIR.DCM, needs no mask; an image whose name holds "dicomdir" does."""
    real = medical_files()
    lab.batch(
        1,
        {
            "mr_001.dcm": real["mr"],
            "DICOMDIR-empty.dcm": real["dicomdir"] / "DICOMDIR-empty.dcm",
            "DICOMDIR.DCM": real["dicomdir"] / "DICOMDIR-empty.dcm",
            "ct_from_dicomdir.dcm": real["ct"],
        },
    )
    masks = {"mr_001_mask.dcm": real["mr"], "ct_from_dicomdir_mask.dcm": real["ct"]}
    upload("batch_1.zip", archive_with("zip", fill(tmp_path / "m", masks), tmp_path / "m.zip"))
    row = checked(lab)
    assert (row["images"], row["state"], row["missing"]) == (2, "complete", [])


def test_nnunet_slicer_and_suffixes(lab, upload, tmp_path):
    nii = medical_files()["nii_gz"]
    lab.batch(
        1,
        {
            "case_0001_0000.nii.gz": nii,
            "case_0001_0001.nii.gz": nii,
            "case_0002_0000.nii.gz": nii,
            "CT_001.nii.gz": nii,
            "CT_002.nii": nii,
            "CT_003.nii.gz": nii,
            "CT_004.nii.gz": nii,
        },
    )
    masks = fill(
        tmp_path / "m",
        {
            "case_0001.nii.gz": nii,
            "case_0002.nii.gz": nii,
            "CT_001.seg.nrrd": b"NRRD0004\n",
            "CT_002_segmentation.nii.gz": nii,
            "CT_003-label.nii.gz": nii,
            "CT_004.seg.nii.gz": nii,
        },
    )
    upload("masks_batch_1.tar.gz", archive_with("tar", masks, tmp_path / "m.tgz", "-czf"))
    row = checked(lab)
    assert (row["state"], row["missing"], row["extra"]) == ("complete", [], [])


def test_a_cvat_export_is_complete_and_its_label_map_is_another_file(lab, upload, tmp_path):
    lab.batch(1, {"img_001.png": png_bytes(9), "img_002.png": png_bytes(9)})
    export = fill(
        tmp_path / "cvat",
        {
            "labelmap.txt": b"# label:color_rgb:parts:actions\nbackground:0,0,0::\nliver:250,50,83::\n",
            "ImageSets/Segmentation/default.txt": b"img_001\nimg_002\n",
            "SegmentationClass/img_001.png": png_bytes(1),
            "SegmentationClass/img_002.png": png_bytes(1),
            "SegmentationObject/img_001.png": png_bytes(2),
            "SegmentationObject/img_002.png": png_bytes(2),
            "task.json": b"{}",
        },
    )
    upload("batch_1_cvat.zip", archive_with("zip", export, tmp_path / "c.zip"))
    row = checked(lab)
    assert (row["state"], row["extra"]) == ("complete", [])
    instances = [
        f"SegmentationObject/img_00{n}.png (an instance mask, beside the class masks)"
        for n in (1, 2)
    ]
    assert row["other_files"] == [*instances, "default.txt", "labelmap.txt", "task.json"]


def test_names_compare_in_nfc_whichever_side_is_decomposed(lab, upload, tmp_path):
    decomposed = unicodedata.normalize("NFD", "hígado_001.png")
    lab.batch(1, {decomposed: png_bytes(3), "bazo_002.png": png_bytes(3)})
    masks = fill(
        tmp_path / "m",
        {
            "hígado_001_mask.png": png_bytes(1),
            unicodedata.normalize("NFD", "bazo_002_mask.png"): png_bytes(1),
        },
    )
    upload("batch_1.zip", archive_with("zip", masks, tmp_path / "m.zip"))
    assert checked(lab)["state"] == "complete"


def test_old_stored_checks_are_upgraded_by_the_next_check(lab, upload, dbs, tmp_path):
    lab.batch(1, {"img_001.png": png_bytes(), "img_002.png": png_bytes()})
    masks = fill(
        tmp_path / "m",
        {"img_001_mask.png": png_bytes(1), "img_002_mask.png": png_bytes(1), "labelmap.txt": b"x"},
    )
    file_id = upload("batch_1.tar.gz", archive_with("tar", masks, tmp_path / "m.tgz", "-czf"))
    doc = dbs.masks_files.find_one({"_id": file_id})
    # As the previous version stored them: GNU tar's names, no version, labelmap.txt a mask.
    dbs.work.mask_checks.insert_one(
        {
            "_id": file_id,
            "filename": doc["filename"],
            "batches": ["batch_1"],
            "length": doc["length"],
            "uploadDate": doc["uploadDate"],
            "kind": "tar",
            "names": ["img_001_mask.png", "labelmap.txt"],
            "reason": None,
            "bytes_read": 10,
        }
    )
    dbs.work.batch_images.insert_one(
        {
            "_id": "batch_1",
            "folder": "x",
            "names": ["img_001.png"],
            "listed_at": None,
            "error": None,
        }
    )
    dbs.work.batches.update_one(
        {"id": "batch_1"},
        {
            "$set": {
                "mask_check": {
                    "state": "extra",
                    "uploads": [file_id],
                    "suffixes": list(lab.settings.mask_suffixes),
                }
            }
        },
    )
    report = verify(lab, author="test")
    row = report.as_dict()["batches"][0]
    assert report.checked_uploads == 1
    assert (row["state"], row["images"], row["extra"]) == ("complete", 2, [])
    stored = dbs.work.mask_checks.find_one({"_id": file_id})
    assert stored["version"] == archive_listing.VERSION
    assert stored["other_files"] == ["labelmap.txt"]
    assert verify(lab, author="test").checked_uploads == 0  # and only once


def test_what_changed_between_uploads_of_a_batch(lab, upload, dbs, tmp_path):
    lab.batch(1, {f"img_00{n}.png": png_bytes() for n in range(1, 5)})
    first = fill(
        tmp_path / "v1",
        {
            "img_001_mask.png": png_bytes(1),
            "img_002_mask.png": png_bytes(1),
            "img_003_mask.png": png_bytes(1),
        },
    )
    upload("batch_1.zip", archive_with("zip", first, tmp_path / "v1.zip"))
    verify(lab, author="test")
    second = tmp_path / "v2"
    shutil.copytree(first, second)
    (second / "img_002_mask.png").write_bytes(png_bytes(7))  # redrawn
    (second / "img_003_mask.png").unlink()
    (second / "img_004_mask.png").write_bytes(png_bytes(1))
    upload("batch_1_v2.zip", archive_with("zip", second, tmp_path / "v2.zip"))
    third = tmp_path / "v3"
    shutil.copytree(second, third)
    (third / "img_001_mask.png").write_bytes(png_bytes(5))
    upload("batch_1_v3.tar.xz", archive_with("tar", third, tmp_path / "v3.txz", "-cJf"))
    fourth = tmp_path / "v4"
    shutil.copytree(third, fourth)
    (fourth / "img_004_mask.png").write_bytes(png_bytes(6))
    upload("batch_1_v4.tar.gz", archive_with("tar", fourth, tmp_path / "v4.tgz", "-czf"))
    verify(lab, author="test")
    changes = upload_changes(lab, "batch_1")
    assert [c["filename"] for c in changes] == [
        "batch_1.zip",
        "batch_1_v2.zip",
        "batch_1_v3.tar.xz",
        "batch_1_v4.tar.gz",
    ]
    assert changes[0]["added"] == ["img_001_mask.png", "img_002_mask.png", "img_003_mask.png"]
    assert (
        changes[1]["added"],
        changes[1]["removed"],
        changes[1]["changed"],
        changes[1]["compared"],
    ) == (["img_004_mask.png"], ["img_003_mask.png"], ["img_002_mask.png"], "content")  # CRC-32
    # zip then tar: only sizes compare (same-size PNGs of other values look unchanged)
    assert (changes[2]["added"], changes[2]["removed"], changes[2]["compared"]) == ([], [], "size")
    assert (changes[3]["changed"], changes[3]["compared"]) == (["img_004_mask.png"], "content")
    stored = {c["filename"]: c for c in dbs.work.mask_checks.find()}
    assert stored["batch_1.zip"]["changes"] is None  # the batch's first upload
    v2 = stored["batch_1_v2.zip"]["changes"]
    assert (v2["previous_filename"], v2["added"], v2["removed"], v2["changed"]) == (
        "batch_1.zip",
        ["img_004_mask.png"],
        ["img_003_mask.png"],
        ["img_002_mask.png"],
    )
    assert (v2["added_count"], v2["compared"]) == (1, "content")
    assert stored["batch_1_v4.tar.gz"]["changes"]["changed"] == ["img_004_mask.png"]
    same = changes_between(stored["batch_1_v4.tar.gz"], stored["batch_1_v4.tar.gz"])
    assert not same.any
