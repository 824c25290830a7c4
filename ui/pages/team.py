"""Team: who is on it and their workload; add, edit and remove members."""

import streamlit as st

from segcore.report import progress
from segcore.team import team
from ui.app import reads
from ui.app.actions import run_write
from ui.app.connection import settings
from ui.app.i18n import N_, _, choice_hint
from ui.app.labels import literal
from ui.app.state import TYPED, can_write, current_actor, typed
from ui.app.widgets import page_start
from ui.team.member_edit import edit_form
from ui.team.member_logins import member_logins
from ui.team.team_actions import (
    clear_added_form,
    confirm_removal,
    former_holders,
    member_added,
    member_choices,
    removal_target,
    rework_table,
    team_table,
)
from ui.team.write_to import write_buttons

databases = page_start(N_("Team"))
members = reads.members()
names = [m["name"] for m in members]
load = {p["segmentador"]: p for p in progress.per_segmentador(reads.progress_rows(), names)}
found = reads.current_alerts()
paces = {p.name: p for p in found.people}

if members:
    st.dataframe(team_table(members, load, paces, found), hide_index=True)
    st.caption(
        _(
            "*Last upload on their batches*: the newest upload on batches assigned to "
            "them, whoever made it. *Last upload by them*: the newest file they uploaded, "
            "on any batch (as of the last sync)."
        )
    )
    st.caption(
        _(
            "Pace: batches delivered per working day over the last {days} days. Projected "
            "finish: when their open batches would be done at that pace."
        ).format(days=settings().pace_window_days)
    )
else:
    st.info(_("Nobody is on the team yet: add the first segmentador below."))
former_holders(
    databases, [p for p in load.values() if not p["on_team"] and p["assigned"]], names, can_write()
)
if members:
    st.subheader(_("Review"), anchor=False)
    st.dataframe(rework_table(reads.progress_rows(), names), hide_index=True)
    st.caption(
        _(
            "Delivered: batches whose masks are usable. Acceptance rate: accepted ÷ "
            "(accepted + times sent back). Time to fix: median from first upload to "
            "accepted."
        )
    )

if not can_write():
    st.stop()  # a viewer sees the team and its workload, and no editing controls
add, change = st.columns(2)
# What was typed stays (across other pages too, `typed`: not an st.form, which would send it
# only on "Add") until a success empties it; a refused entry keeps it.
clear_added_form()
with add.container(border=True):
    st.subheader(_("Add a segmentador"))
    name = st.text_input(_("Name"), **typed("add_name"))
    slots = {"name": st.empty()}
    role = st.text_input(_("Role"), placeholder=team.DEFAULT_ROLE, **typed("add_role"))
    slots["role"] = st.empty()
    email = st.text_input(_("Email (optional)"), **typed("add_email"))
    slots["email"] = st.empty()
    if st.button(_("Add"), type="primary", key="add_member"):
        run_write(
            _("Adding"),
            team.add_member,
            databases.work,
            name,
            role,
            email,
            author=current_actor(),
            zone=settings().zone,  # their join day is the office's
            slot=slots,
            then=member_added,
        )

with change.container(border=True):
    st.subheader(_("Edit or remove"))
    if not members:
        st.caption(_("Add someone first."))
        st.stop()
    # One choice per document: legacy duplicates (José and Jose) are acted on one at a time.
    choices = member_choices(members)
    if st.session_state[TYPED].get("edit_who") not in choices:  # removed meanwhile
        st.session_state[TYPED].pop("edit_who", None)
    # The member chosen is kept across pages as well: their form shows what was typed in it.
    chosen = st.selectbox(
        _("Member"),
        list(choices),
        **typed("edit_who", next(iter(choices))),
        placeholder=choice_hint(list(choices)),
    )
    edit_form(databases, choices[chosen], chosen)
    write_buttons([choices[chosen]])
    asked = st.button(
        _("Remove {name}…").format(name=literal(chosen)),
        key="remove_ask",
        icon=":material/person_remove:",
    )
member_logins(databases, member_choices(members))
target = removal_target(chosen, list(choices), asked)
if target:
    confirm_removal(databases, choices, target, load[choices[target]["name"]]["assigned"])
