"""Sync with the uploaded masks, and the uploads it found."""

from __future__ import annotations

import sys

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
from segcore.cli.base import (
    author as _author,
)
from segcore.core.errors import SegcoreError
from segcore.core.naming import printable

UNUSABLE_SHOWN = 10  # unusable uploads listed after a sync (all are counted)


@main.command()
@click.option("--full", is_flag=True, help="Read every upload instead of only what changed.")
@click.option(
    "--mode",
    type=Value(),
    default="cli",
    show_default=True,
    help="Recorded with the run (e.g. cron).",
)
@click.option(
    "--verify",
    "check_masks",
    is_flag=True,
    help="Then check the contents of the uploads this sync found new.",
)
@click.option(
    "--content",
    "check_content",
    is_flag=True,
    help="With --verify: also check the new uploads' mask contents.",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Keep running: apply new uploads within seconds (stop with SIGTERM/Ctrl-C).",
)
@click.option(
    "--interval",
    type=click.FloatRange(1, 60),
    default=10.0,
    show_default=True,
    help="With --watch on a server without change streams: seconds between looks.",
)
@json_option
@pass_context
@handle_errors
def sync(ctx, full, mode, check_masks, check_content, watch, interval, as_json):
    """Sync the batch list with the uploaded masks (safe to run from cron)."""
    if check_content and not check_masks:  # before anything is read or written
        raise click.UsageError("--content goes with --verify.")
    if watch:
        if as_json or check_masks:
            raise click.UsageError(
                "--json and --verify do not apply to --watch (it logs to "
                "stderr; `segcore verify` checks the masks)."
            )
        _watch(ctx, full, interval)
        return
    report = None if full else _if_unchanged(ctx, mode)
    if report is None:
        from segcore.masks.content_due import NEW_OR_EVERY
        from segcore.sync.records.batch_list_guard import require_batch_list
        from segcore.sync.sync import run_sync

        # before preparing, which would create a misspelt MONGO_DB's database
        require_batch_list(ctx.unprepared())

        with click.progressbar(
            length=1000, label="Syncing", file=sys.stderr, show_eta=False
        ) as bar:

            def progress(fraction, message):
                if not as_json:
                    bar.label = message.ljust(40)
                    bar.update(int(fraction * 1000) - bar.pos)

            report = run_sync(
                ctx.databases,
                full=full,
                mode=mode,
                author=_author(),
                progress=progress,
                # its new uploads stay owed a content check until one is done (content_due)
                content_due=NEW_OR_EVERY if check_content else None,
            )
    # With --content, the receipts are told about once their contents are checked too.
    checked = _verify_new(ctx, report, as_json, not check_content) if check_masks else None
    content = _content_new(ctx, report, as_json) if check_content else None
    if checked is not None:
        from segcore.cli.verify import recounted

        recounted(ctx, checked, content)
    if as_json:
        from segcore.cli.verify import with_content

        emit_json(
            {
                **report.as_dict(),
                "unusable_uploads": [f.as_dict() for f in report.unusable_uploads],
                **({"verify": with_content(checked.as_dict(), content)} if checked else {}),
            }
        )
        return
    _print_sync(report)
    if checked is not None:
        from segcore.cli.verify import print_content, print_report

        print_report(checked)
        if content is not None:
            print_content(content)


def _if_unchanged(ctx, mode: str):
    """The run's report when nothing changed since the last sync (a cron job's usual run, at
    the cost of a few round trips and without preparing the database again), else None."""
    from segcore.core.code_stamp import code_stamp
    from segcore.sync.routine import sync_if_unchanged

    return sync_if_unchanged(ctx.unprepared(), mode=mode, author=_author(), prepared=code_stamp())


def _content_new(ctx, report, quiet: bool):
    """Content-check the uploads the sync found new (after a full read, every one not yet),
    with those an earlier run left owed (killed during its content check: see content_due)."""
    from segcore.cli.verify import run_content
    from segcore.content.mask_content_check import ContentReport
    from segcore.masks import content_due

    if report.changed_upload_ids == [] and not content_due.owed(ctx.databases.work):
        return ContentReport()  # a run that found nothing new loads no more than that
    return run_content(ctx, quiet, upload_ids=report.changed_upload_ids)


