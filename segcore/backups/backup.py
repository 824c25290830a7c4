"""Backups of the app's database that restore: every collection, as a compressed, readable file.

The file is gzip-compressed JSON Lines. The first line (the header) says what it is: the format,
the database it was taken from (its name and its own id, segcore.backups.database_id), when,
under which file name, each collection's indexes and the size of capped ones; then one line per document, `{"c": collection, "d": document}`, in MongoDB's
canonical extended JSON (segcore.backups.backup_codec: every type comes back as it was); the last
line is the manifest: documents per collection and the SHA-256 of every line before it.
`zcat FILE | less` shows it to a person (and a copy uncompressed with gunzip reads as it is); no
mongodump is needed, so it works against the embedded server and a real MongoDB alike.

Writing and reading both stream, so memory stays flat however large the database is. Files are
written 0600 (they hold password and session hashes) under a temporary name, renamed when
complete. Restoring is segcore.backups.backup_restore, rotation segcore.backups.backup_rotation. The training
database is never read or written here.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import json
import os
import stat
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterator

import bson
from bson.errors import BSONError
from pymongo.database import Database
from pymongo.errors import PyMongoError

from segcore.backups import backup_codec, backup_partials
from segcore.backups.backup_collections import (
    collection_options,
    valid_options,
    views,
)
from segcore.backups.backup_indexes import index_specs, unmakeable_index, valid_indexes
from segcore.backups.backup_wrappers import refuse_other_format, refuse_wrapped_in_gzip
from segcore.backups.database_id import database_id, server_identities, server_identity
from segcore.core.errors import N_, BackupFileError
from segcore.store import restore_marker
from segcore.store.schema import RESTORE_PREVIOUS, RESTORE_STAGING

FORMAT = "segcore-backup"
VERSION = 2
READABLE = (1, 2)  # version 1: no indexes nor file name in the header
_PARSE_ERRORS = (ValueError, TypeError, KeyError, OverflowError, RecursionError, BSONError)
# The most of a first line read to tell a backup: a header lists each collection's indexes, a
# few KB; a compressed disk image (a run of zeros with no newline) was decompressed whole.
HEADER_LIMIT = 8 * 1024 * 1024


@dataclass
class BackupSummary:
    """What a backup holds (from its header and manifest) and where it is."""

    path: str | None
    database: str
    created_at: str
    counts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""
    file: str | None = None  # the name it was written under (None: a download)
    # The database's own id (None: written before backups carried it), which `--keep` checks,
    # with the server it was taken on (None: written before backups named it).
    database_id: str | None = None
    server: str | None = None
    rotate: bool = False  # a dated backup in a folder, which `--keep` may delete
    indexes: dict[str, list] | None = None  # None in a version 1 file
    # Collections made with options to keep (capped ones: {"capped", "size", "max"}).
    options: dict[str, dict] = field(default_factory=dict)
    views: list[str] = field(default_factory=list)  # not backed up: they hold no documents
    # Writing one: the unfinished files of killed backups removed, and those left with why
    # (segcore.backups.backup_partials).
    removed_unfinished: list[str] = field(default_factory=list)
    unfinished_left: list[list[str]] = field(default_factory=list)

    @property
    def documents(self) -> int:
        return sum(self.counts.values())

    @property
    def created(self) -> datetime:
        return parse_time(self.created_at)


def parse_time(text: str) -> datetime:
    """A header's `created_at` as an aware UTC datetime (ValueError when it is not one)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def write_backup(
    db: Database, stream: BinaryIO, file: str | None = None, rotate: bool = False
) -> BackupSummary:
    """Write every collection of `db` to the binary `stream` (gzip, JSON Lines, manifest last).

    `file` is the name the backup is written under, `rotate` whether `--keep` may delete it.
    """
    digest = hashlib.sha256()
    created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    collections = collection_options(db)
    names = sorted(collections)
    summary = BackupSummary(
        None,
        db.name,
        created,
        file=file,
        rotate=rotate,
        database_id=database_id(db),
        server=server_identity(db),
        indexes={n: index_specs(db[n]) for n in names},
        options={n: options for n, options in collections.items() if options.get("capped")},
        views=views(db),
    )
    with gzip.GzipFile(fileobj=stream, mode="wb", compresslevel=6, mtime=0) as out:

        def line(value: str) -> None:
            data = (value + "\n").encode("utf-8")
            digest.update(data)
            out.write(data)

        line(
            backup_codec.dumps(
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "database": db.name,
                    "database_id": summary.database_id,
                    "server": summary.server,
                    "created_at": created,
                    "file": file,
                    "rotate": rotate,
                    "indexes": summary.indexes,
                    "options": summary.options,
                }
            )
        )
        for name in names:
            summary.counts[name] = 0
            source = db[name].with_options(codec_options=backup_codec.READ_OPTIONS)
            for doc in source.find({}, batch_size=1000):
                line(backup_codec.dumps({"c": name, "d": doc}))
                summary.counts[name] += 1
        summary.sha256 = digest.hexdigest()
        out.write(
            (
                json.dumps({"manifest": {"counts": summary.counts, "sha256": summary.sha256}})
                + "\n"
            ).encode("utf-8")
        )
    return summary


