"""The outbox: every notification is a document here before it is sent, so each goes out once.

A message's `_id` is its idempotency key (a receipt and its recipient, a day, an ISO week):
enqueueing it again, from a re-sync, a restart or a second app instance, finds the key taken
and adds nothing. A sender claims one message at a time with `find_one_and_update` (state
`sending` and a lease), so two processes never send the same message; a failure puts it back
with an exponential backoff and the server's answer, and after MAX_ATTEMPTS it stays `failed`
until someone resends it.

Duplicates remain possible in two cases: a sender that dies after the server accepted a message
and before marking it sent (its lease runs out and another sender sends it again), and a server
that accepted it but whose answer came after the timeout (recorded as a failure, retried).
Nothing can close them without the receiver's help: each copy carries the same Message-ID or
Idempotency-Key header for it to fold.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from pymongo import ASCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import N_, DeliveryFailed, ValidationError
from segcore.core.phrases import Phrase
from segcore.core.redact import scrub_secrets
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import NOTIFY_OUTBOX

OUTBOX = NOTIFY_OUTBOX
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STATES = (PENDING, SENDING, SENT, FAILED)
TEST = "test"  # `notify --test`: for now or never, not retried
KINDS = ("receipt", "daily", "weekly", TEST)
MAX_ATTEMPTS = 8
FIRST_RETRY_S = 60
MAX_RETRY_S = 6 * 3600
LEASE_S = 900  # far longer than a send may take (NOTIFY_TIMEOUT_S, at most 300 s)
# Outbox documents written since receipt keys name the upload id's type carry this; an
# older document's key may be a message's earlier key (Message.earlier_keys).
KEY_FORM = 2
ANSWER_CHARS = 500  # how much of a server's answer is kept
ANSWER_PHRASE = "answer_phrase"  # beside `answer`: its template and values when segcore worded it
TYPE_MISMATCH = 14  # the server's code for $inc on a value that is no number


@dataclass
class Message:
    """One message to one recipient on one channel, rendered in the recipient's language."""

    key: str
    kind: str
    channel: str  # "email" or "webhook"
    to: str | None  # the address for email; None for the webhook
    name: str | None
    language: str
    subject: str
    text: str
    html: str | None = None
    data: dict = field(default_factory=dict)  # the facts, for the JSON webhook
    # keys an earlier version gave this message: one of them stored by that version means
    # the message was enqueued already
    earlier_keys: tuple[str, ...] = ()


@dataclass
class SendReport:
    """What a `send_due` pass did."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def utc(moment: datetime | None = None) -> datetime:
    return moment or datetime.now(timezone.utc)


def ensure_indexes(db: Database) -> None:
    db[OUTBOX].create_index([("state", ASCENDING), ("due_at", ASCENDING)], name="state_due")
    db[OUTBOX].create_index([("kind", ASCENDING), ("created_at", ASCENDING)], name="kind_created")


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 1 min after the first failure, doubling, at most 6 hours."""
    return timedelta(seconds=min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1)))


def enqueue(db: Database, messages: list[Message], now: datetime | None = None) -> int:
    """Add the messages whose key is new; returns how many were added (the rest were known)."""
    now = utc(now)
    added = 0
    for message in messages:
        if message.earlier_keys and _stored_by_earlier_version(db, message.earlier_keys):
            continue
        doc = {
            "_id": message.key,
            "kind": message.kind,
            "channel": message.channel,
            "to": message.to,
            "name": message.name,
            "language": message.language,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "data": message.data,
            "state": PENDING,
            "attempts": 0,
            "created_at": now,
            "due_at": now,
            "errors": [],
            "key_form": KEY_FORM,
        }
        try:
            db[OUTBOX].insert_one(doc)
            added += 1
        except DuplicateKeyError:
            pass  # sent, pending or failed already: exactly once
    return added


def _stored_by_earlier_version(db: Database, keys: tuple[str, ...]) -> bool:
    """True when one of `keys` is a message that an earlier version stored (without
    `key_form`): the same key stored now may be another message's (a typed upload id's text
    can read like an old key)."""
    where = {"_id": {"$in": list(keys)}, "key_form": {"$exists": False}}
    return db[OUTBOX].find_one(where, {"_id": 1}) is not None


