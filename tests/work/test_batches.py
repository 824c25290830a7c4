"""Batch queries and compare-and-set changes against the real server."""

import pytest

from segcore.core.actors import Actor
from segcore.core.errors import PermissionDenied, ValidationError
from segcore.store.history import list_history
from segcore.team import team
from segcore.views.batch_rows import BatchRows
from segcore.work import assignments, batches
from segcore.work.batches import BatchQuery, Edit


@pytest.fixture
def seeded(db):
    for name in ("Flor", "Ceci", "Mauricio"):
        team.add_member(db, name)
    docs = [
        {
            "id": f"batch_{n}",
            "number": n,
            "assignee": None,
            "status": "pending",
            "mongo_uploaded": False,
        }
        for n in range(1, 21)
    ]
    docs[0].update(
        assignee="Flor",
        status="S",
        mongo_uploaded=True,
        metadata={"priority": "alta", "due_date": "2025-09-30", "assigned_at": "2025-09-15"},
    )
    docs[1].update(assignee="Roberto")  # no longer on the team
    docs[2].update(assignee="Ceci")
    db.batches.insert_many(docs)
    return db


def listed(db, query, **paging):
    """A page of the batch table as the Batches page reads it (the rows kept in memory)."""
    return BatchRows().refresh(db).page(db, query, **paging)


def test_filters_and_pagination(seeded):
    page = listed(seeded, BatchQuery(), page=2, page_size=7)
    assert page.total == 20 and page.pages == 3
    assert [r["id"] for r in page.rows] == [f"batch_{n}" for n in range(8, 15)]
    assert listed(seeded, BatchQuery(assignee="Flor")).total == 1
    assert listed(seeded, BatchQuery(assignee=batches.UNASSIGNED)).total == 17
    assert listed(seeded, BatchQuery(has_masks=True)).total == 1
    assert listed(seeded, BatchQuery(has_masks=False)).total == 19
    assert listed(seeded, BatchQuery(status="S")).total == 1
    assert {r["id"] for r in listed(seeded, BatchQuery(text="_1")).rows} == {"batch_1"} | {
        f"batch_{n}" for n in range(10, 20)
    }


def test_text_filter_is_not_interpreted_as_a_pattern(seeded):
    assert listed(seeded, BatchQuery(text=".*")).total == 0
    assert listed(seeded, BatchQuery(text="batch_(")).total == 0


def test_edit_writes_only_changed_fields_and_keeps_legacy_values(seeded):
    result = assignments.apply_edits(seeded, [Edit("batch_1", "priority", "alta", "baja")], "coord")
    assert result.updated == ["batch_1"] and not result.conflicts
    doc = seeded.batches.find_one({"id": "batch_1"})
    assert doc["status"] == "S" and doc["metadata"]["due_date"] == "2025-09-30"
    assert doc["metadata"]["priority"] == "baja" and doc["assignee"] == "Flor"
    entry = list_history(seeded, "batch_1")[0]
    assert (entry["field"], entry["old"], entry["new"], entry["author"]) == (
        "priority",
        "alta",
        "baja",
        "coord",
    )


def test_conflict_names_batch_and_both_values_and_keeps_other_rows(seeded):
    # Another coordinator reassigned batch_3 after this one read it.
    assignments.apply_edits(seeded, [Edit("batch_3", "assignee", "Ceci", "Mauricio")], "other")
    result = assignments.apply_edits(
        seeded,
        [Edit("batch_3", "assignee", "Ceci", "Flor"), Edit("batch_4", "assignee", None, "Flor")],
        "me",
    )
    assert result.updated == ["batch_4"]
    [conflict] = result.conflicts
    assert (conflict.batch_id, conflict.expected, conflict.actual, conflict.wanted) == (
        "batch_3",
        "Ceci",
        "Mauricio",
        "Flor",
    )
    assert "batch_3" in conflict.describe() and "Mauricio" in conflict.describe()
    assert seeded.batches.find_one({"id": "batch_3"})["assignee"] == "Mauricio"
    assert seeded.batches.find_one({"id": "batch_4"})["assignee"] == "Flor"


