"""What others changed in the batch list since a point in its change stream, the syncs' own
writes set apart.

Segcore's edits bump the batch list's generation; other tools (a script, mongosh) may add,
remove or edit batch documents without it, and only the change stream tells. A sync writes
batch documents too, and so do the checks it runs: those writes show in the same stream, and a
sync that took them for another tool's would compare every batch on every next run. They are
told apart by what they write: only the syncs' own fields (OWN_FIELDS), and a status only when
moving a batch to review or rework. A routine run takes its position before reading the batch
list, then reads past its own writes at its end (`segcore.sync.sync`); a live sync asks before
each group and while idle (`segcore.sync.live.live_sync`). Another tool's edit of those same
fields with those same values, made while a sync runs, is taken for the sync's own (the daily
full read repairs what it would have changed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pymongo.collection import Collection
from pymongo.errors import ConnectionFailure, OperationFailure

from segcore.store.change_stream import current_token
from segcore.work.delivery import CHECK_FIELD, CONTENT_FIELD, REASON_PHRASE, REVIEW, REWORK
from segcore.work.review import MOVE_ENTRY, REASON_FIELD

# What a sync, its receipts and its mask and content checks write on a batch document (a status
# move marks the batch with its history entry: MOVE_ENTRY).
OWN_FIELDS = frozenset(
    {"mongo_uploaded", "training_metrics_info", CHECK_FIELD, CONTENT_FIELD, REASON_FIELD}
    | {REASON_PHRASE, MOVE_ENTRY}
)
OWN_STATUSES = (REVIEW, REWORK)  # where a sync's (or a check's) status moves go
MOST_EDITED = 500  # beyond this many batches edited by others, one comparison of every batch


@dataclass
class OthersChanges:
    """Since a point in the stream: the `_id`s of batch documents others edited, whether each
    edit can be followed by its batch (False: a batch added, removed, replaced or renamed, or
    the history could not be read), and where the stream stands after them (None when it was
    not read to its end)."""

    edited: set = field(default_factory=set)
    followable: bool = True
    token: dict | None = None

    @property
    def none(self) -> bool:
        """Nobody but the syncs wrote to the batch list."""
        return self.followable and not self.edited


def is_own(event: dict) -> bool:
    """True for a change only a sync (or its checks) makes: an update of OWN_FIELDS alone,
    with a status, if any, moved to review or rework. Pure."""
    if event.get("operationType") != "update":
        return False
    described = event.get("updateDescription") or {}
    updated = described.get("updatedFields") or {}
    touched = {
        name.split(".", 1)[0] for name in [*updated, *(described.get("removedFields") or [])]
    }
    if "status" in touched:
        if updated.get("status") not in OWN_STATUSES:
            return False
        touched.discard("status")
    return touched <= OWN_FIELDS


def others_since(batches: Collection, token: dict, most: int = MOST_EDITED) -> OthersChanges:
    """What others changed in `batches` since `token`, read without the documents (a sync's
    own writes cost no lookup, however many). It stops at the `most`+1th batch edited by
    others, or at the first change that cannot be followed, with no position then."""
    found = OthersChanges()
    try:
        with batches.watch(resume_after=token, max_await_time_ms=1, batch_size=5000) as stream:
            while True:
                event = stream.try_next()
                if event is None:
                    found.token = stream.resume_token
                    return found
                if is_own(event):
                    continue
                described = event.get("updateDescription") or {}
                renamed = any(
                    name == "id" or name.startswith("id.")
                    for name in [
                        *(described.get("updatedFields") or {}),
                        *(described.get("removedFields") or []),
                    ]
                )
                found.edited.add(event["documentKey"].get("_id"))
                if event.get("operationType") != "update" or renamed or len(found.edited) > most:
                    found.followable = False
                    return found
    except ConnectionFailure:
        raise
    except OperationFailure:  # the history no longer reaches back that far, no rights
        found.followable = False
        return found


def position_after_own_writes(batches: Collection, since: dict | None) -> dict | None:
    """Where the next sync may start asking the batch list's stream: past the writes made
    since `since` when they were all the syncs' own, else `since` itself (the next run then
    sees the others' changes). None where the server has no change streams."""
    if since is None:
        return current_token(batches)
    after = others_since(batches, since, most=0)
    return after.token if after.none else since
