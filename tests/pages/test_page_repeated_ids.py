"""Two legacy batch documents with one id: every page counts and lists both, as `segcore
status` counts them, and says that the id is repeated."""

from segcore.team import team
from tests.helpers import page, shown

REPEATED = "held by more than one batch document"


def seed(work):
    team.add_member(work, "Flor", author="test")
    work.batches.drop_indexes()  # legacy data from before the unique id index
    work.batches.insert_many(
        [
            {"id": "batch_1", "status": "pending"},
            {"id": "batch_2", "status": "pending", "assignee": "Flor"},
            {"id": "batch_2", "status": "pending"},  # a second document with the same id
        ]
    )


def warned(at) -> bool:
    return any(REPEATED in shown(w.value) and "'batch_2'" in shown(w.value) for w in at.warning)


def test_the_dashboard_counts_both_documents_and_says_the_id_is_repeated(app_env):
    seed(app_env.work)
    at = page("dashboard").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Batches"], metrics["Assigned"]) == ("3", "1")  # as `segcore status` says
    assert warned(at)


def test_the_batches_table_lists_both_documents_as_stored(app_env):
    seed(app_env.work)
    at = page("batches").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["id"].tolist().count("batch_2") == 2
    assert sorted(table[table["id"] == "batch_2"]["assignee"].fillna("").tolist()) == ["", "Flor"]
    assert warned(at)


def test_the_team_page_counts_the_batch_of_the_hidden_document(app_env):
    seed(app_env.work)
    at = page("team").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("Name")
    assert table.loc["Flor"].astype(str).str.fullmatch("1").any()  # Flor's one open batch
    assert warned(at)
