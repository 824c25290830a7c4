"""The batch rows a restarted app starts from: stored exactly, used only when they can be
caught up with, never trusted when made by other code, damaged or cut by a killed save."""

import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone

import bson
import pytest
from bson.objectid import ObjectId
from pymongo import MongoClient

from segcore.core.actors import Actor
from segcore.core.timefmt import utcnow
from segcore.store import data_version
from segcore.store.schema import ROW_SNAPSHOT
from segcore.team import team
from segcore.views import row_snapshot
from segcore.views.batch_rows import ROW_FIELDS, SNAPSHOT_EVERY, BatchRows, batch_row
from segcore.work import assignments, batches
from segcore.work.batches import Edit
from tests.find_commands import Finds

COORDINATOR = Actor("Coordinator", "coordinator")


@pytest.fixture
def lab(dbs):
    """A few hundred batches with the values the rows hold: dates, people, odd legacy values."""
    team.add_member(dbs.work, "Flor")
    team.add_member(dbs.work, "Ceci")
    docs = []
    for n in range(1, 301):
        doc = {"id": f"batch_{n}", "status": batches.STATUSES[n % len(batches.STATUSES)]}
        if n % 3:
            doc["assignee"] = ("Flor", "Ceci")[n % 2]
        if n % 4 == 0:
            doc["mongo_uploaded"] = True
            doc["training_metrics_info"] = {
                "latest_upload": datetime(2025, 9, 1 + n % 28, 8, 30, 15, 123000),
                "first_upload": "2025-08-30",  # a legacy string
            }
        if n % 5 == 0:
            doc["metadata"] = {"due_date": "2025-10-01", "priority": ("alta", 2, None)[n % 3]}
        docs.append(doc)
    docs.append({"id": "odd", "assignee": 3, "metadata": {"priority": {"level": [1, 2]}}})
    dbs.work.batches.insert_many(docs)
    return dbs


def process_rows(work) -> BatchRows:
    """The rows of a freshly started app (an empty BatchRows), caught up."""
    return BatchRows().refresh(work)


def every_row(work) -> dict[str, dict]:
    """The rows a full read gives: what any snapshot must equal."""
    return {row["id"]: row for row in map(batch_row, work.batches.find({}))}


@pytest.fixture
def watched(mongo_uri, dbs):
    """The work database through a client that records its `find` commands."""
    finds = Finds()
    client = MongoClient(mongo_uri, event_listeners=[finds], tz_aware=False)
    yield client[dbs.work.name], finds
    client.close()


def test_a_column_reads_back_with_its_exact_values_and_types():
    values = [
        date(2025, 10, 1),
        datetime(2025, 10, 1),  # a datetime is not the date of the same day
        True,
        1,  # equal to True in Python, not the same value
        1.0,
        None,
        "",
        "Ñandú",
        {"level": [1, 2]},  # not hashable: kept as it is
        [3, {"a": None}],
        ObjectId("64b000000000000000000000"),
        date(2025, 10, 1),
        True,
    ]
    column = row_snapshot.encode_column(values)
    stored = bson.decode(bson.encode({"column": column}))["column"]  # as the server keeps it
    back = row_snapshot.decode_column(stored, len(values))
    assert back == values
    assert [type(v) for v in back] == [type(v) for v in values]
    assert len(column["values"]) == len(values) - 2  # the repeated date and True once each


def test_damaged_columns_are_refused_not_misread():
    column = row_snapshot.encode_column(["a", "b", "a"])
    with pytest.raises(row_snapshot.SnapshotDamaged):
        row_snapshot.decode_column(column, 4)  # fewer values than rows
    with pytest.raises(row_snapshot.SnapshotDamaged):
        row_snapshot.decode_column({**column, "values": ["a"]}, 3)  # an index past the table
    with pytest.raises(row_snapshot.SnapshotDamaged):
        row_snapshot.decode_column({**column, "codes": b"not zlib"}, 3)
    with pytest.raises(row_snapshot.SnapshotDamaged):
        row_snapshot.decode_column({"values": ["a"]}, 1)


def test_a_restarted_app_starts_from_the_snapshot_without_reading_every_batch(lab, watched):
    work, finds = watched
    first = process_rows(lab.work)
    assert first.snapshot_due()  # nothing stored yet: a restart would read every batch
    assert first.save_snapshot(lab.work) and not first.snapshot_due()
    restarted = process_rows(work)
    assert not finds.read_every_batch()
    assert {r["id"]: r for r in restarted.rows()} == every_row(lab.work)
    assert [r["id"] for r in restarted.rows()] == [r["id"] for r in first.rows()]
    assert not restarted.snapshot_due()


