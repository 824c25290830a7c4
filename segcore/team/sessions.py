"""Login sessions that survive a reload or a new tab: a random token in a browser cookie.

Only the token's SHA-256 is stored (`app_sessions`), so a copy of the database logs nobody in.
A session ends when it expires, when its user logs out (that session), or when the user's
password changes or the user is removed (all their sessions, everywhere).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from pymongo.database import Database
from pymongo.errors import OperationFailure

from segcore.core.actors import Actor
from segcore.core.naming import person_key
from segcore.core.timefmt import utcnow
from segcore.store.schema import APP_SESSIONS, APP_USERS

COLLECTION = APP_SESSIONS
TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    """What is stored for a token: its SHA-256 (the token is random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_indexes(db: Database) -> None:
    db[COLLECTION].create_index("token_hash", unique=True)
    db[COLLECTION].create_index("name_key")
    try:
        # Expired sessions are refused anyway; the TTL index only tidies them away.
        db[COLLECTION].create_index("expires_at", expireAfterSeconds=0)
    except OperationFailure:
        pass  # a server without TTL indexes keeps expired, useless documents


def start_session(
    db: Database, actor: Actor, minutes: int, now: datetime | None = None
) -> tuple[str, datetime]:
    """A new session for `actor`: (the token for the cookie, when it expires, UTC)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = now + timedelta(minutes=minutes)
    db[COLLECTION].insert_one(
        {
            "token_hash": token_hash(token),
            "name_key": person_key(actor.name),
            "started_at": now,
            "expires_at": expires,
        }
    )
    return token, expires


def resume_session(
    db: Database, token: object, now: datetime | None = None
) -> tuple[Actor, datetime] | None:
    """(who, when the session started) for a live token; None for an unknown, ended or expired
    one, or when the user no longer exists. The role is read afresh from the user."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    now = now or utcnow()
    found = db[COLLECTION].find_one({"token_hash": token_hash(token)})
    if found is None or found["expires_at"] <= now:
        return None
    user = db[APP_USERS].find_one(
        {"name_key": found["name_key"]}, {"name": 1, "role": 1, "member": 1, "member_id": 1}
    )
    if user is None:
        return None
    member_id = None if user.get("member_id") is None else str(user["member_id"])
    actor = Actor(user["name"], user["role"], user.get("member"), member_id)
    return actor, found["started_at"]


def end_session(db: Database, token: object) -> None:
    """Log out this session (other tabs sharing its cookie too)."""
    if isinstance(token, str) and token:
        db[COLLECTION].delete_one({"token_hash": token_hash(token)})


def end_all_sessions(db: Database, name: str) -> int:
    """End every session of user `name`, in every browser; returns how many."""
    return db[COLLECTION].delete_many({"name_key": person_key(name)}).deleted_count
