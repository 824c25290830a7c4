"""The batches page's parts: the editor's snapshot, Save, the outcome of a change, bulk actions.

Every change goes through `ui.app.actions.run_write`; `report_change` turns a `ChangeResult` into
the messages shown after the rerun (and keeps conflicts for the page to list).
"""

from __future__ import annotations

import streamlit as st

from segcore.store.connection import Databases
from segcore.views import batch_table
from segcore.work import assignments, batches
from ui.app import labels, reads
from ui.app.actions import flash, run_write
from ui.app.choices import held_choice, refuse_gone
from ui.app.connection import connection, db_key, settings
from ui.app.i18n import N_, _, ngettext, word
from ui.app.state import (
    BALANCE_CONFIRM,
    BATCH_SNAPSHOT,
    EDITOR_VERSION,
    PENDING_EDITS,
    SAVE_CONFLICTS,
    current_actor,
)
from ui.batches import batch_grid


def batch_snapshot(
    query: batches.BatchQuery, sort: str, descending: bool, page: int, page_size: int
) -> dict:
    """The page of batches being edited, kept in the session until the view changes.

    Edits are positions in this snapshot, so it must not shift under the user when the cache
    expires or someone else writes; a new snapshot gets a new editor key (the edits made on
    the old one are kept by batch id first: `ui.batches.batch_grid.fold_editor_edits`). Every write
    drops it (`ui.app.actions.after_write`); a live reload (`ui.batches.batch_grid.reload_rows`) reads it
    again. The ticked rows are kept by batch id across a reload and a change of sort, filter or
    page: a row ticked before is drawn ticked whenever a view shows it.
    """
    wanted = (db_key(), query, sort, descending, page, page_size)
    current = st.session_state.get(BATCH_SNAPSHOT)
    if current is None or current["view"] != wanted or current.get("reload"):
        if current is None or current["view"][0] != wanted[0]:  # another database: none
            ticked = []
        elif current.get("reload"):
            ticked = current["ticked"]  # `reload_rows` kept them, with the editor's ticks
        else:
            ticked = batch_grid.kept_ticks(current)
        current = {
            "view": wanted,
            "frame": None,
            "ticked": ticked,
            **reads.batch_page(query, sort, page, page_size, descending),
        }
        st.session_state[BATCH_SNAPSHOT] = current
        st.session_state[EDITOR_VERSION] = st.session_state.get(EDITOR_VERSION, 0) + 1
    return current


def export_csv(query: batches.BatchQuery) -> str:
    """CSV of every batch matching `query`; runs on click, outside the page script."""
    return batch_table.export_csv(connection().work, query, settings().zone)


def save(databases: Databases, edits: list[batches.Edit]) -> None:
    """Write the pending edits (compare-and-set); conflicts are listed, refusals shown here.

    A refused save (an invalid value) keeps every pending edit; a save that ran clears them,
    the ones someone else changed meanwhile being listed as conflicts.
    """

    def saved(result: batches.ChangeResult) -> None:
        st.session_state[PENDING_EDITS] = {}
        report_change(result, _("Save"))

    run_write(
        _("Saving"),
        assignments.apply_edits,
        databases.work,
        edits,
        current_actor(),
        zone=settings().zone,  # the day an assignment notes is the office's
        then=saved,
    )


def report_change(result: batches.ChangeResult, what: str, note: str = "") -> None:
    """Queue the outcome of a batch write: saved count, conflicts (kept for display), failures.

    `what` and `note` (why fewer batches than asked were changed) are already translated;
    `note` goes into the one success message.
    """
    count = len(result.updated)
    if result.updated:
        flash(
            "success",
            ngettext(
                "{what}: {count} batch saved.", "{what}: {count} batches saved.", count
            ).format(what=what, count=count)
            + note,
        )
    elif not (result.conflicts or result.missing or result.failed):
        flash("info", _("{what}: nothing to change.").format(what=what) + note)
    if result.conflicts:
        st.session_state[SAVE_CONFLICTS] = [
            {
                "batch": c.batch_id,
                "field": c.field,
                "expected": c.expected,
                "actual": c.actual,
                "wanted": c.wanted,
            }
            for c in result.conflicts
        ]
        flash(
            "warning",
            ngettext(
                "{count} change was not saved: someone else changed that batch meanwhile. It is "
                "listed below with both values.",
                "{count} changes were not saved: someone else changed those batches meanwhile. "
                "They are listed below with both values.",
                len(result.conflicts),
            ).format(count=len(result.conflicts)),
        )
    if result.missing:
        flash(
            "warning",
            _("Not found (deleted meanwhile?): {ids}").format(ids=", ".join(result.missing[:20])),
        )
    for batch_id, reason in result.failed.items():
        flash(
            "error",
            _("{batch} could not be saved: {reason}").format(batch=batch_id, reason=word(reason)),
        )


