"""Import ids: another spelling of a stored batch is that batch; ids that cannot name a folder
are refused, named, and nothing is written for them while the rest is imported."""

import json

import pytest

from segcore.core.naming import unsafe_id_reason
from segcore.store.history import list_history
from segcore.work.batch_import import import_batches, plan_import
from segcore.work.batches_file import BatchEntry
from segcore.work.import_merge import merge_sources


@pytest.mark.parametrize(
    "batch_id,reason",
    [
        ("../../etc", "contains a path separator"),
        ("a/b", "contains a path separator"),
        ("a\\b", "contains a path separator"),
        ("..", "contains '..'"),
        ("batch..7", "contains '..'"),
        ("batch_\x007", "contains a control character"),
        ("batch_7\x1b[2J", "contains a control character"),
        ("batch\n7", "contains a control character"),
        ("batch_7", None),
        ("Batch-007", None),
        ("odd folder", None),
        ("lote_ñ.v2", None),
        ("b" * 255, None),
        ("b" * 256, "is longer than a folder name can be (255 bytes)"),
        ("ñ" * 128, "is longer than a folder name can be (255 bytes)"),  # 256 bytes in UTF-8
        ("", "is empty"),
        (".", "is '.', the folder itself"),
        ("batch_7_a\udcf1o", "is not valid UTF-8"),  # a folder named in Latin-1, as scanned
    ],
)
def test_unsafe_ids(batch_id, reason):
    assert unsafe_id_reason(batch_id) == reason


def test_another_spelling_of_a_stored_batch_is_that_batch():
    stored = [{"id": "batch_7", "folder": "/d/batch_7", "number": 7}]
    inserts, updates, result = plan_import([BatchEntry("batch_007", "/d/batch_007")], stored)
    assert inserts == [] and result.flagged_missing == []
    assert updates == [("batch_7", {"folder": "/d/batch_007"}, ["updated"])]


def test_two_sources_spelling_one_batch_differently_make_one_entry():
    merged = merge_sources([BatchEntry("batch_7", None)], [BatchEntry("batch_007", "/d/x")])
    assert merged == [BatchEntry("batch_7", "/d/x")]


def test_import_of_batch_007_keeps_the_stored_batch_7(db, run_cli, tmp_path):
    db.batches.insert_one({"id": "batch_7", "assignee": "Flor", "number": 7})
    (tmp_path / "batches.json").write_text(json.dumps(["batch_007", "batch_8"]))
    out = run_cli("import", "--file", str(tmp_path / "batches.json"))
    assert out.returncode == 0, out.stderr
    assert sorted(d["id"] for d in db.batches.find()) == ["batch_7", "batch_8"]
    kept = db.batches.find_one({"id": "batch_7"})
    assert kept["assignee"] == "Flor" and kept.get("folder_missing") is not True


def test_ids_that_cannot_name_a_folder_are_refused_and_the_rest_imported(db, run_cli, tmp_path):
    items = [
        {"id": "../../etc"},
        {"id": "a/b"},
        {"id": "batch_\x1b[2J9"},
        {"id": "batch_1"},
        "batch_2",
    ]
    (tmp_path / "batches.json").write_text(json.dumps(items))
    out = run_cli("import", "--file", str(tmp_path / "batches.json"))
    assert out.returncode == 1
    assert "refused: '../../etc' contains a path separator; nothing was written" in out.stderr
    assert "refused: 'batch_\\x1b[2J9' contains a control character" in out.stderr
    assert "\x1b" not in out.stderr and "2 added" in out.stdout and "3 refused" in out.stdout
    assert sorted(d["id"] for d in db.batches.find()) == ["batch_1", "batch_2"]
    [entry] = list_history(db, kind="import")
    assert entry["new"]["added"] == 2 and entry["new"]["refused"] == 3


def test_a_scanned_folder_with_a_control_character_is_refused(db, tmp_path):
    from segcore.work.batch_import import import_from_sources

    for name in ("batch_1", "batch_2\x07"):
        (tmp_path / name).mkdir()
    result = import_from_sources(db, None, tmp_path, "me")
    assert result.refused == {"batch_2\x07": "contains a control character"}
    assert [d["id"] for d in db.batches.find()] == ["batch_1"]


def test_a_refused_id_leaves_a_stored_batch_of_that_name_alone(db):
    db.batches.insert_one({"id": "a/b", "folder": "/x"})
    result = import_batches(db, [BatchEntry("a/b", "/y")], "me")
    assert result.flagged_missing == [] and list(result.refused) == ["a/b"]
    assert db.batches.find_one({"id": "a/b"})["folder"] == "/x"


def test_an_id_too_long_for_a_folder_is_refused_and_shown_cut(db, run_cli, tmp_path):
    long_id = "batch_" + "x" * 100_000
    (tmp_path / "batches.json").write_text(json.dumps([long_id, "batch_8"]))
    out = run_cli("import", "--file", str(tmp_path / "batches.json"))
    assert out.returncode == 1  # as for any refused id, the rest imported
    assert [d["id"] for d in db.batches.find()] == ["batch_8"]
    refused = [line for line in out.stderr.splitlines() if line.startswith("refused:")]
    assert len(refused) == 1 and len(refused[0]) < 200
    assert "is longer than a folder name can be (255 bytes)" in refused[0]


