"""In Chromium with LOGIN=on: two segmentadores each see only their own batches on the one page
they get, whatever URL they open; the coordinator sees the whole lab."""

from __future__ import annotations

import os

import pytest
from pymongo import MongoClient

from segcore.store import embedded
from segcore.team import auth, team
from tests.helpers import ROOT, SCREENSHOTS

pytestmark = pytest.mark.browser
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
PASSWORD = "correct horse battery"
FLOR = ["batch_11", "batch_12"]
LUIS = ["batch_21", "batch_22", "batch_23"]


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    """LOGIN=on: a coordinator, and Flor and Luis with a login each and batches of their own."""
    home = tmp_path_factory.mktemp("my-batches-app")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGO", "DATA_DIRECTORY", "BATCHES_FILE", "LOGIN"))
    }
    env.update(EMBEDDED_DB_PATH=str(home / "db"), PYTHONPATH=str(ROOT), LOGIN="on", LANGUAGE="en")
    client = MongoClient(embedded.ensure_server(home / "db"))
    work = client.segmentacion_db
    auth.add_user(work, "coord", "coordinator", PASSWORD)
    for name, ids in (("Flor", FLOR), ("Luis", LUIS)):
        team.add_member(work, name, author="test")
        work.batches.insert_many(
            [
                {
                    "id": i,
                    "number": int(i.split("_")[1]),
                    "assignee": name,
                    "status": "pending",
                    "metadata": {"due_date": "2025-01-10", "priority": "alta"},
                }
                for i in ids
            ]
        )
        auth.add_user(work, name.lower(), "segmentador", PASSWORD, member=name)
    client.close()
    yield env, home
    embedded.stop_server(home / "db")


def log_in(tab, url: str, name: str, heading: str) -> None:
    tab.goto(url)
    wait_heading(tab, "Log in")
    tab.get_by_role("textbox", name="User name").fill(name)
    tab.get_by_role("textbox", name="Password").fill(PASSWORD)
    tab.get_by_role("button", name="Log in").click()
    wait_heading(tab, heading)
    # the login lives on in a cookie the page writes after logging in: opening other URLs
    # before it is there would start a new, logged-out session
    tab.wait_for_function("document.cookie.includes('segdash_session=')", timeout=180_000)


def wait_heading(tab, heading: str) -> None:
    tab.wait_for_selector(CONNECTED, timeout=180_000)
    tab.get_by_role("heading", name=heading, exact=True).wait_for(timeout=180_000)


def record_frames(tab) -> list[bytes]:
    """Every message the app sends this tab over its websocket, as bytes: tables are drawn on
    a canvas, so what reached the browser is checked where it arrives."""
    frames: list[bytes] = []

    def follow(socket):
        socket.on(
            "framereceived",
            lambda payload: frames.append(
                payload if isinstance(payload, bytes) else payload.encode()
            ),
        )

    tab.on("websocket", follow)
    return frames


def settle(tab) -> None:
    tab.get_by_text("Your pace").wait_for(timeout=180_000)
    tab.wait_for_load_state("networkidle")


@pytest.mark.parametrize("who, mine, theirs", [("flor", FLOR, LUIS), ("luis", LUIS, FLOR)])
def test_each_segmentador_sees_only_their_own_batches_at_any_url(
    browser, app_url, who, mine, theirs
):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    tab = context.new_page()
    frames = record_frames(tab)
    try:
        log_in(tab, f"{app_url}/batches", who, "My batches")  # the link named another page
        # the table is drawn on a canvas: its batch ids are read from the page's own data
        for url in (
            "",
            "/batches",
            "/team",
            "/sync",
            "/settings",
            "/moves",
            "/batches?batch=" + theirs[0],
        ):
            tab.goto(app_url + url)
            wait_heading(tab, "My batches")
            settle(tab)
            assert "Dashboard" not in tab.locator("[data-testid='stSidebar']").inner_text()
        sent = b"".join(frames)
        assert all(own.encode() in sent for own in mine)
        assert not any(other.encode() in sent for other in theirs)
        assert ("Flor" if who == "luis" else "Luis").encode() not in sent
        tab.goto(app_url)
        wait_heading(tab, "My batches")
        settle(tab)
        tab.screenshot(path=str(SCREENSHOTS / f"my-batches-{who}.png"), full_page=True)
    finally:
        context.close()


def test_the_coordinator_sees_every_page_and_every_batch(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    tab = context.new_page()
    try:
        log_in(tab, app_url, "coord", "Dashboard")
        tab.goto(f"{app_url}/my_batches")  # not one of a coordinator's pages
        wait_heading(tab, "Dashboard")
        tab.goto(f"{app_url}/team")
        wait_heading(tab, "Team")
        tab.get_by_text("Logins for segmentadores (2)").wait_for(timeout=180_000)
    finally:
        context.close()
