"""A tar's members streamed once, plain or compressed, with a digest of each file's data.

- Compression (gzip, bzip2, xz) is detected from the first bytes and undone as GNU gzip,
  bzip2 and xz undo it (`_Streams`): every stream of a multi-stream file, null padding after a
  stream skipped, other data after the last one ignored; a stream that ends before its end
  marker, or whose data or checksum is corrupt, is *unreadable*. The tar must also end with
  its end-of-archive block: a stream cut between two members is *unreadable*, never a smaller
  complete archive.
- Hard-link members are files under their own names (GNU tar stores a second identical file as
  a link to the first), with the data of the member they link to; symbolic links are listed with
  the path they point to (`archive_links` resolves them inside the archive), never followed on
  this machine. Long (GNU) and PAX names are read by `tarfile`.
- Every byte decompressed counts against a budget, so a decompression bomb costs at most that.
  The members read before it ran out are what the tar holds as far as it was read (a 4.7 GB
  raw scan after the masks: the masks count), and the rest is said not read (`REST_NOT_READ`);
  a tar whose first member runs past it is *too large to check*.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
import tarfile
import zlib

from segcore.core.errors import N_, UnreadableUpload, UploadTooLarge
from segcore.images.image_copies import FINGERPRINTS

MAX_MEMBERS = 200_000
BLOCK = tarfile.BLOCKSIZE
WINDOW = 4 * tarfile.RECORDSIZE  # decompressed bytes kept to find the end-of-archive block
PIECE = 1024 * 1024
GZIP, BZIP2, XZ = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"
_ERRORS = (tarfile.TarError, lzma.LZMAError, zlib.error, OSError, ValueError)
TAR_ERRORS = (*_ERRORS, EOFError)  # what reading any tar may raise
TRUNCATED = N_("truncated archive: the compressed stream ends before the end of the archive")
CORRUPT = N_("not a readable tar archive: its compressed data is corrupt")
NO_END = N_("truncated archive: it ends before its end-of-archive marker")
OVER_BUDGET = N_("too large to check (over the budget of {budget} MB)")
# How a tar read up to the budget lists what it did not read, among its other files
REST_NOT_READ = N_("the rest of the archive, past its first {budget} MB (not read)")
# How member names are decoded, by the listing and by the content check alike: UTF-8, and a
# byte that is not (a Latin-1 name) kept as a surrogate, stored as `?` (naming.storable).
# Named here, not left to the locale's file system encoding.
NAME_ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


def _megabytes(size: int) -> int:
    return round(size / (1024 * 1024))


class _Budgeted(io.RawIOBase):
    """The decompressed bytes, counted against the budget, the last few kept."""

    def __init__(self, source, budget: int):
        self._source, self._budget = source, budget
        self.position = 0
        self._window = bytearray()
        self._window_start = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._source.read(len(view))
        view[: len(data)] = data
        self.position += len(data)
        if self.position > self._budget:
            raise UploadTooLarge(OVER_BUDGET, budget=_megabytes(self._budget))
        self._window += data
        if len(self._window) > WINDOW:
            cut = len(self._window) - WINDOW
            del self._window[:cut]
            self._window_start += cut
        return len(data)

    def block_at(self, offset: int) -> bytes:
        """The block of decompressed data at `offset`, if still kept."""
        start = offset - self._window_start
        return bytes(self._window[start : start + BLOCK]) if start >= 0 else b""

    def drain(self) -> None:
        """Read to the end, so a compressed stream cut after the end block is noticed too."""
        while self.read(PIECE):
            pass


class CompressedDataError(OSError):
    """A compressed stream's data is corrupt: its decompressor refused it, or its checksum does
    not match."""


_STREAM_READERS = {
    GZIP: lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),  # the gzip header and trailer too
    BZIP2: bz2.BZ2Decompressor,
    XZ: lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ),
}


class _Streams(io.RawIOBase):
    """The data of one or more compressed streams in a row, undone as GNU gzip, bzip2 and xz
    undo them: each stream must reach its end marker (EOFError when the file ends first) and
    pass its checksum (CompressedDataError). After a stream, null bytes are padding (xz's
    Stream Padding, a block writer's fill) and a stream of the same format is the next one
    (pigz, pbzip2 and lbzip2 write one per block; `cat a.gz b.gz`); anything else is data
    appended by an upload or signing tool, ignored, as gzip and bzip2 ignore it and as bsdtar
    never reads past the tar's end. (Python's own readers refuse such a gzip, and take xz's
    padding for a stream cut short.)"""

    def __init__(self, source, magic: bytes):
        self._source, self._magic, self._new = source, magic, _STREAM_READERS[magic]
        self._decompressor = self._new()
        self._input = b""
        self._limited = False  # the last output filled the size asked: more may be pending
        self._ended = False
        self._later = False  # the stream under way follows another: its start may be no stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        while not self._ended and len(view):
            decompressor = self._decompressor
            if decompressor is None:
                self._ended = not self._next_stream()
                continue
            if decompressor.eof:
                self._input = decompressor.unused_data + self._input
                self._decompressor = None
                continue
            if not self._input and self._wants_input(decompressor):
                self._input = self._source.read(PIECE)
                if not self._input:
                    raise EOFError("the compressed stream ends before its end marker")
            data = self._decompress(decompressor, len(view))
            if data is None:  # data after the last stream that only starts like one
                self._ended = True
            elif data:
                view[: len(data)] = data
                return len(data)
        return 0

    def _wants_input(self, decompressor) -> bool:
        if hasattr(decompressor, "needs_input"):  # bz2, lzma: they keep their input
            return decompressor.needs_input
        return not self._limited  # zlib: its input left over is `unconsumed_tail`

    def _decompress(self, decompressor, size: int) -> bytes | None:
        """The next bytes decompressed (b"" when more input is needed); None when a stream
        after the first is refused at its very start: appended data that begins with the
        format's two or three signature bytes (bsdtar reads such a file whole)."""
        try:
            data = decompressor.decompress(self._input, size)
        except (zlib.error, lzma.LZMAError, OSError, EOFError) as exc:
            if self._later:
                return None
            raise CompressedDataError(str(exc)) from exc
        self._later = False
        self._input = getattr(decompressor, "unconsumed_tail", b"")
        self._limited = len(data) == size
        return data

    def _next_stream(self) -> bool:
        """Start the next stream, past any null padding; False at the end of the file or
        before data that is no stream of this format."""
        while True:
            self._input = self._input.lstrip(b"\0")
            if len(self._input) >= len(self._magic):
                if not self._input.startswith(self._magic):
                    return False  # data appended after the last stream: not read
                self._decompressor, self._limited, self._later = self._new(), False, True
                return True
            more = self._source.read(PIECE)
            if not more:
                return False
            self._input += more


