"""A CVAT / Datumaro "Segmentation mask 1.1" export (Pascal VOC's layout): class masks in
`SegmentationClass/`, instance masks in `SegmentationObject/` (one number per object),
`labelmap.txt` and `ImageSets/Segmentation/default.txt`, every mask a palette PNG in VOC's
colours, as CVAT writes them. Beside a `SegmentationClass/` folder, its sibling
`SegmentationObject/` holds instance masks: listed among the other files, never the image's
mask, never held to MASK_LABELS. Packed by Info-ZIP, GNU tar and 7-Zip; synced and checked by
`segcore sync --verify --content` with MASK_LABELS=0,1 (background, lesion)."""

import numpy as np
import pytest
from PIL import Image

from segcore.content.mask_content import describe
from segcore.masks.receipts import list_receipts
from tests.archives import archive_with, fill
from tests.masks_content_files import png

SHAPE = (24, 32)
NAMES = ["img_001", "img_002", "img_003"]
LABELMAP = b"# label:color_rgb:parts:actions\nbackground:0,0,0::\nlesion:128,0,0::\n"
OPTIONS = {"zip": (), "tar": ("-czf",), "7z": ()}
ENDING = {"zip": ".zip", "tar": ".tar.gz", "7z": ".7z"}
INSTANCE = "{path} (an instance mask, beside the class masks)"


def voc_palette() -> list[int]:
    """Pascal VOC's colour map, which CVAT's and Datumaro's VOC masks carry."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for bit in range(8):
            r |= (c & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    return palette


def palette_png(path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(values.astype(np.uint8), mode="P")
    image.putpalette(voc_palette())
    image.save(path)


def lesions(instances: bool) -> np.ndarray:
    """Three lesions: class 1 each, or instance numbers 1, 2 and 3."""
    values = np.zeros(SHAPE, np.uint8)
    for number, (rows, cols) in enumerate(
        [(slice(2, 8), slice(2, 8)), (slice(12, 20), slice(12, 20)), (slice(2, 6), slice(20, 30))],
        start=1,
    ):
        values[rows, cols] = number if instances else 1
    return values


def cvat_export(root, *, classes=NAMES, objects=NAMES, within: str = "", class_values=None):
    """The export as CVAT writes it, under `within` (a task folder) when given."""
    top = root / within if within else root
    fill(top, {"labelmap.txt": LABELMAP})
    fill(top, {"ImageSets/Segmentation/default.txt": "\n".join(NAMES).encode()})
    for name in classes:
        palette_png(
            top / "SegmentationClass" / f"{name}.png",
            lesions(False) if class_values is None else class_values,
        )
    for name in objects:
        palette_png(top / "SegmentationObject" / f"{name}.png", lesions(True))
    return root


@pytest.fixture
def batch(dbs, tmp_path):
    folder = tmp_path / "data" / "batch_1"
    folder.mkdir(parents=True)
    for name in NAMES:
        png(folder / f"{name}.png", np.full(SHAPE, 80))
    dbs.work.batches.insert_one({"id": "batch_1", "folder": str(folder), "status": "pending"})


@pytest.fixture
def sync_and_check(dbs, run_cli, tmp_path, batch):
    """`segcore sync --verify --content` (or another command) with MASK_LABELS=0,1; then the
    batch's document and the newest receipt."""

    def run(*command: str):
        env = {"DATA_DIRECTORY": str(tmp_path / "data"), "MASK_LABELS": "0,1"}
        done = run_cli(*(command or ("sync", "--verify", "--content")), env=env)
        assert done.returncode == 0, done.stderr
        return dbs.work.batches.find_one({"id": "batch_1"}), list_receipts(dbs.work)[0]

    return run


def said(content: dict) -> list[str]:
    return [describe(o) for o in content.get("offenders") or ()]


