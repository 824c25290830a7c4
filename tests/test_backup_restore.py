"""A restore is all or nothing, a killed one is reported until it is redone, and it ends every
login session (issue 20, items 2, 4 and 12). The faults are real: files written to fail on
insert, odd files on disk, a restore process killed with SIGKILL."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import time

import pytest

from segcore.backups import backup
from segcore.backups.backup_restore import restore_backup
from segcore.core.actors import Actor
from segcore.core.errors import RestoreFailed
from segcore.prepare import prepare
from segcore.store.restore_marker import interrupted_restore
from segcore.team import auth, sessions


def state(db) -> dict:
    """Every document and every index of every live collection (not the sync lease, nor what
    a restore writes aside: its marker, staging and moved-aside collections, nor the stamp of
    the code that prepared the database, which any command writes once)."""
    found = {
        name: (
            sorted(db[name].find({"_id": {"$ne": "prepared"}}), key=repr),
            db[name].index_information(),
        )
        for name in sorted(db.list_collection_names())
        if name != "locks" and not name.startswith("restore_")
    }
    # a collection that held only the stamp (created by the command that wrote it) is nothing
    return {k: v for k, v in found.items() if v[0] or set(v[1]) != {"_id_"}}


def rewrite(source, target, edit) -> None:
    """A backup whose document lines `edit` changed, with its counts and checksum made right
    again: it passes every check of the file and fails only when written."""
    lines = gzip.decompress(source.read_bytes()).splitlines(keepends=True)
    header, body = lines[0], edit(lines[1:-1])
    counts: dict[str, int] = {}
    for line in body:
        name = json.loads(line)["c"]
        counts[name] = counts.get(name, 0) + 1
    digest = hashlib.sha256(header + b"".join(body)).hexdigest()
    manifest = json.dumps({"manifest": {"counts": counts, "sha256": digest}}).encode() + b"\n"
    target.write_bytes(gzip.compress(header + b"".join(body) + manifest))


def team_rows(names):
    return [{"name": n, "name_key": n.lower(), "role": "Segmentador"} for n in names]


@pytest.fixture
def small(dbs):
    """A little team and batch list, prepared as every command prepares it."""
    db = dbs.work
    db.segmentadores.insert_many(team_rows(["Flor", "Ceci"]))
    db.batches.insert_many([{"id": f"batch_{n}", "assignee": "Flor"} for n in range(1, 50)])
    db.batches.insert_one({"id": "batch_x", "extra": {"$date": "next monday"}})
    prepare(dbs)
    return db


@pytest.mark.parametrize("fault", ["repeated document", "breaks a unique index"])
@pytest.mark.parametrize("into", ["replace", "empty"])
def test_a_file_that_fails_on_insert_changes_nothing(small, tmp_path, fault, into):
    db = small
    good = backup.backup_to_file(db, tmp_path / "good.jsonl.gz")
    bad = tmp_path / "bad.jsonl.gz"
    if fault == "repeated document":
        rewrite(tmp_path / "good.jsonl.gz", bad, lambda body: body + body[-1:])
    else:  # a second Flor under another _id: the unique name index refuses her
        rewrite(
            tmp_path / "good.jsonl.gz",
            bad,
            lambda body: (
                body
                + [
                    json.dumps(
                        {"c": "segmentadores", "d": {"name": "FLOR", "name_key": "flor"}}
                    ).encode()
                    + b"\n"
                ]
            ),
        )
    backup.verify_backup(bad)  # the file itself is fine
    if into == "empty":
        for name in db.list_collection_names():
            db.drop_collection(name)
    else:
        db.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Ceci"}})
    before = state(db)
    with pytest.raises(RestoreFailed) as exc:
        restore_backup(db, bad, "test", replace=True)
    assert "the database was not changed" in str(exc.value)
    assert state(db) == before  # documents and indexes alike
    assert interrupted_restore(db) is None
    assert restore_backup(db, good.path, "test", replace=True).summary.documents == good.documents


def as_version_1(source, target) -> None:
    """The same backup as segcore wrote it before version 2: a header naming no file, no
    indexes and no options, its checksum made right."""
    lines = gzip.decompress(source.read_bytes()).splitlines(keepends=True)
    header = json.loads(lines[0])
    for key in ("file", "indexes", "rotate", "options"):
        header.pop(key, None)
    header["version"] = 1
    lines[0] = json.dumps(header).encode() + b"\n"
    manifest = json.loads(lines[-1])
    manifest["manifest"]["sha256"] = hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    lines[-1] = json.dumps(manifest).encode() + b"\n"
    target.write_bytes(gzip.compress(b"".join(lines)))


@pytest.mark.parametrize("into", ["a new database", "the same one, --replace"])
def test_a_version_1_backup_of_legacy_repeated_batch_ids_restores(dbs, client, tmp_path, into):
    """Probe 10, entry 1: the old dashboard's `batch_1` held by two documents (kept working by
    a plain `id` index). Its version 1 backup names no indexes, so the live ones were copied,
    with prepare's unique `id` of a new database: the restore failed on a duplicate key."""
    from segcore.store.connection import open_databases

    db = dbs.work
    db.batches.drop()
    db.batches.insert_many(
        [
            {"id": "batch_1", "status": "S", "assignee": "Flor"},
            {"id": "batch_1", "status": "pending"},
            {"id": "batch_2", "status": "pending"},
        ]
    )
    prepare(dbs)  # as every command does: the id index made without uniqueness
    assert not db.batches.index_information()["id_1"].get("unique")
    v2, v1 = tmp_path / "v2.jsonl.gz", tmp_path / "v1.jsonl.gz"
    backup.backup_to_file(db, v2)
    as_version_1(v2, v1)
    assert backup.verify_backup(v1).indexes is None
    expected = sorted((d["id"], d["status"]) for d in db.batches.find())
    if into == "a new database":
        fresh = open_databases(
            dataclasses.replace(dbs.settings, mongo_db=f"{db.name}_new"), client=client
        )
        target = fresh.work
        try:
            prepare(fresh)  # an empty database, prepared: a unique id index
            assert target.batches.index_information()["id_1"].get("unique")
            restore_backup(target, v1, "test")
            prepare(fresh)  # as the command does after a restore
            assert sorted((d["id"], d["status"]) for d in target.batches.find()) == expected
        finally:
            client.drop_database(target.name)
    else:
        # the repeat mended since: prepare made the id index unique again
        db.batches.delete_one({"id": "batch_1", "status": "pending"})
        db.batches.drop_index("id_1")
        prepare(dbs)
        assert db.batches.index_information()["id_1"].get("unique")
        restore_backup(db, v1, "test", replace=True)
        prepare(dbs)
        assert sorted((d["id"], d["status"]) for d in db.batches.find()) == expected
        assert interrupted_restore(db) is None


