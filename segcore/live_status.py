"""Whether a live sync runs, and when it last applied a change, for the Sync page.

Both are read from the sync lease, which a live sync (`segcore sync --watch`) holds, renews and
stamps with `last_change_at` after each applied group: one read by `_id`. Which batches changed
is not kept here: every sync write moves the data version (`segcore.data_version`), which the
pages poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.database import Database

from segcore.history import utcnow
from segcore.schema import LOCKS


@dataclass(frozen=True)
class LiveStatus:
    """A running live sync as the app shows it (`running` False when there is none)."""

    running: bool
    host: str | None = None
    since: datetime | None = None
    last_change_at: datetime | None = None


def live_status(work: Database, now: datetime | None = None) -> LiveStatus:
    """Whether a live sync holds an unexpired sync lease, and when it last applied a change."""
    lock = work[LOCKS].find_one({"_id": "sync"}) or {}
    now = now or utcnow()
    expires = lock.get("expires_at")
    if lock.get("kind") != "live" or not isinstance(expires, datetime) or expires < now:
        return LiveStatus(False)
    return LiveStatus(True, lock.get("host"), lock.get("since"), lock.get("last_change_at"))


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
