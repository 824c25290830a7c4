"""Two coordinators (or a coordinator and a sync) writing the same batches at the same moment.

Each test puts the other person's step at one exact point of the first one's by wrapping the
segcore function that runs there, then runs both against the real server: the order is fixed,
never left to timing.
"""

import pytest

from segcore.store.history import list_history
from segcore.team import team
from segcore.work import assignments
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
