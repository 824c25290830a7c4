"""Each mask and image format read by the library made for it, never by a decoder of ours.

Pillow (PNG, JPEG, TIFF, BMP), nibabel (NIfTI), pydicom (DICOM), pynrrd (NRRD) and SimpleITK
(MetaImage MHA/MHD, which none of the others reads). Images on disk are read by header only; a
mask's header is read before its values, so a volume over the voxel limit never has its values
loaded.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import tempfile
from typing import BinaryIO

from segcore.content.mask_geometry import (
    Geometry,
    MaskValues,
    first_line,
    from_ras_affine,
    grid_size,
    make_geometry,
    read_at_most,
    values_of,
)
from segcore.core.errors import UnreadableUpload
from segcore.images.mask_matching import split_extension

PLANAR = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
NIFTI = (".nii", ".nii.gz")

# --- planar images (Pillow) -------------------------------------------------------------


def _pillow(source) -> "object":
    from PIL import Image

    # Pillow refuses to open an image of over 179 million pixels (DecompressionBombError), even
    # to read its header: the content check has its own limit, MASK_QC_MAX_VOXELS, checked from
    # the header before any value is decoded, and a larger mask is checked by its header only.
    Image.MAX_IMAGE_PIXELS = None
    try:
        return Image.open(source)
    except (OSError, SyntaxError, ValueError) as exc:
        raise UnreadableUpload(f"not a readable image ({first_line(exc)})") from None


def planar_header(source) -> Geometry:
    image = _pillow(source)
    return make_geometry((image.width, image.height, getattr(image, "n_frames", 1)))


def planar_values(source, max_voxels: int) -> tuple[Geometry, MaskValues | None]:
    import numpy as np
    from PIL import ImageSequence

    image = _pillow(source)
    geometry = make_geometry((image.width, image.height, getattr(image, "n_frames", 1)))
    if geometry.voxels > max_voxels:
        return geometry, None
    try:
        # Every page of a multi-page TIFF (a stack's slices), not only the first.
        pages = [_labels(np.asarray(page)) for page in ImageSequence.Iterator(image)]
        array = np.stack(pages) if len(pages) > 1 else pages[0]
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableUpload(f"not a readable image ({first_line(exc)})") from None
    return geometry, values_of(array)


def _labels(array):
    """One value per pixel: a colour mask's, when every channel agrees."""
    if array.ndim == 3:
        channels = array[..., :3] if array.shape[2] >= 3 else array[..., :1]
        if not (channels == channels[..., :1]).all():
            raise UnreadableUpload("a colour image, not a label mask (channels differ)")
        array = channels[..., 0]
    return array


# --- NIfTI (nibabel) --------------------------------------------------------------------


def _nifti_class(head: bytes):
    import nibabel

    if len(head) >= 4 and int.from_bytes(head[:4], "little") in (540, 0x1C020000):
        return nibabel.Nifti2Image
    return nibabel.Nifti1Image


def _nifti_geometry(header) -> Geometry:
    shape = header.get_data_shape()[:3]
    return from_ras_affine(shape, header.get_zooms()[:3], header.get_best_affine())


def nifti_header(path: str) -> Geometry:
    import nibabel

    try:
        return _nifti_geometry(nibabel.load(path).header)  # lazy: values are never read
    except (OSError, ValueError, EOFError, nibabel.filebasedimages.ImageFileError) as exc:
        raise UnreadableUpload(f"not a readable NIfTI file ({first_line(exc)})") from None


def nifti_values(
    stream: BinaryIO, gzipped: bool, max_voxels: int, limit: int
) -> tuple[Geometry, MaskValues | None]:
    """A NIfTI mask from a stream: its header from the first bytes, then (within `max_voxels`
    and `limit` decompressed bytes) its values."""
    import nibabel
    import numpy as np

    source = gzip.GzipFile(fileobj=stream) if gzipped else stream
    try:
        head = source.read(544)
        image_class = _nifti_class(head)
        header = image_class.header_class.from_fileobj(  # the fixed header, not its extensions
            io.BytesIO(head[: image_class.header_class.sizeof_hdr])
        )
        geometry = _nifti_geometry(header)
        if math.prod(header.get_data_shape() or (0,)) > max_voxels:
            return geometry, None
        data = head + read_at_most(source, max(0, limit - len(head)))
        image = image_class.from_bytes(data)
        return geometry, values_of(np.asanyarray(image.dataobj))
    except (
        OSError,
        ValueError,
        EOFError,
        nibabel.filebasedimages.ImageFileError,
        nibabel.spatialimages.HeaderDataError,
    ) as exc:
        raise UnreadableUpload(f"not a readable NIfTI file ({first_line(exc)})") from None


# --- NRRD (pynrrd) ----------------------------------------------------------------------


def _nrrd_geometry(header: dict) -> Geometry:
    import numpy as np

    sizes = [int(n) for n in header.get("sizes", ())]
    directions = header.get("space directions")
    space = str(header.get("space", "")).lower()
    if directions is None:
        return make_geometry(sizes, header.get("spacings"))
    rows = [d for d in directions if d is not None and not np.isnan(np.asarray(d, float)).all()]
    spatial = [
        n
        for n, d in zip(sizes, directions)
        if d is not None and not np.isnan(np.asarray(d, float)).all()
    ]
    affine = np.eye(4)
    for axis, vector in enumerate(rows[:3]):
        affine[: len(vector), axis] = vector
    affine[:3, 3] = np.asarray(header.get("space origin", (0, 0, 0)), float)[:3]
    if space in ("left-posterior-superior", "lps"):
        affine[:2] *= -1  # stored as LPS: from_ras_affine expects RAS
    return from_ras_affine(spatial, None, affine)


