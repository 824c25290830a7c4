"""Mask completeness: check uploads' contents against the images of their batches."""

from __future__ import annotations

import sys

import click

from segcore.cli.base import (
    author as _author,
)
from segcore.cli.base import (
    counted,
    echo,
    emit_json,
    handle_errors,
    json_option,
    main,
    pass_context,
)
from segcore.core.naming import printable


def progress_bar(label: str, quiet: bool):
    """A progress bar on stderr, drawn only on a terminal and never with --json."""
    return click.progressbar(
        length=1000,
        label=label,
        file=sys.stderr,
        show_eta=False,
        hidden=quiet or not sys.stderr.isatty(),
    )


def run_verify(ctx, quiet: bool, notify: bool = True, **options):
    """Run a mask check with a progress bar; returns its VerifyReport. Without `notify`, the
    receipts are left for the content check that follows to tell about."""
    from segcore.masks.mask_check import verify
    from segcore.notify.notify_due import verify_and_notify

    with progress_bar("Checking masks", quiet) as bar:

        def progress(fraction, message):
            bar.label = message.ljust(32)
            bar.update(int(fraction * 1000) - bar.pos)

        # Receipts are enqueued only: `notify --send-due` sends them, never holding up the check.
        check = verify_and_notify if notify else verify
        return check(ctx.databases, author=_author(), progress=progress, **options)


SKIPPED_SHOWN = 10  # unusable uploads named after a check (all are counted)


def run_content(ctx, quiet: bool, **options):
    """Run the content checks with a progress bar (the receipts get their results and those
    with problems are enqueued to be told); returns their ContentReport."""
    from segcore.notify.notify_due import content_and_notify

    with progress_bar("Checking mask contents", quiet) as bar:

        def progress(fraction, message):
            bar.label = message.ljust(32)
            bar.update(int(fraction * 1000) - bar.pos)

        return content_and_notify(ctx.databases, author=_author(), progress=progress, **options)


def print_content(content) -> None:
    """Each batch's content problems in English: counts, then the first offenders."""
    from segcore.content.mask_content import describe, describe_note

    for row in content.batches:
        counts = row.get("counts") or {}
        echo(
            f"{row['id']:<14} content: {row.get('checked', 0)} masks checked, "
            f"{counts.get('wrong_size', 0)} wrong size, {counts.get('empty', 0)} empty, "
            f"{counts.get('too_small', 0)} too small, {counts.get('bad_labels', 0)} bad "
            f"labels, {counts.get('unreadable', 0)} unreadable"
        )
        for offender in row.get("offenders") or ():
            echo(f"    {describe(offender)}")
        for note in row.get("notes") or ():
            echo(f"    {note.get('filename')}: {describe_note(note)}")
    skipped = (
        f"; {content.skipped} not checked: no image of their batches is listed"
        if content.skipped
        else ""
    )
    if content.unmatched:
        skipped += f"; {content.unmatched} not checked: naming no batch in the list"
    if content.unusable_count:  # named by the mask check's report just before
        skipped += f"; {counted(content.unusable_count, 'unusable upload')} skipped"
    echo(
        f"{counted(content.checked_uploads, 'upload')} content-checked, "
        f"{content.bytes_read / 1e6:,.1f} MB read{skipped}."
    )


