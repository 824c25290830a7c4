"""Backups restore: every document back exactly, and a bad file or a full database changes nothing."""

from __future__ import annotations

import bz2
import gzip
import json
from datetime import datetime

import pytest
from bson import ObjectId

from segcore import demo
from segcore.backups import backup
from segcore.backups.backup_indexes import unmakeable_index
from segcore.backups.backup_restore import restore_backup
from segcore.core.errors import BackupFileError, RestoreRefused
from segcore.prepare import prepare
from segcore.sync import sync

NOT_DATA = ("locks", "restore_state")  # leases of running processes; a restore's bookkeeping


def snapshot(db) -> dict[str, list[dict]]:
    """Every document of every collection, in _id order (types compared, not only values)."""
    return {
        name: sorted(db[name].find(), key=lambda d: str(d["_id"]))
        for name in sorted(db.list_collection_names())
        if name not in NOT_DATA and db[name].count_documents({})
    }


VERSION_DOCS = ("batches", "data_version")  # app_meta documents holding the data version
# The database's own id: a restore keeps the live one (none in a new database), never the
# backup's (tests/test_backup_rotation.py: another server's copy keeps its own).
OWN_ID = "database_id"


def without_versions(state: dict) -> tuple[dict, dict]:
    """(the snapshot without the data-version documents and the database's own id, the
    data-version documents by _id)."""
    meta = state.get("app_meta", [])
    versions = {d["_id"]: d for d in meta if d["_id"] in VERSION_DOCS}
    rest = [d for d in meta if d["_id"] not in (*VERSION_DOCS, OWN_ID)]
    return {**state, "app_meta": rest} if rest else {
        k: v for k, v in state.items() if k != "app_meta"
    }, versions


def assert_restored(after: dict, before: dict) -> None:
    """Every document as it was, except the data version, which moves past the backup's: a
    running app must not take the restored data for what it cached before."""
    after, moved = without_versions(after)
    before, saved = without_versions(before)
    for state in after.get("app_meta", []):
        if state["_id"] == "sync":  # the next sync reads every upload once: uploads may have
            assert state.pop("index_ok") is False  # gone since the backup was taken
            [old] = [d for d in before["app_meta"] if d["_id"] == "sync"]
            old.pop("index_ok")
    assert after == before
    for key, doc in saved.items():
        for counter, value in doc.items():
            if isinstance(value, int) and counter != "_id":
                assert moved[key][counter] > value, (key, counter)


def wipe(db) -> None:
    for name in db.list_collection_names():
        db.drop_collection(name)


@pytest.fixture
def filled(dbs, tmp_path):
    """The demo after a sync: batches, team, history, sync runs and binary index parts."""
    from segcore.backups.database_id import database_id

    demo.load_demo(dbs, tmp_path / "demo", author="test", count=40)
    sync.run_sync(dbs, author="test")
    database_id(dbs.work)  # made by the first backup, long ago
    return dbs


def _values(docs):
    for doc in docs:
        yield from doc.values()


def test_round_trip_restores_every_document_exactly(filled, tmp_path):
    db = filled.work
    before = snapshot(db)
    values = [v for docs in before.values() for v in _values(docs)]
    assert {"batches", "segmentadores", "history", "sync_index", "sync_runs"} <= set(before)
    assert any(isinstance(v, ObjectId) for v in values)
    assert any(isinstance(v, datetime) for v in values)
    assert any(isinstance(v, bytes) for v in _values(before["sync_index"]))  # index parts

    summary = backup.backup_to_file(db, tmp_path)
    assert summary.counts == {name: len(docs) for name, docs in before.items()} | {
        name: 0 for name in summary.counts if name not in before
    }
    with gzip.open(summary.path, "rt") as text:  # readable by a person once decompressed
        lines = text.read().splitlines()
    assert json.loads(lines[0])["format"] == "segcore-backup"
    assert '"$oid"' in "".join(lines) and '"$date"' in "".join(lines)

    wipe(db)
    restored = restore_backup(db, summary.path, "test").summary
    prepare(filled)
    after = snapshot(db)
    # a new database is not the one backed up: it takes no id of the backup's
    assert not [d for d in after["app_meta"] if d["_id"] == OWN_ID]
    assert restored.documents == summary.documents
    restore_entry = after["history"].pop()  # the restore records itself, after the rest
    assert restore_entry["kind"] == "restore" and restore_entry["author"] == "test"
    assert_restored(after, before)
    assert filled.training["masks.files"].count_documents({}) > 0  # never touched


def _damaged(path, tmp_path, how):
    raw = gzip.decompress(path.read_bytes())
    target = tmp_path / f"{how}.jsonl.gz"
    if how == "truncated":
        target.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif how == "no manifest":
        target.write_bytes(gzip.compress(b"\n".join(raw.split(b"\n")[:-2]) + b"\n"))
    elif how == "edited":
        target.write_bytes(gzip.compress(raw.replace(b"batch_1", b"batch_9", 1)))
    elif how == "not gzip":  # neither gzip nor JSON Lines: a file some other tool packed
        target.write_bytes(bz2.compress(raw))
    elif how == "half the lines":
        lines = raw.split(b"\n")
        target.write_bytes(gzip.compress(b"\n".join(lines[:3] + lines[-2:])))
    return target


