"""The mark a restore leaves while it runs (`restore_state`), and what it says: a restore
under way, or one interrupted that left the database half restored. Read by the restore
itself, by backups (never of a database half restored), by the pages and `status`, and by
every write (`refuse_writes`): a change made to a half-restored database would be undone,
without a word, by the restore run again to finish it."""

from __future__ import annotations

import socket
from datetime import datetime

from pymongo.database import Database

from segcore.core.errors import N_, RestoreIncomplete
from segcore.core.processes import process_alive
from segcore.core.timefmt import utcnow
from segcore.store.schema import LOCKS, RESTORE_STATE

MARKER = "restore"
# How many restores began swapping collections in, ever. Kept beside the marker for good (the
# marker goes when a restore ends): a backup that sees it move while it reads held data from
# both sides of a restore that ran start to end meanwhile.
SWAPS = "swaps"


def read_marker(db: Database) -> dict | None:
    """The mark a restore left, if any (read only)."""
    return db[RESTORE_STATE].find_one({"_id": MARKER})


def count_swap(db: Database) -> None:
    """Count a restore about to swap its collections in (before its first rename)."""
    db[RESTORE_STATE].update_one({"_id": SWAPS}, {"$inc": {"count": 1}}, upsert=True)


def swaps(db: Database) -> int:
    """How many restores began swapping collections into `db` (read only)."""
    return (db[RESTORE_STATE].find_one({"_id": SWAPS}) or {}).get("count", 0)


def _params(marker: dict) -> dict:
    started = marker.get("started_at")
    known = isinstance(started, datetime)
    return {
        "file": marker.get("file", "?"),
        # the command line says UTC; a page words `since` in the office's zone, as every time
        "time": f"{started:%Y-%m-%d %H:%M} UTC" if known else "?",
        "since": started if known else None,
    }


def refuse_writes(db: Database) -> None:
    """Raises RestoreIncomplete, before a write changes anything, while a restore runs or after
    one was interrupted once it began swapping collections in (read only).

    A write then would be lost: one made while a restore runs is replaced by its swap, and one
    made to a half-restored database is rolled back (or replaced) by the restore run again to
    finish it, its history entry with it. A restore killed before its swap (or undone since)
    left the data from before whole: writes go on, as nothing of them is undone later.
    """
    marker = read_marker(db)
    if not marker:
        return
    if _running(db, marker):
        raise RestoreIncomplete(
            N_(
                "A restore from {file} is under way (since {time}): nothing was "
                "changed, as the restore would replace it. Try again when it has ended."
            ),
            **_params(marker),
        )
    if marker.get("state") == "swapping":
        raise RestoreIncomplete(
            N_(
                "A restore from {file} (started {time}) was interrupted while it swapped "
                "in the restored collections: nothing was changed, as running the restore again "
                "would undo it. Run `segcore restore {file} --replace` again to finish it (or "
                "`segcore restore {file}`, without --replace, to put the data from before it "
                "back); changes are refused until then."
            ),
            **_params(marker),
        )
    if marker.get("state") == "swapped":
        raise RestoreIncomplete(
            N_(
                "A restore from {file} (started {time}) was interrupted just before it "
                "finished: nothing was changed. Run `segcore restore {file}` again to finish it; "
                "changes are refused until then."
            ),
            **_params(marker),
        )


def interrupted_restore(db: Database, marker: object = ...) -> RestoreIncomplete | None:
    """A RestoreIncomplete describing a restore that was interrupted, or None (read only).
    `marker`: the mark already read (`read_marker`), else it is read here."""
    marker = read_marker(db) if marker is ... else marker
    if not marker:
        return None
    params = _params(marker)
    if _running(db, marker):
        return RestoreIncomplete(
            N_(
                "A restore from {file} is under way (since {time}); "
                "the data may change when it ends."
            ),
            **params,
        )
    if marker.get("state") == "swapping":
        return RestoreIncomplete(
            N_(
                "A restore from {file} (started {time}) was interrupted while it swapped in "
                "the restored collections: some hold the backup's data, the others the data from "
                "before. Run the restore again; it first puts the earlier data back."
            ),
            **params,
        )
    if marker.get("state") == "swapped":  # killed before it added the backup's outbox
        return RestoreIncomplete(
            N_(
                "A restore from {file} (started {time}) was interrupted just before it "
                "finished: the database holds the backup's data, but the backup's notifications "
                "are not in the outbox yet, and unsent ones would be lost. Run the restore again "
                "(with --replace); it first finishes the interrupted one."
            ),
            **params,
        )
    return RestoreIncomplete(
        N_(
            "A restore from {file} (started {time}) did not finish; the database still "
            "holds the data from before it. Run the restore again."
        ),
        **params,
    )


def backup_guard(db: Database) -> object:
    """The restore marker and count as they stand, for a backup to compare once it has read
    the database (`refuse_if_restored`); raises RestoreIncomplete (in its words) while a restore
    runs or after one was interrupted once it began its swap: the collections are being
    swapped, or half swapped, and a backup of them would be taken for a whole database. One
    stopped before its swap left the data whole: it is backed up."""
    marker = read_marker(db)
    pending = interrupted_restore(db, marker)
    if pending is not None and not _left_data_whole(db, marker):
        raise pending
    return (
        marker and (marker.get("owner"), marker.get("started_at"), marker.get("state")),
        swaps(db),  # a restore that ran start to end leaves no marker, but counts
    )


def refuse_if_restored(db: Database, before: object) -> None:
    """Raises RestoreIncomplete when a restore started, ran or swapped anything in since
    `before` (what backup_guard returned before the backup read the database)."""
    if backup_guard(db) != before:
        raise RestoreIncomplete(
            N_(
                "A restore ran while the backup was read: the backup would mix data from "
                "before and after it, so it was not kept. Back up again."
            )
        )


def _left_data_whole(db: Database, marker: dict | None) -> bool:
    """Whether the data is as it was before any restore (read only): none marked, or the one
    marked stopped before its swap (killed, or paused past its lease: it then stops on its
    own) and is not running."""
    return not marker or (marker.get("state") == "staging" and not _running(db, marker))


def _running(db: Database, marker: dict) -> bool:
    """Whether the restore that wrote `marker` still runs: it holds the sync lease and, on this
    machine, its process is alive (a killed one keeps the lease until it expires)."""
    lease = db[LOCKS].find_one({"_id": "sync"}) or {}
    if (
        lease.get("owner") != marker.get("owner")
        or not lease.get("expires_at", utcnow()) > utcnow()
    ):
        return False
    return marker.get("host") != socket.gethostname() or process_alive(marker.get("pid"))
