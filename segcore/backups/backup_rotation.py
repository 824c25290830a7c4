"""`backup --keep N`: delete old backups, only ever ones this product wrote for this database.

A file is a candidate only when its own header says so: a segcore backup of this database
(its name, and its own id with the server it was taken on: segcore.backups.database_id, as
another server's database, or a copy of this one, may have the same name and write to the
same shared folder), written by `backup --out FOLDER`
under a dated name that it still has (a copy renamed by hand keeps a header naming the old
file, so it is never a candidate), and complete (its checksum matches). A file naming no id
(written before backups carried one, version 1 files included) cannot be told from another
server's, so it is never a candidate; a file naming no file is a download from the app, never
a candidate. Candidates are ordered by the time inside them; the newest N stay, counting the
one just written, which is never deleted. Everything else in the folder (other files, folders,
links, other databases' backups, copies, damaged files) is left alone, and each file named
like a backup is named with why (the README promises that line), but for another database's
backup under its own name: plainly its own.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from segcore.backups.backup import BackupSummary, read_header, verify_backup
from segcore.core.errors import N_, BackupFileError

_PREFIX = "segcore-backup-"


@dataclass
class Rotation:
    """What `--keep` did: deleted files, and files named like backups it left alone, with why."""

    deleted: list[Path] = field(default_factory=list)
    left_alone: list[tuple[Path, str]] = field(default_factory=list)


def _legacy_name(database: str) -> re.Pattern:
    return re.compile(re.escape(f"{_PREFIX}{database}-") + r"\d{8}-\d{6}(-\d+)?\.jsonl\.gz")


def _not_mine(
    path: Path, header: BackupSummary, database: str, identity: str, servers: tuple[str, ...]
) -> str | None:
    """Why a backup of `database` (by name) is not one --keep wrote under this name for this
    very database (`identity`, its id, on the server `servers` name), or None when it is."""
    if header.database_id is None:
        return (
            "written before backups carried their database's id: --keep cannot tell it from "
            f"another server's backup of a database named {database}, so it never deletes it "
            "(delete it by hand once it is not needed)"
        )
    if header.database_id != identity:
        return (
            f"a backup of another database named {database} (its id differs: another "
            "server's, or a copy restored elsewhere)"
        )
    if header.server is None:
        return (
            "written before backups named their server: --keep cannot tell it from a backup "
            "of a copy of this database on another server, so it never deletes it (delete it "
            "by hand once it is not needed)"
        )
    if header.server not in servers:
        return (
            f"a backup of a copy of this database on another server ({header.server}; this "
            f"one is {servers[0]}): its data was copied there, or this database moved since; "
            "--keep never deletes it"
        )
    if header.file is None:
        return (
            "downloaded from the app (its header names no file): --keep deletes only what "
            "backup --out FOLDER wrote"
        )
    if header.file != path.name:
        return (
            f"a copy of {header.file} (its header names that file): --keep deletes a backup "
            "only under the name it was written to"
        )
    if not header.rotate:
        return (
            "written by backup --out to this very file, not into a folder: --keep never deletes it"
        )
    return None


def _candidate(
    path: Path, database: str, identity: str, servers: tuple[str, ...]
) -> tuple[BackupSummary | None, str | None]:
    """(its header, None) when `path` is a backup --keep may delete, else (None, why not): the
    reason is None for another database's backup under a name of its own."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    if not stat.S_ISREG(mode):
        return None, "not a regular file"
    try:
        header = read_header(path)
    except BackupFileError:
        return None, "not a segcore backup"
    if header.database != database:  # said only under a name like this database's backups
        dated_like_mine = _legacy_name(database).fullmatch(path.name) is not None
        return None, f"a backup of database {header.database}" if dated_like_mine else None
    why = _not_mine(path, header, database, identity, servers)
    if why:
        return None, why
    try:
        verify_backup(path, check_documents=False)
    except BackupFileError:
        return None, "damaged or incomplete (its checksum does not match or it is cut short)"
    return header, None


def prune_backups(
    directory: Path,
    database: str,
    keep: int,
    written: Path,
    identity: str,
    servers: tuple[str, ...],
) -> Rotation:
    """Delete all but the `keep` newest backups of `database` in `directory` (see above).

    `identity` is the database's own id and `servers` name the server it is on
    (segcore.backups.database_id.server_identities); `written` is the
    backup just made: it is counted among the `keep` and never deleted.
    Files that cannot be deleted are reported in `left_alone`; nothing raises for them.
    """
    rotation, found = Rotation(), []
    written = Path(written)
    try:
        entries = sorted(Path(directory).iterdir())
    except OSError as exc:
        raise BackupFileError(
            N_("{path}: the folder cannot be listed ({reason}); no backup was deleted"),
            path=directory,
            reason=exc.strerror or exc,
        ) from None
    for entry in entries:
        if entry.name == written.name:
            continue
        header, why = _candidate(entry, database, identity, servers)
        if header is not None:
            found.append((header.created, entry.name, entry))
        elif why and entry.name.startswith(_PREFIX):
            rotation.left_alone.append((entry, why))
    found.sort(reverse=True)
    for _created, _name, path in found[max(keep - 1, 0) :]:
        try:
            path.unlink()
            rotation.deleted.append(path)
        except OSError as exc:
            rotation.left_alone.append((path, f"cannot be deleted ({exc.strerror or exc})"))
    return rotation
