"""Content checks stored: each upload's result in `mask_content`, each batch's sum on its document.

An upload's result is keyed by its id with its length and date, so it is computed once and again
only on request (`recheck`); a batch's `mask_content` field (counts, first offenders) is the sum
of its uploads' results, kept for the Batches page's "Mask problems" filter. The training
database is only read. `content_summary` is what an upload's receipt includes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from pymongo import UpdateOne

from segcore.content.mask_content import COUNT_KEYS, Rules, newest_masks
from segcore.content.scan.mask_content_scan import UploadContent, check_upload_content
from segcore.content.scan.mask_images import ImageIndex
from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import N_, BatchNotFound
from segcore.core.naming import batch_key
from segcore.core.phrases import Nn_, Phrase
from segcore.core.timefmt import utcnow
from segcore.images import batch_images
from segcore.images.mask_matching import batches_counting
from segcore.store import write_wait
from segcore.store.connection import Databases
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import BATCHES, MASK_CHECKS, MASK_CONTENT, delete_in, find_in
from segcore.uploads.uploads import PROJECTION, READ_OPTIONS, usable_documents
from segcore.work import review
from segcore.work.delivery import MOVABLE, REVIEW, REWORK

FIELD = "mask_content"  # a batch's sum, on its document in `batches`
MASKS_KEPT = 50_000  # masks per upload whose images are kept (about 150 bytes each)
UNUSABLE_KEPT = 100  # unusable uploads a check lists (all are counted)
SUMMARY = {"_id": 0, "masks": 0}  # an upload's result as its receipt shows it
# what tells whether an upload's stored result is current
STORED_FIELDS = {
    **{"length": 1, "uploadDate": 1, "version": 1, "batches": 1},
    **{"image_copies": 1, "resaved": 1, "not_masks": 1},
}
# A stored result of an older version is checked again: 2 opens 7z archives, a tar's linked
# masks, every stream of a multi-stream tar, every page of a TIFF, and zip names as listed;
# 3 keeps each mask's image (a re-upload replaces it), counts the masks of an upload that
# cannot be read to its end as unreadable, and reads masks of every configured extension;
# 4 reads a DICOM SEG's segments and positions, compares a 2D mask with a single-slice
# series' volume and a NIfTI's spacing in mm whatever its units, and a 1-bit mask's "on" with
# 255 (3 named such right masks as problems: uploads not usable); it also counts a path held
# twice by its last copy, an image's masks under several folders as one that must be fine in
# each, and a mask several batches may own against none unless its grid says;
# 5 reads a plain DICOM's modality values (4 read its stored values: a CT copied into a mask,
# intercept -1024 kept, passed as 0/1) and checks a mask of one of a batch's images sharing
# a name (`patient_B/img_001.png`) against the one its folders name, not the first of them;
# 6 checks a mask whose image cannot be read for its own problems (5 passed it: empty, wrong
# labels, unreadable) and takes a float within LABEL_TOLERANCE of 0 for background (5 counted
# resampling noise as drawn), and fits a NIfTI mask to either frame of an image whose qform
# and sform differ (5 named a mask saved by ITK-based tools in its qform); it refuses a colour
# mask and counts a pixel once in every format (5 passed an RGB DICOM, a vector NRRD or MHA),
# and reads a CMYK mask's colours (5 read its C, M, Y as R, G, B: empty);
# 7 checks a mask whose image no reader here knows (a .webp added to MASK_EXTENSIONS) for its
# own problems (6 passed it with a note, whatever it held), and reads a palette mask whose colours
# are greys by those greys (6 read its indices: a black-and-white mask with white at index 0 was
# its background drawn, one in Pillow's web palette "label 225"), and reads a detached NRRD (.nhdr)
# by its header, as an .mhd (6 had no reader for it: a mask of the wrong size passed);
# 8 checks a mask several of an upload's batches may own (no folder says which) against each
# image its grid fits, or each of them when it fits none or cannot be read (7 passed it with a
# note: an upload of empty masks for two batches delivered both), and a mask for those of the
# upload's batches whose completeness counts it only (7 noted `batch_4/` masks under batch_3);
# 9 tells a mask named exactly as its image that holds its pixels for the image saved again,
# no mask (`image_pixels`; 8 checked a re-saved `img_003.png` as img_003's mask, and the batch
# was delivered without one);
# 10 places each slice of a DICOM SEG of fewer slices on one of its image's (9 passed one drawn
# past the volume or between slices), reads a TIFF's reduced-resolution pages and an ImageJ
# hyperstack's channels and time points as no slices, a radiograph's spacing as ITK reads it
# as well, and a NumPy mask of no dimensions or of values no mask holds in words (9 named
# right masks wrong size or wrong spacing, or showed Python's TypeError); it checks a mask
# against each image of its key in a batch (`case1.nii.gz` and `case1.png`: 9 the first only)
# and gives an image no mask of the upload fits those masks' problems (9 delivered batch_2 of
# `batch_1_to_batch_2.zip` by a mask its grid gave to batch_1);
# 11 names an archive member whose data was damaged (a zip's checksum or compressed data, a
# 7z's, a compressed tar's stream) in words, where 10 showed zipfile's, zlib's or py7zr's
# messages as "not a readable image", reads a compressed tar with data after its last
# stream, reads a DICOM geometry attribute of one value (a PixelSpacing "0.3125": 10 said
# Python's TypeError), tells a DICOM image saved again by its pixels, and leaves a DICOM mask
# whose pixel data no decoder here reads not checked (10 made it unreadable);
# 12 reads a sequential JPEG whose scan header says a spectral selection other than 0 to 63
# (pydicom's JPEG-lossy.dcm, NEMA WG04's *_JPLY: IJG-based viewers show them) and uncompressed
# YBR_FULL_422 pixel data, and leaves a 12-bit JPEG Extended mask with Pillow alone to read it
# not checked (11 called the first two unreadable, "truncated" for the second, and the third
# unreadable in Pillow's words), HTJ2K and GDCM's YBR_RCT JPEG 2000 (pylibjpeg-openjpeg);
# 13 compares a mask named as its image by its stem, whatever its extension, and takes a JPEG
# close to the image's pixels for the image saved again (12 and earlier compared `img_003.png` only with
# `img_003.png` and by the very picture: `img_003.tif` or a re-encoded `img_003.jpg` stood in
# for img_003's missing mask).
# 14 takes a JPEG named as its image for the image saved again only when it is that picture on
# the image's own scale (root mean square difference within 35 % of the image's standard
# deviation, correlation 0.95 or more): 13's 8 % of the range called 0/1 JPEG masks of a dark
# picture and 0/255 JPEG masks of a 16-bit or 12-bit image copies of it (sent to rework), and
# tells an image saved again as floats holding its whole values (a float64 NIfTI, a 32-bit
# TIFF, a float .npy) for the same picture (13 counted it as the image's mask).
# 15 checks the masks of a tar whose names are not UTF-8 (Latin-1 from an old SMB copy) against
# their images by the name the listing gives them (14 checked none of them and said nothing).
# 16 checks a 7z's masks as 7-Zip leaves them and the listing counts them: a path held twice by
# its last copy (15 checked the first), paths starting with `/` (`7z a -spf`, `bsdtar -P`: 15
# checked none of them and said nothing) or a drive (`C:/Users/…`: 15 called them unreadable).
# 17 compares the slice spacing of a multi-frame DICOM image (its frames' step, an RT Dose's
# GridFrameOffsetVector, or its SpacingBetweenSlices): 16 compared its pixel spacing only, so a
# mask resampled to other slices passed; and reads a multi-frame image stored from its highest
# slice down as ITK does too (16 refused the masks ITK-based tools save on it); an `.mhd` or
# `.nhdr` mask uploaded without its data file is unreadable (16 delivered such headers); a
# DICOM mask in Deflated Image Frame Compression is read, one in JPEG XL not checked (16 called
# both unreadable, "UID is not a transfer syntax"); a NIfTI is compressed or not as its first
# bytes say (16 called a .nii.gz saved uncompressed unreadable, as a mask and as an image); a
# NIfTI, NumPy or MGH mask whose first bytes name another format says which (16 gave the
# library's words, NumPy's "pickled (object) data" for a PNG).
VERSION = 17
Progress = Callable[[float, str], None]


# Why a content check sent a batch back (stored in English in history, as an upload's problem).
SENT_BACK = Nn_("content: {count} mask with a problem", "content: {count} masks with problems")


@dataclass
class ContentReport:
    """What a content check did, and each batch's sum."""

    checked_uploads: int = 0
    skipped: int = 0  # uploads of batches whose images were not listed (not stored)
    unmatched: int = 0  # uploads naming no batch of the list: nothing to check them against
    bytes_read: int = 0
    batches: list[dict] = field(default_factory=list)  # {"id", **batch_summary}
    checked_ids: list = field(default_factory=list)  # the uploads checked (their receipts change)
    sent_back: list[str] = field(default_factory=list)  # batches moved to rework by a problem
    # batches it had sent to rework (or a mask check had) moved to review: no problem now
    cleared: list[str] = field(default_factory=list)
    # Uploads the sync calls unusable (uploads.upload_from_document), never opened: all
    # counted, the first UNUSABLE_KEPT listed ({"filename", "problem"}).
    unusable: list[dict] = field(default_factory=list)
    unusable_count: int = 0
    # the uploads holding copies of their batch's images told by their pixels (`image_pixels`),
    # by id: the paths, which the mask check then counts as no masks (`masks.resaved_images`)
    resaved: dict = field(default_factory=dict)
    recounted: list = field(default_factory=list)  # the batches whose mask check they changed

    def by_batch(self) -> dict[str, dict]:
        return {row["id"]: row for row in self.batches}


