"""The one cached MongoClient (as `Databases`), the settings, and preparing the database once.

One client per process and configuration (`st.cache_resource`); the cache key is a digest of
the real connection identity (URI or embedded path, database names, every other setting), so
two URIs never share a client and the URI itself is never kept or shown as a key.
"""

from __future__ import annotations

import hashlib
import threading
import time

import streamlit as st

from segcore.core.actors import Actor
from segcore.core.errors import ConfigError
from segcore.prepare import BackgroundIndexing, prepare_quickly
from segcore.settings.config import Settings, configured_language, load_settings
from segcore.store import data_version
from segcore.store.connection import Databases, open_databases
from segcore.sync import sync
from segcore.sync.live.schedule import SyncScheduler


def settings() -> Settings:
    """The effective settings (environment over `.env`); ConfigError names a bad one."""
    return load_settings()


def language_setting() -> str | None:
    """LANGUAGE alone, when the settings as a whole are malformed (None: unset or bad too)."""
    return configured_language()


def identity(current: Settings) -> str:
    """A digest of everything that decides which server and databases a client talks to.

    `repr(Settings)` leaves the URI out (it may hold a password), so it is added here; hashing
    keeps it out of every cache key.
    """
    text = f"{current.mongo_uri}|{current.embedded_path}|{current!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def db_key() -> str:
    """Part of every cached read's key, so two configurations never share results."""
    return identity(settings())


@st.cache_resource(show_spinner=False)
def _client_databases(key: str, _settings: Settings) -> Databases:
    # One MongoClient per process (per configuration), created lazily by segcore.
    return open_databases(_settings)


@st.cache_resource(show_spinner=False)
def _prepared(key: str, _databases: Databases) -> list[str]:
    # Not cached when it raises, so a retry after an outage prepares again. Quick: the batch
    # list's indexes, the one slow step on a large production database, are `_indexing`'s.
    # Its warnings are not shown from here: `reads.team_warnings` follows the team's changes.
    return prepare_quickly(_databases)


@st.cache_resource(show_spinner=False)
def _indexing(key: str, _databases: Databases) -> BackgroundIndexing:
    return BackgroundIndexing(_databases)


def connection() -> Databases:
    """Both databases, without touching them (the status panel must work while they are down)."""
    current = settings()
    return _client_databases(identity(current), current)


def databases() -> Databases:
    """Both databases, prepared once per process (indexes, legacy keys); the batch list's
    indexes, when missing, are built in the background (see `indexing`)."""
    found = connection()
    key = identity(found.settings)
    _prepared(key, found)
    _started[key] = _indexing(key, found).start()
    return found


_started: dict[str, BackgroundIndexing] = {}


def release_indexing() -> None:
    """A page is on screen: the background indexing may use the server now (it would have
    competed with that page's reads)."""
    for started in list(_started.values()):
        started.release()


def indexing() -> BackgroundIndexing:
    """The background build of the batch list's indexes of this process and configuration."""
    found = connection()
    return _indexing(identity(found.settings), found)


VERSION_TTL_S = 1.0  # how long another session's write may go unseen
_versions: dict[str, tuple[float, dict]] = {}
_versions_lock = threading.Lock()


def data_versions() -> dict:
    """The data version (`segcore.store.data_version.read_versions`), read at most once a second
    per process and configuration: one indexed lookup keys every cached read of a page."""
    key, now = db_key(), time.monotonic()
    with _versions_lock:
        held = _versions.get(key)
    if held and now - held[0] < VERSION_TTL_S:
        return held[1]
    found = data_version.read_versions(databases().work)
    with _versions_lock:
        _versions[key] = (now, found)
    return found


def forget_data_versions() -> None:
    """After a write in this process: the next read sees its version at once."""
    with _versions_lock:
        _versions.clear()


def uri_or_none() -> str | None:
    """The configured URI, to scrub it from messages; None when embedded or misconfigured."""
    try:
        return settings().mongo_uri
    except ConfigError:
        return None


@st.cache_resource(show_spinner=False)
def _scheduler(key: str, _settings: Settings) -> SyncScheduler:
    # Resolved here, in the script thread: the scheduler's thread has no Streamlit context.
    found = _client_databases(key, _settings)

    def run() -> None:
        sync.run_sync(found, mode="scheduled", author=Actor("auto-sync"))

    # One per process and configuration: a second browser tab shares it.
    return SyncScheduler(run, minutes=_settings.auto_sync_minutes).start()


def scheduler() -> SyncScheduler:
    """The automatic sync of this process and configuration."""
    current = settings()
    return _scheduler(identity(current), current)
