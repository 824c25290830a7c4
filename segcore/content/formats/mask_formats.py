"""Each mask and image format read by the library made for it, never by a decoder of ours.

Pillow (PNG, JPEG, TIFF, BMP), nibabel (NIfTI), pydicom (DICOM), pynrrd (NRRD) and SimpleITK
(MetaImage MHA/MHD, which none of the others reads). Images on disk are read by header only; a
mask's header is read before its values, so a volume over the voxel limit never has its values
loaded.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import tempfile
from dataclasses import replace
from typing import BinaryIO

from segcore.content.formats.file_kinds import OWN_KINDS, SNIFF_BYTES, other_kind
from segcore.content.formats.mask_channels import (
    nrrd_voxel_values,
    one_per_pixel,
    palette_greys,
)
from segcore.content.formats.mask_format_dicom import dicom_header, dicom_values
from segcore.content.formats.mask_format_nifti import nifti_header, nifti_values
from segcore.content.formats.mask_format_numpy import numpy_header, numpy_values
from segcore.content.formats.mask_format_tiff import Pages, slice_pages
from segcore.content.formats.mask_geometry import (
    READER_ORDER,
    Geometry,
    MaskValues,
    OverLimit,
    Rejoined,
    first_line,
    from_ras_affine,
    grid_size,
    make_geometry,
    read_at_most,
    values_of,
)
from segcore.content.formats.read_reasons import (
    CORRUPT_HEADER,
    DEEP_COLOUR,
    DETACHED_NRRD,
    DICOM_FILE,
    HOLDS_OTHER,
    IMAGE,
    METAIMAGE_FILE,
    MGH_FILE,
    NIFTI_FILE,
    NO_READER,
    NRRD_FILE,
    NUMPY_FILE,
    TRUNCATED,
    NoReader,
    not_readable,
)
from segcore.core.errors import UnreadableUpload
from segcore.images.mask_matching import (
    DEFAULT_EXTENSIONS,
    DICOM_ENDINGS,
    file_extension,
    split_extension,
)

PLANAR = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
# Pillow modes whose channels are no R, G, B: converted to RGB first (a grey drawing in CMYK is
# in its K channel, C, M and Y 0), as Pillow's own convert() shows them.
NOT_RGB_MODES = ("CMYK", "YCbCr")
MGH = (".mgz", ".mgh")  # FreeSurfer's, read by nibabel; an extension to add to MASK_EXTENSIONS


NIFTI = (".nii", ".nii.gz")
NUMPY = (".npy", ".npz")
# NRRD: `.nhdr` is a detached header (ITK and 3D Slicer write its values to `.raw` or `.raw.gz`),
# an extension to add to MASK_EXTENSIONS.
NRRD = (".nrrd", ".seg.nrrd", ".nhdr")
# A header whose values are in a file of its own: a mask's is checked by its header only.
DETACHED = (".mhd", ".nhdr")

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
        raise UnreadableUpload(not_readable(IMAGE, first_line(exc))) from None


def planar_header(source) -> Geometry:
    """An image's grid: its slices are its pages, but for a TIFF's reduced-resolution pages
    and an ImageJ hyperstack's channels (mask_format_tiff)."""
    return make_geometry(_slice_pages(_pillow(source)).shape)


def planar_values(source, max_voxels: int) -> tuple[Geometry, MaskValues | None]:
    import numpy as np

    image = _pillow(source)
    stack = _slice_pages(image)
    geometry = make_geometry(stack.shape)
    if image.width * image.height * len(stack.indices) > max_voxels:
        return geometry, None
    if _deep_colour(image, source):
        return geometry, values_of(_itk_planar(source, image.format))
    try:
        # Every page of a multi-page TIFF (a stack's slices), not only the first; never a
        # reduced-resolution page (a pyramid level, a thumbnail), whose values are resampled.
        pages, modes = [], set()
        for index in stack.indices:
            image.seek(index)
            page = image.convert("RGB") if image.mode in NOT_RGB_MODES else image
            shown, black_and_white = palette_greys(page, np.asarray(page))
            modes.add("1" if black_and_white else page.mode)
            pages.append(_labels(shown))
        array = np.stack(pages) if len(pages) > 1 else pages[0]
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableUpload(not_readable(IMAGE, first_line(exc))) from None
    values = values_of(array)
    values.one_bit = modes == {"1"}
    return geometry, values


def _slice_pages(image) -> Pages:
    try:
        return slice_pages(image)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableUpload(not_readable(IMAGE, first_line(exc))) from None


