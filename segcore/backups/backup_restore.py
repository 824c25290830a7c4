"""Restoring a backup, all or nothing, and telling when a restore was interrupted.

A restore never writes into the live collections. It checks the whole file, writes every
collection into a staging copy (`restore_staging.<name>`) with the backup's indexes, and only
then swaps the copies in, one rename per collection, moving the replaced ones aside
(`restore_previous.<name>`) until all are in. A file that fails on insert (a repeated document,
a unique index it breaks) or a server error before the swap leaves the data as it was; an error
during the swap puts the earlier collections back. A marker (`restore_state`) is written first
and removed last: a restore killed anywhere leaves it, `segcore status`, `segcore health` and
every page report it until a restore succeeds or undoes it: the next restore first undoes
what the killed one left (putting the earlier collections back, and removing the marker), so
a re-run converges. A restore paused past its sync lease is taken for gone (writes go on,
another restore may undo it): resumed, it stops before its swap (segcore.sync.records.
sync_lease `Lease.hold`, and a marker it swaps under only while still its own). Mid-swap it
checks its hold before every rename, and touches nothing more once it lost it: the marker tells
the next restore what to put back, and it rolls back only its own marker on a server error.

What a restore would otherwise silently bring back: login sessions (every session ends, the
backup's are not restored), logins, passwords and roles as they were (the result names them),
the sync lease (never backed up), and the sync's resume point (its index is marked incomplete,
so the next sync reads every upload once), and the backed-up database's id (the live one is
kept: segcore.backups.database_id). It holds the sync lease while it runs, so no sync writes
meanwhile.

What a restore must not bring back: the notifications outbox. It records what was sent, a fact
of the world outside the database: rolled back, the messages sent since the backup would go
again (the next sync makes those receipts again, due to be told; today's digest looks unsent).
So the outbox is never swapped: the live one stays as it is, and the backup's messages it lacks
(a restore into a new database, an outbox emptied since) are added once everything else is in.
A message in both keeps its live state; one unsent in the backup and missing now is added as
it was, so nothing unsent is lost either.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from pymongo.database import Database
from pymongo.errors import BulkWriteError, CollectionInvalid, OperationFailure, PyMongoError

from segcore.backups.backup import BackupSummary, documents, verify_backup
from segcore.backups.backup_collections import backed_up_collections, copy_capped
from segcore.backups.backup_indexes import index_key, index_specs
from segcore.backups.database_id import DATABASE_ID
from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import (
    N_,
    LeaseLost,
    RestoreFailed,
    RestoreRefused,
    SegcoreError,
    SyncAlreadyRunning,
)
from segcore.core.naming import storable
from segcore.core.timefmt import utcnow
from segcore.store import data_version, history
from segcore.store.restore_marker import MARKER, count_swap
from segcore.store.schema import (
    APP_SESSIONS,
    APP_USERS,
    HISTORY,
    LOCKS,
    META,
    NOTIFY_OUTBOX,
    PREPARED,
    RESTORE_PREVIOUS,
    RESTORE_STAGING,
    RESTORE_STATE,
    SYNC_STATE,
)
from segcore.sync.records.sync_lease import LEASE, Lease

_CHUNK = 500  # documents per insert_many: bounded memory, few round trips
_NOT_RESTORED = (LOCKS, RESTORE_STATE, APP_SESSIONS)
# Kept live and merged with the backup's instead of swapped (see the module's docstring).
KEPT = (NOTIFY_OUTBOX,)


@dataclass
class LoginChanges:
    """How the restore changed the app's logins (names), compared with just before it."""

    back: list[str] = field(default_factory=list)  # removed since the backup, back again
    gone: list[str] = field(default_factory=list)  # added since the backup, gone
    password: list[str] = field(default_factory=list)  # the password they had at the backup
    role: list[str] = field(default_factory=list)  # the role they had at the backup