@pytest.mark.parametrize(
    "how,message",
    [
        ("truncated", "truncated"),
        ("no manifest", "manifest is missing"),
        ("edited", "checksum does not match"),
        ("not gzip", "packed with bzip2, not a segcore backup itself: unpack it first"),
        ("half the lines", "checksum"),
    ],
)
def test_a_damaged_or_partial_file_is_refused_and_nothing_written(filled, tmp_path, how, message):
    db = filled.work
    good = backup.backup_to_file(db, tmp_path / "good.jsonl.gz")
    bad = _damaged(tmp_path / "good.jsonl.gz", tmp_path, how)
    wipe(db)
    with pytest.raises(BackupFileError) as exc:
        restore_backup(db, bad, "test")
    assert message in str(exc.value) and str(bad) in str(exc.value)
    assert snapshot(db) == {}
    assert restore_backup(db, good.path, "test").summary.documents == good.documents


def test_cli_backup_and_restore(run_cli, filled, tmp_path):
    db = filled.work
    out = run_cli("backup", "--out", str(tmp_path / "daily.jsonl.gz"))
    assert out.returncode == 0 and "Backup written" in out.stdout, out.stderr
    before = snapshot(db)

    refused = run_cli("restore", str(tmp_path / "daily.jsonl.gz"))
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "already holds data" in refused.stderr and "--replace" in refused.stderr
    no_terminal = run_cli("restore", str(tmp_path / "daily.jsonl.gz"), "--replace")
    assert no_terminal.returncode == 1 and "add --yes" in no_terminal.stderr
    assert snapshot(db) == before

    db.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Someone Else"}})
    db.qa_notes.insert_one({"note": "another tool's collection, made after the backup"})
    done = run_cli("restore", str(tmp_path / "daily.jsonl.gz"), "--replace", "--yes")
    assert done.returncode == 0 and "Restored" in done.stdout, done.stderr
    assert "Removed, as the backup does not hold them: qa_notes." in done.stdout  # said aloud
    assert "qa_notes" not in db.list_collection_names()
    after = snapshot(db)
    after["history"].pop()
    assert_restored(after, before)
    assert "id_1" in db.batches.index_information()  # indexes recreated after the replace

    (tmp_path / "cut.jsonl.gz").write_bytes((tmp_path / "daily.jsonl.gz").read_bytes()[:900])
    cut = run_cli("restore", str(tmp_path / "cut.jsonl.gz"), "--replace", "--yes")
    assert cut.returncode == 1 and cut.stderr.startswith("error:") and "Traceback" not in cut.stderr


def test_restore_into_a_non_empty_database_is_refused(filled, tmp_path):
    db = filled.work
    summary = backup.backup_to_file(db, tmp_path)
    before = snapshot(db)
    with pytest.raises(RestoreRefused):
        restore_backup(db, summary.path, "test")
    assert snapshot(db) == before


