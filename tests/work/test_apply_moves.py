"""The sync's one write per batch: a status move (compare-and-set, in the history) together
with the other fields the sync sets on that batch; a batch whose status someone changed
meanwhile keeps that status but still gets the other fields."""

from __future__ import annotations

import pytest

from segcore.store import marked_writes
from segcore.store.history import list_history
from segcore.work import review
from segcore.work.assignments import apply_edits
from segcore.work.batches import Edit
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


def pending_batches(db, *batch_ids) -> dict:
    db.batches.insert_many([{"id": b, "status": "pending", "assignee": "Flor"} for b in batch_ids])
    return {d["id"]: d["_id"] for d in db.batches.find({}, {"id": 1})}


def status_entries(db, batch_id) -> set[tuple]:
    return {(h["old"], h["new"], h["author"]) for h in list_history(db, batch_id)}


def test_a_coordinator_setting_the_same_status_meanwhile_is_one_change_in_the_history(db):
    """A sync planned pending -> review for batch_1; before it wrote, a coordinator saved
    `review` in the Batches table (having seen `pending`). One change happened, the
    coordinator's: the sync's move did not take effect, and its entry is taken back (the
    history told the same change twice, and the sync counted a move it did not make)."""
    ids = pending_batches(db, "batch_1", "batch_2")
    moves = [Move(ids[b], b, "pending", "review") for b in ("batch_1", "batch_2")]
    saved = apply_edits(db, [Edit("batch_1", "status", "pending", "review")], "Ana")
    assert saved.updated == ["batch_1"]
    done = apply_moves(db, moves, "sync", also={ids["batch_1"]: ("batch_1", {"x": 1}, {})})
    assert [m.batch_id for m in done] == ["batch_2"]
    assert status_entries(db, "batch_1") == {("pending", "review", "Ana")}
    assert status_entries(db, "batch_2") == {("pending", "review", "sync")}
    assert db.batches.find_one({"id": "batch_1"})["x"] == 1  # its other fields still land


def test_a_move_that_took_effect_keeps_its_entry_when_the_status_changed_right_after(
    db, monkeypatch
):
    """The sync's move of batch_1 took effect, then a coordinator accepted the batch before
    the sync read back the batches of its bulk write (another move, batch_2's, found its
    status changed): the move happened and stays in the history, before the acceptance."""
    ids = pending_batches(db, "batch_1", "batch_2")
    moves = [Move(ids[b], b, "pending", "review") for b in ("batch_1", "batch_2")]
    apply_edits(db, [Edit("batch_2", "status", "pending", "rework")], "Ana")
    real_bulk = marked_writes._bulk

    def then_the_coordinator_accepts(work, operations, each_chunk):
        written = real_bulk(work, operations, each_chunk)
        if operations:
            apply_edits(db, [Edit("batch_1", "status", "review", "done")], "Bea")
        return written

    monkeypatch.setattr(marked_writes, "_bulk", then_the_coordinator_accepts)
    done = apply_moves(db, moves, "sync")
    assert [m.batch_id for m in done] == ["batch_1"]
    assert status_entries(db, "batch_1") == {
        ("pending", "review", "sync"),
        ("review", "done", "Bea"),
    }
    assert status_entries(db, "batch_2") == {("pending", "rework", "Ana")}


@pytest.mark.parametrize("transactions", [True, False])
def test_two_coordinators_accepting_the_same_batch_at_once_is_one_acceptance(
    db, monkeypatch, transactions
):
    """Ana and Bea both accept batch_1, seen in review: Bea's acceptance lands between Ana's
    read and her write. One change happened, Bea's: the history holds her entry only and Ana
    is told the batch changed meanwhile, on a server with transactions and on a standalone
    one without them (where the status alone, `done` either way, cannot tell them apart)."""
    from segcore.store import atomic

    monkeypatch.setattr(atomic, "supports_transactions", lambda client: transactions)
    db.batches.insert_many(
        [{"id": b, "status": "review", "mongo_uploaded": True} for b in ("batch_1", "batch_2")]
    )
    real, reads = review.find_in, []

    def bea_accepts_after_anas_read(*args, **kwargs):
        found = list(real(*args, **kwargs))
        if not reads:
            reads.append(1)
            assert review.review(db, ["batch_1"], accept=True, author="Bea").moved == ["batch_1"]
        return found

    monkeypatch.setattr(review, "find_in", bea_accepts_after_anas_read)
    result = review.review(db, ["batch_1", "batch_2"], accept=True, author="Ana")
    assert (result.moved, result.conflicts) == (["batch_2"], ["batch_1"])
    assert status_entries(db, "batch_1") == {("review", "done", "Bea")}
    assert status_entries(db, "batch_2") == {("review", "done", "Ana")}


class LeaseLost(Exception):
    pass


def test_writes_that_stop_after_a_chunk_keep_history_only_for_the_batches_written(db):
    """Without a transaction the entries are written first; a write that stops after its first
    bulk chunk (a sync's lease lost, the connection dropped) left entries for the 500 batches
    never written: the history told changes that did not happen."""
    total = marked_writes.WRITE_CHUNK + 500
    ids = pending_batches(db, *[f"batch_{n}" for n in range(total)])
    moves = [Move(ids[f"batch_{n}"], f"batch_{n}", "pending", "review") for n in range(total)]

    def lease_lost():
        raise LeaseLost()

    with pytest.raises(LeaseLost):
        apply_moves(db, moves, "sync", each_chunk=lease_lost)
    moved = {d["id"] for d in db.batches.find({"status": "review"}, {"id": 1})}
    told = {h["key"] for h in db.history.find({"field": "status"}, {"key": 1})}
    assert len(moved) == marked_writes.WRITE_CHUNK and told == moved
