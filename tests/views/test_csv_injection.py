"""The CSV export never hands a spreadsheet a formula: text cells beginning with =, +, -, @, a
tab or a carriage return (after any spaces, full-width forms too) get a leading single quote;
numbers stay numbers."""

import csv
import io

import pytest

from segcore.views.batch_table import csv_text, export_csv, spreadsheet_safe
from segcore.work.batches import BatchQuery

HOSTILE = [
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    '  =HYPERLINK("http://x")',
    "\uff1d1+1",
    "\n=1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_is_quoted(text):
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["batch_1", "Flor", "a=b", "", "'already", 5, -3, -2.5, None, True]
)
def test_everything_else_is_unchanged(value):
    assert spreadsheet_safe(value) is value


def test_the_batch_export_neutralises_every_text_column(db):
    db.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "number": n,
                "assignee": text,
                "status": text,
                "folder": text,
                "metadata": {"priority": text},
                "mongo_uploaded": True,
                "training_metrics_info": {"file_count": -3},
            }
            for n, text in enumerate(HOSTILE, 1)
        ]
        + [{"id": "=1+1", "number": 99, "assignee": "-5"}]
    )
    rows = list(csv.DictReader(io.StringIO(export_csv(db, BatchQuery()))))
    assert len(rows) == len(HOSTILE) + 1
    for row in rows:
        for column in ("id", "assignee", "status", "folder", "priority"):
            cell = row[column]
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r", "\n")), (
                column,
                cell,
            )
    by_number = {r["id"]: r for r in rows}
    assert by_number["batch_1"]["assignee"] == "'=cmd|' /C calc'!A0"
    assert by_number["batch_1"]["file_count"] == "-3"  # a number stays a number
    assert by_number["'=1+1"]["assignee"] == "'-5"  # text that looks like a number is text


def test_header_and_plain_rows_unchanged():
    text = csv_text([{"id": "batch_1", "assignee": "Flor", "file_count": 2}])
    assert text.splitlines()[1].startswith("batch_1,Flor,")
