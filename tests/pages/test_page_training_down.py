"""`training_metrics` refused while `segmentacion_db` works: pages that need only the latter go on.

A real server with authentication, and a user allowed on the app's database only.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import streamlit as st
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from segcore.store import embedded
from tests.helpers import free_port, page


@pytest.fixture(scope="module")
def restricted_uri(tmp_path_factory):
    path = tmp_path_factory.mktemp("auth") / "db"
    uri = embedded.ensure_server(path)
    admin = MongoClient(uri)
    admin.admin.command(
        "createUser",
        "coord",
        pwd="pw-secret",
        roles=[{"role": "readWrite", "db": "seg_restricted"}],
    )
    admin.seg_restricted.batches.insert_one({"id": "batch_1", "number": 1, "status": "pending"})
    admin.close()
    embedded.stop_server(path)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "secantus",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            str(path),
            "--auth",
            "--log-level",
            "ERROR",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"mongodb://coord:pw-secret@127.0.0.1:{port}/?authSource=admin&directConnection=true"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            MongoClient(uri, serverSelectionTimeoutMS=500).seg_restricted.command("ping")
            break
        except PyMongoError:
            time.sleep(0.2)
    yield uri
    process.terminate()
    process.wait(30)


@pytest.fixture
def training_refused(restricted_uri, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "en")  # these tests read the English texts
    monkeypatch.setenv("MONGO_URI", restricted_uri)
    monkeypatch.setenv("MONGO_DB", "seg_restricted")
    monkeypatch.setenv("TRAINING_DB", "tm_forbidden")
    monkeypatch.delenv("DATA_DIRECTORY", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def test_team_and_batches_keep_working(training_refused):
    at = page("team").run()
    at.text_input(key="add_name").input("Flor")
    at.button(key="add_member").click().run()
    assert not at.exception and not at.error
    assert any("Flor was added" in s.value for s in at.success)
    at = page("batches").run()
    assert not at.exception and not at.error
    assert "1 batch matches" in at.caption[0].value


def test_dashboard_and_sync_say_which_part_is_missing(training_refused):
    # Page views never read the training database: upload figures come from the sync's read
    # models in the app's database, and the pages say none has been saved yet.
    at = page("dashboard").run()
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Batches"] == "1"
    assert any("none has saved them yet" in i.value for i in at.info)
    at = page("sync").run()
    assert not at.exception and not at.error
    assert any("none has saved them yet" in i.value for i in at.info)
    at.button(key="sync_now").click().run()
    assert not at.exception
    assert any("refused" in e.value for e in at.error)
    assert not any("pw-secret" in e.value for e in at.error)


def test_sidebar_shows_one_database_up_and_one_down(training_refused):
    at = page("streamlit_app").run()
    status = " ".join(m.value for m in at.sidebar.markdown)
    assert ":green[●] **seg_restricted**" in status
    assert ":red[●] **tm_forbidden** · remote · unreachable" in status


def test_a_content_check_stopped_by_the_database_says_so_in_the_readers_language(
    training_refused, monkeypatch
):
    """The check runs in a thread; its error is worded when drawn, for the reader: a Spanish
    coordinator read the driver's English "OperationFailure: ..." before."""
    monkeypatch.setenv("LANGUAGE", "es")
    at = page("sync").run()
    at.button(key="check_content").click().run()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        at.run()
        stopped = [e.value for e in at.error if "se detuvo" in e.value]
        if stopped:
            break
        time.sleep(0.5)
    assert not at.exception
    assert stopped, [e.value for e in at.error]
    assert "La base de datos respondió con un error" in stopped[0], stopped
    assert "OperationFailure" not in stopped[0] and "pw-secret" not in stopped[0]