def test_a_folder_without_a_name_or_the_id_dot_is_refused(db, run_cli, tmp_path):
    """`/` and `.` name no folder of their own: their id would be '' or '.', which no command
    can name afterwards (`assign ''` refuses a blank id)."""
    items = ["batch_1", "/", {"id": "."}, "batch_2"]
    (tmp_path / "batches.json").write_text(json.dumps(items))
    out = run_cli("import", "--file", str(tmp_path / "batches.json"))
    assert out.returncode == 1, out.stderr
    assert "2 added" in out.stdout and "2 refused" in out.stdout
    assert "refused: '' is empty (folder '/'); nothing was written for it" in out.stderr
    assert "refused: '.' is '.', the folder itself; nothing was written" in out.stderr
    assert sorted(d["id"] for d in db.batches.find()) == ["batch_1", "batch_2"]
    [entry] = list_history(db, kind="import")
    assert entry["new"]["added"] == 2 and entry["new"]["refused"] == 2


NFC, NFD = "h\u00edgado_01", "hi\u0301gado_01"  # one id, as typed and as a Mac names it


FULL_WIDTH_7 = "\uff42\uff41\uff54\uff43\uff48\uff3f\uff17"  # ｂａｔｃｈ＿７, typed with an IME


def test_a_full_width_id_is_the_stored_batch_not_a_second_one(db, run_cli, tmp_path):
    """Probe 11: `ｂａｔｃｈ＿７` from a Japanese spreadsheet became a second batch beside
    batch_7, without a number and flagged missing."""
    (tmp_path / "data" / "batch_7").mkdir(parents=True)
    assert run_cli("import", "--data-dir", str(tmp_path / "data")).returncode == 0
    (tmp_path / "b.json").write_text(json.dumps([{"id": FULL_WIDTH_7}]), encoding="utf-8")
    out = run_cli(
        "import", "--file", str(tmp_path / "b.json"), "--data-dir", str(tmp_path / "data")
    )
    assert out.returncode == 0, out.stderr
    assert "0 added" in out.stdout and "0 flagged as missing" in out.stdout
    assert [(d["id"], d["number"]) for d in db.batches.find()] == [("batch_7", 7)]


def test_a_full_width_id_beside_its_ascii_spelling_in_one_file_is_a_repeat():
    from segcore.core.errors import ImportFileError
    from segcore.work.batches_file import parse_batches_json

    with pytest.raises(ImportFileError) as exc:
        parse_batches_json(json.dumps(["batch_1", "\uff42\uff41\uff54\uff43\uff48\uff3f\uff11"]))
    assert "item 2 repeats batch" in str(exc.value)


def test_an_id_in_another_unicode_form_is_the_stored_batch_and_said(db, run_cli, tmp_path):
    """Probe 10: `hígado_01` imported, then the same list saved on a Mac (NFD) imported: two
    batches that look identical."""
    db.batches.insert_one({"id": NFC, "assignee": "Flor", "status": "pending"})
    (tmp_path / "b.json").write_text(json.dumps([{"id": NFD}]), encoding="utf-8")
    out = run_cli("import", "--file", str(tmp_path / "b.json"))
    assert out.returncode == 0, out.stderr
    assert "0 added" in out.stdout
    assert (
        "same batch: 'hi\u0301gado_01' is batch 'h\u00edgado_01', the same text in another "
        "Unicode form ('hi\\u0301gado_01' stored as 'h\\xedgado_01')" in out.stdout
    )
    assert [d["id"] for d in db.batches.find()] == [NFC]  # the stored value as it was


def test_both_unicode_forms_of_one_id_in_one_file_are_a_repeat():
    from segcore.core.errors import ImportFileError
    from segcore.work.batches_file import parse_batches_json

    with pytest.raises(ImportFileError) as exc:
        parse_batches_json(json.dumps([{"id": NFC}, {"id": NFD}]), source="b.json")
    assert "item 2 repeats batch" in str(exc.value)


def test_a_folder_named_in_the_other_unicode_form_is_on_disk(tmp_path):
    from segcore.work.batch_import import folder_checker

    (tmp_path / NFD).mkdir()
    assert folder_checker(tmp_path)({"id": NFC}) is True
    assert merge_sources([BatchEntry(NFC, None)], [BatchEntry(NFD, "/d/x")]) == [
        BatchEntry(NFC, "/d/x")
    ]


@pytest.mark.parametrize("empty", [{"id": ""}, "", "  ", {"id": "  ", "folder": ""}, {"id": None}])
def test_an_empty_id_is_refused_alone_and_the_rest_imported(db, run_cli, tmp_path, empty):
    """Probe 10: an empty id refused the whole file with "item 1 has neither 'id' nor
    'folder'", while "/" and {"id": "."} were refused alone."""
    (tmp_path / "b.json").write_text(json.dumps([empty, "batch_7"]))
    out = run_cli("import", "--file", str(tmp_path / "b.json"))
    assert out.returncode == 1, out.stderr
    assert "1 added" in out.stdout and "1 refused" in out.stdout
    assert "refused: '' is empty; nothing was written for it" in out.stderr
    assert "neither" not in out.stderr
    assert [d["id"] for d in db.batches.find()] == ["batch_7"]
