"""Who is late: the Batches page's "Late" filter and the links into it.

The Attention panel links each name and batch it lists to the Batches page filtered to them
(`?late=stalled&who=Flor`, `?late=at_risk&batch=batch_12`). A link's filters are applied once
per link (a later change of a filter by hand is not undone by the next run), so a link opened
in a new tab or after a reload shows the same view. A link's person is matched as the team
matches names (`?who=flor` is Flor); one who matches nobody is said, never dropped silently.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from segcore.report import alerts
from segcore.work.holders import option_for
from ui.app import reads
from ui.app.i18n import _
from ui.app.labels import literal

BATCHES_PAGE = "ui/pages/batches.py"
LINK_KEYS = ("late", "who", "batch")
APPLIED = "late_link_applied"  # the link whose filters this session applied last
UNKNOWN_WHO = "late_link_unknown_who"  # the link's person who matched none of the choices
# The Batches page's other filters and their "any" values: a link starts from a clean view.
CLEARED = {
    "bf_status": "All",
    "bf_masks": "Any",
    "bf_folder": "All",
    "bf_check": "All",
    "bf_who": "All",
    "bf_text": "",
}


def apply_link_filters(people: list[str]) -> None:
    """Before the filters are drawn: set them from the page's query parameters, once per link.

    `people`: the Segmentador filter's choices. A `who` that names none of them leaves the
    filter on "All" and says so, as long as the link is open and the filter untouched."""
    wanted = {key: st.query_params.get(key) for key in LINK_KEYS if st.query_params.get(key)}
    if wanted and wanted != st.session_state.get(APPLIED):
        st.session_state[APPLIED] = wanted
        st.session_state.update(CLEARED)
        st.session_state["bf_late"] = (
            wanted.get("late") if wanted.get("late") in alerts.LATE_KINDS else "All"
        )
        st.session_state[UNKNOWN_WHO] = None
        if wanted.get("who"):
            chosen = option_for(wanted["who"], people)
            st.session_state["bf_who"] = chosen or "All"
            st.session_state[UNKNOWN_WHO] = None if chosen else wanted["who"]
        if wanted.get("batch"):
            st.session_state["bf_text"] = wanted["batch"]
        st.session_state["batch_page"] = 1
    unknown = st.session_state.get(UNKNOWN_WHO)
    if unknown and wanted and st.session_state.get("bf_who") == "All":
        st.warning(
            _("No one named '{name}' in the list: showing everyone.").format(name=literal(unknown)),
            icon=":material/person_off:",
        )


def late_ids(kind: str) -> frozenset[str] | None:
    """The ids the "Late" filter keeps (None: no such filter)."""
    if kind not in alerts.LATE_KINDS:
        return None
    return alerts.late_ids(reads.current_alerts(), reads.progress_rows(), kind)


def link(label: str, **params: str) -> None:
    """A link to the Batches page with `params` as its query; plain text where the page runs
    without navigation (a page script run on its own)."""
    try:
        st.page_link(BATCHES_PAGE, label=label, query_params=params, icon=":material/filter_alt:")
    except StreamlitPageNotFoundError:
        st.markdown(label)


def links(kind: str, named: list[tuple[str, dict]], all_label: str) -> None:
    """A row of links: each named person or batch, then everything late in that way."""
    with st.container(horizontal=True, gap="small"):
        for label, params in named:
            link(label, late=kind, **params)
        link(all_label, late=kind)
