"""`backup --keep N` deletes only complete dated backups of this database, by the time inside
them, never the one just written; and backups are private files (issue 20, items 1, 4, 8)."""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from segcore.backups import backup
from tests.helpers import ROOT


def legacy_backup(path, database: str, created_at: str) -> None:
    """A version 1 backup (as segcore wrote them before headers named their file)."""
    lines = [
        json.dumps(
            {
                "format": "segcore-backup",
                "version": 1,
                "database": database,
                "created_at": created_at,
            }
        ).encode()
        + b"\n"
    ]
    manifest = {"manifest": {"counts": {}, "sha256": hashlib.sha256(b"".join(lines)).hexdigest()}}
    path.write_bytes(gzip.compress(b"".join(lines) + json.dumps(manifest).encode() + b"\n"))


def own_backup(path, db, created_at: str) -> None:
    """A dated backup of `db` as `backup --out FOLDER` writes it (no documents): its header
    names the file, the database's own id and its server."""
    from segcore.backups.database_id import database_id, server_identity

    header = {
        "format": "segcore-backup",
        "version": 2,
        "database": db.name,
        "database_id": database_id(db),
        "server": server_identity(db),
        "created_at": created_at,
        "file": path.name,
        "rotate": True,
        "indexes": {},
        "options": {},
    }
    lines = [json.dumps(header).encode() + b"\n"]
    manifest = {"manifest": {"counts": {}, "sha256": hashlib.sha256(b"".join(lines)).hexdigest()}}
    path.write_bytes(gzip.compress(b"".join(lines) + json.dumps(manifest).encode() + b"\n"))


def gz_lines(path, *lines: dict) -> None:
    path.write_bytes(gzip.compress(b"".join(json.dumps(x).encode() + b"\n" for x in lines)))


def contents(folder) -> dict[str, bytes | str]:
    return {
        p.name: (
            "folder"
            if p.is_dir() and not p.is_symlink()
            else f"-> {os.readlink(p)}"
            if p.is_symlink()
            else p.read_bytes()
        )
        for p in folder.iterdir()
    }


def test_keep_deletes_only_this_databases_own_dated_backups(run_cli, db, tmp_path):
    folder = tmp_path / "backups"
    name = db.name
    for _ in range(3):  # three earlier nightly backups of this database
        assert run_cli("backup", "--out", str(folder), "--keep", "100").returncode == 0
    # in the order they were written: two backups in one second are named -<time>-2, which
    # sorts before -<time>
    own = [p.name for p in sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime_ns)]
    staging = run_cli("backup", "--out", str(folder), env={"MONGO_DB": f"{name}-staging"})
    assert staging.returncode == 0, staging.stderr
    # What an operator or another tool leaves next to them:
    shutil.copy(folder / own[0], folder / f"segcore-backup-{name}-20991231-235959.jsonl.gz")
    shutil.copy(folder / own[1], folder / "before-the-upgrade.jsonl.gz")
    (folder / "notes.txt").write_text("not a backup")
    (folder / f"segcore-backup-{name}-20000101-000000.jsonl.gz").mkdir()  # a folder
    (folder / f"segcore-backup-{name}-20000102-000000.jsonl.gz").write_bytes(b"")  # empty
    (folder / f"segcore-backup-{name}-20000103-000000.jsonl.gz").write_bytes(b"\x1f\x8bjunk")
    gz_lines(
        folder / f"segcore-backup-{name}-20000104-000000.jsonl.gz",
        {"format": "segcore-backup", "version": 1, "created_at": "2000-01-04T00:00:00"},
    )
    gz_lines(
        folder / f"segcore-backup-{name}-20000105-000000.jsonl.gz",
        {"format": "segcore-backup", "version": 1, "database": name},
    )
    os.symlink(folder / own[2], folder / f"segcore-backup-{name}-20000106-000000.jsonl.gz")
    untouched = {k: v for k, v in contents(folder).items() if k not in own}

    out = run_cli("backup", "--out", str(folder), "--keep", "2")
    assert out.returncode == 0 and "2 older backups deleted" in out.stdout, out.stderr
    assert "Traceback" not in out.stderr
    after = contents(folder)
    written = out.stdout.split("Backup written: ")[1].split(" (")[0]
    assert os.path.basename(written) not in own and backup.verify_backup(written)
    assert [n for n in own if n in after] == [own[2]]  # the newest earlier one stays
    assert {
        k: v for k, v in after.items() if k not in own and k != os.path.basename(written)
    } == untouched
    notes = [line for line in out.stderr.splitlines() if line.startswith("note: left alone")]
    # one line per odd file named like a backup, the hand copy under a dated name included
    assert len(notes) == 7 and len(out.stderr.splitlines()) == 7
    assert f"segcore-backup-{name}-20991231-235959.jsonl.gz: a copy of {own[0]}" in out.stderr


