"""Reading an upload's chunks for the content check in few round trips, memory still bounded.

Each query to the server costs far more than the bytes it returns (on a busy machine a round trip
takes as long as decoding a mask), so the check asks for many chunks at once:

- `WindowFile`: a zip's members are read at their own offsets, a run of neighbouring members'
  chunks fetched in one query (at most `WINDOW_CHUNKS` beyond the member being read); a member
  that is not checked is never fetched, and chunks outside the range being read are dropped.
- `BatchedStream`: a tar is streamed in cursor batches of `STREAM_BATCH_CHUNKS` chunks, and
  `ReadAhead` decompresses it in a thread of its own, a few MB ahead of the check.
"""

from __future__ import annotations

import io
import lzma
import queue
import tarfile
import threading
import zlib
from contextlib import closing, contextmanager

from pymongo.collection import Collection

from segcore.archives.archive_tar import CORRUPT as CORRUPT_STREAM
from segcore.archives.archive_tar import TRUNCATED, decompressing
from segcore.archives.archive_zip import member_damage
from segcore.uploads.gridfs_reader import (
    ChunkFile,
    ChunkStream,
    ReadStats,
    StoredFile,
    _check_chunk,
)

WINDOW_CHUNKS = 32  # ~8 MB at GridFS's default chunk size
STREAM_BATCH_CHUNKS = 32


class WindowFile(ChunkFile):
    """A seekable view of one upload that fetches a range of chunks in one query (`fetch`);
    reads outside the fetched range fall back to one chunk at a time (a few kept)."""

    def __init__(self, chunks: Collection, stored: StoredFile, stats: ReadStats | None = None):
        super().__init__(chunks, stored, stats, keep=WINDOW_CHUNKS + 4)

    def chunk_of(self, offset: int) -> int:
        return max(0, offset) // self._stored.chunk_size

    def fetch(self, start: int, end: int) -> None:
        """Hold the chunks holding bytes [start, end), fetching the missing ones in one query,
        and drop every other chunk."""
        first = self.chunk_of(start)
        last = min(self.chunk_of(max(start, end - 1)), self._stored.chunk_count - 1)
        for n in [n for n in self._cache if not first <= n <= last]:
            del self._cache[n]
        missing = [n for n in range(first, last + 1) if n not in self._cache]
        if not missing:
            return
        cursor = self._chunks.find(
            {"files_id": self._stored.id, "n": {"$gte": missing[0], "$lte": missing[-1]}},
            {"data": 1, "n": 1},
            batch_size=len(missing),
        ).sort("n", 1)
        with cursor:
            for doc in cursor:
                n = doc.get("n")
                if isinstance(n, int) and n in missing and n not in self._cache:
                    data = _check_chunk(self._stored, n, doc.get("data"))
                    self.stats.add(n, data)
                    self._cache[n] = data
        # A chunk the query did not return is fetched (and reported missing) when read.


class BatchedStream(ChunkStream):
    """`ChunkStream` with large cursor batches: one round trip per `STREAM_BATCH_CHUNKS`."""

    def __init__(self, chunks: Collection, stored: StoredFile, stats: ReadStats | None = None):
        super().__init__(chunks, stored, stats)
        self._cursor.batch_size(STREAM_BATCH_CHUNKS)


# --- a tar's decompression in a thread of its own ----------------------------------------

AHEAD_BYTES = 4 << 20  # decompressed bytes held ahead of the reader (one record's may be more)
PIECE = 256 * 1024
CORRUPT = (OSError, lzma.LZMAError, zlib.error)  # archive_tar.CompressedDataError among them


