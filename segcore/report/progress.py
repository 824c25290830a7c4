"""Progress over time for the dashboard: per-person counts, KPIs and a burn-down.

Pure functions over the batch rows the pages already hold (plain dicts in, plain dicts out), so
they are tested without a database; uploads per day come from the sync's read models
(`segcore.sync.upload_stats`), not from here.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo

from segcore.core.naming import person_key
from segcore.core.timefmt import parse_date, to_office
from segcore.report.pace import delivery_day
from segcore.report.stats import Summary, summary_from_counts
from segcore.work.batches import UNASSIGNED, same_status
from segcore.work.delivery import (
    CONTENT_FIELD,
    DELIVERED_BY,
    DONE,
    REVIEW_FIELD,
    credited_to,
    deliverer,
    delivery_of,
)
from segcore.work.holders import display_names, holder, people_by_key, same_person

PROGRESS_PROJECTION = {
    "_id": 0,
    "id": 1,
    "assignee": 1,
    "status": 1,
    "mongo_uploaded": 1,
    "training_metrics_info.latest_upload": 1,
    "mask_check": 1,
    CONTENT_FIELD: 1,
    REVIEW_FIELD: 1,  # a reviewer's send-back (segcore.work.delivery)
    DELIVERED_BY: 1,  # whose delivery it is (segcore.work.delivery.credited_to)
}


def progress_row(doc: dict) -> dict:
    """A stored batch document (possibly legacy and incomplete) as a flat progress row."""
    info = doc.get("training_metrics_info")
    latest = info.get("latest_upload") if isinstance(info, dict) else None
    usable, delivered = delivery_of(doc)
    assignee = holder(doc.get("assignee"))
    return {
        "id": str(doc.get("id", "")),
        "assignee": assignee,
        "status": doc.get("status"),
        "with_masks": doc.get("mongo_uploaded") is True,
        "usable": usable,
        "delivered": delivered,
        "delivered_by": credited_to(doc, assignee, usable, delivered),
        "masks_complete": _mask_state(doc) == "complete",
        "latest_upload": latest if isinstance(latest, datetime) else parse_date(latest),
    }


def _mask_state(doc: dict) -> str | None:
    check = doc.get("mask_check")
    return check.get("state") if isinstance(check, dict) else None


def masks_complete(rows: list[dict]) -> int:
    """How many batches' masks were checked complete against their images (`segcore verify`)."""
    return sum(1 for row in rows if row.get("masks_complete"))


def filter_rows(
    rows: list[dict], assignee: str | None = None, status: str | None = None
) -> list[dict]:
    """Rows of `assignee` (a name under any spelling, or UNASSIGNED) and `status`; None means
    any."""

    def keep(row: dict) -> bool:
        if assignee == UNASSIGNED and row["assignee"]:
            return False
        if assignee and assignee != UNASSIGNED and not same_person(row["assignee"], assignee):
            return False
        return not status or same_status(row["status"], status)

    return [row for row in rows if keep(row)]


def kpis(rows: list[dict]) -> Summary:
    """Total, assigned, with masks and pending over `rows`."""
    assigned = sum(1 for row in rows if row["assignee"])
    with_masks = sum(1 for row in rows if row["with_masks"])
    delivered = sum(1 for row in rows if row.get("usable"))
    return summary_from_counts(len(rows), assigned, with_masks, delivered)


