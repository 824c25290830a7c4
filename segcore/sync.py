"""Sync the batch list with the uploaded masks in `<TRAINING_DB>.<MASKS_BUCKET>.files`.

For every batch it sets `mongo_uploaded` and `training_metrics_info` from the uploads that name
it, writing only the batches whose stored values differ. The training database is only read.

A full run reads every upload and stores which uploads name which batch (`sync_index`). A routine
run reads only what changed since (`upload_changes`), applies it to that index and re-plans only
the batches whose uploads changed, unless the batch list itself changed. Runs are recorded in
`sync_runs`; a lease in `locks` keeps two syncs apart. Every write is idempotent and the resume
point is saved last, so a run interrupted anywhere converges on the next run.
"""

from __future__ import annotations

import gc
import os
import socket
import sys
import heapq
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from pymongo import DESCENDING, UpdateOne
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from segcore.actors import Actor, writer_name
from segcore.batches import generation
from segcore.connection import Databases
from segcore.errors import SyncAlreadyRunning
from segcore.history import utcnow
from segcore.naming import canonical_batch_id, person_key
from segcore.sync_index import UNMATCHED, keys_holding, read_index, write_index
from segcore.upload_changes import (Changes, FullReadNeeded, changes_from_ids,
                                    changes_from_stream, current_token)
from segcore.uploads import Upload, read_uploads, upload_from_document

RUNS, LOCKS, META = "sync_runs", "locks", "app_meta"
FULL_EVERY = timedelta(hours=24)  # a routine sync reads everything at least this often
KEEP = 200  # problem uploads listed per kind in a run's report (all are counted)
LEASE = timedelta(minutes=2)
FILES_KEPT = 5
WRITE_CHUNK = 1000
Progress = Callable[[float, str], None]

# An index entry: (upload id, filename, uploader, upload date, length).
Entry = tuple


# --- pure parts -----------------------------------------------------------------------------

def index_uploads(uploads) -> dict[str, dict]:
    """Group uploads by the batch key they name ({key: {upload id: entry}})."""
    index: dict[str, dict] = defaultdict(dict)
    for upload in uploads:
        add_to_index(index, upload)
    return index


def add_to_index(index: dict[str, dict], upload: Upload) -> None:
    uploader = sys.intern(upload.uploaded_by) if upload.uploaded_by else None
    entry = (upload.id, upload.filename, uploader, upload.upload_date, upload.length)
    for key in upload.batches or (UNMATCHED,):
        index.setdefault(key, {})[upload.id] = entry


def desired_info(entries) -> dict:
    """`training_metrics_info` for a batch with these uploads, in the production layout."""
    ordered = sorted(entries, key=lambda e: (e[3] is not None, e[3] or datetime.min, str(e[0])),
                     reverse=True)
    uploaders: dict[str, str] = {}
    for entry in ordered:
        if entry[2]:
            uploaders.setdefault(person_key(entry[2]), entry[2])
    return {"file_count": len(ordered),
            "latest_upload": ordered[0][3] if ordered else None,
            "files": [e[1] for e in ordered[:FILES_KEPT]],
            "uploaders": sorted(uploaders.values(), key=person_key)}


def plan_batch_updates(batches: list[dict], index: dict[str, dict]) -> list[tuple]:
    """(document _id, $set, $unset) for each batch whose sync fields differ from the uploads."""
    updates = []
    for doc in batches:
        key = canonical_batch_id(doc.get("id")) if isinstance(doc.get("id"), str) else None
        entries = index.get(key, {}).values() if key else ()
        if entries:
            wanted = {"mongo_uploaded": True, "training_metrics_info": desired_info(entries)}
            if doc.get("mongo_uploaded") is not True or doc.get("training_metrics_info") != \
                    wanted["training_metrics_info"]:
                updates.append((doc["_id"], wanted, None))
        else:
            stale_info = doc.get("training_metrics_info") is not None
            if doc.get("mongo_uploaded") is not False or stale_info:
                updates.append((doc["_id"], {"mongo_uploaded": False},
                                {"training_metrics_info": ""} if "training_metrics_info" in doc
                                else None))
    return updates


