"""A segmentador's own page in the app: only their batches reach the page, "My batches" is the
only page they get, and marking a batch in progress is the one thing they can do."""

import pytest

from segcore.core.actors import Actor
from segcore.team import auth, team
from tests.helpers import log_in as log_in_as
from tests.helpers import page, seed_legacy_duplicates
from tests.receipt_seed import Lab, masks, real_archive

PASSWORD = "correct horse battery"


@pytest.fixture
def two_logins(demo_dbs, monkeypatch):
    monkeypatch.setenv("LOGIN", "on")
    work = demo_dbs.work
    names = [m.name for m in team.list_members(work)]
    auth.add_user(work, "coord", "coordinator", PASSWORD)
    auth.add_user(work, "first", "segmentador", PASSWORD, member=names[0])
    auth.add_user(work, "second", "segmentador", PASSWORD, member=names[1])
    return demo_dbs, names


def log_in(at, name):
    return log_in_as(at, name, PASSWORD)


def shown_text(at) -> str:
    parts = [str(df.value.to_dict()) for df in at.dataframe]
    parts += [
        e.value
        for kind in (at.markdown, at.caption, at.code, at.warning, at.info, at.title, at.subheader)
        for e in kind
    ]
    return "\n".join(parts)


def test_a_segmentador_sees_only_their_page_and_their_batches(two_logins):
    dbs, names = two_logins
    at = log_in(page("streamlit_app").run(), "first")
    assert not at.exception
    assert [t.value for t in at.title] == ["My batches"]
    mine = {d["id"] for d in dbs.work.batches.find({"assignee": names[0]}, {"id": 1})}
    others = {d["id"] for d in dbs.work.batches.find({"assignee": {"$ne": names[0]}}, {"id": 1})}
    shown = at.dataframe[0].value["Batch"].tolist()
    assert shown and set(shown) <= mine
    text = shown_text(at)
    assert not any(f"'{other}'" in text or f" {other}\n" in text for other in others)
    assert names[1] not in text and not at.metric  # no lab-wide figure, nobody else's name
    assert not at.sidebar.caption or all("Connection" not in c.value for c in at.sidebar.caption)


def test_marking_in_progress_from_the_page(two_logins):
    dbs, names = two_logins
    at = log_in(page("streamlit_app").run(), "second")
    choice = at.selectbox(key="my_start_batch")
    chosen = choice.value
    at = at.button(key="my_start_button").click().run()
    assert not at.exception
    stored = dbs.work.batches.find_one({"id": chosen})
    assert stored["status"] == "in_progress" and stored["assignee"] == names[1]
    entry = dbs.work.history.find_one({"key": chosen, "field": "status"}, sort=[("at", -1)])
    assert entry["author"] == "second"


def test_the_page_refuses_a_coordinator_and_coordinator_pages_refuse_nothing_new(two_logins):
    at = page("my_batches")
    at.session_state["actor"] = Actor("coord", "coordinator")
    at.run()
    assert not at.exception and not at.dataframe
    assert any("segmentador" in i.value for i in at.info)


def test_the_coordinator_hands_out_a_login_from_the_team_page(two_logins):
    dbs, names = two_logins
    at = page("team")
    at.session_state["actor"] = Actor("coord", "coordinator")
    at.run()
    at.selectbox(key="login_member").select(names[2])
    at.text_input(key="login_name").input("third")
    at.text_input(key="login_password").input("short")
    at = at.button(key="login_create").click().run()
    assert not at.exception
    assert auth.list_users(dbs.work) and "third" not in [u.name for u in auth.list_users(dbs.work)]
    assert at.text_input(key="login_name").value == "third"  # a refused entry keeps what was typed
    at.text_input(key="login_password").input(PASSWORD)
    at = at.button(key="login_create").click().run()
    created = {u.name: u for u in auth.list_users(dbs.work)}["third"]
    assert created.role == "segmentador" and created.member == names[2]
    assert auth.authenticate(dbs.work, "third", PASSWORD).member == names[2]


@pytest.mark.parametrize(
    "login, role, warned",
    [("flor", "segmentador", False), ("luis", "viewer", False), ("ana", "coordinator", True)],
)
def test_the_team_warning_about_duplicate_names_is_for_coordinators_only(
    app_env, monkeypatch, login, role, warned
):
    """A segmentador's own page showed "Team member 'Jose' has the same name as another one…":
    another person's name, and team work they cannot do (nor can a viewer)."""
    monkeypatch.setenv("LOGIN", "on")
    seed_legacy_duplicates(app_env.work)
    team.add_member(app_env.work, "Flor", author="test")
    auth.add_user(
        app_env.work, login, role, PASSWORD, member="Flor" if role == "segmentador" else None
    )
    at = log_in(page("streamlit_app").run(), login)
    assert not at.exception, at.exception
    said = [w.value for w in at.warning if "same name as another" in w.value]
    assert said == (
        [
            "Team member 'Jose' has the same name as another one (up to case, accents, "
            "spacing or invisible characters); rename or remove one of them."
        ]
        if warned
        else []
    )
    if role == "segmentador":
        assert [t.value for t in at.title] == ["My batches"]
        assert "Jose" not in shown_text(at) and "José" not in shown_text(at)


