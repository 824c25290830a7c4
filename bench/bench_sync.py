"""The mask sync against the old dashboard's algorithm and a bare read, on the same data.

    python bench/bench_sync.py            # 10,000 batches, 100,000 uploads
    python bench/bench_sync.py --large    # 50,000 batches, 500,000 uploads
    python bench/bench_sync.py --large --memory-only   # only a full sync's peak memory

Prints each time and its ratio to the baseline (the original algorithm) and the floor (a bare
read of the same upload and batch documents), the targets of issue 27 as ratios measured in
the same run, and the peak memory of a full sync run as a separate process, as cron runs it:

- the first full sync against its physical floor: the bare read plus a bare bulk write of as
  many batch documents (a copy of the batches, with their indexes) and history entries as the
  sync wrote;
- a routine `segcore sync` process that finds nothing new against the baseline, and against
  `segcore --help` plus one round trip to the server; beside it the same ratio for a process
  that only imports the MongoDB driver (`python -c "import pymongo"`) plus one round trip: no
  process that talks to the database through the driver can start faster;
- the routine run after 1% new uploads and 50 removed against the baseline.

The command-line processes run with their bytecode cached (in a temporary folder), as an
installed cron job does, whatever PYTHONDONTWRITEBYTECODE says here.
"""

from __future__ import annotations

import argparse
import atexit
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from common import best_of, throwaway_server
from pymongo import UpdateOne

from segcore.prepare import prepare
from segcore.settings.config import Settings
from segcore.store.connection import open_databases
from segcore.sync.sync import run_sync
from segcore.uploads.uploads import PROJECTION

REMOVED = 50  # uploads deleted with the 1% new ones

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = ["flor", "ceci", "maggie", "mauricio", "ignacio"] + [f"person{i}" for i in range(95)]


def messy_name(number: int, rng: random.Random) -> str:
    return rng.choice(
        [
            f"masks_batch_{number}.tar.xz",
            f"Batch-{number}.zip",
            f"batch_{number:04d}_part{rng.randint(1, 4)}.zip",
            f"BATCH{number}.tgz",
            f"batch {number} masks.zip",
            f"batch_{number}_to_batch_{number + 1}.zip",
            "final_masks.zip",
            f"export_{rng.randint(1, 10**6)}.zip",
        ]
    )


def upload_docs(count: int, batches: int, rng: random.Random, start: datetime) -> list[dict]:
    docs = []
    for i in range(count):
        number = rng.randint(1, int(batches * 1.02))  # ~2% name a batch not in the list
        metadata = {"uploaded_by": rng.choice(PEOPLE)}
        if rng.random() < 0.4:
            metadata["batch_id"] = f"batch_{number}"
        if rng.random() < 0.03:
            metadata = None
        docs.append(
            {
                "filename": messy_name(number, rng),
                "length": rng.randint(10**5, 10**8),
                "chunkSize": 261120,
                "uploadDate": start + timedelta(seconds=30 * i),
                "metadata": metadata,
            }
        )
    return docs


def insert(collection, docs: list[dict]) -> None:
    for start in range(0, len(docs), 10_000):
        collection.insert_many(docs[start : start + 10_000], ordered=False)


def fresh_batches(db, count: int) -> None:
    """The batch list as the old dashboard left it: no sync fields yet."""
    db.batches.drop()
    insert(
        db.batches,
        [
            {
                "id": f"batch_{n}",
                "folder": f"/data/batch_{n}",
                "status": "pending",
                "assignee": PEOPLE[n % len(PEOPLE)].title(),
            }
            for n in range(1, count + 1)
        ],
    )
    db.batches.create_index("id", unique=True)


def original_sync(databases) -> None:
    """The Flask dashboard's sync, as in its original analysis (regex, one update per batch)."""
    files = list(databases.masks_files.find({}, {"filename": 1, "uploadDate": 1, "metadata": 1}))
    with_masks: dict[str, dict] = {}
    for file in files:
        filename = file.get("filename", "")
        for match in re.findall(r"[Bb]atch[_\-]?(\d+)", filename):
            info = with_masks.setdefault(f"batch_{match}", {"files": [], "latest_upload": None})
            info["files"].append(filename)
            date = file.get("uploadDate")
            if date and (info["latest_upload"] is None or date > info["latest_upload"]):
                info["latest_upload"] = date
    batches = databases.work.batches
    for batch_id, info in with_masks.items():
        batches.update_one(
            {"id": batch_id},
            {
                "$set": {
                    "mongo_uploaded": True,
                    "training_metrics_info": {
                        "file_count": len(info["files"]),
                        "latest_upload": info["latest_upload"],
                        "files": info["files"][:5],
                    },
                }
            },
        )
    for batch in batches.find({}, {"id": 1}):
        if batch["id"] not in with_masks:
            batches.update_one({"id": batch["id"]}, {"$set": {"mongo_uploaded": False}})


