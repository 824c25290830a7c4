"""Backups of the app's database, and restoring one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from segcore.cli.base import (
    Value,
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


@main.command()
@click.option(
    "--out",
    type=Value("leave the option out for this folder", path=True),
    help="File to write, or a folder (existing, or ending in /) for a dated "
    "name (default: this folder).",
)
@click.option(
    "--keep",
    type=click.IntRange(1, 100_000),
    help="With --out FOLDER: keep only the N newest backups of this database that "
    "backup wrote there (a missing folder is created).",
)
@json_option
@pass_context
@handle_errors
def backup(ctx, out, keep, as_json):
    """Back up every collection of the app's database to one compressed file (mode 0600)."""
    from segcore.backups import backup as backups
    from segcore.backups.backup_rotation import prune_backups
    from segcore.backups.database_id import server_identities

    if keep and out is None:
        raise SegcoreError("--keep needs --out naming a folder")
    folder = bool(keep) or (out is not None and out.endswith(("/", os.sep)))
    if folder and (
        Path(out).exists()
        and not Path(out).is_dir()
        or not Path(out).exists()
        and out.endswith(".gz")
    ):
        raise SegcoreError(f"{printable(out)}: not a folder; --keep needs --out naming a folder")
    work = ctx.databases.work
    summary = backups.backup_to_file(work, Path(out) if out else None, folder=folder)
    rotation = (
        prune_backups(
            Path(out),
            work.name,
            keep,
            Path(summary.path),
            summary.database_id,
            server_identities(work),
        )
        if keep
        else None
    )
    deleted = rotation.deleted if rotation else []
    removed = summary.removed_unfinished
    for path in removed:
        echo(
            f"note: removed {printable(path)}: unfinished, left by a backup killed while writing",
            err=True,
        )
    if summary.views:  # another tool's: said, as a restore into a new database lacks them
        echo(
            "note: views are not backed up (they hold no documents of their own; a restore "
            f"leaves them as they are): {', '.join(printable(v) for v in summary.views)}",
            err=True,
        )
    for path, why in [*summary.unfinished_left, *(rotation.left_alone if rotation else [])]:
        echo(f"note: left alone {printable(path)}: {printable(why)}", err=True)
    if as_json:
        emit_json(
            {
                **{k: v for k, v in summary.__dict__.items() if k != "indexes"},
                "documents": summary.documents,
                "deleted": [str(p) for p in deleted],
                "left_alone": [p for p, _why in summary.unfinished_left]
                + [str(p) for p, _why in (rotation.left_alone if rotation else [])],
            }
        )
        return
    echo(
        f"Backup written: {printable(summary.path)} ({summary.documents} documents in "
        f"{len(summary.counts)} collections)"
        f"{f'; {len(deleted)} older backups deleted' if deleted else ''}"
        f"{f'; {len(removed)} unfinished files of killed backups removed' if removed else ''}."
    )


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--replace", is_flag=True, help="Replace the data already in the database.")
@click.option("--yes", is_flag=True, help="Do not ask before replacing.")
@pass_context
@handle_errors
def restore(ctx, file, replace, yes):
    """Restore a backup into an empty database (or --replace what is there), all or nothing.

    Every login session ends; logins, passwords and roles become the backup's.
    """
    from segcore.backups import backup as backups
    from segcore.backups.backup_collections import backed_up_collections
    from segcore.backups.backup_restore import KEPT, restore_backup, stored_counts
    from segcore.prepare import prepare
    from segcore.store.restore_marker import interrupted_restore

    work = ctx.databases.work
    summary = backups.verify_backup(file)  # a bad file is refused before any question
    source = (
        f"the backup of database {printable(summary.database)} taken "
        f"{summary.created:%Y-%m-%d %H:%M:%S} UTC ({summary.documents} documents)"
    )
    present = stored_counts(work)
    if replace and present and not yes:
        if not sys.stdin.isatty():
            raise SegcoreError("no terminal to confirm the replacement; add --yes")
        held = ", ".join(f"{count} {name}" for name, count in present.items())
        pending = interrupted_restore(work)
        live = set(backed_up_collections(work)) - set(KEPT)  # never replaced
        gone = ", ".join(sorted(live - set(summary.counts)))
        click.confirm(
            printable(  # the source database and date come from the file
                f"Replace everything in {work.name} ({held}) with {source}? Every login "
                f"session ends, and logins, passwords and roles become the backup's."
                f"{f' Not in the backup, so removed: {gone}.' if gone else ''}"
                f"{f' ({pending})' if pending else ''}"
            ),
            abort=True,
        )
    result = restore_backup(work, file, _author(), replace=replace, verified=summary)
    prepare(ctx.databases)  # the standard indexes, should the backup lack any
    if result.redone:
        done = (
            "finished first (the backup's notifications it had not added yet are in the outbox)"
            if result.redone.get("state") == "finished"
            else "undone first"
        )
        echo(f"An interrupted restore from {printable(result.redone.get('file'))} was {done}.")
    echo(f"Restored {source} from {printable(file)}.")
    if result.removed:
        removed = ", ".join(printable(n) for n in result.removed)
        echo(f"Removed, as the backup does not hold them: {removed}.")
    echo(f"Every login session was ended ({result.sessions_ended} open); everyone logs in again.")
    echo(
        f"The notifications outbox was kept ({result.kept} messages): what was sent since the "
        f"backup is not sent again; {result.added} messages of the backup it lacked were added."
    )
    _say_logins(result.logins)


def _say_logins(logins) -> None:
    """Name every login the restore changed: what it silently brought back is said aloud."""
    for names, what in (
        (logins.back, "removed since the backup, are back"),
        (logins.password, "have the password they had at the backup again"),
        (logins.role, "have the role they had at the backup again"),
        (logins.gone, "added since the backup, are gone"),
    ):
        if names:
            echo(f"Logins {what}: {', '.join(printable(n) for n in sorted(names))}.")
