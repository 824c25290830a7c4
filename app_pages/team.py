"""Team: who is on it and their workload; add, edit and remove members."""

import streamlit as st

import app_support as ui
import app_widgets as widgets
from segcore import progress, team
from segcore.errors import SegcoreError

databases = ui.page_start("Team")
members = ui.members()
names = [m["name"] for m in members]
load = {p["segmentador"]: p for p in progress.per_segmentador(ui.progress_rows(), names)}

if members:
    st.dataframe([{"Name": m["name"], "Role": m["role"], "Email": m["email"] or "",
                   "Assigned": load[m["name"]]["assigned"],
                   "With masks": load[m["name"]]["with_masks"],
                   "Pending": load[m["name"]]["without_masks"],
                   "Last upload": load[m["name"]]["last_upload"]} for m in members],
                 hide_index=True)
else:
    st.info("Nobody is on the team yet: add the first segmentador below.")
former = [p["segmentador"] for p in load.values() if not p["on_team"]]
if former:
    st.caption("Batches are still assigned to people no longer on the team: " + ", ".join(former))

if not ui.can_write():
    st.stop()  # a viewer sees the team and its workload, and no editing controls
add, change = st.columns(2)
with add.form("add_member", clear_on_submit=True, border=True):
    st.subheader("Add a segmentador")
    name = st.text_input("Name", key="add_name")
    slots = {"name": st.empty()}
    role = st.text_input("Role", placeholder=team.DEFAULT_ROLE, key="add_role")
    slots["role"] = st.empty()
    email = st.text_input("Email (optional)", key="add_email")
    slots["email"] = st.empty()
    if st.form_submit_button("Add", type="primary"):
        try:
            added = ui.guarded(team.add_member, databases.work, name, role, email,
                               author=ui.current_actor())
        except SegcoreError as exc:
            widgets.field_errors(exc, slots)
        else:
            ui.flash("success", f"{added.name} was added to the team.")
            ui.clear_caches()
            st.rerun()

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
            try:
                ui.guarded(team.edit_member, databases.work, chosen, role, email,
                           author=ui.current_actor())
            except SegcoreError as exc:
                widgets.field_errors(exc, slots)
            else:
                ui.flash("success", f"{chosen}'s details were saved.")
                ui.clear_caches()
                st.rerun()
    if st.button(f"Remove {chosen}…", key="remove_ask", icon=":material/person_remove:"):
        st.session_state[ui.REMOVE_TARGET] = chosen
target = st.session_state.get(ui.REMOVE_TARGET)
if target in names:
    widgets.confirm_removal(databases, target, [n for n in names if n != target])
