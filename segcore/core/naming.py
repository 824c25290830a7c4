"""Normalising people's names and batch ids, so the same thing written differently matches."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# "batch" in any case, an optional separator, then digits: batch_400, Batch-400, BATCH400,
# batch 400, batch_0400_part2. Every occurrence counts (batch_12_to_batch_15). Matched on the
# text folded by `_width_folded`: `ｂａｔｃｈ＿７` typed with an IME is batch_7.
BATCH_PATTERN = re.compile(r"batch[_\- ]?(\d+)", re.IGNORECASE)
# Longer numbers are not batch numbers: they would not fit a stored integer, and Python refuses
# to convert more than 4,300 digits at all.
MAX_DIGITS = 15


def clean_name(name: str) -> str:
    """Trim a name and collapse inner runs of spaces, keeping its letters as typed.

    The invisible format characters a paste brings (zero-width space, soft hyphen, BOM, bidi
    marks) are dropped: "Flor\u200b" is Flor. The joiners some scripts need between letters
    (U+200C, U+200D) stay inside a word, never at its ends.
    """
    text = str(name)
    if not text.isascii():  # the usual name: nothing invisible to look for
        text = "".join(ch for ch in text if ch in _JOINERS or unicodedata.category(ch) != "Cf")
        return " ".join(w for w in (w.strip(_JOINERS) for w in text.split()) if w)
    return " ".join(text.split())


def control_characters(text: str) -> list[str]:
    """The control characters (ESC, BEL, NUL, ...) in `text`, as escapes like "\\x1b".

    A name holding them would replay terminal escape codes wherever it is printed.
    """
    found = dict.fromkeys(ch for ch in str(text) if unicodedata.category(ch) == "Cc")
    return [ch.encode("unicode_escape").decode() for ch in found]


# Shown as escapes when printed: control characters (C0, DEL, C1: terminal escape sequences,
# \r rewriting a line), format characters (bidi overrides such as U+202E reorder what follows;
# the joiners U+200C/U+200D stay, some scripts and emoji need them), line and paragraph
# separators, and lone surrogates (undecodable bytes of a file name, unprintable as text).
_UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs"}
_JOINERS = "\u200c\u200d"
_KEPT = set(_JOINERS)


def unsafe_character(ch: str) -> bool:
    """True for a character a terminal would act on or hide rather than show."""
    return ch not in _KEPT and unicodedata.category(ch) in _UNSAFE


def escape_character(ch: str) -> str:
    """ "\\x1b", "\\u202e", "\\udcff": how `printable` shows an unsafe character."""
    return (
        ch.encode("unicode_escape", "backslashreplace").decode("ascii", "backslashreplace")
        if ord(ch) < 0xD800 or ord(ch) > 0xDFFF
        else f"\\u{ord(ch):04x}"
    )


def printable(text: object, keep_newlines: bool = False) -> str:
    """`text` with control, bidi and other invisible format characters shown as escapes, safe
    to print on a terminal or in a cron mail; `keep_newlines` keeps "\\n" (multi-line text)."""
    text = str(text)
    if text.isprintable():  # the usual case, checked in C: nothing to escape
        return text
    return "".join(
        escape_character(ch) if unsafe_character(ch) and not (keep_newlines and ch == "\n") else ch
        for ch in text
    )


def is_utf8(text: str) -> bool:
    """False for text holding undecodable bytes: Python gives a file name, a command-line
    argument or a variable written in Latin-1 or Windows-1252 (`Jos\\xe9`) as lone
    surrogates, which no database and no UTF-8 output can take."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(text: str) -> str:
    """`text` as it can be stored and shown: each undecodable byte replaced by '?'. The rule
    archive members' names follow (mask_matching.member_base_name), so an image file and a
    mask member named with the same bytes (`img_\\xf1.png`) match as `img_?.png`."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def undecodable_shown(text: str) -> str:
    """`text` with its undecodable bytes (surrogate escapes) as `\\xf1`, the byte itself."""
    return "".join(
        f"\\x{ord(ch) - 0xDC00:02x}" if "\udc80" <= ch <= "\udcff" else ch for ch in text
    )


def person_key(name: str) -> str:
    """A key equal for names that differ only in case, accents, spacing or invisible characters
    ("Flór " == "flor" == "Flor\u200b").

    Any stored value has one: another tool's list or dict (unhashable, so never cached) is
    keyed by its text, as it is shown."""
    if type(name) is str:
        return _cached_key(name)  # a sync keys 500,000 uploaders, the pages 50,000 rows
    return _key(name)


def _key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", clean_name(name))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold() if bare.isascii() else bare.translate(_NO_JOINERS).casefold()


_NO_JOINERS = dict.fromkeys(map(ord, _JOINERS))
_cached_key = lru_cache(maxsize=8192)(_key)


def batch_number(text: str) -> int | None:
    """The number of the first batch that `text` names, or None."""
    if type(text) is str and text[:6] == "batch_":  # a stored id: no pattern needed
        digits = text[6:]
        if digits.isascii() and digits.isdigit():
            return _number(digits)
    for match in BATCH_PATTERN.finditer(_width_folded(str(text))):
        number = _number(match.group(1))
        if number is not None:
            return number
    return None


def _width_folded(text: str) -> str:
    """`text` with full-width letters, digits, `＿` and the ideographic space (a Japanese or
    Chinese input method, a spreadsheet from one) as their ASCII forms, as person_key folds
    names. Only width: `²` stays no digit (NFKC would make `batch_1²` batch_12)."""
    return text if text.isascii() else text.translate(_FULL_WIDTH)


# U+FF01..U+FF5E are ASCII 0x21..0x7E in full width; U+3000 is the full-width space
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def _number(digits: str) -> int | None:
    return int(digits) if len(digits.lstrip("0")) <= MAX_DIGITS else None


def canonical_batch_id(text: str) -> str | None:
    """`batch_<n>` without leading zeros for the first batch `text` names, or None."""
    number = batch_number(text)
    return None if number is None else f"batch_{number}"


def batch_key(batch_id: str) -> str:
    """The key every spelling of one batch id shares: `batch_<n>` for an id naming a batch
    number (`batch_007`, full-width `ｂａｔｃｈ＿７`: batch_7, see canonical_batch_id), else the id in Unicode NFC (`hi\u0301gado_01`, as a
    macOS share writes names, is `h\xedgado_01`)."""
    return canonical_batch_id(batch_id) or nfc(batch_id)


def nfc(text: str) -> str:
    """`text` in Unicode NFC: `i` + a combining accent (NFD) is `í`."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def one_per_batch(docs, key_of) -> dict:
    """One batch document per canonical key (`key_of(doc)`; None skips a document): of a
    legacy pair spelled differently (`batch_1` and a leftover `batch_001`) the one spelled as
    the key, which an upload naming `batch_1` names; without it, the first listed. Pure."""
    held: dict = {}
    for doc in docs:
        key = key_of(doc)
        if key is None:
            continue
        have = held.get(key)
        if have is None or (have.get("id") != key and doc.get("id") == key):
            held[key] = doc
    return held


