"""A team with a pace to measure, relative to the real clock (the command line and the pages
cannot be given a fixed one): Ana steady, Bea fast and free, Cai stalled, Zoe gone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from segcore.core.timefmt import utcnow
from segcore.sync.records.sync_runs import SyncReport, finish_run, start_run
from segcore.team import team

LONG_AGO = "2025-01-07 12:00:00"


def _delivered(batch_id: str, assignee: str, when: datetime) -> dict:
    return {
        "id": batch_id,
        "assignee": assignee,
        "status": "pending",
        "mongo_uploaded": True,
        "training_metrics_info": {
            "file_count": 1,
            "first_upload": when,
            "latest_upload": when,
            "files": [f"{batch_id}.zip"],
        },
        "mask_check": {
            "state": "complete",
            "images": 2,
            "missing_count": 0,
            "usable": True,
            "usable_since": when,
        },
    }


def _open(batch_id: str, assignee: str, due: date | None, priority: str = "media") -> dict:
    meta = {"priority": priority}
    if due is not None:
        meta["due_date"] = due.isoformat()
    return {
        "id": batch_id,
        "assignee": assignee,
        "status": "pending",
        "mongo_uploaded": False,
        "metadata": meta,
    }


def record_sync(db, ago: timedelta) -> None:
    """Record a successful sync run that finished `ago` before now, as `run_sync` records one
    (the alerts rest on the last sync; a real sync here would clear the seeded masks)."""
    report = SyncReport(mode="manual", started_at=utcnow() - ago)
    report.finished_at = report.started_at
    finish_run(db, start_run(db, report, "test"), report)


def seed_pace(db, synced_ago: timedelta | None = timedelta(minutes=5)) -> dict:
    """Insert the scenario, with a sync `synced_ago` (None: no sync has run yet); returns the
    ids worth asserting on."""
    for name in ("Ana", "Bea", "Cai"):
        team.add_member(db, name, author="test")
    db.segmentadores.update_many({}, {"$set": {"created_at": LONG_AGO}})
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    today = now.date()
    docs = [
        _delivered(f"batch_{100 + n}", "Ana", now - timedelta(days=d))
        for n, d in enumerate([1, 2, 3, 4, 5, 8, 9, 10, 11, 12])
    ]
    docs += [_delivered(f"batch_{200 + n}", "Bea", now - timedelta(days=1)) for n in range(20)]
    docs.append(_delivered("batch_300", "Cai", now - timedelta(days=20)))
    docs += [
        _open("batch_1", "Ana", today - timedelta(days=3), "alta"),
        _open("batch_2", "Ana", None),
        _open("batch_3", "Ana", None),
        _open("batch_4", "Ana", None),
        _open("batch_5", "Cai", today - timedelta(days=2)),
        _open("batch_6", "Cai", None),
        _open("batch_7", "Zoe", None),
        {"id": "batch_8", "status": "pending"},
    ]  # unassigned, legacy: no metadata
    for _n, doc in enumerate(docs):
        doc["number"] = int(doc["id"].split("_")[1])
    db.batches.insert_many(docs)
    if synced_ago is not None:
        record_sync(db, synced_ago)
    return {
        "stalled": ["Cai"],
        "at_risk": {"batch_1", "batch_5", "batch_7"},
        "moves": {"batch_1": "Bea", "batch_5": "Bea", "batch_7": "Bea"},
    }