@pytest.mark.parametrize("within", ["", "task_12_export"])
@pytest.mark.parametrize("tool", ["zip", "tar", "7z"])
def test_a_cvat_export_is_delivered_its_instance_masks_listed_beside(
    dbs, upload, tmp_path, sync_and_check, tool, within
):
    root = cvat_export(tmp_path / "export", within=within)
    filename = "batch_1" + ENDING[tool]
    upload(
        filename, archive_with(tool, root, tmp_path / filename, *OPTIONS[tool]), batch_id="batch_1"
    )
    doc, receipt = sync_and_check()
    assert (doc["status"], doc["mask_check"]["state"], doc["mask_check"]["usable"]) == (
        "review",
        "complete",
        True,
    )
    assert (doc["mask_content"]["checked"], doc["mask_content"]["problems"]) == (3, 0)
    prefix = f"{within}/" if within else ""
    instances = [INSTANCE.format(path=f"{prefix}SegmentationObject/{n}.png") for n in NAMES]
    assert set(instances) <= set(receipt["other_files"])
    assert {"labelmap.txt", "default.txt"} <= set(receipt["other_files"])
    assert (receipt["masks"], receipt["matched"], receipt["problem"]) == (3, 3, None)


def test_an_instance_mask_never_stands_in_for_a_missing_class_mask(
    upload, tmp_path, sync_and_check
):
    """img_003 has its instance mask and no class mask: img_003 is without a mask."""
    root = cvat_export(tmp_path / "export", classes=NAMES[:2])
    upload("batch_1.zip", archive_with("zip", root, tmp_path / "b.zip"), batch_id="batch_1")
    doc, receipt = sync_and_check()
    assert (doc["status"], doc["mask_check"]["missing"]) == ("rework", ["img_003.png"])
    assert (receipt["problem"], receipt["missing"]) == ("incomplete", ["img_003.png"])


def test_the_class_masks_are_still_held_to_the_labels(upload, tmp_path, sync_and_check):
    """A class mask drawn with instance numbers (the annotator exported the wrong layer into
    SegmentationClass/) is a content problem: only the instance folder is spared."""
    root = cvat_export(tmp_path / "export", class_values=lesions(True))
    upload("batch_1.7z", archive_with("7z", root, tmp_path / "b.7z"), batch_id="batch_1")
    doc, _ = sync_and_check()
    assert doc["status"] == "rework"
    assert (doc["mask_content"]["checked"], doc["mask_content"]["problems"]) == (3, 3)
    assert sorted(said(doc["mask_content"])) == [f"{n}.png: label 2, 3 not in 0,1" for n in NAMES]


def test_instance_masks_alone_are_the_uploads_masks(upload, tmp_path, sync_and_check):
    """Without class masks beside them, `SegmentationObject/` is what the annotator sent as
    masks: counted, and held to MASK_LABELS like any (instance numbers are no class labels)."""
    root = cvat_export(tmp_path / "export", classes=())
    upload("batch_1.zip", archive_with("zip", root, tmp_path / "b.zip"), batch_id="batch_1")
    doc, receipt = sync_and_check()
    assert (doc["mask_check"]["state"], receipt["masks"]) == ("complete", 3)
    assert "img_001.png: label 2, 3 not in 0,1" in said(doc["mask_content"])
    assert doc["status"] == "rework"


def test_an_earlier_result_checking_the_instance_masks_is_checked_again(
    dbs, upload, tmp_path, sync_and_check
):
    """A listing and a content result stored by the earlier rule (the instance masks counted
    and checked as class labels: 3 problems) are made again by the first `verify --content`
    after the update, so the batch is delivered without `--recheck`."""
    root = cvat_export(tmp_path / "export")
    upload("batch_1.zip", archive_with("zip", root, tmp_path / "b.zip"), batch_id="batch_1")
    sync_and_check()
    dbs.work.mask_checks.update_many(
        {}, {"$set": {"version": 12}, "$unset": {"instance_masks": ""}}
    )
    old = {"problems": 3, "counts.bad_labels": 3}
    dbs.work.mask_content.update_many({}, {"$set": old, "$unset": {"not_masks": ""}})
    dbs.work.receipts.update_many({}, {"$set": {"problem": "content", "usable": False}})
    doc, receipt = sync_and_check("verify", "--content")
    assert (doc["mask_content"]["problems"], receipt["problem"], receipt["usable"]) == (
        0,
        None,
        True,
    )


