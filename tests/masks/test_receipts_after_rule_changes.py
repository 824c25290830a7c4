"""Receipts follow the matching settings: corrected `MASK_SUFFIXES` or `MASK_EXTENSIONS`, the
next `verify` makes again the receipts made under the old ones, so the Receipts page, the
annotator's page and `segcore receipts` agree with the batch. A receipt still judges the batch
as it stood when its upload came in. Zips by Info-ZIP and tars by GNU tar of PNG and GIF masks
written by Pillow."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from segcore.masks.mask_check import verify
from segcore.masks.receipts import list_receipts
from segcore.report import stats
from segcore.store.connection import open_databases
from segcore.sync import sync
from tests.archives import archive_with
from tests.masks_content_files import label_square, png

IMAGES = ["img_001.png", "img_002.png", "img_003.png"]
SHAPE = (32, 40)


@pytest.fixture
def folders(dbs, tmp_path):
    """batch_1 of three 32×40 PNGs; returns the data directory."""
    data = tmp_path / "data"
    (data / "batch_1").mkdir(parents=True)
    for name in IMAGES:
        png(data / "batch_1" / name, np.full(SHAPE, 80))
    dbs.work.batches.insert_one(
        {"id": "batch_1", "folder": str(data / "batch_1"), "status": "pending"}
    )
    return data


def under(dbs, client, data, **settings):
    """The databases under these settings, as the coordinator's corrected `.env` gives them."""
    return open_databases(replace(dbs.settings, data_directory=data, **settings), client=client)


def masks(folder, names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name.endswith(".gif"):
            Image.fromarray(label_square(SHAPE).astype(np.uint8)).save(folder / name)
        else:
            png(folder / name, label_square(SHAPE))
    return folder


def receipts(lab) -> dict:
    return {r["filename"]: r for r in list_receipts(lab.work)}


SEG_SUFFIXES = ("_mask", "-seg")
GIF_EXTENSIONS = (".png", ".gif")


@pytest.mark.parametrize(
    "names, corrected",
    [
        (
            ["img_001-seg.png", "img_002-seg.png", "img_003-seg.png"],
            {"mask_suffixes": SEG_SUFFIXES},
        ),
        (
            ["img_001_mask.gif", "img_002_mask.gif", "img_003_mask.gif"],
            {"mask_extensions": GIF_EXTENSIONS},
        ),
    ],
    ids=["suffix", "extension"],
)
def test_a_corrected_setting_remakes_the_receipt_the_old_one_judged(
    dbs, client, upload, folders, tmp_path, names, corrected
):
    """The annotator's tool names masks `img_001-seg.png` (or saves GIFs): incomplete under the
    default settings. The coordinator corrects the setting and runs `verify`: the batch is
    delivered and its upload's receipt says usable, incomplete nowhere."""
    root = masks(tmp_path / "m", names)
    upload("batch_1.zip", archive_with("zip", root, tmp_path / "b.zip"), batch_id="batch_1")
    before = under(dbs, client, folders)
    sync.run_sync(before)
    verify(before, author="test")
    assert receipts(before)["batch_1.zip"]["problem"] == "incomplete"
    after = under(dbs, client, folders, **corrected)
    report = verify(after, author="test")
    assert report.first_receipts == 0
    receipt = receipts(after)["batch_1.zip"]
    assert (receipt["problem"], receipt["usable"], receipt["masks"], receipt["matched"]) == (
        None,
        True,
        3,
        3,
    )
    assert list_receipts(after.work, problem="incomplete") == []
    assert stats.summary(after.work).delivered == 1
    assert verify(after, author="test").receipt_ids == []  # made once, not at every check
    # and back: the old setting again makes the receipt say what it said
    verify(before, author="test")
    assert receipts(before)["batch_1.zip"]["problem"] == "incomplete"


def test_a_receipt_made_again_still_judges_the_batch_as_it_stood(
    dbs, client, upload, folders, tmp_path
):
    """A first part (img_001, img_002) and its fix (img_003), both named `-seg`: once the
    suffix is added, the first part's receipt is made again as incomplete (the batch lacked
    img_003 when it came in, without a message: its fix came), the fix's usable."""
    first = masks(tmp_path / "first", ["img_001-seg.png", "img_002-seg.png"])
    fix = masks(tmp_path / "fix", ["img_003-seg.png"])
    upload("batch_1.zip", archive_with("zip", first, tmp_path / "1.zip"), batch_id="batch_1")
    upload(
        "batch_1_fix.tar", archive_with("tar", fix, tmp_path / "2.tar", "-cf"), batch_id="batch_1"
    )
    verify(under(dbs, client, folders), author="test")
    after = under(dbs, client, folders, mask_suffixes=SEG_SUFFIXES)
    verify(after, ["batch_1"], author="test")
    found = receipts(after)
    assert (found["batch_1.zip"]["problem"], found["batch_1.zip"]["missing_count"]) == (
        "incomplete",
        1,
    )
    assert "notify_due" not in after.work.receipts.find_one({"filename": "batch_1.zip"})
    assert (found["batch_1_fix.tar"]["problem"], found["batch_1_fix.tar"]["usable"]) == (None, True)


def test_a_receipt_stored_without_its_settings_is_made_again_once(
    dbs, client, upload, folders, tmp_path
):
    """A receipt an earlier release stored (no settings on it) may have been made under other
    ones: the next `verify` makes it again, then keeps it."""
    root = masks(tmp_path / "m", ["img_001-seg.png", "img_002-seg.png", "img_003-seg.png"])
    upload("batch_1.zip", archive_with("zip", root, tmp_path / "b.zip"), batch_id="batch_1")
    lab = under(dbs, client, folders, mask_suffixes=SEG_SUFFIXES)
    verify(lab, author="test")
    lab.work.receipts.update_many(
        {}, {"$set": {"problem": "incomplete", "usable": False}, "$unset": {"rules": ""}}
    )
    assert verify(lab, author="test").receipt_ids != []
    receipt = receipts(lab)["batch_1.zip"]
    assert (receipt["problem"], receipt["usable"]) == (None, True)
    assert receipt["rules"]["suffixes"] == list(SEG_SUFFIXES)
    assert verify(lab, author="test").receipt_ids == []


def test_the_command_line_agrees_with_the_batch_after_the_suffix_is_added(
    dbs, upload, folders, tmp_path, run_cli
):
    """As the coordinator does it: `sync --verify`, `-seg` added to MASK_SUFFIXES in the
    environment, `verify`: `receipts --problem incomplete` lists nothing, `status` delivers."""
    root = masks(tmp_path / "m", ["img_001-seg.png", "img_002-seg.png", "img_003-seg.png"])
    upload(
        "batch_1.tar.gz", archive_with("tar", root, tmp_path / "b.tgz", "-czf"), batch_id="batch_1"
    )
    env = {"DATA_DIRECTORY": str(folders)}
    assert run_cli("sync", "--verify", env=env).returncode == 0
    listed = run_cli("receipts", "--problem", "incomplete", env=env)
    assert "batch_1.tar.gz" in listed.stdout
    corrected = {**env, "MASK_SUFFIXES": "_mask -seg"}
    done = run_cli("verify", env=corrected)
    assert done.returncode == 0, done.stderr
    listed = run_cli("receipts", "--problem", "incomplete", env=corrected)
    assert (listed.returncode, listed.stdout.strip()) == (0, "No receipts."), listed.stderr
    assert "usable" in run_cli("receipts", env=corrected).stdout