def rules_from(settings) -> Rules:
    """The content rules the settings name (MASK_LABELS, MASK_MIN_PIXELS, MASK_QC_MAX_VOXELS)."""
    return Rules(settings.mask_labels, settings.mask_min_pixels, settings.mask_qc_max_voxels)


def json_summary(row: dict) -> dict:
    """A batch's content in the command line's JSON shape."""
    counts = row.get("counts") or {}
    return {
        "checked": row.get("checked", 0),
        **{k: counts.get(k, 0) for k in COUNT_KEYS},
        "header_only": row.get("header_only", 0),
        "problems": row.get("problems", 0),
        "offenders": row.get("offenders") or [],
        "notes": row.get("notes") or [],
    }


def check_content(
    databases: Databases,
    batch_ids: list[str] | None = None,
    *,
    recheck: bool = False,
    upload_ids=None,
    author: "str | Actor" = "verify",
    progress: Progress | None = None,
    list_images: bool = True,
    before_reading: Callable[[list], None] | None = None,
) -> ContentReport:
    """Check the contents of uploads (those of `batch_ids`, or `upload_ids`, or every upload)
    against their images, store each upload's result and each batch's sum.

    Uploads already checked at the same length and date are not read again unless `recheck`.
    Needs the batches' image listings (`mask_check.verify` stores them): missing ones are listed
    now, or with `list_images` False (the live sync) the upload is left for a later check.
    `before_reading` gets the ids of the uploads to check before any is read (content_due
    marks them owed, so a check killed midway leaves them to the next).
    Raises BatchNotFound for an unknown batch, PermissionDenied for a viewer.
    """
    writer = authorize_write(author)
    refuse_writes(databases.work)
    notify = progress or (lambda fraction, message: None)
    work, settings = databases.work, databases.settings
    notify(0.0, "Reading uploads")
    report = ContentReport()
    keys = _keys(work, batch_ids) if batch_ids else None
    emptied: set[str] = set()  # batches whose results named uploads removed since
    if upload_ids is not None and keys is None:  # a sync's new uploads: only those are read
        targets = list(_uploads(databases, report, list(upload_ids)).values())
    else:
        uploads = _uploads(databases, report)
        targets = [u for u in uploads.values() if keys is None or set(u["batches"]) & keys]
        if keys is None:
            emptied = _drop_removed(work, set(uploads))
    ids = [u["_id"] for u in targets]
    stored = {d["_id"]: d for d in find_in(work[MASK_CONTENT], "_id", ids, STORED_FIELDS)}
    copies, not_masks = _copies_listed(work, ids), _not_masks_listed(work, ids)
    todo = [
        u
        for u in targets
        if recheck
        or _changed(u, stored.get(u["_id"]))
        or _copies_changed(stored.get(u["_id"]), copies.get(u["_id"]))
        or _not_masks_changed(stored.get(u["_id"]), not_masks.get(u["_id"]))
    ]
    if before_reading is not None and todo:
        before_reading([u["_id"] for u in todo])
    checked = []
    rules, chunks = rules_from(settings), databases.training[f"{settings.masks_bucket}.chunks"]
    # Every listing at once: the live sync's burst of a thousand uploads costs a few reads.
    known = _listings(databases, sorted({k for u in todo for k in u["batches"]}), list_images)
    listed = _listed_masks(work, [u["_id"] for u in todo])  # None: never listed
    for number, upload in enumerate(todo, 1):
        notify(
            0.05 + 0.9 * (number - 1) / max(1, len(todo)),
            f"Checking mask contents {number:,} of {len(todo):,}",
        )
        result = _result_of(upload, known, listed.get(upload["_id"]), settings, rules, chunks)
        if result is None:  # no image to compare with (yet): not stored, checked later
            if not upload["batches"] or (list_images and not set(upload["batches"]) & set(known)):
                report.unmatched += 1  # `_listings` lists every batch of the list it names
            else:
                report.skipped += 1
            continue
        _store_result(work, upload, result, rules, listed.get(upload["_id"]))
        report.checked_uploads += 1
        report.checked_ids.append(upload["_id"])
        checked.append(upload)
        report.bytes_read += result.bytes_read
        if result.resaved:
            report.resaved[upload["_id"]] = result.resaved
    scope = (
        keys
        if keys is not None
        else {k for u in targets for k in u["batches"]}
        if list_images
        else {k for u in checked for k in u["batches"]}
    ) | emptied
    # An upload re-tagged to another batch (its metadata corrected) leaves the one it named.
    scope |= {k for u in checked for k in (stored.get(u["_id"]) or {}).get("batches") or ()}
    report.batches = _update_batches(work, scope)
    if settings.masks_set_status:
        report.sent_back, report.cleared = _move_statuses(work, report.batches, writer)
    notify(1.0, "Done")
    return report


