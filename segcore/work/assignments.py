"""Writing assignments: compare-and-set edits of the batch table, bulk assignment, and
spreading pending work across the team.

Every write here is a compare-and-set (a batch changed by someone else meanwhile is a conflict,
never overwritten) and is recorded in the history in the same step (see `atomic`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, tzinfo

from pymongo import UpdateOne
from pymongo.database import Database

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import N_, PermissionDenied, ValidationError
from segcore.core.naming import person_key
from segcore.core.phrases import Phrase
from segcore.core.timefmt import office_now
from segcore.store import history
from segcore.store.atomic import in_one_step
from segcore.store.marked_writes import write_marked
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import find_in
from segcore.store.subdocument import fit_into
from segcore.team.team import list_members, name_holds_batches
from segcore.work.batches import (
    COLLECTION,
    EDITABLE,
    ChangeResult,
    Conflict,
    Edit,
    get_batches,
    get_value,
    ids_with_status,
    mark_changed,
    next_pending_ids,
    open_workloads,
    team_member,
    validate_value,
)
from segcore.work.delivery import DELIVERED_BY, REASON_PHRASE, REWORK, delivered_by_update
from segcore.work.holders import holder, same_person

_EDIT_PROJECTION = {
    **{"_id": 1, "id": 1, "assignee": 1, "status": 1, "metadata": 1},
    # whether it is delivered, and by whom (delivery.delivered_by_update)
    **{"mask_check": 1, "mask_content": 1, "review": 1, DELIVERED_BY: 1},
    "training_metrics_info.latest_upload": 1,
}
# Batches written per step: one bulk write and one history insert, in one transaction where
# the server offers them. Small enough for a transaction, large enough for bulk speed.
EDIT_CHUNK = 500
CHANGED_MEANWHILE = N_("it changed meanwhile")
LEFT_THE_TEAM = N_("{name} was removed from the team meanwhile")
METADATA_NOT_OBJECT = N_(
    "its metadata holds a legacy value ({value}) that a priority or due date would replace"
)


def apply_edits(
    db: Database,
    edits: list[Edit],
    author: "str | Actor",
    only_if: dict | None = None,
    only_if_text: "str | Phrase" = "",
    zone: tzinfo | None = None,
) -> ChangeResult:
    """Write `edits`, each batch only if it still holds the values the user saw.

    Every edit is validated first: one invalid value raises ValidationError and writes nothing.
    A field someone else changed meanwhile is not written and is reported as a Conflict; the
    batch's other edited fields are written (`split_stale`). `only_if` is
    a further condition every batch must still meet (a fixed filter, never user input); one
    that no longer does is skipped and reported in `failed` with `only_if_text`. Batches are
    written in steps of EDIT_CHUNK, each step with its history in one transaction (where the
    server offers them), so a crash never leaves a changed batch without its history. An
    assignment notes the office's day (`zone`, the TIMEZONE setting; None: the server's).
    """
    author = authorize_write(author)
    refuse_writes(db)
    team = [m.name for m in list_members(db)] if any(e.field == "assignee" for e in edits) else []
    by_batch: dict[str, dict[str, tuple[object, object]]] = defaultdict(dict)
    reasons = {str(e.batch_id): e.reason for e in edits if e.reason}
    problems = []
    for edit in edits:
        try:
            new = validate_value(edit.field, edit.new, team)
        except ValidationError as exc:
            problems.append((str(edit.batch_id), exc))
            continue
        if new != edit.old:
            by_batch[str(edit.batch_id)][edit.field] = (edit.old, new)
    if problems:
        more = len(problems) - 5
        refused = ValidationError(
            N_("Nothing was saved. {problems} (and {more} more)")
            if more > 0
            else N_("Nothing was saved. {problems}"),
            problems="; ".join(f"{batch_id}: {exc}" for batch_id, exc in problems[:5]),
            more=more,
        )
        refused.problems = problems[:5]  # the UI words each one in the user's language
        raise refused
    result, today = ChangeResult(), office_now(zone).date()
    items = list(by_batch.items())
    for start in range(0, len(items), EDIT_CHUNK):
        step = dict(items[start : start + EDIT_CHUNK])
        done = in_one_step(
            db,
            lambda session: _write_step(
                db, step, author, session, reasons, only_if, only_if_text, today
            ),
        )
        result.updated += done.updated
        result.conflicts += done.conflicts
        result.missing += done.missing
        result.failed.update(done.failed)
        result.already += done.already
    return result


def _write_step(
    db: Database,
    by_batch: dict[str, dict],
    author: str,
    session,
    reasons: dict[str, str],
    only_if: dict | None,
    only_if_text: str,
    today: date | None = None,
) -> ChangeResult:
    """Compare-and-set one step of edits in one bulk write, and record their history with it.

    Reads the batches through `session`, so inside a transaction the comparison and the writes
    see the same state (a concurrent write makes the server retry the whole step). It changes
    none of its arguments, so a retry compares the same edits again. `today`: the office's day,
    noted on the batches it assigns.
    """
    done = ChangeResult()
    docs, eligible, on_team = _read_step(db, by_batch, session, only_if)
    planned: dict[str, tuple] = {}
    # What this attempt writes, by batch. Never `by_batch` itself: a retried transaction runs
    # this step again on the same `by_batch`, and must find the same fields to compare.
    written: dict[str, dict[str, tuple[object, object]]] = {}
    for batch_id, fields in by_batch.items():
        doc = docs.get(batch_id)
        if doc is None:
            done.missing.append(batch_id)
            continue
        if eligible is not None and batch_id not in eligible:
            done.failed[batch_id] = only_if_text or Phrase(CHANGED_MEANWHILE)
            continue
        fresh, stale = split_stale(batch_id, fields, doc)
        done.conflicts += stale
        if not fresh:
            if not stale:
                done.already.append(batch_id)
            continue
        # Compared and recorded as stored: "flor" where the page said Flor, the number 42.
        fields = written[batch_id] = {f: (get_value(doc, f), new) for f, (_, new) in fresh.items()}
        given_to = fields.get("assignee", (0, None))[1]
        if given_to is not None and team_member(given_to, on_team) is None:
            done.failed[batch_id] = Phrase(LEFT_THE_TEAM, name=str(given_to))
            continue
        update = {EDITABLE[f]: new for f, (_, new) in fields.items()}
        if "assignee" in fields:  # a delivery stays with whoever held the batch then
            update.update(delivered_by_update(doc, fields["assignee"][1]))
        try:
            assigned_on = today if fields.get("assignee", (0, 0))[1] else None
            update, still = metadata_update(doc, update, assigned_on)
        except ValidationError as refused:
            done.failed[batch_id] = Phrase(refused.template, **refused.params)
            continue
        expected = {EDITABLE[f]: old for f, (old, _) in fields.items()}
        change = {"$set": update}
        if fields.get("status", (None, None))[1] == REWORK:
            # a person's rework: no longer segcore's for an upload's problem, so a check
            # that finds the problem gone leaves it (delivery.status_after_check)
            change["$unset"] = {REASON_PHRASE: ""}
        planned[batch_id] = ({"_id": doc["_id"], **expected, **still, **(only_if or {})}, change)
    entries = {
        batch_id: [
            history.Change("batch", batch_id, f, old, new, author, reason=reasons.get(batch_id))
            for f, (old, new) in written[batch_id].items()
        ]
        for batch_id in planned
    }
    if session is None:  # no transaction: told apart from someone else's same write by a mark
        took = write_marked(db, [(*planned[b], entries[b]) for b in planned])
        done.updated = [b for b, ok in zip(planned, took) if ok]
        _changed_meanwhile(db, {b: written[b] for b, ok in zip(planned, took) if not ok}, done)
    elif planned:
        operations = [UpdateOne(where, change) for where, change in planned.values()]
        db[COLLECTION].bulk_write(operations, ordered=False, session=session)
        done.updated = list(planned)
        history.record(db, [c for b in planned for c in entries[b]], session=session)
    if done.updated:
        mark_changed(db, done.updated, session=session)
    return done


def _read_step(
    db: Database, by_batch: dict[str, dict], session, only_if: dict | None
) -> tuple[dict[str, dict], set[str] | None, list[str]]:
    """What a step compares with, read through `session`: the batches by id, those still
    meeting `only_if` (None: no condition), and the team's names when it assigns someone."""
    docs: dict[str, dict] = {}
    for doc in find_in(db[COLLECTION], "id", list(by_batch), _EDIT_PROJECTION, session=session):
        docs.setdefault(doc["id"], doc)  # legacy repeated ids: the first one, as update_one did
    eligible = (
        None
        if only_if is None
        else {
            d["id"]
            for d in find_in(
                db[COLLECTION], "id", list(docs), {"id": 1}, session=session, where=only_if
            )
        }
    )
    # Read again in the step: one removed since `apply_edits` checked is given nothing (see
    # handover.remove_member, whose deletion writes the batch list's version as this step does).
    on_team = (
        [m.name for m in list_members(db, session)]
        if any(f.get("assignee", (0, None))[1] is not None for f in by_batch.values())
        else []
    )
    return docs, eligible, on_team


