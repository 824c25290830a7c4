"""Batches the old Flask dashboard left with `metadata: null` or a non-document metadata ("n/a",
a number, a list), inserted raw as found in production: every writer assigns them, and any batch
that still cannot be changed is named with its reason."""

from datetime import date

import pytest

from segcore.store.history import list_history
from segcore.team import team
from segcore.work import assignments, batches, handover
from segcore.work.batches import Edit

LEGACY = {"batch_1": None, "batch_2": "n/a", "batch_3": 7, "batch_4": ["x"]}


@pytest.fixture
def legacy(db):
    for name in ("Flor", "Ceci"):
        team.add_member(db, name)
    db.batches.insert_many(
        [
            {"id": bid, "assignee": None, "status": "pending", "folder": f"/x/{bid}", "metadata": m}
            for bid, m in LEGACY.items()
        ]
        + [{"id": "batch_5", "assignee": None, "status": "pending", "folder": "/x/batch_5"}]
    )
    return db


def stored(db, batch_id):
    return db.batches.find_one({"id": batch_id}, {"_id": 0})


def test_assign_null_metadata_becomes_a_document_and_legacy_values_are_kept(legacy):
    result = assignments.assign(legacy, list(LEGACY), "Ceci", "coord")
    assert sorted(result.updated) == sorted(LEGACY)
    assert not (result.failed or result.conflicts)
    today = date.today().isoformat()
    assert stored(legacy, "batch_1")["metadata"] == {"assigned_at": today}
    for batch_id in ("batch_2", "batch_3", "batch_4"):  # never overwritten, no day noted
        assert stored(legacy, batch_id)["metadata"] == LEGACY[batch_id]
    assert {stored(legacy, b)["assignee"] for b in LEGACY} == {"Ceci"}
    assert [h["new"] for h in list_history(legacy, "batch_2")] == ["Ceci"]
    # unassigning again leaves the legacy values as they are too
    assert len(assignments.assign(legacy, list(LEGACY), None, "coord").updated) == 4
    assert stored(legacy, "batch_2")["metadata"] == "n/a"


def test_grid_save_and_batches_set_on_null_metadata(legacy):
    edits = [
        Edit("batch_1", "assignee", None, "Flor"),
        Edit("batch_1", "due_date", None, "2026-12-20"),
        Edit("batch_1", "priority", None, "alta"),
    ]
    assert assignments.apply_edits(legacy, edits, "coord").updated == ["batch_1"]
    assert stored(legacy, "batch_1")["metadata"] == {
        "due_date": "2026-12-20",
        "priority": "alta",
        "assigned_at": date.today().isoformat(),
    }
    legacy.batches.update_one({"id": "batch_1"}, {"$set": {"metadata": None}})
    result = assignments.set_fields(legacy, ["batch_1", "batch_2"], {"priority": "baja"}, "coord")
    assert result.updated == ["batch_1"]
    assert stored(legacy, "batch_1")["metadata"] == {"priority": "baja"}
    # A priority would have to replace the legacy "n/a": refused, named with the value.
    assert "'n/a'" in result.failed["batch_2"]
    assert stored(legacy, "batch_2")["metadata"] == "n/a"


@pytest.mark.parametrize("transactions", [True, False])
def test_a_null_metadata_that_became_a_document_meanwhile_is_never_replaced(
    legacy, monkeypatch, transactions
):
    """The whole metadata is written only while it is still null: a due date someone set
    between the read and the write is never lost (in a transaction, or on a standalone server
    without them)."""
    from segcore.store import atomic

    monkeypatch.setattr(atomic, "supports_transactions", lambda client: transactions)
    real, calls = assignments.find_in, []

    def someone_else_after_the_read(*args, **kwargs):
        found = list(real(*args, **kwargs))
        if not calls:
            legacy.batches.update_one(
                {"id": "batch_1"}, {"$set": {"metadata": {"due_date": "2026-01-05"}}}
            )
        calls.append(1)
        return found

    monkeypatch.setattr(assignments, "find_in", someone_else_after_the_read)
    result = assignments.set_fields(legacy, ["batch_1"], {"priority": "alta"}, "coord")
    assert not result.failed
    meta = stored(legacy, "batch_1")["metadata"]
    assert meta["due_date"] == "2026-01-05"
    # written once it was read again as a document, or reported as changed meanwhile
    assert (result.updated, meta.get("priority")) == (["batch_1"], "alta") or result.conflicts


def test_team_remove_hands_over_legacy_batches_and_counts_them(legacy):
    legacy.batches.update_many({}, {"$set": {"assignee": "Flor"}})
    moved = handover.remove_member(legacy, "Flor", reassign_to="Ceci", author="coord")
    assert moved == 5
    assert {d["assignee"] for d in legacy.batches.find()} == {"Ceci"}
    assert [m.name for m in team.list_members(legacy)] == ["Ceci"]


