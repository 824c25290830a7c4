"""The Team page's "Edit or remove" form: a member's role and email.

Only the fields the user changed are sent, each a compare-and-set on the stored value the form
showed when it was filled (kept in the session then, never read again in the click's run): an
email another coordinator changed meanwhile is never reverted by saving the role, and a field
both changed is refused, naming the value now stored and the one typed, which stays in the form.
"""

from __future__ import annotations

import streamlit as st

from segcore.core.errors import MemberChanged
from segcore.store.connection import Databases
from segcore.team import team
from ui.app.actions import run_write
from ui.app.i18n import _
from ui.app.labels import literal
from ui.app.state import TEAM_FORM_SEEN, TYPED, current_actor, typed

FIELDS = ("role", "email")
REFILL = "team_edit_refill"  # a member just saved: fill their form from the stored values


def _shown(value: object) -> str:
    """A stored value as the form's text (a legacy null is empty)."""
    return "" if value is None else str(value)


def _keys(label: str) -> dict[str, str]:
    return {"role": f"edit_role_{label}", "email": f"edit_email_{label}"}


def _fill(member: dict, label: str) -> dict[str, object]:
    """The stored values the form shows, taken when it opens (or after a save): what a save
    compares with. What was typed and not saved stays (on a form open meanwhile, and across
    other pages: `typed`), compared with the value it was typed over."""
    keys, seen, kept = _keys(label), st.session_state[TEAM_FORM_SEEN], st.session_state[TYPED]
    if st.session_state.get(REFILL) == label:  # saved: the stored values, nothing typed
        st.session_state.pop(REFILL)
        seen.pop(label, None)
        for key in keys.values():
            kept.pop(key, None)
            st.session_state.pop(key, None)  # drawn from the stored value below (`typed`)
    if label not in seen or any(k not in st.session_state for k in keys.values()):
        before = seen.get(label, {})
        seen[label] = {
            f: before[f] if keys[f] in kept and f in before else member.get(f) for f in FIELDS
        }
    return seen[label]


def changed_fields(typed: dict[str, str], seen: dict[str, object]) -> dict[str, str]:
    """The fields whose text differs from what the form showed: the ones the user changed."""
    return {f: text for f, text in typed.items() if text != _shown(seen.get(f))}


def _save(
    work, member: team.Member, changed: dict[str, str], seen: dict[str, object]
) -> team.Member:
    try:
        return team.edit_member(
            work, member, **changed, seen={f: seen.get(f) for f in changed}, author=current_actor()
        )
    except MemberChanged as refused:  # the message shows the stored value: saving again
        seen[refused.field] = refused.now  # replaces it, knowingly
        raise


def _saved(label: str):
    def then(_member) -> str:
        st.session_state[REFILL] = label
        return _("{name}'s details were saved.").format(name=literal(label))

    return then


def edit_form(databases: Databases, member: dict, label: str) -> None:
    """Role and email of `member` (as `reads.members` lists it; `label`: how the page's choice
    names it, its name unless a legacy duplicate is spelled the same), saved with "Save role
    and email" to exactly that document."""
    keys = _keys(label)
    seen = _fill(member, label)
    with st.container():  # not an st.form: it would send what was typed only on a save
        role = st.text_input(_("Role"), **typed(keys["role"], _shown(seen.get("role"))))
        slots = {"role": st.empty()}
        email = st.text_input(_("Email"), **typed(keys["email"], _shown(seen.get("email"))))
        slots["email"] = st.empty()
        if st.button(_("Save role and email"), key="edit_save"):
            run_write(
                _("Saving"),
                _save,
                databases.work,
                team.Member(**member),
                changed_fields({"role": role, "email": email}, seen),
                seen,
                slot=slots,
                then=_saved(label),
            )
