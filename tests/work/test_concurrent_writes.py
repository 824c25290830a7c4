"""Two coordinators (or a coordinator and a sync) writing the same batches at the same moment.

Each test puts the other person's step at one exact point of the first one's by wrapping the
segcore function that runs there, then runs both against the real server: the order is fixed,
never left to timing.
"""

import pytest

from segcore.core.errors import ValidationError
from segcore.store.history import list_history
from segcore.team import auth, team
from segcore.work import assignments, batches, handover
from segcore.work.batches import Edit


@pytest.fixture
def office(db):
    for name in ("Ceci", "Flor", "Maggie"):
        team.add_member(db, name)
    db.batches.insert_many(
        [
            {"id": f"batch_{n}", "number": n, "assignee": None, "status": "pending"}
            for n in range(1, 11)
        ]
    )
    db.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Ceci"}})
    return db


def test_a_save_retried_by_the_server_still_reports_the_field_changed_meanwhile(
    office, monkeypatch
):
    """A's table showed batch_1 pending / Ceci; B set it to rework meanwhile. A's save (status
    in progress, assignee Maggie) meets a sync writing the same batch, so the server runs its
    transaction twice: the second attempt must still see that the status changed meanwhile."""
    assignments.apply_edits(office, [Edit("batch_1", "status", "pending", "rework")], "Bea")
    reads = []
    read_batches = assignments.find_in

    def a_sync_writes_the_batch_meanwhile(*args, **kwargs):
        found = list(read_batches(*args, **kwargs))
        reads.append(1)
        if len(reads) == 1:  # outside A's transaction: a write conflict, the server retries
            office.batches.update_one({"id": "batch_1"}, {"$set": {"mongo_uploaded": True}})
        return found

    monkeypatch.setattr(assignments, "find_in", a_sync_writes_the_batch_meanwhile)
    result = assignments.apply_edits(
        office,
        [
            Edit("batch_1", "status", "pending", "in_progress"),
            Edit("batch_1", "assignee", "Ceci", "Maggie"),
        ],
        "Ana",
    )
    assert len(reads) == 2, "the transaction was not retried: the scenario was not reached"
    assert result.updated == ["batch_1"]
    assert [(c.field, c.actual, c.wanted) for c in result.conflicts] == [
        ("status", "rework", "in_progress")
    ]
    stored = office.batches.find_one({"id": "batch_1"})
    assert (stored["assignee"], stored["status"]) == ("Maggie", "rework")
    by_ana = [(h["field"], h["old"], h["new"]) for h in list_history(office, "batch_1")]
    assert ("assignee", "Ceci", "Maggie") in by_ana
    assert ("status", "pending", "in_progress") not in by_ana


def _holders(db, *ids):
    return {d["id"]: d["assignee"] for d in db.batches.find({"id": {"$in": list(ids)}})}


def test_two_next_pending_at_once_never_take_each_others_batches(office, monkeypatch):
    """A and B click "Assign the next 3 pending" together, for Flor and for Maggie: both pick
    batch_2-4, A writes first. B's click leaves A's three to Flor, says so, and gives Maggie
    the next three instead."""
    pick = assignments.next_pending_ids
    told = {}

    def a_clicks_while_b_has_picked(*args, **kwargs):
        ids = pick(*args, **kwargs)
        if not told:  # A's click runs whole between B's pick and B's write
            told["A"] = None
            told["A"] = assignments.assign_next_pending(office, 3, "Flor", "Ana")
        return ids

    monkeypatch.setattr(assignments, "next_pending_ids", a_clicks_while_b_has_picked)
    b = assignments.assign_next_pending(office, 3, "Maggie", "Bea")
    assert told["A"].updated == ["batch_2", "batch_3", "batch_4"]
    assert _holders(office, "batch_2", "batch_3", "batch_4") == dict.fromkeys(
        ["batch_2", "batch_3", "batch_4"], "Flor"
    )
    assert b.updated == ["batch_5", "batch_6", "batch_7"] and b.given == {"Maggie": 3}
    assert [(c.batch_id, c.actual) for c in b.taken] == [
        ("batch_2", "Flor"),
        ("batch_3", "Flor"),
        ("batch_4", "Flor"),
    ]
    assert b.conflicts == []
    assert [(h["old"], h["new"]) for h in list_history(office, "batch_2")] == [(None, "Flor")]


