"""Sync the batch list with the uploaded masks in `<TRAINING_DB>.<MASKS_BUCKET>.files`.

For every batch it sets `mongo_uploaded` and `training_metrics_info` from the uploads that name
it, writing only the batches whose stored values differ. The training database is only read.

A full run reads every upload and stores which uploads name which batch (`sync_index`). A routine
run reads only what changed since (`upload_changes`), applies it to that index and re-plans only
the batches whose uploads changed, unless the batch list itself changed; the writes are
`segcore.sync.sync_apply`'s, shared with the live sync (`sync --watch`). Runs are recorded in
`sync_runs`; a lease in `locks` keeps two syncs apart. Every write is idempotent and the resume
point is saved last, so a run interrupted anywhere converges on the next run.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bson import ObjectId
from pymongo.database import Database

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import ServerRestarted
from segcore.core.naming import batch_key
from segcore.core.phrases import DONE, N_, READING_UPLOADS, Phrase
from segcore.store import server_process
from segcore.store.change_stream import current_token
from segcore.store.connection import Databases
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import BATCHES, META
from segcore.sync import upload_stats
from segcore.sync.batch_list_changes import position_after_own_writes
from segcore.sync.index.sync_index import SyncIndex, id_key, read_index, stored_upload_ids
from segcore.sync.index.sync_plan import add_to_index
from segcore.sync.records.batch_list_guard import require_batch_list
from segcore.sync.records.sync_lease import Lease
from segcore.sync.records.sync_runs import (
    DETAILS_IN,
    SyncReport,
    fail_run,
    finish_run,
    last_run,
    list_runs,
    run_started,
    start_run,
)
from segcore.sync.records.sync_state import SyncState
from segcore.sync.routine import BATCHES_TOKEN, batches_unchanged, full_reason
from segcore.sync.sync_apply import (
    BatchListing,
    Progress,
    SyncWriter,
    after_removal,
    apply_upload_changes,
    summarise,
    write_batches,
)
from segcore.uploads.upload_changes import (
    Changes,
    FullReadNeeded,
    changes_from_ids,
    changes_from_stream,
)
from segcore.uploads.uploads import read_uploads, require_uploads_collection
from segcore.work.batches import generation
from segcore.work.delivery import CHECK_FIELD

__all__ = [
    "SyncOutcome",
    "SyncReport",
    "last_run",
    "list_runs",
    "run_sync",
    "sync_once",
    "uploader_activity_of",
]

# Why a run reads every upload, and what it is doing (worded in the reader's language).
REQUESTED = N_("requested")
READING_CHANGES = N_("Reading what changed since the last sync")
READING_INDEX = N_("Reading the sync index")
NOTHING_CHANGED = N_("Nothing changed since the last sync")
READ_SO_FAR = N_("Read {count} uploads")
READ_OF = N_("Read {count} uploads of ~{expected}")
RESTARTED_DURING = N_(
    "the database server restarted during the sync (writes it had confirmed may be lost)"
)
NOT_TRUSTED = N_(
    "The database server restarted during the sync: writes it had confirmed may be lost, so "
    "this run's results are not trusted. The next sync reads every upload and repairs them."
)


@dataclass
class SyncOutcome:
    """A finished run and what it leaves in memory, so a live sync carries on from it without
    reading the state, the index and the batch list again. `index` and `listing` are None when
    the run did not need them (nothing changed)."""

    report: SyncReport
    token: dict | None
    stamp: dict
    index: SyncIndex | None = None
    listing: BatchListing | None = None
    process: str | None = None  # the database server's process the run wrote to
    # where the batch list's change stream stands past the run's own writes (see
    # batch_list_changes); None without change streams
    batches_token: dict | None = None


def run_sync(
    databases: Databases,
    *,
    full: bool = False,
    mode: str = "manual",
    author: "str | Actor" = "sync",
    progress: Progress | None = None,
    content_due: str | None = None,
) -> SyncReport:
    """Sync every batch with the uploaded masks and record the run.

    Incremental unless `full` (or no complete index exists yet, or the last full read is older
    than FULL_EVERY). `content_due`: a content check follows (segcore.masks.content_due's
    modes): the uploads it will check are marked owed before the resume point is saved.
    A run during which the database server restarted (segcore.store.server_process) is
    recorded as failed and done again at once, reading everything: the restarted server may
    have lost some of its batch writes. Raises ServerRestarted when it restarted during that
    run too, SyncAlreadyRunning when another sync holds the lock, PermissionDenied for a
    viewer; driver errors propagate after the run is recorded as failed.
    """
    again = None
    for _attempt in range(2):
        try:
            return sync_once(
                databases,
                full=full,
                mode=mode,
                author=author,
                progress=progress,
                content_due=content_due,
                read_all_because=again,
            ).report
        except ServerRestarted:
            if again is not None:
                raise
            again = Phrase(RESTARTED_DURING)
    raise AssertionError("unreachable")


def sync_once(
    databases: Databases,
    *,
    full: bool = False,
    mode: str = "manual",
    author: "str | Actor" = "sync",
    progress: Progress | None = None,
    lease: Lease | None = None,
    content_due: str | None = None,
    read_all_because: Phrase | None = None,
) -> SyncOutcome:
    """`run_sync` once, returning what the run leaves in memory. `lease`: one the caller holds
    (the live sync), kept; `read_all_because`: why to read everything, when the caller knows.
    Raises ServerRestarted (recorded as failed: the next run reads everything)."""
    author = authorize_write(author)
    refuse_writes(databases.work)
    work = databases.work
    require_batch_list(databases)  # a misspelt MONGO_DB: before anything is written there
    notify = progress or (lambda fraction, message: None)
    own_lease, lease = lease is None, lease or Lease(work)
    if own_lease:
        lease.acquire()
    report = SyncReport(mode=mode, started_at=run_started())
    clock = time.perf_counter()
    run_id = None
    try:
        run_id = start_run(work, report, author)
        state = SyncState(work).read()
        process = server_process.seen(work.client)  # after two round trips: as they found it
        batches_now, same_batches, since = _batch_list_now(work, state)  # before reading it
        namespace = f"{databases.training.name}.{databases.masks_files.name}"
        reason = read_all_because or (
            Phrase(REQUESTED) if full else full_reason(state, namespace, process)
        )
        changes = index = None
        if reason is None:
            notify(0.05, Phrase(READING_CHANGES))
            try:
                changes, index = _read_changes(databases, state)
            except FullReadNeeded as exc:
                reason = exc.args[0] if exc.args and isinstance(exc.args[0], Phrase) else str(exc)
        if (
            changes is not None
            and not changes.documents
            and same_batches
            and upload_stats.is_current(work, databases.settings.zone)
        ):
            _finish_unchanged(work, run_id, report, state, changes, clock, notify, since)
            token = changes.token or state.get("token")
            return SyncOutcome(report, token, batches_now, index, None, process, since)
        # Saved with the resume point: a later run finding another process reads everything.
        saved = {**batches_now, "namespace": namespace, SyncState.PROCESS: process}
        total = int(state.get("total_files") or 0)
        if changes is None:
            if not full:
                require_uploads_collection(databases, total)
            report.full_reason = reason
            index, listing = _read_everything(
                SyncWriter(databases, author, lease, notify, content_due=content_due),
                report,
                saved,
                total,
                _known_uploads(work, state),
            )
        else:
            index, listing = _index_and_listing(work, index, same_batches, notify)
            listing = apply_upload_changes(
                SyncWriter(databases, author, lease, notify, content_due=content_due),
                index,
                changes,
                report,
                saved=saved,
                total_files=total,
                same_batches=same_batches,
                listing=listing,
            )
        summarise(report, listing, index)
        report.finish(clock)
        after = _after_writes(work, process, since, report.batches_updated)
        finish_run(work, run_id, report, {BATCHES_TOKEN: after})
        notify(1.0, Phrase(DONE))
        token = saved.get("token") if changes is None else changes.token
        return SyncOutcome(report, token, batches_now, index, listing, process, after)
    except BaseException as exc:
        if run_id is not None:
            fail_run(work, run_id, exc, clock)
        raise
    finally:
        if own_lease:
            lease.release_quietly()


def _check_same_server(work: Database, process: str | None) -> None:
    """Raise ServerRestarted when the server's process is not `process`, the one the run began
    with (one round trip): it may have lost batch writes it had confirmed, under the index and
    resume point the run saved after them (segcore.store.server_process)."""
    if process is not None and server_process.asked(work.client) not in (None, process):
        raise ServerRestarted(NOT_TRUSTED)


# Beyond this many batch documents written, reading the run's own changes back one by one
# (about 0.2-0.4 ms each on the embedded server: 20 s after a first full sync of 50,000
# batches) costs more than the next run's one comparison of every batch (a read of the list).
MOST_OWN_READ = 2_000


def _after_writes(
    work: Database, process: str | None, since: dict | None, written: int
) -> dict | None:
    """The place in the batch list's change stream the next run asks from: past this run's
    own writes when nobody else wrote there since `since`, taken before the run read the list
    (see batch_list_changes), once the server is known to be the one the run began with. A
    run that wrote more than MOST_OWN_READ batches leaves `since`: the next run compares every
    batch once instead, and sees what others changed meanwhile all the same."""
    _check_same_server(work, process)
    if since is not None and written > MOST_OWN_READ:
        return since
    return position_after_own_writes(work[BATCHES], since)


def _stored_index(work: Database, notify: Progress, answered=None) -> SyncIndex:
    notify(0.2, Phrase(READING_INDEX))
    return read_index(work, answered=answered)


def _index_and_listing(
    work: Database, index: SyncIndex | None, same_batches: bool, notify: Progress
) -> tuple[SyncIndex, BatchListing | None]:
    """The stored index (unless the caller read it already) and, when the batch list is as the
    index last saw it, the batch listing: read at the same time, since decoding the index is
    this process's work and listing the batches the server's (at 50,000 batches 1.5 s each)."""
    if not same_batches:
        return (index if index is not None else _stored_index(work, notify)), None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-listing") as pool:
        listing = []

        def list_batches():
            listing.append(pool.submit(BatchListing.read, work))

        if index is None:
            index = _stored_index(work, notify, answered=list_batches)
        if not listing:  # no index part, or the index was read before
            list_batches()
        return index, listing[0].result()


def _finish_unchanged(
    work: Database,
    run_id,
    report: SyncReport,
    state: dict,
    changes: Changes,
    clock: float,
    notify: Progress,
    since: dict | None,
) -> None:
    """Nothing changed: keep the resume point, and record the run with the last run's figures.
    `since`: where the batch list's change stream stood when it was found unchanged (the run
    wrote no batch since)."""
    report.total_files = int(state.get("total_files") or 0)
    report.changed_upload_ids = []
    SyncState(work).save({"token": changes.token} if changes.token else {})
    upload_stats.stamp(work, report.started_at)
    previous = last_run(work) or {}
    report.carry_over(previous)
    report.finish(clock)
    # The upload lists stay where they are: this run names their run instead of copying them.
    owner = previous.get(DETAILS_IN)
    finish_run(work, run_id, report, {BATCHES_TOKEN: since}, details_in=owner, unchanged=True)
    notify(1.0, Phrase(NOTHING_CHANGED))


def _read_everything(
    writer: SyncWriter,
    report: SyncReport,
    saved: dict,
    expected: int,
    known: set | None,
):
    """Index every upload, then compare every batch with it: (index, batch listing).
    `known`: the uploads the last run indexed (None on first contact): the others are new."""
    databases = writer.databases
    saved["token"] = current_token(databases.masks_files)  # before reading: nothing is missed
    databases.work[META].delete_one({"_id": "sync_ids"})  # what earlier versions compared
    index = _full_index(databases, report, writer.notify, writer.lease, expected)
    if known is None:  # first contact: every upload is new to the app
        report.new_files = len({i for entries in index.values() for i in entries})
    else:
        report.changed_upload_ids = list(
            {i for entries in index.values() for i in entries if id_key(i) not in known}
        )
        for entries in index.values():
            for upload_id in entries:
                known.discard(id_key(upload_id))
        # what the last run's index did not hold, and what it held that is gone
        report.new_files, report.removed_files = len(report.changed_upload_ids), len(known)
    # gone since the last run (a history lost, a collection dropped on purpose)
    _after_full_read(databases, index, [_as_id(k) for k in known or ()], writer.author)
    if known:
        known.clear()  # not held through the writes
    return index, write_batches(writer, index, report, saved=saved)


def _after_full_read(
    databases: Databases, index: SyncIndex, removed: list, author: str = "sync"
) -> None:
    """What a routine run does for deleted and moved uploads (sync_apply), for those a full
    read finds: the batches whose stored checks counted an upload that no longer names them
    (`removed`, deleted, or now naming another batch) are checked again from what is left, so
    none stays delivered by uploads it no longer has. One pass over the checked batches."""
    counted = databases.work[BATCHES].find(
        {f"{CHECK_FIELD}.uploads.0": {"$exists": True}},
        {"_id": 0, "id": 1, f"{CHECK_FIELD}.uploads": 1},
    )
    gone = set(removed)
    keys, moved_out = set(), set()
    for doc in counted:
        if not isinstance(doc.get("id"), str):
            continue
        key = batch_key(doc["id"])
        now = index.get(key) or {}
        left = [u for u in _counted(doc) if u not in now]
        if left:
            keys.add(key)
            moved_out.update(u for u in left if u not in gone)
    if keys or removed:
        after_removal(
            databases, index, keys, removed, moved_out=sorted(moved_out, key=str), author=author
        )


def _counted(doc: dict) -> list:
    """The upload ids a batch's stored mask check counted."""
    uploads = (doc.get(CHECK_FIELD) or {}).get("uploads")
    return [u for u in uploads if isinstance(u, Hashable)] if isinstance(uploads, list) else []