def _result_of(upload: dict, known: dict, listing: dict | None, settings, rules, chunks):
    """One upload's content result, or None while none of its batches has listed images."""
    listings = [known.get(k) for k in upload["batches"]]
    if not any(found is not None and found.names for found in listings):
        return None
    index = ImageIndex.from_listings(
        listings, settings.mask_suffixes, settings.mask_extensions, upload["batches"]
    )
    if listing is not None and listing.get("reason"):  # the listing found it unreadable:
        # its masks count for nothing, and nothing more is read of it
        return UploadContent(notes=[_unreadable_note(listing["reason"])])
    names = None if listing is None else listing["names"]
    # copies of the batch's images, masks under another batch's folder and instance masks
    # beside the class masks: none of its masks
    copies = () if listing is None else [*listing["image_copies"], *_not_masks(listing)]
    counting = None if listing is None else batches_counting(listing, upload["batches"])
    budget = settings.mask_qc_budget
    return check_upload_content(chunks, upload, index, rules, budget, names, copies, counting)


def _store_result(work, upload: dict, result, rules: Rules, listing: dict | None) -> None:
    """One upload's result in `mask_content`, keyed by its id, with its length and date."""
    work[MASK_CONTENT].replace_one(
        {"_id": upload["_id"]},
        {
            "filename": upload.get("filename"),
            "batches": upload["batches"],
            "length": upload.get("length"),
            "uploadDate": upload.get("uploadDate"),
            **result.tally.as_dict(),
            # each mask's image, so a re-upload replaces it; an upload of more masks than a
            # document holds (16 MB) adds whole to its batch, as results of version 2 do
            "masks": result.tally.masks if len(result.tally.masks) <= MASKS_KEPT else None,
            "notes": result.notes,
            "labels": _labels(rules),
            # the members skipped as copies of the batch's images, as the listing found them
            "image_copies": (listing or {}).get("image_copies") or [],
            # the members named as masks the listing found to be none (another batch's folder,
            # instance masks), so a listing made again under another rule checks it again
            "not_masks": _not_masks(listing or {}),
            # and those this check found by their pixels: copies too, not checked as masks
            "resaved": result.resaved,
            "bytes_read": result.bytes_read,
            "version": VERSION,
            "checked_at": utcnow(),
        },
        upsert=True,
    )