def test_spreading_evenly_leaves_a_batch_assigned_meanwhile_to_its_holder(office, monkeypatch):
    pick = assignments.next_pending_ids
    calls = []

    def b_assigns_one_meanwhile(*args, **kwargs):
        ids = pick(*args, **kwargs)
        if not calls:
            assignments.apply_edits(office, [Edit("batch_10", "assignee", None, "Ceci")], "Bea")
        calls.append(ids)
        return ids

    monkeypatch.setattr(assignments, "next_pending_ids", b_assigns_one_meanwhile)
    spread = assignments.balance_pending(office, ["Flor", "Maggie"], "Ana")
    assert "batch_10" in calls[0]
    assert [(c.batch_id, c.actual) for c in spread.taken] == [("batch_10", "Ceci")]
    assert _holders(office, "batch_10") == {"batch_10": "Ceci"}
    assert sorted(spread.updated) == [f"batch_{n}" for n in range(2, 10)]


def b_reassigns_batch_2_after_the_listing(office, monkeypatch, holder: str) -> None:
    """Coordinator B moves batch_2 from `holder` to Ceci right after A's handover listed the
    holder's open batches."""
    listing = batches.open_batch_ids

    def b_reassigns_meanwhile(*args, **kwargs):
        ids = listing(*args, **kwargs)
        assignments.apply_edits(office, [Edit("batch_2", "assignee", holder, "Ceci")], "Bea")
        return ids

    monkeypatch.setattr(batches, "open_batch_ids", b_reassigns_meanwhile)


def test_a_handover_leaves_a_batch_reassigned_meanwhile_and_still_removes(office, monkeypatch):
    """A removes Flor, handing her open batches to Maggie; between the listing of Flor's open
    batches and the handover, B reassigns batch_2 from Flor to Ceci. B's change stands, and
    Flor, who holds nothing open any more, is removed."""
    assignments.assign(office, ["batch_2", "batch_3"], "Flor", "Ana")
    b_reassigns_batch_2_after_the_listing(office, monkeypatch, "Flor")
    moved = handover.remove_member(office, "Flor", reassign_to="Maggie", author="Ana")
    assert moved == 1
    assert _holders(office, "batch_2", "batch_3") == {"batch_2": "Ceci", "batch_3": "Maggie"}
    assert [m.name for m in team.list_members(office)] == ["Ceci", "Maggie"]
    entries = {(h["old"], h["new"], h["author"]) for h in list_history(office, "batch_2")}
    assert entries == {(None, "Flor", "Ana"), ("Flor", "Ceci", "Bea")}


def test_moving_a_former_members_batches_reports_one_reassigned_meanwhile(office, monkeypatch):
    office.batches.update_many(
        {"id": {"$in": ["batch_2", "batch_3"]}}, {"$set": {"assignee": "Roberto"}}
    )
    b_reassigns_batch_2_after_the_listing(office, monkeypatch, "Roberto")
    result = handover.move_open_batches(office, "Roberto", "Maggie", author="Ana")
    assert result.updated == ["batch_3"]
    assert [(c.batch_id, c.actual) for c in result.conflicts] == [("batch_2", "Ceci")]
    assert _holders(office, "batch_2", "batch_3") == {"batch_2": "Ceci", "batch_3": "Maggie"}


