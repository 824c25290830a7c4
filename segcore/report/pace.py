"""Pace, stalls and due-date risk per person (pure functions: plain dicts in, dataclasses out).

A batch is *delivered* on the day its masks became usable (segcore.delivery: readable and
complete; an unreadable or incomplete upload is no delivery), counted in the office's local
time zone. Pace is batches per
working day (Monday to Friday). Everything here takes the clock and the time zone as arguments,
so the tests pin them; `segcore.report.alerts` reads the database and calls `analyse`.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache

from segcore.core.naming import batch_number, person_key, shown_name
from segcore.core.phrases import N_, Nn_, Phrase
from segcore.core.timefmt import parse_date, to_office
from segcore.work.batches import UNASSIGNED
from segcore.work.delivery import (
    CHECK_FIELD,
    CONTENT_FIELD,
    DELIVERED_BY,
    credited_to,
    deliverer,
    delivery_of,
    is_open,
)
from segcore.work.holders import display_names, holder, people_by_key, same_person

# What segcore says about a risk or a move (worded in the reader's language by the app).
FINISH_BY = N_("{name} would finish it by {date}")
FINISH_LATE = Nn_(
    "{name} would finish it by {date}, {days} day after the due date",
    "{name} would finish it by {date}, {days} days after the due date",
)
FINISH_ON_TIME = N_("{name} would finish it by {date}, on time")
LEFT_TEAM = N_("{name} is no longer on the team")
OVERDUE = Nn_("overdue by {days} day", "overdue by {days} days")
WOULD_MISS = Nn_("would miss due date by {days} day", "would miss due date by {days} days")
NEVER_DELIVERED = N_("stalled: {name} has not delivered anything yet")
STALLED_FOR = Nn_(
    "stalled: {name} has delivered nothing for {days} day",
    "stalled: {name} has delivered nothing for {days} days",
)
PRIORITY_RANK = {"alta": 0, "media": 1, "baja": 2}  # anything else (legacy, missing) comes after


def priority_rank(value: object) -> int:
    """A stored priority's place in an open queue: alta, media, baja, then anything else (a
    legacy value, none, or what another tool stored: a list `["alta"]`, a number), which is
    shown as stored and never ranked as one of the three."""
    return (
        PRIORITY_RANK.get(value, len(PRIORITY_RANK))
        if isinstance(value, str)
        else len(PRIORITY_RANK)
    )


PACE_PROJECTION = {
    "_id": 0,
    "id": 1,
    "assignee": 1,
    "status": 1,
    "mongo_uploaded": 1,
    "training_metrics_info.first_upload": 1,
    "training_metrics_info.latest_upload": 1,
    CHECK_FIELD: 1,
    CONTENT_FIELD: 1,
    "metadata.due_date": 1,
    "metadata.priority": 1,
    "review": 1,
    DELIVERED_BY: 1,
}


@dataclass(frozen=True)
class PaceOptions:
    """The settings the figures depend on (see STALL_DAYS, PACE_WINDOW_DAYS, MOVE_MAX_SHARE)."""

    stall_days: int = 7
    window_days: int = 28
    max_share: float = 0.5

    @classmethod
    def from_settings(cls, settings) -> "PaceOptions":
        return cls(settings.stall_days, settings.pace_window_days, settings.move_max_share)


RECENT_DAYS = 28  # the longest delivery count a person's figures give (delivered_28)


@dataclass
class PersonPace:
    """One person's figures; `on_team` is False for an assignee who has left the team."""

    name: str
    on_team: bool
    open: int = 0
    delivered_7: int = 0
    delivered_28: int = 0
    pace: float = 0.0  # batches per working day over the window, to 3 decimals as shown
    exact_pace: float = 0.0  # the same unrounded: 1/3 a day reaches a third batch on day 3
    last_delivery: date | None = None
    days_since: int | None = None
    projected_finish: date | None = None
    stalled: bool = False
    queue: list[str] = field(default_factory=list)  # open batch ids, most urgent first

    @property
    def working_pace(self) -> float:
        """The pace projections use: unrounded when known (a third a day shown as 0.333
        would finish a third batch a day late)."""
        return self.exact_pace or self.pace


