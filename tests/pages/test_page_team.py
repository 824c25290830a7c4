"""The team page against the real test database: add (with field errors), edit, remove."""

from datetime import datetime, timedelta, timezone

from babel.dates import format_date

from segcore.team import team
from tests.helpers import page, seed_legacy_duplicates
from tests.pace_seed import seed_pace


def add(at, name, role="", email=""):
    at.text_input(key="add_name").input(name)
    at.text_input(key="add_role").input(role)
    at.text_input(key="add_email").input(email)
    return at.button(key="add_member").click().run()


def test_add_a_segmentador(app_env):
    at = page("team").run()
    assert any("Nobody is on the team" in i.value for i in at.info)
    add(at, "  Flor  ", "", "flor@example.com")
    assert not at.exception
    assert [(m.name, m.role, m.email) for m in team.list_members(app_env.work)] == [
        ("Flor", "Segmentador", "flor@example.com")
    ]
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
    at.button(key="edit_save").click().run()
    assert not at.exception
    assert team.find_member(app_env.work, "flor").role == "Revisor"


def test_a_blank_email_or_role_is_refused_and_an_emptied_email_removes_it(app_env):
    """Spaces in a field used to remove the email (or reset the role) as an empty field does:
    refused now, next to the field, nothing saved; emptying the field still removes it."""
    db = app_env.work
    team.add_member(db, "Flor", role="Revisora", email="flor@example.org", author="test")
    at = page("team").run()
    save = "edit_save"
    at.text_input(key="edit_email_Flor").input("   ")
    at.button(key=save).click().run()
    assert not at.exception and not at.success
    assert ["cannot be only spaces" in e.value for e in at.error] == [True]
    at.text_input(key="edit_email_Flor").input("")
    at.text_input(key="edit_role_Flor").input(" ")
    at.button(key=save).click().run()
    assert ["cannot be only spaces" in e.value for e in at.error] == [True]
    member = team.find_member(db, "Flor")
    assert (member.role, member.email) == ("Revisora", "flor@example.org")
    at.text_input(key="edit_role_Flor").input("Revisora")
    at.button(key=save).click().run()
    assert not at.error and team.find_member(db, "Flor").email == ""
    at = add(at, "Ceci", role="  ")
    assert ["cannot be only spaces" in e.value for e in at.error] == [True]
    assert [m.name for m in team.list_members(db)] == ["Flor"]


def edited_meanwhile(db, **fields):
    """Another coordinator (the command line) edits Flor while the form is open."""
    from ui.app.connection import forget_data_versions

    team.edit_member(db, "Flor", **fields, author="cli")
    forget_data_versions()  # a second later: the app sees the data version moved


def test_saving_the_role_keeps_an_email_changed_meanwhile(app_env):
    db = app_env.work
    team.add_member(db, "Flor", email="flor@example.org", author="test")
    at = page("team").run()
    assert at.text_input(key="edit_email_Flor").value == "flor@example.org"
    edited_meanwhile(db, email="flor.new@example.org")
    at.text_input(key="edit_role_Flor").input("Revisora")
    at.button(key="edit_save").click().run()
    assert not at.exception, at.exception
    member = team.find_member(db, "Flor")
    assert (member.role, member.email) == ("Revisora", "flor.new@example.org")
    assert any("Flor's details were saved" in s.value for s in at.success)
    # the form now shows what is stored, the other coordinator's email among it
    assert at.text_input(key="edit_email_Flor").value == "flor.new@example.org"


def test_an_email_changed_meanwhile_is_a_conflict_that_keeps_what_was_typed(app_env):
    db = app_env.work
    team.add_member(db, "Flor", email="flor@example.org", author="test")
    at = page("team").run()
    edited_meanwhile(db, email="flor.new@example.org")
    at.text_input(key="edit_role_Flor").input("Revisora")
    at.text_input(key="edit_email_Flor").input("flor@lab.example.org")
    save = "edit_save"
    at.button(key=save).click().run()
    assert not at.exception, at.exception
    member = team.find_member(db, "Flor")
    assert (member.role, member.email) == ("Segmentador", "flor.new@example.org")  # nothing
    [said] = [e.value for e in at.error]
    assert "email" in said and "flor.new@example.org" in said and "flor@lab.example.org" in said
    assert not at.success
    assert at.text_input(key="edit_email_Flor").value == "flor@lab.example.org"  # kept
    assert at.text_input(key="edit_role_Flor").value == "Revisora"
    # Saving again, now that the stored email was shown, replaces it: a choice, not an accident.
    at.button(key=save).click().run()
    member = team.find_member(db, "Flor")
    assert (member.role, member.email) == ("Revisora", "flor@lab.example.org")


