"""What the "My batches" page shows: the reads scoped to the logged-in segmentador, and the
one action they have (mark a batch in progress)."""

from __future__ import annotations

import streamlit as st

from segcore.core.actors import Actor
from segcore.report.pace import PaceOptions
from segcore.store.connection import Databases
from segcore.views import my_work
from segcore.work import assignments
from ui.app import labels
from ui.app.actions import run_write
from ui.app.choices import held_choice, refuse_gone
from ui.app.connection import settings
from ui.app.i18n import _, format_date, format_datetime, format_number, ngettext, word
from ui.app.labels import literal
from ui.app.reads import cached_read
from ui.app.state import as_drawn


@cached_read(topics=("batches",))
def batches(found: Databases, actor: Actor, today) -> list:
    return my_work.my_batches(found.work, actor, today)


@cached_read(topics=("batches",))
def pace(found: Databases, actor: Actor, minute) -> my_work.MyPace:
    """Kept per minute: pace and stalls move with the clock, not only with the data."""
    return my_work.my_pace(
        found.work, actor, minute, settings().zone, PaceOptions.from_settings(settings())
    )


@cached_read(topics=("batches", "sync"))
def receipts(found: Databases, actor: Actor, batch_ids: tuple[str, ...]) -> dict[str, dict]:
    return my_work.my_receipts(found.work, actor, list(batch_ids))


@cached_read(topics=("batches",))
def reviews(found: Databases, actor: Actor) -> list[dict]:
    return my_work.my_reviews(found.work, actor)


def batch_row(batch) -> dict:
    """One batch as a table row in the reader's language."""
    if batch.days_left is None:
        left = ""
    elif batch.overdue:
        left = ngettext("{n} day late", "{n} days late", -batch.days_left).format(
            n=-batch.days_left
        )
    else:
        left = ngettext("{n} day left", "{n} days left", batch.days_left).format(n=batch.days_left)
    masks = "" if batch.images is None else f"{batch.matched or 0} / {batch.images}"
    return {
        _("Batch"): batch.id,
        _("Status"): labels.status(batch.status),
        _("Priority"): labels.priority(batch.priority) if batch.priority else "",
        _("Due date"): format_date(batch.due_date) if batch.due_date else "",
        _("Days left"): ("⚠ " if batch.overdue else "") + left,
        _("Masks vs images"): masks,
        _("Check"): labels.mask_state(batch.mask_state) if batch.mask_state else "",
    }


def show_receipt(batch, receipt: dict | None) -> None:
    """What one batch still lacks and what the person's latest upload on it was found to hold.

    The images without a mask and the unreadable uploads are the batch's check (every upload
    on it together, as the table's "Masks vs images"): an earlier part may have delivered what
    the latest one lacks, and an earlier upload may be the unreadable one. Without a check yet,
    the latest upload's own findings are all there is.
    """
    if receipt is None:
        show_lacking(batch)
        return
    when = format_datetime(receipt["upload_date"]) if receipt.get("upload_date") else ""
    readable = bool(receipt.get("readable"))
    if not readable:
        st.error(
            _("**{batch}**: your upload {file} ({when}) could not be read: {reason}").format(
                batch=literal(batch.id),
                file=literal(receipt.get("filename") or ""),
                when=when,
                reason=literal(word(receipt.get("reason"))),
            )
        )
    elif batch.images is not None:
        st.markdown(
            _(
                "**{batch}**: your latest upload {file} ({when}) was read. The batch has "
                "masks for {matched} of {images} images."
            ).format(
                batch=literal(batch.id),
                file=literal(receipt.get("filename") or ""),
                when=when,
                matched=batch.matched or 0,
                images=batch.images,
            )
        )
    elif receipt.get("images") is not None:
        st.markdown(
            _(
                "**{batch}**: your upload {file} ({when}) has masks for {matched} of "
                "{images} images."
            ).format(
                batch=literal(batch.id),
                file=literal(receipt.get("filename") or ""),
                when=when,
                matched=receipt.get("matched") or 0,
                images=receipt["images"],
            )
        )
        if receipt.get("missing"):
            st.code("\n".join(receipt["missing"]), language=None)
    # those the batch's check still counts as unreadable (the latest one among them)
    earlier = (receipt.get("earlier_unreadable") or [])[: batch.unreadable - (not readable)]
    for upload in earlier:  # theirs: named, even once a later upload was read
        st.warning(
            _(
                "**{batch}**: your earlier upload {file} ({when}) could not be read: {reason}"
            ).format(
                batch=literal(batch.id),
                file=literal(upload.get("filename") or ""),
                when=format_datetime(upload["upload_date"]) if upload.get("upload_date") else "",
                reason=literal(word(upload.get("reason"))),
            )
        )
    # the unreadable uploads named above: the count says only the others
    show_lacking(batch, named_unreadable=len(earlier) + (0 if readable else 1))
    show_content(receipt)


