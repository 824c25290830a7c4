"""The Dashboard's "Attention" panel: stalled people and at-risk batches, only when there are any."""

from __future__ import annotations

import hashlib

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from segcore.report.pace import Alerts
from ui import late
from ui.actions import flash
from ui.i18n import N_, _, format_date, ngettext

SHOWN = 5  # the panel names a few; the suggestions page lists them all


def _names(items: list[str]) -> str:
    more = (" " + _("and {count} more").format(count=len(items) - SHOWN)
            if len(items) > SHOWN else "")
    return ", ".join(items[:SHOWN]) + more


def attention_panel(found: Alerts) -> None:
    """Say what needs the coordinator's attention; nothing at all when nothing does."""
    if not found.any:
        return
    with st.container(border=True):
        st.subheader(_("Attention"), anchor=False)
        if found.stalled:
            st.markdown(":orange[**" + ngettext("{count} stalled", "{count} stalled",
                                                len(found.stalled)).format(
                count=len(found.stalled)) + "**] " +
                _("(open batches, no delivery for a while):") + " " + _names([
                    _("{name} ({days} days)").format(name=p.name, days=p.days_since)
                    if p.days_since is not None
                    else _("{name} (never delivered)").format(name=p.name)
                    for p in found.stalled]))
            late.links("stalled", [(p.name, {"who": p.name}) for p in found.stalled[:SHOWN]],
                       _("All batches of stalled people"))
        if found.at_risk:
            st.markdown(":red[**" + ngettext("{count} batch at risk", "{count} batches at risk",
                                             len(found.at_risk)).format(
                count=len(found.at_risk)) + "**] " + _("of missing their due date:") + " " +
                _names([f"{b.id} ({b.assignee})" for b in found.at_risk]))
            late.links("at_risk", [(b.id, {"batch": b.id}) for b in found.at_risk[:SHOWN]],
                       _("All batches at risk"))
        if found.moves:
            label = ngettext("{count} suggested move: review and apply it",
                             "{count} suggested moves: review and apply them",
                             len(found.moves)).format(count=len(found.moves))
            try:
                st.page_link("ui/pages/moves.py", icon=":material/swap_horiz:", label=label)
            except StreamlitPageNotFoundError:
                # The page script run on its own (page tests, benchmarks): no navigation to
                # link into, so name the page instead.
                st.markdown(_("{label} on the **Suggested moves** page.").format(label=label))


def moves_key(moves: list) -> str:
    """The editor key for this exact list of moves: when the suggestions change (a sync, an
    edit elsewhere), the ticks start again instead of landing on other batches."""
    fingerprint = hashlib.sha1(repr([(m.id, m.from_, m.to) for m in moves]).encode())
    return f"moves_editor_{fingerprint.hexdigest()[:12]}"


MOVES_NAMED = 20  # a success names this many moves; the history has every one


def describe_applied(result, moves: list) -> None:
    """Queue what applying `moves` did: which batch went to whom, and each one left alone."""
    done = set(result.updated)
    named = [_("{batch} from {old} to {new}").format(batch=m.id, old=m.from_, new=m.to)
             for m in moves if m.id in done]
    text = ngettext("{count} batch moved", "{count} batches moved",
                    len(result.updated)).format(count=len(result.updated))
    if named:
        text += ": " + "; ".join(named[:MOVES_NAMED]) + (
            " " + _("and {count} more").format(count=len(named) - MOVES_NAMED)
            if len(named) > MOVES_NAMED else "")
    flash("success", text + ".")
    for conflict in result.conflicts:
        flash("warning", _("Not moved, changed meanwhile: {what}").format(
            what=conflict.describe()))
    for batch_id, why in result.failed.items():
        flash("warning", _("Not moved: {batch}: {why}").format(batch=batch_id, why=why))
    for batch_id in result.missing:
        flash("warning", _("Not moved: {batch} is no longer in the batch list").format(
            batch=batch_id))


PACE_COLUMNS = (N_("Pace / day"), N_("Last delivery"), N_("Projected finish"), N_("Stalled"))


def pace_columns(person) -> dict:
    """The Team table's pace columns for one person (a `PersonPace`, or None), headed in the
    session's language."""
    # Dates worded as the Dashboard words them (one figure, one form); blanks, never "None".
    values = ((0.0, "", "", "") if person is None else
              (person.pace, format_date(person.last_delivery),
               format_date(person.projected_finish) or (_("never at this pace")
                                                        if person.open else ""),
               "⚠ " + _("stalled") if person.stalled else ""))
    return {_(header): value for header, value in zip(PACE_COLUMNS, values)}
