"""A segmentador's own page: their batches, what their uploads lack, their pace and reviews.

Every read here takes the actor and is scoped by it in the query itself: a segmentador's login
belongs to one team member, and only that member's batches are read, so nothing of anyone else
can reach their browser. Coordinators and viewers may read a member's page too (`member`), for
example to see what the person sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from pymongo.database import Database

from segcore.core.actors import Actor
from segcore.core.errors import N_, PermissionDenied
from segcore.core.naming import person_key
from segcore.core.phrases import Phrase
from segcore.masks import receipts
from segcore.report.pace import (
    PACE_PROJECTION,
    PaceOptions,
    analyse,
    local_day,
    pace_row,
    priority_rank,
    weekly_deliveries,
)
from segcore.store.schema import BATCHES, HISTORY, find_in
from segcore.team.team import list_members, name_holds_batches
from segcore.views.labels import stored_names
from segcore.work.assignments import IN_PROGRESS
from segcore.work.batches import stored_spellings
from segcore.work.delivery import (
    CONTENT_FIELD,
    DELIVERED_BY,
    LATEST_UPLOAD,
    REWORK,
    content_problems,
    deliverer,
)
from segcore.work.handover import former_joinings
from segcore.work.holders import same_person

MY_PROJECTION = {
    **PACE_PROJECTION,
    "_id": 0,
    "folder_missing": 1,
    "mask_check": 1,
    "training_metrics_info.file_count": 1,
}
REVIEWED = ("done", "rework", "review")  # delivered, then accepted, sent back, or awaiting it


def member_of(actor: "Actor | None", member: str | None = None) -> str:
    """The team member whose page `actor` may read: their own for a segmentador (whatever
    `member` says); `member` for the other roles. PermissionDenied without one."""
    if isinstance(actor, Actor) and actor.is_segmentador:
        if not actor.member:
            raise PermissionDenied(N_("This login belongs to no team member."))
        return actor.member
    if not member:
        raise PermissionDenied(N_("Choose whose page to show."))
    return member


def _member_id(actor: "Actor | None") -> object:
    """The member's document a segmentador's login recorded; None for the other roles."""
    return actor.member_id if isinstance(actor, Actor) and actor.is_segmentador else None


def _theirs(uploaded_by: object, name: str) -> bool:
    """An upload made by `name` (any spelling), or by nobody known (older tools store no
    uploader: on their own batch, it is theirs)."""
    if not isinstance(uploaded_by, str) or not uploaded_by.strip():
        return True
    return person_key(uploaded_by) == person_key(name)


def _my_docs(db: Database, name: str, member_id: object = None) -> list[dict]:
    """The batches held by `name` under any spelling another tool stored ("flor" for Flor), as
    the coordinator's pages count them (`holders.same_person`)."""
    return _held(db, name, {}, MY_PROJECTION, member_id)


def _held(
    db: Database, name: str, extra: dict, projection: dict, member_id: object = None
) -> list[dict]:
    """`name`'s batches matching `extra`: an indexed `$in` of the stored spellings, then the
    holder rule (a query matches ["Flor"] by its item; `holders` says "['Flor']" holds it).
    `member_id`: the member's document a login recorded (`Actor.member_id`)."""
    if not name_holds_batches(db, name, member_id):  # a later legacy duplicate: the first
        return []  # holds them
    wanted = {"assignee": {"$in": stored_spellings(db, name)}, **extra}
    found = db[BATCHES].find(wanted, {**projection, "assignee": 1})
    return [doc for doc in found if same_person(doc.get("assignee"), name)]


def _handed_over(db: Database, name: str, held: set[str], member_id: object = None) -> list[dict]:
    """Pace rows of the batches `name` delivered and someone else holds now (`delivered_by`
    names them: handed over for review, say): their deliveries, counted on their page as on
    the coordinator's (`delivery.credited_to`). Only the rule's verdict leaves this function,
    as figures: never another person's batch."""
    if not name_holds_batches(db, name, member_id):  # a later legacy duplicate: the first
        return []  # delivered them
    spellings = [s for s in stored_spellings(db, name) if isinstance(s, str)]
    wanted = {DELIVERED_BY + ".name": {"$in": sorted({name, *spellings})}}
    rows = (pace_row(doc) for doc in db[BATCHES].find(wanted, MY_PROJECTION))
    return [
        row
        for row in rows
        if row["id"] not in held and same_person(deliverer(row), name) and not row["open"]
    ]


