"""What is said to whom: receipts of bad uploads, the daily alerts and the weekly report, each
rendered as outbox messages in its recipient's language (pure: no database, no network).

A receipt is a plain dict, the small interface the upload checks fill in:
`{"id", "upload_id", "filename", "batch_ids", "uploader", "uploaded_at",
  "problems": {"unreadable": reason or None, "missing": [names], "missing_count": n,
               "content": [offenders or texts]}}`: a reason may be a `Phrase` and a content
problem an offender as the content checks store it (`{"name", "code", "params"}`), both worded
in each recipient's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timezone, tzinfo

from segcore.content.reason_words import offender, upload_note
from segcore.core.naming import person_key
from segcore.core.translations import Words
from segcore.notify.notify_outbox import Message
from segcore.report.pace import Alerts
from segcore.report.pace_report import (
    alert_sections,
    build_report,
    risk_reason,
    stale_note,
    to_html,
    to_text,
)

NAMES_LISTED = 20  # missing masks named in a receipt; the rest are counted
WEBHOOK = "webhook"


@dataclass(frozen=True)
class Recipient:
    """Someone to write to: a name, an address (None: the chat webhook) and a language."""

    name: str
    address: str | None
    language: str

    @property
    def key(self) -> str:
        return self.address.lower() if self.address else WEBHOOK


def excluded(recipient: Recipient, exclude: tuple[str, ...]) -> bool:
    """True when NOTIFY_EXCLUDE names this person (by name, any case or accents) or address."""
    keys = {person_key(e) for e in exclude} | {e.lower() for e in exclude}
    address = recipient.address if isinstance(recipient.address, str) else ""
    return person_key(recipient.name) in keys or address.lower() in keys


def receipt_problems(receipt: dict) -> list[str]:
    """The receipt's verdicts among unreadable, incomplete and content; empty when usable."""
    problems = receipt.get("problems") or {}
    found = []
    if problems.get("unreadable"):
        found.append("unreadable")
    if problems.get("missing_count") or problems.get("missing"):
        found.append("incomplete")
    if problems.get("content"):
        found.append("content")
    return found


def receipt_from_stored(doc: dict) -> dict:
    """This module's receipt from an upload receipt as `segcore.masks.receipts` reads it
    (`_id`, `filename`, `uploaded_by`, `upload_date`, `batches`, `readable`, `reason` (a
    Phrase when read by `list_receipts`), `problem`, `missing`, `missing_count`, `content`
    with the content checks' `offenders` and `notes`). Content problems are told whatever the
    receipt's main problem."""
    # An unreadable upload's content result only repeats why (its members cannot be read).
    content = doc.get("content") if doc.get("problem") != "unreadable" else None
    if isinstance(content, dict):
        problems = [o for o in content.get("offenders") or () if isinstance(o, dict)]
        if not problems and int(content.get("problems") or 0) > 0:
            problems = [str(content.get("problems"))]
        # An upload's notes (too large to check, say) only beside problems: alone, they
        # are not one (an unreadable upload's is its receipt's own reason).
        if problems:
            problems += [
                {**n, "note": True} for n in content.get("notes") or () if isinstance(n, dict)
            ]
    else:
        problems = content
    counted = content.get("problems") if isinstance(content, dict) else None
    return {
        "id": doc.get("_id"),  # as stored: 999 and "999" are two uploads
        "upload_id": doc.get("_id"),
        "filename": doc.get("filename"),
        "batch_ids": list(doc.get("batches") or []),
        "uploader": doc.get("uploaded_by"),
        "uploaded_at": doc.get("upload_date"),
        "problems": {
            "unreadable": (doc.get("reason") or "unreadable")
            if doc.get("problem") == "unreadable"
            else None,
            "missing": list(doc.get("missing") or []) if doc.get("problem") == "incomplete" else [],
            "missing_count": int(doc.get("missing_count") or 0)
            if doc.get("problem") == "incomplete"
            else 0,
            "content": [p if isinstance(p, dict) else str(p) for p in problems]
            if isinstance(problems, list)
            else [],
            # how many masks the content checks found wrong (the list may hold fewer)
            "content_count": counted if type(counted) is int and counted > 0 else 0,
        },
    }


def _verdicts(kinds: list[str], _) -> str:
    words = {
        "unreadable": _("cannot be read"),
        "incomplete": _("masks missing"),
        "content": _("fails the content checks"),
    }
    return ", ".join(words[k] for k in kinds)


def _greeting(recipient: Recipient, _) -> list[str]:
    """ "Hello Ana," and a blank line for a person; nothing for a chat channel."""
    return [_("Hello {name},").format(name=recipient.name), ""] if recipient.address else []


