"""Reading a GridFS file's bytes a chunk at a time, counting what was fetched.

Two readers over `<bucket>.chunks`, both read only: `ChunkFile`, a seekable file object that
fetches a chunk by its index only when a read touches it (so a zip's central directory at the end
of a large upload costs a chunk or two), and `ChunkStream`, a forward-only stream that walks the
chunks in order with a small cursor batch (so a tar of any size passes through bounded memory).
"""

from __future__ import annotations

import errno
import io
from dataclasses import dataclass, field

from pymongo.collection import Collection

from segcore.core.errors import N_, DamagedUpload

CURSOR_BATCH = 8  # chunks per round trip when streaming: ~2 MB at the default chunk size


@dataclass
class ReadStats:
    """What a check of one upload fetched from GridFS (whole chunks: the server cannot send
    part of one), each chunk counted once however often it was fetched: an upload that cannot
    be read as its name says has its first chunk read again for its first bytes, a tar's links
    may have it streamed twice, and the figure says how much of the stored upload was read."""

    chunks: int = 0
    bytes: int = 0
    counted: set[int] = field(default_factory=set, repr=False)  # the chunks' numbers

    def add(self, n: int, data: bytes) -> None:
        """Chunk `n`, fetched (again or not)."""
        if n not in self.counted:
            self.counted.add(n)
            self.chunks += 1
            self.bytes += len(data)


