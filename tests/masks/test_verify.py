"""Mask completeness end to end: uploads in GridFS, image folders on disk, results stored."""

import json
from dataclasses import replace
from datetime import datetime

import bson
import pytest

from segcore.core.actors import Actor
from segcore.core.errors import BatchNotFound, PermissionDenied
from segcore.masks.mask_check import batch_detail, verify
from segcore.store.connection import open_databases
from tests.archives import images, make_tar, make_zip


@pytest.fixture
def data_dir(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    return root


@pytest.fixture
def lab(dbs, client, data_dir):
    """Databases whose settings name DATA_DIRECTORY, and a helper making a batch with images."""
    databases = open_databases(replace(dbs.settings, data_directory=data_dir), client=client)

    def batch(number: int, image_names, folder: bool = True):
        path = data_dir / f"batch_{number}"
        if folder:
            for name in image_names:
                (path / name).parent.mkdir(parents=True, exist_ok=True)
                (path / name).write_bytes(b"\x89PNG")
        dbs.work.batches.insert_one(
            {"id": f"batch_{number}", "number": number, "folder": str(path), "status": "pending"}
        )

    databases.batch = batch
    return databases


def training_snapshot(dbs) -> dict:
    """Every document of the training database, encoded, per collection."""
    return {
        name: sorted(bson.encode(doc) for doc in dbs.training[name].find())
        for name in dbs.training.list_collection_names()
    }


def by_id(report) -> dict:
    return {row["id"]: row for row in report.as_dict()["batches"]}


def test_states_of_real_deliveries_and_the_training_database_untouched(lab, upload, dbs):
    lab.batch(1, images(240))
    upload("batch_1_masks.zip", make_zip([f"out/{n}" for n in images(236, ext="_mask.png")]))
    lab.batch(2, images(6))
    upload("batch_2_part1.zip", make_zip(images(3, ext="_mask.png")))
    upload(
        "masks_batch_2_part2.tar.xz",
        make_tar([f"batch_2/deep/img_{n:03d}_seg.png" for n in (4, 5, 6)] + ["batch_2/"]),
    )
    lab.batch(3, ["CT_001.nii.gz", "CT_002.nii.gz"])
    upload(
        "BATCH3.tgz",
        make_tar(["CT_001_label.nii.gz", "CT_002_gt.nii.gz", "CT_099_gt.nii.gz"], "w:gz"),
    )
    lab.batch(4, images(2))
    upload("batch_4.zip", make_zip(images(2, ext="_mask.png"))[:-30])
    lab.batch(5, images(2), folder=False)  # the share is not mounted
    upload("batch_5.zip", make_zip(images(2, ext="_mask.png")))
    lab.batch(6, images(2))  # nothing uploaded yet
    before = training_snapshot(dbs)

    report = verify(lab)

    assert training_snapshot(dbs) == before
    rows = by_id(report)
    assert report.checked_uploads == 6 and sorted(rows) == [f"batch_{n}" for n in range(1, 6)]
    assert rows["batch_1"]["state"] == "incomplete"
    assert (
        rows["batch_1"]["images"],
        rows["batch_1"]["masks"],
        rows["batch_1"]["missing_count"],
    ) == (240, 236, 4)
    assert rows["batch_1"]["missing"] == images(240)[236:]
    assert rows["batch_2"]["state"] == "complete"  # two parts complete it together
    assert (rows["batch_3"]["state"], rows["batch_3"]["extra"]) == ("extra", ["CT_099_gt.nii.gz"])
    assert rows["batch_4"]["state"] == "unreadable"
    assert rows["batch_4"]["unreadable"][0]["filename"] == "batch_4.zip"
    assert "truncated or corrupt" in rows["batch_4"]["unreadable"][0]["reason"]
    assert rows["batch_5"]["state"] == "unknown" and rows["batch_5"]["images"] is None
    stored = dbs.work.batches.find_one({"id": "batch_5"})["mask_check"]
    assert "cannot be read" in stored["note"]
    assert stored["notes"][0]["code"] == "images: {error}"  # worded by the reader's language
    listing = dbs.work.batch_images.find_one({"_id": "batch_1"})
    assert len(listing["names"]) == 240 and listing["listed_at"] is not None
    states = [
        d["mask_check"]["state"] for d in dbs.work.batches.find({"mask_check": {"$ne": None}})
    ]
    assert {s: states.count(s) for s in states} == {
        "incomplete": 1,
        "complete": 1,
        "extra": 1,
        "unreadable": 1,
        "unknown": 1,
    }
    everything = by_id(verify(lab, every_batch=True))
    assert everything["batch_6"]["state"] == "unknown"
    assert "no upload" in dbs.work.batches.find_one({"id": "batch_6"})["mask_check"]["note"]


def test_each_upload_is_read_once_unless_it_changes_or_a_recheck_is_asked(lab, upload, dbs):
    lab.batch(1, images(3))
    first = upload("batch_1.zip", make_zip(images(2, ext="_mask.png")))
    assert verify(lab).checked_uploads == 1
    again = verify(lab)
    assert (again.checked_uploads, again.bytes_read) == (0, 0)
    assert by_id(again)["batch_1"]["missing"] == ["img_003.png"]
    # Another tool rewrites the upload in place: same id, a new date, then a new length.
    dbs.masks_files.update_one({"_id": first}, {"$set": {"uploadDate": datetime(2030, 1, 1)}})
    assert verify(lab).checked_uploads == 1
    dbs.masks_files.update_one({"_id": first}, {"$inc": {"length": -1}})
    cut = verify(lab)
    assert cut.checked_uploads == 1 and by_id(cut)["batch_1"]["state"] == "unreadable"
    dbs.masks_files.update_one({"_id": first}, {"$inc": {"length": 1}})
    assert verify(lab, recheck=True).checked_uploads == 1
    upload("batch_1_fix.zip", make_zip(["img_003_mask.png"]))
    final = verify(lab)
    assert final.checked_uploads == 1 and by_id(final)["batch_1"]["state"] == "complete"


def test_a_removed_upload_leaves_the_batch_result(lab, upload, dbs):
    lab.batch(1, images(2))
    upload("batch_1_a.zip", make_zip(images(1, ext="_mask.png")))
    extra = upload("batch_1_b.zip", make_zip(["img_002_mask.png"]))
    assert by_id(verify(lab))["batch_1"]["state"] == "complete"
    dbs.training["masks.chunks"].delete_many({"files_id": extra})
    dbs.masks_files.delete_one({"_id": extra})
    assert by_id(verify(lab))["batch_1"]["missing"] == ["img_002.png"]


def test_named_batches_relist_their_images_and_unknown_names_are_refused(
    lab, upload, dbs, data_dir
):
    lab.batch(1, images(2))
    upload("batch_1.zip", make_zip(images(2, ext="_mask.png")))
    assert by_id(verify(lab, ["batch_1"]))["batch_1"]["state"] == "complete"
    (data_dir / "batch_1" / "img_003.png").write_bytes(b"x")
    assert by_id(verify(lab))["batch_1"]["state"] == "complete"  # images listed earlier
    named = by_id(verify(lab, ["Batch-0001"]))  # asking for the batch lists its folder again
    assert named["batch_1"]["missing"] == ["img_003.png"]
    with pytest.raises(BatchNotFound, match="batch_77"):
        verify(lab, ["batch_77"])
    with pytest.raises(PermissionDenied):
        verify(lab, author=Actor("ana", "viewer"))


def test_detail_lists_every_name(lab, upload, dbs):
    lab.batch(1, images(120))
    upload("batch_1.zip", make_zip(["zzz_mask.png"]))
    row = by_id(verify(lab))["batch_1"]
    assert row["missing_count"] == 120 and len(row["missing"]) == 50
    detail = batch_detail(lab, "batch_1")
    assert detail.missing == images(120) and detail.extra == ["zzz_mask.png"]


def test_extensionless_dicom_files_count_as_images(lab, upload, dbs, data_dir):
    lab.batch(1, ["img_001.png"])
    (data_dir / "batch_1" / "IM0002").write_bytes(bytes(128) + b"DICM" + bytes(10))
    (data_dir / "batch_1" / "README").write_bytes(b"not an image at all" * 10)
    upload("batch_1.zip", make_zip(["img_001_mask.png", "IM0002_mask.dcm"]))
    row = by_id(verify(lab))["batch_1"]
    assert (row["state"], row["images"]) == ("complete", 2)


def test_command_line_json_and_text(run_cli, lab, upload, data_dir):
    lab.batch(1, images(3))
    upload("batch_1_part1.zip", make_zip(images(2, ext="_mask.png")))
    upload("batch_1.rar", b"Rar!\x1a\x07\x01\x00" + bytes(50))
    env = {"DATA_DIRECTORY": str(data_dir)}
    done = run_cli("verify", "--json", env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["checked_uploads"] == 2 and result["bytes_read"] > 0
    assert result["batches"] == [
        {
            "id": "batch_1",
            "state": "unreadable",
            "images": 3,
            "masks": 2,
            "missing_count": 1,
            "extra_count": 0,
            "missing": ["img_003.png"],
            "extra": [],
            "unreadable": [{"filename": "batch_1.rar", "reason": "unsupported format (RAR)"}],
            "other_files": [],
            "ambiguous": [],
            "not_images_count": 0,
            "not_images": [],
        }
    ]
    text = run_cli("verify", "batch_1", env=env)
    assert text.returncode == 0
    assert "batch_1        unreadable  2 / 3 images with a mask" in text.stdout
    assert "without a mask: img_003.png" in text.stdout
    assert "unreadable: batch_1.rar: unsupported format (RAR)" in text.stdout
    assert "0 uploads checked" in text.stdout
    refused = run_cli("verify", "batch_9", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: No batch batch_9 in the batch list."
    both = run_cli("verify", "batch_1", "--all", env=env)
    assert both.returncode == 1 and "not both" in both.stderr


def test_sync_verify_checks_the_uploads_the_sync_found_new(run_cli, lab, upload, dbs, data_dir):
    env = {"DATA_DIRECTORY": str(data_dir)}
    lab.batch(1, images(2))
    lab.batch(2, images(2))
    upload("batch_1.zip", make_zip(images(2, ext="_mask.png")))
    first = run_cli("sync", "--verify", "--json", env=env)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    # the sync itself lists every upload it sees new (its receipt), and the figures say so:
    # never "0 uploads checked, 0.0 MB read" after reading every one of them
    assert result["full"] and result["verify"]["checked_uploads"] == 1
    assert result["verify"]["bytes_read"] > 0
    assert dbs.work.receipts.count_documents({}) == 1
    upload("batch_2_part1.zip", make_zip(["img_001_mask.png"]))
    second = json.loads(run_cli("sync", "--verify", "--json", env=env).stdout)
    assert (second["new_files"], second["verify"]["checked_uploads"]) == (1, 1)
    assert [(b["id"], b["state"]) for b in second["verify"]["batches"]] == [
        ("batch_2", "incomplete")
    ]
    upload("batch_2_part2.zip", make_zip(["img_002_mask.png"]))
    text = run_cli("sync", "--verify", env=env)
    assert text.returncode == 0 and "1 upload checked" in text.stdout
    quiet = run_cli("sync", "--verify", env=env)  # nothing new: nothing read
    assert quiet.returncode == 0 and "0 uploads checked, 0.0 MB read" in quiet.stdout
    assert dbs.work.mask_checks.count_documents({}) == 3


def test_a_routine_sync_rechecks_a_legacy_id_when_an_upload_is_removed(lab, upload, dbs):
    """The routine sync finds the batches a removed upload counted for by the batch list it
    holds: a batch stored under a legacy spelling (batch_0400) is checked again from what is
    left, beside a removed upload naming a batch not in the list."""
    from segcore.sync.sync import run_sync

    for name in images(2):
        (lab.settings.data_directory / "batch_0400" / name).parent.mkdir(exist_ok=True)
        (lab.settings.data_directory / "batch_0400" / name).write_bytes(b"\x89PNG")
    folder = str(lab.settings.data_directory / "batch_0400")
    dbs.work.batches.insert_one({"id": "batch_0400", "folder": folder, "status": "pending"})
    upload("batch_400_a.zip", make_zip(["img_001_mask.png"]))
    second = upload("batch_400_b.zip", make_zip(["img_002_mask.png"]))
    stray = upload("batch_977.zip", make_zip(["img_001_mask.png"]))
    run_sync(lab)
    assert run_sync(lab).new_files == 0  # what follows is a routine run
    stored = dbs.work.batches.find_one({"id": "batch_0400"})["mask_check"]
    assert stored["state"] == "complete"
    for gone in (second, stray):
        dbs.training["masks.chunks"].delete_many({"files_id": gone})
        dbs.masks_files.delete_one({"_id": gone})
    report = run_sync(lab)
    assert not report.full and report.removed_files == 2
    stored = dbs.work.batches.find_one({"id": "batch_0400"})["mask_check"]
    assert stored["missing"] == ["img_002.png"] and second not in stored["uploads"]


def test_verify_all_names_batches_whose_id_is_no_text_and_counts_them_as_status_does(
    run_cli, lab, upload, dbs, data_dir
):
    """Another tool stored batch ids as a number, an Int64, an ObjectId, or none: `status`
    counts 6 batches, and `verify --all` ("every batch in the list") lists 6, those four
    under their id's text (as the Batches page) with why they were not checked."""
    env = {"DATA_DIRECTORY": str(data_dir)}
    lab.batch(1, images(2))
    lab.batch(2, images(2))
    odd_id = bson.ObjectId("65a1b2c3d4e5f60718293a4b")
    dbs.work.batches.insert_many(
        [{"id": 7, "status": "pending"}, {"id": bson.Int64(9)}, {"id": odd_id}, {"status": "x"}]
    )
    upload("batch_1.zip", make_zip(images(2, ext="_mask.png")))
    status = json.loads(run_cli("status", "--json", env=env).stdout)
    out = run_cli("verify", "--all", "--json", env=env)
    assert out.returncode == 0, out.stderr
    rows = {row["id"]: row for row in json.loads(out.stdout)["batches"]}
    assert len(rows) == status["total"] == 6
    assert rows["batch_1"]["state"] == "complete" and "not_checked" not in rows["batch_1"]
    assert (
        rows["7"]["not_checked"] == "not checked: its id is not text (int), so no upload names it"
    )
    assert (
        "(Int64)" in rows["9"]["not_checked"] and "(ObjectId)" in rows[str(odd_id)]["not_checked"]
    )
    assert rows[""]["not_checked"] == "not checked: the batch has no id"
    text = run_cli("verify", "--all", env=env).stdout
    assert "6 batches: 1 complete, 5 unknown." in text, text
    assert "7              unknown" in text and "(no id)        unknown" in text
    assert text.count("not checked: its id is not text") == 3