class StreamDamaged(tarfile.ReadError):
    """A tar's compressed stream is corrupt or cut short: nothing after that point can be read
    (`reason`: the listing's words for it, `archive_tar.CORRUPT` or `TRUNCATED`)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _decompressed(stream):
    """The decompressed pieces of `stream` (as it is when not compressed), in order, undone by
    the listing's readers (`archive_tar.decompressing`): every stream of a multi-stream file in
    turn, and a compressed stream cut or damaged before its end marker is StreamDamaged, never
    read as a tar that just ends."""
    reader = decompressing(stream)
    try:
        while data := reader.read(PIECE):
            yield data
    except EOFError as exc:
        raise StreamDamaged(TRUNCATED) from exc
    except CORRUPT as exc:
        raise StreamDamaged(CORRUPT_STREAM) from exc


class ReadAhead(io.RawIOBase):
    """A tar stream's decompressed bytes, decompressed in a thread of its own up to
    AHEAD_BYTES ahead of the reader: the archive is undone on one core while its masks
    are decoded on the other (the decompressors and Pillow let go of the interpreter lock).
    What the stream raises reaches the reader where it occurs: corrupt data, or a stream cut
    short, is StreamDamaged once the pieces before it are read."""

    def __init__(self, stream):
        super().__init__()
        self._queue: queue.Queue = queue.Queue()
        self._room = threading.Condition()
        self._held = 0  # bytes in the queue
        self._stopping = threading.Event()
        self._buffer, self._offset, self._ended = b"", 0, False
        self._thread = threading.Thread(
            target=self._produce, args=(stream,), name="tar-read-ahead", daemon=True
        )
        self._thread.start()

    def readable(self) -> bool:
        return True

    def _produce(self, stream) -> None:
        try:
            for data in _decompressed(stream):
                if data:
                    self._put(data)
                if self._stopping.is_set():  # before reading on
                    return
            self._put(None)  # the end
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            self._put(exc)

    def _put(self, item) -> None:
        """Queue `item` once the bytes held leave room for it (always when none are held)."""
        size = len(item) if isinstance(item, bytes) else 0
        with self._room:
            while self._held and self._held + size > AHEAD_BYTES:
                if self._stopping.is_set():
                    return
                self._room.wait(0.1)
            self._held += size
        self._queue.put(item)

    def _next(self):
        item = self._queue.get()
        if isinstance(item, bytes):
            with self._room:
                self._held -= len(item)
                self._room.notify()
        return item

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of the current piece (the piece itself, uncopied, when all of it
        is asked for)."""
        if self._offset >= len(self._buffer):
            if self._ended:
                return b""
            item = self._next()
            if isinstance(item, BaseException):
                self._ended = True
                raise item
            if item is None:
                self._ended = True
                return b""
            self._buffer, self._offset = item, 0
        if self._offset == 0 and (size < 0 or size >= len(self._buffer)):
            data, self._buffer = self._buffer, b""
            return data
        end = len(self._buffer) if size < 0 else self._offset + size
        data = self._buffer[self._offset : end]
        self._offset += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(memoryview(buffer).cast("B")))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Stop the thread (it ends after its current record) before the stream is closed."""
        self._stopping.set()
        with self._room:
            self._room.notify()
        self._thread.join()
        super().close()


class CountingStream:
    """A read-only stream wrapper counting the bytes read through it; what reading the stream
    itself raised (the archive's damage, not the format's) is kept in `failed`, whatever the
    format's reader makes of it."""

    def __init__(self, stream, size_hint: int | None = None, keep: bool = False):
        self.stream, self.count, self.size_hint = stream, 0, size_hint
        self.kept: list[bytes] | None = [] if keep else None  # what was read, when kept
        self.failed: Exception | None = None

    def read(self, size: int = -1) -> bytes:
        try:
            data = self.stream.read(size)
        except Exception as exc:
            self.failed = exc
            raise
        self.count += len(data)
        if self.kept is not None:
            self.kept.append(data)
        return data

    def damage(self) -> str | None:
        """Why reading the member's data failed, in words, when the archive's data is damaged
        (a zip member's checksum or compressed data: `archive_zip.member_damage`), whatever
        the format's reader made of it; None otherwise. Raises StreamDamaged again for a
        tar's damaged stream: the whole upload's, not this member's."""
        if isinstance(self.failed, StreamDamaged):
            raise self.failed
        return member_damage(self.failed) if self.failed is not None else None


@contextmanager
def tar_stream(chunks: Collection, stored: StoredFile, stats: ReadStats):
    """An upload's bytes from its first chunk, decompressed a few MB ahead (`ReadAhead`)."""
    with (
        closing(BatchedStream(chunks, stored, stats)) as stream,
        closing(ReadAhead(stream)) as ahead,
    ):
        yield ahead
