"""How stored values are named on screen: one place, marked for the catalog and translated
where they are shown.

Stored values stay as production has them (Spanish priorities, English statuses, legacy codes);
only their labels change, in the session's language. A value without a label is shown as
stored.
"""

from __future__ import annotations

import re

from segcore.content import reason_words
from segcore.core.naming import person_key
from segcore.core.phrases import Nn_
from segcore.core.timefmt import parse_date
from segcore.masks.receipts import PROBLEM_WORDS
from ui.app.i18n import N_, _, format_date, format_number, ngettext

STATUS = {
    "pending": N_("Pending"),
    "in_progress": N_("In progress"),
    "rework": N_("Rework"),
    "review": N_("In review"),
    "done": N_("Done"),
}
PROBLEM = PROBLEM_WORDS  # a receipt's problem, the words its rework reason starts with
# Who made a change, when it was not a person: the names segcore records for its own work.
AUTHOR = {
    "sync": N_("sync"),
    "app": N_("app"),
    "cli": N_("command line"),
    "command line": N_("command line"),
    "verify": N_("mask check"),
    "live-sync": N_("live sync"),
    "demo": N_("demo data"),
    "unknown": N_("unknown"),
}
_STARTED_BY = "sync (started by "
PRIORITY = {"alta": N_("High"), "media": N_("Medium"), "baja": N_("Low")}
# A batch's editable fields, named as the Batches table heads their columns.
BATCH_FIELD = {
    "assignee": N_("Assignee"),
    "status": N_("Status"),
    "priority": N_("Priority"),
    "due_date": N_("Due date"),
}
FOLDER = {"All": N_("All"), "Missing": N_("Folder missing"), "Present": N_("Folder present")}
MASKS = {"Any": N_("Any"), "With masks": N_("With masks"), "Without masks": N_("Without masks")}
MASK_STATE = {
    "complete": N_("Complete"),
    "incomplete": N_("Incomplete"),
    "extra": N_("Extra masks"),
    "unreadable": N_("Unreadable"),
    "unknown": N_("Unknown"),
    "(not checked)": N_("(not checked)"),
}
# "6 complete, 2 incomplete": each state counted, with the plural its count needs.
MASK_STATE_COUNT = {
    "complete": Nn_("{count} complete", "{count} complete"),
    "incomplete": Nn_("{count} incomplete", "{count} incomplete"),
    "extra": Nn_("{count} with extra masks", "{count} with extra masks"),
    "unreadable": Nn_("{count} unreadable", "{count} unreadable"),
    "unknown": Nn_("{count} unknown", "{count} unknown"),
}
LATE = {
    "All": N_("All"),
    "overdue": N_("Overdue"),
    "at_risk": N_("At risk"),
    "stalled": N_("Held by stalled people"),
}
# Filter options that are not stored values ("All", "(unassigned)").
SPECIAL = {"All": N_("All"), "(unassigned)": N_("(unassigned)")}
SORT = {
    "id": N_("Batch id"),
    "assignee": N_("Assignee"),
    "status": N_("Status"),
    "latest_upload": N_("Latest upload"),
    "due_date": N_("Due date"),
    "priority": N_("Priority"),
}
LEFT_THE_TEAM = N_("left the team")
NOT_ON_TEAM = N_("not on the team")


# What Streamlit's markdown would read as markup (and `:` for its :colour[...] and :icon:).
MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


# What GitHub-flavoured markdown turns into a link by itself: "https://…", "www.…", "a@b.c".
AUTOLINK = re.compile(
    r"(?i)(?<=https)(?=\\:)|(?<=http)(?=\\:)|(?<=ftp)(?=\\:)|(?<=www)(?=\\.)|(?<=@)"
)
WORD_JOINER = "\u2060"  # invisible, and no character of a link: the link is broken, not the text


def literal(text: object) -> str:
    """`text` (a stored name, a file name) as it is inside Streamlit markdown: captions,
    messages and button labels render markdown, so a name "**x**" or "[x](url)" would show
    bold or as a link, and "https://x.org/a.zip" as a link."""
    return AUTOLINK.sub(WORD_JOINER, MARKDOWN.sub(r"\\\1", str(text)))


AS_STORED = N_("{value} (as stored)")


