"""Mask completeness: each upload's contents checked once, each batch compared with its images.

An upload's listing is stored in `mask_checks` by its id, with its length and date, and read
again only when those change, on request, when an older listing format or other extensions
made it (an old check is upgraded, not trusted), or once the chunks it found missing came
(`listing_store.chunks_arrived`). A batch's result (`mask_check` on its document) is recomputed
only when its uploads, their listings, its images or the rules changed. The training database
is only read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from pymongo import UpdateOne
from pymongo.database import Database

from segcore.archives import archive_listing, listing_store
from segcore.archives.listing_changes import changes_by_upload
from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import N_, BatchNotFound
from segcore.core.phrases import DONE, READING_UPLOADS, Phrase
from segcore.core.timefmt import utcnow
from segcore.images import batch_images
from segcore.images.mask_matching import (
    DEFAULT_EXTENSIONS,
    BatchCheck,
    compare_batch,
    matching_rules,
    paths_for_batch,
)
from segcore.masks import content_due, found_copies, owed_receipts
from segcore.masks.check_scope import batch_doc_key as _key
from segcore.masks.check_scope import batches_in_scope, not_checked
from segcore.masks.check_scope import counted as _counted
from segcore.store import data_version, write_wait
from segcore.store.connection import Databases
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import BATCHES, MASK_CHECKS, delete_in, find_in
from segcore.uploads.uploads import PROJECTION, READ_OPTIONS, usable_documents
from segcore.work.batches import listed_keys
from segcore.work.delivery import usable_fields

CHECKS = MASK_CHECKS
LISTING_IMAGES = N_("Listing images")
FIELD = "mask_check"  # the batch's result, on its document in `batches`
UPLOAD_PROJECTION = {**PROJECTION, "chunkSize": 1}
JSON_KEYS = (
    *("state", "images", "masks", "missing_count", "extra_count", "missing", "extra"),
    *("unreadable", "other_files", "ambiguous", "not_images_count", "not_images"),
)
# 2: other files, unreadable reasons as codes, NFC and nnU-Net matching; 3: an upload naming
# several batches gives each the masks under its own folder; 4: images sharing a name in
# different subfolders each need a mask their folders name (`ambiguous` when they do not);
# 5: `unreadable` only while the readable uploads leave images without a mask; 6: `masks`
# counts one per key matching takes (`img_001_mask.png` and `img_001_label.png` are one)
SUMMARY_VERSION = 6
Progress = Callable[[float, str], None]
SKIPPED_KEPT = 100  # unusable uploads a check lists (all are counted)
# what a batch's result reads of its uploads' stored listings
_READ = "filename names reason reason_code reason_params other_files uploadDate batches placed"
LISTING_FIELDS = dict.fromkeys((*_READ.split(), "also_loose", "paths"), 1)
BATCH_SLICE = 200  # batches recomputed per read of their uploads' listings


@dataclass
class VerifyReport:
    """What a check did, and the batches it reports on."""

    checked_uploads: int = 0
    bytes_read: int = 0
    bytes_stored: int = 0  # the length of the uploads checked
    batches: list[dict] = field(default_factory=list)  # {"id", **BatchCheck.summary()}
    # Uploads the sync calls unusable (uploads.upload_from_document), skipped with its reason:
    # all counted, the first SKIPPED_KEPT listed.
    skipped: list[dict] = field(default_factory=list)  # {"filename", "problem"}
    skipped_count: int = 0
    checked_ids: list = field(default_factory=list)  # the uploads listed by this check
    receipt_ids: list = field(default_factory=list)  # the uploads given a receipt
    first_receipts: int = 0  # uploads that had no receipt before this check
    owed_receipts: int = 0  # of those, listed by an earlier check stopped before the receipts
    statuses_moved: int = 0  # batches their first receipts moved (MASKS_SET_STATUS)
    # uploads whose listing the database refused to store ({"filename", "reason"}): each is
    # stored as unreadable with that reason instead, the others stored all the same
    not_stored: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The command line's JSON: counts, and each batch in the documented shape."""
        return {
            "checked_uploads": self.checked_uploads,
            "bytes_read": self.bytes_read,
            "batches": [
                {"id": row["id"], **{k: _json_value(k, row.get(k)) for k in JSON_KEYS}}
                # a batch whose id is no text: why it was not checked (_not_checked)
                | ({"not_checked": row["not_checked"]} if row.get("not_checked") else {})
                for row in self.batches
            ],
            "skipped": self.skipped_count,
            "skipped_uploads": self.skipped,
            "first_receipts": self.first_receipts,
            "owed_receipts": self.owed_receipts,
            "statuses_moved": self.statuses_moved,
            "not_stored": self.not_stored,
        }


