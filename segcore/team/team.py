"""The team of segmentadores (`segmentadores` collection): list, add, edit, remove."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import tzinfo
from typing import Callable

from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import (
    N_,
    AmbiguousMember,
    DuplicateMember,
    MemberChanged,
    MemberNotFound,
    ValidationError,
)
from segcore.core.naming import MAX_NAME, clean_name, control_characters, person_key
from segcore.core.timefmt import legacy_timestamp, office_now
from segcore.store import data_version, history
from segcore.store.atomic import in_one_step
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import TEAM

COLLECTION = TEAM
# The history field that keeps a removed member's joining (their `created_at`, as old value).
JOINED_FIELD = "created_at"
DEFAULT_ROLE = "Segmentador"
# What the pages read of a member (`list_members`; `team_edits` watches the same).
MEMBER_FIELDS = {"name": 1, "role": 1, "email": 1, "created_at": 1, "name_key": 1}
MAX_ROLE = 60
# No display name, list or quoting: `Flor <flor@x.org>` or `a@x.org, b@x.org` is refused.
_NOT_IN_ADDRESS = r"@\s<>(),;:\"\[\]\\"
_EMAIL = re.compile(rf"^[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+\.[^{_NOT_IN_ADDRESS}.]+$")


@dataclass(frozen=True)
class Member:
    """A segmentador as stored; legacy documents may lack role, email or a parsable date.

    `id` is the document's `_id`: legacy duplicates (José and Jose) are two documents, and a
    member chosen from a list is acted on by it, never by a name both answer to.
    """

    name: str
    role: str | None
    email: str | None
    created_at: object = None
    id: object = dataclasses.field(default=None, compare=False)

    @classmethod
    def from_document(cls, doc: dict) -> "Member":
        return cls(
            name=str(doc.get("name", "")),
            role=doc.get("role"),
            email=doc.get("email"),
            created_at=doc.get("created_at"),
            id=doc.get("_id"),
        )


# What refuse_control_characters names, per field (marked for the interface's catalog).
_CONTROL_REFUSED = {
    "name": N_("A name may not contain control characters ({characters})."),
    "role": N_("A role may not contain control characters ({characters})."),
    "email": N_("An email address may not contain control characters ({characters})."),
}


def refuse_control_characters(text: str, what: str, field: str) -> str:
    """`text` unchanged, or ValidationError when it holds control characters (ESC, BEL, NUL)."""
    bad = control_characters(text)
    if bad:
        template = (
            _CONTROL_REFUSED.get(field)
            or what + " may not contain control characters ({characters})."
        )
        raise ValidationError(template, characters=", ".join(bad), field=field)
    return text


def validate_name(name: object) -> str:
    """The cleaned name, or ValidationError(field="name")."""
    if not isinstance(name, str) or not clean_name(name):
        raise ValidationError(N_("A name is required."), field="name")
    cleaned = refuse_control_characters(clean_name(name), "A name", "name")
    if len(cleaned) > MAX_NAME:
        raise ValidationError(
            N_("A name has at most {count} characters."), count=MAX_NAME, field="name"
        )
    return cleaned


def validate_role(role: object) -> str:
    """The cleaned role ("Segmentador" when empty), or ValidationError(field="role"). Text of
    only spaces is refused, not taken for the default: it is a mistake (an unset variable)."""
    if isinstance(role, str) and role and not clean_name(role):
        raise ValidationError(
            N_("A role cannot be only spaces; leave it empty for {default}."),
            default=DEFAULT_ROLE,
            field="role",
        )
    cleaned = clean_name(role) if isinstance(role, str) else ""
    refuse_control_characters(cleaned, "A role", "role")
    if len(cleaned) > MAX_ROLE:
        raise ValidationError(
            N_("A role has at most {count} characters."), count=MAX_ROLE, field="role"
        )
    return cleaned or DEFAULT_ROLE


def validate_email(email: object) -> str:
    """The trimmed email ("" when empty: none), or ValidationError(field="email"). Text of only
    spaces is refused, not taken for "no email": removing one is said with an empty value."""
    if isinstance(email, str) and email and not email.strip():
        raise ValidationError(
            N_("An email address cannot be only spaces; to remove the email, leave it empty."),
            field="email",
        )
    cleaned = email.strip() if isinstance(email, str) else ""
    refuse_control_characters(cleaned, "An email address", "email")
    if cleaned and not _EMAIL.match(cleaned):
        raise ValidationError(
            N_("'{value}' is not a valid email address."), value=cleaned, field="email"
        )
    return cleaned


def ensure_indexes(db: Database) -> list[str]:
    """Give legacy members a normalised key and enforce its uniqueness.

    Adds only the `name_key` field, and redoes one an older rule made (before invisible
    characters were ignored, "Flor\u200b" had a key of its own); other fields of legacy
    documents stay as they are. Returns the stored names (as stored) that collide with an
    earlier member or are no name at all (missing, None, blank), which so stay without a key.
    """
    collection = db[COLLECTION]
    docs = list(collection.find({}, {"name": 1, "name_key": 1}))
    wanted = {d["_id"]: person_key(d["name"]) if has_a_name(d.get("name")) else "" for d in docs}
    taken = {d["name_key"] for d in docs if d.get("name_key") == wanted[d["_id"]] != ""}
    collisions = []
    for doc in docs:
        key, stored = wanted[doc["_id"]], doc.get("name_key")
        if "name_key" in doc and (stored == key or not key):
            continue
        where = {"_id": doc["_id"], "name_key": stored if "name_key" in doc else {"$exists": False}}
        if not key or key in taken:
            collisions.append(doc.get("name"))
            if "name_key" in doc:  # its old key would still find it, its name no longer
                collection.update_one(where, {"$unset": {"name_key": ""}})
            continue
        try:
            collection.update_one(where, {"$set": {"name_key": key}})
        except DuplicateKeyError:  # another process gave that key first
            collisions.append(doc.get("name"))
        taken.add(key)
    # Sparse: a legacy duplicate without a key does not block the index.
    collection.create_index("name_key", unique=True, sparse=True)
    return collisions


def has_a_name(value: object) -> bool:
    """False for a stored name that names nobody: missing, None or blank."""
    return value is not None and bool(person_key(value))


def _team_order(doc: dict) -> tuple:
    # Of legacy duplicates, the one holding the name's key (the first added) first.
    return (person_key(str(doc.get("name", ""))), "name_key" not in doc)


def list_members(db: Database, session=None) -> list[Member]:
    """Every segmentador, sorted by name regardless of case and accents; of legacy duplicates
    (José and Jose) the one holding the name's key first: the pages count that person's
    batches for it (`segcore.work.holders`, `holds_batches`). Read through `session` (inside
    its transaction, if any) when given."""
    docs = sorted(db[COLLECTION].find({}, MEMBER_FIELDS, session=session), key=_team_order)
    return [Member.from_document(d) for d in docs]


def holds_batches(members: list[Member], member: Member) -> bool:
    """Whether `member` holds the batches stored under its name's spellings: False for a
    legacy duplicate after the first of its key in team order (`list_members`), as
    `holders.people_by_key` counts them. Pure."""
    key = person_key(member.name)
    first = next((m for m in members if person_key(m.name) == key), None)
    return first is None or first.id == member.id


def name_holds_batches(db: Database, name: str, member_id: object = None) -> bool:
    """`holds_batches` for the member a login names: False only when every member spelled
    `name` is a later legacy duplicate ("Jose" beside "José", added first), whose batches
    every page counts for the first. `member_id`: the member's document, when the login
    recorded it: of two spelled exactly alike ("Luis", "Luis (2)"), that one alone."""
    members = list_members(db)
    if member_id is not None:  # that member alone; gone from the team: nothing
        chosen = [m for m in members if str(m.id) == str(member_id)]
        return bool(chosen) and holds_batches(members, chosen[0])
    mine = [m for m in members if clean_name(m.name) == clean_name(name)]
    return not mine or any(holds_batches(members, m) for m in mine)


def find_member(db: Database, who: "str | Member") -> Member:
    """The member `who` names: a Member (chosen from `list_members`, as the pages choose) by its
    document; a name as typed (the command line) by `pick_by_name`. MemberNotFound, or
    AmbiguousMember for a name legacy duplicates share."""
    return Member.from_document(_find_document(db, who))


def _find_document(db: Database, who: "str | Member", session=None) -> dict:
    if isinstance(who, Member) and who.id is not None:
        doc = db[COLLECTION].find_one({"_id": who.id}, session=session)
        if doc is None:  # removed meanwhile: never another member of that name
            raise MemberNotFound(N_("No segmentador named '{name}'."), name=clean_name(who.name))
        return doc
    typed = who.name if isinstance(who, Member) else who
    docs = _sharing_key(db, typed, session)
    label = numbered_label(str(typed))
    if not docs and label:  # "Luis (2)": the second of those spelled "Luis", as listed
        base, number = label
        alike = [d for d in _sharing_key(db, base, session) if clean_name(d["name"]) == base]
        if len(alike) >= number > 1:
            return alike[number - 1]
    return pick_by_name(docs, str(typed))


def _sharing_key(db: Database, typed: object, session=None) -> list[dict]:
    """The members whose names share `typed`'s person_key, in team order."""
    key = person_key(typed) if isinstance(typed, str) else ""
    if not key:
        return []
    # a legacy duplicate after the first has no key stored: its name's key is computed
    found = db[COLLECTION].find(
        {"$or": [{"name_key": key}, {"name_key": {"$exists": False}}]}, session=session
    )
    docs = [d for d in found if has_a_name(d.get("name")) and person_key(d["name"]) == key]
    return sorted(docs, key=_team_order)


