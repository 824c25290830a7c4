"""Review and rework: the coordinator accepts a delivered batch (`done`) or sends it back
(`rework`, with a note); a new upload moves a batch to `review` or `rework` (MASKS_SET_STATUS).

Every move is a compare-and-set on the status the caller saw. A coordinator's review writes its
moves and their history entries in one transaction per step (`store.atomic`), so a crash leaves
whole steps and nothing of the one in flight; the moves an upload causes (`apply_moves`), and a
review on a server without transactions, write the history first (a crash can repeat an entry,
never lose one), and a move that finds the status changed meanwhile takes its entry back. A
bulk move marks each batch it moves with its history entry (MOVE_ENTRY), so a move that did not
take effect is told from one that did even when someone else set the same status meanwhile.
Each batch keeps, under `review` on its document, how many times it was sent
back, when it was accepted and the hours from its first upload to that acceptance: the Team
page's rework figures come from there.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from pymongo import UpdateOne
from pymongo.database import Database

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import N_, BatchNotFound, ValidationError
from segcore.core.naming import batch_key, person_key
from segcore.core.phrases import Phrase, text_of
from segcore.core.timefmt import utcnow
from segcore.store import data_version, write_wait
from segcore.store.atomic import in_one_step
from segcore.store.history import Change, record
from segcore.store.marked_writes import MARK, WRITE_CHUNK, write_marked
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import BATCHES, find_in
from segcore.store.subdocument import fit_into
from segcore.work.delivery import (
    CHECK_FIELD,
    CONTENT_FIELD,
    DONE,
    REASON_PHRASE,
    REWORK,
    deliverer,
    known_unusable,
    status_after_check,
)
from segcore.work.holders import display_names, people_by_key

FIELD = "review"  # on the batch document: sent_back, accepted_at, hours_to_accept, note
MOVE_ENTRY = MARK  # a bulk move's history entry, on its batch (see `marked_writes`)
REASON_FIELD = "rework_reason"  # why the batch is in rework (an upload's problem or a note)
# REASON_PHRASE (delivery): the same reason's template and values when segcore wrote it (a
# sync's, a check's), so each reader gets it in their language; a coordinator's note is text as
# typed and has none.
MAX_NOTE = 500
REVIEW_STEP = 500  # reviews per step: their moves and entries in one transaction
SCAN_OVER = 500  # batches past which their reworks are found in one pass, not by id
_SEEN = {
    **{"id": 1, "status": 1, FIELD: 1, "training_metrics_info.first_upload": 1},
    **{f"{CHECK_FIELD}.state": 1, f"{CHECK_FIELD}.images": 1, f"{CHECK_FIELD}.usable": 1},
    **{f"{CHECK_FIELD}.missing_count": 1, f"{CHECK_FIELD}.content": 1, CONTENT_FIELD: 1},
}


@dataclass(frozen=True)
class Move:
    """A batch's status moving from `old` to `new`, with why."""

    doc_id: object
    batch_id: str
    old: object
    new: str
    reason: str | None = None


@dataclass
class ReviewResult:
    """What a review did: the batches moved, and those changed by someone else meanwhile."""

    moved: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # status no longer what was seen
    refused: list[str] = field(default_factory=list)  # already done, or nothing uploaded
    # not accepted: its mask check says its uploads give no usable masks (send it back)
    not_usable: list[str] = field(default_factory=list)


def apply_moves(
    work: Database,
    moves: list[Move],
    author: str,
    also: dict | None = None,
    each_chunk: Callable[[], None] | None = None,
    edit: bool = False,
) -> list[Move]:
    """Write `moves` (history first, then compare-and-set on the old status, in bulk); returns
    those that took effect. Used by the sync for the moves new uploads cause, with `also`, the
    other fields it writes to batches ({doc id: (batch id, $set, $unset)}), in the same update
    as a batch's move, so each batch is written once. `each_chunk` runs after each bulk write
    (the sync renews its lease there). `edit`: the moves are not a sync's (a content check's):
    they are told to the syncs as an edit of those batches, so the next one (or a running
    live sync) counts their uploads under the new status, as after a coordinator's edit."""
    also = also or {}
    if not moves and not also:
        return []
    took = write_marked(
        work,
        [
            (
                *_move_update(m, *also.get(m.doc_id, (None, {}, {}))[1:]),
                [Change("batch", m.batch_id, "status", m.old, m.new, author, reason=m.reason)],
            )
            for m in moves
        ],
        each_chunk,
    )
    done = [m for m, ok in zip(moves, took) if ok]
    moved = {m.doc_id for m in done}
    # the other fields of a batch not moved still land
    rest = [d for d in also if d not in moved]
    _bulk(work, [UpdateOne({"_id": d}, _update(*also[d][1:])) for d in rest], each_chunk)
    moved_ids = [m.batch_id for m in done]
    if edit and moved_ids:
        data_version.bump_batches(work, moved_ids)
    written = ([] if edit else moved_ids) + [also[d][0] for d in rest]
    if written:
        data_version.bump_batches(work, written, by_sync=True)
    return done


