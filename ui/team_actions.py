"""The team page's removal dialog: what happens to the person's open batches, then remove."""

from __future__ import annotations

import streamlit as st

from segcore import handover
from segcore.connection import Databases
from ui import reads
from ui.actions import run_write
from ui.state import REMOVE_TARGET, current_actor


@st.dialog("Remove from the team?")
def confirm_removal(databases: Databases, name: str, others: list[str]) -> None:
    """Ask what to do with the person's open batches, then remove them (or cancel)."""
    open_count = reads.open_workloads((name,)).get(name, 0)
    choice, target = "unassign", None
    if open_count:
        st.write(f"**{name}** holds **{open_count}** open batches (assigned, without masks).")
        options = ["unassign", "reassign"] if others else ["unassign"]
        choice = st.radio("What should happen to them?", options, key="remove_choice",
                          format_func={"unassign": "Leave them unassigned",
                                       "reassign": "Reassign them to…"}.get)
        if choice == "reassign":
            target = st.selectbox("Reassign to", others, key="remove_target")
    else:
        st.write(f"**{name}** holds no open batches.")
    slot = st.empty()
    yes, no = st.columns(2)
    if yes.button(f"Remove {name}", type="primary", key="remove_yes"):
        def removed(moved: int) -> str:
            st.session_state[REMOVE_TARGET] = None
            what = (f" and {moved} open batches went to {target}" if target else
                    f" and {moved} open batches are unassigned" if moved else "")
            return f"{name} was removed from the team{what}."
        run_write("Removing", handover.remove_member, databases.work, name,
                  unassign=bool(open_count) and choice == "unassign", reassign_to=target,
                  author=current_actor(), then=removed, slot=slot)
    if no.button("Cancel", key="remove_no"):
        st.session_state[REMOVE_TARGET] = None
        st.rerun()
