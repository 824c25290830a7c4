"""Listing uploads and storing their listings (`mask_checks`), many at a time.

A sync that sees 1,000 new uploads, or a `verify` of a whole bucket, lists them in slices: the
chunk totals of a slice's uploads come from a few aggregates (not one per upload), and each
listing is stored once, in bulk, with what it changed since its batch's previous upload
(`changes`) already on it. Uploads are listed oldest first, so a batch's previous upload is
either stored by an earlier slice or in memory in this one. A crash between two slices leaves
each listing either old or new; the next check lists what is missing again.

A listing that found the upload's chunks missing or short (a restore that writes masks.files
before masks.chunks, a writer storing the file document first) keeps the chunk totals it saw
and is marked `AWAITING`: the next check lists it again once those totals changed
(`chunks_arrived`), found through a sparse index, so a routine check of uploads that are all
whole reads nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from segcore.archives.archive_listing import list_upload
from segcore.archives.listing_changes import changes_between
from segcore.core.phrases import N_, Phrase
from segcore.core.timefmt import utcnow
from segcore.images.batch_images import stored_listings
from segcore.images.image_copies import ImageFiles
from segcore.images.mask_matching import shown
from segcore.store.connection import Databases
from segcore.store.schema import (
    MASK_CHECKS,
    MAX_DOCUMENT,
    NOT_STORED,
    document_size,
    find_in,
    replace_many,
)
from segcore.uploads.gridfs_reader import CHUNK_REASONS, NO_CHUNKS, chunk_totals
from segcore.uploads.uploads import kept_filename

CHECKING_OF = N_("Checking upload {number} of {total}")
CHANGE_KINDS = ("added", "removed", "changed")
# A listing is stored whole while it fits in this many bytes (a document's 16 MB, less room
# for what a write adds); past it, `fit_listing` keeps less.
MAX_LISTING_BYTES = MAX_DOCUMENT - 512 * 1024
TOO_MANY = N_("too many members to check ({count})")  # as archive_zip and archive_7z say
SLICE = 200  # uploads listed, then stored in one bulk write
AWAITING = "awaiting_chunks"  # a listing's mark: its upload's chunks were missing or short
_PREVIOUS = {"filename": 1, "names": 1, "members": 1}
Progress = Callable[[float, str], None]


def ensure_indexes(db) -> None:
    """The listings awaiting their upload's chunks, found without reading the others."""
    db[MASK_CHECKS].create_index([(AWAITING, 1)], name=AWAITING, sparse=True)


def chunks_arrived(databases: Databases) -> list:
    """The uploads whose stored listing found their chunks missing or short and whose chunks
    changed since (their count, bytes or last number): the next check lists them again. One
    read of the `AWAITING` index, and the chunk totals of what it holds."""
    awaiting = list(databases.work[MASK_CHECKS].find({AWAITING: True}, {"chunk_totals": 1}))
    if not awaiting:
        return []
    chunks = databases.training[f"{databases.settings.masks_bucket}.chunks"]
    now = chunk_totals(chunks, [d["_id"] for d in awaiting])
    return [d["_id"] for d in awaiting if list(now.get(d["_id"], NO_CHUNKS)) != d["chunk_totals"]]


def previous_upload(upload_id, uploads: dict, by_batch: dict):
    """The upload of the same batch (its first) that arrived just before `upload_id`, or None."""
    upload = uploads[upload_id]
    if not upload["batches"] or not isinstance(upload.get("uploadDate"), datetime):
        return None
    earlier = [
        u
        for u in by_batch.get(upload["batches"][0], ())
        if u != upload_id
        and isinstance(uploads[u].get("uploadDate"), datetime)
        and (uploads[u]["uploadDate"], str(u)) < (upload["uploadDate"], str(upload_id))
    ]
    return max(earlier, key=lambda u: (uploads[u]["uploadDate"], str(u)), default=None)


def _oldest_first(upload: dict) -> tuple:
    date = upload.get("uploadDate")
    return (
        not isinstance(date, datetime),
        date if isinstance(date, datetime) else 0,
        str(upload["_id"]),
    )


