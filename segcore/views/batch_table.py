"""The batch table as the editor shows it: flat rows, the edits a user made, and CSV export.

Pure functions turn stored documents (legacy ones included) into rows and an editor's changes
into `Edit`s carrying the *stored* old value, which is what the compare-and-set must check.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime, timezone, tzinfo

from pymongo.database import Database

from segcore.core.timefmt import office_naive, parse_date, stored_wall_clock, to_office
from segcore.work.batches import (
    COLLECTION,
    TABLE_PROJECTION,
    BatchQuery,
    build_filter,
    get_value,
    id_order,
)
from segcore.work.delivery import content_problems, delivery_of

COLUMNS = (
    "id",
    "assignee",
    "status",
    "priority",
    "due_date",
    "folder",
    "folder_missing",
    "masks",
    "file_count",
    "masks_vs_images",
    "mask_state",
    "latest_upload",
)
EXPORT_BATCH = 5000


def table_row(doc: dict, zone: tzinfo | None = timezone.utc) -> dict:
    """A stored batch as a flat row; an unreadable legacy due date is None in `due_date` and
    its stored value, as text, in `due_date_stored` (a blank would read as "no due date").

    `latest_upload` is the wall-clock time in `zone` (the office's; None: the server's),
    without tzinfo, as a table draws it.
    """
    info = doc.get("training_metrics_info")
    info = info if isinstance(info, dict) else {}
    latest = info.get("latest_upload")
    count = info.get("file_count")
    due = get_value(doc, "due_date")
    return {
        "id": str(doc.get("id", "")),
        "assignee": _text(doc.get("assignee")),
        "status": _text(doc.get("status")),
        "priority": _text(get_value(doc, "priority")),
        "due_date": parse_date(due),
        "due_date_stored": _unreadable(due),
        "folder": _text(doc.get("folder")),
        "folder_missing": doc.get("folder_missing") is True,
        "masks": doc.get("mongo_uploaded") is True,
        "usable": delivery_of(doc)[0],
        "file_count": count if isinstance(count, int) and not isinstance(count, bool) else 0,
        "masks_vs_images": masks_vs_images(doc.get("mask_check")),
        "mask_state": _text(doc["mask_check"].get("state"))
        if isinstance(doc.get("mask_check"), dict)
        else None,
        # another tool's time stored as text is shown as it reads (the Team page does too)
        "latest_upload": office_naive(latest, zone) or stored_wall_clock(latest),
    }


def masks_vs_images(check: object) -> str | None:
    """ "236 / 240": images with a mask out of the images in the folder; None before a check,
    "? / 240" or "? / ?" while masks or images are unknown."""
    if not isinstance(check, dict):
        return None
    matched, images = check.get("matched"), check.get("images")
    return f"{'?' if matched is None else matched} / {'?' if images is None else images}"


def _unreadable(value: object) -> str | None:
    """A stored date that is no date ("next friday", 2026-02-30, 20261231), as text."""
    text = _text(value)
    return text if text is not None and parse_date(value) is None else None


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value)


def shown_folder(folder: str | None, data_directory: str | None) -> str | None:
    """The folder relative to DATA_DIRECTORY when it lies under it, else as stored."""
    if not folder or not data_directory:
        return folder
    base = str(data_directory).rstrip("/") + "/"
    return (folder[len(base) :] or folder) if folder.startswith(base) else folder


def plain_value(value: object) -> object:
    """An editor value as stored: dates as ISO text, an emptied cell (NaN, "") as None: the
    grid's way to clear a value (a blank typed value is refused, `batches.validate_value`)."""
    if isinstance(value, str) and value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN from an emptied cell
        return None
    return value


