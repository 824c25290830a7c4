"""An upload's members that are copies of its batch's images: the images, not their masks.

Annotators zip their whole working folder (`images/` next to `masks/`, nnU-Net's `imagesTr/`
next to `labelsTr/`), or by mistake the images alone, often as their tool saved them again in
another format (`img_003.png` as `img_003.tif`, VOC's `JPEGImages/img_003.jpg`, a DICOM file
named by its UID given `.dcm`). A member is compared with the batch's images by the name
matching uses (`mask_matching.image_key`: its stem without its extension, NFC, ignoring case),
so a copy is told whatever extension it was saved with, as matching would otherwise take it for
its image's mask. A member of such a stem whose bytes are that image's is a copy of it: listed
among the upload's other files, never counted as a mask, never checked as one. So is such a
member whose own folder (the one holding it: `images/img_003.tif`, never
`Images/batch_2/masks/img_003.png`) is named as images folders are (`images/`, `imgs/`,
nnU-Net's `imagesTr/`, VOC's `JPEGImages/`, Spanish `imagenes/`: `IMAGE_FOLDERS`), whatever its
bytes: the image saved again by the annotator's tool (CVAT, ITK-SNAP, any re-save writes the
same pixels in other bytes), which a mask named as its image never is there, unless a folder above it is named as mask
folders are (`SegmentationClass/`, `SegmentationObject/`, `masks/`, `labels/`, nnU-Net's
`labelsTr/`, Spanish `mascaras/`: `MASK_FOLDERS`): CVAT's and Datumaro's VOC export keeps
each frame's folder under `SegmentationClass/` (`SegmentationClass/images/img_001.png` of a
frame `images/img_001.jpg`), and any tool mirroring the batch's subfolders under `masks/`
does the same, so such a member is what its mask folder says. The content check tells the
other copies saved again by their pixels (`content.image_pixels`).

A batch folder may be on an SSHFS mount, so this costs nothing for an upload holding no member
named like an image, a `stat` per such image otherwise, and a read of the image only when its
size is the member's. The fingerprint the listing has for the member (CRC-32 for a zip or a
7z, BLAKE2b for a tar, MD5 for a single file) is then computed for the image, remembered by
path, size and modification time.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections import OrderedDict
from pathlib import Path

from segcore.core.errors import N_
from segcore.core.regular_files import open_regular
from segcore.images.mask_matching import DEFAULT_EXTENSIONS, image_key, member_base_name, nfc

# How a copy is listed among the upload's other files (stored, as the listing's other notes):
# by its path, so the folder that made it a copy shows.
COPY_MEMBER = N_("{name} (a copy of its image, not a mask)")
# Folders holding images in the layouts annotators zip, in the app's languages (compared in NFC,
# ignoring case): a member held in one under one of the batch's images' names is that image,
# whatever its bytes or extension.
IMAGE_FOLDERS = frozenset(
    {"images", "image", "imgs", "img", "imagestr", "imagests", "jpegimages"}
    | {"imagenes", "imágenes", "imagen"}
)
# Folders holding masks in the layouts annotators zip (compared as IMAGE_FOLDERS): a member
# under one is never an image by its images folder (`SegmentationClass/images/img_001.png`).
MASK_FOLDERS = frozenset(
    {"masks", "mask", "labels", "label", "labelstr", "labelsts", "gt", "groundtruth"}
    | {"ground_truth", "segmentations", "segmentation", "annotations"}
    | {"mascaras", "máscaras", "mascara", "máscara", "etiquetas", "segmentaciones"}
)
# VOC's mask folders, casefolded, begin so (`SegmentationClass`, labelme2voc's
# `SegmentationClassPNG`, DeepLab's `SegmentationClassRaw`, `SegmentationObject*`), and
# labelme2voc's colour overlays' end so (`SegmentationClassVisualization`).
CLASS_FOLDER, INSTANCE_FOLDER, OVERLAY_FOLDER = (
    "segmentationclass",
    "segmentationobject",
    "visualization",
)


def is_mask_folder(folder: str) -> bool:
    """True for a (casefolded) folder named as mask folders are: `MASK_FOLDERS`, or VOC's."""
    return folder in MASK_FOLDERS or folder.startswith((CLASS_FOLDER, INSTANCE_FOLDER))


