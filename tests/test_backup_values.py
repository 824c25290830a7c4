"""Every backup restores to the same documents, types included (issue 20, item 3).

Documents are compared as the BSON bytes the server returns, so a `$numberLong` that came back
as a 32-bit integer, a UUID that came back as another binary subtype or a plain document that
came back as a date would all fail.
"""

from __future__ import annotations

import gzip
import uuid
from datetime import datetime

import bson
import pytest
from bson import Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.codec_options import CodecOptions
from bson.datetime_ms import DatetimeMS
from bson.raw_bson import RawBSONDocument

from segcore.backups import backup, backup_codec
from segcore.backups.backup_restore import restore_backup

RAW = CodecOptions(document_class=RawBSONDocument)


def nested(depth: int):
    value = {"leaf": Int64(1)}
    for level in range(depth):
        value = {f"level{level}": [value]}
    return value


# Every kind of value an import or another tool can store in the app's database.
VALUES = {
    "objectid": ObjectId("5f1e2d3c4b5a697887766554"),
    "date": datetime(2024, 2, 29, 23, 59, 1, 123000),
    "date year 1": datetime(1, 1, 1),
    "date year 9999": datetime(9999, 12, 31, 23, 59, 59, 999000),
    "int32": 7,
    "int32 min": -(2**31),
    "int64 small": Int64(5),
    "int64 min": Int64(-(2**63)),
    "int64 max": 2**63 - 1,
    "double": 1.5,
    "nan": float("nan"),
    "inf": float("inf"),
    "-inf": float("-inf"),
    "-0.0": -0.0,
    "decimal": Decimal128("1.10"),
    "decimal nan": Decimal128("NaN"),
    "decimal -inf": Decimal128("-Infinity"),
    "regex": Regex("^batch_\\d+$", "imsx"),
    "binary": Binary(b"\x00\xff\x10", 0),
    "uuid standard": Binary(uuid.UUID(int=7).bytes, 4),
    "uuid legacy": Binary(b"1" * 16, 3),
    "md5": Binary(b"m" * 16, 5),
    "user binary": Binary(b"user", 128),
    "bytes": b"raw",
    "code": Code("function () { return 1; }"),
    "code with scope": Code("f()", {"a": 1}),
    "timestamp": Timestamp(1_700_000_000, 3),
    "minkey": MinKey(),
    "maxkey": MaxKey(),
    "dbref": DBRef("batches", ObjectId("5f1e2d3c4b5a697887766554"), "other", extra=1),
    "null": None,
    "true": True,
    "empty text": "",
    "text": "tab\t nul\x00 \u2028 ñ 🧠 \x1b[31m",
    "looks like a date": {"$date": "next monday"},
    "looks like a valid date": {"$date": {"$numberLong": "1700000000000"}},
    "looks like an oid": {"$oid": "5f1e2d3c4b5a697887766554"},
    "bad oid": {"$oid": 12},
    "looks like a long": {"$numberLong": "12"},
    "looks like a decimal": {"$numberDecimal": "x"},
    "looks like binary": {"$binary": {"base64": "AA==", "subType": "00"}},
    "looks like a regex": {"$regex": "a", "$options": ""},
    "dollar and plain": {"$x": 1, "y": 2},
    "our own escape key": {"$segcoreKeys": [["a", 1]]},
    "dotted keys": {"a.b": {"c.d": 1}},
    "empty key": {"": 1},
    "dollar in a list": [{"$date": "x"}, [{"$oid": "no"}]],
    "half a dbref": {"$ref": "batches"},
    "deep": nested(90),
    "mixed list": [1, "a", None, [], {}],
    "big text": "x" * 1_000_000,
}


def raw_documents(collection) -> list[bytes]:
    return sorted(bytes(d.raw) for d in collection.with_options(codec_options=RAW).find())


