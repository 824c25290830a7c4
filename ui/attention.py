"""The Dashboard's "Attention" panel: stalled people and at-risk batches, only when there are any."""

from __future__ import annotations

import hashlib

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from segcore.pace import Alerts
from ui.actions import flash

SHOWN = 5  # the panel names a few; the suggestions page lists them all


def _names(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def attention_panel(found: Alerts) -> None:
    """Say what needs the coordinator's attention; nothing at all when nothing does."""
    if not found.any:
        return
    with st.container(border=True):
        st.subheader("Attention", anchor=False)
        if found.stalled:
            st.markdown(f":orange[**{len(found.stalled)} stalled**] (open batches, no delivery "
                        f"for a while): " + _names([
                            f"{p.name} ({p.days_since} days)" if p.days_since is not None
                            else f"{p.name} (never delivered)" for p in found.stalled]))
        if found.at_risk:
            st.markdown(f":red[**{len(found.at_risk)} batches at risk**] of missing their due "
                        f"date: " + _names([f"{b.id} ({b.assignee})" for b in found.at_risk]))
        if found.moves:
            label = f"{len(found.moves)} suggested moves: review and apply them"
            try:
                st.page_link("ui/pages/moves.py", icon=":material/swap_horiz:", label=label)
            except StreamlitPageNotFoundError:
                # The page script run on its own (page tests, benchmarks): no navigation to
                # link into, so name the page instead.
                st.markdown(f"{label} on the **Suggested moves** page.")


def moves_key(moves: list) -> str:
    """The editor key for this exact list of moves: when the suggestions change (a sync, an
    edit elsewhere), the ticks start again instead of landing on other batches."""
    fingerprint = hashlib.sha1(repr([(m.id, m.from_, m.to) for m in moves]).encode())
    return f"moves_editor_{fingerprint.hexdigest()[:12]}"


def describe_applied(result) -> None:
    """Queue what applying moves did: how many moved, and each batch that was left alone."""
    flash("success", f"{len(result.updated)} batches moved.")
    for conflict in result.conflicts:
        flash("warning", f"Not moved, changed meanwhile: {conflict.describe()}")
    for batch_id, why in result.failed.items():
        flash("warning", f"Not moved: {batch_id}: {why}")
    for batch_id in result.missing:
        flash("warning", f"Not moved: {batch_id} is no longer in the batch list")


def pace_columns(person) -> dict:
    """The Team table's pace columns for one person (a `PersonPace`, or None)."""
    if person is None:
        return {"Pace / day": 0.0, "Last delivery": None, "Projected finish": None, "Stalled": ""}
    return {"Pace / day": person.pace, "Last delivery": person.last_delivery,
            "Projected finish": person.projected_finish,
            "Stalled": "⚠ stalled" if person.stalled else ""}
