"""A member leaves the team: their open batches are unassigned or reassigned, never orphaned.

Above both `team` and `batches`, so neither has to import the other's writes.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from pymongo.database import Database

from segcore.core.actors import Actor, authorize_write
from segcore.core.errors import N_, NameWouldPass, ValidationError
from segcore.core.naming import person_key
from segcore.core.phrases import Phrase
from segcore.store.restore_marker import refuse_writes
from segcore.store.schema import HISTORY
from segcore.team import auth, team
from segcore.work import assignments, batches
from segcore.work.holders import same_person


def remove_member(
    db: Database,
    who: "str | team.Member",
    *,
    unassign: bool = False,
    reassign_to: "str | team.Member | None" = None,
    author: "str | Actor" = "unknown",
    zone: tzinfo | None = None,
) -> int:
    """Remove a member after handing over their open batches.

    `who` as for `team.find_member`: the member chosen on the Team page, or a name as typed.
    Of legacy duplicates (José and Jose) exactly that one goes, with its own logins only; a
    later one holds no batches (the first holds them, `team.holds_batches`), so none are
    handed over for it.

    Returns how many open batches were handed over. Raises ValidationError when the member has
    open batches and neither `unassign` nor `reassign_to` was chosen, or when some of them
    could not be handed over (refused, or given to them by someone else while this ran, which
    is checked again in the deletion's own step: the error names each one, and nobody is
    removed); a batch someone else reassigned meanwhile is theirs no longer and stays as it
    is. MemberNotFound for an unknown name, AmbiguousMember for a name two legacy duplicates
    answer to. `zone`: the office's, whose day the handover notes.
    """
    author = authorize_write(author)
    refuse_writes(db)
    if unassign and reassign_to is not None:
        raise ValidationError(N_("Choose either to unassign or to reassign, not both."))
    target = None
    if isinstance(reassign_to, str) and not reassign_to.strip():  # never taken for "nobody"
        raise ValidationError(
            N_("A name cannot be blank; to leave their open batches without one, unassign them."),
            field="reassign_to",
        )
    member = team.find_member(db, who)  # once the values asked are sound
    if reassign_to is not None:
        chosen = team.find_member(db, reassign_to)
        if chosen.id == member.id:
            raise ValidationError(
                N_("Reassign to someone else than the person being removed."), field="reassign_to"
            )
        target = chosen.name
    holds = team.holds_batches(team.list_members(db), member)
    open_ids = batches.open_batch_ids(db, member.name) if holds else []
    if open_ids and not (unassign or target):
        raise ValidationError(
            N_(
                "{name} has {count} open batches: choose to unassign them or to reassign them "
                "to someone."
            ),
            name=member.name,
            count=len(open_ids),
            field="open_batches",
        )
    _refuse_passing_the_name(db, member, holds, len(open_ids))
    moved = 0
    if open_ids:
        # compared with her name, as they were chosen: one reassigned meanwhile stays as it is
        seen = dict.fromkeys(open_ids, member.name)
        result = assignments.assign(db, open_ids, target, author, seen, zone)
        _refuse_if_left(member.name, result)
        moved = len(result.updated)
    logins = auth.logins_of(db, member)  # while the team still shows whose they are

    def nothing_left_open(session) -> None:
        # Checked again in the deletion's own step: another coordinator may have given them a
        # batch since the handover read their open ones (their save checked they were on the
        # team). Bumping the batch list's version writes the document every assignment step
        # writes too, so that a save running at the same moment conflicts with this step and
        # one of the two is retried, seeing the other's outcome (assignments._write_step).
        if holds:  # a later legacy duplicate holds nothing: "Jose" is José's (holds_batches)
            batches.mark_changed(db, [], session=session)
            _refuse_if_assigned(
                member.name, moved, batches.open_batch_ids(db, member.name, session)
            )

    team.delete_member(db, member, author, first=nothing_left_open)
    auth.remove_logins(db, logins)  # their own page is gone with them
    return moved


ASSIGNED_MEANWHILE = N_("it was assigned to them meanwhile")


def heir(members: list[team.Member], member: team.Member) -> team.Member | None:
    """The legacy duplicate that would hold `member`'s batches once `member` left (the next
    of its name's key in team order, as `holders.people_by_key` counts them), or None. Pure."""
    key = person_key(member.name)
    return next((m for m in members if m.id != member.id and person_key(m.name) == key), None)


NAME_WOULD_PASS = N_(
    "{name}'s delivered or done batches ({count}) would then count for {other}, who has the same "
    "name: first rename {other} (in the tool that added them) or remove {other}, then remove "
    "{name}."
)