def backup_bytes(db: Database) -> bytes:
    """A whole backup in memory, for a download (compressed: a few MB for 50,000 batches).

    Raises RestoreIncomplete, as backup_to_file, while a restore runs or after one was
    interrupted, and when one ran while the backup was read.
    """
    restore_before = restore_marker.backup_guard(db)
    buffer = io.BytesIO()
    _read_whole(db, restore_before, lambda: write_backup(db, buffer))
    restore_marker.refuse_if_restored(db, restore_before)
    return buffer.getvalue()


def default_name(database: str, now: datetime | None = None) -> str:
    """`segcore-backup-<database>-<UTC date and time>.jsonl.gz`: sorts by date."""
    now = now or datetime.now(timezone.utc)
    return f"segcore-backup-{database}-{now:%Y%m%d-%H%M%S}.jsonl.gz"


def _folder(out: Path) -> None:
    """Create the backup folder, readable by its owner only, when it does not exist yet."""
    try:
        out.mkdir(mode=0o700, parents=True)
        out.chmod(0o700)  # mkdir's mode is narrowed by the umask, never widened: say it exactly
    except FileExistsError:
        if not out.is_dir():
            raise BackupFileError(
                N_("{path}: exists and is not a folder; nothing was written"), path=out
            ) from None
    except OSError as exc:
        raise BackupFileError(
            N_("{path}: the folder cannot be created ({reason})"),
            path=out,
            reason=exc.strerror or exc,
        ) from None


def _dated(out: Path, first: str, number: int) -> Path:
    """The `number`th dated name of a backup started when `first` names (`-2`, `-3`, ...)."""
    return out / (first if number == 1 else first.replace(".jsonl.gz", f"-{number}.jsonl.gz"))


def _claim_dated(out: Path, database: str) -> tuple[int, str, Path]:
    """A dated name in `out` that no file holds and no other running backup writes, with the
    locked temporary file claiming it: (descriptor, temporary path, name).

    Two backups started in one second pick the same name. Each creates its temporary file for
    the name first and then looks: one that finds another's temporary file (or the finished
    file) takes the next number. Whichever looks second sees the other's file, so two backups
    never both keep one name; at worst both move on and settle on the next numbers.
    """
    first, number = default_name(database), 1
    while True:
        path = _dated(out, first, number)
        number += 1
        if os.path.lexists(path):
            continue
        handle, partial = backup_partials.create(out, path.name)
        if not os.path.lexists(path) and not backup_partials.others(out, path.name, partial):
            return handle, partial, path
        os.unlink(partial)
        os.close(handle)


# A folder whose file system has no hard links (FAT, some network shares): `_publish` renames.
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS)


