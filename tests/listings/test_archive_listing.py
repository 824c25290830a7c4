"""Listing the masks inside real uploads stored with GridFS on the embedded server."""

import zipfile

import pytest

from segcore.archives import archive_listing
from segcore.archives.archive_listing import list_upload
from tests.archives import encrypted_zip, images, make_tar, make_zip, run_tool

BUDGET = 64 * 1024 * 1024


@pytest.fixture
def listed(dbs, upload):
    """Store `data` as an upload and list it; returns the Listing."""

    def run(filename, data, budget=BUDGET, **options):
        file_id = upload(filename, data, **options)
        doc = dbs.masks_files.find_one({"_id": file_id})
        chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]
        return list_upload(chunks, doc, budget)

    return run


NESTED = [
    "batch_400/",
    "batch_400/masks/",
    "batch_400/masks/img_001_mask.png",
    "batch_400/masks/deep/img_002_seg.png",
    "__MACOSX/batch_400/._img_001_mask.png",
    "batch_400/.DS_Store",
    "batch_400/Thumbs.db",
    "CT_003_label.nii.gz",
]
EXPECTED = ["CT_003_label.nii.gz", "img_001_mask.png", "img_002_seg.png"]


def test_zip_lists_masks_in_nested_folders_without_system_files(listed):
    listing = listed("batch_400_part1.zip", make_zip(NESTED))
    assert (listing.kind, listing.reason, listing.names) == ("zip", None, EXPECTED)


@pytest.mark.parametrize(
    "filename, mode",
    [
        ("masks_batch_400.tar.xz", "w:xz"),
        ("BATCH400.tgz", "w:gz"),
        ("b_400.tar.gz", "w:gz"),
        ("b_400.tar.bz2", "w:bz2"),
        ("b_400.tar", "w"),
    ],
)
def test_tar_archives_list_the_same_masks(listed, filename, mode):
    listing = listed(filename, make_tar(NESTED, mode), chunk_size=1024)
    assert (listing.kind, listing.reason, listing.names) == ("tar", None, EXPECTED)


def test_a_large_zip_is_listed_from_its_last_chunks(listed):
    names = [f"batch_400/masks/{n}" for n in images(240, ext="_mask.png")]
    data = make_zip(names, size=40_000)
    listing = listed("batch_400_part1.zip", data, chunk_size=16 * 1024)
    assert len(listing.names) == 240 and listing.reason is None
    # 600 chunks stored; the central directory and its end record sit in the last two or three.
    assert listing.chunks_read <= 3
    assert listing.bytes_read < 0.01 * len(data)


def test_zip64(listed, monkeypatch):
    # Forces the zip64 end records Python writes only past 65,535 members (slow to build).
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)
    data = make_zip(images(5, ext="_mask.png"))
    monkeypatch.undo()
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data
    listing = listed("batch_7.zip", data)
    assert listing.reason is None and listing.names == images(5, ext="_mask.png")


