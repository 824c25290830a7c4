"""What changed among the uploads since the last sync, read without re-reading every upload.

On a replica set (production) or the embedded server, the files collection's change stream
gives every insert, update and removal since a resume token the last sync saved. Where change
streams are not available (a standalone server, no rights), the ids of all uploads are compared
with those the sync already knows; that misses edits to existing file documents, which the
periodic full read catches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pymongo.collection import Collection
from pymongo.errors import ConnectionFailure, OperationFailure

from segcore.core.phrases import N_, Phrase
from segcore.store.change_stream import replay
from segcore.store.schema import find_in
from segcore.uploads.uploads import PROJECTION, READ_OPTIONS, upload_key

# Why a sync must read every upload (shown with the run, in the reader's language).
HISTORY_UNUSABLE = N_("the change history cannot be used ({problem})")
STREAM_CLOSED = N_("the server closed the change stream")
COLLECTION_EVENT = N_("the uploads collection saw a {event}")
TOO_MANY_CHANGES = N_("too many changes since the last sync")
TOO_MANY_IDS = N_("too many uploads to compare their ids")


@dataclass
class Changes:
    """Upload documents changed since a point in time: `{id: document, or None if removed}`."""

    documents: dict = field(default_factory=dict)
    token: dict | None = None  # where the next sync resumes, when read from a change stream
    whole: bool = False  # the documents are whole (a change stream's), not the sync's projection


class FullReadNeeded(Exception):
    """The changes cannot be read cheaply; the message says why."""


def changes_from_stream(files: Collection, token: dict, limit: int, await_ms: int = 20) -> Changes:
    """Every change since `token`; raises FullReadNeeded when the history cannot serve it or
    holds more than `limit` changes (then one full read is cheaper). `await_ms`: how long the
    server waits for a change at the end of the history (what is already there is read
    whatever it is)."""
    changes = Changes(whole=True)

    def take(event: dict) -> None:
        kind = event.get("operationType")
        if kind not in ("insert", "update", "replace", "delete"):
            raise FullReadNeeded(Phrase(COLLECTION_EVENT, event=kind or "change"))
        upload_id = upload_key(event["documentKey"].get("_id"))
        document = event.get("fullDocument") if kind != "delete" else None
        changes.documents.pop(upload_id, None)  # the last change of an id wins
        changes.documents[upload_id] = document
        if len(changes.documents) > limit:
            raise FullReadNeeded(Phrase(TOO_MANY_CHANGES))

    files = files.with_options(codec_options=READ_OPTIONS)
    try:
        changes.token = replay(files, token, take, await_ms, batch_size=5000)
        return changes
    except ConnectionFailure:
        raise
    except OperationFailure as exc:
        raise FullReadNeeded(
            Phrase(HISTORY_UNUSABLE, problem=str(exc).split(",", 1)[0][:120])
        ) from None


def changes_from_ids(files: Collection, known_ids) -> Changes:
    """New and removed uploads, from the ids of every upload (one cheap pass)."""
    try:
        # an odd _id (a document, a float) is compared by its key, looked up by itself
        current = {upload_key(raw): raw for raw in files.distinct("_id")}
    except OperationFailure:  # the distinct reply exceeds 16 MB on very large buckets
        raise FullReadNeeded(Phrase(TOO_MANY_IDS)) from None
    known = set(known_ids)
    changes = Changes()
    changes.documents = dict.fromkeys(known.difference(current))
    new_ids = [current[key] for key in current.keys() - known]
    files = files.with_options(codec_options=READ_OPTIONS)
    for document in find_in(files, "_id", new_ids, PROJECTION):
        changes.documents[upload_key(document["_id"])] = document
    return changes
