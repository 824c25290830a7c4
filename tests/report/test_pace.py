"""Pace, stalls, due-date risk and suggested moves: pure figures with a fixed clock."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from segcore.report.pace import (
    PaceOptions,
    analyse,
    local_day,
    nth_working_day,
    pace_row,
    weekly_deliveries,
    working_days,
)

NOW = datetime(2025, 10, 15, 15, 0)  # a Wednesday, 15:00 UTC (naive, as pymongo returns it)
TODAY = date(2025, 10, 15)
UTC = timezone.utc
LONG_AGO = "2025-01-07 12:00:00"  # the legacy created_at form


def batch(batch_id, assignee, delivered=None, due=None, priority=None, status="pending"):
    """A stored batch document; `delivered` a datetime (first upload) means it has masks."""
    doc = {
        "id": batch_id,
        "assignee": assignee,
        "status": status,
        "mongo_uploaded": delivered is not None,
        "metadata": {},
    }
    if delivered is not None:  # delivered means usable (segcore.delivery)
        doc["training_metrics_info"] = {"first_upload": delivered, "latest_upload": delivered}
        doc["mask_check"] = {
            "state": "complete",
            "images": 3,
            "missing_count": 0,
            "usable": True,
            "usable_since": delivered,
        }
    if due is not None:
        doc["metadata"]["due_date"] = due
    if priority is not None:
        doc["metadata"]["priority"] = priority
    return pace_row(doc)


def delivered_days_ago(prefix, assignee, days_ago_list):
    return [
        batch(f"{prefix}_{n}", assignee, delivered=NOW - timedelta(days=d))
        for n, d in enumerate(days_ago_list)
    ]


def member(name, created_at=LONG_AGO):
    return {"name": name, "created_at": created_at}


def run(rows, members, **options):
    return analyse(rows, members, NOW, tz=UTC, options=PaceOptions(**options))


def person(alerts, name):
    [found] = [p for p in alerts.people if p.name == name]
    return found


# --- days -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start,end,expected",
    [
        (date(2025, 10, 13), date(2025, 10, 17), 5),  # Monday to Friday
        (date(2025, 10, 18), date(2025, 10, 19), 0),  # a weekend
        (date(2025, 9, 18), date(2025, 10, 15), 20),  # any 28 days hold 20 working days
        (date(2025, 10, 15), date(2025, 10, 14), 0),  # empty range
    ],
)
def test_working_days(start, end, expected):
    assert working_days(start, end) == expected


@pytest.mark.parametrize(
    "start,n,expected",
    [
        (date(2025, 10, 15), 1, date(2025, 10, 15)),  # today counts when it is a working day
        (date(2025, 10, 17), 2, date(2025, 10, 20)),  # Friday + 1 skips the weekend
        (date(2025, 10, 18), 1, date(2025, 10, 20)),  # from a Saturday: Monday
        (date(2025, 10, 13), 6, date(2025, 10, 20)),  # a full week later
        (date(2025, 10, 16), 3, date(2025, 10, 20)),  # Thu, Fri, Mon
    ],
)
def test_nth_working_day(start, n, expected):
    assert nth_working_day(start, n) == expected


def test_a_hopelessly_slow_pace_does_not_crash():
    assert nth_working_day(date(2025, 10, 15), 10**8) == date.max


@pytest.mark.parametrize(
    "moment,tz,expected",
    [
        (datetime(2025, 10, 15, 3, 0), ZoneInfo("America/Mexico_City"), date(2025, 10, 14)),
        (datetime(2025, 10, 15, 3, 0), UTC, date(2025, 10, 15)),
        (
            datetime(2025, 10, 15, 3, 0, tzinfo=UTC),
            ZoneInfo("America/Mexico_City"),
            date(2025, 10, 14),
        ),
        ("2025-10-07 12:00:00", UTC, date(2025, 10, 7)),
        ("garbage", UTC, None),
        (None, UTC, None),
    ],
)
def test_deliveries_fall_on_the_offices_local_day(moment, tz, expected):
    assert local_day(moment, tz) == expected


# --- legacy documents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "doc,expected",
    [
        (
            {"id": "batch_1", "assignee": "Flor", "metadata": {"due_date": "2025-09-30"}},
            {"open": True, "due_date": date(2025, 9, 30)},
        ),
        (
            {"id": "batch_1", "assignee": "Flor", "metadata": {"due_date": "30/09/2025"}},
            {"due_date": date(2025, 9, 30)},
        ),
        (
            {"id": "batch_1", "assignee": "Flor", "metadata": {"due_date": datetime(2025, 9, 30)}},
            {"due_date": date(2025, 9, 30)},
        ),
        (
            {"id": "batch_1", "assignee": "Flor", "metadata": {"due_date": "soon"}},
            {"due_date": None},
        ),
        ({"id": "batch_1", "assignee": "Flor", "metadata": "legacy text"}, {"due_date": None}),
        ({"id": "batch_1", "assignee": "  "}, {"assignee": None, "open": False}),
        ({"id": "batch_1", "assignee": "Flor", "status": "done"}, {"open": False}),
        (
            {
                "id": "batch_1",
                "assignee": "Flor",
                "mongo_uploaded": True,
                "training_metrics_info": {"latest_upload": datetime(2025, 10, 1)},
            },
            {"open": True, "delivered": None},
        ),  # uploaded, never checked: not delivered
        (
            {
                "id": "batch_1",
                "assignee": "Flor",
                "mongo_uploaded": True,
                "mask_check": {"state": "unreadable", "usable": False, "images": 4},
            },
            {"open": True, "delivered": None, "usable": False},
        ),  # a corrupt upload
        (
            {
                "id": "batch_1",
                "assignee": "Flor",
                "mongo_uploaded": True,
                "mask_check": {
                    "state": "complete",
                    "usable": True,
                    "images": 4,
                    "missing_count": 0,
                    "usable_since": datetime(2025, 10, 1),
                },
            },
            {"open": False, "delivered": datetime(2025, 10, 1)},
        ),
        (
            {"id": "batch_1", "assignee": "Flor", "mongo_uploaded": "S"},
            {"open": True, "with_masks": False},
        ),
    ],
)
def test_legacy_batches_are_read_without_crashing(doc, expected):
    row = pace_row(doc)
    assert {k: row[k] for k in expected} == expected


# --- per person -----------------------------------------------------------------------------


def test_pace_counts_and_projected_finish():
    rows = delivered_days_ago("d", "Ana", [0, 1, 2, 5, 6, 8, 10, 20, 25, 27, 40])
    rows += [batch(f"open_{n}", "Ana") for n in range(3)]
    ana = person(run(rows, [member("Ana")]), "Ana")
    assert (ana.open, ana.delivered_7, ana.delivered_28) == (3, 5, 10)
    assert ana.pace == 0.5  # 10 in the 20 working days of 28 days
    assert (ana.last_delivery, ana.days_since) == (TODAY, 0)
    # 3 batches at 0.5 a day: 6 working days from Wednesday, counting today.
    assert ana.projected_finish == date(2025, 10, 22)
    assert not ana.stalled


def test_someone_who_never_delivered():
    alerts = run([batch("batch_1", "Ana")], [member("Ana")])
    ana = person(alerts, "Ana")
    assert (ana.pace, ana.last_delivery, ana.days_since, ana.projected_finish) == (
        0,
        None,
        None,
        None,
    )
    assert ana.stalled
    assert alerts.as_json()["stalled"] == [
        {"name": "Ana", "open": 1, "last_delivery": None, "days_since": None}
    ]


def test_a_newcomer_is_not_stalled_and_their_pace_counts_from_joining():
    rows = [batch("batch_1", "Bea", due="2025-10-20"), batch("batch_2", "Bea")]
    rows += delivered_days_ago("d", "Bea", [0])
    bea = person(run(rows, [member("Bea", "2025-10-13 09:00:00")]), "Bea")  # joined Monday
    assert not bea.stalled
    assert bea.pace == round(1 / 3, 3)  # one batch in three working days, not in twenty
    idle = run([batch("batch_1", "Cai", due="2025-10-16")], [member("Cai", "2025-10-14 09:00:00")])
    assert not person(idle, "Cai").stalled and idle.at_risk == []


@pytest.mark.parametrize(
    "days_ago,stall_days,stalled",
    [
        (6, 7, False),
        (7, 7, True),
        (30, 7, True),
        (2, 3, False),
        (3, 3, True),
    ],
)
def test_stalled_after_stall_days_without_a_delivery(days_ago, stall_days, stalled):
    rows = delivered_days_ago("d", "Ana", [days_ago]) + [batch("batch_9", "Ana")]
    assert person(run(rows, [member("Ana")], stall_days=stall_days), "Ana").stalled is stalled


def test_a_team_record_newer_than_the_work_hides_no_stall():
    """The team list was written after the deliveries (a team entered again, the demo): the
    pace counts from the first delivery, and so does the stall clock. Nothing for 9 days with
    open batches is stalled, whatever the record's date; so is nothing for 40 days, a
    delivery older than the pace window (the team's records cannot tell such a member from one
    back after months away: both delivered long before the record, and both are stalled)."""
    rows = delivered_days_ago("d", "Maggie", [9, 12, 15]) + [batch("batch_9", "Maggie")]
    recorded_later = member("Maggie", "2025-10-14 09:00:00")  # yesterday
    maggie = person(run(rows, [recorded_later], stall_days=7), "Maggie")
    assert maggie.stalled and maggie.days_since == 9
    old = delivered_days_ago("old", "Flor", [40]) + [batch("batch_8", "Flor")]
    flor = person(run(old, [member("Flor", "2025-10-15 09:00:00")], stall_days=7), "Flor")
    assert flor.stalled and flor.days_since == 40
    fresh = [batch("batch_7", "Bea")]  # nothing delivered: a newcomer counts from joining
    bea = person(run(fresh, [member("Bea", "2025-10-13 09:00:00")], stall_days=7), "Bea")
    assert not bea.stalled


def test_nobody_is_stalled_without_open_batches():
    rows = delivered_days_ago("d", "Ana", [60])
    assert not run(rows, [member("Ana")]).stalled


def test_open_queue_order_priority_then_due_date():
    rows = [
        batch("batch_10", "Ana", due="2025-11-01", priority="baja"),
        batch("batch_2", "Ana", priority="alta"),
        batch("batch_9", "Ana", due="2025-10-30", priority="media"),
        batch("batch_3", "Ana", due="2025-10-20", priority="alta"),
        batch("batch_4", "Ana", priority="S"),
        batch("batch_5", "Ana", due="2025-10-25", priority="media"),
    ]
    assert person(run(rows, [member("Ana")]), "Ana").queue == [
        "batch_3",
        "batch_2",
        "batch_5",
        "batch_9",
        "batch_10",
        "batch_4",
    ]


# --- at risk --------------------------------------------------------------------------------


def half_a_day_pace(name):
    """Ten deliveries in the window: a pace of 0.5 batches per working day."""
    return delivered_days_ago(f"d_{name}", name, [0, 1, 2, 3, 6, 7, 8, 9, 10, 13])


def test_at_risk_when_projected_after_the_due_date_or_overdue():
    rows = half_a_day_pace("Ana") + [
        batch("batch_1", "Ana", due="2025-10-16", priority="alta"),  # reached Thursday: fine
        batch("batch_2", "Ana", due="2025-10-16", priority="media"),  # reached Monday 20th
        batch("batch_3", "Ana", due="2025-10-10", priority="baja"),  # overdue
        batch("batch_4", "Ana", priority="baja"),  # no due date: never
        batch("batch_5", "Ana", due="not a date", priority="baja"),
    ]
    alerts = run(rows, [member("Ana")])
    assert [(b.id, b.projected, b.reason) for b in alerts.at_risk] == [
        ("batch_3", date(2025, 10, 22), "overdue by 5 days"),
        ("batch_2", date(2025, 10, 20), "would miss due date by 4 days"),
    ]
    assert alerts.moves == []  # nobody else to take them


def test_batches_of_someone_who_left_are_at_risk_and_all_may_move():
    rows = half_a_day_pace("Ana") + [batch(f"batch_{n}", "Zoe") for n in range(1, 5)]
    alerts = run(rows, [member("Ana")], max_share=0.25)
    assert [(b.id, b.assignee, b.reason) for b in alerts.at_risk] == [
        (f"batch_{n}", "Zoe", "Zoe is no longer on the team") for n in range(1, 5)
    ]
    zoe = person(alerts, "Zoe")
    assert not zoe.on_team and not zoe.stalled
    assert [(m.id, m.from_, m.to) for m in alerts.moves] == [
        (f"batch_{n}", "Zoe", "Ana") for n in range(1, 5)
    ]
    assert [m.projected_after for m in alerts.moves] == [
        date(2025, 10, 16),
        date(2025, 10, 20),
        date(2025, 10, 22),
        date(2025, 10, 24),
    ]


def test_moves_go_to_whoever_finishes_soonest_and_respect_the_share():
    rows = half_a_day_pace("Ana") + delivered_days_ago("d_bea", "Bea", [1] * 20)  # Bea: 1/day
    rows += [batch(f"batch_{n}", "Ana", due="2025-10-17") for n in range(1, 7)]
    rows += [batch(f"batch_{n}", "Bea", due="2025-12-01") for n in range(7, 9)]
    rows.append(batch("batch_99", "Ana", delivered=NOW, due="2025-10-01"))  # has masks
    alerts = run(rows, [member("Ana"), member("Bea"), member("Cai")], max_share=0.5)
    # Ana reaches her k-th batch after 2k working days: only the first is done by Friday.
    assert [b.id for b in alerts.at_risk] == [f"batch_{n}" for n in range(2, 7)]
    moves = [(m.id, m.from_, m.to, m.reason) for m in alerts.moves]
    # At most half of Ana's six open batches move; Cai has no pace, so gets none.
    assert moves == [
        ("batch_2", "Ana", "Bea", "would miss due date by 3 days"),
        ("batch_3", "Ana", "Bea", "would miss due date by 5 days"),
        ("batch_4", "Ana", "Bea", "would miss due date by 7 days"),
    ]
    assert alerts.moves[0].change == "Bea would finish it by 2025-10-17, on time"
    assert alerts.moves[2].change == "Bea would finish it by 2025-10-21, 4 days after the due date"


def test_a_stalled_person_without_pace_has_dated_batches_moved_with_that_reason():
    rows = delivered_days_ago("d_ana", "Ana", [9]) + half_a_day_pace("Bea")
    rows += [batch("batch_1", "Ana", due="2025-12-01"), batch("batch_2", "Ana")]
    alerts = run(rows, [member("Ana"), member("Bea")])
    ana = person(alerts, "Ana")
    assert ana.stalled and ana.pace == 0.05 and ana.days_since == 9
    # Her old pace still reaches the batch weeks before its due date: not at risk yet.
    assert alerts.at_risk == [] and alerts.moves == []
    never = run(
        delivered_days_ago("d", "Ana", [40])
        + half_a_day_pace("Bea")
        + [batch("batch_1", "Ana", due="2025-12-01")],
        [member("Ana"), member("Bea")],
    )
    assert [(m.id, m.to, m.reason) for m in never.moves] == [
        ("batch_1", "Bea", "stalled: Ana has delivered nothing for 40 days")
    ]


def test_stalled_people_never_receive_moves():
    rows = delivered_days_ago("d_ana", "Ana", [20] * 5) + [batch("batch_5", "Ana")]
    rows += [batch(f"batch_{n}", "Zoe") for n in (1, 2)]
    alerts = run(rows, [member("Ana")])
    assert person(alerts, "Ana").stalled and alerts.moves == []


def test_a_team_of_one_gets_figures_but_no_moves():
    rows = half_a_day_pace("Ana") + [batch("batch_1", "Ana", due="2025-10-01")]
    alerts = run(rows, [member("Ana")])
    assert [b.id for b in alerts.at_risk] == ["batch_1"] and alerts.moves == []


def test_all_work_done_says_nothing():
    rows = half_a_day_pace("Ana") + [batch("batch_1", "Ana", status="done", due="2025-10-01")]
    alerts = run(rows, [member("Ana"), member("Bea")])
    assert not alerts.any
    assert alerts.as_json() == {"stalled": [], "at_risk": [], "suggested_moves": []}
    assert person(alerts, "Bea").pace == 0 and person(alerts, "Bea").open == 0


def test_json_shape():
    rows = delivered_days_ago("d_ana", "Ana", [12]) + half_a_day_pace("Bea")
    rows += [batch("batch_1", "Ana", due="2025-10-14")]
    assert run(rows, [member("Ana"), member("Bea")]).as_json() == {
        "stalled": [{"name": "Ana", "open": 1, "last_delivery": "2025-10-03", "days_since": 12}],
        "at_risk": [
            {
                "id": "batch_1",
                "assignee": "Ana",
                "due_date": "2025-10-14",
                "projected": "2025-11-11",
            }
        ],
        "suggested_moves": [
            {
                "id": "batch_1",
                "from": "Ana",
                "to": "Bea",
                "reason": "stalled: Ana has delivered nothing for 12 days",
            }
        ],
    }


def test_assignee_names_match_the_team_regardless_of_case_and_accents():
    rows = half_a_day_pace("flor") + [batch("batch_1", "FLÓR")]
    alerts = run(rows, [member("Flor")])
    assert [(p.name, p.on_team, p.open) for p in alerts.people] == [("Flor", True, 1)]


# --- weekly chart ---------------------------------------------------------------------------


def test_weekly_deliveries_has_every_week_and_person():
    rows = delivered_days_ago("d", "Ana", [0, 1, 7, 60]) + delivered_days_ago("z", "Zoe", [14])
    weeks = weekly_deliveries(rows, ["Ana", "Bea"], TODAY, tz=UTC)
    assert len(weeks) == 3 * 8
    ana = [w["deliveries"] for w in weeks if w["segmentador"] == "Ana"]
    assert ana == [0, 0, 0, 0, 0, 0, 1, 2]
    assert weeks[-1]["week"] == date(2025, 10, 13)
    assert sum(w["deliveries"] for w in weeks if w["segmentador"] == "Bea") == 0
    assert sum(w["deliveries"] for w in weeks if w["segmentador"] == "Zoe") == 1


def test_deliveries_before_the_recorded_joining_count_from_the_first_of_them():
    """A team list written after the work began (the demo, a migrated team): Maggie joined
    today on record but delivered 20 batches over the last four weeks. Her pace is not 20 a
    day, which contradicted the team's 3 a day on the Dashboard."""
    rows = delivered_days_ago("d", "Maggie", list(range(0, 28, 1))[:20])
    rows.append(batch("batch_1", "Maggie", due="2025-10-20"))
    maggie = person(run(rows, [member("Maggie", "2025-10-15 09:00:00")]), "Maggie")
    window = working_days(date(2025, 9, 18), date(2025, 10, 15))
    first = working_days(date(2025, 9, 26), date(2025, 10, 15))  # 19 days before today
    assert maggie.pace == round(20 / first, 3) and first < window
    assert maggie.pace < 2


