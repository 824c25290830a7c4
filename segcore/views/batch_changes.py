"""The batch documents changed since a point in the batch list's change stream, whoever changed
them.

Segcore's own writes name the batches they touch (`segcore.store.data_version`); other tools
may edit batch documents without it. The rows in memory (`segcore.views.batch_rows`) read this
stream from where they were last known whole, on every refresh of a running app and when a
restarted app starts from its stored rows (`segcore.views.row_snapshot`), so an edit made by
another tool shows on the next page load. What the rows cannot follow by a batch's `id` alone
(a removal, a replaced document, an `id` changed, a dropped collection) or too many changes mean
reading every batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pymongo.collection import Collection
from pymongo.errors import ConnectionFailure, OperationFailure

from segcore.store.change_stream import replay


class ReadEveryBatch(Exception):
    """The changes cannot be applied row by row; the message says why."""


@dataclass
class BatchChanges:
    """The changed batch documents, whole, by `_id` (the last change of each wins), which of
    them were inserted, and the position to resume from next time."""

    documents: dict = field(default_factory=dict)
    inserted: set = field(default_factory=set)
    token: dict | None = None


def changes_since(batches: Collection, token: dict, limit: int) -> BatchChanges:
    """Every batch inserted or edited since `token`, read as it is now.

    Raises ReadEveryBatch for a change rows keyed by `id` cannot follow, or when more than
    `limit` documents changed (reading every batch is then as cheap)."""
    found = BatchChanges()

    def take(event: dict) -> None:
        document = _document(event)  # first: some events name no document
        key = repr(event["documentKey"].get("_id"))
        found.documents[key] = document
        if event.get("operationType") == "insert":
            found.inserted.add(key)
        if len(found.documents) > limit:
            raise ReadEveryBatch(f"more than {limit} batches changed")

    try:
        found.token = replay(batches, token, take, await_ms=1, batch_size=1000)
        return found
    except ConnectionFailure:
        raise
    except OperationFailure as exc:  # the history no longer reaches back that far, no rights
        raise ReadEveryBatch(str(exc).split(",", 1)[0][:120]) from None


def _document(event: dict) -> dict:
    kind = event.get("operationType")
    if kind not in ("insert", "update"):
        raise ReadEveryBatch(f"a batch document saw a {kind or 'change'}")
    described = event.get("updateDescription") or {}
    touched = [*(described.get("updatedFields") or {}), *(described.get("removedFields") or [])]
    if any(name == "id" or name.startswith("id.") for name in touched):
        raise ReadEveryBatch("a batch's id changed")
    document = event.get("fullDocument")
    if not isinstance(document, dict):  # removed since: its removal comes later in the stream
        raise ReadEveryBatch("a changed batch is gone")
    return document
