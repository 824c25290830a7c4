"""Entry point: page config, the shared sidebar and the navigation over the pages."""

import streamlit as st

import app_support as ui
import app_widgets as widgets

st.set_page_config(page_title="Segmentation work", page_icon=":material/biotech:",
                   layout="wide")
ui.init_state()
if not widgets.login_gate():
    st.stop()
# Page scripts live in app_pages/, not pages/: with a pages/ folder, a deep link opened right
# after the server starts runs the page through Streamlit's legacy auto-discovery, bypassing
# this entry point (no sidebar status, no demo banner).
pages = [
    st.Page("app_pages/dashboard.py", title="Dashboard", icon=":material/monitoring:",
            default=True),
    st.Page("app_pages/batches.py", title="Batches", icon=":material/table_view:"),
    st.Page("app_pages/team.py", title="Team", icon=":material/group:"),
    st.Page("app_pages/sync.py", title="Sync", icon=":material/sync:"),
    st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:"),
]
page = st.navigation(pages)
with st.sidebar:
    widgets.connection_status()
widgets.demo_banner()
page.run()
