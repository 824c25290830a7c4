"""Mask content checks against Python's own full reads of the same uploads, same run.

    python bench/bench_content.py              # zip 50 MB, tar.xz of volumes 50 MB, tar.xz 500 MB
    python bench/bench_content.py --tar-mb 100 # a quicker run

The masks are label masks as drawn (two organs, labels 1 and 2, noisy borders; a few distinct
ones under every image's name): PNGs of 1024×1024 written by Pillow in a zip made by Info-ZIP
`zip`, NIfTI volumes of 192×192×64 written by nibabel in a tar made by GNU `tar` piped to
`xz -0` (GNU tar's -J uses xz -6: minutes for 500 MB). Stored in GridFS with the default chunk
size on a throw-away embedded server; the images are PNGs on disk, read by header. Prints the
check's throughput next to `zipfile.testzip()` and a `tarfile` read of every member (both over
GridFS's own reader), and next to the same read with every mask also decoded by its library
(the least a content check must do), as wall time (the best of 3, all taken in turns) and as
CPU time (the reading process's plus the server's), then the peak memory of a process checking
the tar.xz, and of one doing the `tarfile` read, above what each held after its imports.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import gridfs
import nibabel
import numpy as np
from common import throwaway_server
from PIL import Image

from segcore.content.mask_content_check import check_content
from segcore.masks.mask_check import verify
from segcore.prepare import prepare
from segcore.settings.config import Settings
from segcore.store import embedded
from segcore.store.connection import open_databases

ROOT = Path(__file__).resolve().parent.parent
PNG_SIDE = 1024
VOLUME = (192, 192, 64)
DISTINCT = 12


def real_mask(rng, shape, speckle: float = 0.0) -> np.ndarray:
    """A label mask as segmentadores draw them: two organs (labels 1 and 2) as ellipsoids with
    ragged, noisy borders, and a share `speckle` of voxels relabelled at random (as a
    thresholding tool leaves them); compressible, but not a constant."""
    grid = np.indices(shape, dtype=np.float32)
    centre = [n / 2 for n in shape]
    radius = np.sqrt(sum(((g - c) / (n / 3)) ** 2 for g, c, n in zip(grid, centre, shape)))
    radius += rng.normal(0, 0.15, shape).astype(np.float32)
    mask = np.zeros(shape, np.uint8)
    mask[radius < 1.0] = 1
    mask[radius < 0.5] = 2
    flip = rng.random(shape) < speckle
    mask[flip] = rng.integers(0, 3, int(flip.sum()), dtype=np.uint8)
    return mask


def make_files(tmp: Path, count: int, batch: str, kind: str, speckle: float) -> tuple[Path, Path]:
    """`count` masks (hard links to DISTINCT real ones) and as many images, in two folders."""
    masks, images = tmp / f"masks_{batch}", tmp / "data" / batch
    masks.mkdir(parents=True)
    images.mkdir(parents=True)
    rng = np.random.default_rng(7)
    extension = ".png" if kind == "png" else ".nii"
    shape = (PNG_SIDE, PNG_SIDE) if kind == "png" else VOLUME
    image = tmp / f"image_{batch}{extension}"
    sources = []
    for n in range(DISTINCT):
        path = tmp / f"source_{batch}_{n}{extension}"
        write(real_mask(rng, shape, speckle), path)
        sources.append(path)
    write(np.zeros(shape, np.uint8), image)
    for n in range(1, count + 1):
        os.link(sources[n % DISTINCT], masks / f"img_{n:05d}_mask{extension}")
        os.link(image, images / f"img_{n:05d}{extension}")
    return masks, images


def write(array: np.ndarray, path: Path) -> None:
    if path.suffix == ".png":
        Image.fromarray(array).save(path)
    else:
        nibabel.Nifti1Image(array, np.diag([0.8, 0.8, 2.5, 1.0])).to_filename(path)


def pack(masks: Path, target: Path) -> None:
    names = sorted(os.listdir(masks))
    if target.suffix == ".zip":
        subprocess.run(["zip", "-q", "-0", str(target), *names], cwd=masks, check=True)
        return
    with open(target, "wb") as out:
        tar = subprocess.Popen(
            ["tar", "--hard-dereference", "-cf", "-", *names], cwd=masks, stdout=subprocess.PIPE
        )
        subprocess.run(["xz", "-0", "-T2", "-c"], stdin=tar.stdout, stdout=out, check=True)
        tar.wait()


def baseline(bucket: gridfs.GridFSBucket, doc: dict, decode: bool = False) -> None:
    """Python's own full read: `testzip()` for a zip, every member of a tar read in a stream.
    `decode`: each member's bytes then decoded by its format's library as well (Pillow,
    nibabel), one at a time: the least any content check must do."""
    source = bucket.open_download_stream(doc["_id"])
    if doc["filename"].endswith(".zip"):
        with zipfile.ZipFile(source) as archive:
            if not decode:
                assert archive.testzip() is None
                return
            for name in archive.namelist():
                decoded(name, archive.read(name))
        return
    with tarfile.open(fileobj=source, mode="r|*") as archive:
        for member in archive:
            if member.isfile():
                data = archive.extractfile(member).read()
                if decode:
                    decoded(member.name, data)
            archive.members.clear()


def decoded(name: str, data: bytes) -> np.ndarray:
    """A mask's values, decoded by the library of its format."""
    if name.endswith(".png"):
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image)
    return np.asanyarray(nibabel.Nifti1Image.from_bytes(data).dataobj)