def _publish(partial: str, path: Path, rotate: bool) -> Path:
    """Give the finished backup its name; returns that name.

    A named file is replaced (it was checked to be a backup of this database). A dated name is
    claimed with a hard link, which never replaces a file: one that another process put there
    meanwhile (a backup of an earlier version, which claimed no name) keeps it, and this backup
    takes the next free number. Its header then names the other file, so `--keep` never deletes
    it (as for a copy renamed by hand).
    """
    if not rotate:
        os.replace(partial, path)
        return path
    first, number = path.name, 1
    while True:
        candidate = _dated(path.parent, first, number)
        number += 1
        try:
            os.link(partial, candidate)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            if os.path.lexists(candidate):
                continue
            os.replace(partial, candidate)
            return candidate
        os.unlink(partial)
        return candidate


def _check_replaceable(path: Path, database: str, identity: str, servers: tuple[str, ...]) -> None:
    """Only a backup of this same database is ever overwritten by a new one (by its id and
    server, `servers` naming this one: database_id.server_identities; by its name for one
    written before backups carried them, as the nightly file of an upgrade): never one of a
    copy of it on another server, nor its own taken on another server (it moved)."""
    if not os.path.lexists(path):
        return
    header = read_header_quietly(path)
    if header and header.database_id == identity and header.server not in (None, *servers):
        raise BackupFileError(
            N_(
                "{path}: already exists and is this database's backup taken on another server "
                "({server}; this one is {current}), so it is not replaced. If the database "
                "moved, move or delete the file; nothing was written"
            ),
            path=path,
            server=header.server,
            current=servers[0],
        )
    if (
        header is None
        or header.database != database
        or header.database_id not in (None, identity)
        or header.server not in (None, *servers)
    ):
        raise BackupFileError(
            N_("{path}: already exists and is not a backup of {database}; nothing was written"),
            path=path,
            database=database,
        )


def backup_to_file(db: Database, out: Path | None = None, folder: bool = False) -> BackupSummary:
    """Write a backup to `out`: a file, or a folder (given as one, or `folder`) for a dated name.

    A missing folder is created 0700; the file is written 0600 under a temporary name and
    renamed when complete, so a backup stopped half-way never looks like a finished one; the
    temporary files that killed backups of the same file or folder left are removed first
    (backup_partials). An existing file is replaced only when it is a backup of the same
    database. Raises BackupFileError when the file cannot be written.
    """
    out = Path(out) if out is not None else Path(".")
    rotate = bool(folder or out.is_dir())
    if rotate:
        _folder(out)
    else:
        _check_replaceable(out, db.name, database_id(db), server_identities(db))
    restore_before = restore_marker.backup_guard(db)
    swept = backup_partials.sweep(
        out if rotate else out.parent, db.name, None if rotate else out.name
    )
    path, partial, handle = out, None, None
    try:
        if rotate:
            handle, partial, path = _claim_dated(out, db.name)
        else:
            handle, partial = backup_partials.create(path.parent, path.name)
        with open(handle, "wb", closefd=False) as stream:  # the lock stays until the rename
            summary = _read_whole(
                db,
                restore_before,
                lambda: write_backup(db, stream, file=path.name, rotate=rotate),
            )
            stream.flush()
            os.fsync(stream.fileno())
        restore_marker.refuse_if_restored(db, restore_before)
        path = _publish(partial, path, rotate)
        partial = None
        _sync_folder(path.parent)
    except OSError as exc:
        raise BackupFileError(
            N_("{path}: cannot be written ({reason})"), path=path, reason=exc.strerror or exc
        ) from None
    except BSONError as exc:
        raise BackupFileError(
            N_(
                "{path}: a document cannot be read from the database ({reason});"
                " nothing was written"
            ),
            path=path,
            reason=exc,
        ) from None
    finally:
        if partial is not None:  # stopped half-way
            backup_partials.remove_quietly(partial)
        if handle is not None:
            os.close(handle)
    summary.path = str(path)
    summary.removed_unfinished = [str(p) for p in swept.removed]
    summary.unfinished_left = [[str(p), why] for p, why in swept.left_alone]
    return summary


