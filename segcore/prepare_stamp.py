"""Whether the app's database was prepared by the code that runs now.

`prepare` (indexes, numbering, legacy keys) costs some twenty round trips and the imports of
half the package; a cron sync that finds nothing new would pay it every few minutes for
nothing. So the command line records, once `prepare` has run, a stamp of the code in
`app_meta` (`prepared`), and a routine sync skips `prepare` while the stamp is the same. The
stamp changes with any source file of segcore (its name, size or modification time): new code
prepares again, and a fresh database has no stamp at all (segcore.core.code_stamp).
"""

from __future__ import annotations

from pymongo.database import Database

from segcore.core.timefmt import utcnow
from segcore.store.schema import META, PREPARED


def mark_prepared(db: Database, stamp: str) -> None:
    """Record that `prepare` ran to the end with the code of `stamp`. The same code again
    changes nothing: a command that refuses (a restore into a database with data) leaves the
    database exactly as it was."""
    db[META].update_one(
        {"_id": PREPARED},
        {"$set": {"code": stamp}, "$setOnInsert": {"first_at": utcnow()}},
        upsert=True,
    )