@dataclass
class RiskyBatch:
    """An open batch that will probably not be done by its due date, and why."""

    id: str
    assignee: str
    due_date: date | None
    projected: date | None  # the day its assignee reaches it at their pace; None: never
    reason: Phrase
    priority: object = None


@dataclass
class Move:
    """A suggested reassignment of an at-risk batch, with what it would change."""

    id: str
    from_: str
    to: str
    reason: Phrase
    due_date: date | None
    projected_before: date | None
    projected_after: date

    @property
    def change(self) -> Phrase:
        """What the move changes, in words."""
        after = self.projected_after
        if self.due_date is None:
            return Phrase(FINISH_BY, name=shown_name(self.to), date=after)
        late = (self.projected_after - self.due_date).days
        if late > 0:
            return Phrase(
                FINISH_LATE, plural_by="days", name=shown_name(self.to), date=after, days=late
            )
        return Phrase(FINISH_ON_TIME, name=shown_name(self.to), date=after)


@dataclass
class Alerts:
    """Everything `analyse` found: per-person figures, stalled people, risky batches, moves."""

    today: date
    people: list[PersonPace]
    at_risk: list[RiskyBatch]
    moves: list[Move]
    # The sync the deliveries were read by (`pace_basis.SyncBasis`); None: not told (tests).
    basis: object = None

    @property
    def waiting_for_sync(self) -> bool:
        """No sync has run: nothing about pace, stalls or risk can be said yet."""
        return self.basis is not None and self.basis.finished_at is None

    @property
    def stale(self) -> bool:
        """The figures rest on a sync older than the dashboard's freshness limit."""
        return self.basis is not None and self.basis.finished_at is not None and self.basis.stale

    @property
    def stalled(self) -> list[PersonPace]:
        return [p for p in self.people if p.stalled]

    @property
    def any(self) -> bool:
        return bool(self.stalled or self.at_risk or self.moves)

    def as_json(self) -> dict:
        """The `segcore alerts --json` shape."""

        def day(value):
            return value.isoformat() if value else None

        basis = (
            {
                "waiting_for_sync": self.waiting_for_sync,
                "stale": self.stale,
                "last_sync": self.basis.finished_at,  # a moment: `--json` writes it (UTC)
            }
            if self.basis is not None
            else {}
        )
        return {
            **basis,
            "stalled": [
                {
                    "name": p.name,
                    "open": p.open,
                    "last_delivery": day(p.last_delivery),
                    "days_since": p.days_since,
                }
                for p in self.stalled
            ],
            "at_risk": [
                {
                    "id": b.id,
                    "assignee": b.assignee,
                    "due_date": day(b.due_date),
                    "projected": day(b.projected),
                }
                for b in self.at_risk
            ],
            "suggested_moves": [
                {"id": m.id, "from": m.from_, "to": m.to, "reason": m.reason} for m in self.moves
            ],
        }


# --- rows and days --------------------------------------------------------------------------


def pace_row(doc: dict) -> dict:
    """A stored batch (possibly legacy) as {id, assignee, open, delivered, delivered_by,
    due_date, priority}.

    `delivered` is when the batch's masks became usable (segcore.delivery): an upload that is
    unreadable or incomplete is no delivery. `delivered_by` is whose delivery it is: who held
    the batch then, whoever holds it now (`delivery.credited_to`, the one rule).
    """
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    assignee = holder(doc.get("assignee"))
    usable, delivered = delivery_of(doc)
    return {
        "id": str(doc.get("id", "")),
        "assignee": assignee,
        "usable": usable,
        "with_masks": doc.get("mongo_uploaded") is True,
        "open": is_open(assignee, usable, doc.get("status")),
        "delivered": delivered,
        "delivered_by": credited_to(doc, assignee, usable, delivered),
        "due_date": parse_due_date(meta.get("due_date")),
        "priority": meta.get("priority"),
    }


@lru_cache(maxsize=4096)
def _parse_due_string(text: str) -> date | None:
    return parse_date(text)


def parse_due_date(value: object) -> date | None:
    # Due dates repeat across thousands of batches; parsing each string once saves a second
    # per 50,000 batches.
    return _parse_due_string(value) if isinstance(value, str) else parse_date(value)


