"""The sync against the real server: per-field results, idempotence, removals, concurrency,
interruption, and a training database that is never written."""

import json
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from gridfs import GridFS
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from segcore.core.actors import Actor
from segcore.core.errors import ConfigError, PermissionDenied, SyncAlreadyRunning
from segcore.prepare import prepare
from segcore.settings.config import Settings
from segcore.store.connection import open_databases
from segcore.sync.sync import last_run, list_runs, run_sync
from segcore.team import team
from segcore.work import assignments
from tests.helpers import ROOT, free_port
from tests.servers import server_process

T0 = datetime(2025, 10, 1, 10, 30)


def put(dbs, filename, metadata=None, when=T0, size=10):
    files = GridFS(dbs.training, collection="masks")
    file_id = files.put(b"m" * size, filename=filename, metadata=metadata)
    dbs.masks_files.update_one({"_id": file_id}, {"$set": {"uploadDate": when}})
    return file_id


@pytest.fixture
def lab(dbs):
    """A small lab with legacy batch documents and messy uploads."""
    for name in ("Flor", "Ceci"):
        team.add_member(dbs.work, name)
    dbs.work.batches.insert_many(
        [
            {
                "id": "batch_400",
                "assignee": "Flor",
                "folder": "/p/batch_400",
                "status": "S",
                "metadata": {
                    "assigned_at": "2025-09-15",
                    "due_date": "2025-09-30",
                    "priority": "alta",
                },
            },
            {"id": "batch_0012", "assignee": "Ceci"},
            {
                "id": "batch_15",
                "assignee": None,
                "mongo_uploaded": True,
                "training_metrics_info": {"file_count": 1, "files": ["old.zip"]},
            },
            {"id": "batch_7", "assignee": "Flor"},
            {"id": "odd_folder"},
        ]
    )
    put(
        dbs,
        "masks_batch_400.tar.xz",
        {"uploaded_by": "flor", "batch_id": "batch_400"},
        T0 + timedelta(hours=3),
        size=2048,
    )
    put(dbs, "Batch-400.zip", {"uploaded_by": "Flór"}, T0 + timedelta(hours=1))
    put(dbs, "batch_0400_part2.zip", None, T0 + timedelta(hours=2))
    put(dbs, "batch_12_to_batch_15.zip", {"uploaded_by": "flor"}, T0)
    put(dbs, "BATCH9999.tgz", {"uploaded_by": "ceci"}, T0)
    put(dbs, "final_masks.zip", {"uploaded_by": "ceci"}, T0)
    put(dbs, "unrelated.zip", {"uploaded_by": "ceci", "batch_id": 7}, T0)
    return dbs


def test_an_uploader_name_with_an_invisible_character_is_the_assignee(dbs):
    """Another tool's `uploaded_by` with a zero-width space or BOM is no mismatch, one uploader."""
    team.add_member(dbs.work, "Flor")
    dbs.work.batches.insert_one({"id": "batch_1", "assignee": "Flor"})
    put(dbs, "batch_1.zip", {"uploaded_by": "Flor\u200b"}, T0)
    put(dbs, "batch_1_v2.zip", {"uploaded_by": "\ufeffflor"}, T0 + timedelta(hours=1))
    report = run_sync(dbs, author="me")
    assert report.mismatches == 0 and report.mismatched_uploads == []
    assert len(batch(dbs, "batch_1")["training_metrics_info"]["uploaders"]) == 1


def batch(dbs, batch_id):
    return dbs.work.batches.find_one({"id": batch_id}, {"_id": 0})


def test_first_sync_sets_every_batch(lab):
    report = run_sync(lab, author="me")
    assert (report.total_files, report.batches_with_masks, report.batches_without_masks) == (
        7,
        4,
        1,
    )
    assert (report.orphans, report.unmatched, report.mismatches) == (1, 1, 2)
    b400 = batch(lab, "batch_400")
    assert b400["mongo_uploaded"] is True
    assert b400["training_metrics_info"] == {
        "file_count": 3,
        "latest_upload": T0 + timedelta(hours=3),
        "first_upload": T0 + timedelta(hours=1),
        "files": ["masks_batch_400.tar.xz", "batch_0400_part2.zip", "Batch-400.zip"],
        "uploaders": ["flor"],
    }
    # Other fields untouched, legacy values kept.
    assert b400["status"] == "S" and b400["metadata"]["due_date"] == "2025-09-30"
    assert batch(lab, "batch_0012")["training_metrics_info"]["files"] == [
        "batch_12_to_batch_15.zip"
    ]
    assert batch(lab, "batch_15")["training_metrics_info"]["files"] == ["batch_12_to_batch_15.zip"]
    assert batch(lab, "batch_7")["training_metrics_info"]["files"] == ["unrelated.zip"]
    assert batch(lab, "odd_folder")["mongo_uploaded"] is False
    assert [(m.filename, m.assignee) for m in report.mismatched_uploads] == [
        ("unrelated.zip", "Flor"),
        ("batch_12_to_batch_15.zip", "Ceci"),
    ] or {(m.filename, m.assignee) for m in report.mismatched_uploads} == {
        ("unrelated.zip", "Flor"),
        ("batch_12_to_batch_15.zip", "Ceci"),
    }
    assert report.orphan_uploads[0].filename == "BATCH9999.tgz"
    assert report.unmatched_uploads[0].uploaded_by == "ceci"


