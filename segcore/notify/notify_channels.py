"""Sending one outbox message: email through SMTP (smtplib) or a chat webhook (Slack, Teams,
or signed JSON). Every network call has a timeout; every failure becomes DeliveryFailed with the
server's answer, scrubbed of the SMTP password and the webhook's token."""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import json
import os
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Callable
from urllib.parse import unquote, urlsplit

from segcore.core.errors import N_, DeliveryFailed
from segcore.core.redact import scrub_secrets, url_secrets
from segcore.notify import notify_deadline
from segcore.notify.notify_deadline import Deadline

SIGNATURE_HEADER = "X-Segcore-Signature"
TIMESTAMP_HEADER = "X-Segcore-Timestamp"
KEY_HEADER = "Idempotency-Key"
ANSWER_BYTES = 300
REFUSED = N_("{host}: refused {recipients}")
WEBHOOK_TIMED_OUT = N_("webhook {host}: timed out")


def answer_secrets(settings) -> list[str]:
    """What a server's answer must never show, longest first: the SMTP password, the webhook's
    path, query and token-like parts, its user:password and WEBHOOK_SECRET."""
    return sorted(
        {
            *url_secrets(settings.smtp_url),
            *url_secrets(settings.webhook_url),
            *([settings.webhook_secret] if settings.webhook_secret else []),
        },
        key=len,
        reverse=True,
    )


def _scrubbed(text: str, settings) -> str:
    return scrub_secrets(text, answer_secrets(settings))


def _failed(template: str, settings, unreachable: bool = False, **params: object) -> DeliveryFailed:
    """DeliveryFailed worded by `template` (marked for the catalog: each reader gets it in
    their language), its texts (a server's answer, a host) scrubbed of secrets."""
    secrets = answer_secrets(settings)
    scrubbed = {
        k: scrub_secrets(v, secrets) if isinstance(v, str) else v for k, v in params.items()
    }
    return DeliveryFailed(template, unreachable=unreachable, **scrubbed)


def _answer_of(response, settings) -> str:
    """Up to ANSWER_BYTES of a server's answer, scrubbed. Read past that by the longest secret
    (percent-encoded, so thrice its length), so a secret quoted across the limit is whole."""
    secrets = answer_secrets(settings)
    wanted = ANSWER_BYTES + 3 * max(map(len, secrets), default=0)
    raw = response.read(wanted)
    text = scrub_secrets(raw.decode("utf-8", "replace"), secrets, cut=len(raw) == wanted)
    return text[:ANSWER_BYTES]


def email_message(doc: dict, sender: str) -> EmailMessage:
    """The MIME message of an outbox document: text, and HTML as an alternative when present.

    Its Message-ID derives from the outbox key, so the rare duplicate (see notify_outbox) is
    recognisably the same message to mail clients that fold duplicates.
    """
    message = EmailMessage()
    message["From"] = sender
    # parseaddr: an address stored before the team's check refused `Flor <flor@x.org>`
    address = parseaddr(doc["to"])[1] or doc["to"]
    message["To"] = formataddr((_one_line(doc.get("name") or ""), _ascii_domain(address)))
    message["Subject"] = _one_line(doc["subject"])
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    digest = hashlib.sha256(doc["_id"].encode()).hexdigest()[:32]
    message["Message-ID"] = f"<{digest}@segcore.notify>"
    message.set_content(doc["text"])
    if doc.get("html"):
        message.add_alternative(doc["html"], subtype="html")
    # After the content: setting it clears every Content-* header.
    message["Content-Language"] = doc.get("language") or "en"
    return message


def _one_line(text: str) -> str:
    """A header's text on one line: a file name with a line break stays one subject."""
    return " ".join(str(text).split())


def _ascii_domain(address: str) -> str:
    """An address with an internationalised domain (flor@münchen.de) as mail servers route it,
    its domain in IDNA (flor@xn--mnchen-3ya.de). DeliveryFailed for one that cannot be."""
    local, _, domain = address.rpartition("@")
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        raise DeliveryFailed(
            N_("{address}: the domain cannot be written for mail servers"), address=address
        ) from None


