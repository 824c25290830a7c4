"""Mask completeness in the UI: "Check masks" with a progress bar, and one batch's names."""

from __future__ import annotations

import streamlit as st

from segcore.notify import notify_due
from segcore.store.connection import Databases
from segcore.views.labels import FIELD_LABELS
from ui.app import labels, reads
from ui.app.actions import run_write
from ui.app.i18n import N_, _, choice_hint, format_datetime, format_number, ngettext, word
from ui.app.state import MASK_LAST_REPORT, current_actor

COMPARED = {
    "content": N_("content (checksums)"),
    "size": N_("size only"),
    "names": N_("names only"),
}
MASK_COLUMNS = {
    "id": N_("id"),
    "state": N_("state"),
    "images": N_("images"),
    "masks": N_("masks"),
    "missing_count": N_("missing"),
    "extra_count": N_("extra"),
}


def _checked(report) -> str:
    st.session_state[MASK_LAST_REPORT] = report.as_dict()
    states: dict[str, int] = {}
    for row in report.batches:
        states[row["state"]] = states.get(row["state"], 0) + 1
    found = ", ".join(labels.mask_state_count(s, n) for s, n in sorted(states.items()))
    said = ngettext(
        "Masks checked: {count} upload read ({size} MB); {states}.",
        "Masks checked: {count} uploads read ({size} MB); {states}.",
        report.checked_uploads,
    ).format(
        count=format_number(report.checked_uploads),
        size=format_number(report.bytes_read / 1e6, 1),
        states=found or _("no batch has uploads"),
    )
    if not report.first_receipts:
        if not report.statuses_moved:
            return said
        # batches sent to rework for a problem the check found gone (their chunks came)
        moved = ngettext(
            "{count} batch moved from rework to review: its problem is gone.",
            "{count} batches moved from rework to review: their problem is gone.",
            report.statuses_moved,
        ).format(count=format_number(report.statuses_moved))
        return f"{said} {moved}"
    # uploads a sync left without a receipt, or a check stopped before making theirs
    return (
        said
        + " "
        + _(
            "First receipts made: {count} (of uploads listed earlier: {owed}); batch statuses "
            "moved: {moved}."
        ).format(
            count=format_number(report.first_receipts),
            owed=format_number(report.owed_receipts),
            moved=format_number(report.statuses_moved),
        )
    )


def check_masks(databases: Databases, recheck: bool) -> None:
    """Check every upload not checked yet (all with `recheck`), with a progress bar."""
    slot = st.empty()
    bar = slot.progress(0.0, text=_("Starting the mask check…"))
    run_write(
        _("Checking masks"),
        notify_due.verify_and_notify,
        databases,
        recheck=recheck,
        author=current_actor(),
        then=_checked,
        slot=slot,
        progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=word(m)),
    )


def check_masks_panel(databases: Databases) -> None:
    """The Sync page's "Check masks" button and its option."""
    st.write(_("Check what each upload holds against the images in its batch's folder."))
    recheck = st.checkbox(_("Read every upload and folder again"), key="masks_recheck")
    if st.button(_("Check masks"), icon=":material/fact_check:", key="check_masks"):
        check_masks(databases, recheck)


def show_last_mask_check() -> None:
    """The batches the last "Check masks" of this session reported on, and the unusable
    uploads it skipped (with the sync's reason)."""
    checked = st.session_state.get(MASK_LAST_REPORT)
    if checked and (checked["batches"] or checked.get("skipped_uploads")):
        st.subheader(_("Last mask check"))
        st.dataframe(
            [
                {
                    _(header): labels.mask_state(r[k]) if k == "state" else r[k]
                    for k, header in MASK_COLUMNS.items()
                }
                for r in checked["batches"]
            ],
            hide_index=True,
        )
    if checked and checked.get("skipped_uploads"):
        st.caption(
            ngettext(
                "Skipped {count} unusable upload (it counts for no batch):",
                "Skipped {count} unusable uploads (they count for no batch):",
                skipped := checked.get("skipped", len(checked["skipped_uploads"])),
            ).format(count=skipped)
        )
        st.dataframe(
            [
                {label("filename"): s["filename"], label("problem"): s["problem"]}
                for s in checked["skipped_uploads"]
            ],
            hide_index=True,
        )


def label(field: str) -> str:
    return _(FIELD_LABELS[field])


def _known(value: object) -> object:
    return "?" if value is None else value


def show_batch_masks(batch_ids: list[str]) -> str | None:
    """For one chosen batch: images without a mask, masks without an image, unreadable uploads;
    returns the chosen batch."""
    chosen = st.selectbox(
        _("Batch"), batch_ids, index=None, key="masks_of", placeholder=choice_hint(batch_ids)
    )
    if not chosen:
        return None
    detail = reads.mask_detail(chosen)
    if detail is None:
        st.caption(_("Not checked yet: run “Check masks” on the Sync page."))
        return chosen
    st.write(
        f"**{labels.mask_state(detail['state'])}**: "
        + ngettext(
            "{matched} of {images} image has a mask.",
            "{matched} of {images} images have a mask.",
            detail["images"] if detail["images"] is not None else 2,
        ).format(matched=_known(detail["matched"]), images=_known(detail["images"]))
    )
    if detail["notes"] or detail["note"]:
        st.caption(
            "; ".join(labels.unreadable_reason(n) for n in detail["notes"]) or detail["note"]
        )
    left, right = st.columns(2)
    left.markdown(_("Images without a mask ({count})").format(count=len(detail["missing"])))
    left.dataframe({_("image"): detail["missing"]}, hide_index=True, key="masks_missing")
    right.markdown(_("Masks without an image ({count})").format(count=len(detail["extra"])))
    right.dataframe({_("mask"): detail["extra"]}, hide_index=True, key="masks_extra")
    for bad in detail["unreadable"]:
        st.warning(f"{bad['filename']}: {labels.unreadable_reason(bad)}")
    for mask in detail.get("ambiguous") or ():
        st.warning(
            _(
                "{mask} counts for no image: {count} images share its name ({images}) and its "
                "folders do not say which of them it is for."
            ).format(mask=mask["mask"], count=len(mask["images"]), images=", ".join(mask["images"]))
        )
    if detail["other_files"]:
        st.caption(
            _("Other files (not masks): {names}").format(
                names=", ".join(labels.other_file(name) for name in detail["other_files"])
            )
        )
    if detail.get("not_images"):
        st.caption(
            _("Files of the folder that are not images (no mask needed): {names}").format(
                names=", ".join(labels.not_image(item) for item in detail["not_images"])
            )
        )
    show_changes(detail["changes"])
    return chosen


def _compared(row: dict) -> str:
    kind = row.get("compared")
    return _(COMPARED[kind]) if kind in COMPARED else str(kind)


def show_changes(changes: list[dict]) -> None:
    """What each later upload of the batch added, removed and changed since the one before."""
    later = changes[1:]
    if not later:
        return
    compared = {row["filename"]: _compared(row) for row in later}
    st.markdown(_("Changes between uploads"))
    st.dataframe(
        [
            {
                _("upload"): row["filename"],
                _("date"): format_datetime(row["uploadDate"]),
                _("added"): ", ".join(row["added"]),
                _("removed"): ", ".join(row["removed"]),
                _("changed"): ", ".join(row["changed"]),
                _("compared by"): compared[row["filename"]],
            }
            for row in later
        ],
        hide_index=True,
        key="masks_changes",
    )
