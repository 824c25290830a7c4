"""Every page over batches another tool stored with values of other types ("fields may be
missing"): a priority as a list, a due date as a number, a status as a number, no `id`. Shown
as stored, never a traceback: one bad document never stops the product."""

import pytest

from segcore.core.actors import Actor
from segcore.team import auth
from tests.helpers import PAGES, log_in, page

PASSWORD = "correct horse battery"
ODD = [
    {"assignee": "Flor", "status": "pending", "folder": "/data/x"},
    {"id": "odd_1", "assignee": "Flor", "status": "pending", "metadata": {"priority": ["alta"]}},
    {
        "id": "odd_2",
        "assignee": "Flor",
        "status": 3,
        "metadata": {"priority": {"level": 1}, "due_date": 20260101},
    },
    {
        "id": "odd_3",
        "assignee": "Flor",
        "status": "pending",
        "metadata": {"due_date": ["2026-01-01"]},
        "mask_check": {"state": "incomplete", "images": "3", "missing": 5, "unreadable": 2},
        "training_metrics_info": {"file_count": "two"},
    },
    {"id": ["odd_4"], "assignee": "Flor", "status": "pending"},
]


@pytest.fixture
def odd(demo_dbs):
    demo_dbs.work.batches.insert_many([dict(doc) for doc in ODD])
    return demo_dbs


@pytest.mark.parametrize("name", PAGES)
def test_every_page_works_with_values_of_other_types(odd, name):
    """A priority `["alta"]` on an open batch made the Dashboard, Team and Moves pages (the
    pace's queue order) a traceback `unhashable type: 'list'`."""
    at = page(name)
    at.session_state["actor"] = Actor("coord", "coordinator")
    at.run()
    assert not at.exception, at.exception


def test_a_segmentadors_page_shows_such_values_as_stored(odd, monkeypatch):
    monkeypatch.setenv("LOGIN", "on")
    auth.add_user(odd.work, "flor", "segmentador", PASSWORD, member="Flor")
    at = log_in(page("streamlit_app").run(), "flor", PASSWORD)
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    shown = dict(zip(table["Batch"], table["Priority"]))
    assert shown["odd_1"] == "['alta']" and "" in shown
