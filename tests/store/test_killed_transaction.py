"""A command killed inside a transaction (kill -9, a dropped SSH session) leaves it open on the
server. The cron sync that follows must not wait for good: on the embedded server segcore starts,
the transaction is given up after 60 s and the sync finishes; on a server that never gives it
up, the sync stops after its bounded wait with one line and its lease given back, and runs once
the server is restarted. `segcore` runs as its own process; the masks are PNGs written by Pillow
and zipped by Info-ZIP."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections import defaultdict

import gridfs
import pytest
import secantus
from PIL import Image
from pymongo import MongoClient

from segcore.store import embedded
from segcore.team import team
from tests.helpers import ROOT, kill_segcore_in_transaction

DEADLINE_S = 300  # 60 s for the transaction, plus a sync's own work on a busy machine
UPLOADED = ("batch_1", "batch_550")  # one in the committed step, one in the killed one


def upload_masks(training, tmp_path, batch_ids) -> None:
    """Each batch's masks, zipped by Info-ZIP, stored in GridFS as the annotators' tool does."""
    folder = tmp_path / "masks"
    folder.mkdir()
    Image.new("L", (16, 16), 1).save(folder / "img_001_mask.png")
    subprocess.run(["zip", "-q", "-r", str(tmp_path / "masks.zip"), "."], cwd=folder, check=True)
    bucket = gridfs.GridFSBucket(training, bucket_name="masks")
    for batch_id in batch_ids:
        data = (tmp_path / "masks.zip").read_bytes()
        bucket.upload_from_stream(f"{batch_id}_masks.zip", data, metadata={"uploaded_by": "flor"})


def seed(client, env, tmp_path, count: int) -> list[str]:
    """`count` pending batches, Flor on the team, masks uploaded for UPLOADED; returns the ids."""
    work, training = client[env["MONGO_DB"]], client[env["TRAINING_DB"]]
    ids = [f"batch_{n}" for n in range(1, count + 1)]
    work.batches.insert_many([{"id": i, "status": "pending", "assignee": None} for i in ids])
    team.add_member(work, "Flor")
    upload_masks(training, tmp_path, [b for b in UPLOADED if b in ids])
    return ids


def segcore(env, *args, timeout=DEADLINE_S, code=None):
    """Run the command line (or `code` standing in for it) as a user does; returns the run."""
    command = ["-c", code] if code else ["-m", "segcore"]
    return subprocess.run(
        [sys.executable, *command, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


def assert_history_explains_every_batch(work):
    """Replaying each batch's assignee history from "unassigned" ends at its current value."""
    chains = defaultdict(list)
    for entry in work.history.find({"kind": "batch", "field": "assignee"}).sort([("at", 1)]):
        chains[entry["key"]].append(entry)
    for doc in work.batches.find({}, {"id": 1, "assignee": 1}):
        value = None
        for entry in chains.get(doc["id"], []):
            assert entry["old"] == value, (doc["id"], chains[doc["id"]])
            value = entry["new"]
        assert value == doc.get("assignee"), (doc["id"], chains.get(doc["id"]))


def uploaded(work) -> list[str]:
    return sorted(d["id"] for d in work.batches.find({"mongo_uploaded": True}, {"id": 1}))


@pytest.fixture
def names(cli_env):
    suffix = uuid.uuid4().hex[:10]
    return {**cli_env, "MONGO_DB": f"seg_{suffix}", "TRAINING_DB": f"tm_{suffix}"}


def test_a_sync_after_an_assign_killed_mid_transaction_finishes_on_the_embedded_server(
    tmp_path, names
):
    """The README's promise: the killed command's transaction is kept for 60 s, then the sync
    finishes (it waited for good: the embedded server gave such a transaction up only when a
    transactional command came)."""
    path = tmp_path / "db"
    env = {**names, "MONGO_URI": "", "EMBEDDED_DB_PATH": str(path)}
    client = MongoClient(embedded.ensure_server(path))
    try:
        work = client[env["MONGO_DB"]]
        ids = seed(client, env, tmp_path, 600)
        # Steps of 500: the first is committed, the second killed inside its transaction.
        kill_segcore_in_transaction(env, "assign", *ids, "--to", "Flor", step=2)
        assert work.batches.count_documents({"assignee": "Flor"}) == 500
        assert_history_explains_every_batch(work)

        sync = segcore(env, "sync")  # raises TimeoutExpired past DEADLINE_S
        assert sync.returncode == 0, sync.stderr
        assert uploaded(work) == sorted(UPLOADED)
        assert work.locks.find_one({"_id": "sync"}) is None  # its lease given back

        again = segcore(env, "assign", *ids, "--to", "Flor")
        assert again.stdout.startswith("100 batches updated"), again.stdout + again.stderr
        assert work.batches.count_documents({"assignee": "Flor"}) == 600
        assert_history_explains_every_batch(work)
    finally:
        client.close()
        embedded.stop_server(path)


# The command line with its write wait shortened from 90 s, so the test waits seconds.
SHORT_WAIT = (
    "from segcore.store import write_wait\n"
    "write_wait.WRITE_WAIT_S = 5\n"
    "from segcore.cli import main\n"
    "main()\n"
)


def test_a_write_waiting_on_a_transaction_never_given_up_stops_with_one_line(tmp_path, names):
    """A server that never gives the transaction up (SecantusDB started otherwise than by this
    segcore: an earlier version's, still running, or one started by hand): the sync stops after
    its bounded wait with one line and exit code 1, gives its lease back, leaves nothing of the
    killed step, and succeeds once the server is restarted (the README's recovery)."""
    storage = tmp_path / "plain"

    def start():
        server = secantus.SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(storage))
        server.start()
        return server

    server = start()
    client = MongoClient(server.uri)
    env = {**names, "MONGO_URI": server.uri}
    try:
        work = client[env["MONGO_DB"]]
        ids = seed(client, env, tmp_path, 20)
        kill_segcore_in_transaction(env, "assign", *ids, "--to", "Flor", step=1)

        sync = segcore(env, "sync", code=SHORT_WAIT, timeout=120)
        assert sync.returncode == 1
        errors = [line for line in sync.stderr.splitlines() if line.startswith("error:")]
        assert errors == [sync.stderr.splitlines()[-1]] and "Traceback" not in sync.stderr
        assert errors[0].startswith(
            "error: The database did not finish a write within 5 s: another command's "
            "transaction still holds these batches"
        ), sync.stderr
        assert work.locks.find_one({"_id": "sync"}) is None  # its lease given back
        assert work.sync_runs.find_one(sort=[("_id", -1)])["status"] == "failed"
        assert work.batches.count_documents({"assignee": "Flor"}) == 0  # nothing of the step
        assert work.history.count_documents({"field": "assignee"}) == 0
    finally:
        client.close()
        server.stop()

    server = start()  # a restart ends the transaction
    client = MongoClient(server.uri)
    env["MONGO_URI"] = server.uri
    try:
        work = client[env["MONGO_DB"]]
        sync = segcore(env, "sync")
        assert sync.returncode == 0, sync.stderr
        assert uploaded(work) == ["batch_1"]
        again = segcore(env, "assign", *ids, "--to", "Flor")
        assert again.stdout.startswith("20 batches updated"), again.stdout + again.stderr
        assert_history_explains_every_batch(work)
    finally:
        client.close()
        server.stop()
