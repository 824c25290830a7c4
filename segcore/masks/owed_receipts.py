"""The receipts a mask check makes, with those an earlier run still owes, and the status moves
a first receipt decides.

A check stores the uploads' listings a slice at a time and their receipts at the end. Killed in
between, the listed uploads were current and never listed again, so they never got a receipt:
the check therefore makes one for every upload in its scope that has none (listed now or by an
earlier run). A first receipt moves its batch's status as a sync's receipt of a new upload does
(MASKS_SET_STATUS), when its upload is the batch's newest: the moves are written before the
receipts, so a run killed between them owes the receipts again and finds the moves made.
A receipt made under other matching settings (MASK_SUFFIXES, MASK_EXTENSIONS corrected since)
is owed too: made again under the current ones, so it agrees with its batch's mask check,
which those settings recompute.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

from segcore.core.naming import batch_key
from segcore.core.phrases import N_, Phrase
from segcore.masks.receipts import (
    CONTENT_FAILED,
    IMAGES_INSTEAD,
    INCOMPLETE,
    PROBLEM_WORDS,
    build_receipts,
    save_receipts,
)
from segcore.store.schema import BATCHES, RECEIPTS, find_in
from segcore.work import delivery, review


def owed(work: Database, upload_ids, every: bool, rules: dict) -> tuple[set, set]:
    """`(without, other_rules)`: the uploads of `upload_ids` that have no receipt, and those
    whose receipt was made under other matching settings than `rules` (`mask_matching.matching_rules`;
    one stored before receipts kept them included). `every`: `upload_ids` is every upload,
    so the receipts are read in one pass rather than looked up by id."""
    projection = {"_id": 1, "rules": 1}
    if every:
        docs = work[RECEIPTS].find({}, projection)
    else:
        docs = find_in(work[RECEIPTS], "_id", list(upload_ids), projection)
    made = {d["_id"]: d.get("rules") for d in docs}
    wanted = set(upload_ids)
    other = {u for u, under in made.items() if u in wanted and under != rules}
    return {u for u in upload_ids if u not in made}, other


def store(
    databases,
    uploads: dict,
    made_for: list,
    first: set,
    scope: tuple[list[dict], list[dict], dict],
    author: str,
) -> list[review.Move]:
    """Build and store the receipts of `made_for` (ids of `uploads`, the file documents with
    their batch keys); with MASKS_SET_STATUS on, first move the statuses of the batches whose
    newest upload is one of `first` (those without a receipt before). `scope`: the checked
    batches' documents (with `key`), their results (rows in the same order) and each batch
    key's upload ids. A batch segcore sent to rework for a problem these results find gone
    (delivered now) moves to review (`review.moves_after_checks`). Returns the moves made."""
    work, settings = databases.work, databases.settings
    batches, rows, by_batch = scope
    results = {b["key"]: r for b, r in zip(batches, rows)}
    keys = {k for u in made_for for k in uploads[u]["batches"]}
    made = build_receipts(
        work,
        [uploads[u] for u in made_for],
        {b["key"]: b for b in batches},
        results,
        "verify",
        settings.mask_suffixes,
        extensions=settings.mask_extensions,
        by_batch={k: {u: uploads[u].get("uploadDate") for u in by_batch.get(k, ())} for k in keys},
    )
    moves: list[review.Move] = []
    if settings.masks_set_status and first:
        newest = {k for k in keys if _newest(by_batch.get(k, ()), uploads) in first}
        ids = [b["id"] for b in batches if b["key"] in newest]
        docs = find_in(work[BATCHES], "id", ids, {"_id": 1, "id": 1, "status": 1})
        for doc in docs:
            doc["key"] = batch_key(doc["id"])
        receipts = [r for r in made if r["_id"] in first]
        moves = review.apply_moves(
            work, moves_after_receipts(receipts, docs, results), author, edit=True
        )
    if settings.masks_set_status:  # a rework for a problem the check finds gone (chunks came)
        usable = [row["id"] for row in rows if isinstance(row, dict) and row.get("usable") is True]
        moves += review.moves_after_checks(work, usable, author)
    save_receipts(work, made)
    return moves


def _newest(upload_ids, uploads: dict):
    """The upload a batch follows: its newest by date (then id), as a sync sees them arrive."""

    def order(u):
        date = uploads[u].get("uploadDate")
        return (isinstance(date, datetime), date if isinstance(date, datetime) else 0, str(u))

    return max(upload_ids, key=order, default=None)


def moves_after_receipts(receipts: list[dict], docs: list[dict], results: dict) -> list:
    """The status moves that new receipts cause: each batch of `docs` (with `_id`, `id`,
    `status`, `key`) follows its newest receipt; `results`: the batches' mask checks by key."""
    newest_of: dict[str, dict] = {}
    for receipt in sorted(receipts, key=lambda r: str(r.get("upload_date"))):
        for batch_id in receipt["batches"]:
            newest_of[batch_id] = receipt

    def decide(doc):
        newest = newest_of.get(str(doc.get("id")))
        if newest is None:
            return None
        usable = delivery.is_usable_check(results.get(doc["key"]))
        problem = batch_problem(newest, str(doc.get("id")))
        return delivery.status_after_upload(doc.get("status"), usable, newest["readable"], problem)

    return review.moves_after_upload(docs, decide)


def batch_problem(receipt: dict, batch_id: str) -> Phrase | None:
    """Why `receipt`'s upload leaves `batch_id` lacking, "incomplete: batch_2: 2 of 3 images
    without a mask", of that batch alone (None: no problem of its own). An upload naming several
    batches (`batch_1_to_batch_2.zip`) has one reason, about the first batch it finds lacking:
    stored as every batch's rework reason, it named another person's batch and figures on
    their page. Each batch's reason comes from its own part of the receipt; an unreadable file
    is every batch's problem, in its own words; a content problem is told without counts."""
    problem, reason = (
        receipt["problem"],
        Phrase.from_doc(receipt.get("reason_phrase"), receipt["reason"]),
    )
    if set(receipt.get("batches") or ()) - {batch_id} and problem not in ("unreadable", "no_batch"):
        problem, reason = _own_part(receipt, batch_id)
    if problem in (None, "unknown"):
        return None
    return Phrase(
        N_("{problem}: {reason}"),
        problem=Phrase(PROBLEM_WORDS.get(problem, problem)),
        reason=reason,
    )


def _own_part(receipt: dict, batch_id: str) -> tuple:
    """(problem, reason) of one batch's part of a receipt naming several, as `receipt_problem`
    words a receipt of that batch alone: its masks missing, or the upload's content problems."""
    part = next((p for p in receipt.get("parts") or () if p.get("id") == batch_id), {})
    if part.get("missing_count") and isinstance(part.get("images"), int):
        told = receipt.get("reason_phrase") or {}
        instead = told.get("template") == IMAGES_INSTEAD[0]  # the batch's images, not masks
        return "incomplete", Phrase(
            IMAGES_INSTEAD if instead else INCOMPLETE,
            plural_by="images",
            batch=batch_id,
            missing=part["missing_count"],
            images=part["images"],
        )
    if receipt["problem"] == "content":
        return "content", Phrase(CONTENT_FAILED)
    return None, None