CHILD = """
import time
from pymongo import MongoClient
from segcore.content.scan.mask_content_scan import ImageIndex, check_upload_content
from segcore.content.mask_content import Rules
import gridfs, tarfile, PIL.Image, numpy, nibabel
from segcore.images.batch_images import stored_listings
def peak_kb():  # VmHWM: ru_maxrss would carry the parent's peak over the fork
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
client = MongoClient({uri!r})
training, work = client["bench_training"], client["bench_work"]
doc = training["masks.files"].find_one({{"filename": {name!r}}})
index = ImageIndex.from_listings(stored_listings(work, [{batch!r}]).values(), ("_mask",))
before = peak_kb()
start, cpu = time.perf_counter(), time.process_time()
if {ours!r}:
    result = check_upload_content(training["masks.chunks"], doc, index, Rules(labels=(0, 1, 2)),
                                  2**40)
    assert result.tally.checked > 0 and not result.notes, result.notes
    assert result.tally.problems == 0, result.tally.offenders[:3]
else:
    from bench_content import baseline
    baseline(gridfs.GridFSBucket(training, bucket_name="masks"), doc, decode={decode!r})
print(before, peak_kb(), time.perf_counter() - start, time.process_time() - cpu)
"""


def in_child(
    uri: str, name: str, batch: str, ours: bool, decode: bool = False
) -> tuple[float, float, float, float]:
    """(peak MB after imports, peak MB at the end, seconds, CPU seconds of the process and the
    server) of a fresh process checking (or reading, and with `decode` decoding) one upload."""
    code = CHILD.format(uri=uri, name=name, batch=batch, ours=ours, decode=decode)
    path = os.pathsep.join([str(ROOT), str(ROOT / "bench"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    server = server_cpu(uri)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(done.stderr.strip().splitlines()[-1])
    out = done.stdout.split()
    cpu = float(out[3]) + server_cpu(uri) - server
    return int(out[0]) / 1024, int(out[1]) / 1024, float(out[2]), cpu


def server_cpu(uri: str) -> float:
    """CPU seconds the embedded server (a process of its own) has used so far: a read's cost
    is the reader's CPU plus the server's."""
    port = uri.rsplit(":", 1)[-1].split("/")[0].encode()
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if (
                any(word.encode() in argv for word in embedded.SERVER_WORDS)
                and b"--port" in argv
                and argv[argv.index(b"--port") + 1] == port
            ):
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue
    return 0.0


def timed(uri: str, function) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and the server) of one call."""
    start, cpu, server = time.perf_counter(), time.process_time(), server_cpu(uri)
    function()
    wall = time.perf_counter() - start
    return wall, time.process_time() - cpu + server_cpu(uri) - server


def interleaved(uri: str, *functions, repeat: int = 3) -> list[tuple[float, float]]:
    """The best of `repeat` runs of each function, taken in turns (the load on a shared machine
    moves: all of them see the same moments)."""
    runs = [[] for _ in functions]
    for _ in range(repeat):
        for times, function in zip(runs, functions):
            times.append(timed(uri, function))
    return [min(times) for times in runs]


def live_latency(uri: str, databases, bucket) -> float:
    """Seconds from a new copy of the NIfTI tar.xz landing to its content result, with
    `segcore sync --watch` running as its own process."""
    settings = databases.settings
    env = {
        **os.environ,
        "MONGO_URI": uri,
        "MONGO_DB": settings.mongo_db,
        "TRAINING_DB": settings.training_db,
        "DATA_DIRECTORY": str(settings.data_directory),
        "MASK_LABELS": "0,1,2",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    with tempfile.TemporaryFile() as log:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "segcore", "sync", "--watch"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            while True:
                log.seek(0)
                if b"waiting for uploads" in log.read():
                    break
                assert watcher.poll() is None, "the watcher stopped"
                time.sleep(0.2)
            doc = databases.masks_files.find_one({"filename": "masks_batch_2.tar.xz"})
            data = bucket.open_download_stream(doc["_id"]).read()
            upload_id = bucket.upload_from_stream(
                "masks_batch_2_again.tar.xz", data, metadata={"batch_id": "batch_2"}
            )
            landed = time.perf_counter()
            while databases.work["mask_content"].find_one({"_id": upload_id}) is None:
                assert time.perf_counter() - landed < 600, "no content result in 10 minutes"
                time.sleep(0.2)
            return time.perf_counter() - landed
        finally:
            watcher.terminate()
            watcher.wait(30)


UPLOADS = (  # batch, file name, kind of mask, speckle, the option giving its size
    ("batch_1", "batch_1_masks.zip", "png", 0.3, "zip_mb"),
    ("batch_2", "masks_batch_2.tar.xz", "nii", 0.1, "nii_mb"),
    ("batch_3", "masks_batch_3.tar.xz", "png", 0.3, "tar_mb"),
)


def build(databases, bucket, tmp: Path, sizes: dict) -> None:
    for batch, filename, kind, speckle, option in UPLOADS:
        probe, _ = make_files(tmp / f"probe_{batch}", 4, "probe", kind, speckle)
        pack(probe, tmp / f"probe_{filename}")
        per_mask = (tmp / f"probe_{filename}").stat().st_size / 4
        count = max(1, int(sizes[option] * 2**20 // per_mask))
        print(f"Building {filename}: {count:,} {kind} masks ...", flush=True)
        masks, _ = make_files(tmp, count, batch, kind, speckle)
        pack(masks, tmp / filename)
        with open(tmp / filename, "rb") as source:
            bucket.upload_from_stream(filename, source, metadata={"batch_id": batch})
        os.unlink(tmp / filename)
        databases.work.batches.insert_one({"id": batch, "folder": str(tmp / "data" / batch)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip-mb", type=int, default=50, help="the zip of PNG masks")
    parser.add_argument("--nii-mb", type=int, default=50, help="the tar.xz of NIfTI masks")
    parser.add_argument("--tar-mb", type=int, default=500, help="the tar.xz of PNG masks")
    args = parser.parse_args()
    with throwaway_server() as (uri, client), tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings = Settings(
            mongo_uri=uri,
            mongo_db="bench_work",
            training_db="bench_training",
            data_directory=tmp / "data",
            mask_labels=(0.0, 1.0, 2.0),
        )
        databases = open_databases(settings, client=client)
        prepare(databases)
        bucket = gridfs.GridFSBucket(databases.training, bucket_name="masks")
        build(databases, bucket, tmp, vars(args))
        verify(databases)  # lists the images, as `verify --content` does first
        print(
            f"{'upload':<24}{'stored MB':>10}{'masks':>7}{'check s':>9}{'python s':>10}"
            f"{'speed':>8}{'+decode s':>10}{'speed':>8}{'check cpu':>11}{'python cpu':>12}"
            f"{'+decode cpu':>12}{'peak +MB':>10}{'python +MB':>12}"
        )
        for doc in databases.masks_files.find().sort("filename", 1):
            batch, count = doc["metadata"]["batch_id"], 0
            if batch == "batch_3":  # each in a process of its own: time and peak memory
                base, peak, ours, ours_cpu = in_child(uri, doc["filename"], batch, ours=True)
                base_py, peak_py, theirs, theirs_cpu = in_child(
                    uri, doc["filename"], batch, ours=False
                )
                _, _, floor, floor_cpu = in_child(
                    uri, doc["filename"], batch, ours=False, decode=True
                )
                memory = f"{peak - base:>10.0f}{peak_py - base_py:>12.0f}"
            else:
                (ours, ours_cpu), (theirs, theirs_cpu), (floor, floor_cpu) = interleaved(
                    uri,
                    lambda: check_content(databases, [batch], recheck=True),
                    lambda: baseline(bucket, doc),
                    lambda: baseline(bucket, doc, decode=True),
                )
                row = check_content(databases, [batch]).batches[0]
                assert row["checked"] > 0 and row["problems"] == 0, row
                count, memory = row["checked"], f"{'':>10}{'':>12}"
            print(
                f"{doc['filename']:<24}{doc['length'] / 2**20:>10.1f}{count or '':>7}"
                f"{ours:>9.2f}{theirs:>10.2f}{theirs / ours:>7.2f}×"
                f"{floor:>10.2f}{floor / ours:>7.2f}×"
                f"{ours_cpu:>11.2f}{theirs_cpu:>12.2f}{floor_cpu:>12.2f}{memory}",
                flush=True,
            )
        print(
            "python: zipfile.testzip() for a zip, tarfile reading every member for a tar; "
            "+decode: the same read with every mask also decoded by its library (Pillow, nibabel), "
            "the least a content check must do; speed: that time over the check's; s: wall time, "
            "the best of 3 taken in turns (batch_3: one run each); cpu: CPU seconds of the "
            "reading process plus the server's; peak: the process's peak above its peak after "
            "the imports (batch_3 only)"
        )
        size = databases.masks_files.find_one({"filename": "masks_batch_2.tar.xz"})["length"]
        print(
            f"live sync: a new {size / 2**20:.0f} MB tar.xz of NIfTI masks content-checked "
            f"{live_latency(uri, databases, bucket):.1f} s after it landed",
            flush=True,
        )


if __name__ == "__main__":
    main()
