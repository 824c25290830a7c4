"""Writes while the database is down: one clear message, no traceback, the page still usable.

The app runs on its own server here, which the test stops between rendering and clicking.
"""

from __future__ import annotations

import pytest
import streamlit as st
from pymongo import MongoClient

from segcore.settings.config import Settings
from segcore.store import embedded
from segcore.team import team
from tests.helpers import page
from ui.app.connection import identity


@pytest.fixture
def own_server(tmp_path, monkeypatch):
    """A server only this test uses, seeded with two people and three batches."""
    path = tmp_path / "db"
    uri = embedded.ensure_server(path)
    client = MongoClient(uri)
    for name in ("Ceci", "Flor"):
        team.add_member(client.seg_outage, name, author="test")
    client.seg_outage.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "number": n,
                "assignee": None,
                "status": "pending",
                "mongo_uploaded": False,
            }
            for n in (1, 2, 3)
        ]
    )
    client.close()
    for name in ("DATA_DIRECTORY", "BATCHES_FILE", "AUTO_SYNC_MINUTES", "LOGIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANGUAGE", "en")  # these tests read the English texts
    monkeypatch.setenv("MONGO_URI", uri)
    monkeypatch.setenv("MONGO_DB", "seg_outage")
    monkeypatch.setenv("TRAINING_DB", "tm_outage")
    monkeypatch.setenv("MONGO_TIMEOUT_MS", "500")
    # The server stops between the page's last read and the click: the pages read the data
    # version at most once a second, so on a busy machine (more than a second between the two
    # runs) the rerun would fail at that read instead of at the write under test.
    monkeypatch.setattr("ui.app.connection.VERSION_TTL_S", 3600.0)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield path
    st.cache_data.clear()
    st.cache_resource.clear()
    embedded.stop_server(path)


def test_save_in_the_batch_editor_with_the_database_stopped(own_server, monkeypatch):
    from segcore.views import batch_rows

    # every page load asks for other tools' edits (a slow run waits past the second anyway)
    monkeypatch.setattr(batch_rows, "OTHERS_EVERY_S", 0.0)
    at = page("batches").run()
    assert not at.exception and not at.error
    key = f"batch_editor_{at.session_state['batch_editor_version']}"
    at.session_state[key] = {
        "edited_rows": {0: {"assignee": "Ceci"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    embedded.stop_server(own_server)
    at.button(key="save_batches").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "database is not available" in errors[0], errors
    assert "Traceback" not in errors[0]
    # The page went on: the edit is still pending and Save can be pressed again.
    assert at.button(key="save_batches").label == "Save changes (1 batch)"
    assert not at.button(key="save_batches").disabled
    assert not at.success


def test_adding_a_member_with_the_database_stopped(own_server):
    at = page("team").run()
    embedded.stop_server(own_server)
    at.text_input(key="add_name").input("Roberta")
    at.button(key="add_member").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error if "database is not available" in e.value]
    assert not any("Roberta was added" in s.value for s in at.success)


def test_two_uris_never_share_a_cached_client(tmp_path):
    one = Settings(mongo_uri="mongodb://a:pw-one@host-a:27017/", embedded_path=tmp_path)
    two = Settings(mongo_uri="mongodb://a:pw-one@host-b:27017/", embedded_path=tmp_path)
    assert repr(one) == repr(two)  # the URI is kept out of repr, so it cannot be the key
    assert identity(one) != identity(two)
    assert "pw-one" not in identity(one) and "host-a" not in identity(one)
