"""Read models of the uploads, kept by the sync in the app's database, so no page view reads
`training_metrics`: the most recent uploads, and uploads per local day.

- `app_meta` document `upload_stats`: the `RECENT_KEPT` newest uploads, newest first, and
  `synced_at`, the start of the sync run that last brought them up to date.
- `upload_days`: one document per local day (`_id` "YYYY-MM-DD") with how many uploads were made
  that day in total, per owner of the batches they name (the assignee when the sync ran), per
  (owner, status), per status, and per uploader. An upload naming several batches counts once
  in each breakdown it belongs to, as the dashboard's filters count it.

A full sync rebuilds both from its index and writes only the days that differ; a routine one
applies the changed uploads as differences (the batch list, hence every owner, is unchanged
then, but for the statuses its new uploads moved: those batches' uploads move with them).
Building is pure (`day_counts`, `recent`); `save_*` and `read_*` touch the database.
"""

from __future__ import annotations

import heapq
from collections import Counter
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache

from pymongo import DeleteOne, ReplaceOne
from pymongo.database import Database

from segcore.core.naming import one_per_batch, person_key
from segcore.core.timefmt import office_midnight_utc, to_office
from segcore.store.schema import BATCHES, META, UPLOAD_DAYS
from segcore.sync.index.index_entry import EPOCH, NO_DATE, US, date_order, known_length
from segcore.sync.index.sync_index import SyncIndex, each_upload, keys_holding, read_index
from segcore.sync.index.sync_plan import batch_key
from segcore.sync.records.sync_state import SyncState
from segcore.work.batches import UNASSIGNED, same_status
from segcore.work.holders import holder, same_person

STATS_DOC = "upload_stats"
# Bump when the stored layout changes: the next sync rebuilds everything. 3: an owner of
# another type (42) is its text, no longer None.
FORMAT = 3
RECENT_KEPT = 300
WRITE_CHUNK = 200
BREAKDOWNS = ("owners", "pairs", "statuses", "uploaders")


# --- building (pure) -----------------------------------------------------------------------


def local_day(moment: datetime | None, zone: tzinfo | None = None) -> str | None:
    """The local day ("YYYY-MM-DD", in `zone`, default the machine's) of a stored UTC time."""
    local = to_office(moment, zone)  # None for a date that cannot be shown (timefmt's rule)
    return local.date().isoformat() if local else None


def _contribution(keys, owners: dict) -> tuple[set, set, set]:
    mine, pairs, statuses = set(), set(), set()
    for key in keys:
        if key in owners:
            owner, status = owners[key]
            mine.add(owner)
            pairs.add((owner, status))
            statuses.add(status)
    return mine, pairs, statuses


def add_upload(days: dict, entry, keys, owners: dict, zone=None, sign: int = 1) -> None:
    """Count (or with sign=-1, uncount) one upload in `days` ({day: {breakdown: Counter}})."""
    day = local_day(entry.date, zone)
    if day is None:
        return
    counts = days.get(day)
    if counts is None:  # not setdefault: a new day's counters for every upload cost seconds
        counts = days[day] = new_day()
    counts["total"] += sign
    mine, pairs, statuses = _contribution(keys, owners)
    for owner in mine:
        counts["owners"][owner] += sign
    for pair in pairs:
        counts["pairs"][pair] += sign
    for status in statuses:
        counts["statuses"][status] += sign
    uploader = entry.uploader  # read once: a packed entry decodes it on each read
    counts["uploaders"][_uploader_key(uploader) if uploader else None] += sign


# A few hundred uploaders among hundreds of thousands of uploads: each name normalised once.
_uploader_key = lru_cache(maxsize=4096)(person_key)


def new_day() -> dict:
    return {"total": 0, **{name: Counter() for name in BREAKDOWNS}}


def day_counts(uploads: dict, owners: dict, zone=None) -> dict:
    """Every day's counts from {upload id: (entry, keys)}; `owners` is {key: (owner, status)}."""
    return count_days(((None, e, k) for e, k in uploads.values()), owners, zone)


def count_days(uploads, owners: dict, zone=None) -> dict:
    """`day_counts` of (upload id, entry, keys) triples (see each_upload)."""
    days: dict = {}
    for _upload_id, entry, keys in uploads:
        add_upload(days, entry, keys, owners, zone)
    return days


