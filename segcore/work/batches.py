"""The batch list (`batches` collection): query it, and change assignments with compare-and-set."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

from segcore.core.errors import (
    N_,
    AmbiguousMember,
    BatchNotFound,
    MemberNotFound,
    ValidationError,
)
from segcore.core.naming import (
    batch_key,
    batch_number,
    canonical_batch_id,
    clean_name,
    cut,
    person_key,
    printable,
)
from segcore.core.phrases import Phrase
from segcore.core.timefmt import date_string
from segcore.store import data_version
from segcore.store.history import list_history
from segcore.store.schema import BATCHES, META, find_in
from segcore.team.team import find_member
from segcore.work.delivery import NOT_DELIVERED, REWORK, SENT_BACK_AT, delivery_of
from segcore.work.holders import (
    NOBODY_QUERIES,
    holder,
    people_by_key,
    same_person,
    workloads,
)

COLLECTION = BATCHES
STATUSES = ("pending", "in_progress", REWORK, "review", "done")
PRIORITIES = ("alta", "media", "baja")
UNASSIGNED = "(unassigned)"
MASK_STATES = ("complete", "incomplete", "extra", "unreadable", "unknown")  # see mask_matching
UNCHECKED = "(not checked)"
POSITIVE_COUNT_TEXT = r"^\s*0*[1-9][0-9]*\s*$"  # "3", " 12 ": a count as text, above 0
# Editable field -> path in the stored document (production layout).
EDITABLE = {
    "assignee": "assignee",
    "status": "status",
    "priority": "metadata.priority",
    "due_date": "metadata.due_date",
}
SORTS = {
    "id": "number",  # id order: `id_order`
    "assignee": "assignee",
    "status": "status",
    "latest_upload": "training_metrics_info.latest_upload",
    "due_date": "metadata.due_date",
    "priority": "metadata.priority",
}
TABLE_PROJECTION = {
    "_id": 0,
    "id": 1,
    "number": 1,
    "assignee": 1,
    "folder": 1,
    "status": 1,
    "mongo_uploaded": 1,
    "folder_missing": 1,
    "image_count": 1,
    "training_metrics_info.file_count": 1,
    "training_metrics_info.latest_upload": 1,
    "metadata.priority": 1,
    "metadata.due_date": 1,
    "metadata.assigned_at": 1,
    "mask_check.state": 1,
    "mask_check.images": 1,
    "mask_check.matched": 1,
    # whether the batch is delivered (the Overdue column): segcore.work.delivery's rule
    "mask_check.usable": 1,
    "mask_check.missing_count": 1,
    "mask_check.content": 1,
    "mask_content.problems": 1,
    SENT_BACK_AT: 1,  # a reviewer's send-back stands until a newer upload (delivery_of)
}


# What segcore's queries filter on: a member's batches. The pages filter and sort the in-memory
# rows (segcore.views.batch_rows), and id order is computed from the ids (`id_order`), so no
# index serves them. Few on purpose: every index makes each batch write dearer (1,000 sync
# updates on the embedded server: 3.05 s with two, 2.45 s without).
INDEXES = {"assignee_1": [("assignee", ASCENDING)]}
# Created by earlier versions for queries that now run in memory; dropped at start.
RETIRED_INDEXES = ("status_number", "latest_upload", "number_1")
# Earlier versions stored this `number` for ids that name none; it means "no number".
UNNUMBERED = 10**12


def same_status(stored, wanted: str) -> bool:
    """A stored status matches a filter's choice as the filter names it: another tool's
    legacy code stored as the number 2 is offered, and matched, as "2"."""
    return stored is not None and (stored == wanted or str(stored) == wanted)


def ensure_indexes(db: Database) -> None:
    """Create the named indexes (idempotent: an existing one costs a round trip)."""
    collection = db[COLLECTION]
    try:
        collection.create_index("id", unique=True, name="id_1")
    except OperationFailure:
        # Legacy data with repeated ids: keep working, without the uniqueness guarantee.
        collection.create_index("id", name="id_1")
    for name, keys in INDEXES.items():
        collection.create_index(keys, name=name)
    present = {index["name"] for index in collection.list_indexes()}
    for name in RETIRED_INDEXES:
        if name in present:
            try:
                collection.drop_index(name)
            except OperationFailure as exc:
                if exc.code != 27:  # IndexNotFound: another process starting dropped it
                    raise


def missing_indexes(db: Database) -> list[str]:
    """The names of the indexes `ensure_indexes` would create or drop (one round trip): on a
    production batch list never indexed, building them is a pass per index."""
    present = {index["name"] for index in db[COLLECTION].list_indexes()}
    wanted = {"id_1", *INDEXES}
    return sorted((wanted - present) | (present & set(RETIRED_INDEXES)))


def order_number(doc: dict) -> int | None:
    """A batch's place in id order: the number its id names (`batch_7` before `batch_10`).

    The import stores it as `number`; production documents written before have none, and it
    is computed from the id instead (the same rule, so it never changes between pages,
    exports or restarts): numbering 50,000 legacy documents in the database took minutes on
    the embedded server. None when the id names no number (those sort after, by id).
    """
    stored = doc.get("number")
    if type(stored) is int and 0 <= stored < UNNUMBERED:
        return stored
    return batch_number(str(doc.get("id", "")))


def id_order(doc: dict) -> tuple:
    """Sort key of batch order (numeric by `order_number`, then by id) for a document or row."""
    number = order_number(doc)
    return (number is None, number or 0, str(doc.get("id", "")))


def mark_changed(db: Database, batch_ids=None, session=None) -> None:
    """Bump the batch list's generation, so a routine sync knows it must look again and the
    pages re-read `batch_ids` (every batch when None); within `session`'s transaction, if any."""
    data_version.bump_batches(db, batch_ids, session=session)