def local_day(moment: object, tz: tzinfo | None = None) -> date | None:
    """The office's calendar day of a stored moment (naive datetimes are UTC, as pymongo's).

    `tz` None means the server's local zone; legacy strings are taken as the day they name.
    """
    if isinstance(moment, datetime):
        local = to_office(moment, tz)  # None for a date that cannot be shown (timefmt's rule)
        return local.date() if local else None
    return parse_date(moment)


def delivery_day(moment: object, today: date, tz: tzinfo | None = None) -> date | None:
    """The office day a delivery counts on: its own (`local_day`), or `today` for one dated
    after today (an uploader's clock ahead), as `segcore status` counts it delivered now.
    Every figure that dates deliveries (pace, last delivery, deliveries in the last 7 / 28
    days, deliveries per week, the burn-down) takes the day from here."""
    day = local_day(moment, tz)
    return min(day, today) if day is not None else None


def working_days(start: date, end: date) -> int:
    """How many Mondays to Fridays lie in [start, end]."""
    span = (end - start).days + 1
    if span <= 0:
        return 0
    weeks, extra = divmod(span, 7)
    return weeks * 5 + sum(1 for n in range(extra) if (start.weekday() + n) % 7 < 5)


def nth_working_day(start: date, n: int) -> date:
    """The n-th working day counting from `start` (itself included when it is one), n >= 1."""
    try:
        day = start
        while day.weekday() >= 5:
            day += timedelta(days=1)
        weeks, rest = divmod(max(1, n) - 1, 5)
        day += timedelta(weeks=weeks)
        while rest:
            day += timedelta(days=1)
            rest -= day.weekday() < 5
        return day
    except OverflowError:  # a pace so slow the date leaves the calendar
        return date.max


@lru_cache(maxsize=1 << 17)
def _natural(batch_id: str) -> tuple:
    """batch_2 before batch_10; ids without a number after those with one.

    Kept per id: an analysis sorts tens of thousands of batches by it, several times."""
    number = batch_number(batch_id)
    return (number is None, number or 0, batch_id)


def queue_key(row: dict) -> tuple:
    """Order of an open queue: priority alta > media > baja > other, then due date, then id."""
    due = row.get("due_date")
    return (
        priority_rank(row.get("priority")),
        due is None,
        due or date.min,
        _natural(row["id"]),
    )


def reach_day(today: date, position: int, pace: float) -> date | None:
    """The day someone at `pace` finishes the `position`-th batch of their queue (1-based)."""
    if pace <= 0:
        return None
    return nth_working_day(today, math.ceil(position / pace - 1e-9))


# --- per person -----------------------------------------------------------------------------


def person_figures(
    name: str,
    on_team: bool,
    joined: date | None,
    delivered: list[date],
    queue: list[dict],
    today: date,
    options: PaceOptions,
) -> PersonPace:
    """One person's figures from their delivery days and their ordered open queue."""
    person = PersonPace(name, on_team, open=len(queue), queue=[r["id"] for r in queue])
    person.delivered_7 = sum(1 for d in delivered if 0 <= (today - d).days < 7)
    person.delivered_28 = sum(1 for d in delivered if 0 <= (today - d).days < RECENT_DAYS)
    window_start = today - timedelta(days=options.window_days - 1)
    in_window = [d for d in delivered if window_start <= d <= today]
    past = [d for d in delivered if d <= today]
    # A newcomer's pace counts only the days since they joined, not the whole window; work
    # delivered before the recorded joining (a team list written later) counts from its first
    # day, even one before the window (then the pace counts over the whole window).
    began_on = min([joined, *past]) if joined else None
    began = began_on if joined and joined <= today else window_start
    start = max(window_start, began)
    pace = len(in_window) / max(1, working_days(start, today))
    person.pace = round(pace, 3)  # as shown and stored; the projections use the exact pace
    person.exact_pace = pace
    person.last_delivery = max(past) if past else None
    if person.last_delivery:
        person.days_since = (today - person.last_delivery).days
    person.projected_finish = reach_day(today, len(queue), pace) if queue else None
    # Stalled: nothing delivered for stall_days, counting from joining for someone new. The
    # joining is the pace's (`began_on`), so a record newer than the work hides no stall.
    since = max((d for d in (person.last_delivery, began_on) if d), default=None)
    person.stalled = bool(
        on_team and queue and (since is None or (today - since).days >= options.stall_days)
    )
    return person


