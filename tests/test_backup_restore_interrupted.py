"""What a restore killed at the worst moments leaves, and what the next command says about it
(issue 20, item 4; probe 9, entries 4 and 9). The kills are real SIGKILLs of `segcore restore`."""

from __future__ import annotations

import signal
import subprocess
import sys

from segcore.backups import backup
from segcore.notify import notify_outbox

# `segcore restore`, killed with SIGKILL the moment it has swapped every collection in, before
# it adds the backup's notifications to the outbox: a window of a few milliseconds a reboot or
# the OOM killer can hit, and that polling from outside hits only now and then.
KILLED_AFTER_THE_SWAP = """
import os, signal, sys
from segcore.backups import backup_restore
from segcore.cli import main

def killed(db):
    os.kill(os.getpid(), signal.SIGKILL)

backup_restore._merge_kept = killed
main(args=sys.argv[1:], prog_name="python -m segcore")
"""


def unsent(db, count: int) -> None:
    """`count` messages the notification channel did not take yet (pending in the outbox)."""
    notify_outbox.enqueue(
        db,
        [
            notify_outbox.Message(
                f"receipt:batch_{n}:flor",
                "receipt",
                "email",
                "flor@example.org",
                "Flor",
                "es",
                f"Entrega batch_{n}",
                "Recibida.",
            )
            for n in range(count)
        ],
    )


def leftovers(db) -> list[str]:
    return [
        n
        for n in db.list_collection_names()
        if n.startswith(("restore_staging.", "restore_previous."))
    ]


def kill_after_the_swap(cli_env, tmp_path, file, env: dict) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_THE_SWAP, "restore", str(file)],
        env={**cli_env, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr


def test_a_restore_killed_before_adding_the_backups_outbox_is_reported_and_finished(
    db, client, cli_env, run_cli, tmp_path
):
    """A restore into a new database killed after its swap, before it added the backup's
    unsent notifications: no command said a word, the outbox stayed empty, and a new backup
    lost those messages for good."""
    db.segmentadores.insert_one({"name": "Flor"})
    db.batches.insert_many([{"id": f"batch_{n}", "assignee": "Flor"} for n in range(3)])
    unsent(db, 3)
    file = tmp_path / "nightly.jsonl.gz"
    backup.backup_to_file(db, file)
    fresh = client[f"{db.name}_fresh"]
    env = {"MONGO_DB": fresh.name}
    try:
        kill_after_the_swap(cli_env, tmp_path, file, env)
        assert (
            fresh.batches.count_documents({}) == 3 and fresh.notify_outbox.count_documents({}) == 0
        )

        status = run_cli("status", env=env)
        assert "warning: A restore from nightly.jsonl.gz" in status.stderr, status.stderr
        assert "interrupted just before it finished" in status.stderr
        assert run_cli("health", env=env).returncode == 1
        refused = run_cli("backup", "--out", str(tmp_path / "after.jsonl.gz"), env=env)
        assert refused.returncode == 1 and "just before it finished" in refused.stderr
        assert not (tmp_path / "after.jsonl.gz").exists()

        again = run_cli("restore", str(file), "--replace", "--yes", env=env)
        assert again.returncode == 0, again.stderr
        assert "An interrupted restore from nightly.jsonl.gz was finished first" in again.stdout
        assert notify_outbox.count_by_state(fresh).get("pending") == 3
        assert fresh.batches.count_documents({}) == 3 and not leftovers(fresh)
        assert "warning" not in run_cli("status", env=env).stderr
        assert run_cli("health", env=env).returncode == 0
    finally:
        client.drop_database(fresh.name)


def test_a_refused_restore_says_it_finished_the_interrupted_one_first(
    db, client, cli_env, run_cli, tmp_path
):
    """Run again without --replace, the restore is refused (the data is the backup's now), but
    it finished the killed one first: the output says so instead of only "use --replace"."""
    db.batches.insert_many([{"id": f"batch_{n}"} for n in range(3)])
    unsent(db, 2)
    file = tmp_path / "nightly.jsonl.gz"
    backup.backup_to_file(db, file)
    fresh = client[f"{db.name}_fresh"]
    env = {"MONGO_DB": fresh.name}
    try:
        kill_after_the_swap(cli_env, tmp_path, file, env)
        refused = run_cli("restore", str(file), env=env)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
        assert (
            "error: An interrupted restore from nightly.jsonl.gz was finished first: the "
            "backup's notifications it had not added yet are in the outbox now." in refused.stderr
        )
        assert "use --replace" in refused.stderr
        assert notify_outbox.count_by_state(fresh).get("pending") == 2 and not leftovers(fresh)
        assert "warning" not in run_cli("status", env=env).stderr
    finally:
        client.drop_database(fresh.name)
