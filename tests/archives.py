"""Real archives built in memory for the mask-check tests, as the segmentadores' tools make them."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile


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
