"""Upload documents another tool wrote badly never stop a sync: they are reported as unusable,
with the reason, and every other upload is synced (full and incremental runs, the CLI)."""

import json
from datetime import datetime

import bson
import pytest
from bson import Binary, Decimal128, Int64, ObjectId
from bson.datetime_ms import DatetimeMS

from segcore.core.naming import batch_ids_in, canonical_batch_id
from segcore.sync.index import sync_index
from segcore.sync.index.sync_index import PARTS, decode_part, encode_segments, read_index
from segcore.sync.sync import last_run, run_sync
from segcore.uploads.uploads import MAX_BATCHES, MAX_FILENAME, upload_from_document, upload_key
from tests.helpers import index_uploads

T0 = datetime(2025, 10, 1, 10, 30)
GOOD = {"filename": "batch_3.zip", "uploadDate": T0, "length": 10, "metadata": {}}
MANY = "_".join(f"batch_{n}" for n in range(1, 14001)) + ".zip"


@pytest.mark.parametrize(
    "changes,reason",
    [
        ({"length": float("nan")}, "length is nan"),
        ({"length": float("inf")}, "length is inf"),
        ({"length": float("-inf")}, "length is -inf"),
        ({"length": 1e300}, "length 1e+300 is not a file size"),
        ({"length": -5}, "length -5 is not a file size"),
        ({"length": "big"}, "length is not a number (str): 'big'"),
        ({"length": Decimal128("12")}, "length is not a number (Decimal128): 12"),
        ({"length": [1]}, "length is not a number (list): [1]"),
        ({"_id": {"a": 1}}, "_id is not an id (dict)"),
        ({"_id": 1.5}, "_id is not an id (float)"),
        ({"_id": None}, "_id is not an id (NoneType)"),
        ({"filename": None}, "no filename"),
        ({"filename": 42}, "filename is not text (int)"),
        ({"filename": {"x": 1}}, "filename is not text (dict)"),
        ({"uploadDate": "yesterday"}, "uploadDate is not a date (str)"),
        ({"uploadDate": None}, "no uploadDate"),
        ({"uploadDate": DatetimeMS(2**62)}, "uploadDate is not a date (DatetimeMS)"),
        ({"metadata": {"uploaded_by": {"name": "flor"}}}, "uploaded_by is not a name (dict)"),
        ({"metadata": {"uploaded_by": True}}, "uploaded_by is not a name (bool)"),
        ({"metadata": {"uploaded_by": float("nan")}}, "uploaded_by is not a name (float)"),
        ({"metadata": {"uploaded_by": T0}}, "uploaded_by is not a name (datetime)"),
        ({"metadata": {"uploaded_by": ObjectId()}}, "uploaded_by is not a name (ObjectId)"),
        ({"metadata": {"uploaded_by": Decimal128("1")}}, "uploaded_by is not a name (Decimal128)"),
        ({"metadata": {"uploaded_by": "x" * 10_000}}, "uploaded_by is 10,000 characters long"),
        ({"filename": MANY}, f"names more than {MAX_BATCHES} batches"),
        (
            {"metadata": {"batch_id": list(range(100_000))}},
            f"names more than {MAX_BATCHES} batches",
        ),
    ],
)
def test_a_bad_document_is_unusable_with_its_reason(changes, reason):
    upload = upload_from_document({"_id": ObjectId(), **GOOD, **changes})
    assert upload.problem == reason
    assert upload.batches == ()
    assert len(upload.filename) <= MAX_FILENAME
    hash(upload.id)  # the index files it by this key


@pytest.mark.parametrize(
    "changes",
    [
        {"_id": 7},
        {"_id": "legacy-7"},
        {"_id": Int64(9)},
        {"_id": Binary(b"\x01" * 16, 4)},
        {"length": 12.0},
        {"length": Int64(3)},
        {"length": None},
        {"metadata": None},
        {"metadata": {"uploaded_by": 17}},
        {"filename": "batch_3_" + "x" * 5000 + ".zip"},
    ],
)
def test_odd_but_harmless_documents_still_count(changes):
    upload = upload_from_document({"_id": ObjectId(), **GOOD, **changes})
    assert upload.problem is None and upload.batches == ("batch_3",)


