"""The images of a batch: the image files in its folder, listed by name with the time of listing.

Folders may sit on an SSHFS mount, so a listing is stored (`batch_images`, keyed by batch id)
and redone only on demand, or when it was made by an older rule (`VERSION`) or for other
extensions. A folder that cannot be read is recorded as such, never as empty. A name holding
bytes that are not UTF-8 (`img_\\xf1.png`, left by unzipping a Windows zip) is listed as an
archive member of those bytes is, `img_?.png` (naming.storable), so its mask still matches;
a folder whose path holds such bytes (DATA_DIRECTORY) likewise. Such an image is matched, and
the content check opens it as the one file on disk the stored name fits
(`regular_files.stored_file_on_disk`).

An image has one of the image or volume extensions; a file with none of them is an image when
it is DICOM ('DICM' at byte 128), whatever dots its name holds (a UID such as
`1.2.840.113619.2.55.3.604688119.969.1268071029.320`) or a DICOM ending (`.dicom`, `.IMA`);
`DICOMDIR` never is, nor a DICOMDIR saved with an image extension (`DICOMDIR.dcm`).
A DICOM object that holds no image (an RT Structure Set, a structured report: `dicom_objects`)
is none either: it is listed apart (`not_images`, with its class), so the coordinator sees why
it needs no mask. It is told from the first bytes the listing reads anyway (a file without an
image extension), or, of a `.dcm`, only when its name is one exports give such objects.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from pymongo.database import Database

from segcore.core.errors import FolderUnreadable
from segcore.core.naming import MAX_FOLDER_NAME, storable
from segcore.core.regular_files import open_regular, regular_files, stored_folder_on_disk
from segcore.core.timefmt import utcnow
from segcore.images.dicom_objects import HEAD_BYTES, may_hold_no_image, no_image_class
from segcore.images.mask_matching import (
    DEFAULT_EXTENSIONS,
    DICOM_ENDINGS,
    NOT_IMAGES,
    file_extension,
    is_image_name,
)
from segcore.store.schema import BATCH_IMAGES, NOT_STORED, find_in, replace_many

COLLECTION = BATCH_IMAGES
DICOM_MAGIC_OFFSET = 128
# The file meta's (0002,0002) Media Storage SOP Class: Media Storage Directory (a DICOMDIR).
# The meta is always explicit VR little endian.
DICOMDIR_CLASS = b"\x02\x00\x02\x00UI\x14\x001.2.840.10008.1.3.10"
# 2: DICOM files with dots in their name, DICOMDIR excluded, configured extensions; 3: DICOM
# files named .dicom, .ima or .dic; 4: a DICOMDIR named .dcm excluded; 5: system folders
# (Synology's `@eaDir/` thumbnails, `#recycle/`, `$RECYCLE.BIN/`) left out, as from archives;
# 6: DICOM objects without an image (RT Structure Set, SR...) left out, listed as `not_images`
VERSION = 6


@dataclass(frozen=True)
class ImageListing:
    """A batch's image names (paths relative to its folder), or why they are unknown."""

    batch_id: str
    folder: str | None
    names: list[str] | None
    listed_at: datetime | None
    error: str | None = None
    version: int = VERSION
    extensions: tuple[str, ...] | None = None  # those it was listed for; None: the defaults
    # DICOM files left out for holding no image: [{"name", "what"}], `what` their SOP class's
    # name ("RT Structure Set")
    not_images: tuple[dict, ...] = ()


def _first_bytes(path: str) -> bytes | None:
    """A file's first HEAD_BYTES (one small read), or None when it cannot be read."""
    try:
        with open_regular(path) as handle:
            return handle.read(HEAD_BYTES)
    except OSError:
        return None


def _dicom_head(path: str) -> bytes | None:
    """A DICOM file's preamble and file meta (one small read), or None when it is no DICOM."""
    head = _first_bytes(path)
    if head is None:
        return None
    return head if head[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + 4] == b"DICM" else None


def is_dicomdir(path: str) -> bool:
    """True for a DICOMDIR: a DICOM file whose file meta names the Media Storage Directory
    class."""
    head = _dicom_head(path)
    return head is not None and DICOMDIR_CLASS in head