@dataclass
class Finding:
    """An upload the report points out, with the batch and assignee where relevant."""

    filename: str
    uploaded_by: str | None
    upload_date: datetime | None
    size_mb: float
    batches: list[str]
    assignee: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _finding(entry: Entry, batches: list[str], assignee: str | None = None) -> Finding:
    return Finding(entry[1], entry[2], entry[3], round((entry[4] or 0) / 1048576, 2), batches,
                   assignee)


def find_problems(batches: list[dict], index: dict[str, dict],
                  keep: int = 1000) -> tuple[tuple, tuple, tuple]:
    """Orphans (name a batch not in the list), unmatched (name none), mismatched uploaders.

    Returns (count, the `keep` most recent findings) for each kind, so a huge backlog of
    problems does not have to be held in memory.
    """
    assignees: dict[str, str | None] = {}
    for doc in batches:
        key = canonical_batch_id(doc.get("id")) if isinstance(doc.get("id"), str) else None
        if key:
            assignees[key] = doc.get("assignee") or None
    orphan_batches: dict[object, list[str]] = defaultdict(list)
    orphan_entries: dict[object, Entry] = {}
    # A bounded heap keeps only the newest `keep` mismatches: a lab where most uploads come
    # from someone else than the assignee would otherwise hold one tuple per upload.
    mismatched: list[tuple] = []
    mismatch_count = 0
    for key, entries in index.items():
        if key == UNMATCHED:
            continue
        if key not in assignees:
            for upload_id, entry in entries.items():
                orphan_batches[upload_id].append(key)
                orphan_entries[upload_id] = entry
            continue
        assignee = assignees[key]
        if not assignee:
            continue
        wanted = person_key(assignee)
        for entry in entries.values():
            if entry[2] and person_key(entry[2]) != wanted:
                mismatch_count += 1
                item = (_date_key(entry), mismatch_count, entry, key, assignee)
                if len(mismatched) < keep:
                    heapq.heappush(mismatched, item)
                elif item > mismatched[0]:
                    heapq.heapreplace(mismatched, item)
    newest = lambda pairs: heapq.nlargest(keep, pairs, key=lambda p: _date_key(p[0]))  # noqa: E731
    orphans = [_finding(e, sorted(orphan_batches[e[0]]))
               for e, _ in newest((e, None) for e in orphan_entries.values())]
    unmatched_entries = index.get(UNMATCHED, {})
    unmatched = [_finding(e, []) for e, _ in newest((e, None) for e in unmatched_entries.values())]
    mismatches = [_finding(e, [key], assignee) for _, _, e, key, assignee in
                  sorted(mismatched, reverse=True)]
    return ((len(orphan_entries), orphans), (len(unmatched_entries), unmatched),
            (mismatch_count, mismatches))


def _date_key(entry: Entry) -> tuple:
    return (entry[3] is not None, entry[3] or datetime.min)


# --- the run --------------------------------------------------------------------------------

@dataclass
class SyncReport:
    """What a sync did; the first keys are those the old dashboard reported."""

    total_files: int = 0
    batches_with_masks: int = 0
    batches_without_masks: int = 0
    batches_updated: int = 0
    orphans: int = 0
    unmatched: int = 0
    mismatches: int = 0
    duration_s: float = 0.0
    mode: str = "manual"
    full: bool = False
    new_files: int = 0
    removed_files: int = 0
    full_reason: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    orphan_uploads: list[Finding] = field(default_factory=list)
    unmatched_uploads: list[Finding] = field(default_factory=list)
    mismatched_uploads: list[Finding] = field(default_factory=list)

    COUNTS = ("total_files", "batches_with_masks", "batches_without_masks", "batches_updated",
              "orphans", "unmatched", "mismatches", "new_files", "removed_files")

    def as_dict(self, details: bool = False) -> dict:
        result = {k: getattr(self, k) for k in self.COUNTS}
        result.update(duration_s=self.duration_s, mode=self.mode, full=self.full,
                      full_reason=self.full_reason,
                      started_at=self.started_at, finished_at=self.finished_at)
        if details:
            for name in ("orphan_uploads", "unmatched_uploads", "mismatched_uploads"):
                result[name] = [f.as_dict() for f in getattr(self, name)]
        return result


