"""A stamp of the code that runs now, for what is stored by one version of the code and must
not be trusted by another (segcore.prepare_stamp, segcore.views.row_snapshot)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent  # the segcore package


def code_stamp() -> str:
    """A digest of every segcore source file's path, size and modification time (a scan of
    the package's folders, no file read): any change of the code changes it."""
    digest = hashlib.blake2b(digest_size=12)
    for folder, dirs, files in sorted(os.walk(_ROOT)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            info = os.stat(os.path.join(folder, name))
            digest.update(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns};".encode())
    return digest.hexdigest()
