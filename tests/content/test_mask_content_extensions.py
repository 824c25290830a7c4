"""Extensions added to MASK_EXTENSIONS are content-checked too: FreeSurfer's `.mgz` by nibabel
(from the file nibabel ships), and one no reader here knows said so, never counted as checked
and right. The receipt matches masks with the same extensions as the mask check."""

import json
import shutil
from pathlib import Path

import nibabel
import numpy as np
import pytest

from tests.archives import archive_with

SHIPPED = Path(nibabel.__file__).parent / "tests" / "data" / "test.mgz"  # 3×4×5×2
EXTENSIONS = "png nii nii.gz mgz xyz"


@pytest.fixture
def lab(dbs, tmp_path):
    folder = tmp_path / "data" / "batch_1"
    folder.mkdir(parents=True)
    shutil.copyfile(SHIPPED, folder / "brain.mgz")
    (folder / "notes.xyz").write_bytes(b"a format of the lab's own")
    dbs.work.batches.insert_one({"id": "batch_1", "folder": str(folder), "status": "pending"})
    return tmp_path


def mgz(path: Path, shape, value: int, image) -> None:
    """A mask written by nibabel on the image's grid (its header: spacing and orientation)."""
    array = np.zeros(shape, dtype=np.uint8)
    array[1:3, 1:3, 1:3] = value
    nibabel.save(nibabel.MGHImage(array, image.affine, image.header), path)


def run(run_cli, lab, *args):
    env = {
        "DATA_DIRECTORY": str(lab / "data"),
        "MASK_EXTENSIONS": EXTENSIONS,
        "MASK_LABELS": "0,1",
    }
    done = run_cli(*args, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_masks_of_an_added_extension_are_checked_or_said_unchecked(lab, upload, run_cli):
    image = nibabel.load(SHIPPED)
    masks = lab / "masks"
    masks.mkdir()
    mgz(masks / "brain_seg.mgz", (7, 7, 7), 99, image)  # wrong grid, wrong label
    (masks / "notes_mask.xyz").write_bytes(b"whatever the lab's tool writes")
    upload("batch_1_masks.zip", archive_with("zip", masks, lab / "m.zip"))
    report = json.loads(run(run_cli, lab, "sync", "--verify", "--content", "--json"))
    content = report["verify"]["batches"][0]["content"]
    said = {(o["name"], o["code"]) for o in content["offenders"]}
    assert said == {
        ("brain_seg.mgz", "size"),
        ("brain_seg.mgz", "labels"),
        ("notes_mask.xyz", "no_reader"),
    }
    assert (content["checked"], content["wrong_size"], content["bad_labels"]) == (2, 1, 1)
    receipts = json.loads(run(run_cli, lab, "receipts", "--json"))
    receipt = receipts[0] if isinstance(receipts, list) else receipts["receipts"][0]
    assert (receipt["matched"], receipt["missing_count"], receipt["usable"]) == (2, 0, False)
    text = run(run_cli, lab, "verify", "--content", "batch_1")
    assert "notes_mask.xyz: contents not checked (no reader for .xyz files)" in text


def test_a_right_mgz_mask_passes(lab, upload, run_cli):
    image = nibabel.load(SHIPPED)
    masks = lab / "masks"
    masks.mkdir()
    mgz(masks / "brain_seg.mgz", (3, 4, 5), 1, image)
    upload("batch_1/brain_seg.mgz", (masks / "brain_seg.mgz").read_bytes())
    report = json.loads(run(run_cli, lab, "sync", "--verify", "--content", "--json"))
    content = report["verify"]["batches"][0]["content"]
    assert (content["checked"], content["offenders"]) == (1, [])
