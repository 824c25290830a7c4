"""Widgets the pages share: connection status, demo banner and offer, bulk actions, dialogs.

They render with Streamlit and call segcore; caching, session keys and error handling come from
`app_support`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import streamlit as st
from pymongo.errors import PyMongoError

from app_support import (ACTOR, LOGIN_AT, DEMO_CONFIRM, IMPORT_RESULT, REMOVE_TARGET,
                         SAVE_CONFLICTS, STATUS_REFRESH, STOPPING_ERRORS, SYNC_LAST_REPORT,
                         clear_caches, current_actor, databases, demo_state,
                         demo_state_or_problem, describe_error, fail, flash, guarded, health,
                         open_workloads, refresh_batches, settings, show_error, uri_or_none)
from segcore import auth, batch_import, batches, demo, sync, team
from segcore.config import Settings
from segcore.connection import Databases, friendly_errors
from segcore.errors import AccountLocked, LoginFailed, SegcoreError, SyncAlreadyRunning
from segcore.history import utcnow


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
    state, _problem = demo_state_or_problem()  # an outage is reported by the page itself
    if state and state["is_demo"]:
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

def sync_now(databases: Databases, full: bool) -> None:
    """Run a sync with a progress bar; keep its report in the session, then rerun."""
    bar = st.progress(0.0, text="Starting the sync…")
    try:
        with friendly_errors(uri_or_none()):
            report = sync.run_sync(databases, full=full, mode="manual", author=current_actor(),
                                   progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0),
                                                                      text=m))
    except SyncAlreadyRunning as exc:
        bar.empty()
        st.warning(str(exc), icon=":material/hourglass_top:")
        return
    except STOPPING_ERRORS as exc:
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
        with friendly_errors(uri_or_none()):
            result = batch_import.import_from_sources(databases.work, file_path, directory,
                                                      current_actor(), count_images, progress)
    except STOPPING_ERRORS as exc:
        bar.empty()
        fail(exc)
    except SegcoreError as exc:
        bar.empty()
        slot.error(str(exc))
        return
    st.session_state[IMPORT_RESULT] = asdict(result)
    flash("success", f"Import finished: {result.added} added, {result.updated} updated, "
                     f"{result.unchanged} unchanged, {len(result.flagged_missing)} flagged "
                     "missing." + (f" {len(result.refused)} refused (not a folder name): " +
                                   ", ".join(f"{k!r}: {v}" for k, v in
                                             list(result.refused.items())[:5])
                                   if result.refused else ""))
    refresh_batches()
    st.rerun()


# --- login ----------------------------------------------------------------------------------

def login_gate() -> bool:
    """With LOGIN=on, show the login form until a valid user is in; True when the app may run.

    Sessions expire after SESSION_MINUTES; the sidebar shows who is logged in and a logout.
    """
    try:
        current = settings()
    except SegcoreError:
        return True  # the page reports the configuration error itself
    if not current.login:
        st.session_state[ACTOR] = None
        return True
    actor, since = st.session_state.get(ACTOR), st.session_state.get(LOGIN_AT)
    if actor is not None and not auth.session_expired(since, utcnow(), current.session_minutes):
        with st.sidebar:
            st.caption(f"Logged in as **{actor.name}** ({actor.role})")
            if st.button("Log out", key="logout", icon=":material/logout:"):
                st.session_state[ACTOR] = st.session_state[LOGIN_AT] = None
                st.rerun()
        return True
    if actor is not None:
        st.session_state[ACTOR] = st.session_state[LOGIN_AT] = None
        st.info("Your session has expired: please log in again.")
    _login_form()
    return False


def _login_form() -> None:
    st.title("Log in")
    with st.form("login", border=True):
        name = st.text_input("User name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        if st.form_submit_button("Log in", type="primary"):
            try:
                actor = guarded(auth.authenticate, databases().work, name, password)
            except (LoginFailed, AccountLocked) as exc:
                st.error(str(exc))
            except SegcoreError as exc:
                show_error(exc)
            else:
                st.session_state[ACTOR], st.session_state[LOGIN_AT] = actor, utcnow()
                st.rerun()
