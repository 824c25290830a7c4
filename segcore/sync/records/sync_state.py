"""The sync's state document: one owner for what a sync remembers between runs.

It lives in `app_meta` under the id `"sync"` and holds the resume point (`token`), the stamp of
the batch list the index was compared with (`generation`, `batch_count`, `namespace`), the
index's completeness (`index_ok`), the count of uploads (`total_files`), when everything was last
read (`last_full_at`), per-uploader activity (`uploaders`), the mark of the read models it
counts on (`models_group`), the last successful run (`last_ok_run`) and the database server's
process when the saved run started (`server_process`: another one now may have lost its writes). Every read and write of
it goes through `SyncState`, so its id and fields are named here only.
"""

from __future__ import annotations

from pymongo.database import Database

from segcore.store.schema import META, SYNC_STATE


class SyncState:
    """The sync's state document in the app database `work`."""

    ID = SYNC_STATE
    PROCESS = "server_process"

    def __init__(self, work: Database):
        self.collection = work[META]

    def read(self, *fields: str) -> dict:
        """The stored state ({} before the first sync); only `fields` when given."""
        projection = dict.fromkeys(fields, 1) if fields else None
        return self.collection.find_one({"_id": self.ID}, projection) or {}

    def save(self, fields: dict) -> None:
        """Set `fields` (nothing to do for none)."""
        if fields:
            self.collection.update_one({"_id": self.ID}, {"$set": fields}, upsert=True)

    def uploaders(self) -> list[dict] | None:
        """Per-uploader activity as the last sync saved it, or None when absent or malformed."""
        saved = self.read("uploaders").get("uploaders")
        if isinstance(saved, list) and all(isinstance(p, dict) for p in saved):
            return saved
        return None

    def last_ok_run(self):
        """The id of the last successful run, or None."""
        return self.read("last_ok_run").get("last_ok_run")

    def with_document(self, other_id: str, projection: dict) -> tuple[dict, dict]:
        """This state and another `app_meta` document in one read: (state, other)."""
        docs = {
            d["_id"]: d
            for d in self.collection.find({"_id": {"$in": [other_id, self.ID]}}, projection)
        }
        return docs.get(self.ID) or {}, docs.get(other_id) or {}