def test_a_conflict_on_one_field_still_saves_the_batchs_other_edits(seeded):
    # A sync moved batch_5's status on after the coordinator chose a status and an assignee.
    seeded.batches.update_one({"id": "batch_5"}, {"$set": {"status": "rework"}})
    result = assignments.apply_edits(
        seeded,
        [
            Edit("batch_5", "status", "pending", "in_progress"),
            Edit("batch_5", "assignee", None, "Flor"),
        ],
        "me",
    )
    assert result.updated == ["batch_5"]
    [conflict] = result.conflicts
    assert (conflict.field, conflict.expected, conflict.actual, conflict.wanted) == (
        "status",
        "pending",
        "rework",
        "in_progress",
    )
    doc = seeded.batches.find_one({"id": "batch_5"})
    assert (doc["assignee"], doc["status"]) == ("Flor", "rework")
    assert [(e["field"], e["new"]) for e in list_history(seeded, "batch_5")] == [
        ("assignee", "Flor")
    ]


def test_a_field_already_holding_the_value_wanted_is_no_conflict(seeded):
    # Two coordinators both gave batch_6 to Mauricio; the second also set a priority.
    assignments.apply_edits(seeded, [Edit("batch_6", "assignee", None, "Mauricio")], "first")
    result = assignments.apply_edits(
        seeded,
        [Edit("batch_6", "assignee", None, "Mauricio"), Edit("batch_6", "priority", None, "alta")],
        "second",
    )
    assert result.updated == ["batch_6"] and not result.conflicts
    doc = seeded.batches.find_one({"id": "batch_6"})
    assert (doc["assignee"], doc["metadata"]["priority"]) == ("Mauricio", "alta")
    assert [e["author"] for e in list_history(seeded, "batch_6") if e["field"] == "assignee"] == [
        "first"
    ]


def test_invalid_value_writes_nothing(seeded):
    with pytest.raises(ValidationError) as exc:
        assignments.apply_edits(
            seeded,
            [
                Edit("batch_4", "assignee", None, "Flor"),
                Edit("batch_5", "assignee", None, "Nadie"),
                Edit("batch_6", "due_date", None, "tomorrow"),
            ],
            "me",
        )
    assert "Nadie" in str(exc.value) and "tomorrow" in str(exc.value)
    assert seeded.batches.count_documents({"assignee": "Flor"}) == 1


def test_assignee_matched_to_the_team_spelling(seeded):
    assignments.assign(seeded, ["batch_5"], " flor ", "me")
    doc = seeded.batches.find_one({"id": "batch_5"})
    assert doc["assignee"] == "Flor" and doc["metadata"]["assigned_at"]


@pytest.mark.parametrize(
    "typed, stored",
    [("José", "José"), ("Jose", "Jose"), (" José ", "José"), ("jose", "José"), ("JOSÉ", "José")],
)
def test_assigning_to_a_legacy_duplicate_stores_the_spelling_typed(db, typed, stored):
    """José (first, holding the key) and a legacy Jose: a batch given to José was stored as
    "Jose" (the last one listed); a spelling neither has goes to the first, who holds it."""
    db.segmentadores.insert_many([{"name": "José"}, {"name": "Jose"}])
    team.ensure_indexes(db)
    db.batches.insert_one({"id": "batch_1", "number": 1, "status": "pending"})
    assignments.assign(db, ["batch_1"], typed, "me")
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == stored


def test_assign_reports_missing_and_unassign(seeded):
    result = assignments.assign(seeded, ["batch_5", "batch_999"], "Ceci", "me")
    assert result.updated == ["batch_5"] and result.missing == ["batch_999"]
    assignments.assign(seeded, ["batch_5"], None, "me")
    assert seeded.batches.find_one({"id": "batch_5"})["assignee"] is None


def test_viewer_cannot_write(seeded):
    with pytest.raises(PermissionDenied):
        assignments.assign(seeded, ["batch_5"], "Ceci", Actor("vera", "viewer"))
    assert seeded.batches.find_one({"id": "batch_5"})["assignee"] is None


def test_next_pending_and_balance(seeded):
    assert batches.next_pending_ids(seeded, 3) == ["batch_4", "batch_5", "batch_6"]
    given = assignments.balance_pending(seeded, ["Flor", "Ceci", "Mauricio"], "me").given
    assert sum(given.values()) == 17
    loads = batches.open_workloads(seeded, ["Flor", "Ceci", "Mauricio"])
    assert max(loads.values()) - min(loads.values()) <= 1


