"""Pages that follow new masks by themselves (the data version), without losing unsaved edits,
and the Sync page's view of a live sync."""

from datetime import datetime, timedelta

import pytest
from gridfs import GridFS

from segcore.core.timefmt import utcnow
from segcore.sync import sync
from segcore.sync.live.live_status import LiveStatus
from segcore.team import team
from tests.helpers import page
from ui.app.live import describe_live


def seed(dbs, count=3):
    team.add_member(dbs.work, "Flor", author="test")
    dbs.work.batches.insert_many(
        [
            {"id": f"batch_{n}", "number": n, "assignee": "Flor", "status": "pending"}
            for n in range(1, count + 1)
        ]
    )
    sync.run_sync(dbs, author="test")


def upload_and_sync(dbs, filename):
    """What a live sync does when an upload lands: apply it, which moves the data version."""
    from ui.app.connection import forget_data_versions

    GridFS(dbs.training, collection="masks").put(b"m", filename=filename)
    assert sync.run_sync(dbs, author="live").batches_updated == 1
    forget_data_versions()  # what the next second does: the app reads the version at most once


def test_the_dashboard_shows_new_masks_without_a_reload(app_env):
    seed(app_env)
    at = page("dashboard").run()
    assert {m.label: m.value for m in at.metric}["Uploaded"] == "0"
    at.run()  # nothing new: the figures stay as they were
    upload_and_sync(app_env, "batch_2.zip")
    at.run()  # what the fragment's timer triggers: it sees the data version moved
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Uploaded"] == "1"


def test_the_batch_table_keeps_unsaved_edits_when_masks_arrive(app_env):
    seed(app_env)
    at = page("batches").run()
    key = f"batch_editor_{at.session_state['batch_editor_version']}"
    at.session_state[key] = {
        "edited_rows": {0: {"priority": "alta"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    upload_and_sync(app_env, "batch_1.zip")
    at.run()
    assert not at.exception
    # The rows are read again with the new masks, the unsaved edit drawn over them.
    snapshot = at.session_state["batch_snapshot"]["rows"]
    assert [r.get("mongo_uploaded") for r in snapshot if r["id"] == "batch_1"] == [True]
    assert at.session_state["batch_pending_edits"]["batch_1"]["priority"][1] == "alta"
    assert at.button(key="save_batches").label == "Save changes (1 batch)"
    at.button(key="save_batches").click().run()  # saving refreshes the table
    saved = app_env.work.batches.find_one({"id": "batch_1"})
    assert (saved["metadata"]["priority"], saved["status"]) == ("alta", "rework")  # moved by sync:
    # its one-byte upload is unreadable


def test_the_batch_table_reloads_when_nothing_is_being_edited(app_env):
    seed(app_env)
    at = page("batches").run()
    upload_and_sync(app_env, "batch_3.zip")
    at.run()
    assert not at.exception
    snapshot = at.session_state["batch_snapshot"]["rows"]
    assert [r.get("mongo_uploaded") for r in snapshot if r["id"] == "batch_3"] == [True]


def test_the_sync_page_shows_a_running_live_sync_and_hides_the_schedule(app_env):
    seed(app_env)
    at = page("sync").run()
    assert "no live sync is running" in [c.value for c in at.caption]
    assert at.number_input(key="auto_minutes")  # the schedule can be started
    now = utcnow()
    app_env.work.locks.insert_one(
        {
            "_id": "sync",
            "owner": "w",
            "kind": "live",
            "host": "office",
            "since": now - timedelta(minutes=5),
            "expires_at": now + timedelta(minutes=2),
            "last_change_at": now - timedelta(seconds=3),
        }
    )
    at.run()
    assert not at.exception
    assert any(
        c.value.startswith(":green[●] live: last change applied ") and "office" in c.value
        for c in at.caption
    )
    assert not at.number_input  # no schedule offered next to a live sync
    assert any("A live sync is running" in i.value for i in at.info)
    at.button(key="sync_now").click().run()
    assert any("A live sync (`segcore sync --watch` on office)" in w.value for w in at.warning)


NOW = datetime(2025, 10, 1, 12, 0, 0)


@pytest.mark.parametrize(
    "status, expected",
    [
        (LiveStatus(False), "no live sync is running"),
        (LiveStatus(True, "vm", NOW), "live: running, no change applied yet"),
        (
            LiveStatus(True, "vm", NOW, NOW - timedelta(seconds=3)),
            "live: last change applied 3 seconds ago",
        ),
        (
            LiveStatus(True, "vm", NOW, NOW - timedelta(minutes=12)),
            "live: last change applied 12 minutes ago",
        ),
        (
            LiveStatus(True, "vm", NOW, NOW - timedelta(hours=5)),
            "live: last change applied 5 hours ago",
        ),
    ],
)
def test_describe_live(status, expected):
    assert describe_live(status, NOW) == expected  # outside a page run: English, as written


def test_ticked_rows_stay_ticked_when_the_table_reloads(app_env):
    seed(app_env)
    at = page("batches").run()
    key = f"batch_editor_{at.session_state['batch_editor_version']}"
    at.session_state[key] = {"edited_rows": {1: {"select": True}}, "added_rows": []}
    at.run()
    upload_and_sync(app_env, "batch_1.zip")
    at.run()
    assert not at.exception
    shown = at.dataframe[0].value
    assert shown.loc[shown["select"], "id"].tolist() == ["batch_2"]
    assert at.button(key="bulk_selected").label == "Assign 1 ticked"
