"""Which image a mask of an upload is checked against, and that image's grid (header only).

An upload may name several batches whose images share names, and a batch may hold several
images of one key (`case1.nii.gz` and its preview `case1.png`). A mask under a folder naming one
of them is that batch's (`mask_matching.folder_batches`, as the completeness check places it).
Otherwise, when several images (of the upload's batches, or of one batch) may be its image,
the mask's own grid decides: the images it fits (size, spacing, origin, direction) are its
images; when it fits none, or cannot be read, nothing says whose it is, and it is checked
against each of them, as the completeness check counts it for each (an empty mask is every
such batch's problem, never passed for want of knowing whose). An image that no mask of the
upload fits, though the completeness check counts one for it, gets the problems of those
masks against it (`mask_content_scan`): it is never left unchecked. Within a batch, among images sharing a name
in different subfolders, a mask is checked against the one its folders name
(`mask_matching.image_for_mask`, as the completeness check counts it), or none.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from segcore.content.formats.mask_formats import image_header
from segcore.content.formats.mask_geometry import Geometry
from segcore.content.formats.read_reasons import IMAGE_GONE, IMAGE_NOT_OPENED
from segcore.content.mask_content import compare_grid
from segcore.core.errors import UnreadableUpload
from segcore.core.regular_files import stored_file_on_disk
from segcore.images.mask_matching import (
    DEFAULT_EXTENSIONS,
    base_name,
    channel_key,
    distinguishing_folders,
    folder_batches,
    image_for_mask,
    image_key,
    mask_key,
    mask_path,
    same_name_images,
)

HEADER_CACHE_SIZE = 50_000
_headers: OrderedDict = OrderedDict()  # (path, size, mtime_ns) -> Geometry or reason

Image = tuple[str, str, str]  # (its path on disk, its name, the batch it belongs to)


def cached_image_header(path: str, name: str) -> Geometry:
    """An image's grid read by header only, remembered by path, size and modification time;
    raises UnreadableUpload when the image cannot be read. A path listed with '?' for bytes
    that are not UTF-8 (`ri??n_001.png`, an old SMB copy's Latin-1 name) is the one file on
    disk it fits (`regular_files.stored_file_on_disk`), as a batch's folder is found."""
    try:
        stat = os.stat(path)
    except OSError as exc:
        if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
            found = stored_file_on_disk(path)
            if found is None:
                raise UnreadableUpload(IMAGE_GONE) from None
            return cached_image_header(found, name)
        raise UnreadableUpload(IMAGE_NOT_OPENED.format(detail=exc.strerror or exc)) from None
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _headers:
        try:
            _headers[key] = image_header(path, name)
        except UnreadableUpload as exc:
            _headers[key] = str(exc)
        if len(_headers) > HEADER_CACHE_SIZE:
            _headers.popitem(last=False)
    found = _headers[key]
    if isinstance(found, str):
        raise UnreadableUpload(found)
    return found


@dataclass
class ImageIndex:
    """The images an upload's masks are matched to: key -> each batch's image of that key (an
    upload may name several batches, whose images may share names). `batches`: the upload's."""

    images: dict[str, list[Image]] = field(default_factory=dict)
    suffixes: tuple[str, ...] = ()
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    batches: frozenset = frozenset()
    folders: dict = field(default_factory=dict)  # folder -> the batch it names (folder_batches)
    # images sharing a name in a batch, by path on disk: (their relative names' distinguishing
    # folders, its own relative name)
    same_name: dict = field(default_factory=dict)
    # images sharing their key, not their name, with another of their batch (`case1.nii.gz`
    # and `case1.png`), by path on disk: a mask's problems against them name the image
    shared_key: set = field(default_factory=set)

    @classmethod
    def from_listings(
        cls, listings, suffixes, extensions=DEFAULT_EXTENSIONS, batches=None
    ) -> "ImageIndex":
        """From stored batch image listings (folder and relative names); `suffixes` and
        `extensions` as configured (MASK_SUFFIXES, MASK_EXTENSIONS), as the listing used;
        `batches`: those the upload names (else those of the listings)."""
        listings = [listing for listing in listings if listing is not None]
        named = batches if batches is not None else [listing.batch_id for listing in listings]
        index = cls(
            suffixes=tuple(suffixes), extensions=tuple(extensions), batches=frozenset(named)
        )
        for listing in listings:
            if not listing.names or not listing.folder:
                continue
            for group in same_name_images(listing.names).values():
                folders = distinguishing_folders(group)
                for name in group:
                    index.same_name[str(Path(listing.folder) / name)] = (folders, name)
            own: dict[str, list[str]] = {}
            for name in listing.names:
                key = image_key(name, index.extensions)
                image = (str(Path(listing.folder) / name), base_name(name), listing.batch_id)
                index._add(key, image)
                own.setdefault(key, []).append(image[0])
                channel = channel_key(key)  # nnU-Net: case_0001's mask, of case_0001_0000
                if channel:
                    index._add(channel, image, first_only=True)
            index.shared_key.update(
                path
                for paths in own.values()
                if len([p for p in paths if p not in index.same_name]) > 1
                for path in paths
                if path not in index.same_name
            )
        return index

    def _add(self, key: str, image: Image, first_only: bool = False) -> None:
        """Every image of the key (`case1.nii.gz` and its preview `case1.png`: the mask counts
        for both); `first_only` (an nnU-Net channel's key): each batch's first of the key, and
        every image sharing a name with another."""
        found = self.images.setdefault(key, [])
        if (
            not first_only
            or image[0] in self.same_name
            or all(known[2] != image[2] or known[0] in self.same_name for known in found)
        ):
            found.append(image)

    def images_of(self, member: str) -> list[Image]:
        """The images a mask member (its path in the archive) may be the mask of: one per batch
        having an image of its name; in an upload naming several batches, only the batch its
        folder names when one does ([] when that batch has no such image). The member is
        taken as the listing stores it (`mask_matching.mask_path`: NFC, undecodable bytes as
        `?`), the form its images are listed in, so a Latin-1 `ri\\xf1\\xf3n_001_mask.png`
        meets the image listed as `ri??n_001.png` here as it does in the completeness check."""
        member = mask_path(member)
        key = mask_key(base_name(member), self.suffixes, self.extensions, self.images)
        found = self.images.get(key)
        if not found:
            return []
        named = folder_batches(member, self.folders) & self.batches
        if len(self.batches) > 1 and named:
            found = [image for image in found if image[2] in named]
        return [i for b in dict.fromkeys(i[2] for i in found) for i in self._own(member, found, b)]

    def _own(self, member: str, found: list[Image], batch: str) -> list[Image]:
        """Batch `batch`'s images of a mask among `found`: the same-named one its folders name,
        else those of its key that share no name ([]: ambiguous)."""
        mine = [image for image in found if image[2] == batch]
        for image in mine:
            if image[0] in self.same_name:
                folders, _ = self.same_name[image[0]]
                chosen = image_for_mask(member, folders)
                if chosen is not None:
                    return [i for i in mine if self.same_name.get(i[0], (0, None))[1] == chosen]
        return [image for image in mine if image[0] not in self.same_name]


def image_grids(images: list[Image]) -> dict[Image, Geometry | str]:
    """Each image's grid, or why it cannot be read."""
    grids: dict[Image, Geometry | str] = {}
    for image in images:
        try:
            grids[image] = cached_image_header(image[0], image[1])
        except UnreadableUpload as exc:
            grids[image] = str(exc)
    return grids


def fitting(mask: Geometry, grids: dict) -> list[Image]:
    """The images whose grid the mask's fits (readable images only)."""
    return [
        image
        for image, grid in grids.items()
        if not isinstance(grid, str) and not compare_grid(mask, grid)
    ]