def _deep_colour(image, source) -> bool:
    """True for a PNG or TIFF of 16 bits per channel and more than one channel (RGB, grey with
    alpha): Pillow keeps only each value's high byte, so labels 0, 1, 2 would read as 0."""
    if image.format == "PNG":
        head = source.getvalue()[24:26] if hasattr(source, "getvalue") else b""
        return len(head) == 2 and head[0] == 16 and head[1] in (2, 4, 6)  # IHDR depth, colour
    if image.format == "TIFF":
        bits = image.tag_v2.get(258) if hasattr(image, "tag_v2") else None
        bits = bits if isinstance(bits, tuple) else (bits,)
        return len(bits) > 1 and 16 in bits
    return False


def _itk_planar(source, image_format: str):
    """A deep-colour PNG or TIFF's values, one per pixel, read by SimpleITK at full depth
    (through a temporary file: it reads only from a path)."""
    import SimpleITK

    suffix = ".png" if image_format == "PNG" else ".tif"
    with _as_file(source.getvalue(), suffix) as path:
        SimpleITK.ProcessObject.SetGlobalWarningDisplay(False)
        try:
            array = SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(path))
        except RuntimeError:
            raise UnreadableUpload(DEEP_COLOUR) from None
        return _labels(array)


@contextlib.contextmanager
def _as_file(data: bytes, suffix: str):
    """`data` in a temporary file named with `suffix` (SimpleITK reads only from a path),
    removed afterwards."""
    handle, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        yield path
    finally:
        os.unlink(path)


def _labels(array):
    """One value per pixel (a planar image's channels are its third axis)."""
    return one_per_pixel(array) if array.ndim == 3 else array


def mgh_header(path: str) -> Geometry:
    import nibabel

    try:
        return _mgh_geometry(nibabel.load(path).header)
    except (OSError, ValueError, EOFError, nibabel.filebasedimages.ImageFileError) as exc:
        raise UnreadableUpload(not_readable(MGH_FILE, first_line(exc))) from None


def _mgh_geometry(header) -> Geometry:
    shape = header.get_data_shape()
    geometry = from_ras_affine(shape[:3], header.get_zooms()[:3], header.get_best_affine())
    return Geometry(grid_size(shape), geometry.spacing, geometry.origin, geometry.direction)


def mgh_values(
    stream: BinaryIO, gzipped: bool, max_voxels: int, limit: int
) -> tuple[Geometry, MaskValues | None]:
    """A FreeSurfer MGH mask (`.mgz`: gzipped), its header first, then its values."""
    import nibabel
    import numpy as np

    source = gzip.GzipFile(fileobj=stream) if gzipped else stream
    try:
        head = source.read(nibabel.freesurfer.mghformat.MGHHeader._hdrdtype.itemsize)
        header = nibabel.freesurfer.mghformat.MGHHeader.from_fileobj(io.BytesIO(head))
        geometry = _mgh_geometry(header)
        if math.prod(header.get_data_shape() or (0,)) > max_voxels:
            return geometry, None
        image = nibabel.MGHImage.from_bytes(head + read_at_most(source, limit))
        return geometry, values_of(np.asanyarray(image.dataobj))
    except (OSError, ValueError, EOFError, nibabel.filebasedimages.ImageFileError) as exc:
        raise UnreadableUpload(not_readable(MGH_FILE, first_line(exc))) from None


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
    origin = np.asarray(header.get("space origin", (0, 0, 0)), float)[:3]
    affine[: len(origin), 3] = origin  # a 2D image's origin has two values
    affine[:3] *= np.asarray(_ras_signs(space))[:, None]  # from_ras_affine expects RAS
    return from_ras_affine(spatial, None, affine)


# Each axis of an NRRD "space": its sign towards RAS (left, posterior, inferior point away).
_AXIS_SIGNS = {"l": -1.0, "r": 1.0, "p": -1.0, "a": 1.0, "i": -1.0, "s": 1.0}


def _ras_signs(space: str) -> tuple[float, ...]:
    """(±1, ±1, ±1) turning a vector of `space` (left-anterior-superior, LAS, RAS, ...) into
    RAS; a space of no anatomical axes (scanner-xyz, 3D-right-handed) as RAS; no space at all
    as LPS, as ITK reads and writes it."""
    if not space:  # no space named (ITK writes 2D images so): ITK's own frame, LPS
        return (-1.0, -1.0, 1.0)
    parts = space.split("-") if "-" in space else list(space)
    letters = [part[:1] for part in parts]
    if len(letters) == 3 and letters[0] in "lr" and letters[1] in "pa" and letters[2] in "is":
        return tuple(_AXIS_SIGNS[letter] for letter in letters)
    return (1.0, 1.0, 1.0)


