"""Settings and connection: both databases' health, the effective configuration, the import."""

import streamlit as st

from segcore.backups import backup
from segcore.settings.config_table import database_note, describe
from ui.app import reads
from ui.app.actions import clear_caches
from ui.app.i18n import N_, _, word
from ui.app.state import IMPORT_PREVIEW, IMPORT_RESULT, can_write, typed
from ui.app.widgets import page_start
from ui.batches import import_actions

databases = page_start(N_("Settings"))


st.subheader(_("Connection to both databases"))
if st.button(_("Check again"), icon=":material/refresh:", key="health_again"):
    clear_caches()
st.dataframe(
    [
        {
            _("Database"): h["database"],
            _("Reachable"): h["reachable"],
            _("Round trip (ms)"): h["rtt_ms"],
            _("Version"): h["version"],
            _("Server"): _("embedded") if h["embedded"] else _("remote"),
            _("URI"): h["uri"],
            _("Problem"): h["error"] or "",
        }
        for h in reads.health()
    ],
    hide_index=True,
)

st.subheader(_("Effective configuration"))
st.caption(_("From the environment and `.env`; passwords are never shown."))
if note := database_note(databases.settings):
    st.info(word(note), icon=":material/info:")
for warning in databases.settings.warnings:  # a misspelt name in .env, its value never shown
    st.warning(word(warning), icon=":material/warning:")
st.dataframe(
    [{_("Setting"): k, _("Value"): word(v)} for k, v in describe(databases.settings).items()],
    hide_index=True,
)

if can_write():  # importing changes the batch list: not for a viewer
    st.subheader(_("Import batches"))
    st.caption(
        _(
            "Adds new batches and refreshes folders; never touches assignments. A batch "
            'is flagged "folder missing" only when its folder is absent from the data '
            "directory, never because the file does not list it. You see what would "
            "change before anything is written."
        )
    )
    current = databases.settings
    # Not an st.form: it would send what was typed only on "Preview import". The paths typed
    # are kept across other pages (`typed`), as the preview is, and after an import (the same
    # source is often imported again); a chosen file is not kept.
    with st.container(border=True):
        uploaded = st.file_uploader(
            _("Upload a batches file (batches.json)"),
            type=["json"],
            key="import_upload",
            # The box's own "Upload" and "200MB per file • JSON" are Streamlit's, English only.
            help=_("Drag a JSON file here or click Upload: one file of up to {size} MB.").format(
                size=st.get_option("server.maxUploadSize")
            ),
        )
        batches_file = st.text_input(
            _("…or a batches file on the server"),
            **typed("import_file", str(current.effective_batches_file or "")),
        )
        data_directory = st.text_input(
            _("Data directory on the server (one folder per batch)"),
            **typed("import_dir", str(current.data_directory or "")),
        )
        count_images = st.checkbox(
            _("Count the images in each folder (slow on a network mount)"),
            **typed("import_count", False),
        )
        slot = st.empty()
        if st.button(_("Preview import"), type="primary", key="import_preview_go"):
            import_actions.prepare(
                databases, uploaded, batches_file, data_directory, count_images, slot
            )
    import_actions.confirm(databases)

if can_write():  # a backup holds the logins' password hashes: not for a viewer
    st.subheader(_("Backup"))
    st.caption(
        _(
            "Every collection of the app's database in one compressed file, made when you "
            "click; restore it with `segcore restore FILE`."
        )
    )
    if reads.interrupted_restore() is not None:  # the banner above says which and why
        st.warning(
            _(
                "No backup can be downloaded while a restore runs or after one was "
                "interrupted: it would be of a database half restored."
            ),
            icon=":material/settings_backup_restore:",
        )
    else:  # a restore begun after this render is refused on the click (backup_bytes)
        st.download_button(
            _("Download a backup"),
            lambda: backup.backup_bytes(databases.work),
            file_name=backup.default_name(databases.work.name),
            key="backup",
            mime="application/gzip",
            icon=":material/download:",
        )

result = st.session_state.get(IMPORT_RESULT)
if result and not st.session_state.get(IMPORT_PREVIEW):
    st.markdown("**" + _("Last import") + "**")
    import_actions.show_counts(result)
