"""The batches page's parts: the editor's snapshot, Save, the outcome of a change, bulk actions.

Every change goes through `ui.actions.run_write`; `report_change` turns a `ChangeResult` into
the messages shown after the rerun (and keeps conflicts for the page to list).
"""

from __future__ import annotations

import streamlit as st

from segcore import batch_table, batches
from segcore.connection import Databases
from ui import reads
from ui.actions import flash, run_write
from ui.connection import connection, db_key, settings
from ui.state import (BALANCE_CONFIRM, BATCH_SNAPSHOT, EDITOR_VERSION, PENDING_EDITS,
                      SAVE_CONFLICTS, current_actor)


def batch_snapshot(query: batches.BatchQuery, sort: str, descending: bool, page: int,
                   page_size: int) -> dict:
    """The page of batches being edited, kept in the session until the view changes.

    Edits are positions in this snapshot, so it must not shift under the user when the cache
    expires or someone else writes; a new snapshot gets a new editor key (the edits made on
    the old one are kept by batch id first: `ui.batch_grid.fold_editor_edits`). Every write
    drops it (`ui.actions.after_write`).
    """
    wanted = (db_key(), query, sort, descending, page, page_size)
    current = st.session_state.get(BATCH_SNAPSHOT)
    if current is None or current["view"] != wanted:
        current = {"view": wanted, "frame": None,
                   **reads.batch_page(query, sort, page, page_size, descending)}
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
        report_change(result, "Save")
    run_write("Saving", batches.apply_edits, databases.work, edits, current_actor(), then=saved)


def report_change(result: batches.ChangeResult, what: str, note: str = "") -> None:
    """Queue the outcome of a batch write: saved count, conflicts (kept for display), failures.

    `note` (why fewer batches than asked were changed) goes into the one success message.
    """
    if result.updated:
        flash("success", f"{what}: {len(result.updated)} batch(es) saved.{note}")
    elif not (result.conflicts or result.missing or result.failed):
        flash("info", f"{what}: nothing to change.{note}")
    if result.conflicts:
        st.session_state[SAVE_CONFLICTS] = [
            {"batch": c.batch_id, "field": c.field, "you saw": _shown(c.expected),
             "now": _shown(c.actual), "you wanted": _shown(c.wanted)} for c in result.conflicts]
        flash("warning", f"{len(result.conflicts)} change(s) were not saved: someone else changed "
                         "those batches meanwhile. They are listed below with both values.")
    if result.missing:
        flash("warning", f"Not found (deleted meanwhile?): {', '.join(result.missing[:20])}")
    for batch_id, reason in result.failed.items():
        flash("error", f"{batch_id} could not be saved: {reason}")


def _shown(value: object) -> str:
    return "(empty)" if value is None else str(value)


def skipped_note(skipped: int) -> str:
    """Why bulk assignment left some unassigned pending batches alone, or ""."""
    if not skipped:
        return ""
    return (f" {skipped} unassigned pending batch(es) were skipped because their folder is "
            "missing on disk (filter Folder: missing to see them).")


def _assign_next(work, count: int, person: str, actor) -> tuple[int, batches.ChangeResult | None,
                                                                 int]:
    ids = batches.next_pending_ids(work, count)
    result = batches.assign(work, ids, person, actor) if ids else None
    return len(ids), result, batches.unassigned_missing_folder(work)


def _next_done(found: tuple[int, batches.ChangeResult | None, int], asked: int,
               person: str) -> None:
    count, result, skipped = found
    if result is None:
        flash("info", "There are no unassigned pending batches to assign." +
              skipped_note(skipped))
    else:
        fewer = f" Asked for {asked}, found {count}." if count < asked else ""
        report_change(result, f"Next {count} pending to {person}",
                      fewer + (skipped_note(skipped) if count < asked else ""))


def _spread(work, names: list[str], actor, limit: int) -> tuple[dict[str, int], int]:
    given = batches.balance_pending(work, names, actor, limit=limit)
    return given, batches.unassigned_missing_folder(work)


def _spread_done(found: tuple[dict[str, int], int]) -> str | None:
    given, skipped = found
    total = sum(given.values())
    detail = ", ".join(f"{n}: {k}" for n, k in sorted(given.items()) if k)
    if not total:
        flash("info", "Spread 0 pending batches (none were unassigned)." + skipped_note(skipped))
        return None
    return f"Spread {total} pending batches ({detail}).{skipped_note(skipped)}"


def bulk_actions(databases: Databases, team_names: list[str], selected: list[str]) -> None:
    """Assign the selected or the next N pending batches, or spread pending work evenly."""
    st.subheader("Bulk actions")
    if not team_names:
        st.info("Add people on the Team page before assigning batches.")
        return
    actor, work = current_actor(), databases.work
    left, middle, right = st.columns(3)
    with left.container(border=True):
        person = st.selectbox("Assign the ticked batches to", team_names, key="bulk_selected_to")
        if st.button(f"Assign {len(selected)} ticked", disabled=not selected,
                     key="bulk_selected"):
            run_write("Assigning", batches.assign, work, selected, person, actor,
                      then=lambda result: report_change(result, f"Assigned to {person}"))
    with middle.container(border=True):
        count = st.number_input("How many of the next unassigned pending batches", 1, 5000, 20,
                                key="bulk_next_count")
        person = st.selectbox("Assign them to", team_names, key="bulk_next_to")
        if st.button("Assign next pending", key="bulk_next"):
            run_write("Assigning", _assign_next, work, count, person, actor,
                      then=lambda result: _next_done(result, int(count), person))
    with right.container(border=True):
        # Empty by default: a hundred preselected chips hide the rest of the page.
        everyone = st.toggle("Whole team", key="bulk_balance_all")
        names = team_names if everyone else st.multiselect(
            "Spread unassigned pending batches across", team_names, key="bulk_balance_names",
            placeholder="Choose people, or switch on Whole team")
        limit = st.number_input("At most this many batches", 1, 50_000, 200,
                                key="bulk_balance_limit")
        if st.button("Spread evenly…", disabled=not names, key="bulk_balance_ask"):
            st.session_state[BALANCE_CONFIRM] = True
        if st.session_state.get(BALANCE_CONFIRM):
            _confirm_spread(work, names, int(limit), actor)


def _confirm_spread(work, names: list[str], limit: int, actor) -> None:
    st.warning(f"Assign up to {limit} unassigned pending batches across {len(names)} "
               "people, so their open workloads end up even?")
    yes, no = st.columns(2)
    if yes.button("Yes, assign", type="primary", key="bulk_balance_yes"):
        st.session_state[BALANCE_CONFIRM] = False
        run_write("Spreading", _spread, work, names, actor, limit, then=_spread_done)
    if no.button("Cancel", key="bulk_balance_no"):
        st.session_state[BALANCE_CONFIRM] = False
        st.rerun()
