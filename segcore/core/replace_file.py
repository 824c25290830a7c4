"""Writing a file the user names without ever leaving it cut: a temporary file, then a rename.

`Path.write_text` empties the file first: on a full disk (or past a file size limit) last
week's report at that path would be left empty or cut. Here the new text goes to a temporary
file next to it, is flushed to disk, and only then takes the name; a failure removes the
temporary file and leaves the old one as it was. A link is followed: its target is replaced,
the link stays. The new file gets the old one's permissions, or the usual ones for a new file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_replacing(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all. Raises OSError, the old file untouched."""
    target = Path(os.path.realpath(path))
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as out:
            os.fchmod(out.fileno(), _mode(target))
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass  # already renamed, or its folder is gone: nothing of it is left to remove
        raise


def _mode(target: Path) -> int:
    """The old file's permissions, or those `open()` would give a new file (0666 less umask)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
