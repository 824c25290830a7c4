"""Mask completeness: each upload's contents checked once, each batch compared with its images.

Uploads never change once written, so an upload's listing is stored in `mask_checks` keyed by
its id, with its length and date: it is read again only when those change or on request. A
batch's result (`mask_check` on its document: state, counts, the first names) is recomputed only
when its uploads, their listings or its image listing changed. The training database is only
read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from pymongo import UpdateOne
from pymongo.database import Database

from segcore.masks import batch_images
from segcore.core import data_version
from segcore.core.actors import Actor, authorize_write
from segcore.masks.archive_listing import list_upload
from segcore.masks.receipts import store_receipts
from segcore.work.delivery import usable_from_counts
from segcore.core.connection import Databases
from segcore.core.errors import N_, BatchNotFound
from segcore.core.timefmt import utcnow
from segcore.masks.mask_matching import BatchCheck, compare_batch
from segcore.core.naming import canonical_batch_id
from segcore.core.schema import BATCHES, IN_CHUNK, MASK_CHECKS, find_in
from segcore.uploads.uploads import PROJECTION, resolve_batch_ids

CHECKS = MASK_CHECKS
FIELD = "mask_check"  # the batch's result, on its document in `batches`
UPLOAD_PROJECTION = {**PROJECTION, "chunkSize": 1}
JSON_KEYS = ("state", "images", "masks", "missing_count", "extra_count", "missing", "extra",
             "unreadable")
Progress = Callable[[float, str], None]


@dataclass
class VerifyReport:
    """What a check did, and the batches it reports on."""

    checked_uploads: int = 0
    bytes_read: int = 0
    bytes_stored: int = 0  # the length of the uploads checked
    batches: list[dict] = field(default_factory=list)  # {"id", **BatchCheck.summary()}

    def as_dict(self) -> dict:
        """The command line's JSON: counts, and each batch in the documented shape."""
        return {"checked_uploads": self.checked_uploads, "bytes_read": self.bytes_read,
                "batches": [{"id": row["id"], **{k: row.get(k) for k in JSON_KEYS}}
                            for row in self.batches]}


def needs_check(upload: dict, stored: dict | None) -> bool:
    """True when an upload was never listed, or its length or date changed since."""
    return stored is None or any(stored.get(k) != upload.get(k) for k in ("length", "uploadDate"))


def verify(databases: Databases, batch_ids: list[str] | None = None, *,
           every_batch: bool = False, recheck: bool = False, upload_ids=None,
           author: "str | Actor" = "verify", progress: Progress | None = None) -> VerifyReport:
    """Check uploads against the images of their batches and store the results.

    `batch_ids`: check those batches' uploads and re-list their images (BatchNotFound when one
    is not in the list). Otherwise every upload not checked yet (all with `recheck`), reporting
    every batch that has uploads, or every batch with `every_batch`. `upload_ids` limits the
    check to those uploads (what a sync found new). PermissionDenied for a viewer.
    """
    authorize_write(author)
    notify = progress or (lambda fraction, message: None)
    work, settings = databases.work, databases.settings
    notify(0.0, "Reading uploads")
    uploads = _current_uploads(databases)
    by_batch: dict[str, list] = {}
    for upload_id, upload in uploads.items():
        for key in upload["batches"]:
            by_batch.setdefault(key, []).append(upload_id)
    batches = _scope(work, batch_ids, every_batch, upload_ids, uploads, by_batch)
    in_scope = ({u for b in batches for u in by_batch.get(b["key"], ())} if batch_ids
                else set(uploads) if upload_ids is None
                else {u for u in upload_ids if u in uploads})
    stored = _stored_checks(work, in_scope if batch_ids or upload_ids is not None else None)
    if batch_ids is None and upload_ids is None:
        stale = [i for i in stored if i not in uploads]
        for start in range(0, len(stale), IN_CHUNK):  # uploads removed since their check
            work[CHECKS].delete_many({"_id": {"$in": stale[start:start + IN_CHUNK]}})
    targets = [u for u in in_scope if recheck or needs_check(uploads[u], stored.get(u))]
    report = VerifyReport()
    checked = _check_uploads(databases, [uploads[u] for u in targets], report, notify)
    notify(0.9, "Listing images")
    relist = _relist_images(work, batches, settings.data_directory,
                            bool(batch_ids or recheck))
    changed_keys = {k for u in checked for k in uploads[u]["batches"]} | {b["key"] for b in relist}
    report.batches = _update_batches(work, batches, by_batch, changed_keys,
                                     settings.mask_suffixes)
    if checked:  # a receipt for each upload listed, against its batches' new results
        store_receipts(work, [uploads[u] for u in checked], {b["key"]: b for b in batches},
                       {b["key"]: row for b, row in zip(batches, report.batches)}, "verify",
                       settings.mask_suffixes)
    notify(1.0, "Done")
    return report


