"""The sync's pure planning: which uploads name which batch, what each batch should hold, and
which uploads the report points out. No database here: `sync` reads, calls these, and writes.
"""

from __future__ import annotations

import functools
import heapq
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from segcore.core import naming
from segcore.core.naming import one_per_batch, person_key
from segcore.sync.index.index_entry import (
    NO_LENGTH,
    IndexEntry,
    date_order,
    entry_of,
    known_length,
    unpacked,
)
from segcore.sync.index.sync_index import SyncIndex, each_upload, keys_holding
from segcore.uploads.upload_changes import Changes
from segcore.uploads.uploads import Upload, upload_from_document

FILES_KEPT = 5  # file names kept in `training_metrics_info.files`, as the old dashboard did


def batch_key(batch: dict) -> str | None:
    """The key of a batch document's id (`naming.batch_key`: `batch_<n>` for one naming a
    number, else the id in NFC, as uploads name it); None for a missing, odd or empty id."""
    raw = batch.get("id")
    return _canonical(raw) if isinstance(raw, str) else None


@functools.lru_cache(maxsize=1 << 16)
def _canonical(raw: str) -> str | None:
    # A live sync keys its whole batch listing several times per group (20,000 parses at
    # 10,000 batches, about half a second of each upload's wait on a loaded machine).
    return naming.batch_key(raw) if raw.strip() else None


def add_to_index(index: SyncIndex, upload: Upload) -> None:
    uploader = sys.intern(upload.uploaded_by) if upload.uploaded_by else None
    length = NO_LENGTH if upload.length is None else upload.length
    entry = entry_of(upload.id, upload.filename, uploader, upload.upload_date, length)
    index.file(upload.id, entry, upload_keys(upload))


def upload_keys(upload: Upload) -> tuple[str, ...]:
    """The index keys an upload is filed under (see SyncIndex.keys_for)."""
    return SyncIndex.keys_for(upload.batches, upload.problem)


def desired_info(entries) -> dict:
    """`training_metrics_info` for a batch with these uploads, in the production layout.

    Plus the additive `first_upload` (the earliest upload date): the day the batch was
    delivered, so pace can be counted without re-reading uploads.
    """
    ordered = sorted(
        map(unpacked, entries),
        key=lambda e: (e.date is not None, e.date or datetime.min, str(e.id)),
        reverse=True,
    )
    uploaders: dict[str, str] = {}
    for entry in ordered:
        if entry.uploader:
            uploaders.setdefault(person_key(entry.uploader), entry.uploader)
    dated = [e.date for e in ordered if isinstance(e.date, datetime)]
    return {
        "file_count": len(ordered),
        "latest_upload": ordered[0].date if ordered else None,
        "first_upload": min(dated) if dated else None,
        "files": [e.filename for e in ordered[:FILES_KEPT]],
        "uploaders": sorted(uploaders.values(), key=person_key),
    }


def plan_batch_updates(batches: list[dict], index: dict[str, dict]) -> list[tuple]:
    """(document _id, $set, $unset) for each batch whose sync fields differ from the uploads.
    Statuses move from the uploads' receipts (segcore.intake), not here."""
    return [update for _doc, update in each_batch_update(batches, index)]


def each_batch_update(batches, index: dict[str, dict]):
    """`plan_batch_updates` one batch at a time: (batch document, update), so a full sync
    writes them as they come instead of holding 50,000."""
    for doc in batches:
        key = batch_key(doc)
        entries = index.get(key, {}).values() if key else ()
        if entries:
            wanted = {"mongo_uploaded": True, "training_metrics_info": desired_info(entries)}
            if (
                doc.get("mongo_uploaded") is not True
                or doc.get("training_metrics_info") != wanted["training_metrics_info"]
            ):
                yield doc, (doc["_id"], wanted, None)
        else:
            stale_info = doc.get("training_metrics_info") is not None
            if doc.get("mongo_uploaded") is not False or stale_info:
                unset = {"training_metrics_info": ""} if "training_metrics_info" in doc else None
                yield doc, (doc["_id"], {"mongo_uploaded": False}, unset)


@dataclass
class Finding:
    """An upload the report points out, with the batch and assignee where relevant."""

    filename: str
    uploaded_by: str | None
    upload_date: datetime | None
    size_mb: float | None  # None: the stored length is not a size (see `problem`)
    batches: list[str]
    assignee: str | None = None
    size_bytes: int | None = None  # exact, for "12.5 KB"; size_mb stays for older readers
    problem: str | None = None  # why an unusable upload counts for no batch

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "problem" or v}


def _finding(entry: IndexEntry, batches: list[str], assignee: str | None = None) -> Finding:
    size = known_length(entry)
    return Finding(
        entry.filename,
        entry.uploader,
        entry.date,
        None if size is None else round(size / 1048576, 2),
        batches,
        assignee,
        size,
    )


class Kind(NamedTuple):
    """One kind of problem: how many uploads, and the newest few as findings."""

    count: int
    newest: list[Finding]


class Problems(NamedTuple):
    """What a sync points out about the uploads, by kind."""

    orphans: Kind  # name a batch that is not in the list
    unmatched: Kind  # name no batch
    mismatches: Kind  # uploaded by someone other than the batch's assignee
    unusable: Kind  # odd documents, with the reason