def test_it_catches_up_with_the_edits_made_since_the_snapshot(lab, watched):
    work, finds = watched
    process_rows(lab.work).save_snapshot(lab.work)
    assignments.assign(lab.work, ["batch_3", "batch_6"], "Ceci", COORDINATOR)
    old = lab.work.batches.find_one({"id": "batch_7"})["status"]
    assignments.apply_edits(lab.work, [Edit("batch_7", "status", old, "done")], COORDINATOR)
    restarted = process_rows(work)
    assert not finds.read_every_batch()
    rows = {r["id"]: r for r in restarted.rows()}
    assert rows == every_row(lab.work)
    assert rows["batch_3"]["assignee"] == "Ceci" and rows["batch_7"]["status"] == "done"


def test_a_restart_shows_what_other_tools_changed_in_the_batches_meanwhile(lab, watched):
    """Another tool (the old dashboard, a script) edits and adds batch documents without
    segcore, before and after the rows are stored: a restart shows both, re-reading only the
    batches the change stream names, and stores the rows caught up."""
    work, finds = watched
    rows = process_rows(lab.work)
    lab.work.batches.update_one({"id": "batch_1"}, {"$set": {"status": "done"}})  # before it
    rows.save_snapshot(lab.work)
    lab.work.batches.update_one({"id": "batch_2"}, {"$set": {"assignee": "Someone Else"}})
    lab.work.batches.insert_one({"id": "batch_9000", "status": "pending"})
    restarted = process_rows(work)
    assert not finds.read_every_batch()
    shown = {r["id"]: r for r in restarted.rows()}
    assert shown == every_row(lab.work)
    assert shown["batch_1"]["status"] == "done" and shown["batch_2"]["assignee"] == "Someone Else"
    assert "batch_9000" in shown
    assert restarted.snapshot_due()  # stored caught up: the next start re-reads fewer
    assert restarted.save_snapshot(lab.work)
    finds.seen.clear()
    again = process_rows(work)
    assert not finds.read_every_batch()
    assert {r["id"]: r for r in again.rows()} == every_row(lab.work)
    assert not again.snapshot_due()


@pytest.mark.parametrize(
    "other_tool",
    [
        lambda work: work.batches.delete_one({"id": "batch_5"}),
        lambda work: work.batches.update_one({"id": "batch_5"}, {"$set": {"id": "batch_5b"}}),
        lambda work: work.batches.replace_one({"id": "batch_5"}, {"id": "batch_5c"}),
        lambda work: work.batches.update_many(
            {"id": {"$in": [f"batch_{n}" for n in range(1, 6)]}}, {"$set": {"note": "seen"}}
        ),
        # a position the server's history no longer reaches (or never had)
        lambda work: work[ROW_SNAPSHOT].update_one(
            {"_id": row_snapshot.HEAD}, {"$set": {"stream": {"_data": "00"}}}
        ),
    ],
    ids=["removed", "id-changed", "replaced", "more-than-the-rows-follow", "history-lost"],
)
def test_what_the_rows_cannot_follow_by_id_means_reading_every_batch(
    lab, watched, monkeypatch, other_tool
):
    from segcore.views import batch_rows

    monkeypatch.setattr(batch_rows, "CATCH_UP_MAX", 3)
    work, finds = watched
    process_rows(lab.work).save_snapshot(lab.work)
    other_tool(lab.work)
    restarted = process_rows(work)
    assert finds.read_every_batch()
    assert {r["id"]: r for r in restarted.rows()} == every_row(lab.work)


def test_an_edit_made_while_every_batch_was_being_read_shows_after_a_restart(
    lab, watched, monkeypatch
):
    """The position is taken before the read: an edit landing just after the read (too late
    for it) is still named by the stream at the restart."""
    from segcore.views import batch_rows

    work, finds = watched
    real = batch_rows.read_all_rows

    def read_then_another_tool_writes(db):
        rows = real(db)
        lab.work.batches.update_one({"id": "batch_8"}, {"$set": {"status": "done"}})
        return rows

    monkeypatch.setattr(batch_rows, "read_all_rows", read_then_another_tool_writes)
    process_rows(lab.work).save_snapshot(lab.work)
    monkeypatch.setattr(batch_rows, "read_all_rows", real)
    restarted = process_rows(work)
    assert not finds.read_every_batch()
    assert {r["id"]: r for r in restarted.rows()} == every_row(lab.work)
    assert {r["id"]: r for r in restarted.rows()}["batch_8"]["status"] == "done"