def test_remove_asks_what_to_do_with_open_batches(app_env):
    db = app_env.work
    for name in ("Ceci", "Flor"):
        team.add_member(db, name, author="test")
    db.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "number": n,
                "assignee": "Flor",
                "status": "pending",
                "mongo_uploaded": False,
            }
            for n in (1, 2)
        ]
    )
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


def test_remove_names_a_batch_it_could_not_hand_over_and_keeps_the_member(app_env, monkeypatch):
    """Legacy batches (metadata null, "n/a") are handed over; one another coordinator gave
    Flor meanwhile (after the handover, before her removal) is named, and Flor stays on the
    team rather than keep open work as a former member (the page said she was removed and her
    batches went to Ceci)."""
    from segcore.team import auth
    from segcore.work import assignments
    from segcore.work.batches import Edit

    db = app_env.work
    for name in ("Ceci", "Flor", "Gaby"):
        team.add_member(db, name, author="test")
    db.batches.insert_many(
        [
            {
                "id": f"batch_{n}",
                "number": n,
                "assignee": "Flor" if n < 4 else None,
                "status": "pending",
                "metadata": m,
            }
            for n, m in ((1, None), (2, "n/a"), (3, {}), (4, None))
        ]
    )
    real = auth.logins_of

    def given_to_flor_meanwhile(work, *args, **kwargs):
        assignments.apply_edits(work, [Edit("batch_4", "assignee", None, "Flor")], "Bea")
        return real(work, *args, **kwargs)

    monkeypatch.setattr(auth, "logins_of", given_to_flor_meanwhile)
    at = page("team").run()
    at.selectbox(key="edit_who").select("Flor").run()
    at.button(key="remove_ask").click().run()
    at.radio(key="remove_choice").set_value("reassign").run()
    at.selectbox(key="remove_target").select("Ceci")
    at.button(key="remove_yes").click().run()
    assert not at.exception
    assert "Flor" in [m.name for m in team.list_members(db)]
    assert {d["id"] for d in db.batches.find({"assignee": "Ceci"})} == {
        "batch_1",
        "batch_2",
        "batch_3",
    }
    assert any(
        "Flor was not removed: 1 open batches could not be handed over" in e.value
        and "(3 were)" in e.value
        and "batch_4: it was assigned to them meanwhile" in e.value
        for e in at.error
    ), [e.value for e in at.error]
    assert not any("Flor was removed" in s.value for s in at.success)


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
    assert table.loc["Bea", "Projected finish"] == ""  # nothing open: blank, never "None"
    assert table.loc["Ana", "Projected finish"] != ""
    assert table.loc["Ana", "Last delivery"] == format_date(
        (datetime.now(timezone.utc) - timedelta(days=1)).astimezone().date(), "medium", locale="en"
    )
    assert "None" not in table.astype(str).to_string()


def test_a_refused_entry_keeps_what_was_typed_and_a_success_clears_it(app_env):
    at = add(page("team").run(), "Ceci", "Revisora", "not-an-email")
    assert "not a valid email" in at.error[0].value
    assert [at.text_input(key=k).value for k in ("add_name", "add_role", "add_email")] == [
        "Ceci",
        "Revisora",
        "not-an-email",
    ]
    at.text_input(key="add_email").input("ceci@example.com")
    at = at.button(key="add_member").click().run()
    assert any("Ceci was added" in s.value for s in at.success)
    assert [at.text_input(key=k).value for k in ("add_name", "add_role", "add_email")] == [
        "",
        "",
        "",
    ]


def removal_dialog_names(at):
    return [b.label for b in at.button if b.key == "remove_yes"]


def test_the_removal_dialog_never_comes_back_for_someone_else(app_env):
    for name in ("Ceci", "Pedro"):
        team.add_member(app_env.work, name, author="test")
    at = page("team").run()
    at.selectbox(key="edit_who").select("Pedro").run()
    at.button(key="remove_ask").click().run()
    assert removal_dialog_names(at) == ["Remove Pedro"]
    at.selectbox(key="edit_who").select("Ceci").run()
    assert removal_dialog_names(at) == []
    at.selectbox(key="edit_who").select("Pedro").run()
    assert removal_dialog_names(at) == []  # not asked again: forgotten, not hidden
    assert at.session_state["team_remove_target"] is None


