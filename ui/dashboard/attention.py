"""The Dashboard's "Attention" panel: stalled people and at-risk batches, only when there are any."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from segcore.core.naming import shown_name
from segcore.report.pace import Alerts
from ui.app.actions import flash
from ui.app.i18n import N_, _, format_age, format_date, ngettext, word
from ui.app.labels import literal
from ui.batches import late
from ui.team.write_to import members_named, write_buttons

SHOWN = 5  # the panel names a few; the suggestions page lists them all


def _names(items: list[str]) -> str:
    more = (
        " " + _("and {count} more").format(count=len(items) - SHOWN) if len(items) > SHOWN else ""
    )
    return ", ".join(items[:SHOWN]) + more


def sync_note(found: Alerts) -> str:
    """ " (as of the last sync, 3 days ago)" when the figures rest on a stale sync, else ""."""
    if not found.stale:
        return ""
    age = format_age(datetime.now(timezone.utc).replace(tzinfo=None) - found.basis.finished_at)
    return " " + _("(as of the last sync, {age})").format(age=age)


NO_SYNC_YET = N_(
    "No sync has run yet: pace, stalls and batches at risk are worked out from "
    "the deliveries a sync reads, so none is shown until the first one (Sync "
    "page)."
)


def attention_panel(found: Alerts) -> None:
    """Say what needs the coordinator's attention; nothing at all when nothing does.

    Before any sync it says that alerts need one; with a stale sync, each alert says how old
    the sync it rests on is.
    """
    if found.waiting_for_sync:
        st.info(_(NO_SYNC_YET), icon=":material/update:")
        return
    if not found.any:
        return
    note = f":orange[{sync_note(found)}]" if found.stale else ""
    with st.container(border=True):
        st.subheader(_("Attention"), anchor=False)
        if found.stalled:
            st.markdown(
                ":orange[**"
                + ngettext("{count} stalled", "{count} stalled", len(found.stalled)).format(
                    count=len(found.stalled)
                )
                + "**] "
                + _("(open batches, no delivery for a while):")
                + " "
                + _names(
                    [
                        ngettext(
                            "{name} ({days} day)", "{name} ({days} days)", p.days_since
                        ).format(name=literal(shown_name(p.name)), days=p.days_since)
                        if p.days_since is not None
                        else _("{name} (never delivered)").format(name=literal(shown_name(p.name)))
                        for p in found.stalled
                    ]
                )
                + note
            )
            late.links(
                "stalled",
                # the link filters by the whole stored name: the Batches table shows it
                [(literal(shown_name(p.name)), {"who": p.name}) for p in found.stalled[:SHOWN]],
                _("All batches of stalled people"),
            )
            write_buttons(members_named([p.name for p in found.stalled[:SHOWN]]))
        if found.at_risk:
            st.markdown(
                ":red[**"
                + ngettext(
                    "{count} batch at risk", "{count} batches at risk", len(found.at_risk)
                ).format(count=len(found.at_risk))
                + "**] "
                + _("of missing their due date:")
                + " "
                + _names(
                    [
                        f"{literal(shown_name(b.id))} ({literal(shown_name(b.assignee))})"
                        for b in found.at_risk
                    ]
                )
                + note
            )
            late.links(
                "at_risk",
                [(literal(shown_name(b.id)), {"batch": b.id}) for b in found.at_risk[:SHOWN]],
                _("All batches at risk"),
            )
        if found.moves:
            label = ngettext(
                "{count} suggested move: review and apply it",
                "{count} suggested moves: review and apply them",
                len(found.moves),
            ).format(count=len(found.moves))
            if found.stale:
                st.caption(sync_note(found).strip())
            try:
                st.page_link("ui/pages/moves.py", icon=":material/swap_horiz:", label=label)
            except StreamlitPageNotFoundError:
                # The page script run on its own (page tests, benchmarks): no navigation to
                # link into, so name the page instead.
                st.markdown(_("{label} on the **Suggested moves** page.").format(label=label))


def moves_key(moves: list) -> str:
    """The editor key for this exact list of moves: when the suggestions change (a sync, an
    edit elsewhere), the ticks start again instead of landing on other batches."""
    fingerprint = hashlib.sha1(repr([_as_shown(m) for m in moves]).encode())
    return f"moves_editor_{fingerprint.hexdigest()[:12]}"


def _as_shown(move) -> tuple:
    """What a row of the suggestions shows of a move: the batch, from whom, to whom."""
    return (move.id, move.from_, move.to)


TICKS_SEEN = "moves_ticks_seen"  # (editor key, the moves ticked in it), as last drawn
UNTICKED = "moves_unticked"  # (editor key, the batches ticked before and not suggested alike)


@dataclass(frozen=True)
class Ticks:
    """The ticks a list of suggestions starts with, after ticks made on an earlier list (the
    list changed since: an edit elsewhere, a sync)."""

    key: str  # the editor's key for this list
    start: frozenset  # the moves (as shown) ticked when this list is first drawn
    earlier: list  # the moves ticked on the earlier list, as shown: a click there applies them
    unticked: list[str]  # the batches ticked before and no longer suggested alike


def ticks_for(moves: list) -> Ticks:
    """The ticks of the suggestions `moves`: those still suggested alike stay ticked, the
    others are named (until the list changes again)."""
    key = moves_key(moves)
    seen_key, ticked = st.session_state.get(TICKS_SEEN) or (None, [])
    earlier = ticked if seen_key != key else []
    again = frozenset(map(_as_shown, earlier)) & frozenset(map(_as_shown, moves))
    start = st.session_state.setdefault(key + "_start", again)
    if len(again) < len(earlier):
        st.session_state[UNTICKED] = (key, [m.id for m in earlier if _as_shown(m) not in start])
    unticked_in, unticked = st.session_state.get(UNTICKED) or (None, [])
    return Ticks(key, start, earlier, unticked if unticked_in == key else [])


def note_ticked(ticks: Ticks, ticked: list) -> None:
    """Keep the moves ticked in the list drawn now (what a click on another list applies)."""
    st.session_state[TICKS_SEEN] = (ticks.key, ticked)


def is_ticked(ticks: Ticks, move) -> bool:
    return _as_shown(move) in ticks.start


MOVES_NAMED = 20  # a success names this many moves; the history has every one


def describe_applied(result, moves: list) -> None:
    """Queue what applying `moves` did: which batch went to whom, and each one left alone.
    The ticks are spent: none is carried to the list the moves leave (see ticks_before)."""
    st.session_state.pop(TICKS_SEEN, None)
    done = set(result.updated)
    named = [
        _("{batch} from {old} to {new}").format(
            batch=literal(shown_name(m.id)),
            old=literal(shown_name(m.from_)),
            new=literal(shown_name(m.to)),
        )
        for m in moves
        if m.id in done
    ]
    text = ngettext("{count} batch moved", "{count} batches moved", len(result.updated)).format(
        count=len(result.updated)
    )
    if named:
        text += (
            ": "
            + "; ".join(named[:MOVES_NAMED])
            + (
                " " + _("and {count} more").format(count=len(named) - MOVES_NAMED)
                if len(named) > MOVES_NAMED
                else ""
            )
        )
    flash("success", text + ".")
    for conflict in result.conflicts:
        flash(
            "warning",
            _("Not moved, changed meanwhile: {what}").format(what=word(conflict.describe())),
        )
    for batch_id, why in result.failed.items():
        flash("warning", _("Not moved: {batch}: {why}").format(batch=batch_id, why=word(why)))
    for batch_id in result.missing:
        flash(
            "warning", _("Not moved: {batch} is no longer in the batch list").format(batch=batch_id)
        )


PACE_COLUMNS = (N_("Pace / day"), N_("Last delivery"), N_("Projected finish"), N_("Stalled"))


def pace_columns(person, found: Alerts | None = None) -> dict:
    """The Team table's pace columns for one person (a `PersonPace`, or None), headed in the
    session's language; before any sync they say a sync is needed, and a stall marker names a
    stale sync."""
    if found is not None and found.waiting_for_sync:
        return {
            _(header): value
            for header, value in zip(PACE_COLUMNS, ("", "", "", _("unknown until a sync")))
        }
    # Dates worded as the Dashboard words them (one figure, one form); blanks, never "None".
    marker = (
        "⚠ " + _("stalled") + (sync_note(found) if found is not None else "")
        if person is not None and person.stalled
        else ""
    )
    values = (
        (0.0, "", "", "")
        if person is None
        else (
            person.pace,
            format_date(person.last_delivery),
            format_date(person.projected_finish)
            or (_("never at this pace") if person.open else ""),
            marker,
        )
    )
    return {_(header): value for header, value in zip(PACE_COLUMNS, values)}
