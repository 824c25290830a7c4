"""A zip's members from its central directory only, named as the tool that wrote it meant.

- Names: a name with the UTF-8 flag is UTF-8; without it, UTF-8 when the bytes are valid UTF-8
  (Info-ZIP on Linux and many other tools write UTF-8 without setting the flag), else the code
  page of the Windows that wrote it (`legacy_name`: CP850 in Spain and Latin America, whose
  accented capitals CP437 reads as Greek letters and box drawing, else CP437, the zip default);
  the Info-ZIP Unicode Path extra field (0x7075) wins over all. A name flagged UTF-8 that is
  not (bsdtar flags every name) is read as an unflagged one.
  Backslashes are separators.
- A part of a split or spanned zip (`zip -s`, `.z01` ...) is refused: the central directory
  of the last part names members whose data sits in parts never uploaded. A piece cut by
  `split -b` (`x.zip.aa`) is named so by the listing when it cannot be read.
- Each member's CRC-32 and size come from the directory: the data is never read, but for a
  symbolic link's (`zip -y`, macOS Finder: its Unix mode says link), a few bytes naming the
  path it points to.
- A member's data (`open_member`) is read by `zipfile` for the methods it knows (stored,
  deflate, bzip2, LZMA) and here for those 7-Zip also writes: PPMd (`pyppmd`, as py7zr reads
  a 7z's) and Deflate64 (`inflate64`). Any other method raises `UnsupportedMethod`.
"""

from __future__ import annotations

import copy
import io
import lzma
import re
import stat
import struct
import zipfile
import zlib

import inflate64
import pyppmd

from segcore.archives.archive_links import MAX_LINK_BYTES
from segcore.core.errors import N_, UnreadableUpload, UploadTooLarge

MAX_MEMBERS = 200_000  # a listing beyond this is refused rather than stored
EOCD = b"PK\x05\x06"
EOCD_SIZE = 22
ZIP64_LOCATOR = b"PK\x06\x07"
SPLIT_MARKERS = (b"PK\x07\x08", b"PK00")  # the first bytes of a split or spanned archive
SPLIT_PART_NAME = re.compile(r"\.(z\d{2,}|zip\.\d{3}|7z\.\d{3}|part\d+\.rar|r\d{2})$", re.I)
UNICODE_PATH = 0x7075
UTF8_FLAG = 0x800
SPLIT_REASON = N_("part of a split archive")
# The names `split -b` gives an archive's pieces (`x.zip.aa`, `x.tgz.ab`, `-d`: `x.zip.00`,
# `x.zip.part00` with that prefix); `.tar.gz` itself is no piece of a `.tar`.
SPLIT_PIECE_NAME = re.compile(
    r"\.(zip|7z|rar|tar|tgz|tbz2?|txz|tar\.(gz|bz2|xz|zst))\.(part_?)?"
    r"(?!(gz|xz|bz|lz|zst)$)(\d{2,}|[a-z]{2})$",
    re.I,
)
SPLIT_PIECE = N_(
    "looks like one part of a split archive (split -b): upload the whole archive, not its parts"
)


def is_split_part_name(filename: str) -> bool:
    """True for the names split archives give their parts (`x.z01`, `x.zip.001`, `x.7z.001`)."""
    return bool(SPLIT_PART_NAME.search(filename))


def is_split_piece_name(filename: str) -> bool:
    """True for the names `split -b` gives an archive's pieces (`x.zip.aa`, `x.zip.part00`)."""
    return bool(SPLIT_PIECE_NAME.search(filename))


def _end_record(source) -> tuple[bytes, int] | None:
    """`(tail, at)`: the last bytes of `source` and where the end record starts in them, or
    None when it has none. The record is the last one whose comment reaches exactly the end of
    the file, as 7-Zip finds it (a comment may hold the record's signature: a binary or signed
    comment); without such a one, the last signature found."""
    size = source.seek(0, io.SEEK_END)
    # Without an archive comment the end record is the last 22 bytes: read little first.
    for reach in (EOCD_SIZE + 20, EOCD_SIZE + 65535):
        tail_start = max(0, size - reach)
        source.seek(tail_start)
        tail = source.read(size - tail_start)
        at = _fitting_record(tail)
        if at is not None:
            return tail, at
    at = tail.rfind(EOCD)
    if at < 0 or len(tail) - at < EOCD_SIZE:
        return None
    return tail, at


