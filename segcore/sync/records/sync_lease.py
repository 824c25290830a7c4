"""The sync lease: a lock document with an expiry, so two syncs never interleave (across
processes and app instances, since it lives in the app's database) and a killed sync does not
block the next one for longer than LEASE.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import timedelta

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from segcore.core.errors import N_, LeaseLost, SyncAlreadyRunning
from segcore.core.processes import process_alive
from segcore.core.timefmt import utcnow
from segcore.store.schema import LOCKS

LEASE = timedelta(minutes=2)
RENEW_AFTER_S = 20


class Lease:
    """A lock document with an expiry, so a killed sync does not block the next one forever."""

    def __init__(self, db: Database, name: str = "sync", kind: str = "run"):
        """`kind` is "run" for one sync, "live" for `sync --watch`, "restore" for a restore;
        others name it when they are refused."""
        self.db, self.name, self.owner, self.kind = db, name, uuid.uuid4().hex, kind
        self.renewed = 0.0
        self.took_over = False  # the last acquire took the lease from a holder that died

    def acquire(self) -> None:
        now = utcnow()
        mine = {
            "owner": self.owner,
            "expires_at": now + LEASE,
            "since": now,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "kind": self.kind,
            "last_change_at": None,
        }
        try:
            taken = self.db[LOCKS].update_one(
                {"_id": self.name, "$or": [{"expires_at": {"$lt": now}}, {"owner": self.owner}]},
                {"$set": mine},
                upsert=True,
            )
            # Not created but matched: a holder's lease ran out without being given back.
            self.took_over = taken.upserted_id is None and taken.modified_count > 0
        except DuplicateKeyError:
            held = self.db[LOCKS].find_one({"_id": self.name}) or {}
            # A holder killed on this machine need not block until its lease expires.
            if held.get("host") == mine["host"] and not process_alive(held.get("pid")):
                taken = self.db[LOCKS].update_one(
                    {"_id": self.name, "owner": held.get("owner")}, {"$set": mine}
                )
                if taken.modified_count:
                    self.renewed = time.monotonic()
                    self.took_over = True
                    return
            raise _already_running(held) from None
        self.renewed = time.monotonic()

    def renew(self, strict: bool = False) -> None:
        """Renew when it is time to. `strict`: raises LeaseLost when the lease is no longer this
        holder's (another took it, or it was given back), as `hold` does."""
        if time.monotonic() - self.renewed > RENEW_AFTER_S:
            held = self.db[LOCKS].update_one(
                {"_id": self.name, "owner": self.owner}, {"$set": {"expires_at": utcnow() + LEASE}}
            )
            if strict and not held.matched_count:
                raise _lost()
            self.renewed = time.monotonic()

    def hold(self, when_due: bool = False) -> None:
        """Renew now (`when_due`: only when it is time to), only while the lease is still this
        holder's and has not run out; raises LeaseLost otherwise. Once it ran out, others took
        its holder for gone (writes went on, another restore may have cleaned up after it):
        what the holder prepared is not to be trusted, unlike with `keep`."""
        if when_due and time.monotonic() - self.renewed <= RENEW_AFTER_S:
            return
        now = utcnow()
        held = self.db[LOCKS].update_one(
            {"_id": self.name, "owner": self.owner, "expires_at": {"$gt": now}},
            {"$set": {"expires_at": now + LEASE}},
        )
        if not held.matched_count:
            raise _lost()
        self.renewed = time.monotonic()

    def keep(self) -> None:
        """Renew now, taking the lease back if it expired meanwhile (a long outage); raises
        SyncAlreadyRunning when another sync took it."""
        held = self.db[LOCKS].update_one(
            {"_id": self.name, "owner": self.owner}, {"$set": {"expires_at": utcnow() + LEASE}}
        )
        if held.matched_count:
            self.renewed = time.monotonic()
        else:
            self.acquire()

    def note_change(self) -> None:
        """Renew, and record that the holder just applied a change (the Sync page shows when
        a live sync last did)."""
        now = utcnow()
        self.db[LOCKS].update_one(
            {"_id": self.name, "owner": self.owner},
            {"$set": {"expires_at": now + LEASE, "last_change_at": now}},
        )
        self.renewed = time.monotonic()

    def release_quietly(self) -> None:
        """Give the lease back; when the server is gone, it expires on its own."""
        try:
            self.db[LOCKS].delete_one({"_id": self.name, "owner": self.owner})
        except PyMongoError:
            pass


def _lost() -> LeaseLost:
    return LeaseLost(
        N_(
            "The lease ran out (its holder was paused or stalled for more than {minutes} "
            "minutes) or another holder took it."
        ),
        minutes=int(LEASE.total_seconds() // 60),
    )


def _already_running(held: dict) -> SyncAlreadyRunning:
    """The refusal, naming a live sync (`sync --watch`) and where it runs when it is one."""
    since = held.get("since")
    # `since` goes along too: the app words it in the office's zone, the CLI says UTC.
    time_text = f"{since:%H:%M:%S} UTC" if since else None
    if held.get("kind") == "restore":
        return SyncAlreadyRunning(
            N_(
                "A restore of the database is running (since {time}); "
                "try again when it has finished."
            ),
            restore=True,
            time=time_text or "?",
            since=since,
        )
    if held.get("kind") == "live":
        host = held.get("host") or "another host"
        if time_text:
            return SyncAlreadyRunning(
                N_(
                    "A live sync (`segcore sync --watch` on {host}) has been running since {time}: "
                    "it applies new uploads within seconds, so no sync is needed."
                ),
                live=True,
                host=host,
                time=time_text,
                since=since,
            )
        return SyncAlreadyRunning(
            N_(
                "A live sync (`segcore sync --watch` on {host}) is running: it applies new uploads "
                "within seconds, so no sync is needed."
            ),
            live=True,
            host=host,
        )
    if time_text:
        return SyncAlreadyRunning(
            N_("Another sync is running (since {time}); try again when it has finished."),
            time=time_text,
            since=since,
        )
    return SyncAlreadyRunning(N_("Another sync is running; try again when it has finished."))
