"""Every page and the common clicks at scale, cold and warm, as ratios of a bare read.

    python bench/bench_pages.py                 # quick: 5,000 batches, 50,000 uploads
    python bench/bench_pages.py --size full     # 50,000 batches, 500,000 uploads
    python bench/bench_pages.py --batches 20000 --uploads 100000 --repeat 1
    python bench/bench_pages.py --browser       # Chromium, app restarted: 50,000 / 200,000
    python bench/bench_pages.py --browser --data /tmp/pages50k   # data built once, then copied

(AppTest outside `streamlit run` logs "no runtime" warnings on stderr; add 2>/dev/null to read
only the table.)

Starts its own embedded server in a temporary directory, loads 100 segmentadores, the batches
(70 % assigned, production documents without a `number` field) and the upload documents (messy
names, dated over the last 180 days), runs one full sync as production would have, then renders
each page with Streamlit's AppTest. "cold" is a new session with Streamlit's data cache emptied
(as after a restart); "warm" is a rerun of the same session (any click that changes nothing).
An interaction is the rerun after one change on a page whose first view was already shown:
filter, sort, next page, date range, save, sync with nothing new. The floor is a bare `find()`
of every batch document, measured in the same run on the same data.

`--browser` measures what a coordinator meets instead (see `bench/pages_in_browser.py`): the
first Dashboard of a first start on the unsynced production data, then the Dashboard, Batches
and Team pages each in a freshly restarted `streamlit run`, in Chromium at 1280 px, timed
until the page's figures are drawn, as ratios of a bare read in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import streamlit as st
from common import best_of, throwaway_server
from streamlit.testing.v1 import AppTest

from segcore.settings.config import load_settings
from segcore.store.connection import open_databases
from segcore.sync.sync import run_sync
from segcore.team import team
from segcore.work import batches

ROOT = Path(__file__).resolve().parent.parent
# The page scripts import the `ui` package from the project folder, which `streamlit run
# streamlit_app.py` puts on the path; AppTest runs them in this process, so it goes here.
sys.path.insert(0, str(ROOT))
from ui.app import reads  # noqa: E402  (after the path is set)

SIZES = {"quick": (5_000, 50_000), "full": (50_000, 500_000), "browser": (50_000, 200_000)}
CHUNK = 10_000
PAGES = ("dashboard", "batches", "team", "sync", "settings")


def people() -> list[str]:
    return [f"Person {i}" for i in range(100)]


def build(client, name: str, count: int, uploads: int) -> None:
    db, training = client[f"{name}_seg"], client[f"{name}_tm"]
    rng = random.Random(count)
    names = people()
    for person in names:
        team.add_member(db, person, author="bench")
    docs = [
        {
            "id": f"batch_{n}",
            "folder": f"/data/american_project/batch_{n}",
            "assignee": rng.choice(names) if rng.random() < 0.7 else None,
            "status": rng.choice(batches.STATUSES),
            "metadata": {
                "priority": rng.choice(batches.PRIORITIES),
                "due_date": "2025-09-30",
                "assigned_at": "2025-09-01",
            },
        }
        for n in range(1, count + 1)
    ]
    for start in range(0, count, CHUNK):
        db.batches.insert_many(docs[start : start + CHUNK])
    now = datetime.now()
    done = max(1, int(count * 0.45))  # uploads name the first 45 % of the batches
    for start in range(0, uploads, CHUNK):
        files = []
        for _ in range(start, min(uploads, start + CHUNK)):
            number = rng.randint(1, done)
            filename = rng.choice(
                [
                    f"masks_batch_{number}.tar.xz",
                    f"Batch-{number}.zip",
                    f"batch_{number:04d}_part2.zip",
                    "final_masks.zip",
                ]
            )
            files.append(
                {
                    "filename": filename,
                    "length": rng.randint(10**5, 10**8),
                    "chunkSize": 261_120,
                    "uploadDate": now - timedelta(days=rng.uniform(0, 180)),
                    "metadata": {"uploaded_by": rng.choice(names).lower()},
                }
            )
        training["masks.files"].insert_many(files)


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "ui" / "pages" / f"{name}.py"), default_timeout=900)


def checked(at: AppTest) -> AppTest:
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    return at


def cold_start(name: str) -> AppTest:
    """A new session after a restart: the data cache emptied, and with it the process-wide
    batch rows (read again); the pace figures kept per data version and minute are dropped
    too. The database client and its preparation (kept as a resource) stay."""
    st.cache_data.clear()
    reads._alerts.clear()
    return checked(page(name).run())


def interaction(name: str, change) -> float:
    """Best time of the rerun after `change(at)` on a page already shown once (cold caches)."""

    def once() -> float:
        at = cold_start(name)
        rerun = change(at)
        started = time.perf_counter()
        checked(rerun.run())
        return time.perf_counter() - started

    return min(once() for _ in range(REPEAT))


def edit_first_status(at: AppTest) -> AppTest:
    key = f"batch_editor_{at.session_state['batch_editor_version']}"
    first = at.session_state["batch_snapshot"]["rows"][0]
    new = "review" if first.get("status") != "review" else "done"
    at.session_state[key] = {
        "edited_rows": {0: {"status": new}},
        "added_rows": [],
        "deleted_rows": [],
    }
    checked(at.run())
    return at.button(key="save_batches").click()


INTERACTIONS = {
    "dashboard: filter one person": (
        "dashboard",
        lambda at: at.selectbox(key="dash_who").set_value("Person 7"),
    ),
    "dashboard: date range 90 days": (
        "dashboard",
        lambda at: at.date_input(key="dash_dates").set_value(
            (date.today() - timedelta(days=90), date.today())
        ),
    ),
    "batches: filter status": (
        "batches",
        lambda at: at.selectbox(key="bf_status").set_value("review"),
    ),
    "batches: sort by latest upload": (
        "batches",
        lambda at: at.selectbox(key="bf_sort").set_value("latest_upload"),
    ),
    "batches: next page": ("batches", lambda at: at.number_input(key="batch_page").set_value(2)),
    "batches: save one edit": ("batches", edit_first_status),
    "sync: sync now, nothing new": ("sync", lambda at: at.button(key="sync_now").click()),
}
REPEAT = 3


def measure(floor: float, pages: list[str], interactions: list[str]) -> None:
    print(f"floor (bare read of every batch document): {floor:.2f} s")
    print(f"| {'view':<32} | {'cold s':>7} | {'cold x':>6} | {'warm s':>7} | {'warm x':>6} |")
    print("|---|---:|---:|---:|---:|")
    for name in pages:
        sessions = []
        cold = best_of(lambda: sessions.append(cold_start(name)), REPEAT)
        at = sessions[-1]
        warm = best_of(lambda: checked(at.run()), REPEAT)
        print(
            f"| {name + ' page':<32} | {cold:>7.2f} | {cold / floor:>6.2f} | {warm:>7.2f} | "
            f"{warm / floor:>6.2f} |",
            flush=True,
        )
    for label in interactions:
        name, change = INTERACTIONS[label]
        took = interaction(name, change)
        print(
            f"| {label:<32} | {took:>7.2f} | {took / floor:>6.2f} | {'':>7} | {'':>6} |", flush=True
        )


def full_sync(uri: str) -> None:
    """A full sync as the command line runs it, on the benchmark's databases at `uri`."""
    from segcore.prepare import prepare

    os.environ.update(
        {
            "MONGO_URI": uri,
            "MONGO_DB": "bench_seg",
            "TRAINING_DB": "bench_tm",
            "MONGO_TIMEOUT_MS": "120000",
        }
    )
    databases = open_databases(load_settings())
    prepare(databases)
    run_sync(databases, full=True, mode="bench")


