"""A mask named exactly as its image whose pixels are that image's: the image saved again, no mask.

CVAT's export, ITK-SNAP or any re-save writes an image's pixels in other bytes, so the listing,
which never decodes (`images.image_copies`: the same bytes, or a member of an images folder),
takes such a copy elsewhere in an upload (`img_003.png` next to `img_001_mask.png`) for a mask
of its image. The content check decodes every mask anyway: a mask named exactly as its image
(the same name, no mask suffix) is compared with that image's pixels, and when they are the same
picture (the same size and values after decoding; a grey picture saved in colour, its channels
equal, is that picture; alpha is no value) it is a copy of the image, not its mask. A label mask
is never the picture it labels. The image is decoded only for such a mask, once per version of
its file (path, size, modification time). PNG, JPEG, TIFF and BMP (Pillow), NIfTI (nibabel),
NumPy arrays and DICOM (pydicom: its stored pixels, so a viewer's re-save in another transfer
syntax, RLE or JPEG 2000 lossless, is the same picture) are compared; a mask of another format
named as its image stays a mask, as does one whose image or itself cannot be decoded here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from collections import OrderedDict

from segcore.content.formats.dicom_pixels import pixel_array
from segcore.content.formats.mask_formats import NIFTI, NUMPY, PLANAR, _format, _nifti_class
from segcore.core.regular_files import open_regular
from segcore.images.mask_matching import base_name, nfc, split_extension

PIECE = 1 << 20  # values hashed at a time, so a volume is never copied whole
KEPT = 1_000
_images: OrderedDict = OrderedDict()  # (path, size, mtime_ns) -> digest or None


def named_as(member: str, image_name: str) -> bool:
    """True when a member's name is exactly its image's (NFC, ignoring case and folders)."""
    return nfc(base_name(member)).casefold() == nfc(base_name(image_name)).casefold()


def compared(name: str) -> bool:
    """True for a file whose pixels this module compares (by its name's extension)."""
    extension = split_extension(base_name(name), (*PLANAR, *NIFTI, *NUMPY))[1]
    return bool(extension) or _format(base_name(name)) == "dicom"


def picture(data: bytes, name: str) -> str | None:
    """A digest of the picture `data` holds (a file named `name`), the same for the same
    pixels whatever the bytes; None when it cannot be decoded or is of no format compared."""
    extension = split_extension(base_name(name), (*PLANAR, *NIFTI, *NUMPY))[1]
    try:
        if extension in PLANAR:
            return _digest(_planar(data))
        if extension in NIFTI:
            return _digest(_nifti(data, extension == ".nii.gz"))
        if extension in NUMPY:
            return _digest(_numpy(data))
        if _format(base_name(name)) == "dicom":
            return _digest(_dicom(data))
    except Exception:  # noqa: BLE001 - undecodable: no picture, and the mask check says why
        return None
    return None


def image_picture(path: str, name: str) -> str | None:
    """`picture` of an image on disk, remembered by path, size and modification time; None
    when it cannot be read."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    key = (path, found.st_size, found.st_mtime_ns)
    if key not in _images:
        try:
            with open_regular(path) as handle:
                _images[key] = picture(handle.read(), name)
        except OSError:
            return None  # not remembered: a mount back later is read then
        if len(_images) > KEPT:
            _images.popitem(last=False)
    return _images[key]


def _planar(data: bytes):
    """Every page's pixels as shown: a palette's colours, 1-bit as 0/255, without alpha."""
    import numpy as np
    from PIL import Image, ImageSequence

    Image.MAX_IMAGE_PIXELS = None  # as mask_formats: the voxel limit is the content check's
    pages = []
    for page in ImageSequence.Iterator(Image.open(io.BytesIO(data))):
        if page.mode not in ("L", "I", "F") and not page.mode.startswith("I;"):
            page = page.convert("RGB")
        array = np.asarray(page)
        if array.ndim == 3 and (array == array[..., :1]).all():
            array = array[..., 0]  # a grey picture saved in colour is that grey picture
        pages.append(array)
    return np.stack(pages) if len(pages) > 1 else pages[0]


def _nifti(data: bytes, gzipped: bool):
    import numpy as np

    data = gzip.decompress(data) if gzipped else data
    return np.asanyarray(_nifti_class(data[:4]).from_bytes(data).dataobj)


def _numpy(data: bytes):
    import numpy as np

    found = np.load(io.BytesIO(data), allow_pickle=False)
    if isinstance(found, np.lib.npyio.NpzFile):
        with found:
            return found[found.files[0]] if len(found.files) == 1 else None
    return found


def _dicom(data: bytes):
    """A DICOM object's stored pixels, decoded from whatever transfer syntax holds them; a grey
    picture saved in colour (its samples equal) is that grey picture."""
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(data))
    array = pixel_array(ds)
    if int(ds.get("SamplesPerPixel", 1) or 1) > 1 and (array == array[..., :1]).all():
        array = array[..., 0]
    return array


def _digest(array) -> str | None:
    """The values' digest: their shape, and each value as a whole or a real number, whatever
    type stores it (an image re-saved in 16 bits holds the same picture)."""
    import numpy as np

    if array is None:
        return None
    array = np.asarray(array)
    real = array.dtype.kind in "fc"
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((array.shape, real)).encode())
    flat = array.reshape(-1)
    for start in range(0, flat.size, PIECE):
        piece = flat[start : start + PIECE]
        digest.update(piece.astype(np.float64 if real else np.int64).tobytes())
    return digest.hexdigest()
