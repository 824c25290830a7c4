"""How fields and figures are named on every screen, and sizes people can read.

One place, so the Sync page, the Dashboard, the Team page and the command line call the same
thing by the same name ("With masks", never "Done" for batches that only have masks). The
labels are marked for the interface's catalog (`N_`): the app shows them translated, the
command line as written.
"""

from __future__ import annotations

from segcore.core.errors import N_

# Stored or reported field -> the label every table uses for it.
FIELD_LABELS = {
    "filename": N_("File"),
    "uploaded_by": N_("Uploaded by"),
    "upload_date": N_("Uploaded at"),
    "size": N_("Size"),
    "batches": N_("Batches"),
    "assignee": N_("Assignee"),
    "started_at": N_("Started at"),
    "mode": N_("Trigger"),
    "kind": N_("Kind"),
    "status": N_("Status"),
    "duration_s": N_("Duration (s)"),
    "total_files": N_("Files"),
    "new_files": N_("New files"),
    "removed_files": N_("Removed files"),
    "batches_with_masks": N_("With masks"),
    "batches_without_masks": N_("Without masks"),
    "batches_updated": N_("Batches updated"),
    "status_moves": N_("Statuses moved"),
    "orphans": N_("Orphans"),
    "unmatched": N_("Unmatched"),
    "mismatches": N_("Other uploader"),
    "author": N_("Started by"),
    "error": N_("Error"),
    "unusable": N_("Unusable records"),  # file documents that count for no batch, not masks
    "problem": N_("Problem"),
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


def stored_names(value: object) -> list[str]:
    """Names a receipt stores as a list (`missing`, `extra`, `batches`, `other_files`) as texts
    to show, whatever an older version or a hand edit left there: each item of a list as its
    text (a null as None), a single text or number as one item (never letter by letter),
    nothing for none."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [str(value)]


def run_kind(run: dict) -> str:
    """ "Full (why)" or "Incremental" for a recorded sync run; "" for a run that never got far."""
    if run.get("status") == "running" or "full" not in run:
        return ""
    if not run.get("full"):
        return "Incremental"
    reason = run.get("full_reason")
    return f"Full ({reason})" if reason else "Full"
