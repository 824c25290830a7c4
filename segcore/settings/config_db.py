"""Which database is the app's: MONGO_DB, else the one MONGO_URI's path names, else the default.

`mongodb://host/teamdb` is how MongoDB and Atlas write a connection to `teamdb`; a coordinator
who writes it expects the app's data there. The names MongoDB reserves (admin, local, config)
name, in a URI, the database to log in to (`mongodb://user:pass@host/admin`): those leave the
default. MONGO_DB, when set, wins, so deployments that set it keep their database. `config`
calls these; only it reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_plus

from segcore.core.errors import N_, ConfigError
from segcore.core.naming import cut, is_utf8, undecodable_shown

DEFAULT_DATABASE = "segmentacion_db"
RESERVED_DATABASES = ("admin", "local", "config")
# What MongoDB refuses in a database name (Windows servers refuse the most), plus NUL.
_BAD_CHARACTERS = set(' ./\\"$*<>:|?\0')


def check_text(where: str, value: str) -> str:
    """`value` when it is UTF-8 text; ConfigError naming `where` if it holds bytes that are not
    (`MONGO_DB=segmentaci\\xf3n` from a crontab or unit file saved in Latin-1), which no
    database name can take."""
    if not is_utf8(value):
        raise ConfigError(
            N_("{key}='{value}' is not UTF-8 text; save the file that sets it as UTF-8"),
            key=where,
            value=undecodable_shown(value),
        )
    return value


def check_name(where: str, value: str) -> str:
    """`value` when MongoDB accepts it as a database name; ConfigError naming `where` if not."""
    check_text(where, value)
    bad = _BAD_CHARACTERS & set(value)
    if not value or bad or len(value.encode()) > 63:
        raise ConfigError(
            N_("{key}={value!r} is not a valid MongoDB database name"), key=where, value=value
        )
    return value


def uri_database(uri: str | None) -> str | None:
    """The database MONGO_URI's path names (decoded as the driver decodes it), or None.

    Read the way pymongo reads it: what follows the first "/" after the hosts, up to the "?".
    A user name or password holding an unquoted "/" is refused before this (see
    `segcore.core.redact.ambiguous_userinfo`), so the name is never part of a credential.
    """
    if not uri or "://" not in uri:
        return None
    path = uri.split("://", 1)[1].partition("?")[0].partition("/")[2]
    if not path:
        return None
    name = unquote_plus(path)
    if not name or _BAD_CHARACTERS & set(name) or len(name.encode()) > 63:
        # The driver would take `teamdb.batches` for a collection of `teamdb`: not meant.
        raise ConfigError(
            N_(
                "MONGO_URI names the database {name!r}, which is not a valid MongoDB database "
                'name (no spaces or . / \\ " $ * < > : | ?, at most 63 bytes)'
            ),
            name=cut(name),
        )
    return name


@dataclass(frozen=True)
class AppDatabase:
    """The app's database, the setting it came from, and the URI's database it overrides."""

    name: str
    source: str  # "MONGO_DB", "MONGO_URI" or "default"
    unused_uri_database: str | None = None  # named by MONGO_URI, not used: MONGO_DB wins


def app_database(mongo_db: str | None, uri: str | None) -> AppDatabase:
    """The app's database from MONGO_DB (None when unset) and MONGO_URI; ConfigError for an
    invalid name in either."""
    from_uri = uri_database(uri)
    named = from_uri if from_uri and from_uri.lower() not in RESERVED_DATABASES else None
    if mongo_db is not None:
        check_name("MONGO_DB", mongo_db)
        return AppDatabase(mongo_db, "MONGO_DB", named if named != mongo_db else None)
    if named:
        return AppDatabase(named, "MONGO_URI")
    return AppDatabase(DEFAULT_DATABASE, "default")
