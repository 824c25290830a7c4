"""Uploads made by the tools annotators use (GNU tar, bsdtar, Info-ZIP, 7-Zip, Python's shutil)
from real medical files, stored in GridFS and listed as the mask check lists them."""

import gzip
import io
import os
import shutil
import struct
import tarfile
import unicodedata
import zipfile
import zlib

import pytest

from segcore.archives.archive_listing import list_upload
from segcore.archives.archive_zip import is_split_piece_name
from tests.archives import archive_with, fill, medical_files, png_bytes, run_tool

BUDGET = 64 * 1024 * 1024
HIGADO = "hígado_001_mask.png"


@pytest.fixture
def listed(dbs, upload):
    """Store `data` as an upload and list it; returns the Listing."""

    def run(filename, data, chunk_size=None):
        file_id = upload(filename, data, chunk_size=chunk_size)
        doc = dbs.masks_files.find_one({"_id": file_id})
        return list_upload(dbs.training[f"{dbs.settings.masks_bucket}.chunks"], doc, BUDGET)

    return run


@pytest.fixture
def masks(tmp_path):
    """A folder of masks as a segmentador leaves it: PNG masks, a NIfTI mask, a DICOM mask, and
    a label map and a README that are not masks."""
    real = medical_files()
    return fill(
        tmp_path / "masks",
        {
            "a_mask.png": png_bytes(1),
            "deep/b_mask.png": png_bytes(2),
            "CT_001_seg.nii.gz": real["nii_gz"],
            "IM_004_mask.dcm": real["ct"],
            "labelmap.txt": b"0 bg\n",
            "README": b"masks of batch 7\n",
        },
    )


MASKS = ["CT_001_seg.nii.gz", "IM_004_mask.dcm", "a_mask.png", "b_mask.png"]
OTHERS = ["README", "labelmap.txt"]


@pytest.mark.parametrize(
    "tool, options, name",
    [
        ("tar", ["-czf"], "b_7.tar.gz"),
        ("tar", ["-cJf"], "b_7.tar.xz"),
        ("tar", ["-cjf"], "b_7.tar.bz2"),
        ("tar", ["--format=gnu", "-cf"], "b_7.tar"),
        ("tar", ["--format=posix", "-czf"], "b_7.tgz"),
        ("bsdtar", ["-czf"], "b_7.tgz"),
        ("bsdtar", ["--format=pax", "-cJf"], "b_7.tar.xz"),
        ("zip", [], "b_7.zip"),
        ("7z", [], "b_7.7z"),
        ("7z", ["-tzip"], "b_7.zip"),
        ("bsdtar", ["--format=zip", "-c"], "b_7.zip"),
    ],
)
def test_each_tool_lists_masks_and_other_files_apart(listed, masks, tmp_path, tool, options, name):
    data = archive_with(tool, masks, tmp_path / name, *options)
    listing = listed(name, data, chunk_size=4096)
    assert (listing.reason, listing.names, listing.other_files) == (None, MASKS, OTHERS)
    sizes = {m["name"]: m["size"] for m in listing.members}
    assert sizes == {
        n: (masks / p).stat().st_size
        for n, p in zip(
            MASKS, ["CT_001_seg.nii.gz", "IM_004_mask.dcm", "a_mask.png", "deep/b_mask.png"]
        )
    }


@pytest.mark.parametrize("fmt", ["zip", "gztar", "xztar", "tar"])
def test_shutil_archives(listed, masks, tmp_path, fmt):
    path = shutil.make_archive(str(tmp_path / "batch_7"), fmt, root_dir=masks)
    listing = listed(os.path.basename(path), open(path, "rb").read())
    assert (listing.reason, listing.names, listing.other_files) == (None, MASKS, OTHERS)


