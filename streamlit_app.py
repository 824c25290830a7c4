"""Entry point: page config, the shared sidebar and the navigation over the pages."""

import streamlit as st

import app_support as ui

st.set_page_config(page_title="Segmentation work", page_icon=":material/biotech:",
                   layout="wide")
ui.init_state()
pages = [
    st.Page("pages/dashboard.py", title="Dashboard", icon=":material/monitoring:", default=True),
    st.Page("pages/batches.py", title="Batches", icon=":material/table_view:"),
    st.Page("pages/team.py", title="Team", icon=":material/group:"),
    st.Page("pages/sync.py", title="Sync", icon=":material/sync:"),
    st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
]
page = st.navigation(pages)
with st.sidebar:
    ui.connection_status()
ui.demo_banner()
page.run()