def risk_of(row: dict, position: int, person: PersonPace, today: date) -> RiskyBatch | None:
    """Whether the batch at `position` in `person`'s queue is at risk, and why."""
    due = row.get("due_date")
    projected = reach_day(today, position, person.working_pace)
    if not person.on_team:
        reason = _reason(LEFT_TEAM, name=shown_name(person.name))
    elif due is None:
        return None
    elif due < today:
        reason = _reason(OVERDUE, plural_by="days", days=(today - due).days)
    elif projected is not None and projected > due:
        reason = _reason(WOULD_MISS, plural_by="days", days=(projected - due).days)
    elif projected is None and person.stalled:
        reason = _stalled_reason(person)
    else:
        return None
    return RiskyBatch(row["id"], person.name, due, projected, reason, row.get("priority"))


# Tens of thousands of at-risk batches share a few reasons ("overdue by 66 days"): one phrase
# each, not one per batch (a phrase is never changed once made).
_reason = lru_cache(maxsize=4096)(Phrase)


def _stalled_reason(person: PersonPace) -> Phrase:
    if person.days_since is None:
        return Phrase(NEVER_DELIVERED, name=shown_name(person.name))
    return Phrase(
        STALLED_FOR, plural_by="days", name=shown_name(person.name), days=person.days_since
    )


# --- the whole team -------------------------------------------------------------------------


def analyse(
    rows: list[dict],
    members: list[dict],
    now: datetime,
    tz: tzinfo | None = None,
    options: PaceOptions = PaceOptions(),
    former: list[dict] = (),
) -> Alerts:
    """Per-person figures, stalled people, at-risk batches and suggested moves.

    `rows` are `pace_row`s, `members` dicts with `name` and `created_at` (legacy strings
    accepted), `now` a datetime (naive means UTC), `tz` the office's zone (None: the server's).
    `former`: people who left the team, as {name, created_at} (`handover.former_joinings`):
    one who joined within the window is paced since then, as while on the team.
    """
    today = local_day(now, tz)
    team: dict[str, dict] = {}
    for m in members:  # the first of legacy duplicates (José, Jose) is the person
        if m.get("name"):
            team.setdefault(person_key(m["name"]), m)
    left = {person_key(m["name"]): m.get("created_at") for m in former if m.get("name")}
    delivered: dict[str, list[date]] = {}
    queues: dict[str, list[dict]] = {}
    names: dict[str, str] = {}
    display = display_names(
        {row["assignee"] for row in rows} | {deliverer(row) for row in rows},
        {key: m["name"] for key, m in team.items()},
    )
    for row in rows:
        # A delivery is whoever held the batch when it was delivered (`delivered_by`).
        who = row["assignee"] if row["open"] else deliverer(row)
        if not who:
            continue
        key = person_key(who)
        names.setdefault(key, display[key])  # named as the filters and the Team page name them
        if row["open"]:
            queues.setdefault(key, []).append(row)
        else:
            day = delivery_day(row["delivered"], today, tz)
            if day is not None:
                delivered.setdefault(key, []).append(day)
    # Someone off the team who delivered lately (a member who left) keeps a row: the weekly
    # report's per-person table must add up to its "Delivered in the last 7 / 28 days".
    recent = {
        key
        for key, days in delivered.items()
        if any(0 <= (today - day).days < RECENT_DAYS for day in days)
    }
    people = []
    for key in sorted(set(team) | set(queues) | recent):
        member = team.get(key)
        # a moment the history recorded (UTC) is the office's day; a legacy string its own
        joined = parse_date(member.get("created_at")) if member else local_day(left.get(key), tz)
        queue = queues[key] = sorted(queues.get(key, []), key=queue_key)
        people.append(
            person_figures(
                names.get(key) or member["name"],
                member is not None,
                joined,
                delivered.get(key, []),
                queue,
                today,
                options,
            )
        )
    at_risk = []
    for person in people:
        for position, row in enumerate(queues[person_key(person.name)], start=1):
            risky = risk_of(row, position, person, today)
            if risky:
                at_risk.append(risky)
    at_risk.sort(key=lambda b: (b.due_date is None, b.due_date or date.min, _natural(b.id)))
    return Alerts(today, people, at_risk, suggest_moves(people, at_risk, today, options))


