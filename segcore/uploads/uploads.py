"""Uploaded mask files (GridFS file documents written by other tools) and the batches they name.

Everything here only reads `<TRAINING_DB>.<MASKS_BUCKET>.files`; the chunks are never read.
Other tools write those documents and this app cannot repair them, so an odd document is never
an error: it becomes an Upload whose `problem` says why it cannot count for any batch.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bson import Binary, ObjectId, json_util
from bson.codec_options import CodecOptions, DatetimeConversion

from segcore.core.errors import N_, ConfigError
from segcore.core.naming import MAX_STORED_ID, batch_ids_in, batch_key, cut, unsafe_id_reason
from segcore.core.phrases import Phrase
from segcore.core.timefmt import unusable_date_reason
from segcore.store.connection import Databases
from segcore.store.schema import BATCHES

# Only what the sync and the reports need: never the chunks, never the md5 or aliases.
PROJECTION = {
    "filename": 1,
    "uploadDate": 1,
    "length": 1,
    "metadata.uploaded_by": 1,
    "metadata.batch_id": 1,
}
# A date beyond year 9999 (possible on a real MongoDB) would stop the whole read with
# InvalidBSON: read it as a raw number of milliseconds instead and call the upload unusable.
READ_OPTIONS = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_AUTO)

MAX_BATCHES = 500  # batch ids one upload may claim; beyond that it counts for none
MAX_FILENAME = 512  # characters of a filename kept in the index and the reports
MAX_UPLOADER = 200  # characters of an uploader's name
MAX_LENGTH = 2**53  # bytes (8 PiB): anything larger is not a real file size
_ID_TYPES = (ObjectId, str, int, Binary)


def upload_key(raw_id: object) -> object:
    """A hashable key equal for equal `_id`s: the id itself for the usual types (ObjectId,
    string, integer, binary), otherwise a short text naming its type and value."""
    if isinstance(raw_id, _ID_TYPES) and not isinstance(raw_id, bool):
        return raw_id
    text = json_util.dumps(raw_id)
    if len(text) > 100:
        text = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    return f"~{type(raw_id).__name__}:{text}"


def resolve_batch_ids(filename: object, metadata: object) -> list[str]:
    """The canonical batch ids an upload belongs to.

    `metadata.batch_id` decides when it names a batch (a string such as "batch_400" or "400",
    an integer, also stored as a double (`400.0`), or a list of those); otherwise every batch the filename names counts. When
    neither names a `batch_<n>`, the ids `metadata.batch_id` gives as they are count
    (`liver_01`, `hígado_01`: a batch list may hold such ids), each as the list keys it
    (`naming.batch_key`, NFC), so an upload naming such a batch exactly is that batch's.
    """
    declared = metadata.get("batch_id") if isinstance(metadata, dict) else None
    ids = _declared_ids(declared)
    if ids:
        return ids
    found = batch_ids_in(filename) if isinstance(filename, str) else []
    return found or _declared_names(declared)


def _declared_ids(value: object) -> list[str]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return [f"batch_{value}"] if 0 <= value < 10**15 else []
    if isinstance(value, float):  # `7.0`: the legacy mongo shell, or a tool that computed it
        return _declared_ids(int(value)) if value.is_integer() else []  # never 7.5, NaN, inf
    if isinstance(value, str):
        text = value.strip()
        if text.isdecimal() and len(text.lstrip("0")) <= 15:
            return [f"batch_{int(text)}"]
        return batch_ids_in(text)
    if isinstance(value, (list, tuple)):
        ids: dict[str, None] = {}
        for item in value:
            if not isinstance(item, (list, tuple)):
                ids.update(dict.fromkeys(_declared_ids(item)))
            if len(ids) > MAX_BATCHES:
                break  # enough to know the upload claims too many
        return list(ids)
    return []


NO_BATCH = N_("names no batch in the list")
NOT_A_BATCH_ID = N_("its metadata.batch_id ({value}) is not a batch id")


def no_batch_reason(doc: dict) -> Phrase:
    """Why an upload (a file document) counts for no batch of the list, as its receipt says it:
    its `metadata.batch_id` is no batch id (`7.5`, NaN, true) when that and its filename name
    no batch at all, else it names no batch in the list."""
    metadata = doc.get("metadata")
    declared = metadata.get("batch_id") if isinstance(metadata, dict) else None
    if declared is None or resolve_batch_ids(doc.get("filename"), metadata):
        return Phrase(NO_BATCH)
    return Phrase(NOT_A_BATCH_ID, value=_as_stored(declared))


def _declared_names(value: object) -> list[str]:
    """The batch ids `metadata.batch_id` gives as they are (a text, or a list of texts), each
    as its key: only a text that could be a stored batch id (`naming.unsafe_id_reason`: not
    empty, no path separator or control character, at most MAX_STORED_ID bytes: a list an
    earlier version imported may hold ids longer than a folder name), and none starting with
    `~` (the sync index's own keys)."""
    items = value[: MAX_BATCHES + 1] if isinstance(value, (list, tuple)) else [value]
    names: dict[str, None] = {}
    for item in items:
        text = item.strip() if isinstance(item, str) else ""
        if text and not text.startswith("~") and unsafe_id_reason(text, MAX_STORED_ID) is None:
            names.setdefault(batch_key(text), None)
    return list(names)


@dataclass(frozen=True)
class Upload:
    """One uploaded file, as the reports show it; `problem` says why it counts for no batch."""

    id: object
    filename: str
    uploaded_by: str | None
    upload_date: datetime | None
    length: int | None  # None: the stored length is not a size (see `problem`)
    batches: tuple[str, ...] = field(default_factory=tuple)
    problem: str | None = None

    @property
    def size_mb(self) -> float | None:
        return None if self.length is None else round(self.length / (1024 * 1024), 2)

    def as_dict(self) -> dict:
        row = {
            "filename": self.filename,
            "uploaded_by": self.uploaded_by,
            "upload_date": self.upload_date,
            "size_mb": self.size_mb,
            "size_bytes": self.length,
            "batches": list(self.batches),
        }
        if self.problem:
            row["problem"] = self.problem
        return row


def short_filename(name: str) -> str:
    """`name`, cut to MAX_FILENAME characters with a mark saying how much was left out."""
    if len(name) <= MAX_FILENAME:
        return name
    return f"{name[: MAX_FILENAME - 40]}…(+{len(name) - MAX_FILENAME + 40:,} characters)"


def kept_filename(value: object) -> object:
    """A stored upload's filename as segcore keeps it (listings, receipts): text cut by
    `short_filename`, so another tool's 16 MB name never fills a stored document; any other
    value (an unusable upload's) as it is."""
    return short_filename(value) if isinstance(value, str) else value


def _length(value: object) -> tuple[int | None, str | None]:
    """(the size in bytes, 0 when none is stored, None when the stored value is not a size;
    why the value is not a size, naming it as stored, or None)."""
    if value is None:
        return 0, None  # legacy documents without a length: shown as 0 MB
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"length is not a number ({type(value).__name__}): {_as_stored(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return None, f"length is {value}"
    if value < 0 or value > MAX_LENGTH:
        return None, f"length {value:g} is not a file size"
    return int(value), None


def _as_stored(value: object) -> str:
    # A text length in quotes, so "15728640" reads as the text it is; cut, as another tool's
    # value may be megabytes long.
    return cut(repr(value) if isinstance(value, str) else str(value), 40)


def uploader_of(metadata: object) -> tuple[str | None, str | None]:
    """(the uploader's name, or None; why it is not a name, or None), from an upload's
    `metadata`: the one reading of `uploaded_by` for the uploads list, the sync and the
    receipts. Pure."""
    value = metadata.get("uploaded_by") if isinstance(metadata, dict) else None
    if value is None or (isinstance(value, str) and not value):
        return None, None
    # Text, or a whole number (a user number, shown as stored); True, NaN, a date, an ObjectId,
    # a document or a list name nobody.
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None, f"uploaded_by is not a name ({type(value).__name__})"
    text = str(value).strip()
    if len(text) > MAX_UPLOADER:
        return None, f"uploaded_by is {len(text):,} characters long"
    return text or None, None


def upload_from_document(doc: dict) -> Upload:
    """An Upload from a GridFS file document, whatever fields are missing or odd.

    Never raises: a document that cannot count for any batch gets `problem` (and no batches).
    """
    raw_id, filename, date = doc.get("_id"), doc.get("filename"), doc.get("uploadDate")
    metadata = doc.get("metadata")
    length, length_problem = _length(doc.get("length"))
    uploader, uploader_problem = uploader_of(metadata)
    problems = [length_problem, uploader_problem]
    if not isinstance(raw_id, _ID_TYPES) or isinstance(raw_id, bool):
        problems.append(f"_id is not an id ({type(raw_id).__name__})")
    if not isinstance(filename, str):
        problems.append(
            "no filename"
            if filename is None
            else f"filename is not text ({type(filename).__name__})"
        )
    date_problem = unusable_date_reason(date)  # the one rule (timefmt) for a usable date
    if date is None:  # GridFS always writes one: without it the upload has no day to count
        problems.append("no uploadDate")
    elif not isinstance(date, datetime):
        problems.append(f"uploadDate is not a date ({type(date).__name__})")
    elif date_problem:
        problems.append(f"uploadDate {date_problem}")
    batches: list[str] = []
    if not any(problems):
        batches = resolve_batch_ids(filename, metadata)
        if len(batches) > MAX_BATCHES:
            problems.append(f"names more than {MAX_BATCHES} batches")
    problem = "; ".join(p for p in problems if p) or None
    return Upload(
        id=upload_key(raw_id),
        filename=short_filename(filename) if isinstance(filename, str) else "(no filename)",
        uploaded_by=uploader,
        upload_date=date if isinstance(date, datetime) and not date_problem else None,
        length=length,
        batches=() if problem else tuple(batches),
        problem=problem,
    )


def read_uploads(databases: Databases, query: dict | None = None):
    """Iterate over the upload documents matching `query` (all by default), projected."""
    files = databases.masks_files.with_options(codec_options=READ_OPTIONS)
    for doc in files.find(query or {}, PROJECTION, batch_size=5000):
        yield upload_from_document(doc)


def recent_uploads(databases: Databases, limit: int = 50) -> list[Upload]:
    """The most recent uploads (file, size, uploader, date, batches), newest first."""
    files = databases.masks_files.with_options(codec_options=READ_OPTIONS)
    cursor = files.find({}, PROJECTION).sort("uploadDate", -1).limit(max(1, int(limit)))
    return [upload_from_document(doc) for doc in cursor]


MISSING_COLLECTION = N_(
    "The uploads collection '{namespace}' does not exist, yet batches have uploads recorded: "
    "check TRAINING_DB and MASKS_BUCKET. The sync changed nothing. If the uploads were "
    "removed on purpose, a full rescan clears them from every batch."
)


def require_uploads_collection(databases: Databases, recorded_uploads: int) -> None:
    """Refuse to read every upload from a collection that does not exist while batches have
    uploads recorded (`recorded_uploads` by the last sync, or a batch's `mongo_uploaded`, as
    the original dashboard left them): a typo in TRAINING_DB or MASKS_BUCKET would otherwise
    read no upload and clear every batch's. Deleting uploads, even all of them, leaves the
    collection in place; a new lab with nothing uploaded and nothing recorded goes ahead, and
    a full rescan asked for (the collection dropped on purpose) is not refused."""
    files = databases.masks_files
    if files.name in databases.training.list_collection_names(filter={"name": files.name}):
        return
    if recorded_uploads or databases.work[BATCHES].find_one({"mongo_uploaded": True}, {"_id": 1}):
        raise ConfigError(MISSING_COLLECTION, namespace=f"{databases.training.name}.{files.name}")


def usable_documents(docs, skip: Callable[[Upload], None]) -> dict:
    """Every usable upload document of `docs` by id, with its batch keys in `batches`; each
    one the sync calls unusable (an odd document: a date stored as text, a length that is no
    number, a document as `_id`) goes to `skip` with the sync's reason, never to a check."""
    usable = {}
    for doc in docs:
        upload = upload_from_document(doc)
        if upload.problem:
            skip(upload)
            continue
        doc["batches"] = list(upload.batches)
        usable[doc["_id"]] = doc
    return usable
