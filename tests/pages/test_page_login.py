"""Login in the app: the gate on the entry point, roles on the pages, the logged-in author."""

import re
from datetime import timedelta

import pytest

from segcore.core.actors import Actor
from segcore.core.timefmt import utcnow
from segcore.store.history import list_history
from segcore.team import auth
from tests.helpers import browser_answers, log_in, page

PASSWORD = "correct horse battery"


@pytest.fixture
def login_on(demo_dbs, monkeypatch):
    monkeypatch.setenv("LOGIN", "on")
    auth.add_user(demo_dbs.work, "Coord", "coordinator", PASSWORD)
    auth.add_user(demo_dbs.work, "Vera", "viewer", PASSWORD)
    return demo_dbs


def test_nothing_shows_before_login(login_on):
    at = page("streamlit_app").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Log in"]
    assert not at.metric and not at.dataframe


def test_wrong_password_then_right_one(login_on):
    at = log_in(page("streamlit_app").run(), "Coord", "not the password")
    assert [e.value for e in at.error] == ["Wrong user name or password."]
    at = log_in(at, "coord", PASSWORD)
    assert not at.exception
    assert "Dashboard" in [t.value for t in at.title]
    assert any("Logged in as **Coord**" in c.value for c in at.sidebar.caption)
    assert at.session_state["actor"] == Actor("Coord", "coordinator")
    assert PASSWORD not in str([at.session_state[k] for k in ("actor", "login_at")])


def test_expired_session_asks_again(login_on):
    at = page("streamlit_app")
    at.session_state["actor"] = Actor("Coord", "coordinator")
    at.session_state["login_at"] = utcnow() - timedelta(minutes=481)
    at.run()
    assert any("session has expired" in i.value for i in at.info)
    assert [t.value for t in at.title] == ["Log in"]


def test_viewer_pages_have_no_editing_controls(login_on):
    viewer = Actor("Vera", "viewer")
    for name in ("batches", "team", "sync", "settings"):
        at = page(name)
        at.session_state["actor"] = viewer
        at.run()
        assert not at.exception, name
        assert not at.get("data_editor") and not at.form_submit_button, name
        labels = [b.label for b in at.button]
        assert not any(
            label.startswith(
                (
                    "Save",
                    "Sync now",
                    "Remove",
                    "Assign",
                    "Spread",
                    "Import",
                    "Add",
                    "Preview",
                    "Create",
                )
            )
            for label in labels
        ), (name, labels)
    at = page("batches")
    at.session_state["actor"] = viewer
    at.run()
    assert len(at.dataframe[0].value) == 60  # the viewer still sees every batch


def test_coordinator_changes_are_recorded_with_their_name(login_on):
    at = page("team")
    at.session_state["actor"] = Actor("Coord", "coordinator")
    at.run()
    at.text_input(key="add_name").input("Roberta")
    at.button(key="add_member").click().run()
    assert not at.exception
    assert list_history(login_on.work, "Roberta")[0]["author"] == "Coord"


def test_a_page_run_without_the_gate_cannot_write(login_on):
    at = page("team").run()  # no login happened in this session
    assert not at.exception
    keys = {b.key for b in at.button}  # viewer fallback: no editing controls
    assert not at.form_submit_button and not keys & {"add_member", "edit_save", "login_create"}


def reopened(monkeypatch, token):
    """A reload or a new tab: a fresh session whose request carries the cookie `token`."""
    monkeypatch.setattr("ui.app.login.cookie_token", lambda: token)
    return page("streamlit_app").run()


def test_a_login_survives_a_reload_until_logout(login_on, monkeypatch):
    at = log_in(page("streamlit_app").run(), "Coord", PASSWORD)
    token = at.session_state["session_token"]
    assert at.session_state["session_cookie"][0] == token  # what the browser is told to keep
    assert login_on.work.app_sessions.count_documents({}) == 1
    assert token not in str(list(login_on.work.app_sessions.find()))
    again = reopened(monkeypatch, token)
    assert not again.exception
    assert "Dashboard" in [t.value for t in again.title]
    assert again.session_state["actor"] == Actor("Coord", "coordinator")
    again.button(key="logout").click().run()
    assert [t.value for t in again.title] == ["Log in"]
    assert login_on.work.app_sessions.count_documents({}) == 0
    assert [t.value for t in reopened(monkeypatch, token).title] == ["Log in"]


def test_the_page_says_logged_in_only_once_the_browser_keeps_the_cookie(login_on):
    """A reload as soon as "Logged in as" shows must find the cookie: until the browser says it
    keeps it, the page says "Logging in…" and shows nothing else."""
    at = page("streamlit_app").run()
    at.text_input(key="login_name").input("Coord")
    at.text_input(key="login_password").input(PASSWORD)
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert [i.value for i in at.info] == ["Logging in…"]
    assert not any("Logged in as" in c.value for c in at.sidebar.caption)
    assert not at.metric and "Dashboard" not in [t.value for t in at.title]
    token = at.session_state["session_token"]
    assert at.session_state["session_cookie"][0] == token
    at.run()  # no answer from the browser yet: still waiting
    assert [i.value for i in at.info] == ["Logging in…"]
    browser_answers(at, "kept")
    assert "Dashboard" in [t.value for t in at.title]
    assert any("Logged in as **Coord**" in c.value for c in at.sidebar.caption)
    assert not any("cookies" in w.value for w in at.warning)