@pytest.mark.parametrize(
    "tool, options", [("tar", ["-czf"]), ("bsdtar", ["-cJf"]), ("tar", ["--format=posix", "-cf"])]
)
def test_hard_links_are_masks_with_their_targets_data_and_symlinks_stay_in_the_archive(
    listed, tmp_path, tool, options
):
    folder = fill(
        tmp_path / "m", {"empty_001_mask.png": png_bytes(0), "other_mask.png": png_bytes(3)}
    )
    for n in (2, 3):  # identical empty masks: the tool stores them as links to the first
        os.link(folder / "empty_001_mask.png", folder / f"empty_00{n}_mask.png")
    os.symlink("/etc/passwd", folder / "evil_mask.png")
    os.symlink("other_mask.png", folder / "alias_mask.png")
    data = archive_with(tool, folder, tmp_path / "b.tar", *options)
    with tarfile.open(fileobj=io.BytesIO(data)) as made:
        kinds = {m.name.lstrip("./"): m.type for m in made.getmembers()}
    assert list(kinds.values()).count(tarfile.LNKTYPE) == 2  # as the tool stored them
    assert kinds["evil_mask.png"] == tarfile.SYMTYPE
    listing = listed("masks_batch_7.tar.gz", data, chunk_size=2048)
    assert listing.reason is None
    assert listing.names == [
        "alias_mask.png",
        "empty_001_mask.png",
        "empty_002_mask.png",
        "empty_003_mask.png",
        "other_mask.png",
    ]
    assert listing.other_files == ["evil_mask.png (a link to /etc/passwd, outside the archive)"]
    members = {m["name"]: m for m in listing.members}
    empty = {
        (members[f"empty_00{n}_mask.png"]["size"], members[f"empty_00{n}_mask.png"]["digest"])
        for n in (1, 2, 3)
    }
    assert len(empty) == 1 and empty.pop()[0] == len(png_bytes(0))
    assert members["alias_mask.png"]["size"] == len(png_bytes(3))  # its target's
    assert members["alias_mask.png"]["digest"] != members["other_mask.png"]["digest"]


@pytest.mark.parametrize("fmt", ["gnu", "posix", "ustar"])
def test_long_and_accented_names_and_dot_slash_prefixes(listed, tmp_path, fmt):
    deep = "/".join(["carpeta_muy_larga_de_segmentaciones"] * 4)
    long_name = "paciente_" + "x" * 120 + "_mask.png"
    names = {f"{deep}/{long_name}": png_bytes(1), f"{deep}/{HIGADO}": png_bytes(2)}
    folder = fill(tmp_path / "m", names)
    if fmt == "ustar":  # ustar cannot hold a 120-character name: GNU tar refuses it
        names = {HIGADO: png_bytes(2)}
        folder = fill(tmp_path / "u", names)
    data = archive_with("tar", folder, tmp_path / "b.tar", f"--format={fmt}", "-czf")
    listing = listed("b_7.tgz", data)
    assert listing.reason is None
    assert listing.names == sorted(n.rsplit("/", 1)[-1] for n in names)


