"""Batch rows by id, a repeated id's later documents kept beside the first.

An id names one batch document (the unique index guards it from the first start on), but a
legacy list may hold two documents with the same id, written before the index or by another
tool. Both count and are listed, as `segcore status` counts documents: the first is filed under
its id, each later one under `(id, 2)`, `(id, 3)`, …, and the pages say which ids are repeated.
"""

from __future__ import annotations


def file_row(rows: dict, row: dict) -> None:
    """Add `row` to `rows` under its id, or beside an earlier row of the same id."""
    batch_id = row["id"]
    if batch_id not in rows:
        rows[batch_id] = row
        return
    place = 2
    while (batch_id, place) in rows:
        place += 1
    rows[(batch_id, place)] = row


def drop_rows(rows: dict, batch_id: str) -> None:
    """Remove every row of `batch_id` (the first and any later document of the same id)."""
    rows.pop(batch_id, None)
    place = 2
    while rows.pop((batch_id, place), None) is not None:
        place += 1


def rows_by_id(rows: list[dict]) -> dict:
    """`rows` filed by id (see file_row). Pure."""
    filed: dict = {}
    for row in rows:
        file_row(filed, row)
    return filed


def repeated_ids(rows: dict) -> list[str]:
    """The ids held by more than one document, sorted. Pure."""
    return sorted({key[0] for key in rows if type(key) is tuple})
