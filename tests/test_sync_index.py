"""The compact stored form of the sync index: what goes in comes back out, odd uploads too."""

from datetime import datetime, timezone

from bson import BSON, ObjectId

from segcore.sync_index import UNMATCHED, decode_part, encode_part, keys_holding

A, B, C = ObjectId(), ObjectId(), ObjectId()
INDEX = {
    "batch_1": {A: (A, "batch_1.zip", "flor", datetime(2025, 1, 2, 3, 4, 5, 678000), 2048),
                B: (B, "batch_1_to_batch_2.zip", None, None, 0)},
    "batch_2": {B: (B, "batch_1_to_batch_2.zip", None, None, 0)},
    UNMATCHED: {"legacy-7": ("legacy-7", "final.zip", "ceci", datetime(2024, 5, 1), 10),
                C: (C, "odd\x00name.zip", "Flór", datetime(1960, 1, 1), 5)},
}


def roundtrip(index):
    stored = BSON.encode(encode_part(index)).decode()  # as the server would give it back
    decoded: dict = {}
    decode_part(stored, decoded)
    return decoded


def test_every_entry_comes_back_unchanged():
    assert roundtrip(INDEX) == INDEX


def test_a_date_with_a_time_zone_is_kept_as_written():
    aware = {"batch_3": {A: (A, "batch_3.zip", "x", datetime(2025, 1, 1, tzinfo=timezone.utc), 1)}}
    assert roundtrip(aware)["batch_3"][A][3] == datetime(2025, 1, 1)


def test_empty_keys_are_not_stored():
    assert roundtrip({"batch_1": {}, **INDEX}) == INDEX


def test_the_digest_ignores_the_order_uploads_were_read_in():
    reordered = {key: dict(reversed(list(entries.items()))) for key, entries in
                 reversed(list(INDEX.items()))}
    assert encode_part(reordered)["d"] == encode_part(INDEX)["d"]
    changed = {**INDEX, "batch_2": {B: (B, "batch_1_to_batch_2.zip", "flor", None, 0)}}
    assert encode_part(changed)["d"] != encode_part(INDEX)["d"]


def test_keys_holding_finds_every_key_of_an_upload():
    assert keys_holding(INDEX, [B, "legacy-7", ObjectId()]) == {
        B: ["batch_1", "batch_2"], "legacy-7": [UNMATCHED]}
