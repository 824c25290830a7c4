"""A running app's batch rows follow other tools' edits (mongosh, the old Flask dashboard) on
the next refresh, not only after a restart: re-reading only the batches the change stream
names, or every batch when it names what rows by id cannot follow."""

import pytest
from pymongo import MongoClient

from segcore.core.actors import Actor
from segcore.report import stats
from segcore.team import team
from segcore.views import batch_rows
from segcore.views.batch_rows import BatchRows, batch_row
from segcore.work import assignments
from tests.find_commands import Finds

COORDINATOR = Actor("Coordinator", "coordinator")


@pytest.fixture
def running(dbs, mongo_uri, monkeypatch):
    """Ten batches, rows read once as a running app holds them, and a client that records
    the app's `find` commands. Every refresh reads the stream (no second's wait)."""
    monkeypatch.setattr(batch_rows, "OTHERS_EVERY_S", 0.0)
    team.add_member(dbs.work, "Flor")
    dbs.work.batches.insert_many(
        [{"id": f"batch_{n}", "status": "pending", "assignee": None} for n in range(1, 11)]
    )
    finds = Finds()
    client = MongoClient(mongo_uri, event_listeners=[finds], tz_aware=False)
    work = client[dbs.work.name]
    rows = BatchRows().refresh(work)
    finds.seen.clear()
    yield dbs.work, work, rows, finds
    client.close()


def every_row(work) -> dict[str, dict]:
    return {row["id"]: row for row in map(batch_row, work.batches.find({}))}


def shown(rows: BatchRows) -> dict[str, dict]:
    return {row["id"]: row for row in rows.rows()}


def test_another_tools_edit_and_new_batch_show_on_the_next_page_load(running):
    other_tool, work, rows, finds = running
    other_tool.batches.update_one({"id": "batch_7"}, {"$set": {"assignee": "Flor"}})
    other_tool.batches.insert_one({"id": "batch_500", "status": "pending"})
    before = rows.outside_edits
    rows.refresh(work)
    assert shown(rows) == every_row(other_tool)
    assert shown(rows)["batch_7"]["assignee"] == "Flor" and "batch_500" in shown(rows)
    assert not finds.read_every_batch()  # only the two batches the stream names
    assert rows.outside_edits == before + 1  # what the pages' cached figures are keyed by
    rows.refresh(work)
    assert rows.outside_edits == before + 1  # nothing new: nothing changes


@pytest.mark.parametrize(
    "other_tool",
    [
        lambda work: work.batches.delete_one({"id": "batch_8"}),
        lambda work: work.batches.update_one({"id": "batch_8"}, {"$set": {"id": "batch_8b"}}),
        lambda work: work.batches.replace_one({"id": "batch_8"}, {"id": "batch_8c"}),
    ],
    ids=["removed", "id-changed", "replaced"],
)
def test_what_the_rows_cannot_follow_by_id_means_reading_every_batch(running, other_tool):
    other, work, rows, finds = running
    other_tool(other)
    rows.refresh(work)
    assert finds.read_every_batch()
    got = sorted(str(r["id"]) for r in rows.rows())
    assert got == sorted(str(d.get("id")) for d in other.batches.find({}))
    assert len(rows.rows()) == stats.summary(other).total  # what `segcore status` counts


def test_segcore_s_own_writes_read_by_the_data_version_are_no_outside_edit(running):
    other, work, rows, finds = running
    assignments.assign(other, ["batch_1", "batch_2"], "Flor", COORDINATOR)
    before = rows.outside_edits
    rows.refresh(work)
    assert shown(rows) == every_row(other)
    assert not finds.read_every_batch()
    assert rows.outside_edits == before


def test_a_lost_stream_position_means_reading_every_batch(running):
    other, work, rows, finds = running
    rows._stream = {"_data": "00"}  # a position the server's history no longer reaches
    other.batches.update_one({"id": "batch_3"}, {"$set": {"status": "done"}})
    rows.refresh(work)
    assert finds.read_every_batch()
    assert shown(rows) == every_row(other)


def test_rows_stay_as_read_while_the_server_is_away(dbs, mongo_uri, monkeypatch, tmp_path):
    """Following other tools' edits is no reason for a page to fail: with the server gone
    (a pending edit's Save then says so itself), the rows stay as last read."""
    from segcore.store import embedded

    monkeypatch.setattr(batch_rows, "OTHERS_EVERY_S", 0.0)
    path = tmp_path / "db"
    uri = embedded.ensure_server(path)
    client = MongoClient(uri, serverSelectionTimeoutMS=1500, tz_aware=False)
    try:
        work = client[dbs.work.name]
        work.batches.insert_many([{"id": f"batch_{n}", "status": "pending"} for n in (1, 2)])
        rows = BatchRows().refresh(work)
        before = shown(rows)
        versions = {"batches": rows.version, "recent": []}
        embedded.stop_server(path)
        assert shown(rows.refresh(work, versions)) == before
    finally:
        client.close()
        embedded.stop_server(path)
