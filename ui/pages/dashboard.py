"""Dashboard: KPIs and charts of the team's progress, with filters that apply to all of it.

Each part is a fragment: the KPIs appear first, and a chart's own control (the people search)
reruns that chart only.
"""

from datetime import timedelta

import streamlit as st

from segcore.core.timefmt import to_office, utcnow
from segcore.report import pace, progress
from segcore.work.batches import STATUSES, UNASSIGNED
from ui.app import labels, reads
from ui.app.connection import settings
from ui.app.i18n import (
    N_,
    _,
    choice_hint,
    format_age,
    format_date,
    format_number,
    format_percent,
    ngettext,
)
from ui.app.live import follow_changes
from ui.app.login import checked_fragment
from ui.app.state import can_write
from ui.app.widgets import (
    chart_title,
    date_range,
    metric_row,
    page_start,
    titled_chart,
    upload_models_notice,
)
from ui.dashboard import charts
from ui.dashboard.attention import attention_panel
from ui.dashboard.dashboard_demo import offer_demo

ANY, TOP = "All", 20
MASKS_HELP = N_(
    "Counts batches by whether masks were uploaded, whatever their status. The status is set "
    "by the coordinator; a sync moves {pending} and {in_progress} batches to {review} when "
    "their masks can be used, to {rework} when an upload cannot (MASKS_SET_STATUS)."
)

page_start(N_("Dashboard"))
follow_changes("dashboard", ("batches", "team", "sync"))  # new masks show by themselves
if can_write():
    offer_demo()
rows = reads.progress_rows()
if not rows:
    st.info(_("There are no batches yet. Import the batch list from the Settings page."))
    st.stop()

team, former = reads.team_names(), reads.former_members()
people = reads.person_choices(team)  # one per person, as the Batches page offers them
statuses = list(STATUSES) + sorted({str(r["status"]) for r in rows if r["status"]} - set(STATUSES))
today = to_office(utcnow(), settings().zone).date()  # the office's today, not the server's
left, middle, right = st.columns([1, 1, 2])
who = left.selectbox(
    _("Segmentador"),
    [ANY, UNASSIGNED, *people],
    key="dash_who",
    format_func=lambda n: (  # as the Batches page names them: who left the team says so
        labels.special(n) if n in (ANY, UNASSIGNED) else labels.person(n, team, former)
    ),
    placeholder=choice_hint([ANY, UNASSIGNED, *people]),
)
status = middle.selectbox(
    _("Status"),
    [ANY, *statuses],
    key="dash_status",
    format_func=lambda s: labels.special(s) if s == ANY else labels.status(s),
    placeholder=choice_hint([ANY, *statuses]),
)
start, end = date_range(
    right,
    _("Dates (uploads and burn-down)"),
    "dash_dates",
    (today - timedelta(days=30), today),
    today,
)
owner, state = (None if who == ANY else who), (None if status == ANY else status)
shown = progress.filter_rows(rows, owner, state)
# The people charts credit each delivery to its deliverer (`delivery.deliverer`): a batch
# handed over after its delivery stays theirs, so they count over every holder's batches.
of_status = progress.filter_rows(rows, None, state)


@checked_fragment()
def kpis(shown: list[dict]) -> None:
    summary = progress.kpis(shown)
    last = reads.last_sync()
    finished, now = (last["finished_at"] if last else None), utcnow()  # both UTC
    _words, stale = progress.sync_age(finished, now)
    age = format_age(now - finished) if finished else _("never")
    masks_help = _(MASKS_HELP).format(  # the statuses as the filters and the table name them
        **{code: labels.status(code) for code in ("pending", "in_progress", "review", "rework")}
    )
    metric_row(  # a label or a value is never cut ("Con másc…", 50,000 in full)
        (
            (_("Batches"), format_number(summary.total), None),
            (_("Assigned"), format_number(summary.assigned), None),
            (_("Uploaded"), format_number(summary.with_masks), masks_help),
            (
                _("Delivered, usable"),
                format_number(summary.delivered),
                _(
                    "Batches whose readable uploads hold a mask for every image: an "
                    "unreadable or incomplete upload is not a delivery"
                ),
            ),
            (_("Without masks"), format_number(summary.without_masks), masks_help),
            (
                _("% delivered"),
                format_percent(summary.percent_delivered / 100, 1),
                _("Share of batches delivered, usable"),
            ),
            (_("Last sync"), age, None),
        )
    )
    if stale:
        st.warning(
            _(
                "The last successful sync was {age}: mask counts may be out of date. Run "
                "one from the Sync page."
            ).format(age=age)
            if last
            else _(
                "No sync has run yet: mask counts may be out of date. Run one from the Sync page."
            ),
            icon=":material/update:",
        )


@checked_fragment()
def done_and_people(shown: list[dict]) -> None:
    summary = progress.kpis(shown)
    one, two = st.columns(2)
    titled_chart(
        one,
        _("Delivered vs uploaded vs without masks"),
        charts.segmented_vs_pending(summary.delivered, summary.with_masks, summary.without_masks),
        "chart_done",
    )
    everyone = progress.per_segmentador(
        of_status, reads.team_names(), include_idle=who == ANY, only=owner
    )
    chart_title(two, _("Per segmentador"))  # above the chart's search too
    search = two.text_input(
        _("Find a segmentador"),
        key="dash_people_search",
        placeholder=(
            ngettext(
                "{count} person; the {top} with the most open work are shown",
                "{count} people; the {top} with the most open work are shown",
                len(everyone),
            )
            if len(everyone) > TOP  # fewer are all shown: no top to promise
            else ngettext("{count} person", "{count} people", len(everyone))
        ).format(count=len(everyone), top=TOP),
    )
    top, others = progress.top_people(everyone, TOP, search)
    two.plotly_chart(charts.per_segmentador(top, others, former), key="chart_people")


