"""Reading a JSON file people hand in (the batches file), strictly: every way it can be odd
ends in one ImportFileError naming the file and the problem, before anything is written.

What the standard `json` module lets through or turns into a traceback: a file too large to
be a batch list, a pipe or device instead of a file, invalid UTF-8, nesting deep enough to
exhaust the stack, an integer literal of thousands of digits (Python refuses to convert past
4,300), an integer a database cannot store (beyond 64 bits), a key given twice in one object
(json keeps the last silently), NaN/Infinity (not JSON), and text no database can store (a
lone surrogate such as "\\ud800", or NUL in a key).
"""

from __future__ import annotations

import json
import math
from json.decoder import WHITESPACE
from pathlib import Path

from segcore.core.errors import N_, ImportFileError
from segcore.core.regular_files import open_regular

MAX_BYTES = 100 * 1024 * 1024  # 100 MB: a list of 500,000 batches is about 50 MB
MAX_DEPTH = 64  # lists and objects inside one another
INT64 = (-(2**63), 2**63 - 1)
MAX_INT_DIGITS = 19


class JsonLines(list):
    """The documents of a JSON Lines file, in order; `lines` holds the line each starts on (a
    blank line or a document spread over several makes the count of documents differ)."""

    lines: list[int]


class _Refused(ValueError):
    """A value the strict reading refuses; the message says which."""


def read_file_bytes(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES; ImportFileError otherwise."""
    try:
        with open_regular(path) as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        reason = (
            "not a regular file (a pipe, socket or device is never read)"
            if "not a regular file" in str(exc)
            else f"{exc.strerror or exc}"
        )
        raise ImportFileError(
            N_("{path}: cannot be read ({reason})"), path=path, reason=reason
        ) from None
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            N_("{path}: larger than {limit} MB, too large to be a batch list"),
            path=path,
            limit=MAX_BYTES // (1024 * 1024),
        )
    return data


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 text (a leading byte-order mark allowed); ImportFileError naming the bad byte."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            N_("{path}: larger than {limit} MB, too large to be a batch list"),
            path=source,
            limit=MAX_BYTES // (1024 * 1024),
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            N_("{source}: not valid UTF-8 (byte 0x{byte:02x} at position {position})"),
            source=source,
            byte=data[exc.start],
            position=exc.start,
        ) from None


def loads_strict(text: str, source: str, several: bool = False) -> object:
    """`text` as JSON under the rules above; ImportFileError saying what and where.

    With `several`, a file of JSON documents one after another (JSON Lines, what
    `mongoexport` writes without `--jsonArray`, one document per line) is their list, a
    JsonLines saying the line of each."""
    decoder = json.JSONDecoder(
        parse_int=_integer, parse_constant=_constant, object_pairs_hook=_object
    )
    try:
        try:
            data = decoder.decode(text)
        except json.JSONDecodeError as exc:
            if not (several and exc.msg == "Extra data"):
                raise
            data = _documents(decoder, text)
        _check_tree(data)
        return data
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            N_("{source}: invalid JSON at line {line}, column {column}: {reason}"),
            source=source,
            line=exc.lineno,
            column=exc.colno,
            reason=exc.msg,
        ) from None
    except RecursionError:
        raise ImportFileError(
            N_("{source}: nested more than {depth} levels deep"), source=source, depth=MAX_DEPTH
        ) from None
    except _Refused as exc:
        raise ImportFileError(N_("{source}: {reason}"), source=source, reason=str(exc)) from None


def _documents(decoder: json.JSONDecoder, text: str) -> JsonLines:
    """The JSON documents of `text`, one after another, separated by white space only (an
    error names the line and column in the whole text)."""
    found, end = JsonLines(), WHITESPACE.match(text, 0).end()
    found.lines = []
    line, counted = 1, 0
    while end < len(text):
        line += text.count("\n", counted, end)  # counted once: a 50 MB file stays linear
        counted = end
        found.lines.append(line)
        document, end = decoder.raw_decode(text, end)
        found.append(document)
        end = WHITESPACE.match(text, end).end()
    return found


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(digits.lstrip('-')):,} digits does not fit in 64 bits")
    value = int(digits)
    if not INT64[0] <= value <= INT64[1]:
        raise _Refused(f"the integer {digits} does not fit in 64 bits")
    return value


def _constant(name: str) -> float:
    raise _Refused(f"{name} is not a JSON number")


def _object(pairs: list) -> dict:
    found: dict = {}
    for key, value in pairs:
        if key in found:
            raise _Refused(f"the key {key!r} appears twice in one object")
        if "\x00" in key:
            raise _Refused(f"the key {key!r} holds a NUL character")
        found[key] = value
    return found


def _check_tree(data: object) -> None:
    """Depth and storable text, without recursion (a deep tree must not exhaust the stack)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise RecursionError
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _storable(key)
                stack.append((item, depth + 1))
        elif isinstance(value, str):
            _storable(value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise _Refused(f"the number {value} is too large to store")


def _storable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Refused(
            f"the text {text[:40]!r} holds an unpaired surrogate (\\u{ord(text[exc.start]):04x})"
        ) from None
