"""Which batches a mask check reports on: those named, those the uploads checked name, or
every batch in the list (`verify --all`), one document per batch key; and the row of a batch
whose id is no text, which no check can take (another tool's `7` or ObjectId)."""

from __future__ import annotations

from collections.abc import Hashable

from pymongo.database import Database

from segcore.core.errors import N_, BatchNotFound
from segcore.core.naming import batch_key, one_per_batch
from segcore.store.schema import BATCHES
from segcore.work.delivery import CHECK_FIELD


def batches_in_scope(
    work: Database,
    batch_ids,
    every_batch: bool,
    upload_ids,
    uploads: dict,
    by_batch: dict,
    not_text: list | None = None,
) -> list[dict]:
    """The batch documents to report on, each with its canonical `key`: one per key
    (`one_per_batch`: batch_1 rather than a leftover batch_001). With `every_batch`, the
    documents whose id is no text (another tool's 7 or ObjectId: no key) are appended to
    `not_text`, never left out silently."""
    projection = {"_id": 0, "id": 1, "folder": 1, CHECK_FIELD: 1}
    if batch_ids:
        wanted = {str(b): batch_key(str(b)) for b in batch_ids}
        names = list({*wanted, *wanted.values()})
        found = one_per_batch(
            work[BATCHES].find({"id": {"$in": names[:400]}}, projection), batch_doc_key
        )
        if len(names) > 400 or not set(wanted.values()) <= set(found):
            # legacy ids written differently (batch_0400): compare canonical forms
            every = work[BATCHES].find({}, projection)
            found = one_per_batch(
                (d for d in every if batch_doc_key(d) in wanted.values()), batch_doc_key
            )
        unknown = [given for given, key in wanted.items() if key not in found]
        if unknown:
            raise BatchNotFound(N_("No batch {ids} in the batch list."), ids=", ".join(unknown[:5]))
        docs = list(found.values())
    else:
        keys = (
            None
            if every_batch
            else (
                set(by_batch)
                if upload_ids is None
                else {k for u in upload_ids if u in uploads for k in uploads[u]["batches"]}
            )
        )
        in_scope = []
        for d in work[BATCHES].find({}, projection):
            if not batch_doc_key(d):  # no id, or one that is no text
                if every_batch and not_text is not None:
                    not_text.append(d)
            # a batch whose stored result counted uploads when none names it now (deleted):
            # checked again rather than left delivered by uploads that are gone
            elif keys is None or batch_doc_key(d) in keys or (upload_ids is None and counted(d)):
                in_scope.append(d)
        docs = list(one_per_batch(in_scope, batch_doc_key).values())
    for doc in docs:
        doc["key"] = batch_doc_key(doc)
    return sorted(docs, key=lambda d: (len(d["key"]), d["key"]))


def counted(doc: dict) -> list:
    """The upload ids a batch's stored result counted ([] without one)."""
    stored = doc.get(CHECK_FIELD)
    uploads = stored.get("uploads") if isinstance(stored, dict) else None
    return [u for u in uploads if isinstance(u, Hashable)] if isinstance(uploads, list) else []


def batch_doc_key(doc: dict) -> str | None:
    """A batch document's key (`batch_key` of its id); None when its id is no text."""
    raw = doc.get("id")
    return batch_key(raw) if isinstance(raw, str) else None


def not_checked(doc: dict) -> dict:
    """The report's row of a batch whose id another tool stored as no text (7, an ObjectId, a
    list, none): listed under that id's text, as the Batches page lists it, with why it was
    not checked; every other batch has an id uploads name and a folder is found by."""
    raw = doc.get("id")
    if raw is None or raw == "":
        reason = "not checked: the batch has no id"
    else:
        reason = f"not checked: its id is not text ({type(raw).__name__}), so no upload names it"
    shown = "" if raw is None else str(raw)
    return {"id": shown, "state": "unknown", "images": None, "note": reason, "not_checked": reason}
