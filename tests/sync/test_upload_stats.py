"""The uploads' read models kept by the sync: equal to a recomputation from scratch after full
and routine syncs, and what the pages read from them."""

from collections import Counter
from datetime import date, datetime, timedelta

import pytest

from segcore.sync import upload_stats
from segcore.sync.index.index_entry import IndexEntry
from segcore.sync.records.sync_state import SyncState
from segcore.sync.sync import run_sync
from segcore.team import team
from segcore.uploads.uploads import read_uploads
from segcore.work import assignments
from segcore.work.batches import UNASSIGNED
from tests.receipt_seed import Lab, masks, real_archive
from tests.sync.test_live_sync import wait_for, watcher
from tests.sync.test_sync import put

T0 = datetime(2025, 10, 1, 10, 30)


def entry(n, day, uploader="flor"):
    return IndexEntry(n, f"f{n}.zip", uploader, datetime(2025, 10, day, 12), 1048576)


def test_day_counts_count_each_upload_once_per_breakdown():
    owners = {
        "batch_1": ("Flor", "pending"),
        "batch_2": ("Flor", "done"),
        "batch_3": (None, "pending"),
    }
    uploads = {
        1: (entry(1, 1), ["batch_1", "batch_2"]),  # one file, two of Flor's batches
        2: (entry(2, 1, "Ceci"), ["batch_3"]),
        3: (entry(3, 2), ["batch_99"]),  # names a batch not in the list
        4: (entry(4, 2), ["~unmatched"]),
    }
    days = {
        d: upload_stats.encode_day(d, c)
        for d, c in upload_stats.day_counts(uploads, owners, zone=None).items()
    }
    first = days[upload_stats.local_day(datetime(2025, 10, 1, 12))]
    assert upload_stats.count_in(first) == 2
    assert upload_stats.count_in(first, owner="Flor") == 1
    assert upload_stats.count_in(first, owner="Flor", status="done") == 1
    assert upload_stats.count_in(first, owner=UNASSIGNED) == 1
    assert upload_stats.count_in(first, status="pending") == 2
    second = days[upload_stats.local_day(datetime(2025, 10, 2, 12))]
    assert upload_stats.count_in(second) == 2 and upload_stats.count_in(second, "Flor") == 0


def test_a_person_filter_counts_the_uploads_on_every_spelling_of_their_batches():
    """Filtered to José, the chart counted only batches stored exactly "José" (1 of 4), while
    the KPIs and the Batches filter count "jose" and "José " as his; another tool's 42 was
    counted as unassigned, not as the "42" the filters offer."""
    listing = [
        {"id": "batch_1", "assignee": "José", "status": "pending"},
        {"id": "batch_2", "assignee": "jose", "status": "pending"},
        {"id": "batch_3", "assignee": "José ", "status": "done"},
        {"id": "batch_4", "assignee": 42, "status": "pending"},
        {"id": "batch_5", "assignee": "  ", "status": "pending"},
    ]
    owners = upload_stats.owners_of(listing, lambda doc: doc["id"])
    uploads = {n: (entry(n, 1), [f"batch_{n}"]) for n in range(1, 6)}
    [day] = [
        upload_stats.encode_day(d, c)
        for d, c in upload_stats.day_counts(uploads, owners, zone=None).items()
    ]
    assert upload_stats.count_in(day, owner="José") == 3
    assert upload_stats.count_in(day, owner="JOSE", status="pending") == 2
    assert upload_stats.count_in(day, owner="42") == 1
    assert upload_stats.count_in(day, owner=UNASSIGNED) == 1
    assert upload_stats.count_in(day, owner="Flor") == 0


@pytest.mark.parametrize(
    "stored_at, last_started, expected",
    [
        (None, None, "missing"),
        (None, T0, "missing"),
        (T0, T0, None),
        (T0 + timedelta(seconds=1), T0, None),
        (T0 - timedelta(seconds=1), T0, "behind"),
    ],
)
def test_staleness(stored_at, last_started, expected):
    assert upload_stats.staleness(stored_at, last_started) == expected


