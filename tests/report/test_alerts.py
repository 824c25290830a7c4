"""Alerts from the real database, and applying suggested moves with compare-and-set."""

from segcore.report import alerts
from segcore.store.history import list_history
from segcore.work import assignments
from tests.pace_seed import seed_pace


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
