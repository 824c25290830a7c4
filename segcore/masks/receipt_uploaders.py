"""Who has receipts: the stored uploader names, one entry per person, for the Receipts page's
filter and for listing one person's receipts under every spelling they were stored with."""

from __future__ import annotations

from pymongo.database import Database

from segcore.core.naming import person_key
from segcore.store.schema import RECEIPTS
from segcore.team.team import list_members
from segcore.work.holders import display_names, people_by_key


def spellings(work: Database, key: str | None = None) -> list[str]:
    """The stored uploaders naming someone (of the person `key` when given)."""
    return [
        n
        for n in work[RECEIPTS].distinct("uploaded_by")
        if isinstance(n, str) and n.strip() and (key is None or person_key(n) == key)
    ]


def uploaders(work: Database) -> list[str]:
    """Everyone who has a receipt, for the Receipts page's filter: one entry per person
    (`person_key`), named as on every other view (`holders.display_names`: the team member,
    else the least stored spelling), so "flor" and "FLOR" are Flor's, as the Team page counts."""
    stored = spellings(work)
    named = display_names(stored, people_by_key([m.name for m in list_members(work)]))
    return sorted({named[person_key(n)] for n in stored}, key=person_key)
