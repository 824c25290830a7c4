"""The batch documents changed since a point in the batch list's change stream, whoever changed
them.

Segcore's own writes name the batches they touch (`segcore.store.data_version`); other tools
may edit batch documents without it. A restarted app starting from its stored rows
(`segcore.views.row_snapshot`) reads this stream from where its rows were known whole, so an
edit made meanwhile by another tool shows after a restart, as it did when every restart read
every batch. What the rows cannot follow by a batch's `id` alone (a removal, a replaced
document, an `id` changed, a dropped collection) or too many changes mean reading every batch.
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
    """The changed batch documents, whole, by `_id` (the last change of each wins), and the
    position to resume from next time."""

    documents: dict = field(default_factory=dict)
    token: dict | None = None


def changes_since(batches: Collection, token: dict, limit: int) -> BatchChanges:
    """Every batch inserted or edited since `token`, read as it is now.

    Raises ReadEveryBatch for a change rows keyed by `id` cannot follow, or when more than
    `limit` documents changed (reading every batch is then as cheap)."""
    found = BatchChanges()

    def take(event: dict) -> None:
        document = _document(event)  # first: some events name no document
        found.documents[repr(event["documentKey"].get("_id"))] = document
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
