"""The images of a batch: the image files in its folder, listed by name with the time of listing.

Folders may sit on an SSHFS mount, so a listing is stored (`batch_images`, keyed by batch id)
and redone only on demand. A folder that cannot be read is recorded as such, never as empty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pymongo import UpdateOne
from pymongo.database import Database

from segcore.core.errors import FolderUnreadable
from segcore.core.timefmt import utcnow
from segcore.masks.mask_matching import is_image_name
from segcore.core.schema import BATCH_IMAGES, find_in

COLLECTION = BATCH_IMAGES
DICOM_MAGIC_OFFSET = 128


@dataclass(frozen=True)
class ImageListing:
    """A batch's image names (paths relative to its folder), or why they are unknown."""

    batch_id: str
    folder: str | None
    names: list[str] | None
    listed_at: datetime | None
    error: str | None = None


def is_dicom_file(path: str) -> bool:
    """True for a DICOM file without an extension: 'DICM' at byte 128 (one small read)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(DICOM_MAGIC_OFFSET)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def list_image_names(folder: Path) -> list[str]:
    """Image files under `folder` (recursively, as the import counts them), relative, sorted.

    Raises FolderUnreadable when the folder is missing or cannot be read.
    """
    if not folder.is_dir():
        raise FolderUnreadable(f"folder {folder} cannot be read (missing or not mounted)")
    names: list[str] = []
    problems: list[OSError] = []
    for root, dirs, files in os.walk(folder, onerror=problems.append):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__MACOSX")))
        for name in files:
            if name.startswith("."):
                continue
            if is_image_name(name) or ("." not in name and
                                       is_dicom_file(os.path.join(root, name))):
                names.append(os.path.relpath(os.path.join(root, name), folder)
                             .replace(os.sep, "/"))
    if problems:
        first = problems[0]
        raise FolderUnreadable(f"folder {folder} cannot be read ({first.strerror or first})")
    return sorted(names)


def batch_folder(batch: dict, data_directory: Path | None) -> Path | None:
    """Where a batch's images are: its recorded folder when it exists on this machine,
    else `<DATA_DIRECTORY>/<id>`; None when neither is known."""
    folder = batch.get("folder")
    if isinstance(folder, str) and folder.strip() and Path(folder).is_dir():
        return Path(folder)
    if data_directory is not None and isinstance(batch.get("id"), str):
        return Path(data_directory) / batch["id"]
    if isinstance(folder, str) and folder.strip():
        return Path(folder)
    return None


def list_batch_images(batch: dict, data_directory: Path | None,
                      key: str | None = None) -> ImageListing:
    """List one batch's images now, stored under `key` (default its id); a folder problem
    becomes the listing's `error`."""
    folder = batch_folder(batch, data_directory)
    batch_id = key or str(batch.get("id"))
    if folder is None:
        return ImageListing(batch_id, None, None, utcnow(),
                            "no folder recorded and no DATA_DIRECTORY set")
    try:
        names = list_image_names(folder)
    except FolderUnreadable as exc:
        return ImageListing(batch_id, str(folder), None, utcnow(), str(exc))
    return ImageListing(batch_id, str(folder), names, utcnow())


def save_listings(db: Database, listings: list[ImageListing]) -> None:
    """Store listings, replacing earlier ones of the same batches."""
    if listings:
        db[COLLECTION].bulk_write([UpdateOne({"_id": item.batch_id}, {"$set": {
            "folder": item.folder, "names": item.names, "listed_at": item.listed_at,
            "error": item.error}}, upsert=True) for item in listings], ordered=False)


def stored_listings(db: Database, batch_ids: list[str] | None = None) -> dict[str, ImageListing]:
    """Stored listings by batch id (all, or those of `batch_ids`)."""
    docs = (db[COLLECTION].find() if batch_ids is None
            else find_in(db[COLLECTION], "_id", list(dict.fromkeys(batch_ids))))
    return {doc["_id"]: ImageListing(doc["_id"], doc.get("folder"), doc.get("names"),
                                     doc.get("listed_at"), doc.get("error")) for doc in docs}
