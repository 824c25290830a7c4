"""The routine sync that finds nothing new (what cron runs every few minutes): it records its
run with the last run's figures at the cost of a few round trips, and hands over to the whole
sync whenever anything may have changed: a new upload, a batch added by another tool, a
segcore edit, code that has not prepared the database yet, a lease left by a run that died."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

from bson import BSON

from segcore.core.code_stamp import code_stamp
from segcore.prepare_stamp import PREPARED
from segcore.store.schema import META
from segcore.sync import routine
from segcore.sync import sync as sync_module
from segcore.sync.records import sync_runs
from segcore.sync.records.sync_lease import Lease
from segcore.sync.sync import last_run, list_runs, run_sync
from segcore.sync.sync_apply import summarise
from segcore.sync.upload_stats import uploads_per_day
from segcore.work import assignments
from tests.helpers import ROOT
from tests.sync.test_sync import T0, lab, put  # noqa: F401  (the fixture)


def unchanged(dbs, **kwargs):
    return routine.sync_if_unchanged(dbs, mode="cron", author="sync", **kwargs)


def test_nothing_new_is_recorded_with_the_last_runs_figures(lab):  # noqa: F811
    first = run_sync(lab)
    report = unchanged(lab)
    assert report is not None and not report.full and report.new_files == 0
    assert (report.total_files, report.orphans, report.mismatches) == (
        first.total_files,
        first.orphans,
        first.mismatches,
    )
    newest = list_runs(lab.work, limit=1)[0]
    assert (newest["status"], newest["mode"], newest["unchanged"]) == ("ok", "cron", True)
    assert newest["batches_with_masks"] == first.batches_with_masks
    assert lab.work.locks.count_documents({}) == 0  # the lease was given back
    # the pages still show the problem lists, kept once in the run that found them
    assert last_run(lab.work)["orphan_uploads"] == [f.as_dict() for f in first.orphan_uploads]
    assert "orphan_uploads" not in lab.work.sync_runs.find_one({"unchanged": True})


def test_any_change_hands_over_to_the_whole_sync_having_written_nothing(lab):  # noqa: F811
    run_sync(lab)
    runs = lab.work.sync_runs.count_documents({})
    put(lab, "batch_7_masks.zip")  # a new upload
    assert unchanged(lab) is None
    assert run_sync(lab).new_files == 1
    runs += 1
    lab.work.batches.insert_one({"id": "batch_8", "assignee": "Ceci"})  # another tool
    assert unchanged(lab) is None
    run_sync(lab)
    runs += 1
    assignments.assign(lab.work, ["batch_7"], "Ceci", author="me")  # a segcore edit
    assert unchanged(lab) is None
    assert lab.work.sync_runs.count_documents({}) == runs
    run_sync(lab)
    assert unchanged(lab) is not None


def test_a_database_prepared_by_other_code_is_prepared_again(lab):  # noqa: F811
    run_sync(lab)
    lab.work[META].update_one({"_id": PREPARED}, {"$set": {"code": "older code"}}, upsert=True)
    assert unchanged(lab, prepared=code_stamp()) is None
    lab.work[META].update_one({"_id": PREPARED}, {"$set": {"code": code_stamp()}})
    assert unchanged(lab, prepared=code_stamp()) is not None


def test_a_lease_left_by_a_dead_run_hands_over_to_the_whole_sync(lab):  # noqa: F811
    run_sync(lab)
    dead = Lease(lab.work)
    dead.acquire()
    lab.work.locks.update_one({"_id": "sync"}, {"$set": {"pid": 2**22 + 1}})  # no such process
    lab.work.sync_runs.insert_one({"status": "running", "started_at": None})
    assert unchanged(lab) is None
    run_sync(lab)  # closes the run the dead process left
    assert lab.work.sync_runs.count_documents({"status": "running"}) == 0


def test_cron_runs_the_short_path_and_prepares_only_once(lab, run_cli):  # noqa: F811
    first = run_cli("sync", "--mode", "cron", "--json")
    assert first.returncode == 0, first.stderr
    assert lab.work[META].find_one({"_id": PREPARED})["code"] == code_stamp()
    again = run_cli("sync", "--mode", "cron", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["total_files"] == json.loads(first.stdout)["total_files"]
    assert "Syncing" not in again.stderr  # the whole sync (with its progress bar) did not run
    assert list_runs(lab.work, limit=1)[0].get("unchanged") is True


def test_a_command_loads_only_its_own_module():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from segcore.cli import main\n"
        "CliRunner().invoke(main, ['sync', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('segcore.cli.')))\n"
        "CliRunner().invoke(main, ['--help'])\n"
        "print(len([m for m in sys.modules if m.startswith('segcore.cli.')]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    only, everything = out.stdout.splitlines()
    assert only == "['segcore.cli.base', 'segcore.cli.sync']"
    assert int(everything) >= 11


def test_a_run_with_new_uploads_sees_a_batch_another_tool_reassigned(lab):  # noqa: F811
    """Another tool reassigns a batch (no count or generation of segcore's changes): the next
    run with new uploads counts that batch's uploads under its new assignee on the daily
    figures, as a first sync would, and points out the uploads by someone else."""
    run_sync(lab)
    run_sync(lab)  # the batch list as the last run left it
    day = T0.date()
    before = uploads_per_day(lab.work, day, day, owner="Flor")[0]["uploads"]
    assert before >= 3  # batch_400's three uploads, among others
    lab.work.batches.update_one({"id": "batch_400"}, {"$set": {"assignee": "Ceci"}})
    put(lab, "batch_7_masks.zip", when=T0 + timedelta(days=1))
    report = run_sync(lab)
    assert report.new_files == 1
    assert uploads_per_day(lab.work, day, day, owner="Flor")[0]["uploads"] == before - 3
    assert uploads_per_day(lab.work, day, day, owner="Ceci")[0]["uploads"] >= 3
    assert any(f.batches == ["batch_400"] for f in report.mismatched_uploads)


def test_runs_that_find_nothing_keep_no_copy_of_the_upload_lists_and_old_runs_go(lab):  # noqa: F811
    """A lab whose batch list is partial: 300 uploads name no batch. Every cron run used to
    store another full copy of the lists (128 KB at 32,000 such uploads, 12 MB a day at the
    README's `*/15`), and nothing was ever deleted."""
    for n in range(300):
        put(lab, f"scan_{n:04d}_final.zip")
    first = run_sync(lab)
    assert first.unmatched == 300 + 1  # and the lab's own
    holder = lab.work.sync_runs.find_one(sort=[("started_at", -1)])
    for _ in range(10):
        assert unchanged(lab) is not None  # the few-round-trip run
    for _ in range(3):
        assert run_sync(lab).new_files == 0  # the whole sync that found nothing
    sizes = [len(BSON.encode(r)) for r in lab.work.sync_runs.find({"unchanged": True})]
    assert len(sizes) == 13 and max(sizes) < 2000 < len(BSON.encode(holder)) / 10
    assert {r["details_in"] for r in lab.work.sync_runs.find({"unchanged": True})} == {
        holder["_id"]
    }
    # what the Sync page and `segcore uploads --unmatched` show is still all of it
    shown = last_run(lab.work)
    assert shown["unmatched"] == 301 and len(holder["unmatched_uploads"]) == 200  # kept
    for name in ("orphan_uploads", "unmatched_uploads", "mismatched_uploads", "unusable_uploads"):
        assert shown[name] == holder[name]
    # a run that stores new lists drops the older ones, and records past KEPT_DAYS go
    old = T0 - timedelta(days=sync_runs.KEPT_DAYS + 400)
    lab.work.sync_runs.insert_one({"started_at": old, "status": "ok", "mode": "cron"})
    put(lab, "batch_7_masks.zip")
    assert run_sync(lab).new_files == 1
    assert lab.work.sync_runs.count_documents({"unmatched_uploads": {"$exists": True}}) == 1
    assert lab.work.sync_runs.count_documents({"started_at": old}) == 0
    assert len(last_run(lab.work)["unmatched_uploads"]) == 200


def test_a_batch_another_tool_adds_while_a_sync_runs_is_noticed_by_the_next_one(
    lab,  # noqa: F811
    monkeypatch,
):
    """Another tool (a script, mongosh) inserts a batch document while a run with new uploads
    goes on, after that run read the batch list: the next run sees it and gives it the upload
    that waited for it, and the run after finds nothing new on the short path: the runs' own
    writes to the batch list are not taken for another tool's."""
    run_sync(lab)
    put(lab, "batch_31_masks.zip")  # an orphan: batch_31 is not in the list yet
    put(lab, "batch_7_masks.zip")  # a new upload, so the next run has work

    def adding_batch_31_meanwhile(*args, **kwargs):
        lab.work.batches.insert_one({"id": "batch_31", "assignee": "Ceci"})
        return summarise(*args, **kwargs)

    monkeypatch.setattr(sync_module, "summarise", adding_batch_31_meanwhile)
    during = run_sync(lab)
    monkeypatch.undo()
    assert during.batches_updated >= 1 and any(
        f.batches == ["batch_31"] for f in during.orphan_uploads
    )
    assert unchanged(lab) is None  # the batch list changed since that run read it
    report = run_sync(lab)
    assert lab.work.batches.find_one({"id": "batch_31"})["mongo_uploaded"] is True
    assert not any(f.batches == ["batch_31"] for f in report.orphan_uploads)
    assert report.batches_updated >= 1  # this run wrote batch_31 ...
    assert unchanged(lab) is not None  # ... and the next one knows those writes were its own


def test_a_run_writing_many_batches_leaves_one_comparison_to_the_next_run(
    lab,  # noqa: F811
    monkeypatch,
):
    """Reading back a run's own writes one by one costs more than one comparison of every
    batch past a few thousand (a first full sync of 50,000): such a run leaves its early place
    in the stream. The next run compares every batch, sees a batch another tool added during
    the big run all the same, and the run after it takes the short path again."""
    put(lab, "batch_31_masks.zip")
    put(lab, "batch_7_masks.zip")

    def adding_batch_31_meanwhile(*args, **kwargs):
        lab.work.batches.insert_one({"id": "batch_31", "assignee": "Ceci"})
        return summarise(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(sync_module, "MOST_OWN_READ", 0)  # every run is a big one here
        patch.setattr(sync_module, "summarise", adding_batch_31_meanwhile)
        big = run_sync(lab)
    assert big.batches_updated >= 1
    assert unchanged(lab) is None  # left its early place: the next run compares
    run_sync(lab)
    assert lab.work.batches.find_one({"id": "batch_31"})["mongo_uploaded"] is True
    assert unchanged(lab) is not None  # that run wrote nothing past the limit: short path next
