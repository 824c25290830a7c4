"""The compact stored form of the sync index: what goes in comes back out, odd uploads too."""

import pickle
from datetime import datetime, timedelta, timezone

from bson import BSON, ObjectId

from segcore.sync.index import sync_index
from segcore.sync.index.index_entry import IndexEntry, PackedEntry, date_order, entry_of
from segcore.sync.index.sync_index import (
    UNMATCHED,
    SyncIndex,
    append_journal,
    decode_part,
    each_upload,
    encode_part,
    id_key,
    keys_holding,
    read_index,
    stored_upload_ids,
    write_index,
)

A, B, C = ObjectId(), ObjectId(), ObjectId()
INDEX = {
    "batch_1": {
        A: (A, "batch_1.zip", "flor", datetime(2025, 1, 2, 3, 4, 5, 678000), 2048),
        B: (B, "batch_1_to_batch_2.zip", None, None, 0),
    },
    "batch_2": {B: (B, "batch_1_to_batch_2.zip", None, None, 0)},
    UNMATCHED: {
        "legacy-7": ("legacy-7", "final.zip", "ceci", datetime(2024, 5, 1), 10),
        C: (C, "odd\x00name.zip", "Flór", datetime(1960, 1, 1), 5),
    },
}


def roundtrip(index):
    stored = BSON.encode(encode_part(index)).decode()  # as the server would give it back
    decoded: dict = {}
    decode_part(stored, decoded)
    return decoded


def test_every_entry_comes_back_unchanged():
    assert roundtrip(INDEX) == INDEX


USUAL = [
    (A, "batch_1.zip", "flor", datetime(2025, 1, 2, 3, 4, 5, 678901), 2048),
    (B, "lote 7 — máscaras.zip", "Flór Núñez", None, 0),
    (C, "odd\x00name.zip", None, datetime(1960, 1, 1, 0, 0, 0, 1), 2**63 - 1),
    (A, "", "", datetime.min, -(2**63) + 1),
    (B, "x.zip", "ceci", datetime.max, 1),
]


def test_an_entry_is_packed_and_reads_back_every_value():
    """The usual upload is held as one bytes object; each field, unpacking, equality and
    hashing read as the tuple of the same values would."""
    for values in USUAL:
        entry = entry_of(*values)
        assert type(entry) is PackedEntry
        assert tuple(entry) == values and entry == IndexEntry(*values)
        assert (entry.id, entry.filename, entry.uploader, entry.date, entry.length) == values
        assert hash(entry) == hash(IndexEntry(*values)) and not entry != IndexEntry(*values)
        copied = pickle.loads(pickle.dumps(entry))  # as a cache or a worker process keeps it
        assert type(copied) is PackedEntry and copied == entry
    assert entry_of(*USUAL[0]) != entry_of(*USUAL[1])


def test_values_that_do_not_pack_stay_as_they_are():
    odd = [
        ("legacy-7", "final.zip", "ceci", datetime(2024, 5, 1), 10),
        (A, "a.zip", "x", datetime(2025, 1, 1, tzinfo=timezone.utc), 1),
        (A, "a.zip", "x", None, 2.5),
        (A, "a.zip", "x", None, True),
        (A, "a.zip", "x" * 70_000, None, 1),
        (A, "a.zip", None, None, 2**63),
    ]
    for values in odd:
        entry = entry_of(*values)
        assert type(entry) is IndexEntry and entry == values


def test_date_order_sorts_uploads_as_their_dates_undated_first():
    dates = [
        datetime(2025, 1, 2, 3, 4, 5, 1),
        None,
        datetime(1960, 1, 1),
        datetime(2025, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=2))),  # 02:04:05 UTC
        datetime(2025, 1, 2, 3, 4, 5),
    ]
    made = [entry_of(ObjectId(), "a.zip", None, d, 1) for d in dates]
    made += [IndexEntry(f"legacy-{n}", "a.zip", None, d, 1) for n, d in enumerate(dates)]
    in_order = [e.date for e in sorted(made, key=date_order)]
    assert in_order == [None, None] + [dates[i] for i in (2, 2, 3, 3, 4, 4, 0, 0)]


def test_packed_entries_come_back_unchanged_from_the_stored_form():
    """Stored dates keep their milliseconds, as they always did; everything else is exact."""
    index = {"batch_1": {}, UNMATCHED: {}}
    for n, values in enumerate(USUAL):
        values = (ObjectId(), *values[1:])
        index["batch_1" if n % 2 else UNMATCHED][values[0]] = entry_of(*values)
    long_name = entry_of(ObjectId(), "b.zip", "ñ" * 40_000, datetime(2025, 1, 1), 7)
    index["batch_1"][long_name.id] = long_name  # too long to pack: kept as a tuple
    back = roundtrip(index)
    assert type(back["batch_1"][long_name.id]) is IndexEntry
    for key, entries in index.items():
        for upload_id, entry in entries.items():
            date = entry.date and entry.date.replace(
                microsecond=entry.date.microsecond // 1000 * 1000
            )
            assert back[key][upload_id] == (*tuple(entry)[:3], date, entry.length)


