"""Sync: match the batch list with the uploaded masks, now or every N minutes; runs and uploads."""

import streamlit as st

from segcore.core.timefmt import zone_name
from segcore.sync.records.sync_runs import full_reason_of
from ui.app import reads
from ui.app.connection import scheduler, settings
from ui.app.i18n import N_, _, format_datetime, format_number, word
from ui.app.live import current_live_status, live_caption
from ui.app.state import SYNC_LAST_REPORT, can_write
from ui.app.widgets import metric_row, page_start, upload_models_notice
from ui.sync.content_actions import content_panel
from ui.sync.mask_actions import check_masks_panel, show_last_mask_check
from ui.sync.sync_actions import label, run_rows, schedule_controls, sync_now, upload_rows

COUNTS = (
    "total_files",
    "batches_with_masks",
    "batches_without_masks",
    "batches_updated",
    "status_moves",
    "orphans",
    "unmatched",
    "mismatches",
    "unusable",
)
databases = page_start(N_("Sync"))
zone = settings().zone
live_caption()

if can_write():  # a viewer looks at runs and uploads only
    left, right = st.columns([2, 3])
    with left.container(border=True):
        st.write(
            _("Match every batch with the files in `{collection}`.").format(
                collection=f"{databases.training.name}.{databases.settings.masks_bucket}.files"
            )
        )
        full = st.checkbox(_("Full rescan (re-read every upload)"), key="sync_full")
        if st.button(_("Sync now"), type="primary", icon=":material/sync:", key="sync_now"):
            sync_now(databases, full)
        st.divider()
        check_masks_panel(databases)
        st.divider()
        content_panel(databases)
    auto, live = scheduler(), current_live_status()
    with right.container(border=True):
        if live is not None and live.running and not auto.minutes:
            st.info(
                _(
                    "A live sync is running: new uploads reach their batches within seconds, "
                    "so no automatic schedule is needed."
                ),
                icon=":material/bolt:",
            )
        else:
            schedule_controls(auto)

report = st.session_state.get(SYNC_LAST_REPORT)
if report:
    kind = (
        _("full: {reason}").format(reason=word(full_reason_of(report)))
        if report["full"] and report.get("full_reason")
        else _("full")
        if report["full"]
        else _("incremental")
    )
    st.subheader(
        _("Report of the sync at {when} ({seconds} s, {kind})").format(
            when=format_datetime(report["started_at"]),
            seconds=format_number(report["duration_s"], 1),
            kind=kind,
        )
    )
    metric_row((label(field), format_number(report.get(field, 0))) for field in COUNTS)
    for field, title in (
        ("orphan_uploads", N_("Orphan uploads (name a batch not in the list)")),
        ("unmatched_uploads", N_("Unmatched uploads (name no batch)")),
        ("mismatched_uploads", N_("Uploaded by someone other than the assignee")),
        ("unusable_uploads", N_("Unusable uploads (count for no batch, with the reason)")),
    ):
        if report.get(field):
            st.markdown(f"**{_(title)}**")
            st.dataframe(upload_rows(report[field], field == "mismatched_uploads"), hide_index=True)

show_last_mask_check()
st.subheader(_("Runs"))
runs = reads.sync_runs(20)
if runs:
    st.dataframe(run_rows(runs), hide_index=True)
    st.caption(
        _(
            "Times in {zone}. An incremental run reads only the uploads changed since the "
            "last one; a full run reads them all, for the reason shown."
        ).format(zone=zone_name(zone))
    )
else:
    st.caption(_("No sync has run yet."))

st.subheader(_("Most recent uploads"))
upload_models_notice()
found, problem = reads.recent_uploads.or_problem(50)
if problem:
    st.warning(_("Uploads cannot be read right now. {problem}").format(problem=problem))
elif found:
    st.dataframe(upload_rows(found), hide_index=True)
else:
    st.caption(_("No uploads yet."))
