"""Batches: filter, edit assignments in a table, bulk actions, CSV export, history."""

from datetime import date

import streamlit as st

from segcore.report import alerts
from segcore.work import batches
from segcore.work.batches import MASK_STATES, STATUSES, UNASSIGNED, UNCHECKED, BatchQuery
from ui.app import labels, reads
from ui.app.actions import clear_caches
from ui.app.i18n import N_, _, choice_hint, format_number, ngettext
from ui.app.live import follow_changes
from ui.app.state import ARRIVED, SAVE_CONFLICTS, can_write
from ui.app.widgets import page_start, relabel_when_changed, resend_choices
from ui.batches import batch_actions, batch_details, batch_grid, bulk_edit, late, spreadsheet_export
from ui.batches.receipt_views import review_form
from ui.batches.spreadsheet_export import SEPARATORS, cell, default_separator
from ui.sync import content_actions, mask_actions

ANY = "All"
MASKS = {"Any": None, "With masks": True, "Without masks": False}
FOLDER = {"All": None, "Missing": True, "Present": False}
ORDER = {"Ascending": N_("Ascending"), "Descending": N_("Descending")}
CHOICES = (*late.CLEARED, "bf_late", "bf_problems", "bf_sort", "bf_order", "bf_size", "batch_page")
databases = page_start(N_("Batches"))
team = reads.team_names()
writable = can_write()
batch_grid.fold_editor_edits(team)  # first: the edits belong to the page of rows shown last
# New masks and others' edits; the team too: the people's labels and choices come from it.
follow_changes("batches", ("batches", "team"), on_change=batch_grid.reload_rows)
former = reads.former_members()
people = reads.person_choices(team)  # one per person: "flor" and "Flor " are Flor
relabel_when_changed("batches", (tuple(team), tuple(sorted(former))))  # people's labels
stored_statuses = [s for s in reads.stored_values("status") if s not in STATUSES]


def first_page():
    st.session_state["batch_page"] = 1


late.apply_link_filters(
    [UNASSIGNED, *people]
)  # a link from the Dashboard's Attention panel: its filters first
if st.session_state[ARRIVED]:  # the browser drew another page meanwhile: show what applies
    resend_choices(CHOICES)
st.session_state.setdefault("bf_size", 100)  # (not `index`: a value sent again would clash)
# Rows of at most four: seven filters in one row cut their values in a laptop's 800 px window.
cols = st.columns(4) + st.columns([1, 1, 2])
nav = st.columns(4, vertical_alignment="bottom")
# Options are the stored values (and "All"); only their labels are translated.
who = cols[0].selectbox(
    _("Segmentador"),
    [ANY, UNASSIGNED, *people],
    key="bf_who",
    on_change=first_page,
    format_func=lambda n: (
        labels.special(n) if n in (ANY, UNASSIGNED) else labels.person(n, team, former)
    ),
    placeholder=choice_hint([ANY, UNASSIGNED, *people]),
)
status = cols[1].selectbox(
    _("Status"),
    [ANY, *STATUSES, *stored_statuses],
    key="bf_status",
    on_change=first_page,
    format_func=lambda s: labels.special(s) if s == ANY else labels.status(s),
    placeholder=choice_hint([ANY, *STATUSES, *stored_statuses]),
)
lateness = cols[2].selectbox(
    _("Late"),
    [ANY, *alerts.LATE_KINDS],
    key="bf_late",
    on_change=first_page,
    format_func=labels.late,
    help=_(
        "Overdue: the due date has passed. At risk: the holder "
        "will not reach it by its due date at their pace. Held by "
        "stalled people: nothing delivered for a while."
    ),
    placeholder=choice_hint([ANY, *alerts.LATE_KINDS]),
)
masks = cols[3].selectbox(
    _("Masks"),
    list(MASKS),
    key="bf_masks",
    on_change=first_page,
    format_func=labels.masks,
    placeholder=choice_hint(list(MASKS)),
)
folder = cols[4].selectbox(
    _("Folder"),
    list(FOLDER),
    key="bf_folder",
    on_change=first_page,
    format_func=labels.folder,
    placeholder=choice_hint(list(FOLDER)),
)
check = cols[5].selectbox(
    _("Mask check"),
    [ANY, *MASK_STATES, UNCHECKED],
    key="bf_check",
    on_change=first_page,
    format_func=lambda s: labels.special(s) if s == ANY else labels.mask_state(s),
    placeholder=choice_hint([ANY, *MASK_STATES, UNCHECKED]),
)
text = cols[6].text_input(_("Batch id contains"), key="bf_text", on_change=first_page)
problems = st.toggle(
    _("Mask problems"),
    key="bf_problems",
    on_change=first_page,
    help=_(
        "Only batches whose masks a content check found wrong: another size "
        "than the image, empty, or labels outside the agreed ones."
    ),
)
sort = nav[1].selectbox(
    _("Sort by"),
    list(batches.SORTS),
    key="bf_sort",
    on_change=first_page,
    format_func=labels.sort,
    placeholder=choice_hint(list(batches.SORTS)),
)
order = nav[2].selectbox(
    _("Order"),
    ["Ascending", "Descending"],
    key="bf_order",
    on_change=first_page,
    help=_("Empty values come last either way."),
    format_func=lambda o: _(ORDER[o]),
    placeholder=choice_hint(["Ascending", "Descending"]),
)
size = nav[3].selectbox(
    _("Rows"),
    [50, 100, 200],
    key="bf_size",
    on_change=first_page,
    placeholder=choice_hint([50, 100, 200]),
)
query = BatchQuery(
    assignee=None if who == ANY else who,
    status=None if status == ANY else status,
    has_masks=MASKS[masks],
    text=text or None,
    folder_missing=FOLDER[folder],
    mask_state=None if check == ANY else check,
    mask_problems=True if problems else None,
    only=late.late_ids(lateness),
)
descending = order == "Descending"
page = st.session_state.get("batch_page", 1)
snap = batch_actions.batch_snapshot(query, sort, descending, page, size)
if snap["page"] > snap["pages"]:  # the filter now matches fewer pages than the one shown
    st.session_state["batch_page"] = snap["pages"]
    snap = batch_actions.batch_snapshot(query, sort, descending, snap["pages"], size)