def test_a_delivery_before_the_window_paces_a_later_record_over_the_whole_window():
    """Flor's team record was written today, her first delivery was 40 days ago and her only
    one in the window yesterday: 1 delivery over the window's 20 working days (0.05), not 1 a
    day, so 3 open batches due in 14 days are at risk."""
    rows = delivered_days_ago("d", "Flor", [40, 1])
    rows += [batch(f"open_{n}", "Flor", due="2025-10-29") for n in range(3)]
    found = run(rows, [member("Flor", "2025-10-15 09:00:00")])
    flor = person(found, "Flor")
    assert flor.pace == 0.05 and flor.delivered_28 == 1
    assert flor.projected_finish == nth_working_day(TODAY, 60)
    assert [b.id for b in found.at_risk] == ["open_0", "open_1", "open_2"]


@pytest.mark.parametrize(
    "joined,tz,expected",
    [
        # the joining a removal keeps: the member's created_at, an office time
        ("2025-10-13 09:00:00", UTC, round(3 / 3, 3)),
        # removed before it was kept: the history's "added", a UTC moment read in the office's
        # day (Monday 21:00 in Mexico City is Tuesday 03:00 UTC)
        (datetime(2025, 10, 14, 3, 0), ZoneInfo("America/Mexico_City"), round(3 / 3, 3)),
        (datetime(2025, 10, 14, 3, 0), UTC, round(3 / 2, 3)),
        # nothing recorded (a member of the old dashboard): the whole window
        (None, UTC, round(3 / 20, 3)),
    ],
    ids=["kept-joining", "added-in-office-day", "added-utc", "unknown"],
)
def test_someone_who_left_is_paced_since_they_joined(joined, tz, expected):
    """José joined Monday, delivered 3 batches and was removed: the same 3 deliveries keep
    the same pace, not 3 over the whole 20-working-day window (0.15)."""
    rows = delivered_days_ago("d", "José", [0, 0, 0])
    found = analyse(rows, [member("Eva")], NOW, tz, PaceOptions(), [member("José", joined)])
    jose = person(found, "José")
    assert not jose.on_team and jose.pace == expected
    on_team = analyse(rows, [member("Eva"), member("José", "2025-10-13 09:00:00")], NOW, UTC)
    assert person(on_team, "José").pace == round(3 / 3, 3)


def test_a_former_joining_is_not_taken_for_someone_on_the_team():
    """A member of the same name on the team now (added again) is paced from their own
    joining, never from the one that left."""
    rows = delivered_days_ago("d", "Ana", [0, 0, 0])
    found = analyse(rows, [member("Ana")], NOW, UTC, former=[member("Ana", "2025-10-15 09:00:00")])
    assert person(found, "Ana").pace == round(3 / 20, 3)