def _named_dicomdir(name: str, path: str) -> bool:
    """True for a DICOMDIR saved with an image extension (`DICOMDIR.dcm`, pydicom's
    `DICOMDIR-empty.dcm`). Only names holding "dicomdir" are opened: reading the file meta of
    every `.dcm` doubled the listing of 2,000 files on a local disk (40 ms more) and costs a
    round trip per image on an SSHFS mount."""
    return "dicomdir" in name.lower() and is_dicomdir(path)


def may_be_dicom(name: str) -> bool:
    """True for a name a DICOM file may have without an image extension: no dot, a UID
    (digits after the last dot), or a DICOM ending (`.dicom`, Siemens' `.IMA`); `notes.txt` is
    not opened to find out."""
    return (
        "." not in name or name.rsplit(".", 1)[1].isdigit() or name.lower().endswith(DICOM_ENDINGS)
    )


def list_image_names(folder: Path, extensions=DEFAULT_EXTENSIONS) -> list[str]:
    """Image files under `folder` (recursively, as the import counts them), relative, sorted.

    Raises FolderUnreadable when the folder is missing or cannot be read.
    """
    return list_folder(folder, extensions)[0]


def list_folder(folder: Path, extensions=DEFAULT_EXTENSIONS) -> tuple[list[str], list[dict]]:
    """`(images, not_images)` under `folder`: the image files (as `list_image_names`), and the
    DICOM files left out for holding no image, `{"name", "what"}` (`what` their SOP class's
    name), both sorted by name. Raises FolderUnreadable."""
    try:
        found = folder.is_dir()
    except OSError as exc:  # a name longer than a file name can be, no permission (_is_dir)
        raise FolderUnreadable(f"folder {folder} cannot be read ({_reason(exc)})") from None
    if not found:
        raise FolderUnreadable(f"folder {folder} cannot be read ({_not_a_folder(folder)})")
    names: list[str] = []
    not_images: list[dict] = []
    problems: list[OSError] = []
    for entry in regular_files(folder, problems):  # a pipe or device is never an image
        name = entry.name
        if name.lower() in NOT_IMAGES:
            continue
        if is_image_name(name, extensions):
            if _named_dicomdir(name, entry.path):
                continue
            # a `.dcm` is opened only when its name is one exports give objects without an
            # image (RS_structures.dcm): reading every one costs a round trip each on SSHFS
            head = _named_no_image(name, entry.path)
        else:
            head = _dicom_head(entry.path) if may_be_dicom(name) else None
            if head is None or DICOMDIR_CLASS in head:
                continue
        relative = storable(os.path.relpath(entry.path, folder).replace(os.sep, "/"))
        what = no_image_class(head) if head is not None else None
        if what:
            not_images.append({"name": relative, "what": what})
        else:
            names.append(relative)
    if problems:
        first = problems[0]
        raise FolderUnreadable(f"folder {folder} cannot be read ({_reason(first)})")
    return sorted(names), sorted(not_images, key=lambda item: item["name"])


def _reason(exc: OSError) -> str:
    """Why a folder could not be looked at, in words ("Permission denied")."""
    if exc.errno == errno.ENAMETOOLONG:  # the OS says "File name too long", of a folder
        return f"its name is too long: a folder name can be at most {MAX_FOLDER_NAME} bytes"
    return exc.strerror or str(exc)


def _not_a_folder(folder: Path) -> str:
    """Why `folder`, which Path.is_dir says is none, is not one."""
    if os.path.islink(folder):  # a symlink loop too, which Path.is_dir answers False
        return "a link that leads to no folder"
    return "a file, not a folder" if os.path.lexists(folder) else "missing or not mounted"


def _named_no_image(name: str, path: str) -> bytes | None:
    """The first bytes of a `.dcm` named as exports name objects without an image (see
    `dicom_objects.may_hold_no_image`), to tell its class; None for any other file (not
    read)."""
    if file_extension(name) != ".dcm" or not may_hold_no_image(name):
        return None
    return _first_bytes(path)


def _is_dir(path: str | Path) -> bool | None:
    """Whether `path` is a folder; None when it cannot be looked at: a name longer than a
    file name can be (another tool's 300-character id or folder), no permission on a folder
    above it. Path.is_dir raises those (it swallows only "not there" and a symlink loop)."""
    try:
        return Path(path).is_dir()
    except OSError:
        return None


