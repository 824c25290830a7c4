"""DICOM masks and images (pydicom, with pylibjpeg for JPEG and JPEG-LS pixel data, decoded as
the viewers decode it by `dicom_pixels`): classic objects and enhanced multi-frame ones (a DICOM
SEG), whose geometry sits in functional groups.

A BINARY or FRACTIONAL SEG holds one frame per segment per position, and leaves out the frames
where a segment is not drawn (highdicom does by default): its depth is the number of distinct
positions, and its values are read as a label map, each drawn pixel (a fraction above 0) taking
its segment's number.

Any other object's values are its modality values (RescaleSlope and RescaleIntercept, or a
Modality LUT, applied), as SimpleITK, 3D Slicer and pydicom's `apply_modality_lut` read them: a
CT copied into a mask keeps its intercept of -1024, and its 0/1 reads as -1024/-1023. A SEG's
segments are never rescaled.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from typing import BinaryIO

from segcore.content.formats.dicom_pixels import inflate_frames, pixel_array, refuse_undecodable
from segcore.content.formats.mask_channels import one_per_pixel
from segcore.content.formats.mask_geometry import (
    LABEL_TOLERANCE,
    Geometry,
    MaskValues,
    first_line,
    grid_size,
    values_of,
)
from segcore.content.formats.read_reasons import (
    DICOM_FILE,
    IMAGE_NOUN,
    MALFORMED_VALUE,
    MASK_NOUN,
    NO_FILE_HEADER,
    NO_PIXEL_DATA,
    NO_ROWS_COLUMNS,
    NOT_AN_IMAGE,
    NOT_DICOM,
    TRUNCATED,
    not_readable,
)
from segcore.core.errors import UnreadableUpload

# Projection radiographs, whose spacing ITK (GDCM) reads from ImagerPixelSpacing: CR, DX, MG
# and intra-oral X-ray (for presentation and for processing), XA, RF and the retired XA bi-plane.
IMAGER_SPACING_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.1",
    *(f"1.2.840.10008.5.1.4.1.1.1.{kind}{use}" for kind in (1, 2, 3) for use in ("", ".1")),
    *(f"1.2.840.10008.5.1.4.1.1.12.{kind}" for kind in (1, 2, 3)),
}
POSITION_DECIMALS = 2  # positions closer than 0.01 mm (ORIGIN_TOLERANCE_MM) are one
POSITION_TOLERANCE_MM = 10.0**-POSITION_DECIMALS
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
IMAGE_CLASS_WORDS = ("Image", "Segmentation")  # in the names of SOP classes holding pixels
# The attributes the check reads as numbers, of the object or of its functional groups (group,
# keyword); NumberOfFrames first, which the others' per-frame reading counts on.
WHOLE_NUMBERS = ("NumberOfFrames", "Rows", "Columns", "SamplesPerPixel", "BitsAllocated")
REAL_NUMBERS = (
    ("PixelValueTransformationSequence", "RescaleSlope"),
    ("PixelValueTransformationSequence", "RescaleIntercept"),
)


def _dicom_geometry(ds) -> Geometry:
    import numpy as np

    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spacing = _numbers(_dicom_value(ds, "PixelMeasuresSequence", "PixelSpacing"))
    orientation = _numbers(_dicom_value(ds, "PlaneOrientationSequence", "ImageOrientationPatient"))
    position = _numbers(_dicom_value(ds, "PlanePositionSequence", "ImagePositionPatient"))
    direction, positions, frame_positions, normal = None, None, [], None
    if orientation is not None and len(orientation) == 6:
        row, column = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
        normal = np.cross(row, column)
        direction = np.column_stack([row, column, normal]).flatten()
        frame_positions = [
            _numbers(p) for p in _frame_values(ds, "PlanePositionSequence", "ImagePositionPatient")
        ]
        position = _lowest(frame_positions, normal) or position
        positions = _along(frame_positions, normal)
    depth = len(set(_frame_positions(ds))) if _is_segmentation(ds) else frames
    size = grid_size((int(ds.Columns), int(ds.Rows), depth))
    in_plane = _column_row(spacing)
    if in_plane is not None and len(size) == 3 and not _is_segmentation(ds):
        across = _slice_spacing(ds, positions, normal)
        in_plane = (*in_plane, across) if across else in_plane
    geometry = Geometry(
        size,
        in_plane,
        tuple(float(v) for v in position) if position is not None else None,
        tuple(float(v) for v in direction) if direction is not None else None,
        partial_stack=_is_segmentation(ds),
        positions=positions if positions and (len(positions) > 1 or _is_segmentation(ds)) else None,
    )
    geometry = _with_itk_spacing(ds, geometry)
    if _is_segmentation(ds) or geometry.alternative is not None:
        return geometry
    return _in_stored_order(geometry, frame_positions, normal)


def _slice_spacing(ds, positions, normal) -> float | None:
    """The distance between a multi-frame object's slices, as ITK (GDCM) and every volume
    format state it: the step between its frames' positions along their normal, else between
    an RT Dose's GridFrameOffsetVector, else its SpacingBetweenSlices; None when none says,
    or the steps differ (slices unevenly spaced have no one spacing)."""
    import numpy as np

    offsets = None
    if positions and len(positions) > 1 and normal is not None:
        offsets = [float(np.dot(p, normal)) for p in positions]
    elif ds.get("GridFrameOffsetVector") is not None:
        offsets = sorted(_numbers(ds.get("GridFrameOffsetVector")) or ())
    if offsets and len(offsets) > 1:
        steps = [b - a for a, b in zip(offsets, offsets[1:])]
        tolerance = POSITION_TOLERANCE_MM + 1e-3 * max(steps)
        if min(steps) > 0 and max(steps) - min(steps) <= tolerance:
            return float(sum(steps) / len(steps))
        return None
    between = _numbers(_dicom_value(ds, "PixelMeasuresSequence", "SpacingBetweenSlices"))
    return abs(between[0]) if between and between[0] else None


def _in_stored_order(geometry: Geometry, frame_positions: list, normal) -> Geometry:
    """A multi-frame object whose frames are stored from the highest slice down (a head-to-foot
    acquisition) as ITK (GDCM, so SimpleITK, ITK-SNAP and 3D Slicer, which save their masks on
    it) reads it: its origin is its first frame and its slice axis points down the normal. Its
    lowest slice with the normal (how it reads stored the other way) is the same grid, a
    second frame a mask may be saved in (`Geometry.alternative`)."""
    import numpy as np

    if normal is None or geometry.positions is None or len(geometry.positions) < 2:
        return geometry
    if any(p is None or len(p) != 3 for p in frame_positions):
        return geometry
    along = [float(np.dot(p, normal)) for p in frame_positions]
    if not all(a > b for a, b in zip(along, along[1:])):  # not stored strictly downwards
        return geometry
    direction = list(geometry.direction)
    for index in (2, 5, 8):  # the slice axis: the third column
        direction[index] = -direction[index]
    return replace(
        geometry,
        origin=tuple(float(v) for v in frame_positions[0]),
        direction=tuple(float(v) + 0.0 for v in direction),
        alternative=geometry,
        stored_downward=True,
    )


def _numbers(value) -> tuple[float, ...] | None:
    """A numeric DICOM attribute as a tuple of floats, whatever its multiplicity: pydicom
    gives a value of one number (VM 1, as some converters write a PixelSpacing) as that
    number, not as a list of one. None when missing, empty or not numbers."""
    if value is None or value == "":
        return None
    values = [value] if isinstance(value, (str, bytes, int, float)) else value
    try:
        found = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        return None
    return found or None


def _column_row(spacing) -> tuple[float, float] | None:
    """A DICOM pixel spacing (row spacing first) as (x, y); a single value (VM 1) is both
    axes' (square pixels, as the one number says)."""
    spacing = _numbers(spacing)
    if spacing is None or len(spacing) not in (1, 2):
        return None
    return (spacing[-1], spacing[0])