def _json_value(key: str, value):
    # The documented shape: each unreadable upload as its filename and English reason.
    if key == "unreadable":
        return [
            {"filename": bad.get("filename"), "reason": bad.get("reason")} for bad in value or ()
        ]
    if key == "other_files":
        return list(value or ())
    return value


@dataclass
class NewUploadsCheck:
    """What checking a sync's new uploads found, for the sync to store: the uploads'
    `listings` (as stored, by id), each recomputed batch's result (`fields`, by key, not yet
    written) and every result by key (`results`), and the batches' stored image listings."""

    listings: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)
    not_stored: list = field(default_factory=list)  # as VerifyReport's
    listed: tuple = (0, 0, 0)  # uploads listed, bytes read and stored, for `sync --verify`


def needs_check(upload: dict, stored: dict | None, extensions=None, listed=None) -> bool:
    """True when an upload was never listed, its length or date changed since, or its listing
    was stored by an older format or for other extensions than `extensions`, or one of the
    batches its folders named and the list lacked is in `listed` (the list's keys) now."""
    return (
        stored is None
        or any(stored.get(k) != upload.get(k) for k in ("length", "uploadDate"))
        or stored.get("version") != archive_listing.VERSION
        or (extensions is not None and stored.get("extensions") != list(extensions))
        or (listed is not None and bool(set(stored.get("unlisted_folders") or ()) & listed))
    )


def verify(
    databases: Databases,
    batch_ids: list[str] | None = None,
    *,
    every_batch: bool = False,
    recheck: bool = False,
    upload_ids=None,
    author: "str | Actor" = "verify",
    progress: Progress | None = None,
) -> VerifyReport:
    """Check uploads against the images of their batches and store the results.

    `batch_ids`: check those batches' uploads and re-list their images (BatchNotFound when one
    is not in the list). Otherwise every upload not checked yet (all with `recheck`), reporting
    every batch that has uploads, or every batch with `every_batch`. `upload_ids` limits the
    check to those uploads (what a sync found new). PermissionDenied for a viewer.
    """
    who = authorize_write(author)
    refuse_writes(databases.work)
    notify = progress or (lambda fraction, message: None)
    work, settings = databases.work, databases.settings
    notify(0.0, Phrase(READING_UPLOADS))
    report = VerifyReport()
    uploads = _current_uploads(databases, report)
    arrived = {u for u in listing_store.chunks_arrived(databases) if u in uploads}
    if upload_ids is not None:
        upload_ids = [*upload_ids, *(arrived - set(upload_ids))]
    by_batch: dict[str, list] = {}
    for upload_id, upload in uploads.items():
        for key in upload["batches"]:
            by_batch.setdefault(key, []).append(upload_id)
    not_text: list[dict] = []  # with every_batch: batches whose id is no text, reported
    batches = batches_in_scope(
        work, batch_ids, every_batch, upload_ids, uploads, by_batch, not_text
    )
    in_scope = (
        {u for b in batches for u in by_batch.get(b["key"], ())}
        if batch_ids
        else set(uploads)
        if upload_ids is None
        else {u for u in upload_ids if u in uploads}
    )
    stored = _stored_checks(work, in_scope if batch_ids or upload_ids is not None else None)
    if batch_ids is None and upload_ids is None:
        # uploads removed since their check
        delete_in(work[CHECKS], "_id", [i for i in stored if i not in uploads])
    extensions, listed = settings.mask_extensions, listed_keys(work)
    targets = [
        u for u in in_scope if recheck or needs_check(uploads[u], stored.get(u), extensions, listed)
    ]
    targets += [u for u in in_scope & arrived if u not in {*targets}]
    targeted = [uploads[u] for u in targets]
    # Owed a receipt: none yet (never made, or a check killed first), or one of other settings
    rules = matching_rules(settings.mask_suffixes, extensions)
    every = batch_ids is None and upload_ids is None
    first, other_rules = owed_receipts.owed(work, in_scope, every, rules)
    notify(0.02, Phrase(LISTING_IMAGES))  # first: the listing tells copies of them from masks
    relist, images = _relist_images(
        work, batches, settings.data_directory, bool(batch_ids or recheck), extensions
    )
    checked, _ = listing_store.list_and_store(
        databases, targeted, uploads, by_batch, report, notify, images=images, listed=listed
    )
    report.checked_ids = checked
    found_copies.keep_found(work, uploads, checked)  # what the content check found stays
    content_due.read_again(work, [u for u in checked if u in arrived])
    owed = sorted((first | other_rules) - set(checked), key=str)  # their listings are current
    changed_keys = {k for u in [*checked, *owed] for k in uploads[u]["batches"]}
    changed_keys |= {b["key"] for b in relist}
    report.batches = _update_batches(
        work, batches, by_batch, changed_keys, (settings.mask_suffixes, extensions), images=images
    )
    report.receipt_ids = [*checked, *owed]
    report.first_receipts, report.owed_receipts = len(first), len(first & set(owed))
    scope = (batches, report.batches, by_batch)
    moved = owed_receipts.store(databases, uploads, report.receipt_ids, first, scope, who)
    report.statuses_moved = len(moved)
    report.batches += [not_checked(doc) for doc in not_text]
    notify(1.0, Phrase(DONE))
    return report


