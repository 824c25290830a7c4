"""What one upload holds, read from GridFS as little as possible, never extracted.

- A chunk missing or short anywhere makes an upload *unreadable*: a tar is read whole, each
  chunk checked as it streams; for the others (a zip, a 7z, a single file), whose listing reads
  a few chunks or none, one aggregate first checks that the stored chunks add up to the length.
- A zip is listed from its central directory (`archive_zip`), a 7z from its headers
  (`archive_7z`), both through `ChunkFile`, which fetches only the chunks they touch.
- A tar, plain or compressed, is streamed once through `archive_tar`, within a budget.
- A single mask file (an image extension) is its own name: nothing more is read. A file of
  0 bytes is no mask: as an upload it is unreadable, in an archive one of its other files.
- An archive is listed as extracting it leaves it: a path held twice is its last copy, a
  symbolic link the member it leads to, or no mask when it leads out of the archive or to
  nothing (`archive_links`).
- RAR and other formats are *unreadable*, the format named.
- A member that is a copy of the batch's image of its name (`images.image_copies`: its bytes,
  or an images folder holding it) is no mask: one of the other files, its path kept in
  `image_copies`.
- A member under another batch's folder than the upload names (`batch_14/` in
  `batch_13.zip`: two batch folders zipped together; `batch_3/` in `batch_1_to_batch_2.zip`)
  is no mask of it: one of the other files,
  saying whose folder holds it, its path kept in `other_batch`. Only a folder naming a batch
  of the list is another batch's (`export_batch_20261207/` names a date); the batches folders
  named that the list lacked are kept in `unlisted_folders`, so the listing is made again once
  one of them is in the list.
- Beside a VOC `SegmentationClass/` folder (CVAT's, Datumaro's "Segmentation mask" export), the
  members of its sibling `SegmentationObject/` are instance masks (one number per object, not
  class labels): no masks of their images, one of the other files, their paths kept in
  `instance_masks`; so are labelme2voc's `SegmentationObjectPNG/` beside
  `SegmentationClassPNG/`, and its `*Visualization/` siblings hold colour overlays, their
  paths kept in `overlays`.

Member names are text to compare, never paths on this machine. A listing carries its format
`VERSION`: a stored listing of an older version is listed again by the next check.
"""

from __future__ import annotations

import lzma
import zlib
from dataclasses import dataclass, field

from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from segcore.archives.archive_7z import MAGIC as MAGIC_7Z
from segcore.archives.archive_7z import is_whole_7z, read_7z_headers
from segcore.archives.archive_links import archive_path, resolve_links
from segcore.archives.archive_tar import TAR_ERRORS, read_tar_members
from segcore.archives.archive_zip import (
    SPLIT_PIECE,
    SPLIT_REASON,
    is_split_part_name,
    is_split_piece_name,
    is_whole_zip,
    read_zip_directory,
)
from segcore.archives.not_masks import (
    INSTANCE_MEMBER,
    OTHER_BATCH_MEMBER,
    OVERLAY_MEMBER,
    without_instance_masks,
    without_other_batches,
)
from segcore.core.errors import N_, DamagedUpload, UnreadableUpload, UploadTooLarge, shortened
from segcore.images.image_copies import COPY_MEMBER, ImageFiles
from segcore.images.mask_matching import (
    DEFAULT_EXTENSIONS,
    file_extension,
    is_image_name,
    is_mask_member,
    mask_path,
    member_base_name,
    place_masks,
    sort_members,
)
from segcore.uploads.gridfs_reader import (
    MISSING_CHUNK,
    ChunkFile,
    ChunkStream,
    ReadStats,
    StoredFile,
    check_chunks_add_up,
)