def owners_of(listing: list[dict], key_of) -> dict:
    """{batch key: (holder or None, status)} from the sync's batch listing: the holder as
    `holders.holder` reads it (another tool's 42 holds its batch as "42", as the batch filters
    find it)."""
    owners = {}
    for key, doc in one_per_batch(listing, key_of).items():  # batch_1, not a leftover batch_001
        status = doc.get("status")
        owners[key] = (holder(doc.get("assignee")), status if isinstance(status, str) else None)
    return owners


def encode_day(day: str, counts: dict) -> dict:
    doc = {"_id": day, "total": counts["total"]}
    for name in BREAKDOWNS:
        doc[name] = sorted(
            ([*k, n] if isinstance(k, tuple) else [k, n] for k, n in counts[name].items() if n),
            key=repr,
        )
    return doc


def decode_day(doc: dict) -> dict:
    counts = new_day()
    counts["total"] = int(doc.get("total", 0))
    for name in BREAKDOWNS:
        for item in doc.get(name, []):
            key = tuple(item[:-1]) if len(item) > 2 else item[0]
            counts[name][key] += item[-1]
    return counts


def as_recent(upload_id, entry, keys) -> dict:
    size = known_length(entry)  # None: the stored length is not a size
    return {
        "upload_id": upload_id,
        "filename": entry.filename,
        "uploaded_by": entry.uploader,
        "upload_date": entry.date,
        "size_mb": None if size is None else round(size / 1048576, 2),
        # exact: a mask file of a few KB rounds to 0.0 MB
        "size_bytes": size,
        "batches": sorted(k for k in keys if SyncIndex.is_batch_key(k)),
    }


def _newest(item: dict) -> tuple:
    when = item["upload_date"]
    return (when is not None, when or datetime.min, str(item["upload_id"]))


def recent(uploads, keep: int = RECENT_KEPT) -> list[dict]:
    """The `keep` newest of (upload id, entry, keys) triples, newest first (undated ones
    last)."""
    newest = heapq.nlargest(
        keep,
        uploads,
        key=lambda u: (date_order(u[1]), str(u[0])),
    )
    return [as_recent(upload_id, entry, keys) for upload_id, entry, keys in newest]


def merge_recent(
    stored: list[dict], gone: set, added: dict, keep: int = RECENT_KEPT
) -> list[dict] | None:
    """The stored list with `gone` ids dropped and `added` uploads merged in; None when a drop
    may have let an older upload into the newest `keep` (then rebuild from the index)."""
    kept = [item for item in stored if item["upload_id"] not in gone]
    if len(kept) < len(stored) and len(stored) >= keep:
        return None
    kept += [as_recent(upload_id, entry, keys) for upload_id, (entry, keys) in added.items()]
    return sorted(kept, key=_newest, reverse=True)[:keep]


# --- keeping (database) --------------------------------------------------------------------


def zone_key(zone: tzinfo | None) -> str:
    """A name for the zone the days are counted in ("local": the machine's)."""
    return getattr(zone, "key", None) or (str(zone) if zone else "local")


def is_current(db: Database, zone: tzinfo | None = None) -> bool:
    """True when the read models exist in the current layout, count days in `zone` (after a
    TIMEZONE change they are rebuilt) and hold what the sync state says was applied: a sync
    killed while updating them leaves its group's mark on them but not on the sync state, and
    applying its changes again would count them twice, so they are rebuilt instead."""
    state, doc = SyncState(db).with_document(
        STATS_DOC, {"format": 1, "zone": 1, "group": 1, "models_group": 1}
    )
    return is_current_doc(doc, state, zone)


def is_current_doc(doc: dict | None, state: dict, zone: tzinfo | None = None) -> bool:
    """`is_current` from the read models' document and the sync state, already read."""
    return (
        bool(doc)
        and doc.get("format") == FORMAT
        and doc.get("zone", "local") == zone_key(zone)
        and doc.get("group") == state.get("models_group")
    )


def _mark(db: Database, group: str) -> None:
    """Mark the models as being changed by `group` before any change (see is_current)."""
    db[META].update_one({"_id": STATS_DOC}, {"$set": {"group": group}})


def rebuild(
    db: Database,
    index: dict[str, dict],
    owners: dict,
    synced_at: datetime,
    zone=None,
    group: str | None = None,
) -> int:
    """Recompute both read models from the whole index; write only the days that differ.
    `group`: the mark the sync saves with its state once done (see is_current)."""
    _mark(db, group)
    wanted = {
        day: encode_day(day, counts)
        for day, counts in count_days(each_upload(index), owners, zone).items()
    }
    stored = {d["_id"]: d for d in db[UPLOAD_DAYS].find({})}
    operations = [
        ReplaceOne({"_id": day}, doc, upsert=True)
        for day, doc in wanted.items()
        if stored.get(day) != doc
    ]
    operations += [DeleteOne({"_id": day}) for day in stored if day not in wanted]
    _write(db, operations)
    _save_stats(db, recent(each_upload(index)), synced_at, zone, group)
    return len(operations)


