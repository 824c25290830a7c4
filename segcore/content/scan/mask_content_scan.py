"""Content checks of one upload: each mask matched to an image, read once, one at a time.

- A zip's members are read at their own offsets, so only the GridFS chunks holding a checked
  member are fetched: a run of neighbouring checked members' chunks in one query, at most
  `WINDOW_CHUNKS` kept (`mask_content_reader`).
- A tar, plain or compressed, is streamed once in large cursor batches and decompressed in a
  thread of its own a few MB ahead; members are checked as they pass, one at a time. A link
  leading back to a file no link led to when it passed (no mask itself) has the tar read again,
  up to that file only (`_tar_pass`).
- A single mask file is streamed from its chunks. What counts is what extracting leaves: a
  path's last copy, a link as the member it leads to; an image's masks under several folders
  must each be right (`_Scan.finish`); `mask_images` says which image a mask is checked against.
Members are named as the listing names them (`mask_matching.member_base_name`, `mask_path`:
NFC, undecodable bytes as `?`), so every mask it counts is the one checked. At most `budget`
bytes are decompressed per upload: past it the upload is "too large to check" and what was
checked stands. Images are read by header only, cached by path, size and mtime.
"""

from __future__ import annotations

import tarfile
import zipfile
import zlib
from dataclasses import dataclass, field

from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from segcore.archives.archive_links import (
    LINK_NO_FILE,
    LINK_NOT_READ,
    LINK_OUTSIDE,
    StreamedLinks,
    archive_path,
    follow,
    link_path,
)
from segcore.archives.archive_listing import _TAR_ERRORS, kind_from_magic, kind_from_name
from segcore.archives.archive_tar import NAME_ENCODING, member_path
from segcore.archives.archive_zip import (
    UnsupportedMethod,
    check_member_offsets,
    is_symlink,
    link_text,
    member_damage,
    member_name,
    open_member,
    open_zip,
)
from segcore.content.formats import read_reasons as reasons
from segcore.content.formats.mask_formats import DETACHED, no_reader, read_mask
from segcore.content.formats.mask_geometry import OverLimit, first_line
from segcore.content.mask_content import ContentTally, Rules, check_mask
from segcore.content.scan.detached_data import DetachedData
from segcore.content.scan.image_pixels import compared, named_as, resaved
from segcore.content.scan.mask_content_7z import scan_7z
from segcore.content.scan.mask_content_reader import (
    WINDOW_CHUNKS,
    BatchedStream,
    CountingStream,
    StreamDamaged,
    WindowFile,
    tar_stream,
)
from segcore.content.scan.mask_images import Image, ImageIndex, fitting, image_grids
from segcore.core.errors import DamagedUpload, UnreadableUpload, UploadTooLarge
from segcore.images.mask_matching import (
    base_name,
    counts_for,
    is_image_name,
    is_mask_member,
    mask_path,
    member_base_name,
    nfc,
    split_extension,
)
from segcore.uploads.gridfs_reader import ChunkFile, ReadStats, StoredFile

ENCRYPTED = {"reason": reasons.ENCRYPTED_MEMBER}


@dataclass
class UploadContent:
    """One upload's content result: the tally and what stopped or limited the check."""

    tally: ContentTally = field(default_factory=ContentTally)
    notes: list[dict] = field(default_factory=list)  # [{"code", "params"}]
    bytes_read: int = 0
    bytes_decompressed: int = 0
    # the members named as their image (its stem, any extension) that hold its picture: the
    # image saved again (`image_pixels`), no mask, by path
    resaved: list[str] = field(default_factory=list)


Outcome = list[tuple[Image, list]]  # a mask member's problems against each image it counts for


