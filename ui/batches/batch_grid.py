"""The batches page's grid: stored values shown as they are, unsaved edits kept per batch id.

The editor reports edits by row position in the page it shows. Every run folds them into the
session's pending edits (`PENDING_EDITS`, by batch id) before anything else, so a change of
sort, filter or table page, or a visit to another page, loses nothing: the next page of rows is
drawn with the pending values already in place, under a new editor key.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from segcore.core.errors import SegcoreError
from segcore.core.naming import person_key
from segcore.core.phrases import Nn_
from segcore.core.timefmt import to_office, utcnow
from segcore.views import batch_rows, batch_table, pending_edits
from segcore.work import batches, delivery
from segcore.work.batches import DUE_DATES, PRIORITIES, STATUSES
from ui.app import labels, reads
from ui.app.connection import settings
from ui.app.i18n import N_, _, date_format, datetime_format, ngettext
from ui.app.state import (
    BATCH_SNAPSHOT,
    DISCARD_CONFIRM,
    EDITOR_VERSION,
    PENDING_EDITS,
    TICKED_SEEN,
    forget,
)

ROW_PX, HEADER_PX, MAX_ROWS_SHOWN = 35, 38, 20
READ_ONLY = [
    "id",
    "due_date_stored",
    "overdue",
    "folder",
    "folder_missing",
    "masks",
    "file_count",
    "masks_vs_images",
    "mask_state",
    "latest_upload",
]


def editor_key() -> str:
    """Widget key of the batch editor; a new snapshot gets a new key, dropping stale edits."""
    return f"batch_editor_{st.session_state.get(EDITOR_VERSION, 0)}"


def editor_changes() -> dict:
    """The shown editor's edits by row position ({} before the first edit)."""
    return (st.session_state.get(editor_key()) or {}).get("edited_rows", {})


def fold_editor_edits(team: list[str]) -> None:
    """Keep the shown editor's edits in the session by batch id; refuse non-member assignees
    and a legacy status or priority chosen for a row that does not hold it (the grid lists
    those values for every row, only so each is drawn on its own).

    Runs first on every run of the page, while the snapshot is still the one the edits were
    made on; it keeps the ticked rows as that snapshot showed them too (`ticked_as_seen`).
    """
    snap = st.session_state.get(BATCH_SNAPSHOT)
    st.session_state[TICKED_SEEN] = _ticked_rows(snap) if snap else {}
    if not snap:
        return
    pending = pending_edits.fold_changes(
        st.session_state.get(PENDING_EDITS, {}), snap["rows"], editor_changes()
    )
    refused = [
        (batch_id, columns.pop("assignee")[1])
        for batch_id, columns in pending.items()
        if "assignee" in columns
        and columns["assignee"][1]
        and batches.team_member(columns["assignee"][1], team) is None
    ]
    if refused:
        st.warning(
            " ".join(
                _("{name} is not on the team, so {batch} keeps its assignee.").format(
                    name=name, batch=batch_id
                )
                for batch_id, name in refused[:5]
            )
            + " "
            + _("Batches are only given to current members.")
        )
        _redraw()
    pending, legacy = pending_edits.refuse_legacy_choices(pending)
    if legacy:
        st.warning(
            " ".join(
                _(
                    "{batch} keeps its {field}: {value} is a value from older data, kept on "
                    "the batches that hold it but not given to others."
                ).format(
                    batch=batch_id,
                    field=labels.batch_field(column),
                    value=labels.batch_value(column, value),
                )
                for batch_id, column, value in legacy[:5]
            )
        )
        _redraw()
    st.session_state[PENDING_EDITS] = {b: c for b, c in pending.items() if c}


def ticked_ids(snap: dict) -> list[str]:
    """Ids of the rows ticked on screen: those still ticked from before a reload (drawn
    ticked), with the shown editor's ticks and unticks, in the table's order."""
    return batch_table.ticked_ids(snap["rows"], snap.get("ticked") or (), editor_changes())


