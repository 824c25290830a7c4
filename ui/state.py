"""Session-state keys as named constants, their defaults in one place, and who is acting.

Pages and widgets read and write `st.session_state[KEY]` with these names only, so a key is
spelled once and starts from a known default (`init_state`, called by the entry point and by
every page).
"""

from __future__ import annotations

import streamlit as st

from segcore.actors import Actor
from segcore.errors import SegcoreError
from ui.connection import settings

ACTOR = "actor"                        # the logged-in user (an Actor), None with login off
LOGIN_AT = "login_at"                  # when the session's login happened (UTC)
FLASH = "flash_messages"               # messages that survive one st.rerun()
BATCH_SNAPSHOT = "batch_snapshot"      # the page of batches the editor shows
EDITOR_VERSION = "batch_editor_version"
SAVE_CONFLICTS = "batch_save_conflicts"
BALANCE_CONFIRM = "balance_confirm"    # the "spread evenly" question is open
REMOVE_TARGET = "team_remove_target"   # whose removal the confirmation dialog asks about
DEMO_CONFIRM = "demo_confirm"          # the "load demo data" dialog is open
SYNC_LAST_REPORT = "sync_last_report"
IMPORT_RESULT = "import_result"
LANGUAGE_OF = "language_of"            # whose remembered language the session has loaded

_DEFAULTS = {ACTOR: None, LOGIN_AT: None, FLASH: [], BATCH_SNAPSHOT: None, EDITOR_VERSION: 0,
             SAVE_CONFLICTS: [], BALANCE_CONFIRM: False, REMOVE_TARGET: None,
             DEMO_CONFIRM: False, SYNC_LAST_REPORT: None, IMPORT_RESULT: None}


def init_state() -> None:
    """Give every key its default unless the session already holds it."""
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