_TAR_ERRORS = TAR_ERRORS  # the content check's tar reader catches the same
# 2: other files, member sizes and checksums, reasons as codes, 7z, NFC names; 3: a zip whose
# directory places members outside it is unreadable, an archive misnamed is read by its bytes;
# 4: a mask of 0 bytes is no mask (an other file), a single file of 0 bytes is unreadable;
# 5: a path held twice (`tar -u`) is its last copy, as extracting the archive leaves it, the
# masks under each batch-named folder are kept (`placed`), a symbolic link (tar, zip, 7z)
# counts as the file it leads to, or is no mask, and zip names may be CP850; 6: a member with
# the bytes of the batch's image of its name is that image, not a mask (`image_copies`),
# and each mask's path (`paths`), which tells images sharing a name in different subfolders apart;
# 7: a `x.7z.001` or `x.zip.001` holding a whole archive (7-Zip's single volume) is read as it;
# 8: a single mask compressed on its own (`x_mask.png.gz`) is named so, not a truncated tar,
# and members under system or hidden folders (`@eaDir/`, `.git/`) are left out, as on disk;
# 9: a member under an images folder (`images/img_003.png`) named as one of the batch's images
# is that image whatever its bytes (8 took a re-saved copy for img_003's mask);
# 10: a zip's end record is the one whose comment ends the file (a comment may hold its
# signature), an upload of 0 bytes is "an empty file" whatever its name, and a zip or 7z
# compressed again (`x.zip.gz`) is named so; 11: in an upload naming one batch, a mask under
# another batch's folder (`batch_14/` in batch_13.zip) is no mask of it, an other file;
# 12: data after a compressed tar's last whole stream (an upload tool's trailer, xz's null
# Stream Padding) is ignored, as gzip, xz and bsdtar ignore it, where 11 refused the upload;
# 13: a copy of the batch's image is told by its name's stem, whatever its extension
# (`images/img_003.tif`, `JPEGImages/img_003.jpg`, a UID-named DICOM copy given `.dcm`: 12 took
# them for masks), by the folder holding it only (12 took `Images/batch_2/masks/img_001.png`
# for a copy), and is listed by its path, so the folder that made it a copy shows;
# 14: only a folder naming a batch of the list is another batch's (13 took a dated
# `export_batch_20261207/` for one: a complete upload had no masks), and `SegmentationObject/`
# beside `SegmentationClass/` holds instance masks, no masks (13 checked them as class labels);
# 15: a member of an images folder under a mask folder (`SegmentationClass/images/img_001.png`
# of CVAT's VOC export, `masks/imagenes/`) is a mask (14 took it for a copy of its image), and
# labelme2voc's `SegmentationObjectPNG/` and `*Visualization/` beside the class masks are
# no masks either (14 checked them as class masks: instance numbers, colour overlays);
# 16: in an upload naming several batches, a mask under a third listed batch's folder is no
# mask of it, an other file (15 counted it in the receipt and listed it nowhere)
VERSION = 16
EMPTY_FILE = N_("an empty file (0 bytes)")
NOT_LISTABLE = N_("the listing could not read it ({detail})")
EMPTY_MEMBER = N_("{name} (0 bytes)")  # how a 0-byte mask member is listed among other files
TAR_ENDINGS = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz", ".tbz2")
# Formats recognised only to be named in the reason, by ending and by first bytes.
OTHER_FORMATS = {
    ".rar": "RAR",
    ".zst": "Zstandard",
    ".tar.zst": "Zstandard",
    ".lz4": "LZ4",
    ".lz": "lzip",
    ".cab": "CAB",
    ".iso": "ISO image",
    ".arj": "ARJ",
    ".lzh": "LHA",
    ".xar": "XAR",
    ".cpio": "cpio",
    ".ar": "ar",
    ".dmg": "Apple disk image",
}
MAGIC = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"PK00", "zip"),
    (MAGIC_7Z, "7z"),
    (b"\x1f\x8b", "tar"),
    (b"BZh", "tar"),
    (b"\xfd7zXZ\x00", "tar"),
)
# A single file compressed on its own (`gzip img_001_mask.png`), by its first bytes: named in
# the reason, never read as the tar these formats usually hold.
COMPRESSED_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
COMPRESSED_ENDINGS = (".gz", ".gzip", ".bz2", ".bz", ".xz")
COMPRESSED_FILE = N_(
    "a single file compressed with {format} ({name}), not an archive: upload the mask itself "
    "or an archive holding it"
)
# An archive compressed once more (`gzip batch_5.zip`, as a double-compressing upload tool
# leaves it): named in the reason, never read as the tar these formats usually hold.
COMPRESSED_ARCHIVE = N_(
    "a {archive} archive compressed with {format} ({name}): upload the {archive} archive itself"
)
INNER_MAGIC = ((b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (MAGIC_7Z, "7z"))
OTHER_MAGIC = (
    (b"Rar!\x1a\x07", "RAR"),
    (b"\x28\xb5\x2f\xfd", "Zstandard"),
    (b"\x04\x22\x4d\x18", "LZ4"),
    (b"MSCF", "CAB"),
    (b"LZIP", "lzip"),
    (b"%PDF", "PDF"),
    (b"070707", "cpio"),
    (b"070701", "cpio"),
    (b"!<arch>", "ar"),
)


@dataclass
class Listing:
    """What one upload holds: mask names (and its other files), or why they cannot be known.

    `members` gives each mask's `name`, `size` and a fingerprint of its data: `crc` (CRC-32 from
    a zip's directory or a 7z's headers), `digest` (BLAKE2b, computed while streaming a tar) or
    `md5` (a single mask file, when the GridFS document has one). `reason`
    is the English text, `code` its template (`N_`) and `params` its values, for the UI to word
    in the reader's language. `placed` and `also_loose`: the masks under each batch-named
    folder (`mask_matching.place_masks`), for an upload naming several batches.
    `image_copies`: the paths of the members that are copies of the batch's images;
    `other_batch`: of the masks under another batch's folder (an upload naming one);
    `unlisted_folders`: the batches its folders name that the list lacked (their folders are
    no other batch's); `instance_masks`: of the instance masks beside the class masks
    (`SegmentationObject/` beside `SegmentationClass/`); `overlays`: of the visualizations
    beside them (labelme2voc's `SegmentationClassVisualization/`). `paths`:
    each mask's path in the archive (`/` between folders), for images sharing a name in
    different subfolders (`mask_matching.image_for_mask`).
    """

    kind: str  # "zip", "tar", "7z", "file" or "unknown"
    names: list[str] = field(default_factory=list)
    reason: str | None = None  # set when unreadable
    bytes_read: int = 0
    chunks_read: int = 0
    other_files: list[str] = field(default_factory=list)
    members: list[dict] = field(default_factory=list)
    code: str | None = None
    params: dict = field(default_factory=dict)
    version: int = VERSION
    placed: dict = field(default_factory=dict)
    also_loose: list[str] = field(default_factory=list)
    image_copies: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    other_batch: list[str] = field(default_factory=list)
    unlisted_folders: list[str] = field(default_factory=list)
    instance_masks: list[str] = field(default_factory=list)
    overlays: list[str] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return self.reason is None

    def forget_members(self) -> None:
        """Nothing found: an upload that cannot be listed names no member."""
        self.names, self.other_files, self.members = [], [], []
        self.placed, self.also_loose, self.image_copies, self.paths = {}, [], [], []
        self.other_batch, self.unlisted_folders, self.instance_masks = [], [], []
        self.overlays = []


def kind_from_name(filename: str, extensions=DEFAULT_EXTENSIONS) -> str:
    """ "zip", "tar", "7z", "file" (a single mask), "split" (a part of a split archive),
    "unsupported", or "" when the name does not say."""
    lower = filename.lower()
    if is_split_part_name(lower):
        return "split"
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith(".7z"):
        return "7z"
    if lower.endswith(TAR_ENDINGS):
        return "tar"
    if is_image_name(filename, extensions):
        return "file"
    if any(lower.endswith(ending) for ending in OTHER_FORMATS):
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


def compressed_single_file(filename: str, head: bytes, extensions=DEFAULT_EXTENSIONS) -> None:
    """Raise UnreadableUpload saying what an upload is when it is a single mask compressed on
    its own (`img_001_mask.png.gz`, `.xz`, `.bz2`): its name without the compression's ending
    has an image extension and its first bytes are that compression's. Read as a tar, such a
    file was refused as a "truncated header", which sent annotators to upload it again."""
    lower = filename.lower()
    ending = next((e for e in COMPRESSED_ENDINGS if lower.endswith(e)), None)
    if ending is None or not is_image_name(filename[: -len(ending)], extensions):
        return
    for magic, name in COMPRESSED_MAGIC:
        if head.startswith(magic):
            inner = member_base_name(filename[: -len(ending)])
            raise UnreadableUpload(COMPRESSED_FILE, format=name, name=inner)


def compressed_archive(filename: str, head: bytes) -> None:
    """Raise UnreadableUpload saying what an upload is when its first bytes are a gzip or xz
    stream whose own first bytes are a zip or a 7z (`batch_5.zip.gz`): read as a tar, it was
    refused as an "invalid header", which named the wrong format. A bzip2 stream gives
    nothing before its first block ends, past these bytes: it is read as a tar."""
    for magic, name in COMPRESSED_MAGIC:
        if head.startswith(magic):
            inner = _first_bytes(name, head)
            for inner_magic, archive in INNER_MAGIC:
                if inner.startswith(inner_magic):
                    raise UnreadableUpload(
                        COMPRESSED_ARCHIVE,
                        archive=archive,
                        format=name,
                        name=member_base_name(filename) or "?",
                    )
            return


def _first_bytes(format: str, head: bytes) -> bytes:
    """The first bytes `head` (the start of a compressed stream) decompresses to, b"" when
    they cannot be told."""
    try:
        if format == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 64)
        if format == "xz":
            return lzma.LZMADecompressor().decompress(head, 64)
    except (zlib.error, lzma.LZMAError, EOFError):
        return b""
    return b""


