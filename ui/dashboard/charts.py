"""Plotly figures for the dashboard, from the plain rows segcore.report.progress shapes.

No Streamlit calls and no database here: each function takes rows and returns a figure. Axes
and legends go through `_()`, which keeps them as written (English) outside a Streamlit run. A
figure has no title: the page writes it above the chart (`ui.app.widgets.titled_chart`), where the
browser wraps it to the column's width; plotly draws a title on one line, cut at the edge of a
half-page chart at 800 px ("Avance de lotes sin entregar (másca").
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import plotly.graph_objects as go
from babel import dates

from segcore.core.naming import shown_name
from segcore.work.batches import UNASSIGNED
from ui.app.i18n import _, babel_locale, format_date, ngettext
from ui.app.labels import off_team, special

MASKS, PENDING, ACCENT = "#2e7d32", "#f9a825", "#1565c0"
REWORK = "#c62828"  # uploaded, not usable


AXIS_TICKS = 8  # date labels on a time axis, at most


def _days(values: list) -> list[date]:
    return sorted(
        {v.date() if isinstance(v, datetime) else v for v in values if isinstance(v, date)}
    )


def _date_axis(figure: go.Figure, values: list) -> None:
    """Label a time axis with dates in the session's language ("Nov 8" / "8 nov"), formatted
    by Babel: plotly's own labels are always English. Ticks are spread over the whole span."""
    days = _days(values)
    if not days:
        return
    span = (days[-1] - days[0]).days
    step = max(1, math.ceil((span + 1) / AXIS_TICKS))
    ticks = [days[0] + timedelta(days=n) for n in range(0, span + 1, step)]
    skeleton = "MMMd" if days[0].year == days[-1].year else "yMMMd"  # "Nov 8" / "8 nov"
    figure.update_xaxes(
        tickmode="array",
        tickvals=[d.isoformat() for d in ticks],
        ticktext=[dates.format_skeleton(skeleton, d, locale=babel_locale()) for d in ticks],
    )


def _hover_days(values: list) -> list[str]:
    """Each point's date as the locale writes it, for the hover text."""
    return [format_date(v) if isinstance(v, date) else "" for v in values]


def _layout(figure: go.Figure) -> go.Figure:
    # The legend above the plot, from the left: below it collides with rotated name labels.
    # Plotly widens the top margin to the lines a narrow chart's legend wraps onto.
    figure.update_layout(
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=340,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "xanchor": "left"},
    )
    return figure


def segmented_vs_pending(delivered: int, uploaded: int, pending: int) -> go.Figure:
    """Delivered (usable), uploaded but not usable, and without masks: the three add up.
    An empty slice has no label: plotly draws its "0%" outside the ring, cut at the top."""
    values = [delivered, max(0, uploaded - delivered), pending]
    figure = go.Figure(
        go.Pie(
            labels=[_("Delivered, usable"), _("Uploaded, not usable"), _("Without masks")],
            values=values,
            texttemplate=["%{percent}" if value else "" for value in values],
            hole=0.55,
            marker={"colors": [MASKS, REWORK, PENDING]},
            sort=False,
        )
    )
    _layout(figure)
    # Under the donut the legend has the width (no axis labels there to collide with).
    figure.update_layout(
        legend={"orientation": "h", "y": -0.02, "yanchor": "top", "x": 0.5, "xanchor": "center"}
    )
    return figure


def per_segmentador(
    people: list[dict], others: dict | None = None, former: set[str] = frozenset()
) -> go.Figure:
    """Horizontal bars, most open work on top (as given), the summarised rest at the bottom:
    readable with a hundred people, names never rotated (nor cut, but for another tool's
    name longer than any the team accepts: naming.shown_name). Someone not on the team is
    marked as the filters mark them: `former` are those who left it."""
    shown = people + ([others] if others else [])
    names = [
        ngettext("{count} other", "{count} others", p["rest"]).format(count=p["rest"])
        if "rest" in p
        else shown_name(p["segmentador"])
        if p["on_team"]
        else off_team(shown_name(p["segmentador"]), p["segmentador"] in former)
        for p in shown
    ]
    figure = go.Figure(
        [
            go.Bar(
                name=_("Assigned, no masks yet"),
                y=names,
                x=[p["without_masks"] for p in shown],
                orientation="h",
                marker_color=PENDING,
            ),
            go.Bar(
                name=_("Uploaded, not usable"),
                y=names,
                x=[p["uploaded_unusable"] for p in shown],
                orientation="h",
                marker_color=REWORK,
            ),
            go.Bar(
                name=_("Delivered, usable"),
                y=names,
                x=[p.get("delivered", 0) for p in shown],
                orientation="h",
                marker_color=MASKS,
            ),
        ]
    )
    figure.update_layout(
        barmode="stack",
        xaxis_title=_("batches"),
        yaxis={"autorange": "reversed", "automargin": True},
    )
    _layout(figure)
    figure.update_layout(height=max(380, 180 + 24 * len(shown)))
    return figure


