"""What the Streamlit pages share: the cached connection, cached reads, session keys, messages.

The only module besides the pages that imports Streamlit (segcore never does). Reads are cached
for a short time so several widgets in one run read the database once; every write calls
`clear_caches()` so the next run shows it.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from pathlib import Path

import streamlit as st
from pymongo.errors import PyMongoError

from segcore import (batch_import, batch_table, batches, demo, history, progress, sync, team,
                     uploads)
from segcore.actors import Actor
from segcore.config import Settings, load_settings
from segcore.connection import (Databases, check_health, friendly_errors, mask_uri,
                                open_databases, scrub)
from segcore.errors import (ConfigError, DatabaseUnavailable, EmbeddedServerError, SegcoreError,
                            SyncAlreadyRunning)
from segcore.schedule import SyncScheduler
from segcore.setup import prepare

READ_TTL_S = 30
HEALTH_TTL_S = 10
STATUS_REFRESH = "20s"

# Session-state keys, with their defaults set in one place (`init_state`).
ACTOR = "actor"                        # the current user (login comes later)
FLASH = "flash_messages"               # messages that survive one st.rerun()
BATCH_SNAPSHOT = "batch_snapshot"      # the page of batches the editor shows
EDITOR_VERSION = "batch_editor_version"
SAVE_CONFLICTS = "batch_save_conflicts"
REMOVE_TARGET = "team_remove_target"   # whose removal the confirmation dialog asks about
DEMO_CONFIRM = "demo_confirm"
SYNC_LAST_REPORT = "sync_last_report"
AUTO_SYNC_MINUTES = "auto_sync_minutes"
_DEFAULTS = {FLASH: [], EDITOR_VERSION: 0, SAVE_CONFLICTS: [], REMOVE_TARGET: None,
             DEMO_CONFIRM: False, SYNC_LAST_REPORT: None}


def init_state() -> None:
    for key, value in _DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value.copy() if isinstance(value, list) else value


def current_actor() -> Actor:
    """Who is acting; with login off, the app itself as a coordinator."""
    return st.session_state.get(ACTOR) or Actor("app")


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

_STOPPING = (DatabaseUnavailable, EmbeddedServerError, ConfigError, PyMongoError)


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
    if isinstance(exc, SegcoreError) and not isinstance(exc, _STOPPING):
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
        with friendly_errors(_uri_or_none()):
            yield
    except _STOPPING as exc:
        fail(exc)


def _uri_or_none() -> str | None:
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
        with friendly_errors(_uri_or_none()):
            return function(*args, **kwargs), None
    except _STOPPING as exc:
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


@st.cache_data(ttl=HEALTH_TTL_S, show_spinner=False)
def _health(key: str) -> list[dict]:
    found = connection()
    return [asdict(check_health(found, which)) for which in ("work", "training")]


def health() -> list[dict]:
    """Reachability, round trip and version of both databases (never raises for a dead server)."""
    return _health(db_key())


# --- shared widgets -------------------------------------------------------------------------

@st.fragment(run_every=STATUS_REFRESH)
def connection_status() -> None:
    """Sidebar panel: both databases' status, refreshed on its own without rerunning the page."""
    st.caption("Connection")
    try:
        rows = health()
    except (SegcoreError, PyMongoError) as exc:
        st.error(describe_error(exc))
        return
    for row in rows:
        where = "embedded" if row["embedded"] else "remote"
        if row["reachable"]:
            st.markdown(f":green[●] **{row['database']}** · {where} · {row['rtt_ms']} ms")
        else:
            st.markdown(f":red[●] **{row['database']}** · {where} · unreachable")
            st.caption(row["error"])
    st.caption(f"`{_host(rows[0]['uri'])}`")


def _host(masked_uri: str) -> str:
    """The host part of an already masked URI (user and *** kept, options dropped)."""
    return masked_uri.split("://", 1)[-1].split("/?", 1)[0].rstrip("/")


def demo_banner() -> None:
    """A visible banner while the data shown is the demo's, not the team's."""
    try:
        state = _demo_state(db_key())
    except (SegcoreError, PyMongoError):
        return  # the page itself reports the outage
    if state["is_demo"]:
        st.warning("**Demo data.** Everything shown here is made up; load your own batch list "
                   "from the Settings page once you point the app at real data.",
                   icon=":material/science:")


def demo_directory(current: Settings) -> Path:
    return current.embedded_path.parent / "demo-data"


def offer_demo() -> None:
    """On an empty embedded database without DATA_DIRECTORY, offer (after asking) the demo."""
    current = settings()
    if not current.embedded or current.data_directory is not None:
        return
    if not demo_state()["can_load"]:
        return
    st.info("The database is empty. You can load clearly labelled demo data to look around, "
            "or import your batch list from the Settings page.", icon=":material/info:")
    if st.button("Load demo data…", key="demo_ask"):
        st.session_state[DEMO_CONFIRM] = True
    if st.session_state.get(DEMO_CONFIRM):
        _confirm_demo()


