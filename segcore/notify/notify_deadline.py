"""NOTIFY_TIMEOUT_S as a limit on a whole answer, not on each read: a socket timeout is reset
by every byte, so a server dripping its greeting a byte a second held one message for a
minute. A timer shuts the connection down once an answer is late; the read then ends and the
channel reports "timed out" (the server is skipped for the rest of the pass)."""

from __future__ import annotations

import hmac
import http.client
import smtplib
import socket
import threading
import urllib.request


class Deadline:
    """Shuts the watched socket down `seconds` after `watch` unless `cancel` came first;
    `expired` then says the answer was late (not that the server closed the connection)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._timer: threading.Timer | None = None

    def watch(self, sock) -> None:
        self.cancel()
        self._timer = threading.Timer(self.seconds, self._expire, (sock,))
        self._timer.daemon = True
        self._timer.start()

    def _expire(self, sock) -> None:
        self.expired = True
        try:  # the plain socket's shutdown: a TLS socket's own would unwrap under the reader
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass  # closed meanwhile

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class _TimedReplies:
    """Each SMTP answer (the greeting, each command's reply) within the deadline's seconds."""

    def __init__(self, *args, deadline: Deadline, **kwargs):
        self.deadline = deadline
        super().__init__(*args, **kwargs)

    def getreply(self):
        if self.sock is None:
            return super().getreply()
        self.deadline.watch(self.sock)
        try:
            reply = super().getreply()
        finally:
            self.deadline.cancel()
        if self.deadline.expired:  # cut mid-line: "22" would read as a reply of its own
            self.close()
            raise TimeoutError("the server's answer took longer than NOTIFY_TIMEOUT_S")
        return reply


class _Utf8(str):
    """A login response smtplib encodes as UTF-8: its `auth` calls `.encode("ascii")`."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return str.encode(self, "utf-8", errors)


class _Utf8Login:
    """A user name and password with letters outside ASCII (`contraseña`) sent as UTF-8, as
    AUTH PLAIN (RFC 4616) and the servers taking LOGIN read them; smtplib encodes them as
    ASCII and fails before the server is asked."""

    def auth(self, mechanism, authobject, *, initial_response_ok=True):
        def utf8(challenge=None):
            response = authobject(challenge)
            return None if response is None else _Utf8(response)

        return super().auth(mechanism, utf8, initial_response_ok=initial_response_ok)

    def auth_cram_md5(self, challenge=None):
        if challenge is None:  # CRAM-MD5 has no initial response
            return None
        digest = hmac.HMAC(self.password.encode("utf-8"), challenge, "md5").hexdigest()
        return f"{self.user} {digest}"


class SMTP(_Utf8Login, _TimedReplies, smtplib.SMTP):
    pass


class SMTP_SSL(_Utf8Login, _TimedReplies, smtplib.SMTP_SSL):  # noqa: N801 - smtplib's name
    pass


def _watched(base: type, deadline: Deadline) -> type:
    """`base` (an HTTP connection class) whose answer, from the connection on, is watched."""

    class Connection(base):
        def connect(self):
            super().connect()
            deadline.watch(self.sock)

    return Connection


def opener(deadline: Deadline, *handlers) -> urllib.request.OpenerDirector:
    """A urllib opener whose HTTP(S) exchanges end at the deadline (cancel it afterwards)."""

    class Plain(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(_watched(http.client.HTTPConnection, deadline), req)

    class Secure(urllib.request.HTTPSHandler):
        def https_open(self, req):
            connection = _watched(http.client.HTTPSConnection, deadline)
            return self.do_open(connection, req, context=self._context)

    return urllib.request.build_opener(*handlers, Plain, Secure)
