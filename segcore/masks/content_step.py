"""A content step: a content check, then what it found carried into the checks and receipts.

The check (`mask_content_check.check_content`) stores each upload's result; the copies of the
batch's images it told by their pixels become no masks in the mask check and the receipts
(`resaved_images`); the results are written into the receipts, `tell` enqueues their messages,
and the marks of what was owed (`content_due`) go, in this order, so a kill anywhere leaves
the marks for the next step.
"""

from __future__ import annotations

from typing import Callable

from segcore.core.actors import Actor, authorize_write
from segcore.masks.content_due import Owed, mark, owed, settle
from segcore.store.restore_marker import refuse_writes


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
    from segcore.masks.resaved_images import count_as_copies

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
    if report.resaved:  # copies of the images told by their pixels: no masks
        report.recounted = count_as_copies(databases, report.resaved, options["author"])
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
    then.unmatched += first.unmatched
    then.bytes_read += first.bytes_read
    then.checked_ids = [*first.checked_ids, *then.checked_ids]
    then.sent_back = list(dict.fromkeys([*first.sent_back, *then.sent_back]))
    then.cleared = list(dict.fromkeys([*first.cleared, *then.cleared]))
    then.resaved = {**first.resaved, **then.resaved}
    then.recounted = list(dict.fromkeys([*first.recounted, *then.recounted]))
    then.batches = sorted(rows.values(), key=lambda r: (len(str(r["id"])), str(r["id"])))
    return then
