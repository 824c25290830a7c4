"""Batches: filter, edit assignments in a table, bulk actions, CSV export, history."""

import pandas as pd
import streamlit as st

from segcore import batch_table, batches
from segcore.batches import MASK_STATES, PRIORITIES, STATUSES, UNASSIGNED, UNCHECKED, BatchQuery
from segcore.timefmt import office_time
from ui import batch_actions, mask_actions, reads
from ui.actions import clear_caches
from ui.connection import settings
from ui.state import SAVE_CONFLICTS, can_write
from ui.widgets import page_start

ANY, MASKS = "All", {"Any": None, "With masks": True, "Without masks": False}
databases = page_start("Batches")
team = reads.team_names()


def first_page():
    st.session_state["batch_page"] = 1


cols = st.columns([1, 1, 1, 1, 1.3, 1, 0.7])
who = cols[0].selectbox("Segmentador", [ANY, UNASSIGNED, *team], key="bf_who", on_change=first_page)
status = cols[1].selectbox("Status", [ANY, *STATUSES], key="bf_status", on_change=first_page)
masks = cols[2].selectbox("Masks", list(MASKS), key="bf_masks", on_change=first_page)
check = cols[3].selectbox("Mask check", [ANY, *MASK_STATES, UNCHECKED], key="bf_check",
                          on_change=first_page)
text = cols[4].text_input("Batch id contains", key="bf_text", on_change=first_page)
sort = cols[5].selectbox("Sort by", list(batches.SORTS), key="bf_sort", on_change=first_page,
                         format_func=lambda s: s.replace("_", " "))
size = cols[6].selectbox("Rows", [50, 100, 200], index=1, key="bf_size", on_change=first_page)
query = BatchQuery(assignee=None if who == ANY else who, status=None if status == ANY else status,
                   has_masks=MASKS[masks], text=text or None,
                   mask_state=None if check == ANY else check)
snap = batch_actions.batch_snapshot(query, sort, st.session_state.get("batch_page", 1), size)
if snap["page"] > snap["pages"]:  # the filter now matches fewer pages than the one shown
    st.session_state["batch_page"] = snap["pages"]
    snap = batch_actions.batch_snapshot(query, sort, snap["pages"], size)
docs = snap["rows"]

nav = st.columns([1, 3, 1.2, 1.2])
nav[0].number_input("Page", 1, snap["pages"], key="batch_page")
nav[1].caption(f"{snap['total']:,} batches match · page {snap['page']} of {snap['pages']}")
if nav[2].button("Reload", icon=":material/refresh:"):
    clear_caches()
    st.rerun()
nav[3].download_button("Export CSV", lambda: batch_actions.export_csv(query), "batches.csv",
                       "text/csv", on_click="ignore", icon=":material/download:")

zone = settings().zone  # upload times in the office's time zone
frame = pd.DataFrame([{"select": False, **batch_table.table_row(d, zone)} for d in docs],
                     columns=["select", *batch_table.COLUMNS])
statuses = list(STATUSES) + sorted({s for s in frame["status"].dropna()} - set(STATUSES))
cfg = st.column_config
# A viewer gets the same table, read only, and none of the controls that change anything.
writable = can_write()
table = st.data_editor if writable else st.dataframe
options = {"key": batch_actions.editor_key(), "num_rows": "fixed",
           "disabled": ["id", "folder", "masks", "file_count", "masks_vs_images", "mask_state",
                        "latest_upload"]} if writable else {}
table(frame if writable else frame.drop(columns="select"), hide_index=True, **options,
      column_config={
    "select": cfg.CheckboxColumn("✓", width="small"), "id": cfg.TextColumn("Batch"),
    "folder": cfg.TextColumn("Folder"),
    "assignee": cfg.SelectboxColumn("Assignee", options=team),
    "status": cfg.SelectboxColumn("Status", options=statuses, required=True),
    "priority": cfg.SelectboxColumn("Priority", options=list(PRIORITIES)),
    "due_date": cfg.DateColumn("Due date", format="YYYY-MM-DD"),
    "file_count": cfg.NumberColumn("Files"), "masks": cfg.CheckboxColumn("Masks"),
    "masks_vs_images": cfg.TextColumn("Masks vs images", help="Images with a mask / images in "
                                      "the folder (Sync page: Check masks)"),
    "mask_state": cfg.TextColumn("Mask check"),
    "latest_upload": cfg.DatetimeColumn("Latest upload", format="YYYY-MM-DD HH:mm")})
changes = st.session_state.get(batch_actions.editor_key(), {}).get("edited_rows", {})
edits = batch_table.edits_from_changes(docs, changes)

if writable and st.button(f"Save changes ({len({e.batch_id for e in edits})} batches)",
                          type="primary", disabled=not edits, key="save_batches"):
    batch_actions.save(databases, edits)

if st.session_state.get(SAVE_CONFLICTS):
    st.subheader("Not saved: changed by someone else meanwhile")
    st.dataframe(st.session_state[SAVE_CONFLICTS], hide_index=True)
    if st.button("Dismiss conflicts"):
        st.session_state[SAVE_CONFLICTS] = []
        st.rerun()

if writable:
    batch_actions.bulk_actions(databases, team, batch_table.selected_ids(docs, changes))
with st.expander("Masks of a batch"):
    mask_actions.show_batch_masks([d["id"] for d in docs])
with st.expander("History of a batch"):
    chosen = st.selectbox("Batch", [d["id"] for d in docs], index=None, key="history_of")
    if chosen:
        st.dataframe([{**h, "at": office_time(h.get("at"), zone, "%Y-%m-%d %H:%M:%S")}
                      for h in reads.batch_history(chosen)], hide_index=True)
