""" "Write to <name>" links: a prefilled email in the interface's language naming the person's
open, overdue and incomplete batches (`segcore.notify.notify_mailto`)."""

from __future__ import annotations

import streamlit as st

from segcore.core.naming import person_key
from segcore.core.translations import Words
from segcore.notify.notify_mailto import mail_address, mailto_link, person_batches
from segcore.team import team
from ui.app import reads
from ui.app.i18n import _, current_language
from ui.app.labels import literal


def members_named(names: list[str]) -> list[dict]:
    """The team member (as `reads.members` lists them) each of `names` stands for, as the
    alerts name people: of legacy duplicates (José and Jose) the first, who holds the batches."""
    first: dict[str, dict] = {}
    for member in reads.members():
        first.setdefault(person_key(member["name"]), member)
    return [first[person_key(n)] for n in names if person_key(n) in first]


def write_links(people: list[dict]) -> list[tuple[str, str]]:
    """(name, mailto: link) for each of `people` (members as `reads.members` lists them) who
    has an email address (`mail_address`: not another tool's list): to that member's own
    address and name, listing the batches they hold (none for a legacy duplicate after the
    first: `team.holds_batches`)."""
    wanted = [p for p in people if mail_address(p.get("email"))]
    if not wanted:
        return []
    members = [team.Member(**m) for m in reads.members()]
    rows, today = reads.progress_rows(), reads.current_alerts().today
    words = Words(current_language())
    links = []
    for person in wanted:
        held = rows if team.holds_batches(members, team.Member(**person)) else []
        batches = person_batches(held, person["name"], today)
        address = mail_address(person["email"])
        links.append((person["name"], mailto_link(person["name"], address, batches, words)))
    return links


def write_buttons(people: list[dict]) -> None:
    """One "Write to <name>" button per member of `people` with an email (none for the
    others)."""
    links = write_links(people)
    if not links:
        return
    columns = st.columns(min(len(links), 5))
    for number, (name, link) in enumerate(links):
        columns[number % len(columns)].link_button(
            _("Write to {name}").format(name=literal(name)), link, icon=":material/mail:"
        )
