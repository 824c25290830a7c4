"""One batch as a person reads it: its stored fields labelled and worded, and its history.

Any batch by id, not only those on the page shown. Stored values are never changed: a legacy
status shows as stored, a field this app does not know keeps its stored name; times are the
office's (TIMEZONE), yes/no in words, nested values spelled out (never a dict, never "None").
"""

from __future__ import annotations

import re
from datetime import date, datetime

import streamlit as st

from segcore.core.phrases import Phrase
from segcore.core.timefmt import parse_date, zone_name
from segcore.views import batch_table
from segcore.work.review import MOVE_ENTRY, REASON_PHRASE, hours_to_fix
from ui.app import labels, reads
from ui.app.connection import settings
from ui.app.i18n import N_, _, format_date, format_datetime, format_number, word
from ui.batches.receipt_views import show_receipts

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

# Stored path -> its label; in this order, the rest after them as stored.
FIELDS = {
    "id": N_("Batch"),
    "assignee": N_("Assignee"),
    "status": N_("Status"),
    "metadata.priority": N_("Priority"),
    "metadata.due_date": N_("Due date"),
    "metadata.assigned_at": N_("Assigned on"),
    "folder_missing": N_("Folder missing"),
    "image_count": N_("Images in the folder"),
    "mongo_uploaded": N_("Masks uploaded"),
    "training_metrics_info.file_count": N_("Files uploaded"),
    "training_metrics_info.first_upload": N_("First upload"),
    "training_metrics_info.latest_upload": N_("Latest upload"),
    "training_metrics_info.files": N_("Uploaded files (first ones)"),
    "mask_check.state": N_("Mask check"),
    "masks_vs_images": N_("Masks vs images"),
    "mask_check.missing": N_("Images without a mask (first ones)"),
    "mask_check.extra": N_("Masks without an image (first ones)"),
    "mask_check.not_images": N_("Files that are not images (first ones)"),
    "mask_check.checked_at": N_("Masks checked at"),
    "created_at": N_("Created at"),
    # written by review and rework (segcore.work.review)
    "rework_reason": N_("Why it needs rework"),
    "review.sent_back": N_("Times sent back"),
    "review.last_sent_back_at": N_("Last sent back at"),
    "review.accepted_at": N_("Accepted at"),
    "review.hours_to_accept": N_("Hours from first upload to accepted"),
    "review.note": N_("Review note"),
}
# Stored but of no use to a reader (internal keys, or shown another way).
# The content checks' sum (`mask_content`) is shown mask by mask under "Masks of a batch".
SKIPPED = {
    "_id",
    "folder",
    "number",
    "mask_check",
    "training_metrics_info",
    "metadata",
    "review",
    "mask_content",
    "rework_reason_phrase",  # worded under rework_reason
    MOVE_ENTRY,  # segcore's own mark of its last status move, not the coordinator's business
}
HISTORY_COLUMNS = {
    "at": N_("At"),
    "kind": N_("Kind"),
    "field": N_("Field"),
    "old": N_("Old"),
    "new": N_("New"),
    "author": N_("Author"),
    "reason": N_("Reason"),
}
EDITED_FIELDS = {
    "assignee": N_("Assignee"),
    "status": N_("Status"),
    "priority": N_("Priority"),
    "due_date": N_("Due date"),
}


def worded(value: object) -> str:
    """Any stored value as text for a person: office time, yes/no, lists and nested values
    spelled out; blank for nothing."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, (int, float)):
        return format_number(value, 0 if isinstance(value, int) else 2)
    if isinstance(value, (list, tuple)):
        return ", ".join(worded(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {worded(v)}" for k, v in value.items() if worded(v))
    return str(value)


def _get(doc: dict, path: str) -> object:
    value: object = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _as_day(value: object) -> object:
    """A day stored as a date, or as the "YYYY-MM-DD" text the dashboard writes: the day it
    names, in the reader's date format as the grid and history show days; any other stored
    text ("next friday", "2026-02-30") as it is."""
    if isinstance(value, datetime) or (isinstance(value, str) and ISO_DAY.fullmatch(value)):
        return parse_date(value) or value
    return value


def detail_rows(doc: dict, team: list[str]) -> list[dict]:
    """The batch's fields as (label, value) rows, in the session's language."""
    shown = {path: _get(doc, path) for path in FIELDS}
    shown["masks_vs_images"] = batch_table.masks_vs_images(doc.get("mask_check"))
    shown["assignee"] = labels.person(doc.get("assignee"), team, reads.former_members())
    shown["status"] = labels.status(doc.get("status"))
    shown["metadata.priority"] = labels.priority(_get(doc, "metadata.priority"))
    shown["mask_check.state"] = labels.mask_state(_get(doc, "mask_check.state"))
    not_images = _get(doc, "mask_check.not_images")
    shown["mask_check.not_images"] = ", ".join(
        labels.not_image(item) for item in not_images or () if isinstance(item, dict)
    )
    # a sync's reason in the reader's language; a coordinator's note as typed
    shown["rework_reason"] = word(Phrase.from_doc(doc.get(REASON_PHRASE), doc.get("rework_reason")))
    shown["review.hours_to_accept"] = hours_to_fix(shown.get("review.hours_to_accept"))
    for path in ("metadata.due_date", "metadata.assigned_at"):
        shown[path] = _as_day(shown.get(path))
    rows = [
        (_(FIELDS[path]), worded(value))
        for path, value in shown.items()
        if value is not None and value != ""
    ]
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    others = [(key, value) for key, value in doc.items() if key not in SKIPPED | set(FIELDS)]
    others += [(key, value) for key, value in meta.items() if f"metadata.{key}" not in FIELDS]
    rows += [(key, worded(value)) for key, value in others if worded(value)]
    return [{_("Field"): label, _("Value"): text} for label, text in rows]


def history_row(entry: dict) -> dict:
    """One history entry as a row: office time, values worded, headers in the session's
    language."""
    shown = {**entry, "at": format_datetime(entry.get("at"))}
    shown["author"] = labels.author(shown.get("author"))
    if "reason" in shown:  # a phrase (an applied move's reason) in the session's language
        shown["reason"] = word(shown["reason"])
    field = shown.get("field")
    if field in EDITED_FIELDS:
        shown["field"] = _(EDITED_FIELDS[field])
    for key in ("old", "new"):
        value = shown.get(key)
        shown[key] = (
            labels.status(value)
            if field == "status" and value
            else labels.priority(value)
            if field == "priority" and value
            else worded(value)
        )
    return {
        _(header): worded(shown.get(key)) if key not in ("at", "old", "new") else shown.get(key)
        for key, header in HISTORY_COLUMNS.items()
    }


def batch_details(team: list[str]) -> None:
    """Any batch by id: its folder in full, its fields worded, its history."""
    with st.expander(_("Batch details and history")):
        typed = st.text_input(_("Batch id"), key="history_of", placeholder="batch_400").strip()
        if not typed:
            return
        doc = reads.batch_detail(typed)
        if doc is None:
            st.info(_("There is no batch '{id}'.").format(id=typed))
            return
        zone = settings().zone
        folder = doc.get("folder") or _("(none stored)")  # outside the f-string: extracted
        st.markdown("**" + _("Folder:") + f"** `{folder}`")
        st.dataframe(detail_rows(doc, team), hide_index=True)
        st.markdown("**" + _("Receipts") + "**")
        show_receipts(reads.receipts((typed,)), _("No upload of this batch has a receipt yet."))
        st.caption(_("History, times in {zone}").format(zone=zone_name(zone)))
        st.dataframe([history_row(h) for h in reads.batch_history(typed)], hide_index=True)
