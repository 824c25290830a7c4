"""One rule for who holds a batch on every page, over legacy documents inserted raw: an
assignee of another type (42, ["Flor"]) and other spellings of a member ("flor", "Flor ")."""

from segcore.team import team
from tests.helpers import page

BATCHES = [
    ("batch_1", "Flor"),
    ("batch_2", 42),
    ("batch_3", ["Flor"]),
    ("batch_4", None),
    ("batch_5", "flor"),
    ("batch_6", "Flor "),
    ("batch_7", "Ex Member"),
    ("batch_8", "ex member "),
]


def seed(db):
    team.add_member(db, "Flor", author="test")
    db.batches.insert_many(
        [{"id": i, "assignee": a, "status": "pending", "folder": f"/x/{i}"} for i, a in BATCHES]
    )


def test_dashboard_counts_and_filters_every_holder_as_the_team_page(app_env):
    seed(app_env.work)
    at = page("dashboard").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Assigned"] == "7"
    who = at.selectbox(key="dash_who")
    assert who.options == [
        "All",
        "(unassigned)",
        "Flor",
        "42 (not on the team)",
        "['Flor'] (not on the team)",
        "Ex Member (not on the team)",
    ]
    who.select("Flor").run()
    assert {m.label: m.value for m in at.metric}["Batches"] == "3"
    at.selectbox(key="dash_who").select("Ex Member").run()
    assert {m.label: m.value for m in at.metric}["Batches"] == "2"
    team_page = page("team").run()
    flor = team_page.dataframe[0].value.set_index("Name").loc["Flor"]
    assert flor["Assigned"] == 3


def test_batches_filters_find_a_holder_of_another_type_and_every_spelling(app_env):
    seed(app_env.work)
    at = page("batches").run()
    assert not at.exception
    shown = dict(zip(at.dataframe[0].value["id"], at.dataframe[0].value["assignee"]))
    assert shown["batch_2"] == "42" and shown["batch_3"] == "['Flor']"
    at.selectbox(key="bf_who").select("(unassigned)").run()
    assert at.dataframe[0].value["id"].tolist() == ["batch_4"]
    at.selectbox(key="bf_who").select("42").run()
    assert at.dataframe[0].value["id"].tolist() == ["batch_2"]
    at.selectbox(key="bf_who").select("Flor").run()
    assert at.dataframe[0].value["id"].tolist() == ["batch_1", "batch_5", "batch_6"]


def test_team_page_counts_legacy_duplicates_once_in_both_tables(app_env):
    db = app_env.work
    db.segmentadores.insert_many(
        [{"name": "José", "role": "Segmentador"}, {"name": "Jose", "role": "Segmentador"}]
    )
    db.batches.insert_many(
        [
            {"id": "batch_1", "assignee": "José", "mask_check": {"usable": True}},
            {"id": "batch_2", "assignee": "Jose", "status": "pending"},
        ]
    )
    at = page("team").run()
    assert not at.exception
    load = at.dataframe[0].value.set_index("Name")["Assigned"].to_dict()
    assert load == {"José": 2, "Jose": 0}
    review = at.dataframe[1].value.set_index("Segmentador")["Delivered, usable"].to_dict()
    assert review == {"José": 1}


def test_review_names_a_batch_without_a_status_alone(app_env):
    seed(app_env.work)
    app_env.work.batches.update_many({}, {"$set": {"mongo_uploaded": True}})
    app_env.work.batches.update_one({"id": "batch_4"}, {"$unset": {"status": ""}})
    at = page("batches").run()
    options = at.multiselect(key="review_ids").options
    assert "batch_4" in options and "batch_1 (Pending)" in options
    assert not any(o.endswith("()") for o in options)


def test_an_upload_counts_once_for_legacy_duplicate_members(app_env):
    from gridfs import GridFS

    from segcore.sync.sync import run_sync

    app_env.work.segmentadores.insert_many([{"name": "ana"}, {"name": "Ana "}])
    app_env.work.batches.insert_one({"id": "batch_1", "assignee": "ana", "status": "pending"})
    files = GridFS(app_env.training, collection="masks")
    files.put(b"m", filename="masks_batch_1.zip", metadata={"uploaded_by": "ana"})
    run_sync(app_env)
    table = page("team").run().dataframe[0].value
    assert table["Files uploaded by them"].tolist() == [1, 0]


def test_batches_page_lists_a_batch_whose_id_another_tool_stored_as_a_list(app_env):
    """A list id (`["batch_15"]`, beside `batch_15`) is found by a search for `batch_15`: the
    page read it as that batch's row and stopped on a traceback. It is listed as its text."""
    db = app_env.work
    db.batches.drop_index("id_1")  # legacy data that a unique index would refuse
    db.batches.create_index("id", name="id_1")
    db.batches.insert_many(
        [{"id": f"batch_{i}", "status": "pending"} for i in range(1, 21)]
        + [{"id": ["batch_15"], "status": "pending"}, {"id": 7, "status": "done"}]
    )
    at = page("batches").run()
    assert not at.exception, at.exception
    rows = at.dataframe[0].value
    assert len(rows) == 22
    shown = dict(zip(rows["id"], rows["status"]))
    assert shown["batch_15"] == "pending" and shown["['batch_15']"] == "pending"
    assert shown["7"] == "done"
