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
import time
from collections import defaultdict
from datetime import timedelta
from typing import Callable

from pymongo import UpdateOne
from pymongo.database import Database

from segcore import data_version, upload_stats
from segcore.actors import Actor, writer_name
from segcore.batches import generation
from segcore.schema import BATCHES, META, find_in
from segcore.connection import Databases
from segcore.history import Change, record, utcnow
from segcore.sync_index import UNMATCHED, keys_holding, read_index, write_index
from segcore.sync_lease import Lease
from segcore.sync_plan import (MASKS_STATUS, StatusMove, add_to_index, apply_changes,
                               batch_key, find_problems, plan_batch_updates, uploader_activity)
from segcore.sync_runs import SyncReport, fail_run, finish_run, last_run, list_runs, start_run
from segcore.upload_changes import (Changes, FullReadNeeded, changes_from_ids,
                                    changes_from_stream, current_token)
from segcore.uploads import read_uploads

__all__ = ["SyncReport", "last_run", "list_runs", "run_sync", "uploader_activity_of"]

FULL_EVERY = timedelta(hours=24)  # a routine sync reads everything at least this often
KEEP = 200  # problem uploads listed per kind in a run's report (all are counted)
WRITE_CHUNK = 1000
Progress = Callable[[float, str], None]


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
    lease = Lease(work)
    lease.acquire()
    report = SyncReport(mode=mode, started_at=utcnow())
    clock = time.perf_counter()
    run_id = None
    try:
        run_id = start_run(work, report, author)
        state = work[META].find_one({"_id": "sync"}) or {}
        batches_now = _batch_list_stamp(work)
        same_batches = all(state.get(k) == v for k, v in batches_now.items())
        namespace = f"{databases.training.name}.{databases.masks_files.name}"
        reason = "requested" if full else _full_reason(state, namespace)
        changes = index = None
        if reason is None:
            notify(0.05, "Reading what changed since the last sync")
            try:
                changes, index = _read_changes(databases, state)
            except FullReadNeeded as exc:
                reason = str(exc)
        if changes is not None and not changes.documents and same_batches and \
                upload_stats.is_current(work, databases.settings.zone):
            return _finish_unchanged(work, run_id, report, state, changes, clock, notify)
        index, touched, token, moved = _updated_index(databases, state, changes, index, reason,
                                                      report, notify, lease)
        notify(0.7, "Comparing with the batch list")
        moves: list[StatusMove] | None = [] if databases.settings.masks_set_status else None
        listing, updates = _plan(work, index, touched if same_batches else None, moves)
        report.status_moves = _move_statuses(work, moves or [], author)
        _apply(work, listing, updates, notify, lease)
        report.batches_updated = len(updates)
        _summarise(report, listing, index)
        _keep_read_models(work, index, listing, moved if same_batches else None, report,
                          databases.settings.zone)
        notify(0.95, "Saving the sync index")
        # A run killed while writing the index reads everything next time: a half-written part
        # that spills into overflow documents cannot be repaired by re-reading the changes.
        _save_state(work, {"index_ok": False})
        write_index(work, index, touched)
        state = {**batches_now, "total_files": report.total_files, "namespace": namespace,
                 "index_ok": True, "token": token, "uploaders": uploader_activity(index)}
        if report.full:
            state["last_full_at"] = report.started_at
        _save_state(work, state)
        report.finish(clock)
        finish_run(work, run_id, report)
        notify(1.0, "Done")
        return report
    except BaseException as exc:
        if run_id is not None:
            fail_run(work, run_id, exc, clock)
        raise
    finally:
        lease.release_quietly()


def _finish_unchanged(work: Database, run_id, report: SyncReport, state: dict,
                      changes: Changes, clock: float, notify: Progress) -> SyncReport:
    """Nothing changed: keep the resume point, and record the run with the last run's figures."""
    report.total_files = int(state.get("total_files") or 0)
    report.changed_upload_ids = []
    _save_state(work, {"token": changes.token} if changes.token else {})
    upload_stats.stamp(work, report.started_at)
    report.carry_over(last_run(work) or {})
    report.finish(clock)
    finish_run(work, run_id, report, unchanged=True)
    notify(1.0, "Nothing changed since the last sync")
    return report