@dataclass
class RestoreResult:
    summary: BackupSummary
    sessions_ended: int
    logins: LoginChanges
    redone: dict | None = None  # the interrupted restore this one undid first
    removed: list[str] = field(default_factory=list)  # collections the backup does not hold
    kept: int = 0  # messages of the live outbox kept as they are (sent ones stay sent)
    added: int = 0  # messages of the backup's outbox the live one lacked, added


def _names(db: Database, prefix: str) -> list[str]:
    return sorted(n[len(prefix) :] for n in db.list_collection_names() if n.startswith(prefix))


def _drop_prefixed(db: Database, prefix: str) -> None:
    for name in _names(db, prefix):
        db.drop_collection(prefix + name)


def _roll_back(db: Database, marker: dict) -> None:
    """Put back every collection an interrupted swap moved aside; drop what it brought in.

    What was brought in is read from the marker, written before each rename, not from the
    collections listed: a server may still list a renamed collection's old name for a while.
    """
    previous = set(_names(db, RESTORE_PREVIOUS))
    entered, existed = set(marker.get("entered", [])), set(marker.get("existed", []))
    for name in marker.get("names", []):
        if name in previous:
            db[RESTORE_PREVIOUS + name].rename(name, dropTarget=True)
        elif name in entered and name not in existed:
            db.drop_collection(name)  # new with the backup, and (perhaps) swapped in


def recover(db: Database) -> dict | None:
    """Undo what an interrupted restore left; returns its marker (as "undone"), or None.

    The marker goes with what it marked: the data from before is whole again, so backups and
    writes go on, nothing being left to finish. A restore that had swapped everything in is
    finished instead (the backup's outbox added, the copies dropped); its marker is returned
    as "finished". Called holding the sync lease.
    """
    marker = db[RESTORE_STATE].find_one({"_id": MARKER})
    if marker and marker.get("state") == "swapped":
        _merge_kept(db)  # killed between the swap and the merge: the staged outbox is added
        _drop_prefixed(db, RESTORE_PREVIOUS)
        _drop_prefixed(db, RESTORE_STAGING)
        db[RESTORE_STATE].delete_one({"_id": MARKER})
        return {**marker, "state": "finished"}
    if marker and marker.get("state") == "swapping":
        _roll_back(db, marker)
    elif marker:
        # Claimed before its copies go: a restore that was only paused, resumed, then finds
        # its marker gone and stops (it would otherwise swap in what is left of its copies).
        db[RESTORE_STATE].delete_one({"_id": MARKER, "owner": marker.get("owner")})
    _drop_prefixed(db, RESTORE_STAGING)
    if marker:
        db[RESTORE_STATE].delete_one({"_id": MARKER})
        marker["state"] = "undone"
    return marker


def _abandon(db: Database, lease: Lease) -> None:
    """After a restore that swapped nothing in: drop its staging copies and its marker, the
    data from before being whole. Only while nobody else took over (the lease still, or again,
    this restore's): another restore's copies and marker are left as they are."""
    try:
        lease.acquire()  # its own, or run out with nobody holding it since
    except SyncAlreadyRunning:
        return
    marker = db[RESTORE_STATE].find_one({"_id": MARKER})
    if marker is None or (marker.get("owner") == lease.owner and marker.get("state") == "staging"):
        _drop_prefixed(db, RESTORE_STAGING)
        db[RESTORE_STATE].delete_one({"_id": MARKER, "owner": lease.owner})


def _refused(db: Database, present: dict[str, int], prior: dict | None) -> RestoreRefused:
    """No --replace over data: refused. What `recover` did first to an interrupted restore is
    said too: a refused command that changed the data must not keep quiet about it."""
    params = {"database": db.name, "counts": ", ".join(f"{n} {c}" for n, c in present.items())}
    if prior and prior.get("state") == "finished":
        return RestoreRefused(
            N_(
                "An interrupted restore from {file} was finished first: the backup's "
                "notifications it had not added yet are in the outbox now. The database "
                "{database} holds data ({counts}); to restore into it again, use --replace."
            ),
            file=prior.get("file", "?"),
            **params,
        )
    if prior:
        return RestoreRefused(
            N_(
                "An interrupted restore from {file} was undone first, which put the data from "
                "before it back. The database {database} already holds data ({counts}); "
                "restore into an empty one, or use --replace."
            ),
            file=prior.get("file", "?"),
            **params,
        )
    return RestoreRefused(
        N_(
            "The database {database} already holds data ({counts}); "
            "restore into an empty one, or use --replace."
        ),
        **params,
    )