def _gzip_cut_at_member_boundary(tar_bytes: bytes) -> bytes:
    """A complete gzip stream of a tar cut right after its first member: no end block."""
    header = 512
    size = int(tar_bytes[124:136].rstrip(b"\0 ") or b"0", 8)
    first = header + -(-size // 512) * 512
    return gzip.compress(tar_bytes[:first])


def test_a_cut_compressed_tar_is_unreadable_never_smaller(listed, masks, tmp_path):
    for options, name in ((["-czf"], "b.tar.gz"), (["-cJf"], "b.tar.xz"), (["-cjf"], "b.tar.bz2")):
        data = archive_with("tar", masks, tmp_path / name, *options)
        for cut in (len(data) // 2, len(data) - 8):
            listing = listed(name, data[:cut])
            assert listing.reason and listing.names == [], (name, cut, listing.names)
            assert listing.reason.startswith(("truncated archive", "not a readable tar archive"))
    plain = archive_with("tar", masks, tmp_path / "plain.tar", "-cf")
    listing = listed("b.tar.gz", _gzip_cut_at_member_boundary(plain))
    assert listing.reason == "truncated archive: it ends before its end-of-archive marker"
    assert listed("b.tar", plain[: len(plain) // 2]).reason is not None


TRAILERS = {
    "text": b"JUNK appended by the upload tool\n",  # gzip -t: "trailing garbage ignored"
    "signature": b"\x1f\x8b" + b"not a gzip stream\n",  # starts as a gzip member would
    "nulls": bytes(4096),  # xz's Stream Padding; `dd conv=sync` and block writers leave it
}


@pytest.mark.parametrize(
    "tool, options, name",
    [
        ("tar", ["-czf"], "b_7.tar.gz"),
        ("tar", ["-cJf"], "b_7.tar.xz"),
        ("tar", ["-cjf"], "b_7.tar.bz2"),
        ("tar", ["-cf"], "b_7.tar"),
        ("zip", [], "b_7.zip"),
        ("7z", [], "b_7.7z"),
    ],
)
@pytest.mark.parametrize("trailer", sorted(TRAILERS))
def test_data_after_a_whole_archive_is_ignored_as_bsdtar_and_gzip_ignore_it(
    listed, masks, tmp_path, tool, options, name, trailer
):
    """An archive followed by a few bytes (an upload or signing tool's trailer, a block
    writer's padding) is the archive bsdtar, `gzip -dc | tar` and `xz -t` read whole, never
    "unreadable" with Python's message quoting the bytes ("Not a gzipped file (b'JU')")."""
    data = archive_with(tool, masks, tmp_path / name, *options) + TRAILERS[trailer]
    if name.endswith(".tar.xz") and trailer == "nulls":
        (tmp_path / "padded.tar.xz").write_bytes(data)
        run_tool("xz", "-t", "padded.tar.xz", cwd=tmp_path)  # padding the format allows
    listing = listed(name, data, chunk_size=4096)
    assert (listing.reason, listing.names, listing.other_files) == (None, MASKS, OTHERS)


@pytest.mark.parametrize("compress, name", [("gzip", "b.tar.gz"), ("xz", "b.tar.xz")])
def test_a_cut_stream_stays_truncated_whatever_follows_it(listed, masks, tmp_path, compress, name):
    """Only what follows a whole stream is ignored: a stream cut short, then padding or
    another whole stream, is still an upload cut short."""
    data = archive_with("tar", masks, tmp_path / name, f"--use-compress-program={compress}", "-cf")
    (tmp_path / "second").write_bytes(b"more\n")
    run_tool(compress, "-k", "second", cwd=tmp_path)
    whole = next(tmp_path.glob("second.*")).read_bytes()
    for after in (bytes(4096), whole):
        listing = listed(name, data[: len(data) // 2] + after)
        assert listing.names == [] and listing.reason.startswith(
            ("truncated archive", "not a readable tar archive")
        )


@pytest.mark.parametrize("options, name", [("-czf", "b.tar.gz"), ("-cJf", "b.tar.xz")])
def test_corrupt_compressed_data_is_said_in_words(listed, masks, tmp_path, options, name):
    """Bytes flipped inside the compressed stream: unreadable, in words, never zlib's or
    lzma's own message. (The same archive every run: where damage lands decides whether a
    decompressor finds it corrupt or waits for more data, "truncated".)"""
    same = ("--mtime=2026-01-01", "--sort=name", "--owner=0", "--group=0", "--numeric-owner")
    data = bytearray(archive_with("tar", masks, tmp_path / name, *same, options))
    for at in range(len(data) // 2, len(data) // 2 + 20):
        data[at] ^= 0x5A
    listing = listed(name, bytes(data))
    assert listing.reason == "not a readable tar archive: its compressed data is corrupt"


def test_info_zip_utf8_names_without_the_flag(listed, tmp_path):
    folder = fill(tmp_path / "m", {HIGADO: png_bytes(1)})
    data = archive_with(
        "zip", folder, tmp_path / "b.zip", env={"LC_ALL": "C.UTF-8"}, members=(HIGADO,)
    )
    info = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    assert not info.flag_bits & 0x800  # as Info-ZIP on Linux writes it
    assert listed("b_7.zip", data).names == [HIGADO]


def _rename_member(data: bytes, old: bytes, new: bytes) -> bytes:
    """A zip whose member name bytes are replaced in place (same length), as a Windows tool
    writing CP437 would have stored them."""
    assert len(old) == len(new)
    return data.replace(old, new)


def test_cp437_names_and_the_unicode_path_field_and_backslashes(listed, tmp_path):
    # Windows' Explorer: CP437 bytes without the flag (0xA1 is í in CP437, not UTF-8).
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h?gado_002_mask.png", png_bytes(1))
        archive.writestr("masks\\sub\\bazo_001_mask.png", png_bytes(2))  # Windows separators
    data = _rename_member(buffer.getvalue(), b"h?gado_002", b"h\xa1gado_002")
    assert listed("b_7.zip", data).names == ["bazo_001_mask.png", "hígado_002_mask.png"]
    # The Info-ZIP Unicode Path extra field names the member, whatever the header says.
    unicode_name = "riñón_003_mask.png".encode("utf-8")
    field = (
        struct.pack("<HHB", 0x7075, 5 + len(unicode_name), 1)
        + struct.pack("<L", zlib.crc32(b"ri__n_003_mask.png"))
        + unicode_name
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("ri__n_003_mask.png")
        info.extra = field
        archive.writestr(info, png_bytes(3))
    assert listed("b_8.zip", buffer.getvalue()).names == ["riñón_003_mask.png"]


def test_a_zip_in_cp850_from_a_spanish_windows_lists_its_accented_names(listed, tmp_path):
    """bsdtar writes the names as Explorer does on a Spanish Windows: CP850, no UTF-8 flag."""
    stems = ["RIÑÓN_001", "CRÁNEO_002", "ÚTERO_003"]
    folder = fill(tmp_path / "in", {f"MÁSCARAS/{s}_mask.png": png_bytes(1) for s in stems})
    data = archive_with(
        "bsdtar",
        folder,
        tmp_path / "m.zip",
        "--format",
        "zip",
        "--options",
        "zip:hdrcharset=CP850",
        "-c",
        members=["MÁSCARAS"],
    )
    assert b"\xb5SCARAS/RI\xa5\xe0N" in data  # CP850 bytes, as Windows writes them
    assert listed("batch_5.zip", data).names == sorted(f"{s}_mask.png" for s in stems)


def test_parts_of_a_split_zip_are_unreadable(listed, masks, tmp_path):
    big = fill(tmp_path / "big", {f"img_{n:03d}_mask.png": os.urandom(40_000) for n in range(8)})
    run_tool("zip", "-q", "-r", "-s", "100k", str(tmp_path / "split.zip"), ".", cwd=big)
    parts = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("split."))
    assert parts[:2] == ["split.z01", "split.z02"] and parts[-1] == "split.zip"
    for part, upload_name in (
        ("split.zip", "batch_7.zip"),
        ("split.z01", "batch_7.z01"),
        ("split.z01", "batch_7_first.zip"),
        ("split.z02", "batch_7.z02"),
    ):
        listing = listed(upload_name, (tmp_path / part).read_bytes())
        assert (listing.reason, listing.names) == ("part of a split archive", []), upload_name
        assert listing.code == "part of a split archive"


PIECE = "looks like one part of a split archive (split -b): upload the whole archive, not its parts"


@pytest.mark.parametrize(
    "archive, split_options, prefix",
    [
        (("zip", "b.zip"), (), "b.zip."),  # b.zip.aa, b.zip.ab, ...
        (("zip", "b.zip"), ("-d",), "b.zip.part"),  # b.zip.part00, ...
        (("tar", "b.tgz", "-czf"), (), "b.tgz."),
        (("7z", "b.7z", "-mx=0"), (), "b.7z."),
    ],
)
def test_pieces_cut_by_split_say_to_upload_the_whole_archive(
    listed, tmp_path, archive, split_options, prefix
):
    """`split -b` pieces uploaded one by one: each is unreadable saying it is one part of a
    split archive and to upload the whole archive, never "File is not a zip file", "truncated
    archive" or "unsupported format (.ab)"."""
    big = fill(tmp_path / "big", {f"img_{n:03d}_mask.png": os.urandom(40_000) for n in range(8)})
    tool, name, *options = archive
    archive_with(tool, big, tmp_path / name, *options)
    run_tool("split", "-b", "100000", *split_options, name, prefix, cwd=tmp_path)
    pieces = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(prefix))
    assert len(pieces) > 2
    for piece in (pieces[0], pieces[1], pieces[-1]):
        listing = listed(piece.replace("b.", "batch_7.", 1), (tmp_path / piece).read_bytes())
        assert (listing.reason, listing.names, listing.code) == (PIECE, [], PIECE), piece


def test_a_whole_archive_split_left_in_one_piece_is_read_as_it(listed, masks, tmp_path):
    """`split -b 10M` of a smaller zip writes one piece, `x.zip.aa`, the whole zip: listed; an
    encrypted one keeps its own reason."""
    archive_with("zip", masks, tmp_path / "w.zip")
    archive_with("zip", masks, tmp_path / "e.zip", "-P", "secret")
    for name in ("w.zip", "e.zip"):
        run_tool("split", "-b", "10M", name, f"{name}.", cwd=tmp_path)
    listing = listed("batch_7.zip.aa", (tmp_path / "w.zip.aa").read_bytes())
    assert (listing.reason, listing.names) == (None, MASKS)
    assert listed("batch_8.zip.aa", (tmp_path / "e.zip.aa").read_bytes()).reason == "encrypted zip"


@pytest.mark.parametrize(
    "name, piece",
    [
        ("batch_1.zip.aa", True),
        ("batch_1.zip.ab", True),
        ("batch_1.zip.00", True),
        ("batch_1.zip.part00", True),
        ("batch_1.tar.gz.aa", True),
        ("batch_1.tgz.ac", True),
        ("batch_1.7z.aa", True),
        ("batch_1.tar.gz", False),
        ("batch_1.tar.xz", False),
        ("batch_1.zip", False),
        ("batch_1.zip.bak", False),
        ("img_001_mask.png", False),
    ],
)
def test_the_names_split_gives_its_pieces(name, piece):
    assert is_split_piece_name(name) is piece


@pytest.mark.parametrize("options, ending", [((), "7z"), (("-tzip",), "zip")])
def test_a_whole_archive_in_one_7_zip_volume_is_read(listed, masks, tmp_path, options, ending):
    """7-Zip's "split to volumes" at a size larger than the archive writes one file,
    `x.7z.001` (or `x.zip.001`), which `7z t` accepts: it is read as the archive it is."""
    run_tool("7z", "a", "-bd", *options, "-v10m", str(tmp_path / f"one.{ending}"), ".", cwd=masks)
    written = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("one."))
    assert written == [f"one.{ending}.001"]
    run_tool("7z", "t", f"one.{ending}.001", cwd=tmp_path)
    listing = listed(f"batch_7.{ending}.001", (tmp_path / written[0]).read_bytes(), 4096)
    assert (listing.reason, listing.kind, listing.names) == (None, ending, MASKS)
    assert listing.other_files == OTHERS


@pytest.mark.parametrize("options, ending", [((), "7z"), (("-tzip",), "zip")])
def test_parts_of_a_7_zip_split_archive_are_unreadable(listed, tmp_path, options, ending):
    """The first volume of several (`x.7z.001` whose headers sit in the last part; a zip's
    first bytes) is a part of a split archive, as every later part."""
    big = fill(tmp_path / "big", {f"img_{n:03d}_mask.png": os.urandom(40_000) for n in range(8)})
    run_tool("7z", "a", "-bd", *options, "-v100k", str(tmp_path / f"s.{ending}"), ".", cwd=big)
    parts = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("s."))
    assert parts[:2] == [f"s.{ending}.001", f"s.{ending}.002"] and len(parts) > 2
    for part in (parts[0], parts[1], parts[-1]):
        listing = listed(f"batch_7.{part[2:]}", (tmp_path / part).read_bytes())
        assert (listing.reason, listing.names) == ("part of a split archive", []), part


def test_7z_encrypted_headers_and_encrypted_data_are_unreadable(listed, masks, tmp_path):
    hidden = archive_with("7z", masks, tmp_path / "h.7z", "-mhe=on", "-psecret")
    listing = listed("batch_7.7z", hidden)
    assert (listing.reason, listing.names) == ("encrypted 7z headers", [])
    locked = archive_with("7z", masks, tmp_path / "l.7z", "-psecret")
    assert listed("batch_7.7z", locked).reason == "encrypted 7z archive"
    whole = archive_with("7z", masks, tmp_path / "w.7z")
    listing = listed("batch_7_masks", whole, chunk_size=4096)  # recognised by its first bytes
    assert listing.names == MASKS
    assert listing.chunks_read <= 3 < len(whole) // 4096  # its headers, not its data


def test_decomposed_accents_are_stored_composed(listed, tmp_path):
    decomposed = unicodedata.normalize("NFD", HIGADO)
    folder = fill(tmp_path / "m", {decomposed: png_bytes(1)})
    data = archive_with("zip", folder, tmp_path / "b.zip", members=(decomposed,))
    assert listed("b_7.zip", data).names == [HIGADO]


def test_a_chunk_missing_or_short_in_a_part_never_read_makes_the_upload_unreadable(
    dbs, upload, masks, tmp_path
):
    data = archive_with("zip", masks, tmp_path / "b.zip", "-0")
    chunks = dbs.training["masks.chunks"]
    first = upload("b_7.zip", data, chunk_size=1024)
    second = upload("b_8.zip", data, chunk_size=1024)
    chunks.delete_one({"files_id": first, "n": 3})  # in the middle: the directory is at the end
    chunks.update_one({"files_id": second, "n": 4}, {"$set": {"data": b"short"}})
    for file_id in (first, second):
        listing = list_upload(chunks, dbs.masks_files.find_one({"_id": file_id}), BUDGET)
        assert listing.reason.startswith("truncated upload") and listing.names == []
        assert listing.chunks_read == 0  # found by one aggregate, before reading anything
    # A tar is read whole: the chunk after its end-of-archive block is checked too.
    tar = archive_with("tar", masks, tmp_path / "b.tar", "-cf")
    third = upload("b_9.tar", tar, chunk_size=1024)
    last = -(-len(tar) // 1024) - 1
    chunks.update_one({"files_id": third, "n": last}, {"$set": {"data": b"\0" * 10}})
    listing = list_upload(chunks, dbs.masks_files.find_one({"_id": third}), BUDGET)
    assert listing.reason == f"truncated upload: chunk {last} holds 10 bytes, not 1024"
    # A chunk beyond the length: the chunks do not add up either.
    for name, content in (("b_10.tar", tar), ("b_11.zip", data)):
        file_id = upload(name, content, chunk_size=1024)
        chunks.insert_one({"files_id": file_id, "n": -(-len(content) // 1024), "data": b"x"})
        listing = list_upload(chunks, dbs.masks_files.find_one({"_id": file_id}), BUDGET)
        assert listing.reason is not None and listing.names == [], name


@pytest.mark.parametrize("tool", ["zip", "7z", "tar", "bsdtar"])
def test_a_mask_of_zero_bytes_is_no_mask(tmp_path, listed, tool):
    """A failed export leaves a 0-byte mask: its image counts as without a mask, and the file
    is named among the other files; a link to a real mask still counts."""
    folder = fill(tmp_path / "in", {"img_001_mask.png": png_bytes(1), "img_002_mask.png": b""})
    members = ["img_001_mask.png", "img_002_mask.png"]
    if tool in ("tar", "bsdtar"):
        (folder / "img_003_mask.png").symlink_to("img_001_mask.png")
        members.append("img_003_mask.png")
    out = tmp_path / ("masks.zip" if tool == "zip" else "masks.7z" if tool == "7z" else "m.tar")
    options = ("-cf",) if tool.endswith("tar") else ()
    data = archive_with(tool, folder, out, *options, members=members)
    listing = listed(out.name, data)
    expected = ["img_001_mask.png"] + (["img_003_mask.png"] if tool.endswith("tar") else [])
    assert (listing.reason, listing.names) == (None, expected)
    assert listing.other_files == ["img_002_mask.png (0 bytes)"]


def test_a_7z_whose_compressed_headers_are_damaged_is_unreadable(tmp_path, listed):
    """7-Zip packs its headers with LZMA: damaged there, the archive cannot be listed (one
    upload never stops a sync)."""
    folder = fill(tmp_path / "in", {f"img_00{n}_mask.png": png_bytes(n) for n in (1, 2, 3)})
    data = bytearray(archive_with("7z", folder, tmp_path / "m.7z", "-mx=9"))
    header_end = 32 + int.from_bytes(data[12:20], "little")
    data[header_end - 12 : header_end - 4] = bytes(8)  # the packed header, just before its end
    listing = listed("batch_7_masks.7z", bytes(data))
    assert listing.reason.startswith("not a readable 7z archive (")
    assert listing.names == []


@pytest.mark.parametrize("tool, append", [("tar", "-uf"), ("tar", "-rf"), ("bsdtar", "-rf")])
def test_a_path_held_twice_is_its_last_copy_as_extracting_leaves_it(tmp_path, listed, tool, append):
    """`tar -u` (or `-r`) after a failed re-export appends a 0-byte copy: extracting leaves the
    empty file, so the image is without a mask; a good copy appended after an empty one is a
    mask."""
    folder = fill(tmp_path / "in", {f"img_00{n}_mask.png": png_bytes(n) for n in (1, 2, 3)})
    (folder / "img_004_mask.png").write_bytes(b"")
    out = tmp_path / "m.tar"
    archive_with(tool, folder, out, "-cf")
    (folder / "img_003_mask.png").write_bytes(b"")
    (folder / "img_004_mask.png").write_bytes(png_bytes(4))
    for name in ("img_003_mask.png", "img_004_mask.png"):
        os.utime(folder / name, (2e9, 2e9))  # newer: `tar -u` appends it
    data = archive_with(tool, folder, out, append, members=["img_003_mask.png", "img_004_mask.png"])
    with tarfile.open(fileobj=io.BytesIO(data)) as made:
        assert [m.name.lstrip("./") for m in made.getmembers()].count("img_003_mask.png") == 2
    listing = listed("batch_3.tar", data)
    assert listing.names == ["img_001_mask.png", "img_002_mask.png", "img_004_mask.png"]
    assert listing.other_files == ["img_003_mask.png (0 bytes)"]
    sizes = {m["name"]: m["size"] for m in listing.members}
    assert sizes["img_004_mask.png"] == len(png_bytes(4))


def test_a_zip_holding_a_path_twice_is_its_last_copy(tmp_path, listed):
    """Python's zipfile writes a name again (with a warning); unzip extracts the last."""
    buffer = io.BytesIO()
    with pytest.warns(UserWarning), zipfile.ZipFile(buffer, "w") as made:
        made.writestr("masks/img_001_mask.png", png_bytes(1))
        made.writestr("masks/img_002_mask.png", png_bytes(2))
        made.writestr("masks/img_002_mask.png", b"")
    listing = listed("batch_3.zip", buffer.getvalue())
    assert (listing.names, listing.other_files) == (
        ["img_001_mask.png"],
        ["img_002_mask.png (0 bytes)"],
    )


@pytest.mark.parametrize(
    "tool, options",
    [
        ("tar", ["-czf"]),
        ("bsdtar", ["-cf"]),
        ("zip", ["-y"]),
        ("7z", ["-snl"]),
        ("7z", ["-tzip", "-snl"]),
    ],
)
def test_symbolic_links_count_as_the_file_they_lead_to_in_every_format(
    listed, tmp_path, tool, options
):
    """`zip -y`, `7z -snl` and tar store a link as the path it points to: it counts as the
    member it leads to (its size), through other links too; a link out of the archive or to
    nothing in it is no mask, said among the other files."""
    folder = fill(tmp_path / "m", {"img_001_mask.png": png_bytes(1)})
    (folder / "sub").mkdir()
    os.symlink("img_001_mask.png", folder / "img_002_mask.png")
    os.symlink("../img_002_mask.png", folder / "sub" / "img_003_mask.png")  # a link to a link
    os.symlink("/etc/passwd", folder / "evil_mask.png")
    os.symlink("../../x.png", folder / "up_mask.png")
    os.symlink("missing.png", folder / "gone_mask.png")
    name = "b.zip" if "zip" in tool or "-tzip" in options else "b.7z" if tool == "7z" else "b.tgz"
    listing = listed(name, archive_with(tool, folder, tmp_path / name, *options))
    assert listing.reason is None
    assert listing.names == ["img_001_mask.png", "img_002_mask.png", "img_003_mask.png"]
    assert listing.other_files == [
        "evil_mask.png (a link to /etc/passwd, outside the archive)",
        "gone_mask.png (a link to missing.png, no file of the archive)",
        "up_mask.png (a link to ../../x.png, outside the archive)",
    ]
    assert {m["size"] for m in listing.members} == {len(png_bytes(1))}


def test_an_upload_that_cannot_be_read_is_counted_as_read_once(listed, masks, tmp_path):
    """A zip cut short (the first part of `split -b`), a tar.gz cut short and a 7z whose
    headers are encrypted have their first chunk read again for their first bytes: "MB read"
    counts it once, never more than the upload holds."""
    fill(masks, {"scan_raw.bin": os.urandom(150_000)})
    zipped = archive_with("zip", masks, tmp_path / "b.zip")
    run_tool("split", "-b", "100000", "b.zip", "b.zip.", cwd=tmp_path)
    tgz = archive_with("tar", masks, tmp_path / "b.tgz", "-czf")
    hidden = archive_with("7z", masks, tmp_path / "h.7z", "-mhe=on", "-psecret")
    assert len(zipped) > 100_000
    for name, data in (
        ("batch_7.zip", (tmp_path / "b.zip.aa").read_bytes()),
        ("batch_7.tgz", tgz[:100_000]),
        ("batch_7.7z", hidden),
    ):
        listing = listed(name, data)
        assert listing.reason and listing.names == [], name
        chunks = -(-len(data) // 261_120)  # GridFS's default chunk size
        assert listing.bytes_read <= len(data) and listing.chunks_read <= chunks, name


@pytest.mark.parametrize("options", [("-czf",), ("-cJf",)])
def test_a_tar_whose_masks_come_before_the_budget_runs_out_counts_them(
    dbs, upload, masks, tmp_path, options
):
    """Masks, then a raw scan decompressing past MASK_CHECK_BUDGET_MB: the masks read before
    it ran out count, and the rest is listed as not read, never "too large to check" with no
    mask; a tar whose first member runs past it is still too large to check."""
    from segcore.content.reason_words import other_file
    from segcore.core.translations import translations

    fill(masks, {"zz_scan_raw.bin": bytes(3 * 1024 * 1024)})
    names = sorted(p.name for p in masks.iterdir())
    data = archive_with("tar", masks, tmp_path / "b.tar", *options, members=names)
    raw_first = archive_with("tar", masks, tmp_path / "r.tar", *options, members=names[::-1])
    chunks = dbs.training[f"{dbs.settings.masks_bucket}.chunks"]

    def listed(filename, data):
        doc = dbs.masks_files.find_one({"_id": upload(filename, data)})
        return list_upload(chunks, doc, 1024 * 1024)

    listing = listed("batch_7.tar", data)
    rest = "the rest of the archive, past its first 1 MB (not read)"
    assert (listing.reason, listing.names) == (None, MASKS)
    assert listing.other_files == sorted([*OTHERS, rest])
    spanish = other_file(rest, translations("es").gettext)
    assert spanish == "el resto del archivo, más allá de sus primeros 1 MB (sin leer)"
    listing = listed("batch_8.tar", raw_first)
    assert listing.reason == "too large to check (over the budget of 1 MB)"
    assert listing.names == []
