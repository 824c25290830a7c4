"""Preparing the app's database once per process: indexes, and keys for legacy members.

Everything is quick once done, and quick on small collections. The one slow step is indexing a
large production batch list that has never been indexed (50,000 batches: about 15 s on the
embedded server, which serves nothing else meanwhile); the app runs it in the background after
its first page (`BackgroundIndexing`), the command line in line (`prepare`).
"""

from __future__ import annotations

import threading
import time

from segcore.archives import listing_store
from segcore.core.naming import printable
from segcore.core.phrases import N_, Phrase
from segcore.masks import receipts
from segcore.notify import notify_outbox
from segcore.store import history
from segcore.store.connection import Databases
from segcore.sync.records import sync_runs
from segcore.team import auth, team
from segcore.work import batches

# Without a first page to wait for (a test, a script), the background step starts after this.
START_DELAY_S = 120.0


def prepare(databases: Databases) -> list[str]:
    """Create every index segcore relies on; never writes to the training database.

    Returns warnings for the user (legacy team members whose names collide or are missing).
    """
    warnings = prepare_quickly(databases)
    batches.ensure_indexes(databases.work)
    return warnings


SAME_NAME = N_(
    "Team member '{name}' has the same name as another one (up to case, accents, spacing or "
    "invisible characters); rename or remove one of them."
)
NO_NAME = N_("A team member has no name (stored: {stored}); give it one or remove it.")


def prepare_quickly(databases: Databases) -> list[str]:
    """Everything but the batch list's indexes (see `missing_batch_indexes`): the unique keys
    that guard team and login writes and the indexes of the app's own, smaller collections.

    Returns warnings for the user (legacy team members whose names collide or are missing).
    """
    db = databases.work
    sync_runs.ensure_indexes(db)
    history.ensure_indexes(db)
    auth.ensure_indexes(db)
    notify_outbox.ensure_indexes(db)
    receipts.ensure_indexes(db)
    listing_store.ensure_indexes(db)
    return team_warnings(databases)


def team_warnings(databases: Databases) -> list[str]:
    """Give legacy members their name keys (`team.ensure_indexes`: a duplicate left alone
    after the other was removed gets its key now) and warn of those whose names collide or are
    missing. Quick: the team is a few documents; the app runs it again after each team change.
    """
    collisions = team.ensure_indexes(databases.work)
    return [
        # as stored, its invisible characters shown: "Flor\u200b" next to "Flor"
        Phrase(SAME_NAME, name=printable(" ".join(str(name).split())))
        if team.has_a_name(name)
        else Phrase(NO_NAME, stored=printable(repr(name)))
        for name in collisions
    ]


class BackgroundIndexing:
    """The batch list's indexes, built in a thread once `release` is called (the first page
    is on screen) or after START_DELAY_S, so they never hold up a page.

    Until they exist pages work, reading the batch list without them (the table's page of
    documents by id costs a pass). `state` says where it is, for the page to show.
    """

    def __init__(self, databases: Databases, delay_s: float = START_DELAY_S) -> None:
        self._databases = databases
        self._delay_s = delay_s
        self._go = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: Exception | None = None
        self.started_at: float | None = None
        self.missing = batches.missing_indexes(databases.work)  # one round trip
        if not self.missing:
            self._finished.set()

    @property
    def done(self) -> bool:
        """True once every batch index exists (or none was missing)."""
        return self._finished.is_set() and self.error is None

    @property
    def running(self) -> bool:
        return not self._finished.is_set()

    def seconds(self) -> float:
        """How long the build has been running (0 before it starts)."""
        return 0.0 if self.started_at is None else time.monotonic() - self.started_at

    def start(self) -> "BackgroundIndexing":
        """Start the thread (idempotent; again after a failure, e.g. an outage)."""
        if self._finished.is_set() and self.error is None:
            return self
        if self._thread is not None and self._thread.is_alive():
            return self
        self.error = None
        self._finished.clear()
        self._thread = threading.Thread(target=self._run, name="segcore-indexing", daemon=True)
        self._thread.start()
        return self

    def release(self) -> None:
        """The first page is shown: build now."""
        self._go.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until finished (a benchmark, a write that needs the unique id index)."""
        self._go.set()
        return self._finished.wait(timeout)

    def _run(self) -> None:
        self._go.wait(self._delay_s)
        self.started_at = time.monotonic()
        try:
            batches.ensure_indexes(self._databases.work)
        except Exception as exc:  # noqa: BLE001  (reported by the page; `start` retries)
            self.error = exc
        finally:
            self._finished.set()
