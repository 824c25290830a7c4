"""Whether a live sync runs, and when it last applied a change, for the Sync page (which
words it, in the user's language: `ui.app.live.describe_live`).

Both are read from the sync lease, which a live sync (`segcore sync --watch`) holds, renews and
stamps with `last_change_at` after each applied group: one read by `_id`. Which batches changed
is not kept here: every sync write moves the data version (`segcore.store.data_version`), which the
pages poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.database import Database

from segcore.core.timefmt import utcnow
from segcore.store.schema import LOCKS


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
