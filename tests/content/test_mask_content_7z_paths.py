"""A 7z's masks are content-checked whatever their paths, as the listing counts them: a path
held twice is its last copy (as `7z x` leaves it), and paths starting with `/` (`7z a -spf`,
`bsdtar -P`) or a Windows drive (`C:/Users/…`) or holding `..` are read, never skipped or
refused with py7zr's "Specified path is bad"."""

import numpy as np
import py7zr
import pytest

from segcore.archives.archive_7z import extract_files
from tests.archives import run_tool
from tests.content.test_mask_content_archives import SIDE, checked, lab, png, said, square

__all__ = ["lab"]  # the fixture, used by name

LABEL_9 = "case_2_mask.png: label 9 not in 0,1,2"


def two_copies(tmp_path, first, last):
    """Two folders each holding `masks/case_2_mask.png` (first `first`, then `last`)."""
    for folder, array in (("first", first), ("last", last)):
        png(tmp_path / folder / "masks" / "case_1_mask.png", square(1))
        png(tmp_path / folder / "masks" / "case_2_mask.png", array)


def bsdtar_twice(tmp_path) -> bytes:
    """bsdtar writes a path given twice twice (`7z l` lists both; `7z x` leaves the last)."""
    out = tmp_path / "m.7z"
    run_tool(
        "bsdtar", "--format", "7zip", "-cf", str(out), "-C", "first", "masks", "-C", "../last",
        "masks", cwd=tmp_path,
    )  # fmt: skip
    return out.read_bytes()


def py7zr_appended(tmp_path) -> bytes:
    """An annotator's script: the 7z written with py7zr, the fixed mask added later in its
    append mode, which adds the path again."""
    out = tmp_path / "m.7z"
    with py7zr.SevenZipFile(out, "w") as archive:
        archive.writeall(tmp_path / "first" / "masks", "masks")
    with py7zr.SevenZipFile(out, "a") as archive:
        archive.write(tmp_path / "last" / "masks" / "case_2_mask.png", "masks/case_2_mask.png")
    return out.read_bytes()


@pytest.mark.parametrize("make", [bsdtar_twice, py7zr_appended])
@pytest.mark.parametrize("bad_first", [True, False])
def test_a_mask_held_twice_in_a_7z_is_checked_as_its_last_copy(
    lab, upload, tmp_path, make, bad_first
):
    """A fix appended after a bad mask makes the upload usable; a bad mask appended after a
    good one is found, as in a zip or a tar."""
    lab.images("case_1", "case_2")
    bad, good = square(9), square(1)
    two_copies(tmp_path, *((bad, good) if bad_first else (good, bad)))
    row = checked(lab, upload, "batch_1.7z", make(tmp_path))
    assert row["checked"] == 2 and not row["notes"]
    assert said(row) == ({} if bad_first else {"case_2_mask.png": LABEL_9})


def test_a_fix_appended_after_an_empty_first_copy_is_checked(lab, upload, tmp_path):
    """A first copy of 0 bytes (an export that failed) and the fix appended after it with
    py7zr: usable. (bsdtar stores a 0-byte file after the others: there the empty copy is the
    last, and `7z x` leaves it empty.)"""
    lab.images("case_1", "case_2")
    two_copies(tmp_path, np.zeros((SIDE, SIDE)), square(1))
    (tmp_path / "first" / "masks" / "case_2_mask.png").write_bytes(b"")
    row = checked(lab, upload, "batch_1.7z", py7zr_appended(tmp_path))
    assert (row["checked"], row["problems"], said(row)) == (2, 0, {})


def masks_under(folder):
    png(folder / "case_1_mask.png", square(1))
    png(folder / "case_2_mask.png", square(9))
    return folder


