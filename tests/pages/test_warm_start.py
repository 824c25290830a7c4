"""The warm start of `streamlit run serve.py`: the batch list is read before the first visitor,
and the first page reuses that read instead of making its visitor wait for another."""

import threading
from pathlib import Path

from segcore.views import batch_rows
from tests.helpers import ROOT, page


def test_serve_py_is_the_app_with_a_start_up_hook():
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(Path(ROOT / "serve.py"))
    assert found.is_asgi_app and found.app_name == "app"
    assert "streamlit_app.py" in (ROOT / "serve.py").read_text()


def test_the_first_page_after_a_warm_start_reads_no_batch_again(app_env, monkeypatch):
    from ui import reads
    from ui.warm_start import warm_up

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
