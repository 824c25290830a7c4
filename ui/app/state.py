"""Session-state keys as named constants, their defaults in one place, and who is acting.

Pages and widgets read and write `st.session_state[KEY]` with these names only, so a key is
spelled once and starts from a known default (`init_state`, called by the entry point and by
every page).
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from segcore.core.actors import Actor
from segcore.core.errors import SegcoreError
from ui.app.connection import settings

ACTOR = "actor"  # the logged-in user (an Actor), None with login off
LOGIN_AT = "login_at"  # when the session's login happened (UTC)
SESSION_TOKEN = "session_token"  # this login's token (its hash is in app_sessions)
NEW_COOKIE = "session_cookie"  # (token, expiry) the browser should keep, after a login
COOKIE_KEPT = "session_cookie_kept"  # the token the browser said it keeps (NEW_COOKIE's)
TRIED_TOKEN = "session_cookie_tried"  # the cookie's token, once tried: never looked up twice
FLASH = "flash_messages"  # messages that survive one st.rerun()
BATCH_SNAPSHOT = "batch_snapshot"  # the page of batches the editor shows
EDITOR_VERSION = "batch_editor_version"
SAVE_CONFLICTS = "batch_save_conflicts"
PENDING_EDITS = "batch_pending_edits"  # unsaved table edits, {batch id: {column: (old, new)}}
TICKED_SEEN = "batch_ticked_seen"  # the ticked rows as the table showed them, by batch id
SHOWN = "shown_values"  # {what: the values a form last drew}, see `as_drawn`
TEAM_FORM_SEEN = "team_form_seen"  # {member: {field: the stored value the edit form showed}}
TYPED = "typed_text"  # {field's key: what was typed (or chosen) there, not saved}, see `typed`
BALANCE_CONFIRM = "balance_confirm"  # the "spread evenly" question is open
REMOVE_TARGET = "team_remove_target"  # whose removal the confirmation dialog asks about
DEMO_CONFIRM = "demo_confirm"  # the "load demo data" dialog is open
DISCARD_CONFIRM = "discard_confirm"  # the "discard unsaved changes" dialog is open
SYNC_LAST_REPORT = "sync_last_report"
IMPORT_RESULT = "import_result"
MASK_LAST_REPORT = "mask_last_report"  # the last "Check masks" report, as plain data
IMPORT_PREVIEW = "import_preview"  # what an import would do, shown before it writes
OUTAGE_SHOWN = "outage_shown"  # the outage message already shown on this run
LANGUAGE_OF = "language_of"  # whose remembered language the session has loaded
LIVE_SEEN = "live_seen"  # {page: the data version it last showed}
LABEL_BASIS = "label_basis"  # {page: what its choices' labels were made from}
LANGUAGE_CHOICE = "language_choice"  # the sidebar's language selector
PAGE_ASKED = "page_asked"  # the page the browser asked for on the last full run
ARRIVED = "page_arrived"  # this run's page is another than the last run's
# Choices whose options are labelled in the session's language (filters, sort, order, ...):
# sent again to the browser when the language changes (`ui.app.widgets.relabel_choices`).
LABELLED_CHOICES = (
    "dash_who",
    "dash_status",
    "bf_who",
    "bf_status",
    "bf_masks",
    "bf_folder",
    "bf_check",
    "bf_sort",
    "bf_order",
    "bf_late",
    "bulk_status",
    "bulk_priority",
    "bulk_scope",
    "bulk_due",
    "remove_choice",
    "move_to",
)

_DEFAULTS = {
    ACTOR: None,
    LOGIN_AT: None,
    SESSION_TOKEN: None,
    NEW_COOKIE: None,
    COOKIE_KEPT: None,
    TRIED_TOKEN: None,
    FLASH: [],
    BATCH_SNAPSHOT: None,
    EDITOR_VERSION: 0,
    SAVE_CONFLICTS: [],
    BALANCE_CONFIRM: False,
    REMOVE_TARGET: None,
    DEMO_CONFIRM: False,
    DISCARD_CONFIRM: False,
    SYNC_LAST_REPORT: None,
    IMPORT_RESULT: None,
    MASK_LAST_REPORT: None,
    PENDING_EDITS: {},
    TICKED_SEEN: {},
    SHOWN: {},
    TEAM_FORM_SEEN: {},
    TYPED: {},
    IMPORT_PREVIEW: None,
    LIVE_SEEN: {},
    LABEL_BASIS: {},
    PAGE_ASKED: None,
    ARRIVED: False,
}


# Open questions (dialogs and inline confirmations) and the page that asks each: any other
# page forgets them, so going to Batches and back never reopens "Remove Pedro?".
DIALOG_PAGES = {
    REMOVE_TARGET: "Team",
    DEMO_CONFIRM: "Dashboard",
    BALANCE_CONFIRM: "Batches",
    DISCARD_CONFIRM: "Batches",
}


def forget(key: str) -> None:
    """Put `key` back to its default (a dialog closed in any way forgets what it asked)."""
    value = _DEFAULTS[key]
    st.session_state[key] = value.copy() if isinstance(value, list) else value


def forget_other_pages_dialogs(page: str) -> None:
    """On `page`, close every question another page had open."""
    for key, owner in DIALOG_PAGES.items():
        if owner != page:
            forget(key)


def init_state() -> None:
    """Give every key its default unless the session already holds it."""
    for key, value in _DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value.copy() if isinstance(value, (list, dict)) else value


def note_page_asked() -> None:
    """At the start of a full run, whether the browser asks for another page than last time.

    A sidebar click while a text box still holds typed text sends two requests: the other
    page, then (the box losing focus) the typed text for the page still shown, which wins.
    When the other page's run got as far as its navigation, the browser redraws the first
    page's widgets with their defaults while the session kept their values: the page then
    sends those values again (`ui.app.widgets.resend_choices`), so what is shown is what applies.
    """
    ctx = get_script_run_ctx(suppress_warning=True)
    asked = ctx.page_script_hash if ctx is not None else None
    st.session_state[ARRIVED] = st.session_state[PAGE_ASKED] != asked
    st.session_state[PAGE_ASKED] = asked


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


def as_drawn(what: str, now: dict) -> dict:
    """The values `what` was drawn with in the previous run, and keep `now` as drawn in this one.

    A click reruns the page, and that run may read newer data (someone else wrote): a
    compare-and-set must compare with what was on screen when the user clicked, which is what
    the previous run drew, never what the click's own run read.
    """
    shown = st.session_state.setdefault(SHOWN, {})
    before = shown.get(what)
    shown[what] = now
    return {} if before is None else before


def typed(key: str, default: object = "") -> dict:
    """The arguments of a form's field (`st.text_input(label, **typed("add_name"))`) whose
    value outlives a visit to another page, as the Batches table's unsaved edits do.

    Streamlit forgets a field's value in a run that does not draw it (any other page), and a
    field in an `st.form` sends what was typed only when the form is submitted: such fields
    are drawn outside forms, and each change is copied to `TYPED`, where the field takes it
    back from when it is drawn again. Until then the field shows `default`. Call before the
    field is drawn; `clear_typed` forgets the value once it is saved.
    """
    if key not in st.session_state:
        st.session_state[key] = st.session_state[TYPED].get(key, default)
    elif st.session_state[ARRIVED]:  # the browser drew this page's fields afresh, empty
        st.session_state[key] = st.session_state[key]  # (see `note_page_asked`)
    return {"key": key, "on_change": _note_typed, "args": (key, default)}


def _note_typed(key: str, default: object) -> None:
    if st.session_state[key] == default:  # as shown before typing: nothing to keep
        st.session_state[TYPED].pop(key, None)
    else:
        st.session_state[TYPED][key] = st.session_state[key]


def clear_typed(*keys: str) -> None:
    """Empty these text fields (what was typed is saved) and forget what was typed: call before
    they are drawn, as the browser sends back the text it shows and a value set first is
    drawn."""
    for key in keys:
        st.session_state[TYPED].pop(key, None)
        st.session_state[key] = ""