def metadata_update(doc: dict, update: dict, assigned_on: date | None) -> tuple[dict, dict]:
    """`update` ($set paths) fitted to the batch's stored `metadata`, and the condition its
    metadata must still meet.

    An assignment (`assigned_on`: the office's day, None for an edit assigning nobody) also
    notes that day (`metadata.assigned_at`), as the history beside it dates the change. A null metadata holds nothing: it
    becomes a document holding the fields written, provided it is still null. Any other value
    that is no document (a legacy "n/a", a number, a list) is never overwritten: an assignment
    leaves it as it is (no day noted: the readers fall back as for a batch that never had
    one), and a priority or due date, which would have to replace it, raises ValidationError.
    Pure.
    """
    meta = doc.get("metadata")
    if assigned_on and (meta is None or isinstance(meta, dict)):
        update = {**update, "metadata.assigned_at": assigned_on.isoformat()}
    fitted = fit_into(doc, update, "metadata")
    if fitted is None:
        raise ValidationError(METADATA_NOT_OBJECT, value=f"{meta!r:.40}")
    return fitted


def split_stale(
    batch_id: str, fields: dict[str, tuple[object, object]], doc: dict
) -> tuple[dict[str, tuple[object, object]], list[Conflict]]:
    """A batch's edits (`fields`: field -> (seen, wanted)) split against its stored `doc`: those
    still to write, and the Conflicts of those someone else changed meanwhile.

    Each field is compared on its own: a status a sync moved on meanwhile never holds back the
    assignee chosen in the same row, which nobody else touched. A field that already holds the
    value wanted (two coordinators chose the same) is neither written nor a conflict. Pure.
    """
    fresh, stale = {}, []
    for name, (seen, wanted) in fields.items():
        stored = get_value(doc, name)
        if _unchanged(name, stored, seen):
            fresh[name] = (seen, wanted)
        elif not _unchanged(name, stored, wanted):
            stale.append(Conflict(batch_id, name, seen, stored, wanted))
    return fresh, stale


