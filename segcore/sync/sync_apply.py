"""Bringing the batches in line with the sync's index: the one way a sync writes.

`apply_upload_changes` applies one group of changed uploads as an incremental sync does: the
index updated in memory, the batches whose uploads changed re-planned and written in bulk, the
new uploads' receipts with the status moves they cause (segcore.sync.intake), the uploads' read
models, the data version the pages poll, the index parts touched and the sync state with its
resume point, saved last. A routine run (`segcore.sync.sync.run_sync`) calls it once; the live
sync (`segcore.sync.live.live_sync`) once per group, passing the batch listing it keeps between
groups. `write_batches` is its second half, which a full read calls directly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Callable

from pymongo import UpdateOne
from pymongo.database import Database

from segcore.core.naming import one_per_batch
from segcore.core.phrases import N_, Phrase
from segcore.store import data_version, write_wait
from segcore.store.connection import Databases
from segcore.store.schema import BATCHES, RECEIPTS, find_in
from segcore.sync import upload_stats
from segcore.sync.index.sync_index import (
    SyncIndex,
    append_journal,
    journal_is_small,
    keys_holding,
    write_index,
)
from segcore.sync.index.sync_plan import (
    apply_changes,
    batch_key,
    each_batch_update,
    find_problems,
    updated_activity,
    uploader_activity,
)
from segcore.sync.records.sync_lease import Lease
from segcore.sync.records.sync_runs import SyncReport
from segcore.sync.records.sync_state import SyncState
from segcore.uploads.upload_changes import Changes
from segcore.work import review

KEEP = 200  # problem uploads listed per kind in a run's report (all are counted)
WRITE_CHUNK = 1000
Progress = Callable[[float, str], None]  # the text is a Phrase: the app words it
COMPARING = N_("Comparing with the batch list")
SAVING_INDEX = N_("Saving the sync index")
UPDATED_OF = N_("Updated {done} of {total} batches")
CHECKING_NEW = N_("Checking the new uploads")
_LISTED = {"id": 1, "assignee": 1, "status": 1, "mongo_uploaded": 1}
# A compared batch's sync fields, and what the receipts read of the new uploads' batches
# (intake.BATCH_FIELDS): those batches are among the compared ones, so one read serves both.
COMPARED = {
    "id": 1,
    "mongo_uploaded": 1,
    "status": 1,
    "training_metrics_info": 1,
    "folder": 1,
    "assignee": 1,
    "mask_check": 1,
}


def _quiet(fraction: float, message: str) -> None:
    pass


class BatchListing:
    """Every batch as the sync plans with it: `_id`, `id`, `assignee`, `status` and whether it
    was ever synced. Valid while the batch list's stamp (generation, count) is unchanged, so a
    live sync keeps one between groups instead of reading the batch list each time."""

    def __init__(self, docs: list[dict] | None = None):
        self.docs: list[dict] = docs if docs is not None else []

    @classmethod
    def read(cls, work: Database) -> "BatchListing":
        return cls(
            [
                {
                    "_id": d["_id"],
                    "id": d.get("id"),
                    "assignee": d.get("assignee"),
                    "status": d.get("status"),
                    "synced": "mongo_uploaded" in d,
                }
                for d in work[BATCHES].find({}, _LISTED)
            ]
        )

    def wanted(self, touched: set[str]) -> list:
        """Document ids of the batches to compare: those whose uploads changed, and batches
        never synced."""
        return [d["_id"] for d in self.docs if not d["synced"] or batch_key(d) in touched]

    def stream(self, work: Database):
        """Every batch with its sync fields, filling the listing as it goes: holding 50,000
        batches' upload info at once would dwarf the index."""
        self.docs.clear()
        for doc in work[BATCHES].find({}, {**_LISTED, "training_metrics_info": 1}, batch_size=2000):
            yield doc
            self.docs.append(
                {
                    "_id": doc["_id"],
                    "id": doc.get("id"),
                    "assignee": doc.get("assignee"),
                    "status": doc.get("status"),
                    "synced": True,
                }
            )

    def written(self, doc_ids) -> None:
        """Note the batches a group wrote, so the listing stays what a fresh read would
        return."""
        written = set(doc_ids)
        for doc in self.docs:
            if doc["_id"] in written:
                doc["synced"] = True