def _fitting_record(tail: bytes) -> int | None:
    """Where in `tail` the last end record whose comment ends the file starts, else None."""
    at = tail.rfind(EOCD)
    while at >= 0:
        if len(tail) - at >= EOCD_SIZE:
            (comment,) = struct.unpack("<H", tail[at + 20 : at + 22])
            if at + EOCD_SIZE + comment == len(tail):
                return at
        at = tail.rfind(EOCD, 0, at)
    return None


def _on_one_disk(tail: bytes, at: int) -> bool:
    """Whether the end record at `at` (and its zip64 locator) says every entry is on disk 0."""
    disk, directory_disk, here, total = struct.unpack("<4H", tail[at + 4 : at + 12])
    if disk not in (0, 0xFFFF) or directory_disk not in (0, 0xFFFF) or here != total:
        return False
    if at >= 20 and tail[at - 20 : at - 16] == ZIP64_LOCATOR:
        zip64_disk, _, disks = struct.unpack("<LQL", tail[at - 16 : at])
        if zip64_disk != 0 or disks > 1:
            return False
    return True


def check_not_split(source) -> None:
    """Raise UnreadableUpload("part of a split archive") when the end record says the archive
    spans several disks, or when it has none and starts with a split marker."""
    found = _end_record(source)
    if found is None:
        source.seek(0)
        if source.read(4) in SPLIT_MARKERS:
            raise UnreadableUpload(SPLIT_REASON)
        return
    if not _on_one_disk(*found):
        raise UnreadableUpload(SPLIT_REASON)


def is_whole_zip(source) -> bool:
    """Whether `source` holds a whole zip: its end record is its last bytes (the comment it
    declares included) and says disk 0 holds every entry. 7-Zip's "split to volumes" at a size
    larger than the zip writes one such `x.zip.001`; its first part of several is the zip's
    first bytes, which end in no end record."""
    found = _end_record(source)
    if found is None:
        return False
    tail, at = found
    (comment,) = struct.unpack("<H", tail[at + 20 : at + 22])
    return at + EOCD_SIZE + comment == len(tail) and _on_one_disk(tail, at)