def stored_counts(db: Database) -> dict[str, int]:
    """Documents per collection of `db` that a restore would replace, only those holding any.

    The stamp any command writes on opening a database (`app_meta` `prepared`) and the id the
    first backup gives it are not data: a database holding only them is empty, so a restore
    into a new database needs no --replace."""
    counts = {name: db[name].estimated_document_count() for name in backed_up_collections(db)}
    if counts.get(META):
        counts[META] = db[META].count_documents({"_id": {"$nin": [PREPARED, DATABASE_ID]}})
    return {name: count for name, count in counts.items() if count}


def _insert(db: Database, name: str, docs: list[dict], lease: Lease) -> None:
    db[RESTORE_STAGING + name].insert_many(docs, ordered=True)
    lease.hold(when_due=True)  # run out meanwhile: writes may have gone on, see restore_backup


def _check_staged(db: Database, path: Path, summary: BackupSummary) -> None:
    """Raises RestoreFailed unless every staging copy holds as many documents as the file: a
    copy dropped meanwhile (by another restore undoing this one) is never swapped in."""
    for name, expected in summary.counts.items():
        if name in _NOT_RESTORED:
            continue
        staged = db[RESTORE_STAGING + name].estimated_document_count()
        if staged != expected:
            raise RestoreFailed(
                N_(
                    "{path}: {staged} documents of {collection} were written for the restore, "
                    "not the {expected} of the file; the database was not changed"
                ),
                path=path,
                staged=staged,
                collection=name,
                expected=expected,
            )


def _stage(db: Database, path: Path, summary: BackupSummary, lease: Lease) -> None:
    """Write the backup into staging collections, each with its indexes (and a capped one
    made capped again first, with its size)."""
    for name, options in summary.options.items():
        if name not in _NOT_RESTORED:
            db.create_collection(RESTORE_STAGING + name, **options)
    pending: dict[str, list[dict]] = {}
    for name, doc in documents(path, summary):
        if name in _NOT_RESTORED:
            continue
        pending.setdefault(name, []).append(doc)
        if len(pending[name]) >= _CHUNK:
            _insert(db, name, pending.pop(name), lease)
    for name, docs in pending.items():
        _insert(db, name, docs, lease)
    # Before the indexes: a TTL index may expire documents at once (the server's business,
    # as in the live collection), which are counted here still.
    lease.hold()  # paused past its lease: another restore may have undone it meanwhile
    _check_staged(db, path, summary)
    live = set(backed_up_collections(db))
    for name in summary.counts:
        if name in (LOCKS, RESTORE_STATE):
            continue
        target = db[RESTORE_STAGING + name]
        try:
            db.create_collection(target.name)
        except CollectionInvalid:
            pass  # it holds documents already
        # A version 1 file names no indexes: those the live collection has are kept.
        guessed = summary.indexes is None
        specs = (
            (summary.indexes or {}).get(name, [])
            if not guessed
            else (index_specs(db[name]) if name in live else [])
        )
        for spec in specs:
            _make_index(target, spec, guessed)


def _make_index(target, spec: dict, guessed: bool) -> None:
    """Make one index of a staging collection. A `guessed` one (a version 1 file's, taken from
    the live collection) that is unique and that the backup's documents break is made without
    uniqueness, as prepare makes the live one (segcore.work.batches.ensure_indexes): legacy
    data with a batch id held twice keeps working. A file's own index is never relaxed."""
    options = {k: v for k, v in spec.items() if k not in ("key", "name")}
    try:
        target.create_index(index_key(spec), name=spec["name"], **options)
    except OperationFailure:
        if not (guessed and options.pop("unique", False)):
            raise
        target.create_index(index_key(spec), name=spec["name"], **options)


