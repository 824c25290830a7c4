"""Checking the notification settings' URLs and addresses (SMTP_URL, WEBHOOK_URL, NOTIFY_FROM,
NOTIFY_COORDINATORS, NOTIFY_EXCLUDE) without ever echoing a secret: each error names the
setting, never the password or the webhook's token. `config` calls these; only it reads the
environment.
"""

from __future__ import annotations

import re
from email.utils import unquote
from urllib.parse import urlsplit

from segcore.core.errors import N_, ConfigError
from segcore.core.phrases import Phrase

WEBHOOK_FORMATS = ("slack", "teams", "json")
# Why a URL's error does not quote it: said after each one (`note`).
MAY_HOLD_PASSWORD = N_("not shown, as it may hold the password")
HOLDS_PASSWORD = N_("not shown, as it holds the password")
HOLDS_TOKEN = N_("not shown, as it holds the webhook's token")
_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,.]+$")


def smtp_url(value: str | None) -> str | None:
    """SMTP_URL checked without ever echoing it (it holds the password)."""
    if value is None:
        return None
    note = Phrase(MAY_HOLD_PASSWORD)
    parts = _split("SMTP_URL", value, note)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(
            N_(
                "SMTP_URL must start with smtps:// (TLS, port 465) or smtp:// "
                "(STARTTLS, port 587); {note}"
            ),
            note=note,
        )
    if value.count("@") > 1 or ("@" in value and "@" not in parts.netloc):
        raise ConfigError(_ENCODE, key="SMTP_URL", note=Phrase(HOLDS_PASSWORD))
    try:
        _ = parts.port  # urlsplit checks the port only when asked for it
    except ValueError:
        raise ConfigError(_BAD_PORT, key="SMTP_URL", note=note) from None
    if not parts.hostname:
        raise ConfigError(N_("SMTP_URL names no host; {note}"), note=note)
    return value


def webhook_url(value: str | None) -> str | None:
    if value is None:
        return None
    note = Phrase(HOLDS_TOKEN)
    parts = _split("WEBHOOK_URL", value, note)
    try:
        _ = parts.port
    except ValueError:
        raise ConfigError(_BAD_PORT, key="WEBHOOK_URL", note=note) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            N_("WEBHOOK_URL must be an http:// or https:// address; {note}"), note=note
        )
    return value


# What the README asks to percent-encode in a URL's user name or password: urlsplit reads "[...]"
# anywhere before the host as an IPv6 address and quotes what it holds in its error.
_ENCODE = N_(
    "{key}: write an '@', '/', '?', '#', '[' or ']' in the user name or password "
    "percent-encoded (for example @ as %40, [ as %5B, ] as %5D); {note}"
)
_BAD_PORT = N_("{key} has a port that is not a number from 1 to 65535; {note}")


def _split(key: str, value: str, note: Phrase):
    """urlsplit's parts of `value`; a ConfigError naming `key` where urlsplit would raise an
    error quoting part of the password (square brackets before the host)."""
    authority = re.split(r"[/?#]", value.partition("://")[2], maxsplit=1)[0]
    if re.search(r"[\[\]]", authority.rpartition("@")[0]):
        raise ConfigError(_ENCODE, key=key, note=note)
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ConfigError(
            N_(
                "{key} is not a valid address (square brackets go around an IPv6 address "
                "only); {note}"
            ),
            key=key,
            note=note,
        ) from None
    return parts


def email_address(key: str, value: str) -> str:
    if not _ADDRESS.match(value):
        raise ConfigError(N_("{key}: {value!r} is not an email address"), key=key, value=value)
    return value


# One entry of an address list: `"Pérez, Ana" <ana@x.org>`, `Ana <ana@x.org>` or `ana@x.org`.
_ENTRY = re.compile(
    r'(?:(?P<name>"(?:[^"\\]|\\.)*"|[^"<>]*?)\s*<(?P<angled>[^<>]*)>|(?P<bare>[^\s"<>]+))'
)


def split_list(value: str) -> list[str]:
    """The entries of a list setting, separated by commas or semicolons (Outlook's separator)
    outside double quotes and angle brackets."""
    entries, current, quoted, angled, escaped = [], [], False, False, False
    for char in value:
        if escaped:
            escaped = False
        elif quoted:
            escaped, quoted = char == "\\", char != '"'
        elif char in ",;" and not angled:
            entries.append("".join(current))
            current = []
            continue
        else:
            quoted = char == '"'
            angled = (angled or char == "<") and char != ">"
        current.append(char)
    entries.append("".join(current))
    return [entry.strip() for entry in entries if entry.strip()]


def _entry(key: str, text: str) -> tuple[str, str]:
    """(name, address) of one list entry; ConfigError naming the setting and the entry."""
    found = _ENTRY.fullmatch(text)
    address = (found["angled"] or found["bare"] or "").strip() if found else ""
    if "@" not in address:
        if "@" not in text and "<" not in text:  # a fragment: what a comma in a name leaves
            raise ConfigError(
                N_(
                    "{key}: {value!r} is not an email address (a name with a comma goes in "
                    'double quotes: "Pérez, Ana" <ana@example.org>)'
                ),
                key=key,
                value=text,
            )
        if text.count("@") > 1 and "<" not in text:
            raise ConfigError(
                N_(
                    "{key}: {value!r} is not an email address (separate addresses with commas "
                    "or semicolons)"
                ),
                key=key,
                value=text,
            )
        raise ConfigError(N_("{key}: {value!r} is not an email address"), key=key, value=text)
    name = (found["name"] or "").strip()
    return (unquote(name) if name.startswith('"') else name), email_address(key, address)


def recipients(value: str) -> tuple[tuple[str, str], ...]:
    """NOTIFY_COORDINATORS: `Name <address>` or bare addresses, separated by commas or
    semicolons. Raises ConfigError naming any entry that is no address: none is dropped."""
    found = []
    for text in split_list(value):
        name, address = _entry("NOTIFY_COORDINATORS", text)
        found.append((name or address.split("@")[0], address))
    return tuple(found)


def exclusions(value: str) -> tuple[str, ...]:
    """NOTIFY_EXCLUDE: names or addresses, separated by commas or semicolons; `Name <address>`
    excludes by either."""
    found = []
    for text in split_list(value):
        if "<" in text:
            found.extend(filter(None, _entry("NOTIFY_EXCLUDE", text)))
        else:
            found.append(unquote(text) if text.startswith('"') else text)
    return tuple(dict.fromkeys(found))
