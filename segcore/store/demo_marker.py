"""The demo's mark (`app_meta.demo`) while its load is unfinished: whether a process still loads
it, and what `segcore status` and every page say about it. Read only, and light: `status` loads
none of the demo's own code.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

from pymongo.database import Database

from segcore.core.errors import N_, DemoIncomplete
from segcore.core.processes import process_alive
from segcore.core.timefmt import utcnow
from segcore.store.schema import META


def load_running(loading: dict) -> bool:
    """Whether the process that wrote the demo's mark still loads it: on this machine, its
    process runs; on another, it started less than an hour ago (a load takes minutes)."""
    if loading.get("pid") is None:  # it stopped on an error or Ctrl-C and said so
        return False
    if loading.get("host") == socket.gethostname():
        return process_alive(loading.get("pid"))
    started = loading.get("started_at")
    return isinstance(started, datetime) and utcnow() - started < timedelta(hours=1)


def started_text(loading: dict) -> str:
    started = loading.get("started_at")
    return started.strftime("%Y-%m-%d %H:%M") if isinstance(started, datetime) else "?"


def interrupted_demo(work: Database) -> DemoIncomplete | None:
    """A DemoIncomplete saying the demo is being loaded, or that its load was interrupted and
    how to finish it; None when no demo load is unfinished (read only)."""
    mark = work[META].find_one({"_id": "demo"}, {"loading": 1}) or {}
    loading = mark.get("loading")
    if not loading:
        return None
    if load_running(loading):
        return DemoIncomplete(
            N_("The demo is being loaded (since {started} UTC); its data is not complete yet."),
            started=started_text(loading),
        )
    return DemoIncomplete(
        N_(
            "Loading the demo (started {started} UTC) was interrupted: only part of it is "
            "here. Run `segcore demo` again, or “Finish loading the demo” on the Dashboard; "
            "it loads what is missing."
        ),
        started=started_text(loading),
    )