def suggest_moves(
    people: list[PersonPace],
    at_risk: list[RiskyBatch],
    today: date,
    options: PaceOptions = PaceOptions(),
) -> list[Move]:
    """For each at-risk batch, the member who would finish it soonest after their own queue.

    Most urgent batches first; only to someone on the team with a pace who is not stalled;
    only when it finishes sooner than where it is; at most `max_share` of a member's open
    batches leave them at once (someone who left the team can lose all of theirs).
    """
    by_name = {p.name: p for p in people}
    left = {
        p.name: max(1, math.floor(options.max_share * p.open)) if p.on_team else p.open
        for p in people
    }
    # Candidates in a heap by the day they would finish one more batch: each move costs a
    # logarithm, not a pass over the team (tens of thousands of at-risk batches are possible).
    heap = [
        (reach_day(today, p.open + 1, p.working_pace), p.open, person_key(p.name), p.name)
        for p in people
        if p.on_team and not p.stalled and p.pace > 0
    ]
    heapq.heapify(heap)
    moves = []
    urgent = sorted(
        at_risk,
        key=lambda b: (
            priority_rank(b.priority),
            b.due_date is None,
            b.due_date or date.min,
            _natural(b.id),
        ),
    )
    for risky in urgent:
        if left.get(risky.assignee, 0) <= 0:
            continue
        skipped = heapq.heappop(heap) if heap and heap[0][3] == risky.assignee else None
        if heap and (risky.projected is None or heap[0][0] < risky.projected):
            finish, load, key, target = heapq.heappop(heap)
            giver = by_name[risky.assignee]
            reason = _stalled_reason(giver) if giver.stalled else risky.reason
            moves.append(
                Move(
                    risky.id,
                    risky.assignee,
                    target,
                    reason,
                    risky.due_date,
                    risky.projected,
                    finish,
                )
            )
            left[risky.assignee] -= 1
            heapq.heappush(
                heap,
                (reach_day(today, load + 2, by_name[target].working_pace), load + 1, key, target),
            )
        if skipped:
            heapq.heappush(heap, skipped)
    return moves


def weekly_deliveries(
    rows: list[dict],
    names: list[str],
    today: date,
    tz: tzinfo | None = None,
    weeks: int = 8,
    only: str | None = None,
) -> list[dict]:
    """{week (its Monday), segmentador, deliveries} for the last `weeks` weeks, zeros included.

    Each delivery is its deliverer's (`delivery.deliverer`), on its `delivery_day`. Everyone
    in `names` appears; an assignee who left appears when they delivered in the range, and
    deliveries made while nobody held the batch under UNASSIGNED, when there are any.
    `only`: one person's deliveries alone (any spelling of the name), or UNASSIGNED's.
    """
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    mondays = [first + timedelta(weeks=n) for n in range(weeks)]
    counts: dict[tuple[str | None, date], int] = {}
    on_team = people_by_key(names)  # José, not a legacy duplicate Jose
    known = display_names({deliverer(row) for row in rows}, on_team)
    display = dict(on_team)
    nobody = False
    for row in rows:
        if not row.get("usable"):
            continue
        who = deliverer(row)
        if only is not None and (
            who is not None if only == UNASSIGNED else not same_person(who, only)
        ):
            continue
        day = delivery_day(row["delivered"], today, tz)
        if day is None or day < first:
            continue
        key = person_key(who) if who else None
        if key is None:
            nobody = True
        else:
            display.setdefault(key, known[key])
        monday = day - timedelta(days=day.weekday())
        counts[(key, monday)] = counts.get((key, monday), 0) + 1
    people = [(key, display[key]) for key in sorted(display)]
    if nobody:
        people.append((None, UNASSIGNED))
    return [
        {"week": monday, "segmentador": name, "deliveries": counts.get((key, monday), 0)}
        for key, name in people
        for monday in mondays
    ]