def test_a_login_name_is_said_as_typed_not_as_markdown(two_logins):
    """A login name holding markdown ("**x**", a link) is said as typed when the login is
    created and when its password is reset, not drawn bold or as a live link."""
    dbs, names = two_logins
    at = page("team")
    at.session_state["actor"] = Actor("coord", "coordinator")
    at.run()
    at.selectbox(key="login_member").select(names[2])
    at.text_input(key="login_name").input("**boss** [x](http://x.org)")
    at.text_input(key="login_password").input(PASSWORD)
    at = at.button(key="login_create").click().run()
    assert not at.exception
    said = [s.value for s in at.success]
    assert said and "\\*\\*boss\\*\\*" in said[0] and "\\[x\\]" in said[0]
    at.selectbox(key="reset_login").select("**boss** [x](http://x.org)")
    at.text_input(key="reset_password").input(PASSWORD + "!")
    at = at.form_submit_button[0].click().run()
    said = [s.value for s in at.success]
    assert said and said[0].startswith("\\*\\*boss\\*\\*")


def flor_page(lab):
    """Flor's own page, once her uploads are synced (and her batches mask-checked)."""
    team.add_member(lab.dbs.work, "Flor", author="test")
    lab.sync()
    at = page("my_batches")
    at.session_state["actor"] = Actor("flor", "segmentador", "Flor")
    return at.run()


def below_the_table(at) -> str:
    return "\n".join(
        e.value.replace("\\", "")
        for kind in (at.markdown, at.code, at.warning, at.error)
        for e in kind
    )


def test_images_an_earlier_part_delivered_are_not_listed_as_missing(app_env, client, tmp_path):
    lab = Lab(app_env, client, tmp_path)
    lab.batch(1, 3)
    lab.upload("batch_1_part1.zip", real_archive(lab.tmp, "zip", masks(1), "p1.zip"))
    lab.upload("batch_1_part2.zip", real_archive(lab.tmp, "zip", ["img_002_mask.dcm"], "p2.zip"))
    at = flor_page(lab)
    assert not at.exception
    assert at.dataframe[0].value["Masks vs images"].tolist() == ["2 / 3"]
    listed = [c.value for c in at.code]
    assert listed == ["img_003.dcm"]  # img_001's mask came in the first part
    text = below_the_table(at)
    assert "batch_1_part2.zip" in text and "masks for 2 of 3 images" in text


def test_her_own_unreadable_upload_is_named_after_a_later_one_was_read(app_env, client, tmp_path):
    lab = Lab(app_env, client, tmp_path)
    lab.batch(1, 3)
    whole = real_archive(lab.tmp, "tar", masks(1), "full.tgz")
    lab.upload("batch_1.tar.gz", whole[: len(whole) // 2])  # cut short
    lab.upload("batch_1_part2.zip", real_archive(lab.tmp, "zip", ["img_002_mask.dcm"], "p2.zip"))
    at = flor_page(lab)
    assert not at.exception
    assert at.dataframe[0].value["Check"].tolist() == ["Unreadable"]
    said = [w.value.replace("\\", "") for w in at.warning]
    assert any("your earlier upload batch_1.tar.gz" in w and "could not be read" in w for w in said)
    assert not any("other upload" in w for w in said)  # named, so not counted a second time


def test_a_login_for_the_second_of_two_members_spelled_alike_from_the_team_page(app_env):
    db = app_env.work
    db.segmentadores.insert_many([{"name": "Luis", "role": "a"}, {"name": "Luis", "role": "b"}])
    team.ensure_indexes(db)
    at = page("team")
    at.session_state["actor"] = Actor("coord", "coordinator")
    at.run()
    assert at.selectbox(key="login_member").options == ["Luis", "Luis (2)"]
    at.selectbox(key="login_member").select("Luis (2)")
    at.text_input(key="login_name").input("luis_b")
    at.text_input(key="login_password").input(PASSWORD)
    at = at.button(key="login_create").click().run()
    assert not at.exception and not at.error
    second = next(m for m in team.list_members(db) if m.role == "b")
    assert auth.logins_of(db, second) == ["luis_b"]