class _Scan:
    """One upload's check under way: each mask member's outcome, by its path in the archive
    (a path held twice counts its last copy, as extracting leaves it), made into the tally at
    the end (`finish`), where an image's masks under several folders count as one that must
    be fine in every copy."""

    def __init__(
        self, index: ImageIndex, rules: Rules, budget: int, listed=None, copies=(), counting=None
    ):
        self.index, self.rules, self.budget = index, rules, budget
        self.counting = counting  # each batch's masks as the listing counts them (several)
        self.listed = None if listed is None else {nfc(n) for n in listed}
        self.copies = {nfc(c) for c in copies}  # members that are the batch's images
        self.result = UploadContent()
        self.used = 0
        self.keep_for_links = False  # a tar: its masks are kept (grid and values) for its links
        self.read: dict[str, tuple | str] = {}  # a tar's masks (and link targets) read, by path
        self.links: list[tuple] = []  # links whose target was not read yet
        self.streamed = StreamedLinks()  # a tar's links, and the files they lead to
        self.tar_bytes = 0  # a tar's bytes decompressed by the passes before this one
        self.outcomes: dict[str, tuple[str, Outcome]] = {}  # archive path -> (member, outcome)
        # the images a mask may be for and does not fit (another fits it): its problems
        # against them, theirs when no mask of the upload fits them (`finish`)
        self.spares: dict[str, tuple[str, Outcome]] = {}
        self.kept: list[bytes] | None = None  # the bytes of the member just read, when kept
        self.detached = DetachedData()  # `.mhd`, `.nhdr` headers and their data files

    def wanted(self, path: str) -> list[Image]:
        """The images a member may be the mask of ([]: not a mask to check)."""
        name = base_name(path)
        if not is_mask_member(path) or not is_image_name(name, self.index.extensions):
            return []
        if self.listed is not None and member_base_name(path) not in self.listed:
            return []  # what the listing did not count as a mask (a 0-byte one) is none
        if self.copies and mask_path(path) in self.copies:
            return []  # a copy of its image (`images/img_001.png` next to `masks/`): no mask
        images = self.index.images_of(path)
        if self.counting is not None and images:
            # only for the batches whose completeness counts it (`batch_4/` in
            # batch_3_to_batch_5.zip is no mask of batch_3's when batch_5/ has that name)
            owners = counts_for(self.counting, path)
            images = [image for image in images if image[2] in owners]
        return images

    def record(self, path: str, outcome: Outcome) -> None:
        """A member's outcome; a later copy of the same path replaces it."""
        self.outcomes.pop(archive_path(path), None)
        self.spares.pop(archive_path(path), None)
        self.outcomes[archive_path(path)] = (path, outcome)

    def add(self, path: str, problems: list, images: list[Image]) -> None:
        """A member whose problems do not depend on its image (encrypted, unreadable data):
        they are its image's, under each image when several batches may own it (the
        completeness check counts it for each of them)."""
        self.record(path, [(image, problems) for image in images])

    def unread(self, listed: list[str], reason: str) -> None:
        """The upload could not be read to its end: each mask its listing counted (the
        completeness check relies on them) that was not checked is unreadable, for `reason`."""
        seen = {member_base_name(member) for member, _ in self.outcomes.values()}
        for name in listed:
            images = self.wanted(name)
            if images and member_base_name(name) not in seen:
                self.add(name, [("unreadable", {"reason": reason})], images)
                seen.add(member_base_name(name))

    def check(self, path: str, stream, images: list[Image], size: int | None = None) -> None:
        """Check one mask read from `stream` against its image; every problem is recorded."""
        name = member_base_name(path)
        unknown = no_reader(name)
        if unknown:  # an extension added to MASK_EXTENSIONS: said, never a problem
            self.add(path, [("no_reader", {"reason": unknown})], images)
            return
        # An image no reader knows is one that cannot be read: its mask is checked (`_tally`).
        extensions = self.index.extensions
        same = [i for i in images if named_as(path, i[1], extensions)] if compared(name) else []
        mask = self._read(name, stream, size, keep=bool(same))
        if self.keep_for_links:
            self.read[member_path(path)] = mask
        within = isinstance(mask, str) or mask[1] is not None  # MASK_QC_MAX_VOXELS holds too
        if same and within and self._resaved(name, same):
            self.result.resaved.append(mask_path(path))  # its image saved again: no mask
            return
        self._tally(path, mask, images)

    def _resaved(self, name: str, images: list[Image]) -> bool:
        """True when the member just read (its bytes kept) is one of `images` saved again,
        those named as it is (`image_pixels`: the same picture, or a JPEG close to it)."""
        data, self.kept = b"".join(self.kept or ()), None
        return resaved(data, name, [(image[0], image[1]) for image in images])

    def _read(self, name: str, stream, size: int | None, keep: bool = False) -> tuple | str:
        """A mask's grid and values read as the format `name` says, or why it is unreadable
        (a member whose data is damaged: for that); its bytes count against the budget."""
        counter = CountingStream(stream, size, keep)
        self.kept = counter.kept
        try:
            mask = read_mask(counter, name, self.rules.max_voxels, max(0, self.budget - self.used))
        except OverLimit:
            self.used += counter.count
            raise
        except reasons.NoReader as exc:
            mask = reasons.NotChecked(exc)
        except UnreadableUpload as exc:
            mask = str(exc)
        self.used += counter.count
        return counter.damage() or mask

    def check_link(self, path: str, target: str, images: list[Image]) -> None:
        """Check a tar's link member as the mask it leads to (through links to links); a link
        to a member not read yet waits for the end of the archive (a symbolic link may point
        forwards; a link back to a file that is no mask has it read again: `links_back`)."""
        self.streamed.link(member_path(path), target)
        found = self.streamed.resolved(target, self.read)
        mask = self.read.get(found)
        if mask is None:
            self.links.append((path, target, images))
            self.streamed.need(found, member_base_name(path))
            return
        self.read[member_path(path)] = mask  # a link to this link finds it
        self._tally(path, mask, images)

    def pass_by(self, member: tarfile.TarInfo, archive: tarfile.TarFile) -> None:
        """A tar member that is no mask to check: a link is remembered (a mask's link may lead
        through it); a file is read when a waiting link leads to it, else remembered."""
        path = member_path(member.name)
        if member.issym():
            self.streamed.link(path, link_path(member.name, member.linkname))
        elif member.islnk():
            self.streamed.link(path, member_path(member.linkname))
        elif member.isfile() and self.streamed.passing(path, member.offset):
            self.read_target(path, archive.extractfile(member), member.size)

    def read_target(self, path: str, stream, size: int) -> None:
        """Read a file that waiting links lead to as the mask the first of them names."""
        self.read[path] = self._read(
            self.streamed.needed.get(path, member_base_name(path)), stream, size
        )

    def links_back(self) -> dict[str, int]:
        """The files waiting links lead to that passed before any link led to them (by path,
        the header offset of the copy to read): the tar is read again for them."""
        waiting = [self.streamed.resolved(target, self.read) for _, target, _ in self.links]
        return self.streamed.back(waiting)

    def finish_links(self) -> None:
        """Check the links left waiting, once the whole archive is read: a link whose target
        is no mask read from it is unreadable, never skipped."""
        while self.links:
            waiting, self.links = self.links, []
            for path, target, images in waiting:
                self.check_link(path, target, images)
            if len(self.links) == len(waiting):  # nothing more to be found
                break
        for path, target, images in self.links:
            self.read[target] = LINK_NOT_READ.format(target=repr(target))
            self.check_link(path, target, images)
        self.links = []

    def _tally(self, path: str, mask: tuple | str, images: list[Image]) -> None:
        """Record one mask's problems: `mask` is its grid and values, or why it is unreadable.
        Among several batches' images, those its grid fits are its images; when it fits none
        or cannot be read, every one of them (see `mask_images`): each gets the problems the
        mask has against it, so an empty mask is never passed for want of knowing whose."""
        grids = image_grids(images)
        spare: list[Image] = []
        if len(images) > 1 and not isinstance(mask, str):
            fits = fitting(mask[0], grids)
            spare = [image for image in images if fits and image not in fits]
            images = fits or images
        self.record(path, [(image, self._problems(path, mask, grids[image])) for image in images])
        self.detached.header(path, mask)
        if spare:
            outcome = [(image, self._problems(path, mask, grids[image])) for image in spare]
            self.spares[archive_path(path)] = (path, outcome)

    def _problems(self, path: str, mask: tuple | str, grid) -> list:
        """One mask's problems against one image's grid (or why the image cannot be read)."""
        if isinstance(mask, reasons.NotChecked):  # a limit of this check: said, never a problem
            problems = [("no_reader", {"reason": str(mask)})]
        elif isinstance(mask, str):
            problems = [("unreadable", {"reason": mask})]
        else:
            detached = split_extension(member_base_name(path), self.index.extensions)[1] in DETACHED
            problems = check_mask(
                *mask, None if isinstance(grid, str) else grid, self.rules, detached
            )
        if isinstance(grid, str):  # said; the mask's own problems (empty, labels) still count
            problems = [("image_unreadable", {"reason": grid}), *problems]
        return problems

    def too_large(self) -> None:
        self.result.notes.append(
            {"code": "too_large", "params": {"budget": f"{self.budget / 1048576:,.0f}"}}
        )

    def finish(self) -> UploadContent:
        """The tally from each path's outcome: one entry per image, its masks' problems
        together (a mask under `final/` and a copy under `old/`: both must be fine), each
        offender named by its path in the archive when the image has several or shares its
        name with another image of its batch (`patient_B/img_001_mask.png`)."""
        self.detached.without_data(self.outcomes)
        by_image: dict[Image, list[tuple[str, list]]] = {}
        for member, outcome in self.outcomes.values():
            for image, problems in outcome:
                by_image.setdefault(image, []).append((member, problems))
        spared: dict[Image, list[tuple[str, list]]] = {}  # images no mask fits: theirs
        for member, outcome in self.spares.values():
            for image, problems in outcome:
                if image not in by_image:
                    spared.setdefault(image, []).append((member, problems))
        counted: set[str] = set()  # a mask several images count is one of the upload's
        wrong: set[str] = set()  # the masks counted with a problem
        for image, copies in [*by_image.items(), *spared.items()]:
            self._count_image(image, copies, counted, wrong, spare=image in spared)
        self.outcomes, self.spares = {}, {}
        return self.result

    def _count_image(self, image: Image, copies: list, counted: set, wrong: set, spare: bool):
        """One image's masks into the tally (see `finish`); the problems of a `spare` image
        (no mask fits it) count once for the upload, as a mask's problems."""
        tally = self.result.tally
        before = len(tally.offenders)
        paths = {member for member, _ in copies}
        tally.add(
            member_base_name(copies[-1][0]),
            [p for _, ps in copies for p in ps],
            image[0],
            image[2],
            counted=not paths <= counted,
            problems_counted=spare and not paths & wrong,
        )
        counted |= paths
        if tally.masks[-1]["c"]:
            wrong |= paths
        by_path = len(copies) > 1 or image[0] in self.index.same_name
        against = f" ({image[1]})" if image[0] in self.index.shared_key else ""
        shown = [mask_path(m) if by_path else member_base_name(m) for m, ps in copies for _ in ps]
        for offender, path in zip(tally.offenders[before:], shown):
            offender["k"] = image[0]  # the image it is of, whatever name it is shown by
            offender["name"] = path + against


