"""Sync runs: what one run did (`SyncReport`) and its record in `sync_runs`.

A run is recorded as "running" when it starts and completed from its report when it ends, so a
run killed midway shows as such ("interrupted") on the next run.

The upload lists (orphans, unmatched, mismatches: up to 128 KB at 32,000 uploads that name no
batch) are stored once: a run that found nothing new records its counts and the run whose
lists it shows (`details_in`), not another copy, and a run that stores lists drops those of
the runs before it, which nothing shows any more. Records older than KEPT_DAYS go then too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pymongo import DESCENDING, DeleteMany, UpdateMany
from pymongo.database import Database
from pymongo.errors import PyMongoError

from segcore.core.phrases import Phrase, text_of
from segcore.store import data_version
from segcore.store.schema import SYNC_RUNS
from segcore.sync.index.sync_plan import Finding
from segcore.sync.records.sync_state import SyncState

RUNS = SYNC_RUNS
NOT_STORED_KEPT = 100  # uploads whose listing was refused, recorded with a run
KEPT_DAYS = 30  # run records older than this are deleted (a cron run every 15 min: 2,880)
DETAILS_IN = "details_in"  # a run that found nothing new: the run whose upload lists it shows
# The lists such a run names by reference; the unusable uploads (few, and printed by every
# sync) it copies, so a routine run reads no other record.
REFERENCED = ("orphan_uploads", "unmatched_uploads", "mismatched_uploads")


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
    unusable: int = 0  # odd upload documents that count for no batch (see uploads.py)
    duration_s: float = 0.0
    mode: str = "manual"
    full: bool = False
    new_files: int = 0
    removed_files: int = 0
    status_moves: int = 0  # batches moved to "review" because their masks arrived
    full_reason: "str | Phrase | None" = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    orphan_uploads: list[Finding] = field(default_factory=list)
    unmatched_uploads: list[Finding] = field(default_factory=list)
    mismatched_uploads: list[Finding] = field(default_factory=list)
    unusable_uploads: list[Finding] = field(default_factory=list)
    # Uploads added or rewritten since the last run (for `sync --verify` and the receipts);
    # after a full read, those the last run's index did not hold; None on first contact.
    # Not recorded with the run.
    changed_upload_ids: list | None = field(default=None, repr=False)
    # Entries of the index keys a group changed (a journal write's size; not recorded).
    entries_changed: int = field(default=0, repr=False)
    # Uploads whose listing the database refused ({"filename", "reason"}): each stored as
    # unreadable with that reason instead, the other uploads and batches written all the same
    not_stored: list[dict] = field(default_factory=list)
    # What listing the new uploads for their receipts read (as a VerifyReport counts it), for
    # `sync --verify` to report: its own check finds them listed already (not recorded).
    checked_uploads: int = field(default=0, repr=False)
    bytes_read: int = field(default=0, repr=False)
    bytes_stored: int = field(default=0, repr=False)

    COUNTS = (
        "total_files",
        "batches_with_masks",
        "batches_without_masks",
        "batches_updated",
        "orphans",
        "unmatched",
        "mismatches",
        "unusable",
        "new_files",
        "removed_files",
        "status_moves",
    )

    DETAILS = ("orphan_uploads", "unmatched_uploads", "mismatched_uploads", "unusable_uploads")

    def as_dict(self, details: bool = False) -> dict:
        result = {k: getattr(self, k) for k in self.COUNTS}
        result.update(
            duration_s=self.duration_s,
            mode=self.mode,
            full=self.full,
            full_reason=text_of(self.full_reason) if self.full_reason else None,
            started_at=self.started_at,
            finished_at=self.finished_at,
            not_stored=self.not_stored[:NOT_STORED_KEPT],
        )
        if isinstance(self.full_reason, Phrase):  # the English text stays for older readers
            result["full_reason_phrase"] = self.full_reason.as_doc()
        if details:
            for name in self.DETAILS:
                result[name] = [f.as_dict() for f in getattr(self, name)]
        return result

    def finish(self, clock: float) -> None:
        """Stamp the end of the run; `clock` is the perf_counter() reading at its start."""
        self.finished_at = run_started()  # as precise as the start: never before it
        self.duration_s = round(time.perf_counter() - clock, 3)

    def carry_over(self, previous: dict) -> None:
        """Take the counts and lists of an earlier run (for a run that found nothing new)."""
        for name in (
            "batches_with_masks",
            "batches_without_masks",
            "orphans",
            "unmatched",
            "mismatches",
            "unusable",
        ):
            setattr(self, name, previous.get(name, 0))
        for name in self.DETAILS:
            setattr(self, name, [Finding(**f) for f in previous.get(name, [])])


def full_reason_of(run: dict) -> "str | Phrase | None":
    """Why a recorded run (or a report's dict) read everything: a phrase, or the English text
    of a run recorded before phrases."""
    return Phrase.from_doc(run.get("full_reason_phrase"), run.get("full_reason"))


def ensure_indexes(db: Database) -> None:
    db[RUNS].create_index([("started_at", DESCENDING)], name="started_at")
    db[RUNS].create_index([("status", 1), ("started_at", DESCENDING)], name="status_started_at")


def start_run(db: Database, report: SyncReport, author: str):
    """Close runs left "running" by a killed process, then record this one; returns its id."""
    db[RUNS].update_many(
        {"status": "running"},
        {"$set": {"status": "interrupted", "error": "the run did not finish"}},
    )
    run_id = (
        db[RUNS]
        .insert_one(
            {
                "started_at": report.started_at,
                "mode": report.mode,
                "status": "running",
                "author": author,
            }
        )
        .inserted_id
    )
    data_version.bump(db, "sync")
    return run_id


def finish_run(
    db: Database,
    run_id,
    report: SyncReport,
    state: dict | None = None,
    details_in=None,
    **extra,
) -> None:
    """Record a successful run from its report, with its upload lists, or with `details_in`
    (the run holding the lists it carried over) instead; `state`: more fields of the sync
    state to save with it."""
    if details_in is None:
        fields = report.as_dict(details=True)
    else:
        fields = {
            **report.as_dict(),
            DETAILS_IN: details_in,
            "unusable_uploads": [f.as_dict() for f in report.unusable_uploads],
        }
    db[RUNS].update_one({"_id": run_id}, {"$set": {**fields, "status": "ok", **extra}})
    # Found by `_id` by the pages: sorting every run to find the latest grows with the runs.
    SyncState(db).save({**(state or {}), "last_ok_run": run_id})
    if details_in is None:  # after the pointer moved: the lists it names stay
        prune(db, report.started_at)
    data_version.bump(db, "sync")


def prune(db: Database, started_at: datetime | None) -> None:
    """After a run that stored its upload lists: drop those of the runs before it, which no
    page shows, and delete the records older than KEPT_DAYS (one round trip)."""
    if started_at is None:
        return
    db[RUNS].bulk_write(
        [
            UpdateMany(
                {"started_at": {"$lt": started_at}, SyncReport.DETAILS[0]: {"$exists": True}},
                {"$unset": dict.fromkeys(SyncReport.DETAILS, "")},
            ),
            DeleteMany({"started_at": {"$lt": started_at - timedelta(days=KEPT_DAYS)}}),
        ],
        ordered=False,
    )


def fail_run(db: Database, run_id, exc: BaseException, clock: float) -> None:
    """Record a failed run; never raises (the server may be what failed)."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    try:
        db[RUNS].update_one(
            {"_id": run_id},
            {
                "$set": {
                    "status": "failed",
                    "finished_at": run_started(),
                    "duration_s": round(time.perf_counter() - clock, 3),
                    "error": f"{type(exc).__name__}: {text}" if text else type(exc).__name__,
                }
            },
        )
        data_version.bump(db, "sync")
    except PyMongoError:
        pass  # the server is gone; the run stays "running" and is closed next time


def run_started() -> datetime:
    """A run's start time, and its end: now in UTC to the millisecond (what the database
    keeps). Two runs started in one second by different processes (a cron run right after
    another) keep their order; their ids do not, being random after the second. The end
    kept to the second, as `utcnow` gives it, came before the start in most runs."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def list_runs(db: Database, limit: int = 20) -> list[dict]:
    """The most recent sync runs, newest first (without their upload lists)."""
    projection = {"_id": 0, **{name: 0 for name in SyncReport.DETAILS}}
    # Runs of one process in one millisecond (and older runs, kept to the second) are told
    # apart by `_id`.
    return list(
        db[RUNS]
        .find(projection=projection)
        .sort([("started_at", DESCENDING), ("_id", DESCENDING)])
        .limit(int(limit))
    )


def last_run(
    db: Database, successful: bool = True, lists: tuple[str, ...] = SyncReport.DETAILS
) -> dict | None:
    """The most recent (successful) run with its upload lists (only `lists`), or None. Its
    `details_in` names the run that holds them (itself when it does)."""
    hidden = {"_id": 0, **{name: 0 for name in SyncReport.DETAILS if name not in lists}}
    found = None
    if successful:
        pointer = SyncState(db).last_ok_run()
        found = db[RUNS].find_one({"_id": pointer}, hidden) if pointer is not None else None
        found = {**found, "_id": pointer} if found is not None else None
    if found is None or (successful and found.get("status") != "ok"):
        query = {"status": "ok"} if successful else {}
        runs = list(
            db[RUNS]
            .find(query, {k: v for k, v in hidden.items() if k != "_id"} or None)
            .sort("started_at", DESCENDING)
            .limit(1)
        )
        found = runs[0] if runs else None
    if found is None:
        return None
    run_id, owner = found.pop("_id"), found.get(DETAILS_IN)
    if owner is None:
        found[DETAILS_IN] = run_id
    elif set(lists) & set(REFERENCED):  # the run it carried them over from
        wanted = [name for name in lists if name in REFERENCED]
        holder = db[RUNS].find_one({"_id": owner}, {"_id": 0, **dict.fromkeys(wanted, 1)}) or {}
        found.update({name: holder.get(name, []) for name in wanted})
    return found


LIVE_SPAN_S = 3600  # a live sync's record covers this long, then a new one starts
_LIVE_COUNTS = (
    "groups",
    "new_files",
    "removed_files",
    "batches_updated",
    "status_moves",
    "bulk_writes",
)


class LiveRecord:
    """A live sync's activity in `sync_runs`: one record per hour, updated in place, so
    applying a group every few seconds does not add a record each time."""

    def __init__(self, db: Database, author: str):
        self.db, self.author = db, author
        self.run_id = None
        self.opened = 0.0
        self.pruned_for = None  # the record whose first summary dropped the older lists
        self.started_at: datetime | None = None

    def add(
        self,
        *,
        new_files: int,
        removed_files: int,
        batches_updated: int,
        status_moves: int,
        bulk_writes: int,
        total_files: int,
        duration_s: float,
    ) -> bool:
        """Count one applied group; True when that opened a new record (the hour's first)."""
        now = run_started()
        opened = self.run_id is None or time.monotonic() - self.opened >= LIVE_SPAN_S
        if opened:
            self.run_id = (
                self.db[RUNS]
                .insert_one(
                    {
                        "started_at": now,
                        "mode": "live",
                        "status": "ok",
                        "author": self.author,
                        "full": False,
                        **dict.fromkeys(_LIVE_COUNTS, 0),
                        "duration_s": 0.0,
                    }
                )
                .inserted_id
            )
            self.opened, self.started_at = time.monotonic(), now
        self.db[RUNS].update_one(
            {"_id": self.run_id},
            {
                "$inc": {
                    "groups": 1,
                    "new_files": new_files,
                    "removed_files": removed_files,
                    "batches_updated": batches_updated,
                    "status_moves": status_moves,
                    "bulk_writes": bulk_writes,
                    "duration_s": round(duration_s, 3),
                },
                "$set": {"finished_at": now, "total_files": total_files},
            },
        )
        # The group also rewrote the uploads' read models: pages reading them re-read.
        data_version.bump(self.db, "sync")
        return opened

    def summarise(self, report: SyncReport) -> None:
        """Store the batch counts and problem lists of `report` in the current record."""
        if self.run_id is None:
            return
        fields = {
            k: getattr(report, k)
            for k in (
                "batches_with_masks",
                "batches_without_masks",
                "orphans",
                "unmatched",
                "mismatches",
                "unusable",
            )
        }
        fields.update(
            {name: [f.as_dict() for f in getattr(report, name)] for name in SyncReport.DETAILS}
        )
        self.db[RUNS].update_one({"_id": self.run_id}, {"$set": fields})
        # The newest counts: a routine run that finds nothing new afterwards carries them over.
        SyncState(self.db).save({"last_ok_run": self.run_id})
        if self.pruned_for != self.run_id:  # once an hour: this record's lists are the ones
            prune(self.db, self.started_at)
            self.pruned_for = self.run_id
        data_version.bump(self.db, "sync")
