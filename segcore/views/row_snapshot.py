"""The batch rows kept in the app's database, so a restarted app reads a few documents instead
of every batch.

A cold page's largest cost is reading every batch document: on the embedded server a pass over
the whole collection (about 2 s at 50,000 batches), on any server every document's bytes. The
rows the pages use (`batch_rows.batch_row`) hold a fraction of those bytes and repeat few
values, so they are kept column by column, each column as its distinct values plus each row's
index into them: 50,000 rows take about 2.6 MB and read back in a fraction of a second.

A snapshot names the batch list's data version it was read at, the code that made it
(`segcore.core.code_stamp`) and the point in the batch list's change stream from which other
tools' edits may be missing from it. A reader takes it only with the same code and a version it
can catch up with by re-reading the batches changed since (`data_version.changed_batches`), as a
running app does, and re-reads the batches the change stream names since that point
(`segcore.views.batch_changes`). Anything else (new code, a restore, more changes than are remembered) means
reading every batch, after which the app saves a new snapshot. A snapshot is saved only when it
reads back as exactly the rows it was made from.

Saving is safe to kill: the parts go in under a new token, then the head names that token in
one write, then the earlier parts are deleted. A process killed in between leaves the head
naming complete parts; parts no head names are deleted by the next save.
"""

from __future__ import annotations

import functools
import logging
import uuid
import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import bson
import numpy as np
from bson import Binary
from bson.errors import BSONError
from bson.raw_bson import RawBSONDocument
from pymongo.database import Database
from pymongo.errors import PyMongoError

from segcore.core.code_stamp import code_stamp
from segcore.core.timefmt import utcnow
from segcore.store.schema import ROW_SNAPSHOT
from segcore.views.row_keys import file_row, rows_by_id

log = logging.getLogger(__name__)

HEAD = "head"
FORMAT = 2  # 2: the change stream's position
PART_ROWS = 20_000  # rows per part document: about 1 MB with ids like "batch_12345"
PART_MAX_BYTES = 15 * 1024 * 1024  # a document may hold 16 MB: longer ids mean no snapshot
ORPHAN_AGE = timedelta(hours=1)  # parts no head names, older than this, are a killed save's
_CODES = np.dtype("<u4")


class SnapshotDamaged(ValueError):
    """A stored snapshot that cannot be read back as rows (another tool, a cut write)."""


@dataclass(frozen=True)
class Snapshot:
    version: tuple[int, int]
    rows: dict[str, dict]  # by batch id, in the order they were saved
    stream: dict | None = None  # other tools' edits after this point may be missing


@functools.cache
def current_code() -> str:
    """This process's code stamp (its files do not change while it runs)."""
    return code_stamp()


def _key(value: object):
    """A value's identity in a column's table; None for a value that cannot be a dict key.
    The type is part of it: True, 1 and 1.0 are equal in Python but not the same value."""
    try:
        hash(value)
    except TypeError:
        return None
    return (type(value), value)


def encode_column(values: list) -> dict:
    """One column as its distinct values (dates, which BSON lacks, as ISO text, their
    positions listed) and each row's index into them. Pure."""
    table: list = []
    dates: list[int] = []
    seen: dict = {}
    codes = np.empty(len(values), dtype=_CODES)
    for n, value in enumerate(values):
        key = _key(value)
        code = seen.get(key) if key is not None else None
        if code is None:
            code = len(table)
            if key is not None:
                seen[key] = code
            if type(value) is date:  # not a datetime: BSON keeps those
                dates.append(code)
                value = value.isoformat()
            table.append(value)
        codes[n] = code
    return {"values": table, "dates": dates, "codes": Binary(zlib.compress(codes.tobytes(), 1))}


def decode_column(column: dict, count: int) -> list:
    """The `count` values `encode_column` encoded. Raises SnapshotDamaged. Pure."""
    try:
        table = list(column["values"])
        for position in column["dates"]:
            table[position] = date.fromisoformat(table[position])
        codes = np.frombuffer(zlib.decompress(column["codes"]), dtype=_CODES)
        if len(codes) != count:
            raise SnapshotDamaged(f"a column holds {len(codes)} values, not {count}")
        return [table[code] for code in codes.tolist()]
    except (KeyError, TypeError, ValueError, IndexError, zlib.error) as error:
        raise SnapshotDamaged(f"a column cannot be read: {error}") from error


def encode(rows: list[dict], fields: tuple[str, ...]) -> list[dict]:
    """The parts holding `rows` (each a dict with exactly `fields`). Pure."""
    return [
        {
            "count": len(chunk),
            "columns": {f: encode_column([row[f] for row in chunk]) for f in fields},
        }
        for chunk in (rows[s : s + PART_ROWS] for s in range(0, len(rows), PART_ROWS))
    ]


