"""Entry point: page config, the login gate, the shared sidebar and the navigation over the pages."""

import streamlit as st

from ui.app.actions import optional
from ui.app.connection import release_indexing
from ui.app.i18n import _
from ui.app.login import login_gate, resume_login
from ui.app.reads import prefetch_batch_rows
from ui.app.state import current_actor, init_state, note_page_asked
from ui.app.widgets import (
    connection_status,
    demo_banner,
    language_selector,
    restore_banner,
    user_language,
)
from ui.batches.leave_warning import warn_before_leaving

SIDEBAR_PX = 240

init_state()
note_page_asked()
# The user of a reload's cookie and their saved language first: every text of this run,
# the sidebar's selector and the tab's title among them, is then in that language.
resume_login()
user_language()
# A narrower sidebar than Streamlit's 300 px: at 1280 px the tables need the room.
st.set_page_config(
    page_title=_("Segmentation work"),
    page_icon=":material/biotech:",
    layout="wide",
    initial_sidebar_state=SIDEBAR_PX,
)
with st.sidebar:
    language_selector()
# Page scripts live in ui/pages/, not a top-level pages/: with a pages/ folder, a deep link
# opened right after the server starts runs the page through Streamlit's legacy
# auto-discovery, bypassing this entry point (no login gate, no sidebar status, no demo banner).
pages = [
    st.Page(
        "ui/pages/dashboard.py", title=_("Dashboard"), icon=":material/monitoring:", default=True
    ),
    st.Page("ui/pages/batches.py", title=_("Batches"), icon=":material/table_view:"),
    st.Page("ui/pages/team.py", title=_("Team"), icon=":material/group:"),
    st.Page("ui/pages/moves.py", title=_("Suggested moves"), icon=":material/swap_horiz:"),
    st.Page("ui/pages/receipts.py", title=_("Receipts"), icon=":material/receipt_long:"),
    st.Page("ui/pages/weekly_report.py", title=_("Weekly report"), icon=":material/summarize:"),
    st.Page("ui/pages/notifications.py", title=_("Notifications"), icon=":material/mail:"),
    st.Page("ui/pages/sync.py", title=_("Sync"), icon=":material/sync:"),
    st.Page("ui/pages/settings.py", title=_("Settings"), icon=":material/settings:"),
]
# A cold start (once per process): the batch list is read in a thread meanwhile, overlapping
# the login check, the page's imports and its other reads (nothing is shown before a login).
optional(prefetch_batch_rows)
logged_in = login_gate()
# A segmentador's login sees one page, their own: the other pages are not in its navigation,
# so their links lead there too (segcore scopes every read of that page to the login).
if logged_in and current_actor().is_segmentador:
    pages = [
        st.Page(
            "ui/pages/my_batches.py",
            title=_("My batches"),
            icon=":material/assignment_ind:",
            default=True,
        )
    ]
# The navigation is set up before the gate stops a logged-out run, so the page the link named
# (path and query) stays the current one and is the one shown right after logging in.
page = st.navigation(pages, position="sidebar" if logged_in else "hidden")
# A logged-out run ends here by returning, not with st.stop(): Streamlit forgets the fragments
# a run did not draw only when it returns, and a fragment rerun queued meanwhile (the
# Dashboard's search typed as the session ended) then drew into the login form and blanked
# the tab.
if logged_in:
    restore_banner()  # the data itself is unfinished: everyone is told
    if not current_actor().is_segmentador:  # figures of the whole lab are not theirs to see
        with st.sidebar:
            connection_status()
        demo_banner()
        with st.sidebar:
            warn_before_leaving()  # unsaved table edits do not survive a reload of the tab
    try:
        page.run()
    finally:
        release_indexing()  # the page is on screen: the database may be indexed now
