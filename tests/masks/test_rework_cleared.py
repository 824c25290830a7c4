"""A batch segcore sent to rework for an upload's problem leaves rework once a check finds the
problem gone (the missing chunks came, a recheck finds no content problem): to review, with a
history entry. A rework a person set (a reviewer's send-back, a status set by hand) stays.
Real PNGs by Pillow, zipped by Info-ZIP, uploaded to GridFS; the coordinator's commands."""

import numpy as np
import pytest

from segcore.store.history import list_history
from tests.archives import archive_with
from tests.masks_content_files import label_square, png

SHAPE = (32, 40)


@pytest.fixture
def lab(dbs, tmp_path):
    data = tmp_path / "data" / "batch_1"
    data.mkdir(parents=True)
    for n in (1, 2, 3):
        png(data / f"img_00{n}.png", np.full(SHAPE, 80))
    dbs.work.batches.insert_one({"id": "batch_1", "folder": str(data), "status": "pending"})
    return dbs


@pytest.fixture
def segcore(run_cli, tmp_path):
    """The command line, with the data folder and the agreed labels (`labels`)."""

    def run(*args: str, labels: str = "0,1") -> None:
        env = {"DATA_DIRECTORY": str(tmp_path / "data"), "MASK_LABELS": labels}
        done = run_cli(*args, env=env)
        assert done.returncode == 0, done.stdout + done.stderr

    return run


def zipped_masks(tmp_path, label: int = 1) -> bytes:
    folder = tmp_path / f"masks_{label}" / "masks"
    folder.mkdir(parents=True)
    for n in (1, 2, 3):
        png(folder / f"img_00{n}_mask.png", label_square(SHAPE, label))
    return archive_with("zip", folder.parent, tmp_path / f"masks_{label}.zip", "-q", "-r")


def batch(lab) -> dict:
    return lab.work.batches.find_one({"id": "batch_1"})


def status_moves(lab) -> list[tuple]:
    entries = reversed(list_history(lab.work, "batch_1"))
    return [(e["old"], e["new"]) for e in entries if e["field"] == "status"]


def test_a_batch_sent_back_for_missing_chunks_goes_to_review_once_they_come(
    lab, upload, segcore, tmp_path
):
    """A writer stored the file document before its chunks (a mongorestore of masks.files
    before masks.chunks): truncated, rework; once every chunk is there, delivered and in review."""
    file_id = upload("batch_1.zip", zipped_masks(tmp_path), "batch_1", chunk_size=256)
    chunks = lab.training[f"{lab.settings.masks_bucket}.chunks"]
    held = chunks.find_one({"files_id": file_id, "n": 1})
    chunks.delete_one({"_id": held["_id"]})
    segcore("sync", "--verify")
    assert batch(lab)["status"] == "rework"
    assert batch(lab)["rework_reason"].startswith("unreadable: truncated upload")
    chunks.insert_one(held)
    segcore("sync", "--verify")
    doc = batch(lab)
    assert (doc["status"], doc["mask_check"]["usable"]) == ("review", True)
    assert "rework_reason" not in doc and "rework_reason_phrase" not in doc
    # both moves, one entry each (two runs within one second are stored at the same time)
    assert sorted(status_moves(lab)) == [("pending", "rework"), ("rework", "review")]


def test_a_batch_sent_back_by_a_content_check_goes_to_review_when_a_recheck_finds_none(
    lab, upload, segcore, tmp_path
):
    """Masks of label 2 while the agreed labels are 0 and 1: rework. The coordinator corrects
    MASK_LABELS and checks again, as the README says: usable, delivered, in review."""
    upload("batch_1.zip", zipped_masks(tmp_path, label=2), "batch_1")
    segcore("sync", "--verify", "--content")
    assert (batch(lab)["status"], batch(lab)["rework_reason"]) == (
        "rework",
        "content: 3 masks with problems",
    )
    segcore("verify", "--content", "--recheck", labels="0,1,2")
    doc = batch(lab)
    assert (doc["status"], doc["mask_content"]["problems"]) == ("review", 0)
    assert "rework_reason" not in doc
    assert ("rework", "review") in status_moves(lab)


@pytest.mark.parametrize("how", ["sent back", "set by hand"])
def test_a_rework_a_person_set_stays_when_the_problem_is_gone(lab, upload, segcore, tmp_path, how):
    """The coordinator's own rework is not undone by a check: only a newer upload moves it."""
    upload("batch_1.zip", zipped_masks(tmp_path, label=2), "batch_1")
    segcore("sync", "--verify", "--content")
    if how == "sent back":
        segcore("review", "batch_1", "--rework", "the borders are off")
    else:
        segcore("batches", "set", "batch_1", "--status", "in_progress")
        segcore("batches", "set", "batch_1", "--status", "rework")
    segcore("verify", "--content", "--recheck", labels="0,1,2")
    doc = batch(lab)
    assert (doc["status"], doc["mask_content"]["problems"]) == ("rework", 0)
    assert ("rework", "review") not in status_moves(lab)  # no check moved it out
