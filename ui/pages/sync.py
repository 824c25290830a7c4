"""Sync: match the batch list with the uploaded masks, now or every N minutes; runs and uploads."""

import streamlit as st

from ui import reads
from ui.actions import run_write
from ui.connection import scheduler
from ui.state import SYNC_LAST_REPORT, can_write
from ui.sync_actions import sync_now
from ui.widgets import page_start, upload_models_notice

COUNTS = {"total_files": "Files", "batches_with_masks": "With masks",
          "batches_without_masks": "Without masks", "batches_updated": "Updated",
          "orphans": "Orphans", "unmatched": "Unmatched", "mismatches": "Other uploader"}
databases = page_start("Sync")

if can_write():  # a viewer looks at runs and uploads only
    left, right = st.columns([2, 3])
    with left.container(border=True):
        st.write("Match every batch with the files in "
                 f"`{databases.training.name}.{databases.settings.masks_bucket}.files`.")
        full = st.checkbox("Full rescan (re-read every upload)", key="sync_full")
        if st.button("Sync now", type="primary", icon=":material/sync:", key="sync_now"):
            sync_now(databases, full)
    with right.container(border=True):
        auto = scheduler()
        minutes = st.number_input("Automatic sync every N minutes while the app runs (0 = off)",
                                  0, 1440, int(auto.minutes), key="auto_minutes")
        if st.button("Apply", key="auto_apply"):
            run_write("Applying", auto.set_minutes, minutes,
                      then=f"Automatic sync every {minutes} minutes." if minutes
                      else "Automatic sync is off.")
        st.caption(f"Next automatic run: {auto.next_run:%Y-%m-%d %H:%M}" if auto.next_run
                   else "Automatic sync is off.")
        if auto.last_outcome:
            st.caption(f"Last automatic run at {auto.last_at:%H:%M}: {auto.last_outcome}")

report = st.session_state.get(SYNC_LAST_REPORT)
if report:
    st.subheader(f"Report of the sync at {report['started_at']:%Y-%m-%d %H:%M:%S} UTC "
                 f"({report['duration_s']:.1f} s, {'full' if report['full'] else 'incremental'})")
    for column, (field, label) in zip(st.columns(len(COUNTS)), COUNTS.items()):
        column.metric(label, f"{report[field]:,}")
    for field, title in (("orphan_uploads", "Orphan uploads (name a batch not in the list)"),
                         ("unmatched_uploads", "Unmatched uploads (name no batch)"),
                         ("mismatched_uploads", "Uploaded by someone other than the assignee")):
        if report[field]:
            st.markdown(f"**{title}**")
            st.dataframe(report[field], hide_index=True)

st.subheader("Runs")
runs = reads.sync_runs(20)
columns = ["started_at", "mode", "status", "duration_s", "total_files", "batches_updated",
           "orphans", "unmatched", "mismatches", "author", "error"]
if runs:
    st.dataframe([{c: r.get(c) for c in columns} for r in runs], hide_index=True,
                 column_config={c: c.replace("_s", " (s)").replace("_", " ").capitalize()
                                for c in columns})
else:
    st.caption("No sync has run yet.")

st.subheader("Most recent uploads")
upload_models_notice()
found, problem = reads.recent_uploads.or_problem(50)
if problem:
    st.warning(f"Uploads cannot be read right now. {problem}")
elif found:
    st.dataframe(found, hide_index=True, column_config={
        "filename": "File", "size_mb": "Size (MB)", "uploaded_by": "Uploader",
        "upload_date": "Date", "batches": "Batch"})
else:
    st.caption("No uploads yet.")