def _with_itk_spacing(ds, geometry: Geometry) -> Geometry:
    """A projection radiograph (CR, DX, MG, intra-oral, XA, RF) has its spacing as ITK (GDCM)
    reads it, its ImagerPixelSpacing (at the detector; 1×1 without one), and as pydicom
    users read it, its PixelSpacing (calibrated at the patient): a mask fits either
    (`Geometry.alternative`), ITK's first, so a mask SimpleITK or ITK-SNAP saved of it passes
    as one saved by a pydicom pipeline does. One carrying neither has no spacing."""
    if str(ds.get("SOPClassUID", "")) not in IMAGER_SPACING_CLASSES:
        return geometry
    imager = _column_row(ds.get("ImagerPixelSpacing"))
    if imager is None and geometry.spacing is None:
        return geometry
    itk = imager or (1.0, 1.0)
    if geometry.spacing is None or geometry.spacing == itk:
        return replace(geometry, spacing=itk)
    if imager is None:
        return replace(geometry, alternative=replace(geometry, spacing=itk))
    return replace(geometry, spacing=itk, alternative=geometry)


def _along(positions: list, normal) -> tuple[tuple[float, ...], ...] | None:
    """A multi-frame object's distinct frame positions, lowest along its normal first (None
    when a frame has none)."""
    import numpy as np

    if not positions or any(p is None or len(p) != 3 for p in positions):
        return None
    distinct = {tuple(round(float(v), POSITION_DECIMALS) for v in p) for p in positions}
    return tuple(sorted(distinct, key=lambda p: float(np.dot(p, normal))))


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
    positions = [
        _numbers(p) for p in _frame_values(ds, "PlanePositionSequence", "ImagePositionPatient")
    ]
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
    if _is_segmentation(ds):
        segmented = str(getattr(ds, "SegmentationType", "")).upper() in ("BINARY", "FRACTIONAL")
        array = pixel_array(ds)
        return _segment_values(ds, array) if segmented else values_of(array)
    if _short_pixel_data(ds):
        raise UnreadableUpload(not_readable(DICOM_FILE, TRUNCATED))
    if int(getattr(ds, "SamplesPerPixel", 1) or 1) > 1:
        # A colour object (an RGB Secondary Capture), which no modality LUT applies to: one
        # value per pixel by the colour rule every format follows, its samples last.
        return values_of(one_per_pixel(pixel_array(ds)))
    return _modality_values(ds, pixel_array(ds))


