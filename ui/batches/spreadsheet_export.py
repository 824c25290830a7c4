"""The batch list for a spreadsheet, in the interface's language: headers and values as the
table shows them, dates as the locale writes them, UTF-8 with a BOM and the list separator a
spreadsheet of that locale expects. The plain CSV export keeps the machine field names."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from babel import dates, numbers

from segcore.views import batch_table
from segcore.work import batches
from ui.app import i18n, labels
from ui.app.connection import connection, settings
from ui.app.i18n import N_, _, babel_locale, speaking

HEADERS = {
    "id": N_("Batch"),
    "assignee": N_("Assignee"),
    "status": N_("Status"),
    "priority": N_("Priority"),
    "due_date": N_("Due date"),
    "folder": N_("Folder"),
    "folder_missing": N_("Folder missing"),
    "masks": N_("Masks"),
    "file_count": N_("Files"),
    "masks_vs_images": N_("Masks vs images"),
    "mask_state": N_("Mask check"),
    "latest_upload": N_("Latest upload"),
}
# Day-month-year with four digits, which a Spanish spreadsheet reads as a date; ISO otherwise.
DATE_PATTERNS = {"es": "dd/MM/yyyy", "en": "yyyy-MM-dd"}
VALUE_LABELS = {
    "status": labels.status,
    "priority": labels.priority,
    "mask_state": labels.mask_state,
}
SEPARATORS = {
    ";": N_("Semicolon (;): where the decimal mark is a comma (Spain, most of Europe)"),
    ",": N_("Comma (,): where the decimal mark is a point (Mexico, the US)"),
}


def default_separator() -> str:
    """The list separator a spreadsheet in the session's locale expects (es_MX: a comma)."""
    return ";" if numbers.get_decimal_symbol(babel_locale()) == "," else ","


def cell(column: str, value: object) -> str:
    """One value as the table shows it, in the session's language."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if column in VALUE_LABELS:
        return VALUE_LABELS[column](value)
    pattern = DATE_PATTERNS.get(babel_locale().language, "yyyy-MM-dd")
    if isinstance(value, datetime):
        return dates.format_datetime(
            value, pattern + " HH:mm", tzinfo=value.tzinfo, locale=babel_locale()
        )
    if isinstance(value, date):
        return dates.format_date(value, pattern, locale=babel_locale())
    return str(value)  # counts stay plain digits: no grouping mark to misread


def spreadsheet_export(query: batches.BatchQuery, delimiter: str, language: str) -> bytes:
    """Every batch matching `query`, headers and values in `language`."""
    rows = batch_table.export_rows(connection().work, query, settings().zone)
    columns = list(HEADERS)
    with speaking(language):
        table = [[_(HEADERS[c]) for c in columns]]
        table += [[cell(c, row.get(c)) for c in columns] for row in rows]
    return batch_table.spreadsheet_bytes(table, delimiter)


def on_click(query: batches.BatchQuery, delimiter: str) -> Callable[[], bytes]:
    """The download button's data: made on click, outside the page script, where the session's
    language cannot be read; so the language the button is shown in is taken now."""
    language = i18n.current_language()
    return lambda: spreadsheet_export(query, delimiter, language)
