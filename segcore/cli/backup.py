"""Backups of the app's database, and restoring one."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from segcore.cli.base import (author as _author, emit_json, handle_errors, json_option, main,
                              pass_context)
from segcore.core.errors import SegcoreError


@main.command()
@click.option("--out", type=click.Path(path_type=Path),
              help="File to write, or a folder for a dated name (default: this folder).")
@click.option("--keep", type=click.IntRange(1, 100_000),
              help="With --out FOLDER: keep only the N newest backups there.")
@json_option
@pass_context
@handle_errors
def backup(ctx, out, keep, as_json):
    """Back up every collection of the app's database to one compressed file."""
    from segcore import backup as backups

    if keep and not (out is not None and out.is_dir()):
        raise click.UsageError("--keep needs --out naming a folder")
    summary = backups.backup_to_file(ctx.databases.work, out)
    pruned = backups.prune_backups(out, ctx.databases.work.name, keep) if keep else []
    if as_json:
        emit_json({**summary.__dict__, "documents": summary.documents,
                   "deleted": [str(p) for p in pruned]})
        return
    click.echo(f"Backup written: {summary.path} ({summary.documents} documents in "
               f"{len(summary.counts)} collections)"
               f"{f'; {len(pruned)} older backups deleted' if pruned else ''}.")


@main.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--replace", is_flag=True, help="Replace the data already in the database.")
@click.option("--yes", is_flag=True, help="Do not ask before replacing.")
@pass_context
@handle_errors
def restore(ctx, file, replace, yes):
    """Restore a backup into an empty database (or --replace what is there)."""
    from segcore import backup as backups
    from segcore.prepare import prepare

    work = ctx.databases.work
    summary = backups.verify_backup(file)  # a bad file is refused before any question
    present = backups.stored_counts(work)
    if replace and present and not yes:
        if not sys.stdin.isatty():
            raise SegcoreError("no terminal to confirm the replacement; add --yes")
        held = ", ".join(f"{count} {name}" for name, count in present.items())
        click.confirm(f"Replace everything in {work.name} ({held}) with the backup of "
                      f"{summary.created_at} ({summary.documents} documents)?", abort=True)
    summary = backups.restore_backup(work, file, _author(), replace=replace)
    prepare(ctx.databases)  # the indexes, which a replace dropped with the collections
    click.echo(f"Restored {summary.documents} documents from {file} (backup of "
               f"{summary.created_at}).")
