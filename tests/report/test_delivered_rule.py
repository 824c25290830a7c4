"""One rule for "delivered": `segcore status`, the Dashboard's KPIs and the weekly report count
a batch as delivered by `delivery.delivery_of`, whatever shape an earlier release or another
tool stored its checks in."""

from datetime import datetime

import pytest

from segcore.report import alerts, progress, stats
from segcore.views.batch_rows import read_all_rows
from segcore.work.delivery import problem_count

WHEN = datetime(2026, 12, 4, 10)
COMPLETE = {"state": "complete", "images": 2, "missing_count": 0}


def _batch(**fields) -> dict:
    return {
        "id": "batch_1",
        "assignee": "Flor",
        "status": "review",
        "mongo_uploaded": True,
        "training_metrics_info": {"first_upload": WHEN, "latest_upload": WHEN},
        **fields,
    }


@pytest.mark.parametrize(
    "stored, delivered",
    [
        # a mask check from an earlier release, before `usable` was stored
        ({"mask_check": COMPLETE}, 1),
        ({"mask_check": {**COMPLETE, "usable": True, "usable_since": WHEN}}, 1),
        # a problem count written by mongosh (a double) or by another tool (text)
        ({"mask_check": {**COMPLETE, "usable": True}, "mask_content": {"problems": 2.0}}, 0),
        ({"mask_check": {**COMPLETE, "usable": True}, "mask_content": {"problems": "3"}}, 0),
        ({"mask_check": {**COMPLETE, "usable": True}, "mask_content": {"problems": "many"}}, 1),
        ({"mask_check": {**COMPLETE, "usable": True}, "mask_content": {"problems": 0.0}}, 1),
        ({"mask_check": {**COMPLETE, "usable": False}}, 0),
    ],
)
def test_status_dashboard_and_report_count_delivered_alike(db, stored, delivered):
    db.batches.insert_one(_batch(**stored))
    on_screen = progress.kpis(list(read_all_rows(db).values())).delivered
    in_report = progress.kpis(alerts.report_rows(db)).delivered
    assert (stats.summary(db).delivered, on_screen, in_report) == (delivered,) * 3


@pytest.mark.parametrize(
    "stored, count",
    [
        (3, 3),
        (2.0, 2),
        ("3", 3),
        (" 4 ", 4),
        (0, 0),
        (None, 0),
        (True, 0),
        (2.5, 0),
        (-1, 0),
        ("many", 0),
        ("²", 0),  # a digit to str.isdigit, no number to int: once a ValueError
        ([1], 0),
    ],
)
def test_a_stored_problem_count_is_read_as_a_whole_number(stored, count):
    assert problem_count(stored) == count
