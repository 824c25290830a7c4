"""The batch list in memory, as small rows, kept up to date by the data version.

On the embedded server every count, sort or filter that is not a selective indexed equality
costs a pass over the whole collection, and a real MongoDB still pays one per filter. So one
process-wide `BatchRows` reads the few fields the pages filter, sort and count on once; after
that a write costs re-reading only the batches it touched (`segcore.store.data_version`), a filter or
sort is Python over the rows (counted once per view), and a page of the table reads its
documents by id through the unique index. Other tools' edits (mongosh, the old dashboard) are in
no data version: each refresh also reads the batch list's change stream since the rows were
last whole (`segcore.views.batch_changes`, a few milliseconds when nothing changed), and takes
the batches it names, or reads every batch when it names what rows by id cannot follow.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import OrderedDict
from datetime import date, datetime

from pymongo.database import Database
from pymongo.errors import PyMongoError

from segcore.core.errors import ValidationError
from segcore.core.timefmt import parse_date
from segcore.report.pace import PACE_PROJECTION, parse_due_date
from segcore.report.progress import PROGRESS_PROJECTION
from segcore.store.change_stream import current_token
from segcore.store.data_version import changed_batches, read_versions
from segcore.store.schema import BATCHES, find_in
from segcore.views import batch_changes, row_snapshot
from segcore.views.row_keys import drop_rows, file_row, repeated_ids
from segcore.work.batches import (
    MASK_STATES,
    SORTS,
    TABLE_PROJECTION,
    UNASSIGNED,
    UNCHECKED,
    BatchPage,
    BatchQuery,
    order_number,
)
from segcore.work.delivery import content_problems, credited_to, delivery_of, is_open
from segcore.work.holders import holder, same_person
from segcore.work.review import hours_to_fix

log = logging.getLogger(__name__)

ROW_PROJECTION = {**PROGRESS_PROJECTION, **PACE_PROJECTION, "number": 1, "folder_missing": 1}
SELECTIONS_KEPT = 32
# What a view of the table filters and sorts on, among the fields a page's documents hold
# (TABLE_PROJECTION): a page's document that disagrees with its row on one of them was
# changed by another tool, and replaces the row (`BatchRows.page`).
VIEW_FIELDS = (
    "assignee",
    "status",
    "priority",
    "due_date",
    "with_masks",
    "folder_missing",
    "mask_state",
    "latest_upload",
    "number",
)
# How many times a page is chosen again after rows were caught up: a caught-up row that leaves
# the page brings in another, which may be behind too.
CATCH_UP_TRIES = 3
# A snapshot this many data changes behind is saved again: well inside the changes
# `data_version` remembers (RECENT_KEPT), so a restart can still catch up from it.
SNAPSHOT_EVERY = 16
# At most this many batches changed since the snapshot are re-read from the change stream at a
# restart (about 0.3 s on the embedded server, against about 2 s for reading 50,000 batches);
# beyond it, a restart reads every batch.
CATCH_UP_MAX = 2_000
# How long another tool's edit of a batch may go unseen by a running app: the change stream is
# read at most this often per process (a page asks for the rows several times per run).
OTHERS_EVERY_S = 1.0


def batch_row(doc: dict) -> dict:
    """A stored batch as a row: the progress and pace fields (one read serves the dashboard's
    figures and its Attention panel) plus what the table sorts and filters on.

    The same row as `{**progress_row(doc), **pace_row(doc)}` plus `number`, `folder_missing`,
    `mask_state` and the review figures, built in one pass: a cold page builds 50,000 of them.
    `delivered` is when the batch became usable (segcore.delivery), `uploaded` its first upload.
    """
    get = doc.get
    info = get("training_metrics_info")
    if not isinstance(info, dict):
        info = {}
    meta = get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    check = get("mask_check")
    mask_state = check.get("state") if isinstance(check, dict) else None
    content = get("mask_content")
    usable, delivered = delivery_of(doc)
    review = get("review") if isinstance(get("review"), dict) else {}
    assignee = holder(get("assignee"))  # 42 as "42": shown, counted and filtered as such
    status = get("status")
    with_masks = get("mongo_uploaded") is True
    latest = info.get("latest_upload")
    return {
        "id": str(get("id", "")),
        "assignee": assignee,
        "status": status,
        "with_masks": with_masks,
        "masks_complete": mask_state == "complete",
        "latest_upload": latest if isinstance(latest, datetime) else parse_date(latest),
        "open": is_open(assignee, usable, status),
        "usable": usable,
        "delivered": delivered,
        "delivered_by": credited_to(doc, assignee, usable, delivered),
        "uploaded": (info.get("first_upload") or latest) if with_masks else None,
        "sent_back": review.get("sent_back") or 0,
        "accepted": isinstance(review.get("accepted_at"), datetime) and status == "done",
        "hours_to_accept": hours_to_fix(review.get("hours_to_accept")),
        "due_date": parse_due_date(meta.get("due_date")),
        "priority": meta.get("priority"),
        "number": order_number(doc),
        "folder_missing": get("folder_missing") is True,
        "mask_state": mask_state,
        "mask_problems": content_problems(content),
    }


ROW_FIELDS = tuple(batch_row({}))


def read_all_rows(db: Database) -> dict:
    """Every batch as a row, by id: one pass over the collection. A legacy list's second
    document of an id is a row of its own (segcore.views.row_keys), counted and shown.

    Whole documents, without a projection: the embedded server returns stored documents as they
    are, but decodes, projects and re-encodes each one for a projection, which made this read
    a quarter slower than a bare read of every batch (on MongoDB a projection is cheap, but so
    is the few kilobytes more per batch). The garbage collector is paused meanwhile (as the
    sync does while indexing): 50,000 new rows would trigger collections that free nothing,
    each walking the whole heap of a long-running app.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        rows = {}
        for doc in db[BATCHES].find({}, batch_size=10_000):
            file_row(rows, batch_row(doc))
        return rows
    finally:
        if paused:
            gc.enable()