def test_second_sync_writes_nothing(lab):
    run_sync(lab)
    before = list(lab.work.batches.find({}, {"_id": 0}))
    with lab.work.batches.watch() as stream:
        for full in (False, True):
            report = run_sync(lab, full=full)
            assert report.batches_updated == 0
        assert stream.try_next() is None
    assert list(lab.work.batches.find({}, {"_id": 0})) == before


def test_first_upload_stays_put_until_that_upload_is_removed(lab):
    run_sync(lab)
    put(lab, "batch_400_fix.zip", {"uploaded_by": "flor"}, T0 + timedelta(days=2))
    run_sync(lab)
    info = batch(lab, "batch_400")["training_metrics_info"]
    assert (info["first_upload"], info["latest_upload"]) == (
        T0 + timedelta(hours=1),
        T0 + timedelta(days=2),
    )
    earliest = lab.masks_files.find_one({"filename": "Batch-400.zip"})["_id"]
    GridFS(lab.training, collection="masks").delete(earliest)
    run_sync(lab)
    assert batch(lab, "batch_400")["training_metrics_info"]["first_upload"] == T0 + timedelta(
        hours=2
    )


def test_a_full_sync_adds_first_upload_to_batches_synced_before_it_existed(lab):
    run_sync(lab)
    lab.work.batches.update_many({}, {"$unset": {"training_metrics_info.first_upload": ""}})
    assert run_sync(lab, full=True).batches_updated == 4
    assert batch(lab, "batch_0012")["training_metrics_info"]["first_upload"] == T0
    assert run_sync(lab, full=True).batches_updated == 0


def test_new_and_removed_uploads_incrementally(lab):
    run_sync(lab)
    removed = lab.masks_files.find_one({"filename": "batch_12_to_batch_15.zip"})["_id"]
    GridFS(lab.training, collection="masks").delete(removed)
    put(lab, "batch_7_v2.zip", {"uploaded_by": "flor"}, T0 + timedelta(days=1))
    report = run_sync(lab)
    assert not report.full and (report.new_files, report.removed_files) == (1, 1)
    assert batch(lab, "batch_0012")["mongo_uploaded"] is False
    assert "training_metrics_info" not in batch(lab, "batch_0012")
    assert batch(lab, "batch_7")["training_metrics_info"]["files"] == [
        "batch_7_v2.zip",
        "unrelated.zip",
    ]
    # Incremental and full reads agree.
    assert run_sync(lab, full=True).batches_updated == 0


def test_new_batch_matches_an_earlier_orphan(lab):
    run_sync(lab)
    lab.work.batches.insert_one({"id": "batch_9999"})
    report = run_sync(lab)
    assert report.orphans == 0 and batch(lab, "batch_9999")["mongo_uploaded"] is True


def test_an_upload_naming_a_batch_whose_id_is_no_number_counts_for_it(dbs):
    """`import` keeps folders such as liver_01 and hígado_01 as batches: an upload whose
    metadata names one exactly (in any Unicode form) is that batch's, not unmatched."""
    dbs.work.batches.insert_many([{"id": "liver_01"}, {"id": "h\xedgado_01"}])
    put(dbs, "liver_01.zip", {"uploaded_by": "flor", "batch_id": "liver_01"})
    put(dbs, "masks.zip", {"uploaded_by": "flor", "batch_id": "hi\u0301gado_01"})
    put(dbs, "other.zip", {"uploaded_by": "flor", "batch_id": "kidney_01"})
    report = run_sync(dbs, author="me")
    assert (report.unmatched, report.orphans) == (0, 1)
    assert [f.batches for f in report.orphan_uploads] == [["kidney_01"]]
    assert batch(dbs, "liver_01")["training_metrics_info"]["files"] == ["liver_01.zip"]
    assert batch(dbs, "h\xedgado_01")["training_metrics_info"]["files"] == ["masks.zip"]


