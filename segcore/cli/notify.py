"""Notifications: the outbox's messages, sending what is due, retrying, a test message."""

from __future__ import annotations

import sys
from datetime import tzinfo

import click

from segcore.cli.base import (
    author as _author,
)
from segcore.cli.base import (
    echo,
    emit_json,
    handle_errors,
    json_option,
    main,
    pass_context,
)
from segcore.core.naming import printable
from segcore.core.timefmt import office_time


def _print_messages(messages: list[dict], zone: tzinfo | None) -> None:
    if not messages:
        echo("The outbox is empty.")
        return
    echo(f"{'state':<8} {'when':<16} {'kind':<8} {'to':<28} subject")
    for m in messages:
        when = office_time(_when(m), zone) or "-"  # the office's time, as every other listing
        to = m["to"] or ("-" if m["channel"] == "email" else "webhook")
        state, kind, subject = (m[k] or "-" for k in ("state", "kind", "subject"))  # "-": none
        # one line each, whatever a file name in the subject holds (a line break, a control)
        line = f"{state:<8} {when:<16} {kind:<8} {to:<28} {subject}"
        echo(printable(line))
        if state != "sent" and m.get("answer"):
            echo(printable(f"         attempt {m.get('attempts', 0)}: {m['answer']}"))


def _when(message: dict) -> object:
    """The time a listed message's state is about: when it was sent, when it failed (its last
    error), when it is tried next (pending), else when it was made."""
    state = message.get("state")
    if state == "sent" and message.get("sent_at"):
        return message["sent_at"]
    if state == "failed" and message.get("errors"):
        return message["errors"][-1].get("at") or message.get("created_at")
    if state in ("pending", "sending") and message.get("due_at"):
        return message["due_at"]
    return message.get("created_at")


def _print_sent(report) -> None:
    echo(
        f"{len(report.sent)} sent, {len(report.retrying)} to retry later, "
        f"{len(report.failed)} failed."
    )


@main.command()
@click.option("--list", "list_", is_flag=True, help="List the outbox, newest first.")
@click.option(
    "--state",
    type=click.Choice(["pending", "sending", "sent", "failed"]),
    help="With --list: only messages in this state.",
)
@click.option(
    "--send-due",
    is_flag=True,
    help="Enqueue the daily and weekly messages when due, then send what is due "
    "(for a timer or cron).",
)
@click.option(
    "--retry",
    is_flag=True,
    help="Make failed messages and those waiting to be retried due now, and send.",
)
@click.option(
    "--test",
    "test",
    is_flag=True,
    help="Send a test message to the coordinators and the webhook now.",
)
@json_option
@pass_context
@handle_errors
def notify(ctx, list_, state, send_due, retry, test, as_json):
    """Email and chat notifications: receipts, daily alerts, the weekly report."""
    from segcore.core.errors import SegcoreError
    from segcore.notify import notify_channels, notify_due, notify_outbox

    if sum(map(bool, (list_, send_due, retry, test))) != 1:
        raise SegcoreError("choose one of --list, --send-due, --retry or --test")
    db = ctx.databases.work
    if list_:
        hide = notify_channels.answer_secrets(ctx.settings)
        messages = notify_outbox.list_messages(db, state, hide=hide)
        emit_json(messages) if as_json else _print_messages(messages, ctx.settings.zone)
        return
    if not ctx.settings.notify_channels:
        raise SegcoreError("no channel configured: set SMTP_URL (with NOTIFY_FROM) or WEBHOOK_URL")
    if retry:
        notify_outbox.retry_waiting(db, _author())
    if test and not notify_due.enqueue_test(ctx.databases):
        raise SegcoreError("nobody to write to: set NOTIFY_COORDINATORS or WEBHOOK_URL")
    report = notify_due.send_due(ctx.databases, digests=send_due)
    if as_json:
        emit_json({"sent": report.sent, "retrying": report.retrying, "failed": report.failed})
    else:
        _print_sent(report)
    if report.failed or (test and report.retrying):
        sys.exit(1)
