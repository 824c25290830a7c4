"""One MongoClient per process, both databases, health checks, and safe error messages."""

from __future__ import annotations

import atexit
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
    WriteConcernError,
)

from segcore.core.errors import DatabaseUnavailable
from segcore.core.redact import mask_uri, scrub
from segcore.settings.config import Settings
from segcore.store import embedded


def resolve_uri(settings: Settings) -> str:
    """MONGO_URI, or the URI of the embedded server (started if needed)."""
    return settings.mongo_uri or embedded.ensure_server(settings.embedded_path)


HEARTBEAT_MS = 20_000


def create_client(
    uri: str, timeout_ms: int = 3000, connect_timeout_ms: int | None = None
) -> MongoClient:
    """A client that reports a dead server within `timeout_ms` instead of hanging.

    `connect_timeout_ms` also bounds the driver's heartbeat. A missed heartbeat cancels every
    operation in flight, so it defaults to at least HEARTBEAT_MS: a full sync on a saturated
    server was cancelled after minutes by one 3 s heartbeat it missed. A dead server is still
    reported within `timeout_ms` (server selection), since that is what every operation waits on
    first.

    connect=False defers the first connection until it is used, which keeps the client safe to
    create before a fork: https://pymongo.readthedocs.io/en/stable/faq.html#is-pymongo-fork-safe
    """
    try:
        return MongoClient(
            uri,
            connect=False,
            appname="segcore",
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=connect_timeout_ms or max(timeout_ms, HEARTBEAT_MS),
            tz_aware=False,
        )
    except (ConfigurationError, ValueError, OSError) as exc:
        # OSError: a tlsCAFile or tlsCertificateKeyFile that cannot be read.
        raise DatabaseUnavailable(f"MONGO_URI is not usable: {scrub(str(exc), uri)}") from None


def close_for_exit(clients: list[MongoClient]) -> None:
    """Close `clients` before the process exits, and spare the exit the driver's wait.

    pymongo's exit hook joins every monitor thread, each asleep in half-second steps, so a
    command's process lingered up to 0.5 s after its work (a cron sync that found nothing new
    took 0.70 s, of which 0.45 s after its last line). Once the clients are closed the threads
    have nothing left to do; they are daemon threads and end with the process.
    """
    for client in clients:
        client.close()
    clients.clear()
    from pymongo.synchronous import monitor

    hook = getattr(monitor, "_shutdown_resources", None)  # pymongo's own, not public
    if hook is not None:
        atexit.unregister(hook)


@dataclass
class Databases:
    """The app's own database and the read-only database that holds the uploaded masks."""

    client: MongoClient
    work: Database
    training: Database
    settings: Settings
    uri: str = field(repr=False)  # may hold the password

    @property
    def masks_files(self):
        """`<TRAINING_DB>.<MASKS_BUCKET>.files`: GridFS file documents, read only."""
        return self.training[f"{self.settings.masks_bucket}.files"]


def open_databases(settings: Settings, client: MongoClient | None = None) -> Databases:
    """Connect (lazily) to both configured databases."""
    uri = resolve_uri(settings)
    client = client or create_client(uri, settings.timeout_ms)
    return Databases(
        client=client,
        work=client[settings.mongo_db],
        training=client[settings.training_db],
        settings=settings,
        uri=uri,
    )


_AUTH_FAILED = (18, 8000)  # AuthenticationFailed, and Atlas's variant of it
_UNAUTHORIZED = 13
_WRITE_CONCERN = (100, 79)  # UnsatisfiableWriteConcern, UnknownReplWriteConcern


def _is_auth_failure(exc: BaseException) -> bool:
    # A failed handshake can surface as an OperationFailure or, from the connection pool, as a
    # ConnectionFailure that carries the server's answer.
    if isinstance(exc, OperationFailure):
        return exc.code in _AUTH_FAILED
    return "authentication failed" in str(exc).lower()


def driver_error_message(exc: PyMongoError, uri: str | None = None) -> str:
    """A one-line, password-free explanation of a driver error for a coordinator."""
    detail = scrub(_first_line(exc), uri)
    if _is_auth_failure(exc):
        return (
            "the database refused the user name or password in MONGO_URI (check the user, "
            f"the password and authSource) ({detail})"
        )
    if isinstance(exc, OperationFailure) and exc.code == _UNAUTHORIZED:
        return (
            f"the database user in MONGO_URI is not allowed to do this, so the database "
            f"refused it ({detail})"
        )
    if isinstance(exc, ConnectionFailure):
        return f"the database server cannot be reached ({detail})"
    if (
        isinstance(exc, WriteConcernError)
        or (isinstance(exc, OperationFailure) and exc.code in _WRITE_CONCERN)
        or (isinstance(exc, BulkWriteError) and (exc.details or {}).get("writeConcernErrors"))
    ):
        # w=5 on a 3-member replica set is accepted by the driver and refused at each write.
        return (
            "the database cannot confirm writes as the option w in MONGO_URI asks (more "
            f"members than the replica set has, or an unknown tag?) ({detail})"
        )
    return f"the database reported: {detail}"


@contextmanager
def friendly_errors(uri: str | None = None):
    """Turn connection and permission errors into DatabaseUnavailable with a short,
    password-free message; other driver errors pass through."""
    try:
        yield
    except (ConnectionFailure, OperationFailure) as exc:
        if isinstance(exc, ConnectionFailure) or _is_auth_failure(exc) or exc.code == _UNAUTHORIZED:
            raise DatabaseUnavailable(driver_error_message(exc, uri)) from None
        raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).split("\n", 1)[0]
    # Server-selection errors append a long topology description after a comma, and command
    # errors the whole reply document, which says nothing more to a user.
    for tail in (", Timeout:", ", full error:"):
        text = text.split(tail, 1)[0]
    return text[:200]


@dataclass(frozen=True)
class Health:
    """How one database answered a health check."""

    database: str
    reachable: bool
    rtt_ms: float | None
    version: str | None
    uri: str
    embedded: bool
    error: str | None = None


def check_health(databases: Databases, which: str) -> Health:
    """Ping `which` ("work" or "training") and report round-trip time and server version."""
    db = databases.work if which == "work" else databases.training
    masked = mask_uri(databases.uri)
    start = time.perf_counter()
    try:
        # listCollections needs read rights, so a user without them is reported here.
        db.command("listCollections", nameOnly=True, authorizedCollections=True)
        rtt = (time.perf_counter() - start) * 1000
        version = databases.client.server_info().get("version")
        return Health(db.name, True, round(rtt, 1), version, masked, databases.settings.embedded)
    except PyMongoError as exc:
        message = driver_error_message(exc, databases.uri)
        return Health(db.name, False, None, None, masked, databases.settings.embedded, message)