def fill(db, batches: int, collections: int = 0) -> None:
    for start in range(0, batches, 2000):
        db.batches.insert_many(
            [
                {"id": f"batch_{n}", "number": n, "assignee": "Flor", "pad": "x" * 200}
                for n in range(start, min(start + 2000, batches))
            ]
        )
    for n in range(collections):
        db[f"extra_{n:03}"].insert_one({"_id": n})


def start_restore(cli_env, tmp_path, file, *flags) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "segcore", "restore", str(file), *flags],
        env=cli_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(process: subprocess.Popen, ready, timeout: float = 300) -> None:
    """SIGKILL `process` as soon as `ready()` holds (polled; a restore that ends first fails)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"the restore ended first: {process.communicate()}"
        assert time.monotonic() < deadline, "the restore never reached that point"
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)


def test_a_restore_killed_while_staging_is_reported_and_a_rerun_converges(
    dbs, run_cli, cli_env, tmp_path
):
    db = dbs.work
    fill(db, 6000)
    file = tmp_path / "big.jsonl.gz"
    backup.backup_to_file(db, file)
    backed_up = state(db)
    db.batches.delete_many({"id": {"$in": [f"batch_{n}" for n in range(10)]}})
    db.segmentadores.insert_one({"name": "Added later"})
    prepare(dbs)  # as the command will, before it restores
    before = state(db)

    process = start_restore(cli_env, tmp_path, file, "--replace", "--yes")
    kill_when(process, lambda: db["restore_staging.batches"].estimated_document_count() > 500)
    assert state(db) == before  # the live data never saw the restore
    status = run_cli("status")
    assert "warning: A restore from big.jsonl.gz" in status.stderr
    assert "still holds the data from before it" in status.stderr
    assert "did not finish" in json.loads(run_cli("status", "--json").stdout)["restore_incomplete"]
    health = run_cli("health")
    assert health.returncode == 1 and "did not finish" in health.stderr

    again = run_cli("restore", str(file), "--replace", "--yes")
    assert again.returncode == 0, again.stderr
    assert "An interrupted restore from big.jsonl.gz was undone first." in again.stdout
    after = state(db)
    assert after["batches"] == backed_up["batches"]
    assert after["segmentadores"] == backed_up["segmentadores"]
    assert not [
        n
        for n in db.list_collection_names()
        if n.startswith(("restore_staging.", "restore_previous."))
    ]
    assert db.restore_state.count_documents({"_id": "restore"}) == 0
    assert "warning" not in run_cli("status").stderr and run_cli("health").returncode == 0


def test_a_restore_killed_while_swapping_is_undone_by_the_next_one(dbs, run_cli, cli_env, tmp_path):
    db = dbs.work
    fill(db, 10, collections=150)  # many collections: the swap takes a while
    file = tmp_path / "many.jsonl.gz"
    backup.backup_to_file(db, file)
    backed_up = state(db)
    for n in range(150):
        db[f"extra_{n:03}"].update_one({"_id": n}, {"$set": {"changed": True}})
    prepare(dbs)
    before = state(db)

    process = start_restore(cli_env, tmp_path, file, "--replace", "--yes")
    kill_when(
        process, lambda: any(n.startswith("restore_previous.") for n in db.list_collection_names())
    )
    assert (db.restore_state.find_one({"_id": "restore"}) or {}).get("state") == "swapping"
    status = run_cli("status")
    assert "was interrupted while it swapped in the restored collections" in status.stderr

    # Any later restore first puts the earlier data back: refused here, it leaves it so, and
    # says so (a refused command that changed the data had kept quiet about it).
    refused = run_cli("restore", str(file))
    assert refused.returncode == 1 and "already holds data" in refused.stderr
    assert "An interrupted restore from many.jsonl.gz was undone first" in refused.stderr
    assert state(db) == before
    # settled: the data from before is whole, nothing warns or blocks backups any more
    assert "warning" not in run_cli("status").stderr and interrupted_restore(db) is None
    done = run_cli("restore", str(file), "--replace", "--yes")
    assert done.returncode == 0, done.stderr
    after = state(db)
    assert {k: v for k, v in after.items() if k.startswith("extra_")} == {
        k: v for k, v in backed_up.items() if k.startswith("extra_")
    }
    assert interrupted_restore(db) is None


def test_no_command_writes_to_a_database_a_killed_restore_left_half_swapped(
    dbs, run_cli, cli_env, tmp_path
):
    """Probe 10, entry 5: `sync`, `assign`, `team add` and `import` wrote to the half-restored
    database with exit 0, and the restore run again then rolled those writes back, their
    history with them. Each is refused now, says why and how to settle it, and writes nothing."""
    db = dbs.work
    fill(db, 10, collections=150)  # many collections: the swap takes a while
    db.segmentadores.insert_many(team_rows(["Ana"]))
    (tmp_path / "data" / "batch_1").mkdir(parents=True)
    file = tmp_path / "many.jsonl.gz"
    backup.backup_to_file(db, file)
    prepare(dbs)

    process = start_restore(cli_env, tmp_path, file, "--replace", "--yes")
    kill_when(
        process, lambda: any(n.startswith("restore_previous.") for n in db.list_collection_names())
    )
    assert (db.restore_state.find_one({"_id": "restore"}) or {}).get("state") == "swapping"
    # a read first: every command prepares the database it opens (indexes, which a re-run of
    # the restore drops with what it rolls back), and says the restore was interrupted
    assert "was interrupted while it swapped" in run_cli("status").stderr
    before = state(db)
    env = {"DATA_DIRECTORY": str(tmp_path / "data")}
    for args in (
        ["sync"],
        ["assign", "batch_1", "--to", "Ana"],
        ["team", "add", "Zed"],
        ["import"],
    ):
        refused = run_cli(*args, env=env)
        assert refused.returncode == 1, (args, refused.stdout, refused.stderr)
        assert "error: A restore from many.jsonl.gz" in refused.stderr, refused.stderr
        assert "nothing was changed" in refused.stderr
        assert "segcore restore many.jsonl.gz --replace" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert state(db) == before

    done = run_cli("restore", str(file), "--replace", "--yes")
    assert done.returncode == 0, done.stderr
    assert run_cli("team", "add", "Zed").returncode == 0  # settled: writes go on


def test_the_pages_warn_about_an_interrupted_restore(app_env, tmp_path):
    from tests.helpers import page

    db = app_env.work
    fill(db, 10)
    file = tmp_path / "b.jsonl.gz"
    backup.backup_to_file(db, file)
    db.restore_state.insert_one(
        {
            "_id": "restore",
            "state": "staging",
            "file": file.name,
            "started_at": datetime_now(),
            "owner": "a killed process",
        }
    )
    at = page("streamlit_app").run()
    assert not at.exception
    assert any(
        "A restore from b.jsonl.gz" in e.value and "did not finish" in e.value for e in at.error
    )
    restore_backup(db, file, "test", replace=True)
    at = page("streamlit_app").run()
    assert not any("restore" in e.value for e in at.error)


def test_a_page_write_to_a_half_restored_database_is_refused_in_one_message(app_env):
    """The Batches page's Save, after a restore killed in its swap: the save is refused in one message (no traceback) and the batch is left as it was."""
    from tests.helpers import page

    db = app_env.work
    db.segmentadores.insert_many(team_rows(["Flor", "Ceci"]))
    fill(db, 3)
    db.restore_state.insert_one(
        {
            "_id": "restore",
            "state": "swapping",
            "file": "nightly.jsonl.gz",
            "started_at": datetime_now(),
            "owner": "a killed process",
        }
    )
    at = page("batches").run()  # (the banner is the entry point's, tested above)
    assert not at.exception
    key = f"batch_editor_{at.session_state['batch_editor_version']}"
    at.session_state[key] = {
        "edited_rows": {0: {"assignee": "Ceci"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key="save_batches").click().run()
    assert not at.exception, at.exception
    refused = [e.value for e in at.error if "nothing was changed" in e.value]
    assert len(refused) == 1 and "segcore restore nightly.jsonl.gz" in refused[0], at.error
    assert "Traceback" not in refused[0] and not at.success
    assert db.batches.find_one({"id": "batch_0"})["assignee"] == "Flor"
    assert db.history.count_documents({}) == 0


def datetime_now():
    from segcore.core.timefmt import utcnow

    return utcnow()


def test_a_restore_ends_every_session_and_names_the_logins_it_brings_back(db, run_cli, tmp_path):
    auth.add_user(db, "coord", "coordinator", "a long password one")
    auth.add_user(db, "revoked", "coordinator", "a long password two")
    auth.add_user(db, "viewer", "viewer", "a long password six")
    file = tmp_path / "logins.jsonl.gz"
    old_token, _ = sessions.start_session(db, Actor("coord", "coordinator"), 60)
    backup.backup_to_file(db, file)
    auth.remove_user(db, "revoked")  # revoked since the backup
    auth.set_password(db, "coord", "a changed password")
    db.app_users.update_one({"name": "viewer"}, {"$set": {"role": "coordinator"}})
    auth.add_user(db, "newcomer", "viewer", "a long password three")
    new_token, _ = sessions.start_session(db, Actor("coord", "coordinator"), 60)

    out = run_cli("restore", str(file), "--replace", "--yes")
    assert out.returncode == 0, out.stderr
    assert "Every login session was ended (1 open)" in out.stdout
    assert "Logins removed since the backup, are back: revoked." in out.stdout
    assert "Logins have the password they had at the backup again: coord." in out.stdout
    assert "Logins have the role they had at the backup again: viewer." in out.stdout
    assert "Logins added since the backup, are gone: newcomer." in out.stdout
    assert f"backup of database {db.name} taken " in out.stdout
    assert db.app_sessions.count_documents({}) == 0
    assert sessions.resume_session(db, old_token) is None
    assert sessions.resume_session(db, new_token) is None
    assert db.app_sessions.index_information().keys() >= {"token_hash_1"}


def test_a_restore_into_a_new_database_needs_no_replace(db, client, run_cli, tmp_path):
    """Any command stamps a database it opens (`app_meta` `prepared`): that stamp alone made a
    new, empty database 'already hold data', and the documented restore was always refused."""
    db.batches.insert_many([{"id": f"batch_{n}", "status": "pending"} for n in range(1, 4)])
    file = tmp_path / "b.jsonl.gz"
    backup.backup_to_file(db, file)
    fresh = f"{db.name}_fresh"
    out = run_cli("restore", str(file), env={"MONGO_DB": fresh})
    assert out.returncode == 0, out.stderr
    assert client[fresh].batches.count_documents({}) == 3
    again = run_cli("restore", str(file), env={"MONGO_DB": fresh})  # now it holds data
    assert again.returncode == 1 and "batches 3" in again.stderr and "--replace" in again.stderr


def test_a_backup_whose_file_name_is_not_utf8_restores(db, client, run_cli, tmp_path):
    """A backup copied from a Windows share or out of a Latin-1 zip keeps a name whose bytes
    are not UTF-8 (`respaldo_caf\\xe9`): its restore ended in a traceback writing that name
    into the restore's marker, and nothing was restored."""
    db.batches.insert_many([{"id": f"batch_{n}", "status": "pending"} for n in range(1, 4)])
    good = tmp_path / "respaldo.jsonl.gz"
    backup.backup_to_file(db, good)
    latin1 = os.path.join(os.fsencode(tmp_path), b"respaldo_caf\xe9.jsonl.gz")
    shutil.copyfile(good, latin1)
    fresh = f"{db.name}_fresh"

    out = run_cli("restore", latin1, env={"MONGO_DB": fresh})
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert "Restored the backup of database" in out.stdout
    assert client[fresh].batches.count_documents({}) == 3
    again = run_cli("restore", latin1, "--replace", "--yes", env={"MONGO_DB": fresh})
    assert again.returncode == 0, again.stderr
    assert client[fresh].batches.count_documents({}) == 3
    entries = list(client[fresh].history.find({"kind": "restore"}))
    assert [e["new"]["file"] for e in entries] == ["respaldo_caf?.jsonl.gz"]


def test_the_replace_question_names_the_backups_database_and_date(db, cli_env, tmp_path):
    db.segmentadores.insert_one({"name": "Flor"})
    file = tmp_path / "q.jsonl.gz"
    summary = backup.backup_to_file(db, file)
    db.segmentadores.insert_one({"name": "Ceci"})
    main, terminal = pty.openpty()
    try:
        os.write(main, b"n\n")  # the answer, typed at the terminal
        process = subprocess.run(
            [sys.executable, "-m", "segcore", "restore", str(file), "--replace"],
            env=cli_env,
            cwd=tmp_path,
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.close(terminal)
        os.close(main)
    question = process.stdout
    assert (
        f"with the backup of database {db.name} taken "
        f"{summary.created:%Y-%m-%d %H:%M:%S} UTC" in question
    )
    assert "Every login session ends" in question
    assert process.returncode == 1 and db.segmentadores.count_documents({}) == 2


def odd_files(source, tmp_path) -> dict:
    """Files a restore may meet, each made for real next to a good backup `source`."""
    raw = gzip.decompress(source.read_bytes())
    lines = raw.splitlines(keepends=True)
    made = {}

    def gz(name, data):
        made[name] = tmp_path / f"{name.replace(' ', '-')}.jsonl.gz"
        made[name].write_bytes(gzip.compress(data))

    header = json.loads(lines[0])
    gz(
        "header without database",
        json.dumps({k: v for k, v in header.items() if k != "database"}).encode()
        + b"\n"
        + b"".join(lines[1:]),
    )
    gz(
        "header without date",
        json.dumps({k: v for k, v in header.items() if k != "created_at"}).encode()
        + b"\n"
        + b"".join(lines[1:]),
    )
    oid = raw.index(b'"$oid": "') + 9
    gz("oid with a non-hex digit", raw[:oid] + b"g" + raw[oid + 1 :])
    flipped = b"1" if raw[oid : oid + 1] != b"1" else b"2"
    gz("oid with another hex digit", raw[:oid] + flipped + raw[oid + 1 :])
    gz(
        "a foreign tool's $date",
        raw.replace(b'{"$segcoreKeys": [["$date", "next monday"]]}', b'{"$date": "next monday"}'),
    )
    data = source.read_bytes()
    made["truncated"] = tmp_path / "truncated.jsonl.gz"
    made["truncated"].write_bytes(data[: len(data) // 2])
    made["gzip corrupt"] = tmp_path / "corrupt.jsonl.gz"
    made["gzip corrupt"].write_bytes(data[:40] + bytes(b ^ 0xFF for b in data[40:60]) + data[60:])
    made["garbage"] = tmp_path / "garbage.jsonl.gz"
    made["garbage"].write_bytes(os.urandom(3000))
    made["empty"] = tmp_path / "empty.jsonl.gz"
    made["empty"].write_bytes(b"")
    made["folder"] = tmp_path / "segcore-backup-x-20240101-000000.jsonl.gz"
    made["folder"].mkdir()
    made["pipe"] = tmp_path / "pipe.jsonl.gz"
    os.mkfifo(made["pipe"])
    made["missing"] = tmp_path / "missing.jsonl.gz"
    made["unreadable"] = "/proc/self/mem"  # a regular file that cannot be read, even by root
    return made


ODD = [
    "header without database",
    "header without date",
    "oid with a non-hex digit",
    "oid with another hex digit",
    "a foreign tool's $date",
    "truncated",
    "gzip corrupt",
    "garbage",
    "empty",
    "folder",
    "pipe",
    "missing",
    "unreadable",
]


@pytest.mark.parametrize("kind", ODD)
def test_an_odd_file_is_one_line_and_changes_nothing(small, run_cli, tmp_path, kind):
    db = small
    good = tmp_path / "good.jsonl.gz"
    backup.backup_to_file(db, good)
    path = odd_files(good, tmp_path)[kind]
    db.batches.insert_one({"id": "batch_after", "number": 999})
    before = state(db)
    out = run_cli("restore", str(path), "--replace", "--yes", timeout=120)
    assert out.returncode == 1 and out.stderr.startswith("error: "), out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert state(db) == before


def test_no_restore_while_a_sync_runs_and_no_sync_while_a_restore_runs(small, run_cli, tmp_path):
    from segcore.sync.records.sync_lease import Lease

    db = small
    file = tmp_path / "b.jsonl.gz"
    backup.backup_to_file(db, file)
    sync = Lease(db)
    sync.acquire()  # a sync in this (live) process
    try:
        before = state(db)
        out = run_cli("restore", str(file), "--replace", "--yes")
        assert out.returncode == 1 and "Another sync is running" in out.stderr, out.stderr
        assert "A restore must not mix with a sync's writes" in out.stderr
        assert state(db) == before and db.restore_state.count_documents({}) == 0
    finally:
        sync.release_quietly()
    restoring = Lease(db, kind="restore")
    restoring.acquire()
    try:
        out = run_cli("sync")
        assert out.returncode != 0 and "A restore of the database is running" in out.stderr
        # Two restores at once: the second is told of the first, not asked to stop a sync.
        second = run_cli("restore", str(file), "--replace", "--yes")
        assert second.returncode == 1 and second.stderr.count("\n") == 1, second.stderr
        assert "error: A restore of the database is running" in second.stderr
        assert "sync" not in second.stderr
    finally:
        restoring.release_quietly()


def test_no_backup_of_a_database_a_restore_is_swapping_or_left_half_done(db, run_cli, tmp_path):
    """A backup read while a restore swapped the collections in missed a whole collection and
    said "Backup written"; one taken after a killed restore held mixed data without a word."""
    fill(db, 10)
    db.restore_state.insert_one(
        {
            "_id": "restore",
            "state": "swapping",
            "file": "old.jsonl.gz",
            "started_at": datetime_now(),
            "owner": "a killed process",
        }
    )
    out = run_cli("backup", "--out", str(tmp_path / "b.jsonl.gz"))
    assert out.returncode == 1 and "interrupted while it swapped" in out.stderr
    assert list(tmp_path.iterdir()) == []  # no file, not even a partial one


def test_a_backup_during_which_a_restore_ran_is_not_kept(db, tmp_path, monkeypatch):
    from segcore.core.errors import RestoreIncomplete

    fill(db, 10)
    real = backup.write_backup

    def with_a_restore_meanwhile(*args, **kwargs):
        summary = real(*args, **kwargs)
        db.restore_state.insert_one(  # a restore swapped everything in while this one read
            {"_id": "restore", "state": "swapped", "file": "x", "started_at": datetime_now()}
        )
        return summary

    monkeypatch.setattr(backup, "write_backup", with_a_restore_meanwhile)
    # (its process gone, the restore reads as killed before it added the backup's outbox)
    with pytest.raises(RestoreIncomplete, match="A restore from x .* just before it finished"):
        backup.backup_to_file(db, tmp_path / "b.jsonl.gz")
    assert list(tmp_path.iterdir()) == []


def test_a_backup_paused_while_a_whole_restore_ran_is_not_kept(dbs, run_cli, cli_env, tmp_path):
    """A nightly backup slowed down (a slow disk, a busy machine) while a restore ran from start
    to end: the restore left no marker behind, and the backup was kept, holding batches from
    before the restore and the team and history from after it, a state that never existed."""
    db = dbs.work
    fill(db, 6000)
    old = tmp_path / "old.jsonl.gz"
    backup.backup_to_file(db, old)
    db.batches.update_one({"id": "batch_5"}, {"$set": {"assignee": "Zed"}})
    folder = tmp_path / "nightly"
    nightly = subprocess.Popen(
        [sys.executable, "-m", "segcore", "backup", "--out", f"{folder}/"],
        env=cli_env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not any(p.stat().st_size for p in folder.glob(".*.partial") if p.exists()):
            assert nightly.poll() is None, f"the backup ended first: {nightly.communicate()}"
            assert time.monotonic() < deadline, "the backup never started writing"
            time.sleep(0.002)
        nightly.send_signal(signal.SIGSTOP)  # it has read part of the database
        restored = run_cli("restore", str(old), "--replace", "--yes")
        assert restored.returncode == 0, restored.stderr
    finally:
        nightly.send_signal(signal.SIGCONT)
    out, err = nightly.communicate(timeout=300)
    assert nightly.returncode == 1, out + err
    assert (
        err.startswith("error: A restore ran while the backup was read") and "Traceback" not in err
    )
    assert list(folder.iterdir()) == []  # neither the backup nor its temporary file
    again = run_cli("backup", "--out", f"{folder}/")  # the next one is kept
    assert again.returncode == 0 and "Backup written" in again.stdout, again.stderr


def with_index(source, target, spec: dict) -> None:
    """A backup whose header lists one more index of the team (checksum made right again, as
    another tool writing the format would): every other check of the file passes."""
    lines = gzip.decompress(source.read_bytes()).splitlines(keepends=True)
    header = json.loads(lines[0])
    header["indexes"]["segmentadores"].append(spec)
    body = [json.dumps(header).encode() + b"\n", *lines[1:-1]]
    manifest = json.loads(lines[-1])
    manifest["manifest"]["sha256"] = hashlib.sha256(b"".join(body)).hexdigest()
    target.write_bytes(gzip.compress(b"".join(body) + json.dumps(manifest).encode() + b"\n"))


@pytest.mark.parametrize(
    "key, option",
    [([["rank", 1.5]], {}), ([[1, 1]], {}), ([["id"]], {}), ([["rank", 1]], {"session": 1})],
)
def test_an_index_no_restore_can_make_is_refused_by_the_file_check(
    small, run_cli, tmp_path, key, option
):
    """A fractional direction, a number as field name, a pair of one, an option create_index
    does not take: `restore` died half-way with a TypeError traceback, leaving its marker
    (health failing, a red banner) and the staging collections, and again on every rerun."""
    db = small
    backup.backup_to_file(db, tmp_path / "good.jsonl.gz")
    bad = tmp_path / "foreign.jsonl.gz"
    with_index(tmp_path / "good.jsonl.gz", bad, {"name": "by_rank", "key": key, **option})
    before = state(db)
    out = run_cli("restore", str(bad), "--replace", "--yes", timeout=120)
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert out.stderr.startswith(
        f"error: {bad}: its header lists an index that cannot be made (segmentadores: by_rank"
    )
    assert state(db) == before and run_cli("health").returncode == 0
    assert not [n for n in db.list_collection_names() if n.startswith("restore_staging")]


def test_an_error_while_staging_is_undone_and_said_in_one_line(small, run_cli, tmp_path):
    """A collation that is text (the driver refuses it before the server sees it): whatever
    the file check lets through, staging ends with nothing left behind, rerun or not."""
    db = small
    good = backup.backup_to_file(db, tmp_path / "good.jsonl.gz")
    bad = tmp_path / "foreign.jsonl.gz"
    spec = {"name": "by_rank", "key": [["rank", 1]], "collation": "fr"}
    with_index(tmp_path / "good.jsonl.gz", bad, spec)
    before = state(db)
    for _attempt in range(2):
        out = run_cli("restore", str(bad), "--replace", "--yes", timeout=120)
        assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
        assert f"error: {bad}: cannot be restored (TypeError: " in out.stderr
        assert out.stderr.rstrip().endswith("the database was not changed")
        assert state(db) == before and run_cli("health").returncode == 0
        assert not [n for n in db.list_collection_names() if n.startswith("restore_staging")]
    assert restore_backup(db, good.path, "test", replace=True).summary.documents == good.documents


def test_an_index_made_in_the_mongo_shell_comes_back(small, run_cli, tmp_path):
    """The shell's numbers are doubles: its index {rank: 1.0} was backed up as such, and the
    restore died on it with the driver's TypeError."""
    db = small
    db.command("createIndexes", "segmentadores", indexes=[{"key": {"rank": 1.0}, "name": "r"}])
    good = tmp_path / "good.jsonl.gz"
    backup.backup_to_file(db, good)
    out = run_cli("restore", str(good), "--replace", "--yes", timeout=120)
    assert out.returncode == 0, out.stderr
    assert db.segmentadores.index_information()["r"]["key"] == [("rank", 1)]
