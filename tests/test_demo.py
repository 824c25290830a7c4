"""Demo data: realistic, labelled, and never mixed with real data."""

import pytest

from segcore import demo
from segcore.report import stats
from segcore.core.errors import DemoRefused


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


def test_demo_refuses_a_database_with_real_data(dbs, tmp_path):
    dbs.work.segmentadores.insert_one({"name": "Real Person"})
    with pytest.raises(DemoRefused):
        demo.load_demo(dbs, tmp_path / "demo", count=20)
    assert dbs.work.batches.count_documents({}) == 0 and not demo.is_demo(dbs)
