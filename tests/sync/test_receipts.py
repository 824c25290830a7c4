"""Receipts and usable deliveries end to end: archives made by GNU tar and Info-ZIP from real
medical files, stored in GridFS, seen by a sync; statuses, receipts and every figure checked."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from bson import ObjectId

from segcore.core.actors import VIEWER, Actor
from segcore.core.errors import PermissionDenied, ValidationError
from segcore.masks import mask_check, receipts
from segcore.store import marked_writes
from segcore.store.connection import open_databases
from segcore.store.history import list_history
from segcore.sync import sync
from segcore.views.batch_rows import read_all_rows
from segcore.work import assignments, review
from segcore.work.batches import Edit
from segcore.work.delivery import is_usable_check
from tests.receipt_seed import DICOMS, masks, real_archive
from tests.sync.test_live_sync import wait_for, watcher


@pytest.fixture
def lab(dbs, client, tmp_path):
    """Databases with DATA_DIRECTORY, and a batch maker whose folders hold real DICOM files."""
    data = tmp_path / "data"
    data.mkdir()
    databases = open_databases(replace(dbs.settings, data_directory=data), client=client)

    def batch(number: int, count: int, status: str = "pending", assignee: str = "Flor"):
        folder = data / f"batch_{number}"
        folder.mkdir()
        for n in range(1, count + 1):
            shutil.copyfile(DICOMS[n % len(DICOMS)], folder / f"img_{n:03d}.dcm")
        dbs.work.batches.insert_one(
            {
                "id": f"batch_{number}",
                "number": number,
                "status": status,
                "folder": str(folder),
                "assignee": assignee,
            }
        )

    databases.batch = batch
    return databases


def status_of(dbs, batch_id: str) -> str:
    return dbs.work.batches.find_one({"id": batch_id})["status"]


def test_a_sync_gives_every_upload_a_receipt_and_only_usable_batches_count(
    lab, upload, dbs, tmp_path
):
    for number in (1, 2, 3, 4):
        lab.batch(number, 4)
    upload("batch_1_masks.tar.gz", real_archive(tmp_path, "tar", masks(4), "a.tgz"))
    truncated = real_archive(tmp_path, "tar", masks(4), "b.tgz")
    upload("batch_2_masks.tar.gz", truncated[: len(truncated) // 2])
    corrupt = bytearray(real_archive(tmp_path, "zip", masks(4), "c.zip"))
    corrupt[-22:] = b"\0" * 22  # the end of central directory record gone
    upload("batch_3.zip", bytes(corrupt))
    upload("batch_4.zip", real_archive(tmp_path, "zip", masks(4, skip=(2,)), "d.zip"))
    sync.run_sync(lab)

    got = {r["batches"][0]: r for r in receipts.list_receipts(dbs.work)}
    assert set(got) == {"batch_1", "batch_2", "batch_3", "batch_4"}
    assert got["batch_1"]["problem"] is None and got["batch_1"]["matched"] == 4
    assert got["batch_2"]["problem"] == "unreadable" and not got["batch_2"]["readable"]
    assert got["batch_3"]["problem"] == "unreadable"
    assert got["batch_4"]["problem"] == "incomplete"
    assert (
        got["batch_4"]["missing"] == ["img_002.dcm"]
        and got["batch_4"]["parts"][0]["missing_count"] == 1
    )
    assert got["batch_1"]["content"] is None

    assert status_of(dbs, "batch_1") == "review"
    for batch_id in ("batch_2", "batch_3", "batch_4"):
        assert status_of(dbs, batch_id) == "rework"
        doc = dbs.work.batches.find_one({"id": batch_id})
        assert doc["rework_reason"].startswith(("unreadable", "incomplete"))
        [entry] = [h for h in list_history(dbs.work, batch_id) if h["field"] == "status"]
        assert entry["new"] == "rework" and entry["reason"] == doc["rework_reason"]
    rows = read_all_rows(dbs.work)
    assert [r["id"] for r in rows.values() if r["usable"]] == ["batch_1"]
    assert all(r["with_masks"] for r in rows.values())
    assert {r["id"] for r in rows.values() if r["open"]} == {"batch_2", "batch_3", "batch_4"}

    # a complete re-upload moves the rework batch to review and makes it usable
    upload("batch_4_fix.zip", real_archive(tmp_path, "zip", ["img_002_mask.dcm"], "e.zip"))
    sync.run_sync(lab)
    assert status_of(dbs, "batch_4") == "review"
    assert is_usable_check(dbs.work.batches.find_one({"id": "batch_4"})["mask_check"])
    assert "rework_reason" not in dbs.work.batches.find_one({"id": "batch_4"})
    newest = receipts.list_receipts(dbs.work, ["batch_4"])
    assert [r["filename"] for r in newest] == ["batch_4_fix.zip", "batch_4.zip"]
    assert newest[0]["problem"] is None and newest[0]["usable"]


def test_masks_set_status_off_leaves_statuses_but_still_makes_receipts(
    lab, upload, dbs, tmp_path, client
):
    lab.batch(1, 2)
    lab.batch(2, 2, status="in_progress")
    upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    upload("batch_2.zip", b"PK\x03\x04 not really a zip")
    off = open_databases(replace(lab.settings, masks_set_status=False), client=client)
    sync.run_sync(off)
    assert status_of(dbs, "batch_1") == "pending" and status_of(dbs, "batch_2") == "in_progress"
    assert len(receipts.list_receipts(dbs.work)) == 2
    assert [r["filename"] for r in receipts.list_receipts(dbs.work, problem="unreadable")] == [
        "batch_2.zip"
    ]


def test_receipts_without_images_say_so_and_never_count_as_delivered(dbs, upload, tmp_path):
    dbs.work.batches.insert_one(
        {"id": "batch_7", "number": 7, "status": "pending", "assignee": "Ceci"}
    )
    upload("batch_7.zip", real_archive(tmp_path, "zip", masks(3), "a.zip"), uploaded_by="ceci")
    sync.run_sync(dbs)
    [receipt] = receipts.list_receipts(dbs.work, person="ceci")
    assert receipt["problem"] == "unknown" and receipt["masks"] == 3
    assert status_of(dbs, "batch_7") == "review"  # readable, a person must look
    assert not read_all_rows(dbs.work)["batch_7"]["usable"]


def test_command_line_receipts_review_and_status(lab, upload, dbs, tmp_path, run_cli):
    lab.batch(1, 2)
    lab.batch(2, 2)
    upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    truncated = real_archive(tmp_path, "tar", masks(2), "b.tgz")
    upload("batch_2.tar.gz", truncated[:-200])
    sync.run_sync(lab)

    status = json.loads(run_cli("status", "--json").stdout)
    assert status["uploaded"] == 2 and status["with_masks"] == 2
    assert status["delivered"] == 1  # the corrupt upload is not a delivery
    listed = json.loads(run_cli("receipts", "batch_2", "--json").stdout)
    assert [(r["filename"], r["problem"]) for r in listed] == [("batch_2.tar.gz", "unreadable")]
    text = run_cli("receipts", "--problem", "unreadable").stdout
    assert "batch_2.tar.gz" in text and "batch_1.zip" not in text

    sent = run_cli("review", "batch_1", "--rework", "masks cut off at the edge")
    assert sent.returncode == 0 and "sent back: batch_1" in sent.stdout
    assert status_of(dbs, "batch_1") == "rework"
    doc = dbs.work.batches.find_one({"id": "batch_1"})
    assert doc["review"]["sent_back"] == 1 and doc["rework_reason"] == "masks cut off at the edge"
    accepted = run_cli("review", "batch_1", "--accept")
    assert accepted.returncode == 0 and status_of(dbs, "batch_1") == "done"
    doc = dbs.work.batches.find_one({"id": "batch_1"})
    assert doc["review"]["sent_back"] == 1 and doc["review"]["hours_to_accept"] >= 0
    moves = {
        (h["old"], h["new"]) for h in list_history(dbs.work, "batch_1") if h["field"] == "status"
    }  # same second: their order is not kept
    assert {("review", "rework"), ("rework", "done")} <= moves
    refused = run_cli("review", "batch_1", "--rework", "again")  # done: edited in the table
    assert refused.returncode == 1 and status_of(dbs, "batch_1") == "done"
    assert run_cli("review", "batch_2", "--accept", "--rework", "x").returncode != 0
    people = review.person_rework(list(read_all_rows(dbs.work).values()))
    assert people["flor"]["sent_back"] == 1 and people["flor"]["acceptance"] == 0.5


def test_command_line_receipts_show_office_time_and_a_dash_for_unknown_counts(
    dbs, upload, tmp_path, run_cli
):
    dbs.work.batches.insert_one({"id": "batch_7", "number": 7, "status": "pending"})
    upload("batch_7.zip", real_archive(tmp_path, "zip", masks(3), "a.zip"))
    late = datetime(2026, 12, 5, 23, 30)  # UTC: the next day in Madrid
    dbs.training[f"{dbs.settings.masks_bucket}.files"].update_many(
        {}, {"$set": {"uploadDate": late}}
    )
    sync.run_sync(dbs)

    text = run_cli("receipts", env={"TIMEZONE": "Europe/Madrid"}).stdout
    assert "2026-12-06 00:30" in text, text  # as `segcore uploads` and the pages show it
    assert "None" not in text and "matched -, missing -, extra -" in text, text


@pytest.mark.parametrize(
    "stored, shown, in_json",
    [
        ([7], "7", [7]),
        ([ObjectId("65a1b2c3d4e5f60718293a4b")], "65a1b2c3d4e5f60718293a4b",
         ["65a1b2c3d4e5f60718293a4b"]),
        ("batch_7", "batch_7", "batch_7"),
        (["batch_7", 8], "batch_7, 8", ["batch_7", 8]),
    ],
)  # fmt: skip
def test_command_line_receipts_show_batches_another_tool_stored_as_it_stored_them(
    dbs, upload, tmp_path, run_cli, stored, shown, in_json
):
    """A receipt whose `batches` another tool or an older version left as a number, an
    ObjectId or one text: `segcore receipts` lists it as the Receipts page does (never a
    TypeError, never `b, a, t, c, h, _, 7`), with the other receipts; --json keeps it."""
    dbs.work.batches.insert_one({"id": "batch_7", "number": 7, "status": "pending"})
    upload("batch_7.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    sync.run_sync(dbs)
    odd = dbs.work.receipts.find_one({"filename": "batch_7.zip"}) | {"_id": "odd"}
    dbs.work.receipts.insert_one(odd | {"batches": stored, "filename": "odd.zip"})

    text = run_cli("receipts")
    assert text.returncode == 0 and "Traceback" not in text.stderr, text.stderr
    lines = text.stdout.splitlines()
    assert any("odd.zip" in line and f" {shown} " in line for line in lines), text.stdout
    assert any("batch_7.zip" in line for line in lines) and "b, a, t, c, h" not in text.stdout
    listed = json.loads(run_cli("receipts", "--json").stdout)
    assert [r["batches"] for r in listed if r["filename"] == "odd.zip"] == [in_json]


def test_a_full_read_that_finds_uploads_gone_checks_their_batches_again(lab, upload, dbs, tmp_path):
    """Uploads gone without a change stream saying so (here the collection dropped on purpose,
    then a full rescan): no batch stays delivered by them."""
    lab.batch(1, 2)
    lab.batch(2, 2)
    upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    upload("batch_2.zip", real_archive(tmp_path, "zip", masks(2), "b.zip"))
    sync.run_sync(lab)
    assert read_all_rows(dbs.work)["batch_1"]["usable"]
    dbs.masks_files.drop()
    sync.run_sync(lab, full=True)
    rows = read_all_rows(dbs.work)
    assert not rows["batch_1"]["usable"] and not rows["batch_2"]["usable"]
    assert not rows["batch_1"]["with_masks"]


@pytest.mark.parametrize("sync_between", [True, False])
def test_a_receipt_judges_the_batch_as_it_stood_when_the_upload_came_in(
    lab, upload, dbs, tmp_path, sync_between
):
    """A first part missing a mask, then its fix a day later: the part is incomplete whether
    or not a sync ran between them (one run seeing both made it "usable")."""
    lab.batch(1, 3)
    files = dbs.training[f"{dbs.settings.masks_bucket}.files"]
    day = datetime(2026, 12, 1, 10)
    part = upload("batch_1_part1.zip", real_archive(tmp_path, "zip", masks(3, skip=(1,)), "p.zip"))
    files.update_one({"_id": part}, {"$set": {"uploadDate": day}})
    if sync_between:
        sync.run_sync(lab)
    fix = upload("batch_1_fix.zip", real_archive(tmp_path, "zip", masks(3), "f.zip"))
    files.update_one({"_id": fix}, {"$set": {"uploadDate": day + timedelta(days=1)}})
    sync.run_sync(lab)
    found = {r["filename"]: r for r in receipts.list_receipts(dbs.work, ["batch_1"])}
    first, second = found["batch_1_part1.zip"], found["batch_1_fix.zip"]
    assert (first["problem"], first["usable"]) == ("incomplete", False)
    assert "1 of 3 images without a mask" in str(first["reason"])
    assert (second["problem"], second["usable"]) == (None, True)
    assert read_all_rows(dbs.work)["batch_1"]["usable"]
    # told about only when a run saw the part before its fix: then it was news
    assert ("notify_due" in first) is sync_between


def test_a_deleted_uploads_receipt_says_so_and_no_longer_counts(
    lab, upload, dbs, tmp_path, run_cli
):
    import gridfs

    from segcore.cli.receipts import PROBLEM_CHOICES
    from segcore.views.my_work import my_receipts

    lab.batch(1, 2)
    gone = upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    sync.run_sync(lab)
    gridfs.GridFSBucket(dbs.training, bucket_name=dbs.settings.masks_bucket).delete(gone)
    sync.run_sync(lab)
    [receipt] = receipts.list_receipts(dbs.work, ["batch_1"])
    assert (receipt["problem"], receipt["usable"]) == ("removed", False)
    assert "the upload was deleted on" in str(receipt["reason"]) and receipt["masks"] == 2
    assert not read_all_rows(dbs.work)["batch_1"]["usable"]
    text = run_cli("receipts", "--problem", "removed").stdout
    assert "batch_1.zip" in text and "removed: the upload was deleted on" in text, text
    assert "batch_1" not in my_receipts(dbs.work, None, ["batch_1"], member="Flor")
    assert PROBLEM_CHOICES == ("any", "none", *receipts.PROBLEMS)


def test_review_is_compare_and_set(lab, upload, dbs, tmp_path):
    lab.batch(1, 2)
    upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    sync.run_sync(lab)
    told = list_history(dbs.work, "batch_1")
    result = review.review(dbs.work, ["batch_1"], accept=True, seen={"batch_1": "pending"})
    assert result.conflicts == ["batch_1"] and status_of(dbs, "batch_1") == "review"
    assert list_history(dbs.work, "batch_1") == told  # no entry for the refused move
    with pytest.raises(ValidationError):
        review.review(dbs.work, ["batch_1"], accept=False, note="  ")
    with pytest.raises(PermissionDenied):
        review.review(dbs.work, ["batch_1"], accept=True, author=Actor("v", VIEWER))
    assert status_of(dbs, "batch_1") == "review"


def test_the_live_sync_makes_the_receipt_within_seconds(lab, upload, dbs, tmp_path, cli_env):
    """`sync --watch` lists a new upload right after seeing it: its receipt and the batch's
    status follow within seconds (5 s on the benchmark's 100,000 uploads; generous here)."""
    lab.batch(1, 3)
    lab.batch(2, 3)
    sync.run_sync(lab)
    env = {**cli_env, "DATA_DIRECTORY": str(lab.settings.data_directory)}
    with watcher(env, tmp_path / "live.log"):
        good = upload("batch_1.zip", real_archive(tmp_path, "zip", masks(3), "a.zip"))
        bad = upload("batch_2.tar.gz", real_archive(tmp_path, "tar", masks(3), "b.tgz")[:-100])
        wait_for(lambda: dbs.work.receipts.count_documents({}) == 2, 60, "both receipts")
    made = {r["_id"]: r for r in receipts.list_receipts(dbs.work)}
    # its masks are copies of CT images: the content checks, when they ran, may object
    assert made[good]["readable"] and made[good]["matched"] == 3
    assert made[good]["problem"] in (None, "content") and made[good]["made_by"] == "live sync"
    assert made[bad]["problem"] == "unreadable"
    assert status_of(dbs, "batch_2") == "rework"
    # complete masks go to review; a content problem, once its check is in, sends them back
    first = dbs.work.batches.find_one({"id": "batch_1"})
    assert first["status"] == "review" or (
        first["status"] == "rework" and first["rework_reason"].startswith("content: ")
    ), first


def test_a_sync_killed_while_making_receipts_makes_them_on_the_next_run(
    lab, upload, dbs, tmp_path, monkeypatch
):
    lab.batch(1, 2)
    lab.batch(2, 2)
    sync.run_sync(lab)  # the index exists: what follows is a routine run
    upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    upload("batch_2.zip", b"PK\x05\x06 cut short")
    real = review.apply_moves

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies after the receipts, before the moves

    monkeypatch.setattr(review, "apply_moves", killed)
    with pytest.raises(KeyboardInterrupt):
        sync.run_sync(lab)
    assert status_of(dbs, "batch_1") == "pending"
    monkeypatch.setattr(review, "apply_moves", real)
    report = sync.run_sync(lab)
    assert not report.full and report.new_files == 2  # the resume point was not saved
    assert (status_of(dbs, "batch_1"), status_of(dbs, "batch_2")) == ("review", "rework")
    assert dbs.work.receipts.count_documents({}) == 2
    assert [h["new"] for h in list_history(dbs.work, "batch_2") if h["field"] == "status"] == [
        "rework"
    ]


@pytest.mark.parametrize("at", ["before the moves", "between the history and the moves"])
def test_a_first_sync_killed_while_moving_statuses_converges_on_the_next_run(
    lab, upload, dbs, tmp_path, monkeypatch, at
):
    """On first contact a run makes receipts for the uploads without one. They used to be
    stored before the moves: a run killed in between left them stored, so the next run skipped
    their uploads and never made the moves, while the history (written first) named moves
    that never happened. The receipts now come last."""
    for number in (1, 2):
        lab.batch(number, 2)
    upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    upload("batch_2.zip", b"PK\x05\x06 cut short")
    real_moves, real_bulk = review.apply_moves, marked_writes._bulk

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies here

    if at == "before the moves":
        monkeypatch.setattr(review, "apply_moves", killed)
    else:
        monkeypatch.setattr(marked_writes, "_bulk", killed)  # the history entries are written
    with pytest.raises(KeyboardInterrupt):
        sync.run_sync(lab)
    assert (status_of(dbs, "batch_1"), status_of(dbs, "batch_2")) == ("pending", "pending")
    assert dbs.work.receipts.count_documents({}) == 0  # nothing claims these uploads are done
    monkeypatch.setattr(review, "apply_moves", real_moves)
    monkeypatch.setattr(marked_writes, "_bulk", real_bulk)
    sync.run_sync(lab)
    assert (status_of(dbs, "batch_1"), status_of(dbs, "batch_2")) == ("review", "rework")
    assert dbs.work.receipts.count_documents({}) == 2
    for batch_id, status in (("batch_1", "review"), ("batch_2", "rework")):
        moves = [h["new"] for h in list_history(dbs.work, batch_id) if h["field"] == "status"]
        assert set(moves) == {status}  # an entry may be repeated, never one missing or false
    assert sync.run_sync(lab, full=True).status_moves == 0


def test_a_status_set_while_a_routine_run_lists_the_new_uploads_is_kept(
    lab, upload, dbs, tmp_path, monkeypatch
):
    """A routine run reads the batches it compares once, before listing the new uploads (the
    receipts reuse that read): a status set meanwhile (here behind segcore's back, so with no
    entry of its own) is not overwritten by the move the upload would cause, and the history
    does not tell of that move."""
    lab.batch(1, 2)
    lab.batch(2, 2)
    sync.run_sync(lab)  # the index exists: what follows is a routine run
    upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    upload("batch_2.zip", real_archive(tmp_path, "zip", masks(2), "b.zip"))
    real = mask_check.check_new_uploads

    def coordinator_edits_meanwhile(*args, **kwargs):
        dbs.work.batches.update_one({"id": "batch_2"}, {"$set": {"status": "done"}})
        return real(*args, **kwargs)

    monkeypatch.setattr(mask_check, "check_new_uploads", coordinator_edits_meanwhile)
    report = sync.run_sync(lab)
    assert not report.full and report.new_files == 2
    assert (status_of(dbs, "batch_1"), status_of(dbs, "batch_2")) == ("review", "done")
    assert report.status_moves == 1
    assert [h["new"] for h in list_history(dbs.work, "batch_1") if h["field"] == "status"] == [
        "review"
    ]
    assert list_history(dbs.work, "batch_2") == []  # the move that did not happen is not told
    assert len(receipts.list_receipts(dbs.work)) == 2
    # the batch's other fields still landed with the run: its masks are counted
    doc = dbs.work.batches.find_one({"id": "batch_2"})
    assert doc["mongo_uploaded"] is True and doc["training_metrics_info"]["file_count"] == 1
    assert is_usable_check(doc["mask_check"])


def test_a_status_a_coordinator_sets_as_the_sync_would_is_one_change_not_two(
    lab, upload, dbs, tmp_path, monkeypatch
):
    """A routine run planned pending -> review for batch_1's complete upload; just before it
    wrote, a coordinator saved `review` for the batch in the Batches table (having seen
    `pending`). One change happened, the coordinator's: the history told it twice (by the
    coordinator and by the sync), and the run counted a status move it did not make."""
    lab.batch(1, 2)
    sync.run_sync(lab)
    upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    real = review.apply_moves

    def coordinator_saves_the_same_status(work, moves, *args, **kwargs):
        if any(m.batch_id == "batch_1" for m in moves):
            edit = Edit("batch_1", "status", "pending", "review")
            assert assignments.apply_edits(work, [edit], "Ana").updated == ["batch_1"]
        return real(work, moves, *args, **kwargs)

    monkeypatch.setattr(review, "apply_moves", coordinator_saves_the_same_status)
    report = sync.run_sync(lab)
    assert report.new_files == 1 and report.status_moves == 0
    assert status_of(dbs, "batch_1") == "review"
    entries = [h for h in list_history(dbs.work, "batch_1") if h["field"] == "status"]
    assert [(h["old"], h["new"], h["author"]) for h in entries] == [("pending", "review", "Ana")]
    assert dbs.work.batches.find_one({"id": "batch_1"})["mongo_uploaded"] is True


def test_a_run_that_moved_statuses_leaves_the_next_one_on_the_short_path(
    lab, upload, dbs, tmp_path
):
    """A status move marks its batch with its history entry: a write of the sync's own, which
    the next cron run must not take for another tool's edit of the batch list (it would then
    compare every batch, every time a status moved)."""
    from segcore.sync import routine

    lab.batch(1, 2)
    sync.run_sync(lab)
    upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    assert sync.run_sync(lab).status_moves == 1
    assert dbs.work.batches.find_one({"id": "batch_1"}).get("status_move_entry")
    assert routine.sync_if_unchanged(lab, mode="cron", author="sync") is not None


def test_a_receipt_lists_other_files_and_what_changed_since_the_previous_upload(
    lab, upload, dbs, tmp_path
):
    lab.batch(1, 3)
    sync.run_sync(lab)
    first = real_archive(tmp_path, "zip", masks(2), "a.zip")
    upload("batch_1_v1.zip", first)
    sync.run_sync(lab)
    folder = tmp_path / "v2"
    folder.mkdir()
    for number, name in enumerate(masks(3)):
        shutil.copyfile(DICOMS[number % len(DICOMS)], folder / name)
    (folder / "labelmap.txt").write_text("0 background\n1 liver\n")
    import subprocess

    subprocess.run(
        ["zip", "-q", str(tmp_path / "v2.zip"), *masks(3), "labelmap.txt"], cwd=folder, check=True
    )
    upload("batch_1_v2.zip", (tmp_path / "v2.zip").read_bytes())
    sync.run_sync(lab)
    [newest, _older] = receipts.list_receipts(dbs.work, ["batch_1"])
    assert newest["filename"] == "batch_1_v2.zip"
    assert newest["other_files"] == ["labelmap.txt"] and newest["extra_count"] == 0
    assert newest["changes"]["added"] == ["img_003_mask.dcm"]
    assert newest["problem"] in (None, "content") and newest["matched"] == 3


def test_the_compared_batches_carry_every_field_the_receipts_read():
    """The receipts take their batches' documents from the run's read of the compared batches
    (sync_apply.COMPARED): a field the receipts need but that read lacks would read as missing
    (an unknown folder, no stored mask check) without any error."""
    from segcore.sync import intake, sync_apply

    assert set(intake.BATCH_FIELDS) <= set(sync_apply.COMPARED)


ODD_METADATA = [
    {"uploaded_by": "flor", "batch_id": "batch_2", "tool": {"name": "itk-snap"}},  # extras
    {"uploaded_by": "ceci"},
    {},
    None,
    "batch_2",  # a tool that wrote a string
    ["batch_2"],
]


def test_a_change_streams_whole_document_is_cut_as_the_server_projects_it(dbs):
    """A routine run takes the new uploads' documents from the change stream (whole) instead
    of reading them again: cut to the sync's projection they must be what the server returns,
    or the receipts would name other batches or uploaders than the rest of the sync."""
    from segcore.sync import intake

    docs = [
        {"filename": f"batch_{n}.zip", "length": 5, "chunkSize": 1, "metadata": meta}
        for n, meta in enumerate(ODD_METADATA)
    ] + [{"filename": "no_metadata.zip", "length": 5}]
    dbs.masks_files.insert_many(docs)
    for doc in dbs.masks_files.find({}):
        cut = intake._as_read(doc)
        served = dbs.masks_files.find_one({"_id": doc["_id"]}, mask_check.UPLOAD_PROJECTION)
        if isinstance(doc.get("metadata", {}), dict):
            assert cut == served
        else:  # read again from the server instead
            assert cut is None


def test_receipts_from_the_change_stream_name_the_batches_the_uploads_claim(lab, upload, dbs):
    lab.batch(1, 2)
    lab.batch(2, 2)
    sync.run_sync(lab)  # the next run reads the change stream
    for n, meta in enumerate(ODD_METADATA):
        dbs.training["masks.files"].insert_one(
            {
                "filename": f"batch_1_try{n}.zip",
                "uploadDate": datetime(2025, 10, 1, 10, n),
                "length": 0,
                "chunkSize": 255,
                "metadata": meta,
            }
        )
    report = sync.run_sync(lab)
    assert not report.full
    got = {r["filename"]: r for r in receipts.list_receipts(dbs.work)}
    assert len(got) == len(ODD_METADATA)
    # metadata.batch_id names the batch when the metadata is a document; else the file name
    assert got["batch_1_try0.zip"]["batches"] == ["batch_2"]
    assert got["batch_1_try0.zip"]["uploaded_by"] == "flor"
    assert got["batch_1_try1.zip"]["uploaded_by"] == "ceci"
    for n in (1, 2, 3, 4, 5):
        assert got[f"batch_1_try{n}.zip"]["batches"] == ["batch_1"]


def test_command_line_receipts_of_a_person_include_every_spelling(
    lab, upload, dbs, tmp_path, run_cli
):
    """`--person Flor` listed only uploads stored exactly as "Flor", not her "flor" ones, which
    the Team page and the Receipts page count as hers."""
    for number, who in ((1, "flor"), (2, "Flor"), (3, "ceci")):
        lab.batch(number, 2)
        upload(
            f"batch_{number}.zip",
            real_archive(tmp_path, "zip", masks(2), f"{number}.zip"),
            uploaded_by=who,
        )
    sync.run_sync(lab)
    text = run_cli("receipts", "--person", "Flor").stdout
    assert "batch_1.zip" in text and "batch_2.zip" in text and "batch_3.zip" not in text, text


def test_a_deleted_uploads_day_is_the_offices(lab, upload, dbs, tmp_path, run_cli, client):
    """ "deleted on" named the UTC day: in an office twelve hours or more from UTC, the day
    before or after the one every other date on the page and the command line shows."""
    from datetime import timezone
    from zoneinfo import ZoneInfo

    import gridfs

    zone = "Etc/GMT+12" if datetime.now(timezone.utc).hour < 12 else "Pacific/Kiritimati"
    office = open_databases(replace(lab.settings, timezone=zone), client=client)
    lab.batch(1, 2)
    gone = upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    sync.run_sync(office)
    gridfs.GridFSBucket(dbs.training, bucket_name=dbs.settings.masks_bucket).delete(gone)
    sync.run_sync(office)
    day = datetime.now(ZoneInfo(zone)).date()
    text = run_cli("receipts", "--problem", "removed", env={"TIMEZONE": zone}).stdout
    assert f"the upload was deleted on {day.isoformat()}" in text, text


def test_a_batch_whose_uploads_give_no_usable_masks_is_not_accepted(
    lab, upload, dbs, tmp_path, run_cli
):
    """Uploaded is not delivered: a batch whose only upload is unreadable is refused on Accept
    (sent back it may be), on the command line with a line saying why and exit 1."""
    lab.batch(1, 2)
    upload("batch_1.tar.gz", real_archive(tmp_path, "tar", masks(2), "b.tgz")[:-200])
    sync.run_sync(lab)
    status = status_of(dbs, "batch_1")
    result = review.review(dbs.work, ["batch_1"], accept=True)
    assert result.not_usable == ["batch_1"] and not result.moved
    assert status_of(dbs, "batch_1") == status
    refused = run_cli("review", "batch_1", "--accept")
    assert refused.returncode == 1 and "no usable masks" in refused.stderr
    assert status_of(dbs, "batch_1") == status
    sent = review.review(dbs.work, ["batch_1"], accept=False, note="the archive is cut short")
    assert sent.moved == ["batch_1"] and status_of(dbs, "batch_1") == "rework"


@pytest.mark.parametrize("leftover_first", [False, True])
def test_a_leftover_spelled_differently_never_takes_the_upload_of_the_batch_it_names(
    lab, upload, dbs, tmp_path, leftover_first
):
    """batch_001, an old leftover beside batch_1, took the receipt and the status move of an
    upload naming batch_1, and the batch's images were listed from its missing folder."""
    leftover = {"id": "batch_001", "status": "pending", "folder": str(tmp_path / "batch_001")}
    if leftover_first:
        dbs.work.batches.insert_one(leftover)
    lab.batch(1, 4)  # Flor's, with four images
    if not leftover_first:
        dbs.work.batches.insert_one(leftover)
    upload("masks_batch_1.zip", real_archive(tmp_path, "zip", masks(4), "a.zip"), "batch_1")
    sync.run_sync(lab)

    [receipt] = receipts.list_receipts(dbs.work)
    assert receipt["batches"] == ["batch_1"]
    assert receipt["problem"] is None and receipt["matched"] == 4
    assert status_of(dbs, "batch_1") == "review" and status_of(dbs, "batch_001") == "pending"
    assert is_usable_check(dbs.work.batches.find_one({"id": "batch_1"})["mask_check"])

    report = mask_check.verify(lab, every_batch=True, recheck=True)
    assert [b["id"] for b in report.batches if b["id"].startswith("batch_")] == ["batch_1"]
    assert status_of(dbs, "batch_001") == "pending"


def test_an_upload_with_a_16_mb_name_gets_a_receipt_and_its_batch_stays_delivered(
    lab, upload, dbs, tmp_path, run_cli
):
    """Another tool's file document whose name is nearly 16 MB (a valid document): the
    listing and the receipt keep 512 characters of it, as the index does, so the sync stores
    them and the batch stays delivered; `receipts` prints the cut name."""
    lab.batch(2, 2)
    upload("masks_batch_2.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    sync.run_sync(lab)
    assert is_usable_check(dbs.work.batches.find_one({"id": "batch_2"})["mask_check"])
    name = "batch_2_" + "z" * (16 * 1024 * 1024 - 400) + ".zip"
    big = upload(name, real_archive(tmp_path, "zip", masks(2), "b.zip"))

    report = sync.run_sync(lab)
    assert report.new_files == 1 and not report.not_stored
    receipt = dbs.work.receipts.find_one({"_id": big})
    assert receipt["problem"] is None and receipt["usable"]
    assert len(receipt["filename"]) <= 512 and receipt["filename"].startswith("batch_2_zzz")
    assert receipt["filename"].endswith(f"(+{len(name) - 472:,} characters)")
    assert len(dbs.work.mask_checks.find_one({"_id": big})["filename"]) <= 512
    assert is_usable_check(dbs.work.batches.find_one({"id": "batch_2"})["mask_check"])

    out = run_cli("receipts", "batch_2", env={"DATA_DIRECTORY": str(tmp_path / "data")})
    assert out.returncode == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) < 700
    assert json.loads(run_cli("status", "--json").stdout)["delivered"] == 1


def test_a_receipt_stored_with_a_whole_long_name_is_read_cut(dbs):
    """A receipt stored before names were cut shows 512 characters of its name."""
    dbs.work.receipts.insert_one(
        {"_id": 1, "filename": "batch_1_" + "x" * 2_000_000, "batches": ["batch_1"]}
    )
    [receipt] = receipts.list_receipts(dbs.work)
    assert len(receipt["filename"]) <= 512 and receipt["filename"].endswith(" characters)")


def test_a_batch_id_stored_as_a_whole_double_names_its_batch(lab, upload, dbs, tmp_path, run_cli):
    """The legacy mongo shell (and a Python tool that computed the number) stores
    `metadata.batch_id: 7` as the double 7.0: it names batch_7, as 7 does. A fraction names no
    batch, and its receipt and the content check say why, not that batch_7 is missing from the
    list or its images unlisted."""
    lab.batch(7, 3)
    archive = real_archive(tmp_path, "zip", masks(3), "a.zip")
    upload("masks_for_review.zip", archive, batch_id=7.0)
    upload("masks_again.zip", archive, batch_id=7.5)
    done = run_cli("sync", "--verify", "--content")
    assert done.returncode == 0, done.stderr
    got = {r["filename"]: r for r in receipts.list_receipts(dbs.work)}
    assert got["masks_for_review.zip"]["batches"] == ["batch_7"]
    assert dbs.work.batches.find_one({"id": "batch_7"})["mongo_uploaded"] is True
    refused = got["masks_again.zip"]
    assert (refused["problem"], refused["reason"]) == (
        "no_batch",
        "its metadata.batch_id (7.5) is not a batch id",
    )
    assert "1 unmatched" in done.stdout
    assert "1 not checked: naming no batch in the list" in done.stdout
    assert "no image of their batches" not in done.stdout
