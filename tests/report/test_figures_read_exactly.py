"""Figures a coordinator reads next to each other must not contradict: a share that reads
100.0% beside a batch without masks, a finish date a day late from a rounded pace, a status
filter that offers a legacy code and matches nothing, a stored time shown blank in one table
and not in another, a chart label left in English. Pure: no database."""

from datetime import date, datetime, timezone

import pytest

from segcore.report import progress
from segcore.report.pace import PaceOptions, nth_working_day, person_figures, risk_of
from segcore.report.stats import share, summary_from_counts
from segcore.views.batch_table import table_row
from ui.app.i18n import speaking
from ui.dashboard import charts


@pytest.mark.parametrize(
    "part, total, shown",
    [(1999, 2000, 99.9), (49_999, 50_000, 99.9), (1, 2000, 0.1), (1, 3, 33.3), (0, 5, 0.0)],
)
def test_a_share_reads_100_only_when_nothing_is_missing_and_0_only_when_nothing_is_there(
    part, total, shown
):
    assert share(part, total) == shown
    summary = summary_from_counts(total, total, part, part)
    assert summary.percent_delivered == shown and summary.percent_with_masks == shown
    assert share(total, total) == 100.0


def test_a_third_of_a_batch_a_day_finishes_the_third_batch_on_the_third_working_day():
    """Shown as 0.333 a day, the pace is a third: one open batch is reached on the third
    working day, so a batch due that day is on time, not at risk."""
    today = date(2026, 12, 7)  # a Monday
    joined = date(2026, 12, 3)  # Thursday: Thu, Fri, Mon are three working days
    person = person_figures(
        "Flor", True, joined, [joined], [{"id": "batch_2"}], today, PaceOptions()
    )
    assert person.pace == 0.333  # as shown
    third_day = nth_working_day(today, 3)
    assert person.projected_finish == third_day == date(2026, 12, 9)
    row = {"id": "batch_2", "due_date": third_day, "assignee": "Flor"}
    assert risk_of(row, 1, person, today) is None


def test_a_legacy_status_stored_as_a_number_is_matched_as_the_filter_names_it():
    rows = [
        {"id": "batch_1", "assignee": "Flor", "status": 2},
        {"id": "batch_2", "assignee": "Flor", "status": 2},
        {"id": "batch_3", "assignee": "Flor", "status": "pending"},
        {"id": "batch_4", "assignee": "Flor", "status": None},
    ]
    assert [r["id"] for r in progress.filter_rows(rows, status="2")] == ["batch_1", "batch_2"]
    assert [r["id"] for r in progress.filter_rows(rows, status="pending")] == ["batch_3"]


@pytest.mark.parametrize(
    "stored, shown",
    [
        ("2025-09-20 10:15:00", datetime(2025, 9, 20, 10, 15)),
        ("2025-09-20", datetime(2025, 9, 20)),
        ("20/09/2025 08:05", datetime(2025, 9, 20, 8, 5)),
        ("soon", None),
        (datetime(2025, 9, 20, 8, 15), datetime(2025, 9, 20, 8, 15)),
    ],
)
def test_the_batches_table_shows_a_stored_latest_upload_as_the_team_page_does(stored, shown):
    """Another tool's text time reads as written (the office's wall clock), never blank and
    never shifted as if it were UTC; a stored datetime stays UTC shown in the office zone."""
    doc = {"id": "batch_400", "training_metrics_info": {"latest_upload": stored}}
    assert table_row(doc, timezone.utc)["latest_upload"] == shown


def test_the_summed_bar_of_the_people_chart_is_worded_in_the_pages_language():
    people = [
        {
            "segmentador": f"P{n:02d}",
            "on_team": True,
            "assigned": 2,
            "with_masks": 0,
            "delivered": 0,
            "open": 2,
            "without_masks": 2,
            "uploaded_unusable": 0,
            "last_upload": None,
        }
        for n in range(23)
    ]
    top, others = progress.top_people(people, limit=20)
    with speaking("es"):
        names = charts.per_segmentador(top, others).data[0].y
    assert names[-1] == "3 personas más"
    with speaking("en"):
        assert charts.per_segmentador(top, others).data[0].y[-1] == "3 others"


def test_the_export_keeps_another_tools_text_time_as_it_reads(db):
    """The CSV gives a stored time with the office's offset and a text time as written."""
    from segcore.core.timefmt import office_zone
    from segcore.views import batch_table
    from segcore.work.batches import BatchQuery

    db.batches.insert_many(
        [
            {
                "id": "batch_1",
                "number": 1,
                "training_metrics_info": {"latest_upload": "2025-09-20 10:15"},
            },
            {
                "id": "batch_2",
                "number": 2,
                "training_metrics_info": {"latest_upload": datetime(2025, 9, 1, 8)},
            },
        ]
    )
    text = batch_table.export_csv(db, BatchQuery(), zone=office_zone("America/Mexico_City"))
    lines = text.strip().splitlines()
    assert lines[1].endswith(",2025-09-20T10:15:00") and lines[2].endswith(
        ",2025-09-01T02:00:00-06:00"
    )


def test_an_empty_slice_of_the_donut_has_no_zero_percent_label():
    """An empty "uploaded, not usable" slice drew "0%" outside the ring, cut at the chart's top;
    the slices with batches keep their shares."""
    pie = charts.segmented_vs_pending(delivered=5, uploaded=5, pending=3).data[0]
    assert list(pie.values) == [5, 0, 3]
    assert list(pie.texttemplate) == ["%{percent}", "", "%{percent}"]
