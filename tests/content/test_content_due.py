"""Content checks killed midway (SIGKILL, as a crash or an OOM kill does) leave nothing lost: the
next run ends where a run never killed ends. PNG masks written by Pillow, zipped by Info-ZIP,
stored in GridFS; `segcore` run as its own process and killed once some results are stored."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace

import gridfs
import pytest
from PIL import Image

from segcore.masks.receipts import NOTIFY_DUE
from segcore.prepare import prepare
from segcore.report import stats
from segcore.store.connection import open_databases
from tests.helpers import ROOT, kill_segcore_once_stored
from tests.sync.test_live_sync import watcher

BATCHES = 24  # uploads: enough that a kill lands while some are checked and some are not
IMAGES = 12


@pytest.fixture
def twins(dbs, client, tmp_path, cli_env):
    """Two app databases over the same uploads: `ref` runs undisturbed, `tst` is killed. Each
    holds the same batches of real PNG images; `env(db)` runs the command line on one, with a
    webhook set (nothing listens: messages wait in the outbox, where they are compared)."""
    data = tmp_path / "data"
    for number in range(1, BATCHES + 1):
        folder = data / f"batch_{number}"
        folder.mkdir(parents=True)
        for n in range(1, IMAGES + 1):
            Image.new("L", (64, 64), n).save(folder / f"img_{n:03d}.png")
    ref = open_databases(replace(dbs.settings, mongo_db=dbs.settings.mongo_db + "_ref"), client)
    prepare(ref)
    for databases in (dbs, ref):
        databases.work.batches.insert_many(
            [
                {
                    "id": f"batch_{n}",
                    "status": "pending",
                    "folder": str(data / f"batch_{n}"),
                    "assignee": "Flor",
                }
                for n in range(1, BATCHES + 1)
            ]
        )
    base = {
        **cli_env,
        "DATA_DIRECTORY": str(data),
        "WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "WEBHOOK_FORMAT": "json",
        "NOTIFY_DAILY": "off",  # the live sync's sender would enqueue today's digest
        "NOTIFY_WEEKLY": "off",
    }

    def env(databases) -> dict:
        return {**base, "MONGO_DB": databases.settings.mongo_db}

    yield dbs, ref, env
    client.drop_database(ref.settings.mongo_db)


def upload_masks(dbs, tmp_path) -> None:
    """A zip per batch made by Info-ZIP: the even batches' first mask is empty (a content
    problem: not usable, sent back), the odd batches' masks are right."""
    bucket = gridfs.GridFSBucket(dbs.training, bucket_name=dbs.settings.masks_bucket)
    for number in range(1, BATCHES + 1):
        folder = tmp_path / f"masks_{number}"
        folder.mkdir()
        for n in range(1, IMAGES + 1):
            mask = Image.new("L", (64, 64), 0)
            if n > 1 or number % 2:
                mask.paste(1, (8, 8, 40, 40))
            mask.save(folder / f"img_{n:03d}_mask.png")
        out = tmp_path / f"batch_{number}.zip"
        subprocess.run(["zip", "-q", "-r", str(out), "."], cwd=folder, check=True)
        bucket.upload_from_stream(
            f"batch_{number}.zip", out.read_bytes(), metadata={"uploaded_by": "flor"}
        )


