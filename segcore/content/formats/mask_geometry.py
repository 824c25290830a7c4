"""What a mask or an image is made of: its grid (size, spacing, origin, direction) and values.

The formats themselves are read in `segcore.content.formats.mask_formats`; this module holds what they return.
Sizes are (width, height[, depth]) with trailing single slices dropped; positions are in the
LPS patient frame DICOM and ITK use (NIfTI's RAS is turned into it), so any two volumes compare.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import BinaryIO

from segcore.content.formats.read_reasons import ODD_VALUES
from segcore.core.errors import UnreadableUpload, shortened

LPS_FROM_RAS = (-1.0, -1.0, 1.0)
READ_PIECE = 1 << 20
# A float mask's 1.0000000591 (uint8 255 × scl_slope 1/255) is label 1, and its 1e-7 (what a
# resampling leaves around 0) is 0: background, not drawn.
LABEL_TOLERANCE = 1e-4
LABEL_KINDS = "biuf"  # booleans, integers, floats: what a label mask holds


@dataclass(frozen=True)
class Geometry:
    """A grid: `size` always; spacing, origin and direction (row-major 3×3) for volumes.

    `partial_stack`: a DICOM SEG, which leaves out the positions where no segment is drawn, so
    it may hold fewer slices than its image, starting at another one."""

    size: tuple[int, ...]
    spacing: tuple[float, ...] | None = None
    origin: tuple[float, ...] | None = None
    direction: tuple[float, ...] | None = None
    partial_stack: bool = False
    # The same grid in a second frame it states: a NIfTI whose qform and sform differ (see
    # mask_format_nifti._nifti_geometry); compared as well, never shown.
    alternative: "Geometry | None" = None
    # A NumPy mask's shape as saved: an array says nothing of its axis order, so it is sized
    # in the order the reader of the image it is compared with lays out its array (`in_order_of`)
    array_shape: tuple[int, ...] | None = None
    # An image's: how its format's reader lays out its array (one of ARRAY_ORDERS)
    array_order: str | None = None
    # A multi-frame DICOM object's distinct frame positions (LPS, mm), lowest along its normal
    # first: a SEG's drawn slices are each placed on one of its image's (mask_content)
    positions: tuple[tuple[float, ...], ...] | None = None
    # A multi-frame DICOM object stored from its highest slice down, read as ITK reads it (its
    # first frame the origin, its slice axis down the normal); `alternative` is its lowest
    # slice with the normal, the frame a DICOM SEG is placed in
    stored_downward: bool = False
    # A detached header's (`.mhd`, `.nhdr`) data file, as it names it (relative to its folder)
    data_file: str | None = None

    @property
    def voxels(self) -> int:
        return math.prod(self.size) if self.size else 0


@dataclass
class MaskValues:
    """What a check needs of a mask's values: how many are non-zero, and which occur.

    `one_bit`: a 1-bit image (Pillow's mode "1"), whose values are off and on (read as 0 and 1)."""

    nonzero: int
    labels: list[float]
    one_bit: bool = False


# How a reader lays out an image's array against its size (width, height[, depth]):
# nibabel and pynrrd as the size (x, y, z); Pillow (a stack of pages as tifffile reads it),
# SimpleITK's GetArrayFromImage and pydicom's pixel_array reversed ([z,] y, x); rows first
# (y, x[, ...]) as an array of unknown order was always read.
AS_SIZE, REVERSED, ROWS_FIRST = "as size", "reversed", "rows first"
ARRAY_ORDERS = (AS_SIZE, REVERSED, ROWS_FIRST)
READER_ORDER = {  # by mask_formats' format kind: how its reader lays out an image's array
    "planar": REVERSED,
    "nifti": AS_SIZE,
    "mgh": AS_SIZE,
    "nrrd": AS_SIZE,
    "metaimage": REVERSED,
    "numpy": ROWS_FIRST,  # as a .npy image was always read
    "dicom": REVERSED,
}


def size_of_array(shape, order: str = ROWS_FIRST) -> tuple[int, ...]:
    """The grid size of an array of `shape` laid out in `order` (ARRAY_ORDERS); its trailing
    single axes (nibabel's (X,Y,Z,1), a picture's (H,W,1)) dropped first."""
    shape = [int(n) for n in shape]
    while len(shape) > 2 and shape[-1] == 1:
        shape.pop()
    if order == AS_SIZE:
        return grid_size(shape)
    if order == REVERSED:
        return grid_size(shape[::-1])
    return grid_size([shape[1], shape[0], *shape[2:]] if len(shape) >= 2 else shape)


def in_order_of(mask: "Geometry", image: "Geometry") -> "Geometry":
    """`mask` sized as `image`'s reader would give its array: a `.npy` mask saved from
    nibabel's array of a NIfTI image is (x, y, z), from Pillow's of a PNG (rows, columns).
    Any other mask as it is."""
    if mask.array_shape is None:
        return mask
    order = image.array_order if image.array_order in ARRAY_ORDERS else ROWS_FIRST
    return replace(mask, size=size_of_array(mask.array_shape, order))


def grid_size(shape) -> tuple[int, ...]:
    size = [int(n) for n in shape]
    while len(size) > 2 and size[-1] == 1:
        size.pop()
    return tuple(size)


def make_geometry(shape, spacing=None, origin=None, direction=None) -> Geometry:
    size = grid_size(shape)
    dims = len(size)
    return Geometry(
        size,
        tuple(float(v) for v in spacing[:dims]) if spacing is not None else None,
        tuple(float(v) for v in origin[:3]) if origin is not None else None,
        tuple(float(v) for v in direction) if direction is not None else None,
    )


def from_ras_affine(shape, zooms, affine) -> Geometry:
    """A grid from a NIfTI or NRRD affine given in RAS (converted to LPS)."""
    import numpy as np

    affine = np.asarray(affine, dtype=float)
    matrix = affine[:3, :3] * np.asarray(LPS_FROM_RAS)[:, None]
    norms = np.linalg.norm(matrix, axis=0)
    direction = matrix / np.where(norms == 0, 1, norms)
    origin = affine[:3, 3] * np.asarray(LPS_FROM_RAS)
    spacing = list(zooms) if zooms is not None else list(norms)
    return make_geometry(shape, spacing, origin, direction.flatten())


def drawn(array):
    """Where an array is drawn: not 0, nor (a float) within LABEL_TOLERANCE of 0; NaN is not."""
    import numpy as np

    array = np.asarray(array)
    if array.dtype.kind == "c":
        return abs(array) > LABEL_TOLERANCE
    if array.dtype.kind == "f":  # two comparisons: no float copy of a large volume (abs)
        return (array > LABEL_TOLERANCE) | (array < -LABEL_TOLERANCE)
    return array != 0


def refuse_odd_values(dtype) -> None:
    """Raise UnreadableUpload (ODD_VALUES) for values no label mask holds, whatever format
    stores them: complex (a NumPy array, a NIfTI of DT_COMPLEX64 as MR phase data is saved),
    text, records."""
    if dtype.kind not in LABEL_KINDS:
        raise UnreadableUpload(ODD_VALUES.format(dtype=dtype.name))


def values_of(array) -> MaskValues:
    """Drawn count (see `drawn`) and distinct values of an array (one mask's values, already in
    memory); raises UnreadableUpload for values no mask holds (`refuse_odd_values`)."""
    import numpy as np

    array = np.asarray(array)
    refuse_odd_values(array.dtype)
    if array.dtype.kind in "fc":
        missing = np.isnan(array)
        if missing.any():  # NaN is no label, nor background: named as a value of its own
            found = values_of(array[~missing])
            return MaskValues(found.nonzero, [*found.labels, float("nan")])
    if array.dtype.kind in "biu" and array.size:
        low, high = int(array.min()), int(array.max())
        if high - low <= 64:
            # Labels are a handful of small integers: one vectorised pass per possible value
            # costs far less than sorting a large volume (np.unique) or widening it (bincount).
            labels = [
                float(v) for v in range(low, high + 1) if v in (low, high) or (array == v).any()
            ]
            return MaskValues(int(np.count_nonzero(array)), labels)
    labels = np.unique(array)
    if labels.size > 1000:  # a photograph, not labels: the first ones are enough to say so
        labels = labels[:1000]
    return MaskValues(int(np.count_nonzero(drawn(array))), [float(v) for v in labels.tolist()])


class OverLimit(UnreadableUpload):
    """A mask decompresses to more than the bytes left in the upload's budget."""


def read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """The rest of `stream`, in pieces (a huge `read(n)` would allocate n bytes at once)."""
    expected = getattr(stream, "size_hint", None)
    if expected is not None and expected <= limit:  # the archive says how long: one read
        data = stream.read(expected)
        if not stream.read(1):
            return data
        raise OverLimit("over the budget")
    pieces, size = [], 0
    while True:
        piece = stream.read(min(READ_PIECE, limit + 1 - size))
        if not piece:
            return b"".join(pieces)
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            raise OverLimit("over the budget")


class Rejoined:
    """A stream with the bytes already read from it (`head`) put back in front."""

    def __init__(self, head: bytes, stream) -> None:
        self.head, self.stream = head, stream

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data, self.head = self.head + self.stream.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        return data + (self.stream.read(size - len(data)) if len(data) < size else b"")


_OBJECT_REPR = re.compile(r"\s*<[^<>]* (?:object )?at 0x[0-9a-fA-F]+>")


def first_line(exc: BaseException) -> str:
    """A library's reason on one line, without the Python objects it names (Pillow's "cannot
    identify image file <_io.BytesIO object at 0x7f...>" is no help to anyone). A first line
    that ends in a colon introduces the reasons on the lines after it (pydicom's "raised by all
    available plugins:" then one line per plugin): they are kept, joined by semicolons."""
    lines = [line.strip() for line in _OBJECT_REPR.sub("", str(exc)).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    if lines[0].endswith(":") and len(lines) > 1:
        return shortened(f"{lines[0]} {'; '.join(lines[1:])}", 400)
    return shortened(lines[0], 120)
