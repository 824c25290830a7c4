"""Matching mask names to image names, and a batch's completeness state: pure functions.

A mask matches an image when their keys agree: the name without folders, without its image or
volume extension (`.nii.gz`, `.seg.nrrd` count as one) and without one mask suffix (`_mask`,
`_seg`, ... configurable), in Unicode NFC (macOS writes accents decomposed), ignoring case. An
image whose name has no known extension (a DICOM file named by its UID) is keyed by its whole
name; an image's nnU-Net channel suffix (`case_0001_0000.nii.gz`) may be left off by its mask
(`case_0001.nii.gz`). Only members with a known extension are masks; other files are listed as
such and never make a batch "extra". An upload naming several batches places a mask in the batch
its folder names (`place_masks`, `masks_for_batch`); for one batch, folders do not matter.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from segcore.core.naming import batch_ids_in
from segcore.settings.config import Settings

# The settings' defaults (MASK_EXTENSIONS, MASK_SUFFIXES), named once in the configuration.
DEFAULT_EXTENSIONS = Settings.mask_extensions
DEFAULT_MASK_SUFFIXES = Settings.mask_suffixes
SYSTEM_FILES = {".ds_store", "thumbs.db", "desktop.ini"}
NOT_IMAGES = {"dicomdir"}  # a DICOM media index, not an image, whatever its bytes say
# Endings DICOM files are given besides .dcm (exporters, Siemens): listed when the file's
# first bytes say DICOM, and matched without them.
DICOM_ENDINGS = (".dicom", ".ima", ".dic")
CHANNEL_SUFFIX = re.compile(r"_\d{4}$")  # nnU-Net: case_0001_0000 is channel 0 of case_0001
NAMES_SHOWN = 50  # names listed per kind in a report; all are counted

STATES = ("complete", "incomplete", "extra", "unreadable", "unknown")


def nfc(text: str) -> str:
    """`text` in Unicode NFC, so a decomposed `í` (macOS) equals a composed one."""
    return unicodedata.normalize("NFC", str(text))


def base_name(path: str) -> str:
    """The last part of an archive member's path, whichever separator the archiver used."""
    return str(path).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def member_base_name(path: str) -> str:
    """An archive member's base name as stored and compared: NFC, and any surrogate left by
    undecodable bytes replaced so the name can be stored and shown."""
    return nfc(base_name(str(path)).encode("utf-8", "replace").decode("utf-8"))


def split_extension(name: str, extensions=DEFAULT_EXTENSIONS) -> tuple[str, str]:
    """`(stem, extension)` of a file name for one of `extensions` (longest first, so `.nii.gz`
    wins over `.gz`), the extension lower-cased; `(name, "")` when it has none of them."""
    lower = name.lower()
    for extension in sorted(extensions, key=len, reverse=True):
        if lower.endswith(extension) and len(name) > len(extension):
            return name[: -len(extension)], extension
    return name, ""


def file_extension(name: str) -> str:
    """The last extension of a file name, lower-cased ("" when none), for messages."""
    name = base_name(name)
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def is_image_name(name: str, extensions=DEFAULT_EXTENSIONS) -> bool:
    """True for a file name with one of the image or volume extensions (never `DICOMDIR`)."""
    name = base_name(name)
    return name.lower() not in NOT_IMAGES and split_extension(name, extensions)[1] != ""


def is_mask_member(path: str, is_dir: bool = False) -> bool:
    """False for directories and for the system files archivers add (`__MACOSX/`, `.DS_Store`,
    `Thumbs.db`, AppleDouble `._x`): the members worth listing."""
    if is_dir or not path or str(path).endswith(("/", "\\")):
        return False
    parts = str(path).replace("\\", "/").split("/")
    if any(part == "__MACOSX" for part in parts[:-1]):
        return False
    name = parts[-1]
    return bool(name) and name.lower() not in SYSTEM_FILES and not name.startswith("._")


def sort_members(paths, extensions=DEFAULT_EXTENSIONS) -> tuple[list[str], list[str]]:
    """`(masks, other_files)`: the base names (NFC, sorted, once each) of the members worth
    listing, split by whether they have an image or volume extension."""
    masks, others = set(), set()
    for path in paths:
        path = str(path)
        if not is_mask_member(path):
            continue
        name = member_base_name(path)
        (masks if is_image_name(name, extensions) else others).add(name)
    return sorted(masks), sorted(others)


def folder_batches(path: str, seen: dict | None = None) -> set[str]:
    """The batches the folders of an archive member's path name: each folder naming exactly
    one (`batch_2/`, `masks_batch_2/`); a folder naming several (`batch_1_to_batch_2/`, named
    as the upload is) says nothing. `seen`: folder -> its batch, kept across calls."""
    seen = {} if seen is None else seen
    found = set()
    for folder in str(path).replace("\\", "/").split("/")[:-1]:
        if folder not in seen:
            ids = batch_ids_in(folder)
            seen[folder] = ids[0] if len(ids) == 1 else None
        if seen[folder]:
            found.add(seen[folder])
    return found


def place_masks(paths) -> tuple[dict[str, list[str]], list[str]]:
    """`(placed, also_loose)` for the paths of an archive's mask members: the mask names under
    a folder naming each batch, and those of them also held under no batch-named folder
    (`({}, [])` when no folder names a batch)."""
    placed: dict[str, set] = {}
    loose: set[str] = set()
    seen: dict = {}
    for path in paths:
        name = member_base_name(path)
        batches = folder_batches(path, seen)
        for batch in batches:
            placed.setdefault(batch, set()).add(name)
        if not batches:
            loose.add(name)
    in_folders = set().union(*placed.values()) if placed else set()
    return {b: sorted(names) for b, names in placed.items()}, sorted(loose & in_folders)


