"""The sync page's "Sync now" (a progress bar, then the report kept in the session), the
automatic schedule's controls, and its tables of uploads and runs under the labels every
screen uses."""

from __future__ import annotations

import streamlit as st

from segcore.store.connection import Databases
from segcore.sync import sync
from segcore.sync.live.schedule import SyncScheduler
from segcore.sync.records.sync_runs import full_reason_of
from segcore.views.labels import FIELD_LABELS, human_size, run_kind
from ui.app import labels
from ui.app.actions import run_write
from ui.app.connection import settings
from ui.app.i18n import N_, _, format_datetime, format_number, ngettext, word
from ui.app.state import SYNC_LAST_REPORT, current_actor


def _synced(report) -> str:
    st.session_state[SYNC_LAST_REPORT] = report.as_dict(details=True)
    updated, files = report.batches_updated, report.total_files
    return _("Sync finished in {seconds} s: {batches}, {files}.").format(
        seconds=format_number(report.duration_s, 1),
        batches=ngettext("{count} batch updated", "{count} batches updated", updated).format(
            count=format_number(updated)
        ),
        files=ngettext("{count} file", "{count} files", files).format(count=format_number(files)),
    )


def sync_now(databases: Databases, full: bool) -> None:
    """Run a sync with a progress bar; a failure (or a sync already running) replaces the bar."""
    slot = st.empty()
    bar = slot.progress(0.0, text=_("Starting the sync…"))
    run_write(
        _("Syncing"),
        sync.run_sync,
        databases,
        full=full,
        mode="manual",
        author=current_actor(),
        then=_synced,
        slot=slot,
        progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=word(m)),
    )


def schedule_controls(auto: SyncScheduler) -> None:
    """The interval of the automatic sync while the app runs, and how its last run went."""
    zone = settings().zone
    minutes = st.number_input(
        _("Automatic sync every N minutes while the app runs (0 = off)"),
        0,
        1440,
        int(auto.minutes),
        key="auto_minutes",
    )
    if st.button(_("Apply"), key="auto_apply"):
        run_write(
            _("Applying"),
            auto.set_minutes,
            minutes,
            current_actor(),
            then=ngettext(
                "Automatic sync every minute.", "Automatic sync every {minutes} minutes.", minutes
            ).format(minutes=minutes)
            if minutes
            else _("Automatic sync is off."),
        )
    # The scheduler keeps the server's local time: astimezone() reads it as such.
    st.caption(
        _("Next automatic run: {when}").format(when=format_datetime(auto.next_run.astimezone(zone)))
        if auto.next_run
        else _("Automatic sync is off.")
    )
    if auto.last_outcome:
        st.caption(
            _("Last automatic run at {time}: {outcome}").format(
                time=f"{auto.last_at.astimezone(zone):%H:%M}", outcome=word(auto.last_outcome)
            )
        )


def upload_rows(uploads: list[dict], with_assignee: bool = False) -> list[dict]:
    """Upload findings or recent uploads as table rows: the shared labels, office time, and
    sizes in KB/MB/GB (a small file is "12.0 KB", never "0 MB")."""
    rows = []
    for upload in uploads:
        size = upload.get("size_bytes")
        if size is None and upload.get("size_mb") is not None:  # runs recorded before sizes
            size = round(upload["size_mb"] * 1048576)
        row = {
            label("filename"): upload.get("filename"),
            label("uploaded_by"): upload.get("uploaded_by") or "",
            label("upload_date"): format_datetime(upload.get("upload_date")),
            # a stored length that is not a size (the problem names it) is unknown, never "0 bytes"
            label("size"): human_size(size) or _("unknown"),
            label("batches"): ", ".join(upload.get("batches") or []),
        }
        if with_assignee:
            row[label("assignee")] = upload.get("assignee") or ""
        if upload.get("problem"):
            row[label("problem")] = upload["problem"]
        rows.append(row)
    return rows


TRIGGERS = {
    "manual": N_("Manual"),
    "scheduled": N_("Scheduled"),
    "cron": N_("Cron"),
    "cli": N_("Command line"),
    "live": N_("Live sync"),
}
RUN_STATUS = {
    "ok": N_("OK"),
    "failed": N_("Failed"),
    "running": N_("Running"),
    "interrupted": N_("Interrupted"),
}
RUN_COLUMNS = (
    "started_at",
    "kind",
    "mode",
    "status",
    "duration_s",
    "total_files",
    "new_files",
    "removed_files",
    "batches_updated",
    "status_moves",
    "orphans",
    "unmatched",
    "mismatches",
    "unusable",
    "author",
    "error",
)
# Columns of words: a missing one is an empty cell (a grid draws None as a grey "None").
RUN_TEXT_COLUMNS = ("started_at", "kind", "mode", "status", "author", "error")


def run_rows(runs: list[dict]) -> list[dict]:
    """Recorded runs as table rows: when (office time, as the language writes it), incremental
    or full and why, counts."""
    rows = []
    for run in runs:
        values = {
            **run,
            "kind": kind(run),
            "mode": _word(TRIGGERS, run.get("mode")),
            "status": _word(RUN_STATUS, run.get("status")),
            "author": labels.author(run.get("author")),
            "started_at": format_datetime(run.get("started_at")),
        }
        for column in RUN_TEXT_COLUMNS:
            if values.get(column) is None:
                values[column] = ""
        rows.append({label(c): values.get(c) for c in RUN_COLUMNS})
    return rows


def _word(table: dict, value: object) -> object:
    """A stored word (a trigger, a run's status) in the session's language; others as stored."""
    marked = table.get(value)
    return _(marked) if marked else value


def label(field: str) -> str:
    """The shared label of a field or figure (`segcore.views.labels`), in the session's language."""
    return _(FIELD_LABELS[field])


def kind(run: dict) -> str:
    """ "Full (why)" or "Incremental" in the session's language."""
    english = run_kind(run)
    if not english:
        return ""
    if not run.get("full"):
        return _("Incremental")
    reason = full_reason_of(run)
    return _("Full ({reason})").format(reason=word(reason)) if reason else _("Full")
