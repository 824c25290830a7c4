"""The warm start of `streamlit run serve.py`: the batch list is read before the first visitor,
and the first page reuses that read instead of making its visitor wait for another."""

import subprocess
import sys
import threading
from pathlib import Path

from segcore.views import batch_rows
from tests.helpers import ROOT, page


def test_serve_py_is_the_app_with_a_start_up_hook():
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(Path(ROOT / "serve.py"))
    assert found.is_asgi_app and found.app_name == "app"
    assert "streamlit_app.py" in (ROOT / "serve.py").read_text()


def test_serve_py_imports_the_pages_modules_before_the_server_starts():
    """Imported by the warm start's thread while a first page ran, plotly found pandas half
    imported and the page failed ("partially initialized module 'pandas'"); loading serve.py,
    which `streamlit run` does before opening its port, now imports them all."""
    probe = (
        "import sys, serve, ui.app.warm_start as w\n"
        "wanted = ['ui.app.reads', *w.PAGE_MODULES, 'pandas', 'plotly.graph_objects']\n"
        "print([m for m in wanted if m not in sys.modules], hasattr(sys.modules['pandas'], "
        "'Series'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "[] True"


def test_the_first_page_after_a_warm_start_reads_no_batch_again(app_env, monkeypatch):
    from ui.app import reads
    from ui.app.warm_start import warm_up

    app_env.work.batches.insert_many(
        [{"id": f"batch_{n}", "status": "pending", "assignee": None} for n in (3, 1, 2)]
    )
    reads_made = []
    real = batch_rows.read_all_rows
    monkeypatch.setattr(batch_rows, "read_all_rows", lambda db: reads_made.append(1) or real(db))
    starter = threading.Thread(target=warm_up)  # as serve.py's lifespan runs it: no session
    starter.start()
    starter.join(120)
    holder = reads._batch_rows(reads.db_key())
    holder["prefetch"].join(120)
    assert reads_made == [1]

    at = page("batches").run()
    assert not at.exception
    assert list(at.dataframe[0].value["id"]) == ["batch_1", "batch_2", "batch_3"]
    assert reads_made == [1]  # the page found the rows read at start


def test_a_restarted_app_starts_from_the_rows_it_stored(app_env, monkeypatch):
    """The first view stores the batch rows (in the background); after a restart the pages
    show the same table from them without reading every batch, until a Reload asks for it."""
    import streamlit as st

    from segcore.store.schema import ROW_SNAPSHOT
    from segcore.views import row_snapshot
    from ui.app import reads

    monkeypatch.setattr(reads, "SAVE_DELAY_S", 0)  # no page drawing here to make way for
    app_env.work.batches.insert_many(
        [{"id": f"batch_{n}", "status": "pending", "assignee": None} for n in (3, 1, 2)]
    )
    first = page("batches").run()
    assert list(first.dataframe[0].value["id"]) == ["batch_1", "batch_2", "batch_3"]
    saving = reads._batch_rows(reads.db_key()).get("saving")
    assert saving is not None, "the first view did not store the rows"
    saving.join(120)
    assert app_env.work[ROW_SNAPSHOT].find_one({"_id": row_snapshot.HEAD})["rows"] == 3

    # Meanwhile another tool, not segcore, changes a batch's status (no data version says so).
    app_env.work.batches.update_one({"id": "batch_2"}, {"$set": {"status": "done"}})
    st.cache_data.clear()  # a restart: every cache of the process empty
    st.cache_resource.clear()
    reads_made = []
    real = batch_rows.read_all_rows
    monkeypatch.setattr(batch_rows, "read_all_rows", lambda db: reads_made.append(1) or real(db))
    again = page("batches").run()
    assert not again.exception
    assert list(again.dataframe[0].value["id"]) == ["batch_1", "batch_2", "batch_3"]
    again.selectbox(key="bf_status").set_value("done").run()  # the other tool's edit counts
    assert list(again.dataframe[0].value["id"]) == ["batch_2"]
    assert reads_made == []

    reload = next(b for b in again.button if b.label == "Reload")  # for other tools' changes
    assert not reload.click().run().exception
    assert reads_made == [1]  # every batch, not the stored rows