@dataclass
class MyBatch:
    """One of the person's batches as their page shows it."""

    id: str
    status: str | None
    priority: object
    due_date: date | None
    days_left: int | None
    overdue: bool
    open: bool
    uploads: int
    mask_state: str | None = None
    images: int | None = None
    matched: int | None = None
    missing: list[str] = field(default_factory=list)
    missing_count: int = 0
    unreadable: int = 0  # uploads naming the batch that cannot be read (whose: not said)


def _count(value: object, default: int | None = 0) -> int | None:
    """A count from a stored check: another tool's text, list or negative number is none."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else default


def _items(value: object) -> list:
    """A stored list, or none: a number or a text in its place lists nothing."""
    return list(value) if isinstance(value, (list, tuple)) else []


def _names(value: object) -> list[str]:
    """Image names from a stored check, each as text."""
    return [str(item) for item in _items(value) if item is not None]


def _offenders(content: dict, batch_id: str) -> list[dict]:
    """The content problems a batch's check names (`mask_content.offenders`), of its own masks:
    an offender noted for another batch (`b`) is that batch's."""
    return [
        o
        for o in _items(content.get("offenders"))
        if isinstance(o, dict) and o.get("b") in (batch_id, None)
    ]


def my_batches(
    db: Database, actor: "Actor | None", today: date, member: str | None = None
) -> list[MyBatch]:
    """The person's batches, open ones first by due date and priority, each with what the
    latest check of their uploads found (images still without a mask, unreadable uploads)."""
    name = member_of(actor, member)
    rows = []
    for doc in _my_docs(db, name, _member_id(actor)):
        row = pace_row(doc)
        due = row["due_date"]
        check = doc.get("mask_check") if isinstance(doc.get("mask_check"), dict) else {}
        info = doc.get("training_metrics_info")
        rows.append(
            MyBatch(
                id=row["id"],
                status=doc.get("status") if isinstance(doc.get("status"), str) else None,
                priority=row["priority"],
                due_date=due,
                days_left=(due - today).days if due else None,
                overdue=bool(row["open"] and due and due < today),
                open=row["open"],
                uploads=_count(info.get("file_count")) if isinstance(info, dict) else 0,
                mask_state=check.get("state") if isinstance(check.get("state"), str) else None,
                images=_count(check.get("images"), None),
                matched=_count(check.get("matched"), None),
                missing=_names(check.get("missing")),
                missing_count=_count(check.get("missing_count")),
                unreadable=len(_items(check.get("unreadable"))),
            )
        )
    return sorted(
        rows,
        key=lambda b: (
            not b.open,
            b.due_date is None,
            b.due_date or today,
            priority_rank(b.priority),
            b.id,
        ),
    )


@dataclass
class MyPace:
    """The person's pace and deliveries, by the same rules as the coordinator's pages."""

    open: int
    delivered_7: int
    delivered_28: int
    pace: float
    last_delivery: date | None
    projected_finish: date | None
    weeks: list[dict]  # {week, deliveries}, oldest first


def my_pace(
    db: Database,
    actor: "Actor | None",
    now: datetime,
    tz: tzinfo | None = None,
    options: PaceOptions = PaceOptions(),
    member: str | None = None,
) -> MyPace:
    """Pace, deliveries over the last weeks and projected finish of the person alone."""
    name = member_of(actor, member)
    member_id = _member_id(actor)
    rows = [pace_row(doc) for doc in _my_docs(db, name, member_id)]
    rows += _handed_over(db, name, {row["id"] for row in rows}, member_id)
    joined = next(  # of two members spelled alike, the one the login recorded
        (
            {"name": m.name, "created_at": m.created_at}
            for m in list_members(db)
            if m.name == name and (member_id is None or str(m.id) == member_id)
        ),
        None,
    )
    # with their join date: someone who joined last week is paced over that week, as the
    # coordinator's pages pace them (one who left since, from the joining the history kept)
    if joined is None:
        left = next((p for p in former_joinings(db) if same_person(p["name"], name)), {})
        joined = {"name": name, "created_at": local_day(left.get("created_at"), tz)}
    person = next(
        p for p in analyse(rows, [joined], now, tz, options).people if p.name == name
    )  # a batch of theirs delivered by someone else is that person's, not in these figures
    # the office's today, as the Dashboard's chart and the counts above: now.date() is UTC's
    # (a Monday-morning delivery in Tokyo would fall after the chart's last day)
    today = local_day(now, tz) or now.date()
    weeks = [
        {"week": w["week"], "deliveries": w["deliveries"]}
        for w in weekly_deliveries(rows, [name], today, tz, only=name)
    ]
    return MyPace(
        person.open,
        person.delivered_7,
        person.delivered_28,
        person.pace,
        person.last_delivery,
        person.projected_finish,
        weeks,
    )


