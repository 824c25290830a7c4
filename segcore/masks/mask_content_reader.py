"""Reading an upload's chunks for the content check in few round trips, memory still bounded.

Each query to the server costs far more than the bytes it returns (on a busy machine a round trip
takes as long as decoding a mask), so the check asks for many chunks at once:

- `WindowFile`: a zip's members are read at their own offsets, a run of neighbouring members'
  chunks fetched in one query (at most `WINDOW_CHUNKS` beyond the member being read); a member
  that is not checked is never fetched, and chunks outside the range being read are dropped.
- `BatchedStream`: a tar is streamed in cursor batches of `STREAM_BATCH_CHUNKS` chunks.
"""

from __future__ import annotations

from pymongo.collection import Collection

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
                    self.stats.add(data)
                    self._cache[n] = data
        # A chunk the query did not return is fetched (and reported missing) when read.


class BatchedStream(ChunkStream):
    """`ChunkStream` with large cursor batches: one round trip per `STREAM_BATCH_CHUNKS`."""

    def __init__(self, chunks: Collection, stored: StoredFile, stats: ReadStats | None = None):
        super().__init__(chunks, stored, stats)
        self._cursor.batch_size(STREAM_BATCH_CHUNKS)