def test_truncated_zip_is_unreadable(listed):
    data = make_zip(images(20, ext="_mask.png"), size=2000)
    listing = listed("batch_7.zip", data[: len(data) // 2])
    assert listing.names == [] and "truncated or corrupt" in listing.reason


def test_encrypted_zip_is_unreadable(listed):
    listing = listed("batch_7.zip", encrypted_zip(images(3, ext="_mask.png")))
    assert listing.reason == "encrypted zip"


def test_corrupt_xz_is_unreadable(listed):
    data = bytearray(make_tar(images(50, ext="_mask.png"), "w:xz", size=5000, random=True))
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    listing = listed("masks_batch_7.tar.xz", bytes(data))
    assert listing.names == [] and "not a readable tar archive" in listing.reason


@pytest.mark.parametrize(
    "filename, data, reason",
    [
        ("batch_7.7z", b"7z\xbc\xaf\x27\x1c" + bytes(100), "not a readable 7z archive"),
        ("batch_7_notes.docx", b"\x00\x01" * 400, "unsupported format (.docx)"),
        ("batch_7_masks", b"Rar!\x1a\x07\x01\x00" + bytes(100), "unsupported format (RAR)"),
        ("batch_7.rar", b"Rar!\x1a\x07\x00" + bytes(100), "unsupported format (RAR)"),
        ("batch_7.tar.zst", b"\x28\xb5\x2f\xfd" + bytes(100), "unsupported format (Zstandard)"),
    ],
)
def test_unknown_formats_are_unreadable(listed, filename, data, reason):
    listing = listed(filename, data)
    assert listing.reason.startswith(reason)


@pytest.mark.parametrize(
    "command, ending, format",
    [("gzip", ".gz", "gzip"), ("xz", ".xz", "xz"), ("bzip2", ".bz2", "bzip2")],
)
def test_a_single_mask_compressed_on_its_own_is_said_so_not_a_truncated_tar(
    listed, tmp_path, command, ending, format
):
    """`gzip img_001_mask.png` uploaded as it is: unreadable saying what it is, never "not a
    readable tar archive (truncated header)", which sent the annotator to upload it again."""
    (tmp_path / "img_001_mask.png").write_bytes(make_zip(["x"])[:300])  # any bytes
    run_tool(command, "img_001_mask.png", cwd=tmp_path)
    data = (tmp_path / f"img_001_mask.png{ending}").read_bytes()
    listing = listed(f"img_001_mask.png{ending}", data)
    assert listing.reason == (
        f"a single file compressed with {format} (img_001_mask.png), not an archive: "
        "upload the mask itself or an archive holding it"
    )
    assert (listing.code, listing.params["format"]) == (
        archive_listing.COMPRESSED_FILE,
        format,
    )


def test_a_tar_gz_named_gz_is_still_read_as_a_tar(listed):
    listing = listed("batch_5.gz", make_tar(images(2, ext="_mask.png"), "w:gz"))
    assert (listing.kind, listing.names) == ("tar", images(2, ext="_mask.png"))


def test_an_archive_without_extension_is_recognised_by_its_first_bytes(listed):
    listing = listed("batch_7_masks", make_tar(images(2, ext="_mask.png"), "w:gz"))
    assert (listing.kind, listing.names) == ("tar", images(2, ext="_mask.png"))


def test_a_single_mask_file_is_its_own_name_and_costs_no_read(listed):
    listing = listed("batch_7/CT_004_mask.nii.gz", b"\x1f\x8b" + bytes(5000))
    assert (listing.kind, listing.names, listing.bytes_read) == ("file", ["CT_004_mask.nii.gz"], 0)


def test_an_archive_larger_than_the_budget_is_not_read(listed):
    data = make_tar(images(40, ext="_mask.png"), "w:xz", size=5000, random=True)
    listing = listed("masks_batch_7.tar.xz", data, budget=len(data) - 1)
    assert listing.reason.startswith("too large to check") and listing.bytes_read == 0


def test_a_decompression_bomb_stops_at_the_budget(listed):
    # 64 MB of zeros compress to a few kilobytes: the budget caps what is decompressed.
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:xz") as archive:
        for name in ("a_mask.png", "b_mask.png"):
            info = tarfile.TarInfo(name)
            info.size = 32 * 1024 * 1024
            archive.addfile(info, io.BytesIO(bytes(info.size)))
    listing = listed("batch_7.tar.xz", buffer.getvalue(), budget=1024 * 1024)
    assert listing.reason.startswith("too large to check")


def test_a_missing_chunk_is_reported_not_fatal(dbs, upload, listed):
    data = make_tar(images(30, ext="_mask.png"), "w", size=3000)
    file_id = upload("masks_batch_8.tar", data, chunk_size=8 * 1024)
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]
    chunks.delete_one({"files_id": file_id, "n": 3})  # another tool's upload died half-way
    from segcore.archives.archive_listing import list_upload

    listing = list_upload(chunks, dbs.masks_files.find_one({"_id": file_id}), BUDGET)
    assert listing.reason == "truncated upload: chunk 3 is missing"
    assert (listing.code, listing.params) == (
        "truncated upload: chunk {chunk} is missing",
        {"chunk": 3},
    )


@pytest.mark.parametrize(
    "odd, said",
    [
        ({"$set": {"n": "0"}}, "a chunk's number (n) is '0', not a whole number from 0"),
        ({"$unset": {"n": ""}}, "a chunk has no number (n)"),
        ("empty extra", "chunk 1 is beyond the upload's length (its last chunk is 0)"),
        ("far extra", "chunk 5 is beyond the upload's length (its last chunk is 0)"),
    ],
)
def test_chunks_whose_totals_add_up_but_gridfs_refuses_say_what_is_wrong(dbs, upload, odd, said):
    """Every byte is there, yet pymongo's GridFS cannot read it: the reason names the odd chunk
    instead of calling a complete upload truncated ("1 of 1 chunks stored")."""
    import gridfs

    data = make_zip(images(3, ext="_mask.png"))
    file_id = upload("masks_batch_8.zip", data, chunk_size=len(data))  # one chunk
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]
    if odd == "empty extra":
        chunks.insert_one({"files_id": file_id, "n": 1, "data": b""})
    elif odd == "far extra":
        chunks.insert_one({"files_id": file_id, "n": 5, "data": b""})
    else:
        chunks.update_one({"files_id": file_id}, odd)
    with pytest.raises((gridfs.errors.CorruptGridFile, KeyError)):  # KeyError: no n
        gridfs.GridFSBucket(dbs.training, dbs.settings.masks_bucket).open_download_stream(
            file_id
        ).read()
    listing = list_upload(chunks, dbs.masks_files.find_one({"_id": file_id}), BUDGET)
    assert listing.reason == said and listing.names == []