CONFLICT_COLUMNS = {
    "batch": N_("batch"),
    "field": N_("field"),
    "expected": N_("you saw"),
    "actual": N_("now"),
    "wanted": N_("you wanted"),
}


def conflict_rows(conflicts: list[dict]) -> list[dict]:
    """The kept conflicts as table rows in the session's language, in the table's words: the
    field as its column is headed, a status or priority by its label, a date as the table
    writes it."""
    rows = []
    for c in conflicts:
        row = {}
        for key, header in CONFLICT_COLUMNS.items():
            if key == "field":
                row[_(header)] = labels.batch_field(c[key])
            elif key == "batch":
                row[_(header)] = c[key]
            else:
                row[_(header)] = _shown(c["field"], c[key])
        rows.append(row)
    return rows


def _shown(field_name: str, value: object) -> str:
    if value is None or value == "":
        return _("(empty)")
    return labels.batch_value(field_name, value)


def skipped_note(skipped: int) -> str:
    """Why bulk assignment left some unassigned pending batches alone, or ""."""
    if not skipped:
        return ""
    return " " + ngettext(
        "{count} unassigned pending batch was skipped because its folder is missing on disk "
        "(filter Folder: missing to see it).",
        "{count} unassigned pending batches were skipped because their folder is missing on "
        "disk (filter Folder: missing to see them).",
        skipped,
    ).format(count=skipped)


def taken_note(taken: list[batches.Conflict]) -> str:
    """The batches a bulk assignment chose unassigned and someone else assigned before it
    wrote (left to them, as they are), each named with who holds it now; or ""."""
    if not taken:
        return ""
    named = ", ".join(f"{c.batch_id} ({labels.literal(str(c.actual))})" for c in taken[:10])
    more = f" (+{len(taken) - 10})" if len(taken) > 10 else ""
    return " " + ngettext(
        "{count} batch was assigned by someone else meanwhile and stays with them: {batches}.",
        "{count} batches were assigned by someone else meanwhile and stay with them: {batches}.",
        len(taken),
    ).format(count=len(taken), batches=named + more)


def _assign_next(work, count: int, person: str, actor) -> tuple[assignments.Handout, int]:
    result = assignments.assign_next_pending(work, count, person, actor, zone=settings().zone)
    return result, batches.unassigned_missing_folder(work)


def _next_done(found: tuple[assignments.Handout, int], asked: int, person: str) -> None:
    result, skipped = found
    if not result.tried:
        flash(
            "info", _("There are no unassigned pending batches to assign.") + skipped_note(skipped)
        )
        return
    # those that could not be assigned are each named with the reason; those someone else
    # assigned meanwhile were replaced by the next ones, and are named apart
    count = result.tried - len(result.taken)
    fewer = (
        " " + _("Asked for {asked}, found {count}.").format(asked=asked, count=count)
        if count < asked
        else ""
    )
    report_change(
        result,
        ngettext(
            "Next {count} pending to {person}", "Next {count} pending to {person}", count
        ).format(count=count, person=person),
        fewer + taken_note(result.taken) + (skipped_note(skipped) if count < asked else ""),
    )


def _spread(work, names: list[str], actor, limit: int) -> tuple[assignments.Handout, int]:
    result = assignments.balance_pending(work, names, actor, limit=limit, zone=settings().zone)
    return result, batches.unassigned_missing_folder(work)