def per_segmentador(
    rows: list[dict], team: list[str], include_idle: bool = True, only: str | None = None
) -> list[dict]:
    """Per person: assigned, with masks, assigned without masks, last upload (the batches
    they hold), and delivered (usable: the deliveries that are theirs, `delivery.deliverer`,
    held by them or handed to someone else afterwards).

    Each batch is drawn once: a delivered one with its deliverer (`delivered`), any other with
    its holder (`uploaded_unusable`, `without_masks`), so the bars add up to the KPIs. A
    delivered batch held by someone who did not deliver it counts in their `assigned` and
    `with_masks` (their workload) but not in their bars. Everyone on `team` appears (with zeros
    if idle, unless `include_idle` is False), counting the batches stored under another
    spelling of their name; assignees and deliverers no longer on the team appear too,
    flagged. `only`: that person's entry alone (any spelling), none for UNASSIGNED.
    """
    # José before a legacy duplicate Jose: one counts them; others as the filters name them
    names = display_names(
        {row["assignee"] for row in rows} | {deliverer(row) for row in rows},
        people_by_key(team),
    )
    people: dict[str, dict] = {name: _person(name, True) for name in team} if include_idle else {}

    def entry(stored: str) -> dict:
        # Another spelling of a member ("flor" stored for Flor) counts as that member, as the
        # pace, the alerts and the person filters count it.
        name = names[person_key(stored)]
        return people.setdefault(name, _person(name, name in team))

    for row in rows:
        who = deliverer(row)
        if who:
            entry(who)["delivered"] += 1
        if not row["assignee"]:
            continue
        person = entry(row["assignee"])
        person["assigned"] += 1
        person["open"] += 1 if row.get("open") else 0
        if row["with_masks"]:
            person["with_masks"] += 1
            person["uploaded_unusable"] += 0 if row.get("usable") else 1
            latest, known = row.get("latest_upload"), person["last_upload"]
            if latest is not None and (known is None or _as_datetime(latest) > _as_datetime(known)):
                person["last_upload"] = latest
        else:
            person["without_masks"] += 1
    found = sorted(people.values(), key=lambda p: person_key(p["segmentador"]))
    if only is None:
        return found
    return [p for p in found if only != UNASSIGNED and same_person(p["segmentador"], only)]


def handed_over(rows: list[dict], person: str) -> tuple[int, int]:
    """(batches `person` holds that someone else delivered, batches `person` delivered that
    someone else holds now): what the Dashboard filtered to them says, since its KPIs count
    the batches they hold and its people charts the deliveries that are theirs. Pure."""
    held_not_theirs = sum(
        1
        for row in rows
        if row.get("usable")
        and same_person(row["assignee"], person)
        and not same_person(deliverer(row), person)
    )
    theirs_not_held = sum(
        1
        for row in rows
        if same_person(deliverer(row), person) and not same_person(row["assignee"], person)
    )
    return held_not_theirs, theirs_not_held


def top_people(
    people: list[dict], limit: int = 20, search: str = ""
) -> tuple[list[dict], dict | None]:
    """(the `limit` people with the most open work, the rest summed in one row or None).

    The summed row has no name: its `rest` says how many people it sums, for the caller to
    word in its reader's language ("3 others", "3 personas más"). `search` keeps only names
    containing it (any case or accents). Open work is assigned without masks; ties by name.
    Pure.
    """
    wanted = person_key(search) if search and search.strip() else ""
    found = [p for p in people if wanted in person_key(p["segmentador"])]
    found.sort(key=lambda p: (-p["without_masks"], -p["assigned"], person_key(p["segmentador"])))
    top, rest = found[:limit], found[limit:]
    if not rest:
        return top, None
    others = {
        "rest": len(rest),
        "on_team": True,
        "last_upload": None,
        **{
            k: sum(p[k] for p in rest)
            for k in (
                "assigned",
                "with_masks",
                "delivered",
                "open",
                "without_masks",
                "uploaded_unusable",
            )
        },
    }
    return top, others


def _person(name: str, on_team: bool) -> dict:
    return {
        "segmentador": name,
        "on_team": on_team,
        "assigned": 0,
        "with_masks": 0,
        "delivered": 0,
        "open": 0,
        "without_masks": 0,
        "uploaded_unusable": 0,  # held, with masks, not delivered
        "last_upload": None,
    }


def _as_datetime(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, datetime.min.time())


def _as_date(value: object, zone: tzinfo | None = timezone.utc) -> date | None:
    if isinstance(value, datetime):
        local = to_office(value, zone)  # None for a date no zone can place
        return local.date() if local else None
    return value if isinstance(value, date) else None


