"""The app database's collection names, and the one way segcore looks up many ids at once.

Production names (`segmentadores`, `batches`) are kept as the old dashboard left them; the
rest are collections this app added.
"""

from __future__ import annotations

import bson
from bson.errors import InvalidDocument
from pymongo import ReplaceOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DocumentTooLarge, WriteError

from segcore.core.errors import N_, shortened

TEAM = "segmentadores"
BATCHES = "batches"
HISTORY = "history"
APP_USERS = "app_users"
APP_SESSIONS = "app_sessions"  # login sessions, by the SHA-256 of their cookie's token
LOGIN_ATTEMPTS = "login_attempts"  # failed logins for names that are not users (by hash)
META = "app_meta"  # small state documents: batch-list generation, sync state, demo marker
PREPARED = "prepared"  # the `app_meta` stamp of the code that last prepared the database
SYNC_STATE = "sync"  # the sync's state document in META (resume point, index stamp, ...)
SYNC_RUNS = "sync_runs"
SYNC_INDEX = "sync_index"
LOCKS = "locks"
MASK_CHECKS = "mask_checks"  # each upload's listed mask names, keyed by the upload's id
RECEIPTS = "receipts"  # one receipt per upload, keyed by the upload's id
MASK_CONTENT = "mask_content"  # each upload's content check (sizes, empty, labels), by id
CONTENT_DUE = "content_due"  # uploads a content check still owes its results, by upload id
BATCH_IMAGES = "batch_images"  # each batch's image names, keyed by batch id
NOTIFY_OUTBOX = "notify_outbox"  # every message to send, keyed by its idempotency key
UPLOAD_DAYS = "upload_days"  # uploads per local day, kept by the sync (segcore.sync.upload_stats)
ROW_SNAPSHOT = "row_snapshot"  # the batch rows a restarted app starts from (segcore.views)
RESTORE_STATE = (
    "restore_state"  # a restore under way (or interrupted), see segcore.backups.backup_restore
)
RESTORE_STAGING = "restore_staging."  # prefix: collections a restore writes before swapping in
RESTORE_PREVIOUS = "restore_previous."  # prefix: the data a restore swapped out, until it ends

# `$in` is quadratic in the list length on the embedded server (1,000 ids take 3 s): long
# lists are split into short ones, which costs a real MongoDB nothing measurable. 1,000 batch
# ids by `_id` out of 10,000: 0.72 s in lists of 200, 0.45 s of 100, 0.33 s of 50 or 25.
IN_CHUNK = 50


def find_in(
    collection: Collection,
    field: str,
    values: list,
    projection: dict | None = None,
    session=None,
    where: dict | None = None,
):
    """Every document whose `field` is one of `values` (and matching the fixed filter `where`),
    found with short `$in` lists."""
    found = []
    for start in range(0, len(values), IN_CHUNK):
        found += collection.find(
            {**(where or {}), field: {"$in": values[start : start + IN_CHUNK]}},
            projection,
            session=session,
        )
    return found


def delete_in(collection: Collection, field: str, values: list) -> None:
    """Delete every document whose `field` is one of `values`, with short `$in` lists (see
    find_in)."""
    for start in range(0, len(values), IN_CHUNK):
        collection.delete_many({field: {"$in": values[start : start + IN_CHUNK]}})


DUPLICATE_KEY = 11000
MAX_DOCUMENT = 16 * 1024 * 1024  # bytes: a stored document's limit (MongoDB's, the embedded's)
# Why a document a write needed was refused (too large, ...): its listing says so instead.
NOT_STORED = N_("the listing could not be stored ({detail})")


def document_size(doc: dict) -> int:
    """`doc`'s size as stored (BSON), in bytes; MAX_DOCUMENT + 1 when it cannot be stored."""
    try:
        return len(bson.encode(doc))
    except (InvalidDocument, OverflowError):
        return MAX_DOCUMENT + 1


def replace_many(collection: Collection, docs: list[dict], chunk: int = 1000) -> dict[int, str]:
    """Store `docs` (each with its `_id`), replacing any stored under the same id; returns the
    documents the server refused (too large, ...), {position in `docs`: its reason}, the others
    stored all the same: one bad document never stops a sync. A write concern error or a lost
    connection raises.

    Inserted first and replaced only where one exists: the documents a sync stores per upload
    are nearly always new, and on the embedded server an insert costs a fifth of an upsert.
    """
    refused: dict[int, str] = {}
    for start in range(0, len(docs), chunk):
        part = docs[start : start + chunk]
        try:
            collection.insert_many(part, ordered=False)
            continue
        except BulkWriteError as exc:
            errors = _write_errors(exc)
        except DocumentTooLarge:  # the driver refused the whole part: one at a time
            errors = _one_by_one(collection, part)
        again = [e["index"] for e in errors if e.get("code") == DUPLICATE_KEY]
        refused.update(
            (start + e["index"], _reason(e)) for e in errors if e.get("code") != DUPLICATE_KEY
        )
        if not again:
            continue
        try:
            collection.bulk_write(
                [ReplaceOne({"_id": part[i]["_id"]}, part[i]) for i in again], ordered=False
            )
        except BulkWriteError as exc:
            refused.update((start + again[e["index"]], _reason(e)) for e in _write_errors(exc))
    return refused


def _write_errors(exc: BulkWriteError) -> list[dict]:
    """The documents a bulk write refused; raises it again for a write concern error."""
    if exc.details.get("writeConcernErrors"):
        raise exc
    return exc.details.get("writeErrors", [])


def _one_by_one(collection: Collection, docs: list[dict]) -> list[dict]:
    """Insert `docs` one at a time; the refusals, as a bulk write lists them."""
    errors = []
    for index, doc in enumerate(docs):
        try:
            collection.insert_one(doc)
        except (DocumentTooLarge, WriteError) as exc:
            code = getattr(exc, "code", None)
            errors.append({"index": index, "code": code, "errmsg": str(exc)})
    return errors


def _reason(error: dict) -> str:
    """A refused write's reason, one short line (the server's words; never the document)."""
    lines = str(error.get("errmsg") or "").strip().splitlines()
    return shortened(lines[0], 120) if lines else f"error {error.get('code')}"
