"""Upload dates that cannot be shown in the office's zone (9999-12-31 23:00 UTC in Tokyo,
0001-01-01 00:30 in Mexico City, the calendar's very ends) are unusable: named and counted
like other bad uploads by every sync path, and nothing derived from them overflows."""

import dataclasses
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from bson import ObjectId
from gridfs import GridFS

from segcore.core.timefmt import office_time, to_office, usable_date
from segcore.report import progress
from segcore.report.alerts import current_alerts, pace_rows
from segcore.report.pace_report import weekly_report
from segcore.store.connection import open_databases
from segcore.sync import upload_stats
from segcore.sync.sync import run_sync
from segcore.uploads.uploads import recent_uploads, upload_from_document
from segcore.views import batch_table
from segcore.work.batches import BatchQuery

ZONES = [
    "Asia/Tokyo",
    "America/Mexico_City",
    "Pacific/Kiritimati",
    "Etc/GMT+12",
    "UTC",
    "Asia/Manila",
]
EXTREMES = [
    datetime(9999, 12, 31, 23),
    datetime(1, 1, 1, 0, 30),
    datetime.max,
    datetime.min,
    datetime(9999, 12, 31, 10),
    datetime(1, 1, 1, 13),
    datetime(9999, 12, 17),
    datetime(1, 1, 14, 23, 59),
]
FINE = [
    datetime(1, 1, 15),
    datetime(9999, 12, 16, 23, 59),
    datetime(1970, 1, 1),
    datetime(2025, 10, 1, 12),
]


@pytest.mark.parametrize("moment", EXTREMES)
def test_an_extreme_date_is_unusable_with_its_reason(moment):
    upload = upload_from_document(
        {"_id": ObjectId(), "filename": "batch_3.zip", "length": 5, "uploadDate": moment}
    )
    assert upload.problem.startswith("uploadDate ") and "time zone" in upload.problem
    assert upload.batches == () and upload.upload_date is None
    for zone in ZONES:
        assert to_office(moment, ZoneInfo(zone)) is None
        assert office_time(moment, ZoneInfo(zone)) == ""


@pytest.mark.parametrize("moment", FINE)
def test_every_other_date_is_usable_in_every_zone_a_week_either_way(moment):
    upload = upload_from_document({"_id": 1, "filename": "batch_3.zip", "uploadDate": moment})
    assert upload.problem is None and upload.batches == ("batch_3",)
    for zone in ZONES + [None]:
        local = to_office(moment, ZoneInfo(zone) if zone else None)
        assert local is not None
        local.date() + timedelta(weeks=1), local.date() - timedelta(weeks=1)  # no overflow


def test_aware_datetimes_follow_the_same_rule():
    tokyo = ZoneInfo("Asia/Tokyo")
    assert not usable_date(datetime(9999, 12, 31, 23, tzinfo=tokyo))
    assert not usable_date(datetime(1, 1, 1, 5, tzinfo=tokyo))
    assert usable_date(datetime(2025, 1, 1, tzinfo=timezone.utc))


# --- against the server ----------------------------------------------------------------------

BAD_DATES = {
    "batch_1_tokyo.zip": datetime(9999, 12, 31, 23),
    "batch_1_mexico.zip": datetime(1, 1, 1, 0, 30),
    "batch_1_max.zip": datetime.max.replace(microsecond=999000),
    "batch_1_min.zip": datetime.min,
}
NOW = datetime(2025, 10, 1, 12)


def _zoned(dbs, client, zone: str):
    settings = dataclasses.replace(dbs.settings, timezone=zone)
    return open_databases(settings, client=client)


def _insert_bad(databases):
    databases.masks_files.insert_many(
        [
            {
                "_id": ObjectId(),
                "filename": name,
                "length": 5,
                "uploadDate": when,
                "chunkSize": 1,
                "metadata": {"uploaded_by": "flor"},
            }
            for name, when in BAD_DATES.items()
        ]
    )


