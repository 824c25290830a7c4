"""Receipts as a table (the Receipts page, a batch's details) and the review form of the
Batches page."""

from __future__ import annotations

import streamlit as st

from segcore.masks.batch_as_it_stood import shown_missing
from segcore.views.labels import human_size, stored_names
from segcore.work import review
from ui.app import labels
from ui.app.actions import run_write
from ui.app.i18n import _, choice_hint, format_datetime, format_number, ngettext, word
from ui.app.labels import literal
from ui.app.state import as_drawn, clear_typed, current_actor, typed


def receipt_rows(found: list[dict]) -> list[dict]:
    """Receipts as rows with translated headers, office times as the language writes them and
    readable sizes."""
    rows = []
    for r in found:
        verdict = (
            _("usable") if r.get("usable") else labels.problem(r.get("problem")) or _("not usable")
        )
        rows.append(
            {
                _("Uploaded at"): format_datetime(r.get("upload_date")),
                _("File"): r.get("filename"),
                _("Uploaded by"): r.get("uploaded_by") or "-",
                _("Batches"): ", ".join(stored_names(r.get("batches"))),
                _("Result"): verdict,
                _("Why"): _why(r),
                _("Masks"): _count(r.get("masks")),
                _("Matched"): _count(r.get("matched")),
                _("Still missing"): _count(shown_missing(r)),
                _("Extra"): _count(r.get("extra_count")),
                _("Other files"): _count(_how_many(r.get("other_files"))),
                _("Size"): human_size(r.get("length")),
            }
        )
    return rows


def _why(receipt: dict) -> str:
    """The receipt's reason; for a batch short of masks then and usable now, that they came in
    a later upload (the reason keeps the batch as it stood at this upload)."""
    reason = word(receipt.get("reason"))
    if receipt.get("delivered_since") is True:
        return _("{reason} (delivered since by a later upload)").format(reason=reason)
    return reason


def _column_help() -> dict:
    """What the counts count: the upload's own masks, and the batch's images still without
    one once the upload is counted with the batch's earlier uploads."""
    return {
        _("Masks"): st.column_config.TextColumn(help=_("Masks this upload holds.")),
        _("Matched"): st.column_config.TextColumn(
            help=_("Images of the batch that this upload's own masks match.")
        ),
        _("Still missing"): st.column_config.TextColumn(
            help=_(
                "Images of the batch still without a mask once this upload is counted with "
                "the batch's earlier uploads, as the batch stood then: 0 for an upload that "
                "completes a batch delivered in parts."
            )
        ),
        _("Extra"): st.column_config.TextColumn(
            help=_("Masks of this upload that match no image of the batch.")
        ),
    }


def _count(value: object) -> str:
    """A count as text in the session's style; "-" where the receipt could not count (an
    unreadable upload, images never listed), never a grey None or a float "2.0"."""
    return format_number(value) if isinstance(value, int) and not isinstance(value, bool) else "-"


def _how_many(value: object) -> object:
    """How many items a stored list holds; a stored count as it is (see _count)."""
    return len(value) if isinstance(value, (list, tuple)) else value if value is not None else 0


def _listed(value: object) -> list:
    """A stored list; none for a number or a text another version left in its place."""
    return list(value) if isinstance(value, (list, tuple)) else []


def names_by_batch(receipt: dict, key: str) -> str:
    """The names under `key` ("missing", "extra"); for an upload naming several batches, each
    batch's after its id ("batch_1: a.png, b.png; batch_2: c.png"): a flat list repeats the
    same names without saying whose they are. "-" for none."""
    parts = [p for p in _listed(receipt.get("parts")) if isinstance(p, dict)]
    if len(parts) < 2:
        return ", ".join(stored_names(receipt.get(key))) or "-"
    named = [f"{p.get('id')}: {', '.join(stored_names(p[key]))}" for p in parts if p.get(key)]
    return "; ".join(named) or "-"


def show_receipts(found: list[dict], empty: str) -> None:
    """The table, then the names missing or extra of the newest receipt with a problem (not
    usable): a usable upload's masks matching only some images (a part completing a batch
    delivered in parts) is no problem."""
    if not found:
        st.info(empty)
        return
    st.dataframe(receipt_rows(found), hide_index=True, column_config=_column_help())
    _content_caption(found)
    worst = next(
        (r for r in found if not r.get("usable") and (r.get("missing") or r.get("extra"))), None
    )
    if worst:
        text = _("{file}: without a mask: {missing}; matching no image: {extra}").format(
            file=literal(worst.get("filename")),
            missing=literal(names_by_batch(worst, "missing")),
            extra=literal(names_by_batch(worst, "extra")),
        )
        if worst.get("delivered_since") is True:
            text = _("{reason} (delivered since by a later upload)").format(reason=text)
        st.caption(text)


def _content_caption(found: list[dict]) -> None:
    """What the content checks found in the newest receipt with content problems, worded in
    the session's language."""
    newest = next((r for r in found if r.get("problem") == "content"), None)
    content = newest.get("content") if newest else None
    if not isinstance(content, dict):
        return
    # a mask several of the upload's batches count is named once, not once per batch
    named = list(
        dict.fromkeys(
            labels.offender(o) for o in _listed(content.get("offenders")) if isinstance(o, dict)
        )
    )
    named += [labels.upload_note(n) for n in _listed(content.get("notes")) if isinstance(n, dict)]
    if named:
        st.caption(
            _("{file}: content problems: {problems}").format(
                file=literal(newest.get("filename")), problems=literal("; ".join(named[:10]))
            )
        )