# The grid (Streamlit's data editor) trims every option of a select column and draws a cell
# whose value matches none as a blank: a legacy assignee stored with spaces around it ("Flor ",
# as the old dashboard kept what was typed) looked unassigned. Such a value is drawn with each
# surrounding space made visible, which no option's trimming can take away.
VISIBLE_SPACE = "\u2423"  # ␣
_TRIMMED = " \t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def grid_value(value: object) -> object:
    """A stored text as the grid can draw it (pure): each character of the surrounding white
    space a browser's trim removes shown as VISIBLE_SPACE ("Flor " as "Flor␣"); anything else
    as it is."""
    if not isinstance(value, str):
        return value
    core = value.strip(_TRIMMED)
    if core == value or not core:
        return value
    start = len(value) - len(value.lstrip(_TRIMMED))
    end = len(value) - len(value.rstrip(_TRIMMED))
    return VISIBLE_SPACE * start + core + VISIBLE_SPACE * end


def ticked_ids(
    docs: list[dict],
    ticked_before: "set[str] | list[str]",
    edited_rows: dict,
    column: str = "select",
) -> list[str]:
    """Ids of the rows ticked on screen, in the table's order: those ticked before (kept across a
    reload of the table, which gives it a fresh editor), with the editor's ticks and unticks
    (`edited_rows`, by row position, as Streamlit reports them). Pure."""
    ticked = set(ticked_before)
    for position, changes in edited_rows.items():
        if column in changes and 0 <= int(position) < len(docs):
            batch_id = str(docs[int(position)].get("id"))
            (ticked.add if changes[column] is True else ticked.discard)(batch_id)
    return [str(d.get("id")) for d in docs if str(d.get("id")) in ticked]


# A spreadsheet runs a cell that begins with one of these as a formula (OWASP "CSV
# injection"); full-width forms too, which some spreadsheets fold to the plain ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet shows as text, never runs: text beginning (after any spaces)
    with a formula character gets a leading single quote (the OWASP rule).

    Only text is changed: numbers the product writes as numbers (a file count, including a
    negative one) stay numbers; text that merely looks like one ("-5" as a team name) is text
    and is quoted.
    """
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(rows: list[dict]) -> str:
    """The rows as CSV with a header, dates in ISO form, every text cell spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: spreadsheet_safe(v.isoformat() if isinstance(v, (date, datetime)) else v)
                for k, v in row.items()
            }
        )
    return out.getvalue()


def export_rows(db: Database, query: BatchQuery, zone: tzinfo | None = timezone.utc) -> list[dict]:
    """Every batch matching `query` as a table row, in batch order, read in one pass; upload
    times aware, in `zone` (the office's; None: the server's)."""
    # A set of ids (who is late) is checked here: a long `$in` is slow on the embedded server.
    cursor = db[COLLECTION].find(
        build_filter(replace(query, only=None)), TABLE_PROJECTION, batch_size=EXPORT_BATCH
    )
    rows = []
    # Sorted here: legacy documents have no stored `number` to sort on (batches.id_order).
    for doc in sorted(cursor, key=id_order):
        if query.only is not None and str(doc.get("id")) not in query.only:
            continue
        if query.mask_problems is not None and query.mask_problems != bool(
            content_problems(doc.get("mask_content"))
        ):
            continue  # the filter's superset (build_filter), by the rows' rule
        row = table_row(doc)
        # a stored time with its office offset; another tool's text time as it reads
        info = doc.get("training_metrics_info")
        latest = info.get("latest_upload") if isinstance(info, dict) else None
        row["latest_upload"] = to_office(latest, zone) or stored_wall_clock(latest)
        stored = row.pop("due_date_stored")
        if stored is not None:  # the export keeps the stored value, unreadable or not
            row["due_date"] = stored
        rows.append(row)
    return rows


def export_csv(db: Database, query: BatchQuery, zone: tzinfo | None = timezone.utc) -> str:
    """Every batch matching `query` as CSV with the machine field names, in batch order.

    Upload times are in `zone` (the office's; None: the server's) with their UTC offset, so a
    spreadsheet reads them unambiguously.
    """
    return csv_text(export_rows(db, query, zone))


def spreadsheet_bytes(table: list[list[str]], delimiter: str) -> bytes:
    """Rows of text (the header first) as a CSV file a spreadsheet opens right: UTF-8 with a
    byte-order mark (without it Excel reads accents as two odd characters), separated by the
    reader's list separator (`;` where the decimal mark is a comma), and a cell that would
    start a formula (a name written by another tool: `=HYPERLINK(...)`) kept as text."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in table:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
