"""The settings page: health, masked configuration, and the import against the test database."""

import json

import pytest

from tests.helpers import page, shown


def test_health_and_configuration_never_show_a_password(app_env, monkeypatch):
    uri = app_env.settings.mongo_uri.replace("mongodb://", "mongodb://coord:s3cret-pw@")
    monkeypatch.setenv("MONGO_URI", uri)
    at = page("settings").run()
    # The credentials are refused or ignored by the test server; either way nothing leaks.
    text = " ".join(str(t.value.to_dict()) for t in at.dataframe)
    text += " ".join(e.value for e in at.error)
    assert "s3cret-pw" not in text
    assert not at.exception


def test_typed_import_paths_survive_another_page(app_env, tmp_path):
    """The paths typed for an import, then the Team page and back: they were the defaults
    again (while a preview made from them stayed)."""
    at = page("streamlit_app").run()
    at.switch_page("ui/pages/settings.py").run()
    at.text_input(key="import_file").input(str(tmp_path / "batches.json"))
    at.text_input(key="import_dir").input(str(tmp_path))
    at.switch_page("ui/pages/team.py").run()
    at.switch_page("ui/pages/settings.py").run()
    assert not at.exception, at.exception
    assert at.text_input(key="import_file").value == str(tmp_path / "batches.json")
    assert at.text_input(key="import_dir").value == str(tmp_path)


def test_import_from_file_and_directory_with_summary(app_env, tmp_path):
    for n in (1, 2, 3):
        (tmp_path / f"batch_{n}").mkdir()
    (tmp_path / "batches.json").write_text(json.dumps(["batch_1", "batch_2", "batch_4"]))
    at = page("settings").run()
    assert not at.exception
    assert [r["Reachable"] for r in at.dataframe[0].value.to_dict("records")] == [True, True]
    at.text_input(key="import_file").input(str(tmp_path / "batches.json"))
    at.text_input(key="import_dir").input(str(tmp_path))
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["New"] == "4"
    assert app_env.work.batches.count_documents({}) == 0  # a preview writes nothing
    at.button(key="import_confirm").click().run()
    assert sorted(d["id"] for d in app_env.work.batches.find()) == [
        "batch_1",
        "batch_2",
        "batch_3",
        "batch_4",
    ]
    assert any("Import finished: 4 added" in s.value for s in at.success)
    # Again: idempotent, and the preview says so.
    at.button(key="import_preview_go").click().run()
    assert {m.label: m.value for m in at.metric}["Unchanged"] == "4"


def test_importing_one_batch_words_the_summary_in_the_singular_in_spanish(
    app_env, tmp_path, monkeypatch
):
    # "Importación terminada: 1 agregados" read wrong: each count agrees with its word.
    monkeypatch.setenv("LANGUAGE", "es")
    (tmp_path / "batch_1").mkdir()
    (tmp_path / "batch_2").mkdir()
    app_env.work.batches.insert_one(
        {"id": "batch_2", "number": 2, "folder": str(tmp_path / "batch_2")}
    )
    at = page("settings").run()
    at.text_input(key="import_dir").input(str(tmp_path))
    at.button(key="import_preview_go").click().run()
    at.button(key="import_confirm").click().run()
    assert not at.exception
    said = [s.value for s in at.success if s.value.startswith("Importación terminada")]
    assert len(said) == 1 and said[0].startswith("Importación terminada: 1 agregado, "), said
    assert "0 marcados como faltantes." in said[0]


def test_import_problem_is_shown_next_to_the_inputs(app_env, tmp_path):
    (tmp_path / "batches.json").write_text("{not json")
    at = page("settings").run()
    at.text_input(key="import_file").input(str(tmp_path / "batches.json"))
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    assert "invalid JSON" in at.error[0].value
    assert app_env.work.batches.count_documents({}) == 0


