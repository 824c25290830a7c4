"""A first start on a production batch list: no `number`, no index but `_id`, never synced.

The first page must not wait for the database to be prepared: the batches show at once in
numeric id order, nothing is written to them, and the batch list's indexes are built in the
background while the page says so.
"""

from segcore.team import team
from segcore.work import batches
from tests.helpers import page

IDS = ["batch_1", "batch_2", "batch_3", "batch_10", "batch_20", "batch_100", "odd_folder"]
NOTICE = "Preparing the database"


def production_batches(db) -> None:
    team.add_member(db, "Flor")
    db.batches.drop_indexes()  # as the old dashboard left it
    db.batches.insert_many(
        [{"id": i, "status": "pending", "assignee": None} for i in (IDS[5], IDS[3], *IDS[:3])]
        + [{"id": IDS[4], "status": "pending"}, {"id": IDS[6], "status": "S"}]
    )


def notices(at) -> list[str]:
    return [i.value for i in at.info if NOTICE in i.value]


def test_first_page_shows_unnumbered_batches_in_order_while_indexing(app_env):
    from ui.app.connection import indexing

    db = app_env.work
    production_batches(db)
    at = page("batches").run()
    assert not at.exception
    # The page says what is still being prepared, and works meanwhile, in numeric order.
    assert notices(at), [i.value for i in at.info]
    assert list(at.dataframe[0].value["id"]) == IDS
    assert db.batches.count_documents({"number": {"$exists": True}}) == 0  # nothing numbered
    assert batches.missing_indexes(db) == ["assignee_1", "id_1"]

    assert indexing().wait(300)  # as it would after this page is on screen
    assert batches.missing_indexes(db) == [] and indexing().done
    at.run()
    assert not at.exception and not notices(at)
    assert list(at.dataframe[0].value["id"]) == IDS  # the same order, and stays so

    dashboard = page("dashboard").run()
    assert not dashboard.exception and not notices(dashboard)
    assert dashboard.metric[0].value == "7"
