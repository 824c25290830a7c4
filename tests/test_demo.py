"""Demo data: realistic, labelled, and never mixed with real data."""

import pytest

from segcore import demo
from segcore.core.errors import DemoRefused
from segcore.report import stats


def test_demo_is_realistic_and_labelled(dbs, tmp_path):
    assert demo.can_load_demo(dbs) and not demo.is_demo(dbs)
    summary = demo.load_demo(dbs, tmp_path / "demo", count=60)
    assert demo.is_demo(dbs) and demo.demo_directory(dbs) == (tmp_path / "demo").resolve()
    counts = stats.summary(dbs.work)
    assert counts.total == 60 and counts.assigned == 45
    files = list(dbs.masks_files.find({}, {"filename": 1, "metadata": 1, "uploadDate": 1}))
    assert len(files) == summary["uploads"] > 20
    names = {f["filename"] for f in files}
    assert {"batch_12_to_batch_15.zip", "final_masks.zip", "batch_9999_masks.zip"} <= names
    assert any(f.get("metadata") is None for f in files)
    assert len({f["uploadDate"].date() for f in files}) > 5
    assert dbs.training["masks.chunks"].count_documents({}) >= len(files)
    assert len(list((tmp_path / "demo" / "batch_1").glob("*.png"))) == 3
    assert dbs.work.batches.find_one({"id": "batch_2"})["status"] == "S"


def test_demo_is_synced_and_its_masks_checked_when_loaded(dbs, tmp_path):
    """Right after loading, the Dashboard has masks and "Check masks" has complete, incomplete
    and unreadable batches, from real archives."""
    summary = demo.load_demo(dbs, tmp_path / "demo", count=60)
    counts = stats.summary(dbs.work)
    assert counts.with_masks > 10 and dbs.work.sync_runs.count_documents({}) == 1
    assert set(summary["mask_states"]) == {"complete", "incomplete", "unreadable"}
    stored = [
        b["mask_check"]["state"] for b in dbs.work.batches.find({"mask_check": {"$exists": True}})
    ]
    assert {s: stored.count(s) for s in set(stored)} == summary["mask_states"]
    assert summary["mask_states"]["complete"] > summary["mask_states"]["incomplete"]
    for number in range(1, 25):
        stored = dbs.work.batches.find_one({"id": f"batch_{number}"})["mask_check"]
        expected = demo.demo_outcome(number)
        assert stored["state"] == expected, (number, stored)
        if expected == "incomplete":
            assert stored["missing"] == ["img_003.png"]
    reasons = {
        bad["reason"]
        for c in dbs.work.batches.find({"mask_check.state": "unreadable"})
        for bad in c["mask_check"]["unreadable"]
    }
    assert reasons and all(
        r == "part of a split archive" or r.startswith(("truncated", "not a")) for r in reasons
    )


def test_demo_refuses_a_database_with_real_data(dbs, tmp_path):
    dbs.work.segmentadores.insert_one({"name": "Real Person"})
    with pytest.raises(DemoRefused):
        demo.load_demo(dbs, tmp_path / "demo", count=20)
    assert dbs.work.batches.count_documents({}) == 0 and not demo.is_demo(dbs)


def test_the_dashboard_shows_masks_right_after_the_demo_loads(app_env, tmp_path):
    """No Sync press needed: the figures, the charts and the complete masks are there."""
    from tests.helpers import charts, page

    demo.load_demo(app_env, tmp_path / "demo", author="test", count=60)
    at = page("dashboard").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Uploaded"]) > 10 and int(metrics["Delivered, usable"]) > 10
    pie = charts(at)["chart_done"]
    assert sum(pie["data"][0]["values"]) == 60


def test_the_demos_masks_pass_a_content_check_and_stay_delivered(dbs, tmp_path):
    """The demo's images and masks are PNGs Pillow opens: "Check mask contents" on the demo
    finds nothing wrong and takes no delivery away."""
    from segcore.content.mask_content_check import check_content

    demo.load_demo(dbs, tmp_path / "demo", count=60)
    before = stats.summary(dbs.work)
    report = check_content(dbs, author="test")
    assert report.checked_uploads > 10
    assert [r["id"] for r in report.batches if r["problems"]] == []
    assert report.sent_back == []
    after = stats.summary(dbs.work)
    assert before.delivered > 10 and after == before
