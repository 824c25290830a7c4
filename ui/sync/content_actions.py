"""Mask content checks in the UI: a run in the background with its progress, and a batch's
problems in the reader's language.

The run lives in a thread of the server process (kept by `st.cache_resource`), so the page can
be left and come back to its progress; one run at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import streamlit as st

from segcore.content.mask_content_check import batch_content
from segcore.notify.notify_due import content_and_notify
from ui.app import labels
from ui.app.actions import WRITE_ERRORS, describe_error
from ui.app.i18n import _, format_number, ngettext
from ui.app.login import checked_fragment
from ui.app.state import current_actor


@dataclass
class ContentRun:
    """The background content check of this server process: progress, then outcome."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None
    fraction: float = 0.0
    message: str = ""
    outcome: dict | None = None  # {"uploads", "problems"} or {"error"}

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


@st.cache_resource
def content_run() -> ContentRun:
    return ContentRun()


def start_content_check(databases, recheck: bool) -> bool:
    """Start a content check in the background; False when one is already running."""
    run, actor = content_run(), current_actor()
    with run.lock:
        if run.running:
            return False
        run.fraction, run.message, run.outcome = 0.0, "", None

        def progress(fraction: float, message: str) -> None:
            run.fraction, run.message = min(max(fraction, 0.0), 1.0), message

        def work() -> None:
            try:
                report = content_and_notify(
                    databases, recheck=recheck, author=actor or "app", progress=progress
                )
                run.outcome = {
                    "uploads": report.checked_uploads,
                    "problems": sum(r.get("problems", 0) for r in report.batches),
                    "unusable": report.unusable_count,
                }
            except WRITE_ERRORS as exc:  # worded when drawn, in the reader's language
                run.outcome = {"error": exc}
            except ValueError as exc:  # a file's own words
                run.outcome = {"error": str(exc)}
            except Exception as exc:  # noqa: BLE001 - never raised in a thread: the run ends visibly
                run.outcome = {"error": f"{type(exc).__name__}: {exc}"}

        run.thread = threading.Thread(target=work, name="mask-content-check", daemon=True)
        run.thread.start()
    return True


@checked_fragment(run_every=1.0)
def content_progress() -> None:
    """The run's progress, redrawn every second while it runs; its outcome after."""
    run = content_run()
    if run.running:
        st.progress(
            run.fraction,
            text=_("Checking mask contents… {percent} %").format(
                percent=format_number(run.fraction * 100)
            ),
        )
    elif run.outcome and "error" in run.outcome:
        error = run.outcome["error"]
        if isinstance(error, BaseException):
            error = describe_error(error)
        st.error(_("The mask content check stopped: {error}").format(error=error))
    elif run.outcome:
        st.success(
            _("Mask contents checked: {uploads}; {problems}.").format(
                uploads=ngettext(
                    "{count} upload read", "{count} uploads read", run.outcome["uploads"]
                ).format(count=format_number(run.outcome["uploads"])),
                problems=ngettext(
                    "{count} mask with problems",
                    "{count} masks with problems",
                    run.outcome["problems"],
                ).format(count=format_number(run.outcome["problems"])),
            )
        )
        if unusable := run.outcome.get("unusable"):
            st.caption(
                ngettext(
                    "Skipped {count} unusable upload (it counts for no batch: see the sync's "
                    "report for why).",
                    "Skipped {count} unusable uploads (they count for no batch: see the sync's "
                    "report for why).",
                    unusable,
                ).format(count=format_number(unusable))
            )


def content_panel(databases) -> None:
    """The Sync page's "Check mask contents" button."""
    st.write(
        _(
            "Check each mask against its image: same size (and spacing for volumes), not "
            "empty, only the agreed labels."
        )
    )
    recheck = st.checkbox(_("Check uploads already checked again"), key="content_recheck")
    if st.button(_("Check mask contents"), icon=":material/biotech:", key="check_content"):
        if not start_content_check(databases, recheck):
            st.info(_("A mask content check is already running."))
    content_progress()


def show_batch_content(databases, batch_id: str) -> None:
    """One batch's content problems, mask by mask, in the reader's language."""
    found = batch_content(databases.work, batch_id)
    if found is None:
        st.caption(_("Mask contents not checked yet: run “Check mask contents” on the Sync page."))
        return
    counts = found.get("counts") or {}
    st.write(
        _(
            "Mask contents: {checked}; {size} wrong size, {empty}, {small}, "
            "{labels} with other labels, {unreadable}."
        ).format(
            checked=ngettext(
                "{count} mask checked", "{count} masks checked", found.get("checked", 0)
            ).format(count=format_number(found.get("checked", 0))),
            size=format_number(counts.get("wrong_size", 0)),
            empty=ngettext("{count} empty", "{count} empty", counts.get("empty", 0)).format(
                count=format_number(counts.get("empty", 0))
            ),
            small=ngettext(
                "{count} too small", "{count} too small", counts.get("too_small", 0)
            ).format(count=format_number(counts.get("too_small", 0))),
            labels=format_number(counts.get("bad_labels", 0)),
            unreadable=ngettext(
                "{count} unreadable", "{count} unreadable", counts.get("unreadable", 0)
            ).format(count=format_number(counts.get("unreadable", 0))),
        )
    )
    offenders = [labels.offender(o) for o in found.get("offenders") or ()]
    if offenders:
        st.dataframe({_("problem"): offenders}, hide_index=True, key="content_offenders")
    for note in found.get("notes") or ():
        st.warning(f"{note.get('filename')}: {labels.upload_note(note)}")