def _unchanged(field_name: str, stored: object, seen: object) -> bool:
    """True when a batch still holds what the user saw. For the assignee, the same holder
    (`holders`): the pages show the number 42 as "42", and a move names Flor for "flor"."""
    if stored == seen or field_name != "assignee":
        return stored == seen
    if holder(seen) is None:
        return holder(stored) is None
    return same_person(stored, holder(seen))


def _changed_meanwhile(db: Database, by_batch: dict[str, dict], done: ChangeResult) -> None:
    """Report the batches of `by_batch` (field -> (seen, wanted)) whose write did not take
    effect: a field now holding another value is a Conflict; a batch holding all it was to get
    (someone else wrote the same meanwhile) is `already`, as `split_stale` says; one removed
    meanwhile is missing."""
    found = get_batches(db, list(by_batch))
    done.missing += [batch_id for batch_id in by_batch if batch_id not in found]
    for batch_id, doc in found.items():
        fields = by_batch[batch_id]
        stale = [
            Conflict(batch_id, name, old, get_value(doc, name), new)
            for name, (old, new) in fields.items()
            if not _unchanged(name, get_value(doc, name), new)
        ]
        done.conflicts += stale
        if not stale:
            done.already.append(batch_id)


def assign(
    db: Database,
    batch_ids: list[str],
    assignee: str | None,
    author: "str | Actor",
    seen: dict[str, object] | None = None,
    zone: tzinfo | None = None,
) -> ChangeResult:
    """Assign `batch_ids` to `assignee` (None unassigns), on the office's day in `zone`.

    Compare-and-set against `seen` (the assignee the user was shown, by batch id) where given,
    else against the current values (the command line, which names the batches itself). A
    caller that chose the batches by their assignee (unassigned ones, a member's open ones)
    passes the assignee it chose them by, so one someone else reassigned since is a conflict.
    PermissionDenied for a viewer, before anything is read.
    """
    authorize_write(author)
    refuse_writes(db)
    if assignee is not None:  # refused whether or not a batch is found
        validate_value("assignee", assignee, [m.name for m in list_members(db)])
    current = get_batches(db, batch_ids, {"_id": 0, "id": 1, "assignee": 1})
    seen = seen or {}
    edits = [
        Edit(bid, "assignee", seen[bid] if bid in seen else doc.get("assignee"), assignee)
        for bid, doc in current.items()
    ]
    result = apply_edits(db, edits, author, zone=zone)
    result.missing += [str(b) for b in batch_ids if str(b) not in current]
    return result


