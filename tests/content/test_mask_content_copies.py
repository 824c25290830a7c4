"""Which mask counts, and for which batch, when an upload holds more than one candidate: a path
held twice (`tar -u`), one mask name under two folders, one image name in two of the upload's
batches. The upload's receipt and its batches' figures always agree. Real PNGs by Pillow,
packed by GNU tar and Info-ZIP, synced and checked by `segcore sync --verify --content`."""

import json
import os

import numpy as np
import pytest

from segcore.content.mask_content import describe
from segcore.masks.receipts import list_receipts
from tests.archives import archive_with
from tests.masks_content_files import label_square, png

SHAPE = (32, 40)


def batches(dbs, tmp_path, shapes: dict) -> None:
    """Batches (id -> the shape of its images) holding img_001 to img_003."""
    for batch, shape in shapes.items():
        folder = tmp_path / "data" / batch
        folder.mkdir(parents=True)
        for n in (1, 2, 3):
            png(folder / f"img_00{n}.png", np.full(shape, 80))
        dbs.work.batches.insert_one({"id": batch, "folder": str(folder), "status": "pending"})


def masks(folder, shape=SHAPE, only=(1, 2, 3), empty=()):
    folder.mkdir(parents=True, exist_ok=True)
    for n in only:
        png(folder / f"img_00{n}_mask.png", np.zeros(shape) if n in empty else label_square(shape))
    return folder


@pytest.fixture
def sync_and_check(dbs, run_cli, tmp_path):
    """`segcore sync --verify --content`; then each batch's (status, content) and the newest
    receipt."""

    def run():
        env = {"DATA_DIRECTORY": str(tmp_path / "data"), "MASK_LABELS": "0,1"}
        done = run_cli("sync", "--verify", "--content", env=env)
        assert done.returncode == 0, done.stderr
        found = {
            d["id"]: (d["status"], d.get("mask_content") or {})
            for d in dbs.work.batches.find({}, {"id": 1, "status": 1, "mask_content": 1})
        }
        return found, list_receipts(dbs.work)[0]

    return run


def said(content: dict) -> list[str]:
    return [describe(o) for o in content.get("offenders") or ()]


def test_a_path_appended_again_with_tar_u_counts_its_last_copy(
    dbs, upload, tmp_path, sync_and_check
):
    """A wrong-size mask, then its fix appended by `tar -u`: extracting gives the fix, so
    neither the receipt nor the batch has a problem."""
    batches(dbs, tmp_path, {"batch_4": SHAPE})
    folder = masks(tmp_path / "m", only=(1, 2))
    masks(folder, shape=(64, 64), only=(3,))
    tarball = tmp_path / "m.tar"
    archive_with("tar", folder, tarball, "-cf")
    masks(folder, only=(3,))
    os.utime(folder / "img_003_mask.png", (2e9, 2e9))
    data = archive_with("tar", folder, tarball, "-uf")
    upload("batch_4.tar", data)
    found, receipt = sync_and_check()
    status, content = found["batch_4"]
    assert (content["checked"], content["problems"], said(content)) == (3, 0, [])
    assert (receipt["problem"], receipt["usable"], status) == (None, True, "review")


@pytest.mark.parametrize("order", [("final", "old"), ("old", "final")])
def test_a_mask_under_two_folders_must_be_right_in_both(
    dbs, upload, tmp_path, sync_and_check, order
):
    """`final/` and a stale `old/` copy of img_003's mask: whichever comes last in the zip,
    the stale copy is named by its folder, in the receipt and in the batch alike."""
    batches(dbs, tmp_path, {"batch_4": SHAPE})
    root = tmp_path / "m"
    masks(root / "final")
    masks(root / "old", shape=(64, 64), only=(3,))
    upload("batch_4.zip", archive_with("zip", root, tmp_path / "m.zip", members=order))
    found, receipt = sync_and_check()
    status, content = found["batch_4"]
    assert (content["checked"], content["problems"]) == (3, 1)
    assert said(content) == ["old/img_003_mask.png: 64×64, image 40×32"]
    assert (receipt["problem"], receipt["content"]["problems"], status) == (
        "content",
        1,
        "rework",
    )