def check_new_uploads(databases: Databases, uploads: dict, by_batch: dict,
                      batches: list[dict]) -> dict[str, dict]:
    """List `uploads` (documents by id, each with its batch keys in `batches`) and recompute
    the results of `batches` (documents with `id`, `folder`, `mask_check`), whose uploads are
    `by_batch` ({key: upload ids}). Without reading every upload or batch, for a sync that
    already knows them. Returns each batch's stored result by key."""
    for doc in batches:
        doc["key"] = _key(doc)
    batches = [b for b in batches if b["key"]]
    checked = _check_uploads(databases, list(uploads.values()), VerifyReport(),
                             lambda fraction, message: None)
    settings = databases.settings
    relist = _relist_images(databases.work, batches, settings.data_directory, False)
    changed = {k for u in checked for k in uploads[u]["batches"]} | {b["key"] for b in relist}
    rows = _update_batches(databases.work, batches, by_batch, changed, settings.mask_suffixes)
    return {b["key"]: row for b, row in zip(batches, rows)}


def _current_uploads(databases: Databases) -> dict:
    """Every upload's document (projected) with its batch keys, by id."""
    uploads = {}
    for doc in databases.masks_files.find({}, UPLOAD_PROJECTION, batch_size=5000):
        doc["batches"] = resolve_batch_ids(doc.get("filename"), doc.get("metadata"))
        uploads[doc["_id"]] = doc
    return uploads


def _scope(work: Database, batch_ids, every_batch: bool, upload_ids, uploads: dict,
           by_batch: dict) -> list[dict]:
    """The batch documents to report on, each with its canonical `key`."""
    projection = {"_id": 0, "id": 1, "folder": 1, FIELD: 1}
    if batch_ids:
        wanted = {str(b): canonical_batch_id(str(b)) or str(b) for b in batch_ids}
        found: dict[str, dict] = {}
        names = list({*wanted, *wanted.values()})
        for doc in work[BATCHES].find({"id": {"$in": names[:400]}}, projection):
            found[_key(doc)] = doc
        if len(names) > 400 or not set(wanted.values()) <= set(found):
            # legacy ids written differently (batch_0400): compare canonical forms
            for doc in work[BATCHES].find({}, projection):
                if _key(doc) in wanted.values():
                    found[_key(doc)] = doc
        unknown = [given for given, key in wanted.items() if key not in found]
        if unknown:
            raise BatchNotFound(N_("No batch {ids} in the batch list."),
                                ids=", ".join(unknown[:5]))
        docs = list(found.values())
    else:
        keys = None if every_batch else (
            set(by_batch) if upload_ids is None
            else {k for u in upload_ids if u in uploads for k in uploads[u]["batches"]})
        docs = [d for d in work[BATCHES].find({}, projection)
                if _key(d) and (keys is None or _key(d) in keys)]
    for doc in docs:
        doc["key"] = _key(doc)
    return sorted(docs, key=lambda d: (len(d["key"]), d["key"]))


def _key(doc: dict) -> str | None:
    raw = doc.get("id")
    return (canonical_batch_id(raw) or raw) if isinstance(raw, str) else None


def _stored_checks(work: Database, upload_ids) -> dict:
    projection = {"length": 1, "uploadDate": 1}
    docs = (work[CHECKS].find({}, projection) if upload_ids is None
            else find_in(work[CHECKS], "_id", list(upload_ids), projection))
    return {d["_id"]: d for d in docs}


def _check_uploads(databases: Databases, targets: list[dict], report: VerifyReport,
                   notify: Progress) -> list:
    """List each target upload and store its listing; returns the ids checked."""
    chunks = databases.training[f"{databases.settings.masks_bucket}.chunks"]
    budget = databases.settings.mask_check_budget
    checked = []
    for number, upload in enumerate(targets, 1):
        notify(0.05 + 0.85 * (number - 1) / max(1, len(targets)),
               f"Checking upload {number:,} of {len(targets):,}")
        listing = list_upload(chunks, upload, budget)
        databases.work[CHECKS].replace_one({"_id": upload["_id"]}, {
            "filename": upload.get("filename"), "batches": upload["batches"],
            "length": upload.get("length"), "uploadDate": upload.get("uploadDate"),
            "kind": listing.kind, "names": listing.names, "reason": listing.reason,
            "bytes_read": listing.bytes_read, "checked_at": utcnow()}, upsert=True)
        report.checked_uploads += 1
        report.bytes_read += listing.bytes_read
        length = upload.get("length")  # other tools write odd values (NaN, text)
        report.bytes_stored += length if isinstance(length, int) else 0
        checked.append(upload["_id"])
    return checked


