"""A mask check (or a sync) killed (SIGKILL, as a crash or an OOM kill does) after it stored
uploads' listings but before their receipts: the next run makes every receipt owed, moves each
batch's status once with its history entry, and queues each message once. PNG images and masks
written by Pillow, zipped by Info-ZIP, stored in GridFS; `segcore` run as its own process."""

from __future__ import annotations

import subprocess
from dataclasses import replace

import gridfs
import pytest
from PIL import Image

from segcore.prepare import prepare
from segcore.store.connection import open_databases
from tests.content.test_content_due import cli, differences
from tests.content.test_content_due import outcome as content_outcome
from tests.helpers import kill_segcore_once_stored

# More uploads than a listing slice (listing_store.SLICE, 200): the kill lands while the
# first slice's listings are stored and the rest are being listed.
BATCHES = 230
IMAGES = 3


@pytest.fixture
def twins(dbs, client, tmp_path, cli_env):
    """Two app databases over the same uploads (one per batch; every fourth batch's zip lacks a
    mask): `ref` runs undisturbed, `dbs` is killed. `env(db)` runs the command line on one, with
    a webhook set (nothing listens: messages wait in the outbox, where they are compared)."""
    data = tmp_path / "data"
    for number in range(1, BATCHES + 1):
        folder = data / f"batch_{number}"
        folder.mkdir(parents=True)
        for n in range(1, IMAGES + 1):
            Image.new("L", (16, 16), n).save(folder / f"img_{n:03d}.png")
    ref = open_databases(replace(dbs.settings, mongo_db=dbs.settings.mongo_db + "_ref"), client)
    prepare(ref)
    for databases in (dbs, ref):
        databases.work.batches.insert_many(
            [
                {"id": f"batch_{n}", "status": "pending", "folder": str(data / f"batch_{n}")}
                for n in range(1, BATCHES + 1)
            ]
        )
    zips = {}
    for kind, count in (("complete", IMAGES), ("incomplete", IMAGES - 1)):
        folder = tmp_path / kind
        folder.mkdir()
        for n in range(1, count + 1):
            mask = Image.new("L", (16, 16), 0)
            mask.paste(1, (4, 4, 12, 12))
            mask.save(folder / f"img_{n:03d}_mask.png")
        subprocess.run(
            ["zip", "-q", "-r", str(tmp_path / f"{kind}.zip"), "."], cwd=folder, check=True
        )
        zips[kind] = (tmp_path / f"{kind}.zip").read_bytes()
    bucket = gridfs.GridFSBucket(dbs.training, bucket_name=dbs.settings.masks_bucket)
    for number in range(1, BATCHES + 1):
        held = zips["incomplete" if number % 4 == 0 else "complete"]
        bucket.upload_from_stream(f"batch_{number}.zip", held, metadata={"uploaded_by": "flor"})
    base = {
        **cli_env,
        "DATA_DIRECTORY": str(data),
        "WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "WEBHOOK_FORMAT": "json",
        "NOTIFY_DAILY": "off",
        "NOTIFY_WEEKLY": "off",
    }

    def env(databases) -> dict:
        return {**base, "MONGO_DB": databases.settings.mongo_db}

    yield dbs, ref, env
    client.drop_database(ref.settings.mongo_db)


def killed_after_listings(env, work, *args) -> None:
    """Run `segcore *args` and SIGKILL it once it stored some uploads' listings, before it
    stored any receipt or status move (the moment the test waits for, polled)."""
    kill_segcore_once_stored(env, work.mask_checks, *args)
    assert work.mask_checks.count_documents({}) > 0
    assert work.receipts.count_documents({}) == 0, "killed after the receipts were stored"
    assert work.history.count_documents({}) == 0, "killed after the status moves"


def outcome(databases) -> dict:
    """What people see (content_due.outcome: statuses, delivered, receipts, queued messages),
    with each batch's status history and how many receipts there are."""
    seen = content_outcome(databases)
    seen["history"] = {}
    for entry in databases.work.history.find({"field": "status"}):
        seen["history"].setdefault(entry["key"], []).append((entry["old"], entry["new"]))
    seen["receipt count"] = databases.work.receipts.count_documents({})
    return seen


def test_a_verify_killed_after_storing_listings_makes_their_receipts_on_the_next_run(twins):
    """Killed after it stored listings but before their receipts, `verify` left those uploads
    listed and current: every later check skipped them ("0 uploads checked"), so they never
    got a receipt, their batches stayed `pending` though delivered, and nobody was told."""
    dbs, ref, env = twins
    cli(env(ref), "verify", "--all")
    expected = outcome(ref)
    assert expected["receipt count"] == BATCHES
    assert expected["batches"]["batch_1"] == ("review", None)
    assert expected["batches"]["batch_4"] == ("rework", None)
    assert expected["history"]["batch_4"] == [("pending", "rework")]
    assert len(expected["messages"]) == BATCHES // 4  # one per incomplete upload, to the webhook
    killed_after_listings(env(dbs), dbs.work, "verify", "--all")
    listed = dbs.work.mask_checks.count_documents({})
    again = cli(env(dbs), "verify", "--all").stdout
    assert differences(outcome(dbs), expected) == {}
    assert (
        f"{BATCHES} uploads got their first receipt ({listed} listed by an earlier check "
        f"stopped before their receipts); {BATCHES} batch statuses moved." in again
    ), again
    after = cli(env(dbs), "verify", "--all").stdout  # and nothing more on the run after
    assert "0 uploads checked" in after and "first receipt" not in after
    assert outcome(dbs) == expected


def test_a_sync_killed_before_its_receipts_gets_them_from_check_masks_then_moves_once(twins):
    """A first sync killed after it stored the new uploads' listings, before their receipts:
    "Check masks" (`verify`) skipped the listed uploads and made none of their receipts. Now it
    makes them and moves the statuses; the sync after it makes no receipt or move again."""
    dbs, ref, env = twins
    cli(env(ref), "sync")
    cli(env(ref), "notify", "--send-due")  # the receipts' messages queued (none is sent)
    expected = outcome(ref)
    assert expected["receipt count"] == BATCHES
    assert expected["batches"]["batch_4"] == ("rework", None)
    killed_after_listings(env(dbs), dbs.work, "sync")
    cli(env(dbs), "verify")
    cli(env(dbs), "notify", "--send-due")
    checked = outcome(dbs)
    assert differences(checked, expected) == {}
    cli(env(dbs), "sync")  # first contact again: finds every upload with its receipt
    cli(env(dbs), "notify", "--send-due")
    assert differences(outcome(dbs), checked) == {}
