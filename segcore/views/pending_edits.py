"""Unsaved table edits kept per batch id, so they outlive a change of sort, filter or page.

The editor reports edits by row position in the page it shows; these pure functions fold them
into `{batch_id: {column: (old, new)}}`, where `old` is the stored value the user saw (what the
compare-and-set checks) and `new` the value typed. An edit set back to the stored value is
dropped, so the count of unsaved changes is honest.
"""

from __future__ import annotations

from segcore.core.timefmt import parse_date
from segcore.views.batch_table import plain_value
from segcore.work.batches import EDITABLE, PRIORITIES, STATUSES, Edit, get_value

Pending = dict[str, dict[str, tuple[object, object]]]
# The values a status or priority may be set to; the grid also lists the legacy values stored on
# the rows it shows (a `S`, an `urgente`), only so each is drawn as stored on its own row.
CHOICES = {"status": STATUSES, "priority": PRIORITIES}


def same_value(column: str, old: object, new: object) -> bool:
    """Whether `new` (as the editor gives it) is the stored `old` value, dates read as dates."""
    new = plain_value(new)
    if column == "due_date" and new is not None and old is not None:
        return parse_date(new) == parse_date(old)
    if new is None or new == "":
        return old is None or old == ""
    return new == old


def fold_changes(pending: Pending, docs: list[dict], edited_rows: dict) -> Pending:
    """`pending` updated with the editor's `edited_rows` ({position: {column: value}}) of `docs`.

    Positions outside `docs` and columns that cannot be edited are ignored.
    """
    folded = {batch_id: dict(columns) for batch_id, columns in pending.items()}
    for position, changes in edited_rows.items():
        index = int(position)
        if not 0 <= index < len(docs):
            continue
        doc = docs[index]
        batch_id = str(doc.get("id"))
        columns = folded.setdefault(batch_id, {})
        for column, value in changes.items():
            if column not in EDITABLE:
                continue
            old = columns[column][0] if column in columns else get_value(doc, column)
            if same_value(column, old, value):
                columns.pop(column, None)
            else:
                columns[column] = (old, plain_value(value))
        if not columns:
            folded.pop(batch_id)
    return folded


def refuse_legacy_choices(pending: Pending) -> tuple[Pending, list[tuple[str, str, object]]]:
    """`pending` without the edits setting a status or priority to a legacy value (one the
    grid lists only to draw it on the row that holds it), and those edits as (batch id,
    column, value): a batch is never given another's legacy value, and Save never meets it. A
    row that holds the value keeps it without an edit (setting it back drops the edit). Pure."""
    kept, refused = {}, []
    for batch_id, columns in pending.items():
        columns = dict(columns)
        for column, choices in CHOICES.items():
            if column in columns and columns[column][1] is not None:
                if columns[column][1] not in choices:
                    refused.append((batch_id, column, columns.pop(column)[1]))
        if columns:
            kept[batch_id] = columns
    return kept, refused


def pending_edits(pending: Pending) -> list[Edit]:
    """The compare-and-set edits of every pending change, in batch order of entry."""
    return [
        Edit(batch_id, column, old, new)
        for batch_id, columns in pending.items()
        for column, (old, new) in columns.items()
    ]


def change_count(pending: Pending) -> int:
    """How many cells hold an unsaved change."""
    return sum(len(columns) for columns in pending.values())


def unseen_changes(pending: Pending, shown: set[str], matching) -> tuple[int, int]:
    """Unsaved changes in rows not on screen: (hidden by the filter, on another table page).

    `shown` holds the ids of the rows drawn; `matching(batch_id)` says whether a batch passes
    the filter now (a pending value does not count: the stored row is what is filtered).
    """
    hidden = elsewhere = 0
    for batch_id, columns in pending.items():
        if batch_id in shown:
            continue
        if matching(batch_id):
            elsewhere += len(columns)
        else:
            hidden += len(columns)
    return hidden, elsewhere


def shown_row(row: dict, columns: dict[str, tuple[object, object]]) -> dict:
    """A table row with the pending values in place of the stored ones (dates as dates)."""
    shown = dict(row)
    for column, (_old, new) in columns.items():
        shown[column] = parse_date(new) if column == "due_date" else new
    return shown
