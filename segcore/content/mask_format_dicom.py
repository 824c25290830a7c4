"""DICOM masks and images (pydicom, with pylibjpeg for JPEG and JPEG-LS pixel data): classic
objects and enhanced multi-frame ones (a DICOM SEG), whose geometry sits in functional groups."""

from __future__ import annotations

from typing import BinaryIO

from segcore.content.mask_geometry import Geometry, MaskValues, first_line, grid_size, values_of
from segcore.core.errors import UnreadableUpload


def _dicom_geometry(ds) -> Geometry:
    import numpy as np

    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    size = (int(ds.Columns), int(ds.Rows), frames)
    spacing = _dicom_value(ds, "PixelMeasuresSequence", "PixelSpacing")
    orientation = _dicom_value(ds, "PlaneOrientationSequence", "ImageOrientationPatient")
    position = _dicom_value(ds, "PlanePositionSequence", "ImagePositionPatient")
    direction = None
    if orientation is not None and len(orientation) == 6:
        row, column = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
        direction = np.column_stack([row, column, np.cross(row, column)]).flatten()
    return Geometry(
        grid_size(size),
        (float(spacing[1]), float(spacing[0])) if spacing is not None else None,
        tuple(float(v) for v in position) if position is not None else None,
        tuple(float(v) for v in direction) if direction is not None else None,
    )


def _dicom_value(ds, group: str, keyword: str):
    """A geometry attribute of a classic object, or of an enhanced multi-frame one (a DICOM
    SEG) from its shared functional groups, else its first frame's."""
    found = getattr(ds, keyword, None)
    for sequence in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        if found is not None:
            break
        groups = getattr(ds, sequence, None) or ()
        items = getattr(groups[0], group, None) or () if groups else ()
        found = getattr(items[0], keyword, None) if items else None
    return found


def dicom_header(path) -> Geometry:
    import pydicom

    try:
        return _dicom_geometry(pydicom.dcmread(path, stop_before_pixels=True))
    except (
        OSError,
        ValueError,
        AttributeError,
        TypeError,
        pydicom.errors.InvalidDicomError,
    ) as exc:
        raise UnreadableUpload(f"not a readable DICOM file ({first_line(exc)})") from None


def dicom_values(stream: BinaryIO, max_voxels: int) -> tuple[Geometry, MaskValues | None]:
    import pydicom

    try:
        ds = pydicom.dcmread(stream)
        geometry = _dicom_geometry(ds)
        if geometry.voxels > max_voxels:
            return geometry, None
        return geometry, values_of(ds.pixel_array)
    except (
        OSError,
        ValueError,
        AttributeError,
        TypeError,
        KeyError,
        RuntimeError,
        NotImplementedError,
        pydicom.errors.InvalidDicomError,
    ) as exc:
        raise UnreadableUpload(f"not a readable DICOM file ({first_line(exc)})") from None
