"""The Team page's logins for segmentadores: a coordinator hands each member a login that
shows only their own batches, and resets its password."""

from __future__ import annotations

import streamlit as st

from segcore.core.actors import SEGMENTADOR
from segcore.store.connection import Databases
from segcore.team import auth, team
from ui.app.actions import guarded, run_write
from ui.app.choices import held_choice, refuse_gone
from ui.app.connection import settings
from ui.app.i18n import _, hide_form_enter_hint
from ui.app.labels import literal
from ui.app.state import as_drawn, clear_typed, current_actor, typed

LOGIN_CREATED = "member_login_created"  # a login was created: empty its form on the next run


def member_logins(databases: Databases, choices: dict[str, dict]) -> None:
    """List the segmentador logins and offer to create one or reset its password.

    `choices`: the members as the Edit box offers them ({label: member}). A login is created
    for the member chosen, by its document, and a password reset for the login chosen; when
    either has gone by the click, nothing is done (`held_choice`).
    """
    users = [u for u in guarded(auth.list_users, databases.work) if u.role == SEGMENTADOR]
    # above the expander: a login removed meanwhile changes its title, which closes it
    notice = st.empty()
    with st.expander(_("Logins for segmentadores ({count})").format(count=len(users))):
        if not settings().login:
            st.caption(_("Logins are asked for only with LOGIN=on."))
        if users:
            st.dataframe(
                [{_("Login"): u.name, _("Member"): u.member or ""} for u in users], hide_index=True
            )
        create, reset = st.columns(2)
        if st.session_state.pop(LOGIN_CREATED, False):
            clear_typed("login_name", "login_password")
        # Not an st.form: the login name typed is kept across other pages (`typed`) until the
        # login is created; the password is not kept.
        with create.container(border=True):
            st.markdown(_("**New login** (sees only that person's batches)"))
            # the member each label named on the screen: a label may name another one now
            shown = as_drawn("login_member", choices)
            member = held_choice(st, _("Belongs to"), list(choices), key="login_member")
            name = st.text_input(_("Login name"), **typed("login_name"))
            password = st.text_input(
                _("Password (at least {n} characters)").format(n=auth.MIN_PASSWORD),
                type="password",
                key="login_password",
            )
            slots = {"name": st.empty(), "password": st.empty(), "member": st.empty()}
            if st.button(_("Create login"), key="login_create"):
                if member.gone or member.value not in choices:  # never the box's fallback
                    refuse_gone(member, slots["member"])
                    return
                run_write(
                    _("Saving"),
                    auth.add_user,
                    databases.work,
                    name,
                    SEGMENTADOR,
                    password,
                    member=team.Member(**shown.get(member.value, choices[member.value])),
                    author=current_actor(),
                    slot=slots,
                    then=_created,
                )
        if users:
            hide_form_enter_hint()
            with reset.form("segmentador_reset"):
                st.markdown(_("**Reset a password** (ends that login's sessions)"))
                # a login stored without a name (another tool's) is listed, not offered
                names = [u.name for u in users if isinstance(u.name, str)]
                who = held_choice(st, _("Login"), names, key="reset_login")
                new = st.text_input(_("New password"), type="password", key="reset_password")
                slot = {"password": st.empty()}
                if st.form_submit_button(_("Reset password")):
                    if who.gone:  # removed meanwhile: never the login the box fell back to
                        refuse_gone(who, notice)
                        return
                    run_write(
                        _("Saving"),
                        auth.set_password,
                        databases.work,
                        who.value,
                        new,
                        author=current_actor(),
                        slot=slot,
                        then=_("{name}'s password was changed.").format(name=literal(who.value)),
                    )


def _created(user) -> str:
    st.session_state[LOGIN_CREATED] = True
    return _("{name} can now log in and see {member}'s batches.").format(
        name=literal(user.name), member=literal(user.member)
    )
