"""DICOM SEG objects and enhanced multi-frame images built with pydicom alone, on the grid of
pydicom's MR_small.dcm (one 64×64 slice), laid out as highdicom writes them: spacing and
orientation in the shared functional groups, each frame's position and segment in its own, one
frame per segment per position, the frames where a segment is not drawn left out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import pack_bits
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
ENHANCED_MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4.1"
GRID = ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness")


def source() -> pydicom.Dataset:
    return pydicom.dcmread(get_testdata_file("MR_small.dcm"))


def slice_position(index: int, step: float = 5.0) -> list[float]:
    """MR_small's position moved `index` slices along its normal (its orientation is axial)."""
    x, y, z = (float(v) for v in source().ImagePositionPatient)
    return [x, y, z + index * step]


def _multi_frame(sop_class: str, positions: list, extra: list[Dataset] | None = None):
    """MR_small as an enhanced multi-frame object: its grid in functional groups, one frame
    per entry of `positions` (with the matching `extra` per-frame items)."""
    ds = source()
    orientation, measures = Dataset(), Dataset()
    orientation.ImageOrientationPatient = ds.ImageOrientationPatient
    measures.PixelSpacing = ds.PixelSpacing
    measures.SliceThickness = ds.SliceThickness
    for keyword in GRID:
        delattr(ds, keyword)
    shared = Dataset()
    shared.PlaneOrientationSequence = Sequence([orientation])
    shared.PixelMeasuresSequence = Sequence([measures])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for index, position in enumerate(positions):
        frame, plane = (extra[index] if extra else Dataset()), Dataset()
        plane.ImagePositionPatient = [f"{v:.4f}" for v in position]
        frame.PlanePositionSequence = Sequence([plane])
        frames.append(frame)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.NumberOfFrames = len(positions)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def enhanced_image(target: Path, positions: list) -> None:
    """An enhanced MR image of one 64×64 frame per position (MR_small's pixels repeated)."""
    ds = _multi_frame(ENHANCED_MR_STORAGE, positions)
    ds.PixelData = ds.PixelData * len(positions)
    ds.save_as(target, enforce_file_format=True)


def seg(target: Path, frames: list, segments: int, kind: str = "BINARY") -> None:
    """A SEG of `segments` segments; `frames`: (segment number, position, 64×64 array) in the
    order written (BINARY: 0/1, packed one bit per pixel; FRACTIONAL: 0 to 255)."""
    extra = []
    for number, _, _ in frames:
        frame, identification = Dataset(), Dataset()
        identification.ReferencedSegmentNumber = number
        frame.SegmentIdentificationSequence = Sequence([identification])
        extra.append(frame)
    ds = _multi_frame(SEG_STORAGE, [position for _, position, _ in frames], extra)
    ds.Modality, ds.SegmentationType = "SEG", kind
    items = []
    for number in range(1, segments + 1):
        item = Dataset()
        item.SegmentNumber, item.SegmentLabel = number, f"organ {number}"
        item.SegmentAlgorithmType = "MANUAL"
        items.append(item)
    ds.SegmentSequence = Sequence(items)
    stack = np.stack([np.asarray(array) for _, _, array in frames])
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    if kind == "FRACTIONAL":
        ds.SegmentationFractionalType, ds.MaximumFractionalValue = "PROBABILITY", 255
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelData = stack.astype(np.uint8).tobytes()
    else:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 1, 0
        ds.PixelData = pack_bits(stack.astype(np.uint8).ravel())
    ds.save_as(target, enforce_file_format=True)


def drawn(rows: slice, columns: slice, value: int = 1) -> np.ndarray:
    array = np.zeros((64, 64), np.uint8)
    array[rows, columns] = value
    return array
