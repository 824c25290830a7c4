"""Mask completeness: check uploads' contents against the images of their batches."""

from __future__ import annotations

import sys

import click

from segcore.cli.base import author as _author, emit_json, handle_errors, json_option, main, pass_context


def progress_bar(label: str, quiet: bool):
    """A progress bar on stderr, drawn only on a terminal and never with --json."""
    return click.progressbar(length=1000, label=label, file=sys.stderr, show_eta=False,
                             hidden=quiet or not sys.stderr.isatty())


def run_verify(ctx, quiet: bool, **options):
    """Run a mask check with a progress bar; returns its VerifyReport."""
    from segcore.masks.mask_check import verify

    with progress_bar("Checking masks", quiet) as bar:
        def progress(fraction, message):
            bar.label = message.ljust(32)
            bar.update(int(fraction * 1000) - bar.pos)
        return verify(ctx.databases, author=_author(), progress=progress, **options)


def print_report(report) -> None:
    """The human-readable report: one line per batch, then the totals."""
    for row in report.batches:
        images = "?" if row.get("images") is None else row["images"]
        matched = "?" if row.get("matched") is None else row["matched"]
        line = f"{row['id']:<14} {row['state']:<11} {matched} / {images} images with a mask"
        if row.get("extra_count"):
            line += f", {row['extra_count']} extra"
        click.echo(line)
        if row.get("missing"):
            more = row["missing_count"] - len(row["missing"])
            click.echo(f"    without a mask: {', '.join(row['missing'])}"
                       + (f" (and {more} more)" if more > 0 else ""))
        if row.get("extra"):
            more = row["extra_count"] - len(row["extra"])
            click.echo(f"    matching no image: {', '.join(row['extra'])}"
                       + (f" (and {more} more)" if more > 0 else ""))
        for bad in row.get("unreadable") or ():
            click.echo(f"    unreadable: {bad['filename']}: {bad['reason']}")
        if row.get("note"):
            click.echo(f"    {row['note']}")
    states: dict[str, int] = {}
    for row in report.batches:
        states[row["state"]] = states.get(row["state"], 0) + 1
    stored = f" of {report.bytes_stored / 1e6:,.1f} MB stored" if report.bytes_stored else ""
    click.echo(f"{report.checked_uploads} uploads checked, {report.bytes_read / 1e6:,.1f} MB "
               f"read{stored}; {len(report.batches)} batches: "
               + (", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none") + ".")


@main.command()
@click.argument("batch_ids", nargs=-1, metavar="[BATCH ...]")
@click.option("--all", "every_batch", is_flag=True,
              help="Report every batch in the list, also those without uploads.")
@click.option("--recheck", is_flag=True,
              help="Read uploads and image folders again even when already checked.")
@json_option
@pass_context
@handle_errors
def verify(ctx, batch_ids, every_batch, recheck, as_json):
    """Check uploaded masks against the images in each batch's folder.

    With no BATCH, checks every upload not checked yet and reports every batch that has uploads.
    """
    from segcore.core.errors import ValidationError

    if batch_ids and every_batch:
        raise ValidationError("Name batches or use --all, not both.")
    report = run_verify(ctx, as_json, batch_ids=list(batch_ids) or None,
                        every_batch=every_batch, recheck=recheck)
    if as_json:
        emit_json(report.as_dict())
    else:
        print_report(report)