def format_name(filename: str, head: bytes = b"") -> str:
    """The name of a format this check does not read, from its first bytes or its ending."""
    for magic, name in OTHER_MAGIC:
        if head.startswith(magic):
            return name
    lower = filename.lower()
    for ending in sorted(OTHER_FORMATS, key=len, reverse=True):
        if lower.endswith(ending):
            return OTHER_FORMATS[ending]
    return file_extension(filename) or ""


def list_upload(
    chunks: Collection,
    doc: dict,
    budget: int,
    extensions=DEFAULT_EXTENSIONS,
    totals: tuple | None = None,
    images: ImageFiles | None = None,
    listed=None,
) -> Listing:
    """List one upload (a GridFS file document) read only from `chunks`; never raises for the
    upload's own problems: they become the listing's `reason`. `totals`: its chunks' totals
    from `gridfs_reader.chunk_totals` (read for many uploads at once), else asked here.
    `images`: its batches' images, whose copies are no masks (None: none is looked for).
    `doc["batches"]` (the keys of the batches it names, when given): its masks under another
    batch's folder are other files, a batch of `listed` (the list's keys, as
    `naming.batch_key` gives them; None: every batch a folder names)."""
    filename = doc.get("filename") if isinstance(doc.get("filename"), str) else ""
    batches = doc.get("batches") if isinstance(doc.get("batches"), list) else []
    # the batches it names, whose masks are none under another listed batch's folder
    scope = (tuple(sorted(set(map(str, batches)))), listed)
    kind = kind_from_name(filename, extensions)
    listing = Listing("unknown" if kind in ("", "unsupported", "split") else kind)
    stats = ReadStats()
    stored = None
    try:
        stored = StoredFile.from_document(doc)
        if stored.length == 0:  # whatever its name says it is (a transfer that never started)
            raise UnreadableUpload(EMPTY_FILE)
        if kind == "split":
            listing.kind = kind = _whole_volume(chunks, stored, filename, stats, totals)
        if totals is not None and totals[0] == 0 and stored.chunk_count:
            # Nothing stored: what the first chunk read would say, without asking for it.
            _no_chunks(stored, kind, budget)
        if kind == "file":
            check_chunks_add_up(chunks, stored, totals)
            name = member_base_name(filename)
            member = {"name": name, "size": stored.length}
            if isinstance(doc.get("md5"), str):  # written by older GridFS drivers
                member["md5"] = doc["md5"]
            if images is not None and images.is_copy(name, stored.length, "md5", doc.get("md5")):
                listing.other_files = [COPY_MEMBER.format(name=name)]
                listing.image_copies = [mask_path(filename)]
                return listing
            listing.names, listing.members, listing.paths = [name], [member], [name]
            return listing
        if kind in ("", "unsupported"):
            head = ChunkFile(chunks, stored, stats).read(512)
            compressed_single_file(filename, head, extensions)
            compressed_archive(filename, head)
            kind = kind_from_magic(head)  # a zip named .rar is still a zip
            listing.kind = kind or "unknown"
            if not kind:
                named = format_name(filename, head)
                if named:
                    raise UnreadableUpload(N_("unsupported format ({format})"), format=named)
                raise UnreadableUpload(
                    N_("unsupported format (neither an archive nor a mask file)")
                )
        try:
            _list_archive(
                chunks, stored, kind, budget, stats, listing, extensions, totals, images, scope
            )
        except (DamagedUpload, UploadTooLarge):  # nothing to do with its format
            raise
        except UnreadableUpload:
            actual = _renamed(chunks, stored, kind, stats)
            if not actual:
                raise
            listing.kind = actual
            _list_archive(
                chunks, stored, actual, budget, stats, listing, extensions, totals, images, scope
            )
    except UnreadableUpload as exc:
        error = _split_piece(exc, filename, chunks, stored, stats)
        listing.reason, listing.code, listing.params = str(error), error.template, error.params
        listing.forget_members()
    except PyMongoError:
        raise  # the database, not the upload: the run stops and says so
    except Exception as exc:  # noqa: BLE001 - a library meeting bytes it never expected
        # One upload never stops a sync of thousands: what failed is its reason, shown.
        lines = str(exc).strip().splitlines()
        detail = f"{type(exc).__name__}: {shortened(lines[0], 120) if lines else ''}"
        listing.reason = NOT_LISTABLE.format(detail=detail)
        listing.code, listing.params = NOT_LISTABLE, {"detail": detail}
        listing.forget_members()
    listing.bytes_read, listing.chunks_read = stats.bytes, stats.chunks
    return listing