def test_team_remove_hands_over_legacy_batches_and_leaves_one_reassigned_meanwhile(
    legacy, monkeypatch
):
    """Legacy batches (metadata null, "n/a", a number, a list) are handed over; one another
    coordinator reassigned meanwhile is no longer Flor's: it keeps that change, and Flor, who
    holds nothing open any more, is removed."""
    legacy.batches.update_many({}, {"$set": {"assignee": "Flor"}})
    real = assignments.apply_edits

    def someone_else_meanwhile(db, edits, author, *args, **kwargs):
        db.batches.update_one({"id": "batch_2"}, {"$set": {"status": "in_progress"}})
        db.batches.update_one({"id": "batch_2"}, {"$set": {"assignee": "Gaby"}})
        return real(db, edits, author, *args, **kwargs)

    monkeypatch.setattr(assignments, "apply_edits", someone_else_meanwhile)
    assert handover.remove_member(legacy, "Flor", reassign_to="Ceci", author="coord") == 4
    assert stored(legacy, "batch_2")["assignee"] == "Gaby"
    assert {d["id"] for d in legacy.batches.find({"assignee": "Ceci"})} == set(LEGACY) - {
        "batch_2"
    } | {"batch_5"}
    assert "Flor" not in [m.name for m in team.list_members(legacy)]


def test_next_pending_takes_the_next_batch_in_place_of_one_it_cannot_assign(legacy, monkeypatch):
    real = assignments.apply_edits

    def taken_meanwhile(db, edits, author, *args, **kwargs):
        if any(e.batch_id == "batch_1" for e in edits):
            db.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Flor"}})
        return real(db, edits, author, *args, **kwargs)

    monkeypatch.setattr(assignments, "apply_edits", taken_meanwhile)
    result = assignments.assign_next_pending(legacy, 1, "Ceci", "coord")
    assert result.updated == ["batch_2"] and result.tried == 2
    assert [(c.batch_id, c.actual) for c in result.taken] == [("batch_1", "Flor")]
    assert stored(legacy, "batch_2")["assignee"] == "Ceci"


def test_spread_evenly_assigns_legacy_batches(legacy):
    result = assignments.balance_pending(legacy, ["Flor", "Ceci"], "coord")
    assert result.given == {"Ceci": 3, "Flor": 2} and result.tried == 5
    assert batches.next_pending_ids(legacy, 10) == []


def test_cli_assign_null_metadata(legacy, run_cli):
    done = run_cli("assign", "batch_1", "batch_2", "--to", "Ceci")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2 batches updated."
    assert stored(legacy, "batch_1")["assignee"] == "Ceci"


def test_cli_batches_set_names_the_batch_it_refuses(legacy, run_cli):
    done = run_cli("batches", "set", "batch_1", "batch_2", "--priority", "alta")
    assert done.returncode == 1
    assert done.stdout.strip() == "1 batch updated."
    assert "not changed: batch_2: its metadata holds a legacy value ('n/a')" in done.stderr
    assert stored(legacy, "batch_1")["metadata"] == {"priority": "alta"}


def test_review_of_batches_whose_review_is_null_or_a_legacy_value(db):
    """Accepting or sending back wrote `review.*` into a null or "n/a" review: the server
    refused and the page showed a database error (with the history entry already written)."""
    from segcore.work import review

    db.batches.insert_many(
        [
            {"id": bid, "status": "review", "mongo_uploaded": True, "review": kept}
            for bid, kept in (("batch_1", None), ("batch_2", "n/a"))
        ]
    )
    sent = review.review(db, ["batch_1", "batch_2"], accept=False, note="edges", author="coord")
    assert sent.moved == ["batch_1", "batch_2"]
    first = stored(db, "batch_1")
    assert first["status"] == "rework" and first["review"]["sent_back"] == 1
    assert first["review"]["note"] == "edges"
    second = stored(db, "batch_2")
    assert second["status"] == "rework" and second["review"] == "n/a"
    assert second["rework_reason"] == "edges"
    assert len(list_history(db, "batch_2")) == 1


def test_cli_team_remove_hands_over_legacy_batches(legacy, run_cli):
    legacy.batches.update_many({}, {"$set": {"assignee": "Flor"}})
    done = run_cli("team", "remove", "Flor", "--reassign-to", "Ceci")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Removed Flor; 5 open batches reassigned to Ceci."
    assert legacy.batches.count_documents({"assignee": "Flor"}) == 0