def _member_spans(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, int, int]]:
    """Each member with the bytes it spans (its local header up to the next member or the
    central directory), in their order in the file."""
    infos = sorted(archive.infolist(), key=lambda i: i.header_offset)
    ends = [i.header_offset for i in infos[1:]] + [getattr(archive, "start_dir", None)]
    return [
        (info, info.header_offset, end if isinstance(end, int) and end > info.header_offset else 0)
        for info, end in zip(infos, ends)
    ]


def _window(wanted: list, at: int, source: WindowFile, room: int) -> int:
    """The end of the bytes to fetch for the member `wanted[at]`: it and the members checked
    right after it that lie next to it, within WINDOW_CHUNKS chunks and `room` bytes of the
    budget."""
    info, start, end = wanted[at][1]
    limit, room = source.chunk_of(start) + WINDOW_CHUNKS, room - info.file_size
    for _, (info, next_start, next_end), _ in wanted[at + 1 :]:
        room -= info.file_size
        if next_start != end or not next_end or room < 0 or source.chunk_of(next_end - 1) > limit:
            break
        end = next_end
    return end


def _zip_wanted(scan: _Scan, archive: zipfile.ZipFile) -> list:
    """The members to check, `(images, (the member whose data is read, start, end), name)`, in
    their data's order in the file, so each chunk is fetched once, forwards, a run of checked
    members' chunks in one query. A path held twice counts its last copy, as unzip leaves it;
    a symbolic link is checked as the member it leads to, under its own name."""
    spans = _member_spans(archive)
    last = {archive_path(member_name(info)): info for info, _, _ in spans}
    texts = {path: link_text(archive, info) for path, info in last.items() if is_symlink(info)}
    links = {path: link_path(path, text) for path, text in texts.items() if text is not None}
    files = {path for path, info in last.items() if path not in links and not info.is_dir()}
    where = {id(info): (start, end) for info, start, end in spans}
    wanted = []
    for info, _, _ in spans:
        name = member_name(info)  # as the listing names it (UTF-8 without the flag too)
        path = archive_path(name)
        images = scan.wanted(name) if not info.is_dir() and last[path] is info else []
        if not images:
            continue
        target = last.get(follow(path, links, files) or "") if path in links else info
        if target is None:
            reason = LINK_NO_FILE.format(target=repr(texts[path]))
            scan.add(name, [("unreadable", {"reason": reason})], images)
        elif target.flag_bits & 0x1:  # encrypted: never opened here
            scan.add(name, [("unreadable", ENCRYPTED)], images)
        else:
            wanted.append((images, (target, *where[id(target)]), name))
    return sorted(wanted, key=lambda item: item[1][1])


