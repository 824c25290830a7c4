"""Backup and restore at scale: time, file size and peak Python memory, against a bare read.

    PYTHONPATH=. .venv/bin/python bench/bench_backup.py --batches 5000 50000

Peak memory is measured with tracemalloc around each step: it stays flat as the database grows
when the backup and the restore stream (a version that loaded a collection at once would grow
with it). The floor is reading every document once with the same batch size; the restore
(checking the file, writing staging collections with their indexes, swapping them in) is also
compared with a bare `insert_many` of the same documents.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import throwaway_server  # noqa: E402
from segcore.backups import backup
from segcore.backups.backup_restore import restore_backup  # noqa: E402


def fill(db, count: int) -> None:
    """`count` batches like production's, and two history entries per batch."""
    rng = random.Random(1)
    start = datetime(2024, 1, 1)
    batches, history = [], []
    for n in range(1, count + 1):
        batches.append(
            {
                "id": f"batch_{n}",
                "number": n,
                "folder": f"/data/batches/batch_{n}",
                "assignee": rng.choice([None, "Flor", "Ceci", "Mauricio"]),
                "status": "pending",
                "mongo_uploaded": rng.random() < 0.4,
                "image_count": rng.randint(50, 400),
                "created_at": start,
                "priority": rng.choice(["low", "normal", "high"]),
            }
        )
        for field in ("assignee", "due_date"):
            history.append(
                {
                    "kind": "batch",
                    "key": f"batch_{n}",
                    "field": field,
                    "old": None,
                    "new": "Flor",
                    "author": "coord",
                    "at": start + timedelta(minutes=n),
                }
            )
        if len(batches) >= 5000:
            db.batches.insert_many(batches)
            db.history.insert_many(history)
            batches, history = [], []
    if batches:
        db.batches.insert_many(batches)
        db.history.insert_many(history)


def measured(function):
    tracemalloc.start()
    began = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, elapsed, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, nargs="+", default=[2000, 10000])
    args = parser.parse_args()
    print(
        f"{'batches':>8} {'documents':>9} {'read s':>7} {'backup ×read':>12} "
        f"{'insert s':>8} {'restore ×insert':>15} {'file MB':>7} {'backup peak MB':>14} "
        f"{'restore peak MB':>15}"
    )
    for count in args.batches:
        with throwaway_server() as (_uri, client), tempfile.TemporaryDirectory() as tmp:
            db = client["bench_backup"]
            fill(db, count)
            _, read_s, _ = measured(
                lambda: [
                    sum(1 for _ in db[c].find({}, batch_size=1000)) for c in ("batches", "history")
                ]
            )
            summary, backup_s, backup_peak = measured(lambda: backup.backup_to_file(db, Path(tmp)))
            bare = client["bench_bare"]
            _, insert_s, _ = measured(
                lambda: [
                    bare[c].insert_many(list(db[c].find({}, batch_size=1000)), ordered=True)
                    for c in ("batches", "history")
                ]
            )
            target = client["bench_restore"]
            _, restore_s, restore_peak = measured(
                lambda: restore_backup(target, Path(summary.path), "bench")
            )
            size = Path(summary.path).stat().st_size / 2**20
            print(
                f"{count:>8} {summary.documents:>9} {read_s:>7.1f} {backup_s / read_s:>12.1f} "
                f"{insert_s:>8.1f} {restore_s / insert_s:>15.1f} {size:>7.1f} "
                f"{backup_peak:>14.1f} {restore_peak:>15.1f}"
            )


if __name__ == "__main__":
    main()