def test_a_chunk_number_stored_as_a_double_is_read_as_gridfs_reads_it(dbs, upload):
    import gridfs

    data = make_zip(images(3, ext="_mask.png"))
    file_id = upload("masks_batch_8.zip", data, chunk_size=len(data))
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]
    chunks.update_one({"files_id": file_id}, {"$set": {"n": 0.0}})
    bucket = gridfs.GridFSBucket(dbs.training, dbs.settings.masks_bucket)
    assert bucket.open_download_stream(file_id).read() == data
    listing = list_upload(chunks, dbs.masks_files.find_one({"_id": file_id}), BUDGET)
    assert listing.reason is None and len(listing.names) == 3


def test_a_hard_link_named_without_the_dot_slash_of_its_target_gets_its_data(listed):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("./masks/a_mask.png")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"12345"))
        link = tarfile.TarInfo("./masks/b_mask.png")
        link.type, link.linkname = tarfile.LNKTYPE, "masks/a_mask.png"
        archive.addfile(link)
    listing = listed("batch_7.tgz", buffer.getvalue())
    a, b = listing.members
    assert (a["name"], b["name"]) == ("a_mask.png", "b_mask.png")
    assert (a["size"], a["digest"]) == (b["size"], b["digest"]) == (5, a["digest"])


def test_a_damaged_header_in_a_plain_tar_is_unreadable_never_a_smaller_archive(listed):
    data = bytearray(make_tar(images(6, ext="_mask.png"), "w", size=600))
    data[3 * 1536 + 100 : 3 * 1536 + 140] = b"\xff" * 40  # the fourth member's header
    listing = listed("masks_batch_7.tar", bytes(data))
    assert (listing.names, listing.reason) == (
        [],
        "not a readable tar archive (a damaged header at byte 4608)",
    )


def test_a_length_stored_as_a_double_is_a_length(dbs, upload, listed):
    """Node's BSON writes a length past 2**31 - 1 as a double; so may other tools for any."""
    file_id = upload("batch_7_masks.zip", make_zip(images(3, ext="_mask.png")), chunk_size=256)
    doc = dbs.masks_files.find_one({"_id": file_id})
    dbs.masks_files.update_one(
        {"_id": file_id}, {"$set": {"length": float(doc["length"]), "chunkSize": 256.0}}
    )
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]
    listing = list_upload(chunks, dbs.masks_files.find_one({"_id": file_id}), BUDGET)
    assert (listing.reason, listing.names) == (None, images(3, ext="_mask.png"))
    dbs.masks_files.update_one({"_id": file_id}, {"$set": {"length": doc["length"] + 0.5}})
    listing = list_upload(chunks, dbs.masks_files.find_one({"_id": file_id}), BUDGET)
    assert listing.reason == "the upload has no valid length"