def kept_ticks(snap: dict) -> list[str]:
    """Every batch id ticked: those shown ticked now, and those ticked on another view of the
    table (a sort, filter or page that does not show them now), drawn ticked again when a
    view shows them (`ui.batches.batch_actions.batch_snapshot` carries them over)."""
    shown = {str(d.get("id")) for d in snap["rows"]}
    hidden = [b for b in snap.get("ticked") or () if b not in shown]
    return [*hidden, *ticked_ids(snap)]


def hidden_ticks_note(snap: dict) -> None:
    """Say how many ticked batches the shown rows leave out: the bulk actions act on those
    shown, and the others stay ticked for when they are shown again."""
    shown = {str(d.get("id")) for d in snap["rows"]}
    hidden = [b for b in snap.get("ticked") or () if b not in shown]
    if hidden:
        st.caption(
            ngettext(
                "{count} ticked batch is not shown (another page of the table or the filter): "
                "it stays ticked, and the actions below leave it alone.",
                "{count} ticked batches are not shown (other pages of the table or the filter): "
                "they stay ticked, and the actions below leave them alone.",
                len(hidden),
            ).format(count=len(hidden))
        )


def _ticked_rows(snap: dict) -> dict[str, dict]:
    ticked = set(ticked_ids(snap))
    return {str(d.get("id")): d for d in snap["rows"] if str(d.get("id")) in ticked}


def ticked_as_seen() -> dict[str, dict]:
    """The rows ticked on screen when this run began, as the table showed them, by batch id.

    What a bulk action clicked in this run acts on and compares with: the run may have read
    the rows again since (someone else wrote), which gives the table a fresh editor without
    the ticks, and fresher values the user never saw.
    """
    return st.session_state.get(TICKED_SEEN) or {}


def _redraw() -> None:
    """Draw the shown page again from the pending edits, under a fresh editor key."""
    st.session_state[EDITOR_VERSION] = st.session_state.get(EDITOR_VERSION, 0) + 1
    if st.session_state.get(BATCH_SNAPSHOT):
        st.session_state[BATCH_SNAPSHOT]["frame"] = None


def reload_rows() -> None:
    """Read the shown page of rows again (new masks, others' edits); the pending edits are
    kept by batch id, so they are drawn over the fresh rows, and the ticked rows stay ticked
    (`ui.batches.batch_actions.batch_snapshot` carries them over)."""
    snap = st.session_state.get(BATCH_SNAPSHOT)
    if snap:
        snap["ticked"], snap["reload"] = kept_ticks(snap), True


def discard() -> None:
    st.session_state[PENDING_EDITS] = {}
    _redraw()


def _frame(snap: dict, data_directory: str | None) -> pd.DataFrame:
    zone = settings().zone  # upload times and "overdue" by the office's clock
    pending, today = st.session_state.get(PENDING_EDITS, {}), to_office(utcnow(), zone).date()
    ticked = set(snap.get("ticked") or ())  # still ticked from before a reload
    rows = []
    for doc in snap["rows"]:
        stored = batch_table.table_row(doc, zone)
        edits = pending.get(stored["id"], {})
        row = pending_edits.shown_row(stored, edits)
        row["assignee"] = batch_table.grid_value(row["assignee"])  # "Flor " drawn, not blank
        if "due_date" in edits:  # a date chosen replaces the unreadable one
            row["due_date_stored"] = None
        row["overdue"] = "⚠ " + _("overdue") if delivery.is_overdue(row, today) else None
        row["mask_state"] = (
            labels.mask_state(row["mask_state"]) if row.get("mask_state") else row.get("mask_state")
        )
        row["folder"] = batch_table.shown_folder(row["folder"], data_directory)
        rows.append({"select": stored["id"] in ticked, **row})
    # What the coordinator reads first stays in view at 1280 px (masks vs images next to
    # the status); the folder, the longest, comes last.
    columns = [
        "select",
        "id",
        "assignee",
        "status",
        "masks_vs_images",
        "priority",
        "due_date",
        *(["due_date_stored"] if any(r["due_date_stored"] for r in rows) else []),
        "overdue",
        "mask_state",
        "masks",
        "file_count",
        "latest_upload",
        "folder",
        "folder_missing",
    ]
    return pd.DataFrame(rows, columns=columns)


def _data_directory() -> str | None:
    try:
        base = settings().data_directory
    except SegcoreError:  # the page reports a configuration problem itself
        return None
    return str(base) if base else None


