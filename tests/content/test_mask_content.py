"""Mask content checks end to end: real images and masks with planted defects, packed by zip and
GNU tar, uploaded to GridFS, checked, stored and reported."""

import json
import os
from dataclasses import replace
from datetime import datetime

import pytest

from segcore.content.mask_content import describe
from segcore.content.mask_content_check import check_content, content_summary, has_content_problem
from segcore.masks.mask_check import verify
from segcore.store.connection import open_databases
from segcore.store.schema import MASK_CONTENT
from tests.masks_content_files import build_batch, pack


@pytest.fixture
def lab(dbs, client, tmp_path):
    data = tmp_path / "data"
    settings = replace(
        dbs.settings, data_directory=data, mask_labels=(0.0, 1.0, 2.0), mask_min_pixels=10
    )
    databases = open_databases(settings, client=client)
    wrong = build_batch(data / "batch_1", tmp_path / "masks")
    dbs.work.batches.insert_one(
        {"id": "batch_1", "folder": str(data / "batch_1"), "status": "pending"}
    )
    databases.wrong = wrong
    databases.masks = tmp_path / "masks"
    return databases


def words(row) -> list[str]:
    return [describe(o) for o in row["offenders"]]


def assert_every_defect_named(row, wrong: dict) -> None:
    said = words(row)
    for name, expected in wrong.items():
        assert any(line.startswith(expected) for line in said), (name, said)
    offenders = {o["name"] for o in row["offenders"]}
    assert offenders == set(wrong), said  # the right masks are not blamed
    counts = row["counts"]
    assert counts["wrong_size"] == 4  # 2D size, NIfTI spacing, NRRD origin, MHA direction
    assert counts["empty"] == 2 and counts["bad_labels"] == 1 and counts["unreadable"] == 1
    assert counts["too_small"] == 1
    assert row["checked"] == 13


@pytest.mark.parametrize(
    "tool, filename", [("zip", "batch_1_masks.zip"), ("tar", "masks_batch_1.tar.xz")]
)
def test_every_planted_defect_is_named(lab, upload, tmp_path, tool, filename):
    upload_id = upload(filename, pack(lab.masks, tmp_path / filename, tool), chunk_size=4096)
    verify(lab, ["batch_1"])
    report = check_content(lab, ["batch_1"])
    assert report.checked_uploads == 1
    assert_every_defect_named(report.by_batch()["batch_1"], lab.wrong)
    summary = content_summary(lab.work, upload_id)
    assert has_content_problem(summary) and summary["problems"] == len(lab.wrong)
    # stored per upload and never recomputed unless asked
    assert check_content(lab, ["batch_1"]).checked_uploads == 0
    assert check_content(lab, ["batch_1"], recheck=True).checked_uploads == 1


def test_a_zip_member_costs_only_its_own_chunks(lab, upload, tmp_path, client):
    data = pack(lab.masks, tmp_path / "b.zip", "zip")
    filler = tmp_path / "filler"
    filler.mkdir()
    (filler / "notes.bin").write_bytes(__import__("os").urandom(2_000_000))
    import subprocess

    subprocess.run(
        ["zip", "-q", "-0", str(tmp_path / "b.zip"), "notes.bin"], cwd=filler, check=True
    )
    data = (tmp_path / "b.zip").read_bytes()
    upload("batch_1_masks.zip", data, chunk_size=65536)
    verify(lab, ["batch_1"])
    report = check_content(lab, ["batch_1"])
    assert report.bytes_read < len(data) / 3  # the 2 MB member that is no mask is never read


def test_budget_and_voxel_limit(lab, upload, tmp_path, client):
    small = open_databases(
        replace(lab.settings, mask_qc_budget_mb=1, mask_qc_max_voxels=1000), client=client
    )
    # 2 MB of data that is no mask, after img_030 and before img_041 in the archive
    (lab.masks / "img_040_notes.bin").write_bytes(os.urandom(2_000_000))
    upload("masks_batch_1.tar.xz", pack(lab.masks, tmp_path / "m.tar.xz", "tar"))
    verify(small, ["batch_1"])
    row = check_content(small, ["batch_1"]).by_batch()["batch_1"]
    header_only = [o for o in row["offenders"] if o["code"] == "header_only"]
    assert header_only and row["header_only"] == len(header_only)
    # the 512×512 masks (262,144 pixels) are over 1,000 voxels: checked by header only, and the
    # wrong size is still found from the header
    assert any(describe(o) == "img_012_mask.png: 512×513, image 512×512" for o in row["offenders"])
    assert [n["code"] for n in row["notes"]] == ["too_large"]
    # what was checked before the budget ran out stands; nothing after it was read
    named = {o["name"] for o in row["offenders"]}
    assert {"img_012_mask.png", "img_030_mask.png"} <= named
    assert not named & {"img_041_mask.png", "vol_02_mask.mha", "img_050_mask.png"}