def test_backup_to_an_unwritable_place_is_one_line(db, tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(BackupFileError) as exc:
        backup.backup_to_file(db, tmp_path / "file" / "backup.jsonl.gz")
    assert "cannot be written" in str(exc.value)
    assert list(tmp_path.iterdir()) == [tmp_path / "file"]


def test_a_restore_is_what_a_restarted_app_shows_not_the_rows_it_stored(filled, tmp_path):
    """The copy of the batch rows a restarted app starts from is not backed up, and after a
    restore a restarted app reads the restored batches, not the copy stored before."""
    from segcore.core.actors import Actor
    from segcore.store.schema import ROW_SNAPSHOT
    from segcore.views.batch_rows import BatchRows, batch_row
    from segcore.work import assignments

    db = filled.work
    summary = backup.backup_to_file(db, tmp_path)  # before the edit below
    first = db.batches.find_one({"assignee": {"$nin": [None, ""]}})
    other = next(m["name"] for m in db.segmentadores.find() if m["name"] != first["assignee"])
    assignments.assign(db, [first["id"]], other, Actor("Coordinator", "coordinator"))
    rows = BatchRows().refresh(db)
    assert rows.save_snapshot(db)  # as the app stores them, with the edit
    assert ROW_SNAPSHOT not in backup.backup_to_file(db, tmp_path / "later").counts

    restore_backup(db, summary.path, "test", replace=True)
    restarted = {r["id"]: r for r in BatchRows().refresh(db).rows()}
    assert restarted == {r["id"]: r for r in map(batch_row, db.batches.find())}
    assert restarted[first["id"]]["assignee"] == first["assignee"]  # the backup's, not the edit


GOOD_KEYS = [[["name_key", 1]], [["due", -1], ["id", 1.0]], [["notes", "text"]], [["$**", 1]]]
BAD_KEYS = [[["rank", 1.5]], [[1, 1]], [["id"]], [["id", True]], [["id", "up"]], [["", 1]]]


@pytest.mark.parametrize("key", GOOD_KEYS + BAD_KEYS)
def test_which_index_keys_a_restore_can_make(key):
    """What the file check lets through is what create_index takes (no database needed)."""
    found = unmakeable_index({"batches": [{"name": "i", "key": key}]})
    assert (found is None) == (key in GOOD_KEYS)


@pytest.mark.parametrize(
    "command, name, kind",
    [
        # Windows' "Send to > Compressed folder" to mail it, as Info-ZIP's zip writes it
        (["zip", "-q", "-j", "{out}", "{backup}"], "nightly.zip", "zip"),
        (["sh", "-c", "zcat {backup} | xz > {out}"], "nightly.jsonl.xz", "xz"),
        (["sh", "-c", "zcat {backup} | bzip2 > {out}"], "nightly.jsonl.bz2", "bzip2"),
        (["tar", "-cf", "{out}", "-C", "{folder}", "nightly.jsonl.gz"], "nightly.tar", "tar"),
        (["7z", "a", "-bd", "-bso0", "{out}", "{backup}"], "nightly.7z", "7z"),
        # probe 15: the usual way on Linux, and a .gz gzipped again (by habit, by a web server)
        (
            ["tar", "-czf", "{out}", "-C", "{folder}", "nightly.jsonl.gz"],
            "nightly.tgz",
            "tar + gzip",
        ),
        (["sh", "-c", "gzip -c {backup} > {out}"], "nightly.jsonl.gz.gz", "gzip + gzip"),
    ],
)
def test_an_intact_backup_packed_by_another_tool_is_named_so_not_damaged(
    run_cli, db, tmp_path, command, name, kind
):
    """Probe 11: a good backup zipped to be mailed was reported "damaged or truncated (Not a
    gzipped file (b'PK'))", Python's words, and the coordinator took it for lost."""
    import subprocess

    db.batches.insert_many([{"id": f"batch_{n}", "number": n} for n in range(3)])
    backup_file = tmp_path / "nightly.jsonl.gz"
    assert run_cli("backup", "--out", str(backup_file)).returncode == 0
    out = tmp_path / name
    subprocess.run(
        [part.format(backup=backup_file, out=out, folder=tmp_path) for part in command],
        check=True,
    )
    before = snapshot(db)
    done = run_cli("restore", str(out), "--replace", "--yes")
    assert done.returncode == 1
    assert done.stderr == (
        f"error: {out}: packed with {kind}, not a segcore backup itself: unpack it first and "
        "restore the backup it holds (a .jsonl.gz or .jsonl file); nothing was restored\n"
    )
    assert snapshot(db) == before


def test_a_backup_uncompressed_with_gunzip_to_read_it_restores(run_cli, filled, tmp_path):
    """`gunzip nightly.jsonl.gz` to read it, then `segcore restore nightly.jsonl`: every line was
    intact, but the restore called the file "damaged or truncated"."""
    import subprocess

    db = filled.work
    assert run_cli("backup", "--out", str(tmp_path / "nightly.jsonl.gz")).returncode == 0
    before = snapshot(db)
    subprocess.run(["gunzip", str(tmp_path / "nightly.jsonl.gz")], check=True)
    wipe(db)
    done = run_cli("restore", str(tmp_path / "nightly.jsonl"))
    assert done.returncode == 0 and "Restored" in done.stdout, done.stderr
    after = snapshot(db)
    after["history"].pop()
    assert_restored(after, before)


def test_another_tools_view_and_capped_collection_come_back_as_they_were(
    run_cli, db, client, tmp_path
):
    """A view another tool keeps on `batches` came back from backup and restore as a plain
    collection that no longer followed the batches, and a capped log lost its cap; neither
    command said a word."""
    db.batches.insert_many([{"id": f"batch_{n}", "status": "pending"} for n in range(3)])
    db.command(
        "create", "pending_view", viewOn="batches", pipeline=[{"$match": {"status": "pending"}}]
    )
    db.create_collection("audit_log", capped=True, size=100_000, max=50)
    db.audit_log.insert_many([{"event": n} for n in range(60)])
    logged = [d["event"] for d in db.audit_log.find()]
    file = str(tmp_path / "b.jsonl.gz")
    out = run_cli("backup", "--out", file)
    assert out.returncode == 0, out.stderr
    assert out.stderr == (
        "note: views are not backed up (they hold no documents of their own; a restore leaves "
        "them as they are): pending_view\n"
    )
    assert "pending_view" not in backup.verify_backup(file).counts

    fresh = client[f"{db.name}_fresh"]
    try:
        for target, flags in ((db, ["--replace", "--yes"]), (fresh, [])):
            done = run_cli("restore", file, *flags, env={"MONGO_DB": target.name})
            assert done.returncode == 0, done.stderr
            options = target.audit_log.options()
            assert options["capped"] and options["size"] == 100_000 and options["max"] == 50
            assert [d["event"] for d in target.audit_log.find()] == logged
        info = {c["name"]: c for c in db.list_collections()}
        assert info["pending_view"]["type"] == "view"  # kept as it is, still following batches
        db.batches.update_many({}, {"$set": {"status": "in_progress"}})
        assert db.pending_view.count_documents({}) == 0
    finally:
        client.drop_database(fresh.name)
