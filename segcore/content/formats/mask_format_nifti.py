"""NIfTI masks and images (nibabel), read as the NIfTI-1 or NIfTI-2 their first bytes say: the
grid in mm in the LPS frame (its RAS and units converted), a file whose qform and sform differ
in both frames it states.

Compressed or not as its first bytes say, as ITK (SimpleITK, ITK-SNAP, 3D Slicer) reads it: a
`.nii.gz` saved without compression is read as the NIfTI it is. A `.nii` holding gzip data is
opened by none of them (nor by `nibabel.load`): unreadable, said in words.
"""

from __future__ import annotations

import gzip
import io
import math
from dataclasses import replace
from typing import BinaryIO

from segcore.content.formats.mask_channels import nifti_channels, nifti_voxel_values
from segcore.content.formats.mask_geometry import (
    Geometry,
    MaskValues,
    Rejoined,
    first_line,
    from_ras_affine,
    grid_size,
    make_geometry,
    read_at_most,
    refuse_odd_values,
)
from segcore.content.formats.read_reasons import GZIPPED_NII, NIFTI_FILE, not_readable
from segcore.core.errors import UnreadableUpload


def _nifti_class(head: bytes):
    import nibabel

    if len(head) >= 4 and int.from_bytes(head[:4], "little") in (540, 0x1C020000):
        return nibabel.Nifti2Image
    return nibabel.Nifti1Image


# NIfTI's spatial units (xyzt_units) in mm, the unit every other format (and ITK) uses;
# "unknown" is taken as mm, as ITK and nibabel's users do.
MM_PER_NIFTI_UNIT = {"meter": 1000.0, "mm": 1.0, "micron": 0.001}


def _nifti_geometry(header) -> Geometry:
    """The grid, in mm whatever unit the header names (ITK writes a mask of an image in microns
    in mm). A 4th (or later) dimension of more than one slice is part of its size (a mask of 3
    volumes is not the mask of one), a 5th of channels is not. A file whose qform and sform
    codes are both 0 says nothing of its position: nibabel's made-up affine is not compared,
    only size and spacing. One whose qform and sform are both set and differ (what FSL and
    ANTs registrations leave) is placed by its sform, as nibabel reads it, and by its qform,
    as ITK-based tools (ITK-SNAP, 3D Slicer, SimpleITK) read it and write their masks: both
    are its grid (`Geometry.alternative`)."""
    import numpy as np

    shape = header.get_data_shape()
    shape = shape[:4] if nifti_channels(header) else shape
    mm = MM_PER_NIFTI_UNIT.get(header.get_xyzt_units()[0], 1.0)
    zooms = [float(zoom) * mm for zoom in header.get_zooms()[:3]]
    qform_code, sform_code = int(header["qform_code"]), int(header["sform_code"])
    if qform_code == 0 and sform_code == 0:
        return make_geometry(shape, zooms)
    geometry = _nifti_frame(shape, zooms, header.get_best_affine(), mm)
    qform = header.get_qform()
    if qform_code and sform_code and not np.allclose(qform, header.get_sform()):
        return replace(geometry, alternative=_nifti_frame(shape, zooms, qform, mm))
    return geometry


def _nifti_frame(shape, zooms, affine, mm: float) -> Geometry:
    affine = affine.copy()
    affine[:3] *= mm
    geometry = from_ras_affine(shape[:3], zooms, affine)
    return Geometry(grid_size(shape), geometry.spacing, geometry.origin, geometry.direction)


GZIP_MAGIC = b"\x1f\x8b"
HEADER_BYTES = 544  # a NIfTI-2 header's fixed part (a NIfTI-1's is 348)


def _opened(stream, named_gzip: bool):
    """The NIfTI bytes of `stream`, gunzipped when its first bytes are gzip's (whatever its
    name says); raises UnreadableUpload for gzip data named `.nii` (`named_gzip` False)."""
    magic = stream.read(2)
    rejoined = Rejoined(magic, stream)
    if magic != GZIP_MAGIC:
        return rejoined
    if not named_gzip:
        raise UnreadableUpload(not_readable(NIFTI_FILE, GZIPPED_NII))
    return gzip.GzipFile(fileobj=rejoined)


def _header(head: bytes):
    """The image class and the fixed header (not its extensions) of a NIfTI's first bytes."""
    image_class = _nifti_class(head)
    size = image_class.header_class.sizeof_hdr
    return image_class, image_class.header_class.from_fileobj(io.BytesIO(head[:size]))


def nifti_header(path: str) -> Geometry:
    """A NIfTI image's grid from its header, read as the NIfTI-1 or NIfTI-2 its first bytes
    say, as a mask is: a CIFTI-2 file (HCP's `.dconn.nii`, `.dscalar.nii`), which
    `nibabel.load` opens as a Cifti2Image of another header, is the NIfTI-2 it is; compressed
    or not as its first bytes say (see the module's docstring). Values are never read."""
    import nibabel

    try:
        with open(path, "rb") as handle:
            head = _opened(handle, path.lower().endswith(".gz")).read(HEADER_BYTES)
        return _nifti_geometry(_header(head)[1])
    except _nifti_errors(nibabel) as exc:
        raise UnreadableUpload(not_readable(NIFTI_FILE, first_line(exc))) from None


def _nifti_errors(nibabel) -> tuple[type[Exception], ...]:
    """What nibabel raises on a damaged or cut NIfTI file (nibabel is imported when needed)."""
    return (
        OSError,
        ValueError,
        EOFError,
        nibabel.filebasedimages.ImageFileError,
        nibabel.spatialimages.HeaderDataError,
    )


def nifti_values(
    stream: BinaryIO, named_gzip: bool, max_voxels: int, limit: int
) -> tuple[Geometry, MaskValues | None]:
    """A NIfTI mask from a stream: its header from the first bytes, then (within `max_voxels`
    and `limit` decompressed bytes) its values; gunzipped when its first bytes are gzip's
    (`named_gzip`: the name is a `.nii.gz`, see the module's docstring)."""
    import nibabel
    import numpy as np

    try:
        source = _opened(stream, named_gzip)
        head = source.read(HEADER_BYTES)
        image_class, header = _header(head)
        geometry = _nifti_geometry(header)
        if not header.get_data_dtype().names:  # RGB24 / RGBA32 fields: the colour rule's
            refuse_odd_values(header.get_data_dtype())  # as a NumPy mask's, from the header
        if math.prod(header.get_data_shape() or (0,)) > max_voxels:
            return geometry, None
        data = head + read_at_most(source, max(0, limit - len(head)))
        image = image_class.from_bytes(data)
        return geometry, nifti_voxel_values(header, np.asanyarray(image.dataobj))
    except _nifti_errors(nibabel) as exc:
        raise UnreadableUpload(not_readable(NIFTI_FILE, first_line(exc))) from None
