"""Importing the batch list from `batches.json` and/or the folders of DATA_DIRECTORY.

Idempotent: a re-import adds new batches and refreshes `folder`, but never touches assignment,
status, metadata or sync fields: a source's priority and due date are set on new batches only
(a stored batch holding others is reported in `kept_values`). Batches whose folder is gone from
disk are flagged, not deleted; a batch a source does not list is not flagged for that alone; a stored folder on
disk is never replaced by one that is not (reported in `kept_folders`). An id spelled
differently from a stored one (`batch_007` for `batch_7`) is that batch; an id that cannot name
a folder (`../../etc`, `a/b`, control characters, empty, `.`, not UTF-8) is refused and
reported. A folder path holding bytes that are not UTF-8 is stored with '?' for them. Each step of writes
is recorded in the history in the same transaction (see atomic.py), with each folder it
replaces. Ids are compared in Unicode NFC (`batch_key`); two batches never share one folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from pymongo import InsertOne, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import N_, ImportFileError
from segcore.core.naming import (
    batch_key,
    batch_number,
    canonical_batch_id,
    nfc,
    storable,
    unsafe_id_reason,
)
from segcore.core.regular_files import is_folder, regular_files, stored_folder_on_disk
from segcore.core.timefmt import utcnow
from segcore.settings.config import Settings
from segcore.store import history
from segcore.store.atomic import in_one_step
from segcore.store.restore_marker import refuse_writes
from segcore.work.batches import COLLECTION, get_value, mark_changed
from segcore.work.batches_file import BatchEntry, read_batches_file
from segcore.work.import_merge import SameBatch, folder_on_disk, merge_sources

# The images of a folder: the same extensions as the mask check's (MASK_EXTENSIONS default).
IMAGE_SUFFIXES = Settings.mask_extensions
# Fields an import may never set on an existing batch.
PROTECTED = {
    "_id",
    "id",
    "assignee",
    "status",
    "metadata",
    "mongo_uploaded",
    "training_metrics_info",
    "folder_missing",
    "number",
    "image_count",
    # What the sync, the mask and content checks and the review write: a list exported from
    # the collection (mongoexport) must not bring a delivery no upload made.
    "mask_check",
    "mask_content",
    "review",
    "rework_reason",
    "rework_reason_phrase",
    "status_move_entry",  # review.MOVE_ENTRY
    "created_at",
}
Progress = Callable[[int, int], None]
IMPORT_STEP = 2000  # writes per transaction, each step with its own history entry


def count_images(folder: Path) -> int | None:
    """How many image files `folder` holds, recursively; None when some of it cannot be read.

    os.walk skips unreadable folders silently, which would store a count of 0 as if true.
    """
    failed: list[OSError] = []
    total = sum(
        1
        for entry in regular_files(folder, failed, skip_hidden=False)
        if entry.name.lower().endswith(IMAGE_SUFFIXES)
    )  # a pipe is never an image
    return None if failed else total


def _one_folder_per_batch(folders: list, same_batch: list[SameBatch] | None) -> list:
    """`folders` (sorted), keeping one per batch: the only one, or the one named exactly as the
    batch; the others are listed in `same_batch`, never chosen silently."""
    groups: dict[str | None, list] = {}
    for entry in folders:
        groups.setdefault(canonical_batch_id(entry.name), []).append(entry)
    kept = []
    for batch_id, group in groups.items():
        exact = next((e for e in group if e.name == batch_id), None)
        if len(group) == 1 or exact is not None:
            kept.append(group[0] if len(group) == 1 else exact)
        if len(group) > 1 and same_batch is not None:
            others = [e for e in group if e is not exact]
            same_batch.append(
                SameBatch(
                    str(batch_id),
                    exact.name if exact else None,
                    tuple(e.name for e in others),
                    tuple(os.path.realpath(e.path) for e in others),
                )
            )
    return kept


def scan_data_directory(
    directory: Path,
    with_image_counts: bool = False,
    progress: Progress | None = None,
    unreadable: list[str] | None = None,
    same_batch: list[SameBatch] | None = None,
) -> list[BatchEntry]:
    """Batch folders directly under `directory` (names that name a batch), sorted by number.

    Counting images reads every folder, which is slow on a network mount: it is optional. A
    folder that cannot be read gets no count (a stored one stays) and its id is appended to
    `unreadable`. Folders naming one batch (`batch_5`, `batch_05`) are appended to
    `same_batch` (see SameBatch): only one named exactly `batch_5` is imported.
    """
    directory = Path(directory)
    try:
        folders = [
            e
            for e in os.scandir(directory)
            if canonical_batch_id(e.name) is not None and is_folder(e)
        ]
    except OSError as exc:
        raise ImportFileError(
            N_("{path}: cannot be scanned ({reason})"), path=directory, reason=exc.strerror or exc
        ) from None
    folders.sort(key=lambda e: (batch_number(e.name), e.name))
    folders = _one_folder_per_batch(folders, same_batch)
    entries = []
    for done, entry in enumerate(folders, start=1):
        images = count_images(Path(entry.path)) if with_image_counts else None
        if with_image_counts and images is None and unreadable is not None:
            unreadable.append(entry.name)
        entries.append(
            BatchEntry(id=entry.name, folder=str(Path(entry.path).resolve()), image_count=images)
        )
        if progress and (with_image_counts or done == len(folders)):
            progress(done, len(folders))
    return entries


def count_listed_images(
    entries: list[BatchEntry], unreadable: list[str] | None = None
) -> list[BatchEntry]:
    """`entries` with the images counted in each folder on disk that no scan counted (a
    batches file naming a folder outside DATA_DIRECTORY, or one other than the scanned
    folder of its batch); a folder that cannot be read is appended to `unreadable`."""
    counted, tried = [], set(unreadable or ())  # a folder the scan could not read, once
    for entry in entries:
        if (
            entry.image_count is None
            and entry.folder
            and entry.id not in tried
            and folder_on_disk(entry.folder)
        ):
            folder = (
                entry.folder if os.path.isdir(entry.folder) else stored_folder_on_disk(entry.folder)
            )
            images = count_images(Path(folder))
            if images is None and unreadable is not None:
                unreadable.append(entry.id)
            entry = replace(entry, image_count=images)
        counted.append(entry)
    return counted


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged_missing: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # folders whose images were not counted
    refused: dict[str, str] = field(default_factory=dict)  # id -> why it cannot be a batch
    # id -> {"kept": its stored folder, on disk; "not_on_disk": the one a source named}
    kept_folders: dict[str, dict] = field(default_factory=dict)
    # id as a source spells it -> the stored batch's id, the same text in another Unicode form
    same_text: dict[str, str] = field(default_factory=dict)
    # id -> {"folder": the one used, "not_used": another a source named for it, "on_disk":
    # whether that one is a folder on disk}: two sources named two folders (merge_sources)
    other_folders: dict[str, dict] = field(default_factory=dict)
    # id -> {field: {"kept": the stored value, "given": the source's}}: a stored batch's
    # priority or due date, which an import never changes (set on new batches only)
    kept_values: dict[str, dict] = field(default_factory=dict)


FolderCheck = Callable[[dict], "bool | None"]


def folder_checker(data_directory: Path | None) -> FolderCheck | None:
    """Whether a stored batch's folder is on disk: True, False, or None when it cannot be told.

    None without a data directory (or when it is not reachable): then nothing is flagged. A
    folder counts as present under its stored path, or under DATA_DIRECTORY by its batch id or
    folder name, so data mounted at another path than the stored one is not flagged (the mask
    check then reads it there: images.batch_images.batch_folder follows the same rule). A batch
    without a folder is on disk only as DATA_DIRECTORY/<its id>: listed by id alone and not
    there, it is missing, like one whose folder is named and absent.
    """
    if data_directory is None or not Path(data_directory).is_dir():
        return None
    base = Path(data_directory)
    try:  # in NFC: a folder copied from a Mac is named in NFD, an id typed elsewhere in NFC
        names = {nfc(entry.name) for entry in os.scandir(base) if is_folder(entry)}
    except OSError:
        return None

    def present(doc: dict) -> bool | None:
        folder = doc.get("folder") if isinstance(doc.get("folder"), str) else None
        candidates = [str(doc.get("id", "")), Path(folder.rstrip("/")).name if folder else ""]
        if any(name and nfc(name) in names for name in candidates):
            return True
        if folder:  # an absolute folder replaces the base; '?' may stand for a byte
            # os.path.isdir: a name too long for a folder (another tool's) is not one, never
            # an OSError that stops the import (Path.is_dir raises it)
            path = str(base / folder)
            return os.path.isdir(path) or stored_folder_on_disk(path) is not None
        return False

    return present


def plan_import(
    entries: list[BatchEntry],
    existing: list[dict],
    folder_exists: FolderCheck | None = None,
    is_folder_here: Callable[[str], bool] = folder_on_disk,
) -> tuple[list, list, ImportResult]:
    """Compare import entries with stored batches: what to insert, what to update, what to flag.

    Pure apart from `folder_exists` (see `folder_checker`) and `is_folder_here`; `existing`
    holds the stored {id, folder, number, folder_missing, image_count, metadata's priority and
    due date}. Any batch is flagged
    "folder missing" exactly when `folder_exists` says its folder is absent, never because no
    source listed it. A stored folder that is on disk is never replaced by one that is not (a
    list kept in another folder names `batch_1` relative to itself): it is kept and the batch
    named in `kept_folders`.
    """
    stored = {doc["id"]: doc for doc in existing if isinstance(doc.get("id"), str)}
    by_number: dict[str, str] = {}
    for batch_id in stored:
        by_number.setdefault(batch_key(batch_id), batch_id)
    result = ImportResult()
    inserts, updates = [], []
    seen = set()
    for entry in entries:
        stored_id = entry.id if entry.id in stored else by_number.get(batch_key(entry.id))
        if stored_id and stored_id != entry.id and nfc(stored_id) == nfc(entry.id):
            result.same_text[entry.id] = stored_id  # looks alike: say which one it is
        reason = unsafe_id_reason(entry.id)
        if reason:  # an empty id came from a folder without a name ("/", "."): say which
            where = f" (folder {entry.folder!r})" if not entry.id and entry.folder else ""
            result.refused[entry.id] = reason + where
            seen.add(stored_id)  # a stored batch of that name is left as it is
            continue
        if (stored_id or entry.id) in seen:
            continue
        seen.add(stored_id or entry.id)
        doc = stored.get(stored_id)
        given = entry.folder
        if entry.folder_not_used is not None and given is not None:
            result.other_folders[stored_id or entry.id] = {
                "folder": storable(given),
                "not_used": storable(entry.folder_not_used),
                "on_disk": is_folder_here(entry.folder_not_used),
            }
        if doc is not None and _loses_its_folder(doc, given, is_folder_here):
            result.kept_folders[stored_id] = {"kept": doc["folder"], "not_on_disk": storable(given)}
            given = None
        wanted = {"number": batch_number(entry.id)}
        if given is not None:  # on disk as it is, stored with '?' for bytes not UTF-8
            wanted["folder"] = storable(given)
        if entry.image_count is not None:
            wanted["image_count"] = entry.image_count
        # A listed batch is checked on disk too, new or old: being listed is not being there.
        folder = given if given is not None else (doc or {}).get("folder")
        on_disk = (
            folder_exists({"id": stored_id or entry.id, "folder": folder})
            if folder_exists
            else None
        )
        if doc is None:
            inserts.append(_new_batch(entry, wanted, on_disk))
            result.added += 1
            result.flagged_missing += [entry.id] if on_disk is False else []
        else:
            _keep_values(stored_id, doc, entry.fields, result)
            if update := _plan_update(stored_id, doc, wanted, on_disk, result):
                updates.append(update)
    for batch_id, doc in stored.items():
        if (
            batch_id not in seen
            and doc.get("folder_missing") is not True
            and folder_exists is not None
            and folder_exists(doc) is False
        ):
            updates.append((batch_id, {"folder_missing": True}, ["flagged_missing"]))
            result.flagged_missing.append(batch_id)
    return inserts, updates, result


def _new_batch(entry: BatchEntry, wanted: dict, on_disk: bool | None) -> dict:
    """The document of a batch no stored one is: the source's other keys kept (not PROTECTED
    ones), its priority and due date where `batches set` writes them and every view reads them."""
    extra = {k: v for k, v in entry.extra.items() if k not in PROTECTED | set(wanted)}
    return {
        **extra,
        "id": entry.id,
        **wanted,
        **({"metadata": dict(entry.fields)} if entry.fields else {}),
        "assignee": None,
        "status": "pending",
        "mongo_uploaded": False,
        "created_at": utcnow(),
        **({"folder_missing": True} if on_disk is False else {}),
    }


def _keep_values(stored_id: str, doc: dict, given: dict, result: ImportResult) -> None:
    """Note in `result.kept_values` each of `given` (a source's priority, due date) that the
    stored batch holds otherwise: an import sets them on new batches only, as it never
    changes an assignment or a status (an older list would undo the coordinators' edits)."""
    differ = {
        name: {"kept": get_value(doc, name), "given": value}
        for name, value in given.items()
        if get_value(doc, name) != value
    }
    if differ:
        result.kept_values[stored_id] = differ


def _loses_its_folder(doc: dict, folder: str | None, is_folder_here: Callable) -> bool:
    """Whether `folder` would replace the stored batch's folder on disk by one that is not."""
    stored = doc.get("folder")
    return (
        folder is not None
        and isinstance(stored, str)
        and stored != storable(folder)
        and not is_folder_here(folder)
        and is_folder_here(stored)
    )


def _plan_update(
    stored_id: str, doc: dict, wanted: dict, on_disk: bool | None, result: ImportResult
) -> tuple | None:
    """The update of one listed, stored batch (or None), counted in `result`."""
    changes = {k: v for k, v in wanted.items() if doc.get(k) != v}
    kinds = ["updated"] if changes else []
    if on_disk is False and doc.get("folder_missing") is not True:
        changes["folder_missing"] = True
        result.flagged_missing.append(stored_id)
        kinds.append("flagged_missing")
    elif on_disk is not False and doc.get("folder_missing") is True:
        changes["folder_missing"] = False
        result.restored.append(stored_id)
        kinds.append("restored")
    if not changes:
        result.unchanged += 1
        return None
    result.updated += 1
    return stored_id, changes, kinds


_EXISTING = {
    **{"_id": 0, "id": 1, "folder": 1, "number": 1, "folder_missing": 1, "image_count": 1},
    **{"metadata.priority": 1, "metadata.due_date": 1},  # what kept_values compares
}


def preview_import(
    db: Database, entries: list[BatchEntry], folder_exists: FolderCheck | None = None
) -> ImportResult:
    """What `import_batches` would do now (new, refreshed, flagged, unchanged); writes nothing."""
    return plan_import(entries, list(db[COLLECTION].find({}, _EXISTING)), folder_exists)[2]


class _Raced(Exception):
    """A concurrent import inserted one of the same batches inside our transaction."""


def import_batches(
    db: Database,
    entries: list[BatchEntry],
    author: "str | Actor",
    folder_exists: FolderCheck | None = None,
) -> ImportResult:
    """Upsert `entries` by id in bulk; flag stored batches whose folder is gone from disk.

    Writes in steps of IMPORT_STEP, each with a history entry counting what that step did (and
    one per folder it replaces, old and new), in one transaction where the server offers them:
    a crash leaves no write unrecorded, and a re-run does the rest.
    """
    author = authorize_write(author)
    refuse_writes(db)
    for attempt in range(3):
        existing = list(db[COLLECTION].find({}, _EXISTING))
        inserts, updates, result = plan_import(entries, existing, folder_exists)
        folders = {d["id"]: d.get("folder") for d in existing if isinstance(d.get("id"), str)}
        steps = [
            (
                InsertOne(doc),
                ("added", "flagged_missing") if doc.get("folder_missing") else ("added",),
                None,
            )
            for doc in inserts
        ]
        steps += [
            (
                UpdateOne({"id": batch_id}, {"$set": changes}),
                kinds,
                # a replaced folder is an edit like any other: its old value is kept
                (batch_id, folders[batch_id], changes["folder"])
                if "folder" in changes and folders.get(batch_id) is not None
                else None,
            )
            for batch_id, changes, kinds in updates
        ]
        try:
            for start in range(0, len(steps), IMPORT_STEP):
                step = steps[start : start + IMPORT_STEP]
                refused = len(result.refused) if start == 0 else 0
                in_one_step(db, lambda session: _write_step(db, step, author, session, refused))
        except _Raced:
            if attempt == 2:
                raise ImportFileError(
                    N_(
                        "Another import wrote the same batches at the same "
                        "time; run the import again."
                    )
                ) from None
            continue
        if not steps:
            _write_step(db, [], author, None, refused=len(result.refused))
        return result
    raise AssertionError("unreachable")


def _write_step(db: Database, step: list, author: str, session, refused: int = 0) -> None:
    """One bulk write of the import, the history entry counting it and one entry per folder
    it replaces (old and new), through `session`."""
    counts = {"added": 0, "updated": 0, "flagged_missing": 0, "restored": 0}
    for _, kinds, _ in step:
        for kind in kinds:
            counts[kind] += 1
    if step:
        try:
            db[COLLECTION].bulk_write([op for op, _, _ in step], ordered=False, session=session)
        except BulkWriteError as exc:
            # A concurrent import inserted the same id first: that batch exists, which is the
            # goal; inside a transaction the step is void and is planned again.
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise
            if session is not None:
                raise _Raced() from None
        mark_changed(db, session=session)
    if refused:
        counts["refused"] = refused
    replaced = [
        history.Change("batch", folder[0], "folder", folder[1], folder[2], author)
        for _, _, folder in step
        if folder is not None
    ]
    history.record(
        db,
        [history.Change("import", "batches", "import", None, counts, author), *replaced],
        session=session,
    )


def import_from_sources(
    db: Database,
    batches_file: Path | None,
    data_directory: Path | None,
    author: "str | Actor",
    with_image_counts: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import from the batches file (when it exists) and the data directory (when given).

    Folders the scan set aside (see SameBatch) are reported in `refused`. Raises
    ImportFileError when there is nothing to read or a source is malformed; in that case
    nothing is written.
    """
    authorize_write(author)
    refuse_writes(db)
    sources = []
    unreadable: list[str] = []
    same_batch: list[SameBatch] = []
    if batches_file is not None and os.path.lexists(batches_file):  # a pipe is named, not read
        sources.append(read_batches_file(Path(batches_file), base=data_directory))
    if data_directory is not None:
        sources.append(
            scan_data_directory(
                Path(data_directory), with_image_counts, progress, unreadable, same_batch
            )
        )
    if not sources:
        raise ImportFileError(
            N_("Nothing to import: BATCHES_FILE does not exist and DATA_DIRECTORY is not set.")
        )
    entries = merge_sources(*sources, set_aside=same_batch, shared=same_batch)
    if with_image_counts:
        entries = count_listed_images(entries, unreadable)
    result = import_batches(
        db,
        entries,
        author,
        folder_checker(Path(data_directory)) if data_directory else None,
    )
    result.unreadable = unreadable
    result.refused.update({f: group.reason() for group in same_batch for f in group.others})
    return result