def floor(databases) -> None:
    list(databases.masks_files.find({}, PROJECTION))
    list(
        databases.work.batches.find(
            {}, {"id": 1, "assignee": 1, "mongo_uploaded": 1, "training_metrics_info": 1}
        )
    )


def floor_of_writes(databases, batches: int, history: int) -> float:
    """A bare bulk write of `batches` batch documents and `history` history entries: each
    batch's sync fields set anew on a copy of the batch list (same documents, same indexes),
    entries inserted into a copy of the history's indexes. Only the writes are timed."""
    work = databases.work
    copy = _scratch_like(work, "batches")
    entries = _scratch_like(work, "history")
    docs = list(work.batches.find({}).limit(batches))
    insert(copy, docs)
    stamp = datetime(2030, 1, 1)
    operations = [
        UpdateOne(
            {"_id": d["_id"]},
            {
                "$set": {
                    "mongo_uploaded": True,
                    "training_metrics_info": {
                        **(d.get("training_metrics_info") or {}),
                        "latest_upload": stamp,
                    },
                }
            },
        )
        for d in docs
    ]
    rows = [
        {
            "kind": "batch",
            "key": d["id"],
            "field": "status",
            "old": "pending",
            "new": "review",
            "author": "sync",
            "at": stamp,
        }
        for d in docs[:history]
    ]
    start = time.perf_counter()
    for first in range(0, len(operations), 1000):
        copy.bulk_write(operations[first : first + 1000], ordered=False)
    if rows:
        insert(entries, rows)
    seconds = time.perf_counter() - start
    copy.drop()
    entries.drop()
    return seconds


def _scratch_like(work, name: str):
    """An empty scratch collection with the indexes of `name` (their upkeep is part of a
    write's cost on the server)."""
    scratch = work[f"bench_floor_{name}"]
    scratch.drop()
    for index in work[name].list_indexes():
        if index["name"] != "_id_":
            keys = list(index["key"].items())
            scratch.create_index(
                keys,
                name=index["name"],
                unique=index.get("unique", False),
                sparse=index.get("sparse", False),
            )
    return scratch


def floor_of_records(databases, counts: dict[str, int]) -> float:
    """A bare insert of as many documents of each collection in `counts` as a run wrote
    there (copies of stored ones: a receipt, an upload's listing), into an empty copy with
    the same indexes. Only the inserts are timed."""
    seconds = 0.0
    for name, count in counts.items():
        docs = list(databases.work[name].find({}).limit(count)) if count else []
        scratch = _scratch_like(databases.work, name)
        start = time.perf_counter()
        if docs:
            insert(scratch, docs)
        seconds += time.perf_counter() - start
        scratch.drop()
    return seconds


def round_trip(client) -> float:
    return best_of(lambda: client.admin.command("ping"), repeat=20)


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


# Started from a fresh, small interpreter: a child forked from this benchmark would count this
# process's own memory (the data it built) in its peak, since Linux keeps the high-water mark
# across the fork and exec.
LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)"
)


def peak_memory_of_cli_sync(uri: str, settings: Settings) -> float:
    """Peak resident memory (MB) of `python -m segcore sync --full` as its own process."""
    env = cli_env(uri, settings)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            LAUNCHER,
            sys.executable,
            "-m",
            "segcore",
            "sync",
            "--full",
            "--json",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    code, kilobytes = out.stdout.split()
    if int(code):
        raise SystemExit(f"the command-line sync failed with exit code {code}")
    return int(kilobytes) / 1024


PYCACHE = tempfile.mkdtemp(prefix="segbench-pyc-")
atexit.register(shutil.rmtree, PYCACHE, True)