def test_leaving_the_page_forgets_the_removal_dialog(app_env):
    team.add_member(app_env.work, "Pedro", author="test")
    at = page("streamlit_app").run()
    at.switch_page("ui/pages/team.py").run()
    at.button(key="remove_ask").click().run()
    assert removal_dialog_names(at) == ["Remove Pedro"]
    at.switch_page("ui/pages/batches.py").run()
    at.switch_page("ui/pages/team.py").run()
    assert not at.exception
    assert removal_dialog_names(at) == []


def test_removal_dialog_figures_add_up_to_what_happens(app_env):
    """Open batches (a rework batch whose uploaded masks are unusable among them) are handed
    over; the rest stay: the dialog's two figures are those, and add up to what Pedro holds."""
    team.add_member(app_env.work, "Pedro", author="test")
    usable = {"state": "complete", "images": 3, "missing_count": 0, "usable": True}
    unusable = {"state": "incomplete", "images": 3, "missing_count": 2, "usable": False}
    app_env.work.batches.insert_many(
        [
            {"id": "batch_1", "assignee": "Pedro", "status": "done", "mongo_uploaded": True},
            {"id": "batch_2", "assignee": "Pedro", "status": "pending"},
            {
                "id": "batch_3",
                "assignee": "Pedro",
                "status": "rework",
                "mongo_uploaded": True,
                "mask_check": unusable,
            },
            {
                "id": "batch_4",
                "assignee": "Pedro",
                "status": "review",
                "mongo_uploaded": True,
                "mask_check": usable,
            },
        ]
    )
    at = page("team").run()
    at.button(key="remove_ask").click().run()
    said = " ".join(m.value for m in at.markdown)
    assert "holds **2** open batches" in said
    assert "**2** other batches of Pedro's (delivered or done) stay assigned" in said
    at.button(key="remove_yes").click().run()
    kept = {d["id"] for d in app_env.work.batches.find({"assignee": "Pedro"})}
    assert kept == {"batch_1", "batch_4"}


def test_removal_dialog_words_one_batch_in_the_singular_in_spanish(app_env, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "es")
    team.add_member(app_env.work, "Pedro", author="test")
    app_env.work.batches.insert_many(
        [
            {"id": "batch_1", "assignee": "Pedro", "status": "done", "mongo_uploaded": True},
            {"id": "batch_2", "assignee": "Pedro", "status": "pending"},
        ]
    )
    at = page("team").run()
    at.button(key="remove_ask").click().run()
    said = " ".join(m.value for m in at.markdown)
    assert "**Pedro** tiene **1** lote abierto (aún sin entregar ni terminar)." in said
    assert "Otro **1** lote de Pedro (entregado o terminado) sigue asignado a Pedro" in said


def test_both_last_uploads_are_shown_and_labelled(app_env, monkeypatch):
    from datetime import datetime

    from gridfs import GridFS

    from segcore.sync.sync import run_sync

    monkeypatch.setenv("TIMEZONE", "America/Mexico_City")
    for name in ("Ceci", "Flor"):
        team.add_member(app_env.work, name, author="test")
    app_env.work.batches.insert_many(
        [
            {"id": "batch_1", "number": 1, "assignee": "Flor", "status": "pending"},
            {"id": "batch_2", "number": 2, "assignee": "Ceci", "status": "pending"},
        ]
    )
    files = GridFS(app_env.training, collection="masks")
    for filename, who, when in (
        ("masks_batch_1.zip", "ceci", datetime(2025, 10, 1, 18, 0)),
        ("masks_batch_2.zip", "ceci", datetime(2025, 10, 2, 18, 0)),
    ):
        file_id = files.put(b"m", filename=filename, metadata={"uploaded_by": who})
        app_env.masks_files.update_one({"_id": file_id}, {"$set": {"uploadDate": when}})
    run_sync(app_env)
    table = page("team").run().dataframe[0].value.set_index("Name")
    # Flor uploaded nothing, but Ceci uploaded on Flor's batch; times in Mexico City (UTC-6).
    assert table.loc["Flor", "Last upload on their batches"] == "Oct 1, 2025, 12:00:00\u202fPM"
    assert table.loc["Flor", "Last upload by them"] == ""
    assert table.loc["Ceci", "Last upload by them"] == "Oct 2, 2025, 12:00:00\u202fPM"
    assert table.loc["Ceci", "Files uploaded by them"] == 2


