"""A blank value (an empty spreadsheet cell, "$NAME " with NAME unset) is refused, never taken
for "none": a batch kept its assignee, priority and due date only when the value was exactly
empty, and was silently cleared by a space. Clearing is said on purpose: `--unassign`,
`--clear-due`, `--clear-priority`, `team edit --clear-email`, the pages' "(remove it)"."""

from __future__ import annotations

import json
import os

import pytest

from segcore.core.errors import ValidationError
from segcore.team import team
from segcore.work import assignments, batches, handover

BLANKS = ["", " ", "  ", "\t", " \n"]


@pytest.mark.parametrize("blank", BLANKS)
@pytest.mark.parametrize("field", ["assignee", "status", "priority", "due_date"])
def test_a_blank_value_is_refused_naming_its_field(field, blank):
    with pytest.raises(ValidationError) as refused:
        batches.validate_value(field, blank, ["Flor"])
    assert refused.value.field == field


@pytest.mark.parametrize("field", ["assignee", "priority", "due_date"])
def test_none_is_the_one_way_to_clear_a_field(field):
    assert batches.validate_value(field, None, ["Flor"]) is None


@pytest.fixture
def held(db):
    """batch_1 held by Flor, priority alta, due 2026-12-24; Ceci on the team without batches."""
    team.add_member(db, "Flor", role="Revisor", email="flor@example.org")
    team.add_member(db, "Ceci")
    db.batches.insert_one(
        {
            "id": "batch_1",
            "status": "pending",
            "assignee": "Flor",
            "metadata": {"priority": "alta", "due_date": "2026-12-24"},
        }
    )
    return db


def state(db) -> dict:
    """What a refused command must leave as it was."""
    return {
        name: sorted(
            (json.dumps(d, default=str, sort_keys=True) for d in db[name].find({}, {"_id": 0})),
        )
        for name in ("batches", "segmentadores", "app_users", "history", "sync_runs")
    }


def test_segcore_refuses_blank_values_and_writes_nothing(held):
    before = state(held)
    with pytest.raises(ValidationError):
        assignments.assign(held, ["batch_1"], "  ", "coord")
    for field in ("priority", "due_date", "status"):
        with pytest.raises(ValidationError):
            assignments.set_fields(held, ["batch_1"], {field: " "}, "coord")
    for role, email in (("  ", None), (None, " ")):
        with pytest.raises(ValidationError) as refused:
            team.edit_member(held, "Flor", role=role, email=email, author="coord")
        assert refused.value.field == ("role" if role else "email")
        with pytest.raises(ValidationError):
            team.add_member(held, "Ana", role=role, email=email, author="coord")
    for target in ("", "  "):
        with pytest.raises(ValidationError) as refused:
            handover.remove_member(held, "Ceci", reassign_to=target, author="coord")
        assert refused.value.field == "reassign_to"
    assert state(held) == before


def test_clearing_on_purpose_still_clears(held, run_cli):
    assert run_cli("batches", "set", "batch_1", "--clear-priority", "--clear-due").returncode == 0
    assert run_cli("assign", "batch_1", "--unassign").returncode == 0
    assert run_cli("team", "edit", "Flor", "--clear-email").returncode == 0
    doc = held.batches.find_one({"id": "batch_1"})
    assert doc["assignee"] is None and doc["metadata"]["priority"] is None
    assert doc["metadata"]["due_date"] is None
    assert team.find_member(held, "Flor").email == ""
    both = run_cli("batches", "set", "batch_1", "--priority", "alta", "--clear-priority")
    assert both.returncode == 2 and "not both" in both.stderr


# Every command option that takes a name or a value, given a blank one.
BLANK_COMMANDS = [
    ("assign", "batch_1", "--to", "  "),
    ("assign", "batch_1", "--to", ""),
    ("batches", "set", "batch_1", "--due", " "),
    ("batches", "set", "batch_1", "--priority", " "),
    ("batches", "set", "batch_1", "--status", " "),
    ("batches", "set", "batch_1", "--status", "done", "--due", ""),
    ("batches", "set", "--where-status", " ", "--status", "done"),
    ("team", "add", "Ana", "--role", " "),
    ("team", "add", "Ana", "--email", " "),
    ("team", "add", "Ana", "--email", ""),
    ("team", "edit", "Flor", "--role", "  "),
    ("team", "edit", "Flor", "--email", " "),
    ("team", "edit", "Flor", "--email", ""),
    ("team", "remove", "Ceci", "--reassign-to", ""),
    ("team", "remove", "Ceci", "--reassign-to", "  "),
    ("user", "add", "ceci", "--role", "segmentador", "--member", " ", "--password-stdin"),
    ("user", "add", "ana", "--role", "coordinator", "--member", "", "--password-stdin"),
    ("receipts", "--person", " "),
    ("review", "batch_1", "--rework", "  "),
    ("sync", "--mode", " "),
    ("backup", "--out", " "),
    ("report", "--out", " "),
]


def test_every_blank_option_is_refused_in_one_line_and_changes_nothing(held, run_cli, tmp_path):
    before, files = state(held), sorted(os.listdir(tmp_path))
    wrong = []
    for command in BLANK_COMMANDS:
        out = run_cli(*command, input_text="a long password 1\n")
        said = (out.stderr.strip().splitlines() or [""])[-1]  # after click's usage lines
        if out.returncode == 0 or "Traceback" in out.stderr:
            wrong.append((command, out.returncode, out.stdout, out.stderr))
        elif not said.lower().startswith("error:") or not any(
            why in said for why in ("blank", "Say why")
        ):
            wrong.append((command, "unclear", out.stderr))
    assert wrong == []
    assert state(held) == before and sorted(os.listdir(tmp_path)) == files


def test_the_usage_error_names_the_way_to_clear(held, run_cli):
    out = run_cli("assign", "batch_1", "--to", "  ")
    assert out.returncode == 2
    assert (
        "Invalid value for '--to': a blank value is refused; to leave batches without one, "
        "use --unassign" in out.stderr
    )
    due = run_cli("batches", "set", "batch_1", "--due", " ")
    assert "'--due': a blank value is refused; to remove the due date, use --clear-due" in (
        due.stderr
    )