def _whole_volume(
    chunks: Collection, stored: StoredFile, filename: str, stats: ReadStats, totals
) -> str:
    """The kind of an upload named as a split archive's part whose bytes are a whole archive:
    7-Zip's "split to volumes" at a size larger than the archive writes a single `x.7z.001`
    (or `x.zip.001`) that `7z t` accepts. Any other part, a first one of several included,
    raises "part of a split archive": its names are never trusted."""
    if filename.lower().endswith(".001"):
        check_chunks_add_up(chunks, stored, totals)
        kind = _whole_archive(chunks, stored, stats)
        if kind:
            return kind
    raise UnreadableUpload(SPLIT_REASON)


def _split_piece(
    exc: UnreadableUpload, filename: str, chunks: Collection, stored, stats: ReadStats
) -> UnreadableUpload:
    """Why an upload cannot be read: an archive cut by `split -b` and uploaded piece by piece
    (`x.zip.aa`, `x.tgz.ab`) is one part of a split archive, which its own reason ("File is not
    a zip file", "truncated archive", "unsupported format (.ab)") would never say; a whole
    archive so named keeps its reason, and so does one whose chunks or size are the matter."""
    kept = (DamagedUpload, UploadTooLarge)
    if stored is None or isinstance(exc, kept) or exc.template in (EMPTY_FILE, SPLIT_REASON):
        return exc
    if is_split_piece_name(filename) and not _whole_archive(chunks, stored, stats):
        return UnreadableUpload(SPLIT_PIECE)
    return exc


