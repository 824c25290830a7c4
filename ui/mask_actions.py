"""Mask completeness in the UI: "Check masks" with a progress bar, and one batch's names."""

from __future__ import annotations

import streamlit as st

from segcore import mask_check
from segcore.connection import Databases
from ui import reads
from ui.actions import run_write
from ui.state import MASK_LAST_REPORT, current_actor


def _checked(report) -> str:
    st.session_state[MASK_LAST_REPORT] = report.as_dict()
    states: dict[str, int] = {}
    for row in report.batches:
        states[row["state"]] = states.get(row["state"], 0) + 1
    return (f"Masks checked: {report.checked_uploads} uploads read "
            f"({report.bytes_read / 1e6:,.1f} MB); " + (", ".join(
                f"{n} {s}" for s, n in sorted(states.items())) or "no batch has uploads") + ".")


def check_masks(databases: Databases, recheck: bool) -> None:
    """Check every upload not checked yet (all with `recheck`), with a progress bar."""
    slot = st.empty()
    bar = slot.progress(0.0, text="Starting the mask check…")
    run_write("Checking masks", mask_check.verify, databases, recheck=recheck,
              author=current_actor(), then=_checked, slot=slot,
              progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m))


def check_masks_panel(databases: Databases) -> None:
    """The Sync page's "Check masks" button and its option."""
    st.write("Check what each upload holds against the images in its batch's folder.")
    recheck = st.checkbox("Read every upload and folder again", key="masks_recheck")
    if st.button("Check masks", icon=":material/fact_check:", key="check_masks"):
        check_masks(databases, recheck)


def show_last_mask_check() -> None:
    """The batches the last "Check masks" of this session reported on."""
    checked = st.session_state.get(MASK_LAST_REPORT)
    if checked and checked["batches"]:
        st.subheader("Last mask check")
        st.dataframe([{k: r[k] for k in ("id", "state", "images", "masks", "missing_count",
                                         "extra_count")} for r in checked["batches"]],
                     hide_index=True)


def show_batch_masks(batch_ids: list[str]) -> None:
    """For one chosen batch: images without a mask, masks without an image, unreadable uploads."""
    chosen = st.selectbox("Batch", batch_ids, index=None, key="masks_of")
    if not chosen:
        return
    detail = reads.mask_detail(chosen)
    if detail is None:
        st.caption("Not checked yet: run “Check masks” on the Sync page.")
        return
    st.write(f"**{detail['state']}**: {detail['matched'] if detail['matched'] is not None else '?'}"
             f" of {detail['images'] if detail['images'] is not None else '?'} images have a mask.")
    if detail["note"]:
        st.caption(detail["note"])
    left, right = st.columns(2)
    left.markdown(f"Images without a mask ({len(detail['missing'])})")
    left.dataframe({"image": detail["missing"]}, hide_index=True, key="masks_missing")
    right.markdown(f"Masks without an image ({len(detail['extra'])})")
    right.dataframe({"mask": detail["extra"]}, hide_index=True, key="masks_extra")
    for bad in detail["unreadable"]:
        st.warning(f"{bad['filename']}: {bad['reason']}")