def test_keep_names_every_backup_it_keeps_under_a_name_like_this_databases(run_cli, db, tmp_path):
    """A copy of last night's backup saved under a dated name was kept without the README's
    `note: left alone` line, as were another database's backup and a backup written to a
    file under such a name; another database's backup under its own name is plainly its own."""
    folder, name = tmp_path / "backups", db.name
    assert run_cli("backup", "--out", f"{folder}/").returncode == 0
    [nightly] = [p.name for p in folder.iterdir()]
    copy = folder / f"segcore-backup-{name}-20200103-000000.jsonl.gz"
    shutil.copy(folder / nightly, copy)
    into_file = folder / f"segcore-backup-{name}-20200104-000000.jsonl.gz"
    assert run_cli("backup", "--out", str(into_file)).returncode == 0
    theirs = folder / f"segcore-backup-{name}-20200105-000000.jsonl.gz"
    legacy_backup(theirs, "lab", "2020-01-05T00:00:00+00:00")
    legacy_backup(folder / "segcore-backup-lab-20200106-000000.jsonl.gz", "lab", "2020-01-06")
    time.sleep(1.1)  # the next backup gets a name of its own
    out = run_cli("backup", "--out", f"{folder}/", "--keep", "1")
    assert out.returncode == 0, out.stderr
    assert sorted(out.stderr.splitlines()) == [
        f"note: left alone {copy}: a copy of {nightly} (its header names that file): "
        "--keep deletes a backup only under the name it was written to",
        f"note: left alone {into_file}: written by backup --out to this very file, not into "
        "a folder: --keep never deletes it",
        f"note: left alone {theirs}: a backup of database lab",
    ]
    assert copy.exists() and into_file.exists() and theirs.exists()
    assert not (folder / nightly).exists()  # the one --keep wrote goes


def test_keep_orders_by_the_time_inside_and_never_deletes_the_new_one(run_cli, db, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    name = db.name
    # Names and times disagree: the name dated the 3rd holds the oldest backup.
    own_backup(
        folder / f"segcore-backup-{name}-20240103-023000.jsonl.gz", db, "2024-01-01T02:30:00+00:00"
    )
    own_backup(
        folder / f"segcore-backup-{name}-20240101-023000.jsonl.gz", db, "2024-01-03T02:30:00+00:00"
    )
    own_backup(
        folder / f"segcore-backup-{name}-20240102-023000.jsonl.gz", db, "2024-01-02T02:30:00+00:00"
    )
    legacy_backup(
        folder / f"segcore-backup-{name}x-20240104-023000.jsonl.gz",
        f"{name}x",
        "2024-01-04T02:30:00+00:00",
    )  # a database whose name starts like this one
    out = run_cli("backup", "--out", str(folder), "--keep", "2")
    assert out.returncode == 0, out.stderr
    left = sorted(p.name for p in folder.iterdir())
    assert f"segcore-backup-{name}-20240101-023000.jsonl.gz" in left
    assert f"segcore-backup-{name}x-20240104-023000.jsonl.gz" in left
    assert len(left) == 3

    # A backup dated in the future (a clock set wrong) never makes --keep 1 delete the new one.
    own_backup(
        folder / f"segcore-backup-{name}-20990101-000000.jsonl.gz", db, "2099-01-01T00:00:00+00:00"
    )
    out = run_cli("backup", "--out", str(folder), "--keep", "1", "--json")
    assert out.returncode == 0, out.stderr
    written = json.loads(out.stdout)["path"]
    assert os.path.exists(written) and backup.verify_backup(written)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [os.path.basename(written), f"segcore-backup-{name}x-20240104-023000.jsonl.gz"]
    )