def nrrd_header(path: str) -> Geometry:
    import nrrd

    try:
        return _nrrd_geometry(nrrd.read_header(path))
    except (OSError, ValueError, nrrd.NRRDError) as exc:
        raise UnreadableUpload(f"not a readable NRRD file ({first_line(exc)})") from None


def nrrd_values(stream: BinaryIO, max_voxels: int) -> tuple[Geometry, MaskValues | None]:
    import nrrd

    try:
        header = nrrd.read_header(stream)
        geometry = _nrrd_geometry(header)
        if geometry.voxels > max_voxels:
            return geometry, None
        if header.get("data file") or header.get("datafile"):
            raise UnreadableUpload("NRRD header without its data (a detached data file)")
        return geometry, values_of(nrrd.read_data(header, stream, index_order="F"))
    except (OSError, ValueError, EOFError, nrrd.NRRDError) as exc:
        raise UnreadableUpload(f"not a readable NRRD file ({first_line(exc)})") from None


# --- DICOM (pydicom) --------------------------------------------------------------------


def _dicom_geometry(ds) -> Geometry:
    import numpy as np

    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    size = (int(ds.Columns), int(ds.Rows), frames)
    spacing = getattr(ds, "PixelSpacing", None)
    orientation = getattr(ds, "ImageOrientationPatient", None)
    position = getattr(ds, "ImagePositionPatient", None)
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


# --- MetaImage (SimpleITK) --------------------------------------------------------------


def _itk_reader(path: str):
    import SimpleITK

    # ITK prints its own errors on stderr; the reason is reported once, as a problem.
    SimpleITK.ProcessObject.SetGlobalWarningDisplay(False)
    reader = SimpleITK.ImageFileReader()
    reader.SetFileName(path)
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise UnreadableUpload(f"not a readable MetaImage file ({_itk_reason(exc)})") from None
    return reader


def _itk_geometry(reader) -> Geometry:
    return make_geometry(
        reader.GetSize(), reader.GetSpacing(), reader.GetOrigin(), _square(reader.GetDirection())
    )


def _square(direction) -> tuple[float, ...]:
    """A 2D direction (2×2) as the 3×3 the other formats give."""
    if len(direction) == 4:
        return (direction[0], direction[1], 0.0, direction[2], direction[3], 0.0, 0.0, 0.0, 1.0)
    return tuple(direction)


def metaimage_header(path: str) -> Geometry:
    return _itk_geometry(_itk_reader(path))


def metaimage_values(
    stream: BinaryIO, extension: str, max_voxels: int, limit: int
) -> tuple[Geometry, MaskValues | None]:
    """An MHA mask (SimpleITK reads only from a path: the member goes through a temporary
    file). An MHD's values are in a file of their own: its header alone is checked."""
    import SimpleITK

    handle, path = tempfile.mkstemp(suffix=extension)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(read_at_most(stream, limit))
        reader = _itk_reader(path)
        geometry = _itk_geometry(reader)
        if extension == ".mhd" or geometry.voxels > max_voxels:
            return geometry, None
        try:
            image = reader.Execute()
        except RuntimeError as exc:
            raise UnreadableUpload(f"not a readable MetaImage file ({_itk_reason(exc)})") from None
        return geometry, values_of(SimpleITK.GetArrayViewFromImage(image))
    finally:
        os.unlink(path)


def _itk_reason(exc: BaseException) -> str:
    """ITK's message names the temporary file and an errno that does not apply: say what
    it means."""
    text = str(exc)
    if "not read completely" in text or "ideal =" in text:
        return "truncated: fewer values than its header declares"
    return "truncated or corrupt header"


# --- one entry point per side -------------------------------------------------------------


def image_header(path: str, name: str) -> Geometry:
    """An image's grid from its header only; raises UnreadableUpload (the name says the format;
    a name without an extension is DICOM)."""
    extension = split_extension(name)[1]
    if extension in PLANAR:
        with open(path, "rb") as handle:
            return planar_header(handle)
    if extension in NIFTI:
        return nifti_header(path)
    if extension == ".nrrd":
        return nrrd_header(path)
    if extension in (".mha", ".mhd"):
        return metaimage_header(path)
    return dicom_header(path)


def read_mask(
    stream: BinaryIO, name: str, max_voxels: int, limit: int
) -> tuple[Geometry, MaskValues | None]:
    """A mask's grid and (unless it has over `max_voxels`) values, from a stream read once.

    `limit` caps the bytes decompressed from it. Raises UnreadableUpload.
    """
    extension = split_extension(name)[1]
    if extension in PLANAR:
        return planar_values(io.BytesIO(read_at_most(stream, limit)), max_voxels)
    if extension in NIFTI:
        return nifti_values(stream, extension == ".nii.gz", max_voxels, limit)
    if extension == ".nrrd":
        return nrrd_values(io.BytesIO(read_at_most(stream, limit)), max_voxels)
    if extension in (".mha", ".mhd"):
        return metaimage_values(stream, extension, max_voxels, limit)
    return dicom_values(io.BytesIO(read_at_most(stream, limit)), max_voxels)
