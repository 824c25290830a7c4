"""What a segmentador's own page says of their uploads: each of their open batches named,
however many they hold; an unreadable file named with its reason when it names only their own
batches; the masks with content problems the batch's check counts, not the latest upload's."""

from datetime import datetime, timedelta

import pytest

from segcore.team import auth, team
from segcore.views import my_work

PASSWORD = "correct horse battery"


@pytest.fixture
def flor(db):
    for name in ("Flor", "Ceci"):
        team.add_member(db, name, author="test")
    auth.add_user(db, "flor", "segmentador", PASSWORD, member="Flor")
    return auth.authenticate(db, "flor", PASSWORD)


def unreadable(_id, filename, batches, at, uploaded_by="flor"):
    return {
        "_id": _id,
        "filename": filename,
        "uploaded_by": uploaded_by,
        "upload_date": at,
        "readable": False,
        "problem": "unreadable",
        "reason": "not a readable zip (truncated or corrupt)",
        "batches": batches,
        "parts": [{"id": b} for b in batches],
    }


def test_a_large_lab_still_names_each_of_their_unreadable_uploads(db, flor):
    """With 250 open batches, those after the 200 most urgent lost their receipts: "1 upload
    naming this batch could not be read" (counted, as for someone else's) instead of her file."""
    db.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "assignee": "Flor",
                "status": "pending",
                "metadata": {"due_date": (datetime(2026, 1, 1) + timedelta(days=n)).isoformat()},
            }
            for n in range(1, 251)
        ]
    )
    db.receipts.insert_one(unreadable(1, "batch_240.zip", ["batch_240"], datetime(2026, 1, 2)))
    mine = [b.id for b in my_work.my_batches(db, flor, datetime(2026, 1, 1).date()) if b.open]
    assert mine.index("batch_240") >= 200  # due late: after the 200 most urgent
    found = my_work.my_receipts(db, flor, mine)
    assert (found["batch_240"]["filename"], found["batch_240"]["readable"]) == (
        "batch_240.zip",
        False,
    )


def test_an_unreadable_upload_naming_only_her_batches_is_named_with_its_reason(db, flor):
    """Her `batch_1_to_batch_2.zip`, cut short, said "your upload (date) could not be read:"
    with no file and no reason: she could not tell which file to send again."""
    db.batches.insert_many(
        [
            {"id": "batch_1", "assignee": "Flor", "status": "rework"},
            {"id": "batch_2", "assignee": "Flor", "status": "rework"},
            {"id": "batch_3", "assignee": "Ceci", "status": "rework"},
        ]
    )
    db.receipts.insert_many(
        [
            unreadable(1, "batch_1_to_batch_2.zip", ["batch_1", "batch_2"], datetime(2026, 1, 3)),
            unreadable(2, "batch_1_and_3.zip", ["batch_1", "batch_3"], datetime(2026, 1, 2)),
        ]
    )
    found = my_work.my_receipts(db, flor, ["batch_1", "batch_2"])
    for batch in ("batch_1", "batch_2"):
        assert found[batch]["filename"] == "batch_1_to_batch_2.zip"
        assert "truncated" in str(found[batch]["reason"])
    # one naming Ceci's batch too still names neither (it would name her batch)
    [earlier] = found["batch_1"]["earlier_unreadable"]
    assert (earlier["filename"], earlier["reason"]) == (None, None)


def content_result(_id, names):
    return {
        "_id": _id,
        "checked": len(names),
        "problems": len(names),
        "offenders": [
            {"name": n, "code": "labels", "params": {"labels": "1", "allowed": "0,5"}}
            for n in names
        ],
    }


def test_the_masks_with_content_problems_are_those_the_batch_counts(db, flor):
    """A batch delivered in three parts, one wrong mask in each: sent back "content: 3 masks
    with problems", her page listed only the latest part's mask, and she fixed one of three."""
    db.batches.insert_one(
        {
            "id": "batch_1",
            "assignee": "Flor",
            "status": "rework",
            "mask_content": content_result(None, ["a_mask.png", "b_mask.png", "c_mask.png"]),
        }
    )
    for n, name in enumerate(["a_mask.png", "b_mask.png", "c_mask.png"], start=1):
        db.receipts.insert_one(
            {
                "_id": n,
                "filename": f"batch_1_part{n}.zip",
                "uploaded_by": "flor",
                "upload_date": datetime(2026, 1, n),
                "readable": True,
                "problem": "content",
                "batches": ["batch_1"],
                "parts": [{"id": "batch_1", "images": 1, "matched": 1}],
            }
        )
        db.mask_content.insert_one(content_result(n, [name]))
    receipt = my_work.my_receipts(db, flor, ["batch_1"])["batch_1"]
    assert receipt["filename"] == "batch_1_part3.zip"
    assert sorted(o["name"] for o in receipt["content"]) == [
        "a_mask.png",
        "b_mask.png",
        "c_mask.png",
    ]
    assert receipt["content_problems"] == 3