def decompressing(stream):
    """`stream`'s bytes undone as its first bytes call for (gzip, bzip2, xz; as they are when
    not compressed), every stream of a multi-stream file in turn (`_Streams`). Reading raises
    EOFError when a stream ends before its end marker, CompressedDataError when its data is
    corrupt."""
    buffered = io.BufferedReader(stream, 256 * 1024)
    head = buffered.peek(6)[:6]
    for magic in _STREAM_READERS:
        if head.startswith(magic):
            return io.BufferedReader(_Streams(buffered, magic), PIECE)
    return buffered


def _open(stream, budget: int) -> _Budgeted:
    return _Budgeted(decompressing(stream), budget)


def read_tar_members(stream, budget: int) -> tuple[list[tuple[str, int, str, str | None]], str]:
    """`(name, size, digest, link)` of every file, hard link and symbolic link in the tar
    streamed from `stream`, decompressing at most `budget` bytes, and "" (or, when the budget
    ran out after some members, `REST_NOT_READ` worded: those members are what it holds as far
    as it was read). A hard link's size and digest are its target's data; a symbolic link's
    `link` is the path it points to (its size 0 until `archive_links.resolve_links` gives it
    its target's, its digest that of the path), None for the others. Raises UnreadableUpload
    when corrupt, cut short or beyond the budget before any member was read."""
    source = _open(stream, budget)
    found: list[tuple[str, int, str, str | None]] = []
    digests: dict[str, tuple[int, str]] = {}
    try:
        with tarfile.open(fileobj=source, mode="r|", **NAME_ENCODING) as archive:
            while (member := archive.next()) is not None:
                archive.members.clear()  # stream mode keeps every header otherwise
                if member.isfile():
                    digests[member_path(member.name)] = (member.size, _digest(archive, member))
                    found.append((member.name, *digests[member_path(member.name)], None))
                elif member.islnk():
                    target = digests.get(member_path(member.linkname), (0, ""))
                    found.append((member.name, *target, None))
                elif member.issym():
                    link = hashlib.blake2b(
                        b"->" + member.linkname.encode("utf-8", "replace"), digest_size=16
                    )
                    found.append((member.name, 0, link.hexdigest(), member.linkname))
                if len(found) > MAX_MEMBERS:
                    raise UploadTooLarge(
                        N_("too many members to check (over {count})"), count=MAX_MEMBERS
                    )
            end, end_block = archive.offset, source.block_at(archive.offset)
        # Read to the end first: a corrupt compressed stream says so there, before a header
        # it garbled is taken for the end.
        source.drain()
        if end_block != bytes(BLOCK):
            if len(end_block) == BLOCK:  # a whole block, neither a header nor the end
                raise UnreadableUpload(
                    N_("not a readable tar archive (a damaged header at byte {offset})"), offset=end
                )
            raise UnreadableUpload(NO_END)
    except UploadTooLarge as exc:
        if exc.template != OVER_BUDGET or not found:
            raise
        return found, REST_NOT_READ.format(budget=_megabytes(budget))
    except UnreadableUpload:
        raise
    except EOFError:
        raise UnreadableUpload(TRUNCATED) from None
    except CompressedDataError:
        raise UnreadableUpload(CORRUPT) from None
    except _ERRORS as exc:
        raise UnreadableUpload(
            N_("not a readable tar archive ({detail})"), detail=_detail(exc)
        ) from None
    return found, ""


def member_path(name: str) -> str:
    """A member path as a link names it, whether or not either carries `./` or `/` first."""
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def _digest(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    """A digest of a member's data, read as it streams past (it would be skipped anyway): the
    fingerprint a batch's image is compared by (`image_copies`)."""
    return FINGERPRINTS["digest"](archive.extractfile(member))


def _detail(exc: BaseException) -> str:
    """The library's own words (English), one short line."""
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
