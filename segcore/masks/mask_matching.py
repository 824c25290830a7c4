"""Matching mask names to image names, and a batch's completeness state: pure functions.

A mask matches an image when their stems agree, ignoring case, folders, the extension (`.nii.gz`
counts as one) and one mask suffix (`_mask`, `_seg`, ... configurable).
"""

from __future__ import annotations

from dataclasses import dataclass, field

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".nii", ".nii.gz",
                    ".nrrd", ".mha", ".mhd")
# Longest first, so `.nii.gz` wins over a bare `.gz`.
COMPOUND_EXTENSIONS = (".nii.gz",)
DEFAULT_MASK_SUFFIXES = ("_mask", "-mask", "_seg", "_label", "_labels", "_gt")
SYSTEM_FILES = {".ds_store", "thumbs.db"}
NAMES_SHOWN = 50  # names listed per kind in a report; all are counted

STATES = ("complete", "incomplete", "extra", "unreadable", "unknown")


def base_name(path: str) -> str:
    """The last part of an archive member's path, whichever separator the archiver used."""
    return str(path).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def split_extension(name: str) -> tuple[str, str]:
    """`(stem, extension)` of a file name, the extension lower-cased; `.nii.gz` is one."""
    lower = name.lower()
    for compound in COMPOUND_EXTENSIONS:
        if lower.endswith(compound) and len(name) > len(compound):
            return name[:-len(compound)], compound
    dot = name.rfind(".")
    if dot <= 0:
        return name, ""
    return name[:dot], lower[dot:]


def is_image_name(name: str) -> bool:
    """True for a file name with one of the image extensions."""
    return split_extension(base_name(name))[1] in IMAGE_EXTENSIONS


def is_mask_member(path: str, is_dir: bool = False) -> bool:
    """False for directories and for the system files archivers add (`__MACOSX/`, `.DS_Store`,
    `Thumbs.db`, AppleDouble `._x`)."""
    if is_dir or not path or path.endswith(("/", "\\")):
        return False
    parts = str(path).replace("\\", "/").split("/")
    if any(part == "__MACOSX" for part in parts[:-1]):
        return False
    name = parts[-1]
    return bool(name) and name.lower() not in SYSTEM_FILES and not name.startswith("._")


def image_key(name: str) -> str:
    """The key an image is matched by: its stem, case-folded."""
    return split_extension(base_name(name))[0].casefold()


def mask_key(name: str, suffixes=DEFAULT_MASK_SUFFIXES) -> str:
    """The key a mask is matched by: its stem without one mask suffix, case-folded."""
    stem = split_extension(base_name(name))[0].casefold()
    for suffix in sorted((s.casefold() for s in suffixes), key=len, reverse=True):
        if suffix and stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[:-len(suffix)]
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
    unreadable: list[dict] = field(default_factory=list)  # [{"filename", "reason"}]
    note: str | None = None  # why the state is unknown

    @property
    def missing_count(self) -> int:
        return len(self.missing)

    @property
    def extra_count(self) -> int:
        return len(self.extra)

    def summary(self) -> dict:
        """What is stored with the batch and printed: counts, and at most NAMES_SHOWN names."""
        return {"state": self.state, "images": self.images, "masks": self.masks,
                "matched": self.matched, "missing_count": self.missing_count,
                "extra_count": self.extra_count, "missing": self.missing[:NAMES_SHOWN],
                "extra": self.extra[:NAMES_SHOWN], "unreadable": self.unreadable,
                "note": self.note}


def compare_batch(images: list[str] | None, masks: list[str] | None, unreadable: list[dict],
                  suffixes=DEFAULT_MASK_SUFFIXES, note: str | None = None) -> BatchCheck:
    """The state of a batch from its image names and the union of its uploads' mask names.

    `images` None: the folder was not listed or cannot be read; `masks` None: no upload of the
    batch was checked yet (or it has none). `unreadable` lists uploads whose contents could not
    be listed. `note` says why something is unknown.
    """
    if images is None or masks is None:
        return BatchCheck("unknown", images=None if images is None else len(images),
                          masks=None if masks is None else len(set(masks)),
                          unreadable=unreadable, note=note)
    mask_by_key: dict[str, str] = {}
    for name in sorted(set(masks)):
        mask_by_key.setdefault(mask_key(name, suffixes), name)
    image_keys = {image_key(name) for name in images}
    missing = sorted(name for name in images if image_key(name) not in mask_by_key)
    extra = sorted({name for name in masks if mask_key(name, suffixes) not in image_keys})
    check = BatchCheck("complete", images=len(images), masks=len(set(masks)),
                       matched=len(images) - len(missing), missing=missing, extra=extra,
                       unreadable=unreadable, note=note)
    if unreadable:
        check.state = "unreadable"
    elif missing:
        check.state = "incomplete"
    elif extra:
        check.state = "extra"
    return check
