"""The live sync (`segcore sync --watch`) as a process of its own against real servers: uploads
applied within seconds, a clean stop that misses nothing, a server restarted under it, a burst
in bulk, a second watcher refused, and polling on a server without change streams."""

import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from gridfs import GridFS

from segcore.core.errors import SyncAlreadyRunning
from segcore.store import data_version
from segcore.sync import upload_stats
from segcore.sync.live.live_status import live_status
from segcore.sync.live.live_sync import LiveSync
from segcore.sync.records import sync_runs
from segcore.sync.records.sync_runs import SyncReport
from segcore.sync.sync import run_sync, uploader_activity_of
from segcore.sync.sync_apply import BatchListing, summarise
from segcore.team import team
from segcore.uploads.upload_changes import changes_from_stream
from segcore.work import assignments
from tests.helpers import ROOT, free_port
from tests.servers import server_process

NOW = datetime(2025, 10, 1, 12, 0, 0)


def put(databases, filename, uploaded_by="flor"):
    return GridFS(databases.training, collection="masks").put(
        b"m", filename=filename, metadata={"uploaded_by": uploaded_by}
    )


# The limit of every wait for a state: reached only when something is wrong, since a busy
# machine (a restart catching up on a thousand uploads beside a CPU load) only makes it slower.
BUSY_S = 300


def wait_for(condition, timeout=BUSY_S, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout:g} s")


def synced(databases):
    """The data version's count of sync writes to batches (what the pages poll)."""
    return data_version.read_versions(databases.work)["batches"][1]


def has_masks(databases, batch_id):
    return (databases.work.batches.find_one({"id": batch_id}) or {}).get("mongo_uploaded") is True


@contextmanager
def watcher(env, log, *args, ready="waiting for uploads"):
    """`segcore sync --watch` as its own process, logging to `log`; stopped with SIGTERM."""
    earlier = len(log.read_text()) if log.exists() else 0
    with open(log, "a") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "segcore", "sync", "--watch", *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        wait_for(
            lambda: ready in log.read_text()[earlier:] or process.poll() is not None,
            BUSY_S,
            "the watcher's start",
        )
        assert process.poll() is None, log.read_text()
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def lab(dbs):
    dbs.work.batches.insert_many([{"id": f"batch_{n}", "assignee": "Flor"} for n in range(1, 201)])
    put(dbs, "batch_1.zip")
    return dbs


