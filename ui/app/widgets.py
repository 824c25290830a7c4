"""Widgets more than one page (or the entry point) shows: the start of every page, a titled
chart, the sidebar's connection status and the demo banner (the login gate is in `ui/app/login.py`).

Widgets used by one page live with that page (`ui/batches/batch_actions.py`, `ui/team/team_actions.py`,
`ui/sync/sync_actions.py`, `ui/dashboard/dashboard_demo.py`, or the page script itself).
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st
from pymongo.errors import PyMongoError

from segcore.core.errors import SegcoreError
from segcore.core.naming import shown_name
from segcore.store.connection import Databases
from segcore.team import auth
from ui.app import i18n, reads
from ui.app.actions import describe_error, guarded, show_flash
from ui.app.connection import databases, indexing
from ui.app.i18n import _, choice_hint, date_format, format_date, ngettext, word
from ui.app.labels import literal
from ui.app.login import checked_fragment
from ui.app.state import (
    ACTOR,
    LABEL_BASIS,
    LABELLED_CHOICES,
    LANGUAGE_CHOICE,
    LANGUAGE_OF,
    OUTAGE_SHOWN,
    can_write,
    current_actor,
    forget_other_pages_dialogs,
    init_state,
)

# Durations as timedelta: Streamlit parses a string such as "20s" with pandas, whose import
# (0.5 s, more on a busy machine) would be paid by pages that need no table.
STATUS_REFRESH = timedelta(seconds=20)
INDEXING_REFRESH = timedelta(seconds=2)


def language_selector() -> None:
    """Sidebar choice of the interface language; remembered for the user when login is on.

    The page, the selector and every widget's shown value agree from the first run: the
    selector's state is set before it is drawn (a widget's `index` is ignored once its key
    holds a value), and a change re-sends every labelled choice so the browser shows it in
    the new language instead of keeping the old label (see `state.LABELLED_CHOICES`).
    """
    user_language()
    remembered = i18n.current_language()
    st.session_state[i18n.STATE_KEY] = remembered
    if st.session_state.get(LANGUAGE_CHOICE) != remembered:
        st.session_state[LANGUAGE_CHOICE] = remembered

    def chosen() -> None:
        st.session_state[i18n.STATE_KEY] = st.session_state[LANGUAGE_CHOICE]
        relabel_choices()
        if st.session_state.get(ACTOR) is not None:
            guarded(
                auth.set_language,
                databases().work,
                st.session_state[ACTOR].name,
                st.session_state[i18n.STATE_KEY],
            )

    st.selectbox(
        ":material/translate: " + i18n._("Language"),
        list(i18n.LANGUAGES),
        format_func=i18n.LANGUAGES.get,
        key=LANGUAGE_CHOICE,
        on_change=chosen,
        placeholder=choice_hint(list(i18n.LANGUAGES)),
    )


def user_language() -> None:
    """Just logged in (or back from a reload): the user's own choice of language, if they
    made one, replaces the session's. Called before the page's first text (its title in the
    browser's tab too); again by the selector, which does nothing the second time."""
    actor = st.session_state.get(ACTOR)
    if actor is not None and st.session_state.get(LANGUAGE_OF) != actor.name:
        st.session_state[LANGUAGE_OF] = actor.name
        stored = guarded(auth.user_language, databases().work, actor.name)
        if stored in i18n.LANGUAGES:
            st.session_state[i18n.STATE_KEY] = stored
            relabel_choices()


def relabel_choices() -> None:
    """Send every labelled choice again, so the browser draws it in the session's language.

    The browser keeps the label it showed ("Todos") while the options change language under
    it; it then sends that label back, which matches no option, and the choice falls back to
    its default (a sort reset on the next live refresh). A value set in the session state is
    sent with the options, so the label shown is the new one.
    """
    resend_choices(LABELLED_CHOICES)


def resend_choices(keys) -> None:
    """Send the values the session holds for these widgets' `keys` with the widgets, so the
    browser shows them instead of the value it last drew (or a default). Call it before the
    widgets are drawn."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def relabel_when_changed(page: str, basis: tuple) -> None:
    """Send the labelled choices again when what their labels are made from changed (a holder
    joined the team and lost "not on the team"): the browser keeps and sends back the label
    it showed, which matches no option any more (the box went on saying "not on the team" of
    a member). Call it before the page draws those choices."""
    seen = st.session_state[LABEL_BASIS]
    if seen.get(page, basis) != basis:
        relabel_choices()
    seen[page] = basis


def page_start(title: str) -> Databases:
    """Title, queued messages, and the prepared databases (or a message and a retry).

    `title` is the page's English name, marked with `N_` (it also names the page whose open
    questions stay open); it is shown in the session's language.
    """
    init_state()
    st.session_state[OUTAGE_SHOWN] = None  # a new run: an outage may be reported again
    forget_other_pages_dialogs(title)
    st.title(_(title))
    show_flash()
    found = guarded(databases)
    # Team-admin work (rename or remove a member) is a coordinator's: a segmentador's page names
    # nobody else, and a viewer can act on nothing.
    if can_write():
        for warning in reads.team_warnings():
            st.warning(word(warning))
    if not current_actor().is_segmentador:  # their own page lists only their batches
        repeated_ids_warning()
    if not indexing().done:
        indexing_notice()
    return found


REPEATED_SHOWN = 10  # repeated ids named in the warning; the Batches table lists every one


def repeated_ids_warning() -> None:
    """Say which batch ids more than one document holds (legacy data): the figures count each
    document, as `segcore status` does, and the tables list each as stored."""
    repeated = reads.batch_rows().repeated()
    if not repeated:
        return
    named = ", ".join(f"'{literal(shown_name(i))}'" for i in repeated[:REPEATED_SHOWN])
    if len(repeated) > REPEATED_SHOWN:
        named += " " + _("and {count} more").format(count=len(repeated) - REPEATED_SHOWN)
    st.warning(
        ngettext(
            "Batch id {ids} is held by more than one batch document: each is counted and "
            "listed as stored; remove or rename the extra one.",
            "Batch ids {ids} are each held by more than one batch document: each is counted "
            "and listed as stored; remove or rename the extra ones.",
            len(repeated),
        ).format(ids=named)
    )


@checked_fragment(run_every=INDEXING_REFRESH)
def indexing_notice() -> None:
    """What the background preparation of the database is doing, refreshed until it ends."""
    state = indexing()
    if state.error is not None:
        st.warning(
            _(
                "Indexing the batch list stopped ({problem}); it starts again with the next page."
            ).format(problem=describe_error(state.error))
        )
    elif state.running and state.started_at is None:
        st.info(
            _(
                "Preparing the database: the batch list gets its indexes once this page is "
                "shown. Every page works meanwhile."
            ),
            icon=":material/hourglass_top:",
        )
    elif state.running:
        st.info(
            _(
                "Preparing the database in the background: indexing the batch list "
                "({seconds} s so far, about 15 s per 50,000 batches). Every page works "
                "meanwhile; the batch table may be slower until it ends."
            ).format(seconds=i18n.format_number(state.seconds(), 0)),
            icon=":material/hourglass_top:",
        )


def metric_row(figures) -> None:
    """(label, value[, help]) figures side by side at their own width, wrapping to a second
    line on a narrow screen: a label or a value is never cut ("Con másc…", "5…" for 50,000)."""
    with st.container(horizontal=True, wrap=True, gap="medium"):
        for label, value, *hint in figures:
            st.metric(label, value, help=hint[0] if hint else None, width="content")


def chart_title(where, title: str) -> None:
    """A chart's title in `where` (a column, or `st`), a heading the browser wraps to the
    column's width: a title plotly draws runs on one line past a half-page chart's edge at
    800 px ("Avance de lotes sin entregar (másca"), and its toolbar covers it."""
    where.markdown(f"##### {literal(title)}")


def titled_chart(where, title: str, figure, key: str) -> None:
    """A figure of ui.dashboard.charts (they have no title of their own) under its `chart_title`."""
    chart_title(where, title)
    where.plotly_chart(figure, key=key)


@checked_fragment(run_every=STATUS_REFRESH)
def connection_status() -> None:
    """Sidebar panel: both databases' status, refreshed on its own without rerunning the page."""
    st.caption(_("Connection"))
    try:
        rows = reads.health()
    except (SegcoreError, PyMongoError) as exc:
        st.error(describe_error(exc))
        return
    for row in rows:
        where = _("embedded") if row["embedded"] else _("remote")
        if row["reachable"]:
            st.markdown(
                " · ".join(
                    [
                        f":green[●] **{row['database']}**",
                        where,
                        _("{ms} ms").format(ms=i18n.format_number(row["rtt_ms"], 1)),
                    ]
                )
            )
        else:
            st.markdown(" · ".join([f":red[●] **{row['database']}**", where, _("unreachable")]))
            st.caption(row["error"])
    st.caption(f"`{_host(rows[0]['uri'])}`")


