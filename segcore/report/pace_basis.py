"""What the alerts rest on: the last sync, which is what reads the deliveries (pure).

Pace, stalls, due-date risk and suggested moves are worked out from deliveries a sync reads.
Before any sync every open batch would look undelivered and every person stalled, so nothing
is said but that a sync is needed; with the last sync stale, the alerts are shown and say how
old it is (the pages and `segcore alerts`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from segcore.report.pace import Alerts

STALE_AFTER = timedelta(hours=24)  # the Dashboard's "last sync" warning uses the same limit


@dataclass(frozen=True)
class SyncBasis:
    """When the last successful sync finished (naive UTC; None: never) and whether that is
    older than `STALE_AFTER`."""

    finished_at: datetime | None
    stale: bool

    @classmethod
    def of(
        cls, finished_at: datetime | None, now: datetime, stale_after: timedelta = STALE_AFTER
    ) -> "SyncBasis":
        if finished_at is None:
            return cls(None, True)
        return cls(finished_at, _utc(now) - _utc(finished_at) > stale_after)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def as_of_sync(found: Alerts, basis: SyncBasis) -> Alerts:
    """`found` marked with the sync it rests on; before any sync, without anything that
    depends on deliveries (no pace, stall, risk or move), people keeping their open counts."""
    if basis.finished_at is not None:
        return replace(found, basis=basis)
    people = [
        replace(
            p,
            pace=0.0,
            delivered_7=0,
            delivered_28=0,
            last_delivery=None,
            days_since=None,
            projected_finish=None,
            stalled=False,
        )
        for p in found.people
    ]
    return Alerts(found.today, people, [], [], basis)