def test_a_long_filename_is_cut_and_says_so():
    upload = upload_from_document({"_id": 1, **GOOD, "filename": "batch_3_" + "x" * 5000})
    assert len(upload.filename) <= MAX_FILENAME
    kept = len(upload.filename.split("…")[0])
    assert upload.filename.endswith(f"…(+{5008 - kept:,} characters)")


def test_odd_ids_get_a_stable_hashable_key():
    assert upload_key({"a": 1}) == upload_key({"a": 1}) != upload_key({"a": 2})
    assert upload_key(float("nan")) == upload_key(float("nan"))
    assert len(upload_key({"blob": "x" * 100_000})) < 100
    oid = ObjectId()
    assert upload_key(oid) is oid


@pytest.mark.parametrize(
    "text,expected",
    [
        ("batch_" + "9" * 5000, []),  # Python refuses to convert 4,300+ digits
        ("batch_" + "9" * 16 + "_batch_4", ["batch_4"]),  # would not fit a stored integer
        ("batch_" + "0" * 30 + "12", ["batch_12"]),  # leading zeros do not count
    ],
)
def test_batch_numbers_too_long_to_be_numbers_are_ignored(text, expected):
    assert batch_ids_in(text) == expected
    assert canonical_batch_id(text) == (expected[0] if expected else None)


def test_a_declared_digit_that_is_not_decimal_does_not_crash():
    upload = upload_from_document({"_id": 1, **GOOD, "metadata": {"batch_id": "²"}})
    assert upload.batches == ("batch_3",)


def _roundtrip(segments):
    back: dict = {}
    for segment in segments:
        stored = bson.encode(segment)
        assert len(stored) < 16 * 1024 * 1024 // 3
        decode_part(bson.decode(stored), back)
    return back


def test_a_part_far_over_16_mb_spills_into_segments_that_round_trip():
    docs = [
        {
            "_id": ObjectId(),
            "filename": f"batch_5_{n}_" + "é" * 500,
            "uploadDate": T0,
            "length": n,
            "metadata": {"uploaded_by": f"person {n % 300}"},
        }
        for n in range(20_000)
    ]  # about 20 MB of names in one batch's entries
    index = index_uploads(upload_from_document(d) for d in docs)
    segments = encode_segments(index)
    assert len(segments) > 4 and segments[0]["s"] == len(segments)
    assert _roundtrip(segments) == index


def test_an_unusable_upload_is_filed_once_under_its_reason():
    index = index_uploads(
        [
            upload_from_document({"_id": 1, **GOOD, "filename": MANY}),
            upload_from_document({"_id": 2, **GOOD}),
        ]
    )
    assert set(index) == {"~unusable:names more than 500 batches", "batch_3"}


# --- against the server -------------------------------------------------------------------

BAD = [
    {"_id": {"nested": "id"}, "filename": "batch_1.zip", "length": 5, "uploadDate": T0},
    {"_id": ObjectId(), "filename": "batch_1_nan.zip", "length": float("nan"), "uploadDate": T0},
    {"_id": ObjectId(), "filename": "batch_1_inf.zip", "length": float("inf"), "uploadDate": T0},
    {"_id": ObjectId(), "filename": "batch_1_huge.zip", "length": 1e300, "uploadDate": T0},
    {"_id": ObjectId(), "filename": "batch_1_neg.zip", "length": -1, "uploadDate": T0},
    {"_id": ObjectId(), "filename": "batch_1_text.zip", "length": "ten", "uploadDate": T0},
    {"_id": ObjectId(), "length": 5, "uploadDate": T0, "metadata": {"batch_id": "batch_1"}},
    {"_id": ObjectId(), "filename": "batch_1_date.zip", "length": 5, "uploadDate": "2025-10-01"},
    {"_id": ObjectId(), "filename": MANY, "length": 5, "uploadDate": T0},
    {
        "_id": ObjectId(),
        "filename": "batch_1_meta.zip",
        "length": 5,
        "uploadDate": T0,
        "metadata": {"uploaded_by": "x" * 500, "notes": "y" * 3_000_000},
    },
]