@functools.lru_cache(maxsize=4)
def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The system's (or SSL_CERT_FILE's) CAs, loaded once: loading them costs more than
    sending a message to a nearby server."""
    return ssl.create_default_context()


def _smtp_session(settings, deadline: Deadline) -> smtplib.SMTP:
    """A connected, secured and logged-in SMTP session (DeliveryFailed otherwise); each of
    the server's answers ends at `deadline`."""
    parts = urlsplit(settings.smtp_url)
    timeout = settings.notify_timeout_s
    if parts.scheme == "smtps":
        session = notify_deadline.SMTP_SSL(
            parts.hostname,
            parts.port or 465,
            timeout=timeout,
            context=_tls_context(os.environ.get("SSL_CERT_FILE")),
            deadline=deadline,
        )
    else:
        session = notify_deadline.SMTP(
            parts.hostname, parts.port or 587, timeout=timeout, deadline=deadline
        )
        session.ehlo()
        if session.has_extn("starttls"):
            session.starttls(context=_tls_context(os.environ.get("SSL_CERT_FILE")))
            session.ehlo()
        elif parts.username:
            session.close()
            raise DeliveryFailed(
                N_(
                    "the mail server does not offer STARTTLS: the password is not "
                    "sent in clear (use smtps:// or a server with STARTTLS)"
                )
            )
    if parts.username:
        try:
            session.login(unquote(parts.username), unquote(parts.password or ""))
        except UnicodeError as exc:  # a login failure, not the recipient's address
            session.close()
            raise DeliveryFailed(
                N_("mail server login: the user name or password cannot be sent ({reason})"),
                unreachable=True,
                reason=exc.reason,
            ) from None
    return session