def is_current(upload: dict, stored: dict | None) -> bool:
    """True when a stored content result was made for `upload` as it is (its length, date and
    batches, by this version of the check): what its receipt shows until checked again."""
    return not _changed(upload, stored)


def _changed(upload: dict, stored: dict | None) -> bool:
    """True when an upload was never checked, changed since (its bytes, or the batches it
    names: metadata corrected), or was checked by an older version of the check (`VERSION`):
    a result that may have missed masks is not kept."""
    return (
        stored is None
        or any(stored.get(k) != upload.get(k) for k in ("length", "uploadDate"))
        or sorted(stored.get("batches") or ()) != sorted(upload["batches"])
        or stored.get("version", 1) != VERSION
    )


def _copies_changed(stored: dict | None, copies: list | None) -> bool:
    """True when the listing found copies of the batch's images other than those the stored
    result skipped or found by their pixels (a result checking them as masks, from before
    copies were told apart; a listing made again, without the copies found by pixels)."""
    if stored is None:
        return False
    skipped = {*(stored.get("image_copies") or ()), *(stored.get("resaved") or ())}
    return sorted(skipped) != sorted(set(copies or ()))


def _not_masks(listing: dict) -> list[str]:
    """The members named as masks that a listing found to be none of its masks: under another
    batch's folder (`other_batch`), instance masks and visualizations beside the class masks
    (`instance_masks`, `overlays`)."""
    found = [
        *(listing.get("other_batch") or ()),
        *(listing.get("instance_masks") or ()),
        *(listing.get("overlays") or ()),
    ]
    return sorted({n for n in found if isinstance(n, str)})


