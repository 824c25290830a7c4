"""The weekly Markdown report, shaped from plain rows with a fixed clock."""

from datetime import datetime, timezone

from segcore.report.pace import PaceOptions, analyse, pace_row
from segcore.report.pace_report import weekly_report

NOW = datetime(2025, 10, 15, 15, 0)


def test_a_finished_project_reports_nothing_to_do():
    rows = [
        pace_row(
            {
                "id": "batch_1",
                "assignee": "Ana",
                "mongo_uploaded": True,
                "training_metrics_info": {"first_upload": datetime(2025, 10, 14)},
                "mask_check": {
                    "state": "complete",
                    "usable": True,
                    "usable_since": datetime(2025, 10, 14),
                },
            }
        )
    ]
    alerts = analyse(
        rows,
        [{"name": "Ana", "created_at": "2025-01-07 12:00:00"}],
        NOW,
        tz=timezone.utc,
        options=PaceOptions(),
    )
    report = weekly_report(rows, alerts)
    assert (
        "- Batches: 1 in total, 1 assigned, 1 uploaded, 1 delivered and usable, "
        "0 without masks (100.0% delivered)" in report
    )
    assert "| Ana | 0 | 1 | 1 | 0.05 | Oct 14, 2025 | - | - |" in report
    assert report.rstrip().endswith("Nothing needs attention.")


def test_names_written_by_other_tools_cannot_break_the_table():
    rows = [pace_row({"id": "batch_1", "assignee": "Ana | QA"})]
    report = weekly_report(rows, analyse(rows, [], NOW, tz=timezone.utc))
    assert "| Ana \\| QA | 1 |" in report
    assert (
        "- batch_1 (Ana \\| QA): due -, not reached at the current pace; "
        "Ana \\| QA is no longer on the team" in report
    )


def test_names_written_by_other_tools_are_shown_as_typed_not_as_markup():
    """A Markdown viewer must show "**Flor**" and an HTML tag as typed, not bold nor as HTML
    (an <img onerror> would run in a viewer that renders raw HTML)."""
    name = "**Flor** <img src=x onerror=alert(1)> :red[x]"
    rows = [pace_row({"id": "batch_1", "assignee": name})]
    report = weekly_report(rows, analyse(rows, [], NOW, tz=timezone.utc))
    escaped = "\\*\\*Flor\\*\\* \\<img src=x onerror=alert(1)\\> :red\\[x\\]"
    assert f"| {escaped} | 1 |" in report
    assert f"- batch_1 ({escaped}): due -" in report
    assert "<img" not in report.replace("\\<img", "")


def test_usable_vs_uploaded_counts_checked_masks_and_rework():
    """Usable is the KPIs' "delivered, usable": complete masks with a content problem are not."""
    from segcore.report.pace_report import delivery_quality

    rows = [
        {"with_masks": True, "mask_state": "complete", "usable": True},
        {"with_masks": True, "mask_state": "extra", "usable": True},
        {"with_masks": True, "mask_state": "complete", "usable": False, "mask_problems": 3},
        {"with_masks": True, "mask_state": "incomplete"},
        {"with_masks": True, "mask_state": "unreadable"},
        {"with_masks": True, "mask_state": None},
        {"with_masks": False, "mask_state": None},
    ]
    quality = delivery_quality(rows)
    assert (quality.uploaded, quality.usable, quality.rework) == (6, 2, 3)
    assert delivery_quality([{"with_masks": True, "mask_state": None}]).usable is None


def late_team_rows():
    """Ana delivered batch_1 (usable) and uploaded batch_2 incomplete; batch_3, due yesterday,
    has no masks and Bea, who never delivered, holds batch_4 due in two days."""
    usable = {"state": "complete", "usable": True, "usable_since": datetime(2025, 10, 14)}
    docs = [
        {"id": "batch_1", "assignee": "Ana", "mongo_uploaded": True, "mask_check": usable},
        {
            "id": "batch_2",
            "assignee": "Ana",
            "mongo_uploaded": True,
            "mask_check": {"state": "incomplete", "usable": False},
        },
        {"id": "batch_3", "assignee": "Ana", "metadata": {"due_date": "2025-10-14"}},
        {"id": "batch_4", "assignee": "Bea", "metadata": {"due_date": "2025-10-17"}},
    ]
    rows = [pace_row(d) for d in docs]
    rows[0]["mask_state"], rows[1]["mask_state"] = "complete", "incomplete"
    team = [{"name": n, "created_at": "2025-01-07 12:00:00"} for n in ("Ana", "Bea")]
    return rows, analyse(rows, team, NOW, tz=timezone.utc, options=PaceOptions())


