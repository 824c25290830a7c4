"""The routine run that finds nothing new, at the cost of a few round trips.

A cron job runs `segcore sync` every few minutes and nearly always finds nothing new, so its
cost is start-up: imports, connecting, and the run's bookkeeping. `sync_if_unchanged` does that
run with the least of each: one read of the state documents (the sync's state, the batch list's
generation, the read models' mark and what `prepared` names), the batch count, the lease, the
changes since the resume point, the last run's figures, the run's record, one write of the
state documents, and the lease given back. It imports nothing that reads archives, and it needs
no preparation of the database when the stamp says it was prepared by this code. Whenever it
cannot tell that nothing changed it returns None, having written nothing, and the caller runs
the whole sync (`segcore.sync.sync.run_sync`).
"""

from __future__ import annotations

import time
from datetime import timedelta

from pymongo import UpdateOne

from segcore.core.actors import Actor, authorize_write
from segcore.core.phrases import N_, Phrase
from segcore.core.timefmt import utcnow
from segcore.store import data_version, server_process
from segcore.store.connection import Databases
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import BATCHES, META, SYNC_RUNS
from segcore.sync import upload_stats
from segcore.sync.records.sync_lease import Lease
from segcore.sync.records.sync_runs import (
    DETAILS_IN,
    REFERENCED,
    SyncReport,
    last_run,
    run_started,
)
from segcore.sync.records.sync_state import SyncState
from segcore.uploads.upload_changes import FullReadNeeded, changes_from_stream

FULL_EVERY = timedelta(hours=24)  # a routine sync reads everything at least this often
NO_INDEX = N_("no complete index from an earlier sync")
OTHER_COLLECTION = N_("the uploads collection is not the one synced last")
FULL_TOO_OLD = N_("the last full read is more than a day old")
SERVER_RESTARTED = N_(
    "the database server restarted since the last sync began (writes it had confirmed may be lost)"
)
BATCHES_TOKEN = (
    "batches_token"  # in the sync state: the batch list's change stream after the last run
)
PREPARED = "prepared"  # the `app_meta` document of segcore.prepare_stamp (a later package)


def full_reason(state: dict, namespace: str, process: str | None = None) -> Phrase | None:
    """Why this run must read every upload, or None when reading the changes will do.
    `process`: the database server's process now (segcore.store.server_process)."""
    if not state.get("index_ok"):
        return Phrase(NO_INDEX)
    if process and state.get(SyncState.PROCESS) not in (None, process):
        return Phrase(SERVER_RESTARTED)
    if state.get("namespace", namespace) != namespace:
        return Phrase(OTHER_COLLECTION)
    last_full = state.get("last_full_at")
    if last_full is None or utcnow() - last_full > FULL_EVERY:
        return Phrase(FULL_TOO_OLD)
    return None