def numbered_label(typed: str) -> tuple[str, int] | None:
    """("Luis", 2) for "Luis (2)", the Team page's label of the second of two members spelled
    exactly alike; None for any other text. Pure."""
    found = re.fullmatch(r"(.*\S) \((\d{1,3})\)", clean_name(typed))
    return (found.group(1), int(found.group(2))) if found else None


AMBIGUOUS = N_(
    "'{name}' could be any of {names}, who have the same name up to case, accents or spacing: "
    "type it exactly as the team list spells it."
)
SAME_SPELLING = N_(
    "{count} team members are called '{name}': choose the one you mean on the Team page, or "
    "name it as the Team page lists it ('{name} (2)' for the second)."
)


def pick_by_name(docs: list[dict], typed: str) -> dict:
    """Of the members whose names share `typed`'s person_key, the one `typed` names: the only
    one, else the one spelled exactly so (up to surrounding spaces), so that "Jose" never acts
    on a legacy duplicate "José". MemberNotFound for none; AmbiguousMember, naming them, when
    the spelling chooses none or several. Pure."""
    if not docs:
        raise MemberNotFound(N_("No segmentador named '{name}'."), name=clean_name(typed))
    if len(docs) == 1:
        return docs[0]
    exact = [d for d in docs if clean_name(str(d["name"])) == clean_name(typed)]
    if len(exact) == 1:
        return exact[0]
    if exact:
        raise AmbiguousMember(SAME_SPELLING, count=len(exact), name=clean_name(typed))
    names = ", ".join(f"'{clean_name(str(d['name']))}'" for d in docs)
    raise AmbiguousMember(AMBIGUOUS, name=clean_name(typed), names=names)


