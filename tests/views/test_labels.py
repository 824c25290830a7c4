"""Sizes and time zones as people read them, and the command line's wording of its figures."""

import json
from datetime import datetime

import pytest

from segcore.core.errors import ConfigError
from segcore.core.timefmt import office_time, office_zone
from segcore.settings.config import settings_from
from segcore.views.labels import human_size, run_kind


@pytest.mark.parametrize(
    "length,text",
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1.0 KB"),
        (12_800, "12.5 KB"),
        (3 * 1048576, "3.0 MB"),
        (150 * 1048576, "150 MB"),
        (int(1.3 * 1024**3), "1.3 GB"),
        (None, ""),
        (-5, ""),
        ("12", ""),
        (True, ""),
    ],
)
def test_human_size(length, text):
    assert human_size(length) == text


@pytest.mark.parametrize(
    "run,kind",
    [
        ({"full": False, "status": "ok"}, "Incremental"),
        ({"full": True, "full_reason": "requested", "status": "ok"}, "Full (requested)"),
        ({"full": True, "status": "ok"}, "Full"),
        ({"status": "running"}, ""),
    ],
)
def test_run_kind(run, kind):
    assert run_kind(run) == kind


def test_times_are_shown_in_the_office_zone():
    moment = datetime(2025, 7, 1, 18, 30)  # stored UTC
    assert office_time(moment, office_zone("America/Mexico_City")) == "2025-07-01 12:30"
    assert office_time(moment, office_zone("Europe/Madrid")) == "2025-07-01 20:30"
    assert office_time(None, office_zone("UTC")) == ""
    assert office_time("2025-07-01", office_zone("UTC")) == ""


@pytest.mark.parametrize("value", ["Mars/Olympus", "../etc/passwd", "America/"])
def test_a_bad_timezone_setting_names_the_setting(value):
    with pytest.raises(ConfigError, match="TIMEZONE"):
        settings_from({"TIMEZONE": value})


def test_timezone_setting_default_is_the_server_zone():
    assert settings_from({}).zone is None
    assert settings_from({"TIMEZONE": "America/Mexico_City"}).zone.key == "America/Mexico_City"
    assert settings_from({"MASKS_SET_STATUS": "off"}).masks_set_status is False


def test_cli_status_names_figures_for_masks_and_keeps_its_json_keys(run_cli, db):
    db.batches.insert_many(
        [
            {"id": "batch_1", "status": "pending", "mongo_uploaded": True},
            {"id": "batch_2", "status": "pending"},
        ]
    )
    text = run_cli("status").stdout
    assert "done" not in text and "pending" not in text
    assert "uploaded 1 (50.0%)" in text and "without masks 1" in text
    assert "delivered, usable 0 (0.0%)" in text  # uploaded, never checked: not delivered
    figures = json.loads(run_cli("status", "--json").stdout)
    assert figures["percent_done"] == figures["percent_with_masks"] == 50.0
    assert figures["pending"] == figures["without_masks"] == 1


def test_office_days_begin_at_the_office_midnight():
    from datetime import date

    from segcore.core.timefmt import office_midnight_utc
    from segcore.sync.index.index_entry import IndexEntry
    from segcore.sync.upload_stats import day_counts

    mexico = office_zone("America/Mexico_City")
    assert office_midnight_utc(date(2025, 10, 2), mexico) == datetime(2025, 10, 2, 6, 0)
    late = {
        1: (IndexEntry(1, "masks_batch_1.zip", "flor", datetime(2025, 10, 2, 3, 0), 3), ["batch_1"])
    }
    # the uploads-per-day chart's counts: 21:00 the evening before in the office
    assert list(day_counts(late, {}, zone=mexico)) == ["2025-10-01"]
    assert list(day_counts(late, {}, zone=office_zone("UTC"))) == ["2025-10-02"]
