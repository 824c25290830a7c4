"""A 7z's members from its headers (`py7zr`), which sit at the end: the data is never read.

Encrypted headers (`7z -mhe=on`) hide the names: *unreadable*. Encrypted data with plain
headers lists its names but no mask in it can be opened: *unreadable* too, as an encrypted zip.
A symbolic link (`7z -snl`) holds the path it points to in its data: that much is decompressed,
when the archive's whole data is within the budget (a solid block is decompressed up to it).
"""

from __future__ import annotations

import io
import lzma
import struct
import zlib

import py7zr
from py7zr import exceptions as py7zr_errors
from py7zr.io import Py7zIO, WriterFactory

from segcore.archives.archive_links import MAX_LINK_BYTES
from segcore.core.errors import N_, UnreadableUpload, UploadTooLarge, shortened

MAX_MEMBERS = 200_000
MAGIC = b"7z\xbc\xaf\x27\x1c"
START_HEADER = 32  # the magic, the version, a CRC, then the next header's offset and size
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


# The methods 7-Zip writes that py7zr does not decode, by their id in the headers.
METHOD_NAMES = {
    b"\x03\x03\x01\x1b": "BCJ2",
    b"\x0a": "ARM64",
    b"\x0b": "RISCV",
    b"\x04\xf7\x11\x01": "Zstandard",
    b"\x04\xf7\x11\x02": "Brotli",
    b"\x04\xf7\x11\x04": "LZ4",
    b"\x04\xf7\x11\x05": "LZS",
    b"\x04\xf7\x11\x06": "Lizard",
}


def error_detail(exc: BaseException) -> str:
    """py7zr's own words (English), one short line cut after its last whole word; never the
    tuple an error holding data prints (py7zr's unsupported method: its id and its words)."""
    words = [a for a in exc.args if isinstance(a, str) and a.strip()]
    text = words[0] if len(exc.args) > 1 and words else str(exc)
    lines = text.strip().splitlines()
    return shortened(lines[0].strip(), 120) if lines else type(exc).__name__


def method_name(exc: py7zr_errors.UnsupportedCompressionMethodError) -> str:
    """The method py7zr cannot decode, in plain words ("BCJ2"), from the id it names."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):  # a coder
        data = data.get("method")
    if isinstance(data, (bytes, bytearray)):
        return METHOD_NAMES.get(bytes(data), f"method {bytes(data).hex()}")
    return error_detail(exc)


class WriteOnly(Py7zIO):
    """A py7zr member writer held in memory (`data`): py7zr only writes and closes it."""

    data: io.BytesIO

    def read(self, size=None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.data.tell()

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self.data.tell()


class _Kept(WriteOnly):
    """A link member's data, kept up to MAX_LINK_BYTES."""

    def __init__(self, name: str, texts: dict):
        self.name, self.texts, self.data = name, texts, io.BytesIO()

    def write(self, data) -> int:
        if self.data.tell() < MAX_LINK_BYTES:
            self.data.write(bytes(data[: MAX_LINK_BYTES - self.data.tell()]))
        return len(data)

    def close(self) -> None:
        self.texts[self.name] = self.data.getvalue().decode("utf-8", "replace")


class _LinkTexts(WriterFactory):
    def __init__(self):
        self.texts: dict[str, str] = {}

    def create(self, filename: str) -> Py7zIO:
        return _Kept(filename, self.texts)


def link_texts(archive: py7zr.SevenZipFile, entries, budget: int | None = None) -> dict:
    """The path each symbolic link of `entries` (its `list()`) points to, by name; {} when the
    archive holds none, or more data than `budget` (a link's text may sit at the end of a solid
    block: all of it is decompressed first)."""
    names = [e.filename for e in entries if e.is_symlink and not e.is_directory]
    total = sum(int(e.uncompressed or 0) for e in entries)
    if not names or (budget is not None and total > budget):
        return {}
    found = _LinkTexts()
    archive.extract(targets=names, factory=found)
    archive.reset()
    return found.texts


def is_whole_7z(source) -> bool:
    """Whether `source` holds a whole 7z: its start header's next header (offset and size,
    after the 32 bytes of the start header) lies within it. 7-Zip's "split to volumes" at a
    size larger than the archive writes one such `x.7z.001`; the first part of several points
    past its own end."""
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    head = source.read(START_HEADER)
    if len(head) < START_HEADER or not head.startswith(MAGIC):
        return False
    offset, length = struct.unpack("<QQ", head[12:28])
    return START_HEADER + offset + length <= size


def read_7z_headers(
    source, budget: int | None = None
) -> list[tuple[str, int, int | None, str | None]]:
    """`(name, size, crc, link)` of each file in the 7z archive in `source` (seekable); `link`:
    the path a symbolic link points to (`link_texts`, within `budget`), else None.

    Raises UnreadableUpload when the headers are encrypted or the archive is corrupt.
    """
    try:
        with py7zr.SevenZipFile(source, mode="r") as archive:
            if archive.needs_password():
                raise UnreadableUpload(N_("encrypted 7z archive"))
            entries = archive.list()
            links = link_texts(archive, entries, budget) if len(entries) <= MAX_MEMBERS else {}
    except py7zr_errors.PasswordRequired:
        raise UnreadableUpload(N_("encrypted 7z headers")) from None
    except UnreadableUpload:
        raise
    except SEVEN_ZIP_ERRORS as exc:
        raise UnreadableUpload(UNREADABLE, detail=error_detail(exc)) from None
    if len(entries) > MAX_MEMBERS:
        raise UploadTooLarge(N_("too many members to check ({count})"), count=len(entries))
    return [
        (entry.filename, int(entry.uncompressed or 0), entry.crc32, links.get(entry.filename))
        for entry in entries
        if not entry.is_directory
    ]
