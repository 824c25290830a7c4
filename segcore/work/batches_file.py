"""The batches file (`batches.json`): its plausible shapes read strictly into `BatchEntry`s.

A malformed file is one ImportFileError saying where; nothing is decided here about what an
import then writes (see batch_import).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import bson

from segcore.core.errors import N_, ImportFileError, ValidationError
from segcore.core.json_input import JsonLines, decode_text, loads_strict, read_file_bytes
from segcore.core.naming import batch_key
from segcore.core.phrases import Phrase
from segcore.work.batches import validate_value

MAX_EXTRA_BYTES = 1024 * 1024  # other fields kept on one new batch
# Keys of a batches file that are fields of the batch itself (`batches.EDITABLE`): validated as
# `batches set` validates them and stored where every view reads them (`metadata.priority`,
# `metadata.due_date`), never as top-level fields nothing reads.
KNOWN_FIELDS = ("priority", "due_date")
# Where a batch is, inside an ImportFileError's message: each worded in the reader's language.
LINE = N_("line {number}")
ITEM = N_("item {number}")
IN_LIST = N_("{source}, list '{key}'")


@dataclass(frozen=True)
class BatchEntry:
    """One batch named by an import source."""

    id: str
    folder: str | None
    extra: dict = field(default_factory=dict)
    image_count: int | None = None
    # Another source's folder for this batch, not used (batch_import.merge_sources says why)
    folder_not_used: str | None = None
    # The batch's own fields the source gave (KNOWN_FIELDS), validated, as `batches set` stores
    # them: {"priority": "alta", "due_date": "2026-01-10"}
    fields: dict = field(default_factory=dict)


def _where(index: int, lines: list[int] | None) -> Phrase:
    """Where the `index`th batch is: its line in a JSON Lines file (the one an editor shows,
    blank lines counted), else its place in the list."""
    # as text: a place is written as an editor shows it, never "line 1,204"
    if lines:
        return Phrase(LINE, number=str(lines[index]))
    return Phrase(ITEM, number=str(index + 1))


def parse_batches_json(
    text: str,
    source: str = "batches.json",
    base: Path | None = None,
    refuse_relative: bool = False,
) -> list[BatchEntry]:
    """Parse the plausible shapes of a batches file; raise ImportFileError saying where.

    Accepted: a list of folder names or paths; a list of objects with `id` and/or `folder`
    (`priority` and `due_date` validated as the batch's own, see KNOWN_FIELDS; other keys are
    kept as extra fields); or an object holding such a list; or such names
    or objects one after another, one per line (JSON Lines, as `mongoexport` writes). A relative folder
    is stored under `base`, made absolute: a folder relative to wherever the import ran would
    not be found by the app or a timer running elsewhere. With `refuse_relative` and no
    `base` (a file uploaded through the app has no folder of its own), a relative folder is
    refused, naming its line, rather than stored relative.
    """
    base = Path(os.path.abspath(base)) if base is not None else None
    # every oddity of the file is one ImportFileError; JSON Lines (mongoexport's default) too
    data = loads_strict(text, source, several=True)
    lines = data.lines if isinstance(data, JsonLines) else None
    if isinstance(data, dict) and _is_one_batch(data):
        data = [data]  # JSON Lines of one line: one document exported by mongoexport
    if isinstance(data, str):
        data = [data]  # JSON Lines of one line: one batch's name, as two lines give two
    if isinstance(data, dict):
        lists = [(k, v) for k, v in data.items() if isinstance(v, list)]
        if len(lists) != 1:
            raise ImportFileError(
                N_(
                    "{source}: expected a list of batches, or an object "
                    "holding exactly one list (found {count} lists)"
                ),
                source=source,
                count=len(lists),
            )
        key, data = lists[0]
        source = Phrase(IN_LIST, source=source, key=key)
    if not isinstance(data, list):
        raise ImportFileError(
            N_("{source}: expected a list of batches, found {kind}"),
            source=source,
            kind=type(data).__name__,
        )
    entries: list[BatchEntry] = []
    first_seen: dict[str, int] = {}
    for index, item in enumerate(data):
        entry = _entry(item, _where(index, lines), source, base)
        if refuse_relative and entry.folder and not os.path.isabs(entry.folder):
            raise ImportFileError(
                N_(
                    "{source}: {where}: the folder '{folder}' is relative and there is no "
                    "folder to take it under: give the data directory it is in, or write "
                    "the folders in full"
                ),
                source=source,
                where=_where(index, lines),
                folder=entry.folder,
            )
        # an empty id ("/", "."): no batch to repeat, refused on its own when imported
        for key in {entry.id, batch_key(entry.id)} - {""}:
            if key in first_seen:
                raise ImportFileError(
                    N_("{source}: {where} repeats batch '{id}' (already at {first})"),
                    source=source,
                    where=_where(index, lines),
                    id=entry.id,
                    first=_where(first_seen[key], lines),
                )
            first_seen[key] = index
        entries.append(entry)
    return entries


def _is_one_batch(data: dict) -> bool:
    """Whether an object is one batch (an `id` or `folder`, no list) rather than one holding
    the list of batches."""
    return ("id" in data or "folder" in data) and not any(
        isinstance(v, list) for v in data.values()
    )


def _entry(item: object, where: str, source: str, base: Path | None) -> BatchEntry:
    if isinstance(item, str):
        folder, batch_id, extra = item, None, {}
    elif isinstance(item, dict):
        batch_id, folder = item.get("id"), item.get("folder")
        extra = {
            k: v
            for k, v in item.items()
            if k not in ("id", "folder")
            and isinstance(k, str)
            and not k.startswith("$")
            and "." not in k
        }
        if batch_id is not None and not isinstance(batch_id, str):
            raise ImportFileError(
                N_("{source}: {where}: 'id' must be a string, found {kind} {value}"),
                source=source,
                where=where,
                kind=type(batch_id).__name__,
                value=repr(batch_id),
            )
        if folder is not None and not isinstance(folder, str) or "\x00" in (folder or ""):
            raise ImportFileError(
                N_("{source}: {where}: 'folder' must be a string"),
                source=source,
                where=where,
            )  # NUL: never a path
    else:
        raise ImportFileError(
            N_(
                "{source}: {where} must be a folder name or an object with "
                "'id'/'folder', found {kind}"
            ),
            source=source,
            where=where,
            kind=type(item).__name__,
        )
    if extra and len(bson.encode(extra)) > MAX_EXTRA_BYTES:  # would fail the write halfway
        raise ImportFileError(
            N_("{source}: {where}: its other fields take more than {limit} KB"),
            source=source,
            where=where,
            limit=MAX_EXTRA_BYTES // 1024,
        )
    fields = _known_fields(extra, where, source)  # out of `extra`: stored where they are read
    folder = folder.strip() if folder else None
    if batch_id is None or not batch_id.strip():
        if not folder and (isinstance(item, str) or "id" in item or "folder" in item):
            # an empty id ("", "  ", {"id": ""}): refused on its own when imported, as "/" is
            return BatchEntry(id="", folder=None, extra=extra, fields=fields)
        if not folder:
            raise ImportFileError(
                N_("{source}: {where} has neither 'id' nor 'folder'"),
                source=source,
                where=where,
            )
        batch_id = Path(folder.rstrip("/")).name
    batch_id = batch_id.strip()
    if folder and base is not None and not os.path.isabs(folder):
        folder = str(base / folder)
    return BatchEntry(id=batch_id, folder=folder, extra=extra, fields=fields)


def _known_fields(extra: dict, where: Phrase, source: str) -> dict:
    """The KNOWN_FIELDS `extra` holds, taken out of it and validated as `batches set`
    validates them (null: none); ImportFileError saying where for a value it would refuse."""
    fields = {}
    for name in KNOWN_FIELDS:
        if name not in extra:
            continue
        value = _exported_date(extra.pop(name))
        if isinstance(value, str) and not value.strip():  # an empty spreadsheet cell
            raise ImportFileError(
                N_("{source}: {where}: '{field}' is blank; leave it out, or write null, for none"),
                source=source,
                where=where,
                field=name,
            )
        try:
            checked = validate_value(name, value, [])
        except ValidationError as exc:
            raise ImportFileError(
                N_("{source}: {where}: {problem}"),
                source=source,
                where=where,
                problem=Phrase(exc.template, **exc.params),
            ) from None
        if checked is not None:
            fields[name] = checked
    return fields


def _exported_date(value: object) -> object:
    """A date as mongoexport writes one (Extended JSON): `{"$date": "2026-12-20T00:00:00Z"}`
    as its text, the day it names as a typed date does; `{"$date": {"$numberLong": "…"}}` (or
    a bare number of milliseconds) as the UTC day it falls on. Anything else as it is (then
    validated, and refused when it is no date)."""
    if not (isinstance(value, dict) and list(value) == ["$date"]):
        return value
    inner = value["$date"]
    if isinstance(inner, str):
        return inner
    if isinstance(inner, dict) and list(inner) == ["$numberLong"]:
        inner = inner["$numberLong"]
    if isinstance(inner, bool) or not isinstance(inner, (int, str)):
        return value
    try:
        return (datetime(1970, 1, 1) + timedelta(milliseconds=int(inner))).date().isoformat()
    except (ValueError, OverflowError):  # no number, or past the calendar's ends
        return value


def read_batches_file(path: Path, base: Path | None = None) -> list[BatchEntry]:
    """Read and parse a batches file; raise ImportFileError when unreadable or malformed."""
    text = decode_text(read_file_bytes(Path(path)), str(path))  # a regular file, not huge
    return parse_batches_json(text, source=str(path), base=base if base else Path(path).parent)
