"""The login gate (LOGIN=on): a login lasts SESSION_MINUTES across reloads and new tabs.

A login creates a session (`segcore.team.sessions`) whose random token the browser keeps in a
cookie; a reload or a new tab sends the cookie, and the gate resumes the session from it.
Logging out, a password change or removing the user ends it server-side, so a cookie left
behind logs nobody in.

The cookie is read with Streamlit's own `st.context.cookies` (sent with the page request) and
written by a few lines of JavaScript run in the page itself (a `st.components.v2` component,
no frame), which then tell the app the browser keeps it: Streamlit has no API to set a cookie
(`st.login` is for OIDC providers only). Until then the page says "Logging in…", never that
the user is in: a reload at that moment would ask for the password again (as it did with a
component in a frame, extra-streamlit-components' CookieManager, which loads seconds later).
"""

from __future__ import annotations

import functools
from datetime import timezone
from email.utils import format_datetime

import streamlit as st
from pymongo.errors import PyMongoError
from streamlit.runtime.scriptrunner import get_script_run_ctx

from segcore.core.errors import SegcoreError
from segcore.core.timefmt import utcnow
from segcore.team import auth, sessions
from ui.app.actions import describe_error, flash, run_write
from ui.app.connection import databases, settings
from ui.app.i18n import N_, _, hide_form_enter_hint
from ui.app.labels import literal
from ui.app.state import (
    ACTOR,
    COOKIE_KEPT,
    LOGIN_AT,
    NEW_COOKIE,
    SESSION_TOKEN,
    TRIED_TOKEN,
    TYPED,
)

COOKIE = "segdash_session"
ROLES = {"coordinator": N_("coordinator"), "viewer": N_("viewer"), "segmentador": N_("segmentador")}


def cookie_token() -> str | None:
    """The session token the browser sent with this page's request, if any."""
    return st.context.cookies.get(COOKIE)


def resume_login() -> None:
    """With LOGIN=on, log the tab in from its cookie before anything is drawn: the first run
    after a reload or in a new tab then already knows the user (and so their language)."""
    try:
        login = settings().login
    except SegcoreError:
        return  # the page reports the configuration error itself
    if login and st.session_state.get(ACTOR) is None:
        _resume_from_cookie()


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
    if st.session_state.get(ACTOR) is None:
        _resume_from_cookie()
    actor, since = st.session_state.get(ACTOR), st.session_state.get(LOGIN_AT)
    expired = actor is not None and auth.session_expired(since, utcnow(), current.session_minutes)
    if actor is not None and not expired and not _still_valid():
        _forget_login()
        st.info(
            _(
                "Your session was ended (logged out elsewhere, a new password, or the user "
                "removed): please log in again."
            )
        )
        _login_form()
        return False
    actor = st.session_state.get(ACTOR)
    if actor is not None and not expired and not cookie_kept():
        # Nothing says the user is in before the browser keeps the cookie: a reload then
        # would ask for the password again. The keeper's answer reruns the page.
        st.title(_("Log in"))
        st.info(_("Logging in…"), icon=":material/hourglass_top:")
        return False
    if actor is not None and not expired:
        with st.sidebar:
            st.caption(
                _("Logged in as **{name}** ({role})").format(
                    name=literal(actor.name),
                    role=_(ROLES[actor.role]) if actor.role in ROLES else actor.role,
                )
            )
            if st.button(_("Log out"), key="logout", icon=":material/logout:"):
                token = _forget_login()
                run_write(_("Logging out"), sessions.end_session, databases().work, token)
        return True
    if actor is not None:
        _forget_login()
        st.info(_("Your session has expired: please log in again."))
    _login_form()
    return False


def checked_fragment(run_every=None):
    """@st.fragment whose every run first checks this tab's login, as `login_gate` does a full
    run's. A fragment's own rerun (typing or a click inside it, or its timer) skips the entry
    point and so the gate: a removed user, or one whose password changed, went on reading
    through it. On a session ended or expired, the whole app reruns, and the gate asks for a
    login."""

    def decorate(func):
        @functools.wraps(func)
        def checked(*args, **kwargs):
            if not _fragment_may_run():
                st.rerun(scope="app")
            return func(*args, **kwargs)

        return st.fragment(checked, run_every=run_every)

    return decorate