@st.dialog("Load demo data?")
def _confirm_demo() -> None:
    current = settings()
    st.write(f"This creates 300 made-up batches, a team of five and mask uploads in the empty "
             f"database, and their folders under `{demo_directory(current)}`.")
    left, right = st.columns(2)
    if left.button("Load the demo", type="primary", key="demo_yes"):
        with st.spinner("Loading demo data…"):
            try:
                result = guarded(demo.load_demo, databases(), demo_directory(current),
                                 author=current_actor())
            except SegcoreError as exc:
                st.session_state[DEMO_CONFIRM] = False
                flash("error", str(exc))
                st.rerun()
        st.session_state[DEMO_CONFIRM] = False
        clear_caches()
        flash("success", f"Demo loaded: {result['batches']} batches, a team of {result['team']}, "
                         f"{result['uploads']} uploads.")
        st.rerun()
    if right.button("Cancel", key="demo_no"):
        st.session_state[DEMO_CONFIRM] = False
        st.rerun()


def masked(uri: str | None) -> str:
    return mask_uri(uri) if uri else "(embedded server)"


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


def report_change(result: batches.ChangeResult, what: str) -> None:
    """Queue the outcome of a batch write: saved count, conflicts (kept for display), failures."""
    if result.updated:
        flash("success", f"{what}: {len(result.updated)} batch(es) saved.")
    elif not (result.conflicts or result.missing or result.failed):
        flash("info", f"{what}: nothing to change.")
    if result.conflicts:
        st.session_state[SAVE_CONFLICTS] = [
            {"batch": c.batch_id, "field": c.field, "you saw": _shown(c.expected),
             "now": _shown(c.actual), "you wanted": _shown(c.wanted)} for c in result.conflicts]
        flash("warning", f"{len(result.conflicts)} change(s) were not saved: someone else changed "
                         "those batches meanwhile. They are listed below with both values.")
    if result.missing:
        flash("warning", f"Not found (deleted meanwhile?): {', '.join(result.missing[:20])}")
    for batch_id, reason in result.failed.items():
        flash("error", f"{batch_id} could not be saved: {reason}")


def _shown(value: object) -> str:
    return "(empty)" if value is None else str(value)


BALANCE_CONFIRM = "balance_confirm"


def _write(what: str, function, *args, **kwargs):
    """Run a write with a spinner; a refused input becomes a message, an outage stops the page."""
    try:
        with st.spinner(f"{what}…"):
            return guarded(function, *args, **kwargs)
    except SegcoreError as exc:
        show_error(exc)
        return None


def bulk_actions(databases: Databases, team_names: list[str], selected: list[str]) -> None:
    """Assign the selected or the next N pending batches, or spread pending work evenly."""
    st.subheader("Bulk actions")
    if not team_names:
        st.info("Add people on the Team page before assigning batches.")
        return
    actor = current_actor()
    left, middle, right = st.columns(3)
    with left.container(border=True):
        person = st.selectbox("Assign the ticked batches to", team_names, key="bulk_selected_to")
        if st.button(f"Assign {len(selected)} ticked", disabled=not selected,
                     key="bulk_selected"):
            result = _write("Assigning", batches.assign, databases.work, selected, person, actor)
            if result is not None:
                report_change(result, f"Assigned to {person}")
                refresh_batches()
                st.rerun()
    with middle.container(border=True):
        count = st.number_input("How many of the next unassigned pending batches", 1, 5000, 20,
                                key="bulk_next_count")
        person = st.selectbox("Assign them to", team_names, key="bulk_next_to")
        if st.button("Assign next pending", key="bulk_next"):
            ids = guarded(batches.next_pending_ids, databases.work, count)
            if not ids:
                st.info("There are no unassigned pending batches.")
            else:
                result = _write("Assigning", batches.assign, databases.work, ids, person, actor)
                if result is not None:
                    report_change(result, f"Next {len(ids)} pending to {person}")
                    refresh_batches()
                    st.rerun()
    with right.container(border=True):
        names = st.multiselect("Spread unassigned pending batches across", team_names,
                               default=team_names, key="bulk_balance_names")
        limit = st.number_input("At most this many batches", 1, 50_000, 200,
                                key="bulk_balance_limit")
        if st.button("Spread evenly…", disabled=not names, key="bulk_balance_ask"):
            st.session_state[BALANCE_CONFIRM] = True
        if st.session_state.get(BALANCE_CONFIRM):
            st.warning(f"Assign up to {limit} unassigned pending batches across {len(names)} "
                       "people, so their open workloads end up even?")
            yes, no = st.columns(2)
            if yes.button("Yes, assign", type="primary", key="bulk_balance_yes"):
                st.session_state[BALANCE_CONFIRM] = False
                given = _write("Spreading", batches.balance_pending, databases.work, names,
                               actor, limit=limit)
                if given is not None:
                    total = sum(given.values())
                    detail = ", ".join(f"{n}: {k}" for n, k in sorted(given.items()) if k)
                    flash("success" if total else "info",
                          f"Spread {total} pending batches" + (f" ({detail})." if detail else
                                                               " (none were unassigned)."))
                    refresh_batches()
                    st.rerun()
            if no.button("Cancel", key="bulk_balance_no"):
                st.session_state[BALANCE_CONFIRM] = False
                st.rerun()