def _finish_staging(
    db: Database, path: Path, summary: BackupSummary, author: str, before: dict
) -> None:
    """The restore's own history entry, the moved data version and a sync that reads all."""
    change = history.Change(
        "restore",
        "database",
        "restore",
        None,
        {
            "file": storable(path.name),
            "database": summary.database,
            "created_at": summary.created_at,
            "documents": summary.documents,
        },
        author,
    )
    db[RESTORE_STAGING + HISTORY].insert_many(history.documents([change]))
    meta = db[RESTORE_STAGING + META]
    generation, synced = before["batches"]
    # Every data version moves past both the restored one and the one replaced, so no app
    # serves a cached read of the replaced data as if it were the restored one.
    meta.update_one(
        {"_id": data_version.BATCHES_DOC},
        {"$inc": {"generation": generation + 1, "synced": synced + 1}, "$set": {"recent": [None]}},
        upsert=True,
    )
    meta.update_one(
        {"_id": data_version.VERSION_DOC},
        {"$inc": {t: before[t] + 1 for t in data_version.TOPICS}},
        upsert=True,
    )
    # The resume point is the backup's: uploads removed since would go unnoticed.
    meta.update_one({"_id": SYNC_STATE}, {"$set": {"index_ok": False}})
    # The database stays itself: a staging copy restored from production's backup taking
    # production's id would have its `--keep` delete production's backups.
    meta.delete_one({"_id": DATABASE_ID})
    identity = db[META].find_one({"_id": DATABASE_ID})
    if identity:
        meta.insert_one(identity)


def _login_changes(db: Database) -> LoginChanges:
    fields = {"name_key": 1, "name": 1, "role": 1, "password_hash": 1}
    now = {u.get("name_key"): u for u in db[APP_USERS].find({}, fields)}
    then = {u.get("name_key"): u for u in db[RESTORE_STAGING + APP_USERS].find({}, fields)}
    changes = LoginChanges()
    for key, user in then.items():
        name = str(user.get("name", key))
        if key not in now:
            changes.back.append(name)
        elif user.get("password_hash") != now[key].get("password_hash"):
            changes.password.append(name)
        if key in now and user.get("role") != now[key].get("role"):
            changes.role.append(name)
    changes.gone = [str(u.get("name", k)) for k, u in now.items() if k not in then]
    return changes


def _swap(db: Database, staged: list[str], lease: Lease, moved: list[str]) -> int:
    """Swap the staging collections in; every replaced collection is kept aside until the end.
    The KEPT collections stay live and get the backup's documents they lack; returns how many.
    `moved` gets each collection's name before its first rename (the swap began)."""
    live = [n for n in backed_up_collections(db) if n not in KEPT]
    names = sorted((set(staged) | set(live)) - set(KEPT))
    mine = {"_id": MARKER, "owner": lease.owner}
    # Only while the marker is still this restore's own, staging: one undone meanwhile (by
    # another restore, its lease having run out) means the copies are not whole.
    entering = db[RESTORE_STATE].update_one(
        {**mine, "state": "staging"},
        {"$set": {"state": "swapping", "names": names, "existed": live, "entered": []}},
    )
    if not entering.matched_count:
        raise LeaseLost(N_("The restore's marker is gone or another restore's."))
    try:
        # Paused between its last hold and the line above, its lease may have run out, and a
        # write gone through meanwhile; from here on "swapping" refuses every write.
        lease.hold()
    except LeaseLost:
        db[RESTORE_STATE].update_one(mine, {"$set": {"state": "staging"}})
        raise
    count_swap(db)  # a backup reading meanwhile is not kept (segcore.backups.backup)
    for name in names:
        # Before every rename, not after (a paused process's clock may not move): another
        # restore that took over may have swapped its own in, which a rename would move aside.
        lease.hold()
        moved.append(name)
        if name in live:
            db[name].rename(RESTORE_PREVIOUS + name, dropTarget=True)
        if name in staged:
            _mark(db, lease, {"$push": {"entered": name}})
            # dropTarget: only an empty collection can be there now, made by another process
            # meanwhile (or an old name a server still lists after the rename).
            if db[RESTORE_STAGING + name].options().get("capped"):
                copy_capped(db, RESTORE_STAGING + name, name)
            else:
                db[RESTORE_STAGING + name].rename(name, dropTarget=True)
    _mark(db, lease, {"$set": {"state": "swapped"}})
    added = _merge_kept(db)
    _drop_prefixed(db, RESTORE_PREVIOUS)
    db[RESTORE_STATE].delete_one(mine)
    return added