def receipt_text(
    receipt: dict, recipient: Recipient, zone: tzinfo | None = timezone.utc
) -> tuple[str, str]:
    """The subject and body of a receipt for one recipient, in their language; the upload's
    day is `zone`'s (the office's)."""
    words = Words(recipient.language, zone)
    _ = words.gettext
    problems = receipt.get("problems") or {}
    filename = receipt.get("filename") or str(receipt.get("upload_id"))
    verdict = _verdicts(receipt_problems(receipt), _)
    subject = _("Upload {filename}: {verdict}").format(filename=filename, verdict=verdict)
    batches = ", ".join(receipt.get("batch_ids") or []) or _("no batch")
    lines = [
        *_greeting(recipient, _),
        _(
            "The upload {filename} (batch {batches}, by {uploader}, {day}) has a problem: "
            "{verdict}."
        ).format(
            filename=filename,
            batches=batches,
            uploader=receipt.get("uploader") or _("unknown"),
            day=words.day(receipt.get("uploaded_at")),
            verdict=verdict,
        ),
        "",
    ]
    if problems.get("unreadable"):
        reason = words.phrase(problems["unreadable"])
        lines += [_("It cannot be read: {reason}").format(reason=reason), ""]
    missing = list(problems.get("missing") or [])
    count = max(int(problems.get("missing_count") or 0), len(missing))
    if count:
        lines.append(
            words.ngettext(
                "{count} image has no mask:", "{count} images have no mask:", count
            ).format(count=count)
        )
        lines += [f"- {name}" for name in missing[:NAMES_LISTED]]
        if count > min(len(missing), NAMES_LISTED):
            lines.append(
                "- " + _("and {count} more").format(count=count - min(len(missing), NAMES_LISTED))
            )
        lines.append("")
    if problems.get("content"):
        # The first NAMES_LISTED offenders, then how many more (as for missing masks), then
        # the upload's notes, never cut.
        content = list(problems["content"])
        notes = [p for p in content if isinstance(p, dict) and p.get("note")]
        offenders = [p for p in content if not (isinstance(p, dict) and p.get("note"))]
        count = max(int(problems.get("content_count") or 0), len(offenders))
        lines.append(_("Content checks:"))
        lines += [f"- {_content_line(p, _)}" for p in offenders[:NAMES_LISTED]]
        listed = min(len(offenders), NAMES_LISTED)
        if count > listed and listed:
            lines.append("- " + _("and {count} more").format(count=count - listed))
        lines += [f"- {_content_line(p, _)}" for p in notes]
        lines.append("")
    lines.append(_("Please upload the batch again once it is fixed."))
    return subject, "\n".join(lines) + "\n"


def _content_line(problem: object, _) -> str:
    """A content problem in the reader's language, as the pages word it: an offender or an
    upload's note as stored (the reason inside it worded too), or a text as it is."""
    if not isinstance(problem, dict):
        return str(problem)
    return upload_note(problem, _) if problem.get("note") else offender(problem, _)


def receipt_messages(
    receipt: dict, recipients: list[Recipient], zone: tzinfo | None = timezone.utc
) -> list[Message]:
    """One message per recipient for a receipt with a problem; none for a usable upload.
    Its day is `zone`'s (the office's)."""
    if not receipt_problems(receipt):
        return []
    upload_id = receipt.get("upload_id", receipt.get("id"))
    data = {
        "receipt": typed_id(receipt.get("id")),
        "upload_id": str(upload_id),
        "upload_id_type": type(upload_id).__name__,
        "filename": receipt.get("filename"),
        "batch_ids": receipt.get("batch_ids") or [],
        "uploader": receipt.get("uploader"),
        "problems": receipt_problems(receipt),
    }
    messages = []
    for recipient in recipients:
        subject, text = receipt_text(receipt, recipient, zone)
        message = _message(
            f"receipt:{typed_id(receipt.get('id'))}:{recipient.key}",
            "receipt",
            recipient,
            subject,
            text,
            data=data,
        )
        # Versions before typed ids keyed it by the id's text alone: a message stored under
        # that key was enqueued already, and stays so.
        message.earlier_keys = (f"receipt:{receipt.get('id')}:{recipient.key}",)
        messages.append(message)
    return messages


def typed_id(upload_id: object) -> str:
    """An upload's `_id` as text with its type (`int:999`, `str:999`, `ObjectId:65f…`):
    GridFS ids may be of any type, and ids that print alike are different uploads."""
    return f"{type(upload_id).__name__}:{upload_id}"


