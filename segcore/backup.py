"""Backups of the app's database that restore: every collection, as a compressed, readable file.

The file is gzip-compressed JSON Lines. The first line says what it is; then one line per
document, `{"c": collection, "d": document}`, in MongoDB's canonical extended JSON (so dates,
ObjectIds, 64-bit integers and binary index parts come back exactly); the last line is the
manifest: documents per collection and the SHA-256 of every line before it. `zcat FILE | less`
shows it to a person; no mongodump is needed, so it works against the embedded server and a
real MongoDB alike.

Writing and reading both stream, so memory stays flat however large the database is. A restore
reads the whole file and checks the manifest before it writes anything: a damaged, truncated or
partial file changes nothing. The training database is never read or written here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterator

from bson import json_util
from pymongo.database import Database

from segcore.core import data_version, history
from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import N_, BackupFileError, RestoreRefused
from segcore.core.schema import META

FORMAT = "segcore-backup"
VERSION = 1
_JSON = json_util.CANONICAL_JSON_OPTIONS
_INSERT_CHUNK = 500  # documents per insert_many: bounded memory, few round trips


@dataclass
class BackupSummary:
    """What a backup holds (from its manifest) and where it is."""

    path: str | None
    database: str
    created_at: str
    counts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""

    @property
    def documents(self) -> int:
        return sum(self.counts.values())


def _collections(db: Database) -> list[str]:
    return sorted(n for n in db.list_collection_names() if not n.startswith("system."))


def write_backup(db: Database, stream: BinaryIO) -> BackupSummary:
    """Write every collection of `db` to the binary `stream` (gzip, JSON Lines, manifest last)."""
    digest = hashlib.sha256()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    summary = BackupSummary(None, db.name, created)
    with gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=6, mtime=0) as out:
        def line(value: str) -> None:
            data = (value + "\n").encode("utf-8")
            digest.update(data)
            out.write(data)

        line(json.dumps({"format": FORMAT, "version": VERSION, "database": db.name,
                         "created_at": created}))
        for name in _collections(db):
            summary.counts[name] = 0
            for doc in db[name].find({}, batch_size=1000):
                line(json_util.dumps({"c": name, "d": doc}, json_options=_JSON))
                summary.counts[name] += 1
        summary.sha256 = digest.hexdigest()
        out.write((json.dumps({"manifest": {"counts": summary.counts, "sha256":
                                            summary.sha256}}) + "\n").encode("utf-8"))
    return summary


def backup_bytes(db: Database) -> bytes:
    """A whole backup in memory, for a download (compressed: a few MB for 50,000 batches)."""
    buffer = io.BytesIO()
    write_backup(db, buffer)
    return buffer.getvalue()


def default_name(database: str, now: datetime | None = None) -> str:
    """`segcore-backup-<database>-<UTC date and time>.jsonl.gz`: sorts by date."""
    now = now or datetime.now(timezone.utc)
    return f"segcore-backup-{database}-{now:%Y%m%d-%H%M%S}.jsonl.gz"


def backup_to_file(db: Database, out: Path | None = None) -> BackupSummary:
    """Write a backup to `out` (a file, or a folder for a dated name; default: here).

    Written to a temporary name and renamed when complete, so a backup stopped half-way
    never looks like a finished one. Raises BackupFileError when the file cannot be written.
    """
    out = Path(out) if out is not None else Path(".")
    path = out / default_name(db.name) if out.is_dir() else out
    partial = path.with_name(path.name + ".partial")
    try:
        with open(partial, "wb") as handle:
            summary = write_backup(db, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as exc:
        raise BackupFileError(N_("{path}: cannot be written ({reason})"), path=path,
                              reason=exc.strerror or exc) from None
    finally:
        if partial.is_file():  # stopped half-way, by a full disk or a database error
            partial.unlink()
    summary.path = str(path)
    return summary


def prune_backups(directory: Path, database: str, keep: int) -> list[Path]:
    """Delete all but the `keep` newest dated backups of `database` in `directory`.

    Only files named by `default_name` are looked at, so other files there are safe. Returns
    the deleted paths.
    """
    dated = sorted(Path(directory).glob(f"segcore-backup-{database}-*.jsonl.gz"))
    old = dated[:-keep] if keep > 0 else []
    for path in old:
        path.unlink()
    return old


def _records(path: Path) -> Iterator[tuple[int, bytes]]:
    """The file's lines, numbered; BackupFileError for a file that is not complete gzip."""
    try:
        with gzip.open(path, "rb") as handle:
            yield from enumerate(handle, start=1)
    except FileNotFoundError:
        raise BackupFileError(N_("{path}: no such file"), path=path) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise BackupFileError(N_("{path}: damaged or truncated ({reason}); nothing was "
                                 "restored"), path=path, reason=exc) \
            from None
    except OSError as exc:
        raise BackupFileError(N_("{path}: cannot be read ({reason})"), path=path,
                              reason=exc.strerror or exc) from None


