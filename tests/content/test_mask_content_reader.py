"""The content check's readers: every compression tarfile reads, undone in a thread of its own
with tarfile's own words for a corrupt or cut stream; a zip's members fetched a run at a time."""

import subprocess
import threading

import pytest
from pymongo import MongoClient, monitoring

from segcore.content.mask_content import describe
from segcore.content.mask_content_check import check_content, content_summary
from segcore.masks.mask_check import verify
from tests.content import test_mask_content as content

lab = content.lab  # one batch of real images and masks with a planted defect of every kind


def tar(masks, target, flag: str) -> bytes:
    """The mask folder packed by GNU tar with `flag` (-cf, -czf, -cjf, -cJf)."""
    names = sorted(path.name for path in masks.iterdir())
    subprocess.run(["tar", flag, str(target), *names], cwd=masks, check=True)
    return target.read_bytes()


def read_ahead_threads() -> list:
    return [t for t in threading.enumerate() if t.name == "tar-read-ahead"]


@pytest.mark.parametrize(
    "flag, filename",
    [
        ("-cf", "masks_batch_1.tar"),
        ("-czf", "masks_batch_1.tar.gz"),
        ("-cjf", "masks_batch_1.tar.bz2"),
        ("-cJf", "masks_batch_1.tar.xz"),
    ],
)
def test_every_compression_tarfile_reads_is_checked(lab, upload, tmp_path, flag, filename):
    upload(filename, tar(lab.masks, tmp_path / filename, flag), chunk_size=4096)
    verify(lab, ["batch_1"])
    row = check_content(lab, ["batch_1"]).by_batch()["batch_1"]
    content.assert_every_defect_named(row, lab.wrong)
    assert not row["notes"] and not read_ahead_threads()


@pytest.mark.parametrize(
    "flag, ending", [("-czf", "tar.gz"), ("-cjf", "tar.bz2"), ("-cJf", "tar.xz")]
)
def test_a_corrupt_or_cut_compressed_tar_is_said_so(lab, upload, tmp_path, flag, ending):
    """The reader on its own (a sync's content check leaves to the listing an upload the
    listing found unreadable): a corrupt or cut stream ends the upload's check with a note."""
    from segcore.content.mask_content_check import rules_from
    from segcore.content.scan.mask_content_scan import ImageIndex, check_upload_content
    from segcore.images.batch_images import stored_listings

    data = tar(lab.masks, tmp_path / f"m.{ending}", flag)
    middle = len(data) // 2
    corrupt = (
        data[:middle] + bytes(b ^ 0x5A for b in data[middle : middle + 8]) + data[middle + 8 :]
    )
    corrupt_id = upload(f"masks_batch_1.{ending}", corrupt)
    cut_id = upload(f"masks_batch_1_again.{ending}", data[:middle])
    verify(lab, ["batch_1"])
    index = ImageIndex.from_listings(
        stored_listings(lab.work, ["batch_1"]).values(), lab.settings.mask_suffixes
    )
    chunks = lab.training[f"{lab.settings.masks_bucket}.chunks"]
    notes = {}
    for key, upload_id in (("corrupt", corrupt_id), ("cut", cut_id)):
        doc = lab.masks_files.find_one({"_id": upload_id})
        found = check_upload_content(chunks, doc, index, rules_from(lab.settings), 10**9)
        notes[key] = [note["params"]["reason"] for note in found.notes]
    # In the listing's words: corrupt data, or a stream that ends before its end mark (a cut,
    # and damage a decompressor takes for a bzip2 block still going).
    corrupt = ["not a readable tar archive: its compressed data is corrupt"]
    cut = ["truncated archive: the compressed stream ends before the end of the archive"]
    assert notes["cut"] == cut and notes["corrupt"] in (corrupt, cut), notes
    assert not read_ahead_threads()  # each check's thread ended with it
    # Through the content check: the listing's own reason, and nothing more read of them
    check_content(lab, ["batch_1"])
    for upload_id in (corrupt_id, cut_id):
        summary = content_summary(lab.work, upload_id)
        assert summary["checked"] == 0 and summary["notes"][0]["code"] == "unreadable"


def test_the_read_ahead_stops_with_a_check_cut_short_by_the_budget(lab, upload, tmp_path, client):
    from dataclasses import replace

    from segcore.store.connection import open_databases

    small = open_databases(replace(lab.settings, mask_qc_budget_mb=1), client=client)
    (lab.masks / "img_040_notes.bin").write_bytes(bytes(3_000_000))
    upload("masks_batch_1.tar.xz", tar(lab.masks, tmp_path / "m.tar.xz", "-cJf"))
    verify(small, ["batch_1"])
    row = check_content(small, ["batch_1"]).by_batch()["batch_1"]
    assert [n["code"] for n in row["notes"]] == ["too_large"]
    assert {"img_012_mask.png", "img_030_mask.png"} <= {o["name"] for o in row["offenders"]}
    assert not read_ahead_threads()


@pytest.mark.parametrize("chunk_size", [512, 4096, 255 * 1024])
def test_a_zip_is_read_a_run_of_members_at_a_time(lab, upload, tmp_path, chunk_size):
    """Chunks smaller than one member (a window holds a single member), or holding many."""
    subprocess.run(
        ["zip", "-q", str(tmp_path / "m.zip"), *sorted(p.name for p in lab.masks.iterdir())],
        cwd=lab.masks,
        check=True,
    )
    upload("batch_1_masks.zip", (tmp_path / "m.zip").read_bytes(), chunk_size=chunk_size)
    verify(lab, ["batch_1"])
    row = check_content(lab, ["batch_1"]).by_batch()["batch_1"]
    content.assert_every_defect_named(row, lab.wrong)
    assert [describe(o) for o in row["offenders"] if o["name"] == "img_041_mask.png"] == [
        "img_041_mask.png: label 3 not in 0,1,2"
    ]


class ChunkReads(monitoring.CommandListener):
    """Counts the queries and cursor batches asked of the chunks collection."""

    def __init__(self):
        self.count = 0

    def started(self, event):
        target = event.command.get(event.command_name)
        if event.command_name in ("find", "getMore") and (
            target == "masks.chunks" or event.command.get("collection") == "masks.chunks"
        ):
            self.count += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_a_zip_costs_a_few_round_trips_not_one_per_chunk(lab, upload, tmp_path, mongo_uri):
    from segcore.store.connection import open_databases

    subprocess.run(
        ["zip", "-q", "-0", str(tmp_path / "m.zip"), *sorted(p.name for p in lab.masks.iterdir())],
        cwd=lab.masks,
        check=True,
    )
    data = (tmp_path / "m.zip").read_bytes()
    upload("batch_1_masks.zip", data, chunk_size=1024)
    verify(lab, ["batch_1"])
    reads = ChunkReads()
    with MongoClient(mongo_uri, event_listeners=[reads]) as client:
        row = check_content(open_databases(lab.settings, client=client), ["batch_1"]).batches[0]
    assert row["checked"] == 13
    chunks = -(-len(data) // 1024)
    assert chunks > 30 and reads.count <= chunks / 4, (reads.count, chunks)
