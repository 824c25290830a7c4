"""The weekly report (`segcore report`, the Weekly report page, the weekly email): figures, a
per-person table and the alerts, in Spanish or English, as Markdown, plain text or HTML.

Pure: it takes the rows and the alerts already computed, so it is tested without a database.
Every output is built from one `WeeklyReport`, so the page, the file and the email agree.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, timezone, tzinfo

from segcore.core.naming import shown_name
from segcore.core.phrases import Nn_
from segcore.core.timefmt import zone_name
from segcore.core.translations import Words
from segcore.report.pace import Alerts, RiskyBatch, delivery_day
from segcore.report.progress import burndown, kpis
from segcore.work.delivery import REWORK, deliverer

ENGLISH = Words("en")


@dataclass
class Quality:
    """Uploaded is not delivered: batches with masks, those whose masks are complete (usable),
    and those needing rework (an unreadable or incomplete upload)."""

    uploaded: int = 0
    usable: int | None = None  # None: masks never checked
    rework: int = 0


REWORK_STATES = ("incomplete", "unreadable")


def delivery_quality(rows: list[dict]) -> Quality:
    """Uploaded vs usable from batch rows (`with_masks`, `usable`, `mask_state`,
    `mask_problems`): batches with masks, those delivered and usable (the KPIs' rule,
    segcore.work.delivery: content problems and a reviewer's send-back make masks unusable),
    and those needing rework (an upload unreadable or incomplete, masks with content problems,
    or uploads a reviewer sent back: `rework` and not usable)."""
    checked = any(r.get("mask_state") is not None for r in rows)
    return Quality(
        uploaded=sum(1 for r in rows if r["with_masks"]),
        usable=sum(1 for r in rows if r.get("usable")) if checked else None,
        rework=sum(
            1
            for r in rows
            if not r.get("usable")
            and (
                r.get("mask_state") in REWORK_STATES
                or r.get("mask_problems")
                or (r["with_masks"] and r.get("status") == REWORK)
            )
        ),
    )


@dataclass
class WeeklyReport:
    """The report's contents, worded in one language."""

    title: str
    figures: list[str]
    people_header: list[str]
    people: list[list[str]]
    sections: list[tuple[str, list[str]]] = field(default_factory=list)  # (heading, lines)
    nothing: str | None = None  # "Nothing needs attention."


# Characters a Markdown viewer would read as markup (emphasis, links, code, raw HTML, tables):
# a name written by another tool, such as "**Flor**" or "<img src=x onerror=...>", is shown
# as typed. `_` stays: inside a word (batch_1) it is no emphasis in CommonMark.
MARKUP = re.compile(r"([\\`*\[\]<>|~])")


def _cell(value: object) -> str:
    """A table cell or list item: a name written by another tool must not break the table
    (pipes, line breaks) nor be read as markup by a Markdown viewer."""
    if value is None or value == "":
        return "-"
    if isinstance(value, date):
        return value.isoformat()
    return MARKUP.sub(r"\\\1", str(value)).replace("\r", " ").replace("\n", " ")


def risk_reason(batch: RiskyBatch, words: Words = ENGLISH) -> str:
    """Why a batch is at risk, in the reader's language, with the plural its count needs (the
    reason is a phrase of `pace.risk_of`; a plain text is shown as it is)."""
    return words.phrase(batch.reason)


def _count(words: Words, forms: tuple[str, str], count: int) -> str:
    """A count with its noun in the plural it needs ("1 batch at risk", "2 batches at risk")."""
    return words.ngettext(*forms, count).format(count=count)


def _delivered_within(
    rows: list[dict], today: date, days: int, zone, nobody_only: bool = False
) -> int:
    """Batches delivered usable in the `days` up to `today` (office days, `pace.delivery_day`:
    one dated ahead of the office clock is today's), whoever delivered them (the people's
    table has a row for each of them, a member who left the team included, and one for those
    delivered while nobody held the batch). `nobody_only`: those alone."""
    delivered = (
        delivery_day(r.get("delivered"), today, zone)
        for r in rows
        if r.get("usable") and not (nobody_only and deliverer(r))
    )
    return sum(1 for day in delivered if day is not None and (today - day).days < days)


def _nobody_row(rows: list[dict], today: date, zone, words: Words) -> list[str] | None:
    """The people's table's row for deliveries made while nobody held the batch (so the rows
    add up to "Delivered: … in the last 7 days, … in the last 28"), or None when there are
    none in the last 28 days."""
    week, month = (_delivered_within(rows, today, n, zone, nobody_only=True) for n in (7, 28))
    if not month:
        return None
    _ = words.gettext
    note = _("delivered while nobody held the batch")
    return [_("Nobody (unassigned)"), "-", str(week), str(month), "-", "-", "-", note]


def figures(
    rows: list[dict],
    alerts: Alerts,
    quality: Quality | None = None,
    words=ENGLISH,
    zone: tzinfo | None = timezone.utc,
):
    """The headline figures, one sentence each: the Dashboard's counts (uploaded is not
    delivered, the share is of batches delivered and usable); days are `zone`'s. Before a
    first sync (`alerts.waiting_for_sync`) uploads, deliveries and what needs attention are
    not known: they say so, never 0."""
    _ = words.gettext
    counts = kpis(rows)
    if getattr(alerts, "waiting_for_sync", False):
        return [
            _(
                "Batches: {total} in total, {assigned} assigned; uploaded, delivered and "
                "needing attention: unknown until a sync has run"
            ).format(total=counts.total, assigned=counts.assigned)
        ]
    lines = [
        _(
            "Batches: {total} in total, {assigned} assigned, {uploaded} uploaded, {delivered} "
            "delivered and usable, {without} without masks ({percent}% delivered)"
        ).format(
            total=counts.total,
            assigned=counts.assigned,
            uploaded=counts.with_masks,
            delivered=counts.delivered,
            without=counts.without_masks,
            percent=counts.percent_delivered,
        ),
        _("Delivered: {week} in the last 7 days, {month} in the last 28").format(
            week=_delivered_within(rows, alerts.today, 7, zone),
            month=_delivered_within(rows, alerts.today, 28, zone),
        ),
        _("Open batches held by someone: {count}").format(count=sum(p.open for p in alerts.people)),
        _("Needing attention: {stalled}, {at_risk}, {moves}").format(
            stalled=_count(words, Nn_("{count} stalled", "{count} stalled"), len(alerts.stalled)),
            at_risk=_count(
                words, Nn_("{count} batch at risk", "{count} batches at risk"), len(alerts.at_risk)
            ),
            moves=_count(
                words, Nn_("{count} suggested move", "{count} suggested moves"), len(alerts.moves)
            ),
        ),
    ]
    today = alerts.today
    trend = burndown(rows, today, today, today, zone=zone)  # closed batches are no work left
    finish = trend.projected_finish
    if rows and trend.pending_now == 0:
        finish_words = _("none left: every batch is delivered or closed")
    else:
        finish_words = words.day(finish) if finish else _("none (no recent progress)")
    lines.append(
        _("Projected finish of every batch at the pace of the last 14 days: {day}").format(
            day=finish_words
        )
    )
    if quality is not None:
        usable = "?" if quality.usable is None else quality.usable
        lines.append(
            _(
                "Usable vs uploaded: {usable} of {uploaded} batches with masks are "
                "delivered and usable; {rework}"
            ).format(
                usable=usable,
                uploaded=quality.uploaded,
                rework=_count(
                    words, Nn_("{count} needs rework", "{count} need rework"), quality.rework
                ),
            )
        )
    return lines


def build_report(
    rows: list[dict],
    alerts: Alerts,
    quality: Quality | None = None,
    words: Words = ENGLISH,
    zone: tzinfo | None = timezone.utc,
) -> WeeklyReport:
    """The report's contents in `words`' language. Before any sync has read the deliveries
    there is nothing to say about pace; a stale sync is named above the figures, at the time
    of `zone` (the office's, as every other time is shown)."""
    _ = words.gettext
    header = [
        _("Person"),
        _("Open"),
        _("Delivered 7 d"),
        _("Delivered 28 d"),
        _("Pace / working day"),
        _("Last delivery"),
        _("Projected finish"),
        _("Note"),
    ]
    people = [
        [
            shown_name(p.name),
            str(p.open),
            str(p.delivered_7),
            str(p.delivered_28),
            f"{p.pace:.2f}",
            words.day(p.last_delivery),
            words.day(p.projected_finish),
            _("stalled") if p.stalled else ("" if p.on_team else _("no longer on the team")),
        ]
        for p in alerts.people
    ]
    if getattr(alerts, "waiting_for_sync", False):  # deliveries are what a sync reads
        unknown = _("unknown until a sync")
        people = [[row[0], row[1], "?", "?", "?", "?", "?", unknown] for row in people]
    else:
        nobody = _nobody_row(rows, alerts.today, zone, words)
        people += [nobody] if nobody else []
    report = WeeklyReport(
        _("Segmentation weekly report, {day}").format(day=words.day(alerts.today)),
        figures(rows, alerts, quality, words, zone),
        header,
        people,
    )
    if getattr(alerts, "waiting_for_sync", False):
        report.nothing = _(
            "No sync has run yet: pace, stalls and batches at risk are worked out "
            "from the deliveries a sync reads."
        )
        return report
    stale = stale_note(alerts, words, zone)
    if stale:
        report.figures.insert(0, stale)
    if not alerts.any:
        report.nothing = _("Nothing needs attention.")
        return report
    report.sections = alert_sections(alerts, words)
    return report


def stale_note(alerts: Alerts, words: Words = ENGLISH, zone: tzinfo | None = timezone.utc):
    """The sentence naming the stale sync the figures rest on (at `zone`'s time), or None when
    the last sync is fresh: the weekly report and the daily alerts say it above their figures."""
    if not getattr(alerts, "stale", False) or getattr(alerts, "waiting_for_sync", False):
        return None
    return words.gettext(
        "As of the last sync, {when} ({zone}) (stale): deliveries since then are not counted."
    ).format(when=words.moment(alerts.basis.finished_at, zone), zone=zone_name(zone))


def _stalled_line(person, words: Words) -> str:
    """ "Bea: 2 open, never delivered", "Ana: 1 open, last delivery Oct 1, 2025 (14 days ago)"."""
    held = _count(words, Nn_("{count} open", "{count} open"), person.open)
    _ = words.gettext
    if person.last_delivery is None:
        return _("{name}: {open}, never delivered").format(name=shown_name(person.name), open=held)
    days = person.days_since or 0
    return words.ngettext(
        "{name}: {open}, last delivery {day} ({days} day ago)",
        "{name}: {open}, last delivery {day} ({days} days ago)",
        days,
    ).format(
        name=shown_name(person.name),
        open=held,
        day=words.day(person.last_delivery),
        days=days,
    )


def alert_sections(alerts: Alerts, words: Words = ENGLISH) -> list[tuple[str, list[str]]]:
    """Stalled people, batches at risk and suggested moves, each a heading and its lines."""
    _ = words.gettext
    stalled = [_stalled_line(p, words) for p in alerts.stalled] or [_("nobody")]
    risky = [
        (
            _("{batch} ({name}): due {due}, reached {reached}; {reason}")
            if b.projected
            else _("{batch} ({name}): due {due}, not reached at the current pace; {reason}")
        ).format(
            batch=shown_name(b.id),
            name=shown_name(b.assignee),
            due=words.day(b.due_date),
            reached=words.day(b.projected),
            reason=risk_reason(b, words),
        )
        for b in alerts.at_risk
    ] or [_("none")]
    moves = [
        _("{batch}: {giver} → {taker} (would finish it by {day})").format(
            batch=shown_name(m.id),
            giver=shown_name(m.from_),
            taker=shown_name(m.to),
            day=words.day(m.projected_after),
        )
        for m in alerts.moves
    ] or [_("none")]
    return [
        (_("Stalled ({count})").format(count=len(alerts.stalled)), stalled),
        (_("Batches at risk ({count})").format(count=len(alerts.at_risk)), risky),
        (_("Suggested moves ({count})").format(count=len(alerts.moves)), moves),
    ]


def to_markdown(report: WeeklyReport, words: Words = ENGLISH) -> str:
    """The report as one Markdown document."""
    _ = words.gettext
    figures_heading, people_heading, alerts_heading = _("Figures"), _("Per person"), _("Alerts")
    lines = [
        f"# {report.title}",
        "",
        f"## {figures_heading}",
        "",
        *[f"- {line}" for line in report.figures],
        "",
        f"## {people_heading}",
        "",
        "| " + " | ".join(report.people_header) + " |",
        "|---|" + "---:|" * 4 + "---|" * 3,
        *["| " + " | ".join(_cell(c) for c in row) + " |" for row in report.people],
        "",
        f"## {alerts_heading}",
        "",
    ]
    if report.nothing:
        lines.append(report.nothing)
    for heading, items in report.sections:
        lines += [f"### {heading}", "", *[f"- {_cell(i)}" for i in items], ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def to_text(report: WeeklyReport) -> str:
    """The report as plain text (an email's text part, a chat message)."""
    lines = [report.title, "", *[f"- {line}" for line in report.figures], ""]
    lines += [" · ".join(row[:3] + row[5:7]) for row in [report.people_header, *report.people]]
    lines.append("")
    if report.nothing:
        lines.append(report.nothing)
    for heading, items in report.sections:
        lines += [heading, *[f"- {i}" for i in items], ""]
    return "\n".join(lines).rstrip("\n") + "\n"


PRINT_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;color:#222}
table{border-collapse:collapse}th,td{border:1px solid #bbb;padding:.2rem .5rem}
td.n{text-align:right}@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}"""


def to_html(report: WeeklyReport, words: Words = ENGLISH) -> str:
    """The report as a standalone HTML page (the download, the email's HTML part)."""
    _ = words.gettext
    figures_heading, people_heading, alerts_heading = _("Figures"), _("Per person"), _("Alerts")
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in report.people_header)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if 0 < i < 5 else ''}>{esc(c or '-')}</td>" for i, c in enumerate(row)
        )
        + "</tr>"
        for row in report.people
    )
    alerts = f"<p>{esc(report.nothing)}</p>" if report.nothing else ""
    alerts += "".join(
        f"<h3>{esc(h)}</h3><ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"
        for h, items in report.sections
    )
    return (
        f'<!DOCTYPE html><html lang="{words.language}"><head><meta charset="utf-8">'
        f"<title>{esc(report.title)}</title><style>{PRINT_CSS}</style></head><body>"
        f"<h1>{esc(report.title)}</h1><h2>{esc(figures_heading)}</h2><ul>"
        + "".join(f"<li>{esc(f)}</li>" for f in report.figures)
        + f"</ul><h2>{esc(people_heading)}</h2><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table><h2>{esc(alerts_heading)}</h2>{alerts}</body></html>\n"
    )


def weekly_report(
    rows: list[dict],
    alerts: Alerts,
    quality: Quality | None = None,
    words: Words = ENGLISH,
    fmt: str = "md",
    zone: tzinfo | None = timezone.utc,
) -> str:
    """The whole report in `words`' language as Markdown (`fmt` "md") or HTML ("html")."""
    report = build_report(rows, alerts, quality, words, zone)
    return to_html(report, words) if fmt == "html" else to_markdown(report, words)


REPORT_FORMATS = ("md", "html")
