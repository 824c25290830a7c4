"""A collection's change stream: where it stands now, and every change since a position.

Both the uploads (what a sync must apply, segcore.uploads.upload_changes) and the batches
(what other tools changed, segcore.views.batch_changes) are followed this way.
"""

from __future__ import annotations

from typing import Callable

from pymongo.collection import Collection
from pymongo.errors import ConnectionFailure, OperationFailure


def current_token(collection: Collection) -> dict | None:
    """A resume token for "now" (taken before a full read, so nothing after it is missed),
    or None when the server offers no change stream."""
    try:
        with collection.watch(max_await_time_ms=1) as stream:
            return stream.resume_token
    except ConnectionFailure:
        raise
    except OperationFailure:
        return None


def replay(
    collection: Collection,
    token: dict,
    each: Callable[[dict], None],
    await_ms: int,
    batch_size: int,
) -> dict:
    """Give every change to `collection` since `token` to `each`, with the changed document
    as it is now; returns the position after the last one. `await_ms`: how long the server
    waits for a change at the end of the history (what is already there is read whatever
    it is)."""
    with collection.watch(
        resume_after=token,
        full_document="updateLookup",
        max_await_time_ms=await_ms,
        batch_size=batch_size,
    ) as stream:
        while True:
            event = stream.try_next()
            if event is None:
                return stream.resume_token
            each(event)
