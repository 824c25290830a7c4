"""Matching mask names to image names, and a batch's completeness state: pure functions.

A mask matches an image when their keys agree: the name without folders, without its image or
volume extension (`.nii.gz`, `.seg.nrrd` count as one) and without one mask suffix (`_mask`,
`_seg`, ... configurable), in Unicode NFC (macOS writes accents decomposed), ignoring case. An
image whose name has no known extension (a DICOM file named by its UID) is keyed by its whole
name; an image's nnU-Net channel suffix (`case_0001_0000.nii.gz`) may be left off by its mask
(`case_0001.nii.gz`). Only members with a known extension are masks; other files are listed as
such and never make a batch "extra". An upload naming several batches places a mask in the batch
its folder names (`place_masks`, `masks_for_batch`); an upload naming one batch has no mask under
another batch's folder (`other_batch_folder`: the listing counts it among the other files);
otherwise folders do not matter, except among images sharing a name in different subfolders (DICOM series `SE000001/IM000000`,
`patient_A/img_001.png`): each needs its own mask, whose folders end with the image's own
(`image_for_mask`); a mask whose folders say none of them is ambiguous and counts for none.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from segcore.core.naming import batch_ids_in, cut, storable
from segcore.core.regular_files import is_system_name
from segcore.settings.config import Settings

# The settings' defaults (MASK_EXTENSIONS, MASK_SUFFIXES), named once in the configuration.
DEFAULT_EXTENSIONS = Settings.mask_extensions
DEFAULT_MASK_SUFFIXES = Settings.mask_suffixes
NOT_IMAGES = {"dicomdir"}  # a DICOM media index, not an image, whatever its bytes say
# Endings DICOM files are given besides .dcm (exporters, Siemens): listed when the file's
# first bytes say DICOM, and matched without them.
DICOM_ENDINGS = (".dicom", ".ima", ".dic")
CHANNEL_SUFFIX = re.compile(r"_\d{4}$")  # nnU-Net: case_0001_0000 is channel 0 of case_0001
NAMES_SHOWN = 50  # names listed per kind in a report; all are counted
NAME_CHARS_SHOWN = 512  # characters of a name listed in a report (a zip's may hold 65,535)

STATES = ("complete", "incomplete", "extra", "unreadable", "unknown")


def nfc(text: str) -> str:
    """`text` in Unicode NFC, so a decomposed `í` (macOS) equals a composed one."""
    return unicodedata.normalize("NFC", str(text))


def base_name(path: str) -> str:
    """The last part of an archive member's path, whichever separator the archiver used."""
    return str(path).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def member_base_name(path: str) -> str:
    """An archive member's base name as stored and compared: NFC, and any surrogate left by
    undecodable bytes replaced so the name can be stored and shown (naming.storable)."""
    return nfc(storable(base_name(str(path))))


def same_mask_name(path: str) -> str:
    """A mask's base name in NFC, ignoring case (`IMG_001_MASK.npy` is `img_001_mask.npy`
    re-uploaded): how the changes between uploads compare names."""
    return member_base_name(path).casefold()


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
    """False for directories and for what systems and archivers add, under the rule a batch
    folder's images follow (`regular_files.is_system_name`: `__MACOSX/`, `@eaDir/`,
    `.DS_Store`, `Thumbs.db`, AppleDouble `._x`, hidden folders): the members worth listing."""
    if is_dir or not path or str(path).endswith(("/", "\\")):
        return False
    parts = str(path).replace("\\", "/").split("/")
    return bool(parts[-1]) and not any(is_system_name(part) for part in parts)


def mask_path(path: str) -> str:
    """An archive member's path as stored and compared: `/` between folders, no `./` or `/`
    first, NFC, undecodable bytes replaced."""
    path = str(path).replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return nfc(storable(path.lstrip("/")))


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
    return set(_folder_batches(path, seen))


def _folder_batches(path: str, seen: dict | None = None) -> list[str]:
    """`folder_batches`, outermost folder first."""
    seen = {} if seen is None else seen
    found = []
    for folder in str(path).replace("\\", "/").split("/")[:-1]:
        if folder not in seen:
            ids = batch_ids_in(folder)
            seen[folder] = ids[0] if len(ids) == 1 else None
        if seen[folder]:
            found.append(seen[folder])
    return found


