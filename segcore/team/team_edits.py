"""Other tools' edits of the team, as a running app follows them.

Segcore's own team writes bump the team's data version (`segcore.store.data_version`); the old
Flask dashboard or mongosh add, rename or remove members without it. A running app keys what
it reads of the team by the data version and by a digest of the team as stored
(`TeamEdits.seen`), so such an edit shows on the next page load, as other tools' batch edits do
(`segcore.views.batch_changes`). The team is a few documents: reading them whole is one round
trip (about 1 ms for a dozen members on the embedded server), cheaper than its change stream,
which must step over every write to any collection since it was last read (300 ms after 5,000
batch writes), and it works on a server without change streams too.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from pymongo.database import Database
from pymongo.errors import PyMongoError

from segcore.store.schema import TEAM
from segcore.team.team import MEMBER_FIELDS

log = logging.getLogger(__name__)

EVERY_S = 1.0  # the team is looked at at most this often per process


def team_digest(db: Database) -> str:
    """A digest of every member as stored: it changes with any edit of the fields the pages
    read, whoever makes it."""
    docs = sorted(repr(sorted(d.items())) for d in db[TEAM].find({}, MEMBER_FIELDS))
    return hashlib.sha256("\n".join(docs).encode()).hexdigest()[:16]


class TeamEdits:
    """The team's digest as last seen, shared by the sessions of one process; thread safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._digest = ""
        self._looked_at = float("-inf")

    def seen(self, db: Database) -> str:
        """The team's digest, read again when EVERY_S has passed since the last look (call it
        before reading the team, so an edit after the read is seen by the next look)."""
        with self._lock:
            if time.monotonic() - self._looked_at < EVERY_S:
                return self._digest
            try:
                self._digest = team_digest(db)
            except PyMongoError as exc:  # the server is away: the page's own read says so
                log.warning("Other tools' team edits not looked for now (%s)", type(exc).__name__)
            else:
                self._looked_at = time.monotonic()
            return self._digest
