"""Suggested moves: at-risk batches, who would finish them soonest, and applying the ticked ones."""

import pandas as pd
import streamlit as st

from segcore import alerts
from ui import reads
from ui.actions import run_write
from ui.attention import describe_applied, moves_key
from ui.state import can_write, current_actor
from ui.widgets import page_start

databases = page_start("Suggested moves")
found = reads.current_alerts()
if not found.moves:
    st.info("Nothing to suggest: no batch at risk could be finished sooner by someone else."
            if found.at_risk else "No batch is at risk of missing its due date.")
else:
    st.caption("Each move hands an at-risk batch to whoever would finish it soonest after "
               "their own queue, at their recent pace. Tick the ones to apply.")
    table = pd.DataFrame([{"Apply": False, "Batch": m.id, "From": m.from_, "To": m.to,
                           "Due date": m.due_date, "Now reached": m.projected_before,
                           "Why": m.reason, "What it changes": m.change} for m in found.moves])
    if can_write():
        edited = st.data_editor(table, key=moves_key(found.moves), hide_index=True,
                                disabled=[c for c in table.columns if c != "Apply"],
                                column_config={"Apply": st.column_config.CheckboxColumn()})
        ticked = [m for m, tick in zip(found.moves, edited["Apply"]) if tick]
        if st.button(f"Apply ticked moves ({len(ticked)})", type="primary",
                     disabled=not ticked, key="apply_moves"):
            run_write("Applying moves", alerts.apply_moves, databases.work, ticked,
                      current_actor(), then=describe_applied)
    else:
        st.dataframe(table.drop(columns="Apply"), hide_index=True)

if found.at_risk:
    st.subheader("Batches at risk", anchor=False)
    st.dataframe([{"Batch": b.id, "Assignee": b.assignee, "Due date": b.due_date,
                   "Reached at current pace": b.projected, "Why": b.reason}
                  for b in found.at_risk], hide_index=True)