def _read_whole(db: Database, before: object, write):
    """`write()`; a read that failed because a restore ran meanwhile (its renames end the
    backup's cursor: "cursor not found") raises RestoreIncomplete saying so."""
    try:
        return write()
    except PyMongoError:
        restore_marker.refuse_if_restored(db, before)
        raise


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (a crash right after it keeps the new name)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


GZIP_MAGIC = b"\x1f\x8b"


def _records(path: Path) -> Iterator[tuple[int, bytes]]:
    """The file's lines, numbered; BackupFileError for a file that is not complete gzip, or
    whose first line is longer than any backup's header (read only that far).

    A backup uncompressed with gunzip (to read it) is read as it is: every line is intact."""
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise BackupFileError(
                N_("{path}: not a regular file (a folder, a pipe or a device); not a backup"),
                path=path,
            )
        with open(path, "rb") as first:
            start = first.read(512)
        plain = start[:1] == b"{"  # JSON Lines start so; gzip never does (1f 8b)
        if not plain and start[:2] != GZIP_MAGIC:
            refuse_other_format(path, start)
        with open(path, "rb") if plain else gzip.open(path, "rb") as handle:
            if not plain:
                inner = handle.read(512)
                if inner[:1] != b"{":
                    refuse_wrapped_in_gzip(path, inner)
                handle.seek(0)
            first = handle.readline(HEADER_LIMIT + 1)
            if len(first) > HEADER_LIMIT:
                raise BackupFileError(
                    N_(
                        "{path}: not a segcore backup (its first line is longer than a "
                        "backup's header)"
                    ),
                    path=path,
                )
            if first:
                yield 1, first
                yield from enumerate(handle, start=2)
    except FileNotFoundError:
        raise BackupFileError(N_("{path}: no such file"), path=path) from None
    except EOFError:  # Python's words ("Compressed file ended before ...") said plainly
        raise BackupFileError(
            N_("{path}: truncated, its compressed data ends early; nothing was restored"),
            path=path,
        ) from None
    except (gzip.BadGzipFile, zlib.error):
        raise BackupFileError(
            N_("{path}: damaged, its compressed data cannot be read; nothing was restored"),
            path=path,
        ) from None
    except OSError as exc:
        raise BackupFileError(
            N_("{path}: cannot be read ({reason})"), path=path, reason=exc.strerror or exc
        ) from None


def parse_document(path: Path, number: int, raw: bytes) -> tuple[str, dict]:
    """(collection, document) of one line; BackupFileError when it is not a storable one."""
    try:
        record = backup_codec.loads(raw.decode("utf-8"))
        name, doc = (record.get("c"), record.get("d")) if isinstance(record, dict) else (None, None)
        if isinstance(doc, dict):
            bson.encode(doc)  # storable as it is: keys, sizes, integer ranges
    except _PARSE_ERRORS as exc:
        raise BackupFileError(
            N_("{path}: line {line} is not a valid document ({reason})"),
            path=path,
            line=number,
            reason=exc,
        ) from None
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(("system.", RESTORE_STAGING, RESTORE_PREVIOUS))
        or "$" in name
        or "\0" in name
        or not isinstance(doc, dict)
    ):
        raise BackupFileError(
            N_("{path}: line {line} is not a backed-up document"), path=path, line=number
        )
    return name, doc


def documents(path: Path, summary: BackupSummary) -> Iterator[tuple[str, dict]]:
    """Every (collection, document) of a backup verify_backup returned `summary` for, streamed.

    The checksum is computed again on the way: a file changed since it was verified raises
    BackupFileError after its last document, before a restore swaps anything in.
    """
    digest = hashlib.sha256()
    for number, raw in _records(Path(path)):
        if raw.startswith(b'{"manifest"'):
            break
        digest.update(raw)
        if number > 1:
            yield parse_document(Path(path), number, raw)
    if digest.hexdigest() != summary.sha256:
        raise BackupFileError(
            N_("{path}: changed while it was being restored; nothing was restored"), path=path
        )