@pytest.fixture
def lab(dbs):
    dbs.work.batches.insert_many(
        [
            {
                "id": "batch_1",
                "number": 1,
                "assignee": "Flor",
                "status": "in_progress",
                "metadata": {"due_date": "9999-12-31"},
            },
            {
                "id": "batch_2",
                "number": 2,
                "assignee": "Flor",
                "status": "pending",
                "metadata": {"due_date": "0001-01-01"},
            },
            # A legacy batch the old dashboard left with an extreme date of its own.
            {
                "id": "batch_3",
                "number": 3,
                "assignee": "=HYPERLINK(1)",
                "mongo_uploaded": True,
                "training_metrics_info": {
                    "file_count": 1,
                    "latest_upload": datetime(9999, 12, 31, 23),
                    "first_upload": datetime(1, 1, 1, 0, 30),
                },
            },
        ]
    )
    dbs.work.segmentadores.insert_one(
        {"name": "Flor", "name_key": "flor", "created_at": "0001-01-01 00:00:00"}
    )
    GridFS(dbs.training, collection="masks").put(
        b"m", filename="batch_2.zip", metadata={"uploaded_by": "flor"}
    )
    return dbs


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Mexico_City"])
def test_every_sync_path_counts_them_and_goes_on(lab, client, zone):
    zoned = _zoned(lab, client, zone)
    _insert_bad(zoned)
    report = run_sync(zoned, full=True)
    assert report.unusable == len(BAD_DATES)
    assert {u.filename for u in report.unusable_uploads} == set(BAD_DATES)
    assert all("cannot be shown" in u.problem for u in report.unusable_uploads)
    assert lab.work.batches.find_one({"id": "batch_2"})["mongo_uploaded"] is True
    assert lab.work.batches.find_one({"id": "batch_1"})["mongo_uploaded"] is False
    # Arriving later, to a routine (change-stream) run.
    lab.masks_files.delete_many({"filename": {"$in": list(BAD_DATES)}})
    assert run_sync(zoned).unusable == 0
    _insert_bad(zoned)
    report = run_sync(zoned)
    assert not report.full and report.unusable == len(BAD_DATES)
    # And to the id comparison a standalone server gets.
    lab.work.app_meta.update_one({"_id": "sync"}, {"$set": {"token": None}})
    lab.masks_files.delete_one({"filename": "batch_1_min.zip"})
    report = run_sync(zoned)
    assert not report.full and report.unusable == len(BAD_DATES) - 1
    assert [u.upload_date for u in recent_uploads(zoned) if u.problem] == [None] * 3


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Mexico_City"])
def test_nothing_derived_from_them_overflows(lab, client, zone):
    zoned = _zoned(lab, client, zone)
    tz = ZoneInfo(zone)
    for _synced in (False, True):  # the legacy batch's own dates, then after a sync
        found = current_alerts(lab.work, now=NOW, tz=tz)
        assert {p.name for p in found.people} >= {"Flor"}
        assert "Flor" in weekly_report(pace_rows(lab.work), found)
        text = batch_table.export_csv(lab.work, BatchQuery(), tz)
        assert text.splitlines()[3].startswith("batch_3,") and text.splitlines()[3][-1] == ","
        rows = [batch_table.table_row(d, tz) for d in lab.work.batches.find()]
        assert [r["latest_upload"] for r in rows if r["id"] == "batch_3"] == [None]
        _insert_bad(zoned)
        run_sync(zoned, full=True)
    upload_stats.uploads_per_day(lab.work, NOW.date() - timedelta(days=3), NOW.date())
    burndown = progress.burndown(
        [{"status": "pending", "with_masks": False}] * 3
        + [{"status": "done", "with_masks": True, "latest_upload": datetime(9999, 12, 31, 23)}],
        NOW.date(),
        NOW.date(),
        NOW.date(),
    )
    assert burndown.pending_now >= 0


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Mexico_City"])
def test_the_command_line_names_them_and_its_reports_work(lab, run_cli, zone):
    _insert_bad(lab)
    env = {"TIMEZONE": zone}
    out = run_cli("sync", "--full", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["unusable"] == len(BAD_DATES)
    assert "batch_1_tokyo.zip" in run_cli("uploads", "--unusable", env=env).stdout
    for args in (
        ["alerts"],
        ["alerts", "--json"],
        ["report"],
        ["status"],
        ["uploads", "--recent", "10"],
        ["uploads", "--recent", "10", "--json"],
        ["sync"],
        ["history", "--json"],
    ):
        done = run_cli(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Mexico_City"])
def test_sync_now_and_every_page_show_them_as_unusable(lab, app_env, monkeypatch, zone):
    from tests.helpers import page

    monkeypatch.setenv("TIMEZONE", zone)
    _insert_bad(lab)
    at = page("sync").run()
    at.button(key="sync_now").click().run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Unusable records"] == "4"
    unusable = next(t.value for t in at.dataframe if "Problem" in t.value.columns)
    assert sorted(unusable["File"]) == sorted(BAD_DATES)
    assert all("cannot be shown" in p for p in unusable["Problem"])
    assert not at.error
    for name in ("dashboard", "batches", "team", "moves", "sync", "settings"):
        assert not page(name).run(timeout=60).exception, name


def test_the_live_sync_counts_them_and_goes_on(lab, cli_env, tmp_path):
    from tests.sync.test_live_sync import has_masks, wait_for, watcher

    log = tmp_path / "live.log"
    with watcher({**cli_env, "TIMEZONE": "Asia/Tokyo"}, log) as process:
        _insert_bad(lab)
        GridFS(lab.training, collection="masks").put(b"m", filename="batch_1_ok.zip")
        wait_for(lambda: has_masks(lab, "batch_1"), 300, "batch_1's masks")
        assert process.poll() is None, log.read_text()
    assert "Traceback" not in log.read_text()
    assert (
        "unusable upload batch_1_tokyo.zip: uploadDate 9999-12-31 23:00 cannot be shown"
        in log.read_text()
    )
    report = run_sync(_zoned(lab, lab.client, "Asia/Tokyo"))
    assert not report.full and report.unusable == len(BAD_DATES)


def test_usable_dates_far_from_today_still_show_on_every_page(lab, app_env, monkeypatch):
    """Usable but odd dates (year 2 and late 9999, beyond pandas' nanosecond range) reach the
    batches as their latest upload: every page still renders."""
    from tests.helpers import page

    monkeypatch.setenv("TIMEZONE", "Asia/Tokyo")
    lab.masks_files.insert_many(
        [
            {
                "_id": ObjectId(),
                "filename": "batch_1_late.zip",
                "length": 5,
                "chunkSize": 1,
                "uploadDate": datetime(9999, 12, 10),
                "metadata": {"uploaded_by": "flor"},
            },
            {
                "_id": ObjectId(),
                "filename": "batch_3_early.zip",
                "length": 5,
                "chunkSize": 1,
                "uploadDate": datetime(2, 1, 1),
                "metadata": {"uploaded_by": "flor"},
            },
        ]
    )
    assert run_sync(_zoned(lab, lab.client, "Asia/Tokyo"), full=True).unusable == 0
    for name in ("dashboard", "batches", "team", "moves", "sync", "settings"):
        at = page(name).run(timeout=60)
        assert not at.exception, (name, at.exception)