def _scan_zip(scan: _Scan, source: WindowFile) -> None:
    try:
        archive = open_zip(source)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        ValueError,
        EOFError,
        OSError,
    ) as exc:
        raise UnreadableUpload(reasons.not_readable(reasons.ZIP, str(exc))) from None
    with archive:
        check_member_offsets(archive)
        scan.detached.seen(member_name(info) for info in archive.infolist())
        wanted = _zip_wanted(scan, archive)
        fetched = 0
        for at, (images, (info, start, end), name) in enumerate(wanted):
            if scan.used + info.file_size > scan.budget:
                scan.too_large()
                return
            if end and end > fetched:
                fetched = _window(wanted, at, source, scan.budget - scan.used)
                source.fetch(start, fetched)
            try:
                with open_member(archive, info) as member:
                    scan.check(name, member, images, info.file_size)
            except UnsupportedMethod as exc:  # the zip is fine: we cannot read that method
                reason = reasons.UNSUPPORTED_METHOD.format(method=exc)
                scan.add(name, [("no_reader", {"reason": reason})], images)
            except (
                zipfile.BadZipFile,
                zlib.error,
                NotImplementedError,
                EOFError,
                ValueError,
                OSError,
            ) as exc:
                reason = member_damage(exc) or first_line(exc)
                scan.add(name, [("unreadable", {"reason": reason})], images)


