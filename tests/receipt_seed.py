"""A lab with real deliveries for the receipts tests: DICOM files pydicom ships as images,
archives made by GNU tar and Info-ZIP from them, uploaded to GridFS and synced."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import gridfs
import pydicom.data

from segcore.store.connection import Databases, open_databases
from segcore.sync import sync

DICOMS = sorted(Path(pydicom.data.__file__).parent.joinpath("test_files").glob("*.dcm"))[:4]


def masks(count: int, skip=()) -> list[str]:
    return [f"img_{n:03d}_mask.dcm" for n in range(1, count + 1) if n not in skip]


def real_archive(tmp_path: Path, tool: str, names: list[str], name: str) -> bytes:
    """An archive made by a real tool (`tar`: GNU tar -czf; `zip`: Info-ZIP) from real DICOM
    files stored as `names`."""
    folder = tmp_path / f"src_{name}"
    folder.mkdir()
    for number, member in enumerate(names):
        shutil.copyfile(DICOMS[number % len(DICOMS)], folder / member)
    out = tmp_path / name
    if tool == "tar":
        subprocess.run(["tar", "-czf", str(out), *names], cwd=folder, check=True)
    else:
        subprocess.run(["zip", "-q", str(out), *names], cwd=folder, check=True)
    return out.read_bytes()


class Lab:
    """Databases with DATA_DIRECTORY under `tmp_path`, batches with real images, uploads."""

    def __init__(self, dbs: Databases, client, tmp_path: Path):
        self.data = tmp_path / "data"
        self.data.mkdir(exist_ok=True)
        self.tmp = tmp_path
        self.dbs = open_databases(replace(dbs.settings, data_directory=self.data), client=client)

    def batch(self, number: int, count: int, status: str = "pending", assignee: str = "Flor"):
        folder = self.data / f"batch_{number}"
        folder.mkdir()
        for n in range(1, count + 1):
            shutil.copyfile(DICOMS[n % len(DICOMS)], folder / f"img_{n:03d}.dcm")
        self.dbs.work.batches.insert_one(
            {
                "id": f"batch_{number}",
                "number": number,
                "status": status,
                "folder": str(folder),
                "assignee": assignee,
            }
        )

    def upload(self, filename: str, data: bytes, uploaded_by: str = "flor", **metadata):
        """`metadata`: more of the upload's metadata (`batch_id` for a file naming none)."""
        bucket = gridfs.GridFSBucket(self.dbs.training, bucket_name=self.dbs.settings.masks_bucket)
        return bucket.upload_from_stream(
            filename, data, metadata={"uploaded_by": uploaded_by, **metadata}
        )

    def sync(self):
        return sync.run_sync(self.dbs)


def seed_deliveries(lab: Lab) -> None:
    """batch_1 complete (tar.gz), batch_2 truncated tar.gz, batch_3 corrupt zip, batch_4 a zip
    missing one mask; all four Flor's, uploaded by flor except batch_4 (ceci)."""
    for number in (1, 2, 3, 4):
        lab.batch(number, 4)
    lab.upload("batch_1_masks.tar.gz", real_archive(lab.tmp, "tar", masks(4), "a.tgz"))
    truncated = real_archive(lab.tmp, "tar", masks(4), "b.tgz")
    lab.upload("batch_2_masks.tar.gz", truncated[: len(truncated) // 2])
    corrupt = bytearray(real_archive(lab.tmp, "zip", masks(4), "c.zip"))
    corrupt[-22:] = b"\0" * 22  # the end of central directory record gone
    lab.upload("batch_3.zip", bytes(corrupt))
    lab.upload(
        "batch_4.zip",
        real_archive(lab.tmp, "zip", masks(4, skip=(2,)), "d.zip"),
        uploaded_by="ceci",
    )
    lab.sync()