def send_email(settings, doc: dict) -> str:
    """Send one email; returns the server's acceptance. Raises DeliveryFailed."""
    if not settings.smtp_url:
        raise DeliveryFailed(N_("SMTP_URL is not set: email cannot be sent"))
    host = urlsplit(settings.smtp_url).hostname
    try:
        message = email_message(doc, settings.notify_from)
    except (ValueError, TypeError, UnicodeError) as exc:  # a value no header can hold
        raise DeliveryFailed(
            N_("the message cannot be written ({problem})"), problem=str(exc)[:ANSWER_BYTES]
        ) from None
    deadline = Deadline(settings.notify_timeout_s)
    try:
        session = _smtp_session(settings, deadline)
        try:
            refused = session.send_message(message)
        finally:
            try:
                session.quit()
            except (smtplib.SMTPException, OSError):
                pass  # sent already: a connection lost while saying goodbye changes nothing
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        # A refused login is refused for every message: trying again per message would lock
        # the account on servers that count failed logins.
        login = isinstance(exc, smtplib.SMTPAuthenticationError)
        said = N_("{host}: login refused: {code} {answer}") if login else "{host}: {code} {answer}"
        raise _failed(
            said, settings, unreachable=login, host=host, code=exc.smtp_code, answer=text
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        answers = "; ".join(
            f"{to}: {code} {msg.decode('utf-8', 'replace')}"
            for to, (code, msg) in exc.recipients.items()
        )
        raise _failed(REFUSED, settings, host=host, recipients=answers) from None
    except UnicodeError as exc:  # an address the server cannot take (no SMTPUTF8)
        raise DeliveryFailed(
            "{host}: {to}: {problem}", host=host, to=doc["to"], problem=str(exc)[:ANSWER_BYTES]
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        late = deadline.expired or isinstance(exc, TimeoutError)
        raise _failed(
            N_("mail server {host}: timed out") if late else N_("mail server {host}: {problem}"),
            settings,
            unreachable=isinstance(
                exc, (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)
            ),
            host=host,
            problem=str(exc) or type(exc).__name__,
        ) from None
    if refused:
        raise _failed(REFUSED, settings, host=host, recipients=", ".join(refused))
    return f"{host}: accepted"


def _slack_text(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# What Adaptive Cards' Markdown (a TextBlock's text) reads as markup: links `[text](url)`
# (no brackets, no link), **bold**, _italic_, `code`, <at> mentions, and the backslash itself.
# Each is escaped with a backslash; parentheses alone make no markup and stay as typed.
_TEAMS_MARKUP = re.compile(r"([\\`*_\[\]~<>])")


def _teams_text(text: object) -> str:
    """Text for a Teams TextBlock: names and file names stay text (a `[text](url)` in a file
    name is no link, `**x**` no bold); our own "- " list lines keep their shape."""
    return _TEAMS_MARKUP.sub(r"\\\1", str(text))


def webhook_payload(fmt: str, doc: dict) -> dict:
    """The body a chat expects: Slack's `text`, a Teams Adaptive Card, or the plain facts."""
    if fmt == "slack":
        # Slack reads <...> as a link or a mention: names and file names are escaped as its
        # documentation asks (&, < and >), so `<https://x|batch_12 fixed>.zip` stays text.
        return {"text": f"*{_slack_text(doc['subject'])}*\n{_slack_text(doc['text'])}"}
    if fmt == "teams":
        card = {
            "type": "AdaptiveCard",
            "version": "1.4",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "body": [
                {
                    "type": "TextBlock",
                    "text": _teams_text(doc["subject"]),
                    "weight": "Bolder",
                    "size": "Medium",
                    "wrap": True,
                },
                {"type": "TextBlock", "text": _teams_text(doc["text"]), "wrap": True},
            ],
        }
        return {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }
    return {
        "key": doc["_id"],
        "kind": doc["kind"],
        "language": doc.get("language"),
        "subject": doc["subject"],
        "text": doc["text"],
        "data": doc.get("data") or {},
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over "<timestamp>.<body>" with WEBHOOK_SECRET."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer of its own (DeliveryFailed), never followed."""

    def redirect_request(self, *args, **kwargs):
        return None


def send_webhook(settings, doc: dict) -> str:
    """POST one message to WEBHOOK_URL; returns the HTTP status. Raises DeliveryFailed, "timed
    out" when the answer took longer than NOTIFY_TIMEOUT_S, even arriving byte by byte."""
    if not settings.webhook_url:
        raise DeliveryFailed(N_("WEBHOOK_URL is not set: the chat message cannot be sent"))
    deadline = Deadline(settings.notify_timeout_s)
    try:
        answer = _post(settings, doc, notify_deadline.opener(deadline, _KeepRedirects))
    except DeliveryFailed:
        if not deadline.expired:
            raise
        answer = None
    finally:
        deadline.cancel()
    if deadline.expired:  # an answer cut short may still parse: late is late
        host = urlsplit(settings.webhook_url).hostname
        raise _failed(WEBHOOK_TIMED_OUT, settings, unreachable=True, host=host)
    return answer


def _post(settings, doc: dict, opener) -> str:
    body = json.dumps(
        webhook_payload(settings.webhook_format, doc), ensure_ascii=False, default=str
    ).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "segcore-notify",
        KEY_HEADER: doc["_id"],
    }
    if settings.webhook_format == "json" and settings.webhook_secret:
        stamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = stamp
        headers[SIGNATURE_HEADER] = signature(settings.webhook_secret, stamp, body)
    request = urllib.request.Request(
        settings.webhook_url, data=body, headers=headers, method="POST"
    )
    host = urlsplit(settings.webhook_url).hostname
    try:
        with opener.open(request, timeout=settings.notify_timeout_s) as response:
            answer = _answer_of(response, settings)
            return _scrubbed(f"HTTP {response.status} {answer}".strip(), settings)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:  # followed, the POST would become a GET of another page
            where = exc.headers.get("Location") or "?"
            raise _failed(
                N_(
                    "{host}: HTTP {code}, redirected to {where}: nothing posted "
                    "(set WEBHOOK_URL to the address the redirect names)"
                ),
                settings,
                host=host,
                code=exc.code,
                where=where,
            ) from None
        answer = _answer_of(exc, settings)
        raise _failed(
            "{host}: HTTP {code} {answer}" if answer else "{host}: HTTP {code}",
            settings,
            host=host,
            code=exc.code,
            answer=answer,
        ) from None
    except http.client.HTTPException as exc:  # an answer that is not HTTP
        raise _failed(
            N_("webhook {host}: not an HTTP answer ({kind})"),
            settings,
            host=host,
            kind=type(exc).__name__,
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        late = isinstance(reason, TimeoutError)
        raise _failed(
            WEBHOOK_TIMED_OUT if late else N_("webhook {host}: {problem}"),
            settings,
            unreachable=True,
            host=host,
            problem=str(reason),
        ) from None


def deliverer(settings) -> Callable[[dict], str]:
    """A function sending one outbox document on its channel, for `notify_outbox.send_due`."""

    def deliver(doc: dict) -> str:
        if doc.get("channel") == "email":
            return send_email(settings, doc)
        return send_webhook(settings, doc)

    return deliver