@checked_fragment()
def uploads_and_burndown(shown: list[dict]) -> None:
    three, four = st.columns(2)
    chart_title(three, _("Uploads per day"))  # above a problem too: the columns stay level
    with three, st.spinner(_("Counting uploads…")):
        counts, problem = reads.uploads_per_day.or_problem(start, end, owner, state)
    if problem:
        three.warning(
            _("Uploads cannot be read right now, so that chart is missing. {problem}").format(
                problem=problem
            )
        )
    else:
        three.plotly_chart(charts.uploads_per_day(counts), key="chart_uploads")
        if owner or state:
            three.caption(
                _("Uploads of the batches that match, by their assignee at the last sync.")
            )
        with three:
            upload_models_notice()
    trend = progress.burndown(shown, start, end, today, zone=settings().zone)
    person = next((p for p in reads.current_alerts().people if p.name == owner), None)
    if state is not None:
        # Their Team page finish counts all their open batches, not the status drawn here.
        person = None
    if person is not None:  # one person: their projected finish is the Team page's, one rule
        trend = progress.person_burndown(trend, person.open, person.projected_finish, today)
    titled_chart(
        four,
        _("Burn-down of batches not delivered (usable masks)"),
        charts.burndown(trend.points, trend.projection),
        "chart_burndown",
    )
    if person is not None:
        four.caption(person_finish(person))
    elif trend.pending_now == 0:
        four.caption(_("Every batch here is delivered or closed: nothing left to project."))
    elif trend.projected_finish is None:
        four.caption(
            _(
                "{count} not delivered and none delivered usable masks in the last 14 "
                "days: no projected finish date."
            ).format(count=format_number(trend.pending_now))
        )
    else:
        four.caption(
            _(
                "{count} not delivered, at {rate} batches/day delivered usable over the "
                "last 14 days: projected finish **{finish}**."
            ).format(
                count=format_number(trend.pending_now),
                rate=format_number(trend.rate_per_day, 1),
                finish=format_date(trend.projected_finish),
            )
        )
    if owner and owner != UNASSIGNED and state is not None:
        four.caption(
            _(
                "Only the batches with this status: the projected finish on the Team page "
                "counts all of this person's open batches."
            )
        )
    if trend.closed:
        four.caption(
            ngettext(
                "{count} batch set to done without usable masks is closed: not work left, "
                "not on this chart.",
                "{count} batches set to done without usable masks are closed: not work left, "
                "not on this chart.",
                trend.closed,
            ).format(count=format_number(trend.closed))
        )


def person_finish(person) -> str:
    """One person's projected finish in words, by the rule the Team page shows."""
    window = settings().pace_window_days
    if not person.open:
        return _("{name} has no open batches.").format(name=person.name)
    if person.projected_finish is None:
        return ngettext(
            "{name}: {count} open, nothing delivered in the last {days} days: no "
            "projected finish date.",
            "{name}: {count} open, nothing delivered in the last {days} days: no "
            "projected finish date.",
            person.open,
        ).format(name=person.name, count=person.open, days=window)
    return ngettext(
        "{name}: {count} open at {pace} batches per working day (last {days} days): "
        "projected finish **{finish}**, as on the Team page.",
        "{name}: {count} open at {pace} batches per working day (last {days} days): "
        "projected finish **{finish}**, as on the Team page.",
        person.open,
    ).format(
        name=person.name,
        count=format_number(person.open),
        pace=format_number(person.pace, 2),
        days=window,
        finish=format_date(person.projected_finish),
    )


def handed_over_note(person: str) -> None:
    """Why a person's KPIs and their people charts may differ: the KPIs count the batches
    they hold, the charts the deliveries that are theirs."""
    held, theirs = progress.handed_over(of_status, person)
    name = labels.literal(labels.person(person, team, former))
    if held:
        st.caption(
            ngettext(
                "{count} batch {name} holds was delivered by someone else and handed over "
                "afterwards: it counts above, and as that person's delivery in the charts "
                "and the pace.",
                "{count} batches {name} holds were delivered by someone else and handed "
                "over afterwards: they count above, and as that person's deliveries in the "
                "charts and the pace.",
                held,
            ).format(count=format_number(held), name=name)
        )
    if theirs:
        st.caption(
            ngettext(
                "{name} delivered {count} batch someone else holds now: not counted above, "
                "counted as theirs in the charts and the pace.",
                "{name} delivered {count} batches someone else holds now: not counted above, "
                "counted as theirs in the charts and the pace.",
                theirs,
            ).format(count=format_number(theirs), name=name)
        )


kpis(shown)
if owner and owner != UNASSIGNED:
    handed_over_note(owner)
attention_panel(reads.current_alerts())
if not shown:  # a filter that matches nothing: say so, instead of empty axes and a 0 pace
    st.info(
        _("No batches match these filters: choose another segmentador or status."),
        icon=":material/filter_alt_off:",
    )
    st.stop()
done_and_people(shown)
uploads_and_burndown(shown)
weeks = pace.weekly_deliveries(
    of_status,
    reads.team_names() if owner is None else [] if owner == UNASSIGNED else [owner],
    today,
    settings().zone,
    only=owner,
)
titled_chart(st, _("Deliveries per week"), charts.weekly_pace(weeks), "chart_pace")
