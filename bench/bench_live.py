"""The live sync (`segcore sync --watch`): idle cost, upload-to-batch latency, a burst in bulk.

    python bench/bench_live.py             # 10,000 batches, 100,000 uploads, 60 s idle
    python bench/bench_live.py --small     # 2,000 batches, 10,000 uploads, 10 s idle

Runs the watcher as its own process, as systemd would, against a throw-away embedded server:
- idle: CPU time of the watcher (and of the server, without and with the watcher) while
  nothing happens, scaled to an hour;
- latency: 50 single uploads through GridFS, each timed until its batch shows it (p50/p95);
- burst: 1,000 uploads inserted at once, timed until 50 of their batches (polled) show them and
  until the watcher has saved everything (its live record counts them), with the groups and bulk
  writes it took, then a coordinator's reassignment of one batch followed by the watcher against
  the comparison of every batch it needed before, next to a routine `sync` (cron) applying another 1,000 the same way.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from bench_sync import fresh_batches, insert, upload_docs
from gridfs import GridFS
from pymongo import MongoClient

from segcore.prepare import prepare
from segcore.settings.config import Settings
from segcore.store import embedded
from segcore.store.connection import open_databases
from segcore.store.data_version import read_versions
from segcore.sync.live.live_sync import LiveSync
from segcore.sync.sync import run_sync
from segcore.team import team
from segcore.work import assignments

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def server_pid(storage: Path) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            named = any(word.encode() in command for word in embedded.SERVER_WORDS)
            if named and str(storage).encode() in command:
                return int(entry.name)
    raise SystemExit("the embedded server's process was not found")


def idle_per_hour(pid: int, seconds: float) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) * 3600 / seconds


def start_watcher(uri: str, settings: Settings, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "MONGO_URI": uri,
        "MONGO_DB": settings.mongo_db,
        "TRAINING_DB": settings.training_db,
        "PYTHONPATH": str(ROOT),
    }
    with open(log, "w") as err:
        process = subprocess.Popen(
            [
                sys.executable,
                *os.environ.get("SEGCORE_BENCH_PYTHON_ARGS", "").split(),
                "-m",
                "segcore",
                "sync",
                "--watch",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + 600
    while "waiting for uploads" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the watcher did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return process


def single_latencies(
    databases, batches: int, count: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """(latencies from the moment each upload landed, how long each GridFS put took).

    GridFS writes the file document last, so an upload has landed when `put` returns; `put`
    itself is slow on the embedded server with many files (its index check scans them)."""
    files = GridFS(databases.training, collection="masks")
    latencies, puts = [], []
    for n in range(count):
        number = rng.randint(1, batches)
        doc = databases.work.batches.find_one({"id": f"batch_{number}"})
        before = (doc.get("training_metrics_info") or {}).get("file_count", 0)
        began = time.perf_counter()
        files.put(
            b"m" * 1000,
            filename=f"masks_batch_{number}_live{n}.zip",
            metadata={"uploaded_by": "flor", "batch_id": f"batch_{number}"},
        )
        start = time.perf_counter()
        puts.append(start - began)
        while True:
            doc = databases.work.batches.find_one(
                {"id": f"batch_{number}"}, {"training_metrics_info.file_count": 1}
            )
            if (doc.get("training_metrics_info") or {}).get("file_count", 0) > before:
                break
            if time.perf_counter() - start > 60:
                raise SystemExit(f"upload {n} was not applied within 60 s")
            time.sleep(0.02)
        latencies.append(time.perf_counter() - start)
        time.sleep(rng.uniform(0.2, 0.6))  # uploads arrive one by one, not as a burst
    return latencies, puts


def burst_docs(batches: int, rng: random.Random, tag: str) -> tuple[list[dict], Counter]:
    """1,000 upload documents, and how many each batch gets."""
    docs, per_batch = upload_docs(1000, batches, rng, datetime(2026, 1, 1)), Counter()
    for n, doc in enumerate(docs):
        number = rng.randint(1, batches)
        doc["filename"] = f"batch_{number}_{tag}{n}.zip"
        if doc["metadata"] and "batch_id" in doc["metadata"]:
            doc["metadata"]["batch_id"] = f"batch_{number}"  # else it would name another batch
        per_batch[f"batch_{number}"] += 1
    return docs, per_batch


def file_counts(databases, batch_ids: list[str]) -> dict[str, int]:
    return {
        d["id"]: (d.get("training_metrics_info") or {}).get("file_count", 0)
        for d in databases.work.batches.find(
            {"id": {"$in": batch_ids}}, {"id": 1, "training_metrics_info.file_count": 1}
        )
    }


def edit_costs(databases, batches: int) -> tuple[float, float]:
    """(a coordinator's reassignment followed by a watcher, the same compared as before: every
    batch compared and the read models rebuilt), in one process so both are timed alike."""
    live = LiveSync(databases, log=lambda message: None)
    live.lease.acquire()
    try:
        live._catch_up()
        team.add_member(databases.work, "Bench Person")
        assignments.assign(databases.work, [f"batch_{batches // 2}"], "Bench Person", "bench")
        start = time.perf_counter()
        live._idle(live.token)
        followed = time.perf_counter() - start
        assignments.assign(databases.work, [f"batch_{batches // 3}"], "Bench Person", "bench")
        live.stamp = {**live.stamp, "generation": -1}  # as before: edits could not be followed
        start = time.perf_counter()
        live._idle(live.token)
        return followed, time.perf_counter() - start
    finally:
        live.lease.release_quietly()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="2,000 batches, 10,000 uploads")
    parser.add_argument("--idle", type=float, help="seconds of idle measurement")
    parser.add_argument("--singles", type=int, default=50)
    args = parser.parse_args()
    batches, uploads = (2_000, 10_000) if args.small else (10_000, 100_000)
    idle_s = args.idle or (10 if args.small else 60)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="seglive-") as tmp:
        storage = Path(tmp) / "db"
        uri = embedded.ensure_server(storage)
        client = MongoClient(uri, serverSelectionTimeoutMS=10_000)
        watcher = None
        try:
            settings = Settings(mongo_uri=uri, mongo_db="bench_app", training_db="bench_training")
            databases = open_databases(settings, client=client)
            print(f"Building {batches:,} batches and {uploads:,} uploads...", flush=True)
            insert(databases.masks_files, upload_docs(uploads, batches, rng, datetime(2025, 1, 1)))
            fresh_batches(databases.work, batches)
            prepare(databases)
            run_sync(databases, full=True)
            server = server_pid(storage)
            server_alone = idle_per_hour(server, idle_s)
            watcher = start_watcher(uri, settings, Path(tmp) / "live.log")
            time.sleep(2)
            server_before = cpu_seconds(server)
            watcher_idle = idle_per_hour(watcher.pid, idle_s)
            server_with = (cpu_seconds(server) - server_before) * 3600 / idle_s

            latencies, puts = single_latencies(databases, batches, args.singles, rng)

            runs = databases.work.sync_runs
            live = lambda: list(runs.find({"mode": "live", "groups": {"$exists": True}}))  # noqa
            totals = lambda: {
                k: sum(r.get(k, 0) for r in live())  # noqa: E731
                for k in ("groups", "bulk_writes", "batches_updated")
            }
            before = totals()
            logged = len((Path(tmp) / "live.log").read_text())
            docs, per_batch = burst_docs(batches, rng, "burst")
            sample = rng.sample(sorted(per_batch), 50)  # polled: reading all would load the server
            wanted = {b: n + per_batch[b] for b, n in file_counts(databases, sample).items()}
            version = lambda: read_versions(databases.work)["batches"]  # noqa: E731
            before_version = version()
            start = time.perf_counter()
            databases.masks_files.insert_many(docs, ordered=False)
            # Polled gently (the server is one process): the data version the pages poll (one
            # document) moves after each batch write; then the sampled batches are looked at.
            while version() == before_version or any(
                file_counts(databases, sample)[b] < n for b, n in wanted.items()
            ):
                time.sleep(0.05)
            on_batches_s = time.perf_counter() - start
            # The live record is counted once the group's index and state are saved.
            while sum(r.get("new_files", 0) for r in live()) < args.singles + 1000:
                time.sleep(0.1)
            burst_s = time.perf_counter() - start
            after = totals()
            applied = [
                line.split(" ", 2)[2]
                for line in (Path(tmp) / "live.log").read_text()[logged:].splitlines()
                if " applied " in line
            ]
            watcher.send_signal(signal.SIGTERM)
            watcher.wait(60)
            edit_s, compare_s = edit_costs(databases, batches)
            databases.masks_files.insert_many(burst_docs(batches, rng, "cron")[0], ordered=False)
            start = time.perf_counter()
            cron = run_sync(databases)
            cron_s = time.perf_counter() - start
        finally:
            if watcher is not None and watcher.poll() is None:
                watcher.kill()
            client.close()
            embedded.stop_server(storage)

    print(f"\n{batches:,} batches, {uploads:,} uploads (embedded server)")
    print(
        f"idle CPU per hour: watcher {watcher_idle:.1f} s; server {server_alone:.1f} s alone, "
        f"{server_with:.1f} s with the watcher (measured over {idle_s:g} s)"
    )
    print(
        f"single uploads ({len(latencies)}): p50 {percentile(latencies, 0.5):.2f} s, "
        f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies):.2f} s "
        f"from the moment each landed (target: p95 under 5 s); the GridFS put itself took "
        f"p50 {percentile(puts, 0.5):.2f} s"
    )
    groups = after["groups"] - before["groups"]
    writes = after["bulk_writes"] - before["bulk_writes"]
    print(
        f"burst of 1,000 uploads: on their batches {on_batches_s:.2f} s after the insert "
        f"(50 of its batches polled; target: under 5 s); wholly applied {burst_s:.2f} s after "
        f"(index, read models and state saved), in {groups} groups "
        f"and {writes} bulk writes ({after['batches_updated'] - before['batches_updated']} "
        f"batch updates); the watcher's own log: {'; '.join(applied)}"
    )
    print(
        f"a reassignment of one batch, followed by the watcher: {edit_s:.2f} s; compared as "
        f"before (every batch, read models rebuilt): {compare_s:.2f} s; "
        f"ratio {edit_s / compare_s:.3f}"
    )
    print(
        f"the same burst through a routine sync (cron): {cron_s:.2f} s "
        f"({cron.batches_updated} batches updated); live / routine = {burst_s / cron_s:.2f}"
    )


if __name__ == "__main__":
    main()
