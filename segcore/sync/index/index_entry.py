"""One upload as the sync index remembers it: its id, file name, uploader, date and length.

An index holds one entry per upload (500,000 in a large lab), so the usual upload is packed into
a single bytes object (`PackedEntry`) instead of a tuple of five objects; `entry_of` picks the
form, and both read the same by attribute or unpacking.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from bson import ObjectId

EPOCH = datetime(1970, 1, 1)
NO_DATE = -(2**63)
# An entry's length when the stored one is not a size (text, NaN, negative: the upload is
# unusable and its reason names the value): shown as unknown, never as "0 MB".
NO_LENGTH = -1
US = timedelta(microseconds=1)
INT64 = range(-(2**63) + 1, 2**63)
US_RANGE = range((datetime.min - EPOCH) // US, (datetime.max - EPOCH) // US + 1)


class IndexEntry(NamedTuple):
    """One upload as the index remembers it."""

    id: object
    filename: str
    uploader: str | None
    date: datetime | None
    length: int


HEAD = struct.Struct("<qqH")  # date in µs since EPOCH (or NO_DATE), length, uploader's bytes
ID_END, HEAD_END = 12, 12 + HEAD.size
NO_UPLOADER = 0xFFFF  # the uploader's byte count for None


class PackedEntry(bytes):
    """An IndexEntry held as one bytes object: id, then `HEAD`, the uploader and the filename
    in UTF-8. About 120 bytes against 240 for the tuple with its date, length and filename
    objects: at 500,000 uploads, 60 MB off a full sync's peak (and off a live sync's memory).

    Read like an IndexEntry, by attribute or by unpacking; it equals the IndexEntry of the same
    values. `entry_of` makes one when the values fit, an IndexEntry otherwise."""

    __slots__ = ()

    @property
    def id(self) -> ObjectId:
        return ObjectId(self[:ID_END])

    @property
    def date(self) -> datetime | None:
        micros = HEAD.unpack_from(self, ID_END)[0]
        return None if micros == NO_DATE else EPOCH + micros * US

    @property
    def length(self) -> int:
        return HEAD.unpack_from(self, ID_END)[1]

    @property
    def uploader(self) -> str | None:
        size = HEAD.unpack_from(self, ID_END)[2]
        if size == NO_UPLOADER:
            return None
        return self[HEAD_END : HEAD_END + size].decode("utf-8", "surrogatepass")

    @property
    def filename(self) -> str:
        size = HEAD.unpack_from(self, ID_END)[2]
        start = HEAD_END + (0 if size == NO_UPLOADER else size)
        return self[start:].decode("utf-8", "surrogatepass")

    def raw(self) -> tuple[bytes, int, int, str | None, str]:
        """(id bytes, date in µs or NO_DATE, length, uploader, filename): the fields without
        building an ObjectId or a datetime."""
        micros, length, size = HEAD.unpack_from(self, ID_END)
        if size == NO_UPLOADER:
            uploader, start = None, HEAD_END
        else:
            start = HEAD_END + size
            uploader = self[HEAD_END:start].decode("utf-8", "surrogatepass")
        return (
            self[:ID_END],
            micros,
            length,
            uploader,
            self[start:].decode("utf-8", "surrogatepass"),
        )

    def fields(self) -> IndexEntry:
        raw_id, micros, length, uploader, filename = self.raw()
        date = None if micros == NO_DATE else EPOCH + micros * US
        return IndexEntry(ObjectId(raw_id), filename, uploader, date, length)

    def __iter__(self):
        return iter(self.fields())

    def __eq__(self, other):
        if isinstance(other, (PackedEntry, tuple)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self):
        return hash(self.fields())

    def __reduce__(self):
        return entry_of, tuple(self)

    def __repr__(self):
        return repr(self.fields())


def entry_of(upload_id, filename, uploader, date, length) -> IndexEntry | PackedEntry:
    """The index's entry for one upload: packed when the values allow (an ObjectId, a naive
    date, an integer length: nearly always), else an IndexEntry."""
    if (
        type(upload_id) is ObjectId
        and type(filename) is str
        and (uploader is None or type(uploader) is str)
        and (date is None or (type(date) is datetime and date.tzinfo is None))
        and type(length) is int
        and length in INT64
    ):
        who = uploader_bytes(uploader)
        if who is not None:
            micros = NO_DATE if date is None else (date - EPOCH) // US
            head = HEAD.pack(micros, length, who[0])
            return PackedEntry(
                upload_id.binary + head + who[1] + filename.encode("utf-8", "surrogatepass")
            )
    return IndexEntry(upload_id, filename, uploader, date, length)


def known_length(entry) -> int | None:
    """An entry's size in bytes (0 for an upload stored without one), or None when the stored
    length is not a size (NO_LENGTH)."""
    length = entry.length
    return None if length == NO_LENGTH else length or 0


def date_order(entry) -> int:
    """An entry's date as an integer that sorts like the dates (µs since EPOCH, NO_DATE, the
    least, for none; an aware date at its UTC time), read without building the date."""
    if type(entry) is PackedEntry:
        return HEAD.unpack_from(entry, ID_END)[0]
    date = entry.date
    if date is None:
        return NO_DATE
    if date.tzinfo is not None:
        date = date.astimezone(timezone.utc).replace(tzinfo=None)
    return (date - EPOCH) // US


def unpacked(entry) -> IndexEntry:
    """An entry as an IndexEntry (read once, where many fields of many entries are read)."""
    return entry.fields() if type(entry) is PackedEntry else entry


def uploader_bytes(name: str | None) -> tuple[int, bytes] | None:
    """(byte count, bytes) of an uploader in a PackedEntry; None when it does not fit."""
    if name is None:
        return NO_UPLOADER, b""
    encoded = name.encode("utf-8", "surrogatepass")
    return (len(encoded), encoded) if len(encoded) < NO_UPLOADER else None
