"""Automatic sync every N minutes while the app runs, in one background thread per process.

Never two at once: this process runs one sync at a time, and the sync's own lease in MongoDB
makes a second process (another app instance, cron) skip while one is running.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Callable

from pymongo.errors import PyMongoError

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import SegcoreError, SyncAlreadyRunning
from segcore.core.phrases import N_, Phrase

# How the last automatic run went (worded in the reader's language by the app).
SKIPPED_HERE = N_("skipped: a sync is already running in this app")
RAN_OK = N_("ok in {seconds} s")
SKIPPED_LIVE = N_("skipped: a live sync is running")
SKIPPED_OTHER = N_("skipped: another sync was running")
RUN_FAILED = N_("failed: {problem}")


class SyncScheduler:
    """Calls `run()` every `minutes` (0 = off) in a daemon thread; remembers the last outcome."""

    def __init__(self, run: Callable[[], object], minutes: float = 0, tick_s: float = 1.0):
        self._run = run
        self._tick_s = tick_s
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self.minutes = float(minutes)
        self.next_run: datetime | None = None
        self.last_outcome: Phrase | None = None
        self.last_at: datetime | None = None
        self.runs = 0
        self._thread: threading.Thread | None = None
        self._schedule()

    def start(self) -> "SyncScheduler":
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="auto-sync", daemon=True)
            self._thread.start()
        return self

    def set_minutes(self, minutes: float, author: "str | Actor" = "app") -> None:
        """Change the interval (0 turns it off); the next run is counted from now.

        PermissionDenied for a viewer, ValueError for a negative interval; nothing changes then.
        """
        authorize_write(author)
        if minutes < 0:
            raise ValueError("minutes must be 0 (off) or more")
        self.minutes = float(minutes)
        self._schedule()
        self._wake.set()

    def _schedule(self) -> None:
        self.next_run = (
            datetime.now() + timedelta(minutes=self.minutes) if self.minutes > 0 else None
        )

    def _loop(self) -> None:
        while True:
            self._wake.wait(self._tick_s)
            self._wake.clear()
            due = self.next_run
            if due is not None and datetime.now() >= due:
                self.run_once()
                self._schedule()

    def run_once(self) -> Phrase:
        """Run one sync now unless one is already running here; return the outcome in words."""
        if not self._lock.acquire(blocking=False):
            return Phrase(SKIPPED_HERE)
        try:
            start = time.perf_counter()
            self._run()
            outcome = Phrase(RAN_OK, seconds=round(time.perf_counter() - start, 1))
        except SyncAlreadyRunning as exc:
            outcome = Phrase(SKIPPED_LIVE if exc.live else SKIPPED_OTHER)
        except (SegcoreError, PyMongoError) as exc:
            outcome = Phrase(RUN_FAILED, problem=str(exc).splitlines()[0][:200])
        finally:
            self._lock.release()
        self.last_outcome, self.last_at = outcome, datetime.now()
        self.runs += 1
        return outcome