@pytest.mark.parametrize(
    "text, said",
    [
        # a list: the place in it ("item 2" was English on a Spanish page)
        (
            json.dumps(["batch_1", "batch_1"]),
            "elemento 2 repite el lote 'batch_1' (ya está en elemento 1)",
        ),
        # JSON Lines: the line an editor shows, blank lines counted
        ('"batch_1"\n\n"batch_2"\n\n"batch_1"\n', "línea 5 repite el lote 'batch_1'"),
        # an object holding the list: the list named too
        (
            json.dumps({"batches": ["batch_1", 7]}),
            "batches.json, lista 'batches': elemento 2 debe ser",
        ),
    ],
)
def test_where_an_import_problem_is_is_said_in_spanish(app_env, tmp_path, monkeypatch, text, said):
    monkeypatch.setenv("LANGUAGE", "es")
    (tmp_path / "batches.json").write_text(text)
    at = page("settings").run()
    at.text_input(key="import_file").input(str(tmp_path / "batches.json"))
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    assert said in at.error[0].value, at.error[0].value
    assert app_env.work.batches.count_documents({}) == 0


def test_download_a_backup_that_restores(app_env, tmp_path, monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager

    from segcore.backups import backup
    from segcore.team import team

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


def test_no_backup_download_of_a_half_restored_database(app_env, monkeypatch):
    """After a restore killed while it swapped the collections in, `segcore backup` refused,
    but "Download a backup" still gave a complete-looking backup of the half-restored data."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    from segcore.core.errors import RestoreIncomplete
    from segcore.core.timefmt import utcnow

    kept = []
    original = MediaFileManager.add_deferred

    def keep(self, data_callable, *args, **kwargs):
        kept.append(data_callable)
        return original(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", keep)
    at = page("settings").run()
    assert [b.label for b in at.get("download_button")] == ["Download a backup"]
    app_env.work.restore_state.insert_one(
        {
            "_id": "restore",
            "state": "swapping",
            "file": "old.jsonl.gz",
            "started_at": utcnow(),
            "owner": "a killed process",
        }
    )
    with pytest.raises(RestoreIncomplete, match="interrupted while it swapped"):
        kept[0]()  # the button shown before the restore was killed, clicked after it

    at = page("settings").run()
    assert not at.exception
    assert not at.get("download_button")
    assert any("No backup can be downloaded" in w.value for w in at.warning)


def test_a_viewer_gets_no_backup_button(app_env, monkeypatch):
    # The backup holds the logins' password hashes.
    from segcore.core.actors import Actor

    monkeypatch.setenv("LOGIN", "on")
    at = page("settings")
    at.session_state["actor"] = Actor("Vera", "viewer")
    at.run()
    assert not at.exception
    assert not at.get("download_button")


def seed_three_hundred(db, root):
    for n in range(1, 301):
        (root / f"batch_{n}").mkdir()
    db.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "number": n,
                "folder": str(root / f"batch_{n}"),
                "assignee": None,
                "status": "pending",
                "mongo_uploaded": False,
            }
            for n in range(1, 301)
        ]
    )


def test_an_uploaded_three_batch_file_flags_nothing_that_exists(app_env, tmp_path):
    # Issue 10 item 11: a small file flagged the 300 existing batches "folder missing".
    seed_three_hundred(app_env.work, tmp_path)
    (tmp_path / "batch_301").mkdir()
    listing = json.dumps(["batch_1", "batch_2", "batch_301"]).encode()
    at = page("settings").run()
    at.file_uploader(key="import_upload").set_value(("three.json", listing, "application/json"))
    at.text_input(key="import_file").input("")
    at.text_input(key="import_dir").input(str(tmp_path))
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert (shown["New"], shown["Flagged folder missing"]) == ("1", "0")
    assert app_env.work.batches.count_documents({}) == 300  # nothing written yet
    at.button(key="import_confirm").click().run()
    assert app_env.work.batches.count_documents({}) == 301
    assert app_env.work.batches.count_documents({"folder_missing": True}) == 0
    assert at.session_state["import_preview"] is None


def test_a_missing_path_error_names_what_was_typed(app_env, tmp_path):
    at = page("settings").run()
    at.text_input(key="import_file").input("~/nowhere/batches.json")
    at.text_input(key="import_dir").input("")
    at.button(key="import_preview_go").click().run()
    assert "'~/nowhere/batches.json' does not exist" in at.error[0].value
    assert "BATCHES_FILE" not in at.error[0].value
    at.text_input(key="import_file").input("")
    at.button(key="import_preview_go").click().run()
    assert (
        "upload a batches file" in at.error[0].value and "DATA_DIRECTORY" not in at.error[0].value
    )


def test_folders_naming_one_batch_are_named_in_the_preview_and_the_exact_one_imported(
    app_env, tmp_path
):
    """A leftover `batch_05` beside `batch_5` was chosen instead of it, without a word."""
    for name in ("batch_05", "batch_5", "batch_5_redo", "batch_6"):
        (tmp_path / name).mkdir()
    (tmp_path / "batch_5" / "img_001.png").write_bytes(b"x")
    at = page("settings").run()
    at.text_input(key="import_file").input("")
    at.text_input(key="import_dir").input(str(tmp_path))
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["New"] == "2"
    assert [w.value for w in at.warning] == [
        "Not imported: 'batch_05', 'batch_5_redo' name the same batch as folder 'batch_5', "
        "which is imported instead."
    ]
    at.button(key="import_confirm").click().run()
    assert {d["id"]: d["folder"] for d in app_env.work.batches.find()} == {
        "batch_5": str(tmp_path / "batch_5"),
        "batch_6": str(tmp_path / "batch_6"),
    }
    assert any("'batch_05', 'batch_5_redo' name the same batch" in s.value for s in at.success)


def test_a_link_named_like_a_batch_is_named_in_the_preview_and_not_imported(app_env, tmp_path):
    """`batch_7 -> batch_1` became a second batch on batch_1's folder, without a word."""
    for name in ("batch_1", "batch_2"):
        (tmp_path / name).mkdir()
    (tmp_path / "batch_7").symlink_to("batch_1")
    at = page("settings").run()
    at.text_input(key="import_file").input("")
    at.text_input(key="import_dir").input(str(tmp_path))
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["New"] == "2"
    said = (
        f"Not imported: 'batch_7' names the folder of batch 'batch_1' "
        f"({(tmp_path / 'batch_1').resolve()}), which is imported instead."
    )
    assert [w.value for w in at.warning] == [said]
    at.button(key="import_confirm").click().run()
    assert sorted(d["id"] for d in app_env.work.batches.find()) == ["batch_1", "batch_2"]
    assert any(said in s.value for s in at.success)


def test_an_id_in_another_unicode_form_is_named_as_the_stored_batch(app_env, tmp_path):
    """`hígado_01` saved on a Mac (NFD) became a second batch that looks like the first."""
    app_env.work.batches.insert_one({"id": "h\u00edgado_01", "status": "pending"})
    listing = tmp_path / "b.json"
    listing.write_text(json.dumps([{"id": "hi\u0301gado_01"}]), encoding="utf-8")
    at = page("settings").run()
    at.text_input(key="import_file").input(str(listing))
    at.text_input(key="import_dir").input("")
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["New"] == "0"
    assert any(
        "1 id is a stored batch's id written in another Unicode form" in c.value
        and "hi\\\\u0301gado" in c.value
        for c in at.caption
    ), [c.value for c in at.caption if "Unicode" in c.value or "No data" in c.value]


def test_the_prefilled_batches_file_missing_means_the_folders_alone_as_segcore_import(
    app_env, tmp_path, monkeypatch
):
    """The form comes with `$DATA_DIRECTORY/batches.json`; without that file its own preview
    failed ("does not exist on the server") where `segcore import` scans the folders."""
    for n in (1, 2, 3):
        (tmp_path / f"batch_{n}").mkdir()
    monkeypatch.setenv("DATA_DIRECTORY", str(tmp_path))
    at = page("settings").run()
    assert at.text_input(key="import_file").value == str(tmp_path / "batches.json")
    at.button(key="import_preview_go").click().run()
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["New"] == "3"
    assert f"There is no batches file at '{tmp_path / 'batches.json'}'" in " ".join(
        c.value for c in at.caption
    )
    # with a file uploaded beside the prefilled fields: the file and the folders
    listing = json.dumps(["batch_1", "batch_4"]).encode()
    at.file_uploader(key="import_upload").set_value(("batches.json", listing, "application/json"))
    at.button(key="import_preview_go").click().run()
    assert not at.error and {m.label: m.value for m in at.metric}["New"] == "4"
    at.button(key="import_confirm").click().run()
    assert app_env.work.batches.count_documents({}) == 4
    # a file the user typed that does not exist is still refused
    at.file_uploader(key="import_upload").set_value(None)
    at.text_input(key="import_file").input(str(tmp_path / "batchs.json"))
    at.button(key="import_preview_go").click().run()
    assert f"The batches file '{tmp_path / 'batchs.json'}' does not exist" in at.error[0].value


def test_a_database_the_uri_names_but_mongo_db_overrides_is_said(app_env, monkeypatch):
    # The test server refuses credentials: tests/settings/test_config_db.py and
    # tests/cli/test_cli_uri_database.py check that these texts never hold the password.
    monkeypatch.setenv("MONGO_URI", app_env.settings.mongo_uri.replace("/?", "/teamdb?", 1))
    at = page("settings").run()
    assert not at.exception
    assert [i.value for i in at.info] == [
        f"MONGO_DB={app_env.settings.mongo_db} is the app's database (MONGO_DB wins); the "
        "database MONGO_URI names, teamdb, is not used for the app's data."
    ]
    rows = {r["Setting"]: r["Value"] for r in at.dataframe[1].value.to_dict("records")}
    assert rows["MONGO_DB"] == (
        f"{app_env.settings.mongo_db} (MONGO_DB; MONGO_URI names teamdb, not used)"
    )


REFUSED = ["batch_1", "batch_2", "C:\\data\\batch_3", {"id": "batch_4\u001b[2J"}, {"id": "b5.."}]


@pytest.mark.parametrize(
    "language, said",
    [
        (
            "en",
            "3 entries will be refused, their ids not being folder names: "
            "'C:\\\\data\\\\batch_3': contains a path separator; "
            "'batch_4\\x1b[2J': contains a control character; 'b5..': contains '..'.",
        ),
        (
            "es",
            "Se rechazarán 3 entradas, porque sus identificadores no son nombres de carpeta: "
            "'C:\\\\data\\\\batch_3': contiene un separador de ruta; "
            "'batch_4\\x1b[2J': contiene un carácter de control; 'b5..': contiene '..'.",
        ),
    ],
)
def test_the_import_preview_says_which_entries_will_be_refused(
    app_env, tmp_path, monkeypatch, language, said
):
    """The preview said "New 2" and nothing of the three ids that cannot name a folder: they
    were named only once Import had written the others."""
    monkeypatch.setenv("LANGUAGE", language)
    (tmp_path / "batches.json").write_text(json.dumps(REFUSED))
    at = page("settings").run()
    at.text_input(key="import_file").input(str(tmp_path / "batches.json"))
    at.button(key="import_preview_go").click().run()
    assert not at.exception, at.exception
    assert [shown(w.value) for w in at.warning] == [said]
    assert app_env.work.batches.count_documents({}) == 0  # a preview writes nothing


@pytest.mark.parametrize("batch_id", ["", ".", "a/b", "b5..", "a\x00", "Jos\udce9", "x" * 300])
def test_every_reason_an_id_is_refused_for_is_worded_in_the_pages_language(batch_id):
    """The preview words segcore's English reasons in the reader's language: a reason added
    there without its words here would show in English on a Spanish page."""
    from segcore.core.naming import unsafe_id_reason
    from ui.batches.import_actions import _REASONS, _TOO_LONG

    reason = unsafe_id_reason(batch_id)
    assert reason is not None and (reason in _REASONS or _TOO_LONG.fullmatch(reason)), reason


def test_a_file_naming_a_leftover_folder_previews_and_imports_the_exact_one(app_env, tmp_path):
    """The preview said "'batch_01' ... folder 'batch_1', which is imported instead" and
    Import then stored batch_01 -> the empty leftover and no batch_1."""
    for name in ("batch_1", "batch_01", "batch_2"):
        (tmp_path / name).mkdir()
    (tmp_path / "batch_1" / "img_001.png").write_bytes(b"x")
    (tmp_path / "batches.json").write_text(json.dumps(["batch_01", "batch_2"]))
    at = page("settings").run()
    at.text_input(key="import_file").input(str(tmp_path / "batches.json"))
    at.text_input(key="import_dir").input(str(tmp_path))
    at.button(key="import_preview_go").click().run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["New"] == "2"
    assert [w.value for w in at.warning] == [
        "Not imported: 'batch_01' names the same batch as folder 'batch_1', which is "
        "imported instead."
    ]
    at.button(key="import_confirm").click().run()
    assert {d["id"]: d["folder"] for d in app_env.work.batches.find()} == {
        "batch_1": str(tmp_path / "batch_1"),
        "batch_2": str(tmp_path / "batch_2"),
    }


def _batches_listed_in_another_folder(work, tmp_path):
    """batch_1 and batch_2 stored with their folders on disk; a batches file in another folder
    lists them as `batch_01` and `Batch_2`, folders that are not there."""
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    for n in (1, 2):
        (data / f"batch_{n}").mkdir(parents=True)
    elsewhere.mkdir()
    work.batches.insert_many(
        [{"id": f"batch_{n}", "folder": str(data / f"batch_{n}"), "number": n} for n in (1, 2)]
    )
    (elsewhere / "batches.json").write_text(json.dumps(["batch_01", "Batch_2"]))
    at = page("settings").run()
    at.text_input(key="import_file").input(str(elsewhere / "batches.json"))
    at.text_input(key="import_dir").input("")
    return at.button(key="import_preview_go").click().run(), data, elsewhere


def test_the_preview_names_batches_whose_folder_an_import_would_replace_by_none(app_env, tmp_path):
    """A batches file on the server listing `batch_01` and `Batch_2` from another folder:
    Import re-pointed the delivered batch_1 and batch_2 to folders that do not exist, and
    neither the preview nor the summary named them."""
    at, data, elsewhere = _batches_listed_in_another_folder(app_env.work, tmp_path)
    assert not at.exception, at.exception
    said = (
        "2 batches keep their folder, the one the import names for them not being on disk: "
        f"batch_1 ('{elsewhere / 'batch_01'}'), batch_2 ('{elsewhere / 'Batch_2'}')."
    )
    assert [shown(w.value) for w in at.warning] == [said]
    assert {m.label: m.value for m in at.metric}["Unchanged"] == "2"
    at.button(key="import_confirm").click().run()
    assert {d["id"]: d["folder"] for d in app_env.work.batches.find()} == {
        "batch_1": str(data / "batch_1"),
        "batch_2": str(data / "batch_2"),
    }
    assert "Import finished: 0 added, 0 refreshed, 2 unchanged" in at.success[0].value
    assert [shown(w.value) for w in at.warning] == [said]  # said again, once written


def test_a_kept_folder_is_said_in_spanish(app_env, tmp_path, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "es")
    at, _data, elsewhere = _batches_listed_in_another_folder(app_env.work, tmp_path)
    assert [shown(w.value) for w in at.warning] == [
        "2 lotes conservan su carpeta, porque las que la importación indica para ellos no "
        f"están en el disco: batch_1 ('{elsewhere / 'batch_01'}'), batch_2 "
        f"('{elsewhere / 'Batch_2'}')."
    ]


def test_the_uploaders_help_says_in_spanish_what_its_english_button_and_limit_mean(
    app_env, monkeypatch
):
    monkeypatch.setenv("LANGUAGE", "es")
    at = page("settings").run()
    assert not at.exception
    uploader = at.file_uploader(key="import_upload")
    assert uploader.help == (
        "Arrastra aquí un archivo JSON o haz clic en Upload (Subir): un archivo de hasta 200 MB."
    )


def test_an_upload_with_relative_folders_and_no_data_directory_is_refused_by_its_line(
    app_env, tmp_path
):
    """Probe 11: with the data-directory field empty, an uploaded file's `batch_1` and
    `incoming/batch_2` were stored relative, which the app and the timers resolve against
    their own working folder."""
    listing = b'[{"id": "batch_1", "folder": "/srv/data/batch_1"},\n "incoming/batch_2"]'
    at = page("settings").run()
    at.file_uploader(key="import_upload").set_value(("batches.json", listing, "application/json"))
    at.text_input(key="import_file").input("")
    at.text_input(key="import_dir").input("")
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    assert at.error[0].value == (
        "batches.json: item 2: the folder 'incoming/batch_2' is relative and there is no "
        "folder to take it under: give the data directory it is in, or write the folders in "
        "full"
    )
    assert at.session_state["import_preview"] is None
    assert app_env.work.batches.count_documents({}) == 0
    # given the data directory, the same file's folders are stored under it
    (tmp_path / "incoming" / "batch_2").mkdir(parents=True)
    at.text_input(key="import_dir").input(str(tmp_path))
    at.button(key="import_preview_go").click().run()
    at.button(key="import_confirm").click().run()
    assert app_env.work.batches.find_one({"id": "batch_2"})["folder"] == str(
        tmp_path / "incoming" / "batch_2"
    )


def test_the_preview_names_the_folder_used_of_two_the_sources_name(app_env, tmp_path):
    """Probe 11: a file naming `batch_07` beside the folder `batch_7` stored the absent one
    and flagged the batch missing, without a word."""
    (tmp_path / "batch_7").mkdir()
    at = page("settings").run()
    at.file_uploader(key="import_upload").set_value(("b.json", b'["batch_07"]', "application/json"))
    at.text_input(key="import_file").input("")
    at.text_input(key="import_dir").input(str(tmp_path))
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert (shown["New"], shown["Flagged folder missing"]) == ("1", "0")
    real = tmp_path.resolve()
    assert (
        f"1 batch has two folders in the sources; the one used: batch_07 at "
        f"'{real / 'batch_7'}' ('{tmp_path / 'batch_07'}' is not on disk)."
    ) in [w.value.replace("\\", "") for w in at.warning]  # shown as literal text


def test_a_files_priority_is_checked_and_set_as_the_batchs_own(app_env, tmp_path, monkeypatch):
    """The Settings page's import as `segcore import`: a priority `batches set` would refuse
    is refused saying where, in Spanish; a valid one is the batch's (the table's column);
    a stored batch keeps its own and the preview says so."""
    monkeypatch.setenv("LANGUAGE", "es")
    listing = tmp_path / "batches.json"
    listing.write_text(json.dumps([{"id": "batch_1", "priority": "urgente"}]))
    at = page("settings").run()
    at.text_input(key="import_file").input(str(listing))
    at.text_input(key="import_dir").input("")
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    said = "elemento 1: La prioridad debe ser una de estas: alta, media, baja."
    assert said in at.error[0].value, at.error[0].value
    assert app_env.work.batches.count_documents({}) == 0

    app_env.work.batches.insert_one({"id": "batch_2", "metadata": {"priority": "media"}})
    listing.write_text(
        json.dumps(
            [
                {"id": "batch_1", "priority": "alta", "due_date": "2026-12-20"},
                {"id": "batch_2", "priority": "alta"},
            ]
        )
    )
    at.button(key="import_preview_go").click().run()
    assert not at.exception
    note = "1 lote conserva su prioridad o fecha límite"
    assert any(
        note in i.value and "batch\\_2 (Prioridad: Media, no Alta)" in i.value for i in at.info
    ), [i.value for i in at.info]
    at.button(key="import_confirm").click().run()
    stored = {d["id"]: d.get("metadata") for d in app_env.work.batches.find()}
    assert stored == {
        "batch_1": {"priority": "alta", "due_date": "2026-12-20"},
        "batch_2": {"priority": "media"},
    }


def test_an_interrupted_restore_is_dated_in_the_offices_zone(app_env, monkeypatch):
    """README: every page time is in TIMEZONE; the restore started at 15:00 UTC, 09:00 in
    Mexico City, and every page's banner says so."""
    from datetime import datetime

    monkeypatch.setenv("TIMEZONE", "America/Mexico_City")
    app_env.work.restore_state.insert_one(
        {
            "_id": "restore",
            "state": "swapping",
            "file": "old.jsonl.gz",
            "started_at": datetime(2026, 12, 7, 15, 0),
            "owner": "a killed process",
        }
    )
    at = page("streamlit_app").run()  # the entry point heads every page with the banner
    assert not at.exception
    [banner] = [e.value for e in at.error if "old.jsonl.gz" in e.value]
    assert "9:00:00" in banner and "UTC" not in banner, banner


def test_a_misspelt_name_in_the_env_file_is_a_warning_on_the_page(app_env, tmp_path):
    """`mongo_db=` beside MONGO_DB set: ignored, which the command line says on stderr; the
    page says it too, naming the line, never the value."""
    (tmp_path / ".env").write_text("LANGUAGE=en\nmongo_db=otherdb\n")  # app_env runs in tmp_path
    at = page("settings").run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == [
        ".env, line 2: mongo_db is not a setting and is ignored (did you mean MONGO_DB, "
        "which is set?)"
    ]
