"""A choice in a select box that is gone by the click (the batch moved on, the login or the
member was removed meanwhile) is refused, changing nothing: the box falls back to its first
option, and the button must never act on that one, which nobody chose."""

import pytest

from segcore.core.actors import Actor
from segcore.team import auth, team
from segcore.work import assignments, handover
from segcore.work.batches import Edit
from tests.helpers import page
from ui.app.connection import forget_data_versions

PASSWORD = "a long password"
GONE = "is no longer among the choices"


def refused(at) -> bool:
    return not at.exception and any(GONE in e.value for e in at.error)


def said(at) -> str:
    """The error shown, as read on the screen (markdown's escapes dropped)."""
    return at.error[0].value.replace("\\", "")


def batches(db, *rows) -> None:
    db.batches.insert_many(
        [
            {"id": batch_id, "number": n, "assignee": who, "status": "pending"}
            for n, (batch_id, who) in enumerate(rows, 1)
        ]
    )


def member_left(db, name) -> None:
    """Another coordinator removes `name` from the team, and the app sees it."""
    handover.remove_member(db, name, unassign=True, author="cli")
    forget_data_versions()  # a second later: the click's run sees the data version moved


def status_set(db, batch_id, status) -> None:
    """The coordinator changes a batch's status meanwhile (`segcore batches set`)."""
    old = db.batches.find_one({"id": batch_id})["status"]
    assert assignments.apply_edits(db, [Edit(batch_id, "status", old, status)], "cli").updated
    forget_data_versions()


def statuses(db) -> dict:
    return {d["id"]: d.get("status") for d in db.batches.find({}, {"id": 1, "status": 1})}


def test_mark_in_progress_never_marks_another_batch_when_the_chosen_one_moved_on(app_env):
    db = app_env.work
    team.add_member(db, "Maggie", author="test")
    batches(db, ("batch_1", "Maggie"), ("batch_2", "Maggie"))
    at = page("my_batches")
    at.session_state["actor"] = Actor("maggie", "segmentador", "Maggie")
    at.run()
    at.selectbox(key="my_start_batch").select("batch_2").run()
    status_set(db, "batch_2", "review")
    at.button(key="my_start_button").click().run()
    assert refused(at) and "batch_2" in said(at)
    assert statuses(db) == {"batch_1": "pending", "batch_2": "review"}
    assert not db.history.count_documents({"author": "maggie"})


def test_mark_in_progress_compares_with_the_status_the_page_showed(app_env):
    db = app_env.work
    team.add_member(db, "Maggie", author="test")
    batches(db, ("batch_1", "Maggie"))
    at = page("my_batches")
    at.session_state["actor"] = Actor("maggie", "segmentador", "Maggie")
    at.run()
    status_set(db, "batch_1", "rework")
    at.button(key="my_start_button").click().run()
    assert not at.exception
    assert statuses(db) == {"batch_1": "rework"}  # never started over a send-back unseen
    assert not db.history.count_documents({"author": "maggie"})


def successes(at) -> list[str]:
    return [e.value.replace("\\", "") for e in at.success]


@pytest.mark.parametrize("page_saw_it", [True, False])
def test_mark_in_progress_when_the_coordinator_did_it_meanwhile_says_it_is_in_progress(
    app_env, monkeypatch, page_saw_it
):
    """The coordinator set batch_1 in progress while Maggie's page still offered "Mark in
    progress" for it. Two people chose the same value: no conflict. She was told "batch_1
    changed meanwhile; nothing was saved" (or that it was no longer among the choices),
    though it is in progress, as she asked. `page_saw_it`: the click's run read the new
    status (a second later), or still the one drawn (within the second)."""
    db = app_env.work
    team.add_member(db, "Maggie", author="test")
    batches(db, ("batch_1", "Maggie"), ("batch_2", "Maggie"))  # the box stays: batch_2
    if not page_saw_it:
        monkeypatch.setattr("ui.app.connection.VERSION_TTL_S", 3600.0)
    at = page("my_batches")
    at.session_state["actor"] = Actor("maggie", "segmentador", "Maggie")
    at.run()
    saved = assignments.apply_edits(
        db, [Edit("batch_1", "status", "pending", "in_progress")], "ana"
    )
    assert saved.updated == ["batch_1"]
    if page_saw_it:
        forget_data_versions()
    at.button(key="my_start_button").click().run()
    assert not at.exception and not at.error
    assert successes(at) == ["batch_1 is in progress."]
    assert statuses(db) == {"batch_1": "in_progress", "batch_2": "pending"}
    assert not db.history.count_documents({"author": "maggie"})  # one change, the coordinator's