def test_the_spanish_report_takes_the_plural_its_count_needs():
    """ "vencido hace 1 días", "se alcanza nunca al ritmo actual" were on the Spanish page, and
    its dates were ISO ("vence 2025-10-17") where every other Spanish date reads "17 oct 2025"."""
    from segcore.core.translations import Words
    from segcore.report.pace_report import delivery_quality

    rows, alerts = late_team_rows()
    spanish = weekly_report(rows, alerts, delivery_quality(rows), Words("es"))
    assert "vencido hace 1 día\n" in spanish and "1 días" not in spanish
    assert "batch_4 (Bea): vence 17 oct 2025, no se alcanza al ritmo actual" in spanish
    assert spanish.startswith("# Informe semanal de segmentación, 15 oct 2025\n")
    assert "Requieren atención: 1 detenido, 2 lotes en riesgo, 1 movimiento sugerido" in spanish
    assert "Bea: 1 abierto, nunca entregó" in spanish
    assert "; 1 necesita retrabajo" in spanish
    assert "## Cifras" in spanish and "Figures" not in spanish
    english = weekly_report(rows, alerts, delivery_quality(rows))
    assert "overdue by 1 day\n" in english and "1 days" not in english
    assert "batch_4 (Bea): due Oct 17, 2025, not reached at the current pace" in english
    assert "Needing attention: 1 stalled, 2 batches at risk, 1 suggested move" in english
    assert "Bea: 1 open, never delivered" in english


def test_the_reports_share_is_the_dashboards_delivered_not_uploaded():
    """The Dashboard said 33.7% delivered while the report said 41.0% done (uploaded)."""
    from segcore.report.progress import kpis

    rows, alerts = late_team_rows()
    summary = kpis(rows)
    assert (summary.with_masks, summary.delivered, summary.percent_delivered) == (2, 1, 25.0)
    report = weekly_report(rows, alerts)
    assert (
        "- Batches: 4 in total, 4 assigned, 2 uploaded, 1 delivered and usable, "
        "2 without masks (25.0% delivered)" in report
    )
    assert "% done" not in report


def test_a_stale_sync_is_named_in_the_offices_time_not_utc():
    """ "desde las 12:38:55 UTC" beside "desde 06:38": one time zone, the office's."""
    from dataclasses import replace
    from zoneinfo import ZoneInfo

    from segcore.report.pace_basis import SyncBasis
    from segcore.report.pace_report import build_report

    rows, alerts = late_team_rows()
    stale = replace(alerts, basis=SyncBasis(datetime(2025, 10, 13, 18, 0), True))
    report = build_report(rows, stale, zone=ZoneInfo("America/Mexico_City"))
    assert report.figures[0].startswith(
        "As of the last sync, Oct 13, 2025, 12:00:00\u202fPM (America/Mexico_City) (stale)"
    )
    assert "UTC" not in report.figures[0]


def test_the_reports_deliveries_count_every_holder_and_its_usable_is_the_kpis():
    """A former member's delivery is a delivery; masks with content problems are not usable."""
    from segcore.report.pace_report import delivery_quality

    rows, _ = late_team_rows()
    usable = {"state": "complete", "usable": True, "usable_since": datetime(2025, 10, 13)}
    gone = {"id": "batch_5", "assignee": "Cai", "mongo_uploaded": True, "mask_check": usable}
    flawed = {**gone, "id": "batch_6", "mask_content": {"problems": 2}}
    rows += [pace_row(gone), pace_row(flawed)]
    rows[-2]["mask_state"], rows[-1]["mask_state"] = "complete", "complete"
    rows[-1]["mask_problems"] = 2
    team = [{"name": n, "created_at": "2025-01-07 12:00:00"} for n in ("Ana", "Bea")]
    alerts = analyse(rows, team, NOW, tz=timezone.utc, options=PaceOptions())
    report = weekly_report(rows, alerts, delivery_quality(rows))
    assert "Delivered: 2 in the last 7 days, 2 in the last 28" in report  # Ana's and Cai's
    assert "Usable vs uploaded: 2 of 4 batches with masks are delivered and usable" in report
    assert "2 need rework" in report  # the incomplete one and the one with content problems


def test_before_a_first_sync_the_figures_are_unknown_not_zero():
    """ "0 stalled, 0 batches at risk" next to "No sync has run yet" would be a claim: the
    counts are not known until a sync has read the deliveries."""
    from dataclasses import replace

    from segcore.report.pace_basis import SyncBasis
    from segcore.report.pace_report import delivery_quality

    rows = [
        {**pace_row({"id": "batch_1", "assignee": "Flor", "metadata": {"due_date": "2020-01-01"}})},
        {**pace_row({"id": "batch_2", "assignee": "Flor"})},
    ]
    rows = [{**r, "status": "pending", "mask_state": None, "mask_problems": 0} for r in rows]
    members = [{"name": "Flor", "created_at": "2025-01-07 12:00:00"}]
    waiting = replace(analyse(rows, members, NOW, tz=timezone.utc), basis=SyncBasis(None, True))
    report = weekly_report(rows, waiting, delivery_quality(rows))
    assert (
        "- Batches: 2 in total, 2 assigned; uploaded, delivered and needing attention: "
        "unknown until a sync has run" in report
    )
    assert "0 stalled" not in report and "? of 0" not in report
    assert "| Flor | 2 | ? | ? | ? | ? | ? | unknown until a sync |" in report
    assert "No sync has run yet" in report