def test_an_upload_shows_within_seconds_and_sigterm_stops_cleanly(lab, cli_env, tmp_path):
    log = tmp_path / "live.log"
    with watcher(cli_env, log) as process:
        assert has_masks(lab, "batch_1")  # caught up at start
        status = live_status(lab.work)
        assert status.running and status.since is not None
        before = synced(lab)
        put(lab, "masks_batch_0002.tar.xz")
        wait_for(lambda: has_masks(lab, "batch_2"), BUSY_S, "batch_2's masks")
        # The data version the pages poll moves just after the batch write.
        wait_for(lambda: synced(lab) > before, BUSY_S, "the data version moving")
        wait_for(
            lambda: live_status(lab.work).last_change_at is not None, BUSY_S, "the lease's stamp"
        )
        info = lab.work.batches.find_one({"id": "batch_2"})["training_metrics_info"]
        assert info["files"] == ["masks_batch_0002.tar.xz"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(BUSY_S) == 0
    text = log.read_text()
    assert "applied 1 changed uploads (1 new, 0 removed)" in text and "live sync stopped" in text
    assert not live_status(lab.work).running  # the lease is given back
    assert "mongodb://" not in text
    # A routine sync afterwards finds everything done.
    report = run_sync(lab)
    assert not report.full and report.batches_updated == 0


def test_a_live_group_does_what_an_incremental_sync_does(dbs, cli_env, tmp_path):
    """Status moves, the uploads' read models, uploader activity, the data version and the
    resume point: the same function applies a live group and a routine run."""
    dbs.work.batches.insert_many(
        [{"id": f"batch_{n}", "assignee": "Flor", "status": "pending"} for n in range(1, 4)]
    )
    put(dbs, "batch_1.zip")  # one byte: unreadable, so the batches move to rework
    with watcher(cli_env, tmp_path / "live.log"):
        assert dbs.work.batches.find_one({"id": "batch_1"})["status"] == "rework"
        before = synced(dbs)
        put(dbs, "batch_2.zip", uploaded_by="pedro")
        wait_for(
            lambda: dbs.work.batches.find_one({"id": "batch_2"})["status"] == "rework",
            10,
            "batch_2 moving to rework",
        )
        wait_for(lambda: "pedro" in uploader_activity_of(dbs.work), BUSY_S, "pedro's activity")
    assert synced(dbs) > before
    assert (
        dbs.work.history.count_documents({"key": "batch_2", "field": "status", "new": "rework"})
        == 1
    )
    newest, _ = upload_stats.read_recent(dbs.work, 5)
    assert [u["filename"] for u in newest][:2] == ["batch_2.zip", "batch_1.zip"]
    assert uploader_activity_of(dbs.work)["pedro"]["files"] == 1
    report = run_sync(dbs)  # a routine run afterwards finds nothing left to do
    assert not report.full and report.batches_updated == 0 and report.status_moves == 0
    assert dbs.work.batches.find_one({"id": "batch_3"})["status"] == "pending"


def test_a_reassignment_is_followed_without_comparing_every_batch(dbs, cli_env, tmp_path):
    """A coordinator's edit changes the batch list's generation; the watcher moves the edited
    batches' uploads to their new owner in the uploads per day and keeps following uploads,
    leaving the models equal to a rebuild and nothing for a routine sync to do."""
    team.add_member(dbs.work, "Flor")
    team.add_member(dbs.work, "Ceci")
    dbs.work.batches.insert_many(
        [{"id": f"batch_{n}", "assignee": "Flor", "status": "pending"} for n in range(1, 4)]
    )
    for n in (1, 2, 2):
        put(dbs, f"batch_{n}.zip")
    log = tmp_path / "live.log"
    day = datetime.utcnow().date()
    per_owner = lambda owner: sum(
        d["uploads"]
        for d in upload_stats.uploads_per_day(  # noqa
            dbs.work, day - timedelta(days=1), day + timedelta(days=1), owner
        )
    )
    with watcher(cli_env, log):
        assert (per_owner("Flor"), per_owner("Ceci")) == (3, 0)
        assignments.assign(dbs.work, ["batch_2"], "Ceci", "coordinator")
        wait_for(lambda: "followed edits of 1 batches" in log.read_text(), BUSY_S, "the edit")
        assert (per_owner("Flor"), per_owner("Ceci")) == (1, 2)
        put(dbs, "batch_3.zip")  # and uploads still follow, counted for their owner
        wait_for(lambda: has_masks(dbs, "batch_3"), BUSY_S, "batch_3's masks")
        wait_for(lambda: per_owner("Flor") == 2, BUSY_S, "batch_3's upload counted")
    models = {d["_id"]: d for d in dbs.work.upload_days.find({})}
    report = run_sync(dbs)
    assert not report.full and report.batches_updated == 0
    run_sync(dbs, full=True)  # rebuilds the read models from scratch: the same
    assert {d["_id"]: d for d in dbs.work.upload_days.find({})} == models


def test_an_edit_landing_during_the_catch_up_is_not_lost_from_the_read_models(dbs, monkeypatch):
    """The listing read after catching up may already hold an edit the read models never
    counted: the first change after it gets a full comparison instead of being followed."""
    team.add_member(dbs.work, "Flor")
    team.add_member(dbs.work, "Ceci")
    dbs.work.batches.insert_many([{"id": f"batch_{n}", "assignee": "Flor"} for n in (1, 2)])
    for n in (1, 2):
        put(dbs, f"batch_{n}.zip")
    run_sync(dbs)
    day = datetime.utcnow().date()
    ceci = lambda: sum(
        d["uploads"]
        for d in upload_stats.uploads_per_day(  # noqa: E731
            dbs.work, day - timedelta(days=1), day + timedelta(days=1), "Ceci"
        )
    )
    real, edited = BatchListing.read.__func__, []

    def read_just_after_an_edit(cls, work):
        if not edited:
            assignments.assign(dbs.work, ["batch_2"], "Ceci", "coordinator")
            edited.append(True)
        return real(cls, work)

    monkeypatch.setattr(BatchListing, "read", classmethod(read_just_after_an_edit))
    live = LiveSync(dbs, log=lambda message: None)
    live.lease.acquire()
    try:
        live._catch_up()
        monkeypatch.undo()
        assert edited and ceci() == 0
        live._idle(live.token)  # the generation moved
        assert ceci() == 1
    finally:
        live.lease.release_quietly()


def test_uploads_with_odd_ids_do_not_stop_the_watcher(lab, cli_env, tmp_path):
    """Another tool's upload documents with a document or a float `_id` are counted as
    unusable; the uploads after them are applied as usual."""
    log = tmp_path / "live.log"
    with watcher(cli_env, log) as process:
        for odd in ({"tool": "x", "n": 1}, 1.5):
            lab.masks_files.insert_one(
                {
                    "_id": odd,
                    "filename": "batch_3.zip",
                    "length": 5,
                    "uploadDate": NOW,
                    "chunkSize": 261120,
                }
            )
        put(lab, "batch_4.zip")
        wait_for(lambda: has_masks(lab, "batch_4"), BUSY_S, "batch_4's masks")
        assert process.poll() is None, log.read_text()
        assert not has_masks(lab, "batch_3")
    report = run_sync(lab)
    assert not report.full and report.batches_updated == 0 and report.unusable == 2


def test_a_restart_misses_nothing_changed_while_it_was_down(lab, cli_env, tmp_path):
    log = tmp_path / "live.log"
    with watcher(cli_env, log):
        put(lab, "batch_3.zip")
        wait_for(lambda: has_masks(lab, "batch_3"), BUSY_S, "batch_3's masks")
    first = lab.masks_files.find_one({"filename": "batch_1.zip"})["_id"]
    GridFS(lab.training, collection="masks").delete(first)
    put(lab, "batch_4.zip")
    with watcher(cli_env, log):
        assert has_masks(lab, "batch_4") and not has_masks(lab, "batch_1")
    assert "caught up: 2 files (1 new, 1 removed), 2 batches updated\n" in log.read_text()


def test_a_burst_of_a_thousand_uploads_is_applied_in_bulk(lab, cli_env, tmp_path):
    log = tmp_path / "live.log"
    with watcher(cli_env, log):
        started = time.monotonic()
        lab.masks_files.insert_many(
            [
                {
                    "filename": f"batch_{n % 200 + 1}_part{n}.zip",
                    "length": 5,
                    "chunkSize": 261120,
                    "uploadDate": NOW,
                    "metadata": {"uploaded_by": "flor"},
                }
                for n in range(1000)
            ]
        )
        wait_for(
            lambda: (
                lab.work.batches.count_documents({"mongo_uploaded": True}) == 200
                and lab.work.batches.find_one({"id": "batch_200"})
                .get("training_metrics_info", {})
                .get("file_count")
                == 5
            ),
            30,
            "the burst",
        )
        elapsed = time.monotonic() - started
        # The group's index keys went to the journal; the first idle wait folds it, once the
        # group has listed its 1,000 uploads for their receipts.
        wait_for(lambda: "journaled index changes into" in log.read_text(), 120, "the fold")
        assert lab.work.sync_index.count_documents({"_id": {"$regex": "^j"}}) == 0
    live = lab.work.sync_runs.find_one({"mode": "live", "groups": {"$exists": True}})
    assert live["new_files"] == 1000 and live["groups"] <= 3 and live["bulk_writes"] <= 3
    assert lab.work.sync_runs.count_documents({}) <= 3  # no record per group
    assert elapsed < 15
    report = run_sync(lab)  # the folded index is whole: nothing left to do, nothing read again
    assert not report.full and report.batches_updated == 0 and report.total_files == 1001


@pytest.mark.parametrize("delay", [0.5, 1.0, 1.5])
def test_a_watcher_killed_mid_burst_loses_nothing_and_counts_nothing_twice(
    lab, cli_env, tmp_path, delay
):
    """SIGKILL while a group is gathered, written or journaled: the restart catches up from
    what was saved, every batch counts its uploads once, and so do the uploads per day."""
    log = tmp_path / "live.log"
    with watcher(cli_env, log) as process:
        lab.masks_files.insert_many(
            [
                {
                    "filename": f"batch_{n % 200 + 1}_part{n}.zip",
                    "length": 5,
                    "chunkSize": 261120,
                    "uploadDate": NOW,
                    "metadata": {"uploaded_by": "flor"},
                }
                for n in range(1000)
            ]
        )
        time.sleep(delay)
        process.kill()
        process.wait()
    with watcher(cli_env, log):
        pass  # caught up at start
    counts = {
        d["id"]: d["training_metrics_info"]["file_count"]
        for d in lab.work.batches.find({"mongo_uploaded": True})
    }
    assert counts == {f"batch_{n}": 6 if n == 1 else 5 for n in range(1, 201)}
    days = upload_stats.uploads_per_day(
        lab.work, NOW.date() - timedelta(days=1), NOW.date() + timedelta(days=1)
    )
    assert sum(d["uploads"] for d in days) == 1000
    assert uploader_activity_of(lab.work)["flor"]["files"] == 1001
    report = run_sync(lab, full=True)  # reading everything again changes nothing
    assert report.batches_updated == 0 and report.total_files == 1001


def test_a_second_watcher_and_a_routine_sync_are_refused_with_a_clear_message(
    lab, cli_env, tmp_path, run_cli
):
    with watcher(cli_env, tmp_path / "live.log"):
        second = run_cli("sync", "--watch", timeout=60)
        assert second.returncode == 1
        assert "A live sync (`segcore sync --watch`" in second.stderr
        routine = run_cli("sync", timeout=60)
        assert routine.returncode == 1 and "A live sync" in routine.stderr
        with pytest.raises(SyncAlreadyRunning) as refused:
            run_sync(lab)
        assert refused.value.live


def test_the_database_restarted_under_it(tmp_path, cli_env):
    port = free_port()
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    env = {**cli_env, "MONGO_URI": uri, "MONGO_DB": "seg", "TRAINING_DB": "tm"}
    storage, log = tmp_path / "db", tmp_path / "live.log"
    from pymongo import MongoClient

    running = watcher(env, log)
    with server_process(storage, uri, port=port), MongoClient(uri) as client:
        client.seg.batches.insert_many([{"id": "batch_1"}, {"id": "batch_2"}])
        process = running.__enter__()
    # The server is stopped now, with the watcher still running.
    try:
        wait_for(lambda: "retrying in" in log.read_text(), BUSY_S, "the watcher noticing")
        assert process.poll() is None
        with server_process(storage, uri, port=port), MongoClient(uri) as client:
            GridFS(client.tm, collection="masks").put(b"m", filename="batch_2.zip")
            wait_for(
                lambda: (
                    (client.seg.batches.find_one({"id": "batch_2"}) or {}).get("mongo_uploaded")
                    is True
                ),
                40,
                "the upload after the restart",
            )
            process.send_signal(signal.SIGTERM)
            assert process.wait(BUSY_S) == 0
    finally:
        running.__exit__(None, None, None)
    assert "caught up" in log.read_text().split("retrying in", 1)[1]


def test_the_embedded_server_stopped_and_started_again_under_it(tmp_path, cli_env, run_cli):
    """`segcore stop-server` (the README's remedy), then any command starting the server again:
    the watcher reconnects by itself and an upload made afterwards reaches its batch."""
    from pymongo import MongoClient

    from segcore.store import embedded

    storage, log = tmp_path / "db", tmp_path / "live.log"
    # No MONGO_URI: the embedded server on EMBEDDED_DB_PATH, as a default installation runs.
    env = {**cli_env, "MONGO_URI": "", "EMBEDDED_DB_PATH": str(storage)}
    env.update(MONGO_DB="seg", TRAINING_DB="tm")
    with MongoClient(embedded.ensure_server(storage)) as client:
        client.seg.batches.insert_many([{"id": "batch_1"}, {"id": "batch_2"}])
    try:
        with watcher(env, log) as process:
            assert run_cli("stop-server", env=env).returncode == 0
            wait_for(lambda: "retrying in" in log.read_text(), BUSY_S, "the watcher noticing")
            assert run_cli("status", env=env).returncode == 0  # starts the server again
            with MongoClient(embedded.running_server(storage)) as client:
                GridFS(client.tm, collection="masks").put(b"m", filename="batch_2.zip")
                wait_for(
                    lambda: (
                        (client.seg.batches.find_one({"id": "batch_2"}) or {}).get("mongo_uploaded")
                        is True
                    ),
                    BUSY_S,
                    "the upload after the restart",
                )
            assert process.poll() is None
    finally:
        embedded.stop_server(storage)
    assert "caught up" in log.read_text().split("retrying in", 1)[1]


def test_the_watcher_exits_when_the_embedded_server_comes_back_elsewhere(
    tmp_path, cli_env, run_cli
):
    """Its port taken by another program while it was stopped, the embedded server comes back
    on another one: the watcher says so and exits, for its service manager to start it again,
    instead of retrying a dead address for good."""
    import socket

    from pymongo import MongoClient

    from segcore.store import embedded

    storage, log = tmp_path / "db", tmp_path / "live.log"
    env = {**cli_env, "MONGO_URI": "", "EMBEDDED_DB_PATH": str(storage)}
    env.update(MONGO_DB="seg", TRAINING_DB="tm")
    uri = embedded.ensure_server(storage)
    with MongoClient(uri) as client:
        client.seg.batches.insert_many([{"id": "batch_1"}])
    try:
        with watcher(env, log) as process, socket.socket() as squatter:
            assert run_cli("stop-server", env=env).returncode == 0
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", int(uri.split(":")[2].split("/")[0])))
            squatter.listen()
            assert run_cli("status", env=env).returncode == 0  # starts it on another port
            assert embedded.running_server(storage) not in (None, uri)
            wait_for(lambda: process.poll() is not None, BUSY_S, "the watcher's exit")
            assert process.returncode == 1
    finally:
        embedded.stop_server(storage)
    assert "started again on another port" in log.read_text()


def test_a_standalone_server_is_polled(tmp_path, cli_env):
    port = free_port()
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    env = {**cli_env, "MONGO_URI": uri, "MONGO_DB": "seg", "TRAINING_DB": "tm"}
    log = tmp_path / "live.log"
    from pymongo import MongoClient

    with (
        server_process(tmp_path / "db", uri, port=port, flags=["--standalone"]),
        MongoClient(uri) as client,
    ):
        client.seg.batches.insert_many([{"id": "batch_1"}, {"id": "batch_2"}])
        files = GridFS(client.tm, collection="masks")
        first = files.put(b"m", filename="batch_1.zip")
        with watcher(env, log, "--interval", "1", ready="looking for new uploads every 1 s"):
            files.delete(first)
            files.put(b"m", filename="batch_2.zip")
            wait_for(
                lambda: (
                    (client.seg.batches.find_one({"id": "batch_2"}) or {}).get("mongo_uploaded")
                    is True
                ),
                10,
                "the polled upload",
            )
            assert client.seg.batches.find_one({"id": "batch_1"})["mongo_uploaded"] is False
    assert log.read_text().count("no change streams") == 1


# --- without a process of its own ----------------------------------------------------------


def test_live_records_one_per_hour_updated_in_place(db, monkeypatch):
    record = sync_runs.LiveRecord(db, "live")
    for _ in range(3):
        record.add(
            new_files=2,
            removed_files=1,
            batches_updated=2,
            status_moves=1,
            bulk_writes=1,
            total_files=10,
            duration_s=0.1,
        )
    assert db.sync_runs.count_documents({}) == 1
    stored = db.sync_runs.find_one()
    assert (
        stored["groups"],
        stored["new_files"],
        stored["removed_files"],
        stored["status_moves"],
    ) == (3, 6, 3, 3)
    monkeypatch.setattr(sync_runs, "LIVE_SPAN_S", 0)
    assert record.add(
        new_files=1,
        removed_files=0,
        batches_updated=1,
        status_moves=0,
        bulk_writes=1,
        total_files=11,
        duration_s=0.1,
    )
    assert db.sync_runs.count_documents({"mode": "live"}) == 2
    assert sorted(r["groups"] for r in sync_runs.list_runs(db)) == [1, 3]


def test_another_tools_reassignment_is_seen_by_the_running_watcher(dbs):
    """Another tool (mongosh, a script) reassigns batches in the database while the watcher
    runs, without segcore's generation: the batch list's change stream tells the watcher, so
    the new holder's upload is no mismatch, the uploads per day follow the new holders, and
    the read models equal a full rebuild, as after a routine sync."""
    for name in ("Flor", "Ceci", "Maggie"):
        team.add_member(dbs.work, name)
    dbs.work.batches.insert_many(
        [{"id": f"batch_{n}", "assignee": "Ceci", "status": "pending"} for n in (1, 2)]
    )
    put(dbs, "batch_1.zip", uploaded_by="Ceci")
    run_sync(dbs)
    day = datetime.utcnow().date()
    per_owner = lambda owner: sum(
        d["uploads"]
        for d in upload_stats.uploads_per_day(  # noqa: E731
            dbs.work, day - timedelta(days=1), day + timedelta(days=1), owner
        )
    )
    logged = []
    live = LiveSync(dbs, log=logged.append)
    live.lease.acquire()
    try:
        live._catch_up()
        # while idle: batch_1, with Ceci's upload, handed to Flor
        dbs.work.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Flor"}})
        live._idle(live.token)
        assert (per_owner("Ceci"), per_owner("Flor")) == (0, 1)
        # before a group: batch_2 handed to Maggie, who then uploads its masks
        dbs.work.batches.update_one({"id": "batch_2"}, {"$set": {"assignee": "Maggie"}})
        put(dbs, "batch_2.zip", uploaded_by="Maggie")
        group = changes_from_stream(dbs.masks_files, live.token, limit=10)
        live._apply(group.documents, group.token)
        live._summarise()
        assert "followed edits of 1 batches" in logged
        report = SyncReport()
        summarise(report, live.listing, live.index)
        assert [f.batches for f in report.mismatched_uploads] == [["batch_1"]]  # Ceci's, now Flor's
        assert per_owner("Maggie") == 1
        live._idle(live.token)  # its own writes are no other tool's: nothing more to follow
        assert logged.count("followed edits of 1 batches") == 2
    finally:
        live.lease.release_quietly()
    models = {d["_id"]: d for d in dbs.work.upload_days.find({})}
    assert not run_sync(dbs).full
    run_sync(dbs, full=True)  # rebuilds the read models from scratch: the same
    assert {d["_id"]: d for d in dbs.work.upload_days.find({})} == models