def _due(now: datetime, state: str) -> dict:
    """When a message in `state` is due: pending past its time, or sending past its lease."""
    if state == SENDING:
        return {"state": SENDING, "lease_until": {"$lte": now}}
    return {"state": PENDING, "due_at": {"$lte": now}}


def _moment(value: object) -> datetime:
    """A stored date to sort by, naive UTC as the driver reads them; a missing or odd one
    (another tool's text) first."""
    if not isinstance(value, datetime):
        return datetime.min
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def due_keys(db: Database, now: datetime | None = None, limit: int = 200) -> list[tuple]:
    """(key, channel, state) of the messages due now, oldest first: one read per pass.

    Claiming then goes by key (an `_id` lookup, one state at a time): on the embedded server a
    claim that filters and sorts the whole outbox, or takes an `$or`, costs a pass over every
    match per message (50 ms each at 200 messages, against 8 ms).
    """
    now = utc(now)
    found = []
    for state in (PENDING, SENDING):
        found += [
            {**d, "state": state}
            for d in db[OUTBOX].find(_due(now, state), {"channel": 1, "due_at": 1}).limit(limit)
        ]
    found.sort(key=lambda d: (_moment(d.get("due_at")), str(d["_id"])))
    return [(d["_id"], d.get("channel"), d["state"]) for d in found[:limit]]


def claim(
    db: Database,
    owner: str,
    key: str,
    now: datetime | None = None,
    lease_s: int = LEASE_S,
    state: str = PENDING,
) -> dict | None:
    """Take the message `key` for `owner` if it is still due in `state` (atomically: no other
    sender gets it), or None when another sender took it meanwhile.

    A message left `sending` by a sender that died is due again once its lease ran out.
    """
    now = utc(now)
    taken = {"state": SENDING, "owner": owner, "lease_until": now + timedelta(seconds=lease_s)}
    where = {"_id": key, **_due(now, state)}
    try:
        return db[OUTBOX].find_one_and_update(
            where, {"$set": taken, "$inc": {"attempts": 1}}, return_document=ReturnDocument.AFTER
        )
    except OperationFailure as exc:
        if exc.code != TYPE_MISMATCH:
            raise
    # Attempts stored as no number (null, text: another tool): counted afresh, not a stop.
    return db[OUTBOX].find_one_and_update(
        {**where, "attempts": {"$not": {"$type": "number"}}},
        {"$set": {**taken, "attempts": 1}},
        return_document=ReturnDocument.AFTER,
    )


def mark_sent(db: Database, doc: dict, answer: str, now: datetime | None = None) -> bool:
    """Record the server's acceptance; False when the lease was lost meanwhile."""
    result = db[OUTBOX].update_one(
        {"_id": doc["_id"], "owner": doc["owner"], "state": SENDING},
        {
            "$set": {"state": SENT, "sent_at": utc(now), "answer": answer[:ANSWER_CHARS]},
            "$unset": {"lease_until": "", "owner": "", ANSWER_PHRASE: ""},
        },
    )
    return result.modified_count == 1


def failure_answer(exc: DeliveryFailed) -> str:
    """What a DeliveryFailed says, as a Phrase when its template can be worded again (a
    deliverer outside segcore may raise one with plain text: that text as it is)."""
    try:
        return Phrase(exc.template, **exc.params)
    except (KeyError, IndexError, ValueError):  # braces in a plain text
        return str(exc)


