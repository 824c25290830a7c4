"""The app database's collection names, and the one way segcore looks up many ids at once.

Production names (`segmentadores`, `batches`) are kept as the old dashboard left them; the
rest are collections this app added.
"""

from __future__ import annotations

from pymongo.collection import Collection

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


def replace_many(collection: Collection, docs: list[dict], chunk: int = 1000) -> None:
    """Store `docs` (each with its `_id`), replacing any stored under the same id.

    Inserted first and replaced only where one exists: the documents a sync stores per upload
    are nearly always new, and on the embedded server an insert costs a fifth of an upsert.
    """
    from pymongo import ReplaceOne
    from pymongo.errors import BulkWriteError

    for start in range(0, len(docs), chunk):
        part = docs[start : start + chunk]
        try:
            collection.insert_many(part, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors) or exc.details.get(
                "writeConcernErrors"
            ):
                raise
            collection.bulk_write(
                [ReplaceOne({"_id": part[e["index"]]["_id"]}, part[e["index"]]) for e in errors],
                ordered=False,
            )