def _rescales(ds) -> list[tuple[float, float]]:
    """Each frame's (RescaleSlope, RescaleIntercept): the object's, or an enhanced object's
    from its functional groups; a missing one is 1 or 0, as ITK reads it."""
    group = "PixelValueTransformationSequence"
    slopes = _frame_values(ds, group, "RescaleSlope")
    intercepts = _frame_values(ds, group, "RescaleIntercept")
    return [
        (float(s) if s not in (None, "") else 1.0, float(i) if i not in (None, "") else 0.0)
        for s, i in zip(slopes, intercepts)
    ]


def _modality_values(ds, array) -> MaskValues:
    """A classic or enhanced object's modality values (see the module's docstring)."""
    import numpy as np

    if ds.get("ModalityLUTSequence"):
        from pydicom.pixels import apply_modality_lut

        return values_of(apply_modality_lut(array, ds))
    rescales = _rescales(ds)
    if len(set(rescales)) == 1:
        return _rescaled(array, *rescales[0])
    frames = np.asarray(array).reshape((len(rescales), -1))
    parts = [_rescaled(frame, *rescale) for frame, rescale in zip(frames, rescales)]
    labels = sorted(set().union(*(part.labels for part in parts)))
    return MaskValues(sum(part.nonzero for part in parts), labels)


def _rescaled(array, slope: float, intercept: float) -> MaskValues:
    """The values of `array` * slope + intercept, as pydicom computes them (in float64), found
    from the stored values without making a float copy of a whole volume."""
    import numpy as np

    array = np.asarray(array)
    if (slope, intercept) == (1.0, 0.0):
        return values_of(array)
    if array.dtype.kind not in "biu" or slope == 0:
        return values_of(array * slope + intercept)
    stored = values_of(array)
    # the stored values read as 0 or within LABEL_TOLERANCE of it: background
    low, high = sorted(
        ((-LABEL_TOLERANCE - intercept) / slope, (LABEL_TOLERANCE - intercept) / slope)
    )
    background = int(np.count_nonzero((array >= low) & (array <= high)))
    labels = sorted(value * slope + intercept for value in stored.labels)
    return MaskValues(array.size - background, labels)


