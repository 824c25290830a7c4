"""A restore paused (Ctrl-Z, a laptop asleep, a stalled share) past its sync lease, or stopped
with Ctrl-C (probe 15, entries 1, 2 and 4). The pauses are real SIGSTOPs of `segcore restore`;
the two minutes of its lease are skipped by moving the lease's expiry into the past, which is
what others see once the time has passed."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import datetime

import pytest

from segcore.backups import backup
from segcore.prepare import prepare
from segcore.sync.records.sync_lease import RENEW_AFTER_S
from tests.test_backup_restore import fill, start_restore

LOST_HOLD = "the restore stopped before it changed anything"


def wait_for(process: subprocess.Popen, ready, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"the restore ended first: {process.communicate()}"
        assert time.monotonic() < deadline, "the restore never reached that point"
        time.sleep(0.002)


def pause_past_its_lease(db, process: subprocess.Popen, ready, long: bool = False) -> None:
    """SIGSTOP the restore once `ready()` holds, then let its lease run out. `long`: paused
    past its renewal time too (its first renewal once resumed then finds the lease run out)."""
    wait_for(process, ready)
    process.send_signal(signal.SIGSTOP)
    db.locks.update_one({"_id": "sync"}, {"$set": {"expires_at": datetime(2000, 1, 1)}})
    if long:
        time.sleep(RENEW_AFTER_S + 1)  # the pause itself, the defect's condition


def resume(process: subprocess.Popen) -> tuple[str, str]:
    process.send_signal(signal.SIGCONT)
    return process.communicate(timeout=300)


def leftovers(db) -> list[str]:
    return [
        n
        for n in db.list_collection_names()
        if n.startswith(("restore_staging.", "restore_previous."))
    ]


def test_a_restore_paused_past_its_lease_keeps_the_changes_made_meanwhile(
    dbs, run_cli, cli_env, tmp_path
):
    """The paused restore let `team add` and `assign` through (exit 0), then, resumed, swapped
    in the backup and printed "Restored": both changes gone without a word. Now the writes stay
    and the restore stops, says so, and exits 1."""
    db = dbs.work
    fill(db, 6000)
    file = tmp_path / "old.jsonl.gz"
    backup.backup_to_file(db, file)
    prepare(dbs)
    process = start_restore(cli_env, tmp_path, file, "--replace", "--yes")
    try:
        pause_past_its_lease(
            db,
            process,
            lambda: db["restore_staging.batches"].estimated_document_count() > 500,
            long=True,
        )
        assert run_cli("team", "add", "Zed", "--role", "Segmentador").returncode == 0
        assigned = run_cli("assign", "batch_1", "--to", "Zed")
        assert assigned.returncode == 0, assigned.stderr
    finally:
        out, err = resume(process)
    assert process.returncode == 1, out + err
    assert err.startswith(f"error: {file}: {LOST_HOLD}") and "Traceback" not in err
    assert "Restored" not in out
    assert db.segmentadores.find_one({"name": "Zed"}) is not None
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Zed"
    assert leftovers(db) == [] and db.restore_state.find_one({"_id": "restore"}) is None
    assert "warning" not in run_cli("status").stderr


def test_a_paused_restore_resumed_after_another_restore_ran_swaps_nothing_in(
    dbs, run_cli, cli_env, tmp_path
):
    """Resumed after a second restore had undone it and finished, the first restore staged only
    what it still had to read, swapped that in (600 batches of 6000 lost) and said "Restored"."""
    db = dbs.work
    fill(db, 6000)
    file = tmp_path / "old.jsonl.gz"
    backup.backup_to_file(db, file)
    prepare(dbs)
    first = start_restore(cli_env, tmp_path, file, "--replace", "--yes")
    try:
        pause_past_its_lease(
            db, first, lambda: db["restore_staging.batches"].estimated_document_count() > 500
        )
        second = run_cli("restore", str(file), "--replace", "--yes")
        assert second.returncode == 0, second.stderr
        assert "An interrupted restore from old.jsonl.gz was undone first." in second.stdout
        history = db.history.count_documents({})
    finally:
        out, err = resume(first)
    assert first.returncode == 1, out + err
    assert err.startswith(f"error: {file}: {LOST_HOLD}") and "Restored" not in out
    assert db.batches.count_documents({}) == 6000
    assert db.history.count_documents({}) == history
    assert leftovers(db) == [] and db.restore_state.find_one({"_id": "restore"}) is None


def test_a_restore_stopped_with_ctrl_c_leaves_nothing_that_blocks_backups(
    dbs, run_cli, cli_env, tmp_path
):
    """Ctrl-C while staging left the marker; undone as advised (`segcore restore FILE`), the
    marker stayed "undone": every backup was refused and `health` exited 1, for good."""
    db = dbs.work
    fill(db, 6000)
    file = tmp_path / "old.jsonl.gz"
    backup.backup_to_file(db, file)
    db.segmentadores.insert_one({"name": "Zed"})  # work since the backup
    prepare(dbs)
    process = start_restore(cli_env, tmp_path, file, "--replace", "--yes")
    wait_for(process, lambda: db["restore_staging.batches"].estimated_document_count() > 500)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130 and "error: interrupted" in err, out + err
    assert leftovers(db) == [] and db.restore_state.find_one({"_id": "restore"}) is None
    undo = run_cli("restore", str(file))  # as the README advises
    assert undo.returncode == 1 and "already holds data" in undo.stderr
    assert db.segmentadores.find_one({"name": "Zed"}) is not None
    nightly = run_cli("backup", "--out", f"{tmp_path / 'nightly'}/", "--keep", "30")
    assert nightly.returncode == 0, nightly.stderr
    assert run_cli("health").returncode == 0
    assert "warning" not in run_cli("status").stderr


def test_a_restore_undone_as_advised_leaves_nothing_that_blocks_backups(
    dbs, run_cli, cli_env, tmp_path
):
    """A restore SIGKILLed while staging, settled with `segcore restore FILE` (no --replace),
    as the refusal and the README advise: backups were still refused, `health` exited 1."""
    db = dbs.work
    fill(db, 6000)
    file = tmp_path / "old.jsonl.gz"
    backup.backup_to_file(db, file)
    prepare(dbs)
    process = start_restore(cli_env, tmp_path, file, "--replace", "--yes")
    wait_for(process, lambda: db["restore_staging.batches"].estimated_document_count() > 500)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    # the data from before is whole: backed up, while `status` still says the restore did not finish
    assert run_cli("backup", "--out", str(tmp_path / "meanwhile.jsonl.gz")).returncode == 0
    assert "did not finish" in run_cli("status").stderr
    undo = run_cli("restore", str(file))
    assert "An interrupted restore from old.jsonl.gz was undone first" in undo.stderr
    assert leftovers(db) == [] and db.restore_state.find_one({"_id": "restore"}) is None
    nightly = run_cli("backup", "--out", f"{tmp_path / 'nightly'}/", "--keep", "30")
    assert nightly.returncode == 0, nightly.stderr
    assert run_cli("health").returncode == 0


def test_a_restore_whose_lease_ran_out_as_it_began_its_swap_swaps_nothing_in(
    dbs, tmp_path, monkeypatch
):
    """The narrowest window: paused between its last renewal and marking its swap, the restore
    found its marker still its own; its lease had run out all the same, and writes had gone on.
    The lease is checked again once the swap is marked (a pause there is simulated)."""
    from segcore.backups.backup_restore import restore_backup
    from segcore.core.errors import RestoreFailed
    from segcore.sync.records.sync_lease import Lease

    db = dbs.work
    fill(db, 10)
    file = tmp_path / "old.jsonl.gz"
    backup.backup_to_file(db, file)
    db.segmentadores.insert_one({"name": "Zed"})  # as if written while it was paused
    real = Lease.hold

    def paused_as_the_swap_is_marked(self, when_due=False):
        if (db.restore_state.find_one({"_id": "restore"}) or {}).get("state") == "swapping":
            db.locks.update_one({"_id": "sync"}, {"$set": {"expires_at": datetime(2000, 1, 1)}})
        return real(self, when_due)

    monkeypatch.setattr(Lease, "hold", paused_as_the_swap_is_marked)
    with pytest.raises(RestoreFailed, match="the restore stopped before it changed anything"):
        restore_backup(db, file, "test", replace=True)
    assert db.segmentadores.find_one({"name": "Zed"}) is not None
    assert db.batches.count_documents({}) == 10
    assert leftovers(db) == [] and db.restore_state.find_one({"_id": "restore"}) is None


def test_a_restore_paused_mid_swap_while_another_restore_took_over_moves_nothing_aside(
    dbs, run_cli, tmp_path, monkeypatch
):
    """Paused after its first collections were swapped in, its lease run out and a second
    restore run meanwhile (it put the data back and swapped its own in), the first restore,
    resumed, renamed on: the second restore's collections went aside (`restore_previous.*`),
    live data gone. Its clock had not moved, so its lease was not checked. Now it stops before
    its next rename and says the swap was cut short, not that nothing changed."""
    from segcore.backups.backup_restore import restore_backup
    from segcore.core.errors import RestoreFailed
    from segcore.sync.records.sync_lease import Lease

    db = dbs.work
    fill(db, 10)
    old = tmp_path / "old.jsonl.gz"
    backup.backup_to_file(db, old)
    db.segmentadores.insert_one({"name": "Zed"})
    new = tmp_path / "new.jsonl.gz"
    backup.backup_to_file(db, new)
    prepare(dbs)
    taken_over = []

    def paused_mid_swap(real):
        def check(self, *args, **kwargs):
            marker = db.restore_state.find_one({"_id": "restore"}) or {}
            if not taken_over and marker.get("owner") == self.owner and marker.get("entered"):
                taken_over.append(True)  # the pause: its lease runs out, another restore runs
                db.locks.update_one({"_id": "sync"}, {"$set": {"expires_at": datetime(2000, 1, 1)}})
                second = run_cli("restore", str(new), "--replace", "--yes")
                assert second.returncode == 0, second.stderr
            return real(self, *args, **kwargs)

        return check

    monkeypatch.setattr(Lease, "hold", paused_mid_swap(Lease.hold))
    monkeypatch.setattr(Lease, "renew", paused_mid_swap(Lease.renew))
    with pytest.raises(RestoreFailed) as stopped:
        restore_backup(db, old, "test", replace=True)
    assert taken_over
    message = str(stopped.value)
    assert "the restore stopped while it swapped" in message
    assert "was not changed" not in message and "before it changed anything" not in message
    assert db.segmentadores.find_one({"name": "Zed"}) is not None  # the second restore's data
    assert db.batches.count_documents({}) == 10
    assert leftovers(db) == [] and db.restore_state.find_one({"_id": "restore"}) is None
    assert "warning" not in run_cli("status").stderr
