"""The settings page: health, masked configuration, and the import against the test database."""

import json

from tests.helpers import page


def test_health_and_configuration_never_show_a_password(app_env, monkeypatch):
    uri = app_env.settings.mongo_uri.replace("mongodb://", "mongodb://coord:s3cret-pw@")
    monkeypatch.setenv("MONGO_URI", uri)
    at = page("settings").run()
    # The credentials are refused or ignored by the test server; either way nothing leaks.
    text = " ".join(str(t.value.to_dict()) for t in at.dataframe)
    text += " ".join(e.value for e in at.error)
    assert "s3cret-pw" not in text
    assert not at.exception


def test_import_from_file_and_directory_with_summary(app_env, tmp_path):
    for n in (1, 2, 3):
        (tmp_path / f"batch_{n}").mkdir()
    (tmp_path / "batches.json").write_text(json.dumps(["batch_1", "batch_2", "batch_4"]))
    at = page("settings").run()
    assert not at.exception
    assert [r["Reachable"] for r in at.dataframe[0].value.to_dict("records")] == [True, True]
    at.text_input(key="import_file").input(str(tmp_path / "batches.json"))
    at.text_input(key="import_dir").input(str(tmp_path))
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert sorted(d["id"] for d in app_env.work.batches.find()) == \
        ["batch_1", "batch_2", "batch_3", "batch_4"]
    assert {m.label: m.value for m in at.metric}["Added"] == "4"
    assert any("Import finished: 4 added" in s.value for s in at.success)
    # Again: idempotent, and the summary says so.
    at.form_submit_button[0].click().run()
    assert {m.label: m.value for m in at.metric}["Unchanged"] == "4"


def test_import_problem_is_shown_next_to_the_inputs(app_env, tmp_path):
    (tmp_path / "batches.json").write_text("{not json")
    at = page("settings").run()
    at.text_input(key="import_file").input(str(tmp_path / "batches.json"))
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert "invalid JSON" in at.error[0].value
    assert app_env.work.batches.count_documents({}) == 0


def test_download_a_backup_that_restores(app_env, tmp_path, monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager

    from segcore import backup, team

    # The button's data is built on click by a callable the server keeps: capture it.
    kept = {}
    original = MediaFileManager.add_deferred

    def keep(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        kept[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    team.add_member(app_env.work, "Flor", author="test")
    at = page("settings").run()
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Download a backup"]
    [(file_name, build)] = kept.items()
    assert file_name.startswith(f"segcore-backup-{app_env.work.name}-")
    team.add_member(app_env.work, "Ceci", author="test")  # after the render, before the click
    (tmp_path / file_name).write_bytes(build())
    summary = backup.verify_backup(tmp_path / file_name)
    assert summary.counts["segmentadores"] == 2 and summary.database == app_env.work.name


def test_a_viewer_gets_no_backup_button(app_env, monkeypatch):
    # The backup holds the logins' password hashes.
    from segcore.actors import Actor

    monkeypatch.setenv("LOGIN", "on")
    at = page("settings")
    at.session_state["actor"] = Actor("Vera", "viewer")
    at.run()
    assert not at.exception
    assert not at.get("download_button")
