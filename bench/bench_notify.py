"""Notifications: what the outbox costs over sending the same emails directly, and what a sync
pays to enqueue a receipt.

    PYTHONPATH=. .venv/bin/python bench/bench_notify.py --messages 200

An aiosmtpd server on 127.0.0.1 receives everything (nothing leaves the machine). Baseline: the
same messages sent with smtplib, one connection each as the outbox does, with no database.
Measured: enqueueing them (the sync's part), then `send_due` (claim, send, mark, one by one).
"""

from __future__ import annotations

import argparse
import dataclasses
import smtplib
import socket
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller  # noqa: E402

from bench.common import throwaway_server  # noqa: E402
from segcore.notify import notify_outbox
from segcore.notify.notify_channels import deliverer, email_message  # noqa: E402
from segcore.notify.notify_outbox import Message  # noqa: E402
from segcore.settings.config import Settings  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Count:
    def __init__(self):
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        self.received += 1
        return "250 OK"


def messages(count: int, run: str) -> list[Message]:
    return [
        Message(
            f"receipt:{run}-{n}:ana@example.org",
            "receipt",
            "email",
            "ana@example.org",
            "Ana",
            "es",
            f"Carga batch_{n}.zip: faltan máscaras",
            "Hola Ana:\n\n" + "\n".join(f"- img_{i:03d}.png" for i in range(20)),
        )
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    count = parser.parse_args().messages
    handler = Count()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=30)
    controller.start()
    settings = Settings(smtp_url=f"smtp://127.0.0.1:{port}", notify_from="dash@example.org")
    try:
        with throwaway_server() as (uri, client):
            db = client[f"bench_{uuid.uuid4().hex[:8]}"]
            notify_outbox.ensure_indexes(db)
            start = time.perf_counter()
            for message in messages(count, "bare"):
                doc = {**dataclasses.asdict(message), "_id": message.key}
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as session:
                    session.send_message(email_message(doc, settings.notify_from))
            bare = time.perf_counter() - start
            start = time.perf_counter()
            notify_outbox.enqueue(db, messages(count, "outbox"))
            enqueue = time.perf_counter() - start
            start = time.perf_counter()
            report = notify_outbox.send_due(db, deliverer(settings), limit=count)
            send = time.perf_counter() - start
            again = notify_outbox.enqueue(db, messages(count, "outbox"))
    finally:
        controller.stop()
    assert len(report.sent) == count and again == 0 and handler.received == 2 * count
    print(f"{count} messages to a loopback SMTP server")
    print(f"  bare smtplib (baseline)     {bare:6.2f} s   {count / bare:6.0f} msg/s   1.00x")
    print(
        f"  outbox send_due             {send:6.2f} s   {count / send:6.0f} msg/s   "
        f"{send / bare:.2f}x"
    )
    print(
        f"  enqueue (a sync's part)     {enqueue:6.2f} s   {1000 * enqueue / count:6.1f} ms/message"
    )
    print(f"  enqueue again: {again} added (exactly once)")


if __name__ == "__main__":
    main()
