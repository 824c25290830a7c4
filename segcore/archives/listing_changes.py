"""What changed between two listings of one batch's uploads: masks added, removed, changed.

Pure functions over stored listings (`mask_checks` documents, or `Listing` objects): a mask is
*changed* when its name is in both and its size or fingerprint differs (a zip's or 7z's CRC-32
from its directory, a tar's digest computed while streaming). Fingerprints of different kinds
(a zip then a tar) are not comparable: only the sizes are, and `compared` says what was. Names
are compared as matching compares them, ignoring case (`IMG_001_MASK.npy` re-uploaded for
`img_001_mask.npy` changed it): each is shown as the listing holding it spells it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from segcore.images.mask_matching import same_mask_name

FINGERPRINTS = ("crc", "digest", "md5")


@dataclass
class MaskChanges:
    """Masks added, removed and changed in one listing since another."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    compared: str = "content"  # "content", "size" (fingerprints not comparable) or "names"

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def as_dict(self) -> dict:
        return {
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "compared": self.compared,
        }


def _get(listing, key: str, default=None):
    return (
        listing.get(key, default) if isinstance(listing, dict) else getattr(listing, key, default)
    )


def fingerprints(listing) -> dict[str, set[tuple]]:
    """Each mask name's `(size, kind, value)` fingerprints (a name may occur in several folders);
    a name without a recorded member (a listing from before sizes were kept) maps to none."""
    found: dict[str, set[tuple]] = {name: set() for name in _get(listing, "names") or ()}
    for member in _get(listing, "members") or ():
        kind = next((k for k in FINGERPRINTS if member.get(k) is not None), None)
        found.setdefault(member["name"], set()).add(
            (member.get("size"), kind, member.get(kind) if kind else None)
        )
    return found


def _comparable(before: set[tuple], after: set[tuple]) -> tuple[set, set, str]:
    kinds = {f[1] for f in before} & {f[1] for f in after} - {None}
    if len(kinds) == 1 and {f[1] for f in before} == {f[1] for f in after} == kinds:
        return before, after, "content"
    if not before or not after:
        return set(), set(), "names"
    return {f[0] for f in before}, {f[0] for f in after}, "size"


def _by_same_name(found: dict[str, set[tuple]]) -> dict[str, tuple[str, set[tuple]]]:
    """`fingerprints` keyed by `same_mask_name`: (the name as spelled, first in order; every
    fingerprint of the names that are the same mask's)."""
    merged: dict[str, tuple[str, set[tuple]]] = {}
    for name in sorted(found):
        key = same_mask_name(name)
        shown, prints = merged.get(key, (name, set()))
        merged[key] = (shown, prints | found[name])
    return merged


def changes_between(previous, current) -> MaskChanges:
    """The masks of `current` added, removed or changed since `previous` (None: all added).

    Each argument is a stored listing (`names`, `members`) or a `Listing`.
    """
    after = _by_same_name(fingerprints(current))
    if previous is None:
        return MaskChanges(added=sorted(name for name, _ in after.values()))
    before = _by_same_name(fingerprints(previous))
    changes = MaskChanges(
        added=sorted(after[k][0] for k in set(after) - set(before)),
        removed=sorted(before[k][0] for k in set(before) - set(after)),
    )
    levels = set()
    for key in sorted(set(after) & set(before), key=lambda k: after[k][0]):
        old, new, level = _comparable(before[key][1], after[key][1])
        levels.add(level)
        if old != new:
            changes.changed.append(after[key][0])
    for level in ("names", "size"):
        if level in levels:
            changes.compared = level
            break
    return changes


def changes_by_upload(listings: list) -> list[MaskChanges]:
    """For uploads of one batch in the order they arrived, what each changed since the one
    before it (the first: every mask added). Unreadable listings are compared as empty."""
    found, previous = [], None
    for listing in listings:
        found.append(changes_between(previous, listing))
        previous = listing
    return found