def _update(to_set: dict, to_unset: dict) -> dict:
    update = {"$set": dict(to_set)}
    if to_unset:
        update["$unset"] = dict(to_unset)
    return update


def _move_update(move: Move, to_set: dict, to_unset: dict) -> tuple[dict, dict]:
    update = _update({**to_set, "status": move.new}, to_unset)
    unset = update.setdefault("$unset", {})
    if move.new == REWORK:
        update["$set"][REASON_FIELD] = text_of(move.reason)
        unset.pop(REASON_FIELD, None)
        if isinstance(move.reason, Phrase):
            update["$set"][REASON_PHRASE] = move.reason.as_doc()
            unset.pop(REASON_PHRASE, None)
        else:
            unset[REASON_PHRASE] = ""
    else:
        unset[REASON_FIELD] = unset[REASON_PHRASE] = ""
    if not unset:
        del update["$unset"]
    return {"_id": move.doc_id, "status": move.old}, update


def _bulk(work: Database, operations: list, each_chunk) -> int:
    return write_wait.bulk_write(work[BATCHES], operations, WRITE_CHUNK, each_chunk)


def review(
    work: Database,
    batch_ids: list[str],
    *,
    accept: bool,
    note: str | None = None,
    seen: dict[str, object] | None = None,
    author: "str | Actor" = "cli",
) -> ReviewResult:
    """Accept (`done`) or send back (`rework`, `note` required) the given batches.

    `seen`: the status the user saw per batch (compare-and-set); without it, the current status
    is taken, as the command line does. Only batches with uploads may be reviewed, a `done`
    batch is not sent back here (its status is edited in the table), and one whose checks say
    its masks are not usable is not accepted (`delivery.known_unusable`). Raises BatchNotFound,
    ValidationError for a missing note, PermissionDenied for a viewer.
    """
    who = authorize_write(author)
    refuse_writes(work)
    note = (note or "").strip()
    if not accept and not note:
        raise ValidationError(
            N_("Say why the batch is sent back (a note is required)."), field="note"
        )
    if len(note) > MAX_NOTE:
        raise ValidationError(
            N_("The note is too long (at most {n} characters)."), field="note", n=MAX_NOTE
        )
    ids = list(dict.fromkeys(str(b) for b in batch_ids))
    docs = {d["id"]: d for d in find_in(work[BATCHES], "id", ids, {**_SEEN, "mongo_uploaded": 1})}
    unknown = [b for b in ids if b not in docs]
    if unknown:
        raise BatchNotFound(N_("No batch {ids} in the batch list."), ids=", ".join(unknown[:5]))
    result, now, planned = ReviewResult(), utcnow(), []
    for batch_id in ids:
        doc = docs[batch_id]
        old = seen.get(batch_id, doc.get("status")) if seen else doc.get("status")
        if doc.get("mongo_uploaded") is not True or old == DONE:
            result.refused.append(batch_id)
            continue
        if accept and known_unusable(doc.get(CHECK_FIELD), doc.get(CONTENT_FIELD)):
            result.not_usable.append(batch_id)
            continue
        change = _decision(doc, accept, note, now)
        update, still = fit_review(doc, change["update"])
        entry = Change(
            "batch", batch_id, "status", old, change["status"], who, reason=None if accept else note
        )
        planned.append(_Decided(doc["_id"], batch_id, {"status": old, **still}, update, entry))
    for start in range(0, len(planned), REVIEW_STEP):
        step = planned[start : start + REVIEW_STEP]
        # Bounded as before: a killed command's transaction on these batches, on a server that
        # never gives it up, ends this one with WriteStalled instead of a wait for good.
        with write_wait.bounded():
            moved = set(in_one_step(work, lambda session: _write_step(work, step, session)))
        result.moved += [d.batch_id for d in step if d.batch_id in moved]
        result.conflicts += [d.batch_id for d in step if d.batch_id not in moved]
    return result


