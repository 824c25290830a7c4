"""A PACS or planning-system export's objects that hold no image (an RT Structure Set, a
structured report, a plan, an ECG) in a batch folder need no mask: left out of the images and
listed apart, so the coordinator sees why; pydicom's own files stand for them."""

import shutil

from pydicom.data import get_testdata_file

from segcore.images import batch_images
from segcore.images.batch_images import list_folder
from segcore.images.dicom_objects import may_hold_no_image
from segcore.masks.mask_check import verify
from tests.archives import make_zip
from tests.helpers import page


def export(folder) -> None:
    """What a study export leaves: the CT, its RT Structure Set (pydicom's rtstruct.dcm, saved
    without a file meta), a report without an extension, a plan named by its UID as Eclipse
    and RayStation name it, an ECG, and the dose grid (which holds pixels: an image)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, shipped in (
        ("CT_small.dcm", "CT_small.dcm"),
        ("RS_structures.dcm", "rtstruct.dcm"),
        ("SR000001", "test-SR.dcm"),
        ("RP1.2.752.243.1.1.dcm", "rtplan.dcm"),
        ("ECG_0001.dcm", "waveform_ecg.dcm"),
        ("RD_dose.dcm", "rtdose.dcm"),
    ):
        shutil.copy(get_testdata_file(shipped), folder / name)


def test_objects_without_an_image_are_listed_apart(tmp_path):
    export(tmp_path)
    images, not_images = list_folder(tmp_path)
    assert images == ["CT_small.dcm", "RD_dose.dcm"]
    assert not_images == [
        {"name": "ECG_0001.dcm", "what": "12-lead ECG Waveform"},
        {"name": "RP1.2.752.243.1.1.dcm", "what": "RT Plan"},
        {"name": "RS_structures.dcm", "what": "RT Structure Set"},
        {"name": "SR000001", "what": "Comprehensive SR"},
    ]


def test_a_dcm_is_opened_only_when_its_name_is_one_exports_give_such_objects(tmp_path, monkeypatch):
    """Reading every `.dcm` costs a round trip each on an SSHFS mount: a plan saved as
    `treatment.dcm` stays an image (the README says so), and `CT_small.dcm` is never read."""
    export(tmp_path)
    shutil.copy(get_testdata_file("rtplan.dcm"), tmp_path / "treatment.dcm")
    read = []
    first_bytes = batch_images._first_bytes
    monkeypatch.setattr(batch_images, "_first_bytes", lambda p: read.append(p) or first_bytes(p))
    images, _ = list_folder(tmp_path)
    assert images == ["CT_small.dcm", "RD_dose.dcm", "treatment.dcm"]
    assert sorted(p.rsplit("/", 1)[1] for p in read) == [
        "ECG_0001.dcm",
        "RP1.2.752.243.1.1.dcm",
        "RS_structures.dcm",
        "SR000001",
    ]


def test_names_exports_give_objects_without_an_image():
    named = ["RS_structures.dcm", "RS.1.2.246.352.dcm", "RTSTRUCT_0001.dcm", "SR000001.dcm"]
    assert all(may_hold_no_image(name) for name in named)
    assert not any(may_hold_no_image(n) for n in ("CT_small.dcm", "img_001.dcm", "MR.0001.dcm"))


def test_a_study_export_with_the_cts_mask_is_complete(dbs, upload, tmp_path, run_cli):
    """The batch of a study export whose one image has its mask is complete (1 of 1), and the
    command line names the files left out, as the Batches page does."""
    folder = tmp_path / "batch_1"
    export(folder)
    (folder / "RD_dose.dcm").unlink()
    dbs.work.batches.insert_one({"id": "batch_1", "folder": str(folder), "status": "pending"})
    upload("batch_1.zip", make_zip(["CT_small_mask.png"]))
    row = verify(dbs, ["batch_1"]).batches[0]
    assert (row["state"], row["images"], row["missing"]) == ("complete", 1, [])
    assert [item["name"] for item in row["not_images"]] == [
        "ECG_0001.dcm",
        "RP1.2.752.243.1.1.dcm",
        "RS_structures.dcm",
        "SR000001",
    ]
    shown = run_cli("verify", "batch_1", "--recheck").stdout
    assert "1 / 1 images with a mask" in shown
    assert (
        "left out, no mask needed: ECG_0001.dcm (a DICOM 12-lead ECG Waveform, not an image), "
        "RP1.2.752.243.1.1.dcm (a DICOM RT Plan, not an image), RS_structures.dcm (a DICOM RT "
        "Structure Set, not an image), SR000001 (a DICOM Comprehensive SR, not an image)"
    ) in shown


def test_the_batches_page_says_which_files_are_not_images(app_env, upload, tmp_path):
    folder = tmp_path / "batch_1"
    export(folder)
    app_env.work.batches.insert_one(
        {"id": "batch_1", "number": 1, "folder": str(folder), "status": "pending"}
    )
    upload("batch_1.zip", make_zip(["CT_small_mask.png"]))
    verify(app_env, author="test")
    at = page("batches").run()
    at.selectbox(key="masks_of").select("batch_1").run()
    assert not at.exception
    names = {t.value.columns[0]: t.value.iloc[:, 0].tolist() for t in at.dataframe[1:]}
    assert names["image"] == ["RD_dose.dcm"]
    assert any(
        "Files of the folder that are not images (no mask needed): ECG_0001.dcm" in c.value
        and "RS_structures.dcm (a DICOM RT Structure Set, not an image)" in c.value
        for c in at.caption
    )
