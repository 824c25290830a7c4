"""Checking the notification settings' URLs and addresses (SMTP_URL, WEBHOOK_URL, NOTIFY_FROM,
NOTIFY_COORDINATORS) without ever echoing a secret: each error names the setting, never the
password or the webhook's token. `config` calls these; only it reads the environment.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from urllib.parse import urlsplit

from segcore.core.errors import ConfigError

WEBHOOK_FORMATS = ("slack", "teams", "json")
_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,.]+$")


def smtp_url(value: str | None) -> str | None:
    """SMTP_URL checked without ever echoing it (it holds the password)."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigError(
            "SMTP_URL must start with smtps:// (TLS, port 465) or smtp:// "
            "(STARTTLS, port 587); not shown, as it may hold the password"
        )
    if value.count("@") > 1 or ("@" in value and "@" not in parts.netloc):
        raise ConfigError(
            "SMTP_URL: write an '@', '/', '?' or '#' in the user name or password "
            "percent-encoded (for example @ as %40); not shown, as it holds the "
            "password"
        )
    try:
        _ = parts.port  # urlsplit checks the port only when asked for it
    except ValueError:
        raise ConfigError(
            "SMTP_URL has a port that is not a number from 1 to 65535; "
            "not shown, as it may hold the password"
        ) from None
    if not parts.hostname:
        raise ConfigError("SMTP_URL names no host; not shown, as it may hold the password")
    return value


def webhook_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "WEBHOOK_URL must be an http:// or https:// address; not shown, as "
            "it holds the webhook's token"
        )
    return value


def email_address(key: str, value: str) -> str:
    if not _ADDRESS.match(value):
        raise ConfigError(f"{key}: {value!r} is not an email address")
    return value


def recipients(value: str) -> tuple[tuple[str, str], ...]:
    """NOTIFY_COORDINATORS: comma-separated `Name <address>` or bare addresses."""
    found = []
    for item in filter(None, (i.strip() for i in value.split(","))):
        name, address = parseaddr(item)
        found.append((name or address.split("@")[0], email_address("NOTIFY_COORDINATORS", address)))
    return tuple(found)