@dataclass(frozen=True)
class SyncWriter:
    """Who writes for a sync and how: the same for every group of one run or live sync.

    `journal`: store the changed index keys in the index's journal (a live sync's small groups)
    instead of rewriting their parts. `content_due`: a content check follows, so the new
    uploads are marked owed one before the resume point (segcore.masks.content_due's modes).
    """

    databases: Databases
    author: str
    lease: Lease
    notify: Progress = _quiet
    journal: bool = False
    content_due: str | None = None


def apply_upload_changes(
    writer: SyncWriter,
    index: SyncIndex,
    changes: Changes,
    report: SyncReport,
    *,
    saved: dict,
    total_files: int,
    same_batches: bool,
    listing: BatchListing | None = None,
) -> BatchListing:
    """Apply one group of changed uploads to `index` and to the batches, as an incremental sync.

    `saved`: the state fields to save with the resume point (the batch list's stamp, the
    namespace; `changes.token` is added); `total_files`: the count before this group;
    `same_batches`: the batch list is as when the index was last saved (else every batch is
    compared); `listing`: a current batch listing, read when None. Fills the counts of
    `report` and returns the listing, which stays valid while the batch list is unchanged.
    """
    holders = keys_holding(index, changes.documents)  # one pass over the index's keys
    before = {i: (index[keys[0]][i], keys) for i, keys in holders.items()}
    touched, report.new_files, report.removed_files, placed = apply_changes(index, changes, holders)
    report.entries_changed = len(touched) + sum(len(index.get(key) or ()) for key in touched)
    report.changed_upload_ids = [i for i, d in changes.documents.items() if d is not None]
    report.total_files = total_files + report.new_files - report.removed_files
    after = {i: (index[keys[0]][i], list(keys)) for i, keys in placed.items()}
    moved = (before, after) if same_batches else None
    removed = [i for i, doc in changes.documents.items() if doc is None and i in holders]
    # uploads now naming other batches (metadata corrected, renamed): the batches they left
    left = {i: set(keys) - set(placed.get(i, ())) for i, keys in holders.items() if i in placed}
    moved_out = [i for i, keys in left.items() if keys]
    if same_batches:
        listing = listing or BatchListing.read(writer.databases.work)
    if removed or moved_out:  # before the resume point: a run killed here does it again
        keys = {k for i in removed for k in holders[i]} | {k for i in moved_out for k in left[i]}
        after_removal(
            writer.databases,
            index,
            keys,
            removed,
            listing if same_batches else None,
            moved_out=moved_out,
            author=writer.author,
        )
    return write_batches(
        writer,
        index,
        report,
        saved={**saved, "token": changes.token},
        touched=touched,
        moved=moved,
        listing=listing if same_batches else None,
        files=changes.documents if changes.whole else None,
    )


