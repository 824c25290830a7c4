"""Numeric batch order everywhere, the in-memory batch rows, and caching keyed by the data
version: a write bumps it, and re-reads only what it touched."""

from datetime import datetime

import pytest

from segcore.core.actors import Actor
from segcore.core.naming import batch_number
from segcore.prepare import prepare
from segcore.report.pace import pace_row
from segcore.report.progress import progress_row
from segcore.store import data_version
from segcore.team import team
from segcore.views.batch_rows import BatchRows, batch_row, order
from segcore.views.batch_table import export_rows
from segcore.work import assignments, batch_import, batches, batches_file, handover
from segcore.work.batches import BatchQuery

NUMERIC = ["batch_1", "batch_2", "batch_3", "batch_10", "batch_20", "batch_100"]


@pytest.fixture
def production(dbs):
    """Batch documents as production holds them: no `number` field, ids in string order."""
    team.add_member(dbs.work, "Flor")
    dbs.work.batches.insert_many(
        [
            {"id": f"batch_{n}", "status": "pending", "assignee": None}
            for n in (1, 10, 100, 2, 20, 3)
        ]
        + [{"id": "odd_folder", "status": "pending"}]
    )
    prepare(dbs)  # as the command line does at start; the app, as far as batches go, the same
    return dbs


def listed_orders(work) -> dict[str, list[str]]:
    """The batch order each reader of the batch list gives."""
    rows = BatchRows().refresh(work)
    return {
        "table": rows.select(BatchQuery()),
        "table page 2 of 3": [
            d["id"] for d in rows.page(work, BatchQuery(), page_size=3, page=2).rows
        ],
        "next pending": batches.next_pending_ids(work, 10),
        "status": batches.ids_with_status(work, "pending"),
        "export": [r["id"] for r in export_rows(work, BatchQuery())],
    }


def test_unnumbered_batches_are_in_numeric_order_everywhere_without_a_write(production):
    """Nothing numbers 50,000 production documents before a first page: the order comes from
    the ids, the same on every page, the export, the command line's bulk edits."""
    work = production.work
    assert work.batches.count_documents({"number": {"$exists": True}}) == 0
    expected = [*NUMERIC, "odd_folder"]
    assert listed_orders(work) == {
        "table": expected,
        "table page 2 of 3": NUMERIC[3:6],
        "next pending": expected,
        "status": expected,
        "export": expected,
    }
    assert BatchRows().refresh(work).select(BatchQuery(), descending=True)[:2] == [
        "odd_folder",
        "batch_100",
    ]


def test_order_stays_the_same_once_the_import_stores_the_numbers(production, tmp_path):
    """A batch never changes place: the numbers an import stores (and an earlier version's
    numbering) are the ones the ids give, and a list half numbered orders the same."""
    work = production.work
    before = listed_orders(work)
    work.batches.update_one({"id": "odd_folder"}, {"$set": {"number": batches.UNNUMBERED}})
    entries = [
        batches_file.BatchEntry(id=i, folder=None) for i in ("batch_2", "batch_100", "batch_7")
    ]
    batch_import.import_batches(work, entries, Actor("Coordinator", "coordinator"))
    stored = {d["id"]: d.get("number") for d in work.batches.find({}, {"id": 1, "number": 1})}
    assert stored["batch_2"] == 2 and stored["batch_7"] == 7 and stored["batch_10"] is None
    after = listed_orders(work)
    for name, ids in before.items():
        if name != "table page 2 of 3":  # batch_7 joined the list
            assert [i for i in after[name] if i != "batch_7"] == ids, name
    assert after["table"].index("batch_7") == after["table"].index("batch_3") + 1


def test_indexes_are_named_and_creating_them_again_is_harmless(production):
    names = {i["name"] for i in production.work.batches.list_indexes()}
    assert {"id_1", "assignee_1"} <= names and batches.missing_indexes(production.work) == []
    batches.ensure_indexes(production.work)
    assert {i["name"] for i in production.work.batches.list_indexes()} == names


def test_indexes_no_query_uses_are_dropped_at_start(production):
    """An earlier version indexed what the pages now sort in memory; each costs every write."""
    work = production.work
    work.batches.create_index([("status", 1), ("number", 1)], name="status_number")
    work.batches.create_index([("training_metrics_info.latest_upload", -1)], name="latest_upload")
    work.batches.create_index([("number", 1)], name="number_1")
    assert batches.missing_indexes(work) == ["latest_upload", "number_1", "status_number"]
    batches.ensure_indexes(work)
    names = {i["name"] for i in work.batches.list_indexes()}
    assert not names & {"status_number", "latest_upload", "number_1"}
    assert batches.missing_indexes(work) == []


