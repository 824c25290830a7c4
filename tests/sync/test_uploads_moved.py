"""Uploads that change batches after they came in: moved to another batch (metadata corrected,
file renamed), made before their batch was in the list, or followed by a complete re-upload
after a broken one. Every batch's check follows the uploads naming it now."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from segcore.masks import receipts
from segcore.notify.notify_mailto import person_batches
from segcore.sync import sync
from segcore.views.batch_rows import read_all_rows
from segcore.work import batch_import
from segcore.work.batches_file import BatchEntry
from tests.receipt_seed import masks, real_archive
from tests.sync.test_live_sync import wait_for, watcher
from tests.sync.test_receipts import lab, status_of  # noqa: F401 (fixture)


def checked(dbs, batch_id: str) -> dict:
    return dbs.work.batches.find_one({"id": batch_id}).get("mask_check") or {}


def files_of(dbs):
    return dbs.training[f"{dbs.settings.masks_bucket}.files"]


@pytest.mark.parametrize("how", ["metadata", "renamed"])
@pytest.mark.parametrize("routine", [True, False], ids=["routine", "full-only"])
def test_a_batch_an_upload_moved_away_from_is_no_longer_delivered_by_it(
    lab,  # noqa: F811
    upload,
    dbs,
    tmp_path,
    how,
    routine,
):
    """batch_1 in two parts, batch_3 whole; then part 2 turns out to be batch_2's and the whole
    upload batch_4's: batch_1 lacks img_003 and batch_3 has no masks, whichever sync sees it
    (a routine run from the change stream, or only a full rescan)."""
    for number in (1, 2, 3, 4):
        lab.batch(number, 3)
    upload("batch_1_part1.zip", real_archive(tmp_path, "zip", masks(2), "p1.zip"), "batch_1")
    if how == "metadata":
        part2 = upload(
            "batch_1_part2.zip", real_archive(tmp_path, "zip", ["img_003_mask.dcm"], "p2.zip"), "1"
        )
        whole = upload("masks.zip", real_archive(tmp_path, "zip", masks(3), "w.zip"), "batch_3")
    else:
        part2 = upload(
            "batch_1_part2.zip", real_archive(tmp_path, "zip", ["img_003_mask.dcm"], "p2.zip")
        )
        whole = upload("batch_3.zip", real_archive(tmp_path, "zip", masks(3), "w.zip"))
    sync.run_sync(lab)
    rows = read_all_rows(dbs.work)
    assert [r["id"] for r in rows.values() if r["usable"]] == ["batch_1", "batch_3"]

    if how == "metadata":
        files_of(dbs).update_one({"_id": part2}, {"$set": {"metadata.batch_id": "batch_2"}})
        files_of(dbs).update_one({"_id": whole}, {"$set": {"metadata.batch_id": "batch_4"}})
    else:
        files_of(dbs).update_one({"_id": part2}, {"$set": {"filename": "batch_2_part2.zip"}})
        files_of(dbs).update_one({"_id": whole}, {"$set": {"filename": "batch_4.zip"}})
    sync.run_sync(lab, full=not routine)

    rows = read_all_rows(dbs.work)
    batch_1 = dbs.work.batches.find_one({"id": "batch_1"})["mask_check"]
    assert (batch_1["state"], batch_1["missing"], batch_1["usable"]) == (
        "incomplete",
        ["img_003.dcm"],
        False,
    )
    assert not rows["batch_3"]["with_masks"] and not rows["batch_3"]["usable"]
    assert rows["batch_4"]["usable"]
    assert [r["id"] for r in rows.values() if r["usable"]] == ["batch_4"]
    # a later full rescan keeps it so
    sync.run_sync(lab, full=True)
    assert [r["id"] for r in read_all_rows(dbs.work).values() if r["usable"]] == ["batch_4"]
    moved = {r["filename"]: r for r in receipts.list_receipts(dbs.work)}
    assert moved[files_of(dbs).find_one({"_id": whole})["filename"]]["batches"] == ["batch_4"]


@pytest.mark.parametrize("added_by", ["import", "another tool"])
def test_an_upload_made_before_its_batch_was_listed_is_checked_once_it_is(
    lab,  # noqa: F811
    upload,
    dbs,
    tmp_path,
    added_by,
):
    """The annotator was faster than the coordinator: batch_9.zip says "names no batch" until
    batch_9 is in the list; then the next sync checks it, remakes its receipt and moves the
    batch to review, as for an upload that just came in."""
    lab.batch(5, 3)
    upload("batch_9.zip", real_archive(tmp_path, "zip", masks(3), "a.zip"))
    sync.run_sync(lab)
    [receipt] = [r for r in receipts.list_receipts(dbs.work) if r["filename"] == "batch_9.zip"]
    assert receipt["problem"] == "no_batch"

    if added_by == "import":
        data = lab.settings.data_directory
        shutil.copytree(data / "batch_5", data / "batch_9")
        batch_import.import_batches(
            dbs.work, [BatchEntry("batch_9", str(data / "batch_9"))], "coordinator"
        )
    else:
        lab.batch(9, 3)
    report = sync.run_sync(lab)

    [receipt] = [r for r in receipts.list_receipts(dbs.work) if r["filename"] == "batch_9.zip"]
    assert (receipt["problem"], receipt["usable"], receipt["batches"]) == (None, True, ["batch_9"])
    batch_9 = dbs.work.batches.find_one({"id": "batch_9"})
    assert batch_9["mask_check"]["state"] == "complete" and batch_9["mask_check"]["usable"]
    assert status_of(dbs, "batch_9") == "review"
    assert receipt["_id"] in report.changed_upload_ids  # `sync --verify` checks it too
    # and only once: the next run has nothing to redo
    assert sync.run_sync(lab).changed_upload_ids == []


def test_a_complete_reupload_after_a_broken_one_leaves_nothing_to_ask_about(
    lab,  # noqa: F811
    upload,
    dbs,
    tmp_path,
):
    """The first transfer died half-way, the second is whole: batch_1 is delivered, its mask
    check says complete (the broken upload still listed), and the "Write to" mail does not
    ask Flor about it."""
    lab.batch(1, 3)
    whole = real_archive(tmp_path, "zip", masks(3), "a.zip")
    upload("batch_1.zip", whole[: len(whole) // 2])
    sync.run_sync(lab)
    assert dbs.work.batches.find_one({"id": "batch_1"})["mask_check"]["state"] == "unreadable"
    upload("batch_1_again.zip", whole)
    sync.run_sync(lab)
    check = dbs.work.batches.find_one({"id": "batch_1"})["mask_check"]
    assert (check["state"], check["usable"]) == ("complete", True)
    assert [u["filename"] for u in check["unreadable"]] == ["batch_1.zip"]
    rows = list(read_all_rows(dbs.work).values())
    assert person_batches(rows, "Flor", date.today())["incomplete"] == []


def test_the_live_sync_takes_a_moved_uploads_masks_from_the_batch_it_left(
    lab,  # noqa: F811
    upload,
    dbs,
    tmp_path,
    cli_env,
):
    """`sync --watch` sees batch_2.zip relabelled batch_3's: batch_2 is no longer delivered
    (delivered went from 2 to 3 before: batch_2 kept its check)."""
    for number in (1, 2, 3):
        lab.batch(number, 2)
    upload("batch_1.zip", real_archive(tmp_path, "zip", masks(2), "a.zip"))
    moved = upload("batch_2.zip", real_archive(tmp_path, "zip", masks(2), "b.zip"))
    sync.run_sync(lab)
    env = {**cli_env, "DATA_DIRECTORY": str(lab.settings.data_directory)}
    with watcher(env, tmp_path / "live.log"):
        files_of(dbs).update_one({"_id": moved}, {"$set": {"metadata.batch_id": "batch_3"}})
        wait_for(lambda: checked(dbs, "batch_3").get("usable"), 60, "batch_3 delivered")
        wait_for(lambda: not checked(dbs, "batch_2").get("usable"), 60, "batch_2 not delivered")
    # (the live content check may then object to these masks, copies of CT images)
    checks = {
        d["id"]: d["mask_check"] for d in dbs.work.batches.find({}, {"id": 1, "mask_check": 1})
    }
    assert [b for b, check in sorted(checks.items()) if check["usable"]] == ["batch_1", "batch_3"]