def generation(db: Database) -> int:
    """How many times segcore changed the batch list (see mark_changed)."""
    doc = db[META].find_one({"_id": "batches"}) or {}
    return int(doc.get("generation", 0))


# --- querying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchQuery:
    """Filters of the batch table; None means "any"."""

    assignee: str | None = None  # a name, or UNASSIGNED
    status: str | None = None
    has_masks: bool | None = None
    text: str | None = None
    folder_missing: bool | None = None
    mask_state: str | None = None  # a mask-check state, or UNCHECKED
    mask_problems: bool | None = None  # True: a content check found a mask problem
    only: frozenset[str] | None = None  # only these ids (a set computed elsewhere: who is late)


def build_filter(query: BatchQuery) -> dict:
    """A MongoDB filter for `query`; user text is escaped, never interpreted. For
    `mask_problems` it finds a superset: keep the documents `delivery.content_problems` agrees
    with."""
    clauses: dict = {}
    if query.assignee == UNASSIGNED:
        clauses["assignee"] = {"$in": [None, ""]}
    elif query.assignee:
        clauses["assignee"] = str(query.assignee)
    if query.status:
        clauses["status"] = str(query.status)
    if query.has_masks is True:
        clauses["mongo_uploaded"] = True
    elif query.has_masks is False:
        clauses["mongo_uploaded"] = {"$ne": True}
    if query.folder_missing is True:
        clauses["folder_missing"] = True
    elif query.folder_missing is False:
        clauses["folder_missing"] = {"$ne": True}
    if query.mask_state == UNCHECKED:
        clauses["mask_check.state"] = {"$exists": False}
    elif query.mask_state in MASK_STATES:
        clauses["mask_check.state"] = query.mask_state
    elif query.mask_state:
        raise ValidationError(
            f"'{query.mask_state}' is not a mask-check state.", field="mask_state"
        )
    if query.mask_problems is True:
        # A count another tool stored as a double (2.0) or as text ("3") is a count too
        # (`delivery.problem_count`). A fraction (2.5) is none, which no one query tells on
        # every server, so this finds a few too many: callers keep the documents whose
        # `delivery.content_problems` agrees (as for "no problems", which has no clause).
        clauses["$or"] = [
            {"mask_content.problems": {"$gt": 0}},
            {"mask_content.problems": {"$regex": POSITIVE_COUNT_TEXT}},
        ]
    ids = []
    if query.text and query.text.strip():
        ids.append({"id": {"$regex": re.escape(query.text.strip()), "$options": "i"}})
    if query.only is not None:  # a large set is costly here: `batch_rows.matches` is not
        ids.append({"id": {"$in": sorted(query.only)}})
    if len(ids) == 1:
        clauses.update(ids[0])
    elif ids:
        clauses["$and"] = ids
    return clauses


