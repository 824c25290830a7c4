"""Batch table rows, editor changes turned into compare-and-set edits, CSV export."""

from datetime import date, datetime

import pytest

from segcore.views import batch_table
from segcore.work import delivery
from segcore.work.batches import BatchQuery

LEGACY = {
    "id": "batch_400",
    "assignee": "Flor",
    "status": "S",
    "mongo_uploaded": True,
    "folder": "/data/batch_400",
    "training_metrics_info": {"file_count": 3, "latest_upload": datetime(2025, 9, 1, 8)},
    "metadata": {"priority": "alta", "due_date": "30/09/2025"},
}


@pytest.mark.parametrize(
    "doc, expected",
    [
        (
            LEGACY,
            {
                "id": "batch_400",
                "assignee": "Flor",
                "status": "S",
                "priority": "alta",
                "due_date": date(2025, 9, 30),
                "due_date_stored": None,
                "folder": "/data/batch_400",
                "folder_missing": False,
                "masks": True,
                "usable": False,
                "file_count": 3,
                "masks_vs_images": None,
                "mask_state": None,
                "latest_upload": datetime(2025, 9, 1, 8),
            },
        ),
        (
            {"id": "batch_1", "assignee": "", "metadata": "text", "training_metrics_info": None},
            {
                "id": "batch_1",
                "assignee": None,
                "status": None,
                "priority": None,
                "due_date": None,
                "due_date_stored": None,
                "folder": None,
                "folder_missing": False,
                "masks": False,
                "usable": False,
                "file_count": 0,
                "masks_vs_images": None,
                "mask_state": None,
                "latest_upload": None,
            },
        ),
        (
            {
                "id": "batch_2",
                "metadata": {"due_date": "soon"},
                "training_metrics_info": {"file_count": True},
            },
            {
                "id": "batch_2",
                "assignee": None,
                "status": None,
                "priority": None,
                "due_date": None,
                "due_date_stored": "soon",
                "folder": None,
                "folder_missing": False,
                "masks": False,
                "usable": False,
                "file_count": 0,
                "masks_vs_images": None,
                "mask_state": None,
                "latest_upload": None,
            },
        ),
    ],
)
def test_table_row(doc, expected):
    assert batch_table.table_row(doc) == expected


@pytest.mark.parametrize("stored", ["2026-12-20abc", "2026-12-201", "12/05/20261"])
def test_a_due_date_with_trailing_characters_is_shown_as_stored(stored):
    """Not as the date its first ten characters name, which is another date."""
    row = batch_table.table_row({"id": "batch_1", "metadata": {"due_date": stored}})
    assert (row["due_date"], row["due_date_stored"]) == (None, stored)


@pytest.mark.parametrize(
    "check, shown",
    [
        ({"state": "incomplete", "matched": 236, "images": 240}, "236 / 240"),
        ({"state": "unknown", "matched": None, "images": 240}, "? / 240"),
        ({"state": "unknown"}, "? / ?"),
        (None, None),
        ("legacy text", None),
    ],
)
def test_masks_vs_images(check, shown):
    row = batch_table.table_row({"id": "batch_1", "mask_check": check})
    assert row["masks_vs_images"] == shown
    assert row["mask_state"] == (check["state"] if isinstance(check, dict) else None)


def test_ticked_ids_follow_the_editor_and_keep_earlier_ticks_in_table_order():
    docs = [LEGACY, {"id": "batch_1"}, {"id": "batch_2"}]
    edited = {
        "0": {"due_date": "2025-10-15T00:00:00.000", "select": True},
        1: {"assignee": "Ceci", "select": False},
        7: {"select": True},  # a row no longer shown
    }
    assert batch_table.ticked_ids(docs, [], edited) == ["batch_400"]
    assert batch_table.ticked_ids(docs, {"batch_2", "batch_1"}, edited) == ["batch_400", "batch_2"]
    assert batch_table.ticked_ids(docs, {"batch_9"}, {}) == []  # ticked, then filtered away


def test_csv_export_reads_the_filtered_batches(db):
    db.batches.insert_many(
        [{**LEGACY, "number": 400}, {"id": "batch_2", "number": 2, "assignee": 'Ceci, "C"'}]
    )
    text = batch_table.export_csv(db, BatchQuery())
    lines = text.splitlines()
    assert lines[0] == ",".join(batch_table.COLUMNS)
    assert lines[1].startswith('batch_2,"Ceci, ""C"""')
    assert (
        "batch_400,Flor,S,alta,2025-09-30,/data/batch_400,False,True,3,,,2025-09-01T08:00:00+00:00"
        in text
    )
    assert batch_table.export_csv(db, BatchQuery(assignee="Flor")).count("\n") == 2


