"""Detached headers in an upload (`.mhd`, `.nhdr`): a header holds no values, so one uploaded
without the data file it names holds no mask at all, and is unreadable, naming that file.

The archive's member paths are known once it is listed (zip, 7z) or read to its end (tar);
until then (a tar cut short by the budget) a header is checked by itself, as before.
"""

from __future__ import annotations

import posixpath

from segcore.archives.archive_links import archive_path
from segcore.content.formats.read_reasons import NO_DATA_FILE


class DetachedData:
    """The data files an upload's detached headers name, and the members it holds."""

    def __init__(self) -> None:
        self.members: set[str] | None = None  # every member's path, once all are known
        self.passed: set[str] = set()  # a tar's member names, as they pass
        self.named: dict[str, str] = {}  # a header's archive path -> its data file's

    def seen(self, names) -> None:
        """The archive's members are these (all of them)."""
        self.members = (self.members or set()) | {archive_path(name) for name in names}

    def header(self, path: str, mask) -> None:
        """A mask read at `path` (its grid and values, or why it is unreadable): a header
        naming a data file (`Geometry.data_file`, relative to its own folder) is kept."""
        data_file = None if isinstance(mask, str) else mask[0].data_file
        if data_file:
            folder = posixpath.dirname(archive_path(path))
            self.named[archive_path(path)] = posixpath.normpath(posixpath.join(folder, data_file))

    def without_data(self, outcomes: dict) -> None:
        """In a scan's `outcomes` (archive path -> (member, [(image, problems)])), each header
        whose data file the upload does not hold: its "detached" note becomes unreadable."""
        if self.members is None:
            return
        for path, data_path in self.named.items():
            if data_path in self.members or path not in outcomes:
                continue
            member, outcome = outcomes[path]
            reason = NO_DATA_FILE.format(file=posixpath.basename(data_path))
            missing = ("unreadable", {"reason": reason})
            outcomes[path] = (
                member,
                [
                    (image, [missing if code == "detached" else (code, p) for code, p in problems])
                    for image, problems in outcome
                ],
            )