def shown_frame(snap: dict) -> pd.DataFrame:
    """The rows the editor shows, fixed while its key lives (edits are positions in it)."""
    if snap.get("frame") is None or editor_key() not in st.session_state:
        snap["frame"] = _frame(snap, _data_directory())
    return snap["frame"]


def _person_label(name: object, team: list[str], former: set[str]) -> str:
    """An assignee's label; one the grid draws with its surrounding spaces made visible
    (`batch_table.grid_value`, "Flor␣") is labelled as its stored value is, keeping them."""
    if not isinstance(name, str) or batch_table.VISIBLE_SPACE not in name:
        return labels.person(name, team, former)
    stored = name.strip(batch_table.VISIBLE_SPACE)
    return labels.person(stored, team, former).replace(stored, name, 1)


LEGACY_CHOICE_HELP = N_(
    "A value from older data (such as S) is listed only so that the batch holding it shows it; "
    "it is not given to other batches."
)


def column_config(frame: pd.DataFrame, team: list[str]) -> dict:
    """Every stored value among the options (else the grid shows a blank), labelled once."""
    cfg, former = st.column_config, reads.former_members()
    others = sorted({a for a in frame["assignee"].dropna() if a not in team}, key=person_key)
    statuses = [*STATUSES, *sorted(set(frame["status"].dropna()) - set(STATUSES))]
    priorities = [*PRIORITIES, *sorted(set(frame["priority"].dropna()) - set(PRIORITIES))]
    base = _data_directory()
    return {
        "select": cfg.CheckboxColumn("✓", width="small"),
        "id": cfg.TextColumn(_("Batch")),
        "assignee": cfg.SelectboxColumn(
            _("Assignee"),
            options=[*team, *others],
            format_func=lambda name: _person_label(name, team, former),
            help=_("Batches are given to current members; former and unknown names are marked."),
        ),
        "status": cfg.SelectboxColumn(
            _("Status"),
            options=statuses,
            required=True,
            format_func=labels.status,
            help=_(LEGACY_CHOICE_HELP),
        ),
        "priority": cfg.SelectboxColumn(
            _("Priority"),
            options=priorities,
            format_func=labels.priority,
            help=_(LEGACY_CHOICE_HELP),
        ),
        "due_date": cfg.DateColumn(
            _("Due date"),
            format=date_format(),
            min_value=date.fromisoformat(DUE_DATES[0]),
            max_value=date.fromisoformat(DUE_DATES[1]),
        ),
        "due_date_stored": cfg.TextColumn(
            _("Due date as stored"),
            help=_(
                "A due date stored by another tool that is not a date, shown as it is; a date "
                "chosen under Due date replaces it."
            ),
        ),
        "overdue": cfg.TextColumn(_("Overdue"), width="small"),
        "folder": cfg.TextColumn(
            _("Folder"),
            help=_(
                "Relative to {base}; the full path is under 'Batch details and history' below."
            ).format(base=base or "DATA_DIRECTORY"),
        ),
        "folder_missing": cfg.CheckboxColumn(_("Folder missing")),
        "file_count": cfg.NumberColumn(_("Files")),
        "masks": cfg.CheckboxColumn(_("Masks")),
        "masks_vs_images": cfg.TextColumn(
            _("Masks vs images"),
            help=_("Images with a mask / images in the folder (Sync page: Check masks)"),
        ),
        "mask_state": cfg.TextColumn(_("Mask check")),
        "latest_upload": cfg.DatetimeColumn(_("Latest upload"), format=datetime_format()),
    }


def show_grid(snap: dict, team: list[str], writable: bool) -> None:
    """The table: editable for a coordinator, read only (same columns) for a viewer."""
    frame = shown_frame(snap)
    height = min(max(len(frame), 3), MAX_ROWS_SHOWN) * ROW_PX + HEADER_PX
    config = column_config(frame, team)
    if writable:
        st.data_editor(
            frame,
            hide_index=True,
            key=editor_key(),
            num_rows="fixed",
            disabled=READ_ONLY,
            column_config=config,
            height=height,
            placeholder="",
        )
    else:
        st.dataframe(
            frame.drop(columns="select"),
            hide_index=True,
            column_config=config,
            height=height,
            placeholder="",
        )