@dataclass
class BatchPage:
    rows: list[dict]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def get_batches(
    db: Database, batch_ids: list[str], projection: dict | None = None
) -> dict[str, dict]:
    """The documents of `batch_ids`, by id (missing ids are simply absent)."""
    found: dict[str, dict] = {}
    ids = [str(b) for b in dict.fromkeys(batch_ids)]
    for doc in find_in(db[COLLECTION], "id", ids, projection or {"_id": 0}):
        found[doc["id"]] = doc
    return found


def get_batch(db: Database, batch_id: str) -> dict | None:
    """One batch as stored (without `_id`), or None; `batch_id` is compared as a plain string."""
    return db[COLLECTION].find_one({"id": str(batch_id)}, {"_id": 0})


NOT_IN_LIST = N_("No batch {ids} in the batch list.")


def listed_keys(db: Database) -> set[str]:
    """The key of every batch in the list (`naming.batch_key`: `batch_0400` is batch_400), as
    an upload's folders name them (`mask_matching.other_batch_folder`)."""
    ids = (d.get("id") for d in db[COLLECTION].find({}, {"_id": 0, "id": 1}))
    return {batch_key(i) for i in ids if isinstance(i, str)}


def unknown_batch_ids(db: Database, batch_ids: list[str]) -> list[str]:
    """Those of `batch_ids` that name no batch of the list, under any spelling of its number
    (`batch_0001` names batch_1)."""
    wanted = {b: canonical_batch_id(b) or b for b in batch_ids}
    stored = find_in(db[COLLECTION], "id", list({*wanted, *wanted.values()}), {"_id": 0, "id": 1})
    known = {canonical_batch_id(str(d["id"])) or str(d["id"]) for d in stored}
    return [b for b, key in wanted.items() if key not in known]


NOTHING_NAMED = N_("No batch or team member '{key}', and nothing recorded for it.")


def history_of(db: Database, key: str, limit: int = 200) -> list[dict]:
    """The changes recorded for `key` (a batch id or a team member's name), newest first.
    Raises BatchNotFound when none is recorded and neither a batch nor a member has that name
    (a typo in a script); a batch or member removed since keeps its history, shown."""
    entries = list_history(db, key=key, limit=limit)
    if entries or get_batch(db, key) is not None:
        return entries
    try:
        find_member(db, key)
    except AmbiguousMember:
        return entries
    except MemberNotFound:
        raise BatchNotFound(NOTHING_NAMED, key=cut(printable(str(key)))) from None
    return entries


def get_value(doc: dict, field_name: str) -> object:
    """The stored value of an editable field, None when missing (legacy documents)."""
    value: object = doc
    for part in EDITABLE[field_name].split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def stored_spellings(db: Database, name: str, session=None) -> list[object]:
    """Every stored assignee that names the same person as `name` ("Flor", "flor", "Flor ",
    the number 42 for "42"): one read of the assignee index, for an indexed `$in`."""
    return [
        stored
        for stored in db[COLLECTION].distinct("assignee", session=session)
        if not isinstance(stored, (list, dict)) and same_person(stored, name)
    ]


# What `delivery_of` reads, to tell exactly what NOT_DELIVERED's query only narrows down.
_DELIVERY_SEEN = {
    **{"_id": 0, "id": 1, "assignee": 1, "status": 1, "mask_check": 1, "mask_content": 1},
    **{"review": 1, "training_metrics_info.latest_upload": 1},
}