def cli(env, *args):
    done = subprocess.run(
        [sys.executable, "-m", "segcore", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done


def killed_midway(env, work, *args) -> int:
    """Run `segcore *args`, SIGKILL it once some content results are stored (and not all);
    returns how many were stored."""
    kill_segcore_once_stored(env, work.mask_content, *args)
    stored = work.mask_content.count_documents({})
    assert 0 < stored < BATCHES
    return stored


def outcome(databases) -> dict:
    """What people see: each batch's status and content problems, the delivered count, each
    receipt's problem, and the messages waiting to be sent."""
    work = databases.work
    return {
        "batches": {
            d["id"]: (d["status"], (d.get("mask_content") or {}).get("problems"))
            for d in work.batches.find()
        },
        "delivered": stats.summary(work).delivered,
        "receipts": {
            r["filename"]: (r["problem"], r["usable"], (r.get("content") or {}).get("problems"))
            for r in work.receipts.find()
        },
        "receipts told about": work.receipts.count_documents({NOTIFY_DUE: True}),
        "messages": sorted(d["_id"] for d in work.notify_outbox.find({}, {"_id": 1})),
    }


def differences(seen: dict, expected: dict) -> dict:
    """What differs between two outcomes, for a readable failure."""
    found = {}
    for key, value in expected.items():
        if isinstance(value, dict):
            found[key] = {
                k: (seen[key].get(k), v) for k, v in value.items() if seen[key].get(k) != v
            }
        elif seen[key] != value:
            found[key] = (seen[key], value)
    return {k: v for k, v in found.items() if v}


@pytest.mark.parametrize("first", ["routine run", "first sync"])
def test_a_sync_killed_during_its_content_check_checks_them_on_the_next_run(twins, tmp_path, first):
    """The sync part saved its resume point before the content check was killed: the next
    `sync --verify --content` found nothing new and never checked those uploads, so their
    batches stayed `review`, counted as delivered, and nobody was told. A first sync (no
    earlier index: every upload is checked) lost them the same way."""
    dbs, ref, env = twins
    if first == "routine run":
        for databases in (ref, dbs):
            cli(env(databases), "sync")
    upload_masks(dbs, tmp_path)
    cli(env(ref), "sync", "--verify", "--content")
    expected = outcome(ref)  # the run never killed: the batches with an empty mask sent back
    assert expected["batches"]["batch_2"] == ("rework", 1)
    assert expected["batches"]["batch_1"] == ("review", 0)
    assert expected["delivered"] == BATCHES // 2
    assert len(expected["messages"]) == BATCHES // 2  # one per bad upload, to the webhook
    killed_midway(env(dbs), dbs.work, "sync", "--verify", "--content")
    again = cli(env(dbs), "sync", "--verify", "--content")
    assert again.stdout.startswith(f"{BATCHES} files (0 new"), again.stdout  # synced already
    assert outcome(dbs) == expected
    cli(env(dbs), "sync", "--verify", "--content")  # and nothing more on the run after
    assert outcome(dbs) == expected


def test_a_verify_content_killed_midway_gives_the_receipts_it_checked_their_results(
    twins, tmp_path
):
    """The uploads checked before the kill kept their stored result, but their receipts never
    got it (`receipts --problem none` listed them, their messages were never queued) and the
    re-run skipped them as checked."""
    dbs, ref, env = twins
    upload_masks(dbs, tmp_path)
    for databases in (ref, dbs):
        cli(env(databases), "sync")
    cli(env(ref), "verify", "--content")
    killed_midway(env(dbs), dbs.work, "verify", "--content")
    cli(env(dbs), "verify", "--content")
    assert outcome(dbs) == outcome(ref)
    listed = cli(env(dbs), "receipts", "--problem", "none", "--json").stdout
    assert "batch_2.zip" not in listed and "batch_1.zip" in listed


def test_a_live_sync_killed_during_its_content_checks_does_them_when_it_starts_again(
    twins, tmp_path
):
    """`sync --watch` checks each new upload's contents beside its loop: killed while checking,
    it had saved its resume point, and the uploads not checked (or checked, but their receipts
    not told) stayed so. Started again, it finishes them."""
    dbs, ref, env = twins
    for databases in (ref, dbs):
        cli(env(databases), "sync")
    log = tmp_path / "live.log"
    with watcher(env(dbs), log) as process:
        upload_masks(dbs, tmp_path)
        deadline = time.monotonic() + 600  # a cap, not a wait: a machine at load 14 took 300 s
        while dbs.work.mask_content.estimated_document_count() == 0:
            assert time.monotonic() < deadline and process.poll() is None, log.read_text()
            time.sleep(0.005)
        process.kill()
        process.wait(30)
    assert dbs.work.mask_content.count_documents({}) < BATCHES
    cli(env(ref), "sync", "--verify", "--content")
    expected = outcome(ref)
    with watcher(env(dbs), log):
        deadline = time.monotonic() + 600
        while outcome(dbs) != expected:
            assert time.monotonic() < deadline, differences(outcome(dbs), expected)
            time.sleep(0.2)


def test_a_receipt_made_again_keeps_its_stored_content_result(twins, tmp_path):
    """`verify --recheck` makes the receipts again from the listings: each keeps its upload's
    stored content result (it once lost it, and the uploads with problems read as usable until
    a full content check wrote it back), nothing is told twice, and that check changes
    nothing."""
    dbs, ref, env = twins
    upload_masks(dbs, tmp_path)
    cli(env(dbs), "sync", "--verify", "--content")
    expected = outcome(dbs)
    cli(env(dbs), "verify", "--recheck")
    assert outcome(dbs) == expected
    cli(env(dbs), "verify", "--content")
    assert outcome(dbs) == expected
