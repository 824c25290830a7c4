"""Who holds a batch: one rule for every figure, filter and list (CLI, report, pages, alerts).

Legacy tools stored assignees of every kind: "flor" or "Flor " for Flor, the number 42, a list
["Flor"]. A stored assignee is never rewritten; it is read by these pure rules:

- *assigned*: anything stored but None, a missing field or blank text. A non-string holds the
  batch under its text ("42", "['Flor']"), as the batch table shows it, never hidden.
- *the person*: names equal by `person_key` (case, accents, spacing, invisible characters) are
  one person, as the team's duplicate rule has it; with legacy duplicate members (José and
  Jose) the first in team order (`segcore.team.list_members`: the one holding the key) is that
  person, so a batch counts for exactly one of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from segcore.core.naming import person_key


def holder(value: object) -> str | None:
    """The stored assignee as shown and counted: None for nobody (None, missing, blank text);
    anything else as its text."""
    if value is None or (type(value) is str and not value.strip()):
        return None
    return value if type(value) is str else str(value)


def _blank_starts() -> list[tuple[str, str]]:
    """[first, last] runs of the characters `str.strip` removes (none lies past U+3000)."""
    runs: list[list[str]] = []
    for ch in map(chr, range(0x3001)):
        if ch.isspace():
            if runs and ord(runs[-1][1]) == ord(ch) - 1:
                runs[-1][1] = ch
            else:
                runs.append([ch, ch])
    return [(a, b) for a, b in runs]


# Nobody holds a batch whose assignee is None, missing or blank: as queries, each served by the
# assignee index (one `$or` of them was a pass over every batch on the embedded server), together
# a superset (a list matches by an item, "  x" by its start) that `holder` then decides.
NOBODY_QUERIES = (
    {"assignee": {"$in": [None, ""]}},
    *({"assignee": {"$gte": a, "$lt": chr(ord(b) + 1)}} for a, b in _blank_starts()),
)


def people_by_key(team: list[str]) -> dict[str, str]:
    """The member each person_key names: the first of legacy duplicates."""
    by_key: dict[str, str] = {}
    for name in team:
        by_key.setdefault(person_key(name), name)
    return by_key


def person_of(stored: object, by_key: dict[str, str]) -> str | None:
    """Who holds a batch whose assignee is `stored`: the member that spelling names (from
    `people_by_key`), else the stored text itself (someone not on the team), else None."""
    text = holder(stored)
    if text is None:
        return None
    return by_key.get(person_key(text), text)


def same_person(stored: object, name: str) -> bool:
    """True when the batch's stored assignee is `name` under any spelling ("flor", "Flor ")."""
    text = holder(stored)
    return text is not None and person_key(text) == person_key(name)


def outsiders(stored: object, by_key: dict[str, str]) -> dict[str, str]:
    """The people holding batches who are not on the team (not in `by_key`), by person_key,
    each named by the least of their stored spellings ("Ex Member" for "ex member " too): the
    same name on every view, whatever order the batches are read in."""
    found: dict[str, str] = {}
    for value in stored:
        text = holder(value)
        if text is None:
            continue
        key = person_key(text)
        if key not in by_key and (key not in found or text < found[key]):
            found[key] = text
    return found


def display_names(stored: object, by_key: dict[str, str]) -> dict[str, str]:
    """The name each person holding a batch goes by on every view, by person_key: the member
    (`by_key`, from `people_by_key`) or, for someone not on the team, the `outsiders` name.
    `stored`: the stored assignees of the batches to be named."""
    return {**by_key, **outsiders(stored, by_key)}


def person_options(stored: list[object], team: list[str]) -> list[str]:
    """A person filter's choices: one per person on the team (the first of legacy duplicates),
    then one per person not on it (`outsiders`), in name order."""
    others = outsiders(stored, people_by_key(team))
    return [*people_by_key(team).values(), *(others[key] for key in sorted(others))]


def option_for(name: str, options: list[str]) -> str | None:
    """The person filter's option that `name` (from a link) names: the option spelled so, else
    the one that is the same person ("flor" for Flor), else None (nobody among them)."""
    if name in options:
        return name
    key = person_key(name)
    return next((option for option in options if person_key(option) == key), None)


def workloads(held: Iterable[tuple[object, int]], names: Iterable[str]) -> dict[str, int]:
    """How many batches each of `names` holds under any spelling: `held` pairs a stored
    assignee with a count of batches stored so (one row each, or a server's group). Pure."""
    counts = dict.fromkeys(names, 0)
    by_key = people_by_key(list(counts))
    for stored, count in held:
        person = person_of(stored, by_key)
        if person in counts:
            counts[person] += count
    return counts