def test_people_not_on_the_team_who_hold_batches_are_listed_and_can_be_handed_over(app_env):
    # Issue 10 item 1: only a caption named them, with no way to move their batches.
    db = app_env.work
    team.add_member(db, "Ceci", author="test")
    db.batches.insert_many(
        [
            {"id": "batch_1", "number": 1, "assignee": "Roberto", "status": "pending"},
            {"id": "batch_2", "number": 2, "assignee": "Roberto", "status": "S"},
            {
                "id": "batch_3",
                "number": 3,
                "assignee": "Roberto",
                "status": "pending",
                "mongo_uploaded": True,
                "mask_check": {"state": "complete", "usable": True},
            },
            {
                "id": "batch_4",
                "number": 4,
                "assignee": "Roberto",
                "status": "done",
                "mongo_uploaded": True,
            },
        ]
    )
    at = page("team").run()
    assert not at.exception
    listed = at.dataframe[1].value.to_dict("records")
    assert listed == [
        {"Name": "Roberto", "Assigned": 4, "With masks": 2, "Open (no usable masks yet)": 2}
    ]
    at.selectbox(key="move_to").select("Ceci")
    at.button(key="move_former").click().run()
    assert not at.exception
    assert any("2 open batches of Roberto moved to Ceci" in s.value for s in at.success)
    assert sorted(d["id"] for d in db.batches.find({"assignee": "Ceci"})) == ["batch_1", "batch_2"]
    assert db.batches.find_one({"id": "batch_3"})["assignee"] == "Roberto"  # delivered, usable
    assert db.history.count_documents({"kind": "batch", "field": "assignee"}) == 2


def test_a_name_with_markdown_is_shown_literally(app_env):
    """Captions, messages and button labels render markdown: a name "**Bo** [x](javascript:…)"
    showed bold and as a link. Its text is escaped, so the reader sees it as stored."""
    from tests.helpers import shown

    odd = "**Bo** [x](javascript:alert(1)) :red[y]"
    team.add_member(app_env.work, odd, author="test")
    at = page("team").run()
    at.selectbox(key="edit_who").select(odd).run()
    label = at.button(key="remove_ask").label
    assert "**Bo**" not in label and "](" not in label and ":red[" not in label
    assert shown(label) == f"Remove {odd}…"
    at.button(key="remove_ask").click().run()
    assert not at.exception
    said = [m.value for m in at.markdown if "holds no open batches" in shown(m.value)]
    assert said and "[x](" not in said[0]  # the name inside the sentence, escaped too


def test_literal_keeps_any_text_as_it_is():
    from tests.helpers import shown
    from ui.app.labels import literal

    for text in ("batch_1.zip", "a\\b", "<script>", "$x$", "#1 - ok!", "`code`", "|a|b|", "~~no~~"):
        assert shown(literal(text)) == text
        assert all(ch not in literal(text).replace("\\" + ch, "") for ch in "*[]`$<>|~")


def test_removing_the_legacy_duplicate_removes_that_member_only(app_env):
    """Removing "Jose" (as the page's warning suggests) removed José, his login and
    unassigned his batches, and said "Jose was removed"."""
    db = app_env.work
    seed_legacy_duplicates(db)
    at = page("team").run()
    at.selectbox(key="edit_who").select("Jose").run()
    at.button(key="remove_ask").click().run()
    assert any("**Jose** holds no open batches." in m.value for m in at.markdown)
    at.button(key="remove_yes").click().run()
    assert not at.exception, at.exception
    assert any("Jose was removed from the team." == s.value for s in at.success)
    assert [(m.name, m.email) for m in team.list_members(db)] == [("José", "jose@example.com")]
    assert [u["name"] for u in db.app_users.find()] == ["jose"]
    assert db.batches.count_documents({"assignee": None}) == 0
    assert at.selectbox(key="edit_who").options == ["José"]