def unicode_path(extra: bytes) -> str | None:
    """The name in an Info-ZIP Unicode Path extra field, None when there is none."""
    position = 0
    while position + 4 <= len(extra):
        kind, size = struct.unpack("<HH", extra[position : position + 4])
        body = extra[position + 4 : position + 4 + size]
        if kind == UNICODE_PATH and len(body) > 5 and body[0] == 1:
            try:
                return body[5:].decode("utf-8")
            except UnicodeDecodeError:
                return None
        position += 4 + size
    return None


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its writer meant it (see the module's docstring)."""
    unicode = unicode_path(info.extra)
    if unicode is not None:
        return unicode
    if info.flag_bits & UTF8_FLAG:
        return info.orig_filename
    raw = info.orig_filename.encode("cp437")  # zipfile decoded the raw bytes as CP437
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return legacy_name(raw)


def legacy_name(raw: bytes) -> str:
    """A name without the UTF-8 flag that is not UTF-8, as the Windows that wrote it meant:
    CP850 (Windows' OEM code page in Spain and Latin America) when every byte CP437 and CP850
    read differently is a letter in CP850 (`RIÑÓN`, whose Ó CP437 reads as α, Á as ╡, Ú as Θ),
    else CP437 (the zip default, Windows in the United States)."""
    differing = [b for b in set(raw) if _CP437[b] != _CP850[b]]
    if differing and all(_CP850[b].isalpha() for b in differing):
        return raw.decode("cp850")
    return raw.decode("cp437")


_CP437 = bytes(range(256)).decode("cp437")
_CP850 = bytes(range(256)).decode("cp850")


CORRUPT = N_("not a readable zip (truncated or corrupt: {detail})")


def check_member_offsets(archive: zipfile.ZipFile) -> None:
    """Raise UnreadableUpload when a member's local header would lie outside the data before
    the central directory: the directory's offsets are wrong (Info-ZIP's `zip -fz` writing data
    descriptors puts some 4 GiB off), and unzip and 7-Zip refuse the zip. `zipfile` itself
    reads such a zip, a member's data from the wrong place."""
    end = getattr(archive, "start_dir", None)
    for info in archive.infolist():
        if info.header_offset < 0 or (isinstance(end, int) and info.header_offset >= end):
            raise UnreadableUpload(
                CORRUPT, detail=f"the directory places {info.filename!r} outside the archive"
            )


class _Patched(io.RawIOBase):
    """A zip's bytes with `patch` in place of those at `start`, and ending at `size` (None:
    where `source` ends), for `zipfile` to read what unzip and 7-Zip read (see its users)."""

    def __init__(self, source, start: int, patch: bytes, size: int | None = None):
        super().__init__()
        self._source, self._start, self._directory = source, start, patch
        self._end = start + len(patch)
        self._size = size
        self._pos = 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset, whence = self._pos + offset, io.SEEK_SET
        if whence == io.SEEK_END and self._size is not None:
            offset, whence = self._size + offset, io.SEEK_SET
        self._pos = self._source.seek(offset, whence)
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if self._size is not None:
            left = max(0, self._size - self._pos)
            size = left if size is None or size < 0 else min(size, left)
        self._source.seek(self._pos)
        data = self._source.read(size)
        start, end = self._pos, self._pos + len(data)
        if start < self._end and end > self._start:  # overlaps the directory: patched bytes
            low, high = max(start, self._start), min(end, self._end)
            data = (
                data[: low - start]
                + self._directory[low - self._start : high - self._start]
                + data[high - start :]
            )
        self._pos = end
        return data


def _without_false_utf8_flags(source) -> _Patched | None:
    """`source` with the UTF-8 flag cleared on each central-directory entry whose name is not
    UTF-8 (bsdtar sets the flag on every name, also on a Latin-1 one it cannot convert), so
    `zipfile` reads that name as an unflagged one instead of refusing the whole zip; None when
    its directory cannot be found or no flagged name is undecodable (the failure was something
    else)."""
    try:
        end_record = zipfile._EndRecData(source)  # the standard library's own search
        if not end_record:
            return None
        size = end_record[zipfile._ECD_SIZE]
        start = end_record[zipfile._ECD_LOCATION] - size
        if end_record[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
            start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
        source.seek(start)
        directory = bytearray(source.read(size))
    except (OSError, ValueError, struct.error, AttributeError, TypeError):
        return None
    position, cleared = 0, False
    while position + 46 <= len(directory) and directory[position : position + 4] == b"PK\x01\x02":
        (flags,) = struct.unpack_from("<H", directory, position + 8)
        name_size, extra_size, comment_size = struct.unpack_from("<3H", directory, position + 28)
        name = bytes(directory[position + 46 : position + 46 + name_size])
        if flags & UTF8_FLAG:
            try:
                name.decode("utf-8")
            except UnicodeDecodeError:
                struct.pack_into("<H", directory, position + 8, flags & ~UTF8_FLAG)
                cleared = True
        position += 46 + name_size + extra_size + comment_size
    return _Patched(source, start, bytes(directory)) if cleared else None


def _without_false_end_records(source):
    """`source`, or when its comment holds an end record's signature, `source` ending at its
    end record with no comment: `zipfile` takes the last signature of the tail for the record
    (`_EndRecData`), where 7-Zip takes the one whose comment ends the file."""
    found = _end_record(source)
    if found is None:
        return source
    tail, at = found
    if tail.rfind(EOCD) == at:
        return source
    record = source.seek(0, io.SEEK_END) - len(tail) + at
    return _Patched(source, record + EOCD_SIZE - 2, b"\0\0", size=record + EOCD_SIZE)


def open_zip(source) -> zipfile.ZipFile:
    """`zipfile.ZipFile` over `source` (seekable); a name flagged UTF-8 whose bytes are not
    UTF-8 is read as an unflagged name (see `member_name`), as unzip and 7-Zip list it,
    instead of making every member of the zip unreadable."""
    source = _without_false_end_records(source)
    try:
        return zipfile.ZipFile(source)
    except UnicodeDecodeError:
        cleared = _without_false_utf8_flags(source)
        if cleared is None:
            raise
        return zipfile.ZipFile(cleared)


def is_symlink(info: zipfile.ZipInfo) -> bool:
    """True for a member stored as a symbolic link (its Unix mode, in the external attributes,
    says so), whose data is the path it points to."""
    return info.file_size <= MAX_LINK_BYTES and stat.S_ISLNK(info.external_attr >> 16)


def link_text(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    """The path a symbolic link member points to, None when its data cannot be read."""
    try:
        with open_member(archive, info) as member:
            return member.read(MAX_LINK_BYTES).decode("utf-8", "replace")
    except (zipfile.BadZipFile, NotImplementedError, EOFError, ValueError, OSError, RuntimeError):
        return None


PPMD, DEFLATE64 = 98, 9
METHOD_NAMES = {
    1: "Shrink",
    6: "Implode",
    9: "Deflate64",
    10: "PKWARE DCL Implode",
    18: "IBM TERSE",
    19: "IBM LZ77",
    93: "Zstandard",
    95: "xz",
    96: "JPEG",
    97: "WavPack",
    98: "PPMd",
}
PIECE = 64 * 1024


class UnsupportedMethod(NotImplementedError):
    """A member compressed by a method this check cannot read (its data, not the zip, is
    unknown to us: a note, never the annotator's problem)."""


# Why a member's data cannot be read, in words: zipfile's own messages quote the damaged
# bytes as Python writes them (`header b'\x92\x9e...'`), no help to anyone reading a receipt.
MEMBER_HEADER_MISMATCH = N_("damaged member: its header does not match the zip's directory")
MEMBER_NO_HEADER = N_("damaged member: no member header where the zip's directory points")
MEMBER_HEADER_CUT = N_("damaged member: its header is cut short")
MEMBER_BAD_CHECKSUM = N_("damaged member: its data does not match its checksum")
MEMBER_DATA_CUT = N_("damaged member: its data is cut short")
MEMBER_DATA_CORRUPT = N_("damaged member: its compressed data is corrupt")
MEMBER_DAMAGED = N_("damaged member")
MEMBER_REASONS = (
    MEMBER_HEADER_MISMATCH,
    MEMBER_NO_HEADER,
    MEMBER_HEADER_CUT,
    MEMBER_BAD_CHECKSUM,
    MEMBER_DATA_CUT,
    MEMBER_DATA_CORRUPT,
    MEMBER_DAMAGED,
)
_MEMBER_MESSAGES = (  # the start of zipfile's message, and what it means
    ("File name in directory", MEMBER_HEADER_MISMATCH),
    ("Bad magic number for file header", MEMBER_NO_HEADER),
    ("Truncated file header", MEMBER_HEADER_CUT),
    ("Bad CRC-32", MEMBER_BAD_CHECKSUM),
)


def member_damage(exc: BaseException) -> str | None:
    """Why a member's data could not be read (one of MEMBER_REASONS, English), from what
    `open_member` or reading it raised: a damaged header, checksum or compressed stream; None
    for anything else (the caller words it)."""
    if isinstance(exc, zipfile.BadZipFile):
        message = str(exc)
        for start, reason in _MEMBER_MESSAGES:
            if message.startswith(start):
                return reason
        return MEMBER_DAMAGED
    if isinstance(exc, EOFError):
        return MEMBER_DATA_CUT
    if isinstance(exc, (zlib.error, lzma.LZMAError)) or type(exc) is OSError:
        return MEMBER_DATA_CORRUPT  # deflate; LZMA; bzip2 (an OSError "Invalid data stream")
    return None


def method_name(method: int) -> str:
    """A compression method as people know it: "Zstandard (93)"."""
    return f"{METHOD_NAMES.get(method, 'method')} ({method})"


def open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo):
    """A readable stream of a member's data, whichever method compressed it (see the module's
    docstring); its size and CRC-32 checked against the directory's. Raises UnsupportedMethod
    for a method read neither by `zipfile` nor here, BadZipFile for damaged data."""
    if info.compress_type not in (PPMD, DEFLATE64):
        try:
            return archive.open(info)
        except NotImplementedError as exc:
            if "compression method" not in str(exc):
                raise
            raise UnsupportedMethod(method_name(info.compress_type)) from None
    raw = copy.copy(info)  # the member's compressed bytes, as zipfile reads a stored member
    raw.compress_type, raw.file_size, raw.CRC = zipfile.ZIP_STORED, info.compress_size, None
    with archive.open(raw) as packed:
        data = packed.read()
    try:
        if info.compress_type == PPMD:
            data = _ppmd(data, info.file_size)
        else:
            data = _deflate64(data, info.file_size)
    except (pyppmd.PpmdError, ValueError, RuntimeError, EOFError, OSError) as exc:
        raise zipfile.BadZipFile(f"corrupt {method_name(info.compress_type)} data: {exc}") from None
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
    return io.BytesIO(data)


def _ppmd(data: bytes, size: int) -> bytes:
    """PPMd variant I rev. 1 as a zip stores it: two bytes of parameters (order, memory in MB,
    restore method), then the model's output; at most `size` bytes decoded."""
    if len(data) < 2:
        raise ValueError("no PPMd parameters")
    (parameters,) = struct.unpack("<H", data[:2])
    order, memory, restore = (
        (parameters & 0xF) + 1,
        ((parameters >> 4) & 0xFF) + 1,
        parameters >> 12,
    )
    if order < 2 or restore > 1:
        raise ValueError("invalid PPMd parameters")
    return pyppmd.Ppmd8Decoder(order, memory << 20, restore).decode(data[2:], size)


def _deflate64(data: bytes, size: int) -> bytes:
    """Deflate64 inflated a piece at a time, never past `size` bytes and a piece (a bomb
    stops there)."""
    inflater, out = inflate64.Inflater(), bytearray()
    for start in range(0, len(data), PIECE):
        out += inflater.inflate(data[start : start + PIECE])
        if len(out) > size:
            break
    return bytes(out)


def read_zip_directory(source) -> list[tuple[str, int, int, str | None]]:
    """`(name, size, crc, link)` of each file member of the zip in `source` (seekable), read
    from its central directory; `link`: the path a symbolic link points to (read from its
    data), else None. Raises UnreadableUpload for a split part, an encrypted or corrupt zip."""
    check_not_split(source)
    source.seek(0)
    try:
        with open_zip(source) as archive:
            infos = archive.infolist()
            check_member_offsets(archive)
            encrypted = any(info.flag_bits & 0x1 for info in infos)
            links = {
                info.filename: link_text(archive, info)
                for info in infos
                if is_symlink(info) and not encrypted and len(infos) <= MAX_MEMBERS
            }
    except (zipfile.BadZipFile, OSError) as exc:
        if "span multiple disks" in str(exc):
            raise UnreadableUpload(SPLIT_REASON) from None
        raise UnreadableUpload(CORRUPT, detail=str(exc)) from None
    except (zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError) as exc:
        raise UnreadableUpload(N_("unsupported zip ({detail})"), detail=str(exc)) from None
    if len(infos) > MAX_MEMBERS:
        raise UploadTooLarge(N_("too many members to check ({count})"), count=len(infos))
    if any(info.flag_bits & 0x1 for info in infos):
        raise UnreadableUpload(N_("encrypted zip"))
    return [
        (member_name(info), info.file_size, info.CRC, links.get(info.filename)) for info in infos
    ]
