"""Checking MONGO_URI before the driver sees it: its scheme, a user name or password the driver
would misread, options it does not accept (it would only warn and drop them) and options that
break what the app relies on. No error ever shows the URI or an option's value (either may hold
a secret). `config` calls this; only it reads the environment.
"""

from __future__ import annotations

from segcore.core.errors import N_, ConfigError
from segcore.core.naming import is_utf8
from segcore.core.redact import ambiguous_userinfo


def check_uri(uri: str) -> None:
    """Raise ConfigError naming what is wrong with MONGO_URI, without showing it."""
    if not uri.startswith(("mongodb://", "mongodb+srv://")):
        raise ConfigError(N_("MONGO_URI must start with mongodb:// or mongodb+srv://"))
    if not is_utf8(uri):  # a Latin-1 byte from a crontab or unit file: the driver would crash
        raise ConfigError(
            N_(
                "MONGO_URI is not UTF-8 text; save the file that sets it as UTF-8 (not shown, "
                "as it may hold the password)"
            )
        )
    if ambiguous_userinfo(uri):
        # The driver would take part of the password for a host name and print it.
        raise ConfigError(
            N_(
                "MONGO_URI: write a '@', '/', ':', '?' or '#' in the user name or "
                "password percent-encoded (for example @ as %40); not shown, as it "
                "holds the password"
            )
        )
    _check_uri_options(uri)
    _check_guarantees(uri)


def _check_uri_options(uri: str) -> None:
    """Raise ConfigError naming the first option of MONGO_URI the driver does not accept.

    The driver itself only warns and drops it, so a typo such as `tls=ture` would connect
    without TLS. Values are never shown (an option may hold a secret)."""
    query = uri.split("?", 1)[1] if "?" in uri else ""
    pairs = [p for p in query.replace(";", "&").split("&") if p]
    values = [p.partition("=")[2] for p in pairs]
    for pair, value in zip(pairs, values):
        _accepted(pair, [value], option=pair.partition("=")[0])
    if len(pairs) > 1:  # conflicting ones (tls=true&ssl=false)
        _accepted(query, values)


def _accepted(options: str, values: list[str], option: str | None = None) -> None:
    """ConfigError naming `option` (None: the options together) unless the driver accepts
    `options`."""
    from urllib.parse import unquote_plus

    from pymongo.uri_parser import split_options

    try:
        split_options(options, validate=True, warn=False)
    except Exception as exc:  # noqa: BLE001 - the driver raises ValueError, OSError and more
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if any(v and (v in detail or unquote_plus(v) in detail) for v in values):
            detail = ""  # the driver's words quote a value: never shown
        if option is None and detail:
            raise ConfigError(
                N_(
                    "MONGO_URI: its options together cannot be used ({detail}); "
                    "values are not shown"
                ),
                detail=detail,
            ) from None
        if option is None:
            raise ConfigError(
                N_("MONGO_URI: its options together cannot be used; values are not shown")
            ) from None
        if detail:
            raise ConfigError(
                N_(
                    "MONGO_URI: the option {option!r} cannot be used ({detail}); "
                    "values are not shown"
                ),
                option=option,
                detail=detail,
            ) from None
        raise ConfigError(
            N_("MONGO_URI: the option {option!r} cannot be used; values are not shown"),
            option=option,
        ) from None


# MONGO_URI option values the driver accepts but the app cannot keep its promises with
# (`_REFUSED_VALUES`), and why (`_BREAKS_GUARANTEES`, the message naming the value). Every
# write must be confirmed (a sync that saved its resume point over unconfirmed batch writes
# would never repeat them); each step's writes run in a transaction, which reads only from the
# primary, at "local", "majority" or "snapshot"; and a sync reads its own writes.
# `journal=false` is accepted: it is what a server does for w=1 without it.
_REFUSED_VALUES = {
    "w": {0},
    "readconcernlevel": {"available", "linearizable", "snapshot"},
    "readpreference": {"secondary", "secondaryPreferred", "nearest", "primaryPreferred"},
}
_BREAKS_GUARANTEES = {
    "w": N_(
        "MONGO_URI: w={value} asks the server not to confirm writes; leave it out, or use "
        "w=1 or w=majority"
    ),
    "readconcernlevel": N_(
        "MONGO_URI: readConcernLevel={value} is a read concern the app's transactions and "
        "change streams cannot all use; leave it out, or use local or majority"
    ),
    "readpreference": N_(
        "MONGO_URI: readPreference={value} would read from a copy that may lag behind the "
        "app's own writes (and transactions read only from the primary); leave it out, or "
        "use primary"
    ),
}


def _check_guarantees(uri: str) -> None:
    """Raise ConfigError naming a MONGO_URI option that breaks what the app relies on (w=0,
    readConcernLevel=snapshot, readPreference=secondary…), before anything is written."""
    from pymongo.uri_parser import split_options

    query = uri.split("?", 1)[1] if "?" in uri else ""
    if not query:
        return
    options = split_options(query, validate=True, warn=False)  # accepted by _check_uri_options
    for key, refused in _REFUSED_VALUES.items():
        if key in options and options[key] in refused:
            raise ConfigError(_BREAKS_GUARANTEES[key], value=options[key])