def list_and_store(
    databases: Databases,
    targets: list[dict],
    uploads: dict,
    by_batch: dict,
    report,
    notify: Progress,
    keep: bool = False,
    images: dict | None = None,
    listed=None,
) -> tuple[list, dict]:
    """List `targets` (file documents with their batch keys) and store their listings.

    `uploads` and `by_batch` (every known upload by id, the upload ids of each batch key) find
    each one's previous upload. Counts go into `report` (checked_uploads, bytes_read,
    bytes_stored). `images`: the batches' image listings by key, as just stored (those
    missing are read), so copies of a batch's images are told from its masks. `listed`: the
    keys of the batch list, whose folders in an upload of another batch hold no mask of it
    (None: every batch a folder names). Returns the ids listed and, with `keep`, their
    stored documents by id.
    """
    chunks = databases.training[f"{databases.settings.masks_bucket}.chunks"]
    ordered = sorted(targets, key=_oldest_first)
    images = _image_listings(databases, ordered, images)
    found: dict[tuple, ImageFiles] = {}
    stats: dict = {}  # each image stat'ed at most once in this run
    checked, kept = [], {}
    for start in range(0, len(ordered), SLICE):
        part = ordered[start : start + SLICE]
        notify(
            0.05 + 0.85 * start / max(1, len(ordered)),
            Phrase(CHECKING_OF, number=start + 1, total=len(ordered)),
        )
        totals = chunk_totals(chunks, [u["_id"] for u in part if _hashable(u["_id"])])
        docs = {}
        for upload in part:
            chunks_found = (
                totals.get(upload["_id"], NO_CHUNKS) if _hashable(upload["_id"]) else None
            )
            keys = tuple(upload["batches"])
            if keys not in found:
                found[keys] = ImageFiles(
                    [images.get(k) for k in keys], stats, databases.settings.mask_extensions
                )
            docs[upload["_id"]] = _listing_doc(
                databases, chunks, upload, chunks_found, found[keys], listed
            )
            report.checked_uploads += 1
            report.bytes_read += docs[upload["_id"]]["bytes_read"]
            length = upload.get("length")  # other tools write odd values (NaN, text)
            report.bytes_stored += length if isinstance(length, int) else 0
        _add_changes(databases, docs, uploads, by_batch)
        docs = {i: fit_listing(doc) for i, doc in docs.items()}
        stored = [{"_id": i, **doc} for i, doc in docs.items()]
        _refused_instead(databases, docs, replace_many(databases.work[MASK_CHECKS], stored), report)
        checked += list(docs)
        if keep:
            kept.update(docs)
    return checked, kept


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _image_listings(databases: Databases, uploads: list[dict], images: dict | None) -> dict:
    """The image listings of the batches `uploads` name, by key: `images`, and those it lacks
    as stored."""
    images = dict(images or {})
    missing = sorted({k for u in uploads for k in u["batches"] if k not in images})
    if missing:
        images.update(stored_listings(databases.work, missing))
    return images


def _listing_doc(
    databases: Databases,
    chunks,
    upload: dict,
    totals,
    images: ImageFiles | None = None,
    listed=None,
) -> dict:
    settings = databases.settings
    extensions = settings.mask_extensions
    budget = settings.mask_check_budget
    listing = list_upload(chunks, upload, budget, extensions, totals, images, listed)
    awaiting = listing.code in CHUNK_REASONS and totals is not None
    return {
        "filename": kept_filename(upload.get("filename")),
        "batches": upload["batches"],
        "length": upload.get("length"),
        "uploadDate": upload.get("uploadDate"),
        "kind": listing.kind,
        "names": listing.names,
        "reason": listing.reason,
        "reason_code": listing.code,
        "reason_params": listing.params,
        "other_files": listing.other_files,
        "members": listing.members,
        # which batch's folder holds each mask (an upload naming several batches)
        "placed": listing.placed,
        "also_loose": listing.also_loose,
        # the members that are copies of the batch's images: the content check skips them
        "image_copies": listing.image_copies,
        # the masks under another batch's folder (an upload naming one): it skips them too
        "other_batch": listing.other_batch,
        # the batches its folders name that the list lacked: listed again once one is in it
        "unlisted_folders": listing.unlisted_folders,
        # the instance masks beside the class masks (SegmentationObject/): skipped too
        "instance_masks": listing.instance_masks,
        # the visualizations beside them (labelme2voc's ...Visualization/): skipped too
        "overlays": listing.overlays,
        # each mask's path, telling same-named images in subfolders apart
        "paths": listing.paths,
        "version": listing.version,
        "extensions": list(extensions),
        "bytes_read": listing.bytes_read,
        "checked_at": utcnow(),
        "changes": None,
        # the chunk totals seen when they did not add up: listed again once they change
        **({AWAITING: True, "chunk_totals": list(totals)} if awaiting else {}),
    }