def _short_pixel_data(ds) -> bool:
    """Native (uncompressed) pixel data shorter than its rows, columns, frames and bits say:
    a cut file, said in words rather than in pydicom's. YBR_FULL_422 stores two Y values and
    one Cb and one Cr for each two pixels: two values a pixel, not three (PS3.3 C.7.6.3.1.2)."""
    meta = getattr(ds, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if "PixelData" not in ds or syntax is None or syntax.is_compressed:
        return False
    samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    if samples == 3 and str(ds.get("PhotometricInterpretation", "")) == "YBR_FULL_422":
        samples = 2
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    bits = int(ds.Rows) * int(ds.Columns) * frames * samples * int(ds.BitsAllocated)
    return len(ds.PixelData) < math.ceil(bits / 8)


def _what_it_is(ds) -> str | None:
    """The name of the object a DICOM file holds when it is no image (an RT Structure Set, an
    RT Plan, a structured report): its SOP class's, without "Storage"; None for an image's class
    or a class pydicom does not know. A DICOMDIR names its class in its file meta only."""
    uid = ds.get("SOPClassUID") or getattr(ds.get("file_meta"), "MediaStorageSOPClassUID", None)
    name = str(getattr(uid, "name", "")) if uid else ""
    if not name or name == str(uid) or any(word in name for word in IMAGE_CLASS_WORDS):
        return None
    return name.removesuffix(" Storage")


def _malformed(ds) -> UnreadableUpload | None:
    """Why a DICOM object is not read when a number the check reads is none (an IS of '1A', as
    pydicom's badVR.dcm holds for its Number of Frames; pydicom keeps such a value as text),
    named by the standard's name for it; None when every one is a number or missing."""
    from pydicom.datadict import dictionary_description

    found = [(k, getattr(ds, k, None), int) for k in WHOLE_NUMBERS]
    if all(_is_number(value, int) for _, value, _ in found):
        found = [(k, v, float) for g, k in REAL_NUMBERS for v in _frame_values(ds, g, k)]
    for keyword, value, kind in found:
        if not _is_number(value, kind):
            text = str(value)[:40]
            return UnreadableUpload(
                not_readable(
                    DICOM_FILE,
                    MALFORMED_VALUE.format(attribute=dictionary_description(keyword), value=text),
                )
            )
    return None


def _is_number(value, kind) -> bool:
    """True for a missing value or one `kind` (int or float) reads."""
    if value is None or value == "":
        return True
    try:
        kind(value)
    except (TypeError, ValueError):
        return False
    return True


def _not_an_image(ds, noun: str, missing: str = NO_PIXEL_DATA) -> UnreadableUpload:
    """Why a DICOM file without pixel data (or without rows and columns) is read as nothing:
    its SOP class when that is no image's, else what it lacks (`missing`)."""
    what = _what_it_is(ds)
    if what:
        return UnreadableUpload(NOT_AN_IMAGE.format(what=what, noun=noun))
    return UnreadableUpload(not_readable(DICOM_FILE, missing))


def _without_header(source, noun: str) -> UnreadableUpload:
    """Why a file pydicom refuses for want of the 'DICM' file header is not read: read once
    more, forced, it may be a dataset saved without that header (what older tools and
    pydicom's `enforce_file_format=False` write, pydicom's own rtstruct.dcm), or no DICOM at
    all. Unreadable either way, as pydicom reads it; the reason says which."""
    import pydicom

    if hasattr(source, "seek"):
        source.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a forced read of other bytes warns on each tag
            ds = pydicom.dcmread(source, force=True, stop_before_pixels=True)
        what, dataset = _what_it_is(ds), "SOPClassUID" in ds or "Rows" in ds
    except Exception:  # noqa: BLE001 - bytes that are no dataset at all raise anything
        what, dataset = None, False
    if what:
        return UnreadableUpload(NOT_AN_IMAGE.format(what=what, noun=noun))
    return UnreadableUpload(not_readable(DICOM_FILE, NO_FILE_HEADER if dataset else NOT_DICOM))


def _read(source, noun: str, stop_before_pixels: bool = False):
    import pydicom

    try:
        return pydicom.dcmread(source, stop_before_pixels=stop_before_pixels)
    except pydicom.errors.InvalidDicomError:
        raise _without_header(source, noun) from None


def dicom_header(path) -> Geometry:
    try:
        ds = _read(path, IMAGE_NOUN, stop_before_pixels=True)
        if "Rows" not in ds or "Columns" not in ds:
            raise _not_an_image(ds, IMAGE_NOUN)
        malformed = _malformed(ds)
        if malformed:
            raise malformed
        return _dicom_geometry(ds)
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise UnreadableUpload(not_readable(DICOM_FILE, first_line(exc))) from None


def dicom_values(stream: BinaryIO, max_voxels: int) -> tuple[Geometry, MaskValues | None]:
    try:
        ds = _read(stream, MASK_NOUN)
        if not any(keyword in ds for keyword in PIXEL_KEYWORDS):
            raise _not_an_image(ds, MASK_NOUN)
        if "Rows" not in ds or "Columns" not in ds:  # pydicom's meta_missing_tsyntax.dcm
            raise _not_an_image(ds, MASK_NOUN, NO_ROWS_COLUMNS)
        malformed = _malformed(ds)
        if malformed:
            raise malformed
        geometry = _dicom_geometry(ds)
        if geometry.voxels > max_voxels:
            return geometry, None
        refuse_undecodable(ds)
        inflate_frames(ds)
        return geometry, _values(ds)
    except (
        OSError,
        ValueError,
        AttributeError,
        TypeError,
        KeyError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        raise UnreadableUpload(not_readable(DICOM_FILE, first_line(exc))) from None