def _as_id(key):
    """An upload id back from its `id_key`."""
    return ObjectId(key) if isinstance(key, bytes) and len(key) == 12 else key


def _known_uploads(work: Database, state: dict) -> set | None:
    """What the last run indexed (uploads beyond it are new and get their receipts), None
    on first contact."""
    if not state.get("index_ok"):
        return None
    return stored_upload_ids(work)


def _batch_list_now(work: Database, state: dict) -> tuple[dict, bool, dict | None]:
    """The batch list's stamp to save, whether the batch list is as the last run left it, and
    where its change stream stands now (None without change streams), taken before this run
    reads the list.

    Segcore's edits bump the generation; other tools may add, remove or edit batch documents
    without it. Their change stream since the last run's writes tells, in a round trip or two;
    a stamp saved by an earlier version (no position in that stream) is compared by counting
    the batches, a pass over every one on the embedded server (0.28 s at 50,000), which tells
    of added and removed batches only."""
    if state.get(BATCHES_TOKEN) is None or "batch_count" not in state:
        since = current_token(work[BATCHES])
        stamp = batch_list_stamp(work)
        return stamp, all(state.get(k) == v for k, v in stamp.items()), since
    since = batches_unchanged(work, state)
    if since is None:  # changed: where the stream stands now (one more round trip)
        since = current_token(work[BATCHES])
        return batch_list_stamp(work), False, since
    stamp = {"generation": generation(work), "batch_count": state["batch_count"]}
    return stamp, stamp["generation"] == state.get("generation"), since