def fit_listing(doc: dict, limit: int | None = None) -> dict:
    """A listing document as stored: whole while it fits in `limit` bytes (BSON), else with
    less, as a listing too large to keep whole always was (pure). First without each mask's
    size and checksum (`members` None: the next upload's changes compare names only), then
    without its paths and folders (`paths` None, `placed` and `also_loose` empty: every mask
    counts for each batch the upload names, and a mask of images sharing a name says not
    which). Names that do not fit even then (200,000 masks of 100 characters) make the upload
    refused, "too many members to check", as an archive of too many members is: never a
    listing that names only some of its masks. `limit`: MAX_LISTING_BYTES unless given."""
    limit = MAX_LISTING_BYTES if limit is None else limit
    if document_size(doc) <= limit:
        return doc
    lighter = {**doc, "members": None}
    if document_size(lighter) <= limit:
        return lighter
    lighter.update(paths=None, placed={}, also_loose=[], other_batch=[])
    if document_size(lighter) <= limit:
        return lighter
    count = len(doc.get("names") or ()) + len(doc.get("other_files") or ())
    return _refused(doc, TOO_MANY, {"count": count})


def _refused(doc: dict, template: str, params: dict) -> dict:
    """`doc` as the listing of an upload that cannot be read, for the reason given."""
    return {
        **doc,
        **{"reason": template.format(**params), "reason_code": template, "reason_params": params},
        **{"names": [], "other_files": [], "members": [], "paths": [], "image_copies": []},
        "other_batch": [],
        **{"placed": {}, "also_loose": [], "changes": None},
    }


def _refused_instead(databases: Databases, docs: dict, refused: dict, report) -> None:
    """The listings of `docs` (by upload id, in order) the server `refused` ({position:
    reason}) stored instead as uploads that cannot be read, saying why, and counted in
    `report.not_stored`: the others are stored all the same (one bad document never stops a
    sync). One refused even so is left out of `docs`: never stored, the next check lists it."""
    if not refused:
        return
    ids = list(docs)
    for at, reason in refused.items():
        docs[ids[at]] = _refused(docs[ids[at]], NOT_STORED, {"detail": reason})
        report.not_stored.append(
            {"filename": docs[ids[at]].get("filename"), "reason": docs[ids[at]]["reason"]}
        )
    again = [ids[at] for at in refused]
    for at in replace_many(databases.work[MASK_CHECKS], [{"_id": i, **docs[i]} for i in again]):
        docs.pop(again[at])


def _add_changes(databases: Databases, docs: dict, uploads: dict, by_batch: dict) -> None:
    """Set on each listing of `docs` what it changed since the batch's previous upload
    (`changes`: None for a batch's first upload, or one never listed); at most NAMES_SHOWN
    names per kind."""
    previous = {u: previous_upload(u, uploads, by_batch) for u in docs}
    stored = [p for p in set(previous.values()) if p is not None and p not in docs]
    listings = {d["_id"]: d for d in find_in(databases.work[MASK_CHECKS], "_id", stored, _PREVIOUS)}
    listings.update(docs)
    for upload_id, before in previous.items():
        if before is None or before not in listings:
            continue
        found = changes_between(listings[before], docs[upload_id])
        docs[upload_id]["changes"] = {
            "previous": before,
            "compared": found.compared,
            "previous_filename": listings[before].get("filename"),
            **{k: shown(getattr(found, k)) for k in CHANGE_KINDS},
            **{f"{k}_count": len(getattr(found, k)) for k in CHANGE_KINDS},
        }