def apply_changes(
    db: Database,
    index: dict[str, dict],
    before: dict,
    after: dict,
    owners: dict,
    synced_at: datetime,
    zone=None,
    group: str | None = None,
    counted: dict | None = None,
) -> int:
    """Update the read models with changed uploads: `before` and `after` are
    {upload id: (entry, keys)} as the index held them before and holds them now; `group` as
    for rebuild. `counted`: {batch key: (owner, status)} as the models counted every batch,
    when the run changed some since (its own status moves): those batches' other uploads are
    moved to `owners` too, else the chart filtered by status keeps them under the old one."""
    _mark(db, group)
    was = owners if counted is None else counted
    days: dict = {}
    for entry, keys in before.values():
        add_upload(days, entry, keys, was, zone, sign=-1)
    for entry, keys in after.values():
        add_upload(days, entry, keys, was, zone)
    if counted is not None:
        moved = {key for key in set(was) | set(owners) if was.get(key) != owners.get(key)}
        _move_counts(days, index, moved, was, owners, zone)
    operations = _add_deltas(db, days)
    stats = db[META].find_one({"_id": STATS_DOC}) or {}
    merged = merge_recent(stats.get("recent", []), set(before) | set(after), after)
    _save_stats(
        db, merged if merged is not None else recent(each_upload(index)), synced_at, zone, group
    )
    return len(operations)


def move_owners(
    db: Database,
    index: dict[str, dict],
    keys: set[str],
    before: dict,
    after: dict,
    zone=None,
    group: str | None = None,
) -> int:
    """Count the uploads of the batches `keys` under their new owners and statuses: `before`
    and `after` are {batch key: (owner, status)} as the models counted and as they are now
    (an edit reassigned them). `group` as for rebuild. Returns how many days were written."""
    _mark(db, group)
    days: dict = {}
    _move_counts(days, index, keys, before, after, zone)
    return len(_add_deltas(db, days))


def _move_counts(days: dict, index: dict, keys: set, before: dict, after: dict, zone) -> None:
    """Add to `days` the move of every upload of the batches `keys` (as the index holds them
    now) from its count under `before` to its count under `after`: only the breakdowns by
    owner and status change, each upload's day is worked out once."""
    wanted = {upload_id for key in keys for upload_id in index.get(key, {})}
    for upload_id, held in keys_holding(index, wanted).items():
        day = local_day(index[held[0]][upload_id].date, zone)
        if day is None:
            continue
        counts = days.get(day)
        if counts is None:
            counts = days[day] = new_day()
        was, now = _contribution(held, before), _contribution(held, after)
        for name, old, new in zip(("owners", "pairs", "statuses"), was, now):
            for gone in old - new:
                counts[name][gone] -= 1
            for came in new - old:
                counts[name][came] += 1


def _add_deltas(db: Database, days: dict) -> list:
    """Add per-day differences to the stored days (a day counting nothing is removed)."""
    stored = {d["_id"]: d for d in db[UPLOAD_DAYS].find({"_id": {"$in": sorted(days)}})}
    operations = []
    for day, delta in days.items():
        counts = decode_day(stored.get(day, {"_id": day}))
        counts["total"] += delta["total"]
        for name in BREAKDOWNS:
            counts[name].update(delta[name])
        doc = encode_day(day, counts)
        if counts["total"] <= 0:
            operations.append(DeleteOne({"_id": day}))
        elif doc != stored.get(day):
            operations.append(ReplaceOne({"_id": day}, doc, upsert=True))
    _write(db, operations)
    return operations


def stamp(db: Database, synced_at: datetime) -> None:
    """Nothing changed in this run: the read models are as recent as it."""
    db[META].update_one({"_id": STATS_DOC}, {"$set": {"synced_at": synced_at}})


def _save_stats(
    db: Database, newest: list[dict], synced_at: datetime, zone=None, group: str | None = None
) -> None:
    db[META].replace_one(
        {"_id": STATS_DOC},
        {
            "_id": STATS_DOC,
            "format": FORMAT,
            "zone": zone_key(zone),
            "synced_at": synced_at,
            "recent": newest,
            "group": group,
        },
        upsert=True,
    )


