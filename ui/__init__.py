"""Everything Streamlit: state keys, the cached connection, the write path, cached reads,
widgets, charts, and the page scripts in `ui/pages/` (run only through `streamlit_app.py`).

segcore never imports this package; this package is where segcore meets Streamlit.
"""
