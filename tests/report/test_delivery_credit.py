"""A delivery stays with whoever held the batch when it was delivered: handing a finished
batch to someone else (for review, say) neither makes its deliverer look stalled nor gives the
new holder a delivery they did not make."""

from datetime import datetime, timedelta, timezone

import pytest

from segcore.report import alerts, progress
from segcore.report.pace import pace_row, weekly_deliveries
from segcore.report.progress import progress_row
from segcore.team import team
from segcore.views.batch_rows import batch_row, read_all_rows
from segcore.work import assignments, review
from segcore.work.batches import UNASSIGNED
from segcore.work.delivery import credited_to, delivery_of
from tests.pace_seed import LONG_AGO, _delivered, _open, record_sync

WHEN = datetime(2026, 12, 4, 10)


def _seed(db):
    for name in ("Flor", "Ceci"):
        team.add_member(db, name, author="test")
    db.segmentadores.update_many({}, {"$set": {"created_at": LONG_AGO}})
    yesterday = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=1)
    db.batches.insert_many(
        [
            _delivered("batch_1", "Flor", yesterday),
            _open("batch_2", "Flor", None),
            _open("batch_3", "Ceci", None),
        ]
    )
    record_sync(db, timedelta(minutes=5))
    return yesterday


def _people(db):
    return {p.name: p for p in alerts.current_alerts(db).people}


def test_a_delivered_batch_handed_on_stays_its_deliverers_delivery(db):
    _seed(db)
    assert [p.name for p in alerts.current_alerts(db).stalled] == ["Ceci"]

    assert assignments.assign(db, ["batch_1"], "Ceci", "coord").updated == ["batch_1"]
    assignments.assign(db, ["batch_1"], None, "coord")  # and on: still Flor's

    found = alerts.current_alerts(db)
    assert [p.name for p in found.stalled] == ["Ceci"]
    people = _people(db)
    assert (people["Flor"].delivered_7, people["Ceci"].delivered_7) == (1, 0)
    assert people["Flor"].last_delivery is not None
    rows = alerts.pace_rows(db)
    weeks = weekly_deliveries(rows, ["Flor", "Ceci"], datetime.now().date())
    assert sum(w["deliveries"] for w in weeks if w["segmentador"] == "Flor") == 1
    assert sum(w["deliveries"] for w in weeks if w["segmentador"] == "Ceci") == 0
    doc = db.batches.find_one({"id": "batch_1"})
    assert batch_row(doc)["delivered_by"] == "Flor"


def test_a_batch_not_yet_delivered_goes_with_its_new_holder(db):
    _seed(db)
    assignments.assign(db, ["batch_2"], "Ceci", "coord")
    assert "delivered_by" not in db.batches.find_one({"id": "batch_2"})
    assert _people(db)["Ceci"].open == 2


def test_handed_over_for_review_every_figure_credits_the_deliverer(db):
    """Flor delivers batch_1, the coordinator hands it to Ceci for review: the Dashboard's
    Per segmentador chart, the Team page's Review table, the deliveries per week (filtered to
    either of them) and the pace all say Flor 1, Ceci 0."""
    _seed(db)
    assignments.assign(db, ["batch_1"], "Ceci", "coord")
    rows = list(read_all_rows(db).values())  # what the Dashboard and the Team page read
    people = {p["segmentador"]: p for p in progress.per_segmentador(rows, ["Flor", "Ceci"])}
    assert (people["Flor"]["delivered"], people["Ceci"]["delivered"]) == (1, 0)
    # each batch is drawn once, so the bars still add up to the KPIs
    bars = sum(
        p["delivered"] + p["uploaded_unusable"] + p["without_masks"] for p in people.values()
    )
    assert bars == progress.kpis(rows).total == 3
    assert people["Ceci"]["assigned"] == 2  # her workload still holds it
    review_table = review.person_rework(rows, ["Flor", "Ceci"])
    assert {p["name"]: p["delivered"] for p in review_table.values()} == {"Flor": 1, "Ceci": 0}
    today = datetime.now().date()
    for who, expected in (("Ceci", 0), ("Flor", 1)):  # the Dashboard filtered to each
        weeks = weekly_deliveries(rows, [who], today, only=who)
        assert {w["segmentador"] for w in weeks} == {who}
        assert sum(w["deliveries"] for w in weeks) == expected
        only = progress.per_segmentador(rows, ["Flor", "Ceci"], include_idle=False, only=who)
        assert [p["delivered"] for p in only] == [expected]
    # Ceci's filtered Dashboard explains the batch she holds and Flor's the one she delivered
    assert progress.handed_over(rows, "Ceci") == (1, 0)
    assert progress.handed_over(rows, "Flor") == (0, 1)
    assert (_people(db)["Flor"].delivered_7, _people(db)["Ceci"].delivered_7) == (1, 0)


def test_a_batch_delivered_while_unassigned_stays_nobodys_when_handed_out(db):
    """Masks sent before the batch was handed out: the new holder gets no delivery for it."""
    _seed(db)
    yesterday = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=1)
    db.batches.insert_one({**_delivered("batch_9", "Flor", yesterday), "assignee": None})
    assignments.assign(db, ["batch_9"], "Ceci", "coord")
    row = batch_row(db.batches.find_one({"id": "batch_9"}))
    assert (row["assignee"], row["delivered_by"]) == ("Ceci", None)
    assert _people(db)["Ceci"].delivered_7 == 0
    weeks = weekly_deliveries([row], ["Ceci"], datetime.now().date())
    assert sum(w["deliveries"] for w in weeks if w["segmentador"] == UNASSIGNED) == 1
    assert sum(w["deliveries"] for w in weeks if w["segmentador"] == "Ceci") == 0


@pytest.mark.parametrize(
    "noted, expected",
    [
        (None, "Ceci"),  # older than `delivered_by`: the holder's, as it was counted then
        ({"name": "Flor", "at": WHEN}, "Flor"),
        ({"name": None, "at": WHEN}, None),  # delivered while nobody held it
        ({"name": "Flor", "at": WHEN - timedelta(days=3)}, "Ceci"),  # a later delivery
    ],
)
def test_who_delivered_is_one_rule_with_the_holder_as_fallback(noted, expected):
    doc = {**_delivered("batch_1", "Ceci", WHEN), **({"delivered_by": noted} if noted else {})}
    usable, moment = delivery_of(doc)
    assert credited_to(doc, "Ceci", usable, moment) == expected
    assert batch_row(doc)["delivered_by"] == pace_row(doc)["delivered_by"] == expected
    assert progress_row(doc)["delivered_by"] == expected
