"""Uploaded mask files (GridFS file documents written by other tools) and the batches they name.

Everything here only reads `<TRAINING_DB>.<MASKS_BUCKET>.files`; the chunks are never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from segcore.connection import Databases
from segcore.naming import batch_ids_in

# Only what the sync and the reports need: never the chunks, never the md5 or aliases.
PROJECTION = {"filename": 1, "uploadDate": 1, "length": 1, "metadata.uploaded_by": 1,
              "metadata.batch_id": 1}


def resolve_batch_ids(filename: object, metadata: object) -> list[str]:
    """The canonical batch ids an upload belongs to.

    `metadata.batch_id` decides when it names a batch (a string such as "batch_400" or "400",
    an integer, or a list of those); otherwise every batch the filename names counts.
    """
    declared = metadata.get("batch_id") if isinstance(metadata, dict) else None
    ids = _declared_ids(declared)
    if ids:
        return ids
    return batch_ids_in(filename) if isinstance(filename, str) else []


def _declared_ids(value: object) -> list[str]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int):
        return [f"batch_{value}"] if value >= 0 else []
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return [f"batch_{int(text)}"]
        return batch_ids_in(text)
    if isinstance(value, (list, tuple)):
        ids: dict[str, None] = {}
        for item in value:
            if not isinstance(item, (list, tuple)):
                ids.update(dict.fromkeys(_declared_ids(item)))
        return list(ids)
    return []


@dataclass(frozen=True)
class Upload:
    """One uploaded file, as the reports show it."""

    id: object
    filename: str
    uploaded_by: str | None
    upload_date: datetime | None
    length: int
    batches: tuple[str, ...] = field(default_factory=tuple)

    @property
    def size_mb(self) -> float:
        return round(self.length / (1024 * 1024), 2)

    def as_dict(self) -> dict:
        return {"filename": self.filename, "uploaded_by": self.uploaded_by,
                "upload_date": self.upload_date, "size_mb": self.size_mb,
                "size_bytes": self.length,
                "batches": list(self.batches)}


def upload_from_document(doc: dict) -> Upload:
    """An Upload from a GridFS file document, whatever fields are missing or odd."""
    metadata = doc.get("metadata")
    uploader = metadata.get("uploaded_by") if isinstance(metadata, dict) else None
    filename = doc.get("filename")
    date = doc.get("uploadDate")
    length = doc.get("length")
    return Upload(
        id=doc.get("_id"),
        filename=filename if isinstance(filename, str) else "(no filename)",
        uploaded_by=str(uploader).strip() if uploader not in (None, "") else None,
        upload_date=date if isinstance(date, datetime) else None,
        length=int(length) if isinstance(length, (int, float)) and not isinstance(length, bool)
        else 0,
        batches=tuple(resolve_batch_ids(filename, metadata)),
    )


def read_uploads(databases: Databases, query: dict | None = None):
    """Iterate over the upload documents matching `query` (all by default), projected."""
    for doc in databases.masks_files.find(query or {}, PROJECTION, batch_size=5000):
        yield upload_from_document(doc)


def recent_uploads(databases: Databases, limit: int = 50) -> list[Upload]:
    """The most recent uploads (file, size, uploader, date, batches), newest first."""
    cursor = (databases.masks_files.find({}, PROJECTION).sort("uploadDate", -1)
              .limit(max(1, int(limit))))
    return [upload_from_document(doc) for doc in cursor]
