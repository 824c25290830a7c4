"""What happens when a sync sees new uploads: each is listed, its batches are re-checked, its
receipt is stored and, with MASKS_SET_STATUS on, its batches' statuses move (`review` when the
batch is now usable or its images are unknown, `rework` with the reason when an upload is
unreadable or the batch incomplete). A routine run and the live sync call it for the uploads of
one group, before their resume point is saved: a crash repeats it, and it is idempotent.
"""

from __future__ import annotations

from pymongo.database import Database

from segcore.masks import mask_check
from segcore.masks.receipts import store_receipts
from segcore.store.connection import Databases
from segcore.store.schema import BATCHES, RECEIPTS, find_in
from segcore.uploads.uploads import READ_OPTIONS, resolve_batch_ids, upload_from_document
from segcore.work import delivery, review

BACKLOG = 1000  # uploads without a receipt a first full read lists, newest first
_BATCH = {"id": 1, "folder": 1, "status": 1, "assignee": 1, mask_check.FIELD: 1}


def make_receipts(
    databases: Databases,
    upload_ids: list,
    uploads_of,
    batch_by_key: dict,
    *,
    made_by: str,
    author: str,
) -> list[review.Move]:
    """List the uploads `upload_ids`, recompute their batches, store their receipts and, with
    MASKS_SET_STATUS on, move the batches' statuses. `uploads_of(key)`: every upload of a
    batch, {id: index entry} (the sync's index); `batch_by_key`: the batch list's documents (at least `_id`) by
    key. A batch's earlier uploads never listed (older than the receipts) are not listed
    here: its state stays unknown until `segcore verify` lists them (on the benchmark, listing
    them made a routine sync after 1,000 new uploads 70 times slower). Returns the status
    moves made."""
    work = databases.work
    uploads = _read_uploads(databases, list(upload_ids))
    if not uploads:
        return []
    keys = {k for u in uploads.values() for k in u["batches"] if k in batch_by_key}
    entries = {k: uploads_of(k) for k in keys}
    by_batch = {k: list(found) for k, found in entries.items()}
    dates = {u: getattr(e, "date", None) for found in entries.values() for u, e in found.items()}
    docs = find_in(work[BATCHES], "_id", [batch_by_key[k]["_id"] for k in sorted(keys)], _BATCH)
    results = mask_check.check_new_uploads(databases, uploads, by_batch, docs, dates)
    store_receipts(
        work,
        list(uploads.values()),
        {d["key"]: d for d in docs},
        results,
        made_by,
        databases.settings.mask_suffixes,
    )
    if not databases.settings.masks_set_status:
        return []
    return review.apply_moves(work, _moves(work, uploads, docs, results), author)


def _read_uploads(databases: Databases, upload_ids: list) -> dict:
    """The file documents of `upload_ids`, each with its batch keys in `batches`; those the
    sync calls unusable (odd documents) are never opened, as `verify` skips them."""
    uploads = {}
    files = databases.masks_files.with_options(codec_options=READ_OPTIONS)
    for doc in find_in(files, "_id", upload_ids, mask_check.UPLOAD_PROJECTION):
        if upload_from_document(doc).problem:
            continue
        doc["batches"] = resolve_batch_ids(doc.get("filename"), doc.get("metadata"))
        uploads[doc["_id"]] = doc
    return uploads


def backlog(work: Database, index: dict[str, dict], limit: int = BACKLOG) -> list:
    """On first contact (a full read with no earlier index): the newest `limit` uploads of
    `index` without a receipt (one pass over the receipts' ids). The older ones get theirs from
    `segcore verify` ("Check masks"): listing 500,000 uploads is a mask check of its own."""
    have = {d["_id"] for d in work[RECEIPTS].find({}, {"_id": 1})}
    newest: dict = {}
    for entries in index.values():
        for upload_id, entry in entries.items():
            if upload_id not in have:
                newest[upload_id] = entry.date
    ordered = sorted(newest, key=lambda u: (newest[u] is not None, newest[u] or 0), reverse=True)
    return ordered[:limit]


def _moves(work: Database, uploads: dict, docs: list[dict], results: dict) -> list[review.Move]:
    receipts = {
        r["_id"]: r
        for r in find_in(
            work[RECEIPTS],
            "_id",
            list(uploads),
            {"readable": 1, "reason": 1, "problem": 1, "batches": 1, "upload_date": 1},
        )
    }

    newest_of: dict[str, dict] = {}
    for receipt in sorted(receipts.values(), key=lambda r: str(r.get("upload_date"))):
        for batch_id in receipt["batches"]:
            newest_of[batch_id] = receipt

    def decide(doc):
        newest = newest_of.get(str(doc.get("id")))
        if newest is None:
            return None
        usable = delivery.is_usable_check(results.get(doc["key"]))
        problem = (
            None
            if newest["problem"] in (None, "unknown")
            else f"{newest['problem']}: {newest['reason']}"
        )
        return delivery.status_after_upload(doc.get("status"), usable, newest["readable"], problem)

    return review.moves_after_upload(docs, decide)
