"""The app as the server runs it: `streamlit run serve.py` (what scripts/run-app.sh starts).

The same app as `streamlit run streamlit_app.py`, plus a warm start: as soon as the server is
up, a thread imports the pages' modules and reads the batch list into the process (the read a
page would otherwise make its first visitor wait for; from the rows the app stored for its
next start when it can, segcore.views.row_snapshot), so the first page after a restart is
as quick as the next ones.
"""

import threading
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(_app):
    threading.Thread(target=_warm_up, name="warm-start", daemon=True).start()
    yield


def _warm_up() -> None:
    from ui.warm_start import warm_up

    warm_up()


app = st.App("streamlit_app.py", lifespan=lifespan)