def days(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@dataclass
class Burndown:
    """Pending batches at the end of each day, and when they would reach zero at recent pace."""

    points: list[dict]
    rate_per_day: float
    projected_finish: date | None
    projection: list[dict] = field(default_factory=list)
    pending_now: int = 0
    closed: int = 0  # set to done without usable masks: left out, no work left


def burndown(
    rows: list[dict],
    start: date,
    end: date,
    today: date,
    window_days: int = 14,
    zone: tzinfo | None = timezone.utc,
) -> Burndown:
    """Pending batches per day over [start, end] and a projected finish date.

    A batch counts as done on the day its masks became usable (segcore.delivery: an unreadable
    or incomplete upload is not done); one usable with no readable date counts as done before
    `start`; one dated after `today` (an uploader's clock ahead) counts as done today, as every
    other figure counts it delivered now. The pace is the number of
    batches done in the `window_days` up to `today`; with no recent progress there is no
    projected finish date. Days are `zone`'s (the office's, as `today` and the uploads chart):
    a delivery at 00:30 in Madrid is that day's, not the UTC day before. A batch set to done
    without usable masks is closed (`delivery.is_open`: nobody's open work): it is left out,
    neither work left nor a delivery, and counted in `closed`.
    """
    closed = sum(1 for row in rows if is_closed(row))
    total = len(rows) - closed
    done_days = Counter()
    undated_done = 0
    for row in rows:
        if not row.get("usable"):
            continue
        day = delivery_day(row.get("delivered"), today, zone)
        if day is None:
            undated_done += 1
        else:
            done_days[day] += 1
    sorted_days = sorted(done_days)
    points = []
    for day in days(start, end):
        done = undated_done + sum(done_days[d] for d in sorted_days if d <= day)
        points.append({"day": day, "pending": total - done})
    pending_now = total - undated_done - sum(done_days.values())
    window_start = today - timedelta(days=window_days - 1)
    recent = sum(n for d, n in done_days.items() if window_start <= d <= today)
    rate = recent / window_days if window_days > 0 else 0.0
    finish = None
    projection: list[dict] = []
    if pending_now == 0:
        finish = today
    elif rate > 0:
        try:
            finish = today + timedelta(days=math.ceil(pending_now / rate))
        except OverflowError:  # so slow the finish leaves the calendar: no projected date
            finish = None
        projection = (
            [{"day": today, "pending": pending_now}, {"day": finish, "pending": 0}]
            if finish
            else []
        )
    return Burndown(
        points=points,
        rate_per_day=round(rate, 2),
        projected_finish=finish,
        projection=projection,
        pending_now=pending_now,
        closed=closed,
    )


def is_closed(row: dict) -> bool:
    """A batch set to done whose masks are not usable: closed, not work left. Pure."""
    return not row.get("usable") and row.get("status") == DONE


def person_burndown(trend: Burndown, open_now: int, finish: date | None, today: date) -> Burndown:
    """`trend` (one person's batches) projected by that person's own rule, `pace.PersonPace`.

    A person's projected finish is computed once, from their pace over working days
    (`segcore.report.pace`), and shown as such wherever it appears: the Dashboard filtered to them
    draws the same date the Team page lists, from their pending count down by their open
    batches. Pure.
    """
    projection = (
        [
            {"day": today, "pending": trend.pending_now},
            {"day": finish, "pending": max(0, trend.pending_now - open_now)},
        ]
        if finish is not None and open_now
        else []
    )
    return Burndown(
        points=trend.points,
        rate_per_day=trend.rate_per_day,
        projected_finish=finish if open_now else None,
        projection=projection,
        pending_now=trend.pending_now,
        closed=trend.closed,
    )


def sync_age(
    last_finished: datetime | None, now: datetime, stale_after: timedelta = timedelta(hours=24)
) -> tuple[str, bool]:
    """How old the last sync is, in words, and whether it is stale (or never happened)."""
    if last_finished is None:
        return "never", True
    seconds = max(0, int((now - last_finished).total_seconds()))
    if seconds < 90:
        text = f"{seconds} s ago"
    elif seconds < 90 * 60:
        text = f"{seconds // 60} min ago"
    elif seconds < 48 * 3600:
        text = f"{seconds // 3600} h ago"
    else:
        text = f"{seconds // 86400} days ago"
    return text, now - last_finished > stale_after
