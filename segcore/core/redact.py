"""Keeping credentials out of sight: a MONGO_URI's password is never displayed or logged.

Below both `config` (which describes the settings) and `connection` (whose error messages may
quote the URI), so neither imports the other for it.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, unquote_plus

_SCHEME = re.compile(r"^mongodb(?:\+srv)?://")
_SECRET_PARAMS = re.compile(
    r"((?:password|tlsCertificateKeyFilePassword|authMechanismProperties)=)"
    r"[^&]*",
    re.IGNORECASE,
)


def _userinfo_candidates(uri: str) -> list[str]:
    """The `user:password` parts a URI may hold, read the way pymongo reads it and, for a URI
    with unquoted reserved characters (which pymongo refuses), everything up to the last "@".

    A password with an unquoted "/", "?" or "@" would otherwise slip past a mask that follows
    the URI grammar, and such a URI is shown on the settings page before pymongo refuses it.
    """
    match = _SCHEME.match(uri)
    if not match:
        return []
    rest = uri[match.end() :]
    host_part = rest.partition("?")[0].partition("/")[0]
    candidates = [host_part.rpartition("@")[0], rest.rpartition("@")[0]]
    return [c for c in dict.fromkeys(candidates) if ":" in c]


def ambiguous_userinfo(uri: str) -> bool:
    """True when a driver could read part of the user name or password as a host name.

    That happens with an unquoted "@" in the password (two "@"), or an "@" that comes after
    a "/", "?" or "#": the driver then splits the URI elsewhere and quotes the "host" it
    found, a piece of the password, in its errors.
    """
    match = _SCHEME.match(uri)
    if not match:
        return False
    rest = uri[match.end() :]
    if rest.count("@") > 1:
        return True
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return "@" in rest and "@" not in authority and ":" in rest.partition("@")[0]


def mask_uri(uri: str) -> str:
    """The URI with its password (and other secret options) replaced by ***.

    When the URI is malformed it may mask more than the password (never less).
    """
    uri = _SECRET_PARAMS.sub(r"\1***", uri)
    candidates = _userinfo_candidates(uri)
    if candidates:
        userinfo = max(candidates, key=len)
        scheme = _SCHEME.match(uri).group(0)
        user = userinfo.split(":", 1)[0]
        uri = f"{scheme}{user}:***@{uri[len(scheme) + len(userinfo) + 1 :]}"
    elif ambiguous_userinfo(uri):
        scheme = _SCHEME.match(uri).group(0)
        uri = f"{scheme}***@{uri.rpartition('@')[2]}"
    return uri


def uri_secrets(uri: str | None) -> list[str]:
    """The secret strings inside a URI, longest first, so they can be scrubbed from any message.

    Each password is listed as written and decoded both ways (pymongo decodes "+" as a space).
    """
    if not uri:
        return []
    raw = [c.split(":", 1)[1] for c in _userinfo_candidates(uri)]
    raw += [m.group(0).split("=", 1)[1] for m in _SECRET_PARAMS.finditer(uri)]
    secrets = {form for r in raw for form in (r, unquote(r), unquote_plus(r)) if form}
    return sorted(secrets, key=len, reverse=True)


def scrub(message: str, uri: str | None) -> str:
    """Remove every secret of `uri` from `message`."""
    for secret in uri_secrets(uri):
        message = message.replace(secret, "***")
    return message


def mask_url(url: str | None) -> str:
    """An SMTP or webhook URL for display: the password of `smtp(s)://user:pass@host` masked,
    and a webhook's path and query (where Slack and Teams put their token) replaced by ***."""
    if not url:
        return "(not set)"
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "***"
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    if scheme.lower() in ("smtp", "smtps"):
        authority = rest.rpartition("@")[2].split("/", 1)[0] if "@" in rest else authority
        user = rest.rpartition("@")[0].split(":", 1)[0] if "@" in rest else ""
        return f"{scheme}://" + (f"{user}:***@" if user else "") + authority
    host = authority.rpartition("@")[2]
    return f"{scheme}://{host}" + ("/***" if rest[len(authority) :] else "")


def url_secrets(url: str | None) -> list[str]:
    """The secret strings of an SMTP or webhook URL, longest first, so an answer quoting any of
    them can be scrubbed: its user:password and password; its path and query, together and
    apart (Express's 404 quotes the path alone, "Cannot POST /hooks/<token>"); each path segment
    and query value that looks like a token; each as written and percent-decoded or encoded, as
    a server may quote either."""
    if not url or "://" not in url:
        return [url] if url else []
    rest = url.partition("://")[2]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    found = [url]
    # up to the last "@" of all: an unquoted "@" in an SMTP password (refused, but shown)
    for userinfo in {authority.rpartition("@")[0], rest.rpartition("@")[0]}:
        if ":" in userinfo:
            found += [userinfo, userinfo.split(":", 1)[1]]
    tail = rest[len(authority) :].partition("#")[0]
    path, _, query = tail.partition("?")
    found += [t for t in (tail, path, query) if len(t) >= _SHORTEST]
    found += [s for s in path.split("/") if _token_like(s)]
    found += [v for pair in query.split("&") for v in pair.split("=")[1:] if _token_like(v)]
    forms = {f for s in found for f in (s, unquote(s), unquote_plus(s), quote(unquote(s)))}
    return sorted({f for f in forms if f}, key=len, reverse=True)


_SHORTEST = 6  # shorter path parts ("/", "v1") are no token, and would scrub any "v1" in a text
_WORD = re.compile(r"[a-z]{1,20}(?:[-_][a-z]{1,20})*")  # "hooks", "services", "incoming-webhook"


def _token_like(part: str) -> bool:
    """A path segment or query value that may be (part of) a token: not a short lowercase word
    such as "hooks" or "services", which scrubbed would mangle the rest of an answer."""
    return len(part) >= _SHORTEST and not _WORD.fullmatch(unquote(part))


def scrub_secrets(text: str, secrets: list[str], cut: bool = False) -> str:
    """`text` with each of `secrets` (longest first, as `url_secrets` lists them) replaced by
    ***; `cut`: the text is the start of a longer answer, so a secret begun at its very end is
    replaced too."""
    for secret in secrets:
        text = text.replace(secret, "***")
    for secret in secrets if cut else ():
        for size in range(len(secret) - 1, _SHORTEST - 1, -1):
            if text.endswith(secret[:size]):
                return text[:-size] + "***"
    return text