def matches(row: dict, query: BatchQuery) -> bool:
    """The same rules as `batches.build_filter`, over a row. Pure."""
    if query.assignee == UNASSIGNED:
        if row["assignee"]:
            return False
    elif query.assignee and not same_person(row["assignee"], query.assignee):
        return False  # "flor" and "Flor " are Flor's, as the Team page counts them
    if query.status and row["status"] != query.status:
        return False
    if query.has_masks is not None and row["with_masks"] != query.has_masks:
        return False
    if query.folder_missing is not None and row["folder_missing"] != query.folder_missing:
        return False
    if query.mask_state == UNCHECKED:
        if row["mask_state"] is not None:
            return False
    elif query.mask_state in MASK_STATES:
        if row["mask_state"] != query.mask_state:
            return False
    elif query.mask_state:
        raise ValidationError(
            f"'{query.mask_state}' is not a mask-check state.", field="mask_state"
        )
    if query.mask_problems is not None and bool(row["mask_problems"]) != query.mask_problems:
        return False
    if query.only is not None and row["id"] not in query.only:
        return False
    text = (query.text or "").strip().casefold()
    return not text or text in row["id"].casefold()


def _sortable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def order(rows: list[dict], sort: str, descending: bool = False) -> list[dict]:
    """Rows sorted by `sort` (a key of SORTS), empty values last either way, then by number. Pure."""
    if sort not in SORTS:
        raise ValidationError(f"Cannot sort by '{sort}'.", field="sort")
    field = {"id": "number", "latest_upload": "latest_upload"}.get(sort, sort)
    by_id = sorted(rows, key=lambda r: (r["number"] is None, r["number"] or 0, r["id"]))
    if field == "number":
        return by_id[::-1] if descending else by_id
    present = [r for r in by_id if r[field] not in (None, "")]
    empty = [r for r in by_id if r[field] in (None, "")]
    present.sort(key=lambda r: _sortable(r[field]), reverse=descending)  # stable: ties by id
    return present + empty


