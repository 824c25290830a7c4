"""The batches page against the real test database: save, conflicts, bulk actions, history."""

from segcore import team
from tests.helpers import page


def seed(db, count=5):
    for name in ("Ceci", "Flor"):
        team.add_member(db, name, author="test")
    db.batches.insert_many([{"id": f"batch_{n}", "number": n, "folder": f"/data/batch_{n}",
                             "assignee": None, "status": "pending", "mongo_uploaded": False}
                            for n in range(1, count + 1)])


def edit(at, rows):
    """Simulate edits in the grid (AppTest cannot type into it) and rerun."""
    key = f"batch_editor_{at.session_state['batch_editor_version']}"
    at.session_state[key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    return at.run()


def test_save_writes_only_the_edited_rows(app_env):
    db = app_env.work
    seed(db)
    at = edit(page("batches").run(), {0: {"assignee": "Ceci", "priority": "alta"},
                                      2: {"due_date": "2025-12-01T00:00:00.000"}})
    assert at.button(key="save_batches").label == "Save changes (2 batches)"
    at.button(key="save_batches").click().run()
    assert not at.exception
    assert any("2 batch(es) saved" in s.value for s in at.success)
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
    assert conflicts.to_dict("records") == [{"batch": "batch_1", "field": "assignee",
                                             "you saw": "(empty)", "now": "Flor",
                                             "you wanted": "Ceci"}]


def test_invalid_edit_is_refused_next_to_the_table(app_env):
    db = app_env.work
    seed(db)
    at = edit(page("batches").run(), {0: {"assignee": "Nobody"}})
    at.button(key="save_batches").click().run()
    assert any("not on the team" in e.value for e in at.error)
    assert db.batches.find_one({"id": "batch_1"})["assignee"] is None


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
    assert sorted(d["id"] for d in db.batches.find({"assignee": "Ceci"})) == \
        ["batch_1", "batch_3", "batch_5"]


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
    at.selectbox(key="history_of").select("batch_11").run()
    assert not at.exception
    assert at.dataframe[-1].value.iloc[0]["new"] == "review"
