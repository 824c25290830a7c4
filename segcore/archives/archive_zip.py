"""A zip's members from its central directory only, named as the tool that wrote it meant.

- Names: a name with the UTF-8 flag is UTF-8; without it, UTF-8 when the bytes are valid UTF-8
  (Info-ZIP on Linux and many other tools write UTF-8 without setting the flag), else CP437
  (the zip default, Windows' Explorer); the Info-ZIP Unicode Path extra field (0x7075) wins over
  both. A name flagged UTF-8 that is not (bsdtar flags every name) is read as an unflagged one.
  Backslashes are separators.
- A part of a split or spanned zip (`zip -s`, `.z01` ...) is refused: the central directory
  of the last part names members whose data sits in parts never uploaded.
- Each member's CRC-32 and size come from the directory: the data is never read, but for a
  symbolic link's (`zip -y`, macOS Finder: its Unix mode says link), a few bytes naming the
  path it points to.
"""

from __future__ import annotations

import io
import re
import stat
import struct
import zipfile

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


def is_split_part_name(filename: str) -> bool:
    """True for the names split archives give their parts (`x.z01`, `x.zip.001`, `x.7z.001`)."""
    return bool(SPLIT_PART_NAME.search(filename))


def check_not_split(source) -> None:
    """Raise UnreadableUpload("part of a split archive") when the end record says the archive
    spans several disks, or when it has none and starts with a split marker."""
    size = source.seek(0, io.SEEK_END)
    # Without an archive comment the end record is the last 22 bytes: read little first.
    for reach in (EOCD_SIZE + 20, EOCD_SIZE + 65535):
        tail_start = max(0, size - reach)
        source.seek(tail_start)
        tail = source.read(size - tail_start)
        at = tail.rfind(EOCD)
        if at >= 0:
            break
    if at < 0 or len(tail) - at < EOCD_SIZE:
        source.seek(0)
        if source.read(4) in SPLIT_MARKERS:
            raise UnreadableUpload(SPLIT_REASON)
        return
    disk, directory_disk, here, total = struct.unpack("<4H", tail[at + 4 : at + 12])
    if disk not in (0, 0xFFFF) or directory_disk not in (0, 0xFFFF) or here != total:
        raise UnreadableUpload(SPLIT_REASON)
    if at >= 20 and tail[at - 20 : at - 16] == ZIP64_LOCATOR:
        zip64_disk, _, disks = struct.unpack("<LQL", tail[at - 16 : at])
        if zip64_disk != 0 or disks > 1:
            raise UnreadableUpload(SPLIT_REASON)


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
        return info.orig_filename


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


class _FlagsCleared(io.RawIOBase):
    """A zip's bytes with the UTF-8 flag cleared on each central-directory entry whose name is
    not UTF-8 (bsdtar sets the flag on every name, also on a Latin-1 one it cannot convert):
    `zipfile` then reads that name as an unflagged one instead of refusing the whole zip."""

    def __init__(self, source, start: int, directory: bytes):
        super().__init__()
        self._source, self._start, self._directory = source, start, directory
        self._end = start + len(directory)
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
        self._pos = self._source.seek(offset, whence)
        return self._pos

    def read(self, size: int = -1) -> bytes:
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


def _without_false_utf8_flags(source) -> _FlagsCleared | None:
    """`source` seen through `_FlagsCleared`, or None when its directory cannot be found or
    no flagged name is undecodable (the failure was something else)."""
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
    return _FlagsCleared(source, start, bytes(directory)) if cleared else None


def open_zip(source) -> zipfile.ZipFile:
    """`zipfile.ZipFile` over `source` (seekable); a name flagged UTF-8 whose bytes are not
    UTF-8 is read as an unflagged name (see `member_name`), as unzip and 7-Zip list it,
    instead of making every member of the zip unreadable."""
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
        return archive.read(info).decode("utf-8", "replace")
    except (zipfile.BadZipFile, NotImplementedError, EOFError, ValueError, OSError, RuntimeError):
        return None


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
