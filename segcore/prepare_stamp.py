"""Whether the app's database was prepared by the code that runs now.

`prepare` (indexes, numbering, legacy keys) costs some twenty round trips and the imports of
half the package; a cron sync that finds nothing new would pay it every few minutes for
nothing. So the command line records, once `prepare` has run, a stamp of the code in
`app_meta` (`prepared`), and a routine sync skips `prepare` while the stamp is the same. The
stamp changes with any source file of segcore (its name, size or modification time): new code
prepares again, and a fresh database has no stamp at all.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pymongo.database import Database

from segcore.core.timefmt import utcnow
from segcore.store.schema import META

PREPARED = "prepared"  # the `app_meta` document (segcore.sync.routine reads it too)
_ROOT = Path(__file__).resolve().parent


def code_stamp() -> str:
    """A digest of every segcore source file's path, size and modification time (a scan of
    the package's folders, no file read)."""
    digest = hashlib.blake2b(digest_size=12)
    for folder, dirs, files in sorted(os.walk(_ROOT)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            info = os.stat(os.path.join(folder, name))
            digest.update(f"{folder}/{name}:{info.st_size}:{info.st_mtime_ns};".encode())
    return digest.hexdigest()


def mark_prepared(db: Database, stamp: str) -> None:
    """Record that `prepare` ran to the end with the code of `stamp`. The same code again
    changes nothing: a command that refuses (a restore into a database with data) leaves the
    database exactly as it was."""
    db[META].update_one(
        {"_id": PREPARED},
        {"$set": {"code": stamp}, "$setOnInsert": {"first_at": utcnow()}},
        upsert=True,
    )
