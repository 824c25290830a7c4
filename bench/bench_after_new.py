"""The routine sync after 1% new uploads and 50 removed, one code tree against another.

    python bench/bench_after_new.py                        # 10,000 batches, 100,000 uploads
    python bench/bench_after_new.py --large                # 50,000 / 500,000
    python bench/bench_after_new.py --against ../old-tree --runs 5

Builds the data of `bench_sync.py` once, runs the first full sync and a routine run, and keeps
a copy of that database. Each run then starts the embedded server on a fresh copy, adds the
same 1% new uploads, removes 50 and times `run_sync` in a process of its own, with the code of
this checkout or of `--against` (another checkout of the project, e.g. a `git worktree` of an
earlier commit), the two alternating so that both meet the same moments of a shared machine.
The modules a run with new uploads loads are imported before the clock starts, as in
`bench_sync.py`'s process.
Prints each run, the best and the median of each tree and their ratio, and the CPU seconds
of each run (the run's process plus the embedded server's, from /proc): on a machine busy with
other work the wall time measures the load, the CPU the run's own work. Issue 27's target 4
itself (against the original algorithm) is `bench_sync.py`'s.
"""

from __future__ import annotations

import argparse
import pickle
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from bench_sync import REMOVED, fresh_batches, insert, upload_docs
from pymongo import MongoClient

from segcore.prepare import prepare
from segcore.settings.config import Settings
from segcore.store import embedded
from segcore.store.connection import open_databases
from segcore.sync.sync import run_sync

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"mongo_db": "bench_app", "training_db": "bench_training"}

# One run, in a process of its own with the code of the tree given first on its path.
RUN = """
import pickle, sys, time
sys.path.insert(0, sys.argv[1])
from pymongo import MongoClient
from segcore.settings.config import Settings
from segcore.store import embedded
from segcore.store.connection import open_databases
from segcore.sync.sync import run_sync
import segcore.sync.intake  # what a run with new uploads loads (archive readers): not timed
uri = embedded.ensure_server(__import__("pathlib").Path(sys.argv[2]))
client = MongoClient(uri)
try:
    settings = Settings(mongo_uri=uri, mongo_db="bench_app", training_db="bench_training")
    databases = open_databases(settings, client=client)
    with open(sys.argv[3], "rb") as handle:
        new = pickle.load(handle)
    for start in range(0, len(new), 10_000):
        databases.masks_files.insert_many(new[start : start + 10_000], ordered=False)
    removed = [d["_id"] for d in databases.masks_files.find({}, {"_id": 1}).limit(int(sys.argv[4]))]
    databases.masks_files.delete_many({"_id": {"$in": removed}})
    try:  # a copy on a server started for this run: as a routine run meets it, the server
        # the last sync saw still runs (after a restart a run reads everything once, README)
        from segcore.store import server_process
        from segcore.sync.records.sync_state import SyncState
    except ImportError:  # a tree from before restarts were noticed
        pass
    else:
        SyncState(databases.work).save({SyncState.PROCESS: server_process.asked(client)})
    import json, os
    server = json.loads(open(sys.argv[2] + ".server.json").read())["pid"]
    def server_cpu():  # the embedded server's own CPU seconds (user + system), from /proc
        fields = open(f"/proc/{server}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    server_before, cpu_before = server_cpu(), time.process_time()
    start = time.perf_counter()
    report = run_sync(databases)
    seconds = time.perf_counter() - start
    cpu, server_cpu = time.process_time() - cpu_before, server_cpu() - server_before
    print(seconds, cpu, server_cpu, report.batches_updated, report.status_moves, report.new_files)
finally:
    client.close()
    embedded.stop_server(__import__("pathlib").Path(sys.argv[2]))
"""


def build(folder: Path, batches: int, uploads: int) -> Path:
    """The synced database (stopped) and the new uploads to add, under `folder`."""
    path = folder / "synced" / "db"
    path.parent.mkdir(parents=True)
    uri = embedded.ensure_server(path)
    client = MongoClient(uri)
    try:
        databases = open_databases(Settings(mongo_uri=uri, **SETTINGS), client=client)
        rng, start = random.Random(42), datetime(2025, 1, 1)
        insert(databases.masks_files, upload_docs(uploads, batches, rng, start))
        fresh_batches(databases.work, batches)
        prepare(databases)
        run_sync(databases, full=True)
        run_sync(databases)
        later = start + timedelta(seconds=30 * uploads)
        with open(folder / "new.pkl", "wb") as handle:
            pickle.dump(upload_docs(uploads // 100, batches, rng, later), handle)
    finally:
        client.close()
        embedded.stop_server(path)
    return path


def one_run(tree: Path, synced: Path, folder: Path) -> tuple[float, str]:
    copy = folder / "run"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(synced.parent, copy, ignore=shutil.ignore_patterns("*.lock", "*.server.json"))
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN,
            str(tree),
            str(copy / synced.name),
            str(folder / "new.pkl"),
            str(REMOVED),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    )
    seconds, cpu, server, updated, moves, new = out.stdout.split()
    what = f"{new} new, {updated} batches updated, {moves} moved"
    return float(seconds), float(cpu) + float(server), f"cpu {cpu} + {server} s; {what}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--large", action="store_true", help="50,000 batches, 500,000 uploads")
    parser.add_argument("--against", type=Path, help="another checkout of the project")
    parser.add_argument("--runs", type=int, default=3, help="runs of each tree")
    args = parser.parse_args()
    batches, uploads = (50_000, 500_000) if args.large else (10_000, 100_000)
    trees = {"this checkout": ROOT}
    if args.against:
        trees["--against"] = args.against.resolve()
    with tempfile.TemporaryDirectory(prefix="segbench-") as tmp:
        folder = Path(tmp)
        print(f"Building and syncing {batches:,} batches and {uploads:,} uploads...", flush=True)
        synced = build(folder, batches, uploads)
        times: dict[str, list[float]] = {name: [] for name in trees}
        cpus: dict[str, list[float]] = {name: [] for name in trees}
        for n in range(args.runs):
            for name, tree in reversed(trees.items()) if n % 2 else trees.items():
                seconds, cpu, what = one_run(tree, synced, folder)
                times[name].append(seconds)
                cpus[name].append(cpu)
                print(f"run {n + 1}, {name:<14} {seconds:7.3f} s   ({what})", flush=True)
    print(f"\nafter 1% new uploads and {REMOVED} removed, {batches:,} / {uploads:,}:")
    for name, found in times.items():
        print(
            f"  {name:<14} best {min(found):.3f} s, median {statistics.median(found):.3f} s;"
            f" CPU (process + server) median {statistics.median(cpus[name]):.2f} s"
        )
    if args.against:
        mine, other = times["this checkout"], times["--against"]
        print(
            f"  --against / this checkout: best {min(other) / min(mine):.2f}, "
            f"median {statistics.median(other) / statistics.median(mine):.2f}, CPU median "
            f"{statistics.median(cpus['--against']) / statistics.median(cpus['this checkout']):.2f}"
        )


if __name__ == "__main__":
    main()