def _whole_archive(chunks: Collection, stored: StoredFile, stats: ReadStats) -> str:
    """The kind of the whole zip or 7z the upload's bytes hold, "" when they hold none (a
    piece of one: `split -b`'s, 7-Zip's first volume) or cannot be read."""
    try:
        source = ChunkFile(chunks, stored, stats)
        kind = kind_from_magic(source.read(512))
        if (kind == "7z" and is_whole_7z(source)) or (kind == "zip" and is_whole_zip(source)):
            return kind
    except UnreadableUpload:
        pass
    return ""


def _renamed(chunks: Collection, stored: StoredFile, kind: str, stats: ReadStats) -> str:
    """The kind an upload that cannot be read as its name says really is, from its first
    bytes: another archive kind (a 7z or a tar.gz named .zip); raises UnreadableUpload naming
    the format they name instead (a Zstandard tar named .tar.gz); "" when they say nothing
    more than the name did."""
    try:
        head = ChunkFile(chunks, stored, stats).read(512)
    except UnreadableUpload:
        head = b""
    actual = kind_from_magic(head)
    if actual and actual != kind:
        return actual
    named = format_name("", head) if head else ""
    if named and not actual:
        raise UnreadableUpload(N_("unsupported format ({format})"), format=named) from None
    return ""