def test_merge_recent_keeps_the_newest_and_asks_for_a_rebuild_when_a_drop_may_hide_one():
    stored = [upload_stats.as_recent(n, entry(n, n), ["batch_1"]) for n in (3, 2, 1)]
    merged = upload_stats.merge_recent(stored, {9}, {9: (entry(9, 9), ["batch_2"])}, keep=3)
    assert [item["upload_id"] for item in merged] == [9, 3, 2]
    assert upload_stats.merge_recent(stored, {3}, {}, keep=3) is None
    assert [i["upload_id"] for i in upload_stats.merge_recent(stored, {3}, {}, keep=5)] == [2, 1]


def stored(work) -> tuple[dict, list]:
    days = {d["_id"]: d for d in work.upload_days.find({})}
    recent = work.app_meta.find_one({"_id": "upload_stats"})["recent"]
    return days, recent


def from_scratch(dbs) -> tuple[dict, list]:
    """The read models as a full sync of the same data builds them, on a throw-away copy."""
    run_sync(dbs, full=True, author="test")
    return stored(dbs.work)


def by_hand(dbs) -> Counter:
    """Uploads per local day counted straight from the training database."""
    return Counter(
        upload_stats.local_day(u.upload_date)
        for u in read_uploads(dbs)
        if u.upload_date is not None
    )


@pytest.fixture
def lab(dbs):
    for name in ("Flor", "Ceci"):
        team.add_member(dbs.work, name)
    dbs.work.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "number": n,
                "status": "pending",
                "assignee": ("Flor", "Ceci", None)[n % 3],
            }
            for n in range(1, 13)
        ]
    )
    for n in range(1, 25):
        put(
            dbs,
            f"masks_batch_{n % 14 + 1}.zip",
            {"uploaded_by": ("flor", "Ceci")[n % 2]},
            T0 + timedelta(hours=7 * n),
        )
    put(dbs, "final_masks.zip", {"uploaded_by": "ceci"}, T0)
    return dbs


def test_routine_syncs_keep_the_read_models_equal_to_a_rebuild(lab):
    run_sync(lab, author="test")
    days, _ = stored(lab.work)
    assert {d: doc["total"] for d, doc in days.items()} == dict(by_hand(lab))
    # New uploads, a removal and a renamed file, read from the change stream.
    new = put(lab, "batch_3_masks.zip", {"uploaded_by": "flor"}, T0 + timedelta(days=9))
    put(lab, "Batch-4.zip", {"uploaded_by": "ceci"}, datetime.utcnow())
    gone = lab.masks_files.find_one({"filename": "masks_batch_2.zip"})["_id"]
    lab.masks_files.delete_one({"_id": gone})
    lab.masks_files.update_one({"_id": new}, {"$set": {"filename": "batch_5_masks.zip"}})
    report = run_sync(lab, author="test")
    assert not report.full
    routine = stored(lab.work)
    assert routine[1][0]["filename"] == "Batch-4.zip"
    assert all(item["upload_id"] != gone for item in routine[1])
    assert routine == from_scratch(lab)
    assert {d: doc["total"] for d, doc in routine[0].items()} == dict(by_hand(lab))


def test_a_sync_killed_after_updating_the_read_models_counts_nothing_twice(lab, monkeypatch):
    """The read models are written before the index and the resume point: a run dying in
    between applies the same uploads again next time, which must not count them twice."""
    run_sync(lab, author="test")
    put(lab, "batch_3_masks.zip", {"uploaded_by": "flor"}, T0 + timedelta(days=9))
    real = SyncState.save

    def dies_before_the_index(state, fields):
        if fields == {"index_ok": False}:
            raise KeyboardInterrupt  # as a process killed at that point
        real(state, fields)

    monkeypatch.setattr(SyncState, "save", dies_before_the_index)
    with pytest.raises(KeyboardInterrupt):
        run_sync(lab, author="test")
    monkeypatch.undo()
    report = run_sync(lab, author="test")
    assert not report.full and report.new_files == 1  # the same upload, applied again
    days, _ = stored(lab.work)
    assert {d: doc["total"] for d, doc in days.items()} == dict(by_hand(lab))
    assert stored(lab.work) == from_scratch(lab)