def test_training_database_is_never_written(lab):
    def snapshot():
        return {
            name: list(lab.training[name].find({}).sort("_id", 1))
            for name in sorted(lab.training.list_collection_names())
        }

    before = snapshot()
    run_sync(lab)
    run_sync(lab, full=True)
    assert snapshot() == before


def test_runs_are_recorded(lab):
    run_sync(lab, mode="cron")
    runs = list_runs(lab.work)
    assert runs[0]["status"] == "ok" and runs[0]["mode"] == "cron"
    assert runs[0]["total_files"] == 7 and runs[0]["duration_s"] >= 0
    assert last_run(lab.work)["orphan_uploads"][0]["filename"] == "BATCH9999.tgz"


def test_two_syncs_never_interleave(lab):
    started, release = threading.Event(), threading.Event()

    def slow(fraction, message):
        started.set()
        release.wait(300)

    worker = threading.Thread(target=lambda: run_sync(lab, progress=slow))
    worker.start()
    assert started.wait(300)
    with pytest.raises(SyncAlreadyRunning):
        run_sync(lab)
    release.set()
    worker.join(300)
    assert run_sync(lab).batches_updated == 0


def test_viewer_cannot_sync(lab):
    with pytest.raises(PermissionDenied):
        run_sync(lab, author=Actor("vera", "viewer"))
    assert list_runs(lab.work) == []


def test_interrupted_sync_converges(lab):
    def boom(fraction, message):
        if fraction >= 0.7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sync(lab, progress=boom)
    assert list_runs(lab.work)[0]["status"] == "failed"
    report = run_sync(lab)
    assert batch(lab, "batch_400")["training_metrics_info"]["file_count"] == 3
    assert run_sync(lab, full=True).batches_updated == 0
    assert report.batches_with_masks == 4


