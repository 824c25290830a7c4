"""How fields and figures are named on every screen, and sizes people can read.

One place, so the Sync page, the Dashboard, the Team page and the command line call the same
thing by the same name ("With masks", never "Done" for batches that only have masks).
"""

from __future__ import annotations

# Stored or reported field -> the label every table uses for it.
FIELD_LABELS = {
    "filename": "File", "uploaded_by": "Uploaded by", "upload_date": "Uploaded at",
    "size": "Size", "batches": "Batches", "assignee": "Assignee",
    "started_at": "Started at", "mode": "Trigger", "kind": "Kind", "status": "Status",
    "duration_s": "Duration (s)", "total_files": "Files", "new_files": "New files",
    "removed_files": "Removed files", "batches_with_masks": "With masks",
    "batches_without_masks": "Without masks", "batches_updated": "Batches updated",
    "status_moves": "Statuses moved", "orphans": "Orphans", "unmatched": "Unmatched",
    "mismatches": "Other uploader", "author": "Started by", "error": "Error",
}

_UNITS = ("bytes", "KB", "MB", "GB", "TB")


def human_size(length: object) -> str:
    """A size in bytes as people read it: "512 bytes", "12.5 KB", "1.3 GB" ("" when unknown).

    Powers of 1024, as file managers show them; never rounds a small file to "0 MB".
    """
    if isinstance(length, bool) or not isinstance(length, (int, float)) or length < 0:
        return ""
    size, unit = float(length), 0
    while size >= 1024 and unit < len(_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    if unit == 0:
        return f"{int(size)} byte" + ("" if int(size) == 1 else "s")
    return f"{size:.1f} {_UNITS[unit]}" if size < 100 else f"{size:.0f} {_UNITS[unit]}"


def run_kind(run: dict) -> str:
    """"Full (why)" or "Incremental" for a recorded sync run; "" for a run that never got far."""
    if run.get("status") == "running" or "full" not in run:
        return ""
    if not run.get("full"):
        return "Incremental"
    reason = run.get("full_reason")
    return f"Full ({reason})" if reason else "Full"
