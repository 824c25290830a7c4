"""Entry point: page config, the login gate, the shared sidebar and the navigation over the pages."""

import streamlit as st

from ui.state import init_state
from ui.widgets import connection_status, demo_banner, language_selector, login_gate

st.set_page_config(page_title="Segmentation work", page_icon=":material/biotech:",
                   layout="wide")
init_state()
with st.sidebar:
    language_selector()
if not login_gate():
    st.stop()
# Page scripts live in ui/pages/, not a top-level pages/: with a pages/ folder, a deep link
# opened right after the server starts runs the page through Streamlit's legacy
# auto-discovery, bypassing this entry point (no login gate, no sidebar status, no demo banner).
pages = [
    st.Page("ui/pages/dashboard.py", title="Dashboard", icon=":material/monitoring:",
            default=True),
    st.Page("ui/pages/batches.py", title="Batches", icon=":material/table_view:"),
    st.Page("ui/pages/team.py", title="Team", icon=":material/group:"),
    st.Page("ui/pages/sync.py", title="Sync", icon=":material/sync:"),
    st.Page("ui/pages/settings.py", title="Settings", icon=":material/settings:"),
]
page = st.navigation(pages)
with st.sidebar:
    connection_status()
demo_banner()
page.run()
