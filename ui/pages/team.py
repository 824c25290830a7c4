"""Team: who is on it and their workload; add, edit and remove members."""

import streamlit as st

from segcore import progress, team
from ui import reads
from ui.actions import run_write
from ui.attention import pace_columns
from ui.connection import settings
from ui.state import can_write, current_actor
from ui.team_actions import (confirm_removal, former_holders, member_added, removal_target,
                             team_table)
from ui.widgets import page_start

databases = page_start("Team")
members = reads.members()
names = [m["name"] for m in members]
load = {p["segmentador"]: p for p in progress.per_segmentador(reads.progress_rows(), names)}
paces = {p.name: p for p in reads.current_alerts().people}

if members:
    st.dataframe([{**row, **pace_columns(paces.get(row["Name"]))}
                  for row in team_table(members, load)], hide_index=True)
    st.caption("*Last upload on their batches*: the newest upload on batches assigned to them, "
               "whoever made it. *Last upload by them*: the newest file they uploaded, on any "
               "batch (as of the last sync).")
    st.caption("Pace: batches delivered per working day over the last "
               f"{settings().pace_window_days} days. Projected finish: when their open "
               "batches would be done at that pace.")
else:
    st.info("Nobody is on the team yet: add the first segmentador below.")
former_holders(databases, [p for p in load.values() if not p["on_team"]], names, can_write())

if not can_write():
    st.stop()  # a viewer sees the team and its workload, and no editing controls
add, change = st.columns(2)
# Not cleared on submit: a refused entry keeps what was typed; member_added empties it.
with add.form("add_member", clear_on_submit=False, border=True):
    st.subheader("Add a segmentador")
    name = st.text_input("Name", key="add_name")
    slots = {"name": st.empty()}
    role = st.text_input("Role", placeholder=team.DEFAULT_ROLE, key="add_role")
    slots["role"] = st.empty()
    email = st.text_input("Email (optional)", key="add_email")
    slots["email"] = st.empty()
    if st.form_submit_button("Add", type="primary"):
        run_write("Adding", team.add_member, databases.work, name, role, email,
                  author=current_actor(), slot=slots, then=member_added)

with change.container(border=True):
    st.subheader("Edit or remove")
    if not members:
        st.caption("Add someone first.")
        st.stop()
    chosen = st.selectbox("Member", names, key="edit_who")
    member = next(m for m in members if m["name"] == chosen)
    with st.form("edit_member", border=False):
        role = st.text_input("Role", member["role"] or "", key=f"edit_role_{chosen}")
        slots = {"role": st.empty()}
        email = st.text_input("Email", member["email"] or "", key=f"edit_email_{chosen}")
        slots["email"] = st.empty()
        if st.form_submit_button("Save role and email"):
            run_write("Saving", team.edit_member, databases.work, chosen, role, email,
                      author=current_actor(), slot=slots, then=f"{chosen}'s details were saved.")
    asked = st.button(f"Remove {chosen}…", key="remove_ask", icon=":material/person_remove:")
target = removal_target(chosen, names, asked)
if target:
    confirm_removal(databases, target, [n for n in names if n != target],
                    load[target]["with_masks"])