def masks_for_batch(names, placed, also_loose, key: str | None, batches) -> list[str]:
    """The mask `names` of one upload that count for batch `key`. An upload naming several
    `batches` whose folders name some of them (`placed`, `also_loose`: see `place_masks`)
    gives each of those batches the masks under its own folder, and every batch the masks
    under no folder naming one of them; otherwise (one batch, or no such folder) every mask
    counts, wherever it is."""
    names = list(names or ())
    batches = set(batches or ())
    placed = placed if isinstance(placed, dict) else {}
    named = [b for b in batches if isinstance(placed.get(b), list)]
    if key is None or len(batches) < 2 or not named:
        return names
    in_named = {n for b in named for n in placed[b]}
    own = set(placed.get(key) or ()) if key in batches else set()
    loose = set(also_loose or ())
    return [n for n in names if n in own or n not in in_named or n in loose]


def image_key(name: str, extensions=DEFAULT_EXTENSIONS) -> str:
    """The key an image is matched by: its stem (its whole name without a known extension, or
    without a DICOM file's own ending: `chest_0001.dicom` is `chest_0001`)."""
    stem, extension = split_extension(base_name(name), extensions)
    if not extension and stem.lower().endswith(DICOM_ENDINGS):
        stem = stem.rsplit(".", 1)[0] or stem
    return nfc(stem).casefold()


def channel_key(key: str) -> str | None:
    """An image key without its nnU-Net channel suffix (`_0000`), None when it has none."""
    stripped = CHANNEL_SUFFIX.sub("", key)
    return stripped if stripped != key and stripped else None


def mask_key(name: str, suffixes=DEFAULT_MASK_SUFFIXES, extensions=DEFAULT_EXTENSIONS) -> str:
    """The key a mask is matched by: its stem without one mask suffix (the longest that fits)."""
    stem = nfc(split_extension(base_name(name), extensions)[0]).casefold()
    for suffix in sorted((nfc(s).casefold() for s in suffixes), key=len, reverse=True):
        if suffix and stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


@dataclass
class BatchCheck:
    """A batch's masks compared with its images."""

    state: str
    images: int | None = None
    masks: int | None = None
    matched: int | None = None
    missing: list[str] = field(default_factory=list)  # images without a mask
    extra: list[str] = field(default_factory=list)  # masks that match no image
    # [{"filename", "reason", "code", "params"}]: `reason` in English, `code` its template
    unreadable: list[dict] = field(default_factory=list)
    note: str | None = None  # why the state is unknown
    other_files: list[str] = field(default_factory=list)  # members that are not masks
    notes: list[dict] = field(default_factory=list)  # `note` as [{"code", "params"}]

    @property
    def missing_count(self) -> int:
        return len(self.missing)

    @property
    def extra_count(self) -> int:
        return len(self.extra)

    def summary(self) -> dict:
        """What is stored with the batch and printed: counts, and at most NAMES_SHOWN names."""
        return {
            "state": self.state,
            "images": self.images,
            "masks": self.masks,
            "matched": self.matched,
            "missing_count": self.missing_count,
            "extra_count": self.extra_count,
            "missing": self.missing[:NAMES_SHOWN],
            "extra": self.extra[:NAMES_SHOWN],
            "unreadable": self.unreadable,
            "note": self.note,
            "notes": self.notes,
            "other_files_count": len(self.other_files),
            "other_files": self.other_files[:NAMES_SHOWN],
        }


def compare_batch(
    images: list[str] | None,
    masks: list[str] | None,
    unreadable: list[dict],
    suffixes=DEFAULT_MASK_SUFFIXES,
    note: str | None = None,
    extensions=DEFAULT_EXTENSIONS,
    other_files=(),
) -> BatchCheck:
    """The state of a batch from its image names and the union of its uploads' mask names.

    `images` None: the folder was not listed or cannot be read; `masks` None: no upload of the
    batch was checked yet (or it has none). `unreadable` lists uploads whose contents could not
    be listed. `note` says why something is unknown. `other_files` (members that are not masks)
    are reported and never change the state.
    """
    others = sorted(set(other_files))
    if images is None or masks is None:
        return BatchCheck(
            "unknown",
            images=None if images is None else len(images),
            masks=None if masks is None else len(set(masks)),
            unreadable=unreadable,
            note=note,
            other_files=others,
        )
    mask_keys = {mask_key(name, suffixes, extensions) for name in set(masks)}
    image_keys: set[str] = set()
    missing = []
    for name in images:
        key = image_key(name, extensions)
        channel = channel_key(key)
        image_keys.update((key, channel) if channel else (key,))
        if key not in mask_keys and (channel is None or channel not in mask_keys):
            missing.append(name)
    missing.sort()
    extra = sorted(
        {name for name in masks if mask_key(name, suffixes, extensions) not in image_keys}
    )
    check = BatchCheck(
        "complete",
        images=len(images),
        masks=len(set(masks)),
        matched=len(images) - len(missing),
        missing=missing,
        extra=extra,
        unreadable=unreadable,
        note=note,
        other_files=others,
    )
    if unreadable:
        check.state = "unreadable"
    elif missing:
        check.state = "incomplete"
    elif extra:
        check.state = "extra"
    return check
