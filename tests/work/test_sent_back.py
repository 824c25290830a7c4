"""A batch the coordinator sent back for rework is not delivered until a newer upload arrives:
open again for its holder, at risk or overdue past its due date, counted among those needing
rework, in every figure (segcore.work.delivery, the one place the rule is written)."""

from datetime import datetime, timedelta

import pytest

from segcore.core.timefmt import utcnow
from segcore.report import alerts, stats
from segcore.report.pace_report import delivery_quality
from segcore.views.batch_rows import batch_row, read_all_rows
from segcore.work import batches, review
from segcore.work.delivery import delivery_of, sent_back_standing, status_after_check
from tests.pace_seed import _delivered, record_sync, seed_pace

SENT_BACK = datetime(2026, 12, 1, 10, 0)


@pytest.mark.parametrize(
    ("status", "latest", "standing"),
    [
        ("rework", SENT_BACK - timedelta(days=2), True),  # the masks the reviewer saw
        ("rework", SENT_BACK, True),
        ("rework", None, True),
        ("rework", SENT_BACK + timedelta(hours=1), False),  # a newer upload came in
        ("in_progress", SENT_BACK - timedelta(days=2), True),  # its holder is redoing it
        ("in_progress", SENT_BACK + timedelta(hours=1), False),
        ("review", SENT_BACK - timedelta(days=2), False),  # the coordinator took it back
        ("done", SENT_BACK - timedelta(days=2), False),
    ],
)
def test_a_send_back_stands_until_a_newer_upload(status, latest, standing):
    assert sent_back_standing(status, {"last_sent_back_at": SENT_BACK}, latest) is standing


def test_a_rework_without_a_send_back_date_is_left_to_the_checks():
    assert not sent_back_standing("rework", {"sent_back": 1}, None)
    assert not sent_back_standing("rework", None, None)


USABLE = {"state": "complete", "images": 3, "missing_count": 0, "usable": True}
SEGCORES = {"template": "{problem}: {reason}", "params": {}}  # segcore wrote the reason


@pytest.mark.parametrize(
    ("doc", "after"),
    [
        # segcore's rework for an upload's problem, now gone: to review
        ({"status": "rework", "rework_reason_phrase": SEGCORES, "mask_check": USABLE}, "review"),
        # the problem is still there (masks missing, content problems): stays
        ({"status": "rework", "rework_reason_phrase": SEGCORES, "mask_check": {**USABLE, "usable": False}}, None),
        ({"status": "rework", "rework_reason_phrase": SEGCORES, "mask_check": USABLE, "mask_content": {"problems": 2}}, None),
        # a person's rework: a send-back (no phrase, its note is the reason), a status set by hand
        ({"status": "rework", "rework_reason": "the borders", "mask_check": USABLE}, None),
        ({"status": "rework", "mask_check": USABLE}, None),
        # a send-back standing beside a later rework of segcore's
        ({"status": "rework", "rework_reason_phrase": SEGCORES, "mask_check": USABLE, "review": {"last_sent_back_at": SENT_BACK}, "training_metrics_info": {"latest_upload": SENT_BACK}}, None),
        # other statuses are not this rule's
        ({"status": "pending", "rework_reason_phrase": SEGCORES, "mask_check": USABLE}, None),
    ],
)  # fmt: skip
def test_segcores_own_rework_ends_when_the_checks_find_the_problem_gone(doc, after):
    assert status_after_check(doc) == (after and (after, None))


def test_usable_again_after_a_send_back_is_delivered_on_the_newer_upload():
    first = SENT_BACK - timedelta(days=2)
    doc = _delivered("batch_1", "Flor", first)
    doc["status"] = "rework"
    doc["review"] = {"sent_back": 1, "last_sent_back_at": SENT_BACK}
    assert delivery_of(doc) == (False, None)
    row = batch_row(doc)
    assert (row["usable"], row["open"], row["delivered"]) == (False, True, None)
    again = SENT_BACK + timedelta(days=1)
    doc["training_metrics_info"]["latest_upload"] = again
    assert delivery_of(doc) == (True, again)


def test_a_sent_back_batch_is_open_overdue_and_needs_rework(db):
    seed_pace(db)
    due = (utcnow() - timedelta(days=3)).date().isoformat()
    db.batches.update_one({"id": "batch_100"}, {"$set": {"metadata.due_date": due}})
    assert "batch_100" not in batches.open_batch_ids(db, "Ana")
    delivered_before = stats.summary(db).delivered

    result = review.review(db, ["batch_100"], accept=False, note="labels are wrong, redo them")
    assert result.moved == ["batch_100"]

    assert stats.summary(db).delivered == delivered_before - 1
    assert "batch_100" in batches.open_batch_ids(db, "Ana")
    assert "batch_100" in {b.id for b in alerts.current_alerts(db).at_risk}
    rows = alerts.report_rows(db)
    assert delivery_quality(rows).rework == 1

    # A newer upload after the send-back: delivered again, on that upload's day.
    newer = utcnow() + timedelta(seconds=1)
    db.batches.update_one(
        {"id": "batch_100"}, {"$set": {"training_metrics_info.latest_upload": newer}}
    )
    record_sync(db, timedelta(0))
    assert stats.summary(db).delivered == delivered_before
    assert "batch_100" not in batches.open_batch_ids(db, "Ana")
    assert "batch_100" not in {b.id for b in alerts.current_alerts(db).at_risk}


def test_starting_the_rework_of_a_sent_back_batch_delivers_nothing(db):
    """Sent back, then marked in progress by its holder to redo it: it stayed delivered on its
    old masks' day (the send-back stood only in `rework`), left her open batches and went back
    into the delivered KPI, before any new upload."""
    from segcore.work import assignments

    seed_pace(db)
    delivered_before = stats.summary(db).delivered
    review.review(db, ["batch_100"], accept=False, note="labels are wrong, redo them")
    result = assignments.start_batch(db, "batch_100", "rework", "test")
    assert result.updated == ["batch_100"]

    assert stats.summary(db).delivered == delivered_before - 1
    assert "batch_100" in batches.open_batch_ids(db, "Ana")
    row = batch_row(db.batches.find_one({"id": "batch_100"}))
    assert (row["status"], row["usable"], row["open"]) == ("in_progress", False, True)


def test_accepting_an_upload_dated_ahead_of_the_office_clock_takes_no_time_to_fix(db):
    """The uploader's clock was 3 days fast: accepting the batch now stores 0 hours, not -72,
    and a batch an earlier version stored with -72 hours reads as 0 too, so the Team page's
    Median time to fix is 0 days, never negative."""
    ahead = _delivered("batch_1", "Flor", utcnow() + timedelta(days=3))
    ahead["status"] = "review"
    stored_negative = _delivered("batch_2", "Flor", utcnow() - timedelta(days=1))
    stored_negative.update(status="done", review={"accepted_at": utcnow(), "hours_to_accept": -72})
    db.batches.insert_many([ahead, stored_negative])
    assert review.review(db, ["batch_1"], accept=True).moved == ["batch_1"]
    assert db.batches.find_one({"id": "batch_1"})["review"]["hours_to_accept"] == 0
    rows = list(read_all_rows(db).values())  # what the Team page's Review table reads
    assert {row["id"]: row["hours_to_accept"] for row in rows} == {"batch_1": 0, "batch_2": 0}
    [flor] = review.person_rework(rows, ["Flor"]).values()
    assert (flor["accepted"], flor["median_hours_to_accept"]) == (2, 0)
