"""Who is making a change: recorded as the author in the history, and checked before writing."""

from __future__ import annotations

from dataclasses import dataclass, field

from segcore.core.errors import N_, PermissionDenied

COORDINATOR = "coordinator"
VIEWER = "viewer"
SEGMENTADOR = "segmentador"  # sees and marks only the batches of the team member `member`
ROLES = (COORDINATOR, VIEWER, SEGMENTADOR)


@dataclass(frozen=True)
class Actor:
    """A logged-in user (or the command line, or the app with login off). A segmentador's
    login is linked to one team member (`member`, their name on the team; `member_id`, the
    text of that member's document id when the login recorded it: two legacy members may
    spell alike; text, so that a page's cached reads can hash it)."""

    name: str
    role: str = COORDINATOR
    member: str | None = None
    member_id: str | None = field(default=None, compare=False)

    @property
    def is_segmentador(self) -> bool:
        return self.role == SEGMENTADOR

    @property
    def can_write(self) -> bool:
        return self.role == COORDINATOR

    def __str__(self) -> str:
        return self.name


def authorize_write(author: "str | Actor") -> str:
    """Check that `author` may write (PermissionDenied for a viewer or a segmentador, whose one
    write is `assignments.start_batch`) and return the name to
    record in the history. Every segcore write calls it before writing anything.

    Plain strings come from trusted callers (the command line, tests) and may always write.
    """
    if isinstance(author, Actor):
        if author.is_segmentador:
            raise PermissionDenied(
                N_("{name} can only mark their own batches as in progress."), name=author.name
            )
        if not author.can_write:
            raise PermissionDenied(
                N_("{name} has the viewer role and cannot change anything."), name=author.name
            )
        return author.name
    return str(author)
