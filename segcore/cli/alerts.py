"""Pace and alerts: who stalled, what will miss its due date, which moves would help."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from segcore.cli.base import (
    Value,
    counted,
    echo,
    emit_json,
    handle_errors,
    json_option,
    main,
    pass_context,
)
from segcore.core.naming import printable, shown_name

ALERT_EXIT = 3  # for a cron job that mails its output only when there is something to say


def _alerts(ctx, rows=None):
    from segcore.report.alerts import current_alerts
    from segcore.report.pace import PaceOptions

    return current_alerts(
        ctx.databases.work, PaceOptions.from_settings(ctx.settings), tz=ctx.settings.zone, rows=rows
    )


def _print_alerts(found) -> None:
    if found.waiting_for_sync:
        echo(
            "No sync has run yet: pace, stalls and batches at risk are worked out from "
            "the deliveries a sync reads. Run `segcore sync` first."
        )
        return
    if not found.any:
        echo("Nothing needs attention.")
        return
    if found.stale:
        echo(
            f"As of the last sync, {_age(found.basis.finished_at)} (stale): deliveries "
            "since then are not counted. Run `segcore sync` for current figures."
        )
    note = f", as of the sync {_age(found.basis.finished_at)}" if found.stale else ""
    echo(f"Stalled ({len(found.stalled)}{note}):")
    for p in found.stalled:
        since = (
            f"{counted(p.days_since, 'day')} ago" if p.days_since is not None else "never delivered"
        )
        echo(
            f"  {shown_name(p.name):<20} {p.open} open, last delivery {p.last_delivery or '-'} ({since})"
        )
    echo(f"At risk ({len(found.at_risk)}{note}):")
    for b in found.at_risk:
        echo(
            f"  {shown_name(b.id):<12} {shown_name(b.assignee):<20} due {b.due_date or '-'}  reached "
            f"{b.projected or 'never'}  {b.reason}"
        )
    echo(f"Suggested moves ({len(found.moves)}{note}):")
    for m in found.moves:
        echo(
            f"  {shown_name(m.id):<12} {shown_name(m.from_)} -> {shown_name(m.to)}  "
            f"{m.reason}; {m.change}"
        )


def _age(finished_at) -> str:
    from segcore.core.timefmt import utcnow
    from segcore.report.progress import sync_age

    return sync_age(finished_at, utcnow())[0]


@main.command()
@click.option(
    "--fail-on-alert",
    is_flag=True,
    help=f"Exit with code {ALERT_EXIT} when anything needs attention (for cron).",
)
@json_option
@pass_context
@handle_errors
def alerts(ctx, fail_on_alert, as_json):
    """Stalled people, batches at risk of missing their due date, and suggested moves."""
    found = _alerts(ctx)
    if as_json:
        emit_json(found.as_json())
    else:
        _print_alerts(found)
    if fail_on_alert and found.any:
        sys.exit(ALERT_EXIT)


@main.command()
@click.option(
    "--out",
    "out_file",
    type=Value("leave the option out to print the report", path=True),
    help="Write the report to this file instead of printing it.",
)
@click.option(
    "--language",
    type=click.Choice(["es", "en"]),
    default="en",
    show_default=True,
    help="The report's language (the command line speaks English by default).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "html"]),
    default="md",
    show_default=True,
    help="Markdown, or a standalone printable HTML page.",
)
@pass_context
@handle_errors
def report(ctx, out_file, language, fmt):
    """The weekly report: figures, usable vs uploaded, a per-person table and the alerts."""
    from segcore.core.errors import SegcoreError
    from segcore.core.replace_file import write_replacing
    from segcore.core.translations import Words
    from segcore.report.alerts import report_rows
    from segcore.report.pace_report import delivery_quality, weekly_report

    rows = report_rows(ctx.databases.work)
    found = _alerts(ctx, rows)
    text = weekly_report(
        rows,
        found,
        delivery_quality(rows),
        Words(language, ctx.settings.zone),
        fmt,
        ctx.settings.zone,
    )
    if out_file is None:
        echo(text, nl=False)
        return
    out_file = Path(out_file)
    try:
        # A cron job mails the file too: the same escapes as the terminal's.
        write_replacing(out_file, printable(text, keep_newlines=True).encode("utf-8"))
    except OSError as exc:
        raise SegcoreError(f"Cannot write {out_file}: {exc.strerror or exc}") from None
    echo(f"Report written to {out_file}.")
