"""Batch commands: import the list, assign, counts, history."""

from __future__ import annotations

import os
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
from segcore.cli.base import (
    author as _author,
)
from segcore.core.errors import N_, ImportFileError
from segcore.core.naming import cut, printable

KEPT_LABELS = {"priority": "priority", "due_date": "due date"}


def _held(value: object) -> str:
    """A stored priority or due date as `import` names it: none, or as stored."""
    return "none" if value is None else repr(cut(printable(str(value))))


@main.command("import")
@click.option(
    "--file",
    "batches_file",
    type=click.Path(path_type=Path),
    help="Batches file (default: BATCHES_FILE).",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder holding one directory per batch (default: DATA_DIRECTORY).",
)
@click.option(
    "--count-images",
    is_flag=True,
    help="Count the image files of each folder (slow on network mounts).",
)
@json_option
@pass_context
@handle_errors
def import_command(ctx, batches_file, data_dir, count_images, as_json):
    """Import the batch list from the batches file and the data directory."""
    from segcore.work import batch_import

    settings = ctx.settings
    if batches_file is not None and not os.path.lexists(batches_file):  # a typo is not ignored
        raise ImportFileError(
            N_("The batches file '{path}' does not exist on the server."), path=str(batches_file)
        )
    if data_dir is None and settings.data_directory is not None:
        data_dir = settings.require_data_directory()  # a dropped mount is named here
    batches_file = batches_file or settings.effective_batches_file
    bar = None

    def progress(done, total):
        nonlocal bar
        if as_json:
            return
        if bar is None:
            bar = click.progressbar(length=total, label="Scanning folders", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    result = batch_import.import_from_sources(
        ctx.databases.work, batches_file, data_dir, _author(), count_images, progress
    )
    if bar is not None:
        bar.__exit__(None, None, None)
    if as_json:
        emit_json(result)
    else:
        echo(
            f"Imported: {result.added} added, {result.updated} updated, "
            f"{result.unchanged} unchanged, {len(result.flagged_missing)} flagged as "
            f"missing, {len(result.restored)} found again"
            f"{f', {len(result.kept_folders)} kept their folder' if result.kept_folders else ''}"
            f"{f', {len(result.refused)} refused' if result.refused else ''}."
        )
        for batch_id, folders in result.kept_folders.items():
            echo(
                f"kept: {printable(batch_id)!r} stays at {printable(folders['kept'])!r}: "
                f"{printable(folders['not_on_disk'])!r} is not a folder on disk",
                err=True,
            )
        for batch_id, folders in result.other_folders.items():
            used, other = printable(folders["folder"]), printable(folders["not_used"])
            echo(
                f"chose: {printable(batch_id)!r} at {used!r}, on disk: "
                + (
                    f"{other!r} names it too and is not used"
                    if folders["on_disk"]
                    else f"{other!r}, also named for it, is not a folder on disk"
                ),
                err=True,
            )
        for given, stored_id in result.same_text.items():
            echo(
                f"same batch: {printable(given)!r} is batch {printable(stored_id)!r}, the same "
                f"text in another Unicode form ({ascii(given)} stored as {ascii(stored_id)})"
            )
        for batch_id, fields in result.kept_values.items():
            echo(
                f"not set: {printable(batch_id)!r} keeps its "
                + ", ".join(
                    f"{KEPT_LABELS[name]} {_held(values['kept'])}, not {values['given']!r}"
                    for name, values in fields.items()
                )
            )
        if result.kept_values:
            echo(
                "an import sets a priority or due date on new batches only; "
                "change a stored batch's with 'segcore batches set'"
            )
        for batch_id, reason in result.refused.items():
            # repr: an id holding terminal escapes is shown, never replayed
            echo(f"refused: {cut(batch_id)!r} {reason}; nothing was written for it", err=True)
        for folder in result.unreadable:
            echo(
                f"warning: {printable(folder)}: cannot be read, its images were not counted",
                err=True,
            )
    # not everything the sources asked was done, or a folder was chosen for a batch
    if result.refused or result.kept_folders or result.other_folders:
        sys.exit(1)


@main.command()
@click.argument("batch_ids", nargs=-1, required=True)
@click.option(
    "--to",
    "assignee",
    type=Value("to leave batches without one, use --unassign"),
    help="Team member to assign the batches to.",
)
@click.option("--unassign", is_flag=True, help="Remove the assignee.")
@json_option
@pass_context
@handle_errors
def assign(ctx, batch_ids, assignee, unassign, as_json):
    """Assign batches to a team member, or unassign them."""
    from segcore.work import assignments

    if (assignee is None) == (not unassign):
        raise click.UsageError("give exactly one of --to NAME or --unassign")
    result = assignments.assign(
        ctx.databases.work,
        list(batch_ids),
        None if unassign else assignee,
        _author(),
        zone=ctx.settings.zone,
    )
    _report_change(result, as_json)


@main.command()
@json_option
@pass_context
@handle_errors
def status(ctx, as_json):
    """Counts: total, assigned, uploaded (with masks), delivered (usable), without masks."""
    from segcore.report import stats
    from segcore.store.demo_marker import interrupted_demo
    from segcore.store.restore_marker import interrupted_restore

    counts = stats.summary(ctx.databases.work)
    restore = interrupted_restore(ctx.databases.work)
    demo = interrupted_demo(ctx.databases.work)
    if as_json:
        emit_json(
            {
                **counts.as_dict(),
                "restore_incomplete": str(restore) if restore else None,
                "demo_incomplete": str(demo) if demo else None,
            }
        )
        return
    echo(
        f"total {counts.total}  assigned {counts.assigned}  uploaded "
        f"{counts.with_masks} ({counts.percent_with_masks}%)  delivered, usable "
        f"{counts.delivered} ({counts.percent_delivered}%)  without masks "
        f"{counts.without_masks}"
    )
    if restore:
        echo(f"warning: {restore}", err=True)
    if demo:
        echo(f"warning: {demo}", err=True)


@main.command("history")
@click.argument("batch_id", required=False)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_context
@handle_errors
def history_command(ctx, batch_id, limit, as_json):
    """Recent changes, of one batch (or team member) if given."""
    from segcore.store import history
    from segcore.work.batches import history_of

    work = ctx.databases.work
    entries = (
        history.list_history(work, limit=limit)
        if batch_id is None
        else history_of(work, batch_id, limit=limit)
    )
    if as_json:
        emit_json(entries)
        return
    if not entries:
        echo("No changes recorded.")
    from segcore.core.timefmt import office_time

    for e in entries:  # times in the office's zone; an entry another tool wrote may lack fields
        when = office_time(e.get("at"), ctx.settings.zone, "%Y-%m-%d %H:%M:%S") or "-"
        echo(
            f"{when}  {printable(e.get('author', '-')):<16} {e.get('kind', '-')!s:<6} "
            f"{printable(e.get('key', '-')):<14} {e.get('field', '-')}: {e.get('old')!r} -> "
            f"{e.get('new')!r}"
        )


@main.group("batches")
def batches_group():
    """Change several batches at once."""


@batches_group.command("set")
@click.argument("batch_ids", nargs=-1)
@click.option("--status", type=Value(), help="New status (pending, in_progress, review, done).")
@click.option(
    "--priority",
    type=Value("to remove the priority, use --clear-priority"),
    help="New priority (alta, media, baja).",
)
@click.option("--clear-priority", is_flag=True, help="Remove the priority.")
@click.option(
    "--due",
    "due_date",
    type=Value("to remove the due date, use --clear-due"),
    help="New due date, YYYY-MM-DD.",
)
@click.option("--clear-due", is_flag=True, help="Remove the due date.")
@click.option(
    "--where-status",
    type=Value(),
    help="Only the batches holding this stored status (e.g. a "
    "legacy S); with no BATCH_IDS, every such batch.",
)
@json_option
@pass_context
@handle_errors
def batches_set(
    ctx, batch_ids, status, priority, clear_priority, due_date, clear_due, where_status, as_json
):
    """Set status, priority or due date of the given batches (compare-and-set, in history).

    `segcore batches set --where-status S --status review` replaces a legacy status code.
    """
    from segcore.work import assignments

    changes = {
        name: value
        for name, value in (("status", status), ("priority", priority), ("due_date", due_date))
        if value is not None
    }
    for name, clear, flag in (
        ("priority", clear_priority, "priority"),
        ("due_date", clear_due, "due"),
    ):
        if clear:
            if name in changes:
                raise click.UsageError(f"give --{flag} or --clear-{flag}, not both")
            changes[name] = None
    if not changes:
        raise click.UsageError(
            "give at least one of --status, --priority, --clear-priority, --due, --clear-due"
        )
    if not batch_ids and not where_status:
        raise click.UsageError(
            "give BATCH_IDS, or --where-status to change every batch holding that status"
        )
    work = ctx.databases.work
    ids = list(batch_ids) or None  # None: every batch holding --where-status
    result = assignments.set_fields(work, ids, changes, _author(), where_status=where_status)
    _report_change(result, as_json)


def _report_change(result, as_json: bool) -> None:
    """What an edit of batches did, as `assign` and `batches set` both say it; exit 1 when
    any batch was not changed (missing, changed meanwhile or refused)."""
    if as_json:
        emit_json(result)
    else:
        echo(f"{counted(len(result.updated), 'batch', 'batches')} updated.")
        for conflict in result.conflicts:
            echo(f"conflict: {conflict.describe()}", err=True)
        for batch_id, why in result.failed.items():
            echo(f"not changed: {printable(batch_id)}: {why}", err=True)
        for batch_id in result.missing:
            echo(f"not found: {printable(batch_id)}", err=True)
    if result.missing or result.conflicts or result.failed:
        sys.exit(1)