def test_a_date_with_a_time_zone_is_kept_as_written():
    aware = {"batch_3": {A: (A, "batch_3.zip", "x", datetime(2025, 1, 1, tzinfo=timezone.utc), 1)}}
    assert roundtrip(aware)["batch_3"][A][3] == datetime(2025, 1, 1)


def test_empty_keys_are_not_stored():
    assert roundtrip({"batch_1": {}, **INDEX}) == INDEX


def test_the_digest_ignores_the_order_uploads_were_read_in():
    reordered = {
        key: dict(reversed(list(entries.items()))) for key, entries in reversed(list(INDEX.items()))
    }
    assert encode_part(reordered)["d"] == encode_part(INDEX)["d"]
    changed = {**INDEX, "batch_2": {B: (B, "batch_1_to_batch_2.zip", "flor", None, 0)}}
    assert encode_part(changed)["d"] != encode_part(INDEX)["d"]


def test_keys_holding_finds_every_key_of_an_upload():
    assert keys_holding(INDEX, [B, "legacy-7", ObjectId()]) == {
        B: ["batch_1", "batch_2"],
        "legacy-7": [UNMATCHED],
    }


def test_each_upload_is_told_once_with_all_its_keys_in_the_order_of_its_first():
    """An upload naming two batches counts once in the charts and the activity, whether the
    index was built upload by upload (it knows which name several batches), read back from the
    database (it does not), or knows of an upload that has since lost a key."""
    expected = [
        (A, INDEX["batch_1"][A], ("batch_1",)),
        (B, INDEX["batch_1"][B], ["batch_1", "batch_2"]),
        ("legacy-7", INDEX[UNMATCHED]["legacy-7"], (UNMATCHED,)),
        (C, INDEX[UNMATCHED][C], (UNMATCHED,)),
    ]
    assert [tuple(u) for u in each_upload(INDEX)] == expected
    built = SyncIndex()
    built.several = set()
    for entries in INDEX.values():
        for upload_id, entry in entries.items():
            if upload_id not in built.several:
                built.file(upload_id, entry, [k for k in INDEX if upload_id in INDEX[k]])
    assert built.several == {B}
    assert [tuple(u) for u in each_upload(built)] == expected
    built["batch_2"].pop(B)  # removed from one batch: one key left
    keys = [u[2] for u in each_upload(built)]
    assert keys == [("batch_1",), ["batch_1"], (UNMATCHED,), (UNMATCHED,)]


def _entry(n, key="batch_1"):
    upload_id = ObjectId()
    return upload_id, (
        upload_id,
        f"{key}_{n}.zip",
        "flor",
        datetime(2025, 1, 1) + timedelta(minutes=n),
        n,
    )


def _stored(index):
    return {k: dict(v) for k, v in index.items() if v}


def test_the_journal_replays_over_the_parts_and_the_next_write_folds_it(db, monkeypatch):
    """A live group journals only the keys it changed; a restart reads the same index, the
    later write of a key wins, an emptied key is gone, and the next full write folds it all."""
    index = {f"batch_{n}": dict([_entry(n, f"batch_{n}")]) for n in range(1, 40)}
    write_index(db, index)
    upload_id, entry = _entry(50)
    index["batch_1"][upload_id] = entry
    index["batch_2"] = {}
    index["batch_99"] = dict([_entry(99, "batch_99")])
    assert append_journal(db, index, {"batch_1", "batch_2", "batch_99"}) == 3
    assert read_index(db) == _stored(index)
    del index["batch_1"][upload_id]  # a second group undoes part of the first
    monkeypatch.setattr(sync_index, "SEGMENT_BYTES", 300)  # this write spans several documents
    index.update(
        {
            f"batch_{n}": dict([_entry(n, f"batch_{n}"), _entry(n + 1, f"batch_{n}")])
            for n in range(3, 9)
        }
    )
    append_journal(db, index, {"batch_1", *(f"batch_{n}" for n in range(3, 9))})
    assert db.sync_index.count_documents({"_id": {"$regex": "^j"}}) > 2
    assert read_index(db) == _stored(index)
    # What a full read tells new uploads by: the same ids, read without their entries.
    index[UNMATCHED] = {"legacy-7": ("legacy-7", "final.zip", "ceci", None, 10)}
    append_journal(db, index, {UNMATCHED})
    assert stored_upload_ids(db) == {id_key(i) for entries in index.values() for i in entries}
    assert stored_upload_ids(db) >= {upload_id.binary for upload_id in index["batch_3"]}
    assert upload_id.binary not in stored_upload_ids(db)  # removed by the second group
    write_index(db, index, ())  # folds the journal into the parts it touches
    assert db.sync_index.count_documents({"_id": {"$regex": "^j"}}) == 0
    assert read_index(db) == _stored(index)