def add_member(
    db: Database,
    name: str,
    role: str | None = None,
    email: str | None = None,
    author: "str | Actor" = "unknown",
    zone: tzinfo | None = None,
) -> Member:
    """Add a segmentador; raise ValidationError or DuplicateMember (case/accent/space-blind).
    Their join time is the office's (`zone`, the TIMEZONE setting; None: the server's), in the
    legacy form, read back as the day it names (the first day they are paced over)."""
    author = authorize_write(author)
    refuse_writes(db)
    cleaned = validate_name(name)
    doc = {
        "name": cleaned,
        "role": validate_role(role),
        "email": validate_email(email),
        "created_at": legacy_timestamp(office_now(zone)),
        "name_key": person_key(cleaned),
    }
    added = history.Change("team", cleaned, "member", None, "added", author)

    def write(session) -> None:
        db[COLLECTION].insert_one(dict(doc), session=session)
        history.record(db, [added], session=session)

    try:
        in_one_step(db, write)
    except DuplicateKeyError:
        existing = db[COLLECTION].find_one({"name_key": doc["name_key"]}, {"name": 1}) or {}
        raise DuplicateMember(
            N_("'{name}' is already on the team."), name=existing.get("name", cleaned), field="name"
        ) from None
    data_version.bump(db, "team")
    return Member.from_document(doc)


