"""Settings and connection: both databases' health, the effective configuration, the import."""

from dataclasses import asdict
from pathlib import Path

import streamlit as st

from segcore import backup, batch_import
from segcore.config import describe
from ui import reads
from ui.actions import clear_caches, run_write
from ui.state import IMPORT_RESULT, can_write, current_actor
from ui.widgets import page_start

databases = page_start("Settings")


def imported(result: batch_import.ImportResult) -> str:
    st.session_state[IMPORT_RESULT] = asdict(result)
    return (f"Import finished: {result.added} added, {result.updated} updated, "
            f"{result.unchanged} unchanged, {len(result.flagged_missing)} flagged missing.")


def run_import(batches_file: str, data_directory: str, count_images: bool, slot) -> None:
    """Import with a progress bar in `slot`; a problem with the sources replaces the bar."""
    bar = slot.progress(0.0, text="Reading the batch list…")
    run_write("Importing", batch_import.import_from_sources, databases.work,
              Path(batches_file).expanduser() if batches_file.strip() else None,
              Path(data_directory).expanduser() if data_directory.strip() else None,
              current_actor(), count_images,
              lambda done, total: bar.progress(done / total if total else 1.0,
                                               text=f"Scanned {done} of {total} folders"),
              then=imported, slot=slot)


st.subheader("Connection to both databases")
if st.button("Check again", icon=":material/refresh:", key="health_again"):
    clear_caches()
st.dataframe([{"Database": h["database"], "Reachable": h["reachable"],
               "Round trip (ms)": h["rtt_ms"], "Version": h["version"],
               "Server": "embedded" if h["embedded"] else "remote", "URI": h["uri"],
               "Problem": h["error"] or ""} for h in reads.health()], hide_index=True)

st.subheader("Effective configuration")
st.caption("From the environment and `.env`; passwords are never shown.")
st.dataframe([{"Setting": k, "Value": v} for k, v in describe(databases.settings).items()],
             hide_index=True)

if can_write():  # importing changes the batch list: not for a viewer
    st.subheader("Import batches")
    st.caption("Adds new batches and refreshes folders; never touches assignments. Batches whose "
               "folder disappeared are flagged, not deleted.")
    current = databases.settings
    with st.form("import_form"):
        batches_file = st.text_input("Batches file (batches.json)",
                                     str(current.effective_batches_file or ""), key="import_file")
        data_directory = st.text_input("Data directory (one folder per batch)",
                                       str(current.data_directory or ""), key="import_dir")
        count_images = st.checkbox("Count the images in each folder (slow on a network mount)",
                                   key="import_count")
        slot = st.empty()
        if st.form_submit_button("Import", type="primary"):
            run_import(batches_file, data_directory, count_images, slot)

if can_write():  # a backup holds the logins' password hashes: not for a viewer
    st.subheader("Backup")
    st.caption("Every collection of the app's database in one compressed file, made when you "
               "click; restore it with `segcore restore FILE`.")
    st.download_button("Download a backup", lambda: backup.backup_bytes(databases.work),
                       file_name=backup.default_name(databases.work.name), key="backup",
                       mime="application/gzip", icon=":material/download:")

result = st.session_state.get(IMPORT_RESULT)
if result:
    st.markdown("**Last import**")
    for column, (label, value) in zip(st.columns(4), [("Added", result["added"]),
                                                      ("Updated", result["updated"]),
                                                      ("Unchanged", result["unchanged"]),
                                                      ("Folder missing",
                                                       len(result["flagged_missing"]))]):
        column.metric(label, f"{value:,}")
    if result["flagged_missing"]:
        st.caption("Flagged as missing: " + ", ".join(result["flagged_missing"][:50]) +
                   (" …" if len(result["flagged_missing"]) > 50 else ""))
    if result["restored"]:
        st.caption("Folder found again: " + ", ".join(result["restored"][:50]))