def _mark(db: Database, lease: Lease, update: dict) -> None:
    """Update this restore's marker while it holds its lease; raises LeaseLost otherwise."""
    lease.hold()
    if (
        not db[RESTORE_STATE]
        .update_one({"_id": MARKER, "owner": lease.owner}, update)
        .matched_count
    ):
        raise LeaseLost(N_("The restore's marker is gone or another restore's."))


def _merge_kept(db: Database) -> int:
    """Add to each KEPT collection the staged (backup's) documents whose `_id` it lacks, then
    drop the staged copy; returns how many were added. Done again by `recover` when killed."""
    added = 0
    for name in KEPT:
        staged = db[RESTORE_STAGING + name]
        present = {d["_id"] for d in db[name].find({}, {"_id": 1})}
        missing = [d for d in staged.find() if d["_id"] not in present]
        for start in range(0, len(missing), _CHUNK):
            try:
                added += len(
                    db[name]
                    .insert_many(missing[start : start + _CHUNK], ordered=False)
                    .inserted_ids
                )
            except BulkWriteError as exc:  # a sender enqueued one of them meanwhile: its own
                if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                    raise
                added += exc.details.get("nInserted", 0)
        staged.drop()
    return added


def _reason(exc: Exception) -> str:
    """The server's reason, or an unexpected error's type and text (a foreign file's value
    the checks let through): one line."""
    if not isinstance(exc, PyMongoError):
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    details = getattr(exc, "details", None) or {}
    errors = details.get("writeErrors") if isinstance(details, dict) else None
    text = (
        errors[0].get("errmsg")
        if errors
        else (details.get("errmsg") if isinstance(details, dict) else None)
    )
    return str(text or exc).splitlines()[0][:300]


def restore_backup(
    db: Database,
    path: Path,
    author: "str | Actor",
    replace: bool = False,
    verified: BackupSummary | None = None,
) -> RestoreResult:
    """Restore the backup at `path` into `db`, all or nothing (see the module's docstring).

    Into a database holding data only with `replace`. Raises BackupFileError (bad file),
    RestoreRefused (data present without `replace`, or a sync or another restore holds the
    sync lease) or RestoreFailed (the data could not be written or swapped in);
    after each of them the data is as it was. The caller recreates the standard indexes
    (segcore.prepare). `verified` is what verify_backup returned for `path`, when the caller
    checked it already (the checksum is checked again while the documents are read).
    """
    author, path = authorize_write(author), Path(path)
    summary = verified or verify_backup(path)
    lease = Lease(db, "sync", kind="restore")
    try:
        lease.acquire()
    except SyncAlreadyRunning as exc:
        if exc.restore:  # another restore: nothing to say about a sync
            raise RestoreRefused(exc.template, **exc.params) from None
        raise RestoreRefused(
            N_(
                "{reason} A restore must not mix with a sync's writes: stop the "
                "sync (the live sync or the sync timer), then restore."
            ),
            reason=str(exc),
        ) from None
    try:
        prior = recover(db)
        present = stored_counts(db)
        if present and not replace:
            raise _refused(db, present, prior)
        before = data_version.read_versions(db)
        db[RESTORE_STATE].replace_one(
            {"_id": MARKER},
            {
                "state": "staging",
                # A name copied from a Latin-1 share holds undecodable bytes (lone
                # surrogates), which no database takes: stored with '?' for each.
                "file": storable(path.name),
                "database": summary.database,
                "created_at": summary.created_at,
                "started_at": utcnow(),
                "owner": lease.owner,
                "host": socket.gethostname(),
                "pid": os.getpid(),
            },
            upsert=True,
        )
        try:
            _stage(db, path, summary, lease)
            _finish_staging(db, path, summary, author, before)
            staged = _names(db, RESTORE_STAGING)
            logins = _login_changes(db)
            sessions = db[APP_SESSIONS].count_documents({})
            # Not taken back once it ran out: writes went on meanwhile (segcore.store.
            # restore_marker), which the swap would throw away.
            lease.hold()
        except LeaseLost:
            _abandon(db, lease)
            raise _lost_hold(path) from None
        except BaseException as exc:  # nothing is swapped in yet: all undone, Ctrl-C included
            _abandon(db, lease)
            if isinstance(exc, SegcoreError) or not isinstance(exc, Exception):
                raise
            raise RestoreFailed(
                N_("{path}: cannot be restored ({reason}); the database was not changed"),
                path=path,
                reason=_reason(exc),
            ) from None
        removed = sorted(set(backed_up_collections(db)) - set(staged) - set(KEPT))
        kept = sum(db[name].estimated_document_count() for name in KEPT)
        added = _swap_or_roll_back(db, staged, path, lease)
    finally:
        lease.release_quietly()
    return RestoreResult(summary, sessions, logins, prior, removed, kept, added)


