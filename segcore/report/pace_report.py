"""The weekly summary in Markdown (`segcore report`): figures, a per-person table, alerts.

Pure: it takes the rows and the alerts already computed, so it is tested without a database.
"""

from __future__ import annotations

from datetime import date

from segcore.report.pace import Alerts
from segcore.report.stats import summary_from_counts


def _cell(value: object) -> str:
    """A table cell: pipes and line breaks in names written by other tools must not break it."""
    if value is None or value == "":
        return "-"
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("|", "\\|").replace("\n", " ")


def _day(value: date | None) -> str:
    return value.isoformat() if value else "-"


def figures(rows: list[dict], alerts: Alerts) -> list[str]:
    """The headline figures as Markdown bullets."""
    counts = summary_from_counts(len(rows), sum(1 for r in rows if r["assignee"]),
                                 sum(1 for r in rows if r["with_masks"]))
    delivered_7 = sum(p.delivered_7 for p in alerts.people)
    delivered_28 = sum(p.delivered_28 for p in alerts.people)
    return [f"- Batches: {counts.total} in total, {counts.assigned} assigned, "
            f"{counts.with_masks} with masks, {counts.pending} pending "
            f"({counts.percent_done}% done)",
            f"- Delivered: {delivered_7} in the last 7 days, {delivered_28} in the last 28",
            f"- Open batches held by someone: {sum(p.open for p in alerts.people)}",
            f"- Needing attention: {len(alerts.stalled)} stalled, {len(alerts.at_risk)} "
            f"batches at risk, {len(alerts.moves)} suggested moves"]


def people_table(alerts: Alerts) -> list[str]:
    """One Markdown table row per person."""
    lines = ["| Person | Open | Delivered 7 d | Delivered 28 d | Pace / working day | "
             "Last delivery | Projected finish | Note |",
             "|---|---:|---:|---:|---:|---|---|---|"]
    for p in alerts.people:
        note = "stalled" if p.stalled else ("" if p.on_team else "no longer on the team")
        lines.append(f"| {_cell(p.name)} | {p.open} | {p.delivered_7} | {p.delivered_28} | "
                     f"{p.pace:.2f} | {_day(p.last_delivery)} | {_day(p.projected_finish)} | "
                     f"{_cell(note)} |")
    return lines


def alert_lines(alerts: Alerts) -> list[str]:
    """The alerts as Markdown sections; one line when there is nothing to say (or nothing
    can be said yet: no sync has read the deliveries)."""
    if alerts.waiting_for_sync:
        return ["No sync has run yet: pace, stalls and batches at risk are worked out from the "
                "deliveries a sync reads."]
    if not alerts.any:
        return ["Nothing needs attention."]
    lines = ([f"As of the last sync, {alerts.basis.finished_at:%Y-%m-%d %H:%M} UTC (stale): "
              "deliveries since then are not counted.", ""] if alerts.stale else [])
    lines += [f"### Stalled ({len(alerts.stalled)})", ""]
    lines += [f"- {_cell(p.name)}: {p.open} open, last delivery {_day(p.last_delivery)}"
              + (f" ({p.days_since} days ago)" if p.days_since is not None else " (never)")
              for p in alerts.stalled] or ["- nobody"]
    lines += ["", f"### Batches at risk ({len(alerts.at_risk)})", ""]
    lines += [f"- {b.id} ({_cell(b.assignee)}): due {_day(b.due_date)}, reached "
              f"{_day(b.projected) if b.projected else 'never at the current pace'}; {b.reason}"
              for b in alerts.at_risk] or ["- none"]
    lines += ["", f"### Suggested moves ({len(alerts.moves)})", ""]
    lines += [f"- {m.id}: {_cell(m.from_)} → {_cell(m.to)} ({m.reason}; {m.change})"
              for m in alerts.moves] or ["- none"]
    return lines


def weekly_report(rows: list[dict], alerts: Alerts) -> str:
    """The whole report as one Markdown document."""
    parts = [f"# Segmentation weekly report, {alerts.today.isoformat()}", "", "## Figures", "",
             *figures(rows, alerts), "", "## Per person", "", *people_table(alerts), "",
             "## Alerts", "", *alert_lines(alerts)]
    return "\n".join(parts) + "\n"
