"""Optional login: app users with bcrypt-hashed passwords, roles, lockout and session expiry.

Users live in the app's database (`app_users`), so every app instance agrees on them and on
lockouts. Passwords are never stored or logged, only their bcrypt hashes.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import bcrypt
from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure

from segcore.core.actors import ROLES, SEGMENTADOR, Actor, authorize_write
from segcore.core.errors import N_, AccountLocked, LoginFailed, MemberNotFound, ValidationError
from segcore.core.naming import clean_name, control_characters, person_key
from segcore.core.timefmt import office_time, utcnow, zone_name
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import APP_USERS, LOGIN_ATTEMPTS
from segcore.team import sessions, team

COLLECTION = APP_USERS
WRONG = N_("Wrong user name or password.")
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD_BYTES = 72


@functools.cache
def _dummy_hash() -> bytes:
    # Checked against when the user name is unknown, so both failures take as long. Computed on
    # first use, not at import: a bcrypt hash costs a third of a second of every CLI start.
    return bcrypt.hashpw(b"not a real password", bcrypt.gensalt())


@dataclass(frozen=True)
class AppUser:
    name: str | None  # None: a login document stored without one (another tool's)
    role: str | None
    created_at: datetime | None = None
    locked_until: datetime | None = None
    member: str | None = None  # the team member a segmentador's login belongs to


def ensure_indexes(db: Database) -> None:
    db[COLLECTION].create_index("name_key", unique=True)
    db[COLLECTION].create_index("member_key", sparse=True)
    sessions.ensure_indexes(db)
    try:
        db[LOGIN_ATTEMPTS].create_index("expire_at", expireAfterSeconds=0)
    except OperationFailure:
        pass  # without TTL indexes, stale attempts stay but no longer lock anything


def _validate(name: object, role: str | None = None, password: str | None = None) -> str:
    if not isinstance(name, str) or not clean_name(name):
        raise ValidationError(N_("A user name is required."), field="name")
    bad = control_characters(clean_name(name))
    if bad:
        raise ValidationError(
            N_("A user name may not contain control characters ({characters})."),
            characters=", ".join(bad),
            field="name",
        )
    if role is not None and role not in ROLES:
        raise ValidationError(
            N_("Role must be one of {roles}."), roles=", ".join(ROLES), field="role"
        )
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValidationError(
            N_("A password has at least {count} characters."), count=MIN_PASSWORD, field="password"
        )
    if password is not None and len(password.encode()) > MAX_PASSWORD_BYTES:
        # bcrypt reads only the first 72 bytes: a longer one would not be checked in full.
        raise ValidationError(
            N_("A password has at most {count} bytes (about {count} letters without accents)."),
            count=MAX_PASSWORD_BYTES,
            field="password",
        )
    return clean_name(name)


def _hash(password: str) -> bytes:
    # _validate has refused a password over MAX_PASSWORD_BYTES: bcrypt reads it in full.
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt())


def _password_matches(password: object, stored: bytes) -> bool:
    # A typed password longer than any that can be stored is never the right one: comparing
    # its first 72 bytes (all bcrypt reads) would let anything typed after them in.
    typed = password.encode() if isinstance(password, str) else b""
    if not typed or len(typed) > MAX_PASSWORD_BYTES:
        bcrypt.checkpw(b"x", _dummy_hash())  # as long as checking a real password
        return False
    return bcrypt.checkpw(typed, stored)


def add_user(
    db: Database,
    name: str,
    role: str,
    password: str,
    member: "str | team.Member | None" = None,
    author: "str | Actor" = "command line",
) -> AppUser:
    """Create a login; raise ValidationError for a bad name, role, short password or duplicate.

    A `segmentador` login belongs to one team member (`member`, required: a name, or a Member
    chosen from a list; MemberNotFound when nobody on the team has that name, or the member
    chosen was removed); the other roles belong to nobody. PermissionDenied when
    `author` may not write.
    """
    authorize_write(author)
    refuse_writes(db)
    cleaned = _validate(name, role, password)
    linked = _linked_member(db, role, member)
    doc = {
        "name": cleaned,
        "name_key": person_key(cleaned),
        "role": role,
        "password_hash": _hash(password),
        "created_at": utcnow(),
        "failures": [],
    }
    if linked:  # its document too: of two members spelled alike, the one chosen
        doc.update(member=linked.name, member_key=person_key(linked.name), member_id=linked.id)
    try:
        db[COLLECTION].insert_one(doc)
    except DuplicateKeyError:
        raise ValidationError(
            N_("A user named '{name}' already exists."), name=cleaned, field="name"
        ) from None
    return AppUser(cleaned, role, doc["created_at"], member=linked.name if linked else None)


def _linked_member(
    db: Database, role: str, member: "str | team.Member | None"
) -> "team.Member | None":
    """The team member a segmentador login belongs to (None for the other roles).

    `member`: a name as typed, or a Member chosen from a list (found by its document: one
    removed meanwhile is MemberNotFound, never another of that name; one of two legacy
    members spelled exactly alike is told apart so)."""
    if role != SEGMENTADOR:
        if member:
            raise ValidationError(
                N_("Only a segmentador login belongs to a team member."), field="member"
            )
        return None
    if isinstance(member, team.Member):
        return team.find_member(db, member)
    if not isinstance(member, str) or not member.strip():
        raise ValidationError(
            N_("A segmentador login needs the team member it belongs to."), field="member"
        )
    return team.find_member(db, member)


def member_logins(db: Database, member: str) -> list[str]:
    """The names of the segmentador logins that belong to team member `member`."""
    return sorted(
        (d["name"] for d in db[COLLECTION].find({"member_key": person_key(member)}, {"name": 1})),
        key=person_key,
    )


def logins_of(db: Database, member: team.Member) -> list[str]:
    """The names of the segmentador logins that belong to `member`, a document on the team.

    A login is linked by its member's name key, which legacy duplicates (José and Jose) share:
    it belongs to the one its stored member name spells (`login_owner`), never to both.
    """
    key = person_key(member.name)
    sharing = [m for m in team.list_members(db) if person_key(m.name) == key]
    docs = db[COLLECTION].find({"member_key": key}, {"name": 1, "member": 1, "member_id": 1})
    mine = [
        d["name"]
        for d in docs
        if login_owner(d.get("member"), sharing, d.get("member_id")) == member.id
    ]
    return sorted(mine, key=person_key)


def login_owner(linked: object, sharing: list[team.Member], member_id: object = None) -> object:
    """The id of the member a login linked to `linked` (its stored member name) belongs to, of
    `sharing` (the members with that name's key, in team order): the one whose document the
    login recorded (`member_id`, when it is still on the team), else the one spelled exactly
    so, else the first, who holds the key and the batches. Pure."""
    recorded = [m.id for m in sharing if member_id is not None and str(m.id) == str(member_id)]
    if recorded:
        return recorded[0]
    spelled = [m for m in sharing if clean_name(m.name) == clean_name(str(linked))]
    chosen = (spelled or sharing)[:1]
    return chosen[0].id if chosen else None


def member_id_text(login: dict) -> str | None:
    """The member's document id a login recorded, as `Actor.member_id` holds it."""
    member_id = login.get("member_id")
    return None if member_id is None else str(member_id)


def remove_logins(db: Database, names: list[str]) -> None:
    """Delete these logins (of a member who left the team) and end their sessions."""
    for name in names:
        db[COLLECTION].delete_one({"name_key": person_key(name)})
        sessions.end_all_sessions(db, name)


def set_password(
    db: Database, name: str, password: str, author: "str | Actor" = "command line"
) -> None:
    """Change a user's password, lift any lockout and end every session of theirs."""
    authorize_write(author)
    refuse_writes(db)
    _validate(name, password=password)
    result = db[COLLECTION].update_one(
        {"name_key": person_key(name)},
        {"$set": {"password_hash": _hash(password), "failures": [], "locked_until": None}},
    )
    if not result.matched_count:
        raise MemberNotFound(N_("No user named '{name}'."), name=clean_name(name))
    sessions.end_all_sessions(db, name)


def set_language(db: Database, name: str, language: str) -> None:
    """Remember a user's interface language (a plain code such as "es"; checked by the caller
    against the languages the interface offers)."""
    db[COLLECTION].update_one({"name_key": person_key(name)}, {"$set": {"language": language}})


def user_language(db: Database, name: str) -> str | None:
    """The interface language a user chose last, or None."""
    doc = db[COLLECTION].find_one({"name_key": person_key(name)}, {"language": 1})
    language = (doc or {}).get("language")
    return language if isinstance(language, str) else None


def remove_user(db: Database, name: str, author: "str | Actor" = "command line") -> None:
    """Delete a login and end every session of theirs; PermissionDenied for a viewer."""
    authorize_write(author)
    refuse_writes(db)
    if not db[COLLECTION].delete_one({"name_key": person_key(str(name))}).deleted_count:
        raise MemberNotFound(N_("No user named '{name}'."), name=clean_name(str(name)))
    sessions.end_all_sessions(db, str(name))


def list_users(db: Database) -> list[AppUser]:
    """Every login, sorted by name, as stored: a field another tool or a hand edit left out
    (`name`, `role`) is None, never a KeyError that hides the other logins."""
    docs = db[COLLECTION].find(
        {}, {"name": 1, "role": 1, "created_at": 1, "locked_until": 1, "member": 1}
    )
    return sorted(
        (
            AppUser(
                d.get("name"),
                d.get("role"),
                d.get("created_at"),
                d.get("locked_until"),
                d.get("member"),
            )
            for d in docs
        ),
        key=lambda u: "" if u.name is None else person_key(u.name),
    )


def authenticate(
    db: Database, name: str, password: str, now: datetime | None = None, zone=None
) -> Actor:
    """The Actor for a correct name and password.

    Raises LoginFailed (the same message whether the name or the password is wrong) and
    AccountLocked after MAX_FAILURES failures within FAILURE_WINDOW, for LOCKOUT. Failures of
    names that are not users count and lock the same way (in `login_attempts`, by hash), so
    neither message nor lockout tells whether a name exists. `zone`: the office's time zone
    for the time in the lockout message.
    """
    now = now or utcnow()
    key = person_key(name) if isinstance(name, str) else ""
    doc = db[COLLECTION].find_one({"name_key": key}) if key else None
    if doc is None:
        if not key:
            raise LoginFailed(WRONG)
        attempts, where = db[LOGIN_ATTEMPTS], {"_id": _name_hash(key)}
        _refuse_if_locked((attempts.find_one(where) or {}).get("locked_until"), now, zone)
        bcrypt.checkpw(b"x", _dummy_hash())  # as long as checking a real password
        _count_failure(attempts, where, now, zone, upsert=True)
    _refuse_if_locked(doc.get("locked_until"), now, zone)
    if _password_matches(password, doc["password_hash"]):
        db[COLLECTION].update_one(
            {"_id": doc["_id"]}, {"$set": {"failures": [], "locked_until": None, "last_login": now}}
        )
        return Actor(doc["name"], doc["role"], doc.get("member"), member_id_text(doc))
    _count_failure(db[COLLECTION], {"_id": doc["_id"]}, now, zone)


def _name_hash(key: str) -> str:
    # A name that is not a user may be a password typed in the wrong box: never store it.
    return hashlib.sha256(key.encode()).hexdigest()


def _locked(until: datetime, zone) -> AccountLocked:
    return AccountLocked(
        N_("Too many failed attempts: try again after {time} ({zone})."),
        time=office_time(until, zone, "%H:%M"),
        zone=zone_name(zone),
    )


def _refuse_if_locked(locked_until: datetime | None, now: datetime, zone) -> None:
    if locked_until and locked_until > now:
        raise _locked(locked_until, zone)


def _count_failure(collection, where: dict, now: datetime, zone, upsert: bool = False):
    """Record a failure; raise AccountLocked when it is one too many, else LoginFailed.

    One atomic $push: a read-modify-write would let parallel attempts (several app instances,
    or threads) overwrite each other's counts and never lock.
    """
    change: dict = {"$push": {"failures": {"$each": [now], "$slice": -MAX_FAILURES}}}
    if upsert:  # a record of attempts on a non-user goes away on its own (TTL index)
        change["$set"] = {"expire_at": now + FAILURE_WINDOW + LOCKOUT}
    after = (
        collection.find_one_and_update(
            where,
            change,
            projection={"failures": 1},
            upsert=upsert,
            return_document=ReturnDocument.AFTER,
        )
        or {}
    )
    recent = [t for t in after.get("failures", []) if t > now - FAILURE_WINDOW]
    if len(recent) >= MAX_FAILURES:
        collection.update_one(where, {"$set": {"failures": [], "locked_until": now + LOCKOUT}})
        raise _locked(now + LOCKOUT, zone)
    raise LoginFailed(WRONG)


def session_expired(started_at: datetime | None, now: datetime, minutes: int) -> bool:
    """True when a session started at `started_at` is older than `minutes` (or never started)."""
    return started_at is None or now - started_at > timedelta(minutes=minutes)