def mark_failed(
    db: Database, doc: dict, answer: str, now: datetime | None = None, final: bool = False
) -> str:
    """Record a failure with the server's answer: due again after the backoff, or `failed`
    after MAX_ATTEMPTS (at once when `final`: trying again cannot help; and for a test
    message, a probe of now: one that failed is reported, never delivered later). A failed
    message is due no more (`due_at` stays the failure's time). An answer segcore worded (a
    Phrase) is stored with its template too, for each reader's language. Returns the new
    state."""
    now = utc(now)
    final = final or doc.get("kind") == TEST or doc["attempts"] >= MAX_ATTEMPTS
    state = FAILED if final else PENDING
    worded = {ANSWER_PHRASE: answer.as_doc()} if isinstance(answer, Phrase) else {}
    db[OUTBOX].update_one(
        {"_id": doc["_id"], "owner": doc["owner"], "state": SENDING},
        {
            "$set": {
                "state": state,
                "answer": answer[:ANSWER_CHARS],
                "due_at": now if final else now + retry_delay(doc["attempts"]),
                **worded,
            },
            "$push": {
                "errors": {"$each": [{"at": now, "answer": answer[:ANSWER_CHARS]}], "$slice": -10}
            },
            "$unset": {"lease_until": "", "owner": "", **({} if worded else {ANSWER_PHRASE: ""})},
        },
    )
    return state


Deliver = Callable[[dict], str]  # sends one outbox document; returns the server's answer


def send_due(
    db: Database,
    deliver: Deliver,
    now: Callable[[], datetime] = utc,
    limit: int = 200,
    lease_s: int = LEASE_S,
    stopping: Callable[[], bool] = lambda: False,
    refuse: Callable[[dict], str | None] = lambda doc: None,
) -> SendReport:
    """Send every due message (at most `limit`) through `deliver`, one claim at a time; once
    `stopping()` says so, none more is claimed (the one being sent is finished and recorded).
    `refuse(message)`: why a message must not go any more (its recipient left), recorded as
    its answer with the message failed, not sent.

    `deliver` raises DeliveryFailed with the server's answer; a server that does not answer at
    all is not tried again in this pass (a dead server costs one timeout, not one per message).
    Any other exception stops the pass after putting the message back, so a bug never loses
    one.
    """
    owner = uuid.uuid4().hex
    report = SendReport()
    down: set[str] = set()  # a server that did not answer is not tried again in this pass
    for key, channel, state in due_keys(db, now(), limit):
        if stopping():
            break
        doc = None if channel in down else claim(db, owner, key, now(), lease_s, state)
        if doc is None:
            continue  # its server is down, or another sender took it
        sendable = outgoing(doc)
        missing = unsendable(sendable)
        if missing:  # stored so by another tool: no retry can send it, the others go on
            mark_failed(db, doc, f"not sent: {missing}", now(), final=True)
            report.failed.append(doc["_id"])
            continue
        refused = refuse(sendable)
        if doc.get("kind") == TEST and doc["attempts"] > 1:  # an older version retried tests
            refused = "not sent: a test message that failed is not tried again"
        if refused:
            mark_failed(db, doc, refused, now(), final=True)
            report.failed.append(doc["_id"])
            continue
        try:
            answer = deliver(sendable)
        except DeliveryFailed as exc:
            state = mark_failed(db, doc, failure_answer(exc), now())
            (report.failed if state == FAILED else report.retrying).append(doc["_id"])
            if exc.unreachable:
                down.add(doc["channel"])
            continue
        except BaseException as exc:
            mark_failed(db, doc, f"not sent: {type(exc).__name__}", now())
            raise
        mark_sent(db, doc, answer, now())
        report.sent.append(doc["_id"])
    return report


def resend(
    db: Database, keys: list[str], author: "str | Actor", now: datetime | None = None
) -> int:
    """Make messages due now again (a failed one, or a sent one sent once more on purpose);
    returns how many. PermissionDenied for a viewer; a message being sent is left alone."""
    authorize_write(author)
    refuse_writes(db)
    if not all(isinstance(k, str) for k in keys):
        raise ValidationError(N_("A message key must be text."))
    count = 0
    for key in keys:
        count += (
            db[OUTBOX]
            .update_one(
                {"_id": key, "state": {"$in": [PENDING, SENT, FAILED]}},
                {"$set": {"state": PENDING, "due_at": utc(now), "attempts": 0}},
            )
            .modified_count
        )
    return count


