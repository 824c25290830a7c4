"""Copies of a batch's images the content check told by their pixels: no masks, everywhere.

The listing tells copies by their bytes or an images folder (`images.image_copies`); the content
check, decoding the masks, finds the others (`content.image_pixels`: `img_003.png` saved again
by the annotator's tool next to `img_001_mask.png`). Each upload's stored listing then counts
them as the copies it found itself (among the other files, "a copy of its image, not a mask"),
and its batches' mask checks and its receipt are made again: the image such a copy stands for
has no mask, so the batch is not delivered by it, and a batch that went to review on the
upload's first receipt goes back to rework, with why (MASKS_SET_STATUS).
"""

from __future__ import annotations

from pymongo import UpdateOne

from segcore.core.actors import Actor, authorize_write
from segcore.core.naming import batch_key
from segcore.masks import mask_check
from segcore.masks.found_copies import without_copies
from segcore.masks.owed_receipts import batch_problem
from segcore.masks.receipts import store_receipts
from segcore.store.schema import BATCHES, MASK_CHECKS, find_in
from segcore.uploads.uploads import PROJECTION, READ_OPTIONS, usable_documents
from segcore.work import review
from segcore.work.delivery import MOVABLE, REVIEW, REWORK, is_usable_check


def count_as_copies(databases, found: dict, author: "str | Actor") -> list[str]:
    """Store the copies a content check `found` ({upload id: paths}) in their uploads'
    listings, then make their batches' mask checks and the uploads' receipts again, and move
    back to rework a batch no longer delivered (MASKS_SET_STATUS). Returns the batches whose
    check was made again."""
    who = authorize_write(author)
    work, settings = databases.work, databases.settings
    fields = {
        d["_id"]: without_copies(d, found[d["_id"]])
        for d in find_in(work[MASK_CHECKS], "_id", list(found))
    }
    changed = [upload_id for upload_id, values in fields.items() if values is not None]
    if not changed:
        return []
    writes = [UpdateOne({"_id": u}, {"$set": fields[u]}) for u in changed]
    work[MASK_CHECKS].bulk_write(writes, ordered=False)
    files = databases.masks_files.with_options(codec_options=READ_OPTIONS)
    uploads = usable_documents(find_in(files, "_id", changed, PROJECTION), lambda upload: None)
    keys = sorted({k for u in uploads.values() for k in u["batches"]})
    docs = _batches(work, keys)
    by_batch = {d["key"]: _counted(d.get(mask_check.FIELD)) for d in docs}
    mask_check.recheck_batches(databases, by_batch, changed, [d["id"] for d in docs])
    docs = _batches(work, keys)
    receipts = store_receipts(
        work,
        list(uploads.values()),
        {d["key"]: d for d in docs},
        {d["key"]: d.get(mask_check.FIELD) for d in docs},
        "verify",
        settings.mask_suffixes,
        extensions=settings.mask_extensions,
    )
    if settings.masks_set_status:
        _send_back(work, docs, receipts, who)
    return [d["id"] for d in docs]


def _batches(work, keys: list[str]) -> list[dict]:
    projection = {"_id": 1, "id": 1, "folder": 1, "status": 1, mask_check.FIELD: 1}
    docs = [d for d in find_in(work[BATCHES], "id", keys, projection) if isinstance(d["id"], str)]
    return [{**d, "key": batch_key(d["id"])} for d in docs]


def _counted(check) -> list:
    """The upload ids a batch's stored mask check counted (the uploads naming it)."""
    uploads = check.get("uploads") if isinstance(check, dict) else None
    return list(uploads) if isinstance(uploads, list) else []


def _send_back(work, docs: list[dict], receipts: list[dict], author: str) -> None:
    """A batch these copies leave without a mask goes back to its segmentador, as a content
    problem sends it: pending, in progress or awaiting review move to rework, with the
    receipt's reason."""
    moves = []
    for doc in docs:
        if doc.get("status") not in (*MOVABLE, REVIEW) or is_usable_check(
            doc.get(mask_check.FIELD)
        ):
            continue
        told = [r for r in receipts if doc["id"] in r["batches"]]
        reason = batch_problem(told[-1], doc["id"]) if told else None
        if reason is not None:
            moves.append(review.Move(doc["_id"], doc["id"], doc["status"], REWORK, reason))
    review.apply_moves(work, moves, author, edit=True)
