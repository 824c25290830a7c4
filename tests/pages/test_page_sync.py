"""The sync page against the real test database: sync now, its report, runs and uploads."""

from datetime import datetime

from gridfs import GridFS

from segcore.sync import sync
from segcore.team import team
from tests.helpers import page


def seed(dbs):
    team.add_member(dbs.work, "Flor", author="test")
    dbs.work.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "number": n,
                "assignee": "Flor",
                "status": "pending",
                "mongo_uploaded": False,
            }
            for n in (1, 2, 3)
        ]
    )
    files = GridFS(dbs.training, collection="masks")
    files.put(b"x" * 2048, filename="masks_batch_1.tar.xz", metadata={"uploaded_by": "flor"})
    files.put(b"x", filename="Batch-2.zip", metadata={"uploaded_by": "ceci"})
    files.put(b"x", filename="batch_99_masks.zip", metadata={"uploaded_by": "flor"})
    files.put(b"x", filename="final_masks.zip")


def test_sync_now_updates_batches_and_shows_the_report(app_env):
    seed(app_env)
    at = page("sync").run()
    assert "No sync has run yet." in [c.value for c in at.caption]
    at.button(key="sync_now").click().run()
    assert not at.exception
    db = app_env.work
    assert sorted(d["id"] for d in db.batches.find({"mongo_uploaded": True})) == [
        "batch_1",
        "batch_2",
    ]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Files"] == "4" and metrics["Batches updated"] == "2"
    assert metrics["Orphans"] == "1" and metrics["Unmatched"] == "1"
    assert metrics["Other uploader"] == "1"
    tables = [t.value for t in at.dataframe]
    assert tables[0]["File"].tolist() == ["batch_99_masks.zip"]
    assert tables[1]["File"].tolist() == ["final_masks.zip"]
    assert tables[2]["Uploaded by"].tolist() == ["ceci"]
    assert tables[3]["Status"].tolist() == ["OK"]  # the history of runs
    assert len(tables[4]) == 4  # the most recent uploads
    assert any("Sync finished" in s.value for s in at.success)


def another_sync_runs(app_env) -> None:
    """The sync's lease held by a run elsewhere, started at 09:00 UTC on 1 January 2025."""
    app_env.work.locks.insert_one(
        {
            "_id": "sync",
            "owner": "other",
            "host": "elsewhere",
            "since": datetime(2025, 1, 1, 9),
            "expires_at": datetime(2999, 1, 1),
        }
    )


def test_a_running_sync_is_reported_not_doubled(app_env):
    seed(app_env)
    another_sync_runs(app_env)
    at = page("sync").run()
    at.button(key="sync_now").click().run()
    assert not at.exception
    assert any("Another sync is running" in w.value for w in at.warning)
    assert sync.list_runs(app_env.work) == []


def test_automatic_sync_interval_is_configurable(app_env):
    at = page("sync").run()
    at.number_input(key="auto_minutes").set_value(15)
    at.button(key="auto_apply").click().run()
    assert not at.exception
    assert any(c.value.startswith("Next automatic run:") for c in at.caption)
    at.number_input(key="auto_minutes").set_value(0)
    at.button(key="auto_apply").click().run()
    assert "Automatic sync is off." in [c.value for c in at.caption]


def test_tables_use_human_labels_sizes_and_say_why_a_run_was_full(app_env, monkeypatch):
    monkeypatch.setenv("TIMEZONE", "America/Mexico_City")
    seed(app_env)
    app_env.masks_files.update_many({}, {"$set": {"uploadDate": datetime(2025, 10, 1, 18, 0)}})
    at = page("sync").run()
    at.button(key="sync_now").click().run()
    tables = [t.value for t in at.dataframe]
    for table in tables:
        assert not {"uploaded_by", "size_mb", "filename", "started_at"} & set(table.columns)
    recent = tables[4].set_index("File")
    assert recent.loc["masks_batch_1.tar.xz", "Size"] == "2.0 KB"  # not "0 MB"
    assert recent.loc["Batch-2.zip", "Size"] == "1 byte"
    assert recent.loc["Batch-2.zip", "Uploaded at"] == "Oct 1, 2025, 12:00:00\u202fPM"  # UTC-6
    assert tables[3]["Kind"].tolist() == ["Full (no complete index from an earlier sync)"]
    at.button(key="sync_now").click().run()
    assert at.dataframe[3].value["Kind"].tolist()[0] == "Incremental"


def test_recent_uploads_come_from_the_sync_and_say_when_they_are_older(app_env):
    import streamlit as st

    seed(app_env)
    at = page("sync").run()
    assert any("none has saved them yet" in i.value for i in at.info)
    at.button(key="sync_now").click().run()
    assert not at.exception
    assert not any("none has saved them yet" in i.value for i in at.info)
    listed = at.dataframe[-1].value
    assert "masks_batch_1.tar.xz" in set(listed["File"])
    app_env.work.app_meta.update_one(
        {"_id": "upload_stats"}, {"$set": {"synced_at": datetime(2000, 1, 1)}}
    )
    st.cache_data.clear()
    at = page("sync").run()
    assert any("older than the last sync" in i.value for i in at.info)


def test_a_run_without_an_error_shows_an_empty_cell_not_none(app_env):
    """A grid draws a missing value as a grey "None": a run that went well has no error."""
    seed(app_env)
    at = page("sync").run()
    at.button(key="sync_now").click().run()
    runs = at.dataframe[3].value
    assert runs["Error"].tolist() == [""]
    text_columns = ["Started at", "Kind", "Trigger", "Status", "Started by", "Error"]
    assert not runs[text_columns].isna().any().any()


def test_one_batch_updated_takes_the_singular_in_spanish(app_env, monkeypatch):
    # The README promises counts take their plural: "1 lotes actualizados, 1 archivos" did not.
    monkeypatch.setenv("LANGUAGE", "es")
    team.add_member(app_env.work, "Flor", author="test")
    app_env.work.batches.insert_one(
        {"id": "batch_1", "number": 1, "assignee": "Flor", "status": "pending"}
    )
    files = GridFS(app_env.training, collection="masks")
    files.put(b"x" * 2048, filename="masks_batch_1.tar.xz", metadata={"uploaded_by": "flor"})
    at = page("sync").run()
    at.button(key="sync_now").click().run()
    assert not at.exception
    said = [s.value for s in at.success if s.value.startswith("Sincronización terminada")]
    assert len(said) == 1 and said[0].endswith(": 1 lote actualizado, 1 archivo."), said


def test_an_upload_whose_stored_length_is_text_has_an_unknown_size_not_0_bytes(app_env):
    seed(app_env)
    app_env.masks_files.update_one({"filename": "Batch-2.zip"}, {"$set": {"length": "15728640"}})
    at = page("sync").run()
    at.button(key="sync_now").click().run()
    assert not at.exception
    recent = at.dataframe[-1].value.set_index("File")
    assert recent.loc["Batch-2.zip", "Size"] == "unknown"
    assert recent.loc["masks_batch_1.tar.xz", "Size"] == "2.0 KB"


def test_a_running_sync_is_dated_in_the_offices_zone(app_env, monkeypatch):
    """README: every page time is in TIMEZONE; the sync that holds the lease started at 09:00
    UTC, 03:00 in Mexico City."""
    monkeypatch.setenv("TIMEZONE", "America/Mexico_City")
    seed(app_env)
    another_sync_runs(app_env)
    at = page("sync").run()
    at.button(key="sync_now").click().run()
    [said] = [w.value for w in at.warning if "Another sync is running" in w.value]
    assert "3:00:00" in said and "UTC" not in said, said