def _not_masks_changed(stored: dict | None, listed: list | None) -> bool:
    """True when the listing now finds other members to be no masks than the stored result
    skipped (a listing made again: `export_batch_20261207/` is no batch's folder any more, or
    `SegmentationObject/` holds instance masks), so the masks it counts are checked."""
    if stored is None:
        return False
    return sorted(stored.get("not_masks") or ()) != sorted(listed or ())


def _not_masks_listed(work, upload_ids: list) -> dict:
    """`_not_masks` of each listing holding any, by upload id (only those are read)."""
    fields = ("other_batch", "instance_masks", "overlays")
    where = {"$or": [{f"{name}.0": {"$exists": True}} for name in fields]}
    projection = dict.fromkeys(fields, 1)
    docs = find_in(work[MASK_CHECKS], "_id", upload_ids, projection, where=where)
    return {d["_id"]: _not_masks(d) for d in docs}


def _copies_listed(work, upload_ids: list) -> dict:
    """The members each listing found to be copies of the batch's images, by upload id: only
    listings holding any are read."""
    where = {"image_copies.0": {"$exists": True}}
    docs = find_in(work[MASK_CHECKS], "_id", upload_ids, {"image_copies": 1}, where=where)
    return {d["_id"]: d["image_copies"] for d in docs}


def _labels(rules: Rules) -> list[float] | None:
    return list(rules.labels) if rules.labels is not None else None


def _uploads(databases: Databases, report: ContentReport, upload_ids: list | None = None) -> dict:
    """Every usable upload's document (projected) with its batch ids, by id; the uploads the
    sync calls unusable (a document as `_id`, a length that is not a number) are counted in
    `report` with the sync's reason, never opened."""
    projection = {**PROJECTION, "chunkSize": 1}
    files = databases.masks_files.with_options(codec_options=READ_OPTIONS)

    def skip(upload) -> None:
        report.unusable_count += 1
        if len(report.unusable) < UNUSABLE_KEPT:
            report.unusable.append({"filename": upload.filename, "problem": upload.problem})

    return usable_documents(
        files.find({}, projection, batch_size=5000)
        if upload_ids is None
        else find_in(files, "_id", upload_ids, projection),
        skip,
    )