def test_a_batch_given_to_a_member_during_their_removal_keeps_them_on_the_team(office, monkeypatch):
    """A removes Flor, handing her open batch to Maggie; after the handover and before her
    deletion, B (whose table still lists Flor) gives her batch_5. Flor stays, and A is told
    which batch stops the removal; running it again finishes it."""
    assignments.assign(office, ["batch_2"], "Flor", "Ana")
    logins_of = auth.logins_of
    told = {}

    def b_saves_meanwhile(*args, **kwargs):
        told["B"] = assignments.apply_edits(
            office, [Edit("batch_5", "assignee", None, "Flor")], "Bea"
        )
        return logins_of(*args, **kwargs)

    monkeypatch.setattr(auth, "logins_of", b_saves_meanwhile)
    with pytest.raises(ValidationError) as refused:
        handover.remove_member(office, "Flor", reassign_to="Maggie", author="Ana")
    assert told["B"].updated == ["batch_5"]
    assert str(refused.value) == (
        "Flor was not removed: 1 open batches could not be handed over and are still theirs "
        "(1 were). batch_5: it was assigned to them meanwhile"
    )
    assert "Flor" in [m.name for m in team.list_members(office)]
    assert _holders(office, "batch_2", "batch_5") == {"batch_2": "Maggie", "batch_5": "Flor"}
    monkeypatch.setattr(auth, "logins_of", logins_of)
    assert handover.remove_member(office, "Flor", reassign_to="Maggie", author="Ana") == 1
    assert _holders(office, "batch_5") == {"batch_5": "Maggie"}
    assert [m.name for m in team.list_members(office)] == ["Ceci", "Maggie"]


def test_a_save_giving_a_batch_to_a_member_removed_while_it_runs_gives_nothing(office, monkeypatch):
    """B saves Flor as batch_5's assignee. Inside B's transaction, once it has read the team,
    A removes Flor (she holds nothing open) and that commits first. B's write then conflicts
    with A's step, the server runs B's step again, and it finds Flor gone: batch_5 stays
    unassigned and B is told why."""
    members = assignments.list_members
    state = {"reads": 0}

    def a_removes_flor_meanwhile(*args, **kwargs):
        found = members(*args, **kwargs)
        state["reads"] += 1
        if state["reads"] == 2:  # B's step, in its transaction (the 1st: its validation)
            handover.remove_member(office, "Flor", author="Ana")
        return found

    monkeypatch.setattr(assignments, "list_members", a_removes_flor_meanwhile)
    result = assignments.apply_edits(office, [Edit("batch_5", "assignee", None, "Flor")], "Bea")
    assert "Flor" not in [m.name for m in team.list_members(office)]
    assert result.updated == [] and list(result.failed) == ["batch_5"]
    assert str(result.failed["batch_5"]) == "Flor was removed from the team meanwhile"
    assert _holders(office, "batch_5") == {"batch_5": None}
    assert list_history(office, "batch_5") == []


@pytest.mark.parametrize("transactions", [True, False])
def test_two_coordinators_giving_a_batch_to_the_same_person_at_once_is_one_assignment(
    office, monkeypatch, transactions
):
    """Ana and Bea both give batch_2 (unassigned) to Flor: Bea's save lands between Ana's read
    and her write. One assignment happened, Bea's: the history holds her entry only, and Ana's
    save reports batch_2 as already holding what she chose, not as a change of hers, with
    transactions and on a standalone server without them (where the assignee alone, Flor
    either way, cannot tell the two writes apart)."""
    from segcore.store import atomic

    monkeypatch.setattr(atomic, "supports_transactions", lambda client: transactions)
    real, reads = assignments.find_in, []

    def bea_saves_after_anas_read(*args, **kwargs):
        found = list(real(*args, **kwargs))
        if not reads:
            reads.append(1)
            bea = assignments.apply_edits(
                office, [Edit("batch_2", "assignee", None, "Flor")], "Bea"
            )
            assert bea.updated == ["batch_2"]
        return found

    monkeypatch.setattr(assignments, "find_in", bea_saves_after_anas_read)
    ana = assignments.apply_edits(
        office,
        [Edit("batch_2", "assignee", None, "Flor"), Edit("batch_3", "assignee", None, "Flor")],
        "Ana",
    )
    assert (ana.updated, ana.already, ana.conflicts) == (["batch_3"], ["batch_2"], [])
    entries = {
        b: [(h["new"], h["author"]) for h in list_history(office, b)]
        for b in ("batch_2", "batch_3")
    }
    assert entries == {"batch_2": [("Flor", "Bea")], "batch_3": [("Flor", "Ana")]}