def test_reset_password_never_changes_another_login_when_the_chosen_one_was_removed(app_env):
    db = app_env.work
    for name in ("Alba", "Mauricio"):
        team.add_member(db, name, author="test")
        auth.add_user(db, name.lower(), "segmentador", PASSWORD, member=name)
    alba_hash = db.app_users.find_one({"name": "alba"})["password_hash"]
    at = page("team").run()
    at.selectbox(key="reset_login").select("mauricio")
    at.text_input(key="reset_password").input("the new password")
    auth.remove_user(db, "mauricio")  # another coordinator, meanwhile
    at = next(b for b in at.button if b.label == "Reset password").click().run()
    assert refused(at) and "mauricio" in said(at)
    assert db.app_users.find_one({"name": "alba"})["password_hash"] == alba_hash


def test_create_login_never_ties_it_to_another_member_when_the_chosen_one_left(app_env):
    db = app_env.work
    for name in ("Alba", "Mauricio"):
        team.add_member(db, name, author="test")
    at = page("team").run()
    at.selectbox(key="login_member").select("Mauricio")
    at.text_input(key="login_name").input("mau2")
    at.text_input(key="login_password").input(PASSWORD)
    member_left(db, "Mauricio")
    at = at.button(key="login_create").click().run()
    assert refused(at) and "Mauricio" in said(at)
    assert not auth.list_users(db)


def test_create_login_for_a_member_whose_label_now_names_another(app_env):
    """Of two members spelled alike, the first removed meanwhile: "Luis" chosen on the screen
    (the first) would now name the second. The login is never tied to the second."""
    db = app_env.work
    db.segmentadores.insert_many([{"name": "Luis", "role": "x"}, {"name": "Luis", "role": "y"}])
    team.add_member(db, "Alba", author="test")
    at = page("team").run()
    at.selectbox(key="login_member").select("Luis")
    at.text_input(key="login_name").input("luis")
    at.text_input(key="login_password").input(PASSWORD)
    first = next(m for m in team.list_members(db) if m.role == "x")
    handover.remove_member(db, first, unassign=True, author="cli")
    forget_data_versions()
    at = at.button(key="login_create").click().run()
    assert not at.exception and at.error
    assert not auth.list_users(db)


def test_assign_next_pending_never_goes_to_another_person_when_the_chosen_one_left(app_env):
    db = app_env.work
    for name in ("Ceci", "Flor"):
        team.add_member(db, name, author="test")
    batches(db, ("batch_1", None), ("batch_2", None))
    at = page("batches").run()
    at.selectbox(key="bulk_next_to").select("Flor")
    member_left(db, "Flor")
    at = at.button(key="bulk_next").click().run()
    assert refused(at) and "Flor" in said(at)
    assert not db.batches.count_documents({"assignee": {"$ne": None}})


def test_assign_ticked_never_goes_to_another_person_when_the_chosen_one_left(app_env):
    db = app_env.work
    for name in ("Ceci", "Flor"):
        team.add_member(db, name, author="test")
    batches(db, ("batch_1", None), ("batch_2", None))
    at = page("batches").run()
    key = f"batch_editor_{at.session_state['batch_editor_version']}"
    at.session_state[key] = {
        "edited_rows": {0: {"select": True}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.selectbox(key="bulk_selected_to").select("Flor")
    member_left(db, "Flor")
    at = at.button(key="bulk_selected").click().run()
    assert refused(at) and "Flor" in said(at)
    assert not db.batches.count_documents({"assignee": {"$ne": None}})


def test_moving_a_former_holders_batches_never_goes_to_another_member(app_env):
    db = app_env.work
    for name in ("Ceci", "Flor"):
        team.add_member(db, name, author="test")
    batches(db, ("batch_1", "Roberto"))
    at = page("team").run()
    at.selectbox(key="move_to").select("Flor")
    member_left(db, "Flor")
    at = at.button(key="move_former").click().run()
    assert refused(at) and "Flor" in said(at)
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Roberto"


def test_removing_a_member_never_hands_their_batches_to_another_than_the_one_chosen(app_env):
    db = app_env.work
    for name in ("Ceci", "Flor", "Pedro"):
        team.add_member(db, name, author="test")
    batches(db, ("batch_1", "Flor"))
    at = page("team").run()
    at.selectbox(key="edit_who").select("Flor").run()
    at.button(key="remove_ask").click().run()
    at.radio(key="remove_choice").set_value("reassign").run()
    at.selectbox(key="remove_target").select("Pedro").run()
    member_left(db, "Pedro")
    at = at.button(key="remove_yes").click().run()
    assert refused(at) and "Pedro" in said(at)
    assert [m.name for m in team.list_members(db)] == ["Ceci", "Flor"]
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Flor"