def open_batch_ids(db: Database, assignee: str, session=None) -> list[str]:
    """The open batches (segcore.delivery) `assignee` holds, under any spelling; read through
    `session` (inside its transaction, if any) when given."""
    spellings = stored_spellings(db, assignee, session)
    # Spelled by no stored value: a list or document's text ("['Flor']"), found by its type.
    held = {"$in": spellings} if spellings else {"$type": ["array", "object"]}
    cursor = db[COLLECTION].find(
        {**NOT_DELIVERED, "assignee": held}, _DELIVERY_SEEN, session=session
    )
    # On a list, `$in` matched an item: ["Flor"] is held by "['Flor']", not by Flor.
    return [
        doc["id"]
        for doc in cursor
        if same_person(doc.get("assignee"), assignee) and not delivery_of(doc)[0]
    ]


def held_count(db: Database, assignee: str) -> int:
    """How many batches `assignee` holds under any spelling, open or not."""
    spellings = stored_spellings(db, assignee)
    if not spellings:
        return 0
    found = db[COLLECTION].find({"assignee": {"$in": spellings}}, {"_id": 0, "assignee": 1})
    return sum(1 for doc in found if same_person(doc.get("assignee"), assignee))


# What bulk assignment hands out: batches whose status is `pending`, or none at all (never
# given one). Those in `review` or `rework` (masks came in for someone), `in_progress` or a
# legacy value ("completado", "S") are someone's work already, or the coordinator's call.
PENDING_WORK = {"status": {"$in": ["pending", None]}}


def _unassigned_work(db: Database, extra: dict) -> list[dict]:
    """Batches nobody holds (`holders.holder`), pending (PENDING_WORK) and not delivered,
    matching `extra`: by the assignee index (None, "", texts starting with a space), then the
    rule in Python."""
    found: dict[str, dict] = {}
    for nobody in NOBODY_QUERIES:
        wanted = {**NOT_DELIVERED, **PENDING_WORK, **extra, **nobody}
        for doc in db[COLLECTION].find(wanted, {**_DELIVERY_SEEN, "number": 1}):
            if holder(doc.get("assignee")) is None and not delivery_of(doc)[0]:
                found[doc["id"]] = doc
    return list(found.values())


def next_pending_ids(db: Database, count: int, exclude: set[str] | None = None) -> list[str]:
    """The first `count` unassigned pending batches (PENDING_WORK) not delivered
    (segcore.delivery), in batch order, leaving out `exclude` (those a bulk assignment
    already tried)."""
    # Sorted here, by `id_order`: legacy documents have no stored `number` to sort on.
    found = _unassigned_work(db, {"folder_missing": {"$ne": True}})
    found = [doc for doc in found if not exclude or doc["id"] not in exclude]
    return [doc["id"] for doc in sorted(found, key=id_order)[: max(0, int(count))]]


def ids_with_status(db: Database, status: str) -> list[str]:
    """Every batch holding `status` as stored (a legacy code too), in batch order."""
    found = db[COLLECTION].find({"status": str(status)}, {"_id": 0, "id": 1, "number": 1})
    return [doc["id"] for doc in sorted(found, key=id_order)]


def stored_values(db: Database, field_name: str) -> list[str]:
    """Every non-empty value stored in `field_name` ("assignee" or "status"), legacy ones too."""
    if field_name not in ("assignee", "status"):
        raise ValidationError(f"Cannot list the values of '{field_name}'.", field=field_name)
    values = db[COLLECTION].distinct(field_name)
    return sorted({str(v) for v in values if v is not None and str(v).strip()}, key=person_key)


def unassigned_missing_folder(db: Database) -> int:
    """Unassigned pending batches not delivered that bulk assignment skips because their
    folder is missing."""
    return len(_unassigned_work(db, {"folder_missing": True}))


def open_workloads(db: Database, names: list[str]) -> dict[str, int]:
    """How many open batches (segcore.delivery) each of `names` holds under any spelling."""
    pipeline = [{"$match": NOT_DELIVERED}, {"$group": {"_id": "$assignee", "n": {"$sum": 1}}}]
    groups = db[COLLECTION].aggregate(pipeline)
    return workloads(((row["_id"], row["n"]) for row in groups), names)