def _labelled(table: dict, value: object) -> str:
    """A stored value's label; a value without one as stored, marked when it reads like the
    label of another (a legacy "Pendiente" beside `pending`'s "Pendiente"): a filter or a grid
    told apart by labels would otherwise pick the wrong one."""
    if value is None:
        return ""
    label = table.get(str(value))
    if label:
        return _(label)
    text = str(value)
    key = person_key(text)
    if key and any(person_key(_(known)) == key for known in table.values()):
        return _(AS_STORED).format(value=text)
    return text


def status(value: object) -> str:
    return _labelled(STATUS, value)


def problem(value: object) -> str:
    """A receipt's problem; "" when there is none."""
    return _labelled(PROBLEM, value)


def priority(value: object) -> str:
    return _labelled(PRIORITY, value)


def batch_field(value: object) -> str:
    return _labelled(BATCH_FIELD, value)


def batch_value(field_name: str, value: object) -> str:
    """A value of a batch's editable field as the Batches table draws it: a status or a
    priority by its label, a date in the language's format, legacy values as stored."""
    if field_name == "status":
        return status(value)
    if field_name == "priority":
        return priority(value)
    if field_name == "due_date" and not isinstance(value, (int, float)):
        day = parse_date(value)
        return format_date(day) if day else str(value)
    return str(value)


def folder(value: object) -> str:
    return _labelled(FOLDER, value)


def masks(value: object) -> str:
    return _labelled(MASKS, value)


def mask_state(value: object) -> str:
    return _labelled(MASK_STATE, value)


def mask_state_count(value: object, count: int) -> str:
    """ "6 complete" for a mask-check state and how many batches are in it."""
    forms = MASK_STATE_COUNT.get(str(value))
    if forms is None:
        return f"{format_number(count)} {mask_state(value)}"
    return ngettext(*forms, count).format(count=format_number(count))


def late(value: object) -> str:
    return _labelled(LATE, value)


def special(value: object) -> str:
    """ "All" and "(unassigned)" in the session's language; anything else as it is."""
    return _labelled(SPECIAL, value)


def sort(value: object) -> str:
    return _labelled(SORT, value)


def person(name: object, team: list[str], former: set[str] = frozenset()) -> str:
    """A stored assignee as shown: current members plain, others marked (never blank)."""
    if name is None or str(name).strip() == "":
        return ""
    if person_key(str(name)) in {person_key(n) for n in team}:
        return str(name)
    return off_team(str(name), name in former)


def off_team(shown: str, left: bool) -> str:
    """`shown` (a name as a view writes it) marked as someone who left the team (`left`), or
    who never was on it: the one wording of both, on every filter and chart."""
    return "{name} ({why})".format(name=shown, why=_(LEFT_THE_TEAM if left else NOT_ON_TEAM))


def unreadable_reason(entry: dict) -> str:
    """Why an upload could not be read (or a check's note), in the session's language: its
    stored template and values worded here; a reason stored before templates were kept, as
    stored (English)."""
    code, reason = entry.get("code"), str(entry.get("reason") or "")
    if not code:
        return reason
    params = {
        key: format_number(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else value
        for key, value in (entry.get("params") or {}).items()
    }
    try:
        return _(code).format(**params)
    except (KeyError, IndexError, ValueError):  # a template from a newer version, say
        return reason or code


def author(value: object) -> str:
    """Who made a change, in the session's language: segcore's own names (`sync`, `app`,
    `sync (started by app)`) worded, a person's name as stored, nothing as ""."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_STARTED_BY) and text.endswith(")"):
        return _("sync (started by {who})").format(who=author(text[len(_STARTED_BY) : -1]))
    marked = AUTHOR.get(text)
    return _(marked) if marked else text


# --- why a mask or an upload could not be read (stored in English by the checks) ---
# Worded by segcore.content.reason_words, which the messages segcore writes use too.


def other_file(text: object) -> str:
    """One of an upload's other files as a listing stored it (a name, or a name and what it
    is), in the session's language."""
    return reason_words.other_file(text, _)


def not_image(item: dict) -> str:
    """A batch folder's file left out for holding no image, and what it is, in the session's
    language."""
    return reason_words.not_image(item, _)


def read_reason(text: object) -> str:
    """A content check's stored reason (English) in the session's language: its own words
    translated, the library's words inside them as they are."""
    return reason_words.read_reason(text, _)


def offender(entry: dict) -> str:
    """One content problem of a mask, in the session's language."""
    return reason_words.offender(entry, _)


def upload_note(note: dict) -> str:
    """An upload-level note of a content check (too large, unreadable), in the session's
    language."""
    return reason_words.upload_note(note, _)
