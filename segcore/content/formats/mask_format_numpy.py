"""NumPy masks and images (`.npy`, an `.npz` of one array), never unpickled: an array says
nothing of its spacing, position or axis order (mask_geometry.in_order_of sizes a mask in the
order its image's reader lays out its array)."""

from __future__ import annotations

from dataclasses import replace
from typing import BinaryIO

from segcore.content.formats.mask_geometry import (
    Geometry,
    MaskValues,
    make_geometry,
    refuse_odd_values,
    size_of_array,
    values_of,
)
from segcore.content.formats.read_reasons import (
    NO_DIMENSIONS,
    NO_DIMENSIONS_IMAGE,
    NPZ_IMAGES,
    NPZ_MASKS,
)
from segcore.core.errors import UnreadableUpload


def numpy_values(source: BinaryIO, max_voxels: int) -> tuple[Geometry, MaskValues | None]:
    """A `.npy` array, or the single array of a `.npz` (never unpickled). No spacing, position
    or axis order: its shape (`array_shape`) is compared in the order of its image's reader
    (mask_geometry.in_order_of), else shown rows first."""
    import numpy as np

    data = np.load(source, allow_pickle=False, mmap_mode=None)
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            if len(data.files) != 1:
                raise UnreadableUpload(NPZ_MASKS.format(count=len(data.files)))
            array = data[data.files[0]]
    else:
        array = data
    _refuse_odd(array.shape, array.dtype)
    geometry = replace(make_geometry(size_of_array(array.shape)), array_shape=array.shape)
    if geometry.voxels > max_voxels:
        return geometry, None
    return geometry, values_of(array)


def numpy_header(path: str) -> Geometry:
    """An image's grid from a `.npy` header (or the single array's of a `.npz`): its values
    are never read."""
    import zipfile

    import numpy as np

    def shape_of(handle) -> tuple:
        version = np.lib.format.read_magic(handle)
        read = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        return read(handle)[0]

    if path.lower().endswith(".npz"):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".npy")]
            if len(names) != 1:
                raise UnreadableUpload(NPZ_IMAGES.format(count=len(names)))
            with archive.open(names[0]) as handle:
                shape = shape_of(handle)
    else:
        with open(path, "rb") as handle:
            shape = shape_of(handle)
    if not shape:
        raise UnreadableUpload(NO_DIMENSIONS_IMAGE)
    return make_geometry(size_of_array(shape))


def _refuse_odd(shape: tuple, dtype) -> None:
    """A saved array that is no label mask, said in words: one of no dimensions (a number,
    `np.array(3)`), or of values no mask holds (complex, text, records)."""
    if not shape:
        raise UnreadableUpload(NO_DIMENSIONS)
    refuse_odd_values(dtype)
