"""Resolving upload documents to batch ids: every filename and metadata shape seen in the wild."""

from datetime import datetime

import pytest
from bson import Int64, ObjectId

from segcore.sync.index.sync_plan import desired_info, find_problems, plan_batch_updates
from segcore.uploads.uploads import resolve_batch_ids, upload_from_document
from tests.helpers import index_uploads


@pytest.mark.parametrize(
    "filename,metadata,expected",
    [
        ("masks_batch_400.tar.xz", {"uploaded_by": "flor", "batch_id": "batch_400"}, ["batch_400"]),
        ("masks_batch_400.tar.xz", None, ["batch_400"]),
        ("Batch-400.zip", {}, ["batch_400"]),
        ("batch_0400_part2.zip", {"uploaded_by": "x"}, ["batch_400"]),
        ("BATCH400.tgz", "not an object", ["batch_400"]),
        ("batch 400 masks.zip", [], ["batch_400"]),
        ("batch_12_to_batch_15.zip", {}, ["batch_12", "batch_15"]),
        ("final_masks.zip", {}, []),
        (None, None, []),
        (12345, {}, []),
        # metadata.batch_id decides when it is valid
        ("batch_1.zip", {"batch_id": "batch_0007"}, ["batch_7"]),
        ("whatever.zip", {"batch_id": 400}, ["batch_400"]),
        ("whatever.zip", {"batch_id": "400"}, ["batch_400"]),
        ("whatever.zip", {"batch_id": ["batch_1", 2]}, ["batch_1", "batch_2"]),
        ("Batch-9.zip", {"batch_id": "n/a"}, ["batch_9"]),
        ("Batch-9.zip", {"batch_id": ""}, ["batch_9"]),
        ("Batch-9.zip", {"batch_id": True}, ["batch_9"]),
        ("Batch-9.zip", {"batch_id": -3}, ["batch_9"]),
        ("Batch-9.zip", {"batch_id": {"$gt": 1}}, ["batch_9"]),
        ("Batch-9.zip", {"batch_id": None}, ["batch_9"]),
        # a whole number stored as a double (the legacy mongo shell, a tool that computed it)
        # is that number, as an Int64 is; a fraction, NaN or infinity names no batch
        ("whatever.zip", {"batch_id": 7.0}, ["batch_7"]),
        ("whatever.zip", {"batch_id": Int64(7)}, ["batch_7"]),
        ("whatever.zip", {"batch_id": [7.0, "batch_8"]}, ["batch_7", "batch_8"]),
        ("Batch-9.zip", {"batch_id": 7.5}, ["batch_9"]),
        ("masks.zip", {"batch_id": 7.5}, []),
        ("masks.zip", {"batch_id": float("nan")}, []),
        ("masks.zip", {"batch_id": float("inf")}, []),
        ("masks.zip", {"batch_id": 1e20}, []),
        # a batch list may hold ids naming no number (`liver_01`, `hígado_01`): when neither
        # the metadata nor the filename names a batch_<n>, the metadata's id counts as it is,
        # in NFC as the list keys it
        ("liver_01.zip", {"batch_id": "liver_01"}, ["liver_01"]),
        ("masks.zip", {"batch_id": " hi\u0301gado_01 "}, ["h\xedgado_01"]),
        ("masks.zip", {"batch_id": ["liver_01", "liver_02", "liver_01"]}, ["liver_01", "liver_02"]),
        ("masks.zip", {"batch_id": "n/a"}, []),
        ("masks.zip", {"batch_id": "  "}, []),
        ("masks.zip", {"batch_id": "~unmatched"}, []),
        # longer than a folder name: an earlier version imported such ids
        ("masks.zip", {"batch_id": "x" * 300}, ["x" * 300]),
        ("masks.zip", {"batch_id": "x" * 1025}, []),
    ],
)
def test_resolve_batch_ids(filename, metadata, expected):
    assert resolve_batch_ids(filename, metadata) == expected


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"_id": 1},
        {"_id": 2, "filename": None, "uploadDate": "yesterday", "length": "big"},
        {"_id": 3, "metadata": "oops"},
        {"_id": 4, "metadata": {"uploaded_by": ""}, "length": True},
    ],
)
def test_odd_documents_never_fail(doc):
    upload = upload_from_document(doc)
    # no length: 0 (legacy documents); a length that is not a size: unknown, never 0
    assert upload.length == (None if "length" in doc else 0)
    assert upload.upload_date is None and upload.batches == ()


def test_upload_fields():
    doc = {
        "_id": ObjectId(),
        "filename": "masks_batch_400.tar.xz",
        "length": 15728640,
        "uploadDate": datetime(2025, 10, 1, 10, 30),
        "metadata": {"uploaded_by": " flor "},
    }
    upload = upload_from_document(doc)
    assert (upload.size_mb, upload.uploaded_by, upload.batches) == (15.0, "flor", ("batch_400",))


def _uploads(*specs):
    return [
        upload_from_document(
            {
                "_id": i,
                "filename": name,
                "uploadDate": datetime(2025, 1, day),
                "length": 1,
                "metadata": {"uploaded_by": who},
            }
        )
        for i, (name, who, day) in enumerate(specs)
    ]


