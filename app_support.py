"""What the Streamlit pages share: the cached connection, cached reads, session keys, messages.

segcore never imports Streamlit; this module is where its functions get cached for the UI.
Reads are cached for a short time so several widgets in one run read the database once; every
write calls `clear_caches()` so the next run shows it. Shared widgets live in `app_widgets`.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict
from datetime import date

import streamlit as st
from pymongo.errors import PyMongoError

from segcore import batch_table, batches, demo, history, progress, sync, team, uploads
from segcore.actors import Actor
from segcore.config import Settings, load_settings
from segcore.connection import (Databases, check_health, friendly_errors, open_databases,
                                scrub)
from segcore.errors import ConfigError, DatabaseUnavailable, EmbeddedServerError, SegcoreError
from segcore.schedule import SyncScheduler
from segcore.prepare import prepare

READ_TTL_S = 30
HEALTH_TTL_S = 10
STATUS_REFRESH = "20s"

# Session-state keys, with their defaults set in one place (`init_state`).
ACTOR = "actor"                        # the logged-in user (an Actor), None with login off
LOGIN_AT = "login_at"                  # when the session's login happened (UTC)
FLASH = "flash_messages"               # messages that survive one st.rerun()
BATCH_SNAPSHOT = "batch_snapshot"      # the page of batches the editor shows
EDITOR_VERSION = "batch_editor_version"
SAVE_CONFLICTS = "batch_save_conflicts"
REMOVE_TARGET = "team_remove_target"   # whose removal the confirmation dialog asks about
DEMO_CONFIRM = "demo_confirm"
SYNC_LAST_REPORT = "sync_last_report"
BALANCE_CONFIRM = "balance_confirm"
IMPORT_RESULT = "import_result"
_DEFAULTS = {ACTOR: None, LOGIN_AT: None, FLASH: [], EDITOR_VERSION: 0, SAVE_CONFLICTS: [], REMOVE_TARGET: None,
             DEMO_CONFIRM: False, SYNC_LAST_REPORT: None}


def init_state() -> None:
    for key, value in _DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value.copy() if isinstance(value, list) else value


def current_actor() -> Actor:
    """Who is acting; with login off, the app itself as a coordinator.

    With login on and nobody logged in (a page run outside the entry point's gate), a viewer:
    the fallback must never grant writes.
    """
    actor = st.session_state.get(ACTOR)
    if actor is not None:
        return actor
    try:
        login = settings().login
    except SegcoreError:
        login = True
    return Actor("(not logged in)", "viewer") if login else Actor("app")


def can_write() -> bool:
    """False for a viewer: pages then show no editing controls (segcore refuses them too)."""
    return current_actor().can_write


def editor_key() -> str:
    """Widget key of the batch editor; a new snapshot gets a new key, dropping stale edits."""
    return f"batch_editor_{st.session_state.get(EDITOR_VERSION, 0)}"


# --- connection -----------------------------------------------------------------------------

def settings() -> Settings:
    """The effective settings (environment over `.env`); ConfigError names a bad one."""
    return load_settings()


@st.cache_resource(show_spinner=False)
def _client_databases(key: str, _settings: Settings) -> Databases:
    # One MongoClient per process (per configuration), created lazily by segcore.
    return open_databases(_settings)


@st.cache_resource(show_spinner="Preparing the database…")
def _prepared(key: str, _databases: Databases) -> list[str]:
    # Not cached when it raises, so a retry after an outage prepares again.
    return prepare(_databases)


def _key(current: Settings) -> str:
    return repr(current)


def connection() -> Databases:
    """Both databases, without touching them (the status panel must work while they are down)."""
    current = settings()
    return _client_databases(_key(current), current)


def databases() -> Databases:
    """Both databases, prepared once per process (indexes, legacy keys)."""
    current = settings()
    found = _client_databases(_key(current), current)
    _prepared(_key(current), found)
    return found


def prepare_warnings() -> list[str]:
    """Warnings from preparing the database (legacy team members whose names collide)."""
    current = settings()
    return _prepared(_key(current), _client_databases(_key(current), current))


def db_key() -> str:
    """Part of every cached read's key, so two configurations never share results."""
    current = settings()
    return f"{current.mongo_uri or current.embedded_path}|{current.mongo_db}|{current.training_db}"


def clear_caches() -> None:
    """After a write: every cached read is dropped, so the next run shows the change."""
    st.cache_data.clear()


# --- errors and messages --------------------------------------------------------------------

STOPPING_ERRORS = (DatabaseUnavailable, EmbeddedServerError, ConfigError, PyMongoError)


def describe_error(exc: BaseException) -> str:
    """A sentence a coordinator understands, never a traceback nor a password."""
    if isinstance(exc, ConfigError):
        return f"The configuration is not valid: {exc}"
    if isinstance(exc, (DatabaseUnavailable, EmbeddedServerError)):
        return f"The database is not available: {exc}"
    if isinstance(exc, PyMongoError):
        uri = None
        try:
            uri = settings().mongo_uri
        except ConfigError:
            pass
        return "The database answered with an error: " + scrub(str(exc).split("\n")[0][:200], uri)
    return str(exc)


def show_error(exc: BaseException) -> None:
    """Show a segcore (or driver) error as a message, in place."""
    if isinstance(exc, SegcoreError) and not isinstance(exc, STOPPING_ERRORS):
        st.error(str(exc), icon=":material/error:")
    else:
        st.error(describe_error(exc), icon=":material/cloud_off:")


def fail(exc: BaseException) -> None:
    """The page cannot go on: say why, offer a retry, and stop this run."""
    show_error(exc)
    if st.button("Retry", key="retry_connection", icon=":material/refresh:"):
        clear_caches()
        st.rerun()
    st.stop()


@contextmanager
def guard():
    """Turn an unreachable database (or bad configuration) into a message and a retry."""
    try:
        with friendly_errors(uri_or_none()):
            yield
    except STOPPING_ERRORS as exc:
        fail(exc)


def uri_or_none() -> str | None:
    try:
        return settings().mongo_uri
    except ConfigError:
        return None


def guarded(function, *args, **kwargs):
    """Call `function`; on an unreachable database, show the message and stop the page."""
    with guard():
        return function(*args, **kwargs)


def optional(function, *args, **kwargs):
    """Call `function`; on a database error return (None, message) instead of stopping.

    For parts of a page that need `training_metrics` while the rest only needs the app's own
    database.
    """
    try:
        with friendly_errors(uri_or_none()):
            return function(*args, **kwargs), None
    except STOPPING_ERRORS as exc:
        return None, describe_error(exc)


def flash(kind: str, text: str) -> None:
    """Queue a message ("success", "warning", "error", "info") shown after the next rerun."""
    st.session_state.setdefault(FLASH, []).append((kind, text))


def show_flash() -> None:
    """Show (once) the messages queued before the last rerun, also as toasts."""
    messages = st.session_state.get(FLASH) or []
    st.session_state[FLASH] = []
    for kind, text in messages:
        getattr(st, kind)(text)
        if kind == "success":
            st.toast(text, icon=":material/check_circle:")


def page_start(title: str) -> Databases:
    """Title, queued messages, and the prepared databases (or a message and a retry)."""
    init_state()
    st.title(title)
    show_flash()
    found = guarded(databases)
    for warning in prepare_warnings():
        st.warning(warning)
    return found


# --- cached reads (plain values, never cursors) ---------------------------------------------

@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _members(key: str) -> list[dict]:
    return [asdict(m) for m in team.list_members(databases().work)]


def members() -> list[dict]:
    return guarded(_members, db_key())


def team_names() -> list[str]:
    return [m["name"] for m in members()]


@st.cache_data(ttl=READ_TTL_S, show_spinner="Reading the batch list…")
def _progress_rows(key: str) -> list[dict]:
    return progress.progress_rows(databases().work)


def progress_rows() -> list[dict]:
    """Every batch as a small flat row: one read shared by the dashboard and the team page."""
    return guarded(_progress_rows, db_key())


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _uploads(key: str, start: date, end: date) -> list[dict]:
    return progress.upload_rows(databases(), start, end)


def uploads_between(start: date, end: date) -> tuple[list[dict] | None, str | None]:
    """Uploads in the date range, or (None, message) when `training_metrics` is unavailable."""
    return optional(_uploads, db_key(), start, end)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _batch_page(key: str, query: batches.BatchQuery, sort: str, page: int,
                page_size: int) -> dict:
    found = batches.list_batches(databases().work, query, sort=sort, page=page,
                                 page_size=page_size)
    return {"rows": found.rows, "total": found.total, "pages": found.pages, "page": found.page}


def batch_page(query: batches.BatchQuery, sort: str, page: int, page_size: int) -> dict:
    return guarded(_batch_page, db_key(), query, sort, page, page_size)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _history(key: str, batch_id: str) -> list[dict]:
    return history.list_history(databases().work, key=batch_id, limit=100)


def batch_history(batch_id: str) -> list[dict]:
    return guarded(_history, db_key(), batch_id)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _demo_state(key: str) -> dict:
    found = databases()
    return {"is_demo": demo.is_demo(found), "can_load": demo.can_load_demo(found)}


def demo_state() -> dict:
    return guarded(_demo_state, db_key())


def demo_state_or_problem() -> tuple[dict | None, str | None]:
    """Like demo_state, but (None, message) instead of stopping the page on an outage."""
    return optional(lambda: _demo_state(db_key()))


@st.cache_data(ttl=HEALTH_TTL_S, show_spinner=False)
def _health(key: str) -> list[dict]:
    found = connection()
    return [asdict(check_health(found, which)) for which in ("work", "training")]


def health() -> list[dict]:
    """Reachability, round trip and version of both databases (never raises for a dead server)."""
    return _health(db_key())


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _last_sync(key: str) -> dict | None:
    return sync.last_run(databases().work)


def last_sync() -> dict | None:
    """The most recent successful sync run (with its upload lists), or None."""
    return guarded(_last_sync, db_key())


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _sync_runs(key: str, limit: int) -> list[dict]:
    return sync.list_runs(databases().work, limit)


def sync_runs(limit: int = 20) -> list[dict]:
    return guarded(_sync_runs, db_key(), limit)


@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _recent_uploads(key: str, limit: int) -> list[dict]:
    return [u.as_dict() for u in uploads.recent_uploads(databases(), limit)]


def recent_uploads(limit: int = 50) -> tuple[list[dict] | None, str | None]:
    """The newest uploads, or (None, message) when `training_metrics` is unavailable."""
    return optional(_recent_uploads, db_key(), limit)


# --- the batch editor's snapshot ------------------------------------------------------------

def batch_snapshot(query: batches.BatchQuery, sort: str, page: int, page_size: int,
                   reload: bool = False) -> dict:
    """The page of batches being edited, kept in the session until the view changes.

    Edits are positions in this snapshot, so it must not shift under the user when the cache
    expires or someone else writes; a new snapshot gets a new editor key.
    """
    wanted = (db_key(), query, sort, page, page_size)
    current = st.session_state.get(BATCH_SNAPSHOT)
    if reload or current is None or current["view"] != wanted:
        found = batch_page(query, sort, page, page_size)
        current = {"view": wanted, **found}
        st.session_state[BATCH_SNAPSHOT] = current
        st.session_state[EDITOR_VERSION] = st.session_state.get(EDITOR_VERSION, 0) + 1
    return current


def refresh_batches() -> None:
    """After a write to batches: forget the snapshot and every cached read."""
    st.session_state[BATCH_SNAPSHOT] = None
    clear_caches()


def export_csv(query: batches.BatchQuery) -> str:
    """CSV of every batch matching `query`; runs on click, outside the page script."""
    return batch_table.export_csv(connection().work, query)


# --- team -----------------------------------------------------------------------------------

@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _open_workloads(key: str, names: tuple[str, ...]) -> dict[str, int]:
    return batches.open_workloads(databases().work, list(names))


def open_workloads(names: list[str]) -> dict[str, int]:
    return guarded(_open_workloads, db_key(), tuple(names))


# --- sync -----------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _scheduler(key: str, _settings: Settings) -> SyncScheduler:
    # Resolved here, in the script thread: the scheduler's thread has no Streamlit context.
    found = _client_databases(key, _settings)

    def run() -> None:
        sync.run_sync(found, mode="scheduled", author=Actor("auto-sync"))
    # One per process and configuration: a second browser tab shares it.
    return SyncScheduler(run, minutes=_settings.auto_sync_minutes).start()


def scheduler() -> SyncScheduler:
    current = settings()
    return _scheduler(_key(current), current)


# --- import ---------------------------------------------------------------------------------
