"""Chart data shaping for the dashboard: pure functions on plain dicts, plus the two reads."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from segcore.report import progress
from segcore.work.batches import UNASSIGNED

TODAY = date(2025, 10, 20)


def row(
    batch_id,
    assignee=None,
    status="pending",
    with_masks=False,
    latest=None,
    complete=False,
    usable=None,
):
    """A progress row; with masks means delivered, usable, on `latest`, unless `usable` says."""
    usable = with_masks if usable is None else usable
    return {
        "id": batch_id,
        "assignee": assignee,
        "status": status,
        "with_masks": with_masks,
        "masks_complete": complete,
        "latest_upload": latest,
        "usable": usable,
        "delivered": latest if usable else None,
        "delivered_by": assignee if usable else None,
    }


ROWS = [
    row("batch_1", "Flor", with_masks=True, latest=datetime(2025, 10, 18, 9)),
    row("batch_2", "Flor", status="S"),
    row("batch_3", "Maggie", with_masks=True, latest=date(2025, 10, 19)),
    row("batch_4", "Roberto"),
    row("batch_5"),
    row("batch_6", with_masks=True),
]


@pytest.mark.parametrize(
    "doc, expected",
    [
        ({"id": "batch_1"}, row("batch_1", status=None)),
        (
            {"id": "batch_2", "assignee": "  ", "status": "S", "mongo_uploaded": "yes"},
            row("batch_2", status="S"),
        ),
        (
            {
                "id": "batch_3",
                "assignee": "Flor",
                "mongo_uploaded": True,
                "training_metrics_info": {"latest_upload": "2025-10-01 10:00:00"},
            },
            row(
                "batch_3",
                "Flor",
                status=None,
                with_masks=True,
                latest=date(2025, 10, 1),
                usable=False,
            ),
        ),
        ({"id": "batch_4", "training_metrics_info": "legacy text"}, row("batch_4", status=None)),
        (
            {"id": "batch_5", "mask_check": {"state": "complete"}},
            row("batch_5", status=None, complete=True),
        ),
        ({"id": "batch_6", "mask_check": "legacy text"}, row("batch_6", status=None)),
    ],
)
def test_progress_row_tolerates_legacy_documents(doc, expected):
    assert progress.progress_row(doc) == expected


@pytest.mark.parametrize(
    "assignee, status, ids",
    [
        (None, None, ["batch_1", "batch_2", "batch_3", "batch_4", "batch_5", "batch_6"]),
        ("Flor", None, ["batch_1", "batch_2"]),
        (UNASSIGNED, None, ["batch_5", "batch_6"]),
        (None, "S", ["batch_2"]),
        ("Flor", "pending", ["batch_1"]),
    ],
)
def test_filter_rows(assignee, status, ids):
    assert [r["id"] for r in progress.filter_rows(ROWS, assignee, status)] == ids


def test_kpis_count_pending_as_without_masks():
    summary = progress.kpis(ROWS)
    assert (summary.total, summary.assigned, summary.with_masks, summary.pending) == (6, 4, 3, 3)
    assert summary.percent_done == 50.0


def test_per_segmentador_lists_idle_members_and_flags_former_ones():
    people = {
        p["segmentador"]: p for p in progress.per_segmentador(ROWS, ["Flor", "Maggie", "Ceci"])
    }
    assert list(people) == ["Ceci", "Flor", "Maggie", "Roberto"]
    assert people["Flor"] == {
        "segmentador": "Flor",
        "on_team": True,
        "assigned": 2,
        "with_masks": 1,
        "delivered": 1,
        "open": 0,
        "without_masks": 1,
        "uploaded_unusable": 0,
        "last_upload": datetime(2025, 10, 18, 9),
    }
    assert people["Ceci"]["assigned"] == 0 and people["Ceci"]["last_upload"] is None
    assert people["Roberto"]["on_team"] is False
    assert people["Maggie"]["last_upload"] == date(2025, 10, 19)
    only_flor = progress.per_segmentador(
        progress.filter_rows(ROWS, "Flor"), ["Flor", "Ceci"], include_idle=False
    )
    assert [(p["segmentador"], p["on_team"]) for p in only_flor] == [("Flor", True)]


def test_another_spelling_of_a_members_name_counts_as_that_member():
    rows = [dict(ROWS[0], assignee="flor"), *ROWS]
    people = {p["segmentador"]: p for p in progress.per_segmentador(rows, ["Flor", "Ceci"])}
    assert "flor" not in people and people["Flor"]["assigned"] == 3  # as the alerts count it
    assert sum(p["assigned"] for p in people.values()) == progress.kpis(rows).assigned


def test_burndown_counts_pending_per_day_and_projects_a_finish():
    result = progress.burndown(ROWS, date(2025, 10, 17), date(2025, 10, 20), TODAY, window_days=4)
    # batch_6 has masks but no date: done before the window.
    assert [p["pending"] for p in result.points] == [5, 4, 3, 3]
    assert result.pending_now == 3
    assert result.rate_per_day == 0.5
    assert result.projected_finish == TODAY + timedelta(days=6)
    assert result.projection[-1] == {"day": TODAY + timedelta(days=6), "pending": 0}


def test_burndown_without_recent_progress_has_no_finish_date():
    rows = [row("batch_1"), row("batch_2", with_masks=True, latest=date(2025, 1, 1))]
    result = progress.burndown(rows, date(2025, 10, 1), TODAY, TODAY)
    assert result.projected_finish is None and result.projection == []
    assert progress.burndown([], date(2025, 10, 1), TODAY, TODAY).projected_finish == TODAY


def test_burndown_places_a_delivery_on_the_offices_day():
    """Stored times are UTC: 23:30 UTC on 24 October is 01:30 on the 25th in Madrid (summer
    time), the day the uploads chart and the Team page give it."""
    madrid = ZoneInfo("Europe/Madrid")
    late = datetime(2026, 10, 24, 23, 30)
    rows = [row("batch_1", with_masks=True, latest=late), row("batch_2")]
    day = date(2026, 10, 25)
    points = progress.burndown(rows, day - timedelta(days=1), day, day, zone=madrid).points
    assert [p["pending"] for p in points] == [2, 1]
    utc = progress.burndown(rows, day - timedelta(days=1), day, day).points
    assert [p["pending"] for p in utc] == [1, 1]  # UTC's own day, for a caller without a zone
    kiritimati = ZoneInfo("Pacific/Kiritimati")  # UTC+14: a 14-day window of the office's days
    recent = [row(f"b{n}", with_masks=True, latest=datetime(2026, 10, 11, 11)) for n in range(2)]
    rows = [*recent, row("open")]
    assert progress.burndown(rows, day, day, day, zone=kiritimati).rate_per_day == 0.14  # 2 / 14
    assert progress.burndown(rows, day, day, day).rate_per_day == 0  # the 10th in UTC


def test_burndown_counts_an_upload_dated_ahead_as_delivered_today():
    """An uploader's clock three days ahead: the line, the caption's "not delivered" and the
    projection all say the batch is delivered, today."""
    rows = [
        row("batch_1", with_masks=True, latest=TODAY - timedelta(days=2)),
        row("batch_2", with_masks=True, latest=TODAY + timedelta(days=3)),
        row("batch_3"),
        row("batch_4"),
    ]
    result = progress.burndown(rows, TODAY - timedelta(days=3), TODAY, TODAY, window_days=4)
    assert [p["pending"] for p in result.points] == [4, 3, 3, 2]
    assert result.pending_now == result.points[-1]["pending"] == result.projection[0]["pending"]


@pytest.mark.parametrize(
    "age, text, stale",
    [
        (timedelta(seconds=30), "30 s ago", False),
        (timedelta(minutes=20), "20 min ago", False),
        (timedelta(hours=30), "30 h ago", True),
        (timedelta(days=5), "5 days ago", True),
    ],
)
def test_sync_age(age, text, stale):
    now = datetime(2025, 10, 20, 12)
    assert progress.sync_age(now - age, now) == (text, stale)
    assert progress.sync_age(None, now) == ("never", True)


def test_burndown_leaves_a_batch_closed_without_usable_masks_out():
    """Done but its masks unusable: not open (delivery.is_open), so no work left to project."""
    rows = [
        row("batch_1", "Flor", with_masks=True, latest=date(2025, 10, 19)),
        row("batch_2", "Flor", status="done", with_masks=True, usable=False),
    ]
    result = progress.burndown(rows, date(2025, 10, 18), TODAY, TODAY)
    assert [p["pending"] for p in result.points] == [1, 0, 0]
    assert result.pending_now == 0 and result.closed == 1
    assert result.projected_finish == TODAY
    assert progress.burndown(rows[1:], date(2025, 10, 18), TODAY, TODAY).pending_now == 0


def test_the_people_past_the_top_are_summed_with_their_count_and_no_english_name():
    """The summed row says how many (`rest`), which the chart words in the page's language;
    an English "3 others" of its own could reach a Spanish page."""
    people = [
        {
            "segmentador": f"P{n:02d}",
            "on_team": True,
            "last_upload": None,
            **dict.fromkeys(("with_masks", "delivered", "uploaded_unusable"), 0),
            **dict.fromkeys(("assigned", "open", "without_masks"), 2),
        }
        for n in range(23)
    ]
    top, others = progress.top_people(people, limit=20)
    assert [p["segmentador"] for p in top] == [f"P{n:02d}" for n in range(20)]
    assert others["rest"] == 3 and others["without_masks"] == 6 and others["assigned"] == 6
    assert "segmentador" not in others
    assert not any(isinstance(v, str) for v in others.values())
    assert progress.top_people(people, limit=30)[1] is None
