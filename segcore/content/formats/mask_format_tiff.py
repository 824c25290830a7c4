"""Which pages of a multi-page image are its slices, and how they stack (Pillow's tags only).

A TIFF's pages are its slices, except a reduced-resolution page (NewSubfileType bit 0, or the
old SubfileType 2: a pyramid's levels as `vips tiffsave --pyramid` and slide scanners write
them, a thumbnail) or any page of another size than the first, which shows the same picture
again. An ImageJ hyperstack (its first page's ImageDescription `ImageJ=…` naming `channels=`,
`slices=` and `frames=`, pages in ImageJ's order: frames, then slices, then channels) has
`slices` slices: channels are no spatial axis, and time points are volumes of a series (a 4th
dimension, as a NIfTI series' are). Other multi-page images (an animated PNG) stack every page.
"""

from __future__ import annotations

from dataclasses import dataclass

NEW_SUBFILE_TYPE, SUBFILE_TYPE, IMAGE_DESCRIPTION = 254, 255, 270
REDUCED_RESOLUTION = 1  # NewSubfileType bit 0
OLD_REDUCED_RESOLUTION = 2  # SubfileType's value for the same


@dataclass(frozen=True)
class Pages:
    """The pages holding an image's values (`indices`) and its grid's shape (width, height,
    slices[, time points])."""

    indices: tuple[int, ...]
    shape: tuple[int, ...]


def slice_pages(image) -> Pages:
    """The pages of an open Pillow image that are slices, and the shape they make (see the
    module's docstring); the image is left on its first page."""
    count = int(getattr(image, "n_frames", 1) or 1)
    size = (image.width, image.height)
    if image.format != "TIFF" or count == 1:
        return Pages(tuple(range(count)), (*size, count))
    indices = []
    for index in range(count):
        image.seek(index)
        if image.size == size and not _reduced(image.tag_v2):
            indices.append(index)
    image.seek(0)
    if not indices:  # every page flagged reduced: none is, then
        return Pages(tuple(range(count)), (*size, count))
    return Pages(tuple(indices), (*size, *_imagej_stack(image.tag_v2, len(indices))))


def _reduced(tags) -> bool:
    new_type = tags.get(NEW_SUBFILE_TYPE)
    if isinstance(new_type, int) and new_type & REDUCED_RESOLUTION:
        return True
    return tags.get(SUBFILE_TYPE) == OLD_REDUCED_RESOLUTION


def _imagej_stack(tags, pages: int) -> tuple[int, ...]:
    """(slices, time points) of an ImageJ hyperstack of `pages` pages, (pages,) for any other
    stack or when its description's counts do not make its pages (a file ImageJ cut)."""
    description = tags.get(IMAGE_DESCRIPTION)
    if not isinstance(description, str) or not description.startswith("ImageJ="):
        return (pages,)
    counts = {}
    for line in description.splitlines():
        key, _, value = line.partition("=")
        if (
            key in ("channels", "slices", "frames")
            and value.strip().isascii()
            and value.strip().isdigit()
        ):
            counts[key] = int(value)
    channels, slices, frames = (counts.get(k, 1) for k in ("channels", "slices", "frames"))
    if channels * slices * frames != pages or pages == 0:
        return (pages,)
    return (slices, frames)