def batch_list_stamp(work: Database) -> dict:
    """What tells whether the batch list changed since the last run."""
    return {
        "generation": generation(work),
        # other tools may add or remove batch documents without segcore
        "batch_count": work[BATCHES].estimated_document_count(),
    }


def _read_changes(databases: Databases, state: dict) -> tuple[Changes, dict | None]:
    """The uploads changed since the last run, from the change stream or by comparing ids.

    Returns the changes and, when comparing ids needed it, the stored index. Raises
    FullReadNeeded when the history cannot tell.
    """
    if state.get("token") is not None:
        return changes_from_stream(
            databases.masks_files,
            state["token"],
            limit=max(5000, int(state.get("total_files") or 0) // 5),
        ), None
    index = read_index(databases.work)
    return changes_from_ids(databases.masks_files, index.upload_ids()), index


def uploader_activity_of(work: Database) -> dict[str, dict]:
    """Per uploader (by person_key), their newest upload and file count, as the last sync saw.

    Read from the sync's own state: the Team page never scans the training database.
    """
    return {p["key"]: p for p in SyncState(work).uploaders() or [] if "key" in p}


def _full_index(
    databases: Databases, report: SyncReport, notify: Progress, lease: Lease, expected: int
) -> SyncIndex:
    """Index every upload. `expected` (the last run's count) only scales the progress bar:
    counting first would cost a pass of its own on some servers."""
    report.full = True
    notify(0.0, Phrase(READING_UPLOADS))
    index = SyncIndex()
    index.several = set()  # read upload by upload: the index knows which name several batches
    count = 0
    gc.disable()  # hundreds of thousands of new tuples would trigger collections for nothing
    try:
        for upload in read_uploads(databases):
            add_to_index(index, upload)
            count += 1
            if count % 5000 == 0:
                notify(
                    min(0.65, 0.65 * count / max(expected, count * 1.1)),
                    Phrase(READ_OF, count=count, expected=expected)
                    if expected
                    else Phrase(READ_SO_FAR, count=count),
                )
                lease.renew()
    finally:
        gc.enable()
    report.total_files = count
    return index
