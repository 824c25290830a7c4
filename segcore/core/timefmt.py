"""Dates as the old dashboard wrote them ("2025-10-07 12:00:00", "2025-09-30"), and times shown
in the office's time zone while they stay stored in UTC."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
# A stored date may carry the time another tool wrote after it ("2025-10-07 12:00:00",
# "2026-12-20T00:00:00.000Z", "2026-12-20 10:00"); the day is the one the text names. Anything
# else after the date ("2026-12-201", "2026-12-20abc") makes it no date rather than another one.
_DATE_AND_TIME = re.compile(r"(?P<day>[^\sT]+)(?:(?:T|\s+)(?P<clock>\S+))?")
_CLOCK = re.compile(r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?")


def utcnow() -> datetime:
    """Now in UTC, without tzinfo, as pymongo returns stored datetimes."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def legacy_timestamp(moment: datetime | None = None) -> str:
    """A creation time in the legacy "YYYY-MM-DD HH:MM:SS" form (an office time: see
    `office_now`)."""
    return (moment or datetime.now()).strftime("%Y-%m-%d %H:%M:%S")


def parse_date(value: object) -> date | None:
    """A date from a datetime, a date or a legacy string; None when it cannot be read.

    A string must be a date as a whole (YYYY-MM-DD or DD/MM/YYYY, then perhaps a time of day).
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        parts = _DATE_AND_TIME.fullmatch(value.strip())
        if parts is None or (parts["clock"] and not _CLOCK.fullmatch(parts["clock"])):
            return None
        for fmt in _FORMATS:
            try:
                return datetime.strptime(parts["day"], fmt).date()
            except ValueError:
                continue
    return None


def stored_wall_clock(value: object) -> datetime | None:
    """A legacy time stored as text ("2025-09-20 10:15:00", "20/09/2025") as the wall-clock
    time it reads, without tzinfo: shown as stored, never shifted as if it were UTC. None
    for anything else, a datetime included (those go through `to_office`)."""
    day = parse_date(value) if isinstance(value, str) else None
    if day is None:
        return None
    clock = _DATE_AND_TIME.fullmatch(value.strip())["clock"]
    hours = re.match(r"(\d+):(\d+)(?::(\d+))?", clock) if clock else None
    if hours is None:
        return datetime(day.year, day.month, day.day)
    return datetime(day.year, day.month, day.day, *(int(h or 0) for h in hours.groups()))


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


# --- the office's time zone ------------------------------------------------------------------
# Times are stored in UTC without tzinfo (as pymongo returns them) and shown in the office's
# zone (the TIMEZONE setting; None means the server's own zone).


def office_zone(name: str | None) -> tzinfo | None:
    """The zone called `name` (an IANA name such as "America/Mexico_City"); None for "local".

    Raises ValueError for a name zoneinfo does not know.
    """
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{name}' is not a known time zone (e.g. America/Mexico_City)") from None


# --- the one rule for a usable stored date ---------------------------------------------------
# Python and BSON dates end at years 1 and 9999. A stored date within two weeks of either end
# cannot be shown in every office zone (9999-12-31 23:00 UTC is already year 10000 in Tokyo)
# and then have a week added or taken away (day buckets, week starts, pace), so it is
# *unusable*: an upload dated so counts for no batch, and every display shows it as unknown.
USABLE_FROM = datetime(1, 1, 15)
USABLE_UNTIL = datetime(9999, 12, 17)  # exclusive


def unusable_date_reason(moment: object) -> str | None:
    """Why stored datetime `moment` (naive means UTC) is unusable, or None when it is usable.

    Anything that is not a datetime is the caller's business (None is "no date").
    """
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:  # as pymongo returns them: a sync checks every upload's date
        utc = moment
    else:
        try:
            utc = moment.replace(tzinfo=None) - (moment.utcoffset() or timedelta(0))
        except OverflowError:
            utc = None
    if utc is None or not USABLE_FROM <= utc < USABLE_UNTIL:
        return (
            f"{moment.isoformat(sep=' ', timespec='minutes')} cannot be shown in every "
            f"time zone (within two weeks of the calendar's end, year 1 or 9999)"
        )
    return None


def usable_date(moment: object) -> bool:
    """True for a datetime that can be shown in any zone, then moved a week either way."""
    return isinstance(moment, datetime) and unusable_date_reason(moment) is None


def to_office(moment: object, zone: tzinfo | None) -> datetime | None:
    """A stored UTC datetime as an aware datetime in `zone` (the server's zone for None).

    Anything that is not a usable datetime (see `usable_date`) gives None; an aware datetime is
    converted as it is.
    """
    if not usable_date(moment):
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return aware.astimezone(zone)  # astimezone(None) uses the server's zone and its DST rules


def office_time(moment: object, zone: tzinfo | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC datetime as text in `zone`, or "" for a missing or unreadable value."""
    local = to_office(moment, zone)
    return local.strftime(fmt) if local else ""


def office_naive(moment: object, zone: tzinfo | None) -> datetime | None:
    """Office wall-clock time without tzinfo: what tables and charts should draw as is."""
    local = to_office(moment, zone)
    return local.replace(tzinfo=None) if local else None


def wall_clock_moment(value: object, zone: tzinfo | None) -> object:
    """A legacy time stored as office wall-clock text (a member's `created_at`, "2026-12-07
    09:06:35") as the moment it names: an aware datetime in `zone` (None: the server's zone).
    Anything else is returned as stored: a datetime (UTC, as pymongo's), or text that is no
    date ("yesterday")."""
    clock = stored_wall_clock(value)
    if clock is None:
        return value
    return clock.replace(tzinfo=zone) if zone is not None else clock.astimezone()


def json_moment(moment: datetime) -> str:
    """A datetime as `--json` writes every time: ISO 8601 in UTC with its offset
    ("2026-12-06T23:30:00+00:00"); a naive one is UTC, as pymongo returns stored dates."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc).isoformat()
    try:
        return moment.astimezone(timezone.utc).isoformat()
    except OverflowError:  # an aware time at the calendar's end: its own offset, as given
        return moment.isoformat()


def office_now(zone: tzinfo | None) -> datetime:
    """Now on the office's wall clock, without tzinfo: what a day or time stored as text
    ("2026-12-06", "2026-12-06 18:33:42") must be written from, as it is read back as is."""
    return utcnow().replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)


def zone_name(zone: tzinfo | None) -> str:
    """How to name `zone` next to a time ("America/Mexico_City", or the server's zone code)."""
    if zone is None:
        return datetime.now().astimezone().tzname() or "local time"
    return str(getattr(zone, "key", None) or zone)


def office_midnight_utc(day: date, zone: tzinfo | None) -> datetime:
    """When `day` begins in the office, as a stored (naive UTC) datetime: for date filters.

    A day outside the usable range (see `usable_date`) gives that range's nearest bound.
    """
    start = min(max(datetime.combine(day, datetime.min.time()), USABLE_FROM), USABLE_UNTIL)
    local = start.replace(tzinfo=zone) if zone is not None else start.astimezone()
    return local.astimezone(timezone.utc).replace(tzinfo=None)
