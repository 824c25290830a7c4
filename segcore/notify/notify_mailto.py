""" "Write to <name>": a `mailto:` link whose message names the person's open, overdue and
incomplete batches, in the reader's language (pure: rows in, a link out).

Mail clients and browsers cut long links (some at about 2,000 characters), so the lists are
shortened ("and 12 more") until the whole link fits MAX_LINK.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from segcore.core.naming import person_key
from segcore.core.translations import Words

MAX_LINK = 1800
PROBLEM_STATES = ("incomplete", "unreadable")


def mail_address(stored: object) -> str | None:
    """The address a "Write to" link goes to, from a member's stored email: the text itself;
    None without one or when another tool stored something else (a list, a number), which is
    not one address to write to."""
    return stored if isinstance(stored, str) and stored.strip() else None


def person_batches(rows: list[dict], name: str, today: date) -> dict[str, list[str]]:
    """The person's open batches, those overdue, and those whose uploads are incomplete or
    unreadable (batch rows as `batch_rows.batch_row` makes them), each in batch order."""
    key = person_key(name)
    mine = [r for r in rows if r.get("assignee") and person_key(r["assignee"]) == key]
    return {
        "open": [r["id"] for r in mine if r.get("open")],
        "overdue": [
            r["id"] for r in mine if r.get("open") and r.get("due_date") and r["due_date"] < today
        ],
        # a batch delivered by a later upload needs nothing from them
        "incomplete": [
            r["id"] for r in mine if r.get("mask_state") in PROBLEM_STATES and not r.get("usable")
        ],
    }


def _listed(ids: list[str], shown: int, words: Words) -> str:
    if not ids:
        return words.gettext("none")
    more = len(ids) - shown
    text = ", ".join(ids[:shown]) if shown else ""
    if more > 0:
        text += (" " if text else "") + words.gettext("and {count} more").format(count=more)
    return text


def message(
    name: str, batches: dict[str, list[str]], words: Words, shown: int = 10_000
) -> tuple[str, str]:
    """The subject and body, each list cut to `shown` ids."""
    _ = words.gettext
    subject = _("Your segmentation batches")
    body = "\n".join(
        [
            _("Hello {name},").format(name=name),
            "",
            _("Open batches ({count}): {ids}").format(
                count=len(batches["open"]), ids=_listed(batches["open"], shown, words)
            ),
            _("Overdue ({count}): {ids}").format(
                count=len(batches["overdue"]), ids=_listed(batches["overdue"], shown, words)
            ),
            _("Uploads incomplete or unreadable ({count}): {ids}").format(
                count=len(batches["incomplete"]), ids=_listed(batches["incomplete"], shown, words)
            ),
            "",
        ]
    )
    return subject, body


def mailto_link(
    name: str, address: str, batches: dict[str, list[str]], words: Words, limit: int = MAX_LINK
) -> str:
    """A `mailto:` link to `address` with the message prefilled, URL-encoded, at most `limit`
    characters (the lists are shortened to fit)."""
    longest = max((len(v) for v in batches.values()), default=0)
    for shown in (longest, 50, 25, 10, 5, 0):
        subject, body = message(name, batches, words, shown)
        # RFC 6068: line breaks in a mailto body are CRLF, encoded %0D%0A.
        link = (
            f"mailto:{quote(address, safe='@')}?subject={quote(subject, safe='')}"
            f"&body={quote(body.replace(chr(10), chr(13) + chr(10)), safe='')}"
        )
        if len(link) <= limit:
            return link
    return f"mailto:{quote(address, safe='@')}"