def _drop_removed(work, current: set) -> set[str]:
    """Forget the results of uploads removed since their check; the batches they named (their
    sums change)."""
    stale = [
        d for d in work[MASK_CONTENT].find({}, {"_id": 1, "batches": 1}) if d["_id"] not in current
    ]
    delete_in(work[MASK_CONTENT], "_id", [d["_id"] for d in stale])
    return {k for d in stale for k in d.get("batches") or () if isinstance(k, str)}


def forget_uploads(work, upload_ids: list) -> set[str]:
    """Forget the content results of removed uploads and store the sums of the batches they
    named again (what is left decides); returns those batches."""
    gone = find_in(work[MASK_CONTENT], "_id", upload_ids, {"batches": 1})
    keys = {k for d in gone for k in d.get("batches") or () if isinstance(k, str)}
    delete_in(work[MASK_CONTENT], "_id", [d["_id"] for d in gone])
    if keys:
        _update_batches(work, keys)
    return keys


def _key(raw) -> str | None:
    return batch_key(raw) if isinstance(raw, str) else None


def _keys(work, batch_ids: list[str]) -> set[str]:
    wanted = {str(b): batch_key(str(b)) for b in batch_ids}
    known = {_key(d.get("id")) for d in work[BATCHES].find({}, {"_id": 0, "id": 1})}
    unknown = [given for given, key in wanted.items() if key not in known]
    if unknown:
        raise BatchNotFound(N_("No batch {ids} in the batch list."), ids=", ".join(unknown[:5]))
    return set(wanted.values())


def _listings(databases: Databases, keys: list[str], list_images: bool) -> dict:
    """The stored image listings of these batches by key, listing now those never listed (with
    `list_images`)."""
    found = batch_images.stored_listings(databases.work, keys)
    missing = [k for k in keys if k not in found] if list_images else []
    if missing:
        docs = [
            d
            for d in databases.work[BATCHES].find({}, {"_id": 0, "id": 1, "folder": 1})
            if _key(d.get("id")) in missing
        ]
        fresh = [
            batch_images.list_batch_images(d, databases.settings.data_directory, _key(d.get("id")))
            for d in docs
        ]
        stored = batch_images.save_listings(databases.work, fresh)
        found.update({item.batch_id: item for item in stored})
    return found


def _listed_masks(work, upload_ids: list) -> dict:
    """Each upload's stored listing, by upload id: the mask names it counted (`names`), the
    members it found to be copies of the batch's images (`image_copies`) or under another
    batch's folder (`other_batch`, an upload naming one), why it could not
    be read (`reason`, None when it could), and where its masks lie (`paths`, `placed`,
    `also_loose`: which of its batches count each)."""
    projection = {"names": 1, "reason": 1, "image_copies": 1, "paths": 1, "placed": 1}
    more = {"also_loose": 1, "other_batch": 1, "instance_masks": 1, "overlays": 1}
    docs = find_in(work[MASK_CHECKS], "_id", upload_ids, {**projection, **more})
    return {
        d["_id"]: {
            **{k: d.get(k) for k in ("paths", "placed", "also_loose")},
            "names": [n for n in d.get("names") or () if isinstance(n, str)],
            "image_copies": [n for n in d.get("image_copies") or () if isinstance(n, str)],
            "other_batch": [n for n in d.get("other_batch") or () if isinstance(n, str)],
            "instance_masks": [n for n in d.get("instance_masks") or () if isinstance(n, str)],
            "overlays": [n for n in d.get("overlays") or () if isinstance(n, str)],
            "reason": d.get("reason") if isinstance(d.get("reason"), str) else None,
        }
        for d in docs
    }


def _unreadable_note(reason: str) -> dict:
    return {"code": "unreadable", "params": {"reason": reason}}


def _upload_order(doc: dict) -> tuple:
    """Oldest upload first (by its date, then id): the newest mask of an image counts."""
    date = doc.get("uploadDate")
    return (date.timestamp() if isinstance(date, datetime) else float("-inf"), str(doc["_id"]))


