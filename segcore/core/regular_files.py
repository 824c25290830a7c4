"""Files in folders other people fill: only regular files are listed or opened.

A named pipe, socket or device in a batch folder would block `open()` forever (a FIFO waits
for a writer) or read an endless stream; a symlink loop fails every stat. They are never
images, so they are skipped, not reported as the folder being unreadable.
"""

from __future__ import annotations

import glob
import os
import stat
from typing import BinaryIO, Iterator

from segcore.core.naming import storable

# What operating systems, NAS indexers and archivers add to a folder, never an image or a mask:
# macOS (`__MACOSX/`, `.AppleDouble/`), Windows (`Thumbs.db`, `$RECYCLE.BIN/`), Synology
# (`@eaDir/…/SYNOFILE_THUMB_M.jpg`, `#recycle/`, `#snapshot/`), QNAP (`@Recycle/`). Hidden
# names (a dot first: `.DS_Store`, AppleDouble `._x`, `.Trashes`) are left out as well.
SYSTEM_NAMES = frozenset(
    {
        "__macosx",
        "@eadir",
        "#recycle",
        "#snapshot",
        "@recycle",
        "@recently-snapshot",
        "$recycle.bin",
        "system volume information",
        "thumbs.db",
        "ehthumbs.db",
        "desktop.ini",
    }
)


def is_system_name(name: str) -> bool:
    """True for a file or folder name that a system or an indexer adds (SYSTEM_NAMES, in any
    case) or that is hidden (a dot first; `.` and `..` are no names): the one rule for a
    batch folder's images and an archive's masks."""
    return (name.startswith(".") and name not in (".", "..")) or name.lower() in SYSTEM_NAMES


def regular_files(
    folder: str | os.PathLike, problems: list[OSError], skip_hidden: bool = True
) -> Iterator[os.DirEntry]:
    """Every regular file under `folder` (a symlink counts when it leads to one), depth first.

    Symlinked folders are not followed (as os.walk); folders that cannot be read are appended
    to `problems` and skipped. System and hidden names (`is_system_name`: `@eaDir`,
    `__MACOSX`, `.DS_Store`, ...) are skipped with `skip_hidden`.
    """
    stack = [os.fspath(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as found:
                entries = sorted(found, key=lambda e: e.name)
        except OSError as exc:
            problems.append(exc)
            continue
        for entry in reversed(entries):
            if skip_hidden and is_system_name(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file():  # follows a symlink; False for pipes, sockets, devices
                    yield entry
            except OSError:  # a symlink loop, or an entry removed meanwhile: not a file
                continue


def is_folder(entry: os.DirEntry) -> bool:
    """True for a folder (or a symlink to one); False for anything else, a symlink loop too."""
    try:
        return entry.is_dir()
    except OSError:  # ELOOP and the like: one odd entry must not stop a scan
        return False


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """Open `path` for reading only if it is a regular file; OSError otherwise.

    Opened without blocking (a FIFO swapped in after a check must not hang the open), then
    checked on the open descriptor, so nothing can change between the check and the read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{os.fspath(path)} is not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def stored_folder_on_disk(stored: str) -> str | None:
    """The one folder on disk that `stored` stands for when undecodable bytes of its path were
    stored as '?' (naming.storable: a folder named in Latin-1), each '?' read as any one
    character. None when `stored` holds no '?', or no folder or several fit."""
    return _stored_on_disk(stored, os.path.isdir)


def stored_file_on_disk(stored: str) -> str | None:
    """The one regular file on disk that `stored` stands for, as `stored_folder_on_disk` finds
    a folder: an image named in Latin-1 (`ri\xf1\xf3n_001.png`, listed as `ri??n_001.png`)."""
    return _stored_on_disk(stored, os.path.isfile)


def _stored_on_disk(stored: str, kind) -> str | None:
    if "?" not in stored:
        return None
    pattern = "?".join(glob.escape(part) for part in stored.split("?"))
    found = [p for p in glob.glob(pattern) if storable(p) == stored and kind(p)]
    return found[0] if len(found) == 1 else None
