"""Compare-and-set writes to batches without a transaction, each told apart by its mark.

On a server without transactions (a standalone MongoDB) a write's history entries are written
first (a crash repeats an entry, never loses one), then the writes in bulk, each marking its
batch with its first entry (MARK). A bulk write counts the updates made, not which: after a
shortfall the mark tells a write that took effect from someone else's write of the same value
made meanwhile, which the values alone cannot, and the entries of those that did not are taken
back. Used by the status moves (`work.review`) and the edits of the batch table
(`work.assignments`).
"""

from __future__ import annotations

from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import PyMongoError

from segcore.store import write_wait
from segcore.store.history import Change, record, withdraw
from segcore.store.schema import BATCHES, find_in

# On the batch document: the history entry of the last write made here without a transaction
# (named when only status moves were marked; stored data keeps the name).
MARK = "status_move_entry"
WRITE_CHUNK = 1000  # batch updates per bulk write


def write_marked(
    db: Database, writes: list[tuple[dict, dict, list[Change]]], each_chunk=None
) -> list[bool]:
    """Make `writes` on the batches; returns, per write, whether it took effect.

    `writes`: (filter, update, history changes) per batch, the filter holding its `_id` and
    the values seen (compare-and-set), at least one change each. `each_chunk` runs after each
    bulk write (a sync renews its lease there)."""
    if not writes:
        return []
    entries = iter(record(db, [change for _, _, changes in writes for change in changes]))
    grouped = [[next(entries) for _ in changes] for _, _, changes in writes]
    operations = [
        UpdateOne(where, {**update, "$set": {**update.get("$set", {}), MARK: ids[0]}})
        for (where, update, _), ids in zip(writes, grouped)
    ]
    try:
        if _bulk(db, operations, each_chunk) == len(operations):
            return [True] * len(operations)
    except Exception:  # a chunk not sent (the connection lost, the lease gone): said, not kept
        try:
            _withdraw_untaken(db, writes, grouped)
        except PyMongoError:
            pass  # the server is gone: the entries stay, as after a crash (one repeated)
        raise
    return _withdraw_untaken(db, writes, grouped)


def _withdraw_untaken(db: Database, writes: list, grouped: list[list]) -> list[bool]:
    """Per write, whether its mark is on its batch; the entries of those not are taken back."""
    doc_ids = [where["_id"] for where, _, _ in writes]
    marks = {d["_id"]: d.get(MARK) for d in find_in(db[BATCHES], "_id", doc_ids, {MARK: 1})}
    took = [marks.get(doc_id) == ids[0] for doc_id, ids in zip(doc_ids, grouped)]
    withdraw(db, [entry for ids, ok in zip(grouped, took) if not ok for entry in ids])
    return took


def _bulk(db: Database, operations: list[UpdateOne], each_chunk) -> int:
    return write_wait.bulk_write(db[BATCHES], operations, WRITE_CHUNK, each_chunk)