def show_content(receipt: dict) -> None:
    """The masks with content problems: the batch's content check (every upload on it
    together, the masks its "N masks with problems" counts), else the latest upload's; the
    masks counted beyond those listed (a check lists the first 50 problems) said as a number."""
    found = receipt.get("content") or []
    problems = [labels.offender(o) for o in found]
    if not problems:
        return
    lines = [f"- {literal(p)}" for p in problems]
    named = len({str(o.get("name")) for o in found})
    if (receipt.get("content_problems") or 0) > named:
        more = receipt["content_problems"] - named
        text = ngettext(
            "and {count} more mask with problems", "and {count} more masks with problems", more
        )
        lines.append("- " + text.format(count=more))
    st.warning(_("Masks with content problems:") + "\n\n" + "\n".join(lines))


def show_lacking(batch, named_unreadable: int = 0) -> None:
    """The names of the images still without a mask, and unreadable uploads, of one batch
    (`named_unreadable`: how many of these the page has named already)."""
    if batch.missing:
        st.markdown(
            ngettext(
                "**{batch}**: {count} image still without a mask",
                "**{batch}**: {count} images still without a mask",
                batch.missing_count,
            ).format(batch=literal(batch.id), count=batch.missing_count)
        )
        st.code("\n".join(batch.missing), language=None)
    others = batch.unreadable - named_unreadable
    if others > 0 and not named_unreadable:  # counted only: such an upload may be someone else's
        st.warning(
            ngettext(
                "{batch}: {count} upload naming this batch could not be read.",
                "{batch}: {count} uploads naming this batch could not be read.",
                batch.unreadable,
            ).format(batch=literal(batch.id), count=batch.unreadable)
        )
    elif others > 0:
        st.warning(
            ngettext(
                "{batch}: {count} other upload naming this batch could not be read.",
                "{batch}: {count} other uploads naming this batch could not be read.",
                others,
            ).format(batch=literal(batch.id), count=others)
        )


def mark_in_progress(databases: Databases, actor: Actor, open_batches: list) -> None:
    """Pick one of the person's open batches and mark it in progress: the batch chosen, with
    the status the page showed it with (the click's run may have read a newer one). A batch
    someone else marked in progress meanwhile is in progress, as asked: no conflict."""
    startable = [b for b in open_batches if b.status not in assignments.NOT_STARTABLE]
    shown = as_drawn("my_start", {b.id: b.status for b in startable})
    if not startable:
        return
    chosen = held_choice(
        st, _("Mark a batch as in progress"), [b.id for b in startable], key="my_start_batch"
    )
    if st.button(_("Mark in progress"), key="my_start_button", icon=":material/play_arrow:"):
        started = {b.id for b in open_batches if b.status == assignments.IN_PROGRESS}
        if chosen.gone and chosen.value in started:  # this run read it in progress already
            st.success(_("{batch} is in progress.").format(batch=literal(chosen.value)))
            return
        if chosen.gone:  # moved on meanwhile: never the batch the box fell back to
            refuse_gone(chosen)
            return
        batch = chosen.value
        run_write(
            _("Saving"),
            assignments.start_batch,
            databases.work,
            batch,
            shown.get(batch, next(b.status for b in startable if b.id == batch)),
            actor,
            then=lambda result: (
                _("{batch} is in progress.").format(batch=batch)
                if result.updated or batch in result.already
                else _("{batch} changed meanwhile; nothing was saved.").format(batch=batch)
            ),
        )


def pace_caption(figures: my_work.MyPace) -> str:
    finish = format_date(figures.projected_finish) if figures.projected_finish else "—"
    return _(
        "Delivered in the last 7 days: {d7}; in the last 28 days: {d28}. Pace: {pace} "
        "batches per working day. Projected finish: {finish}."
    ).format(
        d7=figures.delivered_7,
        d28=figures.delivered_28,
        pace=format_number(figures.pace, 2),
        finish=finish,
    )
