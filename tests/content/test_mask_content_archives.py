"""Content checks of uploads as ordinary tools write them: every mask the listing counts is
opened, whatever the archive (7z, a tar's links, a multi-stream tar, accented zip names, a
misnamed archive), and a zip whose directory is wrong is unreadable, as unzip and 7-Zip say."""

import io
import os
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segcore.archives.archive_listing import list_upload
from segcore.content.mask_content import describe, describe_note
from segcore.content.mask_content_check import check_content
from segcore.masks.mask_check import verify
from segcore.store.connection import open_databases
from segcore.store.schema import MASK_CONTENT
from tests.archives import archive_with, run_tool

SIDE = 8


def png(path: Path, array) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def square(value: int = 1) -> np.ndarray:
    array = np.zeros((SIDE, SIDE), dtype=np.uint8)
    array[2:5, 2:5] = value
    return array


@pytest.fixture
def lab(dbs, client, tmp_path):
    """One batch whose images are `stems` (8×8 PNGs, written by `images`), labels 0 to 2."""
    data = tmp_path / "data"
    settings = replace(dbs.settings, data_directory=data, mask_labels=(0.0, 1.0, 2.0))
    databases = open_databases(settings, client=client)
    dbs.work.batches.insert_one(
        {"id": "batch_1", "folder": str(data / "batch_1"), "status": "pending"}
    )

    def images(*stems: str, size=(SIDE, SIDE)) -> None:
        for stem in stems:
            png(data / "batch_1" / f"{stem}.png", np.full(size[::-1], 90))

    databases.images = images
    databases.masks = tmp_path / "masks"
    databases.masks.mkdir()
    return databases


def checked(lab, upload, filename: str, data: bytes) -> dict:
    """Upload `data`, list it and check its masks' contents; the batch's content row."""
    upload(filename, data, chunk_size=4096)
    verify(lab, ["batch_1"])
    return check_content(lab, ["batch_1"]).by_batch()["batch_1"]


def said(row) -> dict[str, str]:
    return {o["name"]: describe(o) for o in row["offenders"]}


def test_a_7z_upload_has_its_masks_opened(lab, upload, tmp_path):
    lab.images("case_1", "case_2")
    png(lab.masks / "case_1_mask.png", np.zeros((SIDE, SIDE)))
    png(lab.masks / "case_2_mask.png", square(7))
    row = checked(lab, upload, "batch_1.7z", archive_with("7z", lab.masks, tmp_path / "m.7z"))
    assert row["checked"] == 2 and not row["notes"]
    assert said(row) == {
        "case_1_mask.png": "case_1_mask.png: empty",
        "case_2_mask.png": "case_2_mask.png: label 7 not in 0,1,2",
    }


def test_a_7z_over_the_budget_stops_and_says_so(lab, upload, tmp_path, client):
    small = open_databases(replace(lab.settings, mask_qc_budget_mb=1), client=client)
    lab.images("case_1")
    png(lab.masks / "case_1_mask.png", np.zeros((SIDE, SIDE)))
    (lab.masks / "case_1_mask.png").write_bytes(  # a 2 MB mask: a PNG with data after its end
        (lab.masks / "case_1_mask.png").read_bytes() + os.urandom(2_000_000)
    )
    upload("batch_1.7z", archive_with("7z", lab.masks, tmp_path / "m.7z", "-mx=0"))
    verify(small, ["batch_1"])
    row = check_content(small, ["batch_1"]).by_batch()["batch_1"]
    assert [n["code"] for n in row["notes"]] == ["too_large"] and row["checked"] == 0


def test_gnu_tar_links_are_checked_as_the_masks_they_link_to(lab, upload, tmp_path):
    lab.images("empty_1", "empty_2", "empty_3", "alias_1", "ok_1")
    png(lab.masks / "empty_1_mask.png", np.zeros((SIDE, SIDE)))
    # identical files hard-linked on disk: GNU tar stores the second and third as links
    os.link(lab.masks / "empty_1_mask.png", lab.masks / "empty_2_mask.png")
    os.link(lab.masks / "empty_1_mask.png", lab.masks / "empty_3_mask.png")
    png(lab.masks / "ok_1_mask.png", square())
    os.symlink("empty_1_mask.png", lab.masks / "alias_1_mask.png")  # may come before its target
    row = checked(
        lab, upload, "batch_1.tar.gz", archive_with("tar", lab.masks, tmp_path / "m.tgz", "-czf")
    )
    assert row["checked"] == 5
    assert said(row) == {
        name: f"{name}: empty"
        for name in ("empty_1_mask.png", "empty_2_mask.png", "empty_3_mask.png", "alias_1_mask.png")
    }


