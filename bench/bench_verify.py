"""The mask check against a baseline that downloads each upload whole and opens it, same data.

    python bench/bench_verify.py            # zips of ~4 MB (3.6, 4.8, 6), a tar.xz of ~40 MB
    python bench/bench_verify.py --large    # zips of ~16 MB, a tar.xz of ~160 MB

Uploads are stored with GridFS's default chunk size (255 KB) on a throw-away embedded server.
Prints, per kind of upload, the check's time as a ratio of the baseline's and the bytes each
fetched from GridFS as a share of the bytes stored; then the peak memory of a process checking
the tar.xz, next to the baseline's, as their own processes.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import gridfs
from common import best_of, throwaway_server

from segcore.archives.archive_listing import list_upload
from segcore.masks.mask_check import verify
from segcore.prepare import prepare
from segcore.settings.config import Settings
from segcore.store.connection import open_databases

ROOT = Path(__file__).resolve().parent.parent
IMAGES = 240


def build_zip(batch: int, member_size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNGs do not deflate
        for n in range(1, IMAGES + 1):
            archive.writestr(f"batch_{batch}/masks/img_{n:03d}_mask.png", os.urandom(member_size))
    return buffer.getvalue()


def build_tar_xz(batch: int, total: int) -> bytes:
    buffer = io.BytesIO()
    size = total // IMAGES
    # preset 0: random data does not compress anyway and the benchmark should build quickly.
    with tarfile.open(fileobj=buffer, mode="w:xz", preset=0) as archive:
        for n in range(1, IMAGES + 1):
            info = tarfile.TarInfo(f"batch_{batch}/img_{n:03d}_seg.nii.gz")
            info.size = size
            archive.addfile(info, io.BytesIO(os.urandom(size)))
    return buffer.getvalue()


def baseline(bucket: gridfs.GridFSBucket, doc: dict) -> list[str]:
    """What a straightforward check does: download the whole upload, then open it."""
    data = bucket.open_download_stream(doc["_id"]).read()
    if doc["filename"].endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        return archive.getnames()


def setup(uri: str, client, data_dir: Path, zip_mb: int, tar_mb: int):
    settings = Settings(
        mongo_uri=uri, mongo_db="bench_work", training_db="bench_training", data_directory=data_dir
    )
    databases = open_databases(settings, client=client)
    prepare(databases)
    bucket = gridfs.GridFSBucket(databases.training, bucket_name="masks")
    for batch in (1, 2, 3, 4):
        folder = data_dir / f"batch_{batch}"
        folder.mkdir(parents=True)
        for n in range(1, IMAGES + 1):
            (folder / f"img_{n:03d}.png").write_bytes(b"\x89PNG")
        databases.work.batches.insert_one(
            {"id": f"batch_{batch}", "number": batch, "folder": str(folder)}
        )
    for batch in (1, 2, 3):
        # three sizes around zip_mb: where the directory falls in the last chunk varies
        member = int(zip_mb * (0.6 + 0.3 * batch) * 1024 * 1024) // IMAGES
        bucket.upload_from_stream(
            f"batch_{batch}_part1.zip",
            build_zip(batch, member),
            metadata={"batch_id": f"batch_{batch}"},
        )
    bucket.upload_from_stream(
        "masks_batch_4.tar.xz",
        build_tar_xz(4, tar_mb * 1024 * 1024),
        metadata={"batch_id": "batch_4"},
    )
    return databases, bucket


def compare(databases, bucket) -> None:
    chunks = databases.training["masks.chunks"]
    docs = list(databases.masks_files.find())
    print(
        f"{'upload':<24}{'stored MB':>10}{'check s':>9}{'baseline s':>11}"
        f"{'faster':>8}{'read / stored':>15}"
    )
    for doc in docs:
        repeat = 3 if doc["filename"].endswith(".zip") else 1
        listing = list_upload(chunks, doc, databases.settings.mask_check_budget)
        assert listing.reason is None and len(listing.names) == IMAGES, listing.reason
        ours = best_of(
            lambda: list_upload(chunks, doc, databases.settings.mask_check_budget), repeat
        )
        theirs = best_of(lambda: baseline(bucket, doc), repeat)
        print(
            f"{doc['filename']:<24}{doc['length'] / 2**20:>10.1f}{ours:>9.3f}{theirs:>11.3f}"
            f"{theirs / ours:>7.1f}×{100 * listing.bytes_read / doc['length']:>14.2f}%"
        )
    everything = best_of(lambda: verify(databases, recheck=True), 1)
    print(f"whole `verify --recheck` (4 uploads, 4 folders of {IMAGES} images): {everything:.2f} s")


# Imports only what a check needs, so the peak it reports is the check's, not the imports'.
CHILD = """
import io, tarfile
import gridfs
from pymongo import MongoClient
from segcore.archives.archive_listing import list_upload
def peak_kb():  # VmHWM: ru_maxrss would carry the parent's peak over the fork
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
training = MongoClient({uri!r})["bench_training"]
doc = training["masks.files"].find_one({{"filename": "masks_batch_4.tar.xz"}})
before = peak_kb()
if {ours!r}:
    result = list_upload(training["masks.chunks"], doc, 2**40)
    assert result.reason is None, result.reason
else:
    data = gridfs.GridFSBucket(training, bucket_name="masks").open_download_stream(doc["_id"]).read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        archive.getnames()
print(before, peak_kb())
"""


def peak_memory(uri: str, ours: bool) -> tuple[float, float]:
    """(resident MB before the check, peak MB during it) of a fresh process."""
    code = CHILD.format(uri=uri, ours=ours)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    return int(out[0]) / 1024, int(out[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="4× larger uploads")
    args = parser.parse_args()
    zip_mb, tar_mb = (16, 160) if args.large else (4, 40)
    with throwaway_server() as (uri, client), tempfile.TemporaryDirectory() as tmp:
        print(
            f"Building 3 zips of ~{zip_mb} MB (the default 255 KB chunks) and a tar.xz of ~{tar_mb} MB in GridFS ..."
        )
        databases, bucket = setup(uri, client, Path(tmp) / "data", zip_mb, tar_mb)
        compare(databases, bucket)
        size = databases.masks_files.find_one({"filename": "masks_batch_4.tar.xz"})["length"]
        base_ours, peak_ours = peak_memory(uri, ours=True)
        base_theirs, peak_theirs = peak_memory(uri, ours=False)
        print(
            f"peak memory checking the {size / 2**20:.0f} MB tar.xz, above the process's "
            f"{base_ours:.0f} MB after imports: check +{peak_ours - base_ours:.0f} MB, "
            f"baseline +{peak_theirs - base_theirs:.0f} MB"
        )


if __name__ == "__main__":
    main()