def after_removal(
    databases: Databases,
    index: SyncIndex,
    keys: set,
    removed: list,
    listing: BatchListing | None = None,
    *,
    moved_out: list | tuple = (),
    author: str = "sync",
) -> None:
    """Uploads were deleted (a part, a fix) or now name other batches (`moved_out`: metadata
    corrected, file renamed): the mask checks and content sums of the batches they named are
    made again from the uploads left, so a batch is never delivered by uploads that are gone.
    The moved uploads' content results are forgotten (made for the batches they left; the
    next content check makes them for their new ones) and their receipts are made again as
    any changed upload's, never marked removed. `listing`: the batch list as it is now, which
    names the batches `keys` are stored under (without it, a key of a batch not in the list
    costs a read of every batch). A batch segcore sent to rework for the problem of an upload
    now gone, and delivered by those left, moves to review (MASKS_SET_STATUS; `author` in the
    history)."""
    from segcore.content.mask_content_check import forget_uploads
    from segcore.masks.mask_check import recheck_batches
    from segcore.masks.receipts import mark_removed

    stored = None
    if listing is not None:
        stored = [
            d["id"]
            for d in listing.docs
            if isinstance(d.get("id"), str) and (batch_key(d) or d["id"]) in keys
        ]
    by_batch = {key: list(index.get(key) or ()) for key in keys}
    recheck_batches(databases, by_batch, [*removed, *moved_out], stored)
    forget_uploads(databases.work, [*removed, *moved_out])
    mark_removed(databases.work, removed, databases.settings.zone)
    if databases.settings.masks_set_status:
        review.moves_after_checks(databases.work, stored, author, keys=keys)


def write_batches(
    writer: SyncWriter,
    index: SyncIndex,
    report: SyncReport,
    *,
    saved: dict,
    touched: set[str] | None = None,
    moved: tuple | None = None,
    listing: BatchListing | None = None,
    files: dict | None = None,
) -> BatchListing:
    """Write what `index` says to the batches, the read models and the sync state.

    With `listing` (the batch list unchanged), only the batches in `touched` and those never
    synced are compared; with `moved` ((before, after) of the changed uploads), the read models
    get the differences. Without them, every batch is compared and the models are rebuilt (a
    full read, or a changed batch list). `touched` None writes the whole index; the writer's
    `journal` appends the touched keys to the index's journal instead (see sync_index).
    `files`: the changed uploads' whole file documents by id (a change stream's), which the
    receipts take instead of reading them again.
    """
    databases, author, lease = writer.databases, writer.author, writer.lease
    notify = writer.notify
    work = databases.work
    notify(0.7, Phrase(COMPARING))
    # Statuses move from the new uploads' receipts (segcore.sync.intake), not their arrival.
    compared: dict = {}  # the batches read whole, by document id: the receipts reuse them
    if listing is not None:
        batches = _sync_fields(work, listing.wanted(touched or set()))
        compared = {d["_id"]: d for d in batches}
    else:
        listing = BatchListing()
        batches = listing.stream(work)
    appeared: set[str] = set()  # batches that now have uploads and had none
    planned = _noting_appeared(each_batch_update(batches, index), appeared)
    receipt_ids = _receipt_ids(work, index, report)
    if writer.journal:  # a live sync shows the masks at once, then makes the receipts
        updates = [update for _doc, update in planned]
        report.batches_updated = len(updates)
        _write_updates(work, listing, updates, notify, lease)
        pending, planned_ids = None, [doc_id for doc_id, _, _ in updates]
        del updates
    else:  # each batch written once: the new uploads' batches with their results and moves
        held = {key for keys in keys_holding(index, receipt_ids).values() for key in keys}
        pending, planned_ids = _write_unless_held(work, planned, held, report, writer)
    receipt_ids = _with_late_ones(work, index, appeared, receipt_ids, report)
    # Before the resume point (a crash makes the receipts again).
    notify(0.8 if pending is not None else 0.9, Phrase(CHECKING_NEW))
    report.status_moves, counted = _receipts(
        databases,
        index,
        listing,
        receipt_ids,
        (author, lease),
        writer.journal,
        pending,
        (compared, files),
        report,
    )
    del compared
    if pending:
        rest = [(doc_id, s, u) for doc_id, (_, s, u) in pending.items()]
        _write_updates(work, listing, rest, notify, lease)
        del rest
    # The read models count uploads under their batch's status after the moves, as a rebuild
    # from a fresh listing would: a moved batch's later uploads are then subtracted right.
    listing.written(planned_ids)
    del pending, planned_ids
    models_group = _keep_read_models(databases, index, listing, (moved, counted), report)
    _owe_content(writer, report)  # before the resume point: a run killed after it still owes
    notify(0.95, Phrase(SAVING_INDEX))
    # A run killed while writing the index reads everything next time: a half-written part
    # that spills into overflow documents cannot be repaired by re-reading the changes.
    SyncState(work).save({"index_ok": False})
    if touched is not None and (writer.journal or journal_is_small(work, index, touched)):
        append_journal(work, index, touched)
    else:
        write_index(work, index, touched)
    state = {
        **saved,
        "total_files": report.total_files,
        "index_ok": True,
        "uploaders": _activity(work, index, moved),
        "models_group": models_group,
    }
    if report.full:
        state["last_full_at"] = report.started_at
    SyncState(work).save(state)
    return listing


