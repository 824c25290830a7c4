"""Which collections of the app's database a backup holds, and the options it keeps of them.

Not backed up: the leases (they describe processes running now), a restore's own bookkeeping
and staging copies, and the batch rows a restarted app starts from (made again after a
restore). Nor views, another tool's: they hold no documents of their own, and a restore leaves
them as they are. A capped collection's size and maximum are kept: it comes back capped.
"""

from __future__ import annotations

from pymongo.database import Database

from segcore.backups.backup_indexes import index_key, index_specs
from segcore.store.schema import (
    LOCKS,
    RESTORE_PREVIOUS,
    RESTORE_STAGING,
    RESTORE_STATE,
    ROW_SNAPSHOT,
)

SKIPPED = (LOCKS, RESTORE_STATE, ROW_SNAPSHOT)
KEPT_OPTIONS = ("capped", "size", "max")


def collection_options(db: Database, kind: str = "collection") -> dict[str, dict]:
    """{name: the options a backup keeps} of `db`'s collections of this kind ("collection"
    or "view") that a backup may hold."""
    return {
        info["name"]: {k: v for k, v in info.get("options", {}).items() if k in KEPT_OPTIONS}
        for info in db.list_collections()
        if info.get("type", "collection") == kind
        and not info["name"].startswith(("system.", RESTORE_STAGING, RESTORE_PREVIOUS))
        and info["name"] not in SKIPPED
    }


def backed_up_collections(db: Database) -> list[str]:
    """The collections a backup holds and a restore replaces (not views)."""
    return sorted(collection_options(db))


def views(db: Database) -> list[str]:
    """The views in `db`, which no backup holds and no restore replaces."""
    return sorted(collection_options(db, "view"))


def valid_options(options: object) -> bool:
    """A header's collection options in shape: {collection: {"capped": true, "size": bytes,
    "max": documents}} (none in a file written before they were)."""
    return isinstance(options, dict) and all(
        isinstance(given, dict)
        and given.get("capped") is True
        and set(given) <= set(KEPT_OPTIONS)
        and all(
            isinstance(given[k], int) and not isinstance(given[k], bool) and given[k] > 0
            for k in ("size", "max")
            if k in given
        )
        for given in options.values()
    )


def copy_capped(db: Database, source: str, name: str, chunk_size: int = 500) -> None:
    """Put capped collection `source` in place as `name` by copying it into a new capped one
    (with its indexes), then dropping it: some servers (the embedded one) drop the cap when
    they rename a collection. A restore swaps a capped staging copy in so, undone like a
    rename."""
    staged = db[source]
    options = {k: v for k, v in staged.options().items() if k in KEPT_OPTIONS}
    db.drop_collection(name)  # only an empty one can be there (see the restore's dropTarget)
    db.create_collection(name, **options)
    for spec in index_specs(staged):
        extra = {k: v for k, v in spec.items() if k not in ("key", "name")}
        db[name].create_index(index_key(spec), name=spec["name"], **extra)
    chunk: list[dict] = []
    for doc in staged.find():  # in insertion order: a capped collection keeps it
        chunk.append(doc)
        if len(chunk) >= chunk_size:
            db[name].insert_many(chunk, ordered=True)
            chunk = []
    if chunk:
        db[name].insert_many(chunk, ordered=True)
    staged.drop()