@dataclass(frozen=True)
class _Decided:
    """One batch's review as decided: its move, if the batch still holds `expected`."""

    doc_id: object
    batch_id: str
    expected: dict  # the status seen (compare-and-set), and what `fit_review` requires
    update: dict
    entry: Change


def _write_step(work: Database, step: list[_Decided], session) -> list[str]:
    """Move the batches of `step` that still hold what was seen, with their history entries and
    the batch list's version, in one transaction (`session`); returns the batch ids moved.

    Inside the transaction the batches are read first through `session`: a concurrent write to
    one of them makes the server retry the whole step, so the entries written are exactly those
    of the moves made. Without a transaction (`session` None) see `_write_in_order`."""
    if session is None:
        return _write_in_order(work, step)
    ids = [d.doc_id for d in step]
    fresh = {
        doc["_id"]: doc
        for doc in find_in(work[BATCHES], "_id", ids, {"status": 1, FIELD: 1}, session=session)
    }
    ours = [d for d in step if _still_holds(fresh.get(d.doc_id), d.expected)]
    if ours:
        work[BATCHES].bulk_write(
            [UpdateOne({"_id": d.doc_id, **d.expected}, d.update) for d in ours],
            ordered=False,
            session=session,
        )
        record(work, [d.entry for d in ours], session=session)
        data_version.bump_batches(work, [d.batch_id for d in ours], session=session)
    return [d.batch_id for d in ours]


def _still_holds(doc: dict | None, expected: dict) -> bool:
    """True when `doc` matches the equality filter `expected` (a null matching a missing field,
    as the server does)."""
    return doc is not None and all(doc.get(key) == value for key, value in expected.items())


def _write_in_order(work: Database, step: list[_Decided]) -> list[str]:
    """A server without transactions (a standalone MongoDB): the moves as the sync makes
    them (`marked_writes`), then the batch list's version for those made."""
    took = write_marked(
        work, [({"_id": d.doc_id, **d.expected}, d.update, [d.entry]) for d in step]
    )
    ours = [d.batch_id for d, ok in zip(step, took) if ok]
    if ours:
        data_version.bump_batches(work, ours)
    return ours


def fit_review(doc: dict, update: dict) -> tuple[dict, dict]:
    """`update` fitted to the batch's stored `review`, and the condition it must still meet.

    A null `review` (as older tools left it) holds nothing: it becomes a document holding the
    figures, provided it is still null. Any other value that is no document is a legacy value
    never overwritten: the batch still moves, without the figures (the Team page's rework
    figures leave it out, as for a batch reviewed before they existed). Pure.
    """
    fitted = fit_into(doc, update["$set"], FIELD)
    if fitted is None:
        kept = {k: v for k, v in update["$set"].items() if not k.startswith(f"{FIELD}.")}
        return {**update, "$set": kept}, {}
    sets, condition = fitted
    return {**update, "$set": sets}, condition


def _decision(doc: dict, accept: bool, note: str, now: datetime) -> dict:
    kept = doc.get(FIELD) if isinstance(doc.get(FIELD), dict) else {}
    if not accept:
        return {
            "status": REWORK,
            "update": {
                "$set": {
                    "status": REWORK,
                    REASON_FIELD: note,
                    f"{FIELD}.note": note,
                    f"{FIELD}.sent_back": int(kept.get("sent_back") or 0) + 1,
                    f"{FIELD}.last_sent_back_at": now,
                },
                "$unset": {REASON_PHRASE: ""},  # the note is the reason now
            },
        }
    info = (
        doc.get("training_metrics_info")
        if isinstance(doc.get("training_metrics_info"), dict)
        else {}
    )
    first = info.get("first_upload")
    hours = (
        hours_to_fix(round((now - first).total_seconds() / 3600, 2))
        if isinstance(first, datetime)
        else None
    )
    return {
        "status": DONE,
        "update": {
            "$set": {
                "status": DONE,
                f"{FIELD}.accepted_at": now,
                f"{FIELD}.hours_to_accept": hours,
                f"{FIELD}.sent_back": int(kept.get("sent_back") or 0),
            },
            "$unset": {REASON_FIELD: "", REASON_PHRASE: ""},
        },
    }


