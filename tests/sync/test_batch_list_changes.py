"""Telling a sync's own writes to the batch list from other tools' edits in its change stream."""

import pytest

from segcore.sync.batch_list_changes import is_own


def update(updated=None, removed=()):
    return {
        "operationType": "update",
        "documentKey": {"_id": 1},
        "updateDescription": {"updatedFields": updated or {}, "removedFields": list(removed)},
    }


@pytest.mark.parametrize(
    "event, own",
    [
        (update({"mongo_uploaded": True, "training_metrics_info": {"file_count": 2}}), True),
        (update({"mongo_uploaded": False}, removed=["training_metrics_info"]), True),
        (update({"mask_check.state": "complete"}), True),  # a dotted path
        (update({"mask_check": {"state": "complete"}}), True),  # as the embedded server says
        (update({"mask_content": {"problems": 0}}), True),
        (update({"status": "review", "mongo_uploaded": True}, removed=["rework_reason"]), True),
        (update({"status": "rework", "rework_reason": "incomplete"}), True),
        (update({"status": "review", "status_move_entry": "e1"}), True),  # a move, marked
        (update({"assignee": "Maggie"}), False),  # a reassignment by mongosh
        (update({"status": "done"}), False),  # no sync moves a batch to done
        (update({"status": "review", "assignee": "Maggie"}), False),
        (update({"folder": "/data/batch_4"}), False),
        (update({"id": "batch_5"}), False),
        ({"operationType": "insert", "documentKey": {"_id": 1}, "fullDocument": {}}, False),
        ({"operationType": "delete", "documentKey": {"_id": 1}}, False),
        ({"operationType": "replace", "documentKey": {"_id": 1}}, False),
    ],
)
def test_only_the_syncs_fields_and_moves_are_its_own(event, own):
    assert is_own(event) is own