def test_a_reassignment_moves_the_counts_at_the_next_sync(lab):
    run_sync(lab, author="test")
    start, end = date(2025, 9, 30), date(2025, 10, 9)
    flor_before = sum(
        d["uploads"] for d in upload_stats.uploads_per_day(lab.work, start, end, "Flor")
    )
    assignments.assign(lab.work, ["batch_1"], "Flor", "test")  # was Ceci's
    assignments.assign(lab.work, ["batch_3"], "Ceci", "test")  # was Flor's
    run_sync(lab, author="test")
    after = upload_stats.uploads_per_day(lab.work, start, end, "Flor")
    assert stored(lab.work) == from_scratch(lab)
    expected = sum(
        1
        for u in read_uploads(lab)
        if any(b in {"batch_1", "batch_6", "batch_9", "batch_12"} for b in u.batches)
        and start <= date.fromisoformat(upload_stats.local_day(u.upload_date)) <= end
    )
    assert sum(d["uploads"] for d in after) == expected != flor_before


def test_a_sync_that_finds_nothing_new_stamps_the_read_models(lab):
    first = run_sync(lab, author="test")
    again = run_sync(lab, author="test")
    assert upload_stats.synced_at(lab.work) == again.started_at >= first.started_at
    lab.work.app_meta.delete_one({"_id": "upload_stats"})  # as after an upgrade
    run_sync(lab, author="test")
    assert stored(lab.work) == from_scratch(lab)


def charted(work, owner: str, status: str) -> int:
    """What the Dashboard's uploads-per-day chart filtered to `owner` and `status` adds up to."""
    return sum(upload_stats.count_in(day, owner, status) for day in work.upload_days.find({}))


@pytest.fixture
def fixing(dbs, client, upload, tmp_path):
    """Flor's batch_1 (two real DICOM images) sent to rework by two unreadable uploads, and
    a function uploading its complete fix (Info-ZIP); returns the lab's databases."""
    team.add_member(dbs.work, "Flor")
    lab = Lab(dbs, client, tmp_path)
    lab.batch(1, 2)
    run_sync(lab.dbs, author="test")  # the index exists: what follows are routine runs
    for n in (1, 2):
        upload(f"batch_1_try{n}.zip", b"PK\x03\x04 cut short")
    lab.dbs.fix = lambda: upload(
        "batch_1_fix.zip", real_archive(tmp_path, "zip", masks(2), "fix.zip")
    )
    return lab.dbs


def test_a_fix_upload_moves_the_batchs_earlier_uploads_to_its_new_status(fixing):
    """The sync's own status move (rework -> review, caused by the fix) moves the batch's
    earlier uploads too: the chart filtered to Flor and review counted only the fix (1 of 3)
    and kept the others under rework until a full sync."""
    dbs = fixing
    assert not run_sync(dbs, author="test").full
    assert dbs.work.batches.find_one({"id": "batch_1"})["status"] == "rework"
    assert charted(dbs.work, "Flor", "rework") == 2
    dbs.fix()
    report = run_sync(dbs, author="test")
    assert not report.full and report.status_moves == 1
    assert dbs.work.batches.find_one({"id": "batch_1"})["status"] == "review"
    assert (charted(dbs.work, "Flor", "review"), charted(dbs.work, "Flor", "rework")) == (3, 0)
    assert stored(dbs.work) == from_scratch(dbs)


def test_the_live_sync_moves_the_earlier_uploads_with_the_status_too(fixing, cli_env, tmp_path):
    dbs = fixing
    env = {**cli_env, "DATA_DIRECTORY": str(dbs.settings.data_directory)}
    with watcher(env, tmp_path / "live.log"):
        wait_for(lambda: charted(dbs.work, "Flor", "rework") == 2, 60, "the two tries counted")
        dbs.fix()
        wait_for(
            lambda: dbs.work.batches.find_one({"id": "batch_1"})["status"] == "review",
            60,
            "the fix moving batch_1 to review",
        )
        wait_for(
            lambda: (
                (charted(dbs.work, "Flor", "review"), charted(dbs.work, "Flor", "rework")) == (3, 0)
            ),
            30,
            "every upload of batch_1 counted under review",
        )