def _parse_document(path: Path, number: int, raw: bytes) -> tuple[str, dict]:
    try:
        record = json_util.loads(raw.decode("utf-8"), json_options=_JSON)
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise BackupFileError(N_("{path}: line {line} is not a valid document ({reason})"),
                              path=path, line=number, reason=exc) from None
    name, doc = (record.get("c"), record.get("d")) if isinstance(record, dict) else (None, None)
    if not isinstance(name, str) or not name or name.startswith("system.") or "$" in name \
            or not isinstance(doc, dict):
        raise BackupFileError(N_("{path}: line {line} is not a backed-up document"), path=path,
                              line=number)
    return name, doc


def verify_backup(path: Path) -> BackupSummary:
    """Read the whole file and check its header, every line, the counts and the checksum.

    Raises BackupFileError naming the first problem; returns the manifest otherwise.
    """
    path = Path(path)
    digest, counts = hashlib.sha256(), {}
    header = manifest = None
    for number, raw in _records(path):
        if manifest is not None:
            raise BackupFileError(N_("{path}: line {line} follows the manifest"), path=path,
                                  line=number)
        if number == 1:
            header = _header(path, raw)
        elif raw.startswith(b'{"manifest"'):
            manifest = _manifest(path, raw)
            continue
        else:
            name, _doc = _parse_document(path, number, raw)
            counts[name] = counts.get(name, 0) + 1
        digest.update(raw)
    if header is None or manifest is None:
        raise BackupFileError(N_("{path}: incomplete, its manifest is missing; nothing was "
                                 "restored"), path=path)
    if manifest["sha256"] != digest.hexdigest():
        raise BackupFileError(N_("{path}: checksum does not match; the file was changed or "
                                 "damaged"), path=path)
    if {k: v for k, v in manifest["counts"].items() if v} != counts:
        raise BackupFileError(N_("{path}: document counts do not match its manifest"), path=path)
    return BackupSummary(str(path), header["database"], header["created_at"],
                         manifest["counts"], manifest["sha256"])


def _header(path: Path, raw: bytes) -> dict:
    try:
        header = json.loads(raw)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupFileError(N_("{path}: not a segcore backup"), path=path)
    if header.get("version") != VERSION:
        raise BackupFileError(N_("{path}: backup format version {found} is not supported (this "
                                 "segcore reads version {version})"), path=path,
                              found=repr(header.get("version")), version=VERSION)
    return header


def _manifest(path: Path, raw: bytes) -> dict:
    try:
        manifest = json.loads(raw)["manifest"]
        counts, sha = manifest["counts"], manifest["sha256"]
        if isinstance(sha, str) and all(isinstance(k, str) and isinstance(v, int)
                                        for k, v in counts.items()):
            return manifest
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    raise BackupFileError(N_("{path}: its manifest is malformed"), path=path)


def stored_counts(db: Database) -> dict[str, int]:
    """Documents per collection of `db`, only the collections that hold any."""
    counts = {name: db[name].estimated_document_count() for name in _collections(db)}
    return {name: count for name, count in counts.items() if count}


def restore_backup(db: Database, path: Path, author: "str | Actor",
                   replace: bool = False) -> BackupSummary:
    """Restore the backup at `path` into `db`, after checking the whole file.

    Into an empty database, or with `replace` every collection of `db` is dropped first. Raises
    BackupFileError (bad file) or RestoreRefused (data present without `replace`); in both cases
    nothing was written. The caller recreates the indexes (segcore.prepare).
    """
    author = authorize_write(author)
    summary = verify_backup(path)
    present = stored_counts(db)
    if present and not replace:
        raise RestoreRefused(N_("The database {database} already holds data ({counts}); restore "
                                "into an empty one, or use --replace."), database=db.name,
                             counts=", ".join(f"{n} {c}" for n, c in present.items()))
    before = data_version.read_versions(db)
    if replace:
        for name in _collections(db):
            db.drop_collection(name)
    pending: dict[str, list[dict]] = {}
    for number, raw in _records(Path(path)):
        if number == 1 or raw.startswith(b'{"manifest"'):
            continue
        name, doc = _parse_document(Path(path), number, raw)
        pending.setdefault(name, []).append(doc)
        if len(pending[name]) >= _INSERT_CHUNK:
            db[name].insert_many(pending.pop(name), ordered=False)
    for name, docs in pending.items():
        db[name].insert_many(docs, ordered=False)
    history.record(db, [history.Change("restore", "database", "restore", None,
                                       {"file": Path(path).name, "created_at":
                                        summary.created_at, "documents": summary.documents},
                                       author)])
    _move_versions_past(db, before)
    return summary


def _move_versions_past(db: Database, before: dict) -> None:
    """Leave every data version past both the restored one and the one replaced, so no app
    serves a cached read of the replaced data as if it were the restored one."""
    generation, synced = before["batches"]
    db[META].update_one({"_id": data_version.BATCHES_DOC},
                        {"$inc": {"generation": generation + 1, "synced": synced + 1},
                         "$set": {"recent": [None]}}, upsert=True)
    db[META].update_one({"_id": data_version.VERSION_DOC},
                        {"$inc": {t: before[t] + 1 for t in data_version.TOPICS}}, upsert=True)
