"""Real servers on loopback for the notification tests: an SMTP server (aiosmtpd) and a
webhook receiver (http.server in a thread). Each can be told to refuse, to answer slowly or to
go away, as real servers do. Nothing here ever reaches outside 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers import free_port


@dataclass
class Behaviour:
    """What a test server does with the next requests."""

    refuse: str | None = None  # an SMTP reply ("550 ...") or an HTTP status ("503")
    delay: float = 0.0  # seconds before answering
    # a refusal's body, filled with the request's {path} (percent-decoded, no query) and {query}:
    # "Cannot POST {path}" is Express's default 404
    answer: str | None = None


class Mailbox:
    """aiosmtpd handler keeping every accepted message."""

    def __init__(self, behaviour: Behaviour):
        self.behaviour = behaviour
        self.messages = []  # email.message.EmailMessage
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        if self.behaviour.delay:
            await asyncio.sleep(self.behaviour.delay)
        if self.behaviour.refuse:
            return self.behaviour.refuse
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that can be stopped and started again on its port."""

    def __init__(self, *, tls_context=None, users: dict | None = None):
        self.port = free_port()
        self.behaviour = Behaviour()
        self.mailbox = Mailbox(self.behaviour)
        self.tls_context, self.users = tls_context, users
        self.controller = None
        self.logins = 0  # login attempts, refused or not

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins += 1
        ok = (
            isinstance(auth_data, LoginPassword)
            and self.users
            and self.users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        return AuthResult(success=bool(ok), handled=False)

    def start(self) -> "SmtpServer":
        options = {}
        if self.tls_context:
            options = dict(
                tls_context=self.tls_context,
                require_starttls=True,
                authenticator=self._authenticate,
                auth_required=True,
            )
        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, ready_timeout=30, **options
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.mailbox.messages

    def wait_for(self, count: int, timeout: float = 180) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self):
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An http.server thread on 127.0.0.1 recording every POST."""

    behaviour: Behaviour = field(default_factory=Behaviour)
    received: list = field(default_factory=list)

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.behaviour.delay:
                    time.sleep(receiver.behaviour.delay)
                status = int(receiver.behaviour.refuse or 200)
                if status == 200:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                answer = b"ok" if status == 200 else b"channel_not_found"
                if status != 200 and receiver.behaviour.answer:
                    path, _, query = self.path.partition("?")
                    said = receiver.behaviour.answer.format(path=unquote(path), query=query)
                    answer = said.encode()
                try:
                    self.send_response(status)
                    if 300 <= status < 400:  # a sign-in page, or http:// sent to https://
                        self.send_header("Location", "/login")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/s3cr3tToken"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class DripServer:
    """A TCP server on 127.0.0.1 that answers every connection with `text`, one byte every
    `pause` seconds (a server overloaded or throttling on purpose); counts connections."""

    def __init__(self, text: bytes, pause: float):
        import socket

        self.text, self.pause, self.connections = text, pause, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # stopped
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn) -> None:
        with conn:
            try:
                for byte in self.text:
                    conn.sendall(bytes([byte]))
                    time.sleep(self.pause)
            except OSError:
                pass  # the client gave up

    def stop(self) -> None:
        self.sock.close()