def test_chunks_holding_more_than_the_length_are_said_so(dbs, upload):
    file_id = upload("batch_7_masks.zip", make_zip(images(3, ext="_mask.png")), chunk_size=256)
    dbs.masks_files.update_one({"_id": file_id}, {"$inc": {"length": -100}})
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]
    listing = list_upload(chunks, dbs.masks_files.find_one({"_id": file_id}), BUDGET)
    assert listing.reason == "the upload's chunks hold more than its length"


def test_a_single_mask_file_of_zero_bytes_is_unreadable(listed):
    listing = listed("batch_7/CT_004_mask.nii.gz", b"")
    assert (listing.kind, listing.reason, listing.names) == ("file", "an empty file (0 bytes)", [])


@pytest.mark.parametrize(
    "comment",
    [
        b"exported by tool X\nsig:PK\x05\x06 end\n",  # the signature near the end
        b"PK\x05\x06" + b"signed by the export tool, see its key" * 3,  # far from it
    ],
)
def test_a_zip_whose_comment_holds_the_end_records_signature_is_read(listed, tmp_path, comment):
    """A binary or signed archive comment may hold `PK\\x05\\x06`: 7-Zip takes the end record
    whose comment ends the file (unzip too, for a signature in the comment's last bytes), so a
    complete delivery is never "truncated or corrupt"; its members are read too (the content
    check opens them the same way)."""
    import io
    import subprocess

    from segcore.archives.archive_zip import is_whole_zip, open_zip

    masks = tmp_path / "masks"
    masks.mkdir()
    for name in images(3, ext="_mask.png"):
        (masks / name).write_bytes(name.encode() * 20)
    run_tool("zip", "-q", "-r", "out.zip", "masks", cwd=tmp_path)
    subprocess.run(["zip", "-z", "out.zip"], cwd=tmp_path, input=comment, check=True)
    run_tool("7z", "t", "out.zip", cwd=tmp_path)
    data = (tmp_path / "out.zip").read_bytes()
    assert data.count(b"PK\x05\x06") == 2

    listing = listed("batch_1.zip", data)
    assert (listing.reason, listing.names) == (None, images(3, ext="_mask.png"))
    assert is_whole_zip(io.BytesIO(data))
    with open_zip(io.BytesIO(data)) as archive:
        assert archive.read("masks/img_002_mask.png") == b"img_002_mask.png" * 20


@pytest.mark.parametrize(
    "filename", ["batch_1.zip", "batch_2.7z", "batch_3.tar.gz", "batch_4", "batch_5.7z.001"]
)
def test_an_upload_of_zero_bytes_is_said_to_be_empty_whatever_its_name(listed, filename):
    """A transfer that never started: "an empty file", never Python's "File is not a zip
    file" or "not a 7z file"."""
    listing = listed(filename, b"")
    assert (listing.reason, listing.code, listing.names) == (
        "an empty file (0 bytes)",
        archive_listing.EMPTY_FILE,
        [],
    )


@pytest.mark.parametrize("tool, ending, format", [("gzip", ".gz", "gzip"), ("xz", ".xz", "xz")])
@pytest.mark.parametrize("inner", ["zip", "7z"])
def test_a_zip_compressed_again_is_named_so_not_a_broken_tar(
    listed, tmp_path, tool, ending, format, inner
):
    """A double-compressing upload tool leaves `batch_5.zip.gz`: the reason names what it is,
    where reading it as a tar gave "not a readable tar archive (invalid header)"."""
    from tests.archives import archive_with

    masks = tmp_path / "masks"
    masks.mkdir()
    for name in images(3, ext="_mask.png"):
        (masks / name).write_bytes(name.encode() * 20)
    archive_with(inner, masks, tmp_path / f"batch_5.{inner}")
    run_tool(tool, f"batch_5.{inner}", cwd=tmp_path)
    data = (tmp_path / f"batch_5.{inner}{ending}").read_bytes()
    listing = listed(f"batch_5.{inner}{ending}", data)
    assert listing.reason == (
        f"a {inner} archive compressed with {format} (batch_5.{inner}{ending}): "
        f"upload the {inner} archive itself"
    )
    assert (listing.code, listing.params["archive"]) == (archive_listing.COMPRESSED_ARCHIVE, inner)
