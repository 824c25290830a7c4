"""The team page's table and removal dialog.

The dialog always names the member selected now: it opens only for them, and closing it in
any way (Cancel, the ×, Esc, choosing someone else, leaving the page) forgets it.
"""

from __future__ import annotations

from datetime import date, datetime

import streamlit as st

from segcore.core.naming import person_key, shown_name
from segcore.store.connection import Databases
from segcore.team import team
from segcore.work import handover, review
from segcore.work.batches import ChangeResult
from ui.app import reads
from ui.app.actions import flash, run_write
from ui.app.choices import held_choice, refuse_gone
from ui.app.connection import settings
from ui.app.i18n import (
    N_,
    _,
    choice_hint,
    format_date,
    format_datetime,
    format_number,
    format_percent,
    ngettext,
)
from ui.app.labels import literal
from ui.app.state import REMOVE_TARGET, as_drawn, clear_typed, current_actor, forget
from ui.dashboard.attention import pace_columns

ADD_FIELDS = ("add_name", "add_role", "add_email")
ADD_CLEAR = "team_add_clear"  # a member was just added: empty the form on the next run
HANDOVER = {"unassign": N_("Leave them unassigned"), "reassign": N_("Reassign them to…")}


def _when(value: object) -> str:
    """A stored time in the office's zone, a legacy date, as the language writes them (as the
    table's other dates); blank when unknown."""
    if isinstance(value, datetime):
        return format_datetime(value)
    return format_date(value) if isinstance(value, date) else ""


TEAM_COLUMNS = (
    N_("Name"),
    N_("Role"),
    N_("Email"),
    N_("Assigned"),
    N_("With masks"),
    N_("Without masks"),
    N_("Last upload on their batches"),
    N_("Last upload by them"),
    N_("Files uploaded by them"),
)


def team_table(
    members: list[dict], load: dict[str, dict], paces: dict | None = None, found=None
) -> list[dict]:
    """One row per member: their workload, both "last upload" figures labelled apart, and
    their pace (from `paces`, by name; `found` the alerts they come from, which say what sync
    they rest on), headed in the session's language.

    "On their batches" is the newest upload on batches assigned to them, whoever uploaded it;
    "by them" the newest upload they made, on any batch (from the last sync, no GridFS read).
    """
    activity = reads.uploader_activity()
    rows, seen = [], set()
    for member in members:
        mine = load[member["name"]]
        key = person_key(member["name"])
        # Uploads are counted by key: a legacy duplicate (Ana after ana) has none of its own.
        theirs = {} if key in seen else activity.get(key) or {}
        seen.add(key)
        values = (
            member["name"],
            member["role"] or "",
            member["email"] or "",
            mine["assigned"],
            mine["with_masks"],
            mine["without_masks"],
            _when(mine["last_upload"]),
            _when(theirs.get("latest")),
            theirs.get("files", 0),
        )
        columns = {_(header): value for header, value in zip(TEAM_COLUMNS, values)}
        name = columns.pop(_(TEAM_COLUMNS[0]))
        # Who and how they are doing first: pace, last delivery, projected finish and the
        # stall marker stay in view at 1280 px; contact details and upload times follow.
        rows.append(
            {
                _(TEAM_COLUMNS[0]): name,
                **pace_columns((paces or {}).get(member["name"]), found),
                **columns,
            }
        )
    return rows


def member_added(added) -> str:
    """After a successful add only: empty the form on the next run (a refused one keeps what
    was typed)."""
    st.session_state[ADD_CLEAR] = True
    return _("{name} was added to the team.").format(name=literal(added.name))


def clear_added_form() -> None:
    """Empty the add form after a success, before its fields are drawn.

    Dropping the keys in the run that submitted is not enough: the browser keeps the typed
    text and sends it back on the rerun. Values set before the widgets exist are drawn.
    """
    if st.session_state.pop(ADD_CLEAR, False):
        clear_typed(*ADD_FIELDS)