def _verify_new(ctx, report, quiet: bool, notify: bool = True):
    """Check the uploads the sync found new (after a full read, every one not checked yet)."""
    from segcore.archives.listing_store import chunks_arrived
    from segcore.cli.verify import run_verify
    from segcore.masks.mask_check import VerifyReport

    # nothing new: only uploads whose missing chunks have come since are listed again
    if report.changed_upload_ids == [] and not chunks_arrived(ctx.databases):
        checked = VerifyReport()
    else:
        checked = run_verify(ctx, quiet, notify=notify, upload_ids=report.changed_upload_ids)
    # The sync listed its new uploads for their receipts: the check finds them listed, and
    # its figures would say "0 uploads checked" after every one of them was read.
    for name in ("checked_uploads", "bytes_read", "bytes_stored"):
        setattr(checked, name, getattr(checked, name) + getattr(report, name, 0))
    return checked


def _print_sync(report) -> None:
    echo(
        f"{counted(report.total_files, 'file')} ({report.new_files} new, {report.removed_files} "
        f"removed); {counted(report.batches_with_masks, 'batch', 'batches')} with masks, "
        f"{report.batches_without_masks} without; {report.batches_updated} updated, "
        f"{counted(report.status_moves, 'status', 'statuses')} moved; "
        f"{report.orphans} orphan, {report.unmatched} unmatched, {report.mismatches} "
        f"mismatched, {counted(report.unusable, 'unusable upload')}; {report.duration_s:.1f} s"
        f"{f' (full read: {report.full_reason})' if report.full else ''}."
    )
    from segcore.cli.verify import print_not_stored

    print_not_stored(report.not_stored)
    if report.unusable:
        echo(
            f"Uploads counting for no batch: {report.unusable} (`uploads --unusable` lists them):",
            err=True,
        )
        for finding in report.unusable_uploads[:UNUSABLE_SHOWN]:
            echo(f"  unusable: {finding.filename[:80]}: {finding.problem}", err=True)


@main.command()
@click.option("--recent", type=click.IntRange(1, 10_000), help="The N most recent uploads.")
@click.option("--orphans", is_flag=True, help="Uploads naming a batch that is not in the list.")
@click.option("--unmatched", is_flag=True, help="Uploads naming no batch.")
@click.option("--mismatches", is_flag=True, help="Uploads by someone other than the assignee.")
@click.option(
    "--unusable",
    is_flag=True,
    help="Odd upload documents that count for no batch, with the reason.",
)
@json_option
@pass_context
@handle_errors
def uploads(ctx, recent, orphans, unmatched, mismatches, unusable, as_json):
    """Uploaded mask files: the most recent, or the problems the last sync found."""
    from segcore.sync.sync import last_run
    from segcore.uploads.uploads import recent_uploads

    lists: list[tuple[str, list[dict]]] = []
    if recent or not (orphans or unmatched or mismatches or unusable):
        lists.append(("recent", [u.as_dict() for u in recent_uploads(ctx.databases, recent or 20)]))
    if orphans or unmatched or mismatches or unusable:
        run = last_run(ctx.databases.work)
        if run is None:
            raise SegcoreError("No sync has run yet: run `python -m segcore sync` first.")
        for flag, name, key in (
            (orphans, "orphans", "orphan_uploads"),
            (unmatched, "unmatched", "unmatched_uploads"),
            (mismatches, "mismatches", "mismatched_uploads"),
            (unusable, "unusable", "unusable_uploads"),
        ):
            if flag:
                rows = [
                    {k: v for k, v in f.items() if k != "assignee" or key == "mismatched_uploads"}
                    for f in run.get(key, [])
                ]
                lists.append((name, rows))
    if as_json:
        emit_json(lists[0][1] if len(lists) == 1 else labelled_uploads(lists))
        return
    from segcore.core.timefmt import office_time

    for name, rows in lists:
        indent = "  " if len(lists) > 1 else ""
        if indent:  # several lists: each under its heading, never one flat list
            echo(f"{LIST_HEADINGS[name]} ({len(rows)}):")
        for row in rows:  # times in the office's zone, as the pages show them
            when = office_time(row.get("upload_date"), ctx.settings.zone) or "-"
            extra = f"  assignee {row['assignee']}" if row.get("assignee") else ""
            extra += f"  unusable: {row['problem']}" if row.get("problem") else ""
            echo(
                printable(
                    f"{indent}{when}  {row['uploaded_by'] or '-':<12} {_size(row):>11}  "
                    f"{row['filename']}  [{', '.join(row['batches']) or 'no batch'}]{extra}"
                )
            )
        if not rows:
            echo("Nothing to show." if len(lists) == 1 else "  (none)")


