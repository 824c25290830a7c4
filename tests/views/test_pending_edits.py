"""Unsaved table edits kept per batch id: folded from the editor, counted, re-shown, saved."""

from datetime import date

from segcore.views import pending_edits
from segcore.work.batches import Edit

PAGE_ONE = [
    {"id": "batch_1", "assignee": "Roberto", "status": "S"},
    {"id": "batch_2", "metadata": {"due_date": "30/09/2025", "priority": "alta"}},
]
PAGE_TWO = [{"id": "batch_9", "status": "pending"}]


def test_edits_of_two_pages_are_kept_by_batch_id_with_the_value_seen():
    pending = pending_edits.fold_changes(
        {}, PAGE_ONE, {0: {"priority": "media", "select": True}, "1": {"status": "review"}}
    )
    pending = pending_edits.fold_changes(pending, PAGE_TWO, {0: {"status": "done"}})
    assert pending_edits.pending_edits(pending) == [
        Edit("batch_1", "priority", None, "media"),
        Edit("batch_2", "status", None, "review"),
        Edit("batch_9", "status", "pending", "done"),
    ]
    assert pending_edits.change_count(pending) == 3


def test_an_edit_set_back_to_the_stored_value_is_no_longer_pending():
    pending = pending_edits.fold_changes({}, PAGE_ONE, {1: {"due_date": "2025-10-01T00:00:00"}})
    assert pending == {"batch_2": {"due_date": ("30/09/2025", "2025-10-01T00:00:00")}}
    # The same page shown again (its frame holds the pending value), the date put back.
    pending = pending_edits.fold_changes(pending, PAGE_ONE, {1: {"due_date": "2025-09-30"}})
    assert pending == {}


def test_the_first_value_seen_stays_the_compare_and_set_value():
    pending = pending_edits.fold_changes({}, PAGE_ONE, {0: {"assignee": "Ceci"}})
    moved = [{"id": "batch_1", "assignee": "Flor"}]  # re-read after someone else's change
    pending = pending_edits.fold_changes(pending, moved, {0: {"assignee": "Ana"}})
    assert pending_edits.pending_edits(pending) == [Edit("batch_1", "assignee", "Roberto", "Ana")]


def test_a_shown_row_carries_the_pending_values():
    row = {"id": "batch_2", "status": None, "due_date": date(2025, 9, 30)}
    shown = pending_edits.shown_row(row, {"due_date": ("30/09/2025", "2025-10-01")})
    assert shown == {"id": "batch_2", "status": None, "due_date": date(2025, 10, 1)}


def test_unseen_changes_split_hidden_by_filter_from_other_pages():
    pending = {
        "batch_1": {"assignee": (None, "Flor")},
        "batch_2": {"status": ("pending", "done"), "priority": (None, "alta")},
        "batch_3": {"assignee": (None, "Ceci")},
    }
    hidden, elsewhere = pending_edits.unseen_changes(
        pending, {"batch_3"}, lambda batch_id: batch_id == "batch_2"
    )
    assert (hidden, elsewhere) == (1, 2)


def test_a_legacy_status_or_priority_is_never_given_to_another_batch():
    pending = {
        "batch_22": {"status": ("pending", "S"), "priority": (None, "alta")},
        "batch_23": {"priority": ("baja", "urgente")},
        "batch_24": {"priority": ("urgente", None)},  # clearing a legacy value is an edit
    }
    kept, refused = pending_edits.refuse_legacy_choices(pending)
    assert kept == {"batch_22": {"priority": (None, "alta")}, "batch_24": pending["batch_24"]}
    assert refused == [("batch_22", "status", "S"), ("batch_23", "priority", "urgente")]
