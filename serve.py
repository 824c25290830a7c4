"""The app as the server runs it: `streamlit run serve.py` (what scripts/run-app.sh starts).

The same app as `streamlit run streamlit_app.py`, plus a warm start:

- the pages' modules (plotly, pandas and the rest) are imported here, before the server opens
  its port. Imported by a thread while a first page already ran, plotly could find pandas
  half imported and the page failed ("partially initialized module 'pandas'");
- as soon as the server is up, a thread reads the batch list into the process (from the rows
  the app stored for its next start when it can, segcore.views.row_snapshot) and makes
  today's alerts, the work a page would otherwise make its first visitor wait for.
"""

import threading
from contextlib import asynccontextmanager

import streamlit as st

from ui.app.warm_start import import_pages, warm_up

import_pages()


@asynccontextmanager
async def lifespan(_app):
    threading.Thread(target=warm_up, name="warm-start", daemon=True).start()
    yield


app = st.App("streamlit_app.py", lifespan=lifespan)
