"""What "My batches" says of a segmentador's uploads, as they read it: their unreadable file
named with its reason, and the masks with content problems the batch's check counts."""

from datetime import datetime

from segcore.team import auth
from tests.helpers import log_in, page

PASSWORD = "correct horse battery"


def test_her_unreadable_file_and_every_mask_with_a_problem_are_named(app_env, monkeypatch):
    monkeypatch.setenv("LOGIN", "on")
    work = app_env.work
    from segcore.team import team

    team.add_member(work, "Flor", author="test")
    auth.add_user(work, "flor", "segmentador", PASSWORD, member="Flor")
    offenders = [
        {"name": f"img_00{n}_mask.png", "code": "empty", "params": {}, "b": "batch_1"}
        for n in (1, 2, 3)
    ]
    work.batches.insert_many(
        [
            {
                "id": "batch_1",
                "assignee": "Flor",
                "status": "rework",
                "mask_content": {"checked": 5, "problems": 5, "offenders": offenders},
            },
            {"id": "batch_2", "assignee": "Flor", "status": "rework"},
            {"id": "batch_3", "assignee": "Flor", "status": "rework"},
        ]
    )
    work.receipts.insert_many(
        [
            {
                "_id": 1,
                "filename": "batch_1_part2.zip",
                "uploaded_by": "flor",
                "upload_date": datetime(2026, 1, 2),
                "readable": True,
                "problem": "content",
                "batches": ["batch_1"],
                "parts": [{"id": "batch_1"}],
            },
            {
                "_id": 2,
                "filename": "batch_2_to_batch_3.zip",
                "uploaded_by": "flor",
                "upload_date": datetime(2026, 1, 3),
                "readable": False,
                "problem": "unreadable",
                "reason": "not a readable zip (truncated or corrupt)",
                "batches": ["batch_2", "batch_3"],
                "parts": [{"id": "batch_2"}, {"id": "batch_3"}],
            },
        ]
    )
    at = log_in(page("streamlit_app").run(), "flor", PASSWORD)
    assert not at.exception, at.exception
    [problems] = [w.value.replace("\\", "") for w in at.warning if "content problems" in w.value]
    assert all(f"img_00{n}_mask.png" in problems for n in (1, 2, 3))
    assert "and 2 more masks with problems" in problems
    unread = [e.value.replace("\\", "") for e in at.error]
    assert len(unread) == 2  # on batch_2 and batch_3, both hers
    assert all("batch_2_to_batch_3.zip" in u and "truncated" in u for u in unread)