class _Lease:
    """A lock document with an expiry, so a killed sync does not block the next one forever."""

    def __init__(self, db: Database, name: str = "sync"):
        self.db, self.name, self.owner = db, name, uuid.uuid4().hex
        self.renewed = 0.0

    def acquire(self) -> None:
        now = utcnow()
        mine = {"owner": self.owner, "expires_at": now + LEASE, "since": now,
                "host": socket.gethostname(), "pid": os.getpid()}
        try:
            self.db[LOCKS].update_one(
                {"_id": self.name, "$or": [{"expires_at": {"$lt": now}}, {"owner": self.owner}]},
                {"$set": mine}, upsert=True)
        except DuplicateKeyError:
            held = self.db[LOCKS].find_one({"_id": self.name}) or {}
            # A holder killed on this machine need not block until its lease expires.
            if held.get("host") == mine["host"] and not _alive(held.get("pid")):
                taken = self.db[LOCKS].update_one({"_id": self.name, "owner": held.get("owner")},
                                                  {"$set": mine})
                if taken.modified_count:
                    self.renewed = time.monotonic()
                    return
            since = held.get("since")
            raise SyncAlreadyRunning(
                "Another sync is running" + (f" (since {since:%H:%M:%S} UTC)" if since else "") +
                "; try again when it has finished.") from None
        self.renewed = time.monotonic()

    def renew(self) -> None:
        if time.monotonic() - self.renewed > 20:
            self.db[LOCKS].update_one({"_id": self.name, "owner": self.owner},
                                      {"$set": {"expires_at": utcnow() + LEASE}})
            self.renewed = time.monotonic()

    def release(self) -> None:
        self.db[LOCKS].delete_one({"_id": self.name, "owner": self.owner})


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _close_interrupted_runs(db: Database) -> None:
    db[RUNS].update_many({"status": "running"},
                         {"$set": {"status": "interrupted", "error": "the run did not finish"}})


