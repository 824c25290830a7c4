"""Cached reads for the pages: plain values (never cursors), keyed by the data they read.

Write a read as a function of the prepared `Databases` and plain, hashable arguments, and
decorate it with `@cached_read(topics=...)`: callers then pass the arguments only and get the
cached value, or a message and a Retry when the database is down (`.or_problem(...)` returns
`(value, None)` or `(None, message)` instead, for parts of a page that can do without).

The cache key holds the version of each topic the read depends on (`segcore.store.data_version`,
one indexed read per second and process): a write bumps only its topics, so a page re-reads
only what changed, for every user at once, and nothing expires by the clock. The batch list
itself is held once per process in memory (`segcore.views.batch_rows`) and caught up by re-reading
only the batches a write touched, and the batches other tools changed (the batch list's change
stream, read on each page load, at most once a second); a copy is kept in the database for the
next start (`segcore.views.row_snapshot`), saved in the background when missing or far behind.
Reads of the batches are also keyed by how many times other tools' edits changed the rows.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
import uuid
from dataclasses import asdict
from datetime import date, datetime, timezone
from typing import Callable

import streamlit as st
from pymongo.errors import PyMongoError

from segcore import demo, prepare
from segcore.core.errors import SegcoreError
from segcore.core.naming import person_key
from segcore.core.timefmt import office_zone
from segcore.masks import mask_check
from segcore.masks import receipts as receipts_store
from segcore.masks.receipt_uploaders import uploaders as receipt_uploaders_of
from segcore.report import pace
from segcore.report.pace_basis import SyncBasis, as_of_sync
from segcore.store import demo_marker, history, restore_marker
from segcore.store.connection import Databases, check_health
from segcore.sync import sync, upload_stats
from segcore.team import team
from segcore.team.team_edits import TeamEdits
from segcore.views.batch_rows import BatchRows
from segcore.work import batches, handover, holders
from segcore.work.batches import BatchQuery
from ui.app.actions import guarded, optional
from ui.app.connection import connection, data_versions, databases, db_key, settings
from ui.app.i18n import _

SAVE_DELAY_S = 3.0  # after a full read, before storing the rows for the next start
READ_TTL_S = 3600  # entries are keyed by the data version: this only frees memory
HEALTH_TTL_S = 10
ALL_TOPICS = ("batches", "team", "sync")


@st.cache_data(ttl=READ_TTL_S, max_entries=500, show_spinner=False)
def _read(key: str, name: str, args: tuple, stamp: tuple, _function: Callable):
    # `name` stands for `_function` in the cache key (Streamlit does not hash `_` arguments).
    return _function(databases(), *args)


@st.cache_data(ttl=READ_TTL_S, max_entries=500, show_spinner="Reading from the database…")
def _slow_read(key: str, name: str, args: tuple, stamp: tuple, _function: Callable):
    return _function(databases(), *args)


def _stamp(topics: tuple[str, ...]) -> tuple:
    current = data_versions()
    stamp = tuple(current[topic] for topic in topics)
    if "batches" in topics:  # other tools' edits the rows took in are in no data version
        stamp += (_batch_rows(db_key())["rows"].outside_edits,)
    if "team" in topics:  # nor are other tools' team edits: the team's digest says
        stamp += (_team_edits(db_key()).seen(databases().work),)
    return stamp


@st.cache_resource(show_spinner=False)
def _team_edits(key: str) -> TeamEdits:
    return TeamEdits()


def cached_read(
    function: Callable | None = None, *, slow: bool = False, topics: tuple[str, ...] = ALL_TOPICS
):
    """Make `function(databases, *args)` a cached, guarded read callable as `read(*args)`.

    `topics` are the data it depends on: a write to another topic keeps its cached value.
    `slow=True` shows a spinner while the database is read (not on a cache hit).
    """
    if function is None:
        return functools.partial(cached_read, slow=slow, topics=topics)
    name = f"{function.__module__}.{function.__qualname__}"
    reader = _slow_read if slow else _read

    def load(*args):
        return reader(db_key(), name, args, _stamp(topics), function)

    @functools.wraps(function)
    def read(*args):
        return guarded(load, *args)

    read.or_problem = lambda *args: optional(load, *args)
    return read


@st.cache_resource(show_spinner=False)
def _batch_rows(key: str) -> dict:
    return {"rows": BatchRows(), "epoch": None}


@st.cache_data(show_spinner=False)
def _epoch(key: str) -> str:
    # A new value after `st.cache_data.clear()` (Retry, Reload): the rows are read again too.
    return uuid.uuid4().hex


def _rows_holder() -> dict:
    """This process's rows, read from scratch again (not from the stored snapshot) when the
    cached data was cleared since (Retry, Reload)."""
    holder = _batch_rows(db_key())
    epoch = _epoch(db_key())
    if holder["epoch"] != epoch:
        if holder["epoch"] is not None:  # not the process's first use: a clear
            holder["rows"].forget()
        holder["epoch"] = epoch
    return holder


def _fresh_rows() -> BatchRows:
    holder = _rows_holder()
    rows, current = holder["rows"], data_versions()
    work = databases().work
    reading_all = rows.needs_full_read(current)
    with st.spinner(_("Reading the batch list…")) if reading_all else contextlib.nullcontext():
        rows.refresh(work, current)
    _save_when_due(holder, work)
    return rows


def _save_when_due(holder: dict, work) -> None:
    """Store the rows for the next restart (segcore.views.row_snapshot) in a thread, when
    the stored ones are missing or too far behind: the page does not wait for it."""
    rows, running = holder["rows"], holder.get("saving")
    if not rows.snapshot_due() or (running is not None and running.is_alive()):
        return
    holder["saving"] = threading.Thread(
        target=_save, args=(rows, work), name="batch-rows-save", daemon=True
    )
    holder["saving"].start()


def _save(rows: BatchRows, work) -> None:
    # Not while the page that read the rows draws itself: the save is about a second of CPU
    # at 50,000 batches, and the page's own run and the server share the process.
    time.sleep(SAVE_DELAY_S)
    rows.save_snapshot(work)  # a failure is logged there: the next start reads every batch


def prefetch_batch_rows() -> None:
    """Start reading the batch list in a thread when this process has not read it yet.

    On a cold start (after a restart) the read is most of a page's time, and mostly the
    server's: begun before the page imports its modules (plotly, pandas) and reads the rest,
    it overlaps them. It starts from the rows stored for the next start when those can be
    caught up with (segcore.views.row_snapshot): a few documents instead of every batch. The
    page's own `batch_rows()` then waits for it (the rows' lock) instead of reading again.
    """
    holder = _rows_holder()
    rows, running = holder["rows"], holder.get("prefetch")
    if rows.version is not None or (running is not None and running.is_alive()):
        return
    current, work = data_versions(), databases().work
    holder["prefetch"] = threading.Thread(
        target=_prefetch, args=(holder, work, current), name="batch-rows-prefetch", daemon=True
    )
    holder["prefetch"].start()


def _prefetch(holder: dict, work, current: dict) -> None:
    # A failure here is not reported: the page's own read tries again and reports it.
    with contextlib.suppress(PyMongoError, SegcoreError):
        holder["rows"].refresh(work, current)
        _save_when_due(holder, work)


def batch_rows() -> BatchRows:
    """Every batch as a small row, caught up with the latest writes (shared: read only)."""
    return guarded(_fresh_rows)


@cached_read(topics=("team",))
def members(found: Databases) -> list[dict]:
    return [asdict(m) for m in team.list_members(found.work)]


@st.cache_resource(max_entries=4, show_spinner=False)
def _team_warnings(key: str, stamp: tuple, _found: Databases) -> list[str]:
    # A resource, not data: the warnings are phrases, worded in each reader's language.
    return prepare.team_warnings(_found)


def team_warnings() -> list[str]:
    """Team members whose names collide or are missing, as the team is now: a warning goes
    once the duplicate is renamed or removed, by the app or by another tool."""
    return guarded(lambda: _team_warnings(db_key(), _stamp(("team",)), databases()))


def team_names() -> list[str]:
    return [m["name"] for m in members()]


def progress_rows() -> list[dict]:
    """Every batch as a small flat row, shared by the dashboard and the team page, serving
    both the progress figures and the pace ones (see `current_alerts`)."""
    return batch_rows().rows()


@st.cache_resource(max_entries=8, show_spinner=False)
def _alerts(
    key: str,
    stamp: tuple,
    day: date,
    options: pace.PaceOptions,
    zone: str | None,
    _rows: list[dict],
    _members: list[dict],
    _now: datetime,
    _former: list[dict],
) -> pace.Alerts:
    # Shared read-only by every session. The analysis reads the clock for the office's day
    # only (see pace.analyse), so the day, the data and the settings it uses are its whole key.
    return pace.analyse(_rows, _members, _now, office_zone(zone), options, _former)


def current_alerts() -> pace.Alerts:
    """Pace, stalled people, at-risk batches and suggested moves, from the in-memory rows.

    About 0.4 s of work at 50,000 batches, so it is kept per data version and office day: the
    Dashboard, Team and Suggested moves pages, every session's, share it until the data, the
    day or the pace settings change. Only the last sync's age is added on each call. Days are
    the office's (TIMEZONE).
    """
    return _current_alerts(progress_rows(), members(), last_sync(), former_joinings())


def warm_alerts() -> None:
    """Make today's alerts in a freshly started process, before its first visitor (see
    ui.app.warm_start). Nothing when the database cannot be read: the page reads again and says
    what is wrong."""
    rows = _fresh_rows().rows()
    (found, team_problem), (last, sync_problem) = members.or_problem(), last_sync.or_problem()
    former, former_problem = former_joinings.or_problem()
    if team_problem is None and sync_problem is None and former_problem is None:
        _current_alerts(rows, found, last, former)


def _current_alerts(
    rows: list[dict], found: list[dict], last: dict | None, former: list[dict]
) -> pace.Alerts:
    now, current = datetime.now(timezone.utc), settings()
    alerts = _alerts(
        db_key(),
        _stamp(ALL_TOPICS),
        pace.local_day(now, current.zone),
        pace.PaceOptions.from_settings(current),
        current.timezone,
        rows,
        found,
        now,
        former,
    )
    return as_of_sync(alerts, SyncBasis.of(last["finished_at"] if last else None, now))


@cached_read(topics=("sync",))
def uploads_per_day(
    found: Databases, start: date, end: date, owner: str | None = None, status: str | None = None
) -> list[dict]:
    """{day, uploads} of the office's days from the sync's read model (counted again from the
    sync's index when TIMEZONE changed since the last sync): never a scan of the training
    database."""
    return upload_stats.uploads_per_day(found.work, start, end, owner, status, settings().zone)


@cached_read(topics=("sync",))
def upload_models_state(found: Databases) -> str | None:
    """None when the uploads' read models are as recent as the last sync, else why not."""
    last = sync.last_run(found.work)
    return upload_stats.staleness(
        upload_stats.synced_at(found.work), last["started_at"] if last else None
    )


def batch_page(
    query: BatchQuery, sort: str, page: int, page_size: int, descending: bool = False
) -> dict:
    """One page of the batch table: filtered and sorted in memory, its documents read by id."""

    def load() -> dict:
        got = _fresh_rows().page(databases().work, query, sort, descending, page, page_size)
        return {"rows": got.rows, "total": got.total, "pages": got.pages, "page": got.page}

    return guarded(load)


def stored_values(field_name: str) -> list[str]:
    """Every assignee or status stored on a batch, legacy and former ones included (from the
    in-memory rows: a `distinct` would be a pass over every batch)."""
    values = {str(row[field_name]) for row in progress_rows() if row[field_name] is not None}
    return sorted((v for v in values if v.strip()), key=person_key)


def person_choices(team: list[str]) -> list[str]:
    """A person filter's choices: one per person on the team (the first of legacy duplicates),
    then one per person not on it, under a stored spelling (`holders.person_options`)."""
    return holders.person_options(list({row["assignee"] for row in progress_rows()}), team)


@cached_read(topics=("team",))
def former_members(found: Databases) -> set[str]:
    return handover.former_members(found.work)


@cached_read(topics=("team",))
def former_joinings(found: Databases) -> list[dict]:
    """Who left the team, with when they joined: their pace counts from it (pace.analyse)."""
    return handover.former_joinings(found.work)


@cached_read(topics=("batches",))
def batch_detail(found: Databases, batch_id: str) -> dict | None:
    """One batch as stored (any id, not only those on the page shown), or None."""
    return batches.get_batch(found.work, batch_id)


@cached_read(topics=("batches", "team"))
def batch_history(found: Databases, batch_id: str) -> list[dict]:
    return history.list_history(found.work, key=batch_id, limit=100)


def interrupted_restore():
    """A RestoreIncomplete for a restore that did not finish, or None. Read on every run (one
    small find): a killed restore moves no data version, so no cached read would notice it."""
    found, _problem = optional(lambda: restore_marker.interrupted_restore(databases().work))
    return found


def interrupted_demo():
    """A DemoIncomplete for a demo load under way or interrupted, or None. Read on every run
    (one small find): a killed load moves no data version, so no cached read would notice."""
    found, _problem = optional(lambda: demo_marker.interrupted_demo(databases().work))
    return found


@cached_read(topics=("batches", "team"))
def demo_state(found: Databases) -> dict:
    return {"is_demo": demo.is_demo(found), "can_load": demo.can_load_demo(found)}


@cached_read(topics=("sync",))
def last_sync(found: Databases) -> dict | None:
    """The most recent successful sync run (with its upload lists), or None."""
    return sync.last_run(found.work)


@cached_read(topics=("sync",))
def sync_runs(found: Databases, limit: int = 20) -> list[dict]:
    return sync.list_runs(found.work, limit)


@cached_read(topics=("sync",))
def recent_uploads(found: Databases, limit: int = 50) -> list[dict]:
    """The newest uploads from the sync's read model: never a scan of the training database."""
    return upload_stats.read_recent(found.work, limit)[0]


@cached_read(topics=("batches",))
def mask_detail(found: Databases, batch_id: str) -> dict | None:
    """One batch's mask check with every name, or None when it was never checked."""
    detail = mask_check.batch_detail(found, batch_id)
    if detail is None:
        return None
    return {
        "state": detail.state,
        "images": detail.images,
        "matched": detail.matched,
        "missing": detail.missing,
        "extra": detail.extra,
        "unreadable": detail.unreadable,
        "note": detail.note,
        "notes": detail.notes,
        "other_files": detail.other_files,
        "ambiguous": detail.ambiguous,
        "not_images": detail.not_images,
        "changes": mask_check.upload_changes(found, batch_id),
    }


def open_workloads(names: tuple[str, ...]) -> dict[str, int]:
    """How many open batches (segcore.delivery's rule) each of `names` holds under any
    spelling (`holders`), from the rows."""
    return holders.workloads(((r["assignee"], 1) for r in progress_rows() if r["open"]), names)


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


@cached_read(topics=("batches", "sync"))
def receipts(
    found: Databases,
    batch_ids: tuple[str, ...] = (),
    person: str | None = None,
    problem: str | None = None,
    limit: int = 500,
) -> list[dict]:
    """Receipts newest first (segcore.receipts), of `batch_ids` when given."""
    return receipts_store.list_receipts(
        found.work, list(batch_ids) or None, person=person, problem=problem, limit=limit
    )


@cached_read(topics=("batches", "sync"))
def receipt_uploaders(found: Databases) -> list[str]:
    """Everyone who has a receipt, for the Receipts page's filter."""
    return receipt_uploaders_of(found.work)
