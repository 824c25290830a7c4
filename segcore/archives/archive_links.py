"""Symbolic links inside an archive, resolved as extracting the archive would: pure functions.

A link member (tar `SYMTYPE`, a zip member whose Unix mode says link, as `zip -y` and macOS
Finder store them, a 7z member with the link attribute, as `7z -snl` stores it) holds the path
it points to, relative to its own folder. It counts as the member it leads to (following links
to links); one pointing outside the archive (an absolute path, or up past its top folder) or to
no file of it is never followed: it is no mask, and is listed among the other files saying so.
"""

from __future__ import annotations

import posixpath
import re

from segcore.archives.archive_tar import member_path
from segcore.core.errors import N_
from segcore.images.mask_matching import member_base_name

MAX_HOPS = 40  # as the Linux kernel follows: a loop of links ends
MAX_LINK_BYTES = 4096  # a link's text longer than a path can be is no link to follow
OUTSIDE = N_("{name} (a link to {target}, outside the archive)")
MISSING = N_("{name} (a link to {target}, no file of the archive)")
# Why a linked mask is unreadable to the content check (stored in English, worded by the pages)
LINK_NOT_READ = N_("a link to {target}, not a mask this check read")
LINK_NO_FILE = N_("a link to {target}, not a file of the archive")
LINK_OUTSIDE = N_("a link to {target}, outside the archive")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def archive_path(name: str) -> str:
    """A member's path as extracting the archive would write it: `/` between folders, no `./`
    or `/` first, so `./a.png` and `a.png` are one path."""
    return member_path(str(name).replace("\\", "/"))


def link_path(member: str, target: str) -> str | None:
    """The archive path the link `member` points to (`target`: its text), None when it points
    outside the archive."""
    target = str(target).replace("\\", "/")
    if target.startswith("/") or _DRIVE.match(target) or not target:
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(archive_path(member)), target))
    if joined == ".." or joined.startswith("../"):
        return None
    return member_path(joined)


def follow(path: str, links: dict[str, str | None], files) -> str | None:
    """The file `path` (an archive path) leads to through `links` (link path -> the path it
    points to, None outside), among `files` (paths); None when it leads nowhere."""
    for _ in range(MAX_HOPS):
        if path in files:
            return path
        if path not in links or links[path] is None:
            return None
        path = links[path]
    return None


def resolve_links(entries: list) -> tuple[list, list[str]]:
    """`entries` (`(name, size, key, value, link)`, `link` the text of a symbolic link, else
    None) with each link given its target's size, and `(name, note)` (`OUTSIDE`, `MISSING`) for
    the links that lead to no file of the archive, which are left out. A link keeps its own
    fingerprint (its text's)."""
    files = {archive_path(e[0]): e[1] for e in entries if e[4] is None}
    links = {archive_path(e[0]): link_path(e[0], e[4]) for e in entries if e[4] is not None}
    kept, notes = [], []
    for name, size, key, value, link in entries:
        if link is None:
            kept.append((name, size, key, value, None))
            continue
        target = follow(archive_path(name), links, files)
        if target is not None:
            kept.append((name, files[target], key, value, None))
        else:
            template = OUTSIDE if links.get(archive_path(name)) is None else MISSING
            notes.append((name, template.format(name=member_base_name(name), target=link)))
    return kept, notes


class StreamedLinks:
    """A streamed tar's links as its members pass, for a check that reads some files only
    (`mask_content_scan`): which path each link leads to, which files a waiting link needs, and
    which passed before any link led to them. A link may lead to a file that is no mask to check
    (`masks/img_001_mask.png -> ../store/case_a.png`, nnU-Net's link folders), before or after
    it: one after it is read when it passes, one before it in a second pass (`back`)."""

    def __init__(self) -> None:
        self.leads: dict[str, str | None] = {}  # link path -> the path it points to (None: out)
        self.needed: dict[str, str] = {}  # a path waiting links lead to -> the name read as
        self.passed: dict[str, int] = {}  # a file passed unread -> its last copy's header offset

    def link(self, path: str, target: str | None) -> None:
        """The link `path` points to `target`: what a waiting link needs through it, too."""
        self.leads[path] = target
        if path in self.needed and target is not None:
            self.needed.setdefault(self.resolved(target), self.needed[path])

    def resolved(self, path: str, read=()) -> str:
        """The path `path` leads to through the links seen so far: itself when it is no link
        (or one already `read`)."""
        for _ in range(MAX_HOPS):
            if path in read or self.leads.get(path) is None:
                return path
            path = self.leads[path]  # type: ignore[assignment]
        return path

    def need(self, path: str, name: str) -> None:
        """A waiting link, named `name`, leads to `path`: read it as that name when it passes."""
        self.needed.setdefault(path, name)

    def passing(self, path: str, offset: int) -> bool:
        """A file that is no mask passes: True when a waiting link needs it (read it now),
        else it is remembered as passed unread."""
        if path in self.needed:
            return True
        self.passed[path] = offset
        return False

    def back(self, targets) -> dict[str, int]:
        """Of the paths waiting links lead to, those that passed unread: the header offset of
        each one's last copy, by path (what a second pass reads)."""
        return {t: self.passed[t] for t in targets if t in self.passed}