def test_csv_and_table_show_upload_times_in_the_office_zone(db):
    from segcore.core.timefmt import office_zone

    db.batches.insert_one({**LEGACY, "number": 400})  # latest upload 2025-09-01 08:00 UTC
    mexico = office_zone("America/Mexico_City")
    text = batch_table.export_csv(db, BatchQuery(), zone=mexico)
    assert text.rstrip().endswith(",2025-09-01T02:00:00-06:00")
    assert batch_table.table_row(LEGACY, mexico)["latest_upload"] == datetime(2025, 9, 1, 2, 0)


@pytest.mark.parametrize(
    "folder, base, shown",
    [
        ("/data/american_project/batch_4", "/data/american_project", "batch_4"),
        ("/data/american_project/batch_4", "/data/american_project/", "batch_4"),
        ("/elsewhere/batch_4", "/data/american_project", "/elsewhere/batch_4"),
        (
            "/data/american_project_old/batch_4",
            "/data/american_project",
            "/data/american_project_old/batch_4",
        ),
        ("/data/x/batch_4", None, "/data/x/batch_4"),
        (None, "/data", None),
    ],
)
def test_folder_is_shown_relative_to_the_data_directory(folder, base, shown):
    assert batch_table.shown_folder(folder, base) == shown


@pytest.mark.parametrize(
    "row, overdue",
    [
        ({"due_date": date(2025, 9, 30), "masks": False, "status": "pending"}, True),
        ({"due_date": date(2025, 9, 30), "masks": True, "usable": True, "status": "review"}, False),
        # uploaded is not delivered: an unreadable or incomplete upload leaves it overdue
        ({"due_date": date(2025, 9, 30), "masks": True, "usable": False, "status": "rework"}, True),
        ({"due_date": date(2025, 9, 30), "masks": False, "status": "done"}, False),
        ({"due_date": date(2025, 10, 1), "masks": False, "status": "S"}, False),
        ({"due_date": None, "masks": False, "status": "pending"}, False),
    ],
)
def test_overdue(row, overdue):
    assert delivery.is_overdue(row, date(2025, 10, 1)) is overdue


def test_a_row_says_whether_its_masks_are_usable():
    """The Overdue column follows the delivery rule (segcore.work.delivery), not the upload."""
    unreadable = {"state": "unreadable", "usable": False}
    complete = {"state": "complete", "usable": True}
    assert batch_table.table_row({"id": "b", "mask_check": unreadable})["usable"] is False
    assert batch_table.table_row({"id": "b", "mask_check": complete})["usable"] is True
    wrong = {"id": "b", "mask_check": complete, "mask_content": {"problems": 2}}
    assert batch_table.table_row(wrong)["usable"] is False


@pytest.mark.parametrize(
    "stored,drawn",
    [
        ("Flor", "Flor"),
        ("Flor ", "Flor␣"),
        (" Flor", "␣Flor"),
        ("\tFlor\u00a0 ", "␣Flor␣␣"),
        ("\ufeffFlor", "␣Flor"),
        ("Flor Pérez", "Flor Pérez"),
        ("  ", "  "),  # nobody holds it: drawn blank, as it is
        (None, None),
        (42, 42),
    ],
)
def test_grid_value_makes_surrounding_spaces_visible(stored, drawn):
    assert batch_table.grid_value(stored) == drawn


def test_the_mask_problems_filter_reads_a_count_as_every_other_figure_does(db):
    """A count mongosh stored as 2.0 or another tool as "3" is a problem for the rows, the
    pages and `segcore status` (delivery.problem_count): the export's filter agrees."""
    from segcore.views.batch_rows import BatchRows

    stored = {"int": 3, "double": 2.0, "text": "3", "padded": " 12 ", "zero": 0, "zero-text": "0"}
    stored |= {"fraction": 2.5, "words": "many", "flag": True, "negative": -1, "none": None}
    db.batches.insert_many([{"id": k, "mask_content": {"problems": v}} for k, v in stored.items()])
    db.batches.insert_one({"id": "never-checked"})
    problems = {"int", "double", "text", "padded"}
    for wanted in (True, False):
        query = BatchQuery(mask_problems=wanted)
        exported = {row["id"] for row in batch_table.export_rows(db, query)}
        in_memory = set(BatchRows().refresh(db).select(query))
        expected = problems if wanted else {*stored, "never-checked"} - problems
        assert exported == in_memory == expected, wanted