@pytest.mark.parametrize(
    "sort, descending, expected",
    [
        ("assignee", False, ["b2", "b3", "b1", "b4"]),
        ("assignee", True, ["b1", "b3", "b2", "b4"]),  # empty values last either way
        ("id", True, ["b4", "b3", "b2", "b1"]),
    ],
)
def test_order_puts_empty_values_last(sort, descending, expected):
    rows = [
        {"id": f"b{n}", "number": n, "assignee": name}
        for n, name in ((1, "Maggie"), (2, "Ceci"), (3, "Flor"), (4, None))
    ]
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


def test_a_page_filters_sorts_and_draws_a_row_another_tool_changed_from_one_value(production):
    work = production.work
    team.add_member(work, "Mauricio")
    assignments.assign(work, ["batch_1", "batch_2", "batch_3"], "Mauricio", "test")
    rows = BatchRows().refresh(work)
    # The old dashboard gives batch_1 to Roberto: no data version tells the rows.
    work.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Roberto"}})
    page = rows.page(work, BatchQuery(assignee="Mauricio"))
    assert [d["id"] for d in page.rows] == ["batch_2", "batch_3"] and page.total == 2
    assert {d["assignee"] for d in page.rows} == {"Mauricio"}
    # Sorted by assignee, Roberto's batch sits after Mauricio's, as its cell says.
    everyone = rows.page(work, BatchQuery(), sort="assignee")
    assert [(d["id"], d["assignee"]) for d in everyone.rows[:4]] == [
        ("batch_2", "Mauricio"),
        ("batch_3", "Mauricio"),
        ("batch_1", "Roberto"),
        ("batch_10", None),
    ]
    assert rows.select(BatchQuery(assignee="Mauricio")) == ["batch_2", "batch_3"]


def test_a_filter_counted_while_another_session_caught_up_is_not_kept(production, monkeypatch):
    """Two sessions share the rows: one filters while the other catches up with a write.
    The filter counted on the rows before the write must not stand for the rows after it
    (the Batches page would show, and bulk-edit, batches that no longer match)."""
    from segcore.views import batch_rows

    work = production.work
    rows = BatchRows().refresh(work)
    real_order = batch_rows.order

    def order_then_someone_writes(found, sort, descending=False):
        result = real_order(found, sort, descending)
        monkeypatch.setattr(batch_rows, "order", real_order)  # once
        assignments.assign(work, ["batch_2"], "Flor", "test")
        rows.refresh(work)  # the other session's run, between the count and its keeping
        return result

    monkeypatch.setattr(batch_rows, "order", order_then_someone_writes)
    assert rows.select(BatchQuery(assignee="Flor")) == []  # counted before the write
    assert rows.select(BatchQuery(assignee="Flor")) == ["batch_2"]


def test_an_import_or_a_large_sync_asks_for_a_full_read(production):
    rows = BatchRows().refresh(production.work)
    data_version.bump_batches(production.work, None, by_sync=True)
    assert rows.needs_full_read(data_version.read_versions(production.work))


def test_cached_reads_follow_the_data_version(app_env):
    """A write bumps the version of what it touched; an unrelated cached read survives it."""
    from ui.app import reads
    from ui.app.connection import forget_data_versions

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


