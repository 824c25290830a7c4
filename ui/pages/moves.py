"""Suggested moves: at-risk batches, who would finish them soonest, and applying the ticked ones."""

import pandas as pd
import streamlit as st

from segcore.report import alerts
from ui.app import reads
from ui.app.actions import run_write
from ui.app.connection import settings
from ui.app.i18n import N_, _, format_date, word
from ui.app.labels import literal
from ui.app.state import can_write, current_actor
from ui.app.widgets import page_start
from ui.dashboard.attention import (
    NO_SYNC_YET,
    describe_applied,
    is_ticked,
    note_ticked,
    sync_note,
    ticks_for,
)


def reached(day) -> str:
    """When the holder reaches a batch at their pace; "never" in words, not "None"."""
    return format_date(day) if day else _("never at this pace")


databases = page_start(N_("Suggested moves"))
found = reads.current_alerts()
if found.waiting_for_sync:
    st.info(_(NO_SYNC_YET), icon=":material/update:")
    st.stop()
if found.stale:
    st.warning(
        _(
            "These figures rest on the last sync, which is old: deliveries since then are "
            "not counted. Run a sync first."
        )
        + sync_note(found),
        icon=":material/update:",
    )
if not found.moves:
    st.info(
        _("Nothing to suggest: no batch at risk could be finished sooner by someone else.")
        if found.at_risk
        else _("No batch is at risk of missing its due date.")
    )
else:
    st.caption(
        _(
            "Each move hands an at-risk batch to whoever would finish it soonest after "
            "their own queue, at their recent pace. Tick the ones to apply."
        )
    )
    # Ticks made on a list that changed since (an edit elsewhere, a sync): a click made there
    # applies them as shown (compare-and-set reports what changed); else those still
    # suggested alike start ticked in the new list and the others are named.
    ticks = ticks_for(found.moves)
    # Columns keep machine names (the ticks are read back by name); headers are translated.
    table = pd.DataFrame(
        [
            {
                "apply": is_ticked(ticks, m),
                "batch": m.id,
                "from": m.from_,
                "to": m.to,
                "due_date": format_date(m.due_date),
                "reached": reached(m.projected_before),
                "why": word(m.reason),
                "change": word(m.change),
            }
            for m in found.moves
        ]
    )
    headers = {"apply": st.column_config.CheckboxColumn(_("Apply"))} | {
        column: st.column_config.Column(_(title))
        for column, title in (
            ("batch", N_("Batch")),
            ("from", N_("From")),
            ("to", N_("To")),
            ("due_date", N_("Due date")),
            ("reached", N_("Now reached")),
            ("why", N_("Why")),
            ("change", N_("What it changes")),
        )
    }
    if can_write():
        if ticks.unticked:
            st.warning(
                _(
                    "The suggestions changed after you ticked them: {batches} no longer "
                    "suggested as shown, so not ticked. Tick again what you want to apply."
                ).format(batches=", ".join(literal(b) for b in ticks.unticked))
            )
        edited = st.data_editor(
            table,
            key=ticks.key,
            hide_index=True,
            disabled=[c for c in table.columns if c != "apply"],
            column_config=headers,
        )
        ticked = [m for m, tick in zip(found.moves, edited["apply"]) if tick]
        note_ticked(ticks, ticked)
        chosen = ticks.earlier or ticked  # a click on the earlier list applies what it showed
        if st.button(
            _("Apply ticked moves ({count})").format(count=len(ticked)),
            type="primary",
            disabled=not chosen,
            key="apply_moves",
        ):
            run_write(
                _("Applying moves"),
                alerts.apply_moves,
                databases.work,
                chosen,
                current_actor(),
                zone=settings().zone,
                then=lambda result: describe_applied(result, chosen),
            )
    else:
        st.dataframe(table.drop(columns="apply"), hide_index=True, column_config=headers)

if found.at_risk:
    st.subheader(_("Batches at risk"), anchor=False)
    st.dataframe(
        [
            {
                _("Batch"): b.id,
                _("Assignee"): b.assignee,
                _("Due date"): format_date(b.due_date),
                _("Reached at current pace"): reached(b.projected),
                _("Why"): word(b.reason),
            }
            for b in found.at_risk
        ],
        hide_index=True,
    )