def other_batch_folder(path: str, keys, listed, seen: dict | None = None) -> str | None:
    """For an upload naming batches `keys` (one, or several: `batch_1_to_batch_2.zip`): the
    batch whose folder holds an archive member when its folders name a batch of the list
    (`listed`: the keys of the batch list, as `naming.batch_key` gives them) and none names
    one of `keys` (`batch_14/img_002_mask.png` in `batch_13.zip`, the annotator having zipped
    two batch folders), the innermost such folder's; None for a member under a folder of
    `keys` or under no folder naming a listed batch (`export_batch_20261207/`, `Batch 2026/`:
    a date or a year, no batch of the list). Folders name batches as in an upload naming
    several (`folder_batches`)."""
    found = _folder_batches(path, seen)
    if set(keys) & set(found):
        return None
    found = [batch for batch in found if batch in listed]
    return found[-1] if found else None


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


def mask_key(
    name: str, suffixes=DEFAULT_MASK_SUFFIXES, extensions=DEFAULT_EXTENSIONS, image_keys=()
) -> str:
    """The key a mask is matched by: its stem without one mask suffix (the longest that fits),
    or its whole stem when that is one of `image_keys` (the batch's), so an image whose own
    name ends in a suffix (`liver_label.png`) gets the mask named exactly like it
    (`masks/liver_label.png`): an exact name wins over a suffix."""
    stem = nfc(split_extension(base_name(name), extensions)[0]).casefold()
    if stem in image_keys:
        return stem
    for suffix in sorted((nfc(s).casefold() for s in suffixes), key=len, reverse=True):
        if suffix and stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)]
    return stem


def paths_for_batch(listing: dict, key: str | None, batches) -> list[str]:
    """The mask paths of one upload's stored listing (`names`, `paths`, `placed`,
    `also_loose`) that count for batch `key`: as `masks_for_batch`, path by path, so a mask
    under another batch's folder never answers for this one's image of the same name. A
    listing without paths (past the members stored) gives its names."""
    names = masks_for_batch(
        listing.get("names"), listing.get("placed"), listing.get("also_loose"), key, batches
    )
    paths = listing.get("paths")
    if not isinstance(paths, list) or not names:
        return names
    wanted = set(names)
    kept = [p for p in paths if isinstance(p, str) and member_base_name(p) in wanted]
    placed = listing.get("placed") if isinstance(listing.get("placed"), dict) else {}
    named = {b for b in set(batches or ()) if isinstance(placed.get(b), list)}
    if key is not None and len(set(batches or ())) > 1 and named:
        seen: dict = {}
        kept = [
            p for p in kept if key in folder_batches(p, seen) or not folder_batches(p, seen) & named
        ]
    return kept + sorted(wanted - {member_base_name(p) for p in kept})


def batches_counting(listing: dict, batches) -> dict[str, set[str]] | None:
    """For an upload naming several `batches`, each batch's masks as its stored `listing`
    counts them (`paths_for_batch`: paths, or names where it kept no paths), so the content
    check opens for a batch only the masks its completeness counts; None for one batch."""
    batches = list(dict.fromkeys(batches or ()))
    if len(batches) < 2:
        return None
    return {key: set(paths_for_batch(listing, key, batches)) for key in batches}


def counts_for(counting: dict[str, set[str]], path: str) -> set[str]:
    """The batches of `counting` (`batches_counting`) that count an archive member's path."""
    path, name = mask_path(path), member_base_name(path)
    return {key for key, held in counting.items() if path in held or name in held}


def masks_held(
    listing: dict, batches, suffixes=DEFAULT_MASK_SUFFIXES, extensions=DEFAULT_EXTENSIONS, images=()
) -> int:
    """How many masks an upload naming several `batches` holds for them together, as each
    counts its own (`paths_for_batch`): one per key (`mask_key`, as matching takes it, so
    `img_001_mask.png` and `img_001_label.png` are one) under each batch's folder
    (`batch_1/img_001_mask.png` and `batch_2/img_001_mask.png` are two), and one per key of
    those under no such folder, whichever batches they count for. `images`: the batches'
    image names, whose exact names win over a suffix."""
    placed = listing.get("placed") if isinstance(listing.get("placed"), dict) else {}
    named = {b for b in set(batches or ()) if isinstance(placed.get(b), list)}
    keys = image_keys(images, extensions)
    seen: dict = {}
    held = {
        (frozenset(folder_batches(path, seen) & named), mask_key(path, suffixes, extensions, keys))
        for key in dict.fromkeys(batches or ())
        for path in paths_for_batch(listing, key, batches)
    }
    return len(held)


