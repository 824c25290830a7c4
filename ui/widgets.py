"""Widgets more than one page (or the entry point) shows: the start of every page, the login
gate, the sidebar's connection status and the demo banner.

Widgets used by one page live with that page (`ui/batch_actions.py`, `ui/team_actions.py`,
`ui/sync_actions.py`, `ui/dashboard_demo.py`, or the page script itself).
"""

from __future__ import annotations

import streamlit as st
from pymongo.errors import PyMongoError

from segcore import auth
from segcore.connection import Databases
from segcore.errors import SegcoreError
from segcore.history import utcnow
from ui import i18n, reads
from ui.actions import describe_error, guarded, run_write, show_flash
from ui.connection import databases, prepare_warnings, settings
from ui.state import ACTOR, LANGUAGE_OF, LOGIN_AT, init_state

STATUS_REFRESH = "20s"


def language_selector() -> None:
    """Sidebar choice of the interface language; remembered for the user when login is on."""
    actor = st.session_state.get(ACTOR)
    if actor is not None and st.session_state.get(LANGUAGE_OF) != actor.name:
        # Just logged in: the user's own choice, if they made one, replaces the session's.
        st.session_state[LANGUAGE_OF] = actor.name
        stored = guarded(auth.user_language, databases().work, actor.name)
        if stored in i18n.LANGUAGES:
            st.session_state[i18n.STATE_KEY] = stored
    remembered = i18n.current_language()
    st.session_state[i18n.STATE_KEY] = remembered

    def chosen() -> None:
        st.session_state[i18n.STATE_KEY] = st.session_state["language_choice"]
        if st.session_state.get(ACTOR) is not None:
            guarded(auth.set_language, databases().work, st.session_state[ACTOR].name,
                    st.session_state[i18n.STATE_KEY])

    codes = list(i18n.LANGUAGES)
    st.selectbox(":material/translate: " + i18n._("Language"), codes,
                 index=codes.index(remembered), format_func=i18n.LANGUAGES.get,
                 key="language_choice", on_change=chosen)


def page_start(title: str) -> Databases:
    """Title, queued messages, and the prepared databases (or a message and a retry)."""
    init_state()
    st.title(title)
    show_flash()
    found = guarded(databases)
    for warning in prepare_warnings():
        st.warning(warning)
    return found


@st.fragment(run_every=STATUS_REFRESH)
def connection_status() -> None:
    """Sidebar panel: both databases' status, refreshed on its own without rerunning the page."""
    st.caption("Connection")
    try:
        rows = reads.health()
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
    state, _problem = reads.demo_state.or_problem()  # the page itself reports an outage
    if state and state["is_demo"]:
        st.warning("**Demo data.** Everything shown here is made up; load your own batch list "
                   "from the Settings page once you point the app at real data.",
                   icon=":material/science:")


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


def _log_in(name: str, password: str) -> None:
    # A write (failed attempts count towards a lockout), so it takes the write path.
    actor = auth.authenticate(databases().work, name, password)
    st.session_state[ACTOR], st.session_state[LOGIN_AT] = actor, utcnow()


def _login_form() -> None:
    st.title("Log in")
    with st.form("login", border=True):
        name = st.text_input("User name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        if st.form_submit_button("Log in", type="primary"):
            run_write("Logging in", _log_in, name, password)
