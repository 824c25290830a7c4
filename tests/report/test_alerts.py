"""Alerts from the real database, and applying suggested moves with compare-and-set."""

from datetime import timedelta

from segcore.core.timefmt import utcnow
from segcore.report import alerts
from segcore.store.history import list_history
from segcore.team import team
from segcore.work import assignments
from tests.pace_seed import _delivered, _open, record_sync, seed_pace


def test_alerts_read_from_the_database(db):
    expected = seed_pace(db)
    found = alerts.current_alerts(db)
    assert [p.name for p in found.stalled] == expected["stalled"]
    assert {b.id for b in found.at_risk} == expected["at_risk"]
    assert {m.id: m.to for m in found.moves} == expected["moves"]
    reasons = {m.id: m.reason for m in found.moves}
    assert reasons["batch_5"] == "stalled: Cai has delivered nothing for 20 days"
    assert reasons["batch_7"] == "Zoe is no longer on the team"
    assert reasons["batch_1"] == "overdue by 3 days"
    assert [(p.name, p.on_team, p.open) for p in found.people] == [
        ("Ana", True, 4),
        ("Bea", True, 0),
        ("Cai", True, 2),
        ("Zoe", False, 1),
    ]


def test_applied_moves_are_recorded_with_their_reason(db):
    seed_pace(db)
    moves = alerts.current_alerts(db).moves
    result = alerts.apply_moves(db, moves, "coord")
    assert sorted(result.updated) == ["batch_1", "batch_5", "batch_7"]
    assert db.batches.count_documents({"assignee": "Bea", "mongo_uploaded": False}) == 3
    [entry] = list_history(db, key="batch_5")
    assert (entry["old"], entry["new"], entry["author"]) == ("Cai", "Bea", "coord")
    assert entry["reason"] == "suggested move: stalled: Cai has delivered nothing for 20 days"
    assert alerts.current_alerts(db).moves == []  # applied: nothing left to suggest


def test_a_batch_changed_meanwhile_is_reported_not_overwritten(db):
    seed_pace(db)
    moves = alerts.current_alerts(db).moves
    db.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Cai"}})  # another coordinator
    db.batches.update_one(
        {"id": "batch_5"},
        {
            "$set": {
                "mongo_uploaded": True,  # delivered
                "mask_check.usable": True,
            }
        },
    )
    result = alerts.apply_moves(db, moves, "coord")
    assert result.updated == ["batch_7"]
    assert [(c.batch_id, c.actual) for c in result.conflicts] == [("batch_1", "Cai")]
    assert result.failed == {"batch_5": "it has usable masks now, so it stays where it is"}
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Cai"
    assert db.batches.find_one({"id": "batch_5"})["assignee"] == "Cai"
    assert list_history(db, key="batch_1") == [] and list_history(db, key="batch_5") == []


def test_hand_edits_store_no_reason(db):
    seed_pace(db)
    assignments.assign(db, ["batch_8"], "Ana", "coord")
    [entry] = list_history(db, key="batch_8")
    assert "reason" not in entry


def test_a_member_recorded_after_work_older_than_the_window_is_stalled_and_paced_over_it(db):
    """Flor's team record was written today; she delivered 40 days ago and yesterday, and holds
    3 batches due in 14 days: a pace of 1 over the window (not 1 a day) puts them at risk. Ceci,
    recorded today too, delivered only 40 days ago: stalled, with her open batch."""
    now = utcnow()
    team.add_member(db, "Flor")
    team.add_member(db, "Ceci")
    due = (now + timedelta(days=14)).date()
    db.batches.insert_many(
        [
            _delivered("batch_1", "Flor", now - timedelta(days=40)),
            _delivered("batch_2", "Flor", now - timedelta(days=1)),
            *(_open(f"batch_{n}", "Flor", due) for n in (3, 4, 5)),
            _delivered("batch_6", "Ceci", now - timedelta(days=40)),
            _open("batch_7", "Ceci", None),
        ]
    )
    record_sync(db, timedelta(minutes=5))
    found = alerts.current_alerts(db)
    flor = next(p for p in found.people if p.name == "Flor")
    assert flor.pace == 0.05
    assert {b.id for b in found.at_risk} == {"batch_3", "batch_4", "batch_5"}
    assert [(p.name, p.days_since) for p in found.stalled] == [("Ceci", 40)]
