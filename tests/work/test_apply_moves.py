"""The sync's one write per batch: a status move (compare-and-set, in the history) together
with the other fields the sync sets on that batch; a batch whose status someone changed
meanwhile keeps that status but still gets the other fields."""

from __future__ import annotations

from segcore.store.history import list_history
from segcore.work.review import REASON_FIELD, Move, apply_moves


def test_moves_and_other_fields_in_one_write_and_a_conflict_keeps_the_fields(db):
    db.batches.insert_many(
        [
            {"id": "batch_1", "status": "pending", REASON_FIELD: "old note"},
            {"id": "batch_2", "status": "done"},  # the coordinator accepted it meanwhile
            {"id": "batch_3", "status": "pending", "mongo_uploaded": False},
        ]
    )
    ids = {d["id"]: d["_id"] for d in db.batches.find({}, {"id": 1})}
    moves = [
        Move(ids["batch_1"], "batch_1", "pending", "review"),
        Move(ids["batch_2"], "batch_2", "pending", "rework", "unreadable: cut short"),
    ]
    also = {
        ids["batch_1"]: ("batch_1", {"mask_check": {"state": "complete"}}, {}),
        ids["batch_2"]: ("batch_2", {"mask_check": {"state": "unreadable"}}, {}),
        ids["batch_3"]: ("batch_3", {"mongo_uploaded": True}, {"training_metrics_info": ""}),
    }
    done = apply_moves(db, moves, "sync", also=also)
    assert [m.batch_id for m in done] == ["batch_1"]
    found = {d["id"]: d for d in db.batches.find({}, {"_id": 0})}
    assert found["batch_1"]["status"] == "review" and REASON_FIELD not in found["batch_1"]
    assert found["batch_1"]["mask_check"] == {"state": "complete"}
    assert found["batch_2"]["status"] == "done"  # compare-and-set: not overwritten
    assert found["batch_2"]["mask_check"] == {"state": "unreadable"}  # but its result landed
    assert found["batch_3"]["mongo_uploaded"] is True
    # the history says what was tried first (a crash repeats an entry, never loses one)
    assert [h["new"] for h in list_history(db, "batch_1")] == ["review"]