def mask_count(names, suffixes=DEFAULT_MASK_SUFFIXES, extensions=DEFAULT_EXTENSIONS, images=()):
    """How many masks `names` are, one per key matching takes (`mask_key`: `img_001_mask.png`
    and `labels/img_001_label.png` are img_001's one mask); `images`: the batch's image names,
    whose exact names win over a suffix."""
    keys = image_keys(images, extensions)
    return len({mask_key(name, suffixes, extensions, keys) for name in names})


def matching_rules(suffixes, extensions) -> dict:
    """The matching settings (MASK_SUFFIXES, MASK_EXTENSIONS) as a receipt keeps them: one made
    under others is made again by the next check (`owed_receipts`)."""
    return {"suffixes": list(suffixes), "extensions": list(extensions)}


def image_keys(images, extensions=DEFAULT_EXTENSIONS) -> set[str]:
    """The keys a batch's images are matched by (`image_key`), with each nnU-Net channel's
    case key (`case_0001` of `case_0001_0000.nii.gz`)."""
    keys: set[str] = set()
    for name in images or ():
        key = image_key(name, extensions)
        channel = channel_key(key)
        keys.update((key, channel) if channel else (key,))
    return keys


def _folders(path: str) -> tuple[str, ...]:
    """The folders of a path, compared as names are (NFC, ignoring case)."""
    parts = str(path).replace("\\", "/").split("/")[:-1]
    return tuple(nfc(part).casefold() for part in parts if part not in ("", "."))


def same_name_images(images) -> dict[str, list[str]]:
    """The images sharing a base name (NFC, ignoring case) with another of the batch, by that
    name: those that need a mask saying which of them it is for."""
    by_name: dict[str, list[str]] = {}
    for name in images:
        by_name.setdefault(nfc(base_name(name)).casefold(), []).append(name)
    return {n: sorted(paths) for n, paths in by_name.items() if len(paths) > 1}


def distinguishing_folders(images: list[str]) -> dict[str, tuple[str, ...]]:
    """Each of images sharing a name: the fewest folders at the end of its path that no other
    ends with (`patient_A` of `data/patient_A/img_001.png`), else all its folders."""
    folders = {name: _folders(name) for name in images}
    found = {}
    for name, own in folders.items():
        others = [f for n, f in folders.items() if n != name]
        found[name] = next(
            (own[-n:] for n in range(1, len(own) + 1) if all(f[-n:] != own[-n:] for f in others)),
            own,
        )
    return found


def image_for_mask(mask: str, folders: dict[str, tuple[str, ...]]) -> str | None:
    """Which of images sharing a name (`folders`: see `distinguishing_folders`) a mask is for:
    the one whose distinguishing folders its path ends with (the most of them when several
    do); None when its folders say none, or not which."""
    own = _folders(mask)
    fits = [
        (len(f), n)
        for n, f in folders.items()
        if len(f) <= len(own) and own[len(own) - len(f) :] == f
    ]
    if not fits:
        return None
    fits.sort(reverse=True)
    return fits[0][1] if len(fits) == 1 or fits[0][0] > fits[1][0] else None


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
    # masks counted for no image: several share their name and the folders say not which
    ambiguous: list[dict] = field(default_factory=list)  # [{"mask", "images"}]
    # files of the folder left out for holding no image (batch_images): [{"name", "what"}]
    not_images: list[dict] = field(default_factory=list)

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
            "missing": shown(self.missing),
            "extra": shown(self.extra),
            "unreadable": self.unreadable,
            "note": self.note,
            "notes": self.notes,
            "other_files_count": len(self.other_files),
            "other_files": shown(self.other_files),
            "ambiguous_count": len(self.ambiguous),
            "ambiguous": [
                {"mask": cut(a["mask"], NAME_CHARS_SHOWN), "images": shown(a["images"], None)}
                for a in self.ambiguous[:NAMES_SHOWN]
            ],
            "not_images_count": len(self.not_images),
            "not_images": [
                {"name": cut(item["name"], NAME_CHARS_SHOWN), "what": item["what"]}
                for item in self.not_images[:NAMES_SHOWN]
            ],
        }


