"""A 7z's members from its headers (`py7zr`), which sit at the end: the data is never read.

Encrypted headers (`7z -mhe=on`) hide the names: *unreadable*. Encrypted data with plain
headers lists its names but no mask in it can be opened: *unreadable* too, as an encrypted zip.
"""

from __future__ import annotations

import lzma
import zlib

import py7zr
from py7zr import exceptions as py7zr_errors

from segcore.core.errors import N_, UnreadableUpload, UploadTooLarge

MAX_MEMBERS = 200_000
MAGIC = b"7z\xbc\xaf\x27\x1c"
UNREADABLE = N_("not a readable 7z archive ({detail})")
SEVEN_ZIP_ERRORS = (  # what py7zr raises for a corrupt, cut or unsupported archive
    py7zr_errors.ArchiveError,
    py7zr_errors.Bad7zFile,
    py7zr_errors.InternalError,
    py7zr_errors.UnsupportedCompressionMethodError,
    py7zr_errors.DecompressionError,
    py7zr_errors.CrcError,
    lzma.LZMAError,  # a compressed header (7-Zip's default) or stream that is corrupt
    zlib.error,
    EOFError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    OSError,
)


def error_detail(exc: BaseException) -> str:
    """py7zr's own words (English), one short line."""
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def read_7z_headers(source) -> list[tuple[str, int, int | None]]:
    """`(name, size, crc)` of each file in the 7z archive in `source` (seekable).

    Raises UnreadableUpload when the headers are encrypted or the archive is corrupt.
    """
    try:
        with py7zr.SevenZipFile(source, mode="r") as archive:
            if archive.needs_password():
                raise UnreadableUpload(N_("encrypted 7z archive"))
            entries = archive.list()
    except py7zr_errors.PasswordRequired:
        raise UnreadableUpload(N_("encrypted 7z headers")) from None
    except UnreadableUpload:
        raise
    except SEVEN_ZIP_ERRORS as exc:
        raise UnreadableUpload(UNREADABLE, detail=error_detail(exc)) from None
    if len(entries) > MAX_MEMBERS:
        raise UploadTooLarge(N_("too many members to check ({count})"), count=len(entries))
    return [
        (entry.filename, int(entry.uncompressed or 0), entry.crc32)
        for entry in entries
        if not entry.is_directory
    ]
