"""DICOM masks and images (pydicom, with pylibjpeg for JPEG and JPEG-LS pixel data): classic
objects and enhanced multi-frame ones (a DICOM SEG), whose geometry sits in functional groups.

A BINARY or FRACTIONAL SEG holds one frame per segment per position, and leaves out the frames
where a segment is not drawn (highdicom does by default): its depth is the number of distinct
positions, and its values are read as a label map, each drawn pixel (a fraction above 0) taking
its segment's number.
"""

from __future__ import annotations

from typing import BinaryIO

from segcore.content.mask_geometry import Geometry, MaskValues, first_line, grid_size, values_of
from segcore.core.errors import UnreadableUpload

POSITION_DECIMALS = 2  # positions closer than 0.01 mm (ORIGIN_TOLERANCE_MM) are one


def _dicom_geometry(ds) -> Geometry:
    import numpy as np

    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spacing = _dicom_value(ds, "PixelMeasuresSequence", "PixelSpacing")
    orientation = _dicom_value(ds, "PlaneOrientationSequence", "ImageOrientationPatient")
    position = _dicom_value(ds, "PlanePositionSequence", "ImagePositionPatient")
    direction = None
    if orientation is not None and len(orientation) == 6:
        row, column = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
        normal = np.cross(row, column)
        direction = np.column_stack([row, column, normal]).flatten()
        position = (
            _lowest(_frame_values(ds, "PlanePositionSequence", "ImagePositionPatient"), normal)
            or position
        )
    depth = len(set(_frame_positions(ds))) if _is_segmentation(ds) else frames
    return Geometry(
        grid_size((int(ds.Columns), int(ds.Rows), depth)),
        (float(spacing[1]), float(spacing[0])) if spacing is not None else None,
        tuple(float(v) for v in position) if position is not None else None,
        tuple(float(v) for v in direction) if direction is not None else None,
        partial_stack=_is_segmentation(ds),
    )


def _lowest(positions: list, normal) -> list | None:
    """Of a multi-frame object's frame positions, the first along its slices' normal (the
    origin its direction describes, whatever order the frames are stored in); None when a frame
    has none."""
    import numpy as np

    if len(positions) < 2 or any(p is None or len(p) != 3 for p in positions):
        return None
    return min(positions, key=lambda p: float(np.dot(np.asarray(p, float), normal)))


def _item_value(item, group: str, keyword: str):
    items = getattr(item, group, None) or () if item is not None else ()
    return getattr(items[0], keyword, None) if items else None


def _dicom_value(ds, group: str, keyword: str):
    """A geometry attribute of a classic object, or of an enhanced multi-frame one (a DICOM
    SEG) from its shared functional groups, else its first frame's."""
    found = getattr(ds, keyword, None)
    for sequence in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        if found is not None:
            break
        groups = getattr(ds, sequence, None) or ()
        found = _item_value(groups[0], group, keyword) if groups else None
    return found


def _frame_values(ds, group: str, keyword: str) -> list:
    """Each frame's value of a functional-group attribute: its own, else the shared one, else
    the object's (None when none says)."""
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    shared_groups = getattr(ds, "SharedFunctionalGroupsSequence", None) or ()
    shared = _item_value(shared_groups[0], group, keyword) if shared_groups else None
    if shared is None:
        shared = getattr(ds, keyword, None)
    per_frame = getattr(ds, "PerFrameFunctionalGroupsSequence", None) or ()
    values = []
    for index in range(frames):
        own = _item_value(per_frame[index], group, keyword) if index < len(per_frame) else None
        values.append(own if own is not None else shared)
    return values


def _is_segmentation(ds) -> bool:
    """A DICOM SEG (its frames are segments at positions), BINARY, FRACTIONAL or LABELMAP."""
    return "SegmentSequence" in ds


def _frame_segments(ds) -> list[int]:
    """Each frame's segment number (a LABELMAP's frames hold every segment: 0)."""
    if str(getattr(ds, "SegmentationType", "")).upper() == "LABELMAP":
        return [0] * int(getattr(ds, "NumberOfFrames", 1) or 1)
    found = _frame_values(ds, "SegmentIdentificationSequence", "ReferencedSegmentNumber")
    return [int(v) if v is not None else 1 for v in found]


def _frame_positions(ds) -> list:
    """Each frame's position, as a key: its ImagePositionPatient when every frame has one,
    else its rank among its segment's frames (the frames of each segment in stacking order)."""
    positions = _frame_values(ds, "PlanePositionSequence", "ImagePositionPatient")
    if all(p is not None and len(p) == 3 for p in positions):
        return [tuple(round(float(v), POSITION_DECIMALS) for v in p) for p in positions]
    seen: dict[int, int] = {}
    keys = []
    for segment in _frame_segments(ds):
        keys.append(seen.get(segment, 0))
        seen[segment] = keys[-1] + 1
    return keys


def _segment_values(ds, array) -> MaskValues:
    """A BINARY or FRACTIONAL SEG's values as a label map: a drawn pixel (1, or a fraction
    above 0) is its segment's number, a pixel no segment draws is 0; pixels drawn by two
    segments count once."""
    import numpy as np

    frames = np.asarray(array).reshape((-1, int(ds.Rows), int(ds.Columns)))
    positions = _frame_positions(ds)
    drawn: dict = {}
    labels: set[float] = set()
    for frame, segment, position in zip(frames, _frame_segments(ds), positions):
        on = frame != 0
        if on.any():
            labels.add(float(segment))
            drawn[position] = drawn[position] | on if position in drawn else on
    nonzero = sum(int(np.count_nonzero(on)) for on in drawn.values())
    background = nonzero < len(set(positions)) * frames.shape[1] * frames.shape[2]
    return MaskValues(nonzero, [0.0] * background + sorted(labels))


def _values(ds) -> MaskValues:
    segmented = str(getattr(ds, "SegmentationType", "")).upper() in ("BINARY", "FRACTIONAL")
    if _is_segmentation(ds) and segmented:
        return _segment_values(ds, ds.pixel_array)
    return values_of(ds.pixel_array)


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
        return geometry, _values(ds)
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
