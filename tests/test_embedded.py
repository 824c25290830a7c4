"""The embedded server: started once, reused by a second process, restarted after a stop."""

import json
import subprocess
import sys

from pymongo import MongoClient

from segcore import embedded
from tests.helpers import ROOT


def test_second_process_reuses_the_running_server(tmp_path):
    path = tmp_path / "db"
    uri = embedded.ensure_server(path)
    try:
        MongoClient(uri).app.things.insert_one({"made_by": "first"})
        code = ("import sys; from segcore import embedded; "
                f"print(embedded.ensure_server({str(path)!r}))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=ROOT, timeout=60, check=True).stdout.strip()
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


def test_stale_state_file_is_replaced(tmp_path):
    path = tmp_path / "db"
    (tmp_path / "db.server.json").write_text(json.dumps({"uri": "mongodb://127.0.0.1:1/",
                                                        "pid": 999999}))
    uri = embedded.ensure_server(path)
    try:
        assert uri != "mongodb://127.0.0.1:1/" and embedded.running_server(path) == uri
    finally:
        embedded.stop_server(path)