def shown(names: list[str], count: int | None = NAMES_SHOWN) -> list[str]:
    """The first `count` of `names` (all with None), each cut to NAME_CHARS_SHOWN characters
    with "…": what a report stores stays far within a document's 16 MB whatever an archive
    names its members."""
    return [cut(name, NAME_CHARS_SHOWN) for name in names[:count]]


def compare_batch(
    images: list[str] | None,
    masks: list[str] | None,
    unreadable: list[dict],
    suffixes=DEFAULT_MASK_SUFFIXES,
    note: str | None = None,
    extensions=DEFAULT_EXTENSIONS,
    other_files=(),
) -> BatchCheck:
    """The state of a batch from its image names and the union of its uploads' mask paths
    (or names: folders matter only among images sharing a name, see `image_for_mask`).

    `images` None: the folder was not listed or cannot be read; `masks` None: no upload of the
    batch was checked yet (or it has none). `unreadable` lists uploads whose contents could not
    be listed: the state is `unreadable` while images are without a mask (an unreadable
    upload may hold them), else what the readable uploads give. `note` says why something is
    unknown. `other_files` (members that are not masks)
    are reported and never change the state. A mask ambiguous among same-named images counts
    for none of them and makes the batch `extra` when nothing is missing.
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
    matched_keys = image_keys(images, extensions)
    keys = {m: mask_key(m, suffixes, extensions, matched_keys) for m in set(masks)}
    by_key: dict[str, list[str]] = {}
    for path in sorted(set(masks)):
        by_key.setdefault(keys[path], []).append(path)
    same, ambiguous = _masks_by_folder(images, by_key, extensions)
    missing = []
    for name in images:
        key = image_key(name, extensions)
        channel = channel_key(key)
        if name in same:
            if not same[name]:
                missing.append(name)
        elif key not in by_key and (channel is None or channel not in by_key):
            missing.append(name)
    missing.sort()
    extra = sorted({base_name(m) for m in masks if keys[m] not in matched_keys})
    # a mask is one per key, as matching takes it (`img_001_mask.png` and `labels/
    # img_001_label.png` are img_001's one mask), except where its folders tell same-named
    # images apart
    by_folder = {m for found in same.values() for m in found} | set(ambiguous)
    counted = {(m, None) if m in by_folder else (None, keys[m]) for m in masks}
    check = BatchCheck(
        "complete",
        images=len(images),
        masks=len(counted),
        matched=len(images) - len(missing),
        missing=missing,
        extra=extra,
        unreadable=unreadable,
        note=note,
        other_files=others,
        ambiguous=[{"mask": m, "images": ambiguous[m]} for m in sorted(ambiguous)],
    )
    # An unreadable upload is the batch's state only while the readable ones leave images
    # without a mask: once they give each a mask, the batch is delivered and says so.
    if unreadable and missing:
        check.state = "unreadable"
    elif missing:
        check.state = "incomplete"
    elif extra or ambiguous:
        check.state = "extra"
    return check


def _masks_by_folder(images, by_key: dict, extensions) -> tuple[dict, dict]:
    """`(assigned, ambiguous)` for the images sharing a name: each such image's masks (those
    whose folders say it is theirs, `image_for_mask`), and the masks whose folders say none
    of them or not which, with those images."""
    assigned: dict[str, list[str]] = {}
    ambiguous: dict[str, list[str]] = {}
    for group in same_name_images(images).values():
        key = image_key(group[0], extensions)
        channel = channel_key(key)
        folders = distinguishing_folders(group)
        assigned.update((name, []) for name in group)
        for mask in by_key.get(key, []) + (by_key.get(channel, []) if channel else []):
            found = image_for_mask(mask, folders)
            if found is None:
                ambiguous[mask] = group
            else:
                assigned[found].append(mask)
    return assigned, ambiguous