def batch_folder(batch: dict, data_directory: Path | None) -> Path | None:
    """Where a batch's images are: its recorded folder when it exists on this machine (one
    stored with '?' for undecodable bytes is the one folder it fits), else the folder of that
    name under DATA_DIRECTORY (a path of the old server or of another mount: `batch_7` kept in
    `.../batch_007`), else `<DATA_DIRECTORY>/<id>`; None when neither is known. The import's
    folder check (batch_import.folder_checker) finds a folder by the same rule. A recorded
    folder that cannot be looked at (too long a name, no permission) is returned when no
    other folder is found, so its listing says why it cannot be read."""
    folder = batch.get("folder")
    if isinstance(folder, str) and folder.strip():
        here = _is_dir(folder)
        found = folder if here else stored_folder_on_disk(folder)
        if found is not None:
            return Path(found)
        name = Path(folder.rstrip("/")).name
        if data_directory is not None and name not in ("", ".", ".."):
            if _is_dir(Path(data_directory) / name):
                return Path(data_directory) / name
        by_id = isinstance(batch.get("id"), str) and data_directory is not None
        if here is None and not (by_id and _is_dir(Path(data_directory) / batch["id"])):
            return Path(folder)
    if data_directory is not None and isinstance(batch.get("id"), str):
        return Path(data_directory) / batch["id"]
    if isinstance(folder, str) and folder.strip():
        return Path(folder)
    return None


def list_batch_images(
    batch: dict, data_directory: Path | None, key: str | None = None, extensions=DEFAULT_EXTENSIONS
) -> ImageListing:
    """List one batch's images now, stored under `key` (default its id); a folder problem
    becomes the listing's `error`."""
    folder = batch_folder(batch, data_directory)
    batch_id = key or str(batch.get("id"))
    extensions = tuple(extensions)
    if folder is None:
        return ImageListing(
            batch_id,
            None,
            None,
            utcnow(),
            "no folder recorded and no DATA_DIRECTORY set",
            extensions=extensions,
        )
    try:
        names, not_images = list_folder(folder, extensions)
    except FolderUnreadable as exc:  # its text names the folder
        return ImageListing(
            batch_id,
            storable(str(folder)),
            None,
            utcnow(),
            storable(str(exc)),
            extensions=extensions,
        )
    return ImageListing(
        batch_id,
        storable(str(folder)),
        names,
        utcnow(),
        extensions=extensions,
        not_images=tuple(not_images),
    )


def is_current(listing: ImageListing, extensions) -> bool:
    """True when a stored listing was made by this rule for these extensions."""
    return listing.version == VERSION and tuple(listing.extensions or ()) == tuple(extensions)


def save_listings(db: Database, listings: list[ImageListing]) -> list[ImageListing]:
    """Store listings, replacing earlier ones of the same batches; returns them as stored. A
    listing the server refuses (a folder of 200,000 long names is over a document's 16 MB) is
    stored as one whose images are unknown, saying why: the batch's state is then unknown, and
    the run goes on."""
    docs = [_document(item) for item in listings]
    refused = replace_many(db[COLLECTION], docs)
    if not refused:
        return listings
    stored = list(listings)
    for at, reason in refused.items():
        stored[at] = replace(listings[at], names=None, error=NOT_STORED.format(detail=reason))
    replace_many(db[COLLECTION], [_document(stored[at]) for at in refused])
    return stored


def _document(item: ImageListing) -> dict:
    return {
        "_id": item.batch_id,
        "folder": item.folder,
        "names": item.names,
        "listed_at": item.listed_at,
        "error": item.error,
        "version": item.version,
        "extensions": list(item.extensions or DEFAULT_EXTENSIONS),
        "not_images": list(item.not_images),
    }


def stored_listings(db: Database, batch_ids: list[str] | None = None) -> dict[str, ImageListing]:
    """Stored listings by batch id (all, or those of `batch_ids`)."""
    docs = (
        db[COLLECTION].find()
        if batch_ids is None
        else find_in(db[COLLECTION], "_id", list(dict.fromkeys(batch_ids)))
    )
    return {
        doc["_id"]: ImageListing(
            doc["_id"],
            doc.get("folder"),
            doc.get("names"),
            doc.get("listed_at"),
            doc.get("error"),
            doc.get("version", 1),
            tuple(doc.get("extensions") or ()),
            tuple(doc.get("not_images") or ()),
        )
        for doc in docs
    }