@pytest.mark.parametrize(
    "tool, options, name",
    [
        ("zip", ["-y"], "batch_1.zip"),
        ("7z", ["-snl"], "batch_1.7z"),
        ("7z", ["-tzip", "-snl"], "batch_1.zip"),
        ("tar", ["-czf"], "batch_1.tar.gz"),
    ],
)
def test_symbolic_links_are_checked_as_the_masks_they_lead_to(
    lab, upload, tmp_path, tool, options, name
):
    """A link (`zip -y`, `7z -snl`, tar) is the mask it leads to, never its own text read as
    an image; one leading out of the archive is no mask (the listing says so), never opened."""
    lab.images("empty_1", "alias_1", "alias_2", "ok_1", "outside_1")
    png(lab.masks / "empty_1_mask.png", np.zeros((SIDE, SIDE)))
    png(lab.masks / "ok_1_mask.png", square())
    os.symlink("empty_1_mask.png", lab.masks / "alias_1_mask.png")
    os.symlink("ok_1_mask.png", lab.masks / "alias_2_mask.png")
    os.symlink("/etc/hostname", lab.masks / "outside_1_mask.png")  # never followed on disk
    row = checked(lab, upload, name, archive_with(tool, lab.masks, tmp_path / name, *options))
    assert (row["checked"], row["problems"]) == (4, 2)
    assert said(row) == {
        "empty_1_mask.png": "empty_1_mask.png: empty",
        "alias_1_mask.png": "alias_1_mask.png: empty",
    }
    check = lab.work.batches.find_one({"id": "batch_1"})["mask_check"]
    assert (check["state"], check["missing"]) == ("incomplete", ["outside_1.png"])


@pytest.mark.parametrize("compress", ["gzip", "bzip2", "xz"])
def test_every_stream_of_a_multi_stream_tar_is_checked(lab, upload, tmp_path, compress):
    # pigz, pbzip2 and lbzip2 write one compressed stream per block; gzip files may be joined.
    stems = [f"img_{n}" for n in range(6)]
    lab.images(*stems)
    for n, stem in enumerate(stems):
        noise = np.random.default_rng(n).integers(0, 3, (SIDE * 32, SIDE * 32))
        png(lab.masks / f"{stem}_mask.png", noise if n != 5 else np.zeros((SIDE, SIDE)))
    lab.images(*stems[:5], size=(SIDE * 32, SIDE * 32))
    archive = tmp_path / "m.tar"
    archive_with("tar", lab.masks, archive, "-cf")
    whole, parts = archive.read_bytes(), tmp_path / "parts"
    parts.mkdir()
    joined = b""
    for n, start in enumerate(range(0, len(whole), 40_000)):
        part = parts / f"part_{n:03d}"
        part.write_bytes(whole[start : start + 40_000])
        run_tool(compress, "-k", part.name, cwd=parts)
        joined += next(parts.glob(f"{part.name}.*")).read_bytes()
    assert len(list(parts.glob("*.*"))) > 2  # several streams
    ending = {"gzip": "tar.gz", "bzip2": "tar.bz2", "xz": "tar.xz"}[compress]
    row = checked(lab, upload, f"batch_1.{ending}", joined)
    assert row["checked"] == 6 and not row["notes"]
    assert said(row) == {"img_5_mask.png": "img_5_mask.png: empty"}


@pytest.mark.parametrize(
    "options, ending, trailer",
    [
        ("-czf", "tar.gz", b"JUNK appended by the upload tool\n"),
        ("-cJf", "tar.xz", bytes(4096)),  # xz's Stream Padding
        ("-cjf", "tar.bz2", b"signed\n"),
    ],
)
def test_a_compressed_tar_with_data_after_it_has_its_masks_opened(
    lab, upload, tmp_path, options, ending, trailer
):
    lab.images("case_1", "case_2")
    png(lab.masks / "case_1_mask.png", np.zeros((SIDE, SIDE)))
    png(lab.masks / "case_2_mask.png", square())
    data = archive_with("tar", lab.masks, tmp_path / f"m.{ending}", options) + trailer
    row = checked(lab, upload, f"batch_1.{ending}", data)
    assert (row["checked"], row["problems"]) == (2, 1) and not row["notes"]
    assert said(row) == {"case_1_mask.png": "case_1_mask.png: empty"}


