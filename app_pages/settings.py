"""Settings and connection: both databases' health, the effective configuration, the import."""

import streamlit as st

import app_support as ui
import app_widgets as widgets
from segcore.config import describe

databases = ui.page_start("Settings")

st.subheader("Connection to both databases")
if st.button("Check again", icon=":material/refresh:", key="health_again"):
    ui.clear_caches()
st.dataframe([{"Database": h["database"], "Reachable": h["reachable"],
               "Round trip (ms)": h["rtt_ms"], "Version": h["version"],
               "Server": "embedded" if h["embedded"] else "remote", "URI": h["uri"],
               "Problem": h["error"] or ""} for h in ui.health()], hide_index=True)

st.subheader("Effective configuration")
st.caption("From the environment and `.env`; passwords are never shown.")
st.dataframe([{"Setting": k, "Value": v} for k, v in describe(databases.settings).items()],
             hide_index=True)

if ui.can_write():  # importing changes the batch list: not for a viewer
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
            widgets.run_import(databases, batches_file, data_directory, count_images, slot)


result = st.session_state.get(ui.IMPORT_RESULT)
if result:
    st.markdown("**Last import**")
    cols = st.columns(4)
    for column, (label, value) in zip(cols, [("Added", result["added"]),
                                             ("Updated", result["updated"]),
                                             ("Unchanged", result["unchanged"]),
                                             ("Folder missing", len(result["flagged_missing"]))]):
        column.metric(label, f"{value:,}")
    if result["flagged_missing"]:
        st.caption("Flagged as missing: " + ", ".join(result["flagged_missing"][:50]) +
                   (" …" if len(result["flagged_missing"]) > 50 else ""))
    if result["restored"]:
        st.caption("Folder found again: " + ", ".join(result["restored"][:50]))
