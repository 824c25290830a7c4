"""Notifications against the databases: who receives what, enqueueing receipts and the daily
and weekly messages when they are due, and sending what the outbox holds.

Everything is enqueued first (notify_outbox), under a key that makes it once-only; sending is a
separate step (`send_due`), run by `segcore notify --send-due` from a timer, by the live sync's
sender thread, or from the Notifications page. A sync therefore never waits for a mail server.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from pymongo import UpdateOne

from segcore.core.naming import clean_name, person_key
from segcore.masks import receipts
from segcore.masks.receipts import NOTIFY_DUE
from segcore.notify import notify_outbox
from segcore.notify.notify_channels import deliverer
from segcore.notify.notify_messages import (
    Recipient,
    daily_messages,
    excluded,
    newly_at_risk,
    receipt_from_stored,
    receipt_messages,
    test_message,
    weekly_messages,
)
from segcore.report.alerts import current_alerts, report_rows
from segcore.report.pace import PaceOptions
from segcore.report.pace_report import delivery_quality
from segcore.store.connection import Databases
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import RECEIPTS, find_in
from segcore.team import auth
from segcore.team.team import list_members

SETTLE_S = 120  # a live receipt waits this long for its content check before a scan tells it
RECEIPT_MAX_AGE = timedelta(days=7)  # older receipts still marked are cleared unsent
SCAN_LIMIT = 2000  # receipts enqueued per scan (the rest on the next)
STOP_WAIT_TIMEOUTS = 3  # a stopping live sync waits this many NOTIFY_TIMEOUT_S for a send


def _language(db, name: str, default: str) -> str:
    """A login user's saved language (the same person by name), else the LANGUAGE setting."""
    return auth.user_language(db, name) or default


def _member_language(db, member, default: str, members: list) -> str:
    """A team member's language: the one saved by their segmentador login (the login linked to
    them: of legacy duplicates José and Jose, to the one it names), else by a login of their
    name when no other member shares that name, else LANGUAGE."""
    for login in auth.logins_of(db, member):
        language = auth.user_language(db, login)
        if language:
            return language
    key = person_key(member.name)
    if sum(person_key(m.name) == key for m in members) > 1:
        return default  # a login of that name may be the other one's
    return _language(db, member.name, default)


def coordinators(databases: Databases) -> list[Recipient]:
    """NOTIFY_COORDINATORS (when email is configured) and the chat webhook, minus the excluded."""
    settings, db = databases.settings, databases.work
    found = (
        [
            Recipient(name, address, _language(db, name, settings.language))
            for name, address in settings.notify_coordinators
        ]
        if settings.smtp_url
        else []
    )
    if settings.webhook_url:
        found.append(Recipient("webhook", None, settings.language))
    return [r for r in found if not excluded(r, settings.notify_exclude)]


def uploader_recipient(
    databases: Databases, uploader: str | None, members: list | None = None
) -> Recipient | None:
    """The team member who uploaded (matched by name as everywhere: case, accents, spacing;
    of legacy duplicates José and Jose, the one spelled exactly as `uploaded_by`, else the
    first), when they have an email, email is configured and they are not excluded.
    `members`: the team, when the caller read it already."""
    settings = databases.settings
    if not uploader or not settings.smtp_url:
        return None
    key = person_key(uploader)
    members = list_members(databases.work) if members is None else members
    sharing = [m for m in members if person_key(m.name) == key]
    spelled = [m for m in sharing if clean_name(m.name) == clean_name(uploader)]
    member = next(iter(spelled or sharing), None)
    if member is None or not isinstance(member.email, str) or not member.email.strip():
        return None  # no address, or one another tool stored as no text (a list, a number)
    language = _member_language(databases.work, member, settings.language, members)
    recipient = Recipient(member.name, member.email, language)
    return None if excluded(recipient, settings.notify_exclude) else recipient