def batch_ids_in(text: str) -> list[str]:
    """Every batch id that `text` names, canonical, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in BATCH_PATTERN.finditer(_width_folded(str(text))):
        number = _number(match.group(1))
        if number is not None:
            seen.setdefault(f"batch_{number}", None)
    return list(seen)


def cut(text: str, limit: int = 80) -> str:
    """`text` to show, cut after `limit` characters with an ellipsis (a refused id may be a
    megabyte long)."""
    return text if len(text) <= limit else f"{text[:limit]}…"


MAX_NAME = 80  # characters of a team member's name (team.add_member refuses longer ones)


def shown_name(value: object) -> str:
    """A stored name (a person's, an assignee's, a batch id) as lists show it: whole up to
    MAX_NAME characters, so any name the team accepts, else cut with an ellipsis. Another
    tool's 200,000-character assignee would fill a page or a report; where the full value
    matters (a filter, a link, the Batches table, the CSV export) it is kept."""
    return cut(str(value), MAX_NAME)


MAX_FOLDER_NAME = 255  # bytes: the longest file name on Linux, macOS and Windows file systems
# Bytes: the longest batch id an upload may name. An import refuses ids longer than a folder
# name, but earlier versions and other tools stored some; MongoDB before 4.2 could not index
# an id past 1,024 bytes (the unique `id` index), so no list holds a longer one anyone uses.
MAX_STORED_ID = 1024


def unsafe_id_reason(batch_id: str, max_bytes: int = MAX_FOLDER_NAME) -> str | None:
    """Why `batch_id` cannot name a folder (empty, ".", a path separator, "..", a control
    character such as NUL or a terminal escape, undecodable bytes, longer than `max_bytes`),
    or None when it can."""
    if not batch_id:
        return "is empty"
    if batch_id == ".":
        return "is '.', the folder itself"
    if "/" in batch_id or "\\" in batch_id:
        return "contains a path separator"
    if ".." in batch_id:
        return "contains '..'"
    if any(unicodedata.category(ch) == "Cc" for ch in batch_id):
        return "contains a control character"
    if not is_utf8(batch_id):  # a scanned folder named in Latin-1: no database can store it
        return "is not valid UTF-8"
    if len(batch_id.encode("utf-8", "surrogatepass")) > max_bytes:
        return f"is longer than a folder name can be ({max_bytes} bytes)"
    return None
