"""Shared fixtures: one embedded MongoDB-compatible server per test session, fresh databases per test."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient

from segcore.prepare import prepare
from segcore.settings.config import Settings
from segcore.store import embedded
from segcore.store.connection import open_databases
from tests.helpers import ROOT

NOTIFY_CHANNELS = ("SMTP_URL", "WEBHOOK_URL", "NOTIFY_COORDINATORS")


@pytest.fixture(scope="session")
def server_path(tmp_path_factory) -> Path:
    """Storage path of the session's embedded server."""
    return tmp_path_factory.mktemp("embedded") / "db"


@pytest.fixture(scope="session")
def mongo_uri(server_path):
    """URI of a real wire-protocol server over TCP, started once for the whole session."""
    uri = embedded.ensure_server(server_path)
    yield uri
    embedded.stop_server(server_path)


@pytest.fixture(scope="session")
def client(mongo_uri):
    client = MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.fixture
def settings(mongo_uri, tmp_path) -> Settings:
    """Settings naming uniquely named databases, dropped after the test."""
    suffix = uuid.uuid4().hex[:10]
    return Settings(
        mongo_uri=mongo_uri,
        mongo_db=f"seg_{suffix}",
        training_db=f"tm_{suffix}",
        embedded_path=tmp_path / "unused",
    )


@pytest.fixture
def dbs(settings, client):
    """Both databases of a fresh deployment, prepared as the app prepares them."""
    databases = open_databases(settings, client=client)
    prepare(databases)
    yield databases
    client.drop_database(settings.mongo_db)
    client.drop_database(settings.training_db)


@pytest.fixture
def db(dbs):
    """The app's own database (`segmentacion_db` in production)."""
    return dbs.work


@pytest.fixture
def upload(dbs):
    """Store a file in the training database's masks bucket as the annotators' tools do;
    returns its id."""
    import gridfs

    def store(
        filename: str,
        data: bytes,
        batch_id: str | None = None,
        chunk_size: int | None = None,
        uploaded_by: str = "flor",
    ):
        bucket = gridfs.GridFSBucket(
            dbs.training,
            bucket_name=dbs.settings.masks_bucket,
            **({"chunk_size_bytes": chunk_size} if chunk_size else {}),
        )
        metadata = {"uploaded_by": uploaded_by, **({"batch_id": batch_id} if batch_id else {})}
        return bucket.upload_from_stream(filename, data, metadata=metadata)

    return store


@pytest.fixture
def cli_env(settings, mongo_uri):
    """Environment for running `python -m segcore` against the test databases."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGO", "DATA_", "BATCHES"))}
    env.update(
        {
            "MONGO_URI": mongo_uri,
            "MONGO_DB": settings.mongo_db,
            "TRAINING_DB": settings.training_db,
            "PYTHONPATH": str(ROOT),
        }
    )
    # Nothing leaves the machine: a developer's own mail or chat settings in the environment
    # are blanked (an empty variable counts as unset, and the commands run in tmp_path, with no
    # .env); tests that send name their loopback servers themselves.
    env.update({name: "" for name in NOTIFY_CHANNELS})
    return env


@pytest.fixture
def run_cli(cli_env, tmp_path):
    """Run the command line as a user would; returns the CompletedProcess."""

    def run(
        *args: str, env: dict | None = None, timeout: float = 120, input_text: str | None = None
    ):
        return subprocess.run(
            [sys.executable, "-m", "segcore", *args],
            capture_output=True,
            text=True,
            env={**cli_env, **(env or {})},
            cwd=tmp_path,
            timeout=timeout,
            input=input_text,
        )

    return run


@pytest.fixture
def app_env(dbs, settings, monkeypatch, tmp_path):
    """Point the Streamlit app at the test databases through its real configuration path.

    Streamlit's caches are process-wide, so they are cleared before and after each page test.
    """
    import streamlit as st

    # A developer's own .env in the project folder is not read: a variable set empty counts as
    # unset (README, Configuration), so it could no longer blank that file's SMTP_URL.
    monkeypatch.chdir(tmp_path)

    for name in ("DATA_DIRECTORY", "BATCHES_FILE", "AUTO_SYNC_MINUTES", "LOGIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MONGO_URI", settings.mongo_uri)
    monkeypatch.setenv("MONGO_DB", settings.mongo_db)
    monkeypatch.setenv("TRAINING_DB", settings.training_db)
    monkeypatch.setenv("EMBEDDED_DB_PATH", str(settings.embedded_path))
    for name in NOTIFY_CHANNELS:  # nothing leaves the machine (see cli_env)
        monkeypatch.setenv(name, "")
    # Page tests assert English texts; tests/test_i18n_pages.py runs the pages in Spanish.
    monkeypatch.setenv("LANGUAGE", "en")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield dbs
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def demo_dbs(app_env, tmp_path):
    """The test databases holding synced demo data (60 batches, a team of five, uploads)."""
    from segcore import demo
    from segcore.sync import sync

    demo.load_demo(app_env, tmp_path / "demo", author="test", count=60)
    sync.run_sync(app_env, author="test")
    return app_env


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on loopback, stopped after the test."""
    from tests.notify_servers import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def hook():
    """A real webhook receiver (http.server) on loopback, stopped after the test."""
    from tests.notify_servers import WebhookReceiver

    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()
