"""The mask names inside one upload, read from GridFS as little as possible, never extracted.

- A zip is listed from its central directory: `zipfile` reads the end-of-central-directory
  record (zip64 too) and the directory through `ChunkFile`, which fetches only those chunks.
- A tar, plain or compressed, is streamed through `tarfile`'s stream mode (`r|*`) chunk by chunk;
  member data is decompressed and skipped, never stored, and the bytes it may decompress are
  capped by a budget, so a decompression bomb costs at most that.
- A single mask file (an image extension) is its own name: nothing is read.

Member names are text to compare, never paths on this machine.
"""

from __future__ import annotations

import lzma
import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field

from pymongo.collection import Collection

from segcore.core.errors import UnreadableUpload
from segcore.uploads.gridfs_reader import ChunkFile, ChunkStream, ReadStats, StoredFile
from segcore.masks.mask_matching import base_name, is_image_name, is_mask_member, split_extension

TAR_ENDINGS = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz", ".tbz2")
UNSUPPORTED_ENDINGS = (".7z", ".rar", ".zst", ".lz4")
MAX_MEMBERS = 200_000  # a listing beyond this is refused rather than stored
MAGIC = ((b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"\x1f\x8b", "tar"),
         (b"BZh", "tar"), (b"\xfd7zXZ\x00", "tar"))
_TAR_ERRORS = (tarfile.TarError, lzma.LZMAError, zlib.error, EOFError, OSError, ValueError)


@dataclass
class Listing:
    """What one upload holds: mask names, or why they cannot be known."""

    kind: str  # "zip", "tar", "file" or "unknown"
    names: list[str] = field(default_factory=list)
    reason: str | None = None  # set when unreadable
    bytes_read: int = 0
    chunks_read: int = 0

    @property
    def readable(self) -> bool:
        return self.reason is None


def kind_from_name(filename: str) -> str:
    """"zip", "tar", "file" (a single mask), "unsupported", or "" when the name does not say."""
    lower = filename.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith(TAR_ENDINGS):
        return "tar"
    if is_image_name(filename):
        return "file"
    if lower.endswith(UNSUPPORTED_ENDINGS):
        return "unsupported"
    return ""


def kind_from_magic(head: bytes) -> str:
    """The archive kind from an upload's first bytes, "" when unrecognised."""
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if head[257:262] == b"ustar":
        return "tar"
    return ""


def list_zip(source) -> list[str]:
    """Mask names in a zip from its central directory; `source` is a seekable binary file."""
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise UnreadableUpload(f"not a readable zip (truncated or corrupt: {exc})") from None
    except (zipfile.LargeZipFile, NotImplementedError, ValueError, EOFError) as exc:
        raise UnreadableUpload(f"unsupported zip ({exc})") from None
    if len(infos) > MAX_MEMBERS:
        raise UnreadableUpload(f"too many members to check ({len(infos):,})")
    if any(info.flag_bits & 0x1 for info in infos):
        raise UnreadableUpload("encrypted zip")
    return _mask_names(info.filename for info in infos if not info.is_dir())


def list_tar(stream, budget: int) -> list[str]:
    """Mask names in a tar streamed from `stream` (compression detected), decompressing at most
    `budget` bytes of it; raises UnreadableUpload when corrupt or beyond the budget."""
    names: list[str] = []
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            while True:
                member = archive.next()
                if member is None:
                    break
                archive.members.clear()  # stream mode keeps every header otherwise
                if member.isfile():
                    names.append(member.name)
                    if len(names) > MAX_MEMBERS:
                        raise UnreadableUpload(f"too many members to check (over {MAX_MEMBERS:,})")
                # `offset` is where the next header starts: past the budget, skipping this
                # member's data would decompress more than allowed.
                if archive.offset > budget:
                    raise UnreadableUpload(f"too large to check (over the budget of "
                                           f"{_megabytes(budget)})")
    except UnreadableUpload:
        raise
    except _TAR_ERRORS as exc:
        raise UnreadableUpload(f"not a readable tar archive ({_reason(exc)})") from None
    return _mask_names(names)


def list_upload(chunks: Collection, doc: dict, budget: int) -> Listing:
    """List one upload (a GridFS file document) read only from `chunks`; never raises for the
    upload's own problems: they become the listing's `reason`."""
    filename = doc.get("filename") if isinstance(doc.get("filename"), str) else ""
    kind = kind_from_name(filename)
    if kind == "file":
        return Listing("file", names=[base_name(filename)])
    listing = Listing(kind or "unknown")
    stats = ReadStats()
    try:
        stored = StoredFile.from_document(doc)
        if kind == "unsupported":
            raise UnreadableUpload(f"unsupported format ({split_extension(filename)[1]})")
        if not kind:
            source = ChunkFile(chunks, stored, stats)
            kind = kind_from_magic(source.read(512))
            listing.kind = kind or "unknown"
            if not kind:
                raise UnreadableUpload("unsupported format (neither an archive nor a mask file)")
        if kind == "zip":
            source = ChunkFile(chunks, stored, stats)
            listing.names = list_zip(source)
        else:
            # A zip costs its directory whatever its size; a tar costs every byte.
            if stored.length > budget:
                raise UnreadableUpload(f"too large to check ({_megabytes(stored.length)}, over "
                                       f"the budget of {_megabytes(budget)})")
            stream = ChunkStream(chunks, stored, stats)
            try:
                listing.names = list_tar(stream, budget)
            finally:
                stream.close()
    except UnreadableUpload as exc:
        listing.reason = str(exc)
        listing.names = []
    listing.bytes_read, listing.chunks_read = stats.bytes, stats.chunks
    return listing


def _mask_names(paths) -> list[str]:
    # Text from the archive, compared by name only: surrogates from undecodable bytes are
    # replaced so the name can be stored and shown.
    names = {base_name(str(path).encode("utf-8", "replace").decode("utf-8"))
             for path in paths if is_mask_member(str(path))}
    return sorted(names)


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    if isinstance(exc, (lzma.LZMAError, zlib.error, EOFError)) or "compressed" in text:
        return f"corrupt compressed data: {text}"
    return text


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB"