def _lost_hold(path: Path, midway: bool = False) -> RestoreFailed:
    """Paused or stalled past its lease: stopped before its swap, or `midway` through it."""
    minutes = int(LEASE.total_seconds() // 60)
    if midway:
        return RestoreFailed(
            N_(
                "{path}: the restore stopped while it swapped the restored collections in: it "
                "was paused or stalled for more than {minutes} minutes, so it lost its hold on "
                "the database and changed nothing more. Some collections may hold the backup's "
                "data, the others the data from before: the next restore first puts the data "
                "from before back (`segcore restore FILE` without --replace does only that). "
                "Run `segcore status` to see what is left."
            ),
            path=path,
            minutes=minutes,
        )
    return RestoreFailed(
        N_(
            "{path}: the restore stopped before it changed anything: it was paused or stalled "
            "for more than {minutes} minutes, so it lost its hold on the database (changes "
            "made meanwhile, or another restore, would have been thrown away). The database "
            "was not changed; run the restore again."
        ),
        path=path,
        minutes=minutes,
    )


def _still_holds(marker: dict, lease: Lease) -> bool:
    """The marker is this restore's own and its lease neither ran out nor was taken over."""
    try:
        return marker.get("owner") == lease.owner and lease.hold() is None
    except LeaseLost:
        return False


def _swap_or_roll_back(db: Database, staged: list[str], path: Path, lease: Lease) -> int:
    moved: list[str] = []
    try:
        return _swap(db, staged, lease, moved)
    except LeaseLost:
        marker = db[RESTORE_STATE].find_one({"_id": MARKER}) or {}
        if moved or (marker.get("owner") == lease.owner and marker.get("state") == "swapping"):
            # Nothing more is touched: the marker tells the next restore what to put back.
            raise _lost_hold(path, midway=True) from None
        _abandon(db, lease)  # its marker was no longer its own: nothing was swapped in
        raise _lost_hold(path) from None
    except OperationFailure as exc:  # the server refused a rename: put everything back
        marker = db[RESTORE_STATE].find_one({"_id": MARKER}) or {}
        if not _still_holds(marker, lease):  # another restore's to put back, not this one's
            raise _lost_hold(path, midway=bool(moved)) from None
        _roll_back(db, marker)
        _drop_prefixed(db, RESTORE_STAGING)
        db[RESTORE_STATE].delete_one({"_id": MARKER, "owner": lease.owner})
        raise RestoreFailed(
            N_(
                "{path}: the restored collections could not be swapped in "
                "({reason}); the database was not changed"
            ),
            path=path,
            reason=_reason(exc),
        ) from None