def find_problems(batches: list[dict], index: SyncIndex, keep: int = 1000) -> Problems:
    """The uploads worth pointing out, by kind (see Problems).

    Each kind keeps only the `keep` most recent findings, so a huge backlog of problems does not
    have to be held in memory.
    """
    assignees = {
        key: doc.get("assignee") or None for key, doc in one_per_batch(batches, batch_key).items()
    }
    orphan_batches: dict[object, list[str]] = defaultdict(list)
    orphan_entries: dict[object, IndexEntry] = {}
    # A bounded heap keeps only the newest `keep` mismatches: a lab where most uploads come
    # from someone else than the assignee would otherwise hold one tuple per upload.
    mismatched: list[tuple] = []
    mismatch_count = 0
    unusable = list(index.unusable())
    for key, entries in index.batch_items():
        if key not in assignees:
            for upload_id, entry in entries.items():
                orphan_batches[upload_id].append(key)
                orphan_entries[upload_id] = entry
            continue
        assignee = assignees[key]
        if not assignee:
            continue
        wanted = person_key(assignee)
        for entry in entries.values():
            uploader = entry.uploader
            if uploader and person_key(uploader) != wanted:
                mismatch_count += 1
                item = (date_order(entry), mismatch_count, entry, key, assignee)
                if len(mismatched) < keep:
                    heapq.heappush(mismatched, item)
                elif item > mismatched[0]:
                    heapq.heapreplace(mismatched, item)
    newest = lambda pairs: heapq.nlargest(keep, pairs, key=lambda p: date_order(p[0]))  # noqa: E731
    orphans = [
        _finding(e, sorted(orphan_batches[e.id]))
        for e, _ in newest((e, None) for e in orphan_entries.values())
    ]
    unmatched_entries = index.unmatched()
    unmatched = [_finding(e, []) for e, _ in newest((e, None) for e in unmatched_entries.values())]
    mismatches = [
        _finding(e, [key], assignee) for _, _, e, key, assignee in sorted(mismatched, reverse=True)
    ]
    unusable_findings = [
        Finding(**{**_finding(e, []).as_dict(), "problem": why}) for e, why in newest(unusable)
    ]
    return Problems(
        Kind(len(orphan_entries), orphans),
        Kind(len(unmatched_entries), unmatched),
        Kind(mismatch_count, mismatches),
        Kind(len(unusable), unusable_findings),
    )


def uploader_activity(index: dict[str, dict]) -> list[dict]:
    """Per uploader: their newest upload and how many files, from the whole index.

    [{"name", "key" (person_key), "latest", "files"}]; an upload naming several batches counts
    once. Kept by the sync so the Team page never reads the training database.
    """
    people: dict[str, dict] = {}
    for _upload_id, entry, _keys in each_upload(index):
        _count_upload(people, entry)
    return sorted(people.values(), key=lambda p: p["key"])


def _count_upload(people: dict[str, dict], entry) -> None:
    """Count one upload for its uploader (by person_key), keeping their newest date."""
    uploader = entry.uploader  # each field read once: a packed entry decodes it on each read
    if not uploader:
        return
    key = person_key(uploader)
    person = people.setdefault(key, {"name": uploader, "key": key, "latest": None, "files": 0})
    person["files"] += 1
    date = entry.date
    if date is not None and (person["latest"] is None or date > person["latest"]):
        person["latest"] = date


def updated_activity(activity: list[dict], before: dict, after: dict) -> list[dict] | None:
    """`uploader_activity` after some uploads changed, without a pass over the whole index.

    `activity`: the result before the change; `before`/`after`: `{upload id: (entry, keys)}`
    of the changed uploads as the index held them before and holds them now. None when a
    removed or rewritten upload was its uploader's newest (only a recount can tell the next).
    """
    people = {p["key"]: dict(p) for p in activity}
    for entry, _ in before.values():
        if not entry.uploader:
            continue
        person = people.get(person_key(entry.uploader))
        if person is None or (entry.date is not None and entry.date == person["latest"]):
            return None
        person["files"] -= 1
    for entry, _ in after.values():
        _count_upload(people, entry)
    return sorted((p for p in people.values() if p["files"] > 0), key=lambda p: p["key"])


def apply_changes(
    index: dict[str, dict], changes: Changes, holders: dict | None = None
) -> tuple[set[str], int, int, dict]:
    """Update the index with changed uploads.

    `holders`: `keys_holding(index, changes.documents)` when the caller has it already (a pass
    over every key of the index). Returns the keys whose uploads changed, how many uploads are
    new and removed, and `{upload id: the keys it is filed under now}` for those still present.
    """
    if holders is None:
        holders = keys_holding(index, changes.documents)
    touched: set[str] = set()
    placed: dict = {}
    new = removed = 0
    for upload_id, document in changes.documents.items():
        for key in holders.get(upload_id, ()):
            index[key].pop(upload_id, None)
            touched.add(key)
        if document is None:
            removed += upload_id in holders
        else:
            upload = upload_from_document(document)
            add_to_index(index, upload)
            placed[upload_id] = upload_keys(upload)
            touched.update(placed[upload_id])
            new += upload_id not in holders
    return touched, new, removed, placed
