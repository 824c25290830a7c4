"""Receipt latency with the live sync: from an upload landing to its receipt existing.

    python bench/bench_receipts.py            # 10,000 batches, 100,000 uploads, 30 uploads
    python bench/bench_receipts.py --small    # 2,000 batches, 10,000 uploads

Builds the batches and upload documents of bench_sync on a throw-away embedded server, gives
the batches that will receive new uploads a folder of 20 PNG images (Pillow), syncs once, then
runs `segcore sync --watch` as its own process. Each new upload is a real zip of masks made by
Info-ZIP (one in four misses a mask), stored through GridFS; its latency is timed from the
moment `put` returned (the file document lands last) until its receipt exists. Baseline, in the
same run: checking the same upload with `verify(upload_ids=[...])`, the way a receipt-like
check was had before (it reads every upload document first). Target: every receipt within 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench_live import percentile, start_watcher
from bench_sync import fresh_batches, insert, upload_docs
from gridfs import GridFS
from PIL import Image
from pymongo import MongoClient

from segcore.masks.mask_check import verify
from segcore.prepare import prepare
from segcore.settings.config import Settings
from segcore.store import embedded
from segcore.store.connection import open_databases
from segcore.sync.sync import run_sync

IMAGES = 20


def image_folder(folder: Path) -> None:
    folder.mkdir(parents=True)
    for n in range(1, IMAGES + 1):
        Image.new("L", (64, 64), n).save(folder / f"img_{n:03d}.png")


def mask_zip(tmp: Path, tag: str, missing: bool) -> bytes:
    """A zip of PNG masks made by Info-ZIP; with `missing`, the last image has none."""
    source = tmp / f"src_{tag}"
    source.mkdir()
    names = [f"img_{n:03d}_mask.png" for n in range(1, IMAGES + (0 if missing else 1))]
    for name in names:
        Image.new("L", (64, 64), 1).save(source / name)
    out = tmp / f"{tag}.zip"
    subprocess.run(["zip", "-q", str(out), *names], cwd=source, check=True)
    return out.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="2,000 batches, 10,000 uploads")
    parser.add_argument("--uploads", type=int, default=30)
    parser.add_argument("--keep-log", type=Path, help="copy the live sync's log here")
    parser.add_argument("--profile", type=Path, help="run the live sync under cProfile, to here")
    args = parser.parse_args()
    batches, uploads = (2_000, 10_000) if args.small else (10_000, 100_000)
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="segreceipts-") as tmp_name:
        tmp = Path(tmp_name)
        storage, data = tmp / "db", tmp / "data"
        uri = embedded.ensure_server(storage)
        client = MongoClient(uri, serverSelectionTimeoutMS=10_000)
        watcher = None
        try:
            settings = Settings(
                mongo_uri=uri,
                mongo_db="bench_app",
                training_db="bench_training",
                data_directory=data,
            )
            databases = open_databases(settings, client=client)
            print(f"Building {batches:,} batches and {uploads:,} uploads...", flush=True)
            insert(databases.masks_files, upload_docs(uploads, batches, rng, datetime(2025, 1, 1)))
            fresh_batches(databases.work, batches)
            targets = rng.sample(range(1, batches + 1), args.uploads)
            for number in targets:
                image_folder(data / f"batch_{number}")
            prepare(databases)
            start = time.perf_counter()
            run_sync(databases, full=True)
            first_s = time.perf_counter() - start
            os.environ["DATA_DIRECTORY"] = str(data)
            if args.profile:  # the watcher's own interpreter, under cProfile (`-m` twice)
                os.environ["SEGCORE_BENCH_PYTHON_ARGS"] = f"-m cProfile -o {args.profile}"
            watcher = start_watcher(uri, settings, tmp / "live.log")
            files = GridFS(databases.training, collection="masks")
            latencies, problems = [], 0
            for n, number in enumerate(targets):
                missing = n % 4 == 3
                payload = mask_zip(tmp, f"u{n}", missing)
                file_id = files.put(
                    payload,
                    filename=f"masks_batch_{number}_r{n}.zip",
                    metadata={"uploaded_by": "flor"},
                )
                landed = time.perf_counter()
                while (receipt := databases.work.receipts.find_one({"_id": file_id})) is None:
                    if time.perf_counter() - landed > 60:
                        raise SystemExit(f"upload {n} got no receipt within 60 s")
                    time.sleep(0.02)
                latencies.append(time.perf_counter() - landed)
                print(f"upload {n}: receipt after {latencies[-1]:.2f} s", flush=True)
                problems += bool(receipt.get("missing_count"))  # its own masks, counted
                time.sleep(rng.uniform(0.2, 0.6))  # one by one, not a burst
            watcher.terminate()
            watcher.wait(60)
            if args.keep_log:
                shutil.copyfile(tmp / "live.log", args.keep_log)
            last = file_id
            start = time.perf_counter()
            verify(databases, upload_ids=[last], recheck=True)
            baseline_s = time.perf_counter() - start
        finally:
            if watcher is not None and watcher.poll() is None:
                watcher.kill()
            client.close()
            embedded.stop_server(storage)

    p50, p95, worst = percentile(latencies, 0.5), percentile(latencies, 0.95), max(latencies)
    print(f"\n{batches:,} batches, {uploads:,} uploads (embedded server), live sync running")
    print(f"first full sync (lists the newest uploads without a receipt): {first_s:.1f} s")
    print(
        f"upload landed -> receipt exists ({len(latencies)} real zips, {problems} with the "
        f"mask they were made without named): p50 {p50:.2f} s, p95 {p95:.2f} s, max {worst:.2f} s (target: 5 s)"
    )
    print(
        f"baseline: verify(upload_ids=[one]) in process {baseline_s:.2f} s; "
        f"baseline / p50 = {baseline_s / p50:.1f}x"
    )


if __name__ == "__main__":
    main()
