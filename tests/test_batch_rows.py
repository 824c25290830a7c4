"""Numeric batch order everywhere, the in-memory batch rows, and caching keyed by the data
version: a write bumps it, and re-reads only what it touched."""

import pytest

from segcore import assignments, batches, data_version, team
from segcore.batch_rows import BatchRows, order
from segcore.batches import BatchQuery
from segcore.prepare import prepare


@pytest.fixture
def production(dbs):
    """Batch documents as production holds them: no `number` field, ids in string order."""
    team.add_member(dbs.work, "Flor")
    dbs.work.batches.insert_many([{"id": f"batch_{n}", "status": "pending", "assignee": None}
                                  for n in (1, 10, 100, 2, 20, 3)] + [{"id": "odd_folder"}])
    prepare(dbs)  # as the app does at start: backfills the numbers
    return dbs


def test_backfilled_numbers_give_numeric_order_everywhere(production):
    work = production.work
    assert work.batches.count_documents({"number": None}) == 0
    numeric = ["batch_1", "batch_2", "batch_3", "batch_10", "batch_20", "batch_100"]
    assert batches.next_pending_ids(work, 4) == numeric[:4]
    rows = BatchRows().refresh(work)
    assert rows.select(BatchQuery())[:6] == numeric
    assert rows.select(BatchQuery())[-1] == "odd_folder"
    assert rows.select(BatchQuery(), descending=True)[:2] == ["odd_folder", "batch_100"]
    listed = batches.list_batches(work, BatchQuery(), page_size=3, page=2)
    assert [d["id"] for d in listed.rows] == numeric[3:6]
    assert prepare(production) == [] and batches.backfill_numbers(work) == 0  # idempotent


def test_indexes_are_named_and_creating_them_again_is_harmless(production):
    names = {i["name"] for i in production.work.batches.list_indexes()}
    assert {"id_1", "number_1", "assignee_1"} <= names
    batches.ensure_indexes(production.work)
    assert {i["name"] for i in production.work.batches.list_indexes()} == names


def test_indexes_no_query_uses_are_dropped_at_start(production):
    """An earlier version indexed what the pages now sort in memory; each costs every write."""
    work = production.work
    work.batches.create_index([("status", 1), ("number", 1)], name="status_number")
    work.batches.create_index([("training_metrics_info.latest_upload", -1)], name="latest_upload")
    batches.ensure_indexes(work)
    names = {i["name"] for i in work.batches.list_indexes()}
    assert not names & {"status_number", "latest_upload"} and "number_1" in names


@pytest.mark.parametrize("sort, descending, expected", [
    ("assignee", False, ["b2", "b3", "b1", "b4"]),
    ("assignee", True, ["b1", "b3", "b2", "b4"]),   # empty values last either way
    ("id", True, ["b4", "b3", "b2", "b1"]),
])
def test_order_puts_empty_values_last(sort, descending, expected):
    rows = [{"id": f"b{n}", "number": n, "assignee": name}
            for n, name in ((1, "Maggie"), (2, "Ceci"), (3, "Flor"), (4, None))]
    assert [r["id"] for r in order(rows, sort, descending)] == expected


def test_a_write_re_reads_only_the_batches_it_touched(production):
    work = production.work
    rows = BatchRows().refresh(work)
    before = data_version.read_versions(work)
    assignments.assign(work, ["batch_2"], "Flor", "test")
    # A change made behind segcore's back is not what the write touched: it is not re-read.
    work.batches.update_one({"id": "batch_3"}, {"$set": {"status": "done"}})
    after = data_version.read_versions(work)
    assert after["batches"] != before["batches"] and after["team"] == before["team"]
    assert not rows.needs_full_read(after)
    rows.refresh(work, after)
    by_id = {r["id"]: r for r in rows.rows()}
    assert by_id["batch_2"]["assignee"] == "Flor" and by_id["batch_3"]["status"] == "pending"
    assert rows.select(BatchQuery(assignee="Flor")) == ["batch_2"]
    rows.forget()  # the Reload button: everything again
    assert {r["id"]: r for r in rows.refresh(work).rows()}["batch_3"]["status"] == "done"


def test_an_import_or_a_large_sync_asks_for_a_full_read(production):
    rows = BatchRows().refresh(production.work)
    data_version.bump_batches(production.work, None, by_sync=True)
    assert rows.needs_full_read(data_version.read_versions(production.work))


def test_cached_reads_follow_the_data_version(app_env):
    """A write bumps the version of what it touched; an unrelated cached read survives it."""
    from ui import reads
    from ui.connection import forget_data_versions

    work = app_env.work
    team.add_member(work, "Flor")
    work.batches.insert_one({"id": "batch_1", "number": 1, "status": "pending"})
    assert [m["name"] for m in reads.members()] == ["Flor"]
    runs = reads.sync_runs(20)
    # Behind segcore's back (no version bump): the cached team stays as it was read...
    work.segmentadores.insert_one({"name": "Ghost", "name_key": "ghost"})
    assignments.assign(work, ["batch_1"], "Flor", "test")  # a batch write: not the team's topic
    forget_data_versions()
    assert [m["name"] for m in reads.members()] == ["Flor"]
    assert reads.sync_runs(20) == runs
    assert reads.progress_rows()[0]["assignee"] == "Flor"  # ...while the batches moved on
    team.add_member(work, "Ceci")  # a team write bumps the team's version
    forget_data_versions()
    assert [m["name"] for m in reads.members()] == ["Ceci", "Flor", "Ghost"]