def test_folders_naming_no_batch_leave_the_mask_to_the_batch_whose_image_it_fits(
    dbs, upload, tmp_path, sync_and_check
):
    """`lote_A/` holds batch_1's masks (40×32), `lote_B/` batch_2's (64×64, one empty): each
    mask is checked against the image its size fits, and only batch_2 goes back."""
    batches(dbs, tmp_path, {"batch_1": SHAPE, "batch_2": (64, 64)})
    root = tmp_path / "m"
    masks(root / "lote_A")
    masks(root / "lote_B", shape=(64, 64), empty=(2,))
    upload("batch_1_and_batch_2.zip", archive_with("zip", root, tmp_path / "m.zip"))
    found, receipt = sync_and_check()
    (status_1, content_1), (status_2, content_2) = found["batch_1"], found["batch_2"]
    assert (content_1["checked"], content_1["problems"], status_1) == (3, 0, "review")
    assert (content_2["checked"], content_2["problems"], status_2) == (3, 1, "rework")
    assert said(content_2) == ["img_002_mask.png: empty"]
    assert receipt["content"]["problems"] == 1


def test_a_mask_two_batches_may_own_is_checked_for_each(dbs, upload, tmp_path, sync_and_check):
    """Both batches' images are 40×32 and no folder names a batch: the completeness check
    counts each mask for both, so an empty mask of img_002 is both batches' problem (never
    passed for want of knowing whose), and the receipt counts it once."""
    batches(dbs, tmp_path, {"batch_1": SHAPE, "batch_2": SHAPE})
    upload(
        "batch_1_and_batch_2.zip",
        archive_with("zip", masks(tmp_path / "m" / "lote_A", empty=(2,)), tmp_path / "m.zip"),
    )
    found, receipt = sync_and_check()
    for batch in ("batch_1", "batch_2"):
        status, content = found[batch]
        assert (content["checked"], content["problems"], status) == (3, 1, "rework")
        assert said(content) == ["img_002_mask.png: empty"]
    assert (receipt["problem"], receipt["usable"]) == ("content", False)
    assert (receipt["content"]["checked"], receipt["content"]["problems"]) == (3, 1)


@pytest.mark.parametrize(
    "wrong, said_as",
    [
        ({"empty": (1, 2, 3)}, "img_001_mask.png: empty"),
        ({"shape": (64, 64)}, "img_001_mask.png: 64×64, image 40×32"),
    ],
    ids=["every mask empty", "a size fitting neither"],
)
def test_masks_under_no_batch_folder_of_an_upload_naming_two_batches_deliver_neither_when_wrong(
    dbs, upload, tmp_path, sync_and_check, run_cli, wrong, said_as
):
    """`batch_6_to_batch_7.zip` of loose masks, every one empty or of a size neither batch's
    images have: neither batch is delivered, usable; both go back, each naming the masks."""
    batches(dbs, tmp_path, {"batch_6": SHAPE, "batch_7": SHAPE})
    folder = masks(tmp_path / "m", **wrong)
    upload("batch_6_to_batch_7.zip", archive_with("zip", folder, tmp_path / "m.zip"))
    found, receipt = sync_and_check()
    for batch in ("batch_6", "batch_7"):
        status, content = found[batch]
        assert (content["problems"], status) == (3, "rework")
        assert said_as in said(content)
    assert (receipt["problem"], receipt["content"]["problems"]) == ("content", 3)
    done = run_cli("status", "--json")
    assert json.loads(done.stdout)["delivered"] == 0


def test_masks_under_another_batch_s_folder_are_checked_only_where_they_count(
    dbs, upload, tmp_path, sync_and_check
):
    """`batch_3_to_batch_5.zip` holds `batch_5/` (right masks) and `batch_4/` (empty ones, of a
    batch the upload does not name) and no `batch_3/`: batch_3 has no mask (its completeness
    counts none), so the content check charges it nothing either."""
    batches(dbs, tmp_path, {"batch_3": SHAPE, "batch_5": SHAPE})
    root = tmp_path / "m"
    masks(root / "batch_5")
    masks(root / "batch_4", empty=(1, 2, 3))
    upload("batch_3_to_batch_5.zip", archive_with("zip", root, tmp_path / "m.zip"))
    found, _ = sync_and_check()
    check = dbs.work.batches.find_one({"id": "batch_3"})["mask_check"]
    assert (check["state"], check["missing_count"]) == ("incomplete", 3)
    _, content = found["batch_3"]
    assert (content.get("checked", 0), content.get("problems", 0), said(content)) == (0, 0, [])