def cli_env(uri: str, settings: Settings) -> dict:
    env = {
        **os.environ,
        "MONGO_URI": uri,
        "MONGO_DB": settings.mongo_db,
        "TRAINING_DB": settings.training_db,
        "PYTHONPATH": str(ROOT),
        "PYTHONPYCACHEPREFIX": PYCACHE,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def cli_run(env: dict, *args: str) -> None:
    """Run `python -m segcore ARGS` as its own process, as cron would."""
    subprocess.run(
        [sys.executable, "-m", "segcore", *args], env=env, cwd=ROOT, capture_output=True, check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", action="store_true", help="50,000 batches, 500,000 uploads")
    parser.add_argument(
        "--memory-only", action="store_true", help="only the peak memory of a full sync (target 5)"
    )
    args = parser.parse_args()
    batches, uploads = (50_000, 500_000) if args.large else (10_000, 100_000)
    rng = random.Random(42)
    with throwaway_server() as (uri, client):
        settings = Settings(mongo_uri=uri, mongo_db="bench_app", training_db="bench_training")
        databases = open_databases(settings, client=client)
        print(f"Building {batches:,} batches and {uploads:,} uploads...", flush=True)
        start = datetime(2025, 1, 1)
        insert(databases.masks_files, upload_docs(uploads, batches, rng, start))
        fresh_batches(databases.work, batches)
        if args.memory_only:
            prepare(databases)
            first = peak_memory_of_cli_sync(uri, settings)
            again = peak_memory_of_cli_sync(uri, settings)
            print(
                f"peak memory of `segcore sync --full` as its own process: {first:.0f} MB on "
                f"first contact, {again:.0f} MB on a synced database"
            )
            return

        results = {}
        results["1 baseline: original algorithm"] = timed(lambda: original_sync(databases))
        fresh_batches(databases.work, batches)
        prepare(databases)
        first = None

        def first_full():
            nonlocal first
            first = run_sync(databases, full=True)

        results["2 first full sync"] = timed(first_full)
        results["3 re-sync, nothing new (full)"] = best_of(
            lambda: run_sync(databases, full=True), repeat=1 if args.large else 3
        )
        results["3 re-sync, nothing new (incr.)"] = best_of(lambda: run_sync(databases))
        env = cli_env(uri, settings)
        cli_run(env, "sync", "--json")  # caches the bytecode and prepares once, as cron's first
        cli_run(env, "--help")
        results["3 same, `segcore sync` process"] = best_of(lambda: cli_run(env, "sync", "--json"))
        results["   `segcore --help` process"] = best_of(lambda: cli_run(env, "--help"))
        results["   bare `python -c pass` process"] = best_of(
            lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)
        )
        results["   bare `import pymongo` process"] = best_of(
            lambda: subprocess.run([sys.executable, "-c", "import pymongo"], check=True)
        )
        results["   one round trip (ping)"] = round_trip(client)
        later = start + timedelta(seconds=30 * uploads)
        insert(databases.masks_files, upload_docs(uploads // 100, batches, rng, later))
        removed = [d["_id"] for d in databases.masks_files.find({}, {"_id": 1}).limit(REMOVED)]
        databases.masks_files.delete_many({"_id": {"$in": removed}})
        report = None

        def incremental():
            nonlocal report
            report = run_sync(databases)

        results[f"4 after 1% new + {REMOVED} removed"] = timed(incremental)
        results["4 floor: bare bulk write"] = floor_of_writes(
            databases, report.batches_updated, report.status_moves
        )
        # and the new uploads' receipts and listings, one each, which the run must store too
        results["4 floor: + receipts, listings"] = results[
            "4 floor: bare bulk write"
        ] + floor_of_records(
            databases, {"receipts": report.new_files, "mask_checks": report.new_files}
        )
        results["5 floor: bare read"] = best_of(lambda: floor(databases))
        written = floor_of_writes(databases, first.batches_updated, first.status_moves)
        results["5 floor: bare bulk write"] = written
        memory = peak_memory_of_cli_sync(uri, settings)

    base = results["1 baseline: original algorithm"]
    bare = results["5 floor: bare read"]
    print(f"\n{batches:,} batches, {uploads:,} uploads (embedded server)")
    print(f"{'step':<34} {'time':>8} {'baseline/x':>11} {'x/floor':>8}")
    for label, seconds in results.items():
        print(f"{label:<34} {seconds:>7.3f}s {base / seconds:>10.1f}x {seconds / bare:>8.2f}")
    print(
        f"step 2 wrote {first.batches_updated} batches and {first.status_moves} status moves;"
        f" step 4 read {report.new_files} new and dropped {report.removed_files} removed uploads,"
        f" updated {report.batches_updated} batches, moved {report.status_moves}"
    )
    process = results["3 same, `segcore sync` process"]
    startup = results["   `segcore --help` process"] + results["   one round trip (ping)"]
    targets = [
        (
            "2 first full sync / (bare read + bare write)",
            results["2 first full sync"] / (bare + written),
            "<= 1.5",
        ),
        ("3 baseline / `segcore sync` process", base / process, ">= 80"),
        ("3 `segcore sync` / (`--help` + round trip)", process / startup, "<= 2"),
        (
            "3 least possible: `import pymongo` + round trip",
            (results["   bare `import pymongo` process"] + results["   one round trip (ping)"])
            / startup,
            "(same ratio)",
        ),
        (
            "4 baseline / after 1% new",
            base / results[f"4 after 1% new + {REMOVED} removed"],
            ">= 12 (10k), >= 50 (50k)",
        ),
        (
            "4 most possible: baseline / its bare bulk write",
            base / results["4 floor: bare bulk write"],
            "(same ratio)",
        ),
        (
            "4 the same with its receipts and listings",
            base / results["4 floor: + receipts, listings"],
            "(same ratio)",
        ),
        ("5 peak memory of a full sync, MB", memory, "<= 300 (500k)"),
    ]
    print("\nissue 27 targets, measured in this run:")
    for label, value, target in targets:
        print(f"  {label:<46} {value:>8.2f}   target {target}")


if __name__ == "__main__":
    main()
