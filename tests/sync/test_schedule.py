"""The automatic sync scheduler: runs on time, never two at once, survives failures."""

import threading
import time

from segcore.core.errors import DatabaseUnavailable, SyncAlreadyRunning
from segcore.sync import sync
from segcore.sync.live.schedule import SyncScheduler


def test_off_by_default_and_runs_when_due():
    calls = []
    scheduler = SyncScheduler(lambda: calls.append(1), minutes=0, tick_s=0.01).start()
    time.sleep(0.05)
    assert calls == [] and scheduler.next_run is None
    scheduler.set_minutes(0.001)  # 60 ms
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls and scheduler.last_outcome.startswith("ok")


def test_never_two_at_once_in_one_process():
    started, release = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(300)

    scheduler = SyncScheduler(slow)
    worker = threading.Thread(target=scheduler.run_once)
    worker.start()
    assert started.wait(300)
    assert scheduler.run_once().startswith("skipped")
    release.set()
    worker.join()
    assert scheduler.last_outcome.startswith("ok")


def test_outcomes_of_refused_and_failed_runs():
    def busy():
        raise SyncAlreadyRunning("held")

    def down():
        raise DatabaseUnavailable("the database server cannot be reached")

    assert SyncScheduler(busy).run_once() == "skipped: another sync was running"
    assert SyncScheduler(down).run_once().startswith("failed: the database server")


def test_runs_the_real_sync(dbs):
    scheduler = SyncScheduler(lambda: sync.run_sync(dbs, mode="scheduled", author="auto"))
    assert scheduler.run_once().startswith("ok")
    assert sync.list_runs(dbs.work, 1)[0]["mode"] == "scheduled"


def test_a_scheduled_run_next_to_a_live_sync_says_so():
    def live():
        raise SyncAlreadyRunning("held by sync --watch", live=True)

    assert SyncScheduler(live).run_once() == "skipped: a live sync is running"