def hours_to_fix(value: object) -> object:
    """Stored hours from first upload to acceptance as a figure, never below 0: an upload
    dated ahead of the office clock (an uploader's clock ahead) counts as delivered today, so
    accepting it took no time, not minus three days (earlier versions stored such negative
    hours). Anything not a number (another tool's text) is returned as stored."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return 0.0
    return value


def person_rework(rows: list[dict], team: list[str] = ()) -> dict[str, dict]:
    """Per person (by person_key, named as on every view: `holders.display_names`):
    delivered (usable), sent back (times), accepted, acceptance rate (accepted / (accepted +
    times sent back)) and the median hours from first upload to acceptance. `rows`: batch rows
    (segcore.views.batch_rows).

    A delivered batch is its deliverer's (`delivery.deliverer`: handed to someone else for
    review, it stays theirs, as in the pace); one not delivered (sent back, say) its holder's,
    who has the rework to do."""
    names = display_names(
        {row.get("assignee") for row in rows} | {deliverer(row) for row in rows},
        people_by_key(list(team)),
    )
    people: dict[str, dict] = {}
    for row in rows:
        who = deliverer(row) if row.get("usable") else row.get("assignee")
        if not who:
            continue
        key = person_key(who)
        person = people.setdefault(
            key,
            {
                "name": names[key],
                "delivered": 0,
                "sent_back": 0,
                "accepted": 0,
                "hours": [],
            },
        )
        person["delivered"] += 1 if row.get("usable") else 0
        person["sent_back"] += int(row.get("sent_back") or 0)
        if row.get("accepted"):
            person["accepted"] += 1
            if row.get("hours_to_accept") is not None:
                person["hours"].append(row["hours_to_accept"])
    for person in people.values():
        decided = person["accepted"] + person["sent_back"]
        person["acceptance"] = person["accepted"] / decided if decided else None
        hours = person.pop("hours")
        person["median_hours_to_accept"] = statistics.median(hours) if hours else None
    return people


def moves_after_upload(batches: list[dict], decide) -> list[Move]:
    """The moves for `batches` (documents with `_id`, `id`, `status`) by `decide(doc)`, which
    returns (new status, reason) or None."""
    moves = []
    for doc in batches:
        decided = decide(doc)
        if decided and decided[0] != doc.get("status"):
            moves.append(Move(doc["_id"], str(doc.get("id")), doc.get("status"), *decided))
    return moves


_AFTER_CHECK = {
    **{"_id": 1, "id": 1, "status": 1, REASON_PHRASE: 1, FIELD: 1},
    **{"training_metrics_info.latest_upload": 1, CONTENT_FIELD: 1},
    **{f"{CHECK_FIELD}.{k}": 1 for k in ("state", "images", "usable", "missing_count", "content")},
}


def moves_after_checks(work: Database, batch_ids, author: str, keys=None) -> list[Move]:
    """Move back to `review` those of `batch_ids` that segcore itself sent to rework for an
    upload's problem and whose checks, just made again, find it gone
    (`delivery.status_after_check`), compare-and-set and in the history. A person's rework
    (a send-back, a status set by hand) stays. `batch_ids` None: the batches whose key
    (`naming.batch_key`) is in `keys`. Returns the moves made. Every place that makes a
    batch's verdict again calls it (a mask check, a content check, a sync's removals)."""
    ids = None if batch_ids is None else list(dict.fromkeys(str(b) for b in batch_ids))
    if not ids and not keys:
        return []
    held = {"status": REWORK, REASON_PHRASE: {"$type": "object"}}
    if ids is None or len(ids) > SCAN_OVER:  # a long $in is dearer than a pass over reworks
        wanted = set(ids or ())
        docs = [
            d
            for d in work[BATCHES].find(held, _AFTER_CHECK)
            if str(d.get("id")) in wanted
            or (ids is None and isinstance(d.get("id"), str) and batch_key(d["id"]) in keys)
        ]
    else:
        docs = find_in(work[BATCHES], "id", ids, _AFTER_CHECK, where=held)
    moves = moves_after_upload(docs, status_after_check)
    return apply_moves(work, moves, author, edit=True)