def _list_archive(
    chunks: Collection,
    stored: StoredFile,
    kind: str,
    budget: int,
    stats: ReadStats,
    listing: Listing,
    extensions,
    totals: tuple | None = None,
    images: ImageFiles | None = None,
    scope: tuple = ((), None),
) -> None:
    own, listed = scope  # the batches the upload names, the list's keys
    if kind in ("zip", "7z"):
        # A zip or a 7z costs its directory whatever its size, and one aggregate that finds a
        # chunk missing or short where the directory does not lead.
        check_chunks_add_up(chunks, stored, totals)
        source = ChunkFile(chunks, stored, stats)
        if kind == "zip":
            found = read_zip_directory(source)
        else:
            found = read_7z_headers(source, budget)
        entries, rest = [(name, size, "crc", crc, link) for name, size, crc, link in found], ""
    else:
        # A tar costs every byte: streaming it checks every chunk's place and size.
        _check_budget(stored, budget)
        stream = ChunkStream(chunks, stored, stats)
        try:
            found, rest = read_tar_members(stream, budget)  # rest: what was not read, if any
        finally:
            stream.close()
        entries = [(name, size, "digest", digest, link) for name, size, digest, link in found]
    # What extracting leaves: a path's last copy; a link as the file it leads to, or no mask
    entries, dangling = resolve_links(last_copies(entries))
    entries, copies = _without_image_copies(entries, images, extensions)
    listing.image_copies = sorted({mask_path(e[0]) for e in copies})
    entries, elsewhere, listing.unlisted_folders = without_other_batches(
        entries, own, extensions, listed
    )
    listing.other_batch = sorted({mask_path(name) for name, _ in elsewhere})
    entries, instances, overlays = without_instance_masks(entries, extensions)
    listing.instance_masks = sorted({mask_path(e[0]) for e in instances})
    listing.overlays = sorted({mask_path(e[0]) for e in overlays})
    names, listing.other_files = sort_members((e[0] for e in entries), extensions)
    # a link named as a mask that leads nowhere says so; one named as another file is one
    noted = [
        note
        for name, note in dangling
        if is_mask_member(name) and is_image_name(member_base_name(name), extensions)
    ]
    others = sort_members((name for name, _ in dangling), extensions)[1]
    # A mask name whose every member holds 0 bytes (a failed export, a placeholder) is no mask:
    # it goes among the other files, so its image counts as without a mask.
    written = {member_base_name(e[0]) for e in entries if e[1] != 0 and is_mask_member(e[0])}
    listing.names = [n for n in names if n in written]
    empty = [EMPTY_MEMBER.format(name=n) for n in names if n not in written]
    copied = [COPY_MEMBER.format(name=mask_path(e[0])) for e in copies]
    moved = [OTHER_BATCH_MEMBER.format(name=mask_path(n), batch=b) for n, b in elsewhere]
    moved += [INSTANCE_MEMBER.format(name=path) for path in listing.instance_masks]
    moved += [OVERLAY_MEMBER.format(name=path) for path in listing.overlays]
    moved += [rest] if rest else []  # a tar read up to the budget: the rest, not read
    listing.other_files = sorted({*listing.other_files, *others, *noted, *empty, *copied, *moved})
    masks = set(listing.names)
    kept = [
        e[0]
        for e in entries
        if e[1] != 0 and is_mask_member(e[0]) and member_base_name(e[0]) in masks
    ]
    listing.placed, listing.also_loose = place_masks(kept)
    listing.paths = sorted({mask_path(name) for name in kept})
    listing.members = sorted(
        (
            {"name": member_base_name(name), "size": size, key: value}
            for name, size, key, value, _ in entries
            if is_mask_member(name) and member_base_name(name) in masks
        ),
        key=lambda m: (m["name"], m["size"], str(m.get("crc", m.get("digest")))),
    )