@pytest.fixture
def every_value(db):
    """An extra field of imported batches holding each value, and odd `_id`s of all kinds."""
    db.batches.insert_many(
        [
            {"id": f"batch_{n}", "extra": value, "kind": kind}
            for n, (kind, value) in enumerate(VALUES.items(), 1)
        ]
    )
    db.odd_ids.insert_many(
        [
            {"_id": ident}
            for ident in (
                "text",
                12,
                Int64(13),
                1.5,
                Binary(b"id", 0),
                {"oid": "not one"},
                {"a": [1, 2]},
                datetime(2020, 1, 1),
                uuid.UUID(int=1).hex,
            )
        ]
    )
    db.top_level.insert_one({"_id": 1, "$date": "a top-level dollar key", "a.b": 2})
    return db


def test_every_kind_of_value_restores_byte_for_byte(every_value, tmp_path):
    db = every_value
    before = {name: raw_documents(db[name]) for name in ("batches", "odd_ids", "top_level")}
    summary = backup.backup_to_file(db, tmp_path / "values.jsonl.gz")
    assert backup.verify_backup(summary.path).documents == summary.documents
    for name in before:
        db.drop_collection(name)
    restore_backup(db, summary.path, "test")
    for name, raws in before.items():
        assert raw_documents(db[name]) == raws, name
    restored = db.batches.find_one({"kind": "looks like a date"})
    assert restored["extra"] == {"$date": "next monday"}  # a plain document, not a date


def test_the_file_shows_escaped_documents_plainly(every_value, tmp_path):
    summary = backup.backup_to_file(every_value, tmp_path / "values.jsonl.gz")
    with gzip.open(summary.path, "rt") as text:
        body = text.read()
    assert '{"$segcoreKeys": [["$date", "next monday"]]}' in body
    assert '{"$numberLong": "5"}' in body and '"$numberDecimal": "1.10"' in body


@pytest.mark.parametrize(
    "value",
    [
        DatetimeMS(2**62),
        DatetimeMS(-(2**62)),
        DatetimeMS(253402300800000),
        DatetimeMS(-62135596800001),
    ],
    ids=["far future", "far past", "year 10000", "year 0"],
)
def test_dates_python_cannot_hold_round_trip_through_the_codec(value):
    # A real MongoDB stores them (the embedded server cannot), so the codec is checked alone.
    doc = {"_id": 1, "at": value, "nested": [{"at": value}]}
    line = backup_codec.dumps({"c": "batches", "d": doc})
    assert bson.encode(backup_codec.loads(line)["d"]) == bson.encode(doc)


@pytest.mark.parametrize(
    "text",
    [
        '{"$segcoreKeys": 1}',
        '{"$segcoreKeys": [[1, 2]]}',
        '{"$segcoreKeys": [["a"]]}',
        '{"$date": "next monday"}',
        '{"$oid": "5f1e2d3c4b5a69788776655g"}',
        '{"$numberLong": "1e3"}',
    ],
)
def test_text_the_codec_did_not_write_is_refused(text):
    with pytest.raises(Exception) as exc:
        backup_codec.loads(text)
    assert isinstance(exc.value, (ValueError, TypeError, KeyError, bson.errors.BSONError))


def test_indexes_come_back_with_their_options(db, client, tmp_path):
    db.notes.insert_many([{"n": n, "at": datetime(2024, 1, 1), "who": f"p{n}"} for n in range(5)])
    db.notes.create_index([("who", 1), ("n", -1)], unique=True, name="who_n")
    db.notes.create_index("n", sparse=True, partialFilterExpression={"n": {"$gt": 1}})
    db.notes.create_index("at", expireAfterSeconds=3600)
    summary = backup.backup_to_file(db, tmp_path / "indexes.jsonl.gz")
    target = client[f"{db.name}_copy"]
    try:
        restore_backup(target, summary.path, "test")
        assert target.notes.index_information() == db.notes.index_information()
    finally:
        client.drop_database(target.name)
