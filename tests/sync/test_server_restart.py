"""The database server killed (SIGKILL) and back on the same port and storage within moments:
it may have lost the last writes it had confirmed (MongoDB with w:1 does the same), so a sync
that carried on against it must not save its index over them as if they were made."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager

from gridfs import GridFS
from pymongo import MongoClient

from segcore.core.phrases import text_of
from segcore.prepare import prepare
from segcore.settings.config import Settings
from segcore.store import embedded
from segcore.store.connection import open_databases
from segcore.sync.sync import list_runs, run_sync
from tests.conftest import NOTIFY_CHANNELS
from tests.helpers import ROOT, free_port

BATCHES = 200


class RestartableServer:
    """`python -m secantus` on a fixed port and storage, killed and started again at will."""

    def __init__(self, storage, port):
        self.command = embedded.server_command(storage, port, "ERROR")
        self.uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
        self.log = open(storage.with_name("server.log"), "ab")
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while True:
            with MongoClient(self.uri, serverSelectionTimeoutMS=300) as probe:
                try:
                    probe.admin.command("ping")
                    return
                except Exception:
                    assert self.process.poll() is None, "the server exited"
                    assert time.monotonic() < deadline, "the server did not answer in 60 s"
                    time.sleep(0.1)

    def kill_and_restart(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.start()

    def stop(self):
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


@contextmanager
def lab_on_a_restartable_server(tmp_path):
    """200 batches with an upload each on a server of their own, synced once."""
    server = RestartableServer(tmp_path / "db", free_port())
    server.start()
    try:
        with MongoClient(server.uri, serverSelectionTimeoutMS=60_000) as client:
            databases = open_databases(
                Settings(mongo_uri=server.uri, mongo_db="seg", training_db="tm"), client=client
            )
            prepare(databases)
            databases.work.batches.insert_many(
                [{"id": f"batch_{n}"} for n in range(1, BATCHES + 1)]
            )
            for n in range(1, BATCHES + 1):
                put(databases, f"masks_batch_{n}.zip")
            assert run_sync(databases).full
            yield server, databases
    finally:
        server.stop()


def put(databases, filename):
    GridFS(databases.training, collection="masks").put(
        b"m", filename=filename, metadata={"uploaded_by": "flor"}
    )


def new_and_deleted_uploads(databases, rng):
    """150 new uploads and 10 deleted, as a busy afternoon brings."""
    for n in range(150):
        put(databases, f"masks_batch_{rng.randint(1, BATCHES)}_{n}.zip")
    files = GridFS(databases.training, collection="masks")
    for doc in list(databases.masks_files.find({}, {"_id": 1}).limit(10)):
        files.delete(doc["_id"])


def wrong_batches(databases) -> list:
    """Batches whose stored uploads are not those that name them: (id, stored, present)."""
    present = Counter(
        "batch_" + f["filename"].split("_")[2].split(".")[0]
        for f in databases.masks_files.find({}, {"filename": 1})
    )
    wrong = []
    for batch in databases.work.batches.find():
        stored = (batch.get("training_metrics_info") or {}).get("file_count", 0)
        want = present.get(batch["id"], 0)
        if stored != want or bool(batch.get("mongo_uploaded")) != (want > 0):
            wrong.append((batch["id"], stored, want))
    return wrong


def test_a_server_killed_and_back_during_a_sync_is_noticed_and_the_batches_repaired(tmp_path):
    """The kill lands right after the sync wrote the batches (the progress step that follows
    them), the server is back before the sync goes on: the sync notices, records that run as
    failed, reads everything again at once and says why; the batches match the uploads."""
    with lab_on_a_restartable_server(tmp_path) as (server, databases):
        new_and_deleted_uploads(databases, random.Random(5))
        killed = []

        def progress(fraction, message):
            if fraction >= 0.8 and not killed:  # the batches were just written
                killed.append(fraction)
                server.kill_and_restart()

        report = run_sync(databases, progress=progress)
        assert killed
        assert report.full and "restarted during the sync" in text_of(report.full_reason)
        failed, repaired = list_runs(databases.work, 2)[::-1]
        assert failed["status"] == "failed" and failed["error"].startswith("ServerRestarted: ")
        assert repaired["status"] == "ok"
        assert wrong_batches(databases) == []
        again = run_sync(databases)
        assert not again.full and again.batches_updated == 0
        assert wrong_batches(databases) == []


def test_a_server_restart_since_the_last_sync_means_the_next_one_reads_everything(tmp_path):
    """The server died right after a cron sync (its last writes may be gone with it): the cron
    run that follows does not trust the saved index, and says why it reads everything."""
    with lab_on_a_restartable_server(tmp_path) as (server, databases):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGO", "DATA_"))}
        env.update(MONGO_URI=server.uri, MONGO_DB="seg", TRAINING_DB="tm", PYTHONPATH=str(ROOT))
        env.update({name: "" for name in NOTIFY_CHANNELS})

        def cron_sync() -> dict:
            out = subprocess.run(
                [sys.executable, "-m", "segcore", "sync", "--mode", "cron", "--json"],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path,
                timeout=300,
            )
            assert out.returncode == 0, out.stderr
            return json.loads(out.stdout)

        assert cron_sync()["full"] is False  # nothing new: the few-round-trip run
        server.kill_and_restart()
        new_and_deleted_uploads(databases, random.Random(7))
        after = cron_sync()
        assert after["full"] is True
        assert "restarted since the last sync began" in after["full_reason"]
        assert wrong_batches(databases) == []
        assert cron_sync()["full"] is False  # the new process is the one saved now