def nrrd_header(path: str) -> Geometry:
    import nrrd

    try:
        return _nrrd_geometry(nrrd.read_header(path))
    except (OSError, ValueError, nrrd.NRRDError) as exc:
        raise UnreadableUpload(not_readable(NRRD_FILE, first_line(exc))) from None


def nrrd_values(
    stream: BinaryIO, max_voxels: int, detached: bool = False
) -> tuple[Geometry, MaskValues | None]:
    """An NRRD mask's grid and values; `detached` (a `.nhdr`): a header naming a data file of
    its own is checked by its header (the file it names is never opened)."""
    import nrrd

    try:
        header = nrrd.read_header(stream)
        geometry = _nrrd_geometry(header)
        if geometry.voxels > max_voxels:
            return geometry, None
        data_file = header.get("data file") or header.get("datafile")
        if data_file:
            if detached:
                return replace(geometry, data_file=_one_data_file(str(data_file))), None
            raise UnreadableUpload(DETACHED_NRRD)
        return geometry, nrrd_voxel_values(header, nrrd.read_data(header, stream, index_order="F"))
    except (OSError, ValueError, EOFError, nrrd.NRRDError) as exc:
        raise UnreadableUpload(not_readable(NRRD_FILE, first_line(exc))) from None


# --- MetaImage (SimpleITK) --------------------------------------------------------------


def _itk_reader(path: str):
    import SimpleITK

    # ITK prints its own errors on stderr; the reason is reported once, as a problem.
    SimpleITK.ProcessObject.SetGlobalWarningDisplay(False)
    reader = SimpleITK.ImageFileReader()
    reader.SetImageIO("MetaImageIO")  # ITK picks by extension, case-sensitively: scan.MHA
    reader.SetFileName(path)
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise UnreadableUpload(not_readable(METAIMAGE_FILE, _itk_reason(exc))) from None
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
    file). An MHD's values are in a file of their own (`data_file`), its header alone checked;
    one whose values are in it (`ElementDataFile = LOCAL`) is read as an MHA is."""
    import SimpleITK

    data = read_at_most(stream, limit)
    with _as_file(data, extension) as path:
        reader = _itk_reader(path)
        geometry = _itk_geometry(reader)
        data_file = _element_data_file(data) if extension in DETACHED else None
        if data_file:
            return replace(geometry, data_file=_one_data_file(data_file)), None
        if geometry.voxels > max_voxels:
            return geometry, None
        try:
            image = reader.Execute()
        except RuntimeError as exc:
            raise UnreadableUpload(not_readable(METAIMAGE_FILE, _itk_reason(exc))) from None
        array = SimpleITK.GetArrayViewFromImage(image)  # a vector image's channels last
        return geometry, values_of(
            one_per_pixel(array) if reader.GetNumberOfComponents() > 1 else array
        )


def _element_data_file(header: bytes) -> str | None:
    """The file a MetaImage header's values are in (its `ElementDataFile`); None when they are
    in the header's own file (LOCAL)."""
    for line in header.split(b"\n"):
        key, equals, value = line.partition(b"=")
        if equals and key.strip() == b"ElementDataFile":
            name = value.strip().decode("utf-8", "replace")
            return None if name.upper() == "LOCAL" else name
    return None


def _one_data_file(name: str) -> str | None:
    """A detached header's data file, when it names a single one: a list of files (`LIST`, a
    NRRD's `LIST`) or a numbered pattern (`slice_%03d.raw 1 40 1`) is left unchecked (None)."""
    if name.upper().startswith("LIST") or "%" in name or " " in name.strip():
        return None
    return name.strip()


def _itk_reason(exc: BaseException) -> str:
    """ITK's message names the temporary file and an errno that does not apply: say what
    it means."""
    text = str(exc)
    if "not read completely" in text or "ideal =" in text:
        return TRUNCATED
    return CORRUPT_HEADER


# --- one entry point per side -------------------------------------------------------------


def _format(name: str) -> str:
    """The reader a file's name calls for: planar, nifti, nrrd, metaimage, numpy, mgh or dicom
    (a `.dcm`, a DICOM ending, or a name without an extension or with a number for one: a
    UID); "none" for any other extension (one added to MASK_EXTENSIONS)."""
    extension = split_extension(name, (*DEFAULT_EXTENSIONS, *MGH, *NRRD))[1]
    if extension in PLANAR:
        return "planar"
    if extension in NIFTI:
        return "nifti"
    if extension in NRRD:
        return "nrrd"
    if extension in (".mha", ".mhd"):
        return "metaimage"
    if extension in NUMPY:
        return "numpy"
    if extension in MGH:
        return "mgh"
    last = file_extension(name)
    if extension or not last or last in DICOM_ENDINGS or last[1:].isdigit():
        return "dicom"
    return "none"


