"""Receipts: every upload's receipt, newest first, filtered by person, batch and problem."""

import streamlit as st

from segcore.masks.receipts import PROBLEMS
from ui.app import labels, reads
from ui.app.i18n import N_, _, choice_hint
from ui.app.widgets import page_start
from ui.batches.receipt_views import show_receipts

ANY = "All"
PROBLEM_CHOICES = [ANY, "any", "none", *PROBLEMS]
CHOICE_LABELS = {"any": N_("any problem"), "none": N_("no problem")}

page_start(N_("Receipts"))
st.caption(
    _(
        "Each upload gets a receipt when a sync, the live sync or a mask check sees it: "
        "whether it could be read, and its masks against the batch's images."
    )
)
cols = st.columns(3)
team, former = reads.team_names(), reads.former_members()
person = cols[0].selectbox(
    _("Uploaded by"),
    [ANY, *reads.receipt_uploaders()],
    key="rc_person",
    format_func=lambda n: labels.special(n) if n == ANY else labels.person(n, team, former),
    placeholder=choice_hint([ANY, *reads.receipt_uploaders()]),
)
batch = cols[1].text_input(_("Batch id"), key="rc_batch", placeholder="batch_400").strip()
problem = cols[2].selectbox(
    _("Problem"),
    PROBLEM_CHOICES,
    key="rc_problem",
    format_func=lambda p: (
        labels.special(p)
        if p == ANY
        else _(CHOICE_LABELS[p])
        if p in CHOICE_LABELS
        else labels.problem(p)
    ),
    placeholder=choice_hint(PROBLEM_CHOICES),
)
found = reads.receipts(
    (batch,) if batch else (),
    None if person == ANY else person,
    None if problem == ANY else problem,
)
show_receipts(found, _("No receipt matches."))