def check_new_uploads(
    databases: Databases,
    uploads: dict,
    by_batch: dict,
    batches: list[dict],
    dates: dict | None = None,
    listed: set | None = None,
) -> NewUploadsCheck:
    """`verify` for a sync that knows the new uploads (`uploads`: documents by id with their
    batch keys), their batches' documents and upload ids (`by_batch`, `dates` by id): lists
    them and stores their listings with what changed, recomputes those batches. The batches'
    results are returned with their writes, not written: the sync writes each batch once.
    `listed`: the keys of the batch list (`listed_keys`), read when not given."""
    work, settings = databases.work, databases.settings
    batches = [b for b in batches if b.setdefault("key", _key(b))]
    dates = dates or {}
    known = {
        u: {"uploadDate": dates.get(u), "batches": [k]} for k, ids in by_batch.items() for u in ids
    }
    folder, extensions = settings.data_directory, settings.mask_extensions
    relist, images = _relist_images(work, batches, folder, False, extensions)
    report = VerifyReport()
    checked, listed = listing_store.list_and_store(
        databases,
        list(uploads.values()),
        {**known, **uploads},
        by_batch,
        report,
        lambda fraction, message: None,
        keep=True,
        images=images,
        listed=listed_keys(work) if listed is None else listed,
    )
    found_copies.keep_found(work, uploads, checked, listed)
    changed = {k for u in checked for k in uploads[u]["batches"]} | {b["key"] for b in relist}
    counts = (report.checked_uploads, report.bytes_read, report.bytes_stored)
    found = NewUploadsCheck(listings=listed, not_stored=report.not_stored, listed=counts)
    rows = _update_batches(
        work,
        batches,
        by_batch,
        changed,
        (settings.mask_suffixes, settings.mask_extensions),
        found,
        images,
    )
    found.results = {b["key"]: row for b, row in zip(batches, rows)}
    return found


def recheck_batches(
    databases: Databases, by_batch: dict[str, list], removed: list, stored: list | None = None
) -> None:
    """Recompute and store the results of the batches in `by_batch` (key -> the upload ids
    naming it now) whose stored result counted one of the `removed` uploads (the annotator
    deleted a part or a fix), from their uploads' stored listings: what is left decides.
    `stored`: the `id`s those batches are stored under, when the caller knows them (a sync's
    listing); else a key no batch is stored under (a batch not in the list, a legacy id such
    as batch_0400) costs a read of every batch."""
    work, settings = databases.work, databases.settings
    projection = {"_id": 0, "id": 1, "folder": 1, FIELD: 1}
    names = sorted(by_batch) if stored is None else sorted(set(stored))
    docs = [d for d in find_in(work[BATCHES], "id", names, projection) if _key(d) in by_batch]
    if stored is None and len({_key(d) for d in docs}) < len(by_batch):  # legacy ids
        docs = [d for d in work[BATCHES].find({}, projection) if _key(d) in by_batch]
    docs = [{**d, "key": _key(d)} for d in docs if set(removed) & set(_counted(d))]
    rules = (settings.mask_suffixes, settings.mask_extensions)
    _update_batches(work, docs, by_batch, set(by_batch), rules)


def _current_uploads(databases: Databases, report: VerifyReport) -> dict:
    """Every usable upload's document (projected) with its batch keys, by id; the uploads the
    sync calls unusable are counted in `report` with the sync's reason, never opened."""
    files = databases.masks_files.with_options(codec_options=READ_OPTIONS)

    def skip(upload) -> None:
        report.skipped_count += 1
        if len(report.skipped) < SKIPPED_KEPT:
            report.skipped.append({"filename": upload.filename, "problem": upload.problem})

    return usable_documents(files.find({}, UPLOAD_PROJECTION, batch_size=5000), skip)