def test_bulk_assignment_hands_out_only_pending_batches(db):
    """Unassigned batches awaiting review, sent back, or in a legacy status are someone's
    work or the coordinator's call: "Assign the next N pending" and "spread evenly" take
    only `pending` ones (and those never given a status)."""
    team.add_member(db, "Ceci")
    team.add_member(db, "Flor")
    db.batches.insert_many(
        [
            {"id": "batch_1", "number": 1, "assignee": None, "status": "review"},
            {"id": "batch_2", "number": 2, "assignee": None, "status": "rework"},
            {"id": "batch_3", "number": 3, "assignee": None, "status": "completado"},
            {"id": "batch_4", "number": 4, "assignee": None, "status": "in_progress"},
            {"id": "batch_5", "number": 5, "assignee": None, "status": "pending"},
            {"id": "batch_6", "number": 6, "assignee": ""},
            {"id": "batch_7", "number": 7, "assignee": None, "status": "pending"},
        ]
    )
    assert batches.next_pending_ids(db, 10) == ["batch_5", "batch_6", "batch_7"]
    assert assignments.assign_next_pending(db, 1, "Ceci", "me").updated == ["batch_5"]
    given = assignments.balance_pending(db, ["Ceci", "Flor"], "me")
    assert sorted(given.updated) == ["batch_6", "batch_7"]
    left = {d["id"] for d in db.batches.find({"assignee": {"$in": [None, ""]}})}
    assert left == {"batch_1", "batch_2", "batch_3", "batch_4"}


@pytest.mark.parametrize(
    "loads,count,expected",
    [
        ({"A": 0, "B": 0}, 4, {"A": 2, "B": 2}),
        ({"A": 5, "B": 0}, 3, {"B": 3}),
        ({"A": 5, "B": 0}, 7, {"A": 1, "B": 6}),
        ({}, 3, {}),
    ],
)
def test_plan_balance(loads, count, expected):
    plan = assignments.plan_balance(loads, [f"b{i}" for i in range(count)])
    got = {}
    for name in plan.values():
        got[name] = got.get(name, 0) + 1
    assert got == expected


@pytest.mark.parametrize(
    "field,value",
    [
        ("status", "finished"),
        ("priority", "urgent"),
        ("status", None),
        ("due_date", "31-31-2025"),
        ("folder", "/x"),
    ],
)
def test_validate_value_refuses(field, value):
    with pytest.raises(ValidationError):
        batches.validate_value(field, value, ["Flor"])


@pytest.mark.parametrize("typed", ["flor", "Flor\u200b", "\ufeffFlor", "Fl\u00ador"])
def test_an_assignee_pasted_with_invisible_characters_is_the_member(typed):
    """Assigned as the member's stored name, not refused as someone not on the team."""
    assert batches.validate_value("assignee", typed, ["Ceci", "Flor"]) == "Flor"


def test_validate_due_date_forms():
    from datetime import date

    assert batches.validate_value("due_date", date(2025, 9, 30), []) == "2025-09-30"
    assert batches.validate_value("due_date", "2025-09-30", []) == "2025-09-30"
    assert batches.validate_value("due_date", None, []) is None  # a blank one is refused


def test_empty_values_sort_last_both_ways_and_legacy_values_are_listed(db):
    db.batches.insert_many(
        [
            {"id": "batch_1", "number": 1, "assignee": "Ceci", "status": "S"},
            {"id": "batch_2", "number": 2, "assignee": None, "status": "pending"},
            {"id": "batch_3", "number": 3, "assignee": "Roberto"},
            {"id": "batch_4", "number": 4, "assignee": ""},
        ]
    )
    up = listed(db, BatchQuery(), sort="assignee")
    down = listed(db, BatchQuery(), sort="assignee", descending=True)
    assert [r["id"] for r in up.rows][:2] == ["batch_1", "batch_3"]
    assert [r["id"] for r in down.rows][:2] == ["batch_3", "batch_1"]
    assert {r["id"] for r in down.rows[2:]} == {"batch_2", "batch_4"}
    assert batches.stored_values(db, "assignee") == ["Ceci", "Roberto"]
    assert batches.stored_values(db, "status") == ["pending", "S"]
