"""An upload too large to keep its whole listing in one document (MongoDB's 16 MB) never stops
a sync: 49,000 masks named as TCIA/LIDC slice exports name them (about 100 characters), zipped
by Info-ZIP, get their receipt beside the other uploads, and a listing the database refuses is
said, never the end of the run."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from segcore.archives import listing_store
from segcore.cli.sync import _print_sync
from segcore.masks import mask_check, receipts
from segcore.store.connection import open_databases
from segcore.sync import sync
from tests.archives import png_bytes

COUNT = 49_000
UID = "1.3.6.1.4.1.14519.5.2.1.6279.6001.179049373636438705059720603192"


@pytest.fixture(scope="module")
def slices(tmp_path_factory):
    """A batch folder of COUNT long-named slices and Info-ZIP's zip of a mask for each (made
    once: the zip is 10 MB, its listing with sizes and checksums past 16 MB)."""
    root = tmp_path_factory.mktemp("lidc")
    images, masks = root / "batch_1", root / "masks"
    images.mkdir()
    masks.mkdir()
    image, mask = png_bytes(10), png_bytes(200)
    for n in range(COUNT):
        stem = f"LIDC-IDRI-{n // 300:04d}_{UID}_slice_{n:05d}"
        (images / f"{stem}.png").write_bytes(image)
        (masks / f"{stem}_mask.png").write_bytes(mask)
    subprocess.run(["zip", "-q", "-r", "-0", str(root / "m.zip"), "."], cwd=masks, check=True)
    small = root / "small"
    small.mkdir()
    for n in (1, 2, 3):
        (small / f"img_{n:03d}_mask.png").write_bytes(mask)
    subprocess.run(["zip", "-q", "-r", str(root / "s.zip"), "."], cwd=small, check=True)
    return root


@pytest.fixture
def lab(dbs, client, slices, tmp_path, upload):
    """batch_1 (the slices) and batch_2 (three images), each with its upload."""
    data = tmp_path / "data"
    (data / "batch_2").mkdir(parents=True)
    for n in (1, 2, 3):
        (data / "batch_2" / f"img_{n:03d}.png").write_bytes(png_bytes(n))
    dbs.work.batches.insert_many(
        [
            {"id": "batch_1", "status": "pending", "folder": str(slices / "batch_1")},
            {"id": "batch_2", "status": "pending", "folder": str(data / "batch_2")},
        ]
    )
    upload("batch_1_masks.zip", (slices / "m.zip").read_bytes())
    upload("batch_2_masks.zip", (slices / "s.zip").read_bytes())
    return open_databases(replace(dbs.settings, data_directory=data), client=client)


def by_file(dbs) -> dict:
    return {r["filename"]: r for r in receipts.list_receipts(dbs.work)}


def test_an_upload_of_49000_long_named_masks_is_synced_beside_the_others(lab, dbs):
    report = sync.run_sync(lab)
    got = by_file(dbs)
    assert (got["batch_2_masks.zip"]["usable"], got["batch_2_masks.zip"]["matched"]) == (True, 3)
    big = got["batch_1_masks.zip"]
    assert (big["usable"], big["problem"], big["masks"], big["matched"]) == (
        True,
        None,
        COUNT,
        COUNT,
    )
    assert report.not_stored == []
    stored = dbs.work.mask_checks.find_one({"filename": "batch_1_masks.zip"})
    # what fits: every name, without each mask's size and checksum (past 16 MB with them)
    assert len(stored["names"]) == COUNT and stored["members"] is None
    batch = dbs.work.batches.find_one({"id": "batch_2"})
    assert batch["mask_check"]["state"] == "complete"


def test_a_listing_the_database_refuses_is_said_and_the_sync_goes_on(lab, dbs, monkeypatch, capsys):
    """A listing that still does not fit (the database's limit met before ours) makes its
    upload unreadable with the database's reason, said by the run; the other upload, its batch
    and its receipt are written all the same."""
    monkeypatch.setattr(listing_store, "MAX_LISTING_BYTES", 64 * 1024 * 1024)
    report = sync.run_sync(lab)
    got = by_file(dbs)
    assert (got["batch_2_masks.zip"]["usable"], got["batch_2_masks.zip"]["matched"]) == (True, 3)
    big = got["batch_1_masks.zip"]
    assert (big["usable"], big["problem"]) == (False, "unreadable")
    assert str(big["reason"]).startswith("the listing could not be stored (")
    assert [r["filename"] for r in report.not_stored] == ["batch_1_masks.zip"]
    assert report.not_stored[0]["reason"] == str(big["reason"])
    assert dbs.work.batches.find_one({"id": "batch_2"})["mask_check"]["state"] == "complete"
    _print_sync(report)  # what `segcore sync` prints after the run
    said = capsys.readouterr().err
    assert "1 upload whose listing could not be stored:" in said
    assert f"not stored: batch_1_masks.zip: {big['reason']}" in said


def test_a_receipt_the_database_refuses_is_stored_without_its_names(dbs):
    """A receipt naming more than a document holds (hundreds of batches' missing images with
    long names) keeps its counts and verdict; the receipts beside it are stored as built."""
    missing = [f"{'x' * 400}_{n:05d}.png" for n in range(50)]
    parts = [
        {"id": f"batch_{n}", "missing_count": 900, "missing": missing, "extra": [], "usable": False}
        for n in range(1, 1001)
    ]
    big = {"_id": 1, "filename": "batch_1_to_batch_1000.zip", "problem": "incomplete"}
    big.update(parts=parts, missing=missing, missing_count=900_000, usable=False)
    small = {"_id": 2, "filename": "batch_2.zip", "problem": None, "missing": [], "usable": True}
    receipts.save_receipts(dbs.work, [big, small])
    stored = {r["_id"]: r for r in dbs.work.receipts.find()}
    assert stored[2]["usable"] is True
    assert (stored[1]["problem"], stored[1]["missing_count"], stored[1]["missing"]) == (
        "incomplete",
        900_000,
        [],
    )
    assert stored[1]["names_left_out"] is True and len(stored[1]["parts"]) == 1000
    assert {p["missing_count"] for p in stored[1]["parts"]} == {900}


def test_an_image_listing_the_database_refuses_leaves_its_batch_unknown_saying_why(dbs):
    """A batch folder of more long names than a document holds is stored as a listing whose
    images are unknown, with the database's reason: the batch is unknown, never complete."""
    from datetime import datetime

    from segcore.images.batch_images import ImageListing, save_listings, stored_listings

    names = [f"{'y' * 300}_{n:06d}.png" for n in range(60_000)]
    fine = ImageListing("batch_2", "/data/batch_2", ["img_001.png"], datetime(2026, 1, 1))
    huge = ImageListing("batch_1", "/data/batch_1", names, datetime(2026, 1, 1))
    kept = save_listings(dbs.work, [huge, fine])
    stored = stored_listings(dbs.work, ["batch_1", "batch_2"])
    assert stored["batch_2"].names == ["img_001.png"]
    assert stored["batch_1"].names is None and kept[0].error == stored["batch_1"].error
    assert stored["batch_1"].error.startswith("the listing could not be stored (")
    check = mask_check.batch_result(dbs.work, [], stored["batch_1"], dbs.settings.mask_suffixes)
    assert check.state == "unknown" and check.note.startswith("images: the listing could not")