def test_segcore_s_own_writes_move_the_stored_position_on(lab, watched, monkeypatch):
    """Writes the rows already hold (segcore's, caught up by the data version) need no
    re-reading at a restart: a save moves the stored position past them, so a long-running
    app's restart does not replay every write since its last full read."""
    from segcore.views import batch_rows

    work, finds = watched
    rows = process_rows(lab.work)
    rows.save_snapshot(lab.work)
    before = lab.work[ROW_SNAPSHOT].find_one({"_id": row_snapshot.HEAD})["stream"]
    for n in range(5):
        assignments.assign(lab.work, [f"batch_{n + 1}"], "Ceci", COORDINATOR)
    rows.refresh(lab.work)
    assert rows.save_snapshot(lab.work)
    assert lab.work[ROW_SNAPSHOT].find_one({"_id": row_snapshot.HEAD})["stream"] != before
    monkeypatch.setattr(batch_rows, "CATCH_UP_MAX", 0)  # any batch to re-read: read them all
    restarted = process_rows(work)
    assert not finds.read_every_batch()
    assert {r["id"]: r for r in restarted.rows()} == every_row(lab.work)


def test_a_snapshot_far_behind_is_saved_again(lab):
    rows = process_rows(lab.work)
    rows.save_snapshot(lab.work)
    for n in range(SNAPSHOT_EVERY):  # each edit a change: flip between the two
        assignments.assign(lab.work, ["batch_1"], ("Flor", "Ceci")[n % 2], COORDINATOR)
        rows.refresh(lab.work)
        assert rows.snapshot_due() is (n == SNAPSHOT_EVERY - 1)
    assert rows.snapshot_due()
    assert rows.save_snapshot(lab.work) and not rows.snapshot_due()
    head = lab.work[ROW_SNAPSHOT].find_one({"_id": row_snapshot.HEAD})
    assert tuple(head["version"]) == data_version.read_versions(lab.work)["batches"]


@pytest.mark.parametrize(
    "spoil",
    [
        # more changes than are remembered (an import, a large sync)
        lambda work: data_version.bump_batches(work, None, by_sync=True),
        # saved by other code (an upgrade may build rows differently)
        lambda work: work[ROW_SNAPSHOT].update_one(
            {"_id": row_snapshot.HEAD}, {"$set": {"code": "other code"}}
        ),
        # a part lost (another tool, a cut copy)
        lambda work: work[ROW_SNAPSHOT].delete_one({"_id": {"$ne": row_snapshot.HEAD}}),
        # a part another tool wrote over
        lambda work: work[ROW_SNAPSHOT].update_one(
            {"_id": {"$ne": row_snapshot.HEAD}}, {"$set": {"columns.status.codes": b"x"}}
        ),
        # a head another tool wrote
        lambda work: work[ROW_SNAPSHOT].update_one(
            {"_id": row_snapshot.HEAD}, {"$set": {"version": "yesterday"}}
        ),
    ],
    ids=["too-many-changes", "other-code", "part-missing", "part-damaged", "head-damaged"],
)
def test_a_snapshot_that_cannot_be_trusted_means_reading_every_batch(lab, watched, spoil):
    work, finds = watched
    process_rows(lab.work).save_snapshot(lab.work)
    work.batches.update_one({"id": "batch_1"}, {"$set": {"status": "done"}})  # unseen by it
    spoil(lab.work)
    restarted = process_rows(work)
    assert finds.read_every_batch()
    assert {r["id"]: r for r in restarted.rows()} == every_row(lab.work)
    assert restarted.snapshot_due()  # and the next start has a good one again


def test_reload_reads_every_batch_not_the_snapshot(lab, watched):
    """The Reload button is for changes other tools made: a snapshot cannot know them."""
    work, finds = watched
    rows = process_rows(work)
    rows.save_snapshot(work)
    lab.work.batches.update_one({"id": "batch_1"}, {"$set": {"status": "done"}})
    finds.seen.clear()
    rows.forget()
    rows.refresh(work)
    assert finds.read_every_batch()
    assert {r["id"]: r for r in rows.rows()}["batch_1"]["status"] == "done"


