"""Pace and alerts from the database: one read of the batch list, one of the team, and
applying suggested moves through the compare-and-set assignment (see `segcore.report.pace`)."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo

from pymongo.database import Database

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import ValidationError
from segcore.core.phrases import N_, Phrase
from segcore.report.pace import PACE_PROJECTION, Alerts, Move, PaceOptions, analyse, pace_row
from segcore.report.pace_basis import SyncBasis, as_of_sync
from segcore.report.progress import PROGRESS_PROJECTION, progress_row
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import BATCHES
from segcore.sync.records.sync_runs import last_run
from segcore.team.team import list_members
from segcore.work import assignments
from segcore.work.batches import ChangeResult, Edit
from segcore.work.delivery import CHECK_FIELD, content_problems, is_overdue
from segcore.work.handover import former_joinings

MOVE_REASON = N_("suggested move: {reason}")
HAS_MASKS_NOW = N_("it has usable masks now, so it stays where it is")
# Who is late, as the Batches page filters it: a due date passed, at risk of missing it, or
# held by someone stalled.
LATE_KINDS = ("overdue", "at_risk", "stalled")
# A move is applied only while its batch is still not delivered: never move usable work.
_STILL_OPEN = {f"{CHECK_FIELD}.usable": {"$ne": True}}


def pace_rows(db: Database) -> list[dict]:
    """Every batch as a `pace_row`, in one read with a projection."""
    return [pace_row(doc) for doc in db[BATCHES].find({}, PACE_PROJECTION)]


def report_rows(db: Database) -> list[dict]:
    """Every batch with its progress and pace fields and its mask-check state, in one read:
    what the weekly report (command, email) counts, as the pages' batch rows hold it."""
    rows = []
    for doc in db[BATCHES].find({}, {**PROGRESS_PROJECTION, **PACE_PROJECTION}):
        check, content = doc.get("mask_check"), doc.get("mask_content")
        rows.append(
            {
                **progress_row(doc),
                **pace_row(doc),
                "mask_state": check.get("state") if isinstance(check, dict) else None,
                "mask_problems": content_problems(content),
            }
        )
    return rows


def late_ids(found: Alerts, rows: list[dict], kind: str) -> frozenset[str]:
    """The ids of the open batches that are late in the way `kind` (one of LATE_KINDS) says.

    `rows` are the batch rows (`due_date`, `usable`, `status`). Overdue: a due date before the
    office's today on a batch not delivered and not done (the table's "overdue" marker);
    at risk: `found.at_risk`; stalled: the open batches of stalled people. Pure; raises
    ValidationError for another kind.
    """
    if kind == "overdue":
        return frozenset(r["id"] for r in rows if is_overdue(r, found.today))
    if kind == "at_risk":
        return frozenset(b.id for b in found.at_risk)
    if kind == "stalled":
        return frozenset(batch_id for person in found.stalled for batch_id in person.queue)
    raise ValidationError(
        N_("'{kind}' is not a kind of lateness ({kinds})."),
        kind=kind,
        kinds=", ".join(LATE_KINDS),
        field="late",
    )


def team_rows(db: Database) -> list[dict]:
    """The team as {name, created_at} dicts, as `pace.analyse` takes them."""
    return [{"name": m.name, "created_at": m.created_at} for m in list_members(db)]


def current_alerts(
    db: Database,
    options: PaceOptions = PaceOptions(),
    now: datetime | None = None,
    tz: tzinfo | None = None,
    rows: list[dict] | None = None,
) -> Alerts:
    """Figures, stalled people, at-risk batches and suggested moves as of `now` (default: now),
    marked with the last successful sync they rest on (none before a first sync).

    `rows` lets a caller that already read `pace_rows` (for a chart) avoid a second read.
    """
    now = now or datetime.now(timezone.utc)
    rows = pace_rows(db) if rows is None else rows
    found = analyse(rows, team_rows(db), now, tz, options, former_joinings(db))
    last = last_run(db)
    return as_of_sync(found, SyncBasis.of(last.get("finished_at") if last else None, now))


def apply_moves(
    db: Database, moves: list[Move], author: "str | Actor", zone: tzinfo | None = None
) -> ChangeResult:
    """Reassign each moved batch from `from_` to `to`, only if it still has that assignee and
    no masks; the history records each as a suggested move with its reason.

    A batch changed meanwhile is reported (conflicts, or `failed` when masks arrived), never
    overwritten. Raises ValidationError (nothing written) when a target left the team,
    PermissionDenied for a viewer. `zone`: the office's, whose day the assignments note.
    """
    authorize_write(author)
    refuse_writes(db)
    edits = [
        Edit(m.id, "assignee", m.from_, m.to, reason=Phrase(MOVE_REASON, reason=m.reason))
        for m in moves
    ]
    return assignments.apply_edits(
        db, edits, author, only_if=_STILL_OPEN, only_if_text=Phrase(HAS_MASKS_NOW), zone=zone
    )