def _with_status(batch_id: str, status: object) -> str:
    """ "batch_1 (review)"; a batch with no status stored is named alone, not "batch_2 ()"."""
    shown = labels.status(status)
    return f"{batch_id} ({shown})" if shown else batch_id


def _relabel_choice(batch_ids: list[str], statuses: dict, shown: dict) -> list[str]:
    """Send the choice to the browser again when a chosen batch's status changed since the
    last run (`shown`), and say which ("batch_1: In review → Rework").

    The browser keeps a choice by its label: a batch would stay chosen under its old status,
    and a second click act on a label no longer true. After an action (`REVIEW_STILL`) the
    choice is what it did not move; a label the browser sent back that names no batch to
    review any more is taken out of the choice.
    """
    still = st.session_state.pop(REVIEW_STILL, None)
    if still is not None:
        st.session_state[REVIEW_IDS] = [b for b in still if b in batch_ids]
        return []
    current = list(st.session_state.get(REVIEW_IDS) or ())
    kept = [v for v in current if v in batch_ids]
    gone = [str(v) for v in current if v not in batch_ids]
    moved = [b for b in kept if b in shown and shown[b] != statuses.get(b)]
    if gone or moved:
        st.session_state[REVIEW_IDS] = kept
    return [
        f"{b}: {labels.status(shown[b]) or '-'} → {labels.status(statuses.get(b)) or '-'}"
        for b in moved
    ] + [_("{label} (taken out of the choice)").format(label=v) for v in gone]


def review_form(databases, batch_ids: list[str], statuses: dict[str, object]) -> None:
    """Accept or send back the chosen batches (compare-and-set on the statuses shown). The
    outcome is said inside the form, kept open: at the top of the page it was out of view.

    The statuses compared are those the choices were labelled with when the user clicked (the
    previous run's): the click's own run may have read a send-back made a moment earlier.
    """
    outcome = st.session_state.pop(REVIEW_OUTCOME, None)
    if st.session_state.pop(NOTE_SENT, False):  # the note went with the batches sent back
        clear_typed("review_note")
    shown = as_drawn("review", dict(statuses))
    changed = _relabel_choice(batch_ids, statuses, shown)
    with st.expander(
        _("Review delivered batches"),
        expanded=outcome is not None or bool(changed),
        key="review_form",  # a stable identity: without it every choice folded the form
    ):
        if outcome is not None:
            st.success(outcome)
        if changed:
            st.warning(
                _("Changed meanwhile: {changes}. The choice shows them as they are now.").format(
                    changes=literal("; ".join(changed))
                )
            )
        chosen = st.multiselect(
            _("Batches to review"),
            batch_ids,
            key=REVIEW_IDS,
            format_func=lambda b: _with_status(b, statuses.get(b)),
            placeholder=choice_hint(batch_ids, many=True),
            # no "Select N matches": typing batch_1 and Enter chooses batch_1, never every
            # batch whose id contains it (batch_10, batch_11, ...)
            select_all=False,
        )
        note = st.text_input(  # kept across other pages until it is sent (`typed`)
            _("Note for the segmentador (required to send back)"), **typed("review_note")
        )
        accept, back = st.columns(2)
        seen = {b: shown.get(b) for b in chosen}  # None for one never shown: a conflict
        if accept.button(
            _("Accept ({count})").format(count=len(chosen)),
            key="review_accept",
            disabled=not chosen,
            type="primary",
        ):
            run_write(
                _("Accepting"),
                review.review,
                databases.work,
                chosen,
                accept=True,
                seen=seen,
                author=current_actor(),
                then=_said_in_form,
            )
        if back.button(
            _("Send back ({count})").format(count=len(chosen)),
            key="review_back",
            disabled=not chosen,
        ):
            run_write(
                _("Sending back"),
                review.review,
                databases.work,
                chosen,
                accept=False,
                note=note,
                seen=seen,
                author=current_actor(),
                then=_sent_back,
            )


REVIEW_IDS = "review_ids"
REVIEW_OUTCOME = "review_outcome"
REVIEW_STILL = "review_still_chosen"  # after an action: the batches it did not move
NOTE_SENT = "review_note_sent"  # batches went back with the note: empty it on the next run


def _said_in_form(result: review.ReviewResult) -> None:
    st.session_state[REVIEW_OUTCOME] = _describe(result)
    # kept chosen: those someone changed meanwhile and those to send back instead of accept
    st.session_state[REVIEW_STILL] = [*result.conflicts, *result.not_usable]


def _sent_back(result: review.ReviewResult) -> None:
    st.session_state[NOTE_SENT] = bool(result.moved)
    _said_in_form(result)


def _describe(result: review.ReviewResult) -> str:
    moved = len(result.moved)
    text = ngettext("{count} batch moved.", "{count} batches moved.", moved).format(
        count=format_number(moved)
    )
    if result.conflicts:
        text += " " + _("Changed by someone else meanwhile, not moved: {ids}.").format(
            ids=", ".join(result.conflicts)
        )
    if result.refused:
        text += " " + _("Not reviewed (no upload, or already done): {ids}.").format(
            ids=", ".join(result.refused)
        )
    if result.not_usable:
        text += " " + _(
            "Not accepted, its uploads give no usable masks (send it back instead): {ids}."
        ).format(ids=", ".join(result.not_usable))
    return text
