"""A MONGO_URI that names a database (`mongodb://host/teamdb`, the MongoDB and Atlas form): the
commands work there when MONGO_DB is unset, and `segcore health` says which one is used when
both name one."""

import json
import uuid

import pytest


@pytest.fixture
def teamdb(client):
    """A database name no other test uses, dropped afterwards."""
    name = f"teamdb_{uuid.uuid4().hex[:10]}"
    yield name
    client.drop_database(name)


def with_path(uri: str, path: str, credentials: str = "") -> str:
    """The test server's URI (`mongodb://host:port/?options`) naming `path` as its database."""
    assert uri.startswith("mongodb://") and "/?" in uri
    return uri.replace("mongodb://", f"mongodb://{credentials}").replace("/?", f"/{path}?", 1)


def test_import_writes_to_the_database_the_uri_names(run_cli, client, mongo_uri, teamdb, tmp_path):
    data = tmp_path / "data"
    for n in (1, 2):
        (data / f"batch_{n}").mkdir(parents=True)
    before = client["segmentacion_db"].batches.count_documents({})
    env = {"MONGO_URI": with_path(mongo_uri, teamdb), "MONGO_DB": "", "DATA_DIRECTORY": str(data)}
    out = run_cli("import", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == 2
    assert sorted(d["id"] for d in client[teamdb].batches.find()) == ["batch_1", "batch_2"]
    assert client["segmentacion_db"].batches.count_documents({}) == before
    health = run_cli("health", env=env)
    assert health.returncode == 0, health.stderr
    assert health.stdout.splitlines()[0].startswith(f"{teamdb} ") and "note:" not in health.stderr


def test_health_says_mongo_db_wins_over_the_uris_database_without_the_password(
    run_cli, dbs, mongo_uri, teamdb
):
    uri = with_path(mongo_uri, teamdb, credentials="coord:s3cret-pw@")
    out = run_cli("health", env={"MONGO_URI": uri})
    notes = [line for line in out.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        f"note: MONGO_DB={dbs.work.name} is the app's database (MONGO_DB wins); the database "
        f"MONGO_URI names, {teamdb}, is not used for the app's data."
    ]
    assert "s3cret-pw" not in out.stdout + out.stderr
    as_json = run_cli("health", "--json", env={"MONGO_URI": uri})
    assert "s3cret-pw" not in as_json.stdout + as_json.stderr
    assert as_json.stderr.count("note:") == 1


@pytest.mark.parametrize("command", [["sync"], ["team", "add", "Ana"], ["backup", "--out", "b/"]])
def test_a_uri_asking_for_unconfirmed_writes_is_refused_before_anything_is_written(
    run_cli, db, mongo_uri, command
):
    """`w=0` (a "fast" connection string copied from elsewhere): the sync would save its resume
    point over writes nobody confirmed. Every command stops at once naming the option, with no
    driver message, no lease and no run record left behind."""
    out = run_cli(*command, env={"MONGO_URI": mongo_uri + "&w=0"})
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "error: MONGO_URI: w=0 asks the server not to confirm writes; leave it out, or use "
        "w=1 or w=majority"
    ]
    assert [db.locks.count_documents({}), db.sync_runs.count_documents({})] == [0, 0]
    assert db.segmentadores.count_documents({}) == 0
