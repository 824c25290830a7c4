"""The embedded server: started once, reused by a second process, restarted after a stop."""

import json
import os
import socket
import subprocess
import sys

from pymongo import MongoClient

from segcore.store import embedded
from tests.helpers import ROOT


def test_second_process_reuses_the_running_server(tmp_path):
    path = tmp_path / "db"
    uri = embedded.ensure_server(path)
    try:
        MongoClient(uri).app.things.insert_one({"made_by": "first"})
        code = (
            "import sys; from segcore.store import embedded; "
            f"print(embedded.ensure_server({str(path)!r}))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=True,
        ).stdout.strip()
        assert out == uri
        pid = json.loads((tmp_path / "db.server.json").read_text())["pid"]
        assert embedded.running_server(path) == uri and pid > 0
    finally:
        assert embedded.stop_server(path)
    assert embedded.running_server(path) is None
    # Data survives the restart on the same directory.
    uri = embedded.ensure_server(path)
    try:
        assert MongoClient(uri).app.things.find_one({}, {"_id": 0}) == {"made_by": "first"}
    finally:
        embedded.stop_server(path)


def test_a_restarted_server_takes_its_old_port_so_open_clients_reconnect(tmp_path):
    """After `stop-server`, the next start listens where the last one did: a client opened
    before (the app's cached connection, `sync --watch`) finds it again without a restart.
    A port another program took meanwhile is left to it."""
    path = tmp_path / "db"
    uri = embedded.ensure_server(path)
    client = MongoClient(uri, serverSelectionTimeoutMS=30_000)
    try:
        client.app.things.insert_one({"made_by": "first"})
        assert embedded.stop_server(path)
        assert embedded.ensure_server(path) == uri
        assert client.app.things.find_one({}, {"_id": 0}) == {"made_by": "first"}
    finally:
        client.close()
        embedded.stop_server(path)
    port = int(uri.split(":")[2].split("/")[0])
    with socket.socket() as squatter:  # another program listening there now
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        try:
            again = embedded.ensure_server(path)
            assert again != uri and embedded.running_server(path) == again
        finally:
            embedded.stop_server(path)


def test_stale_state_file_is_replaced(tmp_path):
    path = tmp_path / "db"
    (tmp_path / "db.server.json").write_text(
        json.dumps({"uri": "mongodb://127.0.0.1:1/", "pid": 999999})
    )
    uri = embedded.ensure_server(path)
    try:
        assert uri != "mongodb://127.0.0.1:1/" and embedded.running_server(path) == uri
    finally:
        embedded.stop_server(path)


def test_stop_server_never_signals_a_program_that_reused_the_pid(tmp_path, run_cli):
    # A dead server's state file: its port answers no more and its PID now belongs to another
    # program (here a sleep started by the test).
    path = tmp_path / "db"
    other = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "db.server.json").write_text(
            json.dumps({"uri": "mongodb://127.0.0.1:1/", "pid": other.pid})
        )
        out = run_cli("stop-server", env={"MONGO_URI": "", "EMBEDDED_DB_PATH": str(path)})
        assert out.returncode == 0 and "No embedded server was running" in out.stdout
        assert other.poll() is None, "an unrelated process was killed"
        assert not (tmp_path / "db.server.json").exists()  # the stale state is cleaned up
    finally:
        other.kill()
        other.wait()


def test_stop_server_with_mongo_uri_set_says_that_server_is_not_stopped(tmp_path, run_cli):
    out = run_cli("stop-server", env={"EMBEDDED_DB_PATH": str(tmp_path / "db")})
    assert out.returncode == 0 and "No embedded server was running" in out.stdout
    assert out.stderr.strip() == (
        "note: MONGO_URI is set: the app uses that server, which this command does not stop."
    )


def test_stop_server_refuses_a_server_of_another_path_or_start_time(tmp_path):
    path, elsewhere = tmp_path / "db", tmp_path / "other" / "db"
    embedded.ensure_server(elsewhere)
    try:
        state = json.loads((tmp_path / "other" / "db.server.json").read_text())
        assert isinstance(state["started"], int)
        # The right program for the wrong path, then the right path with another start time.
        (tmp_path / "db.server.json").write_text(json.dumps(state))
        assert not embedded.stop_server(path)
        (tmp_path / "other" / "db.server.json").write_text(
            json.dumps({**state, "started": state["started"] + 1})
        )
        assert not embedded.stop_server(elsewhere)
        os.kill(state["pid"], 0)  # still running
    finally:
        (tmp_path / "other" / "db.server.json").write_text(json.dumps(state))
        assert embedded.stop_server(elsewhere)