# --- changing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """Set `field` of a batch to `new`, provided it still holds `old` (what the user saw).

    `reason` is recorded in the history with the change (e.g. why a move was suggested).
    """

    batch_id: str
    field: str
    old: object
    new: object
    reason: str | None = None


CONFLICT = N_("{batch}: {field} is now '{actual}' (you saw '{expected}', wanted '{wanted}')")
CHANGED_TO = N_("its {field} changed meanwhile to '{actual}'")


@dataclass(frozen=True)
class Conflict:
    """Someone else changed a field of the batch since the user read it; that field was not
    written (the batch's other edited fields were)."""

    batch_id: str
    field: str
    expected: object
    actual: object
    wanted: object

    def describe(self) -> Phrase:
        return Phrase(
            CONFLICT,
            batch=self.batch_id,
            field=self.field,
            actual=str(self.actual),
            expected=str(self.expected),
            wanted=str(self.wanted),
        )

    def reason(self) -> Phrase:
        """Why the batch was not written, for a list that names the batch already."""
        return Phrase(CHANGED_TO, field=self.field, actual=str(self.actual))


@dataclass
class ChangeResult:
    updated: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    failed: dict[str, "str | Phrase"] = field(default_factory=dict)
    # already held every value asked (someone chose the same meanwhile): nothing written, and
    # no conflict either
    already: list[str] = field(default_factory=list)


def team_member(value: object, team: list[str]) -> str | None:
    """The member of `team` that `value` names (any case, accents or spacing), or None: a batch
    is only ever given to a current member. Of legacy duplicates (José and Jose) the one spelled
    exactly so, else the first (who holds the key): "José" is never stored as "Jose"."""
    text = str(value)
    exact = next((name for name in team if clean_name(name) == clean_name(text)), None)
    return exact if exact is not None else people_by_key(team).get(person_key(text))


DUE_DATES = ("2000-01-01", "2099-12-31")  # what a coordinator may set (stored ones stay)


# What a blank value for a field says: never taken for "none", which is said on purpose (None:
# the command line's --unassign, --clear-due, --clear-priority; the pages' "(remove it)" and an
# emptied cell). A blank from an empty spreadsheet cell or an unset variable is a mistake.
BLANK = {
    "assignee": N_("A name cannot be blank; to leave a batch without one, unassign it."),
    "status": N_("A status is required."),
    "priority": N_("A priority cannot be blank; to remove one, clear it."),
    "due_date": N_("A due date cannot be blank; to remove one, clear it."),
}


def validate_value(field_name: str, value: object, team: list[str]) -> object:
    """The value to store for an edit of `field_name` (None clears it), or ValidationError
    naming the field: for a value that is not allowed, and for blank text (see BLANK)."""
    if field_name not in EDITABLE:
        raise ValidationError(N_("'{name}' cannot be edited."), name=field_name, field=field_name)
    if (value is None and field_name == "status") or (isinstance(value, str) and not value.strip()):
        raise ValidationError(BLANK[field_name], field=field_name)
    if value is None:
        return None
    if field_name == "assignee":
        name = team_member(value, team)
        if name is None:
            raise ValidationError(
                N_("'{value}' is not on the team."), value=value, field="assignee"
            )
        return name
    if field_name == "status":
        if value not in STATUSES:
            raise ValidationError(
                N_("Status must be one of {values}."), values=", ".join(STATUSES), field="status"
            )
        return value
    if field_name == "priority":
        if value not in PRIORITIES:
            raise ValidationError(
                N_("Priority must be one of {values}."),
                values=", ".join(PRIORITIES),
                field="priority",
            )
        return value
    try:
        stored = date_string(value)
    except ValueError:
        raise ValidationError(
            N_("'{value}' is not a date (use YYYY-MM-DD)"), value=value, field="due_date"
        ) from None
    if stored is not None and not DUE_DATES[0] <= stored <= DUE_DATES[1]:  # a typed 0001, 20266
        raise ValidationError(
            N_("A due date must lie between {first} and {last} (not {value})."),
            first=DUE_DATES[0],
            last=DUE_DATES[1],
            value=value,
            field="due_date",
        )
    return stored
