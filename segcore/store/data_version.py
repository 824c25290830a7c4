"""A cheap version of the app's data, so readers re-read only what changed.

Two small documents in `app_meta` hold it, both read in one indexed round trip:

- `batches`: `generation` (bumped by segcore's edits and imports; the sync compares it to know
  whether the batch list changed), `synced` (bumped when a sync rewrote batches) and `recent`,
  the batch ids each of the last few changes touched (None: too many to list). A reader that
  knows the version before lets it re-read only those batches. `edits` lists the same for the
  last few generation bumps alone, so a live sync can follow segcore's edits without noticing
  its own writes.
- `data_version`: one counter per other topic (`team`, `sync`), bumped by every write to it.
"""

from __future__ import annotations

from contextlib import nullcontext

from pymongo.database import Database

from segcore.store import write_wait
from segcore.store.schema import META

BATCHES_DOC = "batches"
VERSION_DOC = "data_version"
TOPICS = ("team", "sync")
RECENT_KEPT = 64  # changes whose touched ids are remembered
IDS_KEPT = 500  # beyond this many ids a change is remembered as "everything"


def _touched(batch_ids) -> list[str] | None:
    ids = None if batch_ids is None else list(dict.fromkeys(str(b) for b in batch_ids))
    return ids if ids is not None and len(ids) <= IDS_KEPT else None


def bump_batches(db: Database, batch_ids=None, *, by_sync: bool = False, session=None) -> None:
    """Record a change of the batch list (of `batch_ids`, or of any batch when None), within
    `session`'s transaction if any."""
    counter = "synced" if by_sync else "generation"
    touched = _touched(batch_ids)
    pushed = {"recent": {"$each": [touched], "$slice": -RECENT_KEPT}}
    if not by_sync:
        pushed["edits"] = {"$each": [touched], "$slice": -RECENT_KEPT}
    # Outside a transaction it may wait on one holding the document (see write_wait).
    with write_wait.bounded() if session is None else nullcontext():
        db[META].update_one(
            {"_id": BATCHES_DOC},
            {"$inc": {counter: 1}, "$push": pushed},
            upsert=True,
            session=session,
        )


def edited_batches(db: Database, since: int | None) -> tuple[int, set[str] | None]:
    """(the generation now, the batch ids segcore's edits touched since generation `since`),
    the ids None when they cannot be told (too many, or older than the edits remembered)."""
    doc = db[META].find_one({"_id": BATCHES_DOC}, {"generation": 1, "edits": 1}) or {}
    now = int(doc.get("generation", 0))
    return now, _named_by_last(
        list(doc.get("edits") or []), now - since if isinstance(since, int) else -1
    )


def bump(db: Database, *topics: str) -> None:
    """Record a change of `topics` (names from TOPICS)."""
    unknown = set(topics) - set(TOPICS)
    if unknown:
        raise ValueError(f"unknown data topics: {sorted(unknown)}")
    db[META].update_one({"_id": VERSION_DOC}, {"$inc": {t: 1 for t in topics}}, upsert=True)


def read_versions(db: Database) -> dict:
    """{"batches": (generation, synced), "team": n, "sync": n, "recent": [...]} in one read."""
    docs = {d["_id"]: d for d in db[META].find({"_id": {"$in": [BATCHES_DOC, VERSION_DOC]}})}
    batches, others = docs.get(BATCHES_DOC, {}), docs.get(VERSION_DOC, {})
    versions = {t: int(others.get(t, 0)) for t in TOPICS}
    versions["batches"] = (int(batches.get("generation", 0)), int(batches.get("synced", 0)))
    versions["recent"] = list(batches.get("recent") or [])
    return versions


def changed_batches(
    before: tuple[int, int], after: tuple[int, int], recent: list
) -> set[str] | None:
    """The batch ids changed between two versions, or None when they cannot be told apart
    (a change touched too many, or it is older than the changes remembered). Pure."""
    if min(after[0] - before[0], after[1] - before[1]) < 0:
        return None
    return _named_by_last(recent, (after[0] - before[0]) + (after[1] - before[1]))


def _named_by_last(entries: list, steps: int) -> set[str] | None:
    """The ids the last `steps` remembered changes name; None when one named too many, or
    when older changes than those remembered are asked for."""
    if steps < 0 or steps > len(entries):
        return None
    ids: set[str] = set()
    for entry in entries[len(entries) - steps :] if steps else []:
        if entry is None:
            return None
        ids.update(entry)
    return ids