def my_reviews(
    db: Database, actor: "Actor | None", member: str | None = None, limit: int = 50
) -> list[dict]:
    """The person's delivered batches that were accepted, sent back or await review, newest
    change first, with the coordinator's note when there is one: {id, status, at, by, note}.

    A batch sent back and then marked in progress to redo it stays, with the send-back's note,
    until its rework is delivered (an upload dated after the send-back, the delivery rule's).
    """
    name = member_of(actor, member)
    found = _held(
        db,
        name,
        {"status": {"$in": [*REVIEWED, IN_PROGRESS]}},
        {"_id": 0, "id": 1, "status": 1, LATEST_UPLOAD: 1},
        _member_id(actor),
    )
    docs = {d["id"]: d for d in found if isinstance(d.get("id"), str)}
    latest: dict[str, dict] = {}
    sent_back: dict[str, dict] = {}  # the latest move to rework
    for entry in find_in(
        db[HISTORY], "key", list(docs), {"_id": 0}, where={"kind": "batch", "field": "status"}
    ):
        key, at = entry.get("key"), entry.get("at")
        if key not in docs or not isinstance(at, datetime):
            continue
        if key not in latest or at > latest[key]["at"]:
            latest[key] = entry
        if entry.get("new") == REWORK and (key not in sent_back or at > sent_back[key]["at"]):
            sent_back[key] = entry
    status = {}
    for i, doc in docs.items():
        if doc.get("status") in REVIEWED:
            status[i] = doc["status"]
        elif i in sent_back and _redoing(doc, sent_back[i], latest[i]):
            status[i] = doc["status"]
            latest[i] = sent_back[i]  # its note, when and by whom it was sent back
    rows = [
        {
            "id": i,
            "status": s,
            "at": latest.get(i, {}).get("at"),
            "by": latest.get(i, {}).get("author"),
            "note": latest.get(i, {}).get("note")
            or _own_reason(
                Phrase.from_doc(
                    latest.get(i, {}).get("reason_phrase"), latest.get(i, {}).get("reason")
                ),
                i,
            ),
        }
        for i, s in status.items()
    ]
    rows.sort(key=lambda r: (r["at"] is None, -(r["at"].timestamp() if r["at"] else 0), r["id"]))
    return rows[:limit]


def _redoing(doc: dict, sent_back: dict, latest: dict) -> bool:
    """A batch in progress whose last move before it was a send-back (`sent_back`, a history
    entry; `latest`, its newest status entry) and that has no upload dated after that: its
    holder is redoing it and has not delivered the rework yet."""
    if latest is not sent_back and latest.get("old") != REWORK:
        return False  # started from another status since (or moved by a tool without history)
    info = doc.get("training_metrics_info")
    upload = info.get("latest_upload") if isinstance(info, dict) else None
    return not isinstance(upload, datetime) or upload <= sent_back["at"]


def _own_reason(reason: object, batch_id: str) -> object:
    """A move's reason as the batch's holder may read it. An earlier version stored an upload's
    one reason for each batch it named ("incomplete: batch_1: 2 of 3 images without a mask" as
    batch_2's): when it names another batch, only its problem ("incomplete") is kept, as
    `my_receipts` keeps of such an upload only the holder's own part."""
    if isinstance(reason, Phrase):
        if not _names_other(reason, batch_id):
            return reason
        problem = reason.params.get("problem")
        return problem if reason.template == "{problem}: {reason}" else None
    if isinstance(reason, str):  # English text, stored before reasons kept their phrase
        problem, _, rest = reason.partition(": ")
        named, found, _ = rest.partition(": ")
        if problem in _PROBLEMS and found and named != batch_id and len(named.split()) == 1:
            return problem
    return reason


_PROBLEMS = set(receipts.PROBLEM_WORDS.values())  # in English, as a reason starts with them