def _without_image_copies(entries: list, images: ImageFiles | None, extensions) -> tuple:
    """`(entries, copies)`: the members that are copies of the batch's images taken out (only
    members named as masks are compared; none without `images`)."""
    if images is None:
        return entries, []
    kept, copies = [], []
    for entry in entries:
        name, size, key, value, _ = entry
        copy = (
            is_mask_member(name)
            and is_image_name(member_base_name(name), extensions)
            and images.is_copy(name, size, key, value)
        )
        (copies if copy else kept).append(entry)
    return kept, copies


def last_copies(entries: list) -> list:
    """`entries` (`(path, ...)`, in archive order) without the copies of a path that a later
    one replaces: `tar -u` and `tar -r` append a newer copy, a zip or a 7z may hold a path
    twice, and extracting any of them leaves the last."""
    last = {archive_path(entry[0]): at for at, entry in enumerate(entries)}
    if len(last) == len(entries):
        return entries
    kept = set(last.values())
    return [entry for at, entry in enumerate(entries) if at in kept]


def _check_budget(stored: StoredFile, budget: int) -> None:
    if stored.length > budget:
        raise UploadTooLarge(
            N_("too large to check ({size} MB, over the budget of {budget} MB)"),
            size=_megabytes(stored.length),
            budget=_megabytes(budget),
        )


def _no_chunks(stored: StoredFile, kind: str, budget: int) -> None:
    """Raise what listing an upload with no stored chunk raises, in the same order of checks:
    a tar over the budget is refused first; every other read fails at chunk 0 (a zip's or a 7z's
    totals, a single file's totals, which `check_chunks_add_up` words)."""
    if kind == "tar":
        _check_budget(stored, budget)
        raise UnreadableUpload(MISSING_CHUNK, chunk=0)
    if kind in ("", "unsupported"):
        raise UnreadableUpload(MISSING_CHUNK, chunk=0)  # the first bytes are read first


def _megabytes(size: int) -> int:
    return max(1, round(size / (1024 * 1024)))