def verify_backup(path: Path, check_documents: bool = True) -> BackupSummary:
    """Read the whole file and check its header, every line, the counts and the checksum.

    `check_documents=False` checks the checksum only (rotation: the file is still whole).
    Raises BackupFileError naming the first problem; returns the header and manifest otherwise.
    """
    path = Path(path)
    digest, counts = hashlib.sha256(), {}
    header = manifest = None
    for number, raw in _records(path):
        if manifest is not None:
            raise BackupFileError(
                N_("{path}: line {line} follows the manifest"), path=path, line=number
            )
        if number == 1:
            header = _header(path, raw)
        elif raw.startswith(b'{"manifest"'):
            manifest = _manifest(path, raw)
            continue
        elif check_documents:
            name, _doc = parse_document(path, number, raw)
            counts[name] = counts.get(name, 0) + 1
        digest.update(raw)
    if header is None:
        raise BackupFileError(N_("{path}: empty; not a backup"), path=path)
    if manifest is None:
        raise BackupFileError(
            N_("{path}: incomplete, its manifest is missing; nothing was restored"), path=path
        )
    if manifest["sha256"] != digest.hexdigest():
        raise BackupFileError(
            N_("{path}: checksum does not match; the file was changed or damaged"), path=path
        )
    if check_documents and {k: v for k, v in manifest["counts"].items() if v} != counts:
        raise BackupFileError(N_("{path}: document counts do not match its manifest"), path=path)
    header.path, header.counts, header.sha256 = str(path), manifest["counts"], manifest["sha256"]
    return header


def read_header(path: Path) -> BackupSummary:
    """Only the first line: what the file says it is (BackupFileError when not a backup)."""
    for _number, raw in _records(Path(path)):
        return _header(Path(path), raw)
    raise BackupFileError(N_("{path}: empty; not a backup"), path=path)


def read_header_quietly(path: Path) -> BackupSummary | None:
    """The header, or None for anything that is not a readable segcore backup."""
    try:
        return read_header(path)
    except BackupFileError:
        return None


def _header(path: Path, raw: bytes) -> BackupSummary:
    try:
        header = backup_codec.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, *_PARSE_ERRORS):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupFileError(N_("{path}: not a segcore backup"), path=path)
    if header.get("version") not in READABLE:
        raise BackupFileError(
            N_(
                "{path}: backup format version {found} is not supported (this "
                "segcore reads versions 1 and 2)"
            ),
            path=path,
            found=repr(header.get("version")),
        )
    database, created, file = header.get("database"), header.get("created_at"), header.get("file")
    identity, server = header.get("database_id"), header.get("server")
    if not isinstance(database, str) or not database.strip():
        raise BackupFileError(
            N_("{path}: its header names no database; not a usable backup"), path=path
        )
    try:
        parse_time(created)
    except (TypeError, ValueError):
        raise BackupFileError(
            N_("{path}: its header has no valid date; not a usable backup"), path=path
        ) from None
    indexes, options = header.get("indexes"), header.get("options", {})
    if (
        not (file is None or isinstance(file, str))
        or not (identity is None or isinstance(identity, str) and identity)
        or not (server is None or isinstance(server, str))
        or not valid_indexes(indexes, header)
        or not valid_options(options)
    ):
        raise BackupFileError(N_("{path}: its header is malformed"), path=path)
    bad = unmakeable_index(indexes or {})
    if bad:
        raise BackupFileError(
            N_(
                "{path}: its header lists an index that cannot be made ({collection}: "
                "{index}, key {key}); not a usable backup"
            ),
            path=path,
            collection=bad[0],
            index=bad[1],
            key=bad[2],
        )
    return BackupSummary(
        None,
        database,
        created,
        file=file,
        rotate=header.get("rotate") is True,
        database_id=identity,
        server=server,
        indexes=indexes,
        options=options,
    )


def _manifest(path: Path, raw: bytes) -> dict:
    try:
        manifest = json.loads(raw)["manifest"]
        counts, sha = manifest["counts"], manifest["sha256"]
        if isinstance(sha, str) and all(
            isinstance(k, str) and isinstance(v, int) for k, v in counts.items()
        ):
            return manifest
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    raise BackupFileError(N_("{path}: its manifest is malformed"), path=path)
