"""Who holds a batch, one rule everywhere: a legacy assignee of another type (42, ["Flor"]) holds
it under its text, and another spelling of a member ("flor", "Flor ") is that member."""

from segcore.report import progress, stats
from segcore.team import team
from segcore.views.batch_rows import batch_row, matches
from segcore.views.my_work import _my_docs
from segcore.work import batches, holders, review
from segcore.work.batches import UNASSIGNED, BatchQuery
from segcore.work.delivery import is_open

LEGACY = [
    ("batch_1", "Flor"),
    ("batch_2", 42),
    ("batch_3", ["Flor"]),
    ("batch_4", None),
    ("batch_5", "flor"),
    ("batch_6", "Flor "),
    ("batch_7", "   "),
    ("batch_8", ""),
]


def legacy_docs():
    return [{"id": i, "assignee": a, "status": "pending"} for i, a in LEGACY]


def test_a_stored_assignee_of_another_type_holds_the_batch_under_its_text():
    assert holders.holder(42) == "42"
    assert holders.holder(["Flor"]) == "['Flor']"
    assert holders.holder("Flor ") == "Flor "  # shown as stored
    assert [holders.holder(v) for v in (None, "", "   ")] == [None, None, None]
    assert is_open(42, False, "pending") and is_open(["Flor"], False, "pending")


def test_every_spelling_of_a_member_is_that_member_and_the_first_duplicate_counts():
    by_key = holders.people_by_key(["José", "Jose", "Flor"])
    assert holders.person_of("jose ", by_key) == "José"
    assert holders.person_of("FLÓR", by_key) == "Flor"
    assert holders.person_of(["Flor"], by_key) == "['Flor']"  # a list is not Flor
    assert holders.person_of("  ", by_key) is None
    assert holders.same_person("Flor ", "flor") and not holders.same_person(["Flor"], "Flor")


def test_person_filter_options_are_the_team_then_one_per_person_not_on_it():
    stored = ["Flor", "flor", "Flor ", "Ex", "ex ", 42, None, "  "]
    assert holders.person_options(stored, ["Flor"]) == ["Flor", "42", "Ex"]


def test_workloads_count_each_person_once_under_every_spelling_and_type():
    held = [(a, 1) for _, a in LEGACY] + [("FLOR", 2), ("Ceci", 1)]
    loads = holders.workloads(held, ["Flor", "42", "Mauricio"])
    assert loads == {"Flor": 5, "42": 1, "Mauricio": 0}  # "['Flor']" is someone else's text


def test_rows_count_and_filter_a_legacy_assignee_as_every_view_does():
    rows = [batch_row(d) for d in legacy_docs()]
    assert progress.kpis(rows).assigned == 5
    unassigned = [r["id"] for r in rows if matches(r, BatchQuery(assignee=UNASSIGNED))]
    assert unassigned == ["batch_4", "batch_7", "batch_8"]
    assert [r["id"] for r in rows if matches(r, BatchQuery(assignee="42"))] == ["batch_2"]
    flor = [r["id"] for r in rows if matches(r, BatchQuery(assignee="Flor"))]
    assert flor == ["batch_1", "batch_5", "batch_6"]
    assert [r["id"] for r in progress.filter_rows(rows, "flor")] == flor
    per = {p["segmentador"]: p["assigned"] for p in progress.per_segmentador(rows, ["Flor"])}
    assert per == {"Flor": 3, "42": 1, "['Flor']": 1}


def test_the_stored_summary_counts_as_the_pages_do(db):
    db.batches.insert_many(legacy_docs())
    assert stats.summary(db).assigned == 5


def test_server_queries_find_every_spelling_and_leave_lists_to_their_text(db):
    db.batches.insert_many(legacy_docs())
    assert sorted(batches.open_batch_ids(db, "flor")) == ["batch_1", "batch_5", "batch_6"]
    assert batches.open_batch_ids(db, "42") == ["batch_2"]
    assert batches.open_batch_ids(db, "['Flor']") == ["batch_3"]  # the Team page's hand-over
    assert batches.next_pending_ids(db, 10) == ["batch_4", "batch_7", "batch_8"]
    assert batches.open_workloads(db, ["Flor", "42", "Ceci"]) == {"Flor": 3, "42": 1, "Ceci": 0}
    assert sorted(d["id"] for d in _my_docs(db, "Flor")) == ["batch_1", "batch_5", "batch_6"]
    assert db.batches.find_one({"id": "batch_6"})["assignee"] == "Flor "  # never rewritten