def _fragment_may_run() -> bool:
    """Whether this tab's login still holds, in a fragment's own rerun (a full run's gate has
    checked it: read once a run, not once per fragment)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None and not ctx.fragment_ids_this_run:
        return True
    try:
        current = settings()
    except SegcoreError:
        return True  # the full run reports the configuration error
    if not current.login:
        return True
    actor, since = st.session_state.get(ACTOR), st.session_state.get(LOGIN_AT)
    if actor is None or auth.session_expired(since, utcnow(), current.session_minutes):
        return False
    return _still_valid()


def _still_valid() -> bool:
    """Whether this tab's session still exists on the server, read on every run: `user
    passwd`, `user remove` and removing a member end sessions in every browser, and an open
    tab must not go on writing as that user. The role is read afresh too. An outage keeps
    the tab as it is (the page reports it)."""
    try:
        found = sessions.resume_session(databases().work, st.session_state.get(SESSION_TOKEN))
    except (SegcoreError, PyMongoError):
        return True
    if found is None:
        return False
    st.session_state[ACTOR] = found[0]
    return True


def _resume_from_cookie() -> None:
    """Log in from the cookie's session, trying each token once per browser session."""
    token = cookie_token()
    if not token or token == st.session_state.get(TRIED_TOKEN):
        return
    try:
        found = sessions.resume_session(databases().work, token)
    except (SegcoreError, PyMongoError) as exc:
        # Not marked as tried: once the database is back, the next run logs the tab in again
        # without asking for the password of a session that is still valid.
        st.error(describe_error(exc))
        return
    st.session_state[TRIED_TOKEN] = token
    if found:
        st.session_state[ACTOR], st.session_state[LOGIN_AT] = found
        st.session_state[SESSION_TOKEN] = token


# Runs in the page itself (no frame to load): stores the cookie, then tells the app it is
# kept, by the login's id, so the page says the user is in only once a reload would be too.
_COOKIE_KEEPER = st.components.v2.component(
    "segdash_cookie_keeper",
    js="""
export default function ({ data, setStateValue }) {
  document.cookie = data.cookie;
  const stored = document.cookie.split("; ").includes(data.pair);
  setStateValue(stored ? "kept" : "refused", data.login);
}
""",
)


def cookie_kept() -> bool:
    """After a login in this tab: have the browser keep the session's cookie until it expires,
    and say whether it has (the page waits for it before saying the user is in)."""
    pending = st.session_state.get(NEW_COOKIE)
    if not pending or st.session_state.get(COOKIE_KEPT) == pending[0]:
        return True
    token, expires = pending
    login = sessions.token_hash(token)[:16]  # names this login, not the secret itself
    answer = _COOKIE_KEEPER(
        data={"cookie": cookie_text(token, expires), "pair": f"{COOKIE}={token}", "login": login},
        key="cookie_keeper",
        default={"kept": None, "refused": None},
        on_kept_change=lambda: None,
        on_refused_change=lambda: None,
    )
    if getattr(answer, "refused", None) == login:
        # A browser that blocks cookies: let the user in, and say what a reload will do.
        flash(
            "warning",
            _(
                "This browser does not keep cookies for this site: a reload or a new tab "
                "will ask for the password again."
            ),
        )
    elif getattr(answer, "kept", None) != login:
        return False
    st.session_state[COOKIE_KEPT] = token
    return True


def cookie_text(token: str, expires) -> str:
    """The session cookie (SameSite=Strict, whole site) as `document.cookie` takes it."""
    when = format_datetime(expires.replace(tzinfo=timezone.utc), usegmt=True)
    return f"{COOKIE}={token}; path=/; SameSite=Strict; expires={when}"


def _forget_login() -> str | None:
    """Clear this tab's login; returns its session token (to end it server-side)."""
    token = st.session_state.get(SESSION_TOKEN)
    st.session_state[ACTOR] = st.session_state[LOGIN_AT] = None
    st.session_state[SESSION_TOKEN] = st.session_state[NEW_COOKIE] = None
    st.session_state[TYPED] = {}  # what they typed is not the next login's to see
    return token


def _log_in(name: str, password: str) -> None:
    # A write (failed attempts count towards a lockout), so it takes the write path.
    work, current = databases().work, settings()
    actor = auth.authenticate(work, name, password, zone=current.zone)
    now = utcnow()
    token, expires = sessions.start_session(work, actor, current.session_minutes, now)
    st.session_state[ACTOR], st.session_state[LOGIN_AT] = actor, now
    st.session_state[SESSION_TOKEN], st.session_state[NEW_COOKIE] = token, (token, expires)


def _login_form() -> None:
    st.title(_("Log in"))
    hide_form_enter_hint()
    with st.form("login", border=True):
        name = st.text_input(_("User name"), key="login_name")
        password = st.text_input(_("Password"), type="password", key="login_password")
        if st.form_submit_button(_("Log in"), type="primary"):
            run_write(_("Logging in"), _log_in, name, password)
