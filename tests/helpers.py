"""What the tests share besides fixtures: the repository root, a free port, the page scripts
and how to open one under AppTest. Tests import from here, never from conftest or each other.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# The entry point and every page script under ui/pages/, as the smoke tests walk them.
PAGES = [
    "streamlit_app",
    "dashboard",
    "batches",
    "team",
    "moves",
    "receipts",
    "weekly_report",
    "notifications",
    "sync",
    "settings",
    "my_batches",
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Browser screenshots go to tests/artifacts/ (ignored by git); UPDATE_SCREENSHOTS=1 refreshes
# the README's pictures in docs/screenshots/ instead.
SCREENSHOTS = ROOT / (
    "docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else "tests/artifacts"
)


def free_port() -> int:
    """A localhost port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def page_path(name: str) -> Path:
    """The script of a page ("dashboard", …) or of the entry point ("streamlit_app")."""
    return ROOT / ("streamlit_app.py" if name == "streamlit_app" else f"ui/pages/{name}.py")


def page(name: str):
    """An AppTest of one page script (or of the entry point for "streamlit_app")."""
    from streamlit.testing.v1 import AppTest

    # A page run waits for a state (the script finished); beside a CPU load it may take minutes.
    return AppTest.from_file(str(page_path(name)), default_timeout=300)


def index_uploads(uploads) -> dict[str, dict]:
    """The sync's index of `uploads` ({key: {upload id: entry}}), filed one by one the way a
    sync files them (`sync_plan.add_to_index`)."""
    from segcore.sync.index.sync_index import SyncIndex
    from segcore.sync.index.sync_plan import add_to_index

    index = SyncIndex()
    for upload in uploads:
        add_to_index(index, upload)
    return index


def pick_option(page, opener, option: str, attempts: int = 5) -> None:
    """Open a select box (`opener`, a Playwright locator) and choose `option` in its list. A
    rerun that redraws the box closes a list just opened, even between the option showing and
    its click (browser tests failed so, both ways), so opening and clicking are tried again
    together; the last try's error says what was missing."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    choice = page.get_by_role("option", name=option, exact=True)
    for attempt in range(attempts):
        page.wait_for_load_state("networkidle")
        opener.click()
        try:
            choice.click(timeout=10_000)
            return
        except PlaywrightTimeoutError:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")


def shown(text: str) -> str:
    """Markdown as its reader sees it: the backslash escapes that keep stored names literal
    (`ui.app.labels.literal`) undone."""
    import re

    return re.sub(r"\\(.)", r"\1", str(text))


def kill_segcore_once_stored(env: dict, collection, *args: str) -> None:
    """Run `segcore *args` and SIGKILL it once `collection` holds a document (polled, never a
    fixed wait); fails when the run finishes first."""
    process = subprocess.Popen(
        [sys.executable, "-m", "segcore", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while collection.estimated_document_count() == 0 and process.poll() is None:
        assert time.monotonic() < deadline, f"nothing stored in {collection.name} within 300 s"
        time.sleep(0.005)
    process.kill()
    process.wait(30)
    assert process.returncode == -9, "the run finished before it could be killed"


def seed_legacy_duplicates(db) -> None:
    """José (added first) and Jose, stored by the old dashboard without the name key; a login
    each; José's open batches under three spellings."""
    from segcore.team import auth, team

    db.segmentadores.insert_many(
        [
            {"name": "José", "role": "Segmentador", "email": "jose@example.com"},
            {"name": "Jose", "role": "Segmentador", "email": "jose2@example.com"},
        ]
    )
    team.ensure_indexes(db)
    auth.add_user(db, "jose", "segmentador", "a long password", member="José")
    auth.add_user(db, "jose2", "segmentador", "a long password", member="Jose")
    db.batches.insert_many(
        [
            {"id": f"batch_{n}", "number": n, "assignee": who, "status": "pending"}
            for n, who in ((1, "José"), (2, "jose"), (3, "Jose"))
        ]
    )


# Runs the command line with one change: the `step`-th write of history entries (only those in
# a transaction when {in_transaction}) stops right after it (in a transaction: its batch writes
# and history written, not committed) and says so.
_STOP_AFTER_HISTORY = """
import sys, time
from segcore.store import history
record, seen = history.record, []
def stopping(db, changes, session=None, **kwargs):
    result = record(db, changes, session=session, **kwargs)
    if not {in_transaction} or (session is not None and session.in_transaction):
        seen.append(1)
        if len(seen) == {step}:
            print("history written", flush=True)
            time.sleep(3600)
    return result
history.record = stopping
from segcore.cli import main
main()
"""


def kill_segcore_in_transaction(env: dict, *args: str, step: int = 1) -> None:
    """Run `segcore *args` and SIGKILL it inside its `step`-th transaction, once that step has
    written its batches and their history but not committed them: what kill -9 or a dropped
    SSH session there does, leaving the transaction open on the server."""
    _kill_after_history(env, args, step, in_transaction=True)


def kill_segcore_after_history(env: dict, *args: str, step: int = 1) -> None:
    """Run `segcore *args` and SIGKILL it right after its `step`-th write of history entries,
    in a transaction or not: a crash between an entry and the change it tells of."""
    _kill_after_history(env, args, step, in_transaction=False)


def _kill_after_history(env: dict, args, step: int, in_transaction: bool) -> None:
    code = _STOP_AFTER_HISTORY.replace("{step}", str(step))
    process = subprocess.Popen(
        [sys.executable, "-c", code.replace("{in_transaction}", str(in_transaction)), *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    timer = threading.Timer(300, process.kill)  # a run that never gets there fails the test
    timer.start()
    try:
        line = process.stdout.readline()  # the marker, or nothing when the run ended first
        assert line.strip() == "history written", f"ended first: {line}{process.stderr.read()}"
    finally:
        timer.cancel()
        process.kill()
        process.wait(30)


def charts(at) -> dict[str, dict]:
    """The plotly figures an AppTest run drew, by the key the page gave each (`chart_done`,
    …): the figures carry no title (the page writes it above them, `chart_titles`)."""
    import json

    return {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def chart_titles(at) -> list[str]:
    """The charts' titles, as the headings (`ui.app.widgets.chart_title`) the run wrote."""
    return [shown(m.value[6:]) for m in at.markdown if m.value.startswith("##### ")]


def log_in(at, name: str, password: str):
    """Log in through the login form, then answer as the browser does once it keeps the
    session cookie (AppTest runs no JavaScript): the page says the user is in only then."""
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.form_submit_button[0].click().run()
    pending = at.session_state["session_cookie"] if "session_cookie" in at.session_state else None
    if pending and not at.exception:
        assert [t.value for t in at.title] in (["Log in"], ["Iniciar sesión"])
        browser_answers(at, "kept")
    return at


def browser_answers(at, answer: str):
    """The login's cookie keeper answering from the browser, "kept" or "refused" (cookies
    blocked), as its JavaScript would (AppTest runs none), then the rerun it causes."""
    from segcore.team.sessions import token_hash

    login = token_hash(at.session_state["session_cookie"][0])[:16]
    at.session_state["cookie_keeper"] = {"kept": None, "refused": None, answer: login}
    return at.run()