def _names_other(phrase: Phrase, batch_id: str) -> bool:
    """Whether `phrase` or one of the phrases it holds names a batch other than `batch_id`."""
    return any(
        (key == "batch" and str(value) != batch_id)
        or (isinstance(value, Phrase) and _names_other(value, batch_id))
        for key, value in phrase.params.items()
    )


def my_receipts(
    db: Database, actor: "Actor | None", batch_ids: list[str], member: str | None = None
) -> dict[str, dict]:
    """The latest receipt of each of the person's batches among `batch_ids` (all of them,
    however many): {batch id: {filename, upload_date, readable, reason, problem, matched,
    images, missing, content, content_problems, earlier_unreadable}}: `earlier_unreadable`,
    their older uploads on it that could not be read ({filename, upload_date, reason}, newest
    first), which the batch's check still counts; `content`, the masks with content problems
    by the batch's content check (every upload on it together, the masks the reason "content:
    3 masks with problems" counts, `content_problems` of them), else the latest upload's
    (`content_problems` None).

    Only the part of a receipt about their own batch is kept: an upload made by someone else
    tells nothing, and of one naming someone else's batch too (`batch_12_to_batch_15.zip`)
    neither its name nor its reason is kept. One naming only their own batches is theirs whole.
    """
    name = member_of(actor, member)
    # "flor" stored for Flor: hers too, as on her list; an id another tool left out (or
    # stored as no text) names no receipt
    held = _held(db, name, {}, {"_id": 0, "id": 1, CONTENT_FIELD: 1}, _member_id(actor))
    held = [d for d in held if isinstance(d.get("id"), str)]
    own = {d["id"] for d in held}
    checked = {  # the batch's content check, every upload on it together
        d["id"]: d[CONTENT_FIELD] for d in held if isinstance(d.get(CONTENT_FIELD), dict)
    }
    wanted = {b for b in batch_ids if b in own}
    latest: dict[str, dict] = {}
    for receipt in receipts.batch_receipts(db, sorted(wanted)) if wanted else []:
        if not _theirs(receipt.get("uploaded_by"), name):
            continue  # someone else's upload on their batch: its name and time are not theirs
        if receipt.get("problem") == "removed":
            continue  # deleted: it tells nothing of the batch now
        for part in _items(receipt.get("parts")):
            batch = part.get("id") if isinstance(part, dict) else None
            if not isinstance(batch, str):
                continue  # another version's or a hand edit's: it names no batch
            if batch in latest and not receipt.get("readable"):  # an earlier one of theirs
                latest[batch]["earlier_unreadable"].append(_unreadable(receipt, own))
            if batch in wanted and batch not in latest:
                content = receipt.get("content") if isinstance(receipt.get("content"), dict) else {}
                whole = _names_only(receipt, own)
                alone = _names_only(receipt, {batch})
                latest[batch] = {
                    "filename": receipt.get("filename") if whole else None,
                    "upload_date": receipt.get("upload_date"),
                    "readable": receipt.get("readable"),
                    "reason": receipt.get("reason") if whole else None,
                    "problem": receipt.get("problem"),
                    "matched": part.get("matched"),
                    "images": part.get("images"),
                    "missing": stored_names(part.get("missing")),
                    "missing_count": part.get("missing_count"),
                    "earlier_unreadable": [],  # their older uploads that could not be read
                    "content": [
                        o
                        for o in _items(content.get("offenders"))
                        # of a multi-batch upload, only those naming this batch (`b`)
                        if isinstance(o, dict)
                        and o.get("b") in ((batch, None) if alone else (batch,))
                    ],
                    "content_problems": None,
                }
                if batch in checked:  # the masks its "N masks with problems" counts
                    latest[batch].update(
                        content=_offenders(checked[batch], batch),
                        content_problems=content_problems(checked[batch]),
                    )
    return latest


def _names_only(receipt: dict, batches: set[str]) -> bool:
    """Whether every batch an upload names is one of `batches`."""
    return set(stored_names(receipt.get("batches"))) <= batches


def _unreadable(receipt: dict, own: set[str]) -> dict:
    """An unreadable upload of theirs as their page names it; of one naming someone else's
    batch too, neither its name nor its reason (they would name that batch)."""
    whole = _names_only(receipt, own)
    return {
        "filename": receipt.get("filename") if whole else None,
        "upload_date": receipt.get("upload_date"),
        "reason": receipt.get("reason") if whole else None,
    }
