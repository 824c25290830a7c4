""" "Write to <name>" links: a prefilled email in the interface's language naming the person's
open, overdue and incomplete batches (`segcore.notify.notify_mailto`)."""

from __future__ import annotations

import streamlit as st

from segcore.core.naming import person_key
from segcore.core.translations import Words
from segcore.notify.notify_mailto import mailto_link, person_batches
from ui import reads
from ui.i18n import _, current_language
from ui.labels import literal


def write_links(names: list[str]) -> dict[str, str]:
    """A mailto: link for each of `names` who has an email on the team."""
    emails = {
        person_key(m["name"]): (m["name"], m["email"]) for m in reads.members() if m.get("email")
    }
    wanted = [emails[person_key(n)] for n in names if person_key(n) in emails]
    if not wanted:
        return {}
    rows, today = reads.progress_rows(), reads.current_alerts().today
    words = Words(current_language())
    return {
        name: mailto_link(name, email, person_batches(rows, name, today), words)
        for name, email in wanted
    }


def write_buttons(names: list[str]) -> None:
    """One "Write to <name>" button per person with an email (none for the others)."""
    links = write_links(names)
    if not links:
        return
    columns = st.columns(min(len(links), 5))
    for number, (name, link) in enumerate(links.items()):
        columns[number % len(columns)].link_button(
            _("Write to {name}").format(name=literal(name)), link, icon=":material/mail:"
        )