# --- team -----------------------------------------------------------------------------------

@st.cache_data(ttl=READ_TTL_S, show_spinner=False)
def _open_workloads(key: str, names: tuple[str, ...]) -> dict[str, int]:
    return batches.open_workloads(databases().work, list(names))


def open_workloads(names: list[str]) -> dict[str, int]:
    return guarded(_open_workloads, db_key(), tuple(names))


def field_errors(exc: SegcoreError, slots: dict) -> None:
    """Show a validation error in the slot of the field that caused it (or the first one)."""
    slot = slots.get(getattr(exc, "field", None)) or next(iter(slots.values()))
    slot.error(str(exc))


@st.dialog("Remove from the team?")
def confirm_removal(databases: Databases, name: str, others: list[str]) -> None:
    """Ask what to do with the person's open batches, then remove them (or cancel)."""
    open_count = open_workloads([name]).get(name, 0)
    choice = "unassign"
    target = None
    if open_count:
        st.write(f"**{name}** holds **{open_count}** open batches (assigned, without masks).")
        options = ["unassign", "reassign"] if others else ["unassign"]
        choice = st.radio("What should happen to them?", options, key="remove_choice",
                          format_func={"unassign": "Leave them unassigned",
                                       "reassign": "Reassign them to…"}.get)
        if choice == "reassign":
            target = st.selectbox("Reassign to", others, key="remove_target")
    else:
        st.write(f"**{name}** holds no open batches.")
    slot = st.empty()
    yes, no = st.columns(2)
    if yes.button(f"Remove {name}", type="primary", key="remove_yes"):
        try:
            moved = guarded(team.remove_member, databases.work, name,
                            unassign=bool(open_count) and choice == "unassign",
                            reassign_to=target, author=current_actor())
        except SegcoreError as exc:
            slot.error(str(exc))
        else:
            st.session_state[REMOVE_TARGET] = None
            what = (f" and {moved} open batches went to {target}" if target else
                    f" and {moved} open batches are unassigned" if moved else "")
            flash("success", f"{name} was removed from the team{what}.")
            refresh_batches()
            st.rerun()
    if no.button("Cancel", key="remove_no"):
        st.session_state[REMOVE_TARGET] = None
        st.rerun()


# --- sync -----------------------------------------------------------------------------------

@st.cache_resource(show_spinner=False)
def _scheduler(key: str, _settings: Settings) -> SyncScheduler:
    def run() -> None:
        found = open_databases(_settings, client=connection().client)
        sync.run_sync(found, mode="scheduled", author=Actor("auto-sync"))
    # One per process and configuration: a second browser tab shares it.
    return SyncScheduler(run, minutes=_settings.auto_sync_minutes).start()


def scheduler() -> SyncScheduler:
    current = settings()
    return _scheduler(_key(current), current)


def sync_now(databases: Databases, full: bool) -> None:
    """Run a sync with a progress bar; keep its report in the session, then rerun."""
    bar = st.progress(0.0, text="Starting the sync…")
    try:
        with friendly_errors(_uri_or_none()):
            report = sync.run_sync(databases, full=full, mode="manual", author=current_actor(),
                                   progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0),
                                                                      text=m))
    except SyncAlreadyRunning as exc:
        bar.empty()
        st.warning(str(exc), icon=":material/hourglass_top:")
        return
    except _STOPPING as exc:
        bar.empty()
        fail(exc)
    except SegcoreError as exc:
        bar.empty()
        show_error(exc)
        return
    st.session_state[SYNC_LAST_REPORT] = report.as_dict(details=True)
    flash("success", f"Sync finished in {report.duration_s:.1f} s: {report.batches_updated} "
                     f"batches updated, {report.total_files} files.")
    refresh_batches()
    st.rerun()


# --- import ---------------------------------------------------------------------------------

IMPORT_RESULT = "import_result"


def run_import(databases: Databases, batches_file: str, data_directory: str,
               count_images: bool, slot) -> None:
    """Import the batch list with a progress bar; keep the summary for after the rerun.

    A problem with the sources (missing file, bad JSON) is shown in `slot`, next to the inputs.
    """
    file_path = Path(batches_file).expanduser() if batches_file.strip() else None
    directory = Path(data_directory).expanduser() if data_directory.strip() else None
    bar = st.progress(0.0, text="Reading the batch list…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Scanned {done} of {total} folders")

    try:
        with friendly_errors(_uri_or_none()):
            result = batch_import.import_from_sources(databases.work, file_path, directory,
                                                      current_actor(), count_images, progress)
    except _STOPPING as exc:
        bar.empty()
        fail(exc)
    except SegcoreError as exc:
        bar.empty()
        slot.error(str(exc))
        return
    st.session_state[IMPORT_RESULT] = asdict(result)
    flash("success", f"Import finished: {result.added} added, {result.updated} updated, "
                     f"{result.unchanged} unchanged, {len(result.flagged_missing)} flagged missing.")
    refresh_batches()
    st.rerun()