def test_desired_info_keeps_five_newest_and_uploaders():
    index = index_uploads(
        _uploads(
            *[
                (f"batch_1_part{d}.zip", who, d)
                for d, who in zip(
                    range(1, 8), ["flor", "Flor", "ceci", "flor", "flor", "flor", "flor"]
                )
            ]
        )
    )
    info = desired_info(index["batch_1"].values())
    assert info["file_count"] == 7 and info["latest_upload"] == datetime(2025, 1, 7)
    assert info["files"] == [f"batch_1_part{d}.zip" for d in (7, 6, 5, 4, 3)]
    assert info["uploaders"] == ["ceci", "flor"]


@pytest.mark.parametrize(
    "days,first",
    [
        ((3, 1, 2), datetime(2025, 1, 1)),
        ((5,), datetime(2025, 1, 5)),
        ((None, 4), datetime(2025, 1, 4)),  # an upload without a date does not count
    ],
)
def test_first_upload_is_the_earliest_dated_upload(days, first):
    uploads = [
        upload_from_document(
            {
                "_id": i,
                "filename": f"batch_1_{i}.zip",
                "length": 1,
                "uploadDate": datetime(2025, 1, d) if d else None,
            }
        )
        for i, d in enumerate(days)
    ]
    assert desired_info(index_uploads(uploads)["batch_1"].values())["first_upload"] == first


def test_an_upload_without_a_date_is_reported_unusable_not_a_delivery():
    """Nothing says when such work came in: the sync lists it as unusable, with the reason,
    instead of counting it for its batch."""
    document = {"_id": 0, "filename": "batch_1_0.zip", "length": 1, "uploadDate": None}
    index = index_uploads([upload_from_document(document)])
    assert "batch_1" not in index
    assert [(entry.id, reason) for entry, reason in index.unusable()] == [(0, "no uploadDate")]


def test_a_batch_synced_before_first_upload_existed_is_written_once():
    index = index_uploads(_uploads(("batch_1.zip", "flor", 1), ("batch_1_b.zip", "flor", 2)))
    info = desired_info(index["batch_1"].values())
    old_layout = {k: v for k, v in info.items() if k != "first_upload"}
    [(doc_id, to_set, _)] = plan_batch_updates(
        [{"_id": 1, "id": "batch_1", "mongo_uploaded": True, "training_metrics_info": old_layout}],
        index,
    )
    assert to_set["training_metrics_info"]["first_upload"] == datetime(2025, 1, 1)
    assert (
        plan_batch_updates(
            [{"_id": 1, "id": "batch_1", "mongo_uploaded": True, "training_metrics_info": info}],
            index,
        )
        == []
    )


def test_plan_writes_only_what_differs():
    index = index_uploads(_uploads(("batch_1.zip", "flor", 1), ("batch_2.zip", "flor", 2)))
    info1 = desired_info(index["batch_1"].values())
    batches = [
        {"_id": 1, "id": "batch_1", "mongo_uploaded": True, "training_metrics_info": info1},
        {"_id": 2, "id": "Batch-0002", "mongo_uploaded": False},
        {
            "_id": 3,
            "id": "batch_3",
            "mongo_uploaded": True,
            "training_metrics_info": {"file_count": 1},
        },
        {"_id": 4, "id": "batch_4", "mongo_uploaded": False},
        {"_id": 5, "id": "batch_5"},
        {"_id": 6, "id": "odd-folder"},
    ]
    plan = {
        doc_id: (to_set, to_unset)
        for doc_id, to_set, to_unset in plan_batch_updates(batches, index)
    }
    assert set(plan) == {2, 3, 5, 6}
    assert plan[2][0]["mongo_uploaded"] is True
    assert plan[3] == ({"mongo_uploaded": False}, {"training_metrics_info": ""})
    assert plan[5] == ({"mongo_uploaded": False}, None)


def test_problems_orphans_unmatched_mismatches():
    index = index_uploads(
        _uploads(
            ("batch_1.zip", "Flór", 1),
            ("batch_2.zip", "ceci", 2),
            ("batch_9999.zip", "flor", 3),
            ("final.zip", "flor", 4),
            ("batch_3.zip", "flor", 5),
        )
    )
    batches = [
        {"id": "batch_1", "assignee": "flor"},
        {"id": "batch_2", "assignee": "Flor"},
        {"id": "batch_3", "assignee": None},
    ]
    (n_orphans, orphans), (n_unmatched, unmatched), (n_mismatches, mismatches), _ = find_problems(
        batches, index
    )
    assert (n_orphans, n_unmatched, n_mismatches) == (1, 1, 1)
    assert [(o.filename, o.batches) for o in orphans] == [("batch_9999.zip", ["batch_9999"])]
    assert [u.filename for u in unmatched] == ["final.zip"]
    assert [(m.filename, m.assignee) for m in mismatches] == [("batch_2.zip", "Flor")]


def test_problem_lists_are_capped_but_counted():
    index = index_uploads(_uploads(*[(f"batch_{900 + d}.zip", "x", d) for d in range(1, 21)]))
    (count, newest), _, _, _ = find_problems([], index, keep=3)
    assert count == 20 and [f.filename for f in newest] == [
        "batch_920.zip",
        "batch_919.zip",
        "batch_918.zip",
    ]
