"""Other tools' edits of the team, as a running app follows them.

Segcore's own team writes bump the team's data version (`segcore.store.data_version`); the old
Flask dashboard or mongosh add, rename or remove members without it. A running app keys what
it reads of the team by the data version and by how many times the team's change stream showed
a change since the process started to follow it (`TeamEdits.seen`), so such an edit shows on
the next page load, as other tools' batch edits do (`segcore.views.batch_changes`). The team is
a few documents: any change means reading it again, so only the number of changes is kept.
"""

from __future__ import annotations

import logging
import threading
import time

from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError

from segcore.store.change_stream import current_token, replay
from segcore.store.schema import TEAM

log = logging.getLogger(__name__)

EVERY_S = 1.0  # the stream is asked at most this often per process


class TeamEdits:
    """Where the team's change stream stood when last asked, and how many times it has shown
    a change since; shared by the sessions of one process, thread safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token: dict | None = None
        self._following = True  # False on a server without change streams
        self._asked_at = float("-inf")
        self.changes = 0

    def seen(self, db: Database) -> int:
        """How many times the team was seen changed, by anyone, since the first call (which
        takes the stream's position: call it before the team is read, so nothing after that
        read is missed). 0 for good on a server without change streams (a Reload, which clears
        the app's cached reads, shows other tools' edits there)."""
        with self._lock:
            if not self._following or time.monotonic() - self._asked_at < EVERY_S:
                return self.changes
            self._asked_at = time.monotonic()
            try:
                self._ask(db)
            except PyMongoError as exc:  # the server is away: the page's own read says so
                log.warning("Other tools' team edits not followed now (%s)", type(exc).__name__)
            return self.changes

    def _ask(self, db: Database) -> None:  # under the lock
        if self._token is None:
            self._token = current_token(db[TEAM])
            if self._token is None:
                self._following = False
                log.info("No change stream: other tools' team edits show on a Reload")
            return
        found = []
        try:
            self._token = replay(db[TEAM], self._token, found.append, await_ms=1, batch_size=100)
        except OperationFailure as exc:  # the history no longer reaches back: start again
            log.info("Team change stream restarted (%s)", str(exc).split(",", 1)[0][:120])
            self._token = current_token(db[TEAM])
            found.append(None)
        if found:
            self.changes += 1