def _updated_index(databases: Databases, state: dict, changes: Changes | None,
                   index: dict | None, reason: str | None, report: SyncReport,
                   notify: Progress, lease: Lease):
    """(index, keys whose uploads changed or None after a full read, token to resume from,
    the changed uploads as (before, after) or None after a full read).

    With `changes`, the stored index is brought up to date; without, every upload is read.
    """
    if changes is None:
        report.full_reason = reason
        token = current_token(databases.masks_files)
        databases.work[META].delete_one({"_id": "sync_ids"})  # what earlier versions compared
        index = _full_index(databases, report, notify, lease, int(state.get("total_files") or 0))
        return index, None, token, None
    if index is None:
        notify(0.2, "Reading the sync index")
        index = read_index(databases.work)
    before = _as_held(index, changes.documents)
    touched, report.new_files, report.removed_files = apply_changes(index, changes)
    report.changed_upload_ids = [i for i, d in changes.documents.items() if d is not None]
    report.total_files = (int(state.get("total_files") or 0) + report.new_files
                          - report.removed_files)
    return index, touched, changes.token, (before, _as_held(index, changes.documents))


def _as_held(index: dict[str, dict], upload_ids) -> dict:
    """{upload id: (entry, keys)} for those of `upload_ids` the index holds."""
    return {upload_id: (index[keys[0]][upload_id], keys)
            for upload_id, keys in keys_holding(index, upload_ids).items()}


def _keep_read_models(work: Database, index: dict[str, dict], listing: list[dict], moved,
                      report: SyncReport, zone) -> None:
    """Bring the uploads' read models up to date: the changed uploads' differences when the
    batch list (every owner) is as last time and the models are current, else a rebuild.
    Days are the office's (`zone`, from TIMEZONE)."""
    owners = upload_stats.owners_of(listing, batch_key)
    if moved is not None and upload_stats.is_current(work, zone):
        upload_stats.apply_changes(work, index, *moved, owners, report.started_at, zone)
    else:
        upload_stats.rebuild(work, index, owners, report.started_at, zone)


def _batch_list_stamp(work: Database) -> dict:
    """What tells whether the batch list changed since the last run."""
    return {"generation": generation(work),
            # other tools may add or remove batch documents without segcore
            "batch_count": work[BATCHES].estimated_document_count()}


