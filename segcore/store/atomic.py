"""Writing a change and its history in one step, so a crash never leaves one without the other.

On a replica set (production, Atlas) and on the embedded server, which reports itself as one,
the writes of one step run in a multi-document transaction. A standalone server has none:
there each step's writes follow each other closely (batch writes, then their history), and a
crash between them can still lose the history of that one step (see README, Reliability).
"""

from __future__ import annotations

import weakref
from typing import Callable, TypeVar

from pymongo import MongoClient
from pymongo.client_session import ClientSession
from pymongo.database import Database

T = TypeVar("T")
# By client: the answer does not change while it is open. Keyed by id() with a weak reference
# to check it, since a closed client's id is reused by the next one (possibly to another server).
_SUPPORT: dict[int, tuple[weakref.ref, bool]] = {}


def supports_transactions(client: MongoClient) -> bool:
    """True when the server is a replica-set primary or a mongos (asked once per client)."""
    known = _SUPPORT.get(id(client))
    if known is not None and known[0]() is client:
        return known[1]
    hello = client.admin.command("hello")
    primary = hello.get("isWritablePrimary", hello.get("ismaster", False))
    answer = bool(primary and hello.get("setName")) or hello.get("msg") == "isdbgrid"
    _SUPPORT[id(client)] = (weakref.ref(client), answer)
    return answer


def in_one_step(db: Database, work: Callable[[ClientSession | None], T]) -> T:
    """Run `work(session)` in a transaction where the server offers them, else `work(None)`.

    `work` may run more than once (a transaction that met a concurrent write is retried), so
    it must read what it needs through the session and return its result, not collect it.
    """
    if not supports_transactions(db.client):
        return work(None)
    with db.client.start_session() as session:
        return session.with_transaction(work)
