"""Whether a live sync runs, and the cheap "last applied change" marker the app polls.

Every sync that writes batches bumps one small document in `app_meta` (`_id: "changes"`): a
counter and when it was bumped. A page polls it with one find by `_id` and reloads its figures
only when the counter moved, instead of re-reading the batch list every few seconds. Whether a
live sync (`segcore sync --watch`) runs is read from the sync lease, which it holds and renews.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.database import Database

from segcore.history import utcnow
from segcore.schema import LOCKS, META

MARKER = "changes"


@dataclass(frozen=True)
class ChangeMarker:
    """How many sync writes were applied so far, and when the last one was."""

    count: int = 0
    at: datetime | None = None


@dataclass(frozen=True)
class LiveStatus:
    """A running live sync as the app shows it (`running` False when there is none)."""

    running: bool
    host: str | None = None
    since: datetime | None = None
    last_change_at: datetime | None = None


def note_applied(work: Database, uploads: int, batches: int) -> None:
    """Bump the marker after a sync applied `uploads` changed uploads to `batches` batches."""
    work[META].update_one({"_id": MARKER},
                          {"$set": {"at": utcnow()},
                           "$inc": {"count": 1, "uploads": uploads, "batches": batches}},
                          upsert=True)


def read_marker(work: Database) -> ChangeMarker:
    """The marker (one indexed read: cheap enough to poll every few seconds)."""
    doc = work[META].find_one({"_id": MARKER}, {"count": 1, "at": 1}) or {}
    return ChangeMarker(int(doc.get("count") or 0), doc.get("at"))


def live_status(work: Database, now: datetime | None = None) -> LiveStatus:
    """Whether a live sync holds an unexpired sync lease, and when it last applied a change."""
    lock = work[LOCKS].find_one({"_id": "sync"}) or {}
    now = now or utcnow()
    expires = lock.get("expires_at")
    if lock.get("kind") != "live" or not isinstance(expires, datetime) or expires < now:
        return LiveStatus(False)
    return LiveStatus(True, lock.get("host"), lock.get("since"), read_marker(work).at)


def describe_live(status: LiveStatus, now: datetime) -> str:
    """"live: last change applied 3 s ago" (or why it says nothing yet), for the Sync page."""
    if not status.running:
        return "no live sync is running"
    when = status.last_change_at
    if when is None:
        return "live: running, no change applied yet"
    return f"live: last change applied {_ago((now - when).total_seconds())}"


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min ago"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"