def print_report(report) -> None:
    """The human-readable report: one line per batch, then the totals."""
    for row in report.batches:
        images = "?" if row.get("images") is None else row["images"]
        matched = "?" if row.get("matched") is None else row["matched"]
        shown = row["id"] or "(no id)"  # a batch another tool stored without one
        line = f"{shown:<14} {row['state']:<11} {matched} / {images} images with a mask"
        if row.get("extra_count"):
            line += f", {row['extra_count']} extra"
        echo(line)
        if row.get("missing"):
            more = row["missing_count"] - len(row["missing"])
            echo(
                f"    without a mask: {', '.join(row['missing'])}"
                + (f" (and {more} more)" if more > 0 else "")
            )
        if row.get("extra"):
            more = row["extra_count"] - len(row["extra"])
            echo(
                f"    matching no image: {', '.join(row['extra'])}"
                + (f" (and {more} more)" if more > 0 else "")
            )
        for bad in row.get("unreadable") or ():
            echo(f"    unreadable: {bad['filename']}: {bad['reason']}")
        for mask in row.get("ambiguous") or ():
            echo(
                f"    counted for no image: {mask['mask']}: {len(mask['images'])} images share "
                f"its name ({', '.join(mask['images'])}) and its folders do not say which"
            )
        if row.get("other_files"):
            more = (row.get("other_files_count") or 0) - len(row["other_files"])
            echo(
                f"    other files (not masks): {', '.join(row['other_files'])}"
                + (f" (and {more} more)" if more > 0 else "")
            )
        if row.get("not_images"):
            from segcore.content.reason_words import not_image

            more = (row.get("not_images_count") or 0) - len(row["not_images"])
            echo(
                "    left out, no mask needed: "
                + ", ".join(not_image(item, str) for item in row["not_images"])
                + (f" (and {more} more)" if more > 0 else "")
            )
        if row.get("note"):
            echo(f"    {row['note']}")
    states: dict[str, int] = {}
    for row in report.batches:
        states[row["state"]] = states.get(row["state"], 0) + 1
    stored = f" of {report.bytes_stored / 1e6:,.1f} MB stored" if report.bytes_stored else ""
    echo(
        f"{counted(report.checked_uploads, 'upload')} checked, {report.bytes_read / 1e6:,.1f} MB "
        f"read{stored}; {counted(len(report.batches), 'batch', 'batches')}: "
        + (", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none")
        + "."
    )
    if report.first_receipts:
        earlier = (
            f" ({report.owed_receipts} listed by an earlier check stopped before their receipts)"
            if report.owed_receipts
            else ""
        )
        echo(
            f"{report.first_receipts} uploads got their first receipt{earlier}; "
            f"{report.statuses_moved} batch statuses moved."
        )
    elif report.statuses_moved:  # sent to rework for a problem now gone (their chunks came)
        echo(f"{counted(report.statuses_moved, 'batch', 'batches')} moved from rework to review.")
    print_not_stored(getattr(report, "not_stored", []))
    skipped = getattr(report, "skipped", [])
    if skipped:
        echo(
            f"{report.skipped_count} unusable uploads skipped (as the sync counts them):", err=True
        )
        for bad in skipped[:SKIPPED_SHOWN]:
            echo(f"  unusable: {bad['filename'][:80]}: {bad['problem']}", err=True)


def print_not_stored(not_stored: list[dict]) -> None:
    """The uploads whose listing the database refused (each stored as unreadable, saying why)."""
    if not not_stored:
        return
    echo(f"{counted(len(not_stored), 'upload')} whose listing could not be stored:", err=True)
    for bad in not_stored[:SKIPPED_SHOWN]:
        echo(f"  not stored: {printable(str(bad['filename'])[:80])}: {bad['reason']}", err=True)
    if len(not_stored) > SKIPPED_SHOWN:
        echo(f"  ... and {len(not_stored) - SKIPPED_SHOWN} more", err=True)


@main.command()
@click.argument("batch_ids", nargs=-1, metavar="[BATCH ...]")
@click.option(
    "--all",
    "every_batch",
    is_flag=True,
    help="Report every batch in the list, also those without uploads.",
)
@click.option(
    "--recheck",
    is_flag=True,
    help="Read uploads and image folders again even when already checked.",
)
@click.option(
    "--content",
    "content",
    is_flag=True,
    help="Also check each mask's contents: its image's size, not empty, the agreed labels.",
)
@json_option
@pass_context
@handle_errors
def verify(ctx, batch_ids, every_batch, recheck, content, as_json):
    """Check uploaded masks against the images in each batch's folder.

    With no BATCH, checks every upload not checked yet and reports every batch that has uploads.
    """
    from segcore.core.errors import ValidationError

    if batch_ids and every_batch:
        raise ValidationError("Name batches or use --all, not both.")
    report = run_verify(
        ctx, as_json, batch_ids=list(batch_ids) or None, every_batch=every_batch, recheck=recheck
    )
    checked = (
        run_content(ctx, as_json, batch_ids=list(batch_ids) or None, recheck=recheck)
        if content
        else None
    )
    recounted(ctx, report, checked)
    if as_json:
        emit_json(with_content(report.as_dict(), checked))
    else:
        print_report(report)
        if checked is not None:
            print_content(checked)


def recounted(ctx, report, content) -> None:
    """The mask check's rows of the batches the content step counted again (copies of their
    images told by their pixels: `resaved_images`) as they now stand, so the run's report
    never shows such a batch complete."""
    if content is None or not content.recounted:
        return
    from segcore.masks.mask_check import batch_detail

    for at, row in enumerate(report.batches):
        if row["id"] in content.recounted:
            found = batch_detail(ctx.databases, row["id"])
            if found is not None:
                report.batches[at] = {**row, **found.summary()}


def with_content(data: dict, content) -> dict:
    """The verify JSON with each batch's `content` added (when the content was checked)."""
    if content is None:
        return data
    from segcore.content.mask_content_check import json_summary

    rows = content.by_batch()
    for batch in data["batches"]:
        if batch["id"] in rows:
            batch["content"] = json_summary(rows[batch["id"]])
    data["content_checked_uploads"] = content.checked_uploads
    data["content_skipped_uploads"] = content.skipped
    data["content_unmatched_uploads"] = content.unmatched
    data["content_unusable_uploads"] = content.unusable_count
    return data
