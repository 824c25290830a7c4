"""The sync page's "Sync now": a progress bar, then the report kept in the session."""

from __future__ import annotations

import streamlit as st

from segcore import sync
from segcore.connection import Databases
from ui.actions import run_write
from ui.state import SYNC_LAST_REPORT, current_actor


def _synced(report) -> str:
    st.session_state[SYNC_LAST_REPORT] = report.as_dict(details=True)
    return (f"Sync finished in {report.duration_s:.1f} s: {report.batches_updated} batches "
            f"updated, {report.total_files} files.")


def sync_now(databases: Databases, full: bool) -> None:
    """Run a sync with a progress bar; a failure (or a sync already running) replaces the bar."""
    slot = st.empty()
    bar = slot.progress(0.0, text="Starting the sync…")
    run_write("Syncing", sync.run_sync, databases, full=full, mode="manual",
              author=current_actor(), then=_synced, slot=slot,
              progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m))

