"""The team page's table and removal dialog.

The dialog always names the member selected now: it opens only for them, and closing it in
any way (Cancel, the ×, Esc, choosing someone else, leaving the page) forgets it.
"""

from __future__ import annotations

from datetime import date, datetime

import streamlit as st

from segcore import handover
from segcore.batches import ChangeResult
from segcore.connection import Databases
from segcore.naming import person_key
from segcore.timefmt import office_time
from ui import reads
from ui.actions import flash, run_write
from ui.connection import settings
from ui.state import REMOVE_TARGET, current_actor, forget

ADD_FIELDS = ("add_name", "add_role", "add_email")


def _when(value: object) -> str:
    """A stored time in the office's zone; a legacy date as it is; blank when unknown."""
    if isinstance(value, datetime):
        return office_time(value, settings().zone)
    return value.isoformat() if isinstance(value, date) else ""


def team_table(members: list[dict], load: dict[str, dict]) -> list[dict]:
    """One row per member: their workload, and both "last upload" figures, labelled apart.

    "On their batches" is the newest upload on batches assigned to them, whoever uploaded it;
    "by them" the newest upload they made, on any batch (from the last sync, no GridFS read).
    """
    activity = reads.uploader_activity()
    rows = []
    for member in members:
        mine = load[member["name"]]
        theirs = activity.get(person_key(member["name"])) or {}
        rows.append({"Name": member["name"], "Role": member["role"],
                     "Email": member["email"] or "", "Assigned": mine["assigned"],
                     "With masks": mine["with_masks"], "Without masks": mine["without_masks"],
                     "Last upload on their batches": _when(mine["last_upload"]),
                     "Last upload by them": _when(theirs.get("latest")),
                     "Files uploaded by them": theirs.get("files", 0)})
    return rows


def member_added(added) -> str:
    """After a successful add only: empty the form (a refused one keeps what was typed)."""
    for key in ADD_FIELDS:
        st.session_state.pop(key, None)
    return f"{added.name} was added to the team."


def removal_target(chosen: str, names: list[str], asked: bool) -> str | None:
    """Whose removal to ask about on this run: the member selected now, or nobody."""
    if asked:
        st.session_state[REMOVE_TARGET] = chosen
    target = st.session_state.get(REMOVE_TARGET)
    if target != chosen or target not in names:
        forget(REMOVE_TARGET)  # another member was selected since: never ask about the old one
        return None
    return target


@st.dialog("Remove from the team?", on_dismiss=lambda: forget(REMOVE_TARGET))
def confirm_removal(databases: Databases, name: str, others: list[str],
                    with_masks: int) -> None:
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
    if with_masks:
        st.write(f"**{with_masks}** of {name}'s batches already have masks: they stay "
                 f"assigned to {name}, so the record shows who segmented them.")
    slot = st.empty()
    yes, no = st.columns(2)
    if yes.button(f"Remove {name}", type="primary", key="remove_yes"):
        def removed(moved: int) -> str:
            forget(REMOVE_TARGET)
            what = (f" and {moved} open batches went to {target}" if target else
                    f" and {moved} open batches are unassigned" if moved else "")
            return f"{name} was removed from the team{what}."
        run_write("Removing", handover.remove_member, databases.work, name,
                  unassign=bool(open_count) and choice == "unassign", reassign_to=target,
                  author=current_actor(), then=removed, slot=slot)
    if no.button("Cancel", key="remove_no"):
        forget(REMOVE_TARGET)
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