def _message(
    key: str,
    kind: str,
    recipient: Recipient,
    subject: str,
    text: str,
    html: str | None = None,
    data: dict | None = None,
) -> Message:
    return Message(
        key=key,
        kind=kind,
        channel="email" if recipient.address else WEBHOOK,
        to=recipient.address,
        name=recipient.name,
        language=recipient.language,
        subject=subject,
        text=text,
        html=html,
        data=data or {},
    )


def newly_at_risk(alerts: Alerts, reported: set[str]) -> list:
    """The at-risk batches not in yesterday's digest, or overdue since: `reported` holds the
    ids reported before, an id with ":overdue" for one reported overdue."""
    return [
        b
        for b in alerts.at_risk
        if b.id not in reported or (_overdue(b, alerts.today) and f"{b.id}:overdue" not in reported)
    ]


def _overdue(batch, today: date) -> bool:
    return batch.due_date is not None and batch.due_date < today


def risk_marks(batches: list, today: date) -> list[str]:
    """What a digest records as reported: each id, and `id:overdue` for the overdue ones."""
    return [
        m for b in batches for m in ([b.id] + ([f"{b.id}:overdue"] if _overdue(b, today) else []))
    ]


def daily_messages(
    alerts: Alerts,
    fresh: list,
    recipients: list[Recipient],
    zone: tzinfo | None = timezone.utc,
) -> list[Message]:
    """The day's digest for each coordinator: stalled people, batches newly at risk or overdue,
    and the suggested moves; first, when the last sync is stale, the sentence naming it (at
    `zone`'s time, the office's). None when there is nothing new to say."""
    if not alerts.stalled and not fresh:
        return []
    day = alerts.today.isoformat()
    data = {
        "day": day,
        "stalled": [p.name for p in alerts.stalled],
        "at_risk": risk_marks(alerts.at_risk, alerts.today),
        "new_at_risk": [b.id for b in fresh],
        "moves": [{"id": m.id, "from": m.from_, "to": m.to} for m in alerts.moves],
        "stale": bool(getattr(alerts, "stale", False)),
    }
    messages = []
    for recipient in recipients:
        words = Words(recipient.language, zone)
        _ = words.gettext
        sections = alert_sections(alerts, words)
        fresh_lines = [
            _("{batch} ({name}): due {due}; {reason}").format(
                batch=b.id,
                name=b.assignee,
                due=words.day(b.due_date),
                reason=risk_reason(b, words),
            )
            for b in fresh
        ] or [_("none")]
        stale = stale_note(alerts, words, zone)
        parts = [
            *_greeting(recipient, _),
            *([stale, ""] if stale else []),
            sections[0][0],
            *[f"- {i}" for i in sections[0][1]],
            "",
            _("Newly at risk or overdue ({count})").format(count=len(fresh)),
            *[f"- {i}" for i in fresh_lines],
            "",
            sections[2][0],
            *[f"- {i}" for i in sections[2][1]],
        ]
        subject = _("Segmentation alerts, {day}: stalled {stalled}, newly at risk {fresh}").format(
            day=words.day(alerts.today), stalled=len(alerts.stalled), fresh=len(fresh)
        )
        messages.append(
            _message(
                f"daily:{day}:{recipient.key}",
                "daily",
                recipient,
                subject,
                "\n".join(parts) + "\n",
                data=data,
            )
        )
    return messages


def weekly_messages(
    rows: list[dict],
    alerts: Alerts,
    quality,
    week: str,
    recipients: list[Recipient],
    zone: tzinfo | None = timezone.utc,
) -> list[Message]:
    """The weekly report for each coordinator (`week` as 2025-W42), text and HTML, its days
    and times `zone`'s (the office's)."""
    messages = []
    for recipient in recipients:
        words = Words(recipient.language, zone)
        report = build_report(rows, alerts, quality, words, zone)
        html = to_html(report, words) if recipient.address else None
        messages.append(
            _message(
                f"weekly:{week}:{recipient.key}",
                "weekly",
                recipient,
                report.title,
                to_text(report),
                html=html,
                data={"week": week, "figures": report.figures},
            )
        )
    return messages


def test_message(recipient: Recipient, stamp: str) -> Message:
    """A message that only says the channel works (`segcore notify --test`)."""
    _ = Words(recipient.language).gettext
    return _message(
        f"test:{stamp}:{recipient.key}",
        "test",
        recipient,
        _("Test message from the segmentation dashboard"),
        _("Notifications reach you on this channel.") + "\n",
    )
