"""Normalising people's names and batch ids, so the same thing written differently matches."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# "batch" in any case, an optional separator, then digits: batch_400, Batch-400, BATCH400,
# batch 400, batch_0400_part2. Every occurrence counts (batch_12_to_batch_15).
BATCH_PATTERN = re.compile(r"batch[_\- ]?(\d+)", re.IGNORECASE)
# Longer numbers are not batch numbers: they would not fit a stored integer, and Python refuses
# to convert more than 4,300 digits at all.
MAX_DIGITS = 15


def clean_name(name: str) -> str:
    """Trim a name and collapse inner runs of spaces, keeping its letters as typed."""
    return " ".join(str(name).split())


def control_characters(text: str) -> list[str]:
    """The control characters (ESC, BEL, NUL, ...) in `text`, as escapes like "\\x1b".

    A name holding them would replay terminal escape codes wherever it is printed.
    """
    found = dict.fromkeys(ch for ch in str(text) if unicodedata.category(ch) == "Cc")
    return [ch.encode("unicode_escape").decode() for ch in found]


def printable(text: object) -> str:
    """`text` with control characters shown as escapes, safe to print on a terminal."""
    text = str(text)
    if not any(unicodedata.category(ch) == "Cc" for ch in text):
        return text
    return "".join(ch.encode("unicode_escape").decode() if unicodedata.category(ch) == "Cc"
                   else ch for ch in text)


@lru_cache(maxsize=8192)  # a sync compares hundreds of thousands of uploaders to a few names
def person_key(name: str) -> str:
    """A key equal for names that differ only in case, accents or spacing ("Flór " == "flor")."""
    if type(name) is str:
        return _cached_key(name)  # the pages key 50,000 rows by a hundred names
    return _key(name)


def _key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", clean_name(name))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.casefold()


_cached_key = lru_cache(maxsize=4096)(_key)


def batch_number(text: str) -> int | None:
    """The number of the first batch that `text` names, or None."""
    if type(text) is str and text[:6] == "batch_":  # a stored id: no pattern needed
        digits = text[6:]
        if digits.isascii() and digits.isdigit():
            return _number(digits)
    for match in BATCH_PATTERN.finditer(str(text)):
        number = _number(match.group(1))
        if number is not None:
            return number
    return None


def _number(digits: str) -> int | None:
    return int(digits) if len(digits.lstrip("0")) <= MAX_DIGITS else None


def canonical_batch_id(text: str) -> str | None:
    """`batch_<n>` without leading zeros for the first batch `text` names, or None."""
    number = batch_number(text)
    return None if number is None else f"batch_{number}"


def batch_ids_in(text: str) -> list[str]:
    """Every batch id that `text` names, canonical, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in BATCH_PATTERN.finditer(str(text)):
        number = _number(match.group(1))
        if number is not None:
            seen.setdefault(f"batch_{number}", None)
    return list(seen)


def unsafe_id_reason(batch_id: str) -> str | None:
    """Why `batch_id` cannot name a folder (a path separator, "..", a control character such
    as NUL or a terminal escape), or None when it can."""
    if "/" in batch_id or "\\" in batch_id:
        return "contains a path separator"
    if ".." in batch_id:
        return "contains '..'"
    if any(unicodedata.category(ch) == "Cc" for ch in batch_id):
        return "contains a control character"
    return None
