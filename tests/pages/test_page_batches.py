"""The batches page against the real test database: save, conflicts, bulk actions, history."""

import pytest

from segcore.team import team
from segcore.work import batches as batches_module
from tests.helpers import page
from tests.helpers import shown as as_read


def seed(db, count=5):
    for name in ("Ceci", "Flor"):
        team.add_member(db, name, author="test")
    db.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "number": n,
                "folder": f"/data/batch_{n}",
                "assignee": None,
                "status": "pending",
                "mongo_uploaded": False,
            }
            for n in range(1, count + 1)
        ]
    )


def edit(at, rows):
    """Simulate edits in the grid (AppTest cannot type into it) and rerun."""
    key = f"batch_editor_{at.session_state['batch_editor_version']}"
    at.session_state[key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    return at.run()


def test_save_writes_only_the_edited_rows(app_env):
    db = app_env.work
    seed(db)
    at = edit(
        page("batches").run(),
        {0: {"assignee": "Ceci", "priority": "alta"}, 2: {"due_date": "2025-12-01T00:00:00.000"}},
    )
    assert at.button(key="save_batches").label == "Save changes (2 batches)"
    at.button(key="save_batches").click().run()
    assert not at.exception
    assert any("2 batches saved" in s.value for s in at.success)
    docs = {d["id"]: d for d in db.batches.find({}, {"_id": 0})}
    assert docs["batch_1"]["assignee"] == "Ceci"
    assert docs["batch_1"]["metadata"]["priority"] == "alta"
    assert docs["batch_3"]["metadata"] == {"due_date": "2025-12-01"}
    assert all("metadata" not in docs[b] for b in ("batch_2", "batch_4", "batch_5"))
    assert [h["field"] for h in db.history.find({"key": "batch_1"})] == ["assignee", "priority"]
    # A fresh editor after saving: no edit is pending any more.
    assert at.button(key="save_batches").disabled


def test_conflicting_save_lists_both_values_and_keeps_the_rest(app_env):
    db = app_env.work
    seed(db)
    at = edit(page("batches").run(), {0: {"assignee": "Ceci"}, 1: {"assignee": "Ceci"}})
    db.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Flor"}})  # someone else
    at.button(key="save_batches").click().run()
    assert not at.exception
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Flor"
    assert db.batches.find_one({"id": "batch_2"})["assignee"] == "Ceci"
    assert any("not saved" in w.value for w in at.warning)
    conflicts = at.dataframe[1].value  # [0] is the editor itself
    assert conflicts.to_dict("records") == [
        {
            "batch": "batch_1",
            "field": "Assignee",
            "you saw": "(empty)",
            "now": "Flor",
            "you wanted": "Ceci",
        }
    ]


def test_a_conflict_is_listed_in_the_tables_words_in_spanish(app_env, monkeypatch):
    from ui.app import i18n

    monkeypatch.setenv("LANGUAGE", "es")
    # AppTest formats select boxes' values outside the run on a rerun (see test_i18n_pages).
    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    db = app_env.work
    seed(db, 3)
    db.batches.update_one({"id": "batch_2"}, {"$set": {"status": "review"}})
    at = edit(page("batches").run(), {1: {"status": "done", "priority": "alta"}})
    changed_meanwhile(db, "batch_2", "status", "in_progress")
    at.button(key="save_batches").click().run()
    assert not at.exception, at.exception
    [conflicts] = [d.value for d in at.dataframe if "viste" in d.value.columns]
    assert conflicts.to_dict("records") == [
        {
            "lote": "batch_2",
            "campo": "Estado",
            "viste": "En revisión",
            "ahora": "En curso",
            "querías": "Terminado",
        }
    ]
    # The priority chosen in the same row, which nobody else touched, is saved.
    assert db.batches.find_one({"id": "batch_2"})["metadata"] == {"priority": "alta"}


def test_a_legacy_status_chosen_for_another_row_is_refused_at_once_and_blocks_nothing(app_env):
    db = app_env.work
    seed(db, 3)
    db.batches.update_one({"id": "batch_1"}, {"$set": {"status": "S"}})  # another tool's code
    at = page("batches").run()
    # The grid lists S (to draw batch_1's), so it can be chosen for batch_2.
    at = edit(at, {1: {"status": "S"}, 2: {"priority": "alta"}})
    assert not at.exception, at.exception
    assert any(
        "batch_2 keeps its Status: S is a value from older data" in w.value for w in at.warning
    )
    assert any("1 unsaved change in 1 batch" in w.value for w in at.warning)
    at.button(key="save_batches").click().run()
    assert not at.exception, at.exception
    assert any("1 batch saved" in s.value for s in at.success)
    docs = {d["id"]: d for d in db.batches.find()}
    assert [docs[b]["status"] for b in ("batch_1", "batch_2")] == ["S", "pending"]
    assert docs["batch_3"]["metadata"] == {"priority": "alta"}


def test_invalid_edit_is_refused_next_to_the_table(app_env):
    db = app_env.work
    seed(db)
    at = edit(page("batches").run(), {0: {"assignee": "Nobody"}})
    # Someone not on the team is refused at once: the batch keeps its assignee.
    assert any("Nobody is not on the team" in w.value for w in at.warning)
    assert at.button(key="save_batches").disabled
    # A value the grid itself never offers reaches Save, which refuses it and names it.
    at = edit(at, {1: {"due_date": "0001-01-01T00:00:00.000"}})
    at.button(key="save_batches").click().run()
    assert any("A due date must lie between" in e.value for e in at.error)
    assert db.batches.find_one({"id": "batch_2"}).get("metadata") is None
    assert "1 unsaved change in 1 batch" in at.warning[0].value  # kept after the refusal


def test_bulk_assign_ticked_and_next_pending(app_env):
    db = app_env.work
    seed(db, 8)
    at = edit(page("batches").run(), {1: {"select": True}, 3: {"select": True}})
    at.selectbox(key="bulk_selected_to").select("Flor")
    at.button(key="bulk_selected").click().run()
    assert not at.exception
    assert sorted(d["id"] for d in db.batches.find({"assignee": "Flor"})) == ["batch_2", "batch_4"]
    at.number_input(key="bulk_next_count").set_value(3)
    at.selectbox(key="bulk_next_to").select("Ceci")
    at.button(key="bulk_next").click().run()
    assert sorted(d["id"] for d in db.batches.find({"assignee": "Ceci"})) == [
        "batch_1",
        "batch_3",
        "batch_5",
    ]


def test_ticked_rows_stay_ticked_across_a_change_of_sort_and_filter(app_env):
    db = app_env.work
    seed(db, 8)
    at = edit(page("batches").run(), {2: {"select": True}, 4: {"select": True}})
    assert at.button(key="bulk_selected").label == "Assign 2 ticked"
    at.selectbox(key="bf_order").set_value("Descending").run()
    assert at.button(key="bulk_selected").label == "Assign 2 ticked"
    at.selectbox(key="bf_order").set_value("Ascending").run()
    assert at.button(key="bulk_selected").label == "Assign 2 ticked"
    frame = at.dataframe[0].value  # the editor, drawn with the ticks
    assert list(frame[frame["select"]]["id"]) == ["batch_3", "batch_5"]
    # A filter that hides one: the other is assigned, and the page says why only one.
    at.text_input(key="bf_text").input("batch_3").run()
    assert at.button(key="bulk_selected").label == "Assign 1 ticked"
    assert any("1 ticked batch is not shown" in c.value for c in at.caption)
    at.selectbox(key="bulk_selected_to").select("Flor")
    at.button(key="bulk_selected").click().run()
    assert not at.exception, at.exception
    assert [d["id"] for d in db.batches.find({"assignee": "Flor"})] == ["batch_3"]


def test_spread_pending_asks_first(app_env):
    db = app_env.work
    seed(db, 6)
    at = page("batches").run()
    # Nobody is picked at first (a hundred chips would bury the page): nothing to spread yet.
    assert at.button(key="bulk_balance_ask").disabled
    at.toggle(key="bulk_balance_all").set_value(True).run()
    at.button(key="bulk_balance_ask").click().run()
    assert db.batches.count_documents({"assignee": {"$ne": None}}) == 0
    at.button(key="bulk_balance_yes").click().run()
    assert not at.exception
    counts = {n: db.batches.count_documents({"assignee": n}) for n in ("Ceci", "Flor")}
    assert counts == {"Ceci": 3, "Flor": 3}
    assert any("Spread 6" in s.value for s in at.success)


def test_spread_and_next_pending_assign_batches_with_null_metadata(app_env):
    """The old dashboard left `metadata: null` on some batches: spreading said "Spread 0
    pending batches (none were unassigned)" and next-N kept picking the first one, failing."""
    db = app_env.work
    seed(db, 4)
    db.batches.update_many({"number": {"$lte": 3}}, {"$set": {"metadata": None}})
    at = page("batches").run()
    at.number_input(key="bulk_next_count").set_value(1)
    at.selectbox(key="bulk_next_to").select("Ceci")
    at.button(key="bulk_next").click().run()
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Ceci"
    assert any("Next 1 pending to Ceci: 1 batch saved." in s.value for s in at.success)
    at.toggle(key="bulk_balance_all").set_value(True).run()
    at.button(key="bulk_balance_ask").click().run()
    at.button(key="bulk_balance_yes").click().run()
    assert not at.exception
    assert db.batches.count_documents({"assignee": None}) == 0
    assert any("Spread 3 pending batches (Ceci: 1, Flor: 2)." in s.value for s in at.success)


def test_next_pending_names_a_batch_it_could_not_assign_and_takes_the_next(app_env, monkeypatch):
    from segcore.work import assignments

    db = app_env.work
    seed(db, 3)
    real = assignments.apply_edits

    def taken_meanwhile(work, edits, author, *args, **kwargs):
        if any(e.batch_id == "batch_1" for e in edits):
            work.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Flor"}})
        return real(work, edits, author, *args, **kwargs)

    monkeypatch.setattr(assignments, "apply_edits", taken_meanwhile)
    at = page("batches").run()
    at.number_input(key="bulk_next_count").set_value(1)
    at.selectbox(key="bulk_next_to").select("Ceci")
    at.button(key="bulk_next").click().run()
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Flor"
    assert db.batches.find_one({"id": "batch_2"})["assignee"] == "Ceci"
    # nobody was shown batch_1: it is named with its holder, not listed as a conflict
    assert [s.value for s in at.success] == [
        "Next 1 pending to Ceci: 1 batch saved. 1 batch was assigned by someone else "
        "meanwhile and stays with them: batch_1 (Flor)."
    ]
    assert not at.warning


def test_filters_paging_and_history(app_env):
    db = app_env.work
    seed(db, 120)
    at = page("batches").run()
    assert "120 batches match · page 1 of 2" in at.caption[0].value
    at.number_input(key="batch_page").set_value(2).run()
    assert len(at.dataframe[0].value) == 20
    at.selectbox(key="bf_sort").select("assignee").run()
    assert not at.exception
    at.text_input(key="bf_text").input("11").run()
    assert at.caption[0].value.startswith("11 batches match · page 1 of 1")
    at = edit(at, {0: {"status": "review"}})
    at.button(key="save_batches").click().run()
    at.text_input(key="history_of").input("batch_11").run()
    assert not at.exception
    assert at.dataframe[-1].value.iloc[0]["New"] == "In review"


def grid_options(at, column):
    """The grid column's choices as (stored value, label shown)."""
    import json

    config = json.loads(at.dataframe[0].proto.columns)[column]["type_config"]
    return [(o["value"], o["label"]) for o in config["options"]]


def seed_legacy(db):
    from segcore.work import handover

    seed(db, 3)
    team.add_member(db, "Pedro", author="test")
    db.batches.update_one({"id": "batch_1"}, {"$set": {"assignee": "Roberto", "status": "S"}})
    db.batches.update_one(
        {"id": "batch_2"},
        {"$set": {"assignee": "Pedro", "mongo_uploaded": True, "mask_check.usable": True}},
    )
    handover.remove_member(db, "Pedro", author="test")  # batch_2 is delivered: it stays his


def test_former_and_legacy_assignees_show_their_names_marked(app_env):
    # Issue 10 item 1: the Assignee cell was blank for anyone not on the team.
    seed_legacy(app_env.work)
    at = page("batches").run()
    assert not at.exception
    rows = at.dataframe[0].value.set_index("id")
    assert (
        rows.loc["batch_1", "assignee"] == "Roberto" and rows.loc["batch_2", "assignee"] == "Pedro"
    )
    assert grid_options(at, "assignee") == [
        ("Ceci", "Ceci"),
        ("Flor", "Flor"),
        ("Pedro", "Pedro (left the team)"),
        ("Roberto", "Roberto (not on the team)"),
    ]
    assert at.dataframe[0].proto.placeholder == ""  # blanks, not a grey "None"
    who = at.selectbox(key="bf_who")
    assert who.options[-2:] == ["Pedro (left the team)", "Roberto (not on the team)"]
    assert at.selectbox(key="bf_status").options[-1] == "S"
    who.select("Pedro").run()
    assert at.dataframe[0].value["id"].tolist() == ["batch_2"]


def test_an_assignee_stored_with_spaces_around_it_is_drawn_not_blank(app_env):
    """The grid trims its options: "Flor " (the old dashboard kept what was typed) matched
    none and was drawn blank, and "Pedro " labelled the row holding "Pedro". Such a value is
    drawn with its spaces made visible, labelled as its person, and saving another field
    keeps it as stored."""
    db = app_env.work
    seed(db, 4)
    for n, stored in ((1, "Flor "), (2, " Flor"), (3, "Pedro "), (4, "Pedro")):
        db.batches.update_one({"id": f"batch_{n}"}, {"$set": {"assignee": stored}})
    at = page("batches").run()
    assert not at.exception
    rows = at.dataframe[0].value.set_index("id")
    assert rows["assignee"].to_dict() == {
        "batch_1": "Flor␣",
        "batch_2": "␣Flor",
        "batch_3": "Pedro␣",
        "batch_4": "Pedro",
    }
    options = dict(grid_options(at, "assignee"))
    assert options["Flor␣"] == "Flor␣" and options["␣Flor"] == "␣Flor"
    assert options["Pedro␣"] == "Pedro␣ (not on the team)"
    assert options["Pedro"] == "Pedro (not on the team)"
    assert all(value == value.strip() for value in options)  # as the grid trims them
    at = edit(at, {0: {"priority": "baja"}})
    at.button(key="save_batches").click().run()
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Flor "
    assert db.batches.find_one({"id": "batch_1"})["metadata"]["priority"] == "baja"


def test_a_viewer_sees_the_same_names(app_env, monkeypatch):
    from segcore.core.actors import Actor

    seed_legacy(app_env.work)
    at = page("batches")
    at.session_state["actor"] = Actor("vera", "viewer")
    at.run()
    assert not at.exception
    assert "save_batches" not in [b.key for b in at.button]
    assert at.dataframe[0].value.set_index("id").loc["batch_2", "assignee"] == "Pedro"
    assert ("Pedro", "Pedro (left the team)") in grid_options(at, "assignee")


def test_saving_another_field_never_rewrites_a_former_assignee(app_env):
    db = app_env.work
    seed_legacy(db)
    at = edit(page("batches").run(), {0: {"priority": "baja"}, 1: {"status": "review"}})
    at.button(key="save_batches").click().run()
    assert [db.batches.find_one({"id": b})["assignee"] for b in ("batch_1", "batch_2")] == [
        "Roberto",
        "Pedro",
    ]
    assert db.history.count_documents({"kind": "batch", "field": "assignee"}) == 0


def test_priorities_and_statuses_are_labelled_in_one_language(app_env):
    # Issue 10 item 14: stored "alta" and "in_progress" side by side; stored values kept.
    seed(app_env.work, 2)
    at = page("batches").run()
    assert grid_options(at, "priority") == [("alta", "High"), ("media", "Medium"), ("baja", "Low")]
    assert ("in_progress", "In progress") in grid_options(at, "status")
    assert at.selectbox(key="bf_status").options[:3] == ["All", "Pending", "In progress"]
    at.selectbox(key="bf_status").select("in_progress").run()
    assert "0 batches match" in at.caption[0].value


def test_unsaved_edits_survive_sort_filter_and_table_page_changes(app_env):
    # Issue 10 item 7: pending edits vanished when the view changed.
    db = app_env.work
    seed(db, 120)
    at = edit(page("batches").run(), {0: {"assignee": "Ceci"}, 1: {"priority": "alta"}})
    assert "2 unsaved changes in 2 batches" in at.warning[0].value
    at.number_input(key="batch_page").set_value(2).run()
    at = edit(at, {0: {"status": "review"}})  # batch_101
    assert "3 unsaved changes in 3 batches" in at.warning[0].value
    at.selectbox(key="bf_order").select("Descending").run()
    at.text_input(key="bf_text").input("batch_1").run()
    assert "3 unsaved changes" in at.warning[0].value
    at.selectbox(key="bf_order").select("Ascending").run()
    at.text_input(key="bf_text").input("").run()
    rows = at.dataframe[0].value.set_index("id")
    assert (rows.loc["batch_1", "assignee"], rows.loc["batch_2", "priority"]) == ("Ceci", "alta")
    at.button(key="save_batches").click().run()
    assert any("3 batches saved" in s.value for s in at.success)
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Ceci"
    assert db.batches.find_one({"id": "batch_101"})["status"] == "review"
    assert at.button(key="save_batches").disabled


def test_discard_asks_first_then_forgets_every_pending_edit(app_env):
    db = app_env.work
    seed(db, 3)
    at = edit(page("batches").run(), {0: {"assignee": "Ceci"}, 1: {"priority": "alta"}})
    at.button(key="discard_batches").click().run()
    question = " ".join(m.value for m in at.markdown)
    assert "2 unsaved changes in 2 batches will be lost." in question
    at.button(key="discard_no").click().run()  # kept: nothing lost on a misclick
    assert "2 unsaved changes in 2 batches" in at.warning[0].value
    at.button(key="discard_batches").click().run()
    at.button(key="discard_yes").click().run()
    assert at.button(key="save_batches").disabled
    assert at.dataframe[0].value["assignee"].isna().all()
    assert db.batches.count_documents({"assignee": "Ceci"}) == 0


def test_folder_missing_is_a_column_and_a_filter_and_skips_are_explained(app_env):
    # Issue 10 item 11: flagged batches were skipped silently by the bulk actions.
    db = app_env.work
    seed(db, 5)
    db.batches.update_many({"number": {"$lte": 3}}, {"$set": {"folder_missing": True}})
    at = page("batches").run()
    assert at.dataframe[0].value["folder_missing"].tolist() == [True, True, True, False, False]
    at.selectbox(key="bf_folder").select("Missing").run()
    assert at.caption[0].value.startswith("3 batches match")
    at.number_input(key="bulk_next_count").set_value(10)
    at.selectbox(key="bulk_next_to").select("Ceci")
    at.button(key="bulk_next").click().run()
    [message] = [s.value for s in at.success]
    assert (
        "Asked for 10, found 2" in message
        and "3 unassigned pending batches were skipped because their folder is missing" in message
    )


def test_folder_is_relative_overdue_marked_and_details_for_any_batch(
    app_env, monkeypatch, tmp_path
):
    monkeypatch.setenv("DATA_DIRECTORY", str(tmp_path))
    db = app_env.work
    seed(db, 60)
    db.batches.update_one(
        {"id": "batch_1"},
        {"$set": {"folder": str(tmp_path / "batch_1"), "metadata.due_date": "2020-01-31"}},
    )
    at = page("batches")
    at.session_state["bf_size"] = 50
    at.run()
    row = at.dataframe[0].value.iloc[0]
    assert (row["folder"], row["overdue"]) == ("batch_1", "⚠ overdue")
    at.text_input(key="history_of").input("batch_55").run()  # not on the page shown
    assert not at.exception
    assert any("/data/batch_55" in m.value for m in at.markdown)


def _details_in_spanish(monkeypatch, batch_id: str):
    """The Batches page in Spanish with `batch_id`'s details shown: (the run, {field: value})."""
    from ui.app import i18n  # AppTest formats selectbox values outside the run: Spanish there too

    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    at = page("batches")
    at.session_state["language"] = "es"
    at.run()
    at.text_input(key="history_of").input(batch_id).run()
    assert not at.exception, at.exception
    return at, dict(at.dataframe[-2].value.values.tolist())


def test_a_batchs_details_are_worded_in_the_office_time_zone(app_env, monkeypatch):
    # Issue 24 item 5: a raw dict dump, English field names, False, None and UTC times.
    from datetime import datetime

    db = app_env.work
    seed(db, 3)
    db.batches.update_one(
        {"id": "batch_2"},
        {
            "$set": {
                "status": "S",
                "created_at": datetime(2026, 1, 5, 18, 30),
                "folder_missing": False,
                "mongo_uploaded": True,
                "metadata": {"priority": "alta", "due_date": "2026-01-30", "reviewer": None},
                "training_metrics_info": {
                    "file_count": 2,
                    "latest_upload": datetime(2026, 1, 6, 2, 5),
                    "files": ["a.zip", "b.zip"],
                },
            }
        },
    )
    monkeypatch.setenv("TIMEZONE", "America/Mexico_City")
    at, fields = _details_in_spanish(monkeypatch, "batch_2")
    assert fields["Lote"] == "batch_2" and fields["Estado"] == "S"
    assert fields["Prioridad"] == "Alta" and fields["Máscaras subidas"] == "Sí"
    assert fields["Carpeta faltante"] == "No"
    assert fields["Archivos subidos (los primeros)"] == "a.zip, b.zip"
    # The office's clock (TIMEZONE), not UTC: Mexico City is UTC-6 in January.
    # Written as every Spanish date is ("5 ene 2026"), not ISO.
    assert fields["Creado"] == "5 ene 2026, 12:30:00\u202fp.m."
    assert fields["Última subida"] == "5 ene 2026, 8:05:00\u202fp.m."
    text = at.dataframe[-2].value.to_string()
    for leftover in ("None", "False", "True", "{", "created_at", "metadata"):
        assert leftover not in text


def test_the_late_filter_and_the_attention_panels_links(app_env):
    # Issue 24 item 13: who is late, on the Batches page, reached from the Attention panel.
    from tests.pace_seed import seed_pace

    seed_pace(app_env.work)
    from segcore.report import alerts

    found = alerts.current_alerts(app_env.work)
    at = page("batches").run()
    at.selectbox(key="bf_late").set_value("at_risk").run()
    assert not at.exception, at.exception
    shown = set(at.dataframe[0].value["id"])
    assert shown == {b.id for b in found.at_risk}
    at.selectbox(key="bf_late").set_value("stalled").run()
    assert set(at.dataframe[0].value["id"]) == set(found.stalled[0].queue)
    # The dashboard's links carry the filter in the URL; the page applies it once.
    dash = page("streamlit_app").run()
    assert not dash.exception, dash.exception
    links = [e.proto for e in dash.get("page_link")]
    by_label = {as_read(p.label): p for p in links}
    assert "late=stalled&who=Cai" in by_label["Cai"].query_string
    risky = found.at_risk[0].id
    assert f"late=at_risk&batch={risky}" in by_label[risky].query_string
    linked = page("batches")
    linked.query_params["late"] = "stalled"
    linked.query_params["who"] = "Cai"
    linked.run()
    assert not linked.exception, linked.exception
    assert linked.session_state["bf_late"] == "stalled"
    assert linked.session_state["bf_who"] == "Cai"
    assert set(linked.dataframe[0].value["id"]) == set(found.stalled[0].queue)
    linked.selectbox(key="bf_late").set_value("All").run()  # a later change by hand stays
    assert linked.session_state["bf_late"] == "All"


def test_the_overdue_filter_lists_every_batch_the_table_marks_overdue(app_env):
    """Uploaded is not delivered: an overdue batch whose upload is incomplete is overdue in
    the table's marker and in the Late filter alike."""
    check = {"state": "incomplete", "usable": False, "images": 3, "missing": 1}
    for number, extra in (
        (1, {}),  # nothing uploaded
        (2, {"mongo_uploaded": True, "mask_check": check}),  # incomplete
        (
            3,
            {
                "mongo_uploaded": True,
                "mask_check": {**check, "state": "complete", "missing": 0, "usable": True},
            },
        ),
        (4, {"status": "done"}),
    ):
        app_env.work.batches.insert_one(
            {
                "id": f"batch_{number}",
                "number": number,
                "status": "in_progress",
                "assignee": "Flor",
                "metadata": {"due_date": "2020-01-31"},
            }
            | extra
        )
    at = page("batches").run()
    table = at.dataframe[0].value
    marked = set(table[table["overdue"].notna()]["id"])
    assert marked == {"batch_1", "batch_2"}
    at.selectbox(key="bf_late").set_value("overdue").run()
    assert not at.exception, at.exception
    assert set(at.dataframe[0].value["id"]) == marked


def test_bulk_edit_of_the_filtered_batches_replaces_a_legacy_status(app_env):
    # Issue 24 item 12: bulk status/priority/due date, a legacy S to a current status,
    # compare-and-set, in the history.
    from segcore.store.history import list_history

    db = app_env.work
    seed(db, 6)
    db.batches.update_many(
        {"id": {"$in": ["batch_1", "batch_2", "batch_3"]}}, {"$set": {"status": "S"}}
    )
    at = page("batches").run()
    at.selectbox(key="bf_status").set_value("S").run()
    at.radio(key="bulk_scope").set_value("filtered").run()
    at.selectbox(key="bulk_status").set_value("review").run()
    at.selectbox(key="bulk_priority").set_value("alta").run()
    assert at.button(key="bulk_apply").label == "Apply to 3 batches"
    db.batches.update_one({"id": "batch_3"}, {"$set": {"status": "done"}})  # meanwhile
    at.button(key="bulk_apply").click().run()
    assert not at.exception, at.exception
    assert {d["id"]: d["status"] for d in db.batches.find({}, {"id": 1, "status": 1})} == {
        "batch_1": "review",
        "batch_2": "review",
        "batch_3": "done",
        "batch_4": "pending",
        "batch_5": "pending",
        "batch_6": "pending",
    }
    assert db.batches.find_one({"id": "batch_1"})["metadata"]["priority"] == "alta"
    assert [s.value for s in at.success] == ["Bulk change: 2 batches saved."]
    assert any("batch_3 could not be saved: its status is no longer S" in e.value for e in at.error)
    changes = {(h["field"], h["old"], h["new"]) for h in list_history(db, key="batch_1")}
    assert ("status", "S", "review") in changes and ("priority", None, "alta") in changes


def test_bulk_priority_on_legacy_metadata_says_why_a_batch_was_left_alone(app_env):
    """A null metadata takes the priority; an "n/a" one would be replaced, so that batch is
    named with its value (the page said "its status is no longer …" of a status filter it
    never had)."""
    db = app_env.work
    seed(db, 3)
    db.batches.update_one({"id": "batch_1"}, {"$set": {"metadata": None}})
    db.batches.update_one({"id": "batch_2"}, {"$set": {"metadata": "n/a"}})
    at = edit(page("batches").run(), {0: {"select": True}, 1: {"select": True}})
    at.selectbox(key="bulk_priority").set_value("alta").run()
    at.button(key="bulk_apply").click().run()
    assert not at.exception, at.exception
    assert db.batches.find_one({"id": "batch_1"})["metadata"] == {"priority": "alta"}
    assert db.batches.find_one({"id": "batch_2"})["metadata"] == "n/a"
    assert [s.value for s in at.success] == ["Bulk change: 1 batch saved."]
    assert [e.value for e in at.error] == [
        "batch_2 could not be saved: its metadata holds a legacy value ('n/a') that a "
        "priority or due date would replace"
    ]


def test_the_bulk_edit_keeps_every_filtered_batch_chosen_when_the_filter_changes(app_env):
    """The coordinator chooses every filtered batch, then narrows the filter: the choice stays
    and the form counts the batches the new filter shows. The counts are captions, not part of
    the options' labels: the browser sends back the label it showed, and a stale count put the
    choice back to the ticked batches ('Apply to 0'). AppTest sends the current label, so only
    the browser walk (`test_walk_in_browser.apply_to_every_filtered`) shows that failure."""
    db = app_env.work
    seed(db, 6)
    db.batches.update_many({"id": {"$in": ["batch_1", "batch_2"]}}, {"$set": {"status": "S"}})
    at = page("batches").run()
    at.radio(key="bulk_scope").set_value("filtered").run()
    assert at.radio(key="bulk_scope").value == "filtered"
    assert "6 batches" in at.radio(key="bulk_scope").proto.captions[1]
    at.selectbox(key="bf_status").set_value("S").run()
    at.selectbox(key="bulk_status").set_value("review").run()
    assert not at.exception, at.exception
    assert at.radio(key="bulk_scope").value == "filtered"
    assert list(at.radio(key="bulk_scope").proto.captions) == ["0 batches", "2 batches"]
    assert at.button(key="bulk_apply").label == "Apply to 2 batches"
    assert not at.button(key="bulk_apply").disabled


def test_bulk_edit_of_one_batch_says_batch(app_env):
    seed(app_env.work, 3)
    at = edit(page("batches").run(), {1: {"select": True}})
    at.selectbox(key="bulk_status").set_value("review").run()
    assert at.button(key="bulk_apply").label == "Apply to 1 batch"


def test_bulk_edit_of_the_ticked_batches_sets_and_clears_due_dates(app_env):
    db = app_env.work
    seed(db, 4)
    at = edit(page("batches").run(), {0: {"select": True}, 2: {"select": True}})
    at.selectbox(key="bulk_due").set_value("set").run()
    import datetime as dt

    # the English date order, as every other date of the interface: typing 12 01 2027 into a
    # day-first picker stored the 12th of January
    assert at.date_input(key="bulk_due_day").proto.format == "YYYY-MM-DD"
    at.date_input(key="bulk_due_day").set_value(dt.date(2027, 3, 1)).run()
    assert at.button(key="bulk_apply").label == "Apply to 2 batches"
    at.button(key="bulk_apply").click().run()
    assert not at.exception, at.exception
    due = {d["id"]: (d.get("metadata") or {}).get("due_date") for d in db.batches.find()}
    assert due == {
        "batch_1": "2027-03-01",
        "batch_2": None,
        "batch_3": "2027-03-01",
        "batch_4": None,
    }


def changed_meanwhile(db, batch_id, column, value):
    """Another coordinator's edit between the page's drawing and the click, seen by the app."""
    from segcore.work import assignments
    from segcore.work.batches import Edit
    from ui.app.connection import forget_data_versions

    old = batches_module.get_value(db.batches.find_one({"id": batch_id}), column)
    assert assignments.apply_edits(db, [Edit(batch_id, column, old, value)], "cli").updated
    forget_data_versions()  # a second later: the click's run sees the data version moved


def test_bulk_edit_of_ticked_batches_never_overrides_a_change_made_meanwhile(app_env):
    db = app_env.work
    seed(db, 3)
    at = edit(page("batches").run(), {0: {"select": True}, 1: {"select": True}})
    at.selectbox(key="bulk_status").set_value("in_progress").run()
    assert at.button(key="bulk_apply").label == "Apply to 2 batches"
    changed_meanwhile(db, "batch_1", "status", "review")
    at.button(key="bulk_apply").click().run()
    assert not at.exception, at.exception
    status = {d["id"]: d["status"] for d in db.batches.find()}
    assert status == {"batch_1": "review", "batch_2": "in_progress", "batch_3": "pending"}
    assert any("1 change was not saved" in w.value for w in at.warning)
    [conflicts] = [d.value for d in at.dataframe if "you saw" in d.value.columns]
    assert conflicts.to_dict("records") == [
        {
            "batch": "batch_1",
            "field": "Status",
            "you saw": "Pending",
            "now": "In review",
            "you wanted": "In progress",
        }
    ]


def test_assigning_ticked_batches_never_overrides_an_assignment_made_meanwhile(app_env):
    db = app_env.work
    seed(db, 3)
    at = edit(page("batches").run(), {0: {"select": True}, 1: {"select": True}})
    at.selectbox(key="bulk_selected_to").select("Flor").run()
    changed_meanwhile(db, "batch_1", "assignee", "Ceci")
    at.button(key="bulk_selected").click().run()
    assert not at.exception, at.exception
    held = {d["id"]: d["assignee"] for d in db.batches.find()}
    assert held == {"batch_1": "Ceci", "batch_2": "Flor", "batch_3": None}
    assert any("1 change was not saved" in w.value for w in at.warning)


@pytest.mark.parametrize(
    ("language", "edits", "kept", "lost"),
    [
        (
            "es",
            {0: {"assignee": "Ceci"}},
            "1 cambio sin guardar en 1 lote, conservado hasta que lo guardes o descartes.",
            "Se perderá 1 cambio sin guardar en 1 lote.",
        ),
        (
            "es",
            {0: {"assignee": "Ceci", "priority": "alta"}},
            "2 cambios sin guardar en 1 lote, conservados hasta que los guardes o descartes.",
            "Se perderán 2 cambios sin guardar en 1 lote.",
        ),
        (
            "en",
            {0: {"assignee": "Ceci"}},
            "1 unsaved change in 1 batch, kept until you save or discard it.",
            "1 unsaved change in 1 batch will be lost.",
        ),
    ],
)
def test_unsaved_changes_are_counted_in_words_that_agree(
    app_env, monkeypatch, language, edits, kept, lost
):
    # Probe 15: "Se perderán 1 cambio sin guardar en 1 lote": the verb followed the batches.
    from ui.app import i18n

    # In the test's thread too: AppTest formats selectbox values there (see test_i18n_pages).
    monkeypatch.setenv("LANGUAGE", language)
    monkeypatch.setattr(i18n, "current_language", lambda: language)
    seed(app_env.work, 3)
    at = edit(page("batches").run(), edits)
    assert [w.value for w in at.warning if kept in w.value] == [kept]
    at.button(key="discard_batches").click().run()
    assert lost in " ".join(m.value for m in at.markdown)


def test_unsaved_changes_hidden_by_the_filter_are_said(app_env):
    # Issue 24 item 7: a reassignment pending while a filter hides its row was not said.
    seed(app_env.work, 4)
    at = edit(page("batches").run(), {0: {"assignee": "Ceci"}, 1: {"assignee": "Flor"}})
    at.text_input(key="bf_text").input("3").run()
    assert not at.exception, at.exception
    said = [w.value for w in at.warning if "unsaved" in w.value]
    assert said == [
        "2 unsaved changes in 2 batches, kept until you save or discard them. "
        "2 unsaved changes in rows hidden by the filter."
    ]
    at.text_input(key="bf_text").input("").run()
    assert [w.value for w in at.warning if "unsaved" in w.value] == [
        "2 unsaved changes in 2 batches, kept until you save or discard them."
    ]


def test_fields_segcore_writes_on_a_batch_are_labelled_in_its_details(app_env, monkeypatch):
    """Review and rework write `rework_reason` and `review`; content checks `mask_content`:
    they showed as raw English keys ("rework_reason", "review: sent_back: 1; …")."""
    from datetime import datetime

    db = app_env.work
    seed(db, 3)
    db.batches.update_one(
        {"id": "batch_2"},
        {
            "$set": {
                "status": "rework",
                "rework_reason": "faltan dos máscaras",
                "review": {"sent_back": 2, "last_sent_back_at": datetime(2026, 1, 6, 2, 5)},
                "mask_content": {"checked": 3, "problems": 1, "offenders": [{"name": "a.png"}]},
            }
        },
    )
    at, fields = _details_in_spanish(monkeypatch, "batch_2")
    assert fields["Motivo del retrabajo"] == "faltan dos máscaras"
    assert fields["Veces devuelto"] == "2"
    text = at.dataframe[-2].value.to_string()
    for leftover in ("rework_reason", "review", "sent_back", "mask_content", "offenders"):
        assert leftover not in text


def test_a_due_date_that_is_no_date_is_shown_as_stored_and_exported_so(app_env):
    """A blank would read as "no due date": the stored text is shown beside the date column,
    exported as stored, and gone once a date is chosen (saved compare-and-set over it)."""
    from segcore.views import batch_table
    from segcore.work.batches import BatchQuery

    db = app_env.work
    seed(db, 3)
    db.batches.update_one({"id": "batch_1"}, {"$set": {"metadata.due_date": "next friday"}})
    db.batches.update_one({"id": "batch_2"}, {"$set": {"metadata.due_date": 20261231}})
    at = page("batches").run()
    rows = at.dataframe[0].value.set_index("id")
    assert rows.loc["batch_1", "due_date_stored"] == "next friday"
    assert rows.loc["batch_2", "due_date_stored"] == "20261231"
    assert rows["due_date"].isna().all()
    exported = batch_table.export_csv(db, BatchQuery()).splitlines()
    assert exported[1].split(",")[4] == "next friday" and exported[2].split(",")[4] == "20261231"
    at = edit(at, {0: {"due_date": "2026-12-18T00:00:00.000"}})
    at.button(key="save_batches").click().run()
    assert db.batches.find_one({"id": "batch_1"})["metadata"]["due_date"] == "2026-12-18"
    at = page("batches").run()
    rows = at.dataframe[0].value.set_index("id")
    assert rows.loc["batch_1", "due_date"] is not None  # the chosen date, nothing beside it
    assert rows["due_date_stored"].isna().tolist() == [True, False, True]


def test_the_stored_due_date_column_shows_only_when_a_row_needs_it(app_env):
    seed(app_env.work, 2)
    at = page("batches").run()
    assert "due_date_stored" not in at.dataframe[0].value.columns


def test_a_syncs_rework_reason_is_in_the_readers_language(app_env, monkeypatch, upload):
    """The sync stored its rework reason in English only ("incomplete: batch_1: 2 of 3 images
    without a mask") and a Spanish page showed it so; it now keeps its template beside it."""
    from segcore.sync.sync import run_sync

    seed(app_env.work, 1)
    upload("batch_1.zip", b"PK\x05\x06 cut short")
    run_sync(app_env)
    stored = app_env.work.batches.find_one({"id": "batch_1"})
    assert stored["status"] == "rework" and stored["rework_reason"].startswith("unreadable: ")
    from ui.app import i18n

    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    at = page("batches")
    at.session_state["language"] = "es"
    at.run()
    at.text_input(key="history_of").input("batch_1").run()
    rows = [r for d in at.dataframe for r in d.value.values.tolist() if len(r) == 2]
    reason = dict(rows)["Motivo del retrabajo"]
    assert reason.startswith("ilegible: ") and "unreadable" not in reason


def test_a_legacy_status_that_reads_like_a_label_is_told_apart(app_env):
    """The old app stored "Done" (and in Spanish "Pendiente"): beside `done`'s label "Done" it
    is marked, so a filter or grid that sends labels back picks the value chosen."""
    seed(app_env.work, 2)
    app_env.work.batches.insert_many(
        [{"id": "batch_900", "status": "Done"}, {"id": "batch_901", "status": "done"}]
    )
    at = page("batches").run()
    options = at.selectbox(key="bf_status").options
    assert {"Done", "Done (as stored)"} <= set(options) and len(set(options)) == len(options)
    assert {("done", "Done"), ("Done", "Done (as stored)")} <= set(grid_options(at, "status"))
    at.selectbox(key="bf_status").select("Done").run()
    assert "1 batch matches" in at.caption[0].value


def test_a_due_date_stored_as_a_date_is_the_day_it_names_in_the_details(app_env, monkeypatch):
    """A tool that wrote the due date as a BSON date (midnight UTC): the details show the day
    the grid shows, not the evening before in the office's time zone."""
    from datetime import datetime

    db = app_env.work
    seed(db, 3)
    db.batches.update_one({"id": "batch_2"}, {"$set": {"metadata.due_date": datetime(2026, 12, 3)}})
    monkeypatch.setenv("TIMEZONE", "America/Mexico_City")
    _at, fields = _details_in_spanish(monkeypatch, "batch_2")
    assert fields["Fecha límite"] == "3 dic 2026"


@pytest.mark.parametrize(
    "stored, shown",
    [("2026-12-05", "5 dic 2026"), ("next friday", "next friday"), ("2026-02-30", "2026-02-30")],
)
def test_a_day_stored_as_text_is_worded_as_a_day_and_other_text_as_stored(
    app_env, monkeypatch, stored, shown
):
    """The dashboard writes due and assignment days as "YYYY-MM-DD": the details word them as
    every other date ("5 dic 2026"); a legacy text that names no day shows as it is."""
    seed(app_env.work, 3)
    days = {"metadata.due_date": stored, "metadata.assigned_at": stored}
    app_env.work.batches.update_one({"id": "batch_2"}, {"$set": days})
    _at, fields = _details_in_spanish(monkeypatch, "batch_2")
    assert (fields["Fecha límite"], fields["Asignado el"]) == (shown, shown)


def test_assigned_on_is_the_offices_day_as_the_history_row_below_it(app_env, monkeypatch):
    """An assignment noted the server's day: "Assigned on 2026-12-07" in the details, above
    the history row of that very change dated "Dec 6, 2026, 6:33:42 PM" in the office."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    zone = "Etc/GMT+12" if datetime.now(timezone.utc).hour < 12 else "Pacific/Kiritimati"
    monkeypatch.setenv("TIMEZONE", zone)  # the office's day is not UTC's (nor the server's)
    seed(app_env.work, 3)
    at = edit(page("batches").run(), {1: {"select": True}})
    at.selectbox(key="bulk_selected_to").select("Flor")
    at.button(key="bulk_selected").click().run()
    at.text_input(key="history_of").input("batch_2").run()
    assert not at.exception, at.exception
    day = datetime.now(ZoneInfo(zone)).date()
    fields = dict(at.dataframe[-2].value.values.tolist())
    [when] = at.dataframe[-1].value.iloc[:, 0]
    assert when.startswith(f"{day:%b} {day.day}, {day.year}, "), when
    assert fields["Assigned on"] == f"{day:%b} {day.day}, {day.year}"  # as the history dates it


def test_bulk_edit_of_the_filtered_batches_changes_only_those_shown_and_unchanged(app_env):
    """ "Every batch the filters show" acts on the batches the button counted when the page was
    drawn: two batches assigned to Flor meanwhile are left alone, and a shown batch another
    coordinator edited meanwhile is named, not overwritten."""
    from segcore.work.assignments import assign

    db = app_env.work
    seed(db, 6)
    assign(db, ["batch_1", "batch_2", "batch_3"], "Flor", "cli")
    at = page("batches").run()
    at.selectbox(key="bf_who").set_value("Flor").run()
    at.radio(key="bulk_scope").set_value("filtered").run()
    at.selectbox(key="bulk_priority").set_value("alta").run()
    assert at.button(key="bulk_apply").label == "Apply to 3 batches"
    assign(db, ["batch_4", "batch_5"], "Flor", "cli")  # meanwhile, elsewhere
    changed_meanwhile(db, "batch_3", "priority", "baja")
    at.button(key="bulk_apply").click().run()
    assert not at.exception, at.exception
    priority = {d["id"]: (d.get("metadata") or {}).get("priority") for d in db.batches.find()}
    assert priority == {
        "batch_1": "alta",
        "batch_2": "alta",
        "batch_3": "baja",
        "batch_4": None,
        "batch_5": None,
        "batch_6": None,
    }
    assert [s.value for s in at.success] == ["Bulk change: 2 batches saved."]
    assert any("batch_3 could not be saved: changed by someone else" in e.value for e in at.error)


@pytest.mark.parametrize("spelling", ["flor", "FLÓR", " Flor "])
def test_a_link_to_a_person_under_another_spelling_shows_that_persons_batches(app_env, spelling):
    seed(app_env.work)
    app_env.work.batches.update_many({"number": {"$lte": 2}}, {"$set": {"assignee": "Flor"}})
    linked = page("batches")
    linked.query_params["who"] = spelling
    linked.run()
    assert not linked.exception, linked.exception
    assert linked.session_state["bf_who"] == "Flor"
    assert set(linked.dataframe[0].value["id"]) == {"batch_1", "batch_2"}
    assert not linked.warning


def test_a_link_to_someone_in_no_list_says_so_and_shows_everyone(app_env, monkeypatch):
    seed(app_env.work)
    app_env.work.batches.update_many({"number": {"$lte": 2}}, {"$set": {"assignee": "Flor"}})
    linked = page("batches")
    linked.query_params["who"] = "Nadie"
    linked.run()
    assert not linked.exception, linked.exception
    assert linked.session_state["bf_who"] == "All"
    assert len(linked.dataframe[0].value) == 5
    assert [w.value for w in linked.warning] == [
        "No one named 'Nadie' in the list: showing everyone."
    ]
    linked.selectbox(key="bf_who").set_value("Flor").run()  # chosen by hand: said no more
    assert not linked.warning and len(linked.dataframe[0].value) == 2
    monkeypatch.setenv("LANGUAGE", "es")
    spanish = page("batches")
    spanish.query_params["who"] = "Nadie"
    spanish.run()
    assert [w.value for w in spanish.warning] == [
        "No hay nadie llamado 'Nadie' en la lista: se muestran todos."
    ]
