"""What happens when a sync sees new uploads: each is listed, its batches are re-checked, its
receipt is stored and, with MASKS_SET_STATUS on, its batches' statuses move (`review` when the
batch is now usable or its images are unknown, `rework` with the reason when an upload is
unreadable or the batch incomplete). A routine run and the live sync call it for the uploads of
one group, before their resume point is saved: a crash repeats it, and it is idempotent.
"""

from __future__ import annotations

import heapq

from pymongo.database import Database

from segcore.masks import mask_check, owed_receipts
from segcore.masks.receipts import build_receipts, save_receipts
from segcore.store.connection import Databases
from segcore.store.schema import BATCHES, RECEIPTS, find_in
from segcore.sync.index.index_entry import date_order
from segcore.sync.index.sync_index import each_upload
from segcore.uploads.uploads import READ_OPTIONS, resolve_batch_ids, upload_from_document
from segcore.work import review

BACKLOG = 1000  # uploads without a receipt a first full read lists, newest first
BATCH_FIELDS = {"id": 1, "folder": 1, "status": 1, "assignee": 1, mask_check.FIELD: 1}


def make_receipts(
    databases: Databases,
    upload_ids: list,
    uploads_of,
    batch_by_key: dict,
    *,
    made_by: str,
    author: str,
    pending: dict | None = None,
    renew=None,
    read: dict | None = None,
    files: dict | None = None,
    found_into=None,
) -> list[review.Move]:
    """List the uploads `upload_ids`, recompute their batches, store their receipts and, with
    MASKS_SET_STATUS on, move the batches' statuses. `uploads_of(key)`: every upload of a
    batch, {id: index entry} (the sync's index); `batch_by_key`: the batch list's documents
    (at least `_id`) by key. `pending`: the sync's planned updates not yet written
    ({doc id: (batch id, $set, $unset)}); those of these batches are taken out and written in
    the same update as the batch's result and move, so a batch is written once. `renew` runs
    between bulk writes. `read`: batch documents the caller read (with BATCH_FIELDS) and has
    not changed those fields of since, by document id; the others are read here. `files`: the
    uploads' whole file documents the caller has (a change stream's), by upload id; the others
    are read here. `found_into` (the sync's report) gets the uploads whose listing the
    database refused in its `not_stored` ({"filename", "reason"}; each stored as unreadable
    instead), and what listing them read in its `checked_uploads`, `bytes_read` and
    `bytes_stored`. A batch's earlier uploads never listed (older than the receipts) are not
    listed here: its state stays unknown until `segcore verify` lists them (on the benchmark,
    listing them made a routine sync after 1,000 new uploads 70 times slower). Returns the
    status moves made."""
    work, settings = databases.work, databases.settings
    uploads = _read_uploads(databases, list(upload_ids), files or {})
    if not uploads:
        return []
    keys = {k for u in uploads.values() for k in u["batches"] if k in batch_by_key}
    entries = {k: uploads_of(k) for k in keys}
    by_batch = {k: list(found) for k, found in entries.items()}
    dates = {u: getattr(e, "date", None) for found in entries.values() for u, e in found.items()}
    docs = _batches(work, [batch_by_key[k]["_id"] for k in sorted(keys)], read or {})
    found = mask_check.check_new_uploads(
        databases, uploads, by_batch, docs, dates, listed=set(batch_by_key)
    )
    if found_into is not None:
        found_into.not_stored += found.not_stored
        listed, read, stored = found.listed
        found_into.checked_uploads += listed
        found_into.bytes_read += read
        found_into.bytes_stored += stored
    made = build_receipts(
        work,
        list(uploads.values()),
        {d["key"]: d for d in docs},
        found.results,
        made_by,
        settings.mask_suffixes,
        listings=found.listings,
        images=found.images,
        extensions=settings.mask_extensions,
        by_batch={k: {u: dates[u] for u in found_ids} for k, found_ids in entries.items()},
    )
    moves = (
        owed_receipts.moves_after_receipts(made, docs, found.results)
        if settings.masks_set_status
        else []
    )
    also = {}
    for doc in docs:
        batch_id, to_set, to_unset = (pending or {}).pop(doc["_id"], (doc.get("id"), {}, {}))
        if doc["key"] in found.fields:
            to_set = {**to_set, mask_check.FIELD: found.fields[doc["key"]]}
        if to_set or to_unset:
            also[doc["_id"]] = (batch_id, to_set, to_unset)
    applied = review.apply_moves(work, moves, author, also=also, each_chunk=renew)
    # The receipts last: a run killed before this point leaves these uploads without receipts,
    # so the next run (first contact lists the uploads without one) makes them and their moves
    # again; stored first, a kill between them and the moves lost the moves for good.
    save_receipts(work, made)
    return applied


def _batches(work: Database, doc_ids: list, read: dict) -> list[dict]:
    """The documents of `doc_ids` (BATCH_FIELDS), in that order: from `read` where it has
    them, the rest in one pass."""
    found = {
        d["_id"]: d
        for d in find_in(work[BATCHES], "_id", [i for i in doc_ids if i not in read], BATCH_FIELDS)
    }
    found.update((i, read[i]) for i in doc_ids if i in read)
    return [found[i] for i in doc_ids if i in found]


def _read_uploads(databases: Databases, upload_ids: list, whole: dict) -> dict:
    """The file documents of `upload_ids` (from `whole` where it has them, cut to what the
    sync reads), each with its batch keys in `batches`; those the sync calls unusable (odd
    documents) are never opened, as `verify` skips them."""
    uploads = {}
    have = {i: _as_read(whole[i]) if whole.get(i) is not None else None for i in upload_ids}
    files = databases.masks_files.with_options(codec_options=READ_OPTIONS)
    missing = [i for i in upload_ids if have[i] is None]
    read = find_in(files, "_id", missing, mask_check.UPLOAD_PROJECTION)
    for doc in [d for d in have.values() if d is not None] + read:
        if upload_from_document(doc).problem:
            continue
        doc["batches"] = resolve_batch_ids(doc.get("filename"), doc.get("metadata"))
        uploads[doc["_id"]] = doc
    return uploads


def _as_read(doc: dict) -> dict | None:
    """A whole file document cut to mask_check.UPLOAD_PROJECTION (paths one level deep), as
    the server returns it; None when a path runs through something not a document (read it
    again: the server's projection of that decides)."""
    cut = {"_id": doc["_id"]}
    for path in mask_check.UPLOAD_PROJECTION:
        top, _, inner = path.partition(".")
        if top not in doc:
            continue
        if not inner:
            cut[top] = doc[top]
        elif isinstance(doc[top], dict):
            part = cut.setdefault(top, {})
            if inner in doc[top]:
                part[inner] = doc[top][inner]
        else:
            return None
    return cut


def backlog(work: Database, index: dict[str, dict], limit: int = BACKLOG) -> list:
    """On first contact (a full read with no earlier index): the newest `limit` uploads of
    `index` without a receipt (one pass over the receipts' ids). The older ones get theirs from
    `segcore verify` ("Check masks"): listing 500,000 uploads is a mask check of its own."""
    have = {d["_id"] for d in work[RECEIPTS].find({}, {"_id": 1})}
    without = ((i, date_order(entry)) for i, entry, _keys in each_upload(index) if i not in have)
    newest = heapq.nlargest(limit, without, key=lambda u: u[1])
    return [upload_id for upload_id, _date in newest]