def test_editing_a_legacy_duplicate_saves_to_that_member(app_env):
    db = app_env.work
    seed_legacy_duplicates(db)
    at = page("team").run()
    at.selectbox(key="edit_who").select("Jose").run()
    assert at.text_input(key="edit_email_Jose").value == "jose2@example.com"
    at.text_input(key="edit_role_Jose").input("Revisor")
    at.button(key="edit_save").click().run()
    assert not at.exception, at.exception
    assert [(m.name, m.role) for m in team.list_members(db)] == [
        ("José", "Segmentador"),
        ("Jose", "Revisor"),
    ]


def test_members_spelled_exactly_alike_are_each_chosen_and_removed_alone(app_env):
    db = app_env.work
    db.segmentadores.insert_many(
        [{"name": "Jose", "email": "first@example.com"}, {"name": "Jose", "email": "b@example.com"}]
    )
    at = page("team").run()
    assert at.selectbox(key="edit_who").options == ["Jose", "Jose (2)"]
    at.selectbox(key="edit_who").select("Jose (2)").run()
    assert at.text_input(key="edit_email_Jose (2)").value == "b@example.com"
    at.button(key="remove_ask").click().run()
    at.button(key="remove_yes").click().run()
    assert not at.exception, at.exception
    assert [m.email for m in team.list_members(db)] == ["first@example.com"]


def round_trip(at, page_script="ui/pages/batches.py", back="ui/pages/team.py"):
    """To another page and back in the same session, as the sidebar's links go."""
    at.switch_page(page_script).run()
    return at.switch_page(back).run()


def test_what_was_typed_in_the_team_forms_survives_another_page_until_saved(app_env):
    """Typed into "Add a segmentador", the edit form (of the member chosen) and a new login's
    name, then Batches and back: the text was gone, unlike the Batches table's unsaved edits.
    It stays until it is saved, then the forms are empty (or show what is stored) again."""
    team.add_member(app_env.work, "Ceci", author="test")
    team.add_member(app_env.work, "Flor", email="flor@example.org", author="test")
    at = page("streamlit_app").run()
    at.switch_page("ui/pages/team.py").run()
    at.text_input(key="add_name").input("Pedro Páramo")
    at.text_input(key="add_email").input("pedro@example.com")
    at.selectbox(key="edit_who").select("Flor").run()
    at.text_input(key="edit_role_Flor").input("Revisora")
    at.text_input(key="login_name").input("pedro")
    at = round_trip(at)
    assert not at.exception, at.exception
    fields = ("add_name", "add_role", "add_email", "login_name")
    assert [at.text_input(key=k).value for k in fields] == [
        "Pedro Páramo",
        "",
        "pedro@example.com",
        "pedro",
    ]
    assert at.selectbox(key="edit_who").value == "Flor"
    assert at.text_input(key="edit_role_Flor").value == "Revisora"
    assert at.text_input(key="edit_email_Flor").value == "flor@example.org"

    at.button(key="add_member").click().run()
    at.button(key="edit_save").click().run()
    assert not at.exception, at.exception
    stored = {m.name: m for m in team.list_members(app_env.work)}
    assert stored["Pedro Páramo"].email == "pedro@example.com"
    assert stored["Flor"].role == "Revisora"
    at = round_trip(at)
    assert [at.text_input(key=k).value for k in ("add_name", "add_email")] == ["", ""]
    assert at.text_input(key="edit_role_Flor").value == "Revisora"  # stored, not typed
    assert at.text_input(key="login_name").value == "pedro"  # no login created: still there


def test_someone_who_left_after_delivering_a_batch_now_reviewed_holds_nothing(app_env):
    """Pedro delivered batch_1, which Flor now reviews, and left the team: his delivery is
    his in the Review table, and he is not listed as still holding batches."""
    from tests.pace_seed import _delivered

    db = app_env.work
    team.add_member(db, "Flor", author="test")
    when = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=1)
    db.batches.insert_one(
        {**_delivered("batch_1", "Flor", when), "delivered_by": {"name": "Pedro", "at": when}}
    )
    at = page("team").run()
    assert not at.exception, at.exception
    headings = [h.value for h in at.subheader]
    assert "Not on the team, still holding batches" not in headings
    review = at.dataframe[-1].value
    delivered = dict(zip(review["Segmentador"], review["Delivered, usable"]))
    assert (delivered["Pedro"], delivered.get("Flor", 0)) == (1, 0)