@pytest.fixture
def bad_lab(dbs):
    dbs.work.batches.insert_many([{"id": f"batch_{n}"} for n in (1, 2, 3)])
    dbs.masks_files.insert_many(
        [{**GOOD, "_id": ObjectId(), "filename": "batch_2.zip"}] + [dict(d) for d in BAD]
    )
    return dbs


def test_bad_uploads_never_stop_a_full_sync(bad_lab):
    report = run_sync(bad_lab, full=True)
    assert report.unusable == len(BAD) and report.total_files == len(BAD) + 1
    assert report.batches_with_masks == 1  # batch_2; every upload naming batch_1 is unusable
    assert bad_lab.work.batches.find_one({"id": "batch_2"})["mongo_uploaded"] is True
    assert bad_lab.work.batches.find_one({"id": "batch_1"})["mongo_uploaded"] is False
    reasons = {f.problem for f in report.unusable_uploads}
    assert {
        "_id is not an id (dict)",
        "length is nan",
        "length is inf",
        "no filename",
        "length 1e+300 is not a file size",
        "uploadDate is not a date (str)",
        "names more than 500 batches",
        "uploaded_by is 500 characters long",
    } <= reasons
    assert last_run(bad_lab.work)["unusable"] == len(BAD)
    assert len(last_run(bad_lab.work)["unusable_uploads"]) == len(BAD)
    assert run_sync(bad_lab, full=True).batches_updated == 0  # and again, for good


def test_bad_uploads_arriving_later_never_stop_an_incremental_sync(dbs):
    dbs.work.batches.insert_many([{"id": "batch_1"}, {"id": "batch_2"}])
    run_sync(dbs, full=True)
    dbs.masks_files.insert_many(
        [dict(d) for d in BAD] + [{**GOOD, "_id": ObjectId(), "filename": "batch_2.zip"}]
    )
    report = run_sync(dbs)
    assert not report.full and report.unusable == len(BAD) and report.new_files == len(BAD) + 1
    assert dbs.work.batches.find_one({"id": "batch_2"})["mongo_uploaded"] is True
    dbs.masks_files.delete_one({"_id": {"nested": "id"}})
    report = run_sync(dbs)
    assert (report.full, report.unusable, report.removed_files) == (False, len(BAD) - 1, 1)


def test_bad_uploads_are_compared_by_id_without_change_streams(bad_lab, monkeypatch):

    run_sync(bad_lab, full=True)
    bad_lab.work.app_meta.update_one({"_id": "sync"}, {"$set": {"token": None}})
    bad_lab.masks_files.delete_one({"_id": {"nested": "id"}})
    bad_lab.masks_files.insert_one({"_id": {"other": 1}, "filename": "x.zip", "length": 1})
    report = run_sync(bad_lab)
    assert not report.full and (report.new_files, report.removed_files) == (1, 1)
    assert report.unusable == len(BAD)


def test_the_stored_index_spills_and_round_trips(dbs, monkeypatch):
    """Pathological uploads (long names, hundreds of batches each) with a small segment size
    standing in for the 16 MB limit: every part stays under it and the index comes back."""
    monkeypatch.setattr(sync_index, "SEGMENT_BYTES", 10_000)
    dbs.work.batches.insert_many([{"id": f"batch_{n}"} for n in range(1, 501)])
    names = ["_".join(f"batch_{n}" for n in range(1 + k % 7, 500, 7)) + f"_{k}" for k in range(70)]
    dbs.masks_files.insert_many(
        [
            {"_id": ObjectId(), "filename": name + ".zip", "length": 3, "uploadDate": T0}
            for name in names + [MANY]
        ]
    )
    report = run_sync(dbs, full=True)
    assert (report.unusable, report.batches_with_masks) == (1, 499)
    stored = list(dbs.work.sync_index.find())
    assert len(stored) > PARTS
    assert max(len(bson.encode(d)) for d in stored) < 16_000
    expected = index_uploads(upload_from_document(d) for d in dbs.masks_files.find())
    assert read_index(dbs.work) == {k: v for k, v in expected.items() if v}
    dbs.masks_files.delete_many({"filename": {"$ne": MANY}})
    assert run_sync(dbs, full=True).batches_with_masks == 0
    assert dbs.work.sync_index.count_documents({}) <= PARTS  # stale overflow removed


