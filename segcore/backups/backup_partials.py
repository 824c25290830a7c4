"""Unfinished backup files: the temporary file a backup writes, and those a killed one leaves.

A backup is written under a hidden temporary name next to its file,
`.<file name>.<8 random characters>.partial` (0600), and renamed when complete. A `backup`
killed while writing (a reboot during the nightly timer, SIGKILL) leaves that file behind: a
partial copy of the database, password and session hashes included, which nothing else ever
removes. The next backup into the same folder removes those of its own (`sweep`) and says so.

Which files: only names this code writes for this database there: the temporary name of a dated
backup of the database (`.segcore-backup-<database>-<YYYYMMDD>-<HHMMSS>[-n].jsonl.gz.` + 8
characters + `.partial`), or of the very file `--out` names; regular files only (never a link,
a folder or a pipe named so). `--keep` rotation never looks at them, nor does this at anything
else.

When: only when no running process writes it. The writer holds an exclusive `flock` on its
temporary file from creation until after the rename (`create`); the kernel releases that lock
however the process ends (SIGKILL included; a reboot clears every lock). So a file whose lock
can be taken at once is written by no running backup; it is unlinked while the lock is held.
The one moment this cannot see is a writer that has created its file and not locked it yet: the
writer then finds, once it holds the lock, that its name no longer names its file, and starts
again under a new name, so neither side loses anything. A file locked by a running backup (two
backups into one folder at once) is left alone and named. Age is not the rule: a backup of a
large database on a slow disk may write for longer than any age one could pick, while a killed
one's file would have to wait until it is that old. The case the lock cannot tell: a backup of
an earlier version of segcore (which took no lock) running at the very same moment; its
rename would then fail and it would say so, its data untouched.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SUFFIX = ".partial"
_RANDOM = r"[a-z0-9_]{8}"  # the characters and length of tempfile.mkstemp's random part
_DATED = r"\d{8}-\d{6}(-\d+)?\.jsonl\.gz"  # backup.default_name and its "-2" for one second
WRITING = "being written by a backup running now"


@dataclass
class Sweep:
    """What `sweep` did: unfinished files removed, and those left alone with why."""

    removed: list[Path] = field(default_factory=list)
    left_alone: list[tuple[Path, str]] = field(default_factory=list)


def create(folder: Path, name: str) -> tuple[int, str]:
    """A new temporary file for the backup `name` in `folder`, 0600, its lock held by the
    returned descriptor (keep it open until the file is renamed): (descriptor, path)."""
    while True:
        handle, path = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=SUFFIX)
        try:
            os.fchmod(handle, 0o600)
            fcntl.flock(handle, fcntl.LOCK_EX)  # waits while a sweep that took it removes it
            if _still_named(handle, path):
                return handle, path
        except BaseException:
            os.close(handle)
            raise
        os.close(handle)  # removed by a sweep before this process locked it: a new name


def _still_named(descriptor: int, path: str) -> bool:
    try:
        return os.path.samestat(os.fstat(descriptor), os.lstat(path))
    except FileNotFoundError:
        return False


def others(folder: Path, name: str, own: str) -> bool:
    """Whether `folder` holds a temporary file of the backup `name` besides `own`: another
    backup claimed that name (segcore.backups.backup), or a killed one's file the sweep could
    not remove. Locked or not: one created a moment ago may not be locked yet."""
    wanted = pattern("", name)
    try:
        return any(wanted.fullmatch(n) and n != os.path.basename(own) for n in os.listdir(folder))
    except OSError:
        return False


def pattern(database: str, target: str | None = None) -> re.Pattern:
    """The temporary names of this database's dated backups, or of the file `target`."""
    named = re.escape(target) if target else re.escape(f"segcore-backup-{database}-") + _DATED
    return re.compile(r"\." + named + r"\." + _RANDOM + re.escape(SUFFIX))


def sweep(folder: Path, database: str, target: str | None = None) -> Sweep:
    """Remove from `folder` the unfinished files of backups of `database` (of the file `target`
    when given) that no running process writes (see above). Nothing raises: a folder that
    cannot be listed is the backup's own write to report."""
    done = Sweep()
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return done
    wanted = pattern(database, target)
    for name in names:
        if wanted.fullmatch(name):
            why = _remove_unless_written(Path(folder) / name)
            if why is None:
                done.removed.append(Path(folder) / name)
            elif why:
                done.left_alone.append((Path(folder) / name, why))
    return done


def remove_quietly(partial: str) -> None:
    """Remove a backup's temporary file after it stopped half-way. A folder that stopped being
    writable meanwhile (made read-only, a disk remounted so) keeps it: the backup's error
    said so already, and the next backup into the folder removes it (`sweep`). Its hidden
    temporary name is never taken for a backup."""
    try:
        if os.path.lexists(partial):
            os.unlink(partial)
    except OSError:
        pass


def _remove_unless_written(path: Path) -> str | None:
    """None once removed, else why not ("" when it went away meanwhile)."""
    try:  # never follows a link; a pipe named so does not block the open
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return "not a regular file" if exc.errno == errno.ELOOP else _reason(exc)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return "not a regular file"
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return WRITING
        if not _still_named(descriptor, str(path)):  # renamed or replaced since it was opened
            return ""
        os.unlink(path)
        return None
    except OSError as exc:
        return _reason(exc)
    finally:
        os.close(descriptor)


def _reason(exc: OSError) -> str:
    return f"cannot be removed ({exc.strerror or exc})"