READABLE_NAMES = {
    "planar": IMAGE,
    "nifti": NIFTI_FILE,
    "nrrd": NRRD_FILE,
    "metaimage": METAIMAGE_FILE,
    "numpy": NUMPY_FILE,
    "mgh": MGH_FILE,
    "dicom": DICOM_FILE,
}


def no_reader(name: str) -> str | None:
    """Why a file of this name cannot be read here (no reader for its extension), or None."""
    return NO_READER.format(extension=file_extension(name)) if _format(name) == "none" else None


def _has_reader(kind: str, name: str) -> None:
    if kind == "none":
        raise NoReader(no_reader(name))


def _unreadable(kind: str, exc: BaseException) -> UnreadableUpload:
    """What any other error of a library reading damaged bytes becomes: the file is
    unreadable, in the library's words (a cut header, a corrupt deflate stream, a zero-byte
    file make some raise errors of their own, zlib.error, struct.error, StopIteration...)."""
    detail = f"{type(exc).__name__}: {first_line(exc)}"  # the library's words
    return UnreadableUpload(not_readable(READABLE_NAMES[kind], detail))


def image_header(path: str, name: str) -> Geometry:
    """An image's grid from its header only, with the order its reader lays out its array
    (READER_ORDER); raises UnreadableUpload (the name says the format; a name without an
    extension is DICOM)."""
    kind = _format(name)
    return replace(_image_header(path, name, kind), array_order=READER_ORDER.get(kind))


def _image_header(path: str, name: str, kind: str) -> Geometry:
    _has_reader(kind, name)
    try:
        if kind == "planar":
            with open(path, "rb") as handle:
                return planar_header(handle)
        if kind == "nifti":
            return nifti_header(path)
        if kind == "nrrd":
            return nrrd_header(path)
        if kind == "metaimage":
            return metaimage_header(path)
        if kind == "numpy":
            return numpy_header(path)
        if kind == "mgh":
            return mgh_header(path)
        return dicom_header(path)
    except UnreadableUpload:
        raise
    except Exception as exc:  # noqa: BLE001 - see _unreadable
        raise _unreadable(kind, exc) from None


def read_mask(
    stream: BinaryIO, name: str, max_voxels: int, limit: int
) -> tuple[Geometry, MaskValues | None]:
    """A mask's grid and (unless it has over `max_voxels`) values, from a stream read once.

    `limit` caps the bytes decompressed from it. Raises UnreadableUpload (OverLimit past the
    limit).
    """
    kind = _format(name)
    _has_reader(kind, name)
    head = b""
    try:
        head = stream.read(SNIFF_BYTES) if kind in OWN_KINDS else b""
        return _read_mask(Rejoined(head, stream), name, kind, max_voxels, limit)
    except (OverLimit, NoReader):
        raise
    except UnreadableUpload as exc:
        raise _renamed(kind, head) or exc from None
    except Exception as exc:  # noqa: BLE001 - see _unreadable
        raise _renamed(kind, head) or _unreadable(kind, exc) from None


def _renamed(kind: str, head: bytes) -> UnreadableUpload | None:
    """Why a file that failed to read as `kind` is not one: its first bytes name another
    format (a PNG named `.npy`); None when they do not."""
    found = other_kind(kind, head)
    if found is None:
        return None
    return UnreadableUpload(not_readable(READABLE_NAMES[kind], HOLDS_OTHER.format(what=found)))


def _read_mask(
    stream: BinaryIO, name: str, kind: str, max_voxels: int, limit: int
) -> tuple[Geometry, MaskValues | None]:
    """read_mask's reading, by the reader of `kind`."""
    if kind == "planar":
        return planar_values(io.BytesIO(read_at_most(stream, limit)), max_voxels)
    if kind == "nifti":
        gzipped = split_extension(name)[1] == ".nii.gz"
        return nifti_values(stream, gzipped, max_voxels, limit)
    if kind == "nrrd":
        detached = split_extension(name, NRRD)[1] in DETACHED
        return nrrd_values(io.BytesIO(read_at_most(stream, limit)), max_voxels, detached)
    if kind == "metaimage":
        return metaimage_values(stream, split_extension(name)[1], max_voxels, limit)
    if kind == "numpy":
        return numpy_values(io.BytesIO(read_at_most(stream, limit)), max_voxels)
    if kind == "mgh":
        return mgh_values(stream, file_extension(name) == ".mgz", max_voxels, limit)
    return dicom_values(io.BytesIO(read_at_most(stream, limit)), max_voxels)