def test_a_loose_mask_fitting_one_batch_leaves_the_other_batch_without_one(
    dbs, upload, tmp_path, sync_and_check, run_cli
):
    """`batch_1_to_batch_2.zip` holds only loose masks of batch_1's size (40×32); batch_2's
    images are 64×64. The grid gives them to batch_1, so batch_2, whose completeness counts
    them, gets their problems against its images and is not delivered by them."""
    batches(dbs, tmp_path, {"batch_1": SHAPE, "batch_2": (64, 64)})
    upload("batch_1_to_batch_2.zip", archive_with("zip", masks(tmp_path / "m"), tmp_path / "m.zip"))
    found, receipt = sync_and_check()
    (status_1, content_1), (status_2, content_2) = found["batch_1"], found["batch_2"]
    assert (content_1["checked"], content_1["problems"], status_1) == (3, 0, "review")
    assert (content_2["checked"], content_2["problems"], status_2) == (3, 3, "rework")
    assert "img_001_mask.png: 40×32, image 64×64" in said(content_2)
    assert (receipt["problem"], receipt["usable"]) == ("content", False)
    assert json.loads(run_cli("status", "--json").stdout)["delivered"] == 1


def test_a_mask_of_two_images_of_one_name_is_checked_against_each(
    dbs, upload, tmp_path, sync_and_check
):
    """`case1.nii.gz` and its preview `case1.png` in one folder: one mask counts for both, so
    it is checked against both, the image it does not fit named; with a mask of each, each is
    checked against the image it fits, and the batch is delivered."""
    import gzip

    import nibabel

    folder = tmp_path / "data" / "batch_1"
    folder.mkdir(parents=True)
    volume = np.zeros((40, 32, 6), np.uint8)
    (folder / "case1.nii.gz").write_bytes(
        gzip.compress(nibabel.Nifti1Image(volume, np.eye(4)).to_bytes())
    )
    png(folder / "case1.png", np.full(SHAPE, 80))
    dbs.work.batches.insert_one({"id": "batch_1", "folder": str(folder), "status": "pending"})
    volume[3:6, 3:6, 2] = 1
    root = tmp_path / "m"
    root.mkdir()
    (root / "case1_mask.nii.gz").write_bytes(
        gzip.compress(nibabel.Nifti1Image(volume, np.eye(4)).to_bytes())
    )
    upload("batch_1.zip", archive_with("zip", root, tmp_path / "m.zip"))
    found, receipt = sync_and_check()
    status, content = found["batch_1"]
    assert (content["checked"], content["problems"], status) == (2, 1, "rework")
    assert said(content) == ["case1_mask.nii.gz (case1.png): 40×32×6, image 40×32"]
    assert (receipt["problem"], receipt["usable"]) == ("content", False)
    png(root / "case1_mask.png", label_square(SHAPE))
    upload("batch_1.zip", archive_with("zip", root, tmp_path / "m2.zip"))
    found, receipt = sync_and_check()
    status, content = found["batch_1"]
    assert (content["checked"], content["problems"], said(content), status) == (2, 0, [], "review")


def test_masks_under_another_batch_s_folder_in_a_one_batch_upload_are_not_checked(
    dbs, upload, tmp_path, sync_and_check
):
    """`batch_3.zip` (`batch_id: batch_3`) holds `batch_3/` (right masks) and `batch_4/`
    (batch_4's masks, 64×64, of a size batch_3's images are not): those are no masks of
    batch_3, so its content check charges it nothing for them."""
    batches(dbs, tmp_path, {"batch_3": SHAPE, "batch_4": (64, 64)})
    root = tmp_path / "m"
    masks(root / "batch_3")
    masks(root / "batch_4", shape=(64, 64))
    upload("batch_3.zip", archive_with("zip", root, tmp_path / "m.zip"), batch_id="batch_3")
    found, receipt = sync_and_check()
    check = dbs.work.batches.find_one({"id": "batch_3"})["mask_check"]
    assert (check["state"], check["usable"]) == ("complete", True)
    _, content = found["batch_3"]
    assert (content.get("checked", 0), content.get("problems", 0), said(content)) == (3, 0, [])
    assert receipt["usable"] is True
