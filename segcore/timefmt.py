"""Dates as the old dashboard wrote them: strings like "2025-10-07 12:00:00" and "2025-09-30"."""

from __future__ import annotations

from datetime import date, datetime

_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%d/%m/%Y")


def legacy_timestamp(moment: datetime | None = None) -> str:
    """A creation time in the legacy "YYYY-MM-DD HH:MM:SS" form."""
    return (moment or datetime.now()).strftime("%Y-%m-%d %H:%M:%S")


def parse_date(value: object) -> date | None:
    """A date from a datetime, a date or a legacy string; None when it cannot be read."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in _FORMATS:
            try:
                return datetime.strptime(text[:19] if "%H" in fmt else text[:10], fmt).date()
            except ValueError:
                continue
    return None


def date_string(value: object) -> str | None:
    """A due date in the stored "YYYY-MM-DD" form, or None for an empty value.

    Raises ValueError for a value that is not a date.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise ValueError(f"'{value}' is not a date (use YYYY-MM-DD)")
    return parsed.isoformat()
