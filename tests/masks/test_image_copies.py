"""The batch's own images inside an upload are the images, not masks of themselves.

Annotators zip their whole working folder (`images/` next to `masks/`, nnU-Net's `imagesTr/`
next to `labelsTr/`), or by mistake the images alone. Real PNGs by Pillow, NIfTI by nibabel and
pydicom's own test files, packed by Info-ZIP, 7-Zip and GNU tar, synced and checked by `segcore sync --verify --content`."""

import io
import shutil
import zlib

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from segcore.archives.archive_listing import list_upload
from segcore.images import batch_images, image_copies
from segcore.masks.receipts import list_receipts
from segcore.work.delivery import is_usable_batch
from tests.archives import archive_with
from tests.masks_content_files import NIBABEL_DATA, label_square, nifti_like, png

SHAPE = (32, 40)
COPY = "{} (a copy of its image, not a mask)"


def batch(dbs, tmp_path, names=("img_001.png", "img_002.png", "img_003.png"), key="batch_4"):
    """A batch holding random-looking PNG images (each its own bytes); returns its folder."""
    folder = tmp_path / "data" / key
    folder.mkdir(parents=True)
    rng = np.random.default_rng(4)
    for name in names:
        png(folder / name, rng.integers(0, 255, SHAPE))
    dbs.work.batches.insert_one({"id": key, "folder": str(folder), "status": "pending"})
    return folder


def working_folder(tmp_path, images=None, masks=None, mask_names="{}_mask.png"):
    """An annotator's folder: `images/` (copies of the batch's) and `masks/` (right masks)."""
    root = tmp_path / "work"
    if images is not None:
        shutil.copytree(images, root / "images")
    for stem in masks or ():
        (root / "masks").mkdir(parents=True, exist_ok=True)
        png(root / "masks" / mask_names.format(stem), label_square(SHAPE))
    return root


@pytest.fixture
def sync_and_check(dbs, run_cli, tmp_path):
    """`segcore sync --verify --content` with MASK_LABELS=0,1 (or `labels`; None: unset); then batch_4's document and the
    newest receipt."""

    def run(labels: str | None = "0,1"):
        env = {"DATA_DIRECTORY": str(tmp_path / "data")}
        env.update({"MASK_LABELS": labels} if labels else {})
        done = run_cli("sync", "--verify", "--content", env=env)
        assert done.returncode == 0, done.stderr
        return dbs.work.batches.find_one({"id": "batch_4"}), list_receipts(dbs.work)[0]

    return run


def test_images_zipped_next_to_their_masks_are_no_masks(dbs, upload, tmp_path, sync_and_check):
    """`zip -r` of images/ + masks/: the three masks count, the images are other files, and
    the content check judges only the masks: usable."""
    folder = batch(dbs, tmp_path)
    root = working_folder(tmp_path, folder, ["img_001", "img_002", "img_003"])
    upload("batch_4.zip", archive_with("zip", root, tmp_path / "b.zip"))
    doc, receipt = sync_and_check()
    assert (receipt["problem"], receipt["usable"], receipt["masks"], receipt["matched"]) == (
        None,
        True,
        3,
        3,
    )
    assert receipt["other_files"] == [COPY.format(f"images/img_00{n}.png") for n in (1, 2, 3)]
    assert (receipt["content"]["checked"], receipt["content"]["problems"]) == (3, 0)
    assert (doc["mask_check"]["state"], doc["mask_content"]["problems"]) == ("complete", 0)
    assert doc["status"] == "review"


def test_only_the_images_uploaded_is_no_delivery(dbs, upload, tmp_path, sync_and_check):
    """The wrong folder packed by GNU tar: no mask at all, incomplete, the reason says the
    upload holds the batch's images instead of masks."""
    folder = batch(dbs, tmp_path)
    upload("batch_4.tar.gz", archive_with("tar", folder, tmp_path / "b.tar.gz", "-czf"))
    doc, receipt = sync_and_check()
    assert (receipt["problem"], receipt["usable"], receipt["masks"]) == ("incomplete", False, 0)
    assert receipt["reason"] == (
        "batch_4: 3 of 3 images without a mask: the upload holds the batch's images instead "
        "of masks"
    )
    assert receipt["other_files"] == [COPY.format(f"img_00{n}.png") for n in (1, 2, 3)]
    assert (doc["mask_check"]["state"], doc["mask_check"]["missing_count"]) == ("incomplete", 3)
    assert doc["status"] != "review"


