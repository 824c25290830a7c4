"""Render time of the dashboard and the batches page at scale, as ratios of a bare read.

    /work/venv/bin/python bench/bench_pages.py [--sizes 10000 50000]

(AppTest outside `streamlit run` logs "no runtime" warnings on stderr; add 2>/dev/null to read
only the table.)

Starts its own embedded server in a temporary directory, loads 100 segmentadores, the batches
(and one upload document per two batches, dated over the last 60 days; due dates in the past,
so the dashboard shows its Attention panel with pace, stalls and moves), then renders each page
with Streamlit's AppTest against it. "cold" clears Streamlit's data cache first (the first view
after a write); "warm" is a rerun served from the cache (any click on the page). The floor is
a bare `find()` of every batch document, measured in the same run on the same data.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import datetime, timedelta
from pathlib import Path

from common import best_of, throwaway_server

import streamlit as st
from streamlit.testing.v1 import AppTest

from segcore import batches, team

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 5000


def build(client, name: str, count: int) -> None:
    db, training = client[f"{name}_seg"], client[f"{name}_tm"]
    rng = random.Random(count)
    people = [f"Person {i}" for i in range(100)]
    for person in people:
        team.add_member(db, person, author="bench")
    now = datetime.now()
    docs, files = [], []
    for n in range(1, count + 1):
        uploaded = rng.random() < 0.4
        doc = {"id": f"batch_{n}", "number": n, "folder": f"/data/american_project/batch_{n}",
               "assignee": rng.choice(people) if rng.random() < 0.7 else None,
               "status": rng.choice(batches.STATUSES), "mongo_uploaded": uploaded,
               "metadata": {"priority": rng.choice(batches.PRIORITIES),
                            "due_date": "2025-09-30", "assigned_at": "2025-09-01"}}
        if uploaded:
            when = now - timedelta(days=rng.uniform(0, 60))
            doc["training_metrics_info"] = {"file_count": 1, "latest_upload": when,
                                            "first_upload": when,
                                            "files": [f"masks_batch_{n}.tar.xz"]}
        docs.append(doc)
        if n % 2 == 0:
            files.append({"filename": f"masks_batch_{n}.tar.xz", "length": 15_728_640,
                          "chunkSize": 261_120, "uploadDate": now - timedelta(days=rng.uniform(0, 60)),
                          "metadata": {"uploaded_by": rng.choice(people).lower()}})
    batches.ensure_indexes(db)
    for start in range(0, count, CHUNK):
        db.batches.insert_many(docs[start:start + CHUNK])
    for start in range(0, len(files), CHUNK):
        training["masks.files"].insert_many(files[start:start + CHUNK])


def render(page: str) -> None:
    at = AppTest.from_file(str(ROOT / "ui" / "pages" / f"{page}.py"), default_timeout=600).run()
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].message}")
    # The data's due dates are past, so the Dashboard must show its Attention panel: the
    # case measured is the page with the pace figures computed and drawn.
    if page == "dashboard" and "Attention" not in [h.value for h in at.subheader]:
        raise RuntimeError("dashboard: the Attention panel is missing")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    args = parser.parse_args()
    with throwaway_server() as (uri, client):
        os.environ.update({"MONGO_URI": uri, "MONGO_TIMEOUT_MS": "30000"})
        print(f"{'batches':>8} {'floor':>7}  {'page':<10} {'cold':>7} {'x floor':>8} "
              f"{'warm':>7} {'x floor':>8}")
        for count in args.sizes:
            name = f"b{count}"
            started = time.perf_counter()
            build(client, name, count)
            print(f"# built {count} batches in {time.perf_counter() - started:.0f} s")
            os.environ.update({"MONGO_DB": f"{name}_seg", "TRAINING_DB": f"{name}_tm"})
            st.cache_data.clear()
            st.cache_resource.clear()
            render("batches")  # first run: client, indexes (prepare) — not measured
            db = client[f"{name}_seg"]
            floor = best_of(lambda: list(db.batches.find({})))
            for page in ("dashboard", "batches"):
                def cold():
                    st.cache_data.clear()
                    render(page)
                cold_s = best_of(cold)
                warm_s = best_of(lambda: render(page))
                print(f"{count:>8} {floor:>6.2f}s  {page:<10} {cold_s:>6.2f}s {cold_s / floor:>8.2f}"
                      f" {warm_s:>6.2f}s {warm_s / floor:>8.2f}")


if __name__ == "__main__":
    main()