# What a refused edit says, per field: someone else changed it since the form showed it.
_CHANGED_MEANWHILE = {
    "role": N_(
        "Not saved: someone else changed the role meanwhile, to '{now}'; you typed "
        "'{wanted}'. Save again to replace it."
    ),
    "email": N_(
        "Not saved: someone else changed the email meanwhile, to '{now}'; you typed "
        "'{wanted}'. Save again to replace it."
    ),
}


def edit_member(
    db: Database,
    who: "str | Member",
    role: str | None = None,
    email: str | None = None,
    author: "str | Actor" = "unknown",
    seen: dict[str, object] | None = None,
) -> Member:
    """Change a member's role and/or email (None leaves a field as it is); `who` as for
    `find_member`.

    Each field given is a compare-and-set on `seen[field]`, the stored value the user's form
    showed, where given, else on the value read now (the command line): one someone else
    changed meanwhile raises MemberChanged (naming it, the value now stored and the one typed)
    and nothing is written. A field already holding the value asked is left alone.
    """
    author = authorize_write(author)
    refuse_writes(db)
    wanted: dict[str, str] = {}
    if role is not None:
        wanted["role"] = validate_role(role)
    if email is not None:
        wanted["email"] = validate_email(email)
    seen = seen or {}

    def write(session) -> tuple[dict, dict]:
        doc = _find_document(db, who, session)
        expected = {f: seen[f] if f in seen else doc.get(f) for f in wanted}
        _refuse_changed(doc, expected, wanted)
        changes = {f: v for f, v in wanted.items() if doc.get(f) != v}
        if changes:
            where = {"_id": doc["_id"], **{f: doc.get(f) for f in changes}}
            if (
                not db[COLLECTION]
                .update_one(where, {"$set": changes}, session=session)
                .matched_count
            ):
                _refuse_changed(db[COLLECTION].find_one({"_id": doc["_id"]}) or {}, where, changes)
            edited = [
                history.Change("team", doc["name"], f, doc.get(f), v, author)
                for f, v in changes.items()
            ]
            history.record(db, edited, session=session)
        return doc, changes

    doc, changes = in_one_step(db, write)
    if changes:
        data_version.bump(db, "team")
        doc.update(changes)
    return Member.from_document(doc)


def _refuse_changed(doc: dict, expected: dict, wanted: dict) -> None:
    """MemberChanged for the first field of `wanted` that `doc` holds with neither the value
    expected nor the one wanted (someone else's)."""
    for field, value in wanted.items():
        now = doc.get(field)
        if now != expected[field] and now != value:
            raise MemberChanged(
                _CHANGED_MEANWHILE[field],
                field=field,
                stored=now,
                now="" if now is None else str(now),
                wanted=value,
            )


def delete_member(
    db: Database,
    who: "str | Member",
    author: "str | Actor" = "unknown",
    first: "Callable[[ClientSession | None], None] | None" = None,
) -> str:
    """Delete the member `who` names (as for `find_member`) and record it; returns the stored
    name.

    Their batches are not looked at here: `handover.remove_member` hands them over first, and
    passes `first(session)`, run in the same step just before the deletion (in its
    transaction, where the server offers them): what it raises stops the deletion. It may run
    more than once (see `atomic.in_one_step`). PermissionDenied for a viewer, before anything
    is read or written.
    """
    author = authorize_write(author)
    refuse_writes(db)
    doc = _find_document(db, who)
    # The joining goes with the document: kept in the history (JOINED_FIELD, its old value),
    # a former member's pace still counts from it (`handover.former_joinings`).
    joined = (
        [history.Change("team", doc["name"], JOINED_FIELD, doc["created_at"], None, author)]
        if doc.get("created_at") is not None
        else []
    )
    removed = history.Change("team", doc["name"], "member", "on team", "removed", author)

    def write(session) -> None:
        if first is not None:
            first(session)
        db[COLLECTION].delete_one({"_id": doc["_id"]}, session=session)
        history.record(db, [*joined, removed], session=session)

    in_one_step(db, write)
    data_version.bump(db, "team")
    return doc["name"]
