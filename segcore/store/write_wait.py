"""How long a write may wait on documents another command's transaction holds, and what is said
when it waited longer.

A command killed mid-transaction (kill -9, a dropped SSH session) leaves its transaction open;
the server gives it up after 60 s (MongoDB, and the embedded server segcore starts: see
embedded_server), and a plain write that meets its documents waits until then. A SecantusDB
server started otherwise (by an earlier segcore, still running, or by hand behind MONGO_URI)
gives it up only when a transactional command arrives, and such a write waited for good: a
cron sync then held its lease and never finished. So the writes that can meet a transaction's
documents (batches, the batch list's version) are bounded: past WRITE_WAIT_S the command stops
with WriteStalled, as after a crash at that point (every write is idempotent, the resume point
is saved last, the history is written first), and its lease is given back.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import pymongo
from pymongo.errors import PyMongoError, ServerSelectionTimeoutError

from segcore.core.errors import N_, WriteStalled

# The transaction's 60 s, the server's check for it (1 s), and the write's own work with room
# to spare; under the sync lease's 2 minutes less one renewal (20 s), so a sync waiting here
# still holds its lease when it gives up.
WRITE_WAIT_S = 90

STALLED = N_(
    "The database did not finish a write within {seconds} s: another command's transaction "
    "still holds these batches (a command killed mid-way holds them until its transaction "
    "expires). Run this again in a minute; if it keeps happening, restart the database "
    "server (the embedded one with `segcore stop-server`)."
)


@contextmanager
def bounded():
    """Run the block's writes within WRITE_WAIT_S; raise WriteStalled when they took longer.

    A dead server is still reported as unreachable (server selection fails within seconds)."""
    started = time.monotonic()
    try:
        with pymongo.timeout(WRITE_WAIT_S):
            yield
    except PyMongoError as exc:
        waited = time.monotonic() - started
        if not exc.timeout or isinstance(exc, ServerSelectionTimeoutError):
            raise
        if waited < WRITE_WAIT_S * 0.9:  # a connection that timed out: not a wait on a write
            raise
        raise WriteStalled(STALLED, seconds=WRITE_WAIT_S) from None


def bulk_write(collection, operations: list, chunk: int = 1000, each_chunk=None) -> int:
    """Write `operations` unordered, `chunk` per bulk write, each bulk write bounded; returns
    how many documents they modified. `each_chunk` runs after each one (a sync renews its
    lease there)."""
    modified = 0
    for start in range(0, len(operations), chunk):
        with bounded():
            result = collection.bulk_write(operations[start : start + chunk], ordered=False)
        modified += result.modified_count
        if each_chunk is not None:
            each_chunk()
    return modified
