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
from collections.abc import Callable, Iterable

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

    def __init__(self, position: int, texts: dict):
        self.position, self.texts, self.data = position, texts, io.BytesIO()

    def write(self, data) -> int:
        if self.data.tell() < MAX_LINK_BYTES:
            self.data.write(bytes(data[: MAX_LINK_BYTES - self.data.tell()]))
        return len(data)

    def close(self) -> None:
        self.texts[self.position] = self.data.getvalue().decode("utf-8", "replace")


class _ByPosition(WriterFactory):
    """py7zr's writer factory for `extract_files`: each file is named by its position."""

    def __init__(self, writer: Callable[[int], Py7zIO]):
        self.writer = writer

    def create(self, filename: str) -> Py7zIO:
        return self.writer(int(filename))


def extract_files(
    archive: py7zr.SevenZipFile, positions: Iterable[int], writer: Callable[[int], Py7zIO]
) -> None:
    """Extract the files at `positions` (their places in `archive.list()`), each into
    `writer(position)`, whatever their names.

    py7zr extracts by name and hands its writers the names it would write on disk: it refuses
    a name starting with a drive (`C:\\Users\\…`, as 7-Zip's `-spf` keeps it on Windows) or
    holding `..`, drops a leading `/` (`7z a -spf`, `bsdtar -P`) and calls a path's second copy
    `x_0` (py7zr's append mode adds a path again); so each file is named by its position for
    the extraction, and given its own name back after. A damaged member's CrcError names its
    position (its third value). Raises what py7zr raises."""
    files = [entry._file_info for entry in archive.files]  # the dicts py7zr reads names from
    names = [info.get("filename") for info in files]
    try:
        for position, info in enumerate(files):
            info["filename"] = str(position)
        archive.extract(targets=[str(p) for p in positions], factory=_ByPosition(writer))
    except py7zr_errors.CrcError as exc:
        where = exc.args[2] if len(exc.args) > 2 else None
        position = int(where) if isinstance(where, str) and where.isdigit() else None
        raise py7zr_errors.CrcError(*exc.args[:2], position) from None
    finally:
        for info, name in zip(files, names):
            info["filename"] = name


def link_texts(archive: py7zr.SevenZipFile, entries, budget: int | None = None) -> dict:
    """The path each symbolic link of `entries` (the archive's `list()`, whole) points to, by
    its position there; {} when the archive holds none, or more data than `budget` (a link's
    text may sit at the end of a solid block: all of it is decompressed first)."""
    positions = [i for i, e in enumerate(entries) if e.is_symlink and not e.is_directory]
    total = sum(int(e.uncompressed or 0) for e in entries)
    if not positions or (budget is not None and total > budget):
        return {}
    texts: dict[int, str] = {}
    extract_files(archive, positions, lambda position: _Kept(position, texts))
    archive.reset()
    return texts


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
        (entry.filename, int(entry.uncompressed or 0), entry.crc32, links.get(position))
        for position, entry in enumerate(entries)
        if not entry.is_directory
    ]