def test_a_browser_that_blocks_cookies_is_let_in_and_told_a_reload_asks_again(login_on):
    at = page("streamlit_app").run()
    at.text_input(key="login_name").input("Coord")
    at.text_input(key="login_password").input(PASSWORD)
    at.form_submit_button[0].click().run()
    browser_answers(at, "refused")
    assert "Dashboard" in [t.value for t in at.title]
    assert (
        "This browser does not keep cookies for this site: a reload or a new tab will ask for "
        "the password again."
    ) in [w.value for w in at.warning]
    at.run()  # said once, and the page goes on
    assert "Dashboard" in [t.value for t in at.title]
    assert not any("cookies" in w.value for w in at.warning)


def test_the_cookie_the_browser_is_given_to_keep():
    from datetime import datetime

    from ui.app.login import cookie_text

    text = cookie_text("tok-EN_1", datetime(2026, 12, 7, 16, 30))
    assert text == (
        "segdash_session=tok-EN_1; path=/; SameSite=Strict; expires=Mon, 07 Dec 2026 16:30:00 GMT"
    )


@pytest.mark.parametrize("ending", ["new password", "user removed", "logged out elsewhere"])
def test_an_open_tab_stops_when_its_session_is_ended_elsewhere(login_on, ending):
    """`user passwd`, `user remove` and a logout in another browser end every session: a tab
    already open must not go on acting as that user (it used to, until its 8 hours ran out)."""
    from segcore.team import sessions

    at = log_in(page("streamlit_app").run(), "Coord", PASSWORD)
    assert "Dashboard" in [t.value for t in at.title]
    work = login_on.work
    if ending == "new password":
        auth.set_password(work, "Coord", "another long password", author="admin")
    elif ending == "user removed":
        auth.remove_user(work, "Coord", author="admin")
    else:
        sessions.end_all_sessions(work, "Coord")
    at.run()
    assert [t.value for t in at.title] == ["Log in"]
    assert any("Your session was ended" in i.value for i in at.info)
    assert at.session_state["actor"] is None


def test_a_role_changed_elsewhere_counts_at_the_next_click(login_on):
    at = log_in(page("streamlit_app").run(), "Coord", PASSWORD)
    login_on.work.app_users.update_one({"name": "Coord"}, {"$set": {"role": "viewer"}})
    at.run()
    assert at.session_state["actor"] == Actor("Coord", "viewer")


def test_a_forged_cookie_logs_nobody_in(login_on, monkeypatch):
    at = reopened(monkeypatch, "forged-token")
    assert [t.value for t in at.title] == ["Log in"] and at.session_state["actor"] is None


def test_after_login_the_requested_page_is_shown(login_on):
    at = page("streamlit_app")
    at.switch_page("ui/pages/team.py").run()
    assert [t.value for t in at.title] == ["Log in"]
    at = log_in(at, "Coord", PASSWORD)
    assert "Team" in [t.value for t in at.title]


def test_a_locked_name_and_an_unknown_one_read_the_same(login_on):
    at = page("streamlit_app").run()
    seen = {}
    for name in ("Coord", "Nobody"):
        for _ in range(auth.MAX_FAILURES):
            at = log_in(at, name, "wrong password!")
        seen[name] = [e.value for e in at.error]
    # The same words; the lock's end time may differ by the minute the two runs straddle.
    words = {name: [re.sub(r"\d\d:\d\d", "HH:MM", m) for m in seen[name]] for name in seen}
    assert words["Coord"] == words["Nobody"]
    hours, minutes = zip(
        *(map(int, re.search(r"(\d\d):(\d\d)", seen[n][0]).groups()) for n in seen)
    )
    apart = (hours[1] * 60 + minutes[1] - hours[0] * 60 - minutes[0]) % (24 * 60)
    assert apart <= 1
    assert "Too many failed attempts" in seen["Coord"][0]


def test_a_reload_during_an_outage_says_so_and_logs_in_once_the_database_is_back(
    login_on, monkeypatch
):
    """The session read failing stands in for the outage (the embedded server is shared by
    this worker's tests): the page said nothing and the tab stayed logged out after it."""
    from pymongo.errors import ServerSelectionTimeoutError

    from segcore.team import sessions

    at = log_in(page("streamlit_app").run(), "Coord", PASSWORD)
    token = at.session_state["session_token"]
    real = sessions.resume_session

    def down(*_args, **_kwargs):
        raise ServerSelectionTimeoutError("127.0.0.1:27017: connection refused")

    monkeypatch.setattr(sessions, "resume_session", down)
    again = reopened(monkeypatch, token)
    assert [t.value for t in again.title] == ["Log in"]
    assert any("database" in e.value for e in again.error), [e.value for e in again.error]
    monkeypatch.setattr(sessions, "resume_session", real)  # the database is back
    again.run()
    assert "Dashboard" in [t.value for t in again.title]
    assert again.session_state["actor"] == Actor("Coord", "coordinator")
