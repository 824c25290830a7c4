"""What AppTest cannot see: the entry point on a deep link, and typing into the editable grid.

Drives Debian's Chromium through a real `streamlit run` on a free port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from segcore import team
from tests.conftest import ROOT

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def app_url(dbs, settings, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGO", "DATA_", "BATCHES"))}
    env.update({"MONGO_URI": settings.mongo_uri, "MONGO_DB": settings.mongo_db,
                "TRAINING_DB": settings.training_db, "EMBEDDED_DB_PATH": str(tmp_path / "db")})
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
                                "--server.port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    yield url
    process.terminate()
    process.wait(15)


@pytest.fixture
def browser_page():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page(viewport={"width": 1400, "height": 1000})
        browser.close()


def open_page(page, url):
    page.goto(url)
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']",
                           timeout=30_000)


def test_deep_link_right_after_start_goes_through_the_entry_point(dbs, app_url, browser_page):
    open_page(browser_page, app_url + "/team")
    browser_page.get_by_text(dbs.work.name).wait_for(timeout=30_000)
    sidebar = browser_page.locator("[data-testid='stSidebar']").inner_text()
    assert "Dashboard" in sidebar and "streamlit app" not in sidebar
    assert dbs.work.name in sidebar


def test_typing_into_the_grid_and_saving(dbs, app_url, browser_page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    team.add_member(dbs.work, "Ceci", author="test")
    dbs.work.batches.insert_many([{"id": f"batch_{n}", "number": n, "assignee": None,
                                   "status": "pending", "mongo_uploaded": False}
                                  for n in (1, 2)])
    open_page(browser_page, app_url + "/batches")
    browser_page.get_by_text("2 batches match").wait_for(timeout=30_000)
    browser_page.wait_for_timeout(1000)
    grid = browser_page.locator("[data-testid='stDataFrame']").first.bounding_box()
    save = browser_page.get_by_role("button", name="Save changes (1 batches)")
    for _attempt in range(3):  # the canvas may not take the first double-click while drawing
        # Columns: tick (~75 px), Batch (~80 px), Assignee; the header is ~35 px high.
        browser_page.mouse.dblclick(grid["x"] + 200, grid["y"] + 53)
        browser_page.wait_for_timeout(500)
        browser_page.keyboard.type("Ceci")
        browser_page.keyboard.press("Enter")
        try:
            save.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            browser_page.keyboard.press("Escape")
    save.click()
    browser_page.get_by_text("1 batch(es) saved").first.wait_for(timeout=30_000)
    assert dbs.work.batches.find_one({"id": "batch_1"})["assignee"] == "Ceci"
    assert dbs.work.batches.find_one({"id": "batch_2"})["assignee"] is None
