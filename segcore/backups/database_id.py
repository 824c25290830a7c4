"""This database's own id: made once, kept in `app_meta`, written into every backup's header.

A database's name tells nothing of which one it is: a production server and a staging copy
(or two labs) both keep the default `segmentacion_db`, and back up into one shared folder.
`backup --keep` deletes only backups whose header carries this id, never another server's.
A restore keeps the id of the database it restores into (segcore.backups.backup_restore): a
staging copy restored from production's backup stays staging, and never rotates production's.

The id is a document inside the data, so a copy made any other way (the embedded server's data
folder copied, `mongodump` and `mongorestore`) carries it too. So each backup also names the
server it was taken on (`server_identity`), and `--keep` deletes only backups of this id taken
on this very server: a copy on another server never rotates the original's backups.
"""

from __future__ import annotations

import uuid

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from segcore.core.timefmt import utcnow
from segcore.store.schema import META

DATABASE_ID = "database_id"  # the `app_meta` document holding it


def server_identity(db: Database) -> str:
    """The server `db` lives on, as it names itself: a replica set's name and members (the same
    after a failover), else the address it answers on. Another server holding a copy of the
    data (on another port, another machine) names itself otherwise."""
    try:
        hello = db.client.admin.command("hello")
    except PyMongoError:
        hello = {}
    hosts = hello.get("hosts")
    if hello.get("setName") and isinstance(hosts, list) and hosts:
        return f"{hello['setName']}/{','.join(sorted(str(h) for h in hosts))}"
    if hello.get("me"):
        return str(hello["me"])
    address = db.client.address
    return f"{address[0]}:{address[1]}" if address else "?"


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