def test_a_member_who_left_after_delivering_keeps_a_row_so_the_table_adds_up():
    """The per-person table says who did the week's work: its rows add up to the headline."""
    from segcore.report.pace_report import build_report

    rows, _ = late_team_rows()
    usable = {"state": "complete", "usable": True, "usable_since": datetime(2025, 10, 13)}
    rows += [
        pace_row(
            {"id": f"batch_{n}", "assignee": "Cai", "mongo_uploaded": True, "mask_check": usable}
        )
        for n in (5, 6)
    ]
    team = [{"name": n, "created_at": "2025-01-07 12:00:00"} for n in ("Ana", "Bea")]
    alerts = analyse(rows, team, NOW, tz=timezone.utc, options=PaceOptions())
    report = build_report(rows, alerts)
    by_name = {row[0]: row for row in report.people}
    assert by_name["Cai"][1:4] == ["0", "2", "2"] and by_name["Cai"][-1] == "no longer on the team"
    headline = next(line for line in report.figures if line.startswith("Delivered:"))
    week = sum(int(row[2]) for row in report.people)
    month = sum(int(row[3]) for row in report.people)
    assert headline == f"Delivered: {week} in the last 7 days, {month} in the last 28"
    assert (
        not any(p.name == "Cai" for p in alerts.stalled)
        and not alerts.moves
        or all(m.to != "Cai" for m in alerts.moves)
    )


def _delivered_doc(batch_id: str, assignee, when: datetime) -> dict:
    return {
        "id": batch_id,
        "assignee": assignee,
        "mongo_uploaded": True,
        "training_metrics_info": {"first_upload": when, "latest_upload": when},
        "mask_check": {"state": "complete", "usable": True, "usable_since": when},
    }


TEAM = [{"name": "Flor", "created_at": "2025-01-07 12:00:00"}]


def test_an_upload_dated_ahead_of_the_office_clock_is_delivered_today_in_every_figure():
    """The uploader's clock was two days fast: the report, the pace, the last delivery and the
    deliveries per week count it today, as the headline and the burn-down do."""
    from segcore.report.pace import weekly_deliveries
    from segcore.report.progress import burndown

    ahead = datetime(2025, 10, 17, 9)  # NOW is Oct 15
    rows = [pace_row(_delivered_doc("batch_1", "Flor", ahead)), pace_row({"id": "batch_2"})]
    rows[1]["assignee"] = "Flor"
    rows[1]["open"] = True
    found = analyse(rows, TEAM, NOW, tz=timezone.utc)
    report = weekly_report(rows, found, zone=timezone.utc)
    assert "1 delivered and usable" in report
    assert "- Delivered: 1 in the last 7 days, 1 in the last 28" in report
    flor = found.people[0]
    assert (flor.delivered_7, flor.delivered_28, flor.last_delivery) == (1, 1, NOW.date())
    assert flor.pace > 0 and flor.projected_finish is not None
    weeks = weekly_deliveries(rows, ["Flor"], NOW.date(), timezone.utc)
    assert sum(w["deliveries"] for w in weeks) == 1
    trend = burndown(rows, NOW.date(), NOW.date(), NOW.date(), zone=timezone.utc)
    assert trend.points[-1]["pending"] == 1  # done today there too


def test_a_batch_delivered_while_nobody_held_it_has_a_row_so_the_rows_add_up():
    rows = [
        pace_row(_delivered_doc("batch_1", "Flor", datetime(2025, 10, 14))),
        pace_row(_delivered_doc("batch_3", None, datetime(2025, 10, 14))),
    ]
    report = weekly_report(rows, analyse(rows, TEAM, NOW, tz=timezone.utc), zone=timezone.utc)
    assert "- Delivered: 2 in the last 7 days, 2 in the last 28" in report
    assert "| Flor | 0 | 1 | 1 |" in report
    assert (
        "| Nobody (unassigned) | - | 1 | 1 | - | - | - | delivered while nobody held the batch |"
        in (report)
    )


def test_a_due_date_another_tool_stored_in_year_one_is_shown_as_stored():
    """A legacy `0001-01-01` (the pages refuse one; an older tool stored it) read "due Jan 1,
    1" in the report and the alerts ("1 ene 1" in Spanish), the medium format dropping the
    year's zeros: it is shown as stored, as on the Batches page."""
    from segcore.core.translations import Words
    from segcore.report.pace_report import delivery_quality

    rows, _ = late_team_rows()
    rows[3]["due_date"] = pace_row({"metadata": {"due_date": "0001-01-01"}})["due_date"]
    team = [{"name": n, "created_at": "2025-01-07 12:00:00"} for n in ("Ana", "Bea")]
    alerts = analyse(rows, team, NOW, tz=timezone.utc, options=PaceOptions())
    for words in (Words("en"), Words("es")):
        report = weekly_report(rows, alerts, delivery_quality(rows), words)
        [line] = [line for line in report.splitlines() if line.startswith("- batch_4 (Bea)")]
        assert "0001-01-01" in line, line
