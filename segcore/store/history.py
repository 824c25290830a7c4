"""The change history: who changed what, when, from which value to which, for batches and team."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from pymongo import DESCENDING
from pymongo.database import Database

from segcore.core.phrases import Phrase, text_of
from segcore.core.timefmt import utcnow
from segcore.store.schema import HISTORY, delete_in

COLLECTION = HISTORY


@dataclass
class Change:
    """One recorded change. `kind` is "batch", "team" or "import"; `key` the batch id or name.

    `reason` says why, when the change was not typed by hand (e.g. an applied suggested move).
    """

    kind: str
    key: str
    field: str
    old: object
    new: object
    author: str
    at: datetime = field(default_factory=utcnow)
    reason: str | None = None


def ensure_indexes(db: Database) -> None:
    db[COLLECTION].create_index([("key", 1), ("at", -1)])
    db[COLLECTION].create_index([("at", -1)])
    # Who left the team (`handover.former_members`, read by the Batches and Team pages): without
    # it that lookup is a pass over every entry, tens of thousands after a first sync.
    db[COLLECTION].create_index([("kind", 1), ("field", 1)], name="kind_field")


def record(db: Database, changes: list[Change], session=None) -> list:
    """Append `changes` to the history in one write (within `session`'s transaction, if any);
    returns the entries' ids, in the order of `changes` (see `withdraw`)."""
    if not changes:
        return []
    docs = documents(changes)
    db[COLLECTION].insert_many(docs, ordered=False, session=session)
    return [doc["_id"] for doc in docs]


def withdraw(db: Database, entry_ids: list) -> None:
    """Remove entries `record` just wrote for changes that then did not happen (a
    compare-and-set that found the value changed meanwhile): the history says only what was
    done. Entries are written before their change so that a crash repeats one, never loses one."""
    delete_in(db[COLLECTION], "_id", entry_ids)


def documents(changes: list[Change]) -> list[dict]:
    """The stored form of `changes` (a restore writes them into its staging collection)."""
    return [_as_doc(c) for c in changes]


def _as_doc(change: Change) -> dict:
    doc = {k: v for k, v in asdict(change).items() if k != "reason" or v is not None}
    if isinstance(change.reason, Phrase):  # the English text stays for older readers
        doc["reason"], doc["reason_phrase"] = text_of(change.reason), change.reason.as_doc()
    return doc


def list_history(
    db: Database, key: str | None = None, kind: str | None = None, limit: int = 200
) -> list[dict]:
    """The most recent changes, newest first; only those of `key` (a batch id or name) if given."""
    query: dict = {}
    if key is not None:
        query["key"] = str(key)
    if kind is not None:
        query["kind"] = str(kind)
    cursor = db[COLLECTION].find(query, {"_id": 0}).sort("at", DESCENDING).limit(int(limit))
    entries = list(cursor)
    for entry in entries:  # a reason kept as a phrase reads back as one
        if "reason_phrase" in entry:
            entry["reason"] = Phrase.from_doc(entry.pop("reason_phrase"), entry.get("reason"))
    return entries