def _relist_images(work: Database, batches: list[dict], data_directory, every: bool) -> list:
    """List the images of `batches` (every one, or those never listed); returns those listed."""
    listed = set() if every else set(batch_images.stored_listings(work, [b["key"] for b in batches]))
    relist = [b for b in batches if b["key"] not in listed]
    batch_images.save_listings(work, [batch_images.list_batch_images(b, data_directory, b["key"])
                                      for b in relist])
    return relist


def _update_batches(work: Database, batches: list[dict], by_batch: dict, changed_keys: set,
                    suffixes) -> list[dict]:
    """Recompute the batches whose inputs changed, store their results, return every row."""
    rows, writes, written = [], [], []
    stale = [b for b in batches if _is_stale(b, by_batch, changed_keys, suffixes)]
    stale_keys = {b["key"] for b in stale}
    listings = batch_images.stored_listings(work, [b["key"] for b in stale])
    for batch in batches:
        if batch["key"] not in stale_keys:
            rows.append({"id": batch["id"], **batch[FIELD]})
            continue
        upload_ids = sorted(by_batch.get(batch["key"], ()), key=str)
        check, latest = _batch_state(work, upload_ids, listings.get(batch["key"]), suffixes)
        summary = {**check.summary(), "uploads": upload_ids, "suffixes": list(suffixes),
                   "checked_at": utcnow(),
                   **_usable(check, latest, batch.get(FIELD))}
        rows.append({"id": batch["id"], **summary})
        writes.append(UpdateOne({"id": batch["id"]}, {"$set": {FIELD: summary}}))
        written.append(batch["id"])
    for start in range(0, len(writes), 1000):
        work[BATCHES].bulk_write(writes[start:start + 1000], ordered=False)
    if writes:  # the pages re-read these batches; not a change of the list for the sync
        data_version.bump_batches(work, written, by_sync=True)
    return rows


def _is_stale(batch: dict, by_batch: dict, changed_keys: set, suffixes) -> bool:
    stored = batch.get(FIELD)
    if not isinstance(stored, dict) or batch["key"] in changed_keys:
        return True
    current = sorted(by_batch.get(batch["key"], ()), key=str)
    return stored.get("uploads") != current or stored.get("suffixes") != list(suffixes)


def _usable(check: BatchCheck, latest, before) -> dict:
    """Whether the batch is delivered, usable (segcore.delivery) and since when: kept from the
    earlier result while it stays usable, else the newest readable upload's date."""
    usable = usable_from_counts(check.state, check.images, check.missing_count)
    since = None
    if usable:
        kept = before.get("usable_since") if isinstance(before, dict) and \
            before.get("usable") is True else None
        since = kept or latest or utcnow()
    return {"usable": usable, "usable_since": since}


def batch_result(work: Database, upload_ids: list, listing, suffixes) -> BatchCheck:
    """A batch's state from its uploads' stored listings and its stored image listing."""
    return _batch_state(work, upload_ids, listing, suffixes)[0]


def _batch_state(work: Database, upload_ids: list, listing, suffixes) -> tuple:
    """(BatchCheck, the newest readable upload's date) of a batch."""
    checks = _stored_listings(work, upload_ids)
    unreadable = [{"filename": c.get("filename"), "reason": c["reason"]}
                  for c in checks.values() if c.get("reason")]
    unchecked = [u for u in upload_ids if u not in checks]
    masks = sorted({n for c in checks.values() for n in c.get("names") or ()})
    notes = []
    if listing is None or listing.names is None:
        notes.append(f"images: {listing.error}" if listing else "images: not listed yet")
    if not upload_ids:
        notes.append("masks: no upload names this batch")
    elif unchecked:
        notes.append(f"masks: {len(unchecked)} upload(s) not checked yet")
    known_masks = masks if upload_ids and not unchecked else None
    dates = [c.get("uploadDate") for c in checks.values()
             if not c.get("reason") and isinstance(c.get("uploadDate"), datetime)]
    return (compare_batch(listing.names if listing else None, known_masks, unreadable,
                          suffixes, note="; ".join(notes) or None), max(dates, default=None))


def _stored_listings(work: Database, upload_ids: list) -> dict:
    docs = find_in(work[CHECKS], "_id", list(upload_ids),
                   {"filename": 1, "names": 1, "reason": 1, "uploadDate": 1})
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
    return batch_result(databases.work, list(stored.get("uploads") or []), listing,
                        tuple(stored.get("suffixes") or databases.settings.mask_suffixes))


