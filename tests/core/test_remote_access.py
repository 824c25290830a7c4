"""MONGO_URI with SCRAM credentials, authSource and TLS, against real servers started with --auth.

The password holds characters that must be URL-quoted, and every test looks for it, as written
and as quoted, in what the user could see: messages, health reports, the displayed
configuration, command-line output and the logs.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from segcore.core.errors import DatabaseUnavailable
from segcore.prepare import prepare
from segcore.settings import config_table
from segcore.settings.config import settings_from
from segcore.store.connection import check_health, friendly_errors, open_databases
from segcore.team import team
from segcore.work import assignments, batch_import
from tests.helpers import free_port
from tests.servers import make_certificates, provision, secured_server

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "S3cr3t p@ss:w/rd+%?#&=é"
QUOTED = quote_plus(PASSWORD)
FORMS = (PASSWORD, QUOTED, "S3cr3t")  # the password, as quoted in the URI, and a fragment
APP_DB, TRAINING_DB = "seg_access", "tm_access"
# The least a deployment needs: its own database read-write, the masks' file documents read.
MASKS_READER = {
    "privileges": [
        {"resource": {"db": TRAINING_DB, "collection": "masks.files"}, "actions": ["find"]},
        {"resource": {"db": TRAINING_DB, "collection": ""}, "actions": ["listCollections"]},
    ],
    "roles": [],
}
USERS = {
    "appuser": [{"role": "readWrite", "db": APP_DB}, {"role": "read", "db": TRAINING_DB}],
    "strictuser": [{"role": "readWrite", "db": APP_DB}, {"role": "masksReader", "db": "admin"}],
    "uploader": [{"role": "readWrite", "db": TRAINING_DB}],  # the segmentadores' upload tools
}


def create_users(client: MongoClient) -> None:
    client.admin.command("createRole", "masksReader", **MASKS_READER)
    for name, roles in USERS.items():
        client.admin.command("createUser", name, pwd=PASSWORD, roles=roles)


def uri_for(port: int, user: str = "appuser", password: str = QUOTED, extra: str = "") -> str:
    return (
        f"mongodb://{user}:{password}@127.0.0.1:{port}/?authSource=admin"
        f"&directConnection=true{extra}"
    )


@pytest.fixture(scope="module")
def auth_port(tmp_path_factory):
    """Port of a server started with --auth, once its users were created without it."""
    storage = tmp_path_factory.mktemp("auth") / "db"
    provision(storage, create_users)
    port = free_port()
    with secured_server(storage, uri_for(port), port=port):
        yield port


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """(port, CA file) of a server with --auth and TLS, its certificate signed by a test CA."""
    directory = tmp_path_factory.mktemp("tls")
    certs = make_certificates(directory / "certs")
    storage = directory / "db"
    provision(storage, create_users)
    port = free_port()
    probe = uri_for(port, extra=f"&tls=true&tlsCAFile={certs['ca']}")
    with secured_server(storage, probe, port=port, tls=(certs["cert"], certs["key"])):
        yield port, certs["ca"]


def settings_for(uri: str, **extra: str):
    return settings_from(
        {
            "MONGO_URI": uri,
            "MONGO_DB": APP_DB,
            "TRAINING_DB": TRAINING_DB,
            "MONGO_TIMEOUT_MS": "3000",
            **extra,
        }
    )


def assert_no_password(*texts: object) -> None:
    for text in texts:
        for form in FORMS:
            assert form not in str(text), f"password leaked: {str(text)[:300]}"


@pytest.fixture
def clean(auth_port):
    """Empty both test databases after the test (the users may drop collections, not databases)."""
    yield
    for user, db_name in (("appuser", APP_DB), ("uploader", TRAINING_DB)):
        client = MongoClient(uri_for(auth_port, user))
        for name in client[db_name].list_collection_names():
            client[db_name].drop_collection(name)
        client.close()


# --- connecting -----------------------------------------------------------------------------


def test_scram_with_auth_source_connects_and_reports_health(auth_port, clean, caplog):
    caplog.set_level(logging.DEBUG)
    settings = settings_for(uri_for(auth_port))
    databases = open_databases(settings)
    with friendly_errors(databases.uri):
        prepare(databases)
        team.add_member(databases.work, "Flor", author="coord")
    assert [m.name for m in team.list_members(databases.work)] == ["Flor"]
    health = [check_health(databases, which) for which in ("work", "training")]
    assert all(h.reachable for h in health), health
    assert health[0].uri.startswith("mongodb://appuser:***@127.0.0.1:")
    assert_no_password(
        health, config_table.describe(settings), repr(databases), repr(settings), caplog.text
    )


def test_scram_over_tls_with_a_ca_file(tls, caplog):
    caplog.set_level(logging.DEBUG)
    port, ca_file = tls
    settings = settings_for(uri_for(port, extra=f"&tls=true&tlsCAFile={ca_file}"))
    databases = open_databases(settings)
    health = check_health(databases, "work")
    assert health.reachable, health.error
    assert "tls=true" in health.uri
    with friendly_errors(databases.uri):
        prepare(databases)
    assert_no_password(health, config_table.describe(settings), caplog.text)


def test_tls_server_refuses_a_client_that_does_not_trust_its_certificate(tls):
    port, _ = tls
    databases = open_databases(
        settings_for(uri_for(port, extra="&tls=true"), MONGO_TIMEOUT_MS="1500")
    )
    health = check_health(databases, "work")
    assert not health.reachable and "certificate" in health.error.lower()
    with pytest.raises(DatabaseUnavailable) as exc:
        with friendly_errors(databases.uri):
            databases.work.command("ping")
    assert_no_password(health, exc.value)


@pytest.mark.parametrize("password", [quote_plus(PASSWORD + "x"), "wrong"])
def test_wrong_password_is_a_short_message_without_the_password(auth_port, password, caplog):
    caplog.set_level(logging.DEBUG)
    databases = open_databases(settings_for(uri_for(auth_port, password=password)))
    with pytest.raises(DatabaseUnavailable) as exc:
        with friendly_errors(databases.uri):
            team.list_members(databases.work)
    message = str(exc.value)
    assert "user name or password" in message and "\n" not in message and len(message) < 300
    health = check_health(databases, "work")
    assert not health.reachable
    assert_no_password(message, health, caplog.text)
    assert password not in message + str(health) + caplog.text


def test_wrong_auth_source_is_reported_as_refused_credentials(auth_port):
    uri = uri_for(auth_port).replace("authSource=admin", f"authSource={APP_DB}")
    databases = open_databases(settings_for(uri))
    with pytest.raises(DatabaseUnavailable) as exc:
        with friendly_errors(databases.uri):
            databases.work.command("ping")
    assert "authSource" in str(exc.value)
    assert_no_password(exc.value)


# --- least privileges ------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["appuser", "strictuser"])
def test_read_only_training_user_is_enough_for_everything_segcore_does(
    auth_port, clean, user, tmp_path
):
    from gridfs import GridFS

    uploads = MongoClient(uri_for(auth_port, "uploader"))[TRAINING_DB]
    GridFS(uploads, collection="masks").put(
        b"mask",
        filename="masks_batch_2.tar.xz",
        metadata={"uploaded_by": "flor", "batch_id": "batch_2"},
    )
    databases = open_databases(settings_for(uri_for(auth_port, user)))
    with friendly_errors(databases.uri):
        prepare(databases)
        team.add_member(databases.work, "Flor", author="coord")
        (tmp_path / "batches.json").write_text(json.dumps(["batch_1", "batch_2", "batch_3"]))
        result = batch_import.import_from_sources(
            databases.work, tmp_path / "batches.json", None, "coord"
        )
        assert result.added == 3
        assert assignments.assign(databases.work, ["batch_1", "batch_2"], "Flor", "coord").updated
        from segcore.sync.sync import run_sync

        report = run_sync(databases, author="coord")
    assert report.batches_with_masks == 1
    assert databases.work.batches.find_one({"id": "batch_2"})["mongo_uploaded"] is True
    assert all(check_health(databases, w).reachable for w in ("work", "training"))
    with pytest.raises(OperationFailure) as exc:
        databases.training["masks.files"].insert_one({"filename": "x"})
    assert exc.value.code == 13
    with pytest.raises(DatabaseUnavailable) as refused:
        with friendly_errors(databases.uri):
            databases.training["masks.files"].delete_many({})
    assert "not allowed" in str(refused.value)
    assert uploads["masks.files"].count_documents({}) == 1


# --- the command line ------------------------------------------------------------------------


def run_cli(uri: str, *args: str, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGO", "DATA_", "BATCHES"))}
    env.update(
        {
            "MONGO_URI": uri,
            "MONGO_DB": APP_DB,
            "TRAINING_DB": TRAINING_DB,
            "PYTHONPATH": str(ROOT),
            "MONGO_TIMEOUT_MS": "3000",
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "segcore", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("status", "--json"),
        ("team", "list", "--json"),
        ("health", "--json"),
        ("team", "add", "Flor"),
    ],
)
def test_cli_never_prints_the_password(auth_port, clean, tmp_path, args):
    good = run_cli(uri_for(auth_port), *args, tmp_path=tmp_path)
    assert good.returncode == 0, good.stderr
    assert_no_password(good.stdout, good.stderr)
    bad = run_cli(
        uri_for(auth_port, password=quote_plus("nope " + PASSWORD)), *args, tmp_path=tmp_path
    )
    assert bad.returncode == 1 and bad.stderr.startswith("error:")
    assert_no_password(bad.stdout, bad.stderr)


def test_cli_refused_write_to_a_database_the_user_may_only_read(auth_port, clean, tmp_path):
    out = run_cli(
        uri_for(auth_port).replace("appuser", "uploader"), "team", "add", "Flor", tmp_path=tmp_path
    )
    assert out.returncode == 1 and "not allowed" in out.stderr, out.stderr
    assert_no_password(out.stdout, out.stderr)


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://appuser:{raw}@127.0.0.1:1/",  # unquoted: pymongo refuses it
        "mongodb://appuser:{quoted}@127.0.0.1:1/?tls=true&tlsCAFile=/nonexistent/ca.pem",
        "mongodb://appuser:{quoted}@127.0.0.1:1/?authSource=admin",  # nothing listens on port 1
    ],
)
def test_cli_errors_for_unusable_uris_never_print_the_password(tmp_path, uri):
    uri = uri.format(raw=PASSWORD, quoted=QUOTED)
    out = run_cli(uri, "status", "--json", tmp_path=tmp_path)
    assert out.returncode == 1 and out.stdout == "" and out.stderr.startswith("error:")
    assert out.stderr.count("\n") == 1, out.stderr
    assert_no_password(out.stderr)


# --- the pages ------------------------------------------------------------------------------


def rendered_text(at) -> str:
    """Everything an AppTest run put on the page, as one string (widget values included)."""
    parts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


@pytest.mark.parametrize(
    "name", ["streamlit_app", "dashboard", "batches", "team", "sync", "settings"]
)
@pytest.mark.parametrize("password", [QUOTED, quote_plus("nope " + PASSWORD)])
def test_pages_never_show_the_password(auth_port, clean, monkeypatch, caplog, name, password):
    import streamlit as st

    from tests.helpers import page

    caplog.set_level(logging.DEBUG)
    for variable in ("DATA_DIRECTORY", "BATCHES_FILE", "AUTO_SYNC_MINUTES", "LOGIN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANGUAGE", "en")  # these tests read the English texts
    monkeypatch.setenv("MONGO_URI", uri_for(auth_port, password=password))
    monkeypatch.setenv("MONGO_DB", APP_DB)
    monkeypatch.setenv("TRAINING_DB", TRAINING_DB)
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        at = page(name).run()
        text = rendered_text(at)
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
    assert not at.exception, at.exception
    if password == QUOTED and name in ("streamlit_app", "settings"):
        assert "appuser:***@" in text, text[:2000]  # the search does see the masked URI
    if password != QUOTED:
        assert "user name or password" in text or name == "streamlit_app", text[:2000]
    assert_no_password(text, caplog.text)
    assert password not in text + caplog.text


def test_demo_as_the_least_privilege_user_refuses_before_writing_anything(
    auth_port, clean, tmp_path
):
    from segcore import demo
    from segcore.core.errors import DemoRefused

    databases = open_databases(settings_for(uri_for(auth_port, "strictuser")))
    with friendly_errors(databases.uri):
        prepare(databases)
        with pytest.raises(DemoRefused) as exc:
            demo.load_demo(databases, tmp_path / "demo", count=10)
    assert TRAINING_DB in str(exc.value) and "Nothing was loaded" in str(exc.value)
    work = databases.work
    assert {
        name: work[name].count_documents({})
        for name in work.list_collection_names()
        if work[name].count_documents({})
    } == {}
    assert demo.can_load_demo(databases)  # still empty, so a demo with rights can load later
    out = run_cli(
        uri_for(auth_port, "strictuser"),
        "demo",
        "--dir",
        str(tmp_path / "d2"),
        "--batches",
        "10",
        tmp_path=tmp_path,
    )
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert out.stderr.startswith("error: The demo writes sample mask uploads"), out.stderr