def _scan_tar(scan: _Scan, open_stream) -> None:
    """Check a tar's masks as they pass (`open_stream()`: its decompressed bytes, from the
    start), then, when links lead back to files that passed unread, read it again for those."""
    scan.keep_for_links = True
    try:
        with open_stream() as stream:
            if not _tar_pass(scan, stream):
                return
        back = scan.links_back()
        if back:
            with open_stream() as stream:
                if not _tar_pass(scan, stream, back):
                    return
        scan.finish_links()
        scan.detached.seen(scan.detached.passed)  # read to its end: every member known
    except OverLimit:
        scan.too_large()
    except UnreadableUpload:
        raise
    except StreamDamaged as exc:
        raise UnreadableUpload(exc.reason) from None
    except _TAR_ERRORS as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise UnreadableUpload(reasons.not_readable(reasons.TAR_ARCHIVE, reason)) from None


def _tar_pass(scan: _Scan, stream, back: dict[str, int] | None = None) -> bool:
    """One pass over a tar's members: each checked (`_tar_member`), or with `back` only the
    files it names (path: the header offset of the copy) read for the links leading to them,
    stopping after the last. False when the budget ran out (every pass's bytes count)."""
    start = scan.tar_bytes
    # Decompressed by ReadAhead; read a piece at a time, as it hands them on.
    with tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 20, **NAME_ENCODING) as archive:
        for member in archive:
            archive.members.clear()  # stream mode keeps every header otherwise
            scan.detached.passed.add(member.name)
            if start + archive.offset > scan.budget:
                scan.too_large()
                return False
            scan.used = start + archive.offset  # the bytes decompressed before this member
            if back is None:
                _tar_member(scan, archive, member)
            elif member.isfile() and back.get(member_path(member.name)) == member.offset:
                path = member_path(member.name)
                scan.read_target(path, archive.extractfile(member), member.size)
                del back[path]
                if not back:
                    break
        scan.tar_bytes = start + archive.offset
    return True


