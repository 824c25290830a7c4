"""Pages that follow new data by themselves, and the live sync's status on the Sync page.

A page calls `follow_changes` early: it notes the data version (`segcore.store.data_version`, read at
most once a second per process) of the topics it shows, and a fragment looks at it again every
few seconds, rerunning the page only when it moved: a sync applied new masks, or someone else
wrote. Cached reads are keyed by that version, so the rerun re-reads only what changed.
Unsaved edits in the batch table survive it: they are kept per batch id (`PENDING_EDITS`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

import streamlit as st
from pymongo.errors import PyMongoError

from segcore.core.errors import SegcoreError
from segcore.core.timefmt import utcnow
from segcore.sync.live.live_status import LiveStatus, live_status
from ui.app.connection import data_versions, databases
from ui.app.i18n import _, format_age, format_datetime
from ui.app.login import checked_fragment
from ui.app.state import LIVE_SEEN

POLL = timedelta(seconds=5)  # not "5s": Streamlit parses strings with pandas (slow import)


def _version(topics: tuple[str, ...]) -> tuple | None:
    """The data version of `topics`, or None when the database cannot say (the page says
    why)."""
    try:
        current = data_versions()
    except (SegcoreError, PyMongoError):
        return None
    return tuple(current[topic] for topic in topics)


def follow_changes(
    page: str, topics: tuple[str, ...], on_change: Callable[[], None] | None = None
) -> None:
    """Rerun `page` when the data of `topics` changed. `on_change` runs first in a run that
    sees a change (the batch table drops its snapshot, after its edits were kept by id)."""
    version = _version(topics)
    seen = st.session_state[LIVE_SEEN]
    if version is not None:
        if on_change is not None and page in seen and seen[page] != version:
            on_change()
        seen[page] = version
    _rerun_when_changed(page, topics)


@checked_fragment(run_every=POLL)
def _rerun_when_changed(page: str, topics: tuple[str, ...]) -> None:
    version = _version(topics)
    if version is not None and version != st.session_state[LIVE_SEEN].get(page):
        st.rerun(scope="app")


def current_live_status() -> LiveStatus | None:
    """Whether a live sync runs (None when the database cannot say)."""
    try:
        return live_status(databases().work)
    except (SegcoreError, PyMongoError):
        return None


def describe_live(status: LiveStatus, now: datetime) -> str:
    """ "live: last change applied 3 seconds ago" (or why it says nothing yet)."""
    if not status.running:
        return _("no live sync is running")
    if status.last_change_at is None:
        return _("live: running, no change applied yet")
    return _("live: last change applied {age}").format(age=format_age(now - status.last_change_at))


@checked_fragment(run_every=POLL)
def live_caption() -> None:
    """ "live: last change applied 3 seconds ago", kept current without rerunning the page."""
    status = current_live_status()
    if status is not None and status.running:
        text = (
            _(":green[●] {status} (`sync --watch` on {host}, since {since})")
            if status.since
            else _(":green[●] {status} (`sync --watch` on {host})")
        )
        st.caption(
            text.format(
                status=describe_live(status, utcnow()),
                host=status.host or _("another host"),
                since=format_datetime(status.since),
            )
        )
    elif status is not None:
        st.caption(describe_live(status, utcnow()))
