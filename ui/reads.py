"""Cached reads for the pages: plain values (never cursors), one short-lived cache entry per
connection, read and arguments.

Write a read as a function of the prepared `Databases` and plain, hashable arguments, and
decorate it with `@cached_read`: callers then pass the arguments only and get the cached value,
or a message and a Retry when the database is down (`.or_problem(...)` returns
`(value, None)` or `(None, message)` instead, for parts of a page that can do without).
Every write clears these caches (`ui.actions.clear_caches`).
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from datetime import date, datetime, timezone
from typing import Callable

import streamlit as st

from segcore import (alerts, batches, demo, handover, history, mask_check, pace, progress, sync,
                     team, uploads)
from segcore.connection import Databases, check_health
from ui.actions import guarded, optional
from ui.connection import connection, databases, db_key, settings

READ_TTL_S = 30
HEALTH_TTL_S = 10


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _read(key: str, name: str, args: tuple, _function: Callable):
    # `name` stands for `_function` in the cache key (Streamlit does not hash `_` arguments).
    return _function(databases(), *args)


@st.cache_data(ttl=READ_TTL_S, show_spinner="Reading from the database…")
def _slow_read(key: str, name: str, args: tuple, _function: Callable):
    return _function(databases(), *args)


def cached_read(function: Callable | None = None, *, slow: bool = False):
    """Make `function(databases, *args)` a cached, guarded read callable as `read(*args)`.

    `slow=True` shows a spinner while the database is read (not on a cache hit).
    """
    if function is None:
        return functools.partial(cached_read, slow=slow)
    name = f"{function.__module__}.{function.__qualname__}"
    reader = _slow_read if slow else _read

    def load(*args):
        return reader(db_key(), name, args, function)

    @functools.wraps(function)
    def read(*args):
        return guarded(load, *args)

    read.or_problem = lambda *args: optional(load, *args)
    return read


@cached_read
def members(found: Databases) -> list[dict]:
    return [asdict(m) for m in team.list_members(found.work)]


def team_names() -> list[str]:
    return [m["name"] for m in members()]


@cached_read(slow=True)
def progress_rows(found: Databases) -> list[dict]:
    """Every batch as a small flat row: one read shared by the dashboard and the team page,
    serving both the progress figures and the pace ones (see `current_alerts`)."""
    return alerts.batch_rows(found.work)


def current_alerts() -> pace.Alerts:
    """Pace, stalled people, at-risk batches and suggested moves, from the cached rows.

    Computed on each run (about 0.4 s at 50,000 batches), so "now" is always now; days are
    the office's (TIMEZONE).
    """
    current = settings()
    return pace.analyse(progress_rows(), members(), datetime.now(timezone.utc), current.zone,
                        pace.PaceOptions.from_settings(current))


@cached_read
def uploads_between(found: Databases, start: date, end: date) -> list[dict]:
    return progress.upload_rows(found, start, end, found.settings.zone)


@cached_read
def batch_page(found: Databases, query: batches.BatchQuery, sort: str, page: int,
               page_size: int, descending: bool = False) -> dict:
    got = batches.list_batches(found.work, query, sort=sort, descending=descending, page=page,
                               page_size=page_size)
    return {"rows": got.rows, "total": got.total, "pages": got.pages, "page": got.page}


@cached_read
def stored_values(found: Databases, field_name: str) -> list[str]:
    """Every assignee or status stored on a batch, legacy and former ones included."""
    return batches.stored_values(found.work, field_name)


@cached_read
def former_members(found: Databases) -> set[str]:
    return handover.former_members(found.work)


@cached_read
def batch_detail(found: Databases, batch_id: str) -> dict | None:
    """One batch as stored (any id, not only those on the page shown), or None."""
    return batches.get_batches(found.work, [batch_id]).get(batch_id)


@cached_read
def batch_history(found: Databases, batch_id: str) -> list[dict]:
    return history.list_history(found.work, key=batch_id, limit=100)


@cached_read
def demo_state(found: Databases) -> dict:
    return {"is_demo": demo.is_demo(found), "can_load": demo.can_load_demo(found)}


@cached_read
def last_sync(found: Databases) -> dict | None:
    """The most recent successful sync run (with its upload lists), or None."""
    return sync.last_run(found.work)


@cached_read
def sync_runs(found: Databases, limit: int = 20) -> list[dict]:
    return sync.list_runs(found.work, limit)


@cached_read
def recent_uploads(found: Databases, limit: int = 50) -> list[dict]:
    return [u.as_dict() for u in uploads.recent_uploads(found, limit)]


@cached_read
def mask_detail(found: Databases, batch_id: str) -> dict | None:
    """One batch's mask check with every name, or None when it was never checked."""
    detail = mask_check.batch_detail(found, batch_id)
    if detail is None:
        return None
    return {"state": detail.state, "images": detail.images,
            "matched": detail.matched, "missing": detail.missing, "extra": detail.extra,
            "unreadable": detail.unreadable, "note": detail.note}


@cached_read
def open_workloads(found: Databases, names: tuple[str, ...]) -> dict[str, int]:
    return batches.open_workloads(found.work, list(names))


@st.cache_data(ttl=HEALTH_TTL_S, show_spinner=False)
def _health(key: str) -> list[dict]:
    found = connection()
    return [asdict(check_health(found, which)) for which in ("work", "training")]


def health() -> list[dict]:
    """Reachability, round trip and version of both databases (never raises for a dead server).

    Not a `cached_read`: it must not prepare the database, and it refreshes more often.
    """
    return _health(db_key())


@cached_read
def uploader_activity(found: Databases) -> dict[str, dict]:
    """Who uploaded last and how much, per person_key, as the last sync saw it (no GridFS read)."""
    return sync.uploader_activity_of(found.work)
