"""TIFF images as tifffile, slide scanners and ImageJ write them: a pyramid's reduced-resolution
pages are no slices, and an ImageJ hyperstack's slices are its `slices`, never its channels or
time points."""

import numpy as np
import tifffile

from tests.content.test_mask_content_archives import checked, lab, said
from tests.content.test_mask_content_formats import images_dir, zipped

__all__ = ["lab"]  # the fixture, shared

WIDTH, HEIGHT = 64, 48


def picture(*shape: int) -> np.ndarray:
    return np.random.RandomState(0).randint(0, 255, shape, np.uint8)


def drawn(*shape: int, value: int = 1) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[..., 5:9, 5:9] = value
    return mask


def pyramid(path, levels: list[np.ndarray]) -> None:
    """A tiled pyramid as `vips tiffsave --pyramid` lays it out: the full image, then each
    level reduced (NewSubfileType 1)."""
    with tifffile.TiffWriter(path) as tiff:
        tiff.write(levels[0])
        for level in levels[1:]:
            tiff.write(level, subfiletype=1)


def test_a_pyramids_reduced_pages_are_no_slices(lab, upload, tmp_path):
    """A 64×48 image with a 16×12 reduced level takes a 64×48 mask, with a thumbnail page of
    its own or without; its reduced page's values are never the mask's (a thumbnail's
    resampled 3 is no label); a 2-page mask of it is still named."""
    pyramid(images_dir(lab) / "tile_001.tif", [picture(HEIGHT, WIDTH), picture(12, 16)])
    pyramid(images_dir(lab) / "tile_002.tif", [picture(HEIGHT, WIDTH), picture(12, 16)])
    pyramid(images_dir(lab) / "tile_003.tif", [picture(HEIGHT, WIDTH), picture(12, 16)])
    tifffile.imwrite(lab.masks / "tile_001_mask.tif", drawn(HEIGHT, WIDTH))
    pyramid(lab.masks / "tile_002_mask.tif", [drawn(HEIGHT, WIDTH), drawn(12, 16, value=3)])
    tifffile.imwrite(lab.masks / "tile_003_mask.tif", drawn(2, HEIGHT, WIDTH))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3
    assert said(row) == {"tile_003_mask.tif": "tile_003_mask.tif: 64×48×2, image 64×48"}


def test_an_imagej_hyperstacks_slices_are_its_slices(lab, upload, tmp_path):
    """ImageJ stacks of 3 slices with 2 channels (ZCYX) or 2 time points (TZYX) take the
    3-slice mask a plain 3-slice stack takes; a mask of 6 slices is named against 3, a
    2-channel mask's channels are no slices either."""
    images = {
        "cells_z": ("ZYX", picture(3, HEIGHT, WIDTH)),
        "cells_zc": ("ZCYX", picture(3, 2, HEIGHT, WIDTH)),
        "cells_tz": ("TZYX", picture(2, 3, HEIGHT, WIDTH)),
        "cells_six": ("ZCYX", picture(3, 2, HEIGHT, WIDTH)),
        "cells_two": ("ZCYX", picture(3, 2, HEIGHT, WIDTH)),
    }
    for stem, (axes, data) in images.items():
        tifffile.imwrite(
            images_dir(lab) / f"{stem}.tif", data, imagej=True, metadata={"axes": axes}
        )
    for stem in ("cells_z", "cells_zc", "cells_tz"):
        mask = drawn(3, HEIGHT, WIDTH)
        tifffile.imwrite(
            lab.masks / f"{stem}_mask.tif", mask, imagej=True, metadata={"axes": "ZYX"}
        )
    tifffile.imwrite(
        lab.masks / "cells_six_mask.tif",
        drawn(6, HEIGHT, WIDTH),
        imagej=True,
        metadata={"axes": "ZYX"},
    )
    tifffile.imwrite(
        lab.masks / "cells_two_mask.tif",
        drawn(3, 2, HEIGHT, WIDTH),
        imagej=True,
        metadata={"axes": "ZCYX"},
    )
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 5
    assert said(row) == {"cells_six_mask.tif": "cells_six_mask.tif: 64×48×6, image 64×48×3"}


def test_an_imagej_time_series_mask_is_compared_with_one_volume(lab, upload, tmp_path):
    """A 2D mask of an ImageJ time series of single slices (TYX, 4 time points) is the mask of
    one of its volumes, as of a NIfTI series; a mask of 4 time points is not a 2D image's."""
    path = images_dir(lab) / "movie.tif"
    tifffile.imwrite(path, picture(4, HEIGHT, WIDTH), imagej=True, metadata={"axes": "TYX"})
    tifffile.imwrite(images_dir(lab) / "still.tif", picture(HEIGHT, WIDTH))
    tifffile.imwrite(lab.masks / "movie_mask.tif", drawn(HEIGHT, WIDTH))
    series = drawn(4, HEIGHT, WIDTH)
    tifffile.imwrite(lab.masks / "still_mask.tif", series, imagej=True, metadata={"axes": "TYX"})
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 2
    assert said(row) == {"still_mask.tif": "still_mask.tif: 64×48×1×4, image 64×48"}


def test_an_imagej_count_that_is_no_number_leaves_a_plain_stack(lab, upload, tmp_path):
    """A description edited by hand or another tool with "slices=²" (a digit to Python, no
    number) is read as a plain 3-page stack: its 3-slice mask passes, a 2D mask is named."""
    description = "ImageJ=1.54f\nimages=3\nslices=²\n".encode(
        "latin-1"
    )  # as a Latin-1 editor saves it
    for stem in ("stack_a", "stack_b"):
        tifffile.imwrite(
            images_dir(lab) / f"{stem}.tif",
            picture(3, HEIGHT, WIDTH),
            photometric="minisblack",
            metadata=None,
            extratags=[(270, "s", 0, description, True)],
        )
    tifffile.imwrite(
        lab.masks / "stack_a_mask.tif", drawn(3, HEIGHT, WIDTH), photometric="minisblack"
    )
    tifffile.imwrite(lab.masks / "stack_b_mask.tif", drawn(HEIGHT, WIDTH))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 2
    assert said(row) == {"stack_b_mask.tif": "stack_b_mask.tif: 64×48, image 64×48×3"}
