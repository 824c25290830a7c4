"""A batches file that is odd in any way ends in one clear message and nothing written: deep
nesting, huge integer literals, integers beyond 64 bits, invalid UTF-8, duplicate keys, a huge
file, a pipe instead of a file (command line and the Settings page)."""

import os

import pytest

from segcore.core.errors import ImportFileError
from segcore.core.json_input import MAX_BYTES, decode_text
from segcore.work.batch_import import import_from_sources
from segcore.work.batches_file import parse_batches_json
from tests.helpers import page

BAD = [  # (file bytes, words the message holds)
    (b"[" * 100_000 + b"]" * 100_000, "nested more than 64 levels"),
    (b'[{"id": "batch_1", "x": ' + b"[" * 70 + b"]" * 70 + b"}]", "nested more than 64 levels"),
    (b'[{"id": "batch_1", "n": ' + b"9" * 5000 + b"}]", "an integer of 5,000 digits"),
    (b'[{"id": "batch_1", "n": 18446744073709551616}]', "does not fit in 64 bits"),
    (b'[{"id": "batch_1", "n": -9223372036854775809}]', "does not fit in 64 bits"),
    (b'[{"id": "batch_1", "deep": {"n": 9223372036854775808}}]', "does not fit in 64 bits"),
    (b'["batch_1", "batch_\xff\xfe"]', "not valid UTF-8 (byte 0xff at position 19)"),
    (b'[{"id": "batch_1", "id": "batch_2"}]', "the key 'id' appears twice"),
    (b'[{"id": "batch_1", "x": {"a": 1, "a": 2}}]', "the key 'a' appears twice"),
    (b'[{"id": "batch_1", "n": NaN}]', "NaN is not a JSON number"),
    (b'[{"id": "batch_1", "n": 1e999}]', "too large to store"),
    (b'[{"id": "batch_1", "x": "\\ud800"}]', "unpaired surrogate"),
    (b'[{"id": "batch_\\ud800"}]', "unpaired surrogate"),
    (b'[{"id": "batch_1", "x": {"a\\u0000b": 1}}]', "NUL"),
    (b'[{"id": "batch_1", "x": "' + b"y" * 2_000_000 + b'"}]', "more than 1024 KB"),
    (b'[{"id": "batch_1", "folder": "/data/a\\u0000b"}]', "'folder' must be a string"),
]


@pytest.mark.parametrize("data,words", BAD)
def test_each_oddity_is_one_clear_error(data, words):
    with pytest.raises(ImportFileError) as raised:
        parse_batches_json(decode_text(data, "batches.json"), "batches.json")
    message = str(raised.value)
    assert words in message and message.startswith("batches.json") and "\n" not in message


def test_a_byte_order_mark_is_fine():
    assert [e.id for e in parse_batches_json(decode_text(b'\xef\xbb\xbf["batch_1"]', "f"))] == [
        "batch_1"
    ]


@pytest.mark.parametrize("data,words", BAD[:9:2])
def test_the_command_line_writes_nothing(data, words, run_cli, db, tmp_path):
    path = tmp_path / "batches.json"
    path.write_bytes(data)
    out = run_cli("import", "--file", str(path))
    assert out.returncode == 1 and out.stderr.count("\n") == 1, out.stderr
    assert words in out.stderr and "Traceback" not in out.stderr
    assert db.batches.count_documents({}) == 0 and db.history.count_documents({}) == 0