class BatchRows:
    """Every batch as a row, shared by the sessions of one process; thread safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict = {}  # by id; a repeated id's later rows by (id, place): row_keys
        self._list: list[dict] | None = None
        self._repeated: list[str] | None = None
        self._selections: OrderedDict = OrderedDict()
        self._changes = 0  # how many times the rows changed: a selection counts for one
        self.version: tuple | None = None
        self.saved: tuple | None = None  # the version of the snapshot stored or read
        self._snapshot_trusted = True  # False after `forget`: read every batch itself
        # The batch list's change stream position these rows are whole at: another tool's
        # edit after it is not in them (None: the server has no change streams).
        self._stream: dict | None = None
        self._followed_at = float("-inf")  # when the change stream was last read (monotonic)
        # How many times other tools' edits changed the rows: with the data version, what the
        # values computed from the rows are kept by.
        self.outside_edits = 0

    def needs_full_read(self, versions: dict) -> bool:
        """True when `refresh` may read every batch (the caller may show a spinner)."""
        return self.version is None or (
            self.version != versions["batches"]
            and changed_batches(self.version, versions["batches"], versions["recent"]) is None
        )

    def refresh(self, db: Database, versions: dict | None = None) -> "BatchRows":
        """Catch up with the stored batch list: nothing, the touched batches, or everything.

        Segcore's writes are followed by the data version, other tools' by the change stream
        (at most every OTHERS_EVERY_S). Starting from nothing (a new process), it starts from
        the stored snapshot (segcore.views.row_snapshot) when that can be caught up with.
        """
        versions = versions or read_versions(db)  # read before the rows: never miss a change
        with self._lock:
            if self.version != versions["batches"]:
                self._catch_up(db, versions)
            if time.monotonic() - self._followed_at >= OTHERS_EVERY_S:
                self._follow_others(db)
        return self

    def _catch_up(self, db: Database, versions: dict) -> None:  # under the lock
        if self.version is None and self._snapshot_trusted:
            self._start_from_snapshot(db, versions)
        changed = (
            None
            if self.version is None
            else changed_batches(self.version, versions["batches"], versions["recent"])
        )
        if changed is None:
            self._read_every_batch(db)
        elif changed:
            for batch_id in changed:
                drop_rows(self._rows, batch_id)
            for doc in find_in(db[BATCHES], "id", sorted(changed), ROW_PROJECTION):
                file_row(self._rows, batch_row(doc))
        self.version = versions["batches"]
        self._rows_changed()

    def _read_every_batch(self, db: Database) -> None:  # under the lock
        stream = current_token(db[BATCHES])  # before the read
        if stream is None:
            log.info("No change stream: other tools' batch edits show on a Reload")
        self._rows, self._stream = read_all_rows(db), stream
        self._snapshot_trusted, self.saved = True, None
        self._followed_at = time.monotonic()

    def _rows_changed(self) -> None:  # under the lock
        self._list = self._repeated = None
        self._selections.clear()
        self._changes += 1

    def _follow_others(self, db: Database) -> None:  # under the lock
        """Take the batches changed since the stream position the rows are whole at (other
        tools' edits; segcore's own read already as their rows are): row by row, or every
        batch again when the stream names a removal, a changed id or too many."""
        self._followed_at = time.monotonic()
        if self._stream is None or self.version is None:
            return
        try:
            seen = batch_changes.changes_since(db[BATCHES], self._stream, CATCH_UP_MAX)
            taken = self._take(seen)
        except PyMongoError as exc:  # the server is away: the rows stay as last read, whole
            # up to their stream position, and the next page load asks again; a page that
            # needs the server says so itself (a pending edit's Save, a fresh read)
            log.warning("Other tools' batch edits not followed now (%s)", type(exc).__name__)
            return
        except batch_changes.ReadEveryBatch as why:
            log.info("Reading every batch: %s", why)
            self._read_every_batch(db)
            taken = True
        else:
            self._stream = seen.token
        if taken:
            self.outside_edits += 1
            self._rows_changed()

    def _take(self, seen: batch_changes.BatchChanges) -> bool:  # under the lock
        """Put the changed documents' rows in place; True when any row changed. Raises
        ReadEveryBatch when one cannot be placed by its id alone (a repeated id)."""
        placed = []
        for key, doc in seen.documents.items():
            row = batch_row(doc)
            now = self._rows.get(row["id"])
            if now == row:
                continue  # segcore's own write, already read by the data version
            if (row["id"], 2) in self._rows or (now is not None and key in seen.inserted):
                raise batch_changes.ReadEveryBatch(f"batch {row['id']} is held twice")
            placed.append(row)
        for row in placed:
            self._rows[row["id"]] = row
        return bool(placed)

    def _start_from_snapshot(self, db: Database, versions: dict) -> None:
        """Take the stored rows when segcore's changes since can be caught up with (by the
        data version, in `refresh`) and other tools' too (by the change stream)."""
        copy = row_snapshot.load(db, ROW_FIELDS)
        if copy is None or (
            copy.version != versions["batches"]
            and changed_batches(copy.version, versions["batches"], versions["recent"]) is None
        ):
            return
        rows, saved, stream = copy.rows, copy.version, copy.stream
        if stream is not None:
            try:
                edited = batch_changes.changes_since(db[BATCHES], stream, CATCH_UP_MAX)
            except batch_changes.ReadEveryBatch as why:
                log.info("The stored batch rows are not used: %s", why)
                return
            for doc in edited.documents.values():
                row = batch_row(doc)
                if (row["id"], 2) in rows:  # which of the documents of a repeated id: read all
                    return
                rows[row["id"]] = row
            stream = edited.token
            if edited.documents:  # store them caught up: the next restart re-reads fewer
                saved = None
        self._rows, self.version, self.saved, self._stream = rows, copy.version, saved, stream

    def forget(self) -> None:
        """Read every batch again next time, not the snapshot (the Reload button, changes
        made by other tools)."""
        with self._lock:
            self.version = None
            self._snapshot_trusted = False

    def forget_views(self) -> None:
        """Filter and sort the rows again for every view (`bench_queries` times a new view)."""
        with self._lock:
            self._selections.clear()

    def snapshot_due(self) -> bool:
        """True when the stored snapshot is missing or SNAPSHOT_EVERY changes behind these
        rows: a restart would read every batch, or soon could not catch up."""
        with self._lock:
            if self.version is None:
                return False
            if self.saved is None:
                return True
            steps = (self.version[0] - self.saved[0]) + (self.version[1] - self.saved[1])
            return steps >= SNAPSHOT_EVERY

    def save_snapshot(self, db: Database) -> bool:
        """Store these rows as the snapshot a restarted app starts from (see snapshot_due)."""
        self._advance_stream(db)
        with self._lock:
            rows, version, stream = self._row_list(), self.version, self._stream
        if version is None:
            return False
        saved = row_snapshot.save(db, rows, version, ROW_FIELDS, stream)
        with self._lock:  # also when not saved: try again SNAPSHOT_EVERY changes later
            if self.saved is None or self.saved < version:
                self.saved = version
        return saved

    def _advance_stream(self, db: Database) -> None:
        """Move the change stream position these rows are whole at past the batches changed
        since, when every one of them reads as its row already does (segcore's own writes,
        caught up by the data version). Otherwise it stays, and a restart re-reads them: the
        running rows are never changed here, where no data version would tell the pages."""
        with self._lock:
            stream = self._stream
        if stream is None:
            return
        try:
            seen = batch_changes.changes_since(db[BATCHES], stream, CATCH_UP_MAX)
        except (batch_changes.ReadEveryBatch, PyMongoError) as why:
            log.info("The batch rows' change stream position stays: %s", why)
            return
        now = [batch_row(doc) for doc in seen.documents.values()]
        with self._lock:
            if self._stream is stream and all(self._rows.get(r["id"]) == r for r in now):
                self._stream = seen.token

    def rows(self) -> list[dict]:
        """Every row (shared: do not change them)."""
        with self._lock:
            return self._row_list()

    def _row_list(self) -> list[dict]:  # under the lock
        if self._list is None:
            self._list = list(self._rows.values())
        return self._list

    def repeated(self) -> list[str]:
        """The batch ids held by more than one document (legacy data), sorted: each of those
        documents is a row, and the pages say the id is repeated."""
        with self._lock:
            if self._repeated is None:
                self._repeated = repeated_ids(self._rows)
            return self._repeated

    def select(self, query: BatchQuery, sort: str = "id", descending: bool = False) -> list[str]:
        """The ids matching `query` in table order; computed once per view and version."""
        key = (query, sort, descending)
        with self._lock:
            if key in self._selections:
                self._selections.move_to_end(key)
                return self._selections[key]
            rows, changes = self._row_list(), self._changes
        if query != BatchQuery():  # no filter (a page's first view): every row matches
            rows = [r for r in rows if matches(r, query)]
        chosen = [r["id"] for r in order(rows, sort, descending)]
        with self._lock:
            if self._changes != changes:  # a refresh came meanwhile: not for the new rows
                return chosen
            self._selections[key] = chosen
            while len(self._selections) > SELECTIONS_KEPT:
                self._selections.popitem(last=False)
        return chosen

    def page(
        self,
        db: Database,
        query: BatchQuery,
        sort: str = "id",
        descending: bool = False,
        page: int = 1,
        page_size: int = 100,
    ) -> BatchPage:
        """One page of the table: the ids from `select`, the documents read by id.

        The documents are read fresh, the rows may be older: another tool's edit (the old
        dashboard, a hand-made update) reaches no data version. A document that disagrees with
        its row on what a view filters or sorts on replaces that row first (`_take_fresh`), and
        the page is chosen again, so a row is filtered, sorted and drawn from one value: never
        Roberto's batch under the filter "Mauricio".
        """
        page_size = max(1, min(int(page_size), 1000))
        page = max(1, int(page))
        start = (page - 1) * page_size
        for _attempt in range(CATCH_UP_TRIES):
            chosen = self.select(query, sort, descending)
            wanted = chosen[start : start + page_size]
            docs = _page_documents(db, wanted)  # a repeated id's documents each take one place
            stale = self._stale(docs)
            if not stale or not self._take_fresh(db, stale):
                break
        for batch_id in set(self.repeated()) & set(wanted):  # those an earlier page shows
            del docs.get(batch_id, [])[: chosen[:start].count(batch_id)]
        return BatchPage(
            rows=[docs[i].pop(0) for i in wanted if docs.get(i)],
            total=len(chosen),
            page=page,
            page_size=page_size,
        )

    def _stale(self, docs: dict[str, list[dict]]) -> list[str]:
        """The ids of a page whose document disagrees with its row on VIEW_FIELDS (a repeated
        id's documents, and an id stored as no text, are left as they are)."""
        repeated = set(self.repeated())
        with self._lock:
            rows = self._rows
            return [
                batch_id
                for batch_id, found in docs.items()
                if len(found) == 1
                and batch_id not in repeated
                and type(found[0].get("id")) is str
                and batch_id in rows
                and _view_values(batch_row(found[0])) != _view_values(rows[batch_id])
            ]

    def _take_fresh(self, db: Database, batch_ids: list[str]) -> bool:
        """Replace the rows of `batch_ids` with their stored documents; every view is
        filtered and sorted again. False when none could be read again."""
        found = [
            doc
            for doc in find_in(db[BATCHES], "id", sorted(batch_ids), ROW_PROJECTION)
            if type(doc.get("id")) is str and doc["id"] in batch_ids
        ]
        if not found:
            return False
        with self._lock:
            for doc in found:
                self._rows[doc["id"]] = batch_row(doc)
            self.outside_edits += 1  # another tool's edit: the figures kept by it follow
            self._rows_changed()
        return True