def test_cli_json_and_english_words(lab, upload, tmp_path, run_cli):
    upload("batch_1_masks.zip", pack(lab.masks, tmp_path / "c.zip", "zip"))
    env = {
        "DATA_DIRECTORY": str(lab.settings.data_directory),
        "MASK_LABELS": "0,1,2",
        "MASK_MIN_PIXELS": "10",
    }
    done = run_cli("verify", "--content", "batch_1", "--json", env=env)
    assert done.returncode == 0, done.stderr
    content = json.loads(done.stdout)["batches"][0]["content"]
    assert {
        k: content[k] for k in ("checked", "wrong_size", "empty", "bad_labels", "unreadable")
    } == {"checked": 13, "wrong_size": 4, "empty": 2, "bad_labels": 1, "unreadable": 1}
    assert {o["name"] for o in content["offenders"]} == set(lab.wrong)
    text = run_cli("verify", "--content", "batch_1", env=env)
    assert "img_041_mask.png: label 3 not in 0,1,2" in text.stdout
    assert lab.work[MASK_CONTENT].count_documents({}) == 1
    bad = run_cli("verify", "--content", "batch_1", env={**env, "MASK_LABELS": "0,x"})
    assert bad.returncode != 0 and "MASK_LABELS" in bad.stderr


def test_verify_content_skips_an_upload_another_tool_gave_a_document_as_id(
    lab, upload, tmp_path, run_cli
):
    """One odd file document (a document as `_id`) must not stop the content check of the
    others: it is skipped as unusable with the sync's reason, as `verify` and the sync do."""
    upload("batch_1_masks.zip", pack(lab.masks, tmp_path / "e.zip", "zip"))
    lab.masks_files.insert_one(
        {
            "_id": {"tool": "x", "n": 1},
            "filename": "batch_1.zip",
            "uploadDate": datetime(2025, 10, 1),
            "length": 10,
            "chunkSize": 255,
        }
    )
    verify(lab, ["batch_1"])
    report = check_content(lab)
    assert report.checked_uploads == 1
    assert report.unusable_count == 1
    assert report.unusable == [{"filename": "batch_1.zip", "problem": "_id is not an id (dict)"}]
    env = {"DATA_DIRECTORY": str(lab.settings.data_directory), "MASK_LABELS": "0,1,2"}
    done = run_cli("verify", "--content", "--recheck", env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "1 upload content-checked" in done.stdout and "1 unusable upload skipped" in done.stdout
    assert "_id is not an id (dict)" in done.stderr
    as_json = json.loads(run_cli("verify", "--content", "--json", env=env).stdout)
    assert as_json["content_unusable_uploads"] == 1


def test_sync_verify_content_checks_new_uploads(lab, upload, tmp_path, run_cli):
    upload("masks_batch_1.tar.xz", pack(lab.masks, tmp_path / "d.tar.xz", "tar"))
    env = {"DATA_DIRECTORY": str(lab.settings.data_directory), "MASK_LABELS": "0,1,2"}
    done = run_cli("sync", "--verify", "--content", "--json", env=env)
    assert done.returncode == 0, done.stderr
    batch = json.loads(done.stdout)["verify"]["batches"][0]
    assert batch["content"]["empty"] == 2 and batch["content"]["bad_labels"] == 1


def test_the_live_sync_checks_a_new_upload_right_after_applying_it(lab, upload, tmp_path, cli_env):
    """`sync --watch` as its own process: a new upload of a batch whose images are listed gets
    its content result without any other command."""
    import signal
    import subprocess
    import sys
    import time

    from tests.helpers import ROOT

    verify(lab, ["batch_1"])  # lists the batch's images
    env = {
        **cli_env,
        "DATA_DIRECTORY": str(lab.settings.data_directory),
        "MASK_LABELS": "0,1,2",
        "MASK_MIN_PIXELS": "10",
    }
    log = tmp_path / "live.log"
    with open(log, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "segcore", "sync", "--watch"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while "waiting for uploads" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
        upload_id = upload("masks_batch_1.tar.xz", pack(lab.masks, tmp_path / "l.tar.xz", "tar"))
        landed = time.monotonic()
        while content_summary(lab.work, upload_id) is None:
            assert time.monotonic() - landed < 30, log.read_text()
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    summary = content_summary(lab.work, upload_id)
    assert {o["name"] for o in summary["offenders"]} == set(lab.wrong)
    batch = lab.work.batches.find_one({"id": "batch_1"})["mask_content"]
    assert batch["counts"]["bad_labels"] == 1
    assert "content-checked 1 uploads" in log.read_text()


def test_the_live_sync_checks_an_upload_of_a_batch_never_listed_and_updates_its_receipt(
    lab, upload, tmp_path, cli_env
):
    """No `verify` before: the batch's images were never listed. The live sync still checks
    the new upload's contents within 30 s and its stored receipt says what is wrong, while
    the receipt itself came first."""
    import time

    from tests.sync.test_live_sync import wait_for, watcher

    env = {
        **cli_env,
        "DATA_DIRECTORY": str(lab.settings.data_directory),
        "MASK_LABELS": "0,1,2",
        "MASK_MIN_PIXELS": "10",
    }
    with watcher(env, tmp_path / "live.log"):
        upload_id = upload("masks_batch_1.tar.xz", pack(lab.masks, tmp_path / "n.tar.xz", "tar"))
        landed = time.monotonic()
        wait_for(lambda: lab.work.receipts.find_one({"_id": upload_id}), 30, "the receipt")
        wait_for(
            lambda: (lab.work.receipts.find_one({"_id": upload_id}) or {}).get("content"),
            30 - (time.monotonic() - landed),
            "the content result in the receipt",
        )
    receipt = lab.work.receipts.find_one({"_id": upload_id})
    assert receipt["problem"] == "content" and receipt["usable"] is False
    assert {o["name"] for o in receipt["content"]["offenders"]} == set(lab.wrong)
    assert_every_defect_named(receipt["content"], lab.wrong)


def test_a_content_problem_sends_the_batch_back_in_history(lab, upload, tmp_path):
    upload("batch_1_masks.zip", pack(lab.masks, tmp_path / "b.zip", "zip"))
    verify(lab, ["batch_1"])
    before = lab.work.batches.find_one({"id": "batch_1"})["status"]
    assert before in ("pending", "review")  # every image has a mask: nothing wrong yet
    report = check_content(lab, ["batch_1"])
    assert report.sent_back == ["batch_1"]
    doc = lab.work.batches.find_one({"id": "batch_1"})
    assert doc["status"] == "rework"
    assert doc["rework_reason"] == f"content: {len(lab.wrong)} masks with problems"
    entry = lab.work.history.find_one({"key": "batch_1", "new": "rework"})
    assert entry is not None and entry["old"] == before
    # a check again changes nothing more; an accepted batch is never sent back by a check
    lab.work.batches.update_one({"id": "batch_1"}, {"$set": {"status": "done"}})
    assert check_content(lab, ["batch_1"], recheck=True).sent_back == []
    assert lab.work.batches.find_one({"id": "batch_1"})["status"] == "done"


def test_content_problems_leave_statuses_alone_with_masks_set_status_off(
    lab, upload, tmp_path, client
):
    quiet = open_databases(replace(lab.settings, masks_set_status=False), client=client)
    upload("batch_1_masks.zip", pack(lab.masks, tmp_path / "b.zip", "zip"))
    verify(quiet, ["batch_1"])
    assert check_content(quiet, ["batch_1"]).sent_back == []
    assert lab.work.batches.find_one({"id": "batch_1"})["status"] == "pending"


def test_a_batch_the_live_content_check_sends_back_has_its_uploads_counted_under_rework(
    lab, upload, tmp_path, cli_env
):
    """The live sync moves the upload's batch to review, then its content check sends it back:
    the uploads per day (the Dashboard's chart filtered by status) must follow to rework. The
    check's move counted as the sync's own write, so the watcher never learnt of it and the
    chart showed the upload under review until a full sync."""
    from tests.sync.test_live_sync import wait_for, watcher
    from tests.sync.test_upload_stats import charted

    lab.work.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Flor"}})
    env = {
        **cli_env,
        "DATA_DIRECTORY": str(lab.settings.data_directory),
        "MASK_LABELS": "0,1,2",
        "MASK_MIN_PIXELS": "10",
    }
    with watcher(env, tmp_path / "live.log"):
        upload("masks_batch_1.tar.xz", pack(lab.masks, tmp_path / "n.tar.xz", "tar"))
        wait_for(
            lambda: lab.work.batches.find_one({"id": "batch_1"})["status"] == "rework",
            60,
            "the content check sending batch_1 back",
        )
        wait_for(
            lambda: (
                (charted(lab.work, "Flor", "rework"), charted(lab.work, "Flor", "review")) == (1, 0)
            ),
            30,
            "the upload counted under rework",
        )