def enqueue_receipts(databases: Databases, found: list[dict], now: datetime | None = None) -> int:
    """Enqueue the receipts of unusable uploads to their uploader and the coordinators (once
    per receipt and recipient, whatever calls this again); returns how many were added."""
    if not databases.settings.notify_receipts or not databases.settings.notify_channels:
        return 0
    team = coordinators(databases)
    members = list_members(databases.work)
    messages = []
    for receipt in found:
        uploader = uploader_recipient(databases, receipt.get("uploader"), members)
        recipients = list({r.key: r for r in ([uploader] if uploader else []) + team}.values())
        messages += receipt_messages(receipt, recipients, databases.settings.zone)
    return notify_outbox.enqueue(databases.work, messages, now)


def _naive(value: object, default: datetime) -> datetime:
    """A stored date as naive UTC; `default` when it is not a date."""
    if not isinstance(value, datetime):
        return default
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def enqueue_stored_receipts(
    databases: Databases,
    upload_ids: list | None = None,
    now: datetime | None = None,
    settle_s: float = SETTLE_S,
) -> int:
    """Enqueue the notifications of the stored receipts still to tell about (`notify_due`:
    unreadable, incomplete or failing the content checks), whoever made them (a sync, the
    live sync, `verify`), then clear their mark; returns how many messages were added.

    `upload_ids`: only these receipts, right away (the live sync once their content is
    checked, `verify`). Without them (a scan, `notify --send-due`), a receipt the live sync
    made less than `settle_s` ago without a content result yet is left for its own call, so
    its message names the content problems too. Receipts of uploads older than RECEIPT_MAX_AGE
    are cleared unsent (a channel configured today, or a first sync, does not tell last year's
    problems); with no channel set nothing is cleared. Each
    message's key is its receipt and recipient: a receipt made again, a restart or a second
    process never sends it twice (notify_outbox)."""
    work = databases.work
    if not databases.settings.notify_receipts or not databases.settings.notify_channels:
        return 0  # kept marked: told once a channel is set (within RECEIPT_MAX_AGE)
    now = now or datetime.now(timezone.utc)
    where = {NOTIFY_DUE: True}
    docs = (
        find_in(work[RECEIPTS], "_id", list(upload_ids), where=where)
        if upload_ids is not None
        else list(work[RECEIPTS].find(where).limit(SCAN_LIMIT))
    )
    if not docs:
        return 0
    docs = receipts.with_content(work, receipts.with_reasons(work, docs))
    naive = now.astimezone(timezone.utc).replace(tzinfo=None)
    fresh, done = [], []
    for doc in docs:
        made = _naive(doc.get("made_at"), naive)
        if upload_ids is None and doc.get("made_by") == "live sync" and not doc.get("content"):
            if (naive - made).total_seconds() < settle_s:
                continue  # the live sync tells it once its content is checked
        done.append(doc["_id"])
        # Aged by the upload's own date: a first sync makes receipts of last year's uploads.
        uploaded = _naive(doc.get("upload_date"), made)
        if (naive - uploaded).total_seconds() <= RECEIPT_MAX_AGE.total_seconds():
            fresh.append(receipt_from_stored(doc))
    added = enqueue_receipts(databases, fresh, now) if fresh else 0
    # Cleared once enqueued: a crash between the two enqueues again, finding the keys taken.
    # Every receipt may be left to the live sync: an empty bulk write is refused.
    if done:
        work[RECEIPTS].bulk_write(
            [UpdateOne({"_id": i}, {"$unset": {NOTIFY_DUE: ""}}) for i in done], ordered=False
        )
    return added


def notify_checked(databases: Databases, upload_ids: list, now: datetime | None = None) -> int:
    """Enqueue the receipts of uploads a mask check or a content check just looked at."""
    if not upload_ids:
        return 0
    return enqueue_stored_receipts(databases, list(upload_ids), now)


def _local(databases: Databases, now: datetime) -> datetime:
    return now.astimezone(databases.settings.zone)


