"""No write while a restore runs or after one was interrupted in its swap (probe 10, entry 5).

Every segcore write (the table of tests/core/test_permissions.py, which finds them all) is
called by a coordinator on a database whose restore mark says a restore swapped part of the
backup in and was killed: each raises RestoreIncomplete saying so and leaves both databases as
they were, since the restore run again to finish it would roll that change back without a word.
A restore killed before its swap left the data from before whole: writes go on.
"""

from __future__ import annotations

import os
import socket

import pytest

from segcore.core.actors import Actor
from segcore.core.errors import RestoreIncomplete
from segcore.core.timefmt import utcnow
from segcore.sync.records.sync_lease import Lease
from tests.core.test_permissions import CALLS, _defining_module, lab, snapshot  # noqa: F401

COORDINATOR = Actor("Boss")
# the restore itself is how the state is settled; a demo goes only into empty databases
WRITES = sorted(set(CALLS) - {"backup_restore.restore_backup", "demo.load_demo"})


def mark(db, state: str, **extra) -> None:
    db.restore_state.insert_one(
        {
            "_id": "restore",
            "state": state,
            "file": "nightly.jsonl.gz",
            "started_at": utcnow(),
            "owner": "a killed process",
            **extra,
        }
    )


@pytest.mark.parametrize("state", ["swapping", "swapped"])
@pytest.mark.parametrize("name", WRITES)
def test_no_write_to_a_half_restored_database(name, state, lab, tmp_path):  # noqa: F811
    mark(lab.work, state)
    before = snapshot(lab)
    with pytest.raises(RestoreIncomplete) as refused:
        CALLS[name](_defining_module(name), lab, tmp_path, COORDINATOR)
    text = str(refused.value)
    assert "A restore from nightly.jsonl.gz" in text and "nothing was changed" in text
    assert "segcore restore nightly.jsonl.gz" in text
    assert snapshot(lab) == before


def test_the_segmentadors_own_write_is_refused_too(lab):  # noqa: F811
    from segcore.work.assignments import start_batch

    mark(lab.work, "swapping")
    before = snapshot(lab)
    with pytest.raises(RestoreIncomplete):
        start_batch(lab.work, "batch_1", "pending", Actor("flor", "segmentador", "Flor"))
    assert snapshot(lab) == before


def test_no_write_while_a_restore_runs(lab):  # noqa: F811
    """A change made meanwhile would be replaced by the restore's swap."""
    from segcore.team import team

    lease = Lease(lab.work, "sync", kind="restore")
    lease.acquire()
    try:
        mark(
            lab.work,
            "staging",
            owner=lease.owner,
            host=socket.gethostname(),
            pid=os.getpid(),
        )
        with pytest.raises(RestoreIncomplete, match="is under way"):
            team.add_member(lab.work, "Nadia", author=COORDINATOR)
    finally:
        lease.release_quietly()
    assert "Nadia" not in [m.name for m in team.list_members(lab.work)]


@pytest.mark.parametrize("state", ["staging", "undone"])
def test_a_restore_killed_before_its_swap_leaves_writes_going_on(state, lab):  # noqa: F811
    """Nothing of the backup was swapped in and no re-run undoes a later change: refusing
    would leave no way to work but to restore."""
    from segcore.team import team

    mark(lab.work, state)
    team.add_member(lab.work, "Nadia", author=COORDINATOR)
    assert "Nadia" in [m.name for m in team.list_members(lab.work)]
