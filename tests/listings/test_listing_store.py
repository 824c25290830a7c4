"""Listing many uploads at once (a sync's new uploads, a whole `verify`): the chunk totals of a
slice come from one aggregate, yet every listing is exactly what listing the upload alone
gives, whatever is wrong with it."""

from __future__ import annotations

import pytest

from segcore.archives import listing_store
from segcore.archives.archive_listing import list_upload
from segcore.masks.mask_check import VerifyReport
from segcore.uploads.gridfs_reader import chunk_totals
from tests.archives import images, make_tar, make_zip

BUDGET = 64 * 1024 * 1024
FIELDS = ("kind", "names", "reason", "reason_code", "reason_params", "other_files", "members")


@pytest.fixture
def shelf(dbs, upload):
    """Uploads as real tools leave them, some damaged; returns their file documents."""
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]
    tar = make_tar(images(30, ext="_mask.png"), "w:gz", size=3000, random=True)
    made = {
        "good.zip": upload("batch_1.zip", make_zip(images(5, ext="_mask.png")), batch_id="batch_1"),
        "good.tgz": upload("batch_1_b.tar.gz", tar, chunk_size=8 * 1024, batch_id="batch_1"),
        "cut.tgz": upload("batch_2.tar.gz", tar, chunk_size=8 * 1024),
        "empty.tar": upload("batch_3.tar", make_tar(images(3), "w", size=500)),
        "empty.zip": upload("batch_4.zip", make_zip(images(3))),
        "empty.png": upload("batch_5_mask.png", b"\x89PNG" + b"x" * 100),
        "noname": upload("batch_6", make_zip(images(2))),
        "short.zip": upload("batch_7.zip", make_zip(images(40, ext="_mask.png")), chunk_size=4096),
    }
    chunks.delete_one({"files_id": made["cut.tgz"], "n": 2})  # an upload that died half-way
    for name in ("empty.tar", "empty.zip", "empty.png", "noname"):
        chunks.delete_many({"files_id": made[name]})  # the file document, and no chunk
    chunks.update_one({"files_id": made["short.zip"], "n": 1}, {"$set": {"data": b"short"}})
    docs = {}
    for name, file_id in made.items():
        doc = dbs.masks_files.find_one({"_id": file_id})
        doc["batches"] = [f"batch_{name.split('.')[0]}"]
        docs[name] = doc
    return docs


def test_listed_together_or_alone_the_listings_are_the_same(dbs, shelf):
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]
    alone = {name: list_upload(chunks, doc, BUDGET) for name, doc in shelf.items()}
    uploads = {doc["_id"]: doc for doc in shelf.values()}
    by_batch = {doc["batches"][0]: [doc["_id"]] for doc in shelf.values()}
    report = VerifyReport()
    checked, kept = listing_store.list_and_store(
        dbs, list(shelf.values()), uploads, by_batch, report, lambda *_: None, keep=True
    )
    assert sorted(map(str, checked)) == sorted(str(i) for i in uploads)
    assert report.checked_uploads == len(shelf)
    for name, doc in shelf.items():
        stored = dbs.work.mask_checks.find_one({"_id": doc["_id"]})
        listing = alone[name]
        expected = {
            "kind": listing.kind,
            "names": listing.names,
            "reason": listing.reason,
            "reason_code": listing.code,
            "reason_params": listing.params,
            "other_files": listing.other_files,
            "members": listing.members,
        }
        assert {k: stored[k] for k in FIELDS} == expected, name
        assert {k: kept[doc["_id"]][k] for k in FIELDS} == expected, name
    assert alone["good.zip"].readable and alone["good.tgz"].readable
    assert alone["empty.tar"].reason == "truncated upload: chunk 0 is missing"
    assert not alone["short.zip"].readable and not alone["cut.tgz"].readable


def test_totals_of_many_uploads_in_one_aggregate(dbs, shelf):
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]
    totals = chunk_totals(chunks, [d["_id"] for d in shelf.values()])
    assert shelf["empty.zip"]["_id"] not in totals  # no chunk at all
    count, size, last = totals[shelf["good.zip"]["_id"]]
    assert (size, last + 1) == (shelf["good.zip"]["length"], count)


def test_a_second_upload_of_a_batch_listed_in_the_same_run_records_what_changed(dbs, upload):
    first = upload("batch_9_v1.zip", make_zip(images(3, ext="_mask.png")), batch_id="batch_9")
    second = upload("batch_9_v2.zip", make_zip(images(4, ext="_mask.png")), batch_id="batch_9")
    docs = [dbs.masks_files.find_one({"_id": i}) for i in (second, first)]  # newest first
    for doc in docs:
        doc["batches"] = ["batch_9"]
    uploads = {d["_id"]: d for d in docs}
    listing_store.list_and_store(
        dbs, docs, uploads, {"batch_9": [first, second]}, VerifyReport(), lambda *_: None
    )
    assert dbs.work.mask_checks.find_one({"_id": first})["changes"] is None
    changes = dbs.work.mask_checks.find_one({"_id": second})["changes"]
    assert changes["previous"] == first and changes["added_count"] == 1


def _long_listing(count: int) -> dict:
    """A stored listing of `count` masks named as LIDC slice exports (~100 characters)."""
    uid = "1.3.6.1.4.1.14519.5.2.1.6279.6001.179049373636438705059720603192"
    names = [f"LIDC-IDRI-0001_{uid}_slice_{n:05d}_mask.png" for n in range(count)]
    return {
        "filename": "batch_1.zip",
        "names": names,
        "reason": None,
        "other_files": ["README"],
        "members": [{"name": n, "size": 70, "crc": 123456789} for n in names],
        "paths": [f"masks/{n}" for n in names],
        "placed": {"batch_1": names},
        "also_loose": [],
    }


@pytest.mark.parametrize(
    "room, kept",
    [
        (1.0, "whole"),  # fits: stored as listed
        (0.8, "names and paths"),  # without sizes and checksums
        (0.35, "names"),  # without paths and folders either
        (0.1, "refused"),  # not even the names: never a listing naming some of its masks
    ],
)
def test_a_listing_is_kept_within_the_bytes_a_document_may_hold(room, kept):
    from segcore.store.schema import document_size

    doc = _long_listing(2000)
    limit = int(document_size(doc) * room)
    stored = listing_store.fit_listing(doc, limit)
    assert document_size(stored) <= limit
    if kept == "refused":
        assert (stored["reason"], stored["names"]) == ("too many members to check (2001)", [])
        assert stored["reason_code"] == "too many members to check ({count})"
        return
    assert stored["names"] == doc["names"] and stored["reason"] is None
    assert (stored["members"] is not None) == (kept == "whole")
    assert (stored["paths"] is not None) == (kept != "names")
    assert stored["placed"] == ({} if kept == "names" else doc["placed"])
