"""How stored values are named on screen: one place, so a translation replaces one mapping.

Stored values stay as production has them (Spanish priorities, English statuses, legacy codes);
only their labels change. A value without a label is shown as stored.
"""

from __future__ import annotations

from segcore.naming import person_key

STATUS = {"pending": "Pending", "in_progress": "In progress", "review": "In review",
          "done": "Done"}
PRIORITY = {"alta": "High", "media": "Medium", "baja": "Low"}
FOLDER = {"All": "All", "Missing": "Folder missing", "Present": "Folder present"}
LEFT_THE_TEAM = "left the team"
NOT_ON_TEAM = "not on the team"


def status(value: object) -> str:
    return "" if value is None else STATUS.get(str(value), str(value))


def priority(value: object) -> str:
    return "" if value is None else PRIORITY.get(str(value), str(value))


def person(name: object, team: list[str], former: set[str] = frozenset()) -> str:
    """A stored assignee as shown: current members plain, others marked (never blank)."""
    if name is None or str(name).strip() == "":
        return ""
    if person_key(str(name)) in {person_key(n) for n in team}:
        return str(name)
    return f"{name} ({LEFT_THE_TEAM if name in former else NOT_ON_TEAM})"