def browser_mode(args, count: int, uploads: int) -> None:
    import pages_in_browser

    template = None
    if args.data:
        template = Path(args.data) / f"{count}-{uploads}"
        template.mkdir(parents=True, exist_ok=True)
    print(f"# {count:,} batches, {uploads:,} uploads; Chromium at 1280 px", flush=True)
    pages_in_browser.run(
        lambda client: build(client, "bench", count, uploads),
        full_sync,
        template,
        [p for p in args.pages if p in pages_in_browser.FIGURES],
        first_start=not args.no_first_start,
    )


def main() -> None:
    global REPEAT
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=list(SIZES))
    parser.add_argument("--browser", action="store_true", help="Chromium, app restarted")
    parser.add_argument("--data", help="--browser: build the data once in this folder, reuse it")
    parser.add_argument("--no-first-start", action="store_true", help="--browser: cold pages only")
    parser.add_argument("--batches", type=int, help="overrides --size")
    parser.add_argument("--uploads", type=int, help="overrides --size")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--pages", nargs="+", default=list(PAGES))
    parser.add_argument("--interactions", nargs="*", default=list(INTERACTIONS))
    args = parser.parse_args()
    REPEAT = args.repeat
    count, uploads = SIZES[args.size or ("browser" if args.browser else "quick")]
    count, uploads = args.batches or count, args.uploads or uploads
    if args.browser:
        return browser_mode(args, count, uploads)
    with throwaway_server() as (uri, client):
        name = "bench"
        os.environ.update(
            {
                "MONGO_URI": uri,
                "MONGO_TIMEOUT_MS": "60000",
                "MONGO_DB": f"{name}_seg",
                "TRAINING_DB": f"{name}_tm",
                "LOGIN": "off",
                # the clicks below name English options (AppTest matches labels)
                "LANGUAGE": "en",
            }
        )
        started = time.perf_counter()
        build(client, name, count, uploads)
        print(
            f"# {count:,} batches, {uploads:,} uploads built in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        st.cache_data.clear()
        st.cache_resource.clear()
        started = time.perf_counter()
        checked(page("batches").run())  # first run: client, quick preparation
        print(f"# first page {time.perf_counter() - started:.1f} s", flush=True)
        from ui.app.connection import indexing

        indexing().wait()  # the batch list's indexes, built in the background by the app
        print(f"# batch list indexed {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        run_sync(open_databases(load_settings()), full=True, mode="bench")
        print(f"# full sync {time.perf_counter() - started:.0f} s", flush=True)
        db = client[f"{name}_seg"]
        floor = best_of(lambda: list(db.batches.find({})), REPEAT)
        measure(floor, args.pages, args.interactions)


if __name__ == "__main__":
    main()
