"""Pages as a coordinator meets them: `streamlit run` restarted, Chromium, figures on screen.

Run through `python bench/bench_pages.py --browser` (see there). Two measurements, each a ratio
of a bare read of every batch document (`find()`, best of three) taken in the same run on the
same data:

1. First start on a production database: batch documents without `number`, no index but
   `_id`, nothing synced. The app starts, Chromium opens the Dashboard; timed from the request
   until its KPIs are drawn (the first figures), then until its charts are too. Also checked:
   no KPI value is cut at 1280 px, and what the page says while the database is still being
   prepared (the batch list's indexes, built in the background).
2. Cold pages after a full sync: for each of Dashboard, Batches and Team the app is restarted
   (a new process: every cache empty), then the page is opened and timed until its figures are
   on screen: the Dashboard's KPIs and its five charts; the Batches page's count of matching
   batches and its grid; the Team page's two tables. Twice: in a new, empty browser profile
   (a first visit ever: Chromium downloads and compiles Streamlit's and plotly's scripts), and
   in a returning browser, one profile that has opened each page once before the restarts, at
   the same address, as the coordinator's own browser has (Streamlit serves its scripts as
   immutable for a year, so a restart of the app leaves them in the browser's cache). The
   first start after the full sync has no stored batch rows and reads every batch; it is
   timed apart, and the restarts after it start from the rows it stored.

Beside each bare read, Streamlit's own floor: a freshly started app whose page is one metric,
timed the same way (what any Streamlit page costs before its own work).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import best_of
from pymongo import MongoClient

from segcore.store import embedded

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, free_port  # noqa: E402

WIDTH, HEIGHT = 1280, 1000
# As scripts/run-app.sh and the service start it (a warm start, see serve.py); override with
# SEGBENCH_SCRIPT=streamlit_app.py to measure the app without it.
SCRIPT = os.environ.get("SEGBENCH_SCRIPT", "serve.py")
TIMEOUT_MS = 600_000
NAME = "bench"
# What "the figures are on screen" means, per page: (label, CSS selector, how many).
FIGURES = {
    "dashboard": [
        ("KPIs", "[data-testid='stMetric'] [data-testid='stMetricValue']", 7),
        ("charts", "[data-testid='stPlotlyChart'] .main-svg", 5),
    ],
    "batches": [
        ("count", "[data-testid='stCaptionContainer']:has-text('match')", 1),
        ("grid", "[data-testid='stDataFrame'] canvas", 1),
    ],
    "team": [("tables", "[data-testid='stDataFrame'] canvas", 2)],
}
CUT = """nodes => nodes.flatMap(node =>
    [node, ...node.querySelectorAll('*')].filter(e => e.scrollWidth > e.clientWidth + 1
        && getComputedStyle(e).overflow !== 'visible').map(e => e.innerText))"""


def bare_read(db) -> float:
    return best_of(lambda: list(db.batches.find({})), 3)


def _healthy(url: str, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError("streamlit did not become healthy")


@contextlib.contextmanager
def app(uri: str, log: Path, script: str = SCRIPT, port: int | None = None):
    """A fresh `streamlit run` process on `uri` (every cache empty), healthy, on `port` (a
    free one by default)."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONGO", "DATA_DIRECTORY"))}
    env.update(
        MONGO_URI=uri,
        MONGO_DB=f"{NAME}_seg",
        TRAINING_DB=f"{NAME}_tm",
        MONGO_TIMEOUT_MS="60000",
        LOGIN="off",
        LANGUAGE="en",
        PYTHONPATH=str(ROOT),
        SMTP_URL="",
        WEBHOOK_URL="",
        NOTIFY_COORDINATORS="",
    )
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", script]
            + ["--server.port", str(port), "--server.headless", "true"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _healthy(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def new_tab(where):
    """A new tab: in a new, empty profile of `where` (a Browser), or in the returning profile
    `where` (a BrowserContext, its cache kept from earlier visits)."""
    if hasattr(where, "new_context"):
        context = where.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        try:
            yield context.new_page()
        finally:
            context.close()
    else:
        tab = where.new_page()
        try:
            yield tab
        finally:
            tab.close()


def open_page(where, url: str, name: str, shots: Path) -> dict:
    """Open `name` in a new tab (see new_tab); seconds until each of its figures is drawn."""
    with new_tab(where) as tab:
        started = time.perf_counter()
        tab.goto(f"{url}/{name}", wait_until="commit", timeout=TIMEOUT_MS)
        times = {}
        for label, selector, count in FIGURES[name]:
            tab.locator(selector).nth(count - 1).wait_for(state="visible", timeout=TIMEOUT_MS)
            times[label] = time.perf_counter() - started
        times["notice"] = tab.get_by_text("Preparing the database").count() > 0
        if name == "dashboard":
            times["cut"] = tab.eval_on_selector_all("[data-testid='stMetric']", CUT)
            times["values"] = tab.locator(FIGURES[name][0][1]).all_inner_texts()
        tab.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        return times


def wait_for_indexes(db, timeout: float = 900) -> float:
    """Seconds until the app's background step has indexed the batch list."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if "assignee_1" in {i["name"] for i in db.batches.list_indexes()}:
            return time.perf_counter() - started
        time.sleep(0.5)
    raise RuntimeError("the batch list was never indexed")


def _template(template: Path, build, source: Path | None = None) -> None:
    """Build `template` once: `build(client)` on a new database, or on a copy of `source`."""
    if (template / "built").exists():
        return
    shutil.rmtree(template / "db", ignore_errors=True)
    if source is not None:
        shutil.copytree(source / "db", template / "db")
    uri = embedded.ensure_server(template / "db")
    with MongoClient(uri) as client:
        build(client) if source is None else build(uri)
    embedded.stop_server(template / "db")
    (template / "built").write_text("ok\n")


@contextlib.contextmanager
def database(template: Path | None, build, sync=None):
    """A server on a copy of `template` (built once, by `build(client)`, when absent; synced
    once by `sync(uri)` when given), or on a new temporary database built now."""
    with tempfile.TemporaryDirectory(prefix="segbench-browser-") as tmp:
        path = Path(tmp) / "db"
        if template is not None:
            _template(template, build)
            if sync is not None:
                synced = template.with_name(template.name + "-synced")
                synced.mkdir(exist_ok=True)
                _template(synced, sync, source=template)
                template = synced
            shutil.copytree(template / "db", path)
        uri = embedded.ensure_server(path)
        client = MongoClient(uri, serverSelectionTimeoutMS=10_000)
        try:
            if template is None:
                build(client)
            yield uri, client, Path(tmp)
        finally:
            client.close()
            embedded.stop_server(path)


def show(label: str, seconds: float, floor: float, note: str = "") -> None:
    print(f"| {label:<40} | {seconds:>7.2f} | {seconds / floor:>6.2f} | {note}", flush=True)


def run(build, sync, template: Path | None, pages: list[str], first_start: bool) -> None:
    """Both measurements (see the module's docstring); `sync(uri)` runs a full sync.

    With a `template` the first start runs on a copy of the unsynced data and the cold pages
    on a copy synced once (kept beside it); without, on one database synced in between.
    """
    from playwright.sync_api import sync_playwright

    shots = ROOT / "tests" / "artifacts" / "bench"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print(f"| {'view':<40} | {'s':>7} | {'× read':>6} |\n|---|---:|---:|", flush=True)
        if template is not None:
            if first_start:
                with database(template, build) as (uri, client, tmp):
                    first_page(browser, uri, client, tmp, shots)
            with database(template, build, sync) as (uri, client, tmp):
                cold_pages(browser, uri, client, tmp, shots, pages)
        else:
            with database(None, build) as (uri, client, tmp):
                if first_start:
                    first_page(browser, uri, client, tmp, shots)
                started = time.perf_counter()
                sync(uri)
                print(f"# full sync {time.perf_counter() - started:.0f} s", flush=True)
                cold_pages(browser, uri, client, tmp, shots, pages)
        browser.close()


def first_page(browser, uri: str, client, tmp: Path, shots: Path) -> None:
    """Measurement 1: the first Dashboard of a first start on the unsynced production data."""
    db = client[f"{NAME}_seg"]
    floor = bare_read(db)
    show("bare read, before any sync", floor, floor)
    show("a one-metric Streamlit app (no database)", streamlit_floor(browser, uri, tmp), floor)
    with app(uri, tmp / "streamlit.log") as url:
        times = open_page(browser, url, "dashboard", shots)
        indexed = wait_for_indexes(db)
    note = "notice shown" if times["notice"] else "no notice"
    show("first start: dashboard KPIs", times["KPIs"], floor, note)
    show("first start: dashboard charts", times["charts"], floor)
    print(f"# KPI values {times['values']}; cut: {times['cut'] or 'none'}", flush=True)
    print(f"# batch list indexed {indexed:.0f} s after the first page", flush=True)


HELLO = 'import streamlit as st\nst.metric("Batches", "50,000")\n'


def streamlit_floor(where, uri: str, tmp: Path, port: int | None = None) -> float:
    """Seconds until a freshly started one-metric Streamlit app shows its metric in a new tab
    (see new_tab), best of three: what any page of any Streamlit app costs before its own
    work."""
    script = tmp / "hello.py"
    script.write_text(HELLO)
    times = []
    for _ in range(3):
        with app(uri, tmp / "streamlit.log", str(script), port) as url, new_tab(where) as tab:
            started = time.perf_counter()
            tab.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
            tab.locator(FIGURES["dashboard"][0][1]).first.wait_for(timeout=TIMEOUT_MS)
            times.append(time.perf_counter() - started)
    return min(times)


def cold_pages(browser, uri: str, client, tmp: Path, shots: Path, pages: list[str]) -> None:
    """Measurement 2: each page in a freshly restarted app, after a full sync, in a new
    browser profile and in a returning one.

    A full sync changes too many batches for any stored rows (segcore.views.row_snapshot) to
    be caught up with: the first start after it reads every batch, then stores the rows, as
    the app running during the sync would have. That first start is timed on its own; the
    restarts after it start from the stored rows, as an app restarted in production does.
    """
    db = client[f"{NAME}_seg"]
    floor = bare_read(db)
    with app(uri, tmp / "streamlit.log") as url:
        times = open_page(browser, url, pages[0], shots)
        wait_for_stored_rows(db)
    for figure, _selector, _count in FIGURES[pages[0]]:
        show(f"cold {pages[0]}, no stored rows yet: {figure}", times[figure], floor)
    _restarts(browser, "", uri, client, tmp, shots, pages)
    returning = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    port = free_port()  # one address, as the coordinator's: its cache holds for a restart
    try:
        with app(uri, tmp / "streamlit.log", port=port) as url:  # visits before the restarts
            for name in pages:
                open_page(returning, url, name, shots)
        _restarts(returning, ", returning browser", uri, client, tmp, shots, pages, port)
    finally:
        returning.close()


def wait_for_stored_rows(db, timeout: float = 300) -> None:
    """Until the app has stored the batch rows at the batch list's current version."""
    from segcore.store.data_version import read_versions
    from segcore.store.schema import ROW_SNAPSHOT

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head = db[ROW_SNAPSHOT].find_one({"_id": "head"}) or {}
        if tuple(head.get("version") or ()) == read_versions(db)["batches"]:
            return
        time.sleep(0.2)
    raise RuntimeError("the app never stored the batch rows")


def _restarts(
    where, label: str, uri: str, client, tmp: Path, shots: Path, pages: list[str], port=None
):
    """The bare read and the one-metric app, then each page in a freshly restarted app (on
    `port` when given), in new tabs of `where` (see new_tab)."""
    floor = bare_read(client[f"{NAME}_seg"])
    show(f"bare read, after the sync{label}", floor, floor)
    show(f"a one-metric Streamlit app{label}", streamlit_floor(where, uri, tmp, port), floor)
    for name in pages:
        with app(uri, tmp / "streamlit.log", port=port) as url:
            times = open_page(where, url, name, shots)
        for figure, _selector, _count in FIGURES[name]:
            show(f"cold {name} (restarted{label}): {figure}", times[figure], floor)