def _noting_appeared(planned, appeared: set):
    """The planned updates as they come, noting in `appeared` the keys of the batches they give
    uploads that had none (`mongo_uploaded` not true before): a batch imported after its
    uploads came in, or one whose uploads were all deleted and that has a new one."""
    for doc, update in planned:
        if doc.get("mongo_uploaded") is not True and update[1].get("mongo_uploaded") is True:
            key = batch_key(doc)
            if key:
                appeared.add(key)
        yield doc, update


def _with_late_ones(
    work: Database, index: SyncIndex, appeared: set, receipt_ids: list, report: SyncReport
) -> list:
    """`receipt_ids` with the uploads of the `appeared` batches whose receipts do not name
    them (made before the batch was in the list: "names no batch"), also added to the run's
    changed uploads: their receipts, checks, status moves and content checks as if they had
    just arrived. On first contact (no earlier index) none: `intake.backlog` decides."""
    if not appeared or report.changed_upload_ids is None:
        return receipt_ids
    already = set(receipt_ids)
    wanted: dict = {}
    for key in appeared:
        for upload_id in index.get(key) or ():
            if upload_id not in already:
                wanted.setdefault(upload_id, set()).add(key)
    if not wanted:
        return receipt_ids
    receipts = find_in(work[RECEIPTS], "_id", list(wanted), {"batches": 1})
    late = [
        r["_id"]
        for r in receipts
        if wanted[r["_id"]] - {batch_key({"id": b}) for b in r.get("batches") or ()}
    ]
    report.changed_upload_ids = [*report.changed_upload_ids, *late]
    return [*receipt_ids, *late]


def _owe_content(writer: SyncWriter, report: SyncReport) -> None:
    """With a content check to follow, its uploads are marked owed one (content_due)."""
    if writer.content_due:
        from segcore.masks.content_due import mark_for_sync

        mark_for_sync(writer.databases.work, writer.content_due, report.changed_upload_ids)


def _receipt_ids(work: Database, index: SyncIndex, report: SyncReport) -> list:
    """The uploads this run makes receipts for: those it saw new (on first contact: the
    newest without one, see intake.backlog)."""
    if report.changed_upload_ids is not None:
        return report.changed_upload_ids
    # Imported here: listing archives needs py7zr and more, which a routine run that finds
    # nothing new (a cron job every few minutes) never loads.
    from segcore.sync import intake

    return intake.backlog(work, index)


def _write_unless_held(
    work: Database, planned, held: set[str], report: SyncReport, writer: SyncWriter
) -> tuple[dict, set]:
    """Write the planned updates as they come, a chunk at a time, except those of the batches
    `held` (the receipts' batches, written later with their results and moves): a full sync
    never holds 50,000 planned updates at once. Returns the held ones ({doc id: (batch id,
    $set, $unset)}) and the document ids of every batch planned."""
    pending: dict = {}
    planned_ids: set = set()
    chunk: list = []
    changed: list = []
    for doc, (doc_id, to_set, to_unset) in planned:
        planned_ids.add(doc_id)
        if batch_key(doc) in held:
            pending[doc_id] = (doc.get("id"), to_set, to_unset)
            continue
        chunk.append((doc_id, to_set, to_unset))
        changed.append(doc.get("id"))
        if len(chunk) == WRITE_CHUNK:
            _bulk_updates(work, chunk)
            writer.lease.renew()
            writer.notify(0.75, Phrase(UPDATED_OF, done=len(changed), total=len(planned_ids)))
            chunk = []
    _bulk_updates(work, chunk)
    report.batches_updated = len(planned_ids)
    if changed:
        many = None in changed or len(changed) > data_version.IDS_KEPT
        data_version.bump_batches(work, None if many else changed, by_sync=True)
    return pending, planned_ids