def test_a_huge_file_is_refused_without_reading_it_all(db, tmp_path):
    path = tmp_path / "batches.json"
    with open(path, "wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_BYTES + 10)
    with pytest.raises(ImportFileError, match="larger than 100 MB"):
        import_from_sources(db, path, None, "test")
    assert db.batches.count_documents({}) == 0


def test_a_fifo_as_the_batches_file_is_named_not_read(db, tmp_path):
    os.mkfifo(tmp_path / "batches.json")
    with pytest.raises(ImportFileError, match="not a regular file"):
        import_from_sources(db, tmp_path / "batches.json", None, "test")


@pytest.mark.parametrize("data,words", [BAD[2], BAD[3], BAD[6], BAD[7]])
def test_the_settings_page_shows_one_message(data, words, app_env, tmp_path):
    path = tmp_path / "batches.json"
    path.write_bytes(data)
    at = page("settings").run()
    at.text_input(key="import_file").input(str(path))
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    assert words in at.error[0].value
    assert app_env.work.batches.count_documents({}) == 0


@pytest.mark.parametrize("data,words", [BAD[0], BAD[2], BAD[6], BAD[7]])
def test_a_file_uploaded_on_the_settings_page_gets_the_same_message(data, words):
    """What the Settings page's uploader hands over (bytes with a name), read as it reads it."""
    from ui.batches.import_actions import read_sources

    class Uploaded:
        name = "mine.json"

        def getvalue(self):
            return data

    with pytest.raises(ImportFileError) as raised:
        read_sources(Uploaded(), "", "", False, None)
    assert words in str(raised.value) and str(raised.value).startswith("mine.json")


MONGOEXPORT_LINES = (
    '{"_id":{"$oid":"5f1d7f9e8b3e4a2b1c0d9e8f"},"id":"batch_1","folder":"/data/batch_1",'
    '"status":"pending"}\n'
    '{"_id":{"$oid":"5f1d7f9e8b3e4a2b1c0d9e90"},"id":"batch_2","folder":"/data/batch_2",'
    '"status":"done","assignee":"Flor"}\r\n'
)


@pytest.mark.parametrize(
    "text, ids",
    [
        (MONGOEXPORT_LINES, ["batch_1", "batch_2"]),  # mongoexport without --jsonArray
        (MONGOEXPORT_LINES.splitlines()[0], ["batch_1"]),  # a collection of one batch
        ('"batch_1"\n"batch_2"\n\n', ["batch_1", "batch_2"]),
        ('{\n  "id": "batch_1"\n}\n{\n  "id": "batch_2"\n}\n', ["batch_1", "batch_2"]),  # --pretty
    ],
)
def test_json_lines_are_one_batch_per_document(text, ids):
    """Probe 10: README offers a list exported with mongoexport, whose default output (one
    document per line) was refused as "invalid JSON ... Extra data"."""
    assert [e.id for e in parse_batches_json(text)] == ids


def test_a_mongoexport_file_is_imported_without_its_delivery(run_cli, db, tmp_path):
    listing = tmp_path / "batches.json"
    listing.write_text(MONGOEXPORT_LINES)
    out = run_cli("import", "--file", str(listing))
    assert out.returncode == 0, out.stderr
    assert "2 added" in out.stdout
    stored = {d["id"]: (d["status"], d["assignee"]) for d in db.batches.find()}
    assert stored == {"batch_1": ("pending", None), "batch_2": ("pending", None)}


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"id": "batch_1"}\n{"id": "batch_2",}\n', "invalid JSON at line 2, column"),
        (
            '{"id": "batch_1"}\n{"id": "batch_1"}\n',
            "line 2 repeats batch 'batch_1' (already at line 1)",
        ),
        ('{"id": "batch_1"}\n{"id": NaN}\n', "NaN is not a JSON number"),
        # Probe 11: blank lines made "item 5000" of the document on line 5003
        ('\n{"id": "batch_1"}\n\n\n{"id": 5000}\n', "b.json: line 5: 'id' must be a string"),
        (
            '{"id": "batch_1"}\r\n\r\n{"id": "batch_001"}\r\n',
            "line 3 repeats batch 'batch_001' (already at line 1)",
        ),
        ('{\n  "id": "batch_1"\n}\n{\n  "id": 2\n}\n', "line 4: 'id' must be a string"),  # --pretty
        ('"batch_1"\n\n7\n', "line 3 must be a folder name"),
    ],
)
def test_a_bad_line_of_json_lines_is_named(text, words):
    with pytest.raises(ImportFileError) as exc:
        parse_batches_json(text, source="b.json")
    assert words in str(exc.value)


def test_the_command_line_names_the_line_of_a_bad_document(run_cli, db, tmp_path):
    """Probe 11: in a long JSON Lines export with blank lines near the top, the message named
    the document's place ("item 5000") and the user opened the wrong line."""
    lines = ["", '{"id": "batch_1"}', "", ""] + [f'{{"id": "batch_{n}"}}' for n in range(2, 200)]
    lines[150] = '{"id": 5000}'
    (tmp_path / "batches.json").write_text("\n".join(lines) + "\n")
    out = run_cli("import", "--file", str(tmp_path / "batches.json"))
    assert out.returncode != 0
    assert "batches.json: line 151: 'id' must be a string, found int 5000" in out.stderr
    assert db.batches.count_documents({}) == 0
