"""A 7z upload's masks checked as py7zr extracts them: only the members wanted as masks, each
held in memory until py7zr closes it (within the upload's budget), then let go.

`scan` is the content check's running tally (`mask_content_scan._Scan`, not imported here:
that module calls this one); this module only feeds it.
"""

from __future__ import annotations

import io
import lzma
import zlib

import py7zr
from py7zr import exceptions as py7zr_errors

from segcore.archives.archive_7z import (
    SEVEN_ZIP_ERRORS,
    WriteOnly,
    error_detail,
    extract_files,
    link_texts,
    method_name,
)
from segcore.archives.archive_links import LINK_NO_FILE, archive_path, follow, link_path
from segcore.archives.archive_zip import MEMBER_BAD_CHECKSUM, MEMBER_DATA_CORRUPT
from segcore.content.formats.mask_geometry import OverLimit
from segcore.content.formats.read_reasons import (
    ENCRYPTED_7Z,
    ENCRYPTED_7Z_HEADERS,
    SEVEN_ZIP_ARCHIVE,
    UNSUPPORTED_METHOD,
    not_readable,
)
from segcore.core.errors import UnreadableUpload
from segcore.uploads.gridfs_reader import ChunkFile


class _MaskWriter(WriteOnly):
    """Where py7zr writes one checked member: held until py7zr closes it, then checked (as
    itself and as each link leading to it) and let go (one at a time, within the upload's
    budget). `checks`: [(the name it is checked as, images)]."""

    def __init__(self, scan, checks: list):
        self.scan, self.checks = scan, checks
        self.data = io.BytesIO()

    def write(self, data) -> int:
        if self.scan.used + self.data.tell() + len(data) > self.scan.budget:
            raise OverLimit("too large")
        return self.data.write(data)

    def close(self) -> None:
        size = self.data.tell()
        for name, images in self.checks:
            self.data.seek(0)
            self.scan.check(name, self.data, images, size)
        self.data = io.BytesIO()


def _7z_checks(scan, archive: py7zr.SevenZipFile) -> dict[int, list]:
    """A file's position in the 7z -> what its data is checked as: itself, and each symbolic
    link (`7z -snl`) that leads to it; a link leading nowhere is unreadable. A path held twice
    (py7zr's append mode adds it again) is its last copy, as 7-Zip leaves it: the others are
    not read."""
    entries = archive.list()
    scan.detached.seen(e.filename for e in entries if not e.is_directory)
    try:
        texts = link_texts(archive, entries, scan.budget)
    except py7zr_errors.UnsupportedCompressionMethodError:
        archive.reset()
        texts = {}  # its links are then extracted as files, and their method said (scan_7z)
    last = {archive_path(e.filename): i for i, e in enumerate(entries) if not e.is_directory}
    links = {
        path: link_path(entries[i].filename, texts[i]) for path, i in last.items() if i in texts
    }
    files = {path for path in last if path not in links}
    checks: dict[int, list] = {}
    for path, position in last.items():
        name = entries[position].filename
        images = scan.wanted(name)
        target = follow(path, links, files) if path in links else path
        if images and target is None:
            reason = LINK_NO_FILE.format(target=repr(texts[position]))
            scan.add(name, [("unreadable", {"reason": reason})], images)
        elif images:
            checks.setdefault(last[target], []).append((name, images))
    return checks


def _extract(scan, archive: py7zr.SevenZipFile, checks: dict[int, list]) -> None:
    """Extract the checked members into `scan`, whatever their names (`extract_files`); a
    member whose data is damaged (py7zr checks its CRC once it is written, so it was checked
    already) is unreadable as a damaged member, and the 7z as one holding it, in words, never
    py7zr's or lzma's message (the member's name; "Corrupt input data")."""
    try:
        extract_files(archive, checks, lambda position: _MaskWriter(scan, checks[position]))
    except py7zr_errors.CrcError as exc:
        for checked, images in checks.get(exc.args[2], []) if len(exc.args) > 2 else []:
            scan.add(checked, [("unreadable", {"reason": MEMBER_BAD_CHECKSUM})], images)
        raise UnreadableUpload(not_readable(SEVEN_ZIP_ARCHIVE, MEMBER_BAD_CHECKSUM)) from None
    except (py7zr_errors.DecompressionError, lzma.LZMAError, zlib.error):
        raise UnreadableUpload(not_readable(SEVEN_ZIP_ARCHIVE, MEMBER_DATA_CORRUPT)) from None


def scan_7z(scan, source: ChunkFile) -> None:
    """Check the 7z's wanted masks into `scan`; UnreadableUpload when it cannot be read. A
    valid 7z compressed by a method py7zr does not decode (7-Zip's BCJ2, ARM64 and RISCV
    filters) is no fault of its masks: those not checked get a note, as a zip member's
    unknown method does."""
    checks: dict[int, list] = {}
    try:
        with py7zr.SevenZipFile(source, mode="r") as archive:
            if archive.needs_password():
                raise UnreadableUpload(ENCRYPTED_7Z)
            checks = _7z_checks(scan, archive)
            if checks:
                _extract(scan, archive, checks)
    except py7zr_errors.UnsupportedCompressionMethodError as exc:
        if not checks:  # the headers themselves: nothing could be listed
            raise UnreadableUpload(not_readable(SEVEN_ZIP_ARCHIVE, error_detail(exc))) from None
        reason = UNSUPPORTED_METHOD.format(method=method_name(exc))
        for name, images in (c for targets in checks.values() for c in targets):
            if archive_path(name) not in scan.outcomes:
                scan.add(name, [("no_reader", {"reason": reason})], images)
    except py7zr_errors.PasswordRequired:
        raise UnreadableUpload(ENCRYPTED_7Z_HEADERS) from None
    except SEVEN_ZIP_ERRORS as exc:
        raise UnreadableUpload(not_readable(SEVEN_ZIP_ARCHIVE, error_detail(exc))) from None
