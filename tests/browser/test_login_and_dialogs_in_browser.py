"""In Chromium with LOGIN=on: a login survives a reload and a new tab and lands on the page the
link named, in the user's saved language from the first run; a removal dialog closed with Esc
never comes back, for anyone."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from pymongo import MongoClient

from segcore.store import embedded
from segcore.team import auth, team
from tests.helpers import ROOT, pick_option

pytestmark = pytest.mark.browser
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    """LOGIN=on over an embedded database holding a coordinator and two team members."""
    home = tmp_path_factory.mktemp("login-app")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGO", "DATA_DIRECTORY", "BATCHES_FILE", "LOGIN"))
    }
    env.update(
        EMBEDDED_DB_PATH=str(home / "db"), PYTHONPATH=str(ROOT), LOGIN="on", LANGUAGE="en"
    )  # the flow reads English texts
    client = MongoClient(embedded.ensure_server(home / "db"))
    work = client.segmentacion_db
    auth.add_user(work, "Coord", "coordinator", PASSWORD)
    auth.add_user(work, "Ana", "coordinator", PASSWORD)  # switches to Spanish: Coord stays English
    for name in ("Ceci", "Pedro"):
        team.add_member(work, name, author="test")
    work.batches.insert_one(
        {
            "id": "batch_1",
            "number": 1,
            "assignee": "Pedro",
            "status": "pending",
            "mongo_uploaded": False,
        }
    )
    client.close()
    yield env, home
    embedded.stop_server(home / "db")


def wait_heading(tab, heading: str):
    tab.wait_for_selector(CONNECTED, timeout=180_000)
    tab.get_by_role("heading", name=heading, exact=True).wait_for(timeout=180_000)


def session_cookie(context):
    return [c for c in context.cookies() if c["name"] == "segdash_session"]


def choose(tab, label: str, option: str):
    pick_option(tab, tab.get_by_test_id("stSelectbox").filter(has_text=label), option)


def test_a_reload_shows_the_users_saved_language_from_its_first_run(page, app_url):
    page.goto(app_url)
    wait_heading(page, "Log in")
    page.get_by_role("textbox", name="User name").fill("Ana")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    wait_heading(page, "Dashboard")
    page.wait_for_function("document.cookie.includes('segdash_session=')", timeout=30_000)
    choose(page, "Language", "Español")
    wait_heading(page, "Tablero")

    page.reload()  # still logged in by the cookie, as in a new tab or from a bookmark
    page.wait_for_selector(CONNECTED, timeout=180_000)
    title = page.get_by_test_id("stMain").locator("h1").first
    title.wait_for(timeout=180_000)
    # Read at once: the first run's texts, not those of a later rerun that corrects them.
    selector = page.get_by_test_id("stSidebar").get_by_role("combobox").first
    assert (title.inner_text(), selector.input_value()) == ("Tablero", "Español")
    expect(page).to_have_title("Trabajo de segmentación")


def test_a_reload_as_soon_as_the_page_says_logged_in_keeps_the_login(page, app_url):
    """The browser keeps the cookie before the page says "Logged in as": no moment when a
    reload asks for the password again."""
    page.goto(app_url)
    wait_heading(page, "Log in")
    page.get_by_role("textbox", name="User name").fill("Coord")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Logged in as").first.wait_for(timeout=180_000)
    assert session_cookie(page.context)  # at once, not seconds later
    page.reload()
    wait_heading(page, "Dashboard")
    page.get_by_text("Logged in as").first.wait_for(timeout=180_000)
    expect(page.get_by_role("heading", name="Log in")).to_have_count(0)


def test_login_survives_reload_and_new_tab_and_a_closed_dialog_stays_closed(page, app_url):
    page.goto(f"{app_url}/team")
    wait_heading(page, "Log in")
    page.get_by_role("textbox", name="User name").fill("Coord")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    wait_heading(page, "Team")  # the page the link named, not the Dashboard
    page.wait_for_function("document.cookie.includes('segdash_session=')", timeout=30_000)
    assert session_cookie(page.context)

    page.reload()
    wait_heading(page, "Team")
    assert page.get_by_text("Logged in as").count() == 1
    other = page.context.new_page()
    other.goto(f"{app_url}/sync")
    wait_heading(other, "Sync")
    other.close()

    choose(page, "Member", "Pedro")
    page.get_by_role("button", name="Remove Pedro…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Remove Pedro").first.wait_for()
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    choose(page, "Member", "Ceci")
    page.get_by_role("button", name="Remove Ceci…").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("dialog").count() == 0
    page.get_by_test_id("stSidebar").get_by_role("link", name="Batches").click()
    wait_heading(page, "Batches")
    page.get_by_test_id("stSidebar").get_by_role("link", name="Team").click()
    wait_heading(page, "Team")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("dialog").count() == 0

    page.get_by_role("button", name="Log out").click()
    wait_heading(page, "Log in")
    page.reload()
    wait_heading(page, "Log in")


def test_a_removed_login_searching_a_dashboard_chart_is_asked_to_log_in(page, app_env, app_url):
    """The per-person chart's search box reruns its fragment only, which skipped the login
    gate: a removed user's open tab went on drawing the chart with the team's figures."""
    work_uri = embedded.ensure_server(app_env[1] / "db")
    client = MongoClient(work_uri)
    try:
        auth.add_user(client.segmentacion_db, "Vera", "viewer", PASSWORD)
        page.goto(app_url)
        wait_heading(page, "Log in")
        page.get_by_role("textbox", name="User name").fill("Vera")
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        wait_heading(page, "Dashboard")
        search = page.get_by_role("textbox", name="Find a segmentador")
        search.wait_for(timeout=180_000)
        auth.remove_user(client.segmentacion_db, "Vera", author="test")
        try:
            search.fill("Ped", timeout=10_000)
            search.press("Enter", timeout=10_000)
        except PlaywrightTimeoutError:
            pass  # a part of the page refreshed on a timer asked for the login first
        wait_heading(page, "Log in")
        assert page.get_by_role("textbox", name="Find a segmentador").count() == 0
    finally:
        client.close()