def unseen_note(pending: dict, snap: dict, query) -> str:
    """ " 2 unsaved changes in rows hidden by the filter." (and on other pages), or ""."""
    rows = {r["id"]: r for r in reads.batch_rows().rows()} if pending else {}
    hidden, elsewhere = pending_edits.unseen_changes(
        pending,
        {str(d.get("id")) for d in snap["rows"]},
        lambda batch_id: batch_id in rows and batch_rows.matches(rows[batch_id], query),
    )
    parts = []
    if hidden:
        parts.append(
            ngettext(
                "{count} unsaved change in rows hidden by the filter",
                "{count} unsaved changes in rows hidden by the filter",
                hidden,
            ).format(count=hidden)
        )
    if elsewhere:
        parts.append(
            ngettext(
                "{count} unsaved change on other pages of the table",
                "{count} unsaved changes on other pages of the table",
                elsewhere,
            ).format(count=elsewhere)
        )
    return (" " + "; ".join(parts) + ".") if parts else ""


def pending_bar(save, snap: dict, query) -> None:
    """ "N unsaved changes" with Save and Discard, shown whichever page of the table is shown,
    naming the changes in rows the filter or the page hides (they are saved too)."""
    pending = st.session_state.get(PENDING_EDITS, {})
    count = pending_edits.change_count(pending)
    text = st.container()  # the message on a line of its own, the buttons whole below it
    buttons = st.container(horizontal=True)
    if count:
        text.warning(
            _unsaved_sentence(pending, KEPT_SENTENCE) + unseen_note(pending, snap, query),
            icon=":material/edit_note:",
        )
    else:
        text.caption(_("No unsaved changes."))
    if buttons.button(
        _("Save changes")
        + " "
        + ngettext("({count} batch)", "({count} batches)", len(pending)).format(count=len(pending)),
        type="primary",
        disabled=not count,
        key="save_batches",
    ):
        save(pending_edits.pending_edits(pending))
    # Discarding throws away work the user may not even see (other pages, hidden rows): ask.
    if buttons.button(_("Discard"), disabled=not count, key="discard_batches"):
        st.session_state[DISCARD_CONFIRM] = True
    if not count:
        forget(DISCARD_CONFIRM)  # saved or discarded meanwhile: nothing left to ask about
    elif st.session_state.get(DISCARD_CONFIRM):
        # The title is translated when it opens, so it follows the session's language.
        st.dialog(_("Discard unsaved changes?"), on_dismiss=lambda: forget(DISCARD_CONFIRM))(
            _discard_question
        )(pending, snap, query)


# The sentence's form follows the number of changes (a Spanish verb and participle agree with
# them: "Se perderá 1 cambio", "conservado"), the batches' their own words ("en 2 lotes").
KEPT_SENTENCE = Nn_(
    "{count} unsaved change in {batches}, kept until you save or discard it.",
    "{count} unsaved changes in {batches}, kept until you save or discard them.",
)
LOST_SENTENCE = Nn_(
    "{count} unsaved change in {batches} will be lost.",
    "{count} unsaved changes in {batches} will be lost.",
)


def _unsaved_sentence(pending: dict, forms: tuple[str, str]) -> str:
    """One of the sentences above with the pending edits' counts, each noun and verb in the
    form its own number asks for."""
    count = pending_edits.change_count(pending)
    batches = ngettext("{count} batch", "{count} batches", len(pending))
    return ngettext(*forms, count).format(count=count, batches=batches.format(count=len(pending)))


def _discard_question(pending: dict, snap: dict, query) -> None:
    """Say how many changes on how many batches would be lost (those out of view too), then
    discard them or keep them."""
    st.write(_unsaved_sentence(pending, LOST_SENTENCE) + unseen_note(pending, snap, query))
    yes, no = st.columns(2)
    if yes.button(_("Discard them"), type="primary", key="discard_yes"):
        forget(DISCARD_CONFIRM)
        discard()
        st.rerun()
    if no.button(_("Keep them"), key="discard_no"):
        forget(DISCARD_CONFIRM)
        st.rerun()