def _stored_checks(work: Database, upload_ids) -> dict:
    projection = dict.fromkeys(("length", "uploadDate", "version", "extensions"), 1)
    projection["unlisted_folders"] = 1
    docs = (
        work[CHECKS].find({}, projection)
        if upload_ids is None
        else find_in(work[CHECKS], "_id", list(upload_ids), projection)
    )
    return {d["_id"]: d for d in docs}


def _relist_images(
    work: Database, batches: list[dict], data_directory, every: bool, extensions
) -> tuple[list, dict]:
    """List the images of `batches` (every one, or those never listed or listed by an older
    rule); returns those listed, and every batch's listing as now stored, by key."""
    stored = {} if every else batch_images.stored_listings(work, [b["key"] for b in batches])
    relist = [
        b
        for b in batches
        if b["key"] not in stored or not batch_images.is_current(stored[b["key"]], extensions)
    ]
    listed = [
        batch_images.list_batch_images(b, data_directory, b["key"], extensions) for b in relist
    ]
    listed = batch_images.save_listings(work, listed)
    return relist, {**stored, **{item.batch_id: item for item in listed}}


def _update_batches(
    work: Database,
    batches: list[dict],
    by_batch: dict,
    changed_keys: set,
    rules,
    found: NewUploadsCheck | None = None,
    images: dict | None = None,
) -> list[dict]:
    """Recompute the batches whose inputs changed, store their results, return every row.
    `rules`: the mask suffixes and extensions. With `found` (a sync's new uploads, their
    listings in memory), the results go into `found.fields` for the sync to write instead.
    `images`: the batches' image listings as stored, by key (see _relist_images), else read."""
    suffixes, extensions = rules
    stale = [b for b in batches if _is_stale(b, by_batch, changed_keys, rules)]
    if images is None:
        images = batch_images.stored_listings(work, [b["key"] for b in stale])
    else:
        images = {b["key"]: images[b["key"]] for b in stale if b["key"] in images}
    known = found.listings if found is not None else {}
    made: dict[str, dict] = {}
    for start in range(0, len(stale), BATCH_SLICE):  # the uploads' listings a slice at a time
        part = stale[start : start + BATCH_SLICE]
        wanted = {u for b in part for u in by_batch.get(b["key"], ()) if u not in known}
        checks = {**_stored_listings(work, sorted(wanted, key=str)), **known}
        for batch in part:
            upload_ids = sorted(by_batch.get(batch["key"], ()), key=str)
            check = batch_result(
                work,
                upload_ids,
                images.get(batch["key"]),
                suffixes,
                extensions,
                checks,
                batch["key"],
            )
            made[batch["key"]] = _summary(check, upload_ids, rules, batch.get(FIELD))
    if found is not None:
        found.fields, found.images = made, images
    else:
        _write_results(work, [(b["id"], made[b["key"]]) for b in stale])
    return [{"id": b["id"], **(made.get(b["key"]) or b[FIELD])} for b in batches]


def _summary(check: BatchCheck, upload_ids: list, rules, before) -> dict:
    suffixes, extensions = rules
    return {
        **check.summary(),
        "uploads": upload_ids,
        "suffixes": list(suffixes),
        "extensions": list(extensions),
        "version": SUMMARY_VERSION,
        "checked_at": utcnow(),
        **usable_fields(
            check.state,
            check.images,
            check.missing_count,
            check.latest_readable,
            before,
            utcnow(),
        ),
    }


def _write_results(work: Database, results: list[tuple]) -> None:
    """Store (batch id, result) pairs on the batches, in bulk."""
    writes = [
        UpdateOne({"id": batch_id}, {"$set": {FIELD: summary}}) for batch_id, summary in results
    ]
    write_wait.bulk_write(work[BATCHES], writes)
    if writes:  # the pages re-read these batches; not a change of the list for the sync
        data_version.bump_batches(work, [b for b, _ in results], by_sync=True)


def _is_stale(batch: dict, by_batch: dict, changed_keys: set, rules) -> bool:
    stored = batch.get(FIELD)
    if not isinstance(stored, dict) or batch["key"] in changed_keys:
        return True
    suffixes, extensions = rules
    current = sorted(by_batch.get(batch["key"], ()), key=str)
    return (
        stored.get("uploads") != current
        or stored.get("suffixes") != list(suffixes)
        or stored.get("extensions") != list(extensions)
        or stored.get("version") != SUMMARY_VERSION
    )


