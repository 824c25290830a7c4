"""The browser's "Leave site? Changes you made may not be saved" while table edits are unsaved.

Unsaved edits live in the Streamlit session (`PENDING_EDITS`), which a reloaded or reopened tab
does not get back: they survive a sort, a filter or a visit to another page, not the tab. So
every page of a session holding some arms the browser's own `beforeunload` warning, with a few
lines of JavaScript run in the page itself (a `st.components.v2` component, no frame), and
disarms it (the component's cleanup) once they are saved or discarded.
"""

from __future__ import annotations

import streamlit as st

from segcore.work.batches import EDITABLE
from ui.app.state import PENDING_EDITS
from ui.batches.batch_grid import editor_changes

# The browser words the warning itself; a page can only ask for it (`preventDefault`).
_LEAVE_WARNING = st.components.v2.component(
    "segdash_leave_warning",
    js="""
export default function () {
  const warn = (event) => { event.preventDefault(); event.returnValue = ""; };
  window.addEventListener("beforeunload", warn);
  document.documentElement.dataset.leaveWarning = "armed";  // a state tests can wait for
  return () => {
    window.removeEventListener("beforeunload", warn);
    delete document.documentElement.dataset.leaveWarning;
  };
}
""",
)


def unsaved_table_edits() -> bool:
    """Whether the batch table holds edits not yet saved: those kept by batch id, or the
    shown editor's own (folded only later in the run that reports them). Ticks are not edits."""
    if st.session_state.get(PENDING_EDITS):
        return True
    return any(column in EDITABLE for row in editor_changes().values() for column in row)


def warn_before_leaving() -> None:
    """Arm the browser's warning before the tab is closed or reloaded while edits are unsaved;
    drawn by the entry point on every page (the edits outlive a visit to another page)."""
    if unsaved_table_edits():
        _LEAVE_WARNING(key="leave_warning")
