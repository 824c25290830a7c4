"""A batches file's `priority` and `due_date` are the batch's own: stored where the table, the
alerts and every queue read them (`metadata.*`, as `batches set` writes them), validated as
`batches set` validates them, and set on new batches only."""

import json
from datetime import date

import pytest

from segcore.core.errors import ImportFileError
from segcore.report.pace import pace_row
from segcore.work import batches
from segcore.work.batch_import import import_from_sources
from segcore.work.batches_file import parse_batches_json


def _write(tmp_path, items) -> None:
    (tmp_path / "batches.json").write_text(json.dumps(items))
    for item in items:
        (tmp_path / item["id"]).mkdir(exist_ok=True)


def test_a_files_priority_and_due_date_are_the_batchs_own(db, run_cli, tmp_path):
    """The walk's list: 'alta' and 2020-01-10 were stored as top-level fields nothing reads,
    so the table's Priority and Due date were empty and no overdue alert came."""
    _write(
        tmp_path,
        [
            {"id": "batch_1", "folder": "batch_1", "priority": "alta", "due_date": "2020-01-10"},
            {"id": "batch_2", "folder": "batch_2", "site": "irapuato", "priority": None},
        ],
    )
    out = run_cli("import", "--file", str(tmp_path / "batches.json"), "--data-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    first = db.batches.find_one({"id": "batch_1"}, {"_id": 0})
    assert first["metadata"] == {"priority": "alta", "due_date": "2020-01-10"}
    assert "priority" not in first and "due_date" not in first
    row = pace_row(first)  # what the table, the alerts and the queues read
    assert (row["priority"], row["due_date"]) == ("alta", date(2020, 1, 10))
    assert batches.get_value(first, "priority") == "alta"
    second = db.batches.find_one({"id": "batch_2"}, {"_id": 0})
    assert second["site"] == "irapuato" and "metadata" not in second  # other keys are kept


@pytest.mark.parametrize(
    "item,said",
    [
        ({"priority": "urgente"}, "item 1: Priority must be one of alta, media, baja."),
        ({"priority": "Alta"}, "item 1: Priority must be one of alta, media, baja."),
        ({"priority": ["alta"]}, "item 1: Priority must be one of alta, media, baja."),
        ({"priority": 1}, "item 1: Priority must be one of alta, media, baja."),
        ({"priority": " "}, "item 1: 'priority' is blank; leave it out, or write null, for none"),
        ({"due_date": "next friday"}, "item 1: 'next friday' is not a date (use YYYY-MM-DD)"),
        ({"due_date": "2026-02-30"}, "item 1: '2026-02-30' is not a date (use YYYY-MM-DD)"),
        ({"due_date": 20261231}, "item 1: '20261231' is not a date (use YYYY-MM-DD)"),
        (
            {"due_date": "0001-01-10"},
            "item 1: A due date must lie between 2000-01-01 and 2099-12-31 (not 0001-01-10).",
        ),
        ({"due_date": ""}, "item 1: 'due_date' is blank; leave it out, or write null, for none"),
    ],
)
def test_a_value_batches_set_refuses_is_refused_saying_where(item, said):
    with pytest.raises(ImportFileError) as refused:
        parse_batches_json(json.dumps([{"id": "batch_1", **item}]), source="batches.json")
    assert str(refused.value) == f"batches.json: {said}"


@pytest.mark.parametrize(
    "exported",
    [
        {"$date": "2026-12-20T00:00:00Z"},  # mongoexport's relaxed mode
        {"$date": "2026-12-20T00:00:00.000+05:00"},  # the day the text names
        {"$date": {"$numberLong": "1797724800000"}},  # canonical mode: 2026-12-20 00:00 UTC
        {"$date": 1797724800000},  # older mongoexport
    ],
)
def test_a_due_date_as_mongoexport_writes_it_is_imported(db, run_cli, tmp_path, exported):
    """The README says the import accepts mongoexport's output; its dates are Extended JSON."""
    (tmp_path / "batch_1").mkdir()
    line = json.dumps({"_id": {"$oid": "6750a1b2c3d4e5f601234567"}, "id": "batch_1"})
    line = line[:-1] + ', "due_date": ' + json.dumps(exported) + "}"
    (tmp_path / "batches.json").write_text(line + "\n")
    out = run_cli("import", "--file", str(tmp_path / "batches.json"), "--data-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert db.batches.find_one({"id": "batch_1"})["metadata"] == {"due_date": "2026-12-20"}


@pytest.mark.parametrize(
    "exported",
    [{"$date": "someday"}, {"$date": {"$numberLong": "soon"}}, {"$date": None}],
)
def test_an_exported_date_that_is_no_date_is_refused(exported):
    with pytest.raises(ImportFileError) as refused:
        parse_batches_json(json.dumps([{"id": "batch_1", "due_date": exported}]), "batches.json")
    assert "is not a date (use YYYY-MM-DD)" in str(refused.value)


def test_a_bad_value_writes_nothing(db, run_cli, tmp_path):
    _write(tmp_path, [{"id": "batch_1"}, {"id": "batch_2", "priority": "urgente"}])
    out = run_cli("import", "--file", str(tmp_path / "batches.json"), "--data-dir", str(tmp_path))
    assert out.returncode == 1
    assert "item 2: Priority must be one of alta, media, baja." in out.stderr
    assert db.batches.count_documents({}) == 0


def test_a_stored_batch_keeps_its_priority_and_due_date_and_the_import_says_so(
    db, run_cli, tmp_path
):
    """As an assignment or a status, a coordinator's priority is never undone by an older
    list; a batch an earlier version imported (the value stored where nothing reads it)
    is named too, so the difference is never silent."""
    _write(tmp_path, [{"id": "batch_1"}, {"id": "batch_2"}, {"id": "batch_3"}])
    assert run_cli("import", "--file", str(tmp_path / "batches.json")).returncode == 0
    assert run_cli("batches", "set", "batch_1", "--priority", "media").returncode == 0
    assert run_cli("batches", "set", "batch_3", "--priority", "alta").returncode == 0
    db.batches.update_one({"id": "batch_2"}, {"$set": {"priority": "alta"}})  # earlier import
    listed = [
        {"id": "batch_1", "priority": "alta", "due_date": "2026-12-20"},
        {"id": "batch_2", "priority": "alta"},
        {"id": "batch_3", "priority": "alta"},  # the same: nothing to say
        {"id": "batch_4", "priority": "baja"},
    ]
    _write(tmp_path, listed)
    out = run_cli("import", "--file", str(tmp_path / "batches.json"))
    assert out.returncode == 0, out.stderr
    assert "not set: 'batch_1' keeps its priority 'media', not 'alta', due date none, not " in (
        out.stdout
    )
    assert "not set: 'batch_2' keeps its priority none, not 'alta'" in out.stdout
    assert "batch_3" not in out.stdout
    assert "change a stored batch's with 'segcore batches set'" in out.stdout
    stored = {d["id"]: d.get("metadata", {}).get("priority") for d in db.batches.find()}
    assert stored == {"batch_1": "media", "batch_2": None, "batch_3": "alta", "batch_4": "baja"}
    result = import_from_sources(db, tmp_path / "batches.json", None, "coord")
    assert result.kept_values["batch_1"] == {
        "priority": {"kept": "media", "given": "alta"},
        "due_date": {"kept": None, "given": "2026-12-20"},
    }
    assert set(result.kept_values) == {"batch_1", "batch_2"}