def member_choices(members: list[dict]) -> dict[str, dict]:
    """The Edit or remove box's choices: {label: member}, one per document (`reads.members`),
    labelled by name; of legacy duplicates spelled exactly alike the later ones numbered
    ("Jose", "Jose (2)"), so that each can be chosen and acted on alone."""
    choices: dict[str, dict] = {}
    for member in members:
        label, number = member["name"], 1
        while label in choices:
            number += 1
            label = f"{member['name']} ({number})"
        choices[label] = member
    return choices


def removal_target(chosen: str, names: list[str], asked: bool) -> str | None:
    """Whose removal to ask about on this run: the member selected now, or nobody."""
    if asked:
        st.session_state[REMOVE_TARGET] = chosen
    target = st.session_state.get(REMOVE_TARGET)
    if target != chosen or target not in names:
        forget(REMOVE_TARGET)  # another member was selected since: never ask about the old one
        return None
    return target


def confirm_removal(databases: Databases, choices: dict[str, dict], name: str, held: int) -> None:
    """Open the removal dialog for the member `choices[name]` (`member_choices`; the others
    are who may take their open batches), its title in the session's language; `held`: every
    batch the person holds (the Team page's count)."""
    st.dialog(_("Remove from the team?"), on_dismiss=lambda: forget(REMOVE_TARGET))(
        _removal_question
    )(databases, choices, name, held)


def _member(fields: dict) -> team.Member:
    return team.Member(**fields)


def _say_what_stays(choices: dict[str, dict], name: str, staying: int):
    """Say that the batches that are not handed over stay the member's; or, when a legacy
    duplicate would be credited with them instead (`handover.heir`), that the removal must
    wait, and return that duplicate (the removal is refused then). `name`: the member's label."""
    member = _member(choices[name])
    heir = handover.heir(list(map(_member, choices.values())), member) if staying else None
    if heir is not None:
        st.warning(
            _(handover.NAME_WOULD_PASS).format(
                name=literal(name), count=staying, other=literal(heir.name)
            )
        )
    elif staying:
        st.write(
            ngettext(
                "**{count}** other batch of {name}'s (delivered or done) stays assigned to "
                "{name}, so the record shows who segmented it.",
                "**{count}** other batches of {name}'s (delivered or done) stay assigned to "
                "{name}, so the record shows who segmented them.",
                staying,
            ).format(count=staying, name=literal(name))
        )
    return heir


def _removal_question(databases: Databases, choices: dict[str, dict], name: str, held: int) -> None:
    """Ask what to do with the person's open batches, then remove exactly the member chosen
    (or cancel). The two figures add up to what they hold: the open ones are handed over, the
    rest stay. A legacy duplicate after the first holds none (`team.holds_batches`)."""
    member = team.Member(**choices[name])
    others = [label for label in choices if label != name]
    holds = team.holds_batches(list(map(_member, choices.values())), member)
    open_count = reads.open_workloads((member.name,)).get(member.name, 0) if holds else 0
    held = held if holds else 0
    staying = max(0, held - open_count)
    choice, target, picked = "unassign", None, None
    shown = as_drawn("remove_target", {label: choices[label] for label in others})
    if open_count:
        st.write(
            ngettext(
                "**{name}** holds **{count}** open batch (not delivered yet, not done).",
                "**{name}** holds **{count}** open batches (not delivered yet, not done).",
                open_count,
            ).format(name=literal(name), count=open_count)
        )
        options = ["unassign", "reassign"] if others else ["unassign"]
        choice = st.radio(
            _("What should happen to them?"),
            options,
            key="remove_choice",
            format_func=lambda c: _(HANDOVER[c]),
        )
        if choice == "reassign":
            picked = held_choice(st, _("Reassign to"), others, key="remove_target")
            target = picked.value
    else:
        st.write(_("**{name}** holds no open batches.").format(name=literal(name)))
    heir = _say_what_stays(choices, name, staying)
    slot = st.empty()
    yes, no = st.columns(2)
    if yes.button(
        _("Remove {name}").format(name=literal(name)),
        type="primary",
        key="remove_yes",
        disabled=heir is not None,
    ):
        if picked is not None and picked.gone:  # never the member the box fell back to
            refuse_gone(picked, slot)
            return

        def removed(moved: int) -> str:
            forget(REMOVE_TARGET)
            if target:
                return ngettext(
                    "{name} was removed from the team and {count} open batch went to {target}.",
                    "{name} was removed from the team and {count} open batches went to {target}.",
                    moved,
                ).format(name=literal(name), count=moved, target=literal(target))
            if moved:
                return ngettext(
                    "{name} was removed from the team and {count} open batch is unassigned.",
                    "{name} was removed from the team and {count} open batches are unassigned.",
                    moved,
                ).format(name=literal(name), count=moved)
            return _("{name} was removed from the team.").format(name=literal(name))

        run_write(
            _("Removing"),
            handover.remove_member,
            databases.work,
            member,
            unassign=bool(open_count) and choice == "unassign",
            # the member the label named on the screen, by its document (removed: refused)
            reassign_to=team.Member(**shown.get(target, choices[target])) if target else None,
            author=current_actor(),
            zone=settings().zone,
            then=removed,
            slot=slot,
        )
    if no.button(_("Cancel"), key="remove_no"):
        forget(REMOVE_TARGET)
        st.rerun()