def test_a_damaged_own_backup_is_left_alone_and_not_counted(run_cli, db, tmp_path):
    folder = tmp_path / "backups"
    assert run_cli("backup", "--out", str(folder), "--keep", "5").returncode == 0
    [first] = list(folder.iterdir())
    first.write_bytes(first.read_bytes()[:-20])  # cut by a full disk, say
    for _ in range(2):
        assert run_cli("backup", "--out", str(folder), "--keep", "5").returncode == 0
    out = run_cli("backup", "--out", str(folder), "--keep", "2")
    assert out.returncode == 0 and "1 older backups deleted" in out.stdout, out.stderr
    assert first.exists() and f"note: left alone {first}: damaged" in out.stderr
    assert len(list(folder.iterdir())) == 3


def test_backups_are_private_files_in_a_private_new_folder(run_cli, db, tmp_path):
    folder = tmp_path / "new" / "backups"
    out = run_cli("backup", "--out", f"{folder}/")
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    [written] = list(folder.iterdir())
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    single = tmp_path / "daily.jsonl.gz"
    assert run_cli("backup", "--out", str(single)).returncode == 0
    assert stat.S_IMODE(single.stat().st_mode) == 0o600
    single.chmod(0o644)  # replaced by the next night's backup: private again
    assert run_cli("backup", "--out", str(single)).returncode == 0
    assert stat.S_IMODE(single.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.rglob("*partial*")]