def _tar_member(scan: _Scan, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    links = member.islnk() or member.issym()
    images = scan.wanted(member.name) if member.isfile() or links else []
    if not images:
        scan.pass_by(member, archive)
    elif member.islnk():  # a mask under its own name (GNU tar links identical files)
        scan.check_link(member.name, member_path(member.linkname), images)
    elif member.issym():  # relative to its folder; never followed out of the archive
        target = link_path(member.name, member.linkname)
        if target is None:
            reason = LINK_OUTSIDE.format(target=repr(member.linkname))
            scan.add(member.name, [("unreadable", {"reason": reason})], images)
        else:
            scan.check_link(member.name, target, images)
    else:
        scan.check(member.name, archive.extractfile(member), images, member.size)


def check_upload_content(
    chunks: Collection,
    doc: dict,
    index: ImageIndex,
    rules: Rules,
    budget: int,
    listed: list[str] | None = None,
    copies=(),
    counting: dict[str, set[str]] | None = None,
) -> UploadContent:
    """Check every mask of one upload (a GridFS file document) that matches an image in
    `index`; never raises for the upload's own problems: they become a note. When the upload
    cannot be read to its end, each of the masks its listing counted (`listed`) and not
    checked is unreadable: a mask the completeness check counts is never one nobody opened.
    `copies`: the paths of the members the listing found to be copies of the batch's images.
    `counting`: for an upload naming several batches, each one's masks as the listing counts
    them (`mask_matching.batches_counting`): a mask is checked for those batches only.

    The format is the one the listing read (`archive_listing.list_upload`): the name's, else
    the first bytes'; when the name's cannot be read and the first bytes name another format
    (a 7z or a tar.gz named .zip), that one."""
    filename = doc.get("filename") if isinstance(doc.get("filename"), str) else ""
    scan = _Scan(index, rules, budget, listed, copies, counting)
    stats = ReadStats()
    try:
        stored = StoredFile.from_document(doc)
        kind = kind_from_name(filename, index.extensions)
        if kind in ("", "unsupported"):
            kind = kind_from_magic(ChunkFile(chunks, stored, stats, keep=1).read(512))
        try:
            _scan_kind(scan, kind, chunks, stored, stats, filename)
        except (DamagedUpload, UploadTooLarge, OverLimit):  # nothing to do with its format
            raise
        except UnreadableUpload:
            actual = _first_bytes_kind(chunks, stored, stats)
            if not actual or actual == kind:
                raise
            scan = _Scan(index, rules, budget, listed, copies, counting)
            _scan_kind(scan, actual, chunks, stored, stats, filename)
    except OverLimit:
        scan.too_large()
    except UnreadableUpload as exc:
        scan.result.notes.append({"code": "unreadable", "params": {"reason": str(exc)}})
        scan.unread(listed or (), str(exc))
    except PyMongoError:
        raise  # the database, not the upload: the run stops and says so
    except Exception as exc:  # noqa: BLE001 - a library meeting bytes it never expected
        # One upload never stops a check of thousands: what failed is its note, shown.
        reason = reasons.CHECK_FAILED.format(detail=f"{type(exc).__name__}: {first_line(exc)}")
        scan.result.notes.append({"code": "unreadable", "params": {"reason": reason}})
        scan.unread(listed or (), reason)
    scan.result.bytes_read, scan.result.bytes_decompressed = stats.bytes, scan.used
    return scan.finish()


def _first_bytes_kind(chunks: Collection, stored: StoredFile, stats: ReadStats) -> str:
    """The archive kind the upload's first bytes name, "" when they name none or cannot be
    read (what failed first is then said)."""
    try:
        return kind_from_magic(ChunkFile(chunks, stored, stats, keep=1).read(512))
    except UnreadableUpload:
        return ""


def _scan_kind(
    scan: _Scan, kind: str, chunks: Collection, stored: StoredFile, stats: ReadStats, filename
) -> None:
    if kind == "zip":
        _scan_zip(scan, WindowFile(chunks, stored, stats))
    elif kind == "7z":
        scan_7z(scan, ChunkFile(chunks, stored, stats, keep=WINDOW_CHUNKS))
    elif kind == "tar":
        _scan_tar(scan, lambda: tar_stream(chunks, stored, stats))
    elif kind == "file":
        scan.detached.seen(())  # the upload is the one file
        stream = BatchedStream(chunks, stored, stats)
        try:
            if scan.wanted(filename):
                try:
                    scan.check(filename, stream, scan.wanted(filename))
                except OverLimit:
                    scan.too_large()
        finally:
            stream.close()
    else:
        raise UnreadableUpload(reasons.UNSUPPORTED_FORMAT)