def _host(masked_uri: str) -> str:
    """The host part of an already masked URI (user and *** kept, options dropped)."""
    return masked_uri.split("://", 1)[-1].split("/?", 1)[0].rstrip("/")


def upload_models_notice() -> None:
    """Say so when the uploads' read models (kept by the sync) lag behind the last sync."""
    state, _problem = reads.upload_models_state.or_problem()
    if state == "behind":
        st.info(
            _(
                "These upload figures are older than the last sync (it ran with an earlier "
                "version of the app, or could not save them); the next sync brings them up "
                "to date."
            ),
            icon=":material/history:",
        )
    elif state == "missing":
        st.info(
            _(
                "Upload figures are built by the sync and none has saved them yet: run a "
                "sync from the Sync page."
            ),
            icon=":material/history:",
        )


def restore_banner() -> None:
    """A restore that was interrupted leaves the data unfinished: every page says so."""
    problem = reads.interrupted_restore()
    if problem is not None:
        st.error(describe_error(problem), icon=":material/settings_backup_restore:")


def demo_banner() -> None:
    """A visible banner while the data shown is the demo's, not the team's."""
    unfinished = reads.interrupted_demo()
    if unfinished is not None:  # how to finish it: the Dashboard offers it too
        st.warning(describe_error(unfinished), icon=":material/science:")
        return
    state, _problem = reads.demo_state.or_problem()  # the page itself reports an outage
    if state and state["is_demo"]:
        st.warning(
            _(
                "**Demo data.** Everything shown here is made up; load your own batch "
                "list from the Settings page once you point the app at real data."
            ),
            icon=":material/science:",
        )


def date_range(
    container, label: str, key: str, default: tuple[date, date], today: date
) -> tuple[date, date]:
    """A date range whose mistakes are said in the page's language: Streamlit's own message
    for a date outside `min_value`/`max_value` is English only ("Date set outside allowed
    range"), so the limits are a century either way, and a range that ends after `today`
    is cut at today (and a start after the end is swapped), each said under the field."""
    span = container.date_input(
        label,
        default,
        min_value=date(today.year - 100, 1, 1),
        max_value=date(today.year + 100, 12, 31),
        key=key,
        format=date_format(),
    )
    start, end = (span[0], span[-1]) if span else default
    if start > end:
        start, end = end, start
        container.warning(
            _("The start date was after the end date: showing {start} to {end}.").format(
                start=format_date(start), end=format_date(end)
            )
        )
    if end > today:
        start, end = min(start, today), today
        container.warning(
            _("Nothing has happened after today ({today}) yet: showing up to today.").format(
                today=format_date(today)
            )
        )
    return start, end