def test_accented_names_in_an_info_zip_zip_are_checked(lab, upload, tmp_path):
    lab.images("hígado_001", "bazo_001")
    png(lab.masks / "hígado_001_mask.png", np.zeros((SIDE, SIDE)))
    png(lab.masks / "bazo_001_mask.png", square())
    data = archive_with("zip", lab.masks, tmp_path / "m.zip", env={"LC_ALL": "C.UTF-8"})
    row = checked(lab, upload, "batch_1.zip", data)
    assert row["checked"] == 2 and said(row) == {
        "hígado_001_mask.png": "hígado_001_mask.png: empty"
    }


@pytest.mark.parametrize(
    "tool, options, filename",
    [("zip", (), "batch_1.rar"), ("7z", (), "batch_1.zip"), ("tar", ("-czf",), "batch_1.zip")],
)
def test_a_misnamed_archive_is_read_by_its_first_bytes(
    lab, upload, tmp_path, tool, options, filename
):
    lab.images("case_1")
    png(lab.masks / "case_1_mask.png", np.zeros((SIDE, SIDE)))
    data = archive_with(tool, lab.masks, tmp_path / f"m.{tool}", *options)
    row = checked(lab, upload, filename, data)
    assert row["checked"] == 1 and not row["notes"]
    assert said(row) == {"case_1_mask.png": "case_1_mask.png: empty"}


def test_a_zstandard_tar_named_tar_gz_is_named_for_what_it_is(lab, upload, dbs, tmp_path):
    import shutil

    if shutil.which("zstd") is None:  # bsdtar writes it without the zstd tool
        data = archive_with("bsdtar", lab.masks, tmp_path / "m.tar.zst", "--zstd", "-c")
    else:
        data = archive_with("tar", lab.masks, tmp_path / "m.tar.zst", "--zstd", "-cf")
    file_id = upload("batch_1.tar.gz", data)
    doc = dbs.masks_files.find_one({"_id": file_id})
    listing = list_upload(dbs.training["masks.chunks"], doc, 1 << 26)
    assert listing.reason == "unsupported format (Zstandard)"


def test_a_zip_whose_directory_points_outside_it_is_unreadable(lab, upload, dbs, tmp_path):
    # Info-ZIP's `zip -fz -fd` (zip64 forced, data descriptors) writes directory offsets 4 GiB
    # off: unzip and 7-Zip refuse it; zipfile alone would read a member from the wrong place.
    lab.images("a", "b")
    png(lab.masks / "a_mask.png", square())
    png(lab.masks / "b_mask.png", np.zeros((SIDE, SIDE)))
    data = archive_with("zip", lab.masks, tmp_path / "m.zip", "-fz", "-fd")
    file_id = upload("batch_1.zip", data)
    doc = dbs.masks_files.find_one({"_id": file_id})
    listing = list_upload(dbs.training["masks.chunks"], doc, 1 << 26)
    assert listing.reason.startswith("not a readable zip (truncated or corrupt: the directory")
    assert listing.names == []
    report = verify(lab, ["batch_1"])
    assert report.batches[0]["state"] == "unreadable"


def test_every_page_of_a_multi_page_tiff_is_read(lab, upload, tmp_path):
    stack = [Image.fromarray(np.full((SIDE, SIDE), 50, np.uint8)) for _ in range(3)]
    images = lab.settings.data_directory / "batch_1"
    images.mkdir(parents=True)
    stack[0].save(images / "stack.tif", save_all=True, append_images=stack[1:])
    pages = [np.zeros((SIDE, SIDE)), square(1), square(7)]  # labels on pages 2 and 3 only
    pages = [Image.fromarray(np.asarray(p, np.uint8)) for p in pages]
    pages[0].save(lab.masks / "stack_mask.tif", save_all=True, append_images=pages[1:])
    row = checked(lab, upload, "batch_1.zip", archive_with("zip", lab.masks, tmp_path / "m.zip"))
    assert said(row) == {"stack_mask.tif": "stack_mask.tif: label 7 not in 0,1,2"}