@pytest.mark.parametrize(
    "doc",
    [
        {"id": "batch_1", "assignee": "Flor", "status": "pending", "number": 1},
        {
            "id": "batch_2",
            "assignee": "  ",
            "status": "done",
            "mongo_uploaded": True,
            "number": True,
            "training_metrics_info": {
                "latest_upload": "2025-09-03",
                "first_upload": datetime(2025, 9, 1, 8),
            },
            "metadata": {"due_date": "2025-09-30", "priority": "alta"},
            "mask_check": {"state": "complete"},
            "folder_missing": True,
        },
        {
            "id": 7,
            "assignee": 3,
            "mongo_uploaded": "yes",
            "training_metrics_info": "odd",
            "metadata": None,
            "mask_check": "complete",
            "folder_missing": "yes",
        },
        {
            "id": "batch_4",
            "assignee": "Ceci",
            "status": "in_progress",
            "mongo_uploaded": True,
            "training_metrics_info": {"latest_upload": datetime(2025, 9, 2, 9)},
            "metadata": {"due_date": datetime(2025, 10, 1)},
            "mask_check": {"state": "missing"},
        },
        {},
    ],
)
def test_a_row_holds_what_the_progress_and_pace_figures_read(doc):
    """The dashboard's figures and its Attention panel read the same rows: one pass per
    document must give exactly what the progress and pace readings of it give."""
    row = batch_row(doc)
    assert {k: row[k] for k in progress_row(doc)} == progress_row(doc)
    assert {k: row[k] for k in pace_row(doc)} == pace_row(doc)
    check = doc.get("mask_check")
    assert row["mask_state"] == (check.get("state") if isinstance(check, dict) else None)
    assert row["folder_missing"] is (doc.get("folder_missing") is True)
    number = doc.get("number")
    # A stored number where there is one (True is none), else the one the id names.
    assert row["number"] == (number if type(number) is int else batch_number(str(doc.get("id"))))


def test_who_left_the_team_is_found_through_an_index(production):
    """The Batches and Team pages label batches of people who left; that lookup must not be a
    pass over the whole history (tens of thousands of entries after a first sync)."""
    work = production.work
    team.add_member(work, "Maggie")
    team.delete_member(work, "Maggie", author="test")
    assert "kind_field" in {i["name"] for i in work.history.list_indexes()}
    assert handover.former_members(work) == {"Maggie"}
    team.add_member(work, "Maggie")  # back on the team: not a former member any more
    assert handover.former_members(work) == set()


def test_edited_batches_names_segcore_edits_since_a_generation_not_sync_writes(db):
    """What a live sync follows after a coordinator's edits: their batch ids, apart from the
    sync's own writes; None when they cannot be told."""
    since, _ = data_version.edited_batches(db, 0)
    data_version.bump_batches(db, ["batch_1"])
    data_version.bump_batches(db, ["batch_9"], by_sync=True)
    data_version.bump_batches(db, ["batch_3", "batch_1"])
    assert data_version.edited_batches(db, since) == (since + 2, {"batch_1", "batch_3"})
    assert data_version.edited_batches(db, since + 2) == (since + 2, set())
    assert data_version.edited_batches(db, None)[1] is None
    data_version.bump_batches(db, None)  # an import: too many to list
    assert data_version.edited_batches(db, since)[1] is None
    assert data_version.edited_batches(db, since - 1)[1] is None  # older than remembered


@pytest.fixture
def repeated(dbs):
    """A legacy list holding two documents with the id batch_2 (from before the unique index)."""
    team.add_member(dbs.work, "Flor")
    dbs.work.batches.drop_indexes()  # the test database's unique id index came after them
    dbs.work.batches.insert_many(
        [
            {"id": "batch_1", "status": "pending"},
            {"id": "batch_2", "status": "pending", "assignee": "Flor"},
            {"id": "batch_2", "status": "pending"},
        ]
    )
    prepare(dbs)  # the unique index cannot be built: the plain one is
    return dbs


def test_two_documents_with_one_id_are_both_rows_and_the_id_is_named_repeated(repeated):
    work = repeated.work
    rows = BatchRows().refresh(work)
    assert sorted((r["id"], str(r["assignee"])) for r in rows.rows()) == [
        ("batch_1", "None"),
        ("batch_2", "Flor"),
        ("batch_2", "None"),
    ]
    assert rows.repeated() == ["batch_2"]
    assert rows.select(BatchQuery(assignee="Flor")) == ["batch_2"]
    table = rows.page(work, BatchQuery())
    assert table.total == 3
    assert sorted(str(d.get("assignee")) for d in table.rows if d["id"] == "batch_2") == [
        "Flor",
        "None",
    ]
    # one per page, each page shows the other document
    split = [rows.page(work, BatchQuery(), page=n, page_size=1).rows[0] for n in (2, 3)]
    assert {str(d.get("assignee")) for d in split} == {"Flor", "None"}
    # a write to the id re-reads both documents, never keeps one
    assignments.assign(work, ["batch_1"], "Flor", "test")
    rows.refresh(work)
    assert len(rows.rows()) == 3 and rows.repeated() == ["batch_2"]
    work.batches.delete_one({"id": "batch_2", "assignee": {"$exists": False}})
    rows.forget()
    assert len(rows.refresh(work).rows()) == 2 and rows.repeated() == []