def test_nnunet_images_tr_next_to_labels_tr(dbs, upload, tmp_path, sync_and_check):
    """nnU-Net's layout: imagesTr/case_001_0000.nii.gz (the batch's image) and
    labelsTr/case_001.nii.gz (its mask), by GNU tar: one mask, checked, usable."""
    folder = tmp_path / "data" / "batch_4"
    folder.mkdir(parents=True)
    shutil.copyfile(NIBABEL_DATA / "anatomical.nii", tmp_path / "anatomical.nii")
    import nibabel

    nibabel.save(nibabel.load(tmp_path / "anatomical.nii"), folder / "case_001_0000.nii.gz")
    dbs.work.batches.insert_one({"id": "batch_4", "folder": str(folder), "status": "pending"})
    root = tmp_path / "nnunet"
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    shutil.copyfile(folder / "case_001_0000.nii.gz", root / "imagesTr" / "case_001_0000.nii.gz")
    nifti_like(folder / "case_001_0000.nii.gz", root / "labelsTr" / "case_001.nii.gz")
    upload("batch_4.tar", archive_with("tar", root, tmp_path / "b.tar", "-cf"))
    doc, receipt = sync_and_check()
    assert (receipt["problem"], receipt["usable"], receipt["masks"], receipt["matched"]) == (
        None,
        True,
        1,
        1,
    )
    assert receipt["other_files"] == [COPY.format("imagesTr/case_001_0000.nii.gz")]
    assert (receipt["content"]["checked"], receipt["content"]["problems"]) == (1, 0)
    assert doc["mask_check"]["state"] == "complete"


def test_a_mask_named_like_its_image_is_still_a_mask(dbs, upload, tmp_path, sync_and_check):
    """masks/img_00N.png (the image's very name, other bytes) next to images/img_00N.png (the
    copies): the masks count and only they are checked; a wrong one is still found."""
    folder = batch(dbs, tmp_path)
    root = working_folder(tmp_path, folder, ["img_001", "img_002", "img_003"], "{}.png")
    png(root / "masks" / "img_003.png", np.full(SHAPE, 7))  # labels outside 0,1
    upload("batch_4.zip", archive_with("zip", root, tmp_path / "b.zip"))
    doc, receipt = sync_and_check()
    assert (receipt["masks"], receipt["matched"], doc["mask_check"]["state"]) == (3, 3, "complete")
    assert receipt["other_files"] == [COPY.format(f"images/img_00{n}.png") for n in (1, 2, 3)]
    offenders = [o["name"] for o in receipt["content"]["offenders"]]
    assert (receipt["content"]["checked"], offenders) == (3, ["img_003.png"])
    assert (receipt["problem"], receipt["usable"]) == ("content", False)


def resaved(images, target, mode="L"):
    """The batch's images as a tool saves them again (CVAT's export, ITK-SNAP, any re-save):
    the same pixels in other PNG bytes (`mode` "RGB": in colour)."""
    target.mkdir(parents=True)
    for path in sorted(images.iterdir()):
        buffer = io.BytesIO()
        Image.open(path).convert(mode).save(buffer, "PNG", compress_level=1)
        assert buffer.getvalue() != path.read_bytes()
        (target / path.name).write_bytes(buffer.getvalue())


def test_images_saved_again_never_stand_in_for_a_missing_mask(
    dbs, upload, tmp_path, sync_and_check
):
    """`images/` saved again by the annotator's tool (same pixels, other bytes) next to
    `masks/` short of img_003's mask, zipped by Info-ZIP, default settings: images/img_003.png
    is no mask of img_003, so the batch is incomplete and not delivered."""
    folder = batch(dbs, tmp_path)
    root = working_folder(tmp_path, None, ["img_001", "img_002"])
    resaved(folder, root / "images")
    upload("batch_4.zip", archive_with("zip", root, tmp_path / "b.zip"))
    doc, receipt = sync_and_check(labels=None)
    check = doc["mask_check"]
    assert (check["state"], check["missing"], check["usable"]) == (
        "incomplete",
        ["img_003.png"],
        False,
    )
    assert not is_usable_batch(check, doc.get("mask_content"))
    assert (receipt["problem"], receipt["usable"], receipt["masks"], receipt["matched"]) == (
        "incomplete",
        False,
        2,
        2,
    )
    assert receipt["other_files"] == [COPY.format(f"images/img_00{n}.png") for n in (1, 2, 3)]
    assert (receipt["content"]["checked"], receipt["content"]["problems"]) == (2, 0)
    assert doc["status"] != "review"


