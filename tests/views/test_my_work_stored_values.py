"""A segmentador's own page over values another tool stored ("fields may be missing"): shown
as stored, never a traceback; a document without an `id` is listed with an empty one."""

from datetime import date, datetime

import pytest

from segcore.team import auth, team
from segcore.views import my_work

PASSWORD = "correct horse battery"
TODAY = date(2026, 1, 10)


@pytest.fixture
def flor(db):
    team.add_member(db, "Flor", author="test")
    auth.add_user(db, "flor", "segmentador", PASSWORD, member="Flor")
    db.batches.insert_one(
        {"id": "batch_1", "assignee": "Flor", "status": "pending", "metadata": {"priority": "alta"}}
    )
    return auth.authenticate(db, "flor", PASSWORD)


def whole_page(db, actor):
    """Every read "My batches" makes, as ui/pages/my_batches.py makes them."""
    mine = my_work.my_batches(db, actor, TODAY)
    found = my_work.my_receipts(db, actor, [b.id for b in mine if b.open])
    my_work.my_pace(db, actor, datetime(2026, 1, 10, 12))
    return mine, found, my_work.my_reviews(db, actor)


@pytest.mark.parametrize(
    "odd",
    [
        {"metadata": {"priority": ["alta"]}},
        {"metadata": {"priority": {"level": "alta"}}},
        {"metadata": {"priority": 1, "due_date": ["2026-01-05"]}},
        {"metadata": {"due_date": 20260105, "notes": ["x"]}},
        {"status": 3},
        {"status": ["rework"]},
        {"training_metrics_info": {"file_count": "two"}},
        {
            "mask_check": {
                "state": ["incomplete"],
                "images": "3",
                "matched": [1],
                "missing": 5,
                "missing_count": "2",
                "unreadable": 1,
            }
        },
        {"mask_content": {"problems": "3", "offenders": "img_1_mask.png"}},
    ],
)
def test_a_value_another_tool_stored_is_shown_as_stored(db, flor, odd):
    """A priority stored as `["alta"]` made the page a traceback (`unhashable type`)."""
    db.batches.insert_one({"id": "batch_2", "assignee": "Flor", "status": "pending", **odd})
    mine, _, _ = whole_page(db, flor)
    assert [b.id for b in mine] == ["batch_1", "batch_2"]  # alta first, then the odd one
    odd_one = mine[1]
    assert odd_one.priority == odd.get("metadata", {}).get("priority")


def test_a_batch_without_an_id_is_listed_with_an_empty_one(db, flor):
    """`{"assignee": "Flor", "status": "pending"}` made her page a `KeyError: 'id'`."""
    db.batches.insert_many(
        [
            {"assignee": "Flor", "status": "pending", "folder": "/data/x"},
            {"id": 42, "assignee": "Flor", "status": "rework"},
            {"id": ["batch_9"], "assignee": "Flor", "status": "review"},
        ]
    )
    mine, found, reviews = whole_page(db, flor)
    assert sorted(b.id for b in mine) == ["", "42", "['batch_9']", "batch_1"]
    assert found == {} and reviews == []
