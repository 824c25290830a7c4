"""The uploads' change stream as a live sync reads it: a blocking wait, then a short gathering.

The stream is driven with `aggregate`/`getMore` commands rather than pymongo's ChangeStream so
that each wait can have its own length: a long server-side wait while nothing happens (one
round trip every IDLE_WAIT_MS, no query loop), then short ones to gather what arrives close
together into one group, so a burst of uploads is applied as one group, in bulk.
"""

from __future__ import annotations

import time

from pymongo.collection import Collection
from pymongo.errors import OperationFailure, PyMongoError

from segcore.core.phrases import Phrase
from segcore.uploads.upload_changes import (
    COLLECTION_EVENT,
    HISTORY_UNUSABLE,
    STREAM_CLOSED,
    FullReadNeeded,
)
from segcore.uploads.uploads import upload_key

IDLE_WAIT_MS = 5000  # how long one idle getMore waits on the server
GATHER_WAIT_MS = 100  # after a change, wait this long for more before applying the group
GATHER_MAX_S = 1.0  # never gather for longer than this (the latency budget is seconds)
GROUP_MAX = 5000  # uploads per group: a larger burst becomes several groups
_CHANGES = ("insert", "update", "replace", "delete")


class ChangeFeed:
    """An open change stream on the uploads' files collection, resumed after `token`."""

    def __init__(self, files: Collection, token: dict):
        self.files = files
        self.token = token
        self.cursor_id = 0
        self._pending: list[dict] = []
        try:
            reply = files.database.command(
                "aggregate",
                files.name,
                pipeline=[
                    {"$changeStream": {"fullDocument": "updateLookup", "resumeAfter": token}}
                ],
                cursor={},
            )
        except OperationFailure as exc:
            raise FullReadNeeded(
                Phrase(HISTORY_UNUSABLE, problem=str(exc).split(",", 1)[0][:120])
            ) from None
        self._take(reply["cursor"], "firstBatch")

    def _take(self, cursor: dict, key: str) -> None:
        self.cursor_id = cursor.get("id", 0)
        self._pending += cursor.get(key, [])
        self._batch_token = cursor.get("postBatchResumeToken")

    def _more(self, wait_ms: int) -> None:
        if not self.cursor_id:
            raise FullReadNeeded(Phrase(STREAM_CLOSED))
        reply = self.files.database.command(
            "getMore",
            self.cursor_id,
            collection=self.files.name,
            maxTimeMS=wait_ms,
            batchSize=GROUP_MAX,
        )
        self._take(reply["cursor"], "nextBatch")

    def next_group(self, idle_wait_ms: int = IDLE_WAIT_MS) -> dict | None:
        """The uploads changed next (`{id: document or None if removed}`), waiting up to
        `idle_wait_ms` for the first; None when nothing came. `self.token` then says where
        the group ends. Raises FullReadNeeded when the collection was dropped or renamed."""
        if not self._pending:
            self._more(idle_wait_ms)
            if not self._pending:
                self.token = self._batch_token or self.token
                return None
        documents: dict = {}
        started = time.monotonic()
        while True:
            while self._pending and len(documents) < GROUP_MAX:
                event = self._pending.pop(0)
                kind = event.get("operationType")
                if kind not in _CHANGES:
                    raise FullReadNeeded(Phrase(COLLECTION_EVENT, event=kind or "change"))
                # Keyed as the index keys it (a document or float `_id` is not a plain key).
                upload_id = upload_key(event["documentKey"].get("_id"))
                documents.pop(upload_id, None)  # the last change of an id wins
                documents[upload_id] = event.get("fullDocument") if kind != "delete" else None
                self.token = event["_id"]
            if self._pending or len(documents) >= GROUP_MAX:
                return documents
            if self._batch_token:
                self.token = self._batch_token
            if time.monotonic() - started >= GATHER_MAX_S:
                return documents
            self._more(GATHER_WAIT_MS)
            if not self._pending:
                if self._batch_token:
                    self.token = self._batch_token
                return documents

    def close(self) -> None:
        """Free the server's cursor (quietly: the server may be what went away)."""
        if self.cursor_id:
            try:
                self.files.database.command(
                    "killCursors", self.files.name, cursors=[self.cursor_id]
                )
            except PyMongoError:
                pass  # best effort: the server may be gone, and then so is the cursor
            self.cursor_id = 0