def test_process_killed_mid_sync_then_rerun_converges(dbs, cli_env):
    dbs.work.batches.insert_many([{"id": f"batch_{n}"} for n in range(3000)])
    files = [
        {
            "filename": f"masks_batch_{n % 3000}_{n}.zip",
            "uploadDate": T0,
            "length": 5,
            "chunkSize": 261120,
            "metadata": {"uploaded_by": "flor"},
        }
        for n in range(9000)
    ]
    dbs.masks_files.insert_many(files)
    process = subprocess.Popen(
        [sys.executable, "-m", "segcore", "sync", "--full"],
        env=cli_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    report = run_sync(dbs)  # not blocked by the dead process's lock
    assert report.batches_with_masks == 3000
    assert dbs.work.batches.count_documents({"mongo_uploaded": True}) == 3000
    assert run_sync(dbs, full=True).batches_updated == 0


def test_cli_sync_and_uploads(lab, run_cli):
    out = run_cli("sync", "--json")
    # The process closes its connection and exits without joining the driver's monitor
    # threads (segcore.store.connection.close_for_exit): nothing is said about them at exit.
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "Syncing", out.stderr
    report = json.loads(out.stdout)
    for key in (
        "total_files",
        "batches_with_masks",
        "batches_without_masks",
        "batches_updated",
        "orphans",
        "unmatched",
        "mismatches",
        "duration_s",
    ):
        assert key in report
    assert (report["total_files"], report["batches_updated"]) == (7, 5)
    mismatches = json.loads(run_cli("uploads", "--mismatches", "--json").stdout)
    assert {(m["filename"], m["assignee"]) for m in mismatches} == {
        ("unrelated.zip", "Flor"),
        ("batch_12_to_batch_15.zip", "Ceci"),
    }
    orphans = json.loads(run_cli("uploads", "--orphans", "--json").stdout)
    assert [o["filename"] for o in orphans] == ["BATCH9999.tgz"] and "assignee" not in orphans[0]
    recent = json.loads(run_cli("uploads", "--recent", "2", "--json").stdout)
    assert [r["filename"] for r in recent] == ["masks_batch_400.tar.xz", "batch_0400_part2.zip"]
    assert set(recent[0]) >= {"filename", "uploaded_by", "upload_date", "size_mb", "batches"}


def test_upload_moved_to_another_batch_is_followed_incrementally(lab):
    """An upload tool fixing an upload's metadata moves it; the change stream reports the edit."""
    run_sync(lab)
    lab.masks_files.update_one(
        {"filename": "unrelated.zip"}, {"$set": {"metadata.batch_id": "batch_400"}}
    )
    report = run_sync(lab)
    assert not report.full
    assert batch(lab, "batch_7")["mongo_uploaded"] is False
    assert batch(lab, "batch_400")["training_metrics_info"]["file_count"] == 4
    assert run_sync(lab, full=True).batches_updated == 0


def test_reassignment_updates_mismatches_without_a_full_read(lab):
    run_sync(lab)
    assert run_sync(lab).mismatches == 2
    assignments.assign(lab.work, ["batch_7"], "Ceci", author="coord")  # unrelated.zip is Ceci's
    report = run_sync(lab)
    assert not report.full and report.mismatches == 1
    assert [m.filename for m in report.mismatched_uploads] == ["batch_12_to_batch_15.zip"]


def test_dropped_uploads_collection_is_cleared_only_by_a_full_rescan(lab):
    run_sync(lab)
    lab.masks_files.drop()
    before = list(lab.work.batches.find({}, {"_id": 0}))
    with pytest.raises(ConfigError, match=r"\.masks\.files' does not exist"):
        run_sync(lab)  # the same as a typo in TRAINING_DB: nothing is cleared
    assert list(lab.work.batches.find({}, {"_id": 0})) == before
    assert last_run(lab.work, successful=False)["status"] == "failed"
    report = run_sync(lab, full=True)  # removed on purpose: asked for
    assert report.full
    assert lab.work.batches.count_documents({"mongo_uploaded": True}) == 0


def test_a_misspelt_uploads_database_or_bucket_is_refused_and_changes_nothing(lab, run_cli):
    assert run_cli("sync").returncode == 0
    before = list(lab.work.batches.find({}, {"_id": 0}))
    for setting in ({"TRAINING_DB": "training_metric"}, {"MASKS_BUCKET": "masks.files"}):
        out = run_cli("sync", env=setting)
        assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
        assert "does not exist" in out.stderr and "check TRAINING_DB and MASKS_BUCKET" in out.stderr
        assert list(lab.work.batches.find({}, {"_id": 0})) == before


def test_a_misspelt_app_database_is_refused_naming_those_holding_batches(
    lab, run_cli, client, settings
):
    """MONGO_DB=segmentacion_dbb: a new, empty database. The sync called every upload an
    orphan there, wrote a "names no batch" receipt for each and exited 0 (a cron job's
    success); it is refused, before the database is even created."""
    assert run_cli("sync").returncode == 0
    typo = settings.mongo_db + "b"
    for args in (("sync", "--mode", "cron"), ("sync", "--full", "--json")):
        out = run_cli(*args, env={"MONGO_DB": typo})
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        assert f"error: The database '{typo}' holds no batches" in out.stderr
        assert "check MONGO_DB" in out.stderr and settings.mongo_db in out.stderr
        assert typo not in client.list_database_names()
    empty = open_databases(replace(settings, mongo_db=typo), client=client)
    with pytest.raises(ConfigError, match="holds no batches"):
        run_sync(empty)  # "Sync now" and the automatic sync likewise
    client.drop_database(typo)


def test_a_database_synced_before_syncs_after_its_batches_were_removed(lab):
    run_sync(lab)
    lab.work.batches.delete_many({})
    report = run_sync(lab, full=True)
    assert report.batches_with_masks == 0 and report.orphans > 0


def test_a_new_lab_with_nothing_uploaded_yet_syncs(dbs):
    dbs.work.batches.insert_one({"id": "batch_1", "assignee": "Flor"})
    assert "masks.files" not in dbs.training.list_collection_names()
    report = run_sync(dbs)
    assert report.total_files == 0 and report.batches_without_masks == 1


@contextmanager
def databases_on_a_server_of_their_own(tmp_path, *flags):
    """Prepared databases on a server started with `flags`, stopped afterwards."""
    port = free_port()
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    with server_process(tmp_path / "db", uri, port=port, flags=flags), MongoClient(uri) as client:
        databases = open_databases(
            Settings(
                mongo_uri=uri, mongo_db="seg", training_db="tm", embedded_path=tmp_path / "unused"
            ),
            client=client,
        )
        prepare(databases)
        yield databases


def test_without_change_streams_new_and_removed_uploads_are_found_by_id(tmp_path):
    """A standalone server has no change streams: the routine sync compares upload ids."""
    with databases_on_a_server_of_their_own(tmp_path, "--standalone") as databases:
        with pytest.raises(OperationFailure):
            databases.masks_files.watch()
        databases.work.batches.insert_many([{"id": "batch_1"}, {"id": "batch_2"}])
        first = put(databases, "batch_1.zip", {"uploaded_by": "flor"})
        assert run_sync(databases).full
        GridFS(databases.training, collection="masks").delete(first)
        put(databases, "batch_2.zip", {"uploaded_by": "flor"})
        report = run_sync(databases)
        assert not report.full and (report.new_files, report.removed_files) == (1, 1)
        assert [b["id"] for b in databases.work.batches.find({"mongo_uploaded": True})] == [
            "batch_2"
        ]
        assert run_sync(databases).batches_updated == 0


def test_lost_change_history_means_a_full_read(tmp_path):
    """When the server has pruned the history since the last sync, nothing is missed."""
    flags = ("--oplog-max-entries", "10", "--oplog-retention-seconds", "1")
    with databases_on_a_server_of_their_own(tmp_path, *flags) as databases:
        databases.work.batches.insert_many([{"id": f"batch_{n}"} for n in range(1, 4)])
        put(databases, "batch_1.zip", {"uploaded_by": "flor"})
        assert run_sync(databases).full
        put(databases, "batch_2.zip", {"uploaded_by": "flor"})
        time.sleep(2)
        # The server prunes older history now and then as new entries arrive.
        databases.training.scratch.insert_many([{"n": n} for n in range(3000)])
        for n in range(100):
            databases.training.scratch.insert_one({"n": n})
        report = run_sync(databases)
        assert report.full and "history" in report.full_reason
        assert databases.work.batches.count_documents({"mongo_uploaded": True}) == 2


def test_a_batch_assignee_stored_as_a_document_does_not_stop_a_full_sync(dbs, upload, run_cli):
    """Another tool's `assignee` that is a dict or a list used to make every full sync fail
    after the batches were written (the problem lists key each holder): the run ends, the
    batch counts as uploaded, and an upload by someone else is a mismatch."""
    dbs.work.batches.insert_many(
        [
            {"id": "batch_1", "status": "pending", "assignee": {"name": "Flor"}},
            {"id": "batch_2", "status": "pending", "assignee": ["Ceci"]},
            {"id": "batch_3", "status": "pending", "assignee": "Ana"},
        ]
    )
    for n, who in ((1, "flor"), (2, "ceci"), (3, "ana")):
        upload(f"batch_{n}.zip", b"PK\x05\x06" + bytes(18), uploaded_by=who)
    for args in (("sync",), ("sync", "--full")):
        done = run_cli(*args, "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["batches_with_masks"] == 3 and report["mismatches"] == 2, report


def test_a_run_never_finishes_before_it_started(lab, run_cli):
    """`finished_at` kept to the second while `started_at` kept the millisecond: most runs
    "finished" before they started, in `sync_runs` and in `sync --json`."""
    reports = [run_sync(lab, full=True), run_sync(lab)]
    for _ in range(3):
        out = run_cli("sync", "--json")
        assert out.returncode == 0, out.stderr
        printed = json.loads(out.stdout)
        started = datetime.fromisoformat(printed["started_at"])
        assert datetime.fromisoformat(printed["finished_at"]) >= started
    assert all(r.finished_at >= r.started_at for r in reports)
    runs = list(lab.work.sync_runs.find())
    assert len(runs) == 5
    for run in runs:
        assert run["finished_at"] >= run["started_at"], run


def test_an_upload_naming_a_batch_whose_id_is_longer_than_a_folder_name_counts_for_it(dbs):
    """An earlier version imported ids longer than a folder name can be (255 bytes; an import
    refuses them now): an upload naming such a stored batch was reported as naming no batch
    in the list. It is that batch's; a text past any id a list can hold still names none."""
    long_id = "h\xedgado_" + "x" * 300
    dbs.work.batches.insert_one({"id": long_id})
    put(dbs, "masks.zip", {"uploaded_by": "flor", "batch_id": long_id})
    put(dbs, "other.zip", {"uploaded_by": "flor", "batch_id": "y" * 5000})
    report = run_sync(dbs, author="me")
    assert batch(dbs, long_id)["training_metrics_info"]["files"] == ["masks.zip"]
    assert (report.unmatched, report.orphans) == (1, 0)
