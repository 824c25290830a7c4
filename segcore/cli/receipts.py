"""Receipts of uploads, and the coordinator's review: accept or send back batches."""

from __future__ import annotations

import sys

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
from segcore.core.naming import printable
from segcore.core.timefmt import office_time
from segcore.masks.batch_as_it_stood import shown_missing

# receipts.PROBLEMS, written out: `segcore --help` does not import the receipts
PROBLEM_CHOICES = (
    "any",
    "none",
    "unreadable",
    "incomplete",
    "content",
    "no_batch",
    "unknown",
    "removed",
)


@main.command("receipts")
@click.argument("batch_ids", nargs=-1)
@click.option(
    "--person",
    type=Value(),
    help="Only uploads by this person, under any spelling (flor, FLOR and Flor are one).",
)
@click.option("--problem", type=click.Choice(PROBLEM_CHOICES), help="Only receipts with it.")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_context
@handle_errors
def receipts_command(ctx, batch_ids, person, problem, limit, as_json):
    """Each upload's receipt, newest first (of the given batches)."""
    from segcore.masks.receipts import NOTIFY_DUE, list_receipts
    from segcore.views.labels import stored_names  # as the Receipts page: 7, ObjectId, "batch_1"

    found = list_receipts(
        ctx.databases.work,
        list(batch_ids) or None,
        person=person,
        problem=problem,
        limit=limit,
        strict=True,
    )
    if as_json:
        emit_json(
            [
                {k: v for k, v in r.items() if k not in ("_id", NOTIFY_DUE)}
                | {"upload_id": str(r["_id"])}
                for r in found
            ]
        )
        return
    if not found:
        echo("No receipts.")
    for r in found:
        when = office_time(r.get("upload_date"), ctx.settings.zone) or "?"  # as the pages
        verdict = "usable" if r.get("usable") else (r.get("problem") or "not usable")
        echo(
            f"{when}  {printable(r.get('filename')):<32} "
            f"{printable(', '.join(stored_names(r.get('batches')))):<14} {verdict}"
            + (f": {printable(r['reason'])}" if r.get("reason") else "")
        )
        if r.get("readable"):
            echo(  # "-" where the batch's images are unknown, as the pages show it
                f"    {r.get('masks', 0)} masks, matched {_count(r.get('matched'))}, missing "
                f"{_count(shown_missing(r))}, extra {_count(r.get('extra_count'))}, "
                f"other files {len(stored_names(r.get('other_files')))}"
            )


def _count(value: object) -> str:
    return "-" if value is None else str(value)


@main.command("review")
@click.argument("batch_ids", nargs=-1, required=True)
@click.option("--accept", is_flag=True, help="Accept the batches (status done).")
@click.option("--rework", "note", metavar="NOTE", help="Send the batches back, saying why.")
@json_option
@pass_context
@handle_errors
def review_command(ctx, batch_ids, accept, note, as_json):
    """Accept or send back delivered batches (compare-and-set, recorded in the history)."""
    from segcore.work.review import review

    if accept == (note is not None):
        raise click.UsageError("Give exactly one of --accept or --rework NOTE.")
    result = review(ctx.databases.work, list(batch_ids), accept=accept, note=note, author=_author())
    if as_json:
        emit_json(
            {
                "moved": result.moved,
                "conflicts": result.conflicts,
                "refused": result.refused,
                "not_usable": result.not_usable,
            }
        )
    else:
        verb = "accepted" if accept else "sent back"
        for batch_id in result.moved:
            echo(f"{verb}: {printable(batch_id)}")
        for batch_id in result.conflicts:
            echo(f"conflict (changed meanwhile): {printable(batch_id)}", err=True)
        for batch_id in result.refused:
            echo(f"refused (no upload, or already done): {printable(batch_id)}", err=True)
        for batch_id in result.not_usable:
            echo(
                f"refused (its uploads give no usable masks; send it back with --rework): "
                f"{printable(batch_id)}",
                err=True,
            )
    if result.conflicts or result.refused or result.not_usable:
        sys.exit(1)