def test_a_mask_beyond_pillows_pixel_limit_is_checked_by_its_header(lab, upload, tmp_path):
    # 196 million pixels: Pillow refuses to open it at all (DecompressionBombError); the check's
    # own limit (MASK_QC_MAX_VOXELS) makes it a header-only check, and the size still compares.
    lab.images("slide")
    Image.new("1", (14_000, 14_000)).save(lab.masks / "slide_mask.png")
    row = checked(lab, upload, "batch_1.zip", archive_with("zip", lab.masks, tmp_path / "m.zip"))
    assert "slide_mask.png: 14000×14000, image 8×8" in [describe(o) for o in row["offenders"]]
    assert row["header_only"] == 1


def test_results_of_an_older_check_are_checked_again(lab, upload, tmp_path):
    lab.images("case_1")
    png(lab.masks / "case_1_mask.png", np.zeros((SIDE, SIDE)))
    checked(lab, upload, "batch_1.7z", archive_with("7z", lab.masks, tmp_path / "m.7z"))
    lab.work[MASK_CONTENT].update_many({}, {"$unset": {"version": ""}})  # as stored before
    assert check_content(lab, ["batch_1"]).checked_uploads == 1
    assert check_content(lab, ["batch_1"]).checked_uploads == 0


def test_a_bsdtar_zip_with_a_name_it_could_not_convert_is_still_read(lab, upload, dbs, tmp_path):
    # bsdtar flags every name UTF-8, also a Latin-1 one from an old disk: unzip and 7-Zip list
    # the zip; zipfile alone refuses it whole, every good mask with it.
    lab.images("a", "b")
    png(lab.masks / "a_mask.png", np.zeros((SIDE, SIDE)))
    png(lab.masks / "b_mask.png", square())
    with open(os.path.join(os.fsencode(lab.masks), b"ri\xf1on_mask.png"), "wb") as latin:
        latin.write((lab.masks / "b_mask.png").read_bytes())
    data = archive_with(
        "bsdtar", lab.masks, tmp_path / "m.zip", "--format=zip", "-c", env={"LC_ALL": "C.UTF-8"}
    )
    file_id = upload("batch_1.zip", data)
    listing = list_upload(
        dbs.training["masks.chunks"], dbs.masks_files.find_one({"_id": file_id}), 1 << 26
    )
    assert listing.reason is None
    assert listing.names == ["a_mask.png", "b_mask.png", "ri±on_mask.png"]  # as unzip shows it
    verify(lab, ["batch_1"])
    row = check_content(lab, ["batch_1"]).by_batch()["batch_1"]
    assert row["checked"] == 2 and said(row) == {"a_mask.png": "a_mask.png: empty"}


def test_a_password_protected_zip_is_said_unreadable_in_the_content_check(lab, upload, tmp_path):
    """Info-ZIP's `zip -P`: the listing finds it unreadable, and the content check says so
    (it used to say "0 masks checked" and nothing more)."""
    lab.images("case_1", "case_2")
    png(lab.masks / "case_1_mask.png", square())
    png(lab.masks / "case_2_mask.png", square())
    target = tmp_path / "locked.zip"
    names = ["case_1_mask.png", "case_2_mask.png"]
    subprocess.run(["zip", "-q", "-P", "s3cret", str(target), *names], cwd=lab.masks, check=True)
    row = checked(lab, upload, "batch_1.zip", target.read_bytes())
    assert (row["checked"], row["offenders"]) == (0, [])  # its masks count for nothing
    assert [describe_note(n) for n in row["notes"]] == ["the upload cannot be read (encrypted zip)"]


def raw_png(path: Path, array) -> None:
    """A PNG left uncompressed, so that 7-Zip compresses it with the method asked."""
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path, compress_level=0)