def _receipts(
    databases: Databases,
    index: SyncIndex,
    listing: BatchListing,
    ids: list,
    acting: tuple[str, Lease],
    live: bool,
    pending: dict | None,
    known: tuple[dict, dict | None],
    found_into=None,
) -> tuple[int, dict | None]:
    """Receipts for the uploads `ids` (see _receipt_ids), and the status moves they cause,
    noted in `listing`. Returns how many batches moved and, when some did, {batch key: (owner,
    status)} of every batch as listed before (what the read models counted them under), else
    None. `acting`: the author and the lease;
    `pending`: planned updates not yet written, those of the receipts' batches written with
    them (see intake.make_receipts); `known`: the batch documents this run read (COMPARED), by
    document id (it wrote only their sync fields since), and the uploads' whole file documents
    when it has them (see write_batches); `found_into` (the run's report) gets the uploads
    whose listing the database refused and what listing the uploads read (see
    intake.make_receipts)."""
    from segcore.sync import intake

    author, lease = acting
    compared, files = known
    if not ids:
        return 0, None
    by_key = one_per_batch(listing.docs, batch_key)  # batch_1's uploads, not batch_001's
    who = "sync" if author == "sync" else f"sync (started by {author})"
    moves = intake.make_receipts(
        databases,
        ids,
        lambda key: index.get(key, {}),
        by_key,
        made_by="live sync" if live else "sync",
        author=who,
        pending=pending,
        renew=lease.renew,
        read=compared,
        files=files,
        found_into=found_into,
    )
    if not moves:
        return 0, None
    counted = upload_stats.owners_of(listing.docs, batch_key)
    status = {m.doc_id: m.new for m in moves}
    for doc in listing.docs:
        doc["status"] = status.get(doc["_id"], doc["status"])
    return len(moves), counted


def follow_edits(
    databases: Databases, index: SyncIndex, listing: BatchListing, batch_ids: set[str], saved: dict
) -> bool:
    """Bring `listing` and the uploads' read models in line with segcore's edits of
    `batch_ids` (new assignees or statuses), then save `saved` (the batch list's stamp) as
    what the index was last compared with. A live sync does this instead of comparing every
    batch after each edit (a pass over the whole index at 500,000 uploads). False, having
    written nothing, when it cannot tell: a batch added, removed or renamed, or read models
    that are not current."""
    work = databases.work
    docs = find_in(work[BATCHES], "id", sorted(batch_ids), _LISTED)
    listed = {d["_id"]: d for d in listing.docs}
    if (
        len(docs) != len(batch_ids)
        or any(listed.get(d["_id"], {}).get("id") != d.get("id") for d in docs)
        or not upload_stats.is_current(work, databases.settings.zone)
    ):
        return False
    before = upload_stats.owners_of(listing.docs, batch_key)
    for doc in docs:
        listed[doc["_id"]].update(assignee=doc.get("assignee"), status=doc.get("status"))
    after = upload_stats.owners_of(listing.docs, batch_key)
    moved = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    group = uuid.uuid4().hex
    if moved:
        upload_stats.move_owners(work, index, moved, before, after, databases.settings.zone, group)
        SyncState(work).save({**saved, "models_group": group})
    else:
        SyncState(work).save(saved)
    return True


def fold_journal(work: Database, index: SyncIndex) -> int:
    """Fold the index's journal into its parts; returns how many part documents were written.
    A crash meanwhile leaves `index_ok` false, so the next sync reads everything."""
    SyncState(work).save({"index_ok": False})
    written = write_index(work, index, ())
    SyncState(work).save({"index_ok": True})
    return written