def enqueue_daily(databases: Databases, now: datetime | None = None) -> int:
    """Enqueue today's digest once the office's NOTIFY_HOUR has passed; 0 when off, early,
    already enqueued or with nothing new to say."""
    settings, db = databases.settings, databases.work
    now = now or datetime.now(timezone.utc)
    if not settings.notify_daily or _local(databases, now).hour < settings.notify_hour:
        return 0
    recipients = coordinators(databases)
    if not recipients:
        return 0
    alerts = current_alerts(db, PaceOptions.from_settings(settings), now, settings.zone)
    day = alerts.today.isoformat()
    previous = db[notify_outbox.OUTBOX].find_one(
        {"kind": "daily", "data.day": {"$lt": day}}, {"data.at_risk": 1}, sort=[("data.day", -1)]
    )
    marks = ((previous or {}).get("data") or {}).get("at_risk")
    # a list of ids as this version writes it; anything else (another tool's) reports nothing
    reported = {m for m in marks if isinstance(m, str)} if isinstance(marks, list) else set()
    return notify_outbox.enqueue(
        db,
        daily_messages(alerts, newly_at_risk(alerts, reported), recipients, settings.zone),
        now,
    )


def iso_week(day) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def enqueue_weekly(databases: Databases, now: datetime | None = None) -> int:
    """Enqueue this ISO week's report once, from Monday's NOTIFY_HOUR on (or the first run
    after it, should the server have been down)."""
    settings, db = databases.settings, databases.work
    now = now or datetime.now(timezone.utc)
    local = _local(databases, now)
    if not settings.notify_weekly or (local.weekday() == 0 and local.hour < settings.notify_hour):
        return 0
    recipients = coordinators(databases)
    if not recipients:
        return 0
    rows = report_rows(db)
    alerts = current_alerts(db, PaceOptions.from_settings(settings), now, settings.zone, rows)
    return notify_outbox.enqueue(
        db,
        weekly_messages(
            rows,
            alerts,
            delivery_quality(rows),
            iso_week(local.date()),
            recipients,
            settings.zone,
        ),
        now,
    )


def send_due(
    databases: Databases, now: datetime | None = None, digests: bool = True, stopping=None
) -> notify_outbox.SendReport:
    """Enqueue the daily and weekly messages when due (with `digests`), then send everything
    due (no new message once `stopping()` is true). Failures stay in the outbox with the
    server's answer, retried later."""
    enqueue_stored_receipts(databases, now=now)  # those a cron sync or `verify` made
    if digests:
        enqueue_daily(databases, now)
        enqueue_weekly(databases, now)
    clock = (lambda: now) if now else notify_outbox.utc
    return notify_outbox.send_due(
        databases.work,
        deliverer(databases.settings),
        clock,
        stopping=stopping or (lambda: False),
        refuse=addressed_no_more(databases),
    )


LEFT = "not sent: {name} is no longer on the team, or {address} is no longer their address"
EXCLUDED = "not sent: NOTIFY_EXCLUDE names this recipient"


def addressed_no_more(databases: Databases):
    """Why a message waiting in the outbox must not go now (or None): its recipient has been
    excluded (NOTIFY_EXCLUDE) or left the team since it was enqueued (an email of segcore's
    own kinds goes only to a coordinator's address or a current member's own). A retry waits
    for the mail server, not for the team: what changed meanwhile counts."""
    settings = databases.settings
    addresses = {address.strip().lower() for _, address in settings.notify_coordinators}
    members = list_members(databases.work)
    addresses |= {m.email.strip().lower() for m in members if isinstance(m.email, str)}

    def why_not(doc: dict) -> str | None:
        if excluded(Recipient(doc.get("name") or "", doc.get("to"), ""), settings.notify_exclude):
            return EXCLUDED
        address = (doc.get("to") or "").strip()
        ours = doc.get("kind") in notify_outbox.KINDS  # another tool's note goes as it was put
        if ours and doc.get("channel") == "email" and address.lower() not in addresses:
            return LEFT.format(name=doc.get("name") or address, address=address)
        return None

    return why_not