@dataclass(frozen=True)
class StoredFile:
    """The parts of a GridFS file document a reader needs."""

    id: object
    length: int
    chunk_size: int

    @classmethod
    def from_document(cls, doc: dict) -> "StoredFile":
        """Raises UnreadableUpload when the document cannot describe readable chunks."""
        length, chunk_size = _whole(doc.get("length")), _whole(doc.get("chunkSize"))
        if length is None or length < 0:
            raise DamagedUpload(N_("the upload has no valid length"))
        if chunk_size is None or chunk_size <= 0:
            raise DamagedUpload(N_("the upload has no valid chunk size"))
        return cls(doc.get("_id"), length, chunk_size)

    @property
    def chunk_count(self) -> int:
        return -(-self.length // self.chunk_size)

    def expected_size(self, n: int) -> int:
        """How many bytes chunk `n` must hold."""
        return min(self.chunk_size, self.length - n * self.chunk_size)


def _whole(value: object) -> int | None:
    """A whole number as an int, also stored as a double (Node's BSON writes integers past
    2**31 - 1 that way, and other drivers may too); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


MISSING_CHUNK = N_("truncated upload: chunk {chunk} is missing")
SHORT_CHUNK = N_("truncated upload: chunk {chunk} holds {size} bytes, not {expected}")
CHUNKS_SHORT = N_(
    "truncated upload: {chunks} of {expected} chunks stored, {size} of {length} bytes"
)
EXTRA_CHUNKS = N_("the upload's chunks hold more than its length")
NO_CHUNK_NUMBER = N_("a chunk has no number (n)")
BAD_CHUNK_NUMBER = N_("a chunk's number (n) is {value}, not a whole number from 0")
TWICE_CHUNK = N_("chunk {chunk} is stored twice")
BEYOND_CHUNK = N_("chunk {chunk} is beyond the upload's length (its last chunk is {last})")
# What an upload's stored chunks say, which may change once they are all there (a restore that
# writes masks.files before masks.chunks, a writer storing the file document first).
CHUNK_REASONS = (
    MISSING_CHUNK,
    SHORT_CHUNK,
    CHUNKS_SHORT,
    EXTRA_CHUNKS,
    NO_CHUNK_NUMBER,
    BAD_CHUNK_NUMBER,
    TWICE_CHUNK,
    BEYOND_CHUNK,
)


def _check_chunk(stored: StoredFile, n: int, data: object) -> bytes:
    if not isinstance(data, (bytes, bytearray)):
        raise DamagedUpload(MISSING_CHUNK, chunk=n)
    if len(data) != stored.expected_size(n):
        raise DamagedUpload(
            SHORT_CHUNK,
            chunk=n,
            size=len(data),
            expected=stored.expected_size(n),
        )
    return bytes(data)


NO_CHUNKS = (0, 0, -1)  # the totals of an upload with no stored chunk
TOTALS_CHUNK = 50  # uploads per aggregate: `$in` lists stay short (see schema.IN_CHUNK)


def _totals_pipeline(match: dict, by) -> list[dict]:
    return [
        {"$match": match},
        {
            "$group": {
                "_id": by,
                "count": {"$sum": 1},
                "bytes": {"$sum": {"$binarySize": "$data"}},
                "last": {"$max": "$n"},
            }
        },
    ]


def chunk_totals(chunks: Collection, file_ids: list) -> dict:
    """{file id: (chunks stored, bytes stored, highest n)} of many uploads, a few aggregates for
    all of them instead of one each (a sync that sees 1,000 new uploads); an upload with no
    chunk is absent (its totals are NO_CHUNKS)."""
    totals = {}
    for start in range(0, len(file_ids), TOTALS_CHUNK):
        part = file_ids[start : start + TOTALS_CHUNK]
        for row in chunks.aggregate(_totals_pipeline({"files_id": {"$in": part}}, "$files_id")):
            totals[row["_id"]] = (row["count"], row["bytes"], row["last"])
    return totals


def check_chunks_add_up(
    chunks: Collection, stored: StoredFile, totals: tuple | None = None
) -> None:
    """Raise UnreadableUpload unless the stored chunks hold exactly the upload's length.

    One aggregate counts the chunks and sums their sizes on the server (no data is sent), so a
    chunk missing or short anywhere is found, also where a listing never reads (the middle of a
    zip, a single mask file). `totals`: what `chunk_totals` found, instead of asking again.
    """
    if totals is None:
        found = list(chunks.aggregate(_totals_pipeline({"files_id": stored.id}, None)))
        totals = (found[0]["count"], found[0]["bytes"], found[0]["last"]) if found else NO_CHUNKS
    count, size, last = totals
    if (count, size, last) == (stored.chunk_count, stored.length, stored.chunk_count - 1):
        return
    if count:
        _say_what_is_wrong(chunks, stored)
    if size > stored.length:
        raise DamagedUpload(EXTRA_CHUNKS)
    raise DamagedUpload(
        CHUNKS_SHORT,
        chunks=count,
        expected=stored.chunk_count,
        size=size,
        length=stored.length,
    )


def _say_what_is_wrong(chunks: Collection, stored: StoredFile) -> None:
    """Raise UnreadableUpload naming an odd chunk behind totals that do not add up, where
    "N of M chunks stored" would call a complete upload truncated: a chunk number that is none
    (`n` as text: pymongo's GridFS readers refuse it too), a chunk beyond the length (even an
    empty one), a chunk stored twice. Reads every chunk's number, never its data; returns when
    the numbers are sound (missing or short chunks: the caller's totals say it)."""
    pipeline = [{"$match": {"files_id": stored.id}}, {"$project": {"_id": 0, "n": 1}}]
    numbers: set[int] = set()
    for doc in chunks.aggregate(pipeline):
        if doc.get("n") is None:
            raise DamagedUpload(NO_CHUNK_NUMBER)
        n = _whole(doc["n"])
        if n is None or n < 0:
            raise DamagedUpload(BAD_CHUNK_NUMBER, value=_shown(doc["n"]))
        if n in numbers:
            raise DamagedUpload(TWICE_CHUNK, chunk=n)
        numbers.add(n)
    beyond = [n for n in numbers if n >= stored.chunk_count]
    if beyond and not stored.chunk_count:
        raise DamagedUpload(EXTRA_CHUNKS)
    if beyond:
        raise DamagedUpload(BEYOND_CHUNK, chunk=min(beyond), last=stored.chunk_count - 1)


def _shown(value: object) -> str:
    """A stored value as a reason quotes it: its text in quotes, short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


class ChunkFile(io.RawIOBase):
    """A seekable, read-only view of one GridFS file that fetches chunks on demand.

    Only the chunks a read touches are fetched, each once; missing or short chunks raise
    UnreadableUpload.
    """

    def __init__(
        self,
        chunks: Collection,
        stored: StoredFile,
        stats: ReadStats | None = None,
        keep: int | None = None,
    ):
        self._chunks = chunks
        self._stored = stored
        self._cache: dict[int, bytes] = {}
        self._keep = keep  # chunks kept in memory (None: all), for reading members in turn
        self._pos = 0
        self.stats = stats or ReadStats()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._stored.length}[whence]
        if base + offset < 0:  # as a file on disk: a corrupt zip's offset is never read as 0
            raise OSError(errno.EINVAL, "Invalid argument: a position before the file's start")
        self._pos = base + offset
        return self._pos

    def _chunk(self, n: int) -> bytes:
        if n not in self._cache:
            doc = self._chunks.find_one({"files_id": self._stored.id, "n": n}, {"data": 1})
            data = _check_chunk(self._stored, n, doc.get("data") if doc else None)
            self.stats.add(n, data)
            if self._keep is not None and len(self._cache) >= self._keep:
                self._cache.pop(next(iter(self._cache)))  # the oldest fetched
            self._cache[n] = data
        return self._cache[n]

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), max(0, self._stored.length - self._pos))
        done = 0
        size = self._stored.chunk_size
        while done < wanted:
            n, start = divmod(self._pos, size)
            piece = self._chunk(n)[start : start + wanted - done]
            view[done : done + len(piece)] = piece
            done += len(piece)
            self._pos += len(piece)
        return done


class ChunkStream(io.RawIOBase):
    """A forward-only stream over one GridFS file's chunks, in order, a few at a time."""

    def __init__(self, chunks: Collection, stored: StoredFile, stats: ReadStats | None = None):
        self._stored = stored
        self._cursor = chunks.find(
            {"files_id": stored.id}, {"data": 1, "n": 1}, batch_size=CURSOR_BATCH
        ).sort("n", 1)
        self._next_n = 0
        self._ended = False
        self._buffer = b""
        self._offset = 0
        self.stats = stats or ReadStats()

    def readable(self) -> bool:
        return True

    def _fetch(self) -> bytes:
        if self._next_n >= self._stored.chunk_count:
            if not self._ended and next(self._cursor, None) is not None:
                raise DamagedUpload(EXTRA_CHUNKS)
            self._ended = True
            return b""
        doc = next(self._cursor, None)
        n = self._next_n
        if doc is None or doc.get("n") != n:
            raise DamagedUpload(MISSING_CHUNK, chunk=n)
        data = _check_chunk(self._stored, n, doc.get("data"))
        self.stats.add(n, data)
        self._next_n += 1
        return data

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._offset >= len(self._buffer):
            self._buffer, self._offset = self._fetch(), 0
        # An offset into the chunk: slicing off what was read would copy the rest each time.
        piece = memoryview(self._buffer)[self._offset : self._offset + len(view)]
        view[: len(piece)] = piece
        self._offset += len(piece)
        return len(piece)

    def close(self) -> None:
        self._cursor.close()
        super().close()