BULK_FIELDS = ("status", "priority", "due_date")


def check_bulk_changes(changes: dict[str, object]) -> None:
    """Raise ValidationError for a field bulk editing does not offer or a value it may not
    store, whatever batches it would apply to (pure: a typo is refused even when no batch
    matches)."""
    for name, value in changes.items():
        if name not in BULK_FIELDS:
            raise ValidationError(N_("'{name}' cannot be changed in bulk."), name=name, field=name)
        validate_value(name, value, [])


def bulk_edits(
    docs: dict[str, dict], changes: dict[str, object], where_status: str | None = None
) -> tuple[list[Edit], list[str]]:
    """The compare-and-set edits setting `changes` on `docs` (the values their reader saw).

    `where_status` keeps only the batches still holding that stored status (to replace a legacy
    code such as "S"); the others are returned apart, by id. Pure; raises ValidationError for
    a field bulk editing does not offer.
    """
    check_bulk_changes(changes)
    edits, skipped = [], []
    for batch_id, doc in docs.items():
        if where_status is not None and doc.get("status") != where_status:
            skipped.append(batch_id)
            continue
        edits += [
            Edit(batch_id, name, get_value(doc, name), value) for name, value in changes.items()
        ]
    return edits, skipped


def set_fields(
    db: Database,
    batch_ids: list[str] | None,
    changes: dict[str, object],
    author: "str | Actor",
    seen: dict[str, dict] | None = None,
    where_status: str | None = None,
) -> ChangeResult:
    """Set status, priority and/or due date of `batch_ids` at once, in the history like any edit.

    Compare-and-set against `seen` (the documents the user was shown, by id) where given, else
    against the values read now; `where_status` changes only batches still holding that status
    (the others are reported in `failed`), and with `batch_ids` None every batch holding it. Raises ValidationError (nothing written) for a value
    that is not allowed, PermissionDenied for a viewer (before anything is read).
    """
    authorize_write(author)
    refuse_writes(db)
    check_bulk_changes(changes)  # before anything is read
    if batch_ids is None:
        batch_ids = ids_with_status(db, where_status)
    current = get_batches(db, batch_ids, _EDIT_PROJECTION)
    docs = {bid: (seen or {}).get(bid, doc) for bid, doc in current.items()}
    edits, skipped = bulk_edits(docs, changes, where_status)
    result = apply_edits(db, edits, author)
    result.missing += [str(b) for b in batch_ids if str(b) not in current]
    for batch_id in skipped:
        result.failed[batch_id] = f"its status is no longer '{where_status}'"
    return result


def plan_balance(workloads: dict[str, int], batch_ids: list[str]) -> dict[str, str]:
    """Hand each batch to whoever has the fewest open batches at that point (ties by name)."""
    if not workloads:
        return {}
    loads = dict(workloads)
    plan = {}
    for batch_id in batch_ids:
        name = min(loads, key=lambda n: (loads[n], person_key(n)))
        plan[batch_id] = name
        loads[name] += 1
    return plan


@dataclass
class Handout(ChangeResult):
    """What a bulk assignment of pending batches did: a ChangeResult, plus how many batches it
    tried (`tried`), how many each person received (`given`) and the batches someone else
    assigned between their choice and the write (`taken`, each a Conflict naming who holds it
    now: left to them, and not in `conflicts`, since nobody was shown them)."""

    tried: int = 0
    given: dict[str, int] = field(default_factory=dict)
    taken: list[Conflict] = field(default_factory=list)


