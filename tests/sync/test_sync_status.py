"""What the sync does besides the sync fields: the status of batches whose masks arrive
(MASKS_SET_STATUS) and who uploaded last (for the Team page). The uploads here hold one byte
named .zip: unreadable, so they move batches to rework (test_receipts.py has real archives)."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from gridfs import GridFS

from segcore.store.connection import open_databases
from segcore.store.history import list_history
from segcore.sync.index.index_entry import IndexEntry
from segcore.sync.index.sync_plan import updated_activity, uploader_activity
from segcore.sync.sync import run_sync, uploader_activity_of
from segcore.work.delivery import status_after_upload

T0 = datetime(2025, 10, 1, 10, 30)


def put(dbs, filename, uploader, when=T0):
    file_id = GridFS(dbs.training, collection="masks").put(
        b"m", filename=filename, metadata={"uploaded_by": uploader} if uploader else None
    )
    dbs.masks_files.update_one({"_id": file_id}, {"$set": {"uploadDate": when}})


@pytest.fixture
def lab(dbs):
    dbs.work.batches.insert_many(
        [
            {"id": "batch_1", "assignee": "Flor", "status": "pending"},
            {"id": "batch_2", "assignee": "Flor", "status": "in_progress"},
            {"id": "batch_3", "assignee": "Flor", "status": "done"},
            {"id": "batch_4", "assignee": "Flor", "status": "S"},
            {"id": "batch_5", "assignee": "Flor"},
            {"id": "batch_6", "assignee": "Ceci", "status": "pending"},  # no masks
        ]
    )
    for n in range(1, 6):
        put(dbs, f"masks_batch_{n}.zip", "ceci" if n == 2 else "flor", T0 + timedelta(hours=n))
    return dbs


def statuses(dbs):
    return {d["id"]: d.get("status") for d in dbs.work.batches.find()}


def test_unreadable_masks_arriving_move_pending_and_in_progress_to_rework_only(lab):
    report = run_sync(lab, author="Coord")
    assert statuses(lab) == {
        "batch_1": "rework",
        "batch_2": "rework",
        "batch_3": "done",
        "batch_4": "S",
        "batch_5": None,
        "batch_6": "pending",
    }
    assert report.status_moves == 2
    moved = list_history(lab.work, kind="batch")
    assert sorted((h["key"], h["old"], h["new"]) for h in moved) == [
        ("batch_1", "pending", "rework"),
        ("batch_2", "in_progress", "rework"),
    ]
    assert {h["author"] for h in moved} == {"sync (started by Coord)"}
    assert all(h["reason"].startswith("unreadable: ") for h in moved)


def test_a_batch_set_back_to_in_progress_is_not_moved_again(lab):
    run_sync(lab, author="sync")
    lab.work.batches.update_one({"id": "batch_1"}, {"$set": {"status": "in_progress"}})
    run_sync(lab, full=True)
    assert statuses(lab)["batch_1"] == "in_progress"


def test_the_sync_says_how_many_statuses_it_moved_and_counts_a_first_runs_uploads_new(lab, run_cli):
    """What a cron log keeps: the text report names the moves, and a first sync's uploads
    are new (not "0 new"); a later full read counts only what the last run did not hold."""
    out = run_cli("sync")
    assert out.returncode == 0, out.stderr
    assert "5 files (5 new, 0 removed)" in out.stdout
    assert "2 statuses moved" in out.stdout
    put(lab, "masks_batch_6.zip", "ceci")
    out = run_cli("sync", "--full")
    assert "6 files (1 new, 0 removed)" in out.stdout and "1 status moved" in out.stdout
    assert "0 statuses moved" in run_cli("sync").stdout


def test_masks_arriving_incrementally_move_the_status(lab):
    run_sync(lab)
    put(lab, "masks_batch_6.zip", "ceci", T0 + timedelta(days=1))
    report = run_sync(lab)
    assert not report.full and report.status_moves == 1
    assert statuses(lab)["batch_6"] == "rework"
    assert list_history(lab.work, key="batch_6")[0]["author"] == "sync"


def test_the_setting_off_leaves_every_status(lab, settings, client):
    off = open_databases(replace(settings, masks_set_status=False), client)
    run_sync(off)
    assert statuses(lab)["batch_1"] == "pending" and not list_history(lab.work, kind="batch")


@pytest.mark.parametrize(
    "status, usable, readable, problem, expected",
    [
        ("pending", True, True, None, ("review", None)),
        ("in_progress", False, False, "unreadable: x", ("rework", "unreadable: x")),
        ("pending", False, True, "incomplete: 3 of 9", ("rework", "incomplete: 3 of 9")),
        ("pending", False, True, None, ("review", None)),  # images unknown: a person looks
        ("rework", True, True, None, ("review", None)),
        ("rework", False, True, "incomplete: 1 of 9", None),
        ("review", False, False, "unreadable: x", None),
        ("done", True, True, None, None),
        ("S", True, True, None, None),
        (None, True, True, None, None),
    ],
)
def test_status_after_an_upload(status, usable, readable, problem, expected):
    assert status_after_upload(status, usable, readable, problem) == expected


def test_uploader_activity_counts_each_upload_once_and_keeps_the_newest():
    shared = IndexEntry(1, "batch_1_to_batch_2.zip", "Flor", T0, 10)
    later = IndexEntry(2, "masks_batch_3.zip", "flor", T0 + timedelta(days=2), 10)
    undated = IndexEntry(3, "x.zip", "ceci", None, 10)
    index = {
        "batch_1": {1: shared},
        "batch_2": {1: shared},
        "batch_3": {2: later},
        "~unmatched": {3: undated},
    }
    assert uploader_activity(index) == [
        {"name": "ceci", "key": "ceci", "latest": None, "files": 1},
        {"name": "Flor", "key": "flor", "latest": T0 + timedelta(days=2), "files": 2},
    ]


def _held(index, ids):
    return {i: (entries[i], [k]) for k, entries in index.items() for i in ids if i in entries}


def test_uploader_activity_follows_changed_uploads_without_a_recount():
    """A routine or live group updates the saved activity from its changed uploads; the result
    is the recount's, and a removed newest upload asks for the recount instead of guessing."""
    old = IndexEntry(1, "batch_1.zip", "flor", T0, 10)
    newest = IndexEntry(2, "batch_2.zip", "flor", T0 + timedelta(days=1), 10)
    index = {"batch_1": {1: old}, "batch_2": {2: newest}}
    saved = uploader_activity(index)
    arriving = {
        3: IndexEntry(3, "batch_3.zip", "Ceci", T0 + timedelta(days=3), 10),
        4: IndexEntry(4, "x.zip", None, T0, 10),
    }
    after = {**index, "batch_3": {3: arriving[3]}, "~unmatched": {4: arriving[4]}}
    assert updated_activity(saved, {}, _held(after, [3, 4])) == uploader_activity(after)
    without_old = {"batch_2": {2: newest}}
    assert updated_activity(saved, _held(index, [1]), {}) == uploader_activity(without_old)
    assert updated_activity(saved, _held(index, [2]), {}) is None  # flor's newest is gone
    undated = {"~unmatched": {5: IndexEntry(5, "y.zip", "ceci", None, 1)}}
    assert updated_activity(uploader_activity(undated), _held(undated, [5]), {}) == []


def test_the_sync_keeps_who_uploaded_last(lab):
    run_sync(lab)
    found = uploader_activity_of(lab.work)
    assert found["flor"]["latest"] == T0 + timedelta(hours=5) and found["flor"]["files"] == 4
    assert found["ceci"]["files"] == 1