def test_an_existing_file_that_is_not_this_databases_backup_is_never_overwritten(
    run_cli, db, tmp_path
):
    notes = tmp_path / "notes.jsonl.gz"
    notes.write_text("keep me")
    other = tmp_path / "other.jsonl.gz"
    assert (
        run_cli("backup", "--out", str(other), env={"MONGO_DB": f"{db.name}-staging"}).returncode
        == 0
    )
    other_bytes = other.read_bytes()
    os.mkfifo(tmp_path / "pipe.jsonl.gz")
    for target in (notes, other, tmp_path / "pipe.jsonl.gz"):
        out = run_cli("backup", "--out", str(target), timeout=60)
        assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
        assert "already exists and is not a backup of" in out.stderr
    assert notes.read_text() == "keep me" and other.read_bytes() == other_bytes
    for target in (notes, tmp_path / "daily.jsonl.gz"):  # an existing file, a file name
        file_as_folder = run_cli("backup", "--out", str(target), "--keep", "3")
        assert file_as_folder.returncode == 1 and "not a folder" in file_as_folder.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "notes.jsonl.gz",
        "other.jsonl.gz",
        "pipe.jsonl.gz",
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_folder_is_one_line(run_cli, db, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    out = run_cli("backup", "--out", str(folder), "--keep", "2")
    assert out.returncode == 1 and "cannot be written" in out.stderr and out.stderr.count("\n") == 1


@pytest.mark.skipif(shutil.which("chattr") is None or os.geteuid() != 0, reason="needs chattr")
def test_a_folder_made_read_only_while_the_backup_writes_is_one_line(
    run_cli, cli_env, db, tmp_path
):
    """Probe 15, entry 3: a folder that stopped being writable mid-way (an admin's `chmod a-w`,
    a disk remounted read-only; `chattr +i` here, as root ignores modes) ended the backup in a
    50-line traceback, as removing its temporary file failed too."""
    db.history.insert_many([{"key": f"batch_{n}", "note": "x" * 200} for n in range(30_000)])
    folder = tmp_path / "backups"
    process = subprocess.Popen(
        [sys.executable, "-m", "segcore", "backup", "--out", f"{folder}/", "--keep", "3"],
        env=cli_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (folder.exists() and any(n.endswith(".partial") for n in os.listdir(folder))):
        assert process.poll() is None, f"the backup ended first: {process.communicate()}"
        assert time.monotonic() < deadline, "the backup never started writing"
        time.sleep(0.002)
    process.send_signal(signal.SIGSTOP)
    subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        process.send_signal(signal.SIGCONT)
        out, err = process.communicate(timeout=300)
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert process.returncode == 1 and "Traceback" not in err, err
    assert err.startswith("error: ") and "cannot be written" in err and err.count("\n") == 1
    assert [n for n in os.listdir(folder) if not n.endswith(".partial")] == []  # no backup
    again = run_cli("backup", "--out", f"{folder}/", "--keep", "3")  # writable again
    assert again.returncode == 0 and "unfinished" in again.stdout, again.stderr
    assert [n for n in os.listdir(folder) if n.endswith(".partial")] == []


def killed_while_writing(cli_env, folder, attempts: int = 5) -> Path:
    """Start a real `backup --out FOLDER/ --keep 2`, wait for its temporary file to hold data,
    SIGKILL it (a reboot during the nightly timer); returns the file it left."""
    for _ in range(attempts):
        before = set(os.listdir(folder)) if folder.exists() else set()
        process = subprocess.Popen(
            [sys.executable, "-m", "segcore", "backup", "--out", f"{folder}/", "--keep", "2"],
            env=cli_env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            fresh = [
                folder / n
                for n in (set(os.listdir(folder)) - before if folder.exists() else ())
                if n.endswith(".partial")
            ]
            if fresh and fresh[0].stat().st_size > 0:
                process.kill()
                process.wait()
                return fresh[0]
            time.sleep(0.005)
        process.kill()
        process.wait()
    raise AssertionError("no backup could be caught while writing")


def test_a_backup_killed_while_writing_leaves_nothing_after_the_next_one(
    run_cli, cli_env, db, tmp_path
):
    """A killed backup's hidden temporary file (a partial copy of the database, password hashes
    included) used to stay for good, one more with every interrupted nightly run. The next
    backup into the folder removes those of its own and says so; a backup still writing (its
    file locked) and everything else named like one are left alone."""
    db.history.insert_many([{"key": f"batch_{n}", "note": "x" * 200} for n in range(30_000)])
    folder = tmp_path / "backups"
    left = killed_while_writing(cli_env, folder)
    assert left.exists() and stat.S_IMODE(left.stat().st_mode) == 0o600
    prefix = f".segcore-backup-{db.name}-20260101-000000.jsonl.gz"
    running = folder / f"{prefix}.abcd_123.partial"  # a backup writing now holds its lock
    running.write_bytes(b"\x1f\x8b half")
    others = {
        f".segcore-backup-{db.name}-staging-20260101-000000.jsonl.gz.abcd1234.partial": b"x",
        ".notes.txt.abcd1234.partial": b"mine",
        f"{prefix}.abcd1234.partial.keep": b"x",
    }
    for name, data in others.items():
        (folder / name).write_bytes(data)
    (folder / f"{prefix}.link0000.partial").symlink_to(tmp_path / "elsewhere")
    with open(running, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        out = run_cli("backup", "--out", f"{folder}/", "--keep", "2")
    assert out.returncode == 0, out.stderr
    assert not left.exists()
    assert f"note: removed {left}: unfinished" in out.stderr
    assert f"note: left alone {running}: being written by a backup running now" in out.stderr
    assert "1 unfinished files of killed backups removed" in out.stdout
    assert running.exists() and (folder / f"{prefix}.link0000.partial").is_symlink()
    assert all((folder / name).read_bytes() == data for name, data in others.items())
    # once nothing writes it, the next backup removes it too; --keep touched nothing else
    assert run_cli("backup", "--out", f"{folder}/", "--keep", "2").returncode == 0
    assert not running.exists()
    assert len([p for p in folder.iterdir() if not p.name.startswith(".")]) == 2
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == sorted(
        [*others, f"{prefix}.link0000.partial"]
    )


def test_a_sweep_between_a_writers_file_and_its_lock_costs_the_writer_nothing(
    tmp_path, monkeypatch
):
    """The one moment the lock cannot tell: a backup has created its temporary file and not
    locked it yet. A sweep then removes it; the writer, once locked, takes a new name."""
    from segcore.backups import backup_partials

    real, swept = fcntl.flock, []

    def sweep_first(descriptor, operation):
        if not swept:
            swept.append(None)  # the sweep's own lock goes to the real flock
            monkeypatch.setattr(backup_partials.fcntl, "flock", real)
            swept[0] = backup_partials.sweep(tmp_path, "lab")
        return real(descriptor, operation)

    monkeypatch.setattr(backup_partials.fcntl, "flock", sweep_first)
    handle, path = backup_partials.create(tmp_path, "segcore-backup-lab-20260101-000000.jsonl.gz")
    monkeypatch.undo()
    try:
        assert len(swept[0].removed) == 1 and Path(path).exists()
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert backup_partials.sweep(tmp_path, "lab").left_alone == [
            (Path(path), "being written by a backup running now")
        ]
    finally:
        os.close(handle)
    assert backup_partials.sweep(tmp_path, "lab").removed == [Path(path)]
    assert list(tmp_path.iterdir()) == []


# A `segcore backup` whose clock is stopped at one second: two of them started together name
# their files alike, as two timers or a timer and an operator do in the same second.
SAME_SECOND = """
import sys
from datetime import datetime, timezone
from segcore.backups import backup
real = backup.default_name
backup.default_name = lambda database, now=None: real(
    database, datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
)
from segcore.cli import main
main(["backup", "--out", sys.argv[1]], prog_name="segcore")
"""


def _locked(path: Path) -> bool:
    """Whether a running backup holds the lock of its temporary file `path`."""
    try:
        with open(path, "rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except FileNotFoundError:
        return False
    return False


def test_two_backups_started_together_into_one_folder_keep_two_files(cli_env, db, tmp_path):
    """Both used to pick the same dated name at start and rename onto it at the end: the one
    finishing last replaced the other's file and both said "Backup written" with that name."""
    import signal

    db.history.insert_many([{"key": f"batch_{n}", "note": "x" * 200} for n in range(10_000)])
    folder = tmp_path / "backups"
    folder.mkdir()

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", SAME_SECOND, f"{folder}/"],
            env=cli_env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = start()
    try:  # held while writing under its temporary name: the second starts and ends meanwhile
        deadline = time.monotonic() + 120
        while not any(_locked(p) for p in folder.glob(".*.partial")):
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        os.kill(first.pid, signal.SIGSTOP)
        writing = [p for p in folder.glob(".*.partial") if _locked(p)]
        assert writing, "the first backup finished before it could be held"
        second = start()
        said = [second.communicate(timeout=300)]
    finally:
        os.kill(first.pid, signal.SIGCONT)
    said.insert(0, first.communicate(timeout=300))
    assert [first.returncode, second.returncode] == [0, 0], said
    written = [out.split("Backup written: ")[1].split(" (")[0] for out, _err in said]
    files = sorted(p.name for p in folder.iterdir())
    assert len(set(written)) == 2 and files == sorted(os.path.basename(w) for w in written)
    for path in written:
        summary = backup.verify_backup(path)
        assert summary.counts["history"] == 10_000 and summary.file == os.path.basename(path)


def test_keep_never_deletes_a_backup_downloaded_from_the_app(run_cli, db, tmp_path):
    """The Settings page's download, saved in the nightly folder under the name the app gives
    it, was deleted by the next `backup --keep` although `backup --out FOLDER` never wrote it."""
    folder, name = tmp_path / "backups", db.name
    folder.mkdir()
    downloaded = folder / backup.default_name(name)  # what the browser saves
    downloaded.write_bytes(backup.backup_bytes(db))
    for _ in range(3):  # three nights of the documented cron line
        time.sleep(1.1)
        out = run_cli("backup", "--out", str(folder), "--keep", "1")
        assert out.returncode == 0, out.stderr
        assert out.stderr.splitlines() == [
            f"note: left alone {downloaded}: downloaded from the app (its header names no "
            "file): --keep deletes only what backup --out FOLDER wrote"
        ]
    assert downloaded.exists() and backup.verify_backup(downloaded)
    assert len(list(folder.iterdir())) == 2  # the download and the newest nightly backup


def test_keep_leaves_another_servers_backups_of_a_database_of_the_same_name(run_cli, db, tmp_path):
    """Probe 10, entry 11: production and a staging copy on two servers, both with the same
    database name, back up into one shared folder; staging's `--keep` deleted production's
    backups. Neither deletes the other's now, also once staging is restored from production's
    backup (it keeps its own id)."""
    from segcore.store import embedded

    production = {"MONGO_URI": embedded.ensure_server(tmp_path / "production-server")}
    try:
        shared = tmp_path / "shared"
        first = run_cli("backup", "--out", f"{shared}/", "--keep", "7", env=production)
        assert first.returncode == 0, first.stderr
        [nightly] = list(shared.iterdir())
        for _ in range(2):
            time.sleep(1.1)  # a dated name of its own
            staging = run_cli("backup", "--out", f"{shared}/", "--keep", "1")
            assert staging.returncode == 0, staging.stderr
            assert nightly.exists()
            assert (
                f"note: left alone {nightly}: a backup of another database named {db.name} "
                "(its id differs" in staging.stderr
            )
        assert "deleted" in staging.stdout and len(list(shared.iterdir())) == 2

        restored = run_cli("restore", str(nightly), "--replace", "--yes")
        assert restored.returncode == 0, restored.stderr
        time.sleep(1.1)
        again = run_cli("backup", "--out", f"{shared}/", "--keep", "1")
        assert again.returncode == 0 and nightly.exists(), again.stderr
        time.sleep(1.1)
        theirs = run_cli("backup", "--out", f"{shared}/", "--keep", "1", env=production)
        assert theirs.returncode == 0, theirs.stderr
        assert "1 older backups deleted" in theirs.stdout and not nightly.exists()
        assert len(list(shared.iterdir())) == 2  # each server's newest

        # nor is one server's named file overwritten by the other's
        daily = shared / "daily.jsonl.gz"
        assert run_cli("backup", "--out", str(daily), env=production).returncode == 0
        written = daily.read_bytes()
        other = run_cli("backup", "--out", str(daily))
        assert other.returncode == 1 and "is not a backup of" in other.stderr, other.stderr
        assert daily.read_bytes() == written
        assert run_cli("backup", "--out", str(daily), env=production).returncode == 0
    finally:
        embedded.stop_server(tmp_path / "production-server")


def test_keep_leaves_the_backups_of_a_copy_made_by_copying_the_data(run_cli, db, tmp_path):
    """Probe 15, entry 5: a staging copy made by copying production's data (as `mongodump` and
    `mongorestore` do, or the embedded server's folder copied) carries production's id, a
    document in `app_meta`; staging's `--keep 1` then deleted production's backups in the
    shared folder. A backup names its server too now, and neither deletes the other's."""
    from pymongo import MongoClient

    from segcore.store import embedded

    db.segmentadores.insert_one({"name": "Flor"})
    shared = tmp_path / "shared"
    first = run_cli("backup", "--out", f"{shared}/", "--keep", "7")  # production
    assert first.returncode == 0, first.stderr
    staging = {"MONGO_URI": embedded.ensure_server(tmp_path / "staging-server")}
    try:
        with MongoClient(staging["MONGO_URI"]) as client:
            copy = client[db.name]
            for name in db.list_collection_names():
                docs = list(db[name].find())
                if docs:
                    copy[name].insert_many(docs)
            assert copy.app_meta.find_one({"_id": "database_id"}) is not None  # the same id
            copy.segmentadores.insert_one({"name": "Staging Tester"})
        time.sleep(1.1)  # a dated name of its own
        assert run_cli("backup", "--out", f"{shared}/", "--keep", "7").returncode == 0
        production = sorted(shared.iterdir())
        time.sleep(1.1)
        out = run_cli("backup", "--out", f"{shared}/", "--keep", "1", env=staging)
        assert out.returncode == 0 and "deleted" not in out.stdout, out.stderr
        assert all(path.exists() for path in production)
        for path in production:
            assert f"note: left alone {path}: a backup of a copy of this database" in out.stderr
        time.sleep(1.1)
        # production's own rotation goes on, and leaves staging's backup alone in turn
        theirs = run_cli("backup", "--out", f"{shared}/", "--keep", "1")
        assert theirs.returncode == 0 and "2 older backups deleted" in theirs.stdout
        assert len(list(shared.iterdir())) == 2  # each server's newest
    finally:
        embedded.stop_server(tmp_path / "staging-server")


def test_keep_never_deletes_a_backup_written_before_backups_carried_an_id(run_cli, db, tmp_path):
    """Such a backup cannot be told from another server's of the same name: left alone, named,
    and said why (the README tells to delete those by hand once)."""
    folder = tmp_path / "backups"
    folder.mkdir()
    older = folder / f"segcore-backup-{db.name}-20240101-023000.jsonl.gz"
    legacy_backup(older, db.name, "2024-01-01T02:30:00+00:00")  # version 1
    before_ids = folder / f"segcore-backup-{db.name}-20240102-023000.jsonl.gz"
    own_backup(before_ids, db, "2024-01-02T02:30:00+00:00")
    header = json.loads(gzip.decompress(before_ids.read_bytes()).splitlines()[0])
    del header["database_id"]  # version 2 as written before the id
    lines = [json.dumps(header).encode() + b"\n"]
    manifest = {"manifest": {"counts": {}, "sha256": hashlib.sha256(lines[0]).hexdigest()}}
    before_ids.write_bytes(gzip.compress(lines[0] + json.dumps(manifest).encode() + b"\n"))
    out = run_cli("backup", "--out", str(folder), "--keep", "1")
    assert out.returncode == 0 and "deleted" not in out.stdout, out.stderr
    assert older.exists() and before_ids.exists()
    for path in (older, before_ids):
        assert (
            f"note: left alone {path}: written before backups carried their database's id"
            in out.stderr
        )


def _limited_memory():
    import resource

    limit = 700 * 1024 * 1024  # address space: the command needs about half of it
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_a_compressed_disk_image_in_the_folder_is_read_only_as_far_as_a_header(
    run_cli, cli_env, db, tmp_path
):
    """Probe 10, entry 4: `--keep` (and `restore`) decompressed the first line of every gzip
    file whole; a compressed disk image, 600 MB of zeros without a newline in 0.6 MB, ended in
    a MemoryError traceback with nothing rotated. Only a header's length is read now."""
    folder = tmp_path / "backups"
    for _ in range(2):
        assert run_cli("backup", "--out", f"{folder}/").returncode == 0
        time.sleep(1.1)  # a dated name of its own
    image = folder / "disk-image.img.gz"
    subprocess.run(f"head -c 600M /dev/zero | gzip -1 > '{image}'", shell=True, check=True)
    before = image.read_bytes()

    def segcore(*args):
        return subprocess.run(
            [sys.executable, "-m", "segcore", *args],
            env=cli_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=_limited_memory,
        )

    out = segcore("backup", "--out", f"{folder}/", "--keep", "1")
    assert out.returncode == 0 and "2 older backups deleted" in out.stdout, out.stderr
    assert "Traceback" not in out.stderr and "MemoryError" not in out.stderr
    assert image.read_bytes() == before
    assert len([p for p in folder.iterdir() if p.name.startswith("segcore-backup-")]) == 1

    restore = segcore("restore", str(image))
    assert restore.returncode == 1, restore.stderr
    assert restore.stderr.strip() == (
        f"error: {image}: not a segcore backup (its first line is longer than a backup's header)"
    )


def test_the_embedded_server_restarted_on_another_port_is_the_same_server(run_cli, tmp_path):
    """The embedded server restarted after its last port was taken (by another program): the
    nightly `backup --out daily.jsonl.gz` was refused ("not a backup of"), and `--keep` left
    every older backup alone, for good. Its identity is its storage folder now, not its port;
    a copy of that folder on another port is still another server."""
    import socket

    from segcore.store import embedded

    folder, nightly = tmp_path / "server" / "db", tmp_path / "nightly"
    daily = tmp_path / "daily.jsonl.gz"
    env = {"MONGO_URI": embedded.ensure_server(folder), "MONGO_DB": "segmentacion_db"}
    try:
        assert run_cli("backup", "--out", str(daily), env=env).returncode == 0
        first = run_cli("backup", "--out", f"{nightly}/", "--keep", "1", env=env)
        assert first.returncode == 0, first.stderr
        [older] = list(nightly.iterdir())
        embedded.stop_server(folder)
        with socket.socket() as squatter:  # another program takes the server's port
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", int(env["MONGO_URI"].split(":")[2].split("/")[0])))
            squatter.listen()
            moved = {**env, "MONGO_URI": embedded.ensure_server(folder)}
        assert moved["MONGO_URI"] != env["MONGO_URI"]
        again = run_cli("backup", "--out", str(daily), env=moved)
        assert again.returncode == 0, again.stderr
        time.sleep(1.1)  # a dated name of its own
        rotated = run_cli("backup", "--out", f"{nightly}/", "--keep", "1", env=moved)
        assert rotated.returncode == 0, rotated.stderr
        assert "1 older backups deleted" in rotated.stdout and not older.exists()
        embedded.stop_server(folder)

        copy = tmp_path / "copy" / "db"  # the folder copied: another server, same database id
        shutil.copytree(folder, copy)
        elsewhere = {**env, "MONGO_URI": embedded.ensure_server(copy)}
        refused = run_cli("backup", "--out", str(daily), env=elsewhere)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
        assert (
            f"{daily}: already exists and is this database's backup taken on another server "
            f"({folder.resolve()}; this one is {copy.resolve()}), so it is not replaced. If the "
            "database moved, move or delete the file; nothing was written" in refused.stderr
        )
    finally:
        embedded.stop_server(folder)
        embedded.stop_server(tmp_path / "copy" / "db")