def _hand_out(db: Database, count: int, give) -> Handout:
    """Give out up to `count` unassigned pending batches with `give(ids) -> {name: result}`.

    `give` assigns each batch only if it is still unassigned, as it was chosen (`unassigned`).
    A batch that could not be assigned (failed, or assigned by someone else meanwhile) is
    reported and the next one is taken in its place, so one that cannot be assigned never
    blocks those behind it.
    """
    total, tried = Handout(), set()
    while len(total.updated) < count:
        ids = next_pending_ids(db, count - len(total.updated), exclude=tried)
        if not ids:
            break
        tried.update(ids)
        for name, done in give(ids).items():
            total.given[name] = total.given.get(name, 0) + len(done.updated)
            total.updated += done.updated
            # chosen unassigned, compared as such: an assignee conflict is someone's assignment
            total.taken += [c for c in done.conflicts if c.field == "assignee"]
            total.conflicts += [c for c in done.conflicts if c.field != "assignee"]
            total.missing += done.missing
            total.failed.update(done.failed)
    total.tried = len(tried)
    return total


def unassigned(batch_ids: list[str]) -> dict[str, None]:
    """The `seen` of an assignment of batches chosen because nobody held them: a batch someone
    assigned since is then a conflict, never taken over."""
    return dict.fromkeys(batch_ids)


def assign_next_pending(
    db: Database, count: int, assignee: str, author: "str | Actor", zone: tzinfo | None = None
) -> Handout:
    """Assign the next `count` unassigned pending batches (in batch order) to `assignee`."""
    authorize_write(author)
    refuse_writes(db)
    return _hand_out(
        db,
        max(0, int(count)),
        lambda ids: {assignee: assign(db, ids, assignee, author, unassigned(ids), zone)},
    )


def balance_pending(
    db: Database,
    names: list[str],
    author: "str | Actor",
    limit: int | None = None,
    zone: tzinfo | None = None,
) -> Handout:
    """Spread unassigned pending batches over `names` so open workloads end up even.

    `given` says how many batches each person received; the batches that could not be
    assigned are in `failed` and `conflicts`, with the reason.
    """
    authorize_write(author)
    refuse_writes(db)

    def give(ids: list[str]) -> dict[str, ChangeResult]:
        per_person: dict[str, list[str]] = defaultdict(list)
        for batch_id, name in plan_balance(open_workloads(db, names), ids).items():
            per_person[name].append(batch_id)
        return {
            name: assign(db, batch_ids, name, author, unassigned(batch_ids), zone)
            for name, batch_ids in per_person.items()
        }

    return _hand_out(db, limit if limit is not None else 10**9, give)


IN_PROGRESS = "in_progress"
NOT_STARTABLE = ("in_progress", "review", "done")  # already started, delivered or accepted


def start_batch(
    db: Database, batch_id: str, seen_status: object, actor: "str | Actor"
) -> ChangeResult:
    """Mark a batch `in_progress`, compare-and-set on the status the person saw.

    The one write a segmentador may make, and only on a batch assigned to their own team
    member: anything else is PermissionDenied, worded without telling whose batch it is.
    Others need the right to write. ValidationError when the batch was already started,
    delivered or accepted when the person saw it; the result's `already` when someone else
    marked it in progress meanwhile (as asked: no conflict), `conflicts` when its status
    changed meanwhile to anything else and `failed` when it stopped being theirs.
    """
    batch_id = str(batch_id)
    doc = db[COLLECTION].find_one({"id": batch_id}, {"assignee": 1, "status": 1})
    if isinstance(actor, Actor) and actor.is_segmentador:
        if (
            doc is None
            or not actor.member
            or person_key(str(doc.get("assignee") or "")) != person_key(actor.member)
            or not name_holds_batches(db, actor.member, actor.member_id)
        ):
            raise PermissionDenied(N_("You can only mark your own batches."))
        author = actor.name
    else:
        author = authorize_write(actor)
        if doc is None:
            raise ValidationError(N_("There is no batch {batch}."), batch=batch_id)
    refuse_writes(db)
    if seen_status in NOT_STARTABLE:
        raise ValidationError(
            N_("{batch} is already {status}."), batch=batch_id, status=seen_status
        )
    step = {batch_id: {"status": (seen_status, IN_PROGRESS)}}
    return in_one_step(
        db,
        lambda session: _write_step(
            db,
            step,
            author,
            session,
            {},
            {"assignee": doc.get("assignee")},
            "it is no longer assigned to you",
        ),
    )