def sync_if_unchanged(
    databases: Databases,
    *,
    mode: str = "manual",
    author: "str | Actor" = "sync",
    prepared: str | None = None,
) -> SyncReport | None:
    """Record a routine run that found nothing new and return its report, or None (nothing
    written) when something may have changed, the state asks for a full read, the lease was
    taken over from a run that died (its record is closed by the whole sync), or the database
    was not prepared by the code that `prepared` names. Raises SyncAlreadyRunning when another
    sync holds the lease, PermissionDenied for a viewer."""
    author = authorize_write(author)
    refuse_writes(databases.work)
    work = databases.work
    zone = databases.settings.zone
    docs = {
        d["_id"]: d
        for d in work[META].find(
            {
                "_id": {
                    "$in": [
                        SyncState.ID,
                        data_version.BATCHES_DOC,
                        upload_stats.STATS_DOC,
                        PREPARED,
                    ]
                }
            },
            {"recent": 0, "edits": 0, "uploaders": 0},
        )
    }
    state = docs.get(SyncState.ID) or {}
    namespace = f"{databases.training.name}.{databases.masks_files.name}"
    if (
        (prepared is not None and (docs.get(PREPARED) or {}).get("code") != prepared)
        or state.get("token") is None
        or full_reason(state, namespace, server_process.seen(work.client)) is not None
        or state.get("generation")
        != int((docs.get(data_version.BATCHES_DOC) or {}).get("generation", 0))
        or not upload_stats.is_current_doc(docs.get(upload_stats.STATS_DOC), state, zone)
    ):
        return None
    batches_token = batches_unchanged(work, state)
    if batches_token is None:
        return None
    report = SyncReport(mode=mode, started_at=run_started())
    clock = time.perf_counter()
    lease = Lease(work)
    lease.acquire()
    try:
        if lease.took_over:
            return None
        try:
            changes = changes_from_stream(
                databases.masks_files,
                state["token"],
                limit=max(5000, int(state.get("total_files") or 0) // 5),
                await_ms=1,  # a run that finds nothing new need not wait for what comes next
            )
        except FullReadNeeded:
            return None
        if changes.documents:
            return None
        _record(
            work,
            report,
            state,
            {"token": changes.token, BATCHES_TOKEN: batches_token},
            clock,
            author,
        )
        return report
    finally:
        lease.release_quietly()


def batches_unchanged(work, state: dict):
    """Where the batch list's change stream stands now when no other tool changed the batch
    list since the last run ({} where the server has no change streams), else None.

    Segcore's own edits bump the generation; other tools may add, remove or edit batch
    documents without it. Their change stream tells in a round trip or two; counting the
    batches instead (a state saved before the stream's position was kept) is a pass over all
    of them on the embedded server (0.3 s at 10,000 batches on a busy machine). The whole sync
    asks the same (segcore.sync.sync)."""
    token = state.get(BATCHES_TOKEN)
    if token is None:
        same = state.get("batch_count") == work[BATCHES].estimated_document_count()
        return {} if same else None
    try:
        changes = changes_from_stream(work[BATCHES], token, limit=0, await_ms=1)
    except FullReadNeeded:  # the first change is one too many
        return None
    return None if changes.documents else changes.token


def _record(work, report: SyncReport, state: dict, tokens: dict, clock: float, author: str) -> None:
    """The run's record, complete in one insert, then the state, the read models' time and the
    data version in one write (three updates of `app_meta`)."""
    report.total_files = int(state.get("total_files") or 0)
    report.changed_upload_ids = []
    pointer = state.get("last_ok_run")
    # The counts of the last run and the one list a sync prints (its unusable uploads); the
    # record names the run holding the other lists instead of copying them (up to 128 KB).
    shown = ("unusable_uploads",)
    hidden = {"_id": 0, **dict.fromkeys(REFERENCED, 0)}
    previous = work[SYNC_RUNS].find_one({"_id": pointer}, hidden) if pointer else None
    if previous is not None and previous.get("status") == "ok":
        previous.setdefault(DETAILS_IN, pointer)
    else:
        previous = last_run(work, lists=shown)
    report.carry_over(previous or {})
    report.finish(clock)
    record = {
        **report.as_dict(),
        DETAILS_IN: (previous or {}).get(DETAILS_IN),
        "unusable_uploads": (previous or {}).get("unusable_uploads", []),
        "status": "ok",
        "unchanged": True,
        "author": author,
    }
    run_id = work[SYNC_RUNS].insert_one(record).inserted_id
    saved = {"last_ok_run": run_id, **{k: v for k, v in tokens.items() if v}}
    work[META].bulk_write(
        [
            UpdateOne({"_id": SyncState.ID}, {"$set": saved}),
            UpdateOne({"_id": upload_stats.STATS_DOC}, {"$set": {"synced_at": report.started_at}}),
            UpdateOne({"_id": data_version.VERSION_DOC}, {"$inc": {"sync": 1}}, upsert=True),
        ],
        ordered=True,
    )
