"""Everything Streamlit, by what it serves: `app/` (what every page stands on), `batches/`,
`dashboard/`, `team/`, `sync/`, and the page scripts in `ui/pages/` (run only through
`streamlit_app.py`).

segcore never imports this package; this package is where segcore meets Streamlit.
"""
