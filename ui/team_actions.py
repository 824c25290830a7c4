"""The team page's removal dialog: what happens to the person's open batches, then remove."""

from __future__ import annotations

import streamlit as st

from segcore import handover
from segcore.batches import ChangeResult
from segcore.connection import Databases
from ui import reads
from ui.actions import flash, run_write
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


def former_holders(databases: Databases, people: list[dict], names: list[str],
                   writable: bool) -> None:
    """People not on the team who still hold batches, and (for a coordinator) a way to move
    their open batches to a member or leave them unassigned."""
    if not people:
        return
    st.subheader("Not on the team, still holding batches")
    st.dataframe([{"Name": p["segmentador"], "Assigned": p["assigned"],
                   "With masks": p["with_masks"], "Open (no masks yet)": p["without_masks"]}
                  for p in people], hide_index=True)
    movable = [p["segmentador"] for p in people if p["without_masks"]]
    if not writable or not movable:
        return
    with st.container(border=True):
        who, to = st.columns(2)
        former = who.selectbox("Move the open batches of", movable, key="move_from")
        target = to.selectbox("To", [None, *names], key="move_to",
                              format_func=lambda n: "(leave unassigned)" if n is None else n)
        slot = st.empty()
        if st.button(f"Move {former}'s open batches", key="move_former"):
            def moved(result: ChangeResult) -> str:
                if result.conflicts:
                    flash("warning", f"{len(result.conflicts)} batch(es) changed meanwhile and "
                                     "were left as they are.")
                where = f"to {target}" if target else "to nobody (unassigned)"
                return f"{len(result.updated)} open batch(es) of {former} moved {where}."
            run_write("Moving", handover.move_open_batches, databases.work, former, target,
                      author=current_actor(), then=moved, slot=slot)