def test_cli_reports_unusable_uploads_and_lists_recent_ones(bad_lab, run_cli):
    out = run_cli("sync")
    assert out.returncode == 0, out.stderr
    assert f"{len(BAD)} unusable uploads" in out.stdout
    assert "unusable: batch_1_nan.zip: length is nan" in out.stderr
    report = json.loads(run_cli("sync", "--full", "--json").stdout)
    assert report["unusable"] == len(BAD) and len(report["unusable_uploads"]) == len(BAD)
    listed = json.loads(run_cli("uploads", "--unusable", "--json").stdout)
    assert {row["problem"] for row in listed} >= {"length is inf", "no filename"}
    recent = run_cli("uploads", "--recent", "50")
    assert recent.returncode == 0, recent.stderr
    assert "unusable: length is nan" in recent.stdout and "batch_2.zip" in recent.stdout


def test_an_upload_whose_length_is_text_is_listed_with_that_text_not_as_0_mb(dbs, run_cli):
    """Another tool stored the length as text or Decimal128: the upload is unusable, and its
    listing names the value as stored with the size unknown, never a size it never held."""
    dbs.work.batches.insert_one({"id": "batch_1", "status": "pending"})
    dbs.masks_files.insert_many(
        [
            {**GOOD, "_id": ObjectId(), "filename": "batch_1.zip", "length": "15728640"},
            {**GOOD, "_id": ObjectId(), "filename": "batch_1_b.zip", "length": Decimal128("15")},
        ]
    )
    assert run_cli("sync").returncode == 0
    listed = run_cli("uploads", "--unusable")
    assert listed.returncode == 0, listed.stderr
    assert "MB" not in listed.stdout and listed.stdout.count("unknown") == 2
    assert "length is not a number (str): '15728640'" in listed.stdout
    assert "length is not a number (Decimal128): 15" in listed.stdout
    rows = json.loads(run_cli("uploads", "--unusable", "--json").stdout)
    assert [(r["size_mb"], r["size_bytes"]) for r in rows] == [(None, None), (None, None)]
    recent = json.loads(run_cli("uploads", "--recent", "5", "--json").stdout)
    assert {r["size_mb"] for r in recent} == {None}


def test_an_upload_without_an_upload_date_is_unusable_and_reported(dbs, run_cli):
    """Another tool's document without `uploadDate`: it counted as delivered with no date,
    was left out of the uploads per day and reported nowhere. It is unusable, named by the
    sync and by `uploads --unusable`, like a date stored as text."""
    dbs.work.batches.insert_many([{"id": "batch_1"}, {"id": "batch_2"}])
    dbs.masks_files.insert_many(
        [
            {"_id": ObjectId(), "filename": "masks_batch_1.zip", "length": 5, "metadata": {}},
            {**GOOD, "_id": ObjectId(), "filename": "batch_2.zip"},
        ]
    )
    out = run_cli("sync")
    assert out.returncode == 0, out.stderr
    assert "1 unusable upload" in out.stdout
    assert "unusable: masks_batch_1.zip: no uploadDate" in out.stderr
    listed = run_cli("uploads", "--unusable")
    assert "masks_batch_1.zip" in listed.stdout and "unusable: no uploadDate" in listed.stdout
    batch_1 = dbs.work.batches.find_one({"id": "batch_1"})
    assert batch_1["mongo_uploaded"] is False
    assert dbs.work.batches.find_one({"id": "batch_2"})["mongo_uploaded"] is True