@pytest.mark.parametrize(
    "value",
    [2**70, datetime(2025, 9, 1, 8, tzinfo=timezone.utc), datetime(2025, 9, 1, 8, 0, 0, 1)],
    ids=["int-beyond-bson", "aware-datetime", "microseconds"],
)
def test_rows_bson_cannot_keep_exactly_are_not_stored(db, value):
    """Stored only if they read back the same: otherwise a restart reads every batch."""
    rows = [{**batch_row({"id": "batch_1"}), "priority": value}]
    assert row_snapshot.save(db, rows, (1, 0), ROW_FIELDS) is False
    assert db[ROW_SNAPSHOT].count_documents({}) == 0


def test_a_server_that_cannot_be_written_means_no_copy_not_an_error(caplog):
    """A copy for the next start: when it cannot be stored, that start reads every batch."""
    from tests.helpers import free_port

    gone = MongoClient(f"mongodb://127.0.0.1:{free_port()}", serverSelectionTimeoutMS=300)
    rows = [batch_row({"id": "batch_1"})]
    assert row_snapshot.save(gone["work"], rows, (1, 0), ROW_FIELDS) is False
    assert "The batch rows are not stored" in caplog.text
    gone.close()


def test_rows_too_large_for_a_document_are_not_stored(db, monkeypatch):
    monkeypatch.setattr(row_snapshot, "PART_MAX_BYTES", 1000)  # as ids of kilobytes would
    rows = [batch_row({"id": f"batch_{n}"}) for n in range(100)]
    assert row_snapshot.save(db, rows, (1, 0), ROW_FIELDS) is False
    assert db[ROW_SNAPSHOT].count_documents({}) == 0


def test_a_save_removes_the_parts_no_head_names(db):
    rows = [batch_row({"id": f"batch_{n}"}) for n in range(3)]
    db[ROW_SNAPSHOT].insert_one(
        {"_id": "killed.00000", "token": "killed", "at": utcnow() - timedelta(hours=2)}
    )
    db[ROW_SNAPSHOT].insert_one({"_id": "running.00000", "token": "running", "at": utcnow()})
    assert row_snapshot.save(db, rows, (1, 0), ROW_FIELDS)
    assert row_snapshot.save(db, rows, (2, 0), ROW_FIELDS)
    tokens = {d.get("token") for d in db[ROW_SNAPSHOT].find({"_id": {"$ne": "head"}})}
    head = db[ROW_SNAPSHOT].find_one({"_id": "head"})
    # the killed save's part is gone, the earlier snapshot's too; a save still running keeps
    # its own (younger than an hour)
    assert tokens == {head["token"], "running"}
    assert row_snapshot.load(db, ROW_FIELDS).version == (2, 0)


SAVER = """
import sys
from pymongo import MongoClient
from segcore.views import row_snapshot
from segcore.views.batch_rows import ROW_FIELDS, batch_row

db = MongoClient(sys.argv[1])[sys.argv[2]]
row_snapshot.PART_ROWS = 50  # many parts: a kill lands between them
for version in range(1, 10_000):
    rows = [batch_row({"id": f"batch_{n}", "status": f"s{version}"}) for n in range(400)]
    row_snapshot.save(db, rows, (version, 0), ROW_FIELDS)
"""


def test_a_save_killed_at_any_point_leaves_a_whole_snapshot(db, mongo_uri):
    """Kill a process saving snapshots over and over at several moments: what a restart
    reads is always one whole snapshot, the one its head names."""
    for kill in range(4):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, mongo_uri, db.name])
        try:
            deadline = time.monotonic() + 120
            wanted = 2 + 3 * kill  # each round kills at another point of another save
            while (db[ROW_SNAPSHOT].find_one({"_id": "head"}) or {}).get("version", [0])[
                0
            ] < wanted:
                assert time.monotonic() < deadline, "the saver never got going"
                assert saver.poll() is None, "the saver stopped"
        finally:
            saver.kill()
            saver.wait()
        copy = row_snapshot.load(db, ROW_FIELDS)
        assert copy is not None and len(copy.rows) == 400
        assert {r["status"] for r in copy.rows.values()} == {f"s{copy.version[0]}"}


def test_a_repeated_id_keeps_both_rows_through_the_snapshot(dbs, watched):
    dbs.work.batches.drop_indexes()  # legacy data from before the unique id index
    dbs.work.batches.insert_many(
        [{"id": "batch_2", "assignee": "Flor"}, {"id": "batch_2"}, {"id": "batch_3"}]
    )
    first = process_rows(dbs.work)
    assert first.save_snapshot(dbs.work)
    work, finds = watched
    restarted = process_rows(work)
    assert not finds.read_every_batch()
    assert sorted(str(r["assignee"]) for r in restarted.rows()) == ["Flor", "None", "None"]
    assert restarted.repeated() == ["batch_2"]