def test_legacy_duplicate_members_count_as_the_first_one(db):
    db.segmentadores.insert_many([{"name": "José"}, {"name": "Jose"}])
    team.ensure_indexes(db)  # as at start: José keeps the key, Jose is a duplicate
    names = [m.name for m in team.list_members(db)]
    assert names == ["José", "Jose"]
    rows = [
        batch_row({"id": "batch_1", "assignee": "José", "mask_check": {"usable": True}}),
        batch_row({"id": "batch_2", "assignee": "Jose", "status": "pending"}),
    ]
    per = {p["segmentador"]: p["assigned"] for p in progress.per_segmentador(rows, names)}
    assert per == {"José": 2, "Jose": 0}
    assert [(p["name"], p["delivered"]) for p in review.person_rework(rows, names).values()] == [
        ("José", 1)
    ]


def test_unassigned_work_is_found_for_every_blank_text(db):
    blanks = ["\u00a0", "\u3000 ", "\t", " \u2003 "]
    db.batches.insert_many(
        [{"id": f"batch_{n}", "assignee": a} for n, a in enumerate(blanks, 1)]
        + [{"id": "batch_9", "assignee": ["", "Flor"]}, {"id": "batch_10", "assignee": " Flor"}]
    )
    assert batches.next_pending_ids(db, 10) == ["batch_1", "batch_2", "batch_3", "batch_4"]
    assert stats.summary(db).assigned == 2


def test_a_move_of_a_legacy_holders_batch_is_applied_not_refused_as_changed(db):
    from segcore.store.history import list_history
    from segcore.work.assignments import apply_edits
    from segcore.work.batches import Edit

    for name in ("Flor", "Ceci"):
        team.add_member(db, name, author="test")
    db.batches.insert_many(
        [{"id": "batch_1", "assignee": 42}, {"id": "batch_2", "assignee": "flor"}]
    )
    # What the pages and the suggested moves say they saw: "42", and Flor for "flor".
    edits = [Edit("batch_1", "assignee", "42", "Ceci"), Edit("batch_2", "assignee", "Flor", "Ceci")]
    result = apply_edits(db, edits, "test")
    assert (sorted(result.updated), result.conflicts) == (["batch_1", "batch_2"], [])
    assert [h["old"] for h in list_history(db, key="batch_1")] == [42]  # as it was stored
    again = apply_edits(db, [Edit("batch_2", "assignee", "Flor", "Ceci")], "test")
    # Ceci holds it now, as wanted: nothing to write, and no conflict to report.
    assert (again.updated, again.conflicts) == ([], [])


def test_someone_not_on_the_team_has_one_name_whatever_the_order_of_the_batches():
    rows = [batch_row({"id": f"batch_{n}", "assignee": a}) for n, a in enumerate(["ex ", "Ex"])]
    for order in (rows, rows[::-1]):
        per = progress.per_segmentador(order, [])
        assert [(p["segmentador"], p["assigned"]) for p in per] == [("Ex", 2)]
        assert holders.person_options([r["assignee"] for r in order], []) == ["Ex"]
        # the Team page's rework table beside the workloads: the same name, not the first read
        assert [p["name"] for p in review.person_rework(order, []).values()] == ["Ex"]


def test_alerts_and_weekly_deliveries_name_people_as_the_team_page(db):
    from datetime import date, datetime, timezone

    from segcore.report import pace

    day = datetime(2026, 3, 4, 12, tzinfo=timezone.utc)
    check = {"usable": True, "usable_since": day}
    docs = [
        {"id": "batch_1", "assignee": "Jose", "mask_check": check},
        {"id": "batch_2", "assignee": "ex ", "status": "pending"},
        {"id": "batch_3", "assignee": "Ex", "status": "pending"},
    ]
    rows = [pace.pace_row(d) for d in docs]
    weekly = pace.weekly_deliveries(rows, ["José", "Jose"], date(2026, 3, 6), weeks=1)
    assert [(w["segmentador"], w["deliveries"]) for w in weekly] == [("José", 1)]
    members = [{"name": "José"}, {"name": "Jose"}]
    found = pace.analyse(rows, members, day)
    assert sorted(p.name for p in found.people) == ["Ex", "José"]
