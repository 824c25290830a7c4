"""The sync page's "Sync now" (a progress bar, then the report kept in the session), and its
tables of uploads and runs under the labels every screen uses."""

from __future__ import annotations

import streamlit as st

from segcore import sync
from segcore.connection import Databases
from segcore.labels import FIELD_LABELS, human_size, run_kind
from segcore.timefmt import office_time
from ui.actions import run_write
from ui.connection import settings
from ui.state import SYNC_LAST_REPORT, current_actor


def _synced(report) -> str:
    st.session_state[SYNC_LAST_REPORT] = report.as_dict(details=True)
    return (f"Sync finished in {report.duration_s:.1f} s: {report.batches_updated} batches "
            f"updated, {report.total_files} files.")


def sync_now(databases: Databases, full: bool) -> None:
    """Run a sync with a progress bar; a failure (or a sync already running) replaces the bar."""
    slot = st.empty()
    bar = slot.progress(0.0, text="Starting the sync…")
    run_write("Syncing", sync.run_sync, databases, full=full, mode="manual",
              author=current_actor(), then=_synced, slot=slot,
              progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m))



def upload_rows(uploads: list[dict], with_assignee: bool = False) -> list[dict]:
    """Upload findings or recent uploads as table rows: the shared labels, office time, and
    sizes in KB/MB/GB (a small file is "12.0 KB", never "0 MB")."""
    zone = settings().zone
    rows = []
    for upload in uploads:
        size = upload.get("size_bytes")
        if size is None and upload.get("size_mb") is not None:  # runs recorded before sizes
            size = round(upload["size_mb"] * 1048576)
        row = {FIELD_LABELS["filename"]: upload.get("filename"),
               FIELD_LABELS["uploaded_by"]: upload.get("uploaded_by") or "",
               FIELD_LABELS["upload_date"]: office_time(upload.get("upload_date"), zone),
               FIELD_LABELS["size"]: human_size(size),
               FIELD_LABELS["batches"]: ", ".join(upload.get("batches") or [])}
        if with_assignee:
            row[FIELD_LABELS["assignee"]] = upload.get("assignee") or ""
        rows.append(row)
    return rows


RUN_COLUMNS = ("started_at", "kind", "mode", "status", "duration_s", "total_files",
               "new_files", "removed_files", "batches_updated", "status_moves", "orphans",
               "unmatched", "mismatches", "author", "error")


def run_rows(runs: list[dict]) -> list[dict]:
    """Recorded runs as table rows: when (office time), incremental or full and why, counts."""
    zone = settings().zone
    rows = []
    for run in runs:
        values = {**run, "kind": run_kind(run),
                  "started_at": office_time(run.get("started_at"), zone, "%Y-%m-%d %H:%M:%S")}
        rows.append({FIELD_LABELS[c]: values.get(c) for c in RUN_COLUMNS})
    return rows