def former_holders(
    databases: Databases, people: list[dict], names: list[str], writable: bool
) -> None:
    """People not on the team who still hold batches, and (for a coordinator) a way to move
    their open batches to a member or leave them unassigned."""
    if not people:
        return
    st.subheader(_("Not on the team, still holding batches"))
    st.dataframe(
        [
            {
                _("Name"): p["segmentador"],
                _("Assigned"): p["assigned"],
                _("With masks"): p["with_masks"],
                _("Open (no usable masks yet)"): p["open"],
            }
            for p in people
        ],
        hide_index=True,
    )
    movable = [p["segmentador"] for p in people if p["open"]]
    if not writable or not movable:
        return
    with st.container(border=True):
        who, to = st.columns(2)
        picked_from = held_choice(
            who, _("Move the open batches of"), movable, key="move_from", format_func=shown_name
        )
        picked_to = held_choice(
            to,
            _("To"),
            [None, *names],
            key="move_to",
            format_func=lambda n: _("(leave unassigned)") if n is None else n,
            placeholder=choice_hint([None, *names]),
        )
        former, target = picked_from.value, picked_to.value
        slot = st.empty()
        if st.button(
            _("Move {name}'s open batches").format(name=literal(shown_name(former))),
            key="move_former",
        ):
            gone = next((p for p in (picked_from, picked_to) if p.gone), None)
            if gone:  # moved or removed meanwhile: never the one the box fell back to
                refuse_gone(gone, slot)
                return

            def moved(result: ChangeResult) -> str:
                if result.conflicts:
                    flash(
                        "warning",
                        ngettext(
                            "{count} batch changed meanwhile and was left as it is.",
                            "{count} batches changed meanwhile and were left as they are.",
                            len(result.conflicts),
                        ).format(count=len(result.conflicts)),
                    )
                count = len(result.updated)
                if target:
                    return ngettext(
                        "{count} open batch of {name} moved to {target}.",
                        "{count} open batches of {name} moved to {target}.",
                        count,
                    ).format(count=count, name=literal(shown_name(former)), target=literal(target))
                return ngettext(
                    "{count} open batch of {name} moved to nobody (unassigned).",
                    "{count} open batches of {name} moved to nobody (unassigned).",
                    count,
                ).format(count=count, name=literal(shown_name(former)))

            run_write(
                _("Moving"),
                handover.move_open_batches,
                databases.work,
                former,
                target,
                author=current_actor(),
                zone=settings().zone,
                then=moved,
                slot=slot,
            )


def rework_table(rows: list[dict], team: list[str] = ()) -> list[dict]:
    """Per person: delivered (usable), sent back, acceptance rate, median time to fix."""
    table = []
    for person in review.person_rework(rows, team).values():
        hours = person["median_hours_to_accept"]
        table.append(
            {
                _("Segmentador"): person["name"],
                _("Delivered, usable"): person["delivered"],
                _("Sent back"): person["sent_back"],
                _("Accepted"): person["accepted"],
                _("Acceptance rate"): ""
                if person["acceptance"] is None
                else format_percent(person["acceptance"], 0),
                _("Median time to fix"): ""
                if hours is None
                else _("{days} days").format(days=format_number(hours / 24, 1)),
            }
        )
    return table
