"""Pure normalisation of people's names and batch ids."""

import pytest

from segcore.core.naming import (
    batch_ids_in,
    batch_number,
    canonical_batch_id,
    clean_name,
    one_per_batch,
    person_key,
)


@pytest.mark.parametrize(
    "a,b",
    [
        ("Flor", "flor"),
        ("Flor", " FLOR "),
        ("Flór", "flor"),
        ("María José", "maria   jose"),
        ("Ignacio", "IGNACIO\t"),
        ("Müller", "muller"),
        # invisible characters a paste brings
        ("Flor", "Flor\u200b"),
        ("Flor", "Flor\u00ad"),
        ("Flor", "\ufeffFlor"),
        ("Flor", "\u202eFlor\u202c"),
        ("Flor", "Fl\u200dor"),
        ("María José", "María\u200b José\u2060"),
    ],
)
def test_same_person(a, b):
    assert person_key(a) == person_key(b)


@pytest.mark.parametrize("a,b", [("Flor", "Flora"), ("Ana María", "Ana"), ("Ceci", "Cecilia")])
def test_different_people(a, b):
    assert person_key(a) != person_key(b)


def test_clean_name_keeps_letters_and_collapses_spaces():
    assert clean_name("  María   José ") == "María José"


@pytest.mark.parametrize(
    "typed, cleaned",
    [
        ("Flor\u200b", "Flor"),
        ("\ufeffFlor", "Flor"),
        ("Mar\u00adía \u200eJosé", "María José"),
        ("\u200dFlor\u200c", "Flor"),  # a joiner at a word's end joins nothing
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian needs its non-joiner inside a word
        ("\u200b", ""),
    ],
)
def test_clean_name_drops_the_invisible_characters_a_paste_brings(typed, cleaned):
    assert clean_name(typed) == cleaned


@pytest.mark.parametrize(
    "text,expected",
    [
        ("batch_400", "batch_400"),
        ("Batch-400", "batch_400"),
        ("BATCH400", "batch_400"),
        ("batch 400", "batch_400"),
        ("batch_0400", "batch_400"),
        ("batch_0", "batch_0"),
        ("/home/x/american_project/batch_12", "batch_12"),
        ("folder_7", None),
        ("batches", None),
        # typed with a Japanese or Chinese input method, or pasted from such a spreadsheet
        ("\uff42\uff41\uff54\uff43\uff48\uff3f\uff17", "batch_7"),  # ｂａｔｃｈ＿７
        ("batch_\uff17", "batch_7"),  # only the digit full-width
        ("\uff22\uff21\uff34\uff23\uff28\u3000\uff10\uff17", "batch_7"),  # ＢＡＴＣＨ　０７
    ],
)
def test_canonical_batch_id(text, expected):
    assert canonical_batch_id(text) == expected


@pytest.mark.parametrize(
    "filename,expected",
    [
        ("masks_batch_400.tar.xz", ["batch_400"]),
        ("Batch-400.zip", ["batch_400"]),
        ("batch_0400_part2.zip", ["batch_400"]),
        ("BATCH400.tgz", ["batch_400"]),
        ("batch_12_to_batch_15.zip", ["batch_12", "batch_15"]),
        ("batch_3_batch_003.zip", ["batch_3"]),
        ("final_masks.zip", []),
        ("", []),
        ("masks_\uff42\uff41\uff54\uff43\uff48\uff3f\uff17.zip", ["batch_7"]),
    ],
)
def test_batch_ids_in(filename, expected):
    assert batch_ids_in(filename) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("batch_12", 12),
        ("batch_0012", 12),
        ("batch_", None),
        ("batch_12x", 12),
        ("batch_1²", 1),
        ("batch_²", None),
        ("batch_" + "9" * 16, None),
        ("batch_" + "9" * 16 + "_batch_4", 4),
        ("Batch_7", 7),
        ("batch-7", 7),
        (7, None),
    ],
)
def test_a_stored_id_numbers_as_any_name_does(text, expected):
    """Ids order numerically (table, queues); the quick reading of a plain `batch_<n>` id must
    agree with the pattern every other name goes through."""
    assert batch_number(text) == expected


@pytest.mark.parametrize(
    "ids,held",
    [
        (["batch_1", "batch_001"], "batch_1"),
        (["batch_001", "batch_1"], "batch_1"),
        (["batch_001", "batch_01"], "batch_001"),  # none spelled as the key: the first
        (["batch_01", "batch_001", "batch_1", "batch_0001"], "batch_1"),
    ],
)
def test_one_document_holds_a_batch_number_the_one_spelled_as_its_key(ids, held):
    docs = [{"id": i} for i in ids] + [{"id": ["batch_1"]}, {"id": "batch_2"}]
    key_of = lambda d: canonical_batch_id(d["id"]) if isinstance(d["id"], str) else None  # noqa: E731
    got = one_per_batch(docs, key_of)
    assert {k: d["id"] for k, d in got.items()} == {"batch_1": held, "batch_2": "batch_2"}
