"""What content checks still owe, remembered until it is done.

A content step stores each upload's result, then its batches' sums and status moves, then
writes the results into the receipts and enqueues their messages. A process killed in between
lost the rest for good: the sync had saved its resume point (its new uploads were never new
again) and a check skips uploads whose result is stored. So the uploads are marked in
`content_due` before any of it starts (by a sync for the new uploads it hands to a content
step, before its resume point; by the check for those it is about to read) and unmarked once
their receipts have the results and their messages are enqueued. Every content step first does
what an earlier one left owed (`check_and_tell`); the live sync queues them when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pymongo.database import Database
from pymongo.errors import BulkWriteError

from segcore.core.actors import Actor, authorize_write
from segcore.core.timefmt import utcnow
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import CONTENT_DUE, DUPLICATE_KEY, META, delete_in

EVERY = "content_due_every"  # `app_meta`: a check of every upload not yet checked is owed
NEW = "new"  # a sync's mode: its new uploads are owed a content check
NEW_OR_EVERY = "new or every"  # and after a read that cannot tell new, every upload


@dataclass
class Owed:
    """The uploads owed a content step, and whether a check of every upload is owed."""

    ids: list = field(default_factory=list)
    every: bool = False

    def __bool__(self) -> bool:
        return bool(self.ids) or self.every


def mark(work: Database, upload_ids: list) -> None:
    """Remember that these uploads are owed a content step (a mark already there stays)."""
    if not upload_ids:
        return
    now = utcnow()
    try:
        work[CONTENT_DUE].insert_many(
            [{"_id": upload_id, "at": now} for upload_id in upload_ids], ordered=False
        )
    except BulkWriteError as exc:  # marked already: kept as it is
        if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", ())):
            raise


def read_again(work: Database, upload_ids: list) -> None:
    """Uploads listed again now that their missing chunks are there: a content step is owed
    them, and the content result made while they could not be read is forgotten."""
    if upload_ids:
        from segcore.content.mask_content_check import forget_uploads

        mark(work, upload_ids)
        forget_uploads(work, upload_ids)


def mark_every(work: Database) -> None:
    """A content check of every upload is owed (a sync's first read cannot tell which are new)."""
    work[META].update_one({"_id": EVERY}, {"$set": {"at": utcnow()}}, upsert=True)


def owed(work: Database) -> Owed:
    """What earlier content steps left undone."""
    return Owed(
        [d["_id"] for d in work[CONTENT_DUE].find({}, {"_id": 1})],
        work[META].find_one({"_id": EVERY}, {"_id": 1}) is not None,
    )


def settle(work: Database, upload_ids: list, every: bool = False) -> None:
    """Their content step is done: forget the marks (and the check of every upload owed)."""
    delete_in(work[CONTENT_DUE], "_id", list(upload_ids))
    if every:
        work[META].delete_one({"_id": EVERY})


def mark_for_sync(work: Database, mode: str | None, new_ids: list | None) -> None:
    """A sync's marks, before it saves its resume point: its new uploads (`mode` NEW), and
    every upload when it could not tell which are new (`mode` NEW_OR_EVERY)."""
    if mode is None:
        return
    if new_ids is not None:
        mark(work, new_ids)
    elif mode == NEW_OR_EVERY:
        mark_every(work)


def check_and_tell(
    databases,
    *,
    tell: Callable[[list], object],
    upload_ids: list | None = None,
    batch_ids: list[str] | None = None,
    owed_first: bool = True,
    author: "str | Actor" = "verify",
    **options,
):
    """A content check (`mask_content_check.check_content`: `upload_ids`, `batch_ids` and
    `options` as it takes them) whose results reach the receipts (`receipts.apply_content`)
    and then `tell` (the uploads' ids: their messages are enqueued there), after what earlier
    steps left owed (with `owed_first`). A full check also writes into the receipts the stored
    results they lack. Returns the ContentReport; PermissionDenied for a viewer."""
    from segcore.content.mask_content_check import ContentReport

    authorize_write(author)
    refuse_writes(databases.work)
    options["author"] = author
    work = databases.work
    due = owed(work) if owed_first else Owed()
    if upload_ids is not None and due.every:
        upload_ids = None  # a check of every upload was cut short: done whole, as it was
    if upload_ids is not None:  # a sync's new uploads, with those owed: one pass
        ids = list(dict.fromkeys([*due.ids, *upload_ids]))
        return (
            _step(databases, tell, ids, {**options, "batch_ids": batch_ids})
            if ids
            else ContentReport()
        )
    first = None
    if due.ids and batch_ids is not None:  # their batches are not all in this check's scope
        first = _step(databases, tell, due.ids, {"author": author})
    report = _step(databases, tell, None, {**options, "batch_ids": batch_ids}, due)
    return _merged(first, report) if first is not None else report


def _step(databases, tell, upload_ids, options: dict, due: Owed | None = None):
    """One check, then its results into the receipts, `tell`, and the marks gone: in this
    order, so a kill anywhere leaves the marks (a check of every upload settles `due` too)."""
    from segcore.content.mask_content_check import check_content
    from segcore.masks.receipts import apply_content, lacking_content

    work = databases.work
    marked: list = []

    def before_reading(ids: list) -> None:
        mark(work, ids)
        marked.extend(ids)

    report = check_content(
        databases,
        upload_ids=upload_ids,
        before_reading=before_reading if upload_ids is None else None,
        **options,
    )
    whole = upload_ids is None and options.get("batch_ids") is None
    owed_ids = list(upload_ids or ()) + (due.ids if due is not None and whole else [])
    repaired = lacking_content(work) if whole else []
    told = list(dict.fromkeys([*owed_ids, *report.checked_ids, *repaired]))
    apply_content(work, told)
    tell(told)
    settle(work, [*owed_ids, *marked], every=whole)
    return report


def _merged(first, then):
    """One report of two checks (the owed uploads', then the one asked for)."""
    rows = {row["id"]: row for row in first.batches}
    rows.update((row["id"], row) for row in then.batches)
    then.checked_uploads += first.checked_uploads
    then.skipped += first.skipped
    then.bytes_read += first.bytes_read
    then.checked_ids = [*first.checked_ids, *then.checked_ids]
    then.sent_back = list(dict.fromkeys([*first.sent_back, *then.sent_back]))
    then.batches = sorted(rows.values(), key=lambda r: (len(str(r["id"])), str(r["id"])))
    return then