OVERLAY = "{path} (a visualization, beside the class masks)"


def labelme2voc_export(root, *, classes=NAMES):
    """The tree labelme's `labelme2voc.py` (its instance segmentation example) writes: class
    and instance labels as NumPy arrays and as palette PNGs, each beside a colour overlay of
    the labels on the image (a JPEG), the images in `JPEGImages/`."""
    fill(root, {"class_names.txt": b"_background_\nlesion\n"})
    picture = np.full(SHAPE, 80, np.uint8)
    for name in NAMES:
        Image.fromarray(picture).save(_parent(root / "JPEGImages" / f"{name}.jpg"))
        for kind, instances in (("Class", False), ("Object", True)):
            if kind == "Class" and name not in classes:
                continue
            values = lesions(instances)
            np.save(_parent(root / f"Segmentation{kind}" / f"{name}.npy"), values.astype(np.int32))
            palette_png(root / f"Segmentation{kind}PNG" / f"{name}.png", values)
            overlay = np.stack([picture] * 3, axis=-1) // 2
            overlay[values > 0] += np.array([64, 0, 0], np.uint8) * values[values > 0, None]
            Image.fromarray(overlay).save(
                _parent(root / f"Segmentation{kind}Visualization" / f"{name}.jpg")
            )
    return root


def _parent(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize("tool", ["zip", "tar"])
def test_labelme2voc_output_is_delivered_its_instances_and_overlays_listed_beside(
    upload, tmp_path, sync_and_check, tool
):
    """labelme2voc's class masks (`SegmentationClass/*.npy`, `SegmentationClassPNG/*.png`)
    deliver the batch; its instance masks (`SegmentationObject/`, `SegmentationObjectPNG/`)
    and colour overlays (`*Visualization/*.jpg`) are listed among the other files, never
    checked as class masks (they made "label 2 not in 0,1" and "a colour image")."""
    root = labelme2voc_export(tmp_path / "export")
    filename = "batch_1" + ENDING[tool]
    upload(
        filename, archive_with(tool, root, tmp_path / filename, *OPTIONS[tool]), batch_id="batch_1"
    )
    doc, receipt = sync_and_check()
    assert said(doc["mask_content"]) == []
    assert (doc["status"], doc["mask_check"]["state"], doc["mask_check"]["usable"]) == (
        "review",
        "complete",
        True,
    )
    assert (doc["mask_content"]["checked"], doc["mask_content"]["problems"]) == (3, 0)
    instances = {
        INSTANCE.format(path=f"{folder}/{n}.{ext}")
        for folder, ext in (("SegmentationObject", "npy"), ("SegmentationObjectPNG", "png"))
        for n in NAMES
    }
    overlays = {
        OVERLAY.format(path=f"Segmentation{kind}Visualization/{n}.jpg")
        for kind in ("Class", "Object")
        for n in NAMES
    }
    assert instances | overlays <= set(receipt["other_files"])
    assert (receipt["matched"], receipt["problem"]) == (3, None)


def test_labelme2voc_overlay_never_stands_in_for_a_missing_class_mask(
    upload, tmp_path, sync_and_check
):
    """img_003's class files were taken out of the export, its instance masks and overlays
    left: img_003 is without a mask."""
    root = labelme2voc_export(tmp_path / "export", classes=NAMES[:2])
    upload("batch_1.zip", archive_with("zip", root, tmp_path / "b.zip"), batch_id="batch_1")
    doc, receipt = sync_and_check()
    assert (doc["status"], doc["mask_check"]["missing"]) == ("rework", ["img_003.png"])
    assert (receipt["problem"], receipt["missing"]) == ("incomplete", ["img_003.png"])
