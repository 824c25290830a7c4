"""The coordinator's note on a segmentador's own page: it stays while they redo a batch sent
back, until the rework is delivered (an upload dated after the send-back)."""

from datetime import datetime, timedelta

from segcore.team import auth, team
from segcore.views import my_work
from segcore.work import assignments, review

PASSWORD = "correct horse battery"
NOTE = "Label 2 painted on the liver: redo slices 10-14"


def test_the_note_stays_while_she_redoes_a_sent_back_batch(db):
    """Sent back with a note, then "Mark in progress" to redo it: the batch left "Reviewed"
    and the note was nowhere on her page."""
    team.add_member(db, "Flor", author="test")
    auth.add_user(db, "flor", "segmentador", PASSWORD, member="Flor")
    flor = auth.authenticate(db, "flor", PASSWORD)
    first = datetime(2026, 1, 5, 9)
    db.batches.insert_one(
        {
            "id": "batch_1",
            "assignee": "Flor",
            "status": "review",
            "mongo_uploaded": True,
            "training_metrics_info": {"first_upload": first, "latest_upload": first},
            "mask_check": {"state": "complete", "usable": True, "usable_since": first},
        }
    )
    review.review(db, ["batch_1"], accept=False, note=NOTE, author="ana")
    assert assignments.start_batch(db, "batch_1", "rework", flor).updated == ["batch_1"]

    [row] = my_work.my_reviews(db, flor)
    assert (row["id"], row["status"], row["note"], row["by"]) == (
        "batch_1",
        "in_progress",
        NOTE,
        "ana",
    )
    # the rework delivered: an upload dated after the send-back (the sync moves it to review)
    sent_back = db.batches.find_one({"id": "batch_1"})["review"]["last_sent_back_at"]
    db.batches.update_one(
        {"id": "batch_1"},
        {"$set": {"training_metrics_info.latest_upload": sent_back + timedelta(minutes=5)}},
    )
    assert my_work.my_reviews(db, flor) == []