def batch_result(
    work: Database,
    upload_ids: list,
    listing,
    suffixes,
    extensions=DEFAULT_EXTENSIONS,
    stored: dict | None = None,
    key: str | None = None,
) -> BatchCheck:
    """A batch's state from its uploads' stored listings and its stored image listing.
    `stored`: listings by upload id already read (a superset), instead of reading them. `key`:
    the batch's (else its image listing's): an upload naming several batches counts for it the
    masks under its own folder and those under none (`mask_matching.masks_for_batch`)."""
    if key is None and listing is not None:
        key = listing.batch_id
    checks = (
        _stored_listings(work, upload_ids)
        if stored is None
        else {u: stored[u] for u in upload_ids if u in stored}
    )
    unreadable = [
        {
            "filename": c.get("filename"),
            "reason": c["reason"],
            "code": c.get("reason_code"),
            "params": c.get("reason_params") or {},
        }
        for c in checks.values()
        if c.get("reason")
    ]
    unchecked = [u for u in upload_ids if u not in checks]
    masks = sorted({n for c in checks.values() for n in paths_for_batch(c, key, c.get("batches"))})
    notes: list[dict] = []  # each a template and its values, worded by the reader
    if listing is None or listing.names is None:
        notes.append(
            {"code": N_("images: {error}"), "params": {"error": listing.error}}
            if listing
            else {"code": N_("images: not listed yet"), "params": {}}
        )
    if not upload_ids:
        notes.append({"code": N_("masks: no upload names this batch"), "params": {}})
    elif unchecked:
        notes.append(
            {
                "code": N_("masks: {count} upload(s) not checked yet"),
                "params": {"count": len(unchecked)},
            }
        )
    known_masks = masks if upload_ids and not unchecked else None
    others = {n for c in checks.values() for n in c.get("other_files") or ()}
    check = compare_batch(
        listing.names if listing else None,
        known_masks,
        unreadable,
        suffixes,
        note="; ".join(n["code"].format(**n["params"]) for n in notes) or None,
        extensions=extensions,
        other_files=others,
    )
    check.notes = notes
    check.not_images = list(listing.not_images) if listing else []
    check.latest_readable = max(
        (
            c["uploadDate"]
            for c in checks.values()
            if not c.get("reason") and isinstance(c.get("uploadDate"), datetime)
        ),
        default=None,
    )
    return check


def _stored_listings(work: Database, upload_ids: list) -> dict:
    docs = find_in(work[CHECKS], "_id", list(upload_ids), LISTING_FIELDS)
    return {doc["_id"]: doc for doc in docs}


def batch_detail(databases: Databases, batch_id: str) -> BatchCheck | None:
    """One batch's full comparison (every name, not only the first ones), from stored results;
    None when it was never checked. Raises BatchNotFound when the batch is not in the list.
    """
    doc = databases.work[BATCHES].find_one({"id": str(batch_id)}, {"_id": 0, "id": 1, FIELD: 1})
    if doc is None:
        raise BatchNotFound(N_("No batch {ids} in the batch list."), ids=batch_id)
    stored = doc.get(FIELD)
    if not isinstance(stored, dict):
        return None
    key = _key(doc)
    listing = batch_images.stored_listings(databases.work, [key]).get(key)
    return batch_result(
        databases.work,
        list(stored.get("uploads") or []),
        listing,
        tuple(stored.get("suffixes") or databases.settings.mask_suffixes),
        tuple(stored.get("extensions") or databases.settings.mask_extensions),
        key=key,
    )


def upload_changes(databases: Databases, batch_id: str) -> list[dict]:
    """What each checked upload of a batch changed since the one before it (by upload date):
    `{"filename", "uploadDate", "added", "removed", "changed", "compared"}`, oldest first.
    Raises BatchNotFound when the batch is not in the list."""
    doc = databases.work[BATCHES].find_one({"id": str(batch_id)}, {"_id": 0, FIELD: 1})
    if doc is None:
        raise BatchNotFound(N_("No batch {ids} in the batch list."), ids=batch_id)
    upload_ids = list((doc.get(FIELD) or {}).get("uploads") or [])
    checks = list(
        find_in(
            databases.work[CHECKS],
            "_id",
            upload_ids,
            {"filename": 1, "uploadDate": 1, "names": 1, "members": 1},
        )
    )
    checks.sort(
        key=lambda c: (c.get("uploadDate") is None, c.get("uploadDate") or 0, str(c["_id"]))
    )
    return [
        {
            "filename": check.get("filename"),
            "uploadDate": check.get("uploadDate"),
            **changes.as_dict(),
        }
        for check, changes in zip(checks, changes_by_upload(checks))
    ]