def decode(parts: list[dict], fields: tuple[str, ...]) -> dict:
    """The rows of `parts`, by id (a repeated id's later rows beside it: row_keys), in order.
    Raises SnapshotDamaged. Pure."""
    rows: dict = {}
    for part in parts:
        try:
            count, columns = int(part["count"]), part["columns"]
            values = [decode_column(columns[f], count) for f in fields]
        except (KeyError, TypeError, ValueError) as error:
            raise SnapshotDamaged(f"a part cannot be read: {error}") from error
        for row in zip(*values):
            file_row(rows, dict(zip(fields, row)))
    return rows


def load(db: Database, fields: tuple[str, ...]) -> Snapshot | None:
    """The stored snapshot when this code made it with these fields, else None (also when
    it is damaged: the caller reads every batch instead)."""
    head = db[ROW_SNAPSHOT].find_one({"_id": HEAD})
    if not _usable_head(head, fields):
        return None
    parts = sorted(
        db[ROW_SNAPSHOT].find({"_id": {"$ne": HEAD}, "token": head["token"]}),
        key=lambda p: p["_id"],
    )
    try:
        if len(parts) != head["parts"]:
            raise SnapshotDamaged(f"{len(parts)} of its {head['parts']} parts are stored")
        rows = decode(parts, fields)
        if len(rows) != head["rows"]:
            raise SnapshotDamaged(f"{len(rows)} rows, not {head['rows']}")
    except SnapshotDamaged as problem:
        log.warning("The stored batch rows are not used: %s", problem)
        return None
    return Snapshot(tuple(head["version"]), rows, head["stream"])


def _usable_head(head: object, fields: tuple[str, ...]) -> bool:
    if not isinstance(head, dict):
        return False
    version = head.get("version")
    return (
        head.get("format") == FORMAT
        and head.get("code") == current_code()
        and head.get("fields") == list(fields)
        and isinstance(head.get("token"), str)
        and isinstance(head.get("parts"), int)
        and isinstance(head.get("rows"), int)
        and isinstance(head.get("stream", False), (dict, type(None)))
        and isinstance(version, list)
        and len(version) == 2
        and all(type(v) is int for v in version)
    )


def save(
    db: Database,
    rows: list[dict],
    version: tuple[int, int],
    fields: tuple[str, ...],
    stream: dict | None = None,
) -> bool:
    """Store `rows` (dicts with exactly `fields`, "id" among them), read at `version`, as the
    snapshot; `stream` is the change stream's position they are whole at (None: no stream).
    False, with nothing changed, when they would not read back as the same rows (a value BSON
    cannot keep exactly)."""
    token, now = uuid.uuid4().hex, utcnow()
    try:  # as BSON, and back as the server would return it
        stored = [
            bson.encode({"_id": f"{token}.{n:05d}", "token": token, "at": now, **part})
            for n, part in enumerate(encode(rows, fields))
        ]
        back = [bson.decode(part, codec_options=db.codec_options) for part in stored]
        same = decode(back, fields) == rows_by_id(rows)
    except (BSONError, OverflowError, SnapshotDamaged) as problem:
        log.warning("The batch rows are not stored: %s", problem)
        return False
    if not same:
        log.warning("The batch rows are not stored: some values would not read back the same")
        return False
    if any(len(part) > PART_MAX_BYTES for part in stored):
        log.warning("The batch rows are not stored: a part would exceed a document's size")
        return False
    collection = db[ROW_SNAPSHOT]
    try:
        for part in stored:  # one at a time: a few MB each at most
            collection.insert_one(RawBSONDocument(part))
        before = collection.find_one_and_replace(
            {"_id": HEAD},
            {
                "_id": HEAD,
                "token": token,
                "format": FORMAT,
                "code": current_code(),
                "fields": list(fields),
                "version": list(version),
                "parts": len(stored),
                "rows": len(rows),
                "stream": stream,
                "at": now,
            },
            upsert=True,
        )
        earlier = before.get("token") if isinstance(before, dict) else None
        collection.delete_many(
            {
                "_id": {"$ne": HEAD},
                "token": {"$ne": token},
                "$or": [{"token": earlier}, {"at": {"$lt": now - ORPHAN_AGE}}],
            }
        )
    except PyMongoError as problem:  # a copy for the next start: that start reads every batch
        log.warning("The batch rows are not stored: %s", problem)
        return False
    return True
