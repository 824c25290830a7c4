"""Figures that follow new masks by themselves, and the live sync's status on the Sync page.

A fragment polls segcore's "last applied change" marker (one read by `_id`) every few seconds;
only when it moved are the cached reads dropped and the page rerun. Unsaved edits in the batch
table are never dropped for it: the table then waits, and says so, until they are saved or
discarded.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st
from pymongo.errors import PyMongoError

from segcore.errors import SegcoreError
from segcore.history import utcnow
from segcore.live_status import LiveStatus, describe_live, live_status, read_marker
from ui.connection import databases
from ui.state import BATCH_SNAPSHOT, LIVE_SEEN

POLL = "5s"


def _marker_count() -> int | None:
    """The marker's counter, or None when the database cannot say (the page says why)."""
    try:
        return read_marker(databases().work).count
    except (SegcoreError, PyMongoError):
        return None


@st.fragment(run_every=POLL)
def follow_new_masks(page: str, edits_pending: Callable[[], bool] = lambda: False) -> None:
    """Rerun `page` with fresh figures when a sync applied changes since it last looked."""
    count = _marker_count()
    seen = st.session_state[LIVE_SEEN]
    if count is None or seen.get(page) == count:
        return
    if page not in seen:  # the first look: the page is reading fresh figures anyway
        seen[page] = count
        return
    if edits_pending():
        st.caption(":material/update: New masks arrived: the table refreshes once your edits "
                   "are saved or discarded.")
        return
    seen[page] = count
    st.cache_data.clear()
    st.session_state[BATCH_SNAPSHOT] = None  # no edits pending: the table may reload
    st.rerun(scope="app")


def current_live_status() -> LiveStatus | None:
    """Whether a live sync runs (None when the database cannot say)."""
    try:
        return live_status(databases().work)
    except (SegcoreError, PyMongoError):
        return None


@st.fragment(run_every=POLL)
def live_caption() -> None:
    """"live: last change applied 3 s ago", kept current without rerunning the page."""
    status = current_live_status()
    if status is not None and status.running:
        since = f", since {status.since:%Y-%m-%d %H:%M} UTC" if status.since else ""
        st.caption(f":green[●] {describe_live(status, utcnow())} (`sync --watch` on "
                   f"{status.host or 'another host'}{since})")
    elif status is not None:
        st.caption(describe_live(status, utcnow()))