def enqueue_test(databases: Databases, now: datetime | None = None) -> int:
    """A test message to every coordinator and the webhook (each run is a new message)."""
    now = now or datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S.%f")
    messages = [test_message(r, stamp) for r in coordinators(databases)]
    return notify_outbox.enqueue(databases.work, messages, now)


class Sender(threading.Thread):
    """Sends due messages every `interval` seconds beside a long-running process (the live
    sync), so a slow or dead mail server delays only the messages, never the sync."""

    def __init__(self, databases: Databases, interval: float = 30.0, log=None):
        super().__init__(name="notify-sender", daemon=True)
        self.databases, self.interval = databases, interval
        self.log = log or (lambda message: None)
        self.stopped = threading.Event()
        self.woken = threading.Event()
        self.last_error: str | None = None
        self.busy = False  # in a round: a message may be on its way to a server

    def run(self) -> None:
        from pymongo.errors import PyMongoError

        while not self.stopped.is_set():
            self.busy = True
            try:
                report = send_due(self.databases, stopping=self.stopped.is_set)
                self.last_error = None
                if report.sent or report.retrying or report.failed:
                    self.log(
                        f"notifications: {len(report.sent)} sent, {len(report.retrying)} "
                        f"to retry later, {len(report.failed)} failed"
                    )
            except PyMongoError as exc:  # the database is down: try again next round
                self.last_error = type(exc).__name__
            except Exception as exc:  # noqa: BLE001 - a message the sender could not handle
                # Put back by send_due; said in the log, and the next round sends the others.
                self.last_error = type(exc).__name__
                self.log(f"notifications: not sent ({type(exc).__name__}: {exc!s:.200})")
            finally:
                self.busy = False
            self.woken.wait(self.interval)
            self.woken.clear()

    def wake(self) -> None:
        """Send now rather than at the next round (something was just enqueued)."""
        self.woken.set()

    def stop(self) -> None:
        self.stopped.set()
        self.woken.set()

    def finish(self) -> bool:
        """Stop, letting the message being sent finish and be recorded (a daemon thread cut
        mid-send leaves it `sending`, and its lease then sends it twice); waits at most
        STOP_WAIT_TIMEOUTS × NOTIFY_TIMEOUT_S. True when nothing was left in flight."""
        self.stop()
        if not self.is_alive():
            return True
        bound = STOP_WAIT_TIMEOUTS * self.databases.settings.notify_timeout_s
        if self.busy:
            self.log(f"stopping: waiting up to {bound} s for the notification being sent")
        self.join(bound)
        if self.is_alive():
            self.log("stopped with a notification still being sent: it may be sent again")
            return False
        return True


def verify_and_notify(databases: Databases, **options):
    """A mask check (`mask_check.verify`, same arguments) that enqueues the receipts it made
    that tell of a problem; enqueued only, so a dead mail server never holds it up."""
    from segcore.masks.mask_check import verify

    report = verify(databases, **options)
    notify_checked(databases, report.receipt_ids)
    return report


def content_and_notify(databases: Databases, **options):
    """A content check (`mask_content_check.check_content`, same arguments) that writes its
    results into the uploads' receipts and enqueues those with problems (with `upload_ids`:
    the receipts of those uploads too, as `sync --verify --content` checks its new uploads
    first and tells about them after), after what a check killed earlier left owed
    (`content_step.check_and_tell`)."""
    from segcore.masks.content_step import check_and_tell

    return check_and_tell(databases, tell=lambda ids: notify_checked(databases, ids), **options)


def resend_now(databases: Databases, keys: list[str], author, now: datetime | None = None):
    """Make the chosen messages due again (none: only what is due) and send what is due now;
    PermissionDenied for a viewer. Returns the SendReport."""
    from segcore.core.actors import authorize_write

    authorize_write(author)
    refuse_writes(databases.work)
    if keys:
        notify_outbox.resend(databases.work, keys, author, now)
    return send_due(databases, now)