def _refuse_passing_the_name(db: Database, member: team.Member, holds: bool, open_count: int):
    # Every figure counts the batches of a name's spellings for the first member of that name
    # (`holders`): with José gone, the finished batches kept "so the record shows who segmented
    # them" would be shown as Jose's, another person's. Renaming Jose first keeps them José's.
    other = heir(team.list_members(db), member) if holds else None
    kept = batches.held_count(db, member.name) - open_count if other is not None else 0
    if kept > 0:
        raise NameWouldPass(NAME_WOULD_PASS, name=member.name, count=kept, other=other.name)


def _refuse_if_left(name: str, result: batches.ChangeResult) -> None:
    """ValidationError naming each open batch the handover could not move, and why.

    A batch someone else reassigned meanwhile is not theirs any more and is left out. The
    member then stays on the team: removed, they would keep batches nobody on the team
    holds, that no list of members shows and no bulk assignment hands out. The batches already
    handed over stay handed over (each one recorded in the history); running it again after
    fixing the rest finishes the removal.
    """
    left = [(c.batch_id, c.reason()) for c in result.conflicts if same_person(c.actual, name)]
    _refuse(name, len(result.updated), left + list(result.failed.items()))


def _refuse_if_assigned(name: str, moved: int, batch_ids: list[str]) -> None:
    """ValidationError naming the open batches someone gave `name` during their removal (after
    the handover read theirs): they stay on the team, as for a batch not handed over."""
    _refuse(name, moved, [(batch_id, Phrase(ASSIGNED_MEANWHILE)) for batch_id in batch_ids])


def _refuse(name: str, moved: int, left: list[tuple[str, object]]) -> None:
    """ValidationError: `name` was not removed, `left` (batch id, why) are still theirs."""
    if not left:
        return
    refused = ValidationError(
        N_(
            "{name} was not removed: {count} open batches could not be handed over and are "
            "still theirs ({moved} were). {problems}{more}"
        ),
        name=name,
        count=len(left),
        moved=moved,
        problems="; ".join(f"{batch_id}: {why}" for batch_id, why in left[:10]),
        more=f" (+{len(left) - 10})" if len(left) > 10 else "",
    )
    refused.problems = left[:10]  # the UI words each one in the user's language
    raise refused


def former_members(db: Database) -> set[str]:
    """Names removed from the team (per the history) who are not on it again now."""
    removed = db[HISTORY].distinct("key", {"kind": "team", "field": "member", "new": "removed"})
    current = {person_key(m.name) for m in team.list_members(db)}
    return {str(name) for name in removed if person_key(str(name)) not in current}


def former_joinings(db: Database) -> list[dict]:
    """Who left the team (as `former_members`) with when they joined, as {name, created_at}
    (what `pace.analyse` takes as `former`): the joining their removal kept (JOINED_FIELD),
    else when the history recorded them added (removed before it was kept: a moment in UTC);
    None when neither was recorded (a member of the old dashboard removed before)."""
    entries = db[HISTORY].find(
        {"kind": "team", "field": {"$in": ["member", team.JOINED_FIELD]}},
        {"_id": 1, "key": 1, "field": 1, "old": 1, "new": 1, "at": 1},
    )
    joined: dict[str, object] = {}
    left: dict[str, dict] = {}
    # in the order written: someone who came back and left again is paced from the last joining
    for entry in sorted(entries, key=_written_order):
        key = person_key(str(entry.get("key", "")))
        if entry.get("field") == team.JOINED_FIELD:
            joined[key] = entry.get("old")
        elif entry.get("new") == "added":
            joined[key] = entry.get("at")
        elif entry.get("new") == "removed":
            left[key] = {"name": str(entry["key"]), "created_at": joined.get(key)}
    current = {person_key(m.name) for m in team.list_members(db)}
    return [person for key, person in left.items() if key not in current]


def _written_order(entry: dict) -> tuple[datetime, str]:
    """When a history entry was written, comparable whatever another tool stored in `at` (a
    text date sorts first) or `_id` (an ObjectId's text sorts as the ObjectId does)."""
    at = entry.get("at")
    return (at if isinstance(at, datetime) else datetime.min, str(entry["_id"]))


def move_open_batches(
    db: Database,
    former: str,
    to: str | None,
    author: "str | Actor" = "unknown",
    zone: tzinfo | None = None,
) -> batches.ChangeResult:
    """Hand the open batches someone not on the team still holds to a member (None unassigns).

    Compare-and-set like every assignment: a batch changed meanwhile is reported, not moved.
    Raises MemberNotFound when `to` is not on the team, PermissionDenied for a viewer.
    """
    authorize_write(author)
    refuse_writes(db)
    target = team.find_member(db, to).name if to else None
    open_ids = batches.open_batch_ids(db, former)
    seen = dict.fromkeys(open_ids, former)  # as chosen: one reassigned meanwhile is a conflict
    return assignments.assign(db, open_ids, target, author, seen, zone)