def test_only_the_images_saved_again_is_no_delivery(dbs, upload, tmp_path, sync_and_check):
    """`IMAGES/` (any case) of re-saved images alone, by GNU tar: no mask, and the receipt says
    the upload holds the batch's images instead of masks."""
    folder = batch(dbs, tmp_path)
    resaved(folder, tmp_path / "work" / "IMAGES")
    upload("batch_4.tar.gz", archive_with("tar", tmp_path / "work", tmp_path / "b.tgz", "-czf"))
    doc, receipt = sync_and_check(labels=None)
    assert (doc["mask_check"]["state"], doc["mask_check"]["missing_count"]) == ("incomplete", 3)
    assert (receipt["problem"], receipt["usable"], receipt["masks"]) == ("incomplete", False, 0)
    assert receipt["reason"].endswith("the upload holds the batch's images instead of masks")


def test_images_saved_again_elsewhere_are_told_by_their_pixels(
    dbs, upload, tmp_path, sync_and_check, run_cli
):
    """The images saved again in colour under `export/` (no images folder: only their pixels
    tell) next to masks short of img_003's, by GNU tar, default settings: after
    `sync --verify --content` img_003 has no mask, the batch is not delivered and goes back to
    rework; a later content check keeps it so."""
    folder = batch(dbs, tmp_path)
    root = working_folder(tmp_path, None, ["img_001", "img_002"])
    resaved(folder, root / "export", "RGB")
    upload("batch_4.tar.gz", archive_with("tar", root, tmp_path / "b.tgz", "-czf"))
    doc, receipt = sync_and_check(labels=None)
    check = doc["mask_check"]
    assert (check["state"], check["missing"], check["usable"]) == (
        "incomplete",
        ["img_003.png"],
        False,
    )
    assert (receipt["problem"], receipt["usable"], receipt["masks"], receipt["matched"]) == (
        "incomplete",
        False,
        2,
        2,
    )
    assert receipt["other_files"] == [COPY.format(f"export/img_00{n}.png") for n in (1, 2, 3)]
    assert (receipt["content"]["checked"], receipt["content"]["problems"]) == (2, 0)
    assert doc["status"] == "rework"
    done = run_cli("verify", "--content", env={"DATA_DIRECTORY": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    again = dbs.work.batches.find_one({"id": "batch_4"})
    assert (again["mask_check"]["state"], again["mask_check"]["usable"]) == ("incomplete", False)


@pytest.mark.parametrize("masks_folder", ["masks", "SegmentationClass"])
def test_masks_named_as_their_images_are_delivered(
    dbs, upload, tmp_path, sync_and_check, masks_folder
):
    """Binary masks (0/255) named exactly as their images under `masks/` (or VOC's
    `SegmentationClass/`), zipped by Info-ZIP, default settings: complete and delivered."""
    batch(dbs, tmp_path)
    root = tmp_path / "work" / masks_folder
    root.mkdir(parents=True)
    for n in (1, 2, 3):
        png(root / f"img_00{n}.png", label_square(SHAPE, 255))
    upload("batch_4.zip", archive_with("zip", tmp_path / "work", tmp_path / "b.zip"))
    doc, receipt = sync_and_check(labels=None)
    assert (doc["mask_check"]["state"], doc["mask_check"]["usable"]) == ("complete", True)
    assert is_usable_batch(doc["mask_check"], doc["mask_content"])
    assert (receipt["problem"], receipt["usable"], receipt["masks"], receipt["other_files"]) == (
        None,
        True,
        3,
        [],
    )
    assert (receipt["content"]["checked"], receipt["content"]["problems"]) == (3, 0)
    assert doc["status"] == "review"


def test_no_image_is_read_unless_a_member_has_its_name_and_size(dbs, upload, tmp_path, monkeypatch):
    """A batch folder may be on SSHFS: masks named otherwise cost no stat and no read; masks
    named like the images but of other sizes cost a stat each, no read."""
    folder = batch(dbs, tmp_path)
    listing = batch_images.list_batch_images({"id": "batch_4", "folder": str(folder)}, None)
    stats, opens = [], []
    real_stat, real_open = image_copies.os.stat, image_copies.open_regular

    def counted_stat(path, *args, **kwargs):
        if str(path).startswith(str(folder)):
            stats.append(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(image_copies.os, "stat", counted_stat)
    monkeypatch.setattr(image_copies, "open_regular", lambda p: opens.append(p) or real_open(p))
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]

    def listed(root, out):
        file_id = upload("batch_4.zip", archive_with("zip", root, tmp_path / out))
        doc = dbs.masks_files.find_one({"_id": file_id})
        found = image_copies.ImageFiles([listing])
        return list_upload(chunks, doc, 1 << 26, images=found)

    suffixed = working_folder(tmp_path, None, ["img_001", "img_002"])
    assert listed(suffixed, "suffixed.zip").names == ["img_001_mask.png", "img_002_mask.png"]
    assert (stats, opens) == ([], [])
    (tmp_path / "work").rename(tmp_path / "suffixed")
    same_name = working_folder(tmp_path, None, ["img_001", "img_002"], "{}.png")
    assert listed(same_name, "same_name.zip").names == ["img_001.png", "img_002.png"]
    assert (len(stats), opens) == (2, [])


def test_results_stored_before_copies_were_told_apart_are_redone(
    dbs, upload, tmp_path, sync_and_check, run_cli
):
    """A listing and a content result stored by the earlier rule (the images counted and
    checked as masks: 3 content problems) are redone by the next `segcore verify --content`,
    and only the content of uploads holding copies is read again: usable."""
    folder = batch(dbs, tmp_path)
    root = working_folder(tmp_path, folder, ["img_001", "img_002", "img_003"])
    copies = upload("batch_4.zip", archive_with("zip", root, tmp_path / "b.zip"))
    batch(dbs, tmp_path, key="batch_5")
    plain = working_folder(tmp_path / "5", None, ["img_001", "img_002", "img_003"])
    other = upload("batch_5.zip", archive_with("zip", plain, tmp_path / "5.zip"))
    sync_and_check()
    before = dbs.work.mask_content.find_one({"_id": other})["checked_at"]
    old = {"$unset": {"image_copies": 1}}
    dbs.work.mask_checks.update_many({}, {"$set": {"version": 5}, **old})
    dbs.work.mask_content.update_one({"_id": copies}, {"$set": {"problems": 3}, **old})
    dbs.work.mask_content.update_one({"_id": other}, old)
    assert list_receipts(dbs.work, ["batch_4"])[0]["usable"] is False
    env = {"DATA_DIRECTORY": str(tmp_path / "data"), "MASK_LABELS": "0,1"}
    done = run_cli("verify", "--content", "--json", env=env)
    assert done.returncode == 0, done.stderr
    receipt = list_receipts(dbs.work, ["batch_4"])[0]
    assert (receipt["problem"], receipt["usable"], receipt["masks"]) == (None, True, 3)
    assert (receipt["content"]["checked"], receipt["content"]["problems"]) == (3, 0)
    assert dbs.work.mask_content.find_one({"_id": other})["checked_at"] == before


def test_a_copy_found_by_its_pixels_leaves_the_masks_of_its_name_elsewhere():
    """Pure: the copy `img_003.png` goes among the other files; `masks/img_001.png`, a mask of
    the same name as the copy `img_001.png`, stays; a listing without paths drops the name."""
    from segcore.masks.found_copies import without_copies

    listing = {
        "names": ["img_001.png", "img_002_mask.png", "img_003.png"],
        "paths": ["img_001.png", "img_002_mask.png", "img_003.png", "masks/img_001.png"],
        "members": [{"name": n, "size": 9} for n in ("img_001.png", "img_002_mask.png")]
        + [{"name": "img_003.png", "size": 9}],
        "placed": {},
        "also_loose": [],
        "image_copies": [],
        "other_files": ["README.txt"],
    }
    found = without_copies(listing, ["img_001.png", "img_003.png"])
    assert found["names"] == ["img_001.png", "img_002_mask.png"]
    assert found["paths"] == ["img_002_mask.png", "masks/img_001.png"]
    assert [m["name"] for m in found["members"]] == ["img_001.png", "img_002_mask.png"]
    assert found["image_copies"] == ["img_001.png", "img_003.png"]
    assert found["other_files"] == [
        "README.txt",
        COPY.format("img_001.png"),
        COPY.format("img_003.png"),
    ]
    in_folder = without_copies({**listing, "paths": ["export/img_003.png"]}, ["export/img_003.png"])
    assert in_folder["other_files"] == ["README.txt", COPY.format("export/img_003.png")]
    assert without_copies({**listing, **found}, ["img_003.png"]) is None  # counted already
    bare = without_copies({**listing, "paths": None}, ["img_003.png"])
    assert bare["names"] == ["img_001.png", "img_002_mask.png"] and "paths" not in bare


def test_a_dicom_image_saved_again_under_masks_is_no_mask(dbs, upload, tmp_path, sync_and_check):
    """The batch's MR_small.dcm saved again by a viewer under `masks/` with its own name
    (pydicom's MR_small_RLE.dcm: the same pixels, RLE Lossless), next to a real 0/1 DICOM mask
    named as its CT image, zipped by Info-ZIP, default settings: the MR has no mask, so the
    batch is not delivered and goes back to rework; the CT's mask stays a mask."""
    folder = tmp_path / "data" / "batch_4"
    folder.mkdir(parents=True)
    for name in ("MR_small.dcm", "CT_small.dcm"):
        shutil.copy(get_testdata_file(name), folder / name)
    dbs.work.batches.insert_one({"id": "batch_4", "folder": str(folder), "status": "pending"})
    masks = tmp_path / "work" / "masks"
    masks.mkdir(parents=True)
    shutil.copy(get_testdata_file("MR_small_RLE.dcm"), masks / "MR_small.dcm")
    ct = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ct.PixelData = (ct.pixel_array > 1100).astype("<i2").tobytes()
    ct.RescaleIntercept = 0
    ct.save_as(masks / "CT_small.dcm", enforce_file_format=True)
    upload("batch_4.zip", archive_with("zip", tmp_path / "work", tmp_path / "b.zip"))
    doc, receipt = sync_and_check(labels=None)
    check = doc["mask_check"]
    assert (check["state"], check["missing"], check["usable"]) == (
        "incomplete",
        ["MR_small.dcm"],
        False,
    )
    assert receipt["other_files"] == [COPY.format("masks/MR_small.dcm")]
    assert (receipt["content"]["checked"], receipt["content"]["problems"]) == (1, 0)
    assert doc["status"] == "rework"


def xray(seed: int) -> np.ndarray:
    """A grey radiograph-like picture (a gradient with noise), as the batch's images are."""
    rows, columns = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    noise = np.random.default_rng(seed).normal(0, 8, SHAPE)
    return np.clip(60 + 4 * columns + 3 * rows + noise, 0, 255).astype(np.uint8)


def picture_batch(dbs, tmp_path, extension: str, key="batch_4"):
    """A batch of three pictures saved by Pillow as PNG or as JPEG (quality 90)."""
    folder = tmp_path / "data" / key
    folder.mkdir(parents=True)
    for n in (1, 2, 3):
        options = {"quality": 90} if extension == ".jpg" else {}
        Image.fromarray(xray(n)).save(folder / f"img_00{n}{extension}", **options)
    dbs.work.batches.insert_one({"id": key, "folder": str(folder), "status": "pending"})
    return folder


def saved_as(images, target, fmt: str, extension: str, mode=None, **options):
    """The batch's images as a tool writes them again in `fmt` under their own stems."""
    target.mkdir(parents=True)
    for path in sorted(images.iterdir()):
        image = Image.open(path)
        (image.convert(mode) if mode else image).save(
            target / (path.stem + extension), fmt, **options
        )


TOOLS = {"zip": (".zip", ()), "7z": (".7z", ()), "tar": (".tar.gz", ("-czf",))}


@pytest.mark.parametrize(
    "images, folder, fmt, extension, options, tool",
    [
        (".jpg", "export", "JPEG", ".jpg", {"quality": 95}, "7z"),  # a JPEG re-encoded
        (".png", "export", "TIFF", ".tif", {}, "tar"),  # a PNG as TIFF: the same pixels
        (".png", "export", "JPEG", ".jpeg", {"quality": 60, "mode": "RGB"}, "zip"),  # in colour
        (".png", "JPEGImages", "JPEG", ".jpg", {"quality": 95}, "zip"),  # Pascal VOC's layout
        (".jpg", "images", "PNG", ".png", {}, "tar"),  # a JPEG as PNG: the same pixels
        (".png", "imágenes", "BMP", ".bmp", {}, "zip"),  # a Spanish-speaking team's folder
    ],
)
def test_images_saved_in_another_format_never_stand_in_for_a_missing_mask(
    dbs, upload, tmp_path, sync_and_check, images, folder, fmt, extension, options, tool
):
    """The batch's images saved again by the annotator's tool in another format or encoding
    (another extension), next to `masks/` short of img_003's mask, packed by Info-ZIP, 7-Zip
    or GNU tar, MASK_LABELS=0,1: img_003 has no mask whatever its copy's extension, the batch
    is not delivered, for that reason (the copies are never checked as masks), and each copy
    is listed with the folder holding it."""
    source = picture_batch(dbs, tmp_path, images)
    root = working_folder(tmp_path, None, ["img_001", "img_002"])
    options = dict(options)
    saved_as(source, root / folder, fmt, extension, options.pop("mode", None), **options)
    ending, flags = TOOLS[tool]
    upload(f"batch_4{ending}", archive_with(tool, root, tmp_path / f"b{ending}", *flags))
    doc, receipt = sync_and_check()
    check = doc["mask_check"]
    assert (check["state"], check["missing"], check["usable"]) == (
        "incomplete",
        [f"img_003{images}"],
        False,
    )
    assert not is_usable_batch(check, doc.get("mask_content"))
    assert (receipt["problem"], receipt["usable"], receipt["masks"], receipt["matched"]) == (
        "incomplete",
        False,
        2,
        2,
    )
    copies = [COPY.format(f"{folder}/img_00{n}{extension}") for n in (1, 2, 3)]
    assert receipt["other_files"] == copies
    assert (receipt["content"]["checked"], receipt["content"]["problems"]) == (2, 0)
    assert doc["status"] == "rework"


def uid_batch(dbs, tmp_path) -> tuple:
    """A batch of three CT slices (pydicom's CT_small) named by their UIDs, no extension."""
    folder = tmp_path / "data" / "batch_4"
    folder.mkdir(parents=True)
    uids = []
    for n in range(3):
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        uid = f"1.2.826.0.1.3680043.8.498.{n + 1}0{n}7"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.save_as(folder / uid, enforce_file_format=True)
        uids.append(uid)
    dbs.work.batches.insert_one({"id": "batch_4", "folder": str(folder), "status": "pending"})
    return folder, uids


def test_a_dicom_copied_with_dcm_added_to_its_uid_is_no_mask(dbs, upload, tmp_path, run_cli):
    """DICOM images named by their UIDs, copied byte for byte with `.dcm` added (a PACS
    viewer's export) under `export/`, next to masks of two of them, zipped by Info-ZIP: the
    listing alone (a plain `sync --verify`, no content check) tells the copies by their
    bytes, so the third image has no mask."""
    folder, uids = uid_batch(dbs, tmp_path)
    root = tmp_path / "work"
    (root / "masks").mkdir(parents=True)
    (root / "export").mkdir()
    for uid in uids:
        shutil.copyfile(folder / uid, root / "export" / f"{uid}.dcm")
    for uid in uids[:2]:
        png(root / "masks" / f"{uid}_mask.png", label_square((128, 128)))
    upload("batch_4.zip", archive_with("zip", root, tmp_path / "b.zip"))
    done = run_cli("sync", "--verify", env={"DATA_DIRECTORY": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    check = dbs.work.batches.find_one({"id": "batch_4"})["mask_check"]
    assert (check["state"], check["missing"], check["masks"]) == ("incomplete", [uids[2]], 2)
    receipt = list_receipts(dbs.work)[0]
    assert receipt["other_files"] == [COPY.format(f"export/{uid}.dcm") for uid in sorted(uids)]
    assert (receipt["problem"], receipt["masks"]) == ("incomplete", 2)


def test_jpeg_images_saved_as_png_alone_are_no_delivery(dbs, upload, tmp_path, run_cli):
    """The annotator zipped the wrong folder: the batch's JPEG images saved as PNG under
    `images/`, no mask, by GNU tar: without a content check, the upload holds the batch's
    images instead of masks."""
    source = picture_batch(dbs, tmp_path, ".jpg")
    saved_as(source, tmp_path / "work" / "images", "PNG", ".png")
    upload("batch_4.tar.gz", archive_with("tar", tmp_path / "work", tmp_path / "b.tgz", "-czf"))
    done = run_cli("sync", "--verify", env={"DATA_DIRECTORY": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    doc, receipt = dbs.work.batches.find_one({"id": "batch_4"}), list_receipts(dbs.work)[0]
    assert (doc["mask_check"]["state"], doc["mask_check"]["missing_count"]) == ("incomplete", 3)
    assert (receipt["problem"], receipt["usable"], receipt["masks"]) == ("incomplete", False, 0)
    assert receipt["reason"].endswith("the upload holds the batch's images instead of masks")


@pytest.mark.parametrize(
    "masks_folder",
    [
        "Images/batch_4/masks",  # zipped from a French Windows' Pictures folder
        "img/batch_4/SegmentationClass",  # a project folder named img/
        "imagenes/lote_4/mascaras",
        "images/masks",
    ],
)
def test_masks_under_a_folder_named_images_higher_up_are_masks(
    dbs, upload, tmp_path, sync_and_check, masks_folder
):
    """Binary masks named as their images under `masks/` or `SegmentationClass/`, with an
    images-named folder higher up, zipped by Info-ZIP: the folder holding them decides, so
    they are masks, and the batch is delivered."""
    batch(dbs, tmp_path)
    root = tmp_path / "work" / masks_folder
    root.mkdir(parents=True)
    for n in (1, 2, 3):
        png(root / f"img_00{n}.png", label_square(SHAPE, 255))
    upload("batch_4.zip", archive_with("zip", tmp_path / "work", tmp_path / "b.zip"))
    doc, receipt = sync_and_check(labels=None)
    assert (doc["mask_check"]["state"], doc["mask_check"]["usable"]) == ("complete", True)
    assert (receipt["problem"], receipt["usable"], receipt["masks"], receipt["other_files"]) == (
        None,
        True,
        3,
        [],
    )
    assert (receipt["content"]["checked"], receipt["content"]["problems"]) == (3, 0)
    assert doc["status"] == "review"


@pytest.mark.parametrize("masks_folder", ["SegmentationClass/images", "masks/images"])
def test_masks_mirroring_the_images_subfolder_under_a_mask_folder_are_masks(
    dbs, upload, tmp_path, sync_and_check, masks_folder
):
    """CVAT's or Datumaro's VOC export of frames kept in the batch's `images/` subfolder writes
    `SegmentationClass/images/img_001.png` (and a tool mirroring the batch's subfolders under
    `masks/` likewise): class masks, not copies, so the batch is delivered."""
    folder = tmp_path / "data" / "batch_4"
    (folder / "images").mkdir(parents=True)
    rng = np.random.default_rng(4)
    for n in (1, 2, 3):
        png(folder / "images" / f"img_00{n}.png", rng.integers(0, 255, SHAPE))
    dbs.work.batches.insert_one({"id": "batch_4", "folder": str(folder), "status": "pending"})
    root = tmp_path / "work" / masks_folder
    root.mkdir(parents=True)
    for n in (1, 2, 3):
        png(root / f"img_00{n}.png", label_square(SHAPE))
    (tmp_path / "work" / "labelmap.txt").write_text("background:0,0,0::\ncell:128,0,0::\n")
    upload("batch_4.zip", archive_with("zip", tmp_path / "work", tmp_path / "b.zip"))
    doc, receipt = sync_and_check()
    assert (doc["mask_check"]["state"], doc["mask_check"]["usable"]) == ("complete", True)
    assert (receipt["masks"], receipt["other_files"]) == (3, ["labelmap.txt"])
    assert doc["status"] == "review"


def test_copies_are_listed_with_the_folder_that_makes_them_copies(
    dbs, upload, tmp_path, sync_and_check
):
    """`Images/batch_4/images/` (re-saved copies) next to `Images/batch_4/masks/` (masks named
    as their images), by GNU tar: the masks count, the copies are listed by their paths."""
    folder = batch(dbs, tmp_path)
    root = tmp_path / "work" / "Images" / "batch_4"
    resaved(folder, root / "images")
    (root / "masks").mkdir()
    for n in (1, 2, 3):
        png(root / "masks" / f"img_00{n}.png", label_square(SHAPE))
    upload("batch_4.tar.gz", archive_with("tar", tmp_path / "work", tmp_path / "b.tgz", "-czf"))
    doc, receipt = sync_and_check()
    assert (doc["mask_check"]["state"], receipt["masks"], receipt["usable"]) == (
        "complete",
        3,
        True,
    )
    assert receipt["other_files"] == [
        COPY.format(f"Images/batch_4/images/img_00{n}.png") for n in (1, 2, 3)
    ]


@pytest.mark.parametrize(
    "path, copy",
    [
        ("images/img_001.png", True),
        ("IMAGES/img_001.png", True),
        ("work\\images\\img_001.png", True),  # a Windows zip's backslashes
        ("JPEGImages/img_001.jpg", True),
        ("export/2026/batch_13/imgs/img_001.tif", True),
        ("imagenes/img_001.png", True),
        ("Imágenes/img_001.png", True),
        ("Ima\u0301genes/img_001.png", True),  # as macOS writes the accent (NFD)
        ("imagesTr/img_001.nii.gz", True),
        ("Images/batch_2/masks/img_001.png", False),
        ("img/batch_3/SegmentationClass/img_001.png", False),
        ("images/masks/img_001.png", False),
        ("SegmentationClass/images/img_001.png", False),  # CVAT's VOC export of images/ frames
        ("SegmentationClassRaw/images/img_001.png", False),  # DeepLab's, as not_masks names it
        ("SegmentationObject/images/img_001.png", False),
        ("masks/imagenes/img_001.png", False),  # a mask tree mirroring the batch's subfolders
        ("export/Labels/batch_2/IMAGES/img_001.png", False),
        ("Máscaras/img/img_001.png", False),
        ("masks/img_001.png", False),
        ("img_001.png", False),
    ],
)
def test_only_the_folder_holding_a_member_makes_it_an_image(path, copy):
    assert image_copies.in_image_folder(path) is copy


def test_a_copy_is_told_by_its_stem_whatever_its_extension(tmp_path):
    """Pure listing rule against real files: the folder rule and the byte rule key a member as
    matching does (its stem), so `images/img_001.tif` is img_001.png's copy and a UID-named
    DICOM with `.dcm` added is compared by its bytes; a mask suffix or other bytes outside an
    images folder keep a member a mask."""
    folder = tmp_path / "batch_4"
    folder.mkdir()
    png(folder / "img_001.png", xray(1))
    Image.fromarray(xray(2)).save(folder / "img_002.jpg", quality=90)
    uid = "1.2.826.0.1.3680043.8.498.7"
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.save_as(folder / uid, enforce_file_format=True)
    listing = batch_images.list_batch_images({"id": "batch_4", "folder": str(folder)}, None)
    found = image_copies.ImageFiles([listing])
    dicom = (folder / uid).read_bytes()
    crc = zlib.crc32(dicom)
    assert found.is_copy("images/img_001.tif", 10, "crc", 0)
    assert found.is_copy("JPEGImages/IMG_002.png", 10, "crc", 0)
    assert found.is_copy(f"export/{uid}.dcm", len(dicom), "crc", crc)
    assert found.is_copy(f"export/{uid}.DCM", len(dicom), "crc", crc)
    assert not found.is_copy(f"export/{uid}.dcm", len(dicom), "crc", crc ^ 1)
    assert not found.is_copy("images/img_001_mask.png", 10, "crc", 0)
    assert not found.is_copy("masks/img_001.tif", 10, "crc", 0)
    assert not found.is_copy("images/img_004.png", 10, "crc", 0)


@pytest.mark.parametrize("recheck", [("batch_4",), ("--all",)])
def test_a_recheck_keeps_the_copies_the_content_check_found(
    dbs, upload, tmp_path, run_cli, sync_and_check, recheck
):
    """After `sync --verify --content` found `export/img_003.jpg` to be img_003 saved again
    (by its pixels: the listing cannot tell it), `verify --recheck` lists the upload again and
    keeps it a copy: the batch stays incomplete and in rework (a recheck made it complete,
    usable and moved it to review until the next content check)."""
    source = picture_batch(dbs, tmp_path, ".jpg")
    root = working_folder(tmp_path, None, ["img_001", "img_002"])
    (root / "export").mkdir()
    Image.open(source / "img_003.jpg").save(root / "export" / "img_003.jpg", quality=90)
    upload("batch_4.zip", archive_with("zip", root, tmp_path / "b.zip"))
    doc, _ = sync_and_check()
    assert (doc["mask_check"]["missing"], doc["status"]) == (["img_003.jpg"], "rework")
    env = {"DATA_DIRECTORY": str(tmp_path / "data"), "MASK_LABELS": "0,1"}
    done = run_cli("verify", *recheck, "--recheck", env=env)
    assert done.returncode == 0, done.stderr
    doc = dbs.work.batches.find_one({"id": "batch_4"})
    check = doc["mask_check"]
    assert (check["state"], check["missing"], check["usable"], doc["status"]) == (
        "incomplete",
        ["img_003.jpg"],
        False,
        "rework",
    )
    receipt = list_receipts(dbs.work)[0]
    assert COPY.format("export/img_003.jpg") in receipt["other_files"]
    assert (receipt["problem"], receipt["usable"]) == ("incomplete", False)