def _spread_done(found: tuple[assignments.Handout, int]) -> str | None:
    result, skipped = found
    total = len(result.updated)
    if not result.tried:
        flash("info", _("Spread 0 pending batches (none were unassigned).") + skipped_note(skipped))
        return None
    if result.conflicts or result.missing or result.failed:  # each one named, with the reason
        report_change(batches.ChangeResult([], result.conflicts, result.missing, result.failed), "")
    if not total:
        if result.taken:
            flash("info", taken_note(result.taken).strip())
        return None
    detail = ", ".join(f"{n}: {k}" for n, k in sorted(result.given.items()) if k)
    return (
        ngettext(
            "Spread {count} pending batch ({detail}).",
            "Spread {count} pending batches ({detail}).",
            total,
        ).format(count=total, detail=detail)
        + taken_note(result.taken)
        + skipped_note(skipped)
    )


def bulk_actions(
    databases: Databases, team_names: list[str], selected: list[str], seen: dict[str, dict]
) -> None:
    """Assign the selected or the next N pending batches, or spread pending work evenly.

    `selected`: the ids ticked in the table drawn now (the count named); `seen`: the rows
    ticked when the run began, as shown, which a click assigns (compare-and-set on them).
    """
    st.subheader(_("Bulk actions"))
    if not team_names:
        st.info(_("Add people on the Team page before assigning batches."))
        return
    actor, work = current_actor(), databases.work
    left, middle, right = st.columns(3)
    with left.container(border=True):
        chosen = held_choice(
            st, _("Assign the ticked batches to"), team_names, key="bulk_selected_to"
        )
        person = chosen.value
        if st.button(
            ngettext("Assign {count} ticked", "Assign {count} ticked", len(selected)).format(
                count=len(selected)
            ),
            disabled=not selected,
            key="bulk_selected",
        ):
            if chosen.gone:  # removed meanwhile: never the person the box fell back to
                refuse_gone(chosen)
                return
            run_write(
                _("Assigning"),
                assignments.assign,
                work,
                list(seen),
                person,
                actor,
                seen={b: d.get("assignee") for b, d in seen.items()},
                zone=settings().zone,
                then=lambda result: report_change(
                    result, _("Assigned to {person}").format(person=person)
                ),
            )
    with middle.container(border=True):
        count = st.number_input(
            _("How many of the next unassigned pending batches"), 1, 5000, 20, key="bulk_next_count"
        )
        chosen_next = held_choice(st, _("Assign them to"), team_names, key="bulk_next_to")
        person = chosen_next.value
        if st.button(_("Assign next pending"), key="bulk_next"):
            if chosen_next.gone:
                refuse_gone(chosen_next)
                return
            run_write(
                _("Assigning"),
                _assign_next,
                work,
                count,
                person,
                actor,
                then=lambda result: _next_done(result, int(count), person),
            )
    with right.container(border=True):
        # Empty by default: a hundred preselected chips hide the rest of the page.
        everyone = st.toggle(_("Whole team"), key="bulk_balance_all")
        names = (
            team_names
            if everyone
            else st.multiselect(
                _("Spread unassigned pending batches across"),
                team_names,
                key="bulk_balance_names",
                placeholder=_("Choose people (or Whole team)"),  # whole at 1280 px
                select_all=False,  # Enter chooses the name typed, never every match
            )
        )
        limit = st.number_input(
            _("At most this many batches"), 1, 50_000, 200, key="bulk_balance_limit"
        )
        if st.button(_("Spread evenly…"), disabled=not names, key="bulk_balance_ask"):
            st.session_state[BALANCE_CONFIRM] = True
        if st.session_state.get(BALANCE_CONFIRM):
            _confirm_spread(work, names, int(limit), actor)


def _confirm_spread(work, names: list[str], limit: int, actor) -> None:
    st.warning(
        ngettext(
            "Assign up to {limit} unassigned pending batches to {count} person?",
            "Assign up to {limit} unassigned pending batches across {count} people, "
            "so their open workloads end up even?",
            len(names),
        ).format(limit=limit, count=len(names))
    )
    yes, no = st.columns(2)
    if yes.button(_("Yes, assign"), type="primary", key="bulk_balance_yes"):
        st.session_state[BALANCE_CONFIRM] = False
        run_write(_("Spreading"), _spread, work, names, actor, limit, then=_spread_done)
    if no.button(_("Cancel"), key="bulk_balance_no"):
        st.session_state[BALANCE_CONFIRM] = False
        st.rerun()