def run_sync(databases: Databases, *, full: bool = False, mode: str = "manual",
             author: "str | Actor" = "sync", progress: Progress | None = None) -> SyncReport:
    """Sync every batch with the uploaded masks and record the run.

    Incremental unless `full` (or no complete index exists yet, or the last full read is older
    than FULL_EVERY). Raises SyncAlreadyRunning when another sync holds the lock,
    PermissionDenied for a viewer; driver errors propagate after the run is recorded as failed.
    """
    author = writer_name(author)
    work = databases.work
    notify = progress or (lambda fraction, message: None)
    lease = _Lease(work)
    lease.acquire()
    report = SyncReport(mode=mode, started_at=utcnow())
    clock = time.perf_counter()
    run_id = None
    try:
        _close_interrupted_runs(work)
        run_id = work[RUNS].insert_one({"started_at": report.started_at, "mode": mode,
                                        "status": "running", "author": author}).inserted_id
        state = work[META].find_one({"_id": "sync"}) or {}
        batches_now = {"generation": generation(work),
                       # other tools may add or remove batch documents without segcore
                       "batch_count": work["batches"].estimated_document_count()}
        same_batches = all(state.get(k) == v for k, v in batches_now.items())
        namespace = f"{databases.training.name}.{databases.masks_files.name}"
        reason = "requested" if full else _full_reason(state, namespace)
        index = changes = None
        if reason is None:
            notify(0.05, "Reading what changed since the last sync")
            try:
                if state.get("token") is not None:
                    changes = changes_from_stream(
                        databases.masks_files, state["token"],
                        limit=max(5000, int(state.get("total_files") or 0) // 5))
                else:
                    index = read_index(work)
                    changes = changes_from_ids(databases.masks_files,
                                               (i for e in index.values() for i in e))
            except FullReadNeeded as exc:
                reason = str(exc)
        if changes is not None and not changes.documents and same_batches:
            report.total_files = int(state.get("total_files") or 0)
            _save_state(work, {"token": changes.token} if changes.token else {})
            return _finish_unchanged(work, run_id, report, clock, notify)

        token = changes.token if changes is not None else None
        if changes is None:
            report.full_reason = reason
            token = current_token(databases.masks_files)
            work[META].delete_one({"_id": "sync_ids"})  # what earlier versions compared ids with
            index = _full_index(databases, report, notify, lease,
                                int(state.get("total_files") or 0))
            touched = None
        else:
            if index is None:
                notify(0.2, "Reading the sync index")
                index = read_index(work)
            touched = _apply_changes(index, changes, report)
            report.total_files = (int(state.get("total_files") or 0) + report.new_files
                                  - report.removed_files)
        notify(0.7, "Comparing with the batch list")
        if touched is not None and same_batches:
            # Only the batches whose uploads changed, and batches never synced, can differ.
            listing = list(work["batches"].find({}, {"id": 1, "assignee": 1,
                                                      "mongo_uploaded": 1}))
            wanted = [d["_id"] for d in listing if "mongo_uploaded" not in d
                      or _key_of(d) in touched]
            updates = plan_batch_updates(_fetch_sync_fields(work, wanted), index)
        else:
            listing = []
            updates = plan_batch_updates(_listed(work, listing), index)
        _apply(work, updates, notify, lease)
        report.batches_updated = len(updates)
        keys_with_masks = {k for k, v in index.items() if v and k != UNMATCHED}
        report.batches_with_masks = sum(1 for d in listing if _key_of(d) in keys_with_masks)
        report.batches_without_masks = len(listing) - report.batches_with_masks
        (report.orphans, orphans), (report.unmatched, unmatched), \
            (report.mismatches, mismatches) = find_problems(listing, index, keep=KEEP)
        report.orphan_uploads, report.unmatched_uploads = orphans, unmatched
        report.mismatched_uploads = mismatches
        notify(0.95, "Saving the sync index")
        if changes is None or changes.token is None:
            _save_state(work, {"index_ok": False})  # a run killed while writing reads all next
        write_index(work, index, touched)
        state = {**batches_now, "total_files": report.total_files, "namespace": namespace,
                 "index_ok": True, "token": token}
        if report.full:
            state["last_full_at"] = report.started_at
        _save_state(work, state)
        report.finished_at = utcnow()
        report.duration_s = round(time.perf_counter() - clock, 3)
        work[RUNS].update_one({"_id": run_id}, {"$set": {
            **report.as_dict(), "status": "ok",
            "orphan_uploads": [f.as_dict() for f in orphans],
            "unmatched_uploads": [f.as_dict() for f in unmatched],
            "mismatched_uploads": [f.as_dict() for f in mismatches]}})
        notify(1.0, "Done")
        return report
    except BaseException as exc:
        if run_id is not None:
            try:
                work[RUNS].update_one({"_id": run_id}, {"$set": {
                    "status": "failed", "finished_at": utcnow(),
                    "duration_s": round(time.perf_counter() - clock, 3),
                    "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                    if str(exc) else type(exc).__name__}})
            except PyMongoError:
                pass  # the server is gone; the run stays "running" and is closed next time
        raise
    finally:
        try:
            lease.release()
        except PyMongoError:
            pass  # the lease expires on its own


def _key_of(batch: dict) -> str | None:
    raw = batch.get("id")
    return canonical_batch_id(raw) if isinstance(raw, str) else None


def _full_reason(state: dict, namespace: str) -> str | None:
    """Why this run must read every upload, or None when reading the changes will do."""
    if not state.get("index_ok"):
        return "no complete index from an earlier sync"
    if state.get("namespace", namespace) != namespace:
        return "the uploads collection is not the one synced last"
    last_full = state.get("last_full_at")
    if last_full is None or utcnow() - last_full > FULL_EVERY:
        return "the last full read is more than a day old"
    return None


def _save_state(work: Database, fields: dict) -> None:
    if fields:
        work[META].update_one({"_id": "sync"}, {"$set": fields}, upsert=True)


def _finish_unchanged(work: Database, run_id, report: SyncReport, clock: float,
                      notify: Progress) -> SyncReport:
    previous = last_run(work) or {}
    for name in ("batches_with_masks", "batches_without_masks", "orphans", "unmatched",
                 "mismatches"):
        setattr(report, name, previous.get(name, 0))
    for name in ("orphan_uploads", "unmatched_uploads", "mismatched_uploads"):
        setattr(report, name, [Finding(**f) for f in previous.get(name, [])])
    report.finished_at = utcnow()
    report.duration_s = round(time.perf_counter() - clock, 3)
    stored = {name: previous.get(name, []) for name in
              ("orphan_uploads", "unmatched_uploads", "mismatched_uploads")}
    work[RUNS].update_one({"_id": run_id}, {"$set": {**report.as_dict(), **stored,
                                                     "status": "ok", "unchanged": True}})
    notify(1.0, "Nothing changed since the last sync")
    return report


def _full_index(databases: Databases, report: SyncReport, notify: Progress, lease: _Lease,
                expected: int) -> dict[str, dict]:
    """Index every upload. `expected` (the last run's count) only scales the progress bar:
    counting first would cost a pass of its own on some servers."""
    report.full = True
    notify(0.0, "Reading uploads")
    index: dict[str, dict] = defaultdict(dict)
    count = 0
    gc.disable()  # hundreds of thousands of new tuples would trigger collections for nothing
    try:
        for upload in read_uploads(databases):
            add_to_index(index, upload)
            count += 1
            if count % 5000 == 0:
                notify(min(0.65, 0.65 * count / max(expected, count * 1.1)),
                       f"Read {count:,} uploads" + (f" of ~{expected:,}" if expected else ""))
                lease.renew()
    finally:
        gc.enable()
    report.total_files = count
    return index


def _apply_changes(index: dict[str, dict], changes: Changes, report: SyncReport) -> set[str]:
    """Update the index with changed uploads; returns the keys whose uploads changed."""
    holders = keys_holding(index, changes.documents)
    touched: set[str] = set()
    for upload_id, document in changes.documents.items():
        for key in holders.get(upload_id, ()):
            index[key].pop(upload_id, None)
            touched.add(key)
        if document is None:
            report.removed_files += upload_id in holders
        else:
            upload = upload_from_document(document)
            add_to_index(index, upload)
            touched.update(upload.batches or (UNMATCHED,))
            report.new_files += upload_id not in holders
    return touched


def _listed(work: Database, listing: list):
    """Every batch document with its sync fields, keeping only what the report needs in
    `listing`: holding 50,000 batches' upload info at once would dwarf the index."""
    for doc in work["batches"].find({}, {"id": 1, "assignee": 1, "mongo_uploaded": 1,
                                         "training_metrics_info": 1}, batch_size=2000):
        yield doc
        listing.append({"_id": doc["_id"], "id": doc.get("id"), "assignee": doc.get("assignee")})


def _fetch_sync_fields(work: Database, doc_ids: list) -> list[dict]:
    found = []
    for start in range(0, len(doc_ids), 200):  # short `$in` lists: long ones are slow
        found += work["batches"].find({"_id": {"$in": doc_ids[start:start + 200]}},
                                      {"id": 1, "mongo_uploaded": 1, "training_metrics_info": 1})
    return found


def _apply(work: Database, updates: list[tuple], notify: Progress, lease: _Lease) -> None:
    for start in range(0, len(updates), WRITE_CHUNK):
        chunk = updates[start:start + WRITE_CHUNK]
        operations = []
        for doc_id, to_set, to_unset in chunk:
            change = {"$set": to_set}
            if to_unset:
                change["$unset"] = to_unset
            operations.append(UpdateOne({"_id": doc_id}, change))
        work["batches"].bulk_write(operations, ordered=False)
        lease.renew()
        notify(0.7 + 0.3 * min(1.0, (start + len(chunk)) / len(updates)),
               f"Updated {start + len(chunk):,} of {len(updates):,} batches")


def list_runs(db: Database, limit: int = 20) -> list[dict]:
    """The most recent sync runs, newest first (without their upload lists)."""
    projection = {"_id": 0, "orphan_uploads": 0, "unmatched_uploads": 0, "mismatched_uploads": 0}
    return list(db[RUNS].find({}, projection).sort("started_at", DESCENDING).limit(int(limit)))


def last_run(db: Database, successful: bool = True) -> dict | None:
    """The most recent (successful) run with its upload lists, or None."""
    query = {"status": "ok"} if successful else {}
    runs = list(db[RUNS].find(query, {"_id": 0}).sort("started_at", DESCENDING).limit(1))
    return runs[0] if runs else None