LIST_HEADINGS = {
    "recent": "Most recent uploads",
    "orphans": "Orphans at the last sync, naming a batch not in the list",
    "unmatched": "Unmatched at the last sync, naming no batch",
    "mismatches": "At the last sync, uploaded by someone other than the assignee",
    "unusable": "Unusable at the last sync, counting for no batch",
}


def labelled_uploads(lists: list[tuple[str, list[dict]]]) -> list[dict]:
    """The uploads of several lists ("recent", "unmatched", …) in one JSON list, each upload
    once with `lists` naming the lists it is in (`--recent 5 --unmatched` gave the five
    recent then the unmatched, one upload twice, with nothing to tell the lists apart)."""
    merged: dict[tuple, dict] = {}
    for name, rows in lists:
        for row in rows:
            key = tuple(
                repr(row.get(k)) for k in ("filename", "uploaded_by", "upload_date", "size_bytes")
            )
            kept = merged.setdefault(key, {**row, "lists": []})
            kept.update({k: v for k, v in row.items() if k not in kept})
            kept["lists"].append(name)
    return list(merged.values())


def _size(row: dict) -> str:
    """An upload's size in MB, "unknown" when its stored length is not a size (its reason
    names the value as stored)."""
    return "unknown" if row.get("size_mb") is None else f"{row['size_mb']:.2f} MB"


LIVE_CONNECT_TIMEOUT_MS = 30_000


def _patient(databases):
    """The same databases through a client whose heartbeat waits LIVE_CONNECT_TIMEOUT_MS: on a
    saturated machine a 3 s heartbeat missed cancelled the live sync's operations, and its
    catch-up held a receipt up for 15 s."""
    from dataclasses import replace

    from segcore.store.connection import create_client

    settings = databases.settings
    client = create_client(databases.uri, settings.timeout_ms, LIVE_CONNECT_TIMEOUT_MS)
    return replace(
        databases,
        client=client,
        work=client[settings.mongo_db],
        training=client[settings.training_db],
    )


def _embedded_moved(settings, uri: str):
    """For the live sync: a check that says when the embedded server runs again on another
    port than `uri`'s (another program took its port while it was stopped), so the watcher
    exits rather than retry a dead address for good. None with MONGO_URI, always retried."""
    if not settings.embedded:
        return None
    from segcore.store import embedded

    def moved() -> str | None:
        now = embedded.running_server(settings.embedded_path)
        if now is None or now == uri:
            return None  # stopped (a command starts it again) or back on the same port
        return (
            "the embedded database server was started again on another port; "
            "start `segcore sync --watch` again to follow it"
        )

    return moved


def _watch(ctx, full: bool, interval: float) -> None:
    """Run the live sync until SIGTERM or Ctrl-C, logging one line per applied group."""
    import signal
    from datetime import datetime

    from segcore.sync.live.live_sync import LiveSync

    def log(message: str) -> None:
        echo(f"{datetime.now():%Y-%m-%d %H:%M:%S} {message}", err=True)

    from segcore.sync.records.batch_list_guard import require_batch_list

    require_batch_list(ctx.unprepared())  # before preparing: a misspelt MONGO_DB
    databases = _patient(ctx.databases)
    sender, on_receipts = None, None
    if ctx.settings.notify_channels:
        from segcore.notify.notify_due import Sender, enqueue_stored_receipts

        # Its own thread: a slow or dead mail server delays the messages, never the sync.
        sender = Sender(databases, log=log)

        def on_receipts(upload_ids: list) -> None:
            """The live sync's receipts, once content-checked: enqueued, then sent at once."""
            if enqueue_stored_receipts(databases, upload_ids):
                sender.wake()

    live = LiveSync(
        databases,
        log=log,
        author=_author(),
        poll_s=interval,
        full=full,
        on_receipts=on_receipts,
        moved=_embedded_moved(ctx.settings, databases.uri),
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: live.stop())
    if sender:
        sender.start()
    try:
        live.run()
    finally:
        if sender:
            sender.finish()  # the message being sent is finished and recorded, none started