@pytest.mark.parametrize(
    "command",
    [
        ("7z", "a", "-bd", "-spf"),  # 7-Zip's "absolute pathnames" mode
        ("bsdtar", "-P", "--format", "7zip", "-cf"),
    ],
)
def test_a_7z_of_absolute_paths_has_its_masks_checked(lab, upload, tmp_path, command):
    """Members `/home/flor/…/masks/case_1_mask.png`: counted by the listing, and checked."""
    lab.images("case_1", "case_2")
    masks = masks_under(tmp_path / "home" / "flor" / "masks")
    run_tool(*command, str(tmp_path / "m.7z"), str(masks), cwd=tmp_path)
    with py7zr.SevenZipFile(tmp_path / "m.7z") as archive:
        assert all(e.filename.startswith("/") for e in archive.list())
    row = checked(lab, upload, "batch_1.7z", (tmp_path / "m.7z").read_bytes())
    assert (row["checked"], said(row)) == (2, {"case_2_mask.png": LABEL_9})
    check = lab.work.batches.find_one({"id": "batch_1"})["mask_check"]
    assert (check["state"], check["masks"]) == ("complete", 2)


def test_a_7z_whose_paths_start_with_a_windows_drive_has_its_masks_checked(lab, upload, tmp_path):
    """7-Zip's `-spf` keeps a path's drive (`C:/Users/flor/Desktop/masks/…`, here from a
    folder named `C:`, as 7-Zip on Windows writes it): read as the listing reads it, never
    refused with py7zr's "Specified path is bad"."""
    lab.images("case_1", "case_2")
    masks_under(tmp_path / "C:" / "Users" / "flor" / "Desktop" / "masks")
    run_tool("7z", "a", "-bd", "-spf", "m.7z", "C:/Users/flor/Desktop/masks", cwd=tmp_path)
    with py7zr.SevenZipFile(tmp_path / "m.7z") as archive:
        assert all(e.filename.startswith("C:/Users/") for e in archive.list())
    row = checked(lab, upload, "batch_1.7z", (tmp_path / "m.7z").read_bytes())
    assert (row["checked"], said(row), row["notes"]) == (2, {"case_2_mask.png": LABEL_9}, [])


def test_a_7z_member_path_through_a_parent_folder_is_checked(lab, upload, tmp_path):
    """`masks/sub/../case_1_mask.png` (py7zr writes what it is given): the listing's
    `masks/case_1_mask.png`, checked."""
    lab.images("case_1", "case_2")
    masks = masks_under(tmp_path / "masks")
    with py7zr.SevenZipFile(tmp_path / "m.7z", "w") as archive:
        for name in ("case_1_mask.png", "case_2_mask.png"):
            archive.write(masks / name, f"masks/sub/../{name}")
    row = checked(lab, upload, "batch_1.7z", (tmp_path / "m.7z").read_bytes())
    assert (row["checked"], said(row)) == (2, {"case_2_mask.png": LABEL_9})


def test_extracting_by_position_gives_each_copy_and_restores_the_names(tmp_path):
    """`extract_files` hands each file to its position's writer, and py7zr's names after."""
    two_copies(tmp_path, square(9), square(1))
    data = {}

    class Kept(py7zr.io.Py7zIO):
        def __init__(self, position):
            self.position, self.parts = position, []

        def write(self, piece):
            self.parts.append(bytes(piece))
            return len(piece)

        def read(self, size=None):
            return b""

        def seek(self, offset, whence=0):
            return 0

        def flush(self):
            pass

        def size(self):
            return 0

        def close(self):
            data[self.position] = b"".join(self.parts)

    bsdtar_twice(tmp_path)
    with py7zr.SevenZipFile(tmp_path / "m.7z") as archive:
        names = [e.filename for e in archive.list()]
        copies = [i for i, n in enumerate(names) if n == "masks/case_2_mask.png"]
        extract_files(archive, copies, Kept)
        assert [e.filename for e in archive.list()] == names
    assert [data[i] for i in copies] == [
        (tmp_path / f / "masks" / "case_2_mask.png").read_bytes() for f in ("first", "last")
    ]
