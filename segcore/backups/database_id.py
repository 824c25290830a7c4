"""This database's own id: made once, kept in `app_meta`, written into every backup's header.

A database's name tells nothing of which one it is: a production server and a staging copy
(or two labs) both keep the default `segmentacion_db`, and back up into one shared folder.
`backup --keep` deletes only backups whose header carries this id, never another server's.
A restore keeps the id of the database it restores into (segcore.backups.backup_restore): a
staging copy restored from production's backup stays staging, and never rotates production's.

The id is a document inside the data, so a copy made any other way (the embedded server's data
folder copied, `mongodump` and `mongorestore`) carries it too. So each backup also names the
server it was taken on (`server_identity`), and `--keep` deletes only backups of this id taken
on this very server: a copy on another server never rotates the original's backups. The
embedded server is named by its storage folder, not its port: restarted on another port (its
last one taken), it is the same server; a copy of its folder elsewhere is not.
"""

from __future__ import annotations

import uuid

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from segcore.core.timefmt import utcnow
from segcore.store import embedded
from segcore.store.schema import META

DATABASE_ID = "database_id"  # the `app_meta` document holding it


def server_identity(db: Database) -> str:
    """The server `db` lives on, as written into a backup: for the embedded server (SecantusDB,
    on this machine), its storage folder, which it keeps when a restart takes another port, while
    a copy of the folder elsewhere is another server; else a replica set's name and members (the
    same after a failover), else the address it answers on."""
    return server_identities(db)[0]


def server_identities(db: Database) -> tuple[str, ...]:
    """server_identity, then the one earlier versions wrote for the same server when another
    (the embedded server's name and port): a backup naming either was taken on this server."""
    try:
        hello = db.client.admin.command("hello")
    except PyMongoError:
        hello = {}
    address = db.client.address
    hosts = hello.get("hosts")
    if hello.get("setName") and isinstance(hosts, list) and hosts:
        named = f"{hello['setName']}/{','.join(sorted(str(h) for h in hosts))}"
    elif hello.get("me"):
        named = str(hello["me"])
    else:
        named = f"{address[0]}:{address[1]}" if address else "?"
    folder = (
        embedded.storage_of(address[1])
        if address and address[0] in ("127.0.0.1", "localhost", "::1")
        else None
    )
    return (str(folder), named) if folder else (named,)


def read_database_id(db: Database) -> str | None:
    """The id, or None before the first backup made one (read only)."""
    found = db[META].find_one({"_id": DATABASE_ID}) or {}
    value = found.get("id")
    return value if isinstance(value, str) and value else None


def database_id(db: Database) -> str:
    """This database's id, made (a random UUID) the first time a backup asks for it."""
    found = read_database_id(db)
    if found:
        return found
    made = {"id": uuid.uuid4().hex, "made_at": utcnow()}
    try:  # $setOnInsert: of two backups making it at once, the first one's holds
        db[META].update_one({"_id": DATABASE_ID}, {"$setOnInsert": made}, upsert=True)
    except DuplicateKeyError:
        pass
    found = read_database_id(db)
    if found is None:  # a document there, its id not one (edited by hand): made anew
        db[META].update_one({"_id": DATABASE_ID}, {"$set": made})
        found = made["id"]
    return found
