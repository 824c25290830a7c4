"""A member leaves the team: their open batches are unassigned or reassigned, never orphaned.

Above both `team` and `batches`, so neither has to import the other's writes.
"""

from __future__ import annotations

from pymongo.database import Database

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import N_, ValidationError
from segcore.core.naming import person_key
from segcore.store.schema import HISTORY
from segcore.team import auth, team
from segcore.work import assignments, batches


def remove_member(
    db: Database,
    name: str,
    *,
    unassign: bool = False,
    reassign_to: str | None = None,
    author: "str | Actor" = "unknown",
) -> int:
    """Remove a member after handing over their open batches.

    Returns how many open batches were handed over. Raises ValidationError when the member has
    open batches and neither `unassign` nor `reassign_to` was chosen, or when some of them
    changed meanwhile (then nobody is removed); MemberNotFound for an unknown name.
    """
    author = authorize_write(author)
    member_name = team.find_member(db, name).name
    if unassign and reassign_to:
        raise ValidationError(N_("Choose either to unassign or to reassign, not both."))
    target = None
    if reassign_to:
        target = team.find_member(db, reassign_to).name
        if person_key(target) == person_key(member_name):
            raise ValidationError(
                N_("Reassign to someone else than the person being removed."), field="reassign_to"
            )
    open_ids = batches.open_batch_ids(db, member_name)
    if open_ids and not (unassign or target):
        raise ValidationError(
            N_(
                "{name} has {count} open batches: choose to unassign them or to reassign them "
                "to someone."
            ),
            name=member_name,
            count=len(open_ids),
            field="open_batches",
        )
    if open_ids:
        result = assignments.assign(db, open_ids, target, author=author)
        if result.conflicts:
            raise ValidationError(
                N_(
                    "{count} of {name}'s batches changed meanwhile, so {name} "
                    "was not removed. Try again."
                ),
                count=len(result.conflicts),
                name=member_name,
            )
    team.delete_member(db, member_name, author)
    auth.remove_member_logins(db, member_name)  # their own page is gone with them
    return len(open_ids)


def former_members(db: Database) -> set[str]:
    """Names removed from the team (per the history) who are not on it again now."""
    removed = db[HISTORY].distinct("key", {"kind": "team", "field": "member", "new": "removed"})
    current = {person_key(m.name) for m in team.list_members(db)}
    return {str(name) for name in removed if person_key(str(name)) not in current}


def move_open_batches(
    db: Database, former: str, to: str | None, author: "str | Actor" = "unknown"
) -> batches.ChangeResult:
    """Hand the open batches someone not on the team still holds to a member (None unassigns).

    Compare-and-set like every assignment: a batch changed meanwhile is reported, not moved.
    Raises MemberNotFound when `to` is not on the team, PermissionDenied for a viewer.
    """
    authorize_write(author)
    target = team.find_member(db, to).name if to else None
    return assignments.assign(db, batches.open_batch_ids(db, former), target, author)