def _view_values(row: dict) -> tuple:
    return tuple(row[name] for name in VIEW_FIELDS)


def _page_documents(db: Database, wanted: list[str]) -> dict[str, list[dict]]:
    """The documents of the rows `wanted`, by row id (every document of a repeated id).

    A row's id is the stored id as text (`batch_row`). A search by id also finds another
    tool's document whose id is a list holding that text (`["batch_15"]` for `batch_15`), and
    never one whose id is no text at all (`7`, a list): those are read with one more query,
    only when a page shows one, and handed over with their id as the row shows it."""
    on_page = set(wanted)
    docs: dict[str, list[dict]] = {}

    def take(found) -> None:
        for doc in found:
            raw = doc.get("id")
            text = raw if type(raw) is str else batch_row(doc)["id"]
            if text not in on_page or (type(raw) is not str and text in docs):
                continue  # not shown, or an odd id both queries found
            docs.setdefault(text, []).append(doc if text is raw else {**doc, "id": text})

    take(find_in(db[BATCHES], "id", wanted, TABLE_PROJECTION))
    if on_page - docs.keys():
        # `$type: "string"` also matches a list holding a string, hence the second clause
        odd = {"$or": [{"id": {"$not": {"$type": "string"}}}, {"id": {"$type": "array"}}]}
        take(db[BATCHES].find(odd, TABLE_PROJECTION))
    return docs