def _activity(work: Database, index: SyncIndex, moved: tuple | None) -> list[dict]:
    """Per-uploader activity: the saved one updated by the changed uploads when it can be,
    else counted over the whole index (a pass that costs seconds at 500,000 uploads)."""
    if moved is not None:
        saved = SyncState(work).uploaders()
        if saved is not None:
            updated = updated_activity(saved, *moved)
            if updated is not None:
                return updated
    return uploader_activity(index)


def summarise(report: SyncReport, listing: BatchListing, index: SyncIndex) -> None:
    """Counts and problem lists of the report, from the batch listing and the index (a pass
    over the whole index)."""
    keys_with_masks = index.keys_with_masks()
    report.batches_with_masks = sum(1 for d in listing.docs if batch_key(d) in keys_with_masks)
    report.batches_without_masks = len(listing.docs) - report.batches_with_masks
    problems = find_problems(listing.docs, index, keep=KEEP)
    report.orphans, report.orphan_uploads = problems.orphans
    report.unmatched, report.unmatched_uploads = problems.unmatched
    report.mismatches, report.mismatched_uploads = problems.mismatches
    report.unusable, report.unusable_uploads = problems.unusable


def _keep_read_models(
    databases: Databases, index: SyncIndex, listing: BatchListing, changed, report: SyncReport
) -> str:
    """Bring the uploads' read models up to date: the changed uploads' differences when the
    batch list (every owner) is as last time and the models are current, else a rebuild.
    `changed`: (the changed uploads (before, after) or None, the owners and statuses the
    models counted before this run's status moves or None; see _receipts): the batches the
    run moved have their uploads moved too. Days are the office's (TIMEZONE). Returns the
    mark to save with the sync state, which tells the next run the models hold this run's
    changes."""
    work, zone = databases.work, databases.settings.zone
    moved, counted = changed
    owners = upload_stats.owners_of(listing.docs, batch_key)
    group = uuid.uuid4().hex
    if moved is not None and upload_stats.is_current(work, zone):
        upload_stats.apply_changes(
            work, index, *moved, owners, report.started_at, zone, group, counted=counted
        )
    else:
        upload_stats.rebuild(work, index, owners, report.started_at, zone, group)
    return group


def _sync_fields(work: Database, doc_ids: list) -> list[dict]:
    return find_in(work[BATCHES], "_id", doc_ids, COMPARED)


def _bulk_updates(work: Database, chunk: list[tuple]) -> None:
    """One bulk write of (document _id, $set, $unset) updates."""
    operations = []
    for doc_id, to_set, to_unset in chunk:
        change = {"$set": to_set}
        if to_unset:
            change["$unset"] = to_unset
        operations.append(UpdateOne({"_id": doc_id}, change))
    write_wait.bulk_write(work[BATCHES], operations, WRITE_CHUNK)


def _write_updates(
    work: Database, listing: BatchListing, updates: list[tuple], notify: Progress, lease: Lease
) -> None:
    """Write the planned updates in bulk, then tell the pages which batches changed."""
    if not updates:
        return
    ids_of = (
        {d["_id"]: d.get("id") for d in listing.docs}
        if len(updates) <= data_version.IDS_KEPT
        else {}
    )
    for start in range(0, len(updates), WRITE_CHUNK):
        chunk = updates[start : start + WRITE_CHUNK]
        _bulk_updates(work, chunk)
        lease.renew()
        notify(
            0.7 + 0.3 * min(1.0, (start + len(chunk)) / len(updates)),
            Phrase(UPDATED_OF, done=start + len(chunk), total=len(updates)),
        )
    changed = [ids_of.get(doc_id) for doc_id, _, _ in updates]
    data_version.bump_batches(
        work, None if None in changed or not ids_of else changed, by_sync=True
    )
