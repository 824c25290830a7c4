"""Real archives built in memory for the mask-check tests, as the segmentadores' tools make them."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path


def mask_bytes(size: int = 300) -> bytes:
    """Content standing in for a mask file."""
    return bytes(i * 7 % 251 for i in range(size))


def make_zip(names, size: int = 300, random: bool = False, **options) -> bytes:
    """A zip holding one file per name (a name ending in / is a directory)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED, **options) as archive:
        for name in names:
            if name.endswith("/"):
                archive.writestr(zipfile.ZipInfo(name), b"")
            else:
                archive.writestr(name, os.urandom(size) if random else mask_bytes(size))
    return buffer.getvalue()


def make_tar(names, mode: str = "w:xz", size: int = 300, random: bool = False) -> bytes:
    """A tar (compressed as `mode` says) holding one file per name (a name ending in / is a
    directory)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name in names:
            info = tarfile.TarInfo(name.rstrip("/"))
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
                continue
            data = os.urandom(size) if random else mask_bytes(size)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def encrypted_zip(names) -> bytes:
    """A zip whose members carry the "encrypted" flag, as a password-protected zip does
    (Python's zipfile cannot encrypt; the flag in the central directory is what a check sees)."""
    raw = bytearray(make_zip(names))
    position = 0
    while True:
        position = raw.find(b"PK\x01\x02", position)
        if position < 0:
            break
        raw[position + 8] |= 0x1  # general purpose flag bit 0 in the central directory entry
        position += 4
    position = 0
    while True:
        position = raw.find(b"PK\x03\x04", position)
        if position < 0:
            break
        raw[position + 6] |= 0x1  # and in the local header
        position += 4
    return bytes(raw)


def images(count: int, prefix: str = "img_", ext: str = ".png") -> list[str]:
    return [f"{prefix}{n:03d}{ext}" for n in range(1, count + 1)]


# --- real files, archived by the real tools ------------------------------------------------


def medical_files() -> dict[str, Path]:
    """Real files the test packages ship: DICOM (pydicom, also a DICOMDIR tree whose files have
    no extension) and NIfTI (nibabel)."""
    import nibabel
    import pydicom

    dicom = Path(pydicom.__file__).parent / "data" / "test_files"
    nifti = Path(nibabel.__file__).parent / "tests" / "data"
    return {
        "ct": dicom / "CT_small.dcm",
        "mr": dicom / "MR_small.dcm",
        "dicomdir": dicom / "dicomdirtests",
        "nii_gz": nifti / "example4d.nii.gz",
        "nii": nifti / "anatomical.nii",
    }


def png_bytes(value: int = 0, size: int = 8) -> bytes:
    """A real grey PNG written by Pillow (a mask is an image of labels)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (size, size), value).save(buffer, format="PNG")
    return buffer.getvalue()


def fill(folder: Path, files: dict[str, bytes | Path]) -> Path:
    """Write `files` (relative name: bytes, or a real file to copy) under `folder`."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, path)
        else:
            path.write_bytes(content)
    return folder


def run_tool(*command: str, cwd: Path, env: dict | None = None) -> None:
    """Run an archiver; a failure shows its own message."""
    done = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="replace",  # a tool names a Latin-1 file in its own bytes
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    assert done.returncode == 0, f"{command}: {done.stderr or done.stdout}"


def archive_with(
    tool: str, folder: Path, out: Path, *options: str, members=(".",), env: dict | None = None
) -> bytes:
    """The bytes of an archive of `folder`'s contents made by `tool` (tar, bsdtar, zip, 7z)."""
    out = out.resolve()
    if tool in ("tar", "bsdtar"):
        # `-czf` style options end in f; others (`-c`) get one.
        ends_in_f = bool(options) and not options[-1].startswith("--") and options[-1].endswith("f")
        run_tool(
            tool, *options, *(() if ends_in_f else ("-f",)), str(out), *members, cwd=folder, env=env
        )
    elif tool == "zip":
        run_tool("zip", "-q", "-r", *options, str(out), *members, cwd=folder, env=env)
    elif tool == "7z":
        run_tool("7z", "a", "-bd", "-y", *options, str(out), *members, cwd=folder, env=env)
    else:
        raise ValueError(tool)
    return out.read_bytes()
