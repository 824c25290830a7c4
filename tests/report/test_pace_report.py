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
    assert "- Batches: 1 in total, 1 assigned, 1 with masks, 0 pending (100.0% done)" in report
    assert "| Ana | 0 | 1 | 1 | 0.05 | 2025-10-14 | - | - |" in report
    assert report.rstrip().endswith("Nothing needs attention.")


def test_names_written_by_other_tools_cannot_break_the_table():
    rows = [pace_row({"id": "batch_1", "assignee": "Ana | QA"})]
    report = weekly_report(rows, analyse(rows, [], NOW, tz=timezone.utc))
    assert "| Ana \\| QA | 1 |" in report
    assert (
        "- batch_1 (Ana \\| QA): due -, reached never at the current pace; "
        "Ana \\| QA is no longer on the team" in report
    )


def test_usable_vs_uploaded_counts_checked_masks_and_rework():
    from segcore.report.pace_report import delivery_quality

    rows = [
        {"with_masks": True, "mask_state": "complete"},
        {"with_masks": True, "mask_state": "extra"},
        {"with_masks": True, "mask_state": "incomplete"},
        {"with_masks": True, "mask_state": "unreadable"},
        {"with_masks": True, "mask_state": None},
        {"with_masks": False, "mask_state": None},
    ]
    quality = delivery_quality(rows)
    assert (quality.uploaded, quality.usable, quality.rework) == (5, 2, 2)
    assert delivery_quality([{"with_masks": True, "mask_state": None}]).usable is None