PIECE = 1024 * 1024
FINGERPRINTS_KEPT = 10_000
_fingerprints: OrderedDict = OrderedDict()  # (path, size, mtime_ns, kind) -> value


def _name_key(name: str, extensions) -> str:
    """The key a member or an image is compared by: matching's (`image_key`), so
    `images/img_003.tif` is compared with `img_003.png`."""
    return image_key(member_base_name(name), extensions)


def in_image_folder(path: str) -> bool:
    """True when the folder holding a member is named as images folders are (`IMAGE_FOLDERS`)
    and none above it as mask folders are (`is_mask_folder`): `images/img_001.png`, never
    `Images/batch_2/masks/img_001.png` (a folder higher up, such as a French Windows' Pictures
    folder, says nothing of what the member is) nor `SegmentationClass/images/img_001.png`
    (a VOC export keeping its frame's folder under the masks')."""
    folders = [nfc(f).casefold() for f in str(path).replace("\\", "/").split("/")[:-1]]
    return (
        bool(folders)
        and folders[-1] in IMAGE_FOLDERS
        and not any(is_mask_folder(f) for f in folders[:-1])
    )


def crc32_of(handle) -> int:
    crc = 0
    while piece := handle.read(PIECE):
        crc = zlib.crc32(piece, crc)
    return crc


def _hexdigest(handle, digest) -> str:
    while piece := handle.read(PIECE):
        digest.update(piece)
    return digest.hexdigest()


# What each kind of member fingerprint is, computed over a file's bytes (as the listing does).
FINGERPRINTS = {
    "crc": crc32_of,
    "digest": lambda handle: _hexdigest(handle, hashlib.blake2b(digest_size=16)),
    "md5": lambda handle: _hexdigest(handle, hashlib.md5(usedforsecurity=False)),
}


def fingerprint(path: str, kind: str, size: int, mtime_ns: int):
    """The `kind` fingerprint of the file at `path` (of `size` and `mtime_ns`, as just
    stat'ed), read once per version of the file; None when it cannot be read."""
    key = (path, size, mtime_ns, kind)
    if key not in _fingerprints:
        try:
            with open_regular(path) as handle:
                _fingerprints[key] = FINGERPRINTS[kind](handle)
        except OSError:
            return None  # not remembered: a mount back later is read then
        if len(_fingerprints) > FINGERPRINTS_KEPT:
            _fingerprints.popitem(last=False)
    return _fingerprints[key]


class ImageFiles:
    """The images of an upload's batches by the key matching gives their names (`_name_key`,
    for `extensions`: MASK_EXTENSIONS), to tell copies of them among its members. `stats`:
    path -> (size, mtime_ns) or None, shared by the uploads of one run, so each image is
    stat'ed at most once a run."""

    def __init__(self, listings, stats: dict | None = None, extensions=DEFAULT_EXTENSIONS):
        self.paths: dict[str, list[str]] = {}
        self.stats = {} if stats is None else stats
        self.extensions = tuple(extensions)
        for listing in listings:
            if listing is None or not listing.names or not listing.folder:
                continue
            for name in listing.names:
                path = str(Path(listing.folder) / name)
                self.paths.setdefault(_name_key(name, self.extensions), []).append(path)

    def _stat(self, path: str):
        if path not in self.stats:
            try:
                found = os.stat(path)
                self.stats[path] = (found.st_size, found.st_mtime_ns)
            except OSError:
                self.stats[path] = None
        return self.stats[path]

    def is_copy(self, name: str, size, kind: str, value) -> bool:
        """True when the member `name` (its path in the upload), of `size` bytes and fingerprint
        `value` of `kind` ("crc", "digest", "md5"), has the bytes of one of the images of its
        name (its key: any extension), or is held by an images folder (`in_image_folder`)
        under one of their names. A member named like no image, or without a fingerprint, is
        read from no disk."""
        if not isinstance(size, int) or size <= 0:
            return False
        key = _name_key(name, self.extensions)
        if key in self.paths and in_image_folder(name):
            return True  # `images/img_003.tif` saved again by a tool: its image all the same
        if kind not in FINGERPRINTS or value is None:
            return False
        for path in self.paths.get(key, ()):
            found = self._stat(path)
            if found is None or found[0] != size:
                continue  # never read an image whose size is not the member's
            if fingerprint(path, kind, *found) == value:
                return True
        return False
