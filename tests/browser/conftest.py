"""A real app in a real browser: `streamlit run` on the embedded database, driven by Chromium."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from segcore.store import embedded
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, ROOT, SCREENSHOTS, free_port

SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("streamlit did not become healthy")


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    """Environment of a newcomer's first start: no MONGO_URI, no DATA_DIRECTORY."""
    home = tmp_path_factory.mktemp("app")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGO", "DATA_DIRECTORY", "BATCHES_FILE", "LOGIN"))
    }
    # English by default: the flows assert English texts; the language walk switches it.
    env.update(EMBEDDED_DB_PATH=str(home / "db"), PYTHONPATH=str(ROOT), LANGUAGE="en")
    env.update(SMTP_URL="", WEBHOOK_URL="", NOTIFY_COORDINATORS="")  # nothing leaves the machine
    yield env, home
    embedded.stop_server(home / "db")


@contextlib.contextmanager
def serve_app(env: dict, home: Path):
    """`streamlit run` on a free localhost port, healthy; its log is kept in `home`."""
    port = free_port()
    log = open(home / "streamlit.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def app_url(app_env):
    """The app served by `streamlit run` on a free localhost port; its log is kept for failures."""
    with serve_app(*app_env) as url:
        yield url


@pytest.fixture
def fresh_app(tmp_path):
    """An app of its own on an empty database, for a test that needs a newcomer's first start
    whatever ran before it: (url, the app's working database)."""
    from pymongo import MongoClient

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONGO", "DATA_DIRECTORY", "BATCHES_FILE", "LOGIN"))
    }
    env.update(EMBEDDED_DB_PATH=str(tmp_path / "db"), PYTHONPATH=str(ROOT), LANGUAGE="en")
    try:
        with serve_app(env, tmp_path) as url:
            client = MongoClient(embedded.ensure_server(tmp_path / "db"))
            try:
                yield url, client.segmentacion_db
            finally:
                client.close()
    finally:
        embedded.stop_server(tmp_path / "db")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the test command installs Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(90_000)  # waits for a state; only a busy machine needs it long
    yield tab
    context.close()