def _write(db: Database, operations: list) -> None:
    for start in range(0, len(operations), WRITE_CHUNK):
        db[UPLOAD_DAYS].bulk_write(operations[start : start + WRITE_CHUNK], ordered=False)


# --- reading (for the pages) ----------------------------------------------------------------


def read_recent(db: Database, limit: int = 50) -> tuple[list[dict], datetime | None]:
    """(the newest uploads, newest first, as the Sync page lists them; when they were synced).

    ([], None) when no sync has built the read models yet.
    """
    doc = (
        db[META].find_one({"_id": STATS_DOC}, {"recent": {"$slice": int(limit)}, "synced_at": 1})
        or {}
    )
    rows = [
        {k: v for k, v in item.items() if k != "upload_id"}
        for item in doc.get("recent", [])[: int(limit)]
    ]
    return rows, doc.get("synced_at")


def synced_at(db: Database) -> datetime | None:
    """The start of the sync run that last brought the read models up to date, or None."""
    doc = db[META].find_one({"_id": STATS_DOC}, {"synced_at": 1}) or {}
    return doc.get("synced_at")


def staleness(models_synced_at: datetime | None, last_sync_started: datetime | None) -> str | None:
    """Why the read models may not show the latest uploads, or None when they are current. Pure."""
    if last_sync_started is None:
        return "missing" if models_synced_at is None else None
    if models_synced_at is None:
        return "missing"
    return "behind" if models_synced_at < last_sync_started else None


def count_in(doc: dict, owner: str | None = None, status: str | None = None) -> int:
    """Uploads of one stored day for a filter: `owner` a name or UNASSIGNED, None for any. Pure.

    An owner is the person, by the rule of every other figure and filter (`holders`): the
    uploads on batches stored as "jose" or "José " count for José. A status is the stored one,
    as the batch filters compare it.
    """
    if owner is None and status is None:
        return int(doc.get("total", 0))
    if owner is None:
        return sum(n for s, n in doc.get("statuses", []) if same_status(s, status))

    def owned(stored: str | None) -> bool:
        return stored is None if owner == UNASSIGNED else same_person(stored, owner)

    if status is None:
        return sum(n for o, n in doc.get("owners", []) if owned(o))
    return sum(n for o, s, n in doc.get("pairs", []) if owned(o) and same_status(s, status))


def uploads_per_day(
    db: Database,
    start: date,
    end: date,
    owner: str | None = None,
    status: str | None = None,
    zone: tzinfo | None = None,
) -> list[dict]:
    """{day, uploads} for every day in [start, end] of the office's `zone` (zeros included):
    the stored days, read by `_id` range, when the last sync counted them in `zone`; else
    (TIMEZONE changed since) counted again from the sync's index, as the next sync will store
    them, so the chart never dates an upload otherwise than the Receipts page does."""
    models = db[META].find_one({"_id": STATS_DOC}, {"zone": 1})
    if models and models.get("zone", "local") != zone_key(zone):
        found = recount(db, start, end, zone)
    else:
        found = {
            d["_id"]: d
            for d in db[UPLOAD_DAYS].find(
                {"_id": {"$gte": start.isoformat(), "$lte": end.isoformat()}}
            )
        }
    return [
        {
            "day": start + timedelta(days=n),
            "uploads": count_in(
                found.get((start + timedelta(days=n)).isoformat(), {}), owner, status
            ),
        }
        for n in range((end - start).days + 1)
    ]


def recount(db: Database, start: date, end: date, zone: tzinfo | None) -> dict[str, dict]:
    """The days [start, end] of `zone` as the stored days would hold them ({day: document}),
    counted from the sync's index and the batches' owners now: for read models counted in
    another zone, until the next sync rebuilds them. Only uploads of those days are counted."""
    first = (office_midnight_utc(start, zone) - EPOCH) // US
    until = (office_midnight_utc(end + timedelta(days=1), zone) - EPOCH) // US
    listing = db[BATCHES].find({}, {"_id": 0, "id": 1, "assignee": 1, "status": 1})
    wanted = (
        upload for upload in each_upload(read_index(db)) if first <= _order(upload[1]) < until
    )
    return {
        day: encode_day(day, counts)
        for day, counts in count_days(wanted, owners_of(list(listing), batch_key), zone).items()
    }


def _order(entry) -> int:
    """`date_order`, or NO_DATE for an aware date that overflows at the calendar's ends."""
    try:
        return date_order(entry)
    except OverflowError:
        return NO_DATE