def uploads_per_day(counts: list[dict]) -> go.Figure:
    days = [c["day"] for c in counts]
    figure = go.Figure(
        go.Bar(
            x=days,
            y=[c["uploads"] for c in counts],
            marker_color=ACCENT,
            name=_("uploads"),
            customdata=_hover_days(days),
            hovertemplate="%{customdata}: %{y}<extra></extra>",
        )
    )
    figure.update_layout(yaxis_title=_("files uploaded"))
    _date_axis(figure, days)
    return _layout(figure)


def burndown(points: list[dict], projection: list[dict]) -> go.Figure:
    days = [p["day"] for p in points]
    hover = "%{customdata}: %{y}<extra></extra>"
    figure = go.Figure(
        go.Scatter(
            x=days,
            y=[p["pending"] for p in points],
            mode="lines",
            name=_("Not delivered"),
            line={"color": PENDING, "width": 3},
            customdata=_hover_days(days),
            hovertemplate=hover,
        )
    )
    if projection:
        ahead = [p["day"] for p in projection]
        figure.add_trace(
            go.Scatter(
                x=ahead,
                y=[p["pending"] for p in projection],
                mode="lines",
                name=_("Projected at recent pace"),
                line={"color": "#757575", "dash": "dash"},
                customdata=_hover_days(ahead),
                hovertemplate=hover,
            )
        )
        days = days + ahead
    figure.update_layout(yaxis_title=_("batches not delivered"), yaxis_rangemode="tozero")
    _date_axis(figure, days)
    return _layout(figure)


def weekly_pace(weeks: list[dict]) -> go.Figure:
    """Deliveries per person and week (rows from `segcore.report.pace.weekly_deliveries`).

    A heatmap rather than lines: with a hundred people, a hundred lines are unreadable.
    """
    names = sorted({w["segmentador"] for w in weeks}, key=str.casefold, reverse=True)
    mondays = sorted({w["week"] for w in weeks})
    counts = {(w["segmentador"], w["week"]): w["deliveries"] for w in weeks}
    figure = go.Figure(
        go.Heatmap(
            x=[dates.format_date(m, "dd MMM", locale=babel_locale()) for m in mondays],
            y=[special(name) if name == UNASSIGNED else shown_name(name) for name in names],
            z=[[counts.get((name, m), 0) for m in mondays] for name in names],
            colorscale=[[0, "#f5f5f5"], [1, MASKS]],
            colorbar={"title": _("batches")},
            hovertemplate=_("{person}, week of {week}: {count} delivered").format(
                person="%{y}", week="%{x}", count="%{z}"
            )
            + "<extra></extra>",
        )
    )
    figure.update_layout(xaxis_title=_("week starting"))
    figure = _layout(figure)
    figure.update_layout(height=max(340, 60 + 18 * len(names)))
    return figure


def my_deliveries(weeks: list[dict]) -> go.Figure:
    """One person's deliveries per week ({week, deliveries}), oldest first."""
    figure = go.Figure(
        go.Bar(
            x=[dates.format_date(w["week"], "dd MMM", locale=babel_locale()) for w in weeks],
            y=[w["deliveries"] for w in weeks],
            marker_color=MASKS,
            name=_("batches"),
        )
    )
    figure.update_layout(
        xaxis_title=_("week starting"),
        yaxis_title=_("batches delivered"),
        yaxis_rangemode="nonnegative",
        yaxis_range=None if any(w["deliveries"] for w in weeks) else [0, 1],
    )
    return _layout(figure)