nav[0].number_input(_("Page"), 1, snap["pages"], key="batch_page")
matches = st.container()
actions = st.container(horizontal=True)
matches.caption(
    ngettext(
        "{count} batch matches · page {page} of {pages}",
        "{count} batches match · page {page} of {pages}",
        snap["total"],
    ).format(count=format_number(snap["total"]), page=snap["page"], pages=snap["pages"])
)
if actions.button(_("Reload"), icon=":material/refresh:"):
    clear_caches()
    st.rerun()
with actions.popover(_("Export"), icon=":material/download:"):
    st.download_button(
        _("CSV (field names, for scripts)"),
        lambda: batch_actions.export_csv(query),
        "batches.csv",
        "text/csv",
        on_click="ignore",
        key="export_csv",
    )
    separator = st.radio(
        _("List separator for a spreadsheet"),
        list(SEPARATORS),
        index=list(SEPARATORS).index(default_separator()),
        format_func=lambda s: _(SEPARATORS[s]),
        key="export_separator",
    )
    st.download_button(
        _("For a spreadsheet (Excel), in this language"),
        spreadsheet_export.on_click(query, separator),
        "batches-excel.csv",
        "text/csv",
        on_click="ignore",
        key="export_spreadsheet",
        help=_(
            "Headers and values as the table shows them, dates as "
            "{example}; UTF-8, so accents open right."
        ).format(example=cell("due_date", date(2026, 11, 26))),
    )
if writable:  # a viewer gets the same table, read only, and no controls that change anything
    batch_grid.pending_bar(lambda edits: batch_actions.save(databases, edits), snap, query)
batch_grid.show_grid(snap, team, writable)

if st.session_state.get(SAVE_CONFLICTS):
    st.subheader(_("Not saved: changed by someone else meanwhile"))
    st.dataframe(batch_actions.conflict_rows(st.session_state[SAVE_CONFLICTS]), hide_index=True)
    if st.button(_("Dismiss conflicts")):
        st.session_state[SAVE_CONFLICTS] = []
        st.rerun()

if writable:
    ticked = batch_grid.ticked_ids(snap)
    batch_grid.hidden_ticks_note(snap)
    seen = batch_grid.ticked_as_seen()  # what a click acts on: the rows ticked on screen
    batch_actions.bulk_actions(databases, team, ticked, seen)
    bulk_edit.bulk_edit(
        databases,
        [d for d in snap["rows"] if str(d.get("id")) in ticked],
        seen,
        query,
        sort,
        descending,
    )
    review_form(
        databases,
        [d["id"] for d in snap["rows"] if d.get("mongo_uploaded")],
        {d["id"]: d.get("status") for d in snap["rows"]},
    )
batch_details.batch_details(team)
with st.expander(_("Masks of a batch")):
    chosen = mask_actions.show_batch_masks([d["id"] for d in snap["rows"]])
    if chosen:
        content_actions.show_batch_content(databases, chosen)