def retry_waiting(db: Database, author: "str | Actor", now: datetime | None = None) -> int:
    """Make every failed message, and every pending one waiting for its backoff, due now; a
    failed test message stays failed (a test is for now: `notify --test` makes a new one)."""
    authorize_write(author)
    refuse_writes(db)
    now = utc(now)
    failed = db[OUTBOX].update_many(
        {"state": FAILED, "kind": {"$ne": TEST}},
        {"$set": {"state": PENDING, "due_at": now, "attempts": 0}},
    )
    waiting = db[OUTBOX].update_many(
        {"state": PENDING, "due_at": {"$gt": now}}, {"$set": {"due_at": now}}
    )
    return failed.modified_count + waiting.modified_count


TEXT_FIELDS = ("state", "kind", "channel", "to", "name", "language", "subject", "text", "answer")
DATE_FIELDS = ("created_at", "due_at", "sent_at")


def _text(value: object) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def stored_message(doc: dict) -> dict:
    """An outbox document as every reader gets it, whatever another tool or an older version
    stored: each field present, None where it is missing (shown as missing, never skipped),
    text as text, a date that is none as its text, attempts a number. One odd document then
    stops no list and no page."""
    view: dict = {"key": doc.get("_id")}
    view.update((name, _text(doc.get(name))) for name in TEXT_FIELDS)
    for name in DATE_FIELDS:
        value = doc.get(name)
        view[name] = value if value is None or isinstance(value, datetime) else str(value)
    attempts = doc.get("attempts")
    view["attempts"] = attempts if type(attempts) is int else 0
    errors = doc.get("errors")
    view["errors"] = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    # an answer segcore worded: each reader's language (`Phrase`), English as stored otherwise
    view["answer"] = Phrase.from_doc(doc.get(ANSWER_PHRASE), view["answer"])
    return view


def outgoing(doc: dict) -> dict:
    """A claimed document as a channel sends it: its key as text (the Message-ID and the
    Idempotency-Key derive from it), a missing subject or kind empty, values as text."""
    view = stored_message(doc)
    return {
        **doc,
        **{name: view[name] for name in TEXT_FIELDS},
        "_id": str(doc["_id"]),
        "subject": view["subject"] or "",
    }


def unsendable(doc: dict) -> str | None:
    """What a message (as `outgoing` gives it) lacks to be sent at all, or None."""
    if not (doc.get("text") or "").strip():
        return "the stored message has no text"
    if doc.get("channel") == "email" and not (doc.get("to") or "").strip():
        return "the stored message has no address"
    return None


LIST_PROJECTION = {"html": 0, "data": 0}


def list_messages(
    db: Database, state: str | None = None, limit: int = 500, hide: list[str] = ()
) -> list[dict]:
    """The newest messages first (every state, or one), without their HTML and data, each as
    `stored_message` gives it. `hide`: secrets (`notify_channels.answer_secrets`) scrubbed from
    the servers' answers, those stored by a version that missed them included."""
    if state is not None and state not in STATES:
        raise ValidationError(N_("Unknown message state {state}."), state=state)
    where = {} if state is None else {"state": state}
    docs = db[OUTBOX].find(where, LIST_PROJECTION).sort("created_at", -1).limit(limit)
    found = [stored_message(d) for d in docs]
    for doc in found if hide else ():
        doc["answer"] = _scrubbed_answer(doc.get("answer"), hide)
        for error in doc.get("errors") or ():
            if isinstance(error.get("answer"), str):
                error["answer"] = scrub_secrets(error["answer"], hide)
    return found


def _scrubbed_answer(answer: object, hide: list[str]) -> object:
    if isinstance(answer, Phrase):  # its values (a server's answer), then worded again
        return Phrase(
            answer.template,
            **{
                k: scrub_secrets(v, hide) if isinstance(v, str) else v
                for k, v in answer.params.items()
            },
        )
    return scrub_secrets(answer, hide) if isinstance(answer, str) else answer


def count_by_state(db: Database) -> dict[str, int]:
    """How many messages are in each state (every state present, zeros included)."""
    counts = {state: 0 for state in STATES}
    for row in db[OUTBOX].aggregate([{"$group": {"_id": "$state", "n": {"$sum": 1}}}]):
        if row["_id"] in counts:
            counts[row["_id"]] = row["n"]
    return counts
