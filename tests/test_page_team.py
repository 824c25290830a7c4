"""The team page against the real test database: add (with field errors), edit, remove."""

from segcore import team
from datetime import datetime, timedelta, timezone

from tests.helpers import page
from tests.pace_seed import seed_pace


def add(at, name, role="", email=""):
    at.text_input(key="add_name").input(name)
    at.text_input(key="add_role").input(role)
    at.text_input(key="add_email").input(email)
    return at.form_submit_button[0].click().run()


def test_add_a_segmentador(app_env):
    at = page("team").run()
    assert any("Nobody is on the team" in i.value for i in at.info)
    add(at, "  Flor  ", "", "flor@example.com")
    assert not at.exception
    assert [(m.name, m.role, m.email) for m in team.list_members(app_env.work)] == \
        [("Flor", "Segmentador", "flor@example.com")]
    assert any("Flor was added" in s.value for s in at.success)
    assert at.dataframe[0].value["Name"].tolist() == ["Flor"]


def test_validation_errors_appear_next_to_the_field(app_env):
    team.add_member(app_env.work, "Flor", author="test")
    at = add(page("team").run(), "FLÓR")
    assert [e.value for e in at.error] == ["'Flor' is already on the team."]
    at = add(at, "Ceci", email="not-an-email")
    assert "not a valid email" in at.error[0].value
    assert [m.name for m in team.list_members(app_env.work)] == ["Flor"]


def test_edit_role_and_email(app_env):
    team.add_member(app_env.work, "Flor", author="test")
    at = page("team").run()
    at.text_input(key="edit_role_Flor").input("Revisor")
    at.form_submit_button[1].click().run()
    assert not at.exception
    assert team.find_member(app_env.work, "flor").role == "Revisor"


def test_remove_asks_what_to_do_with_open_batches(app_env):
    db = app_env.work
    for name in ("Ceci", "Flor"):
        team.add_member(db, name, author="test")
    db.batches.insert_many([{"id": f"batch_{n}", "number": n, "assignee": "Flor",
                             "status": "pending", "mongo_uploaded": False} for n in (1, 2)])
    at = page("team").run()
    at.selectbox(key="edit_who").select("Flor").run()
    at.button(key="remove_ask").click().run()
    assert not at.exception
    assert any("2" in m.value and "open batches" in m.value for m in at.markdown)
    at.radio(key="remove_choice").set_value("reassign").run()
    at.selectbox(key="remove_target").select("Ceci")
    at.button(key="remove_yes").click().run()
    assert not at.exception
    assert [m.name for m in team.list_members(db)] == ["Ceci"]
    assert db.batches.count_documents({"assignee": "Ceci"}) == 2
    assert any("Flor was removed" in s.value for s in at.success)


def test_remove_can_be_cancelled(app_env):
    team.add_member(app_env.work, "Flor", author="test")
    at = page("team").run()
    at.button(key="remove_ask").click().run()
    at.button(key="remove_no").click().run()
    assert [m.name for m in team.list_members(app_env.work)] == ["Flor"]
    assert at.session_state["team_remove_target"] is None


def test_pace_last_delivery_projected_finish_and_stall_marker(app_env):
    seed_pace(app_env.work)
    at = page("team").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("Name")
    assert table.loc["Ana", "Pace / day"] == 0.5 and table.loc["Cai", "Pace / day"] == 0.05
    assert table.loc["Cai", "Stalled"] == "⚠ stalled" and table.loc["Ana", "Stalled"] == ""
    assert table.loc["Bea", "Projected finish"] is None  # nothing open
    assert table.loc["Ana", "Projected finish"] is not None
    assert str(table.loc["Ana", "Last delivery"]) == str(
        (datetime.now(timezone.utc) - timedelta(days=1)).astimezone().date())
