"""A sync never runs into an app database that is not the team's: a misspelt MONGO_DB.

MongoDB creates a database on its first write, so a typo in MONGO_DB (`segmentacion_dbb`) gives
an empty app database: a sync there called every upload an orphan, wrote a receipt "names no
batch" for each and exited 0, a cron job's success. An app database that holds no batch and
was never synced, while uploads exist, is refused instead, naming the databases of the server
that do hold batches. A database synced before (its batches removed since) and a new lab with
nothing uploaded go ahead.
"""

from __future__ import annotations

from pymongo.errors import PyMongoError

from segcore.core.errors import N_, ConfigError
from segcore.store.connection import Databases
from segcore.store.schema import BATCHES
from segcore.sync.records.sync_state import SyncState

NO_BATCHES = N_(
    "The database '{database}' holds no batches and was never synced, yet uploads exist: "
    "check MONGO_DB, or import the batch list first. The sync changed nothing."
)
NO_BATCHES_BUT_ELSEWHERE = N_(
    "The database '{database}' holds no batches and was never synced, yet uploads exist: "
    "check MONGO_DB (the databases on this server holding batches: {others}), or import the "
    "batch list first. The sync changed nothing."
)
SYSTEM_DATABASES = ("admin", "config", "local")
OTHERS_SHOWN = 10


def require_batch_list(databases: Databases) -> None:
    """Raise ConfigError when the app database holds no batch, no sync ran in it, and the
    uploads collection holds uploads. Costs one read of the sync's state on a database synced
    before; never writes."""
    if SyncState(databases.work).read("_id"):
        return
    if databases.work[BATCHES].estimated_document_count():
        return
    if not databases.masks_files.estimated_document_count():
        return
    others = _holding_batches(databases)
    if not others:
        raise ConfigError(NO_BATCHES, database=databases.work.name)
    shown = ", ".join(others[:OTHERS_SHOWN]) + (", …" if len(others) > OTHERS_SHOWN else "")
    raise ConfigError(NO_BATCHES_BUT_ELSEWHERE, database=databases.work.name, others=shown)


def _holding_batches(databases: Databases) -> list[str]:
    """The other databases of the server with a non-empty `batches` collection; none when the
    user may not list databases."""
    skip = {*SYSTEM_DATABASES, databases.work.name, databases.training.name}
    try:
        names = databases.client.list_database_names()
    except PyMongoError:
        return []
    found = []
    for name in sorted(n for n in names if n not in skip):
        try:
            if databases.client[name][BATCHES].estimated_document_count():
                found.append(name)
        except PyMongoError:
            continue
    return found