def batch_summary(work, key: str) -> dict:
    """A batch's content from the stored results of the uploads naming it: each image's
    newest mask (`mask_content.newest_masks`). Notes come from the newest upload and from
    those whose masks still count."""
    docs = sorted(work[MASK_CONTENT].find({"batches": key}), key=_upload_order)
    tally, counting = newest_masks(docs, key)
    notes = [
        {**note, "filename": doc.get("filename")}
        for at, doc in enumerate(docs)
        if at == len(docs) - 1 or at in counting
        for note in doc.get("notes") or ()
    ]
    return {**tally.as_dict(), "notes": notes, "uploads": [d["_id"] for d in docs]}


def _update_batches(work, keys: set[str]) -> list[dict]:
    """Store each batch's sum on its document (the Batches page filters on it)."""
    docs = find_in(work[BATCHES], "id", sorted(keys), {"_id": 0, "id": 1})
    if len({_key(d.get("id")) for d in docs}) < len(keys):  # legacy ids (batch_0400)
        docs = [d for d in work[BATCHES].find({}, {"_id": 0, "id": 1}) if _key(d.get("id")) in keys]
    rows, writes = [], []
    for doc in docs:
        summary = {**batch_summary(work, _key(doc.get("id"))), "checked_at": utcnow()}
        rows.append({"id": doc["id"], **summary})
        writes.append(UpdateOne({"id": doc["id"]}, {"$set": {FIELD: summary}}))
    write_wait.bulk_write(work[BATCHES], writes)
    if writes:  # the pages re-read these batches
        from segcore.store import data_version

        data_version.bump_batches(work, [r["id"] for r in rows], by_sync=True)
    return sorted(rows, key=lambda r: (len(str(r["id"])), str(r["id"])))


def _move_statuses(work, rows: list[dict], author: str) -> tuple[list[str], list[str]]:
    """A content problem makes the masks unusable, so the batch goes back to its segmentador as
    an unreadable or incomplete upload does: pending, in progress or awaiting review move to
    `rework` with the reason, compare-and-set and in history. Done and legacy values stay.
    The moves are told as an edit (not the sync's write): the syncs then move the batches'
    uploads to rework in the uploads per day. A batch segcore had sent to rework and now
    without problems goes back to review when delivered (`review.moves_after_checks`).
    Returns the batches sent back and those moved to review."""
    bad = {str(r["id"]): int(r.get("problems") or 0) for r in rows if r.get("problems")}
    docs = find_in(work[BATCHES], "id", list(bad), {"_id": 1, "id": 1, "status": 1})
    moves = [
        review.Move(d["_id"], str(d["id"]), d.get("status"), REWORK, _reason(bad[str(d["id"])]))
        for d in docs
        if d.get("status") in (*MOVABLE, REVIEW)
    ]
    sent = [m.batch_id for m in review.apply_moves(work, moves, author, edit=True)]
    clear = [r["id"] for r in rows if not r.get("problems")]
    return sent, [m.batch_id for m in review.moves_after_checks(work, clear, author)]


def _reason(problems: int) -> Phrase:
    # a phrase: stored beside the English text (review.REASON_PHRASE), each reader gets it in
    # their language, and it marks the rework as segcore's (delivery.status_after_check)
    return Phrase(SENT_BACK, plural_by="count", count=problems)


def content_summary(work, upload_id) -> dict | None:
    """An upload's stored content result, for its receipt: `checked`, `counts`, `problems`,
    `offenders` (first 50, as codes with parameters), `notes`; None when never checked."""
    return work[MASK_CONTENT].find_one({"_id": upload_id}, SUMMARY)


def has_content_problem(summary: dict | None) -> bool:
    """True when a content result makes its upload not usable: a mask of the wrong size, empty,
    too small, with labels outside the agreed ones, or unreadable."""
    return bool(summary) and int(summary.get("problems") or 0) > 0


def batch_content(work, batch_id: str) -> dict | None:
    """A batch's stored content sum (`checked`, `counts`, `offenders`, `notes`), or None when
    no content check covered it. Raises BatchNotFound when the batch is not in the list."""
    doc = work[BATCHES].find_one({"id": str(batch_id)}, {"_id": 0, FIELD: 1})
    if doc is None:
        raise BatchNotFound(N_("No batch {ids} in the batch list."), ids=batch_id)
    found = doc.get(FIELD)
    return found if isinstance(found, dict) else None