def _read_changes(databases: Databases, state: dict) -> tuple[Changes, dict | None]:
    """The uploads changed since the last run, from the change stream or by comparing ids.

    Returns the changes and, when comparing ids needed it, the stored index. Raises
    FullReadNeeded when the history cannot tell.
    """
    if state.get("token") is not None:
        return changes_from_stream(databases.masks_files, state["token"],
                                   limit=max(5000, int(state.get("total_files") or 0) // 5)), None
    index = read_index(databases.work)
    return changes_from_ids(databases.masks_files, (i for e in index.values() for i in e)), index


def _plan(work: Database, index: dict[str, dict], touched: set[str] | None,
          moves: list[StatusMove] | None = None):
    """(the batch listing the report needs, the updates to write); status moves go to `moves`.

    With `touched` (the batch list unchanged), only the batches whose uploads changed, and
    batches never synced, are compared; otherwise every batch.
    """
    if touched is not None:
        listing = list(work[BATCHES].find({}, {"id": 1, "assignee": 1, "status": 1,
                                               "mongo_uploaded": 1}))
        wanted = [d["_id"] for d in listing if "mongo_uploaded" not in d
                  or batch_key(d) in touched]
        return listing, plan_batch_updates(_fetch_sync_fields(work, wanted), index, moves)
    listing: list[dict] = []
    return listing, plan_batch_updates(_listed(work, listing), index, moves)


def _move_statuses(work: Database, moves: list[StatusMove], author: str) -> int:
    """Move the status of batches whose masks just arrived (MASKS_SET_STATUS); returns how many.

    Runs before the sync fields are written: a run killed in between still moves them next
    time (their masks still "arrive"). The history is written first, so a crash can repeat an
    entry but never lose one; each move is a compare-and-set on the status the plan saw, so a
    coordinator's edit made meanwhile wins.
    """
    if not moves:
        return 0
    who = "sync" if author == "sync" else f"sync (started by {author})"
    record(work, [Change("batch", m.batch_id, "status", m.old, MASKS_STATUS, who)
                  for m in moves])
    moved = 0
    for start in range(0, len(moves), WRITE_CHUNK):
        result = work[BATCHES].bulk_write(
            [UpdateOne({"_id": m.doc_id, "status": m.old}, {"$set": {"status": MASKS_STATUS}})
             for m in moves[start:start + WRITE_CHUNK]], ordered=False)
        moved += result.modified_count
    if moved:
        data_version.bump_batches(work, [m.batch_id for m in moves], by_sync=True)
    return moved


def uploader_activity_of(work: Database) -> dict[str, dict]:
    """Per uploader (by person_key), their newest upload and file count, as the last sync saw.

    Read from the sync's own state: the Team page never scans the training database.
    """
    state = work[META].find_one({"_id": "sync"}, {"uploaders": 1}) or {}
    return {p["key"]: p for p in state.get("uploaders") or [] if isinstance(p, dict)}


def _summarise(report: SyncReport, listing: list[dict], index: dict[str, dict]) -> None:
    """Counts and problem lists of the report, from the batch listing and the index."""
    keys_with_masks = {k for k, v in index.items() if v and k != UNMATCHED}
    report.batches_with_masks = sum(1 for d in listing if batch_key(d) in keys_with_masks)
    report.batches_without_masks = len(listing) - report.batches_with_masks
    (report.orphans, report.orphan_uploads), (report.unmatched, report.unmatched_uploads), \
        (report.mismatches, report.mismatched_uploads), \
        (report.unusable, report.unusable_uploads) = find_problems(listing, index, keep=KEEP)


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


def _full_index(databases: Databases, report: SyncReport, notify: Progress, lease: Lease,
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


def _listed(work: Database, listing: list):
    """Every batch document with its sync fields, keeping only what the report needs in
    `listing`: holding 50,000 batches' upload info at once would dwarf the index."""
    for doc in work[BATCHES].find({}, {"id": 1, "assignee": 1, "status": 1, "mongo_uploaded": 1,
                                         "training_metrics_info": 1}, batch_size=2000):
        yield doc
        listing.append({"_id": doc["_id"], "id": doc.get("id"), "assignee": doc.get("assignee"),
                        "status": doc.get("status")})


def _fetch_sync_fields(work: Database, doc_ids: list) -> list[dict]:
    return find_in(work[BATCHES], "_id", doc_ids,
                   {"id": 1, "mongo_uploaded": 1, "status": 1, "training_metrics_info": 1})


def _apply(work: Database, listing: list[dict], updates: list[tuple], notify: Progress,
           lease: Lease) -> None:
    """Write the planned updates in bulk, then tell the pages which batches changed."""
    if not updates:
        return
    ids_of = {d["_id"]: d.get("id") for d in listing} if len(updates) <= \
        data_version.IDS_KEPT else {}
    for start in range(0, len(updates), WRITE_CHUNK):
        chunk = updates[start:start + WRITE_CHUNK]
        operations = []
        for doc_id, to_set, to_unset in chunk:
            change = {"$set": to_set}
            if to_unset:
                change["$unset"] = to_unset
            operations.append(UpdateOne({"_id": doc_id}, change))
        work[BATCHES].bulk_write(operations, ordered=False)
        lease.renew()
        notify(0.7 + 0.3 * min(1.0, (start + len(chunk)) / len(updates)),
               f"Updated {start + len(chunk):,} of {len(updates):,} batches")
    changed = [ids_of.get(doc_id) for doc_id, _, _ in updates]
    data_version.bump_batches(work, None if None in changed or not ids_of else changed,
                              by_sync=True)
