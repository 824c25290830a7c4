"""The daily alerts and the weekly report as messages: once per day and ISO week, what is new,
in each coordinator's language, the same figures as `segcore report`."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from segcore.core.translations import Words
from segcore.notify import notify_due, notify_outbox
from segcore.prepare import prepare
from segcore.report.alerts import current_alerts, report_rows
from segcore.report.pace_report import build_report, delivery_quality
from segcore.store.connection import open_databases
from segcore.team import auth
from tests.pace_seed import seed_pace


@pytest.fixture
def coordinated(settings, client):
    """Databases set to email Ana (English) and Luis (LANGUAGE, Spanish), seeded with pace."""
    changed = dataclasses.replace(
        settings,
        smtp_url="smtp://127.0.0.1:9",
        notify_from="dash@example.org",
        notify_coordinators=(("Ana", "ana@example.org"), ("Luis", "luis@example.org")),
        notify_hour=8,
        language="es",
        timezone="UTC",
    )
    databases = open_databases(changed, client=client)
    prepare(databases)
    auth.add_user(databases.work, "Ana", "coordinator", "a long password 1")
    auth.set_language(databases.work, "Ana", "en")
    seed_pace(databases.work)
    yield databases
    client.drop_database(settings.mongo_db)
    client.drop_database(settings.training_db)


def _at(hour: int, days: int = 0) -> datetime:
    today = datetime.now(timezone.utc).replace(hour=hour, minute=5, second=0, microsecond=0)
    return today + timedelta(days=days)


def _messages(databases, kind):
    return [m for m in notify_outbox.list_messages(databases.work) if m["kind"] == kind]


def test_the_daily_digest_waits_for_its_hour_then_goes_once_per_coordinator(coordinated):
    assert notify_due.enqueue_daily(coordinated, _at(7)) == 0
    assert notify_due.enqueue_daily(coordinated, _at(9)) == 2
    assert notify_due.enqueue_daily(coordinated, _at(15)) == 0  # later the same day
    by_to = {m["to"]: m for m in _messages(coordinated, "daily")}
    ana, luis = by_to["ana@example.org"], by_to["luis@example.org"]
    assert "Stalled (1)" in ana["text"] and "- Cai: 2 open" in ana["text"]
    assert "Suggested moves (3)" in ana["text"] and "batch_7: Zoe → Bea" in ana["text"]
    assert "Detenidos (1)" in luis["text"] and "Movimientos sugeridos (3)" in luis["text"]
    assert "Hola Luis:" in luis["text"]


def test_the_next_day_lists_only_what_is_newly_at_risk(coordinated):
    notify_due.enqueue_daily(coordinated, _at(9))
    first = _messages(coordinated, "daily")[0]
    at_risk = {b.id for b in current_alerts(coordinated.work, now=_at(9)).at_risk}
    stored = coordinated.work[notify_outbox.OUTBOX].find_one({"_id": first["key"]})
    assert set(stored["data"]["new_at_risk"]) == at_risk and at_risk  # the first day: all new
    assert notify_due.enqueue_daily(coordinated, _at(9, days=1)) == 2  # Cai is still stalled
    second = [
        m
        for m in _messages(coordinated, "daily")
        if m["key"] != first["key"]
        and m["to"] == "ana@example.org"
        and m["key"].startswith("daily:")
    ][0]
    doc = coordinated.work[notify_outbox.OUTBOX].find_one({"_id": second["key"]})
    assert doc["data"]["new_at_risk"] == []
    assert "Newly at risk or overdue (0)" in second["text"]


def test_switched_off_or_excluded_coordinators_get_no_digest(coordinated, client):
    off = open_databases(
        dataclasses.replace(coordinated.settings, notify_daily=False, notify_weekly=False),
        client=client,
    )
    assert (
        notify_due.enqueue_daily(off, _at(9)) == 0 and notify_due.enqueue_weekly(off, _at(9)) == 0
    )
    fewer = open_databases(
        dataclasses.replace(coordinated.settings, notify_exclude=("luis@EXAMPLE.org",)),
        client=client,
    )
    assert notify_due.enqueue_daily(fewer, _at(9)) == 1


def test_the_weekly_report_goes_once_a_week_with_the_report_figures(coordinated):
    now = _at(9)
    assert notify_due.enqueue_weekly(coordinated, now) == 2
    assert notify_due.enqueue_weekly(coordinated, now + timedelta(hours=3)) == 0
    rows = report_rows(coordinated.work)
    alerts = current_alerts(coordinated.work, now=now, tz=timezone.utc)
    report = build_report(rows, alerts, delivery_quality(rows), Words("es"))
    luis = next(m for m in _messages(coordinated, "weekly") if m["to"] == "luis@example.org")
    assert luis["subject"] == report.title
    assert all(f"- {line}" in luis["text"] for line in report.figures)
    doc = coordinated.work[notify_outbox.OUTBOX].find_one({"_id": luis["key"]})
    assert '<html lang="es">' in doc["html"] and "<td>Cai</td>" in doc["html"]
    year, week, _ = now.isocalendar()
    assert luis["key"] == f"weekly:{year}-W{week:02d}:luis@example.org"
    assert notify_due.enqueue_weekly(coordinated, now + timedelta(days=7)) == 2


def test_the_daily_digest_names_a_stale_sync_as_alerts_and_the_weekly_report_do(coordinated):
    """A broken sync timer makes people look stalled: the email says what its figures rest on."""
    assert notify_due.enqueue_daily(coordinated, _at(9)) == 2
    first = _messages(coordinated, "daily")
    assert not any("As of the last sync" in m["text"] for m in first)
    assert notify_due.enqueue_daily(coordinated, _at(9, days=3)) == 2  # no sync since
    later = [m for m in _messages(coordinated, "daily") if m not in first]
    by_to = {m["to"]: m["text"] for m in later}
    assert "As of the last sync, " in by_to["ana@example.org"]
    assert "(stale): deliveries since then are not counted." in by_to["ana@example.org"]
    assert by_to["ana@example.org"].index("As of the last sync") < by_to["ana@example.org"].index(
        "Stalled ("
    )
    assert "(desactualizada)" in by_to["luis@example.org"]


@pytest.mark.parametrize("at_risk", [3, [{"id": "batch_5"}]])
def test_a_previous_digest_another_tool_stored_oddly_stops_no_daily_digest(coordinated, at_risk):
    """Yesterday's digest as another tool left it (at_risk a number, ids as objects) made
    today's fail with a TypeError: the digest goes, everything at risk told as new."""
    coordinated.work[notify_outbox.OUTBOX].insert_one(
        {"_id": "daily:old", "kind": "daily", "data": {"day": "2000-01-01", "at_risk": at_risk}}
    )
    assert notify_due.enqueue_daily(coordinated, _at(9)) == 2
    [doc] = coordinated.work[notify_outbox.OUTBOX].find({"to": "ana@example.org"})
    at_risk_now = {b.id for b in current_alerts(coordinated.work, now=_at(9)).at_risk}
    assert set(doc["data"]["new_at_risk"]) == at_risk_now and at_risk_now
