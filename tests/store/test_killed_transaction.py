"""A command killed inside a transaction (kill -9, a dropped SSH session) leaves it open on the
server. The cron sync that follows must not wait for good: on the embedded server segcore starts,
the transaction is given up after 60 s and the sync finishes. `segcore` runs as its own process;
the masks are PNGs written by Pillow and zipped by Info-ZIP."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections import defaultdict

import gridfs
import pytest
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