@pytest.mark.parametrize("method, code", [("PPMd", 98), ("Deflate64", 9)])
def test_a_zip_by_7_zip_in_ppmd_or_deflate64_has_its_masks_opened(
    lab, upload, tmp_path, method, code
):
    """7-Zip's "Add to archive" as zip offers PPMd and Deflate64, which Python's zipfile
    cannot read: the masks are read all the same, and their own problems found."""
    raw_png(lab.masks / "case_1_mask.png", np.zeros((SIDE * 8, SIDE * 8)))
    raw_png(lab.masks / "case_2_mask.png", np.pad(square(7), SIDE * 7 // 2))
    raw_png(lab.masks / "case_3_mask.png", np.pad(square(1), SIDE * 7 // 2))
    lab.images("case_1", "case_2", "case_3", size=(SIDE * 8, SIDE * 8))
    data = archive_with("7z", lab.masks, tmp_path / "m.zip", "-tzip", f"-mm={method}")
    assert {i.compress_type for i in zipfile.ZipFile(io.BytesIO(data)).infolist()} == {code}
    row = checked(lab, upload, "batch_1.zip", data)
    assert (row["checked"], row["problems"]) == (3, 2)
    assert said(row) == {
        "case_1_mask.png": "case_1_mask.png: empty",
        "case_2_mask.png": "case_2_mask.png: label 7 not in 0,1,2",
    }


def test_a_zip_member_in_a_method_no_reader_here_knows_is_said_not_blamed(lab, upload, tmp_path):
    """7-Zip's zip in XZ (method 95): the zip is fine, the check cannot read that method, so
    each mask says so, never a problem that would send the batch back."""
    raw_png(lab.masks / "case_1_mask.png", np.pad(square(1), SIDE * 7 // 2))
    lab.images("case_1", size=(SIDE * 8, SIDE * 8))
    data = archive_with("7z", lab.masks, tmp_path / "m.zip", "-tzip", "-mm=XZ")
    assert {i.compress_type for i in zipfile.ZipFile(io.BytesIO(data)).infolist()} == {95}
    row = checked(lab, upload, "batch_1.zip", data)
    assert (row["checked"], row["problems"]) == (1, 0)
    assert said(row) == {
        "case_1_mask.png": "case_1_mask.png: contents not checked "
        "(compressed by xz (95), which this check cannot read)"
    }


@pytest.mark.parametrize("method", ["BCJ2", "ARM64", "RISCV"])
def test_a_7z_in_a_filter_py7zr_cannot_decode_is_said_not_blamed(lab, upload, tmp_path, method):
    """7-Zip's BCJ2, ARM64 and RISCV filters make a valid 7z (`7z t` passes) that py7zr lists
    but cannot decompress: its listing is complete, and each mask says its contents were not
    checked, naming the filter, never a problem that would send the batch back."""
    lab.images("case_1", "case_2")
    png(lab.masks / "case_1_mask.png", square(1))
    png(lab.masks / "case_2_mask.png", square(2))
    data = archive_with("7z", lab.masks, tmp_path / "m.7z", f"-mf={method}")
    upload("batch_1.7z", data, chunk_size=4096)
    assert verify(lab, ["batch_1"]).batches[0]["state"] == "complete"
    row = check_content(lab, ["batch_1"]).by_batch()["batch_1"]
    assert row["problems"] == 0 and not row["notes"]
    reason = f"contents not checked (compressed by {method}, which this check cannot read)"
    assert said(row) == {f"case_{n}_mask.png": f"case_{n}_mask.png: {reason}" for n in (1, 2)}


def test_py7zrs_reason_is_its_words_cut_after_a_whole_word(lab, tmp_path):
    """py7zr's error for BCJ2 holds the method's id and a long sentence: the reason shown is
    the sentence (never the tuple's repr) cut after its last whole word, with "…"."""
    import py7zr

    from segcore.archives.archive_7z import error_detail, extract_files

    png(lab.masks / "case_1_mask.png", square(1))
    archive_with("7z", lab.masks, tmp_path / "m.7z", "-mf=BCJ2")
    with py7zr.SevenZipFile(tmp_path / "m.7z") as archive, pytest.raises(Exception) as raised:
        extract_files(archive, [0], lambda position: None)
    words = raised.value.args[1]  # py7zr's sentence, after the method's id
    detail = error_detail(raised.value)
    assert detail.startswith("BCJ2 filter is not supported by py7zr.") and detail.endswith("…")
    assert len(detail) <= 120 and "b'" not in detail and words.startswith(detail[:-1] + " ")


@pytest.mark.parametrize("options, ending", [((), "7z"), (("-tzip",), "zip")])
def test_a_whole_archive_in_one_7_zip_volume_has_its_masks_opened(
    lab, upload, tmp_path, options, ending
):
    """7-Zip's single volume (`7z a -v10m`: one `x.7z.001` holding the whole archive) is
    listed and content-checked as the archive it is."""
    lab.images("case_1", "case_2")
    png(lab.masks / "case_1_mask.png", np.zeros((SIDE, SIDE)))
    png(lab.masks / "case_2_mask.png", square(1))
    run_tool("7z", "a", "-bd", *options, "-v10m", str(tmp_path / f"m.{ending}"), ".", cwd=lab.masks)
    data = (tmp_path / f"m.{ending}.001").read_bytes()
    row = checked(lab, upload, f"batch_1.{ending}.001", data)
    assert (row["checked"], row["problems"]) == (2, 1) and not row["notes"]
    assert said(row) == {"case_1_mask.png": "case_1_mask.png: empty"}


@pytest.mark.parametrize(
    "damage, reason",
    [
        ("name", "damaged member: its header does not match the zip's directory"),
        ("signature", "damaged member: no member header where the zip's directory points"),
    ],
)
def test_a_damaged_zip_member_is_said_in_words(lab, upload, tmp_path, damage, reason):
    """Bytes of an Info-ZIP zip flipped in transit: the member is unreadable, said in words,
    never zipfile's own message quoting the damaged bytes (`header b'\\x92\\x9e...'`)."""
    lab.images("case_1", "case_2")
    png(lab.masks / "case_1_mask.png", square())
    png(lab.masks / "case_2_mask.png", square())
    target = tmp_path / "masks.zip"
    names = ["case_1_mask.png", "case_2_mask.png"]
    subprocess.run(["zip", "-q", "-0", str(target), *names], cwd=lab.masks, check=True)
    data = bytearray(target.read_bytes())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("case_2_mask.png")
    start = {"name": 30, "signature": 0}[damage]
    start += info.header_offset
    for at in range(start, start + 12):
        data[at] ^= 0xFF
    row = checked(lab, upload, "batch_1.zip", bytes(data))
    assert said(row) == {"case_2_mask.png": f"case_2_mask.png: unreadable ({reason})"}


def _damaged_in_store(lab, file_id, at: int, count: int = 20) -> None:
    """Flip `count` bytes of a stored upload from byte `at`, its length and chunks intact: a
    chunk damaged on disk or in transit after the upload was listed."""
    chunks = lab.training[f"{lab.settings.masks_bucket}.chunks"]
    size = chunks.find_one({"files_id": file_id, "n": 0})["data"].__len__()
    for offset in range(at, at + count):
        n, within = divmod(offset, size)
        doc = chunks.find_one({"files_id": file_id, "n": n})
        data = bytearray(doc["data"])
        data[within] ^= 0x5A
        chunks.update_one({"_id": doc["_id"]}, {"$set": {"data": bytes(data)}})


def _noise_masks(lab, count: int = 3, side: int = 64) -> None:
    """Masks of random labels (they do not compress away), each image of their size."""
    stems = [f"img_{n:03d}" for n in range(1, count + 1)]
    lab.images(*stems, size=(side, side))
    for n, stem in enumerate(stems):
        noise = np.random.default_rng(n).integers(0, 3, (side, side), dtype=np.uint8)
        # stored by PNG without compression, so that zip -9 deflates it
        Image.fromarray(noise).save(lab.masks / f"{stem}_mask.png", compress_level=0)


def _middle_of(data: bytes, member: str) -> int:
    """Where the middle of a zip member's data lies in the zip."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    header = 30 + len(info.filename.encode()) + len(info.extra)
    return info.header_offset + header + info.compress_size // 2


@pytest.mark.parametrize(
    "options, count, reason",
    [
        ("-0", 20, "damaged member: its data does not match its checksum"),
        ("-9", 20, "damaged member: its data does not match its checksum"),
        ("-9", 400, "damaged member: its compressed data is corrupt"),
    ],
)
def test_a_zip_member_whose_data_was_damaged_is_said_in_words(
    lab, upload, tmp_path, options, count, reason
):
    """Bytes of a mask's data changed in transit (sizes and headers intact): the member is
    unreadable as a damaged member, never "not a readable image" in Python's words
    ("BadZipFile: Bad CRC-32 for file ...", "Error -3 while decompressing data")."""
    _noise_masks(lab)
    data = archive_with("zip", lab.masks, tmp_path / "m.zip", options)
    file_id = upload("batch_1.zip", data, chunk_size=4096)
    verify(lab, ["batch_1"])
    _damaged_in_store(lab, file_id, _middle_of(data, "img_002_mask.png"), count)
    row = check_content(lab, ["batch_1"]).by_batch()["batch_1"]
    assert said(row) == {"img_002_mask.png": f"img_002_mask.png: unreadable ({reason})"}


@pytest.mark.parametrize(
    "tool, options, ending",
    [
        ("tar", ("-czf",), "tar.gz"),
        ("tar", ("-cJf",), "tar.xz"),
        ("tar", ("-cjf",), "tar.bz2"),
        ("7z", (), "7z"),
        ("7z", ("-mx0",), "7z"),
    ],
)
def test_damaged_compressed_data_in_a_tar_or_7z_is_said_in_words(
    lab, upload, tmp_path, tool, options, ending
):
    """The same damage in a compressed tar or a 7z: said in words (the damaged member, the
    corrupt compressed data), never "not a readable image" nor a library's message."""
    _noise_masks(lab)
    data = archive_with(tool, lab.masks, tmp_path / f"m.{ending}", *options)
    file_id = upload(f"batch_1.{ending}", data, chunk_size=4096)
    verify(lab, ["batch_1"])
    _damaged_in_store(lab, file_id, len(data) // 2)
    row = check_content(lab, ["batch_1"]).by_batch()["batch_1"]
    reasons = {o["params"]["reason"] for o in row["offenders"] + row["notes"]}
    worded = {
        "not a readable tar archive: its compressed data is corrupt",
        # bzip2 may take damaged data for a stream that goes on past the end of the file
        "truncated archive: the compressed stream ends before the end of the archive",
        "not a readable 7z archive (damaged member: its compressed data is corrupt)",
        "not a readable 7z archive (damaged member: its data does not match its checksum)",
        "damaged member: its data does not match its checksum",
    }
    assert row["offenders"] and reasons <= worded


@pytest.mark.parametrize(
    "tool, options",
    [("tar", ("-czf",)), ("tar", ("--format=posix", "-czf")), ("bsdtar", ("-czf",))],
    ids=["gnu-tar", "gnu-tar-pax", "bsdtar-pax"],
)
def test_latin1_named_masks_of_latin1_named_images_are_all_checked(
    lab, upload, tmp_path, tool, options
):
    """An old SMB copy leaves the images named in Latin-1 (listed as `ri??n_001.png`) and the
    annotator's tar, made on the same kind of system, names the masks in the same bytes (a
    pax header marks them binary): the masks match, and each is checked against its image (it
    used to be "0 masks checked", and a label-7 mask and an empty one were delivered)."""
    images = os.fsencode(lab.settings.data_directory / "batch_1")
    masks = os.fsencode(lab.masks / "masks")
    os.makedirs(images)
    os.makedirs(masks)
    for number, mask in ((1, square(7)), (2, np.zeros((SIDE, SIDE))), (3, square()[:4, :4])):
        Image.fromarray(np.full((SIDE, SIDE), 90, np.uint8)).save(
            images + b"/ri\xf1\xf3n_00%d.png" % number, "PNG"
        )
        Image.fromarray(mask.astype(np.uint8)).save(
            masks + b"/ri\xf1\xf3n_00%d_mask.png" % number, "PNG"
        )
    data = archive_with(tool, lab.masks, tmp_path / "m.tgz", *options, env={"LC_ALL": "C"})
    row = checked(lab, upload, "batch_1.tar.gz", data)
    assert lab.work.batches.find_one({"id": "batch_1"})["mask_check"]["state"] == "complete"
    assert (row["checked"], row["notes"]) == (3, [])
    assert said(row) == {
        "ri??n_001_mask.png": "ri??n_001_mask.png: label 7 not in 0,1,2",
        "ri??n_002_mask.png": "ri??n_002_mask.png: empty",
        "ri??n_003_mask.png": "ri??n_003_mask.png: 4×4, image 8×8",  # its image opened
    }
