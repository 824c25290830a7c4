"""One MongoClient per process, both databases, health checks, and safe error messages."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import (ConfigurationError, ConnectionFailure, OperationFailure,
                            PyMongoError)

from segcore import embedded
from segcore.config import Settings
from segcore.errors import DatabaseUnavailable

_USERINFO = re.compile(r"^(mongodb(?:\+srv)?://)([^@/]*)@")
_SECRET_PARAMS = re.compile(r"((?:password|tlsCertificateKeyFilePassword|authMechanismProperties)=)"
                            r"[^&]*", re.IGNORECASE)


def mask_uri(uri: str) -> str:
    """The URI with its password (and other secret options) replaced by ***."""
    def userinfo(match: re.Match) -> str:
        user = match.group(2).split(":", 1)[0]
        return f"{match.group(1)}{user}:***@" if ":" in match.group(2) else match.group(0)
    return _SECRET_PARAMS.sub(r"\1***", _USERINFO.sub(userinfo, uri))


def uri_secrets(uri: str | None) -> list[str]:
    """The secret strings inside a URI, so they can be scrubbed from any message."""
    if not uri:
        return []
    secrets = []
    match = _USERINFO.match(uri)
    if match and ":" in match.group(2):
        raw = match.group(2).split(":", 1)[1]
        secrets += [raw, unquote(raw)]
    secrets += [m.group(0).split("=", 1)[1] for m in _SECRET_PARAMS.finditer(uri)]
    return [s for s in secrets if s]


def scrub(message: str, uri: str | None) -> str:
    """Remove every secret of `uri` from `message`."""
    for secret in uri_secrets(uri):
        message = message.replace(secret, "***")
    return message


def resolve_uri(settings: Settings) -> str:
    """MONGO_URI, or the URI of the embedded server (started if needed)."""
    return settings.mongo_uri or embedded.ensure_server(settings.embedded_path)


def create_client(uri: str, timeout_ms: int = 3000) -> MongoClient:
    """A client that reports a dead server within `timeout_ms` instead of hanging.

    connect=False defers the first connection until it is used, which keeps the client safe to
    create before a fork: https://pymongo.readthedocs.io/en/stable/faq.html#is-pymongo-fork-safe
    """
    try:
        return MongoClient(uri, connect=False, appname="segcore",
                           serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
                           tz_aware=False)
    except (ConfigurationError, ValueError) as exc:
        raise DatabaseUnavailable(f"MONGO_URI is not usable: {scrub(str(exc), uri)}") from None


@dataclass
class Databases:
    """The app's own database and the read-only database that holds the uploaded masks."""

    client: MongoClient
    work: Database
    training: Database
    settings: Settings
    uri: str

    @property
    def masks_files(self):
        """`<TRAINING_DB>.<MASKS_BUCKET>.files`: GridFS file documents, read only."""
        return self.training[f"{self.settings.masks_bucket}.files"]


def open_databases(settings: Settings, client: MongoClient | None = None) -> Databases:
    """Connect (lazily) to both configured databases."""
    uri = resolve_uri(settings)
    client = client or create_client(uri, settings.timeout_ms)
    return Databases(client=client, work=client[settings.mongo_db],
                     training=client[settings.training_db], settings=settings, uri=uri)


@contextmanager
def friendly_errors(uri: str | None = None):
    """Turn driver errors into DatabaseUnavailable with a short, password-free message."""
    try:
        yield
    except ConnectionFailure as exc:
        raise DatabaseUnavailable(
            "the database server cannot be reached (" + scrub(_first_line(exc), uri) + ")") from None
    except OperationFailure as exc:
        if exc.code in (13, 18, 8000):  # Unauthorized, AuthenticationFailed, Atlas auth error
            raise DatabaseUnavailable("the database refused the credentials or the operation "
                                      "(" + scrub(_first_line(exc), uri) + ")") from None
        raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).split("\n", 1)[0]
    # Server-selection errors append a long topology description after a comma.
    return text.split(", Timeout:", 1)[0][:200]


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
        message = scrub(_first_line(exc), databases.uri)
        return Health(db.name, False, None, None, masked, databases.settings.embedded, message)
