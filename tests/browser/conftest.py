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
# What a failed browser test leaves behind: each open tab's screenshot and text.
FAILURES = ROOT / "tests" / "artifacts" / "failures"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test shows its cause: every tab still open gets a screenshot and its
    text in tests/artifacts/failures/, and the report carries the text and the end of the
    app's log (the test's own fixtures still hold the browser at this point)."""
    report = yield
    if report.failed and report.when == "call":
        try:
            capture_failure(item, report)
        except Exception as exc:  # a capture that fails must not hide the test's own failure
            report.sections.append(("failure capture", f"could not capture: {exc!r}"))
    return report


def capture_failure(item, report) -> None:
    FAILURES.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in item.nodeid)[-150:]
    browser = item.funcargs.get("browser")
    tabs = [tab for context in browser.contexts for tab in context.pages] if browser else []
    for number, tab in enumerate(tabs):
        shot = FAILURES / f"{name}-{number}.png"
        tab.screenshot(path=str(shot), full_page=True, timeout=30_000)
        text = tab.inner_text("body", timeout=10_000)
        # A grid is drawn on a canvas: its accessible table (hidden) holds the cells in view.
        grids = tab.eval_on_selector_all(
            "[data-testid='stDataFrame'] table",
            "tables => tables.map(t => [...t.rows].map(r => [...r.cells]"
            ".map(c => c.textContent).join(' | ')).join('\\n'))",
        )
        text += "".join(f"\n\n[grid {n}]\n{grid}" for n, grid in enumerate(grids))
        (FAILURES / f"{name}-{number}.txt").write_text(f"{tab.url}\n\n{text}")
        report.sections.append((f"tab {number}: {tab.url} ({shot})", text[-4000:]))
    for fixture in ("app_env", "fresh_app"):
        home = item.funcargs.get(fixture)
        log = item.funcargs.get("tmp_path") if fixture == "fresh_app" else None
        if fixture == "app_env" and home:
            log = home[1]
        if home and log and (log / "streamlit.log").exists():
            tail = (log / "streamlit.log").read_text(errors="replace")[-4000:]
            report.sections.append((f"streamlit log ({fixture})", tail))


class StreamlitExited(RuntimeError):
    """`streamlit run` ended before it answered its health check."""


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StreamlitExited(f"streamlit exited with code {process.returncode}")
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


def start_streamlit(env: dict, home: Path, log) -> tuple[subprocess.Popen, str]:
    """`streamlit run` on a free localhost port, healthy: (process, url).

    Another test worker may take the port between the probe and Streamlit's bind; a process that
    exits before it is healthy is started again on another port (three tries).
    """
    for attempt in range(3):
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "streamlit_app.py",
                "--server.port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_health(url, process)
            return process, url
        except StreamlitExited:
            if attempt == 2:
                raise
        except BaseException:
            stop(process)
            raise
    raise AssertionError("unreachable")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def serve_app(env: dict, home: Path):
    """`streamlit run` on a free localhost port, healthy; its log is kept in `home`."""
    with open(home / "streamlit.log", "ab") as log:
        process, url = start_streamlit(env, home, log)
        try:
            yield url
        finally:
            stop(process)


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
