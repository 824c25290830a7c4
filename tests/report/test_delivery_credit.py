"""A delivery stays with whoever held the batch when it was delivered: handing a finished
batch to someone else (for review, say) neither makes its deliverer look stalled nor gives the
new holder a delivery they did not make."""

from datetime import datetime, timedelta, timezone

from segcore.report import alerts
from segcore.report.pace import weekly_deliveries
from segcore.team import team
from segcore.views.batch_rows import batch_row
from segcore.work import assignments
from tests.pace_seed import LONG_AGO, _delivered, _open, record_sync


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
