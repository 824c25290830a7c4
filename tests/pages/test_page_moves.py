"""The suggested-moves page: tick moves, apply them, and see what was left alone and why."""

from datetime import timedelta

from segcore.report import alerts
from segcore.store.history import list_history
from tests.helpers import page, shown
from tests.pace_seed import record_sync, seed_pace
from ui.app.connection import forget_data_versions
from ui.dashboard.attention import moves_key


def tick(at, db, *batch_ids):
    moves = alerts.current_alerts(db).moves
    rows = {i: {"apply": True} for i, m in enumerate(moves) if m.id in batch_ids}
    at.session_state[moves_key(moves)] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    return at.run()


def test_apply_ticked_moves(app_env):
    db = app_env.work
    seed_pace(db)
    at = page("moves").run()
    assert not at.exception, at.exception
    assert at.button(key="apply_moves").disabled
    tick(at, db, "batch_5", "batch_7")
    assert at.button(key="apply_moves").label == "Apply ticked moves (2)"
    at.button(key="apply_moves").click().run()
    assert not at.exception, at.exception
    # Issue 24 item 8: which batch went to whom, not only how many.
    assert [shown(s.value) for s in at.success] == [
        "2 batches moved: batch_5 from Cai to Bea; batch_7 from Zoe to Bea."
    ]
    assert {
        d["id"]: d["assignee"]
        for d in db.batches.find({"id": {"$in": ["batch_1", "batch_5", "batch_7"]}})
    } == {"batch_1": "Ana", "batch_5": "Bea", "batch_7": "Bea"}
    [entry] = list_history(db, key="batch_7")
    assert entry["reason"] == "suggested move: Zoe is no longer on the team"
    assert entry["author"] == "app"


def test_a_batch_changed_meanwhile_is_reported_not_overwritten(app_env):
    db = app_env.work
    seed_pace(db)
    at = tick(page("moves").run(), db, "batch_1", "batch_5")
    db.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Cai"}})
    db.batches.update_one(
        {"id": "batch_5"}, {"$set": {"mongo_uploaded": True, "mask_check.usable": True}}
    )
    at.button(key="apply_moves").click().run()
    assert not at.exception, at.exception
    assert [shown(s.value) for s in at.success] == ["0 batches moved."]
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Not moved, changed meanwhile: batch_1") for w in warnings)
    assert "Not moved: batch_5: it has usable masks now, so it stays where it is" in warnings
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Cai"
    assert db.batches.find_one({"id": "batch_5"})["assignee"] == "Cai"


def test_nothing_to_suggest(app_env):
    record_sync(app_env.work, timedelta(minutes=1))
    at = page("moves").run()
    assert not at.exception
    assert [i.value for i in at.info] == ["No batch is at risk of missing its due date."]


def test_ticks_made_before_an_edit_elsewhere_are_applied_as_shown(app_env):
    """Another coordinator (or the command line) reassigns one ticked batch between the ticks
    and the click: the suggestions change, yet the click applies the moves as they were shown,
    the untouched one moved and the changed one reported, not silently dropped."""
    from segcore.work.assignments import assign

    db = app_env.work
    seed_pace(db)
    at = tick(page("moves").run(), db, "batch_5", "batch_7")
    assert at.button(key="apply_moves").label == "Apply ticked moves (2)"
    assign(db, ["batch_7"], "Ana", "cli")  # bumps the data version: the list is made again
    forget_data_versions()  # a second later: the click's run sees the data version moved
    at.button(key="apply_moves").click().run()
    assert not at.exception, at.exception
    assert [shown(s.value) for s in at.success] == ["1 batch moved: batch_5 from Cai to Bea."]
    assert any(w.value.startswith("Not moved, changed meanwhile: batch_7") for w in at.warning)
    assert db.batches.find_one({"id": "batch_5"})["assignee"] == "Bea"
    assert db.batches.find_one({"id": "batch_7"})["assignee"] == "Ana"


def test_ticks_stay_on_a_list_that_changed_and_those_gone_are_named(app_env):
    """Without a click, a list made again keeps the ticks of the moves still suggested alike
    and names the ticked ones it no longer suggests."""
    from segcore.work.assignments import assign

    db = app_env.work
    seed_pace(db)
    at = tick(page("moves").run(), db, "batch_5", "batch_7")
    assign(db, ["batch_7"], "Ana", "cli")
    forget_data_versions()
    at.run()
    assert not at.exception, at.exception
    assert at.button(key="apply_moves").label == "Apply ticked moves (1)"
    [warning] = [shown(w.value) for w in at.warning if "suggestions changed" in w.value]
    assert "batch_7" in warning and "batch_5" not in warning
    at.button(key="apply_moves").click().run()
    assert [shown(s.value) for s in at.success] == ["1 batch moved: batch_5 from Cai to Bea."]
    assert db.batches.find_one({"id": "batch_7"})["assignee"] == "Ana"
    at.run()  # the ticks were spent: nothing is carried to the list the moves left
    assert not [w for w in at.warning if "suggestions changed" in w.value]
    assert all(b.label.endswith("(0)") for b in at.button if b.key == "apply_moves")