def test_a_segmentador_login_stored_without_a_name_is_listed_not_offered_for_a_reset(app_env):
    """Another tool left a segmentador login without its name: the page lists it (as `user
    list` does) and offers only the logins it can name for a password reset."""
    from segcore.team import auth

    team.add_member(app_env.work, "Flor", author="test")
    for login in ("flor", "flor_b"):
        auth.add_user(app_env.work, login, "segmentador", "a long password", member="Flor")
    app_env.work.app_users.update_one({"name_key": "flor_b"}, {"$unset": {"name": 1}})
    at = page("team").run()
    assert not at.exception, at.exception
    assert any("Logins for segmentadores (2)" in e.label for e in at.expander)
    assert at.selectbox(key="reset_login").options == ["flor"]


def test_a_member_another_tool_adds_is_on_the_team_at_the_next_page_load(app_env, monkeypatch):
    """Probe 15: the old Flask dashboard (or mongosh) adds Beto, who already holds batches: the
    running app listed him "not on the team" for up to an hour, while `segcore team list` had
    him at once."""
    from segcore.team import team_edits

    monkeypatch.setattr(team_edits, "EVERY_S", 0.0)  # not a second after the last look
    db = app_env.work
    team.add_member(db, "Flor", author="test")
    db.batches.insert_many(
        [{"id": f"batch_{n}", "number": n, "assignee": "Beto", "status": "pending"} for n in (1, 2)]
    )
    at = page("team").run()
    assert list(at.dataframe[0].value["Name"]) == ["Flor"]
    assert list(at.dataframe[1].value["Name"]) == ["Beto"]  # off the team, holding batches
    db.segmentadores.insert_one({"name": "Beto", "role": "Segmentador", "email": ""})
    at.run()
    assert not at.exception, at.exception
    db.segmentadores.update_one({"name": "Flor"}, {"$set": {"role": "Revisora"}})
    at.run()
    assert not at.exception, at.exception
    shown = dict(zip(at.dataframe[0].value["Name"], at.dataframe[0].value["Assigned"]))
    assert shown == {"Beto": 2, "Flor": 0}
    assert [m.name for m in team.list_members(db)] == list(shown)
    assert "Beto" in at.selectbox(key="edit_who").options
    assert dict(zip(at.dataframe[0].value["Name"], at.dataframe[0].value["Role"]))["Flor"] == (
        "Revisora"
    )


def test_the_same_name_warning_goes_once_the_duplicate_is_removed(app_env, monkeypatch):
    """Probe 15: after José was removed (here by the command line; the Team page's own dialog
    alike), every page still told the coordinator Jose shared a name, until a restart."""
    from segcore.team import team_edits

    monkeypatch.setattr(team_edits, "EVERY_S", 0.0)
    db = app_env.work
    seed_legacy_duplicates(db)
    at = page("team").run()
    same = "Team member 'Jose' has the same name as another one"
    assert [w.value for w in at.warning if same in w.value] != []
    team.delete_member(db, "José", author="test")  # another process: its data version only
    at.run()
    assert not at.exception, at.exception
    assert [w.value for w in at.warning if "same name" in w.value] == []
    db.segmentadores.insert_one({"name": "JOSE", "role": "Segmentador"})  # another tool's
    at.run()
    assert [w.value for w in at.warning if "'JOSE' has the same name" in w.value] != []


def test_removing_josé_says_jose_would_take_his_finished_batches_and_does_not(app_env):
    """Probe 15: the dialog promised José's finished batches stay his, then the Team page
    counted them as Jose's (a legacy duplicate, another member)."""
    db = app_env.work
    seed_legacy_duplicates(db)
    db.batches.insert_many(
        [{"id": f"batch_{n}", "number": n, "assignee": "jose", "status": "done"} for n in (4, 5)]
    )
    at = page("team").run()
    assert at.selectbox(key="edit_who").value == "José"
    at.button(key="remove_ask").click().run()
    said = [w.value for w in at.warning if "would then count for" in w.value]
    assert said == [
        "José's delivered or done batches (2) would then count for Jose, who has the same name: "
        "first rename Jose (in the tool that added them) or remove Jose, then remove José."
    ]
    assert at.button(key="remove_yes").disabled
    assigned = dict(zip(at.dataframe[0].value["Name"], at.dataframe[0].value["Assigned"]))
    assert assigned == {"José": 5, "Jose": 0}
    assert [m.name for m in team.list_members(db)] == ["José", "Jose"]
