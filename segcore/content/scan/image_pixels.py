"""A mask named as its image whose pixels are that image's: the image saved again, no mask.

CVAT's export, ITK-SNAP or any re-save writes an image's pixels in other bytes, often in another
format (`img_003.png` as `img_003.tif`, a JPEG re-encoded, a PNG image as VOC's
`JPEGImages/img_003.jpg`), so the listing, which never decodes (`images.image_copies`: the same
bytes, or a member of an images folder), takes such a copy elsewhere in an upload
(`export/img_003.tif` next to `img_001_mask.png`) for a mask of its image. The content check
decodes every mask anyway: a mask named as its image (the same stem, as matching keys it:
`mask_matching.image_key`, whatever its extension, no mask suffix) is compared with that image's
pixels, and it is a copy of the image, not its mask, when

- they are the same picture (the same size and values after decoding, whatever type stores
  them: floats holding whole numbers are those numbers; a grey picture saved in
  colour, its channels equal, is that picture; alpha is no value): a lossless re-save or
  conversion; or
- the mask is a JPEG (`LOSSY`: it changes every pixel a little each time it is saved) of the
  image's size that is the image's picture on the image's own scale: its values, not rescaled,
  differ from the image's by a root mean square of at most `CLOSE` (35 %) of the image's
  standard deviation, and follow them (Pearson correlation at least `FOLLOWS`, 0.95), a colour
  JPEG of a grey image compared by its channels' mean: a lossy re-save. Measured on grey and
  colour pictures (radiograph-like, CT-like with a black surround, a dark fluorescence-like
  picture), re-saves at JPEG quality 50 to 95 differ by at most 24 % of the deviation
  (correlation 0.97 or more); label masks saved as JPEG by 100 % or more (0/1 labels of a dark
  picture, 0/255 labels of an 8-bit, 16-bit or 12-bit picture: an 8-bit JPEG is not on a 16-bit
  picture's scale), a 0/255 threshold of a picture of two flat greys by about 50 %. Neither
  the picture's range (one hot pixel widens it) nor how many values the JPEG holds (a dark
  picture is itself mostly near a few values, as a JPEG of a label mask is) tells them apart.
  A mask saved losslessly (PNG, TIFF, NIfTI, ...) is a copy only when it is the very picture.

A label mask is never the picture it labels. The image is decoded only for such a mask, its
digest once per version of its file (path, size, modification time), its values again only for
a JPEG mask of its size that is not the very picture. PNG, JPEG, TIFF and BMP (Pillow), NIfTI
(nibabel), NumPy arrays and DICOM (pydicom: its stored pixels, so a viewer's re-save in another
transfer syntax, RLE or JPEG 2000 lossless, is the same picture) are compared; a mask of another
format named as its image stays a mask, as does one whose image or itself cannot be decoded here.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from collections import OrderedDict

from segcore.content.formats.dicom_pixels import pixel_array
from segcore.content.formats.mask_format_nifti import _nifti_class
from segcore.content.formats.mask_formats import NIFTI, NUMPY, PLANAR, _format
from segcore.core.regular_files import open_regular
from segcore.images.mask_matching import (
    DEFAULT_EXTENSIONS,
    base_name,
    image_key,
    member_base_name,
    split_extension,
)

PIECE = 1 << 20  # values hashed at a time, so a volume is never copied whole
WHOLE = 2**53  # floats up to this are whole numbers exactly (hashed as integers)
KEPT = 1_000
_images: OrderedDict = OrderedDict()  # (path, size, mtime_ns) -> (digest, shape) or None
LOSSY = (".jpg", ".jpeg")  # formats whose every save changes the pixels a little
# A lossy re-save's root mean square difference from its image, at most, of the image's standard
# deviation (re-saves at quality 50-95 measured: 24 % at most; label masks 100 % and more), and
# its correlation with the image, at least (re-saves 0.97 or more).
CLOSE = 0.35
FOLLOWS = 0.95


def named_as(member: str, image_name: str, extensions=DEFAULT_EXTENSIONS) -> bool:
    """True when a member is named as its image, as matching keys both (`image_key`: the stem
    without its extension, NFC, ignoring case and folders): `img_003.tif` of `img_003.png`."""
    key = image_key(member_base_name(member), extensions)
    return key == image_key(member_base_name(image_name), extensions)


def compared(name: str) -> bool:
    """True for a file whose pixels this module compares (by its name's extension)."""
    extension = split_extension(base_name(name), (*PLANAR, *NIFTI, *NUMPY))[1]
    return bool(extension) or _format(base_name(name)) == "dicom"


def pixels(data: bytes, name: str):
    """The values `data` holds (a file named `name`), as compared: an array, or None when it
    cannot be decoded or is of no format compared."""
    extension = split_extension(base_name(name), (*PLANAR, *NIFTI, *NUMPY))[1]
    try:
        if extension in PLANAR:
            return _planar(data)
        if extension in NIFTI:
            return _nifti(data, extension == ".nii.gz")
        if extension in NUMPY:
            return _numpy(data)
        if _format(base_name(name)) == "dicom":
            return _dicom(data)
    except Exception:  # noqa: BLE001 - undecodable: no picture, and the mask check says why
        return None
    return None


def picture(data: bytes, name: str) -> str | None:
    """A digest of the picture `data` holds (a file named `name`), the same for the same
    pixels whatever the bytes; None when it cannot be decoded or is of no format compared."""
    return _digest(pixels(data, name))


def _shape(array) -> tuple | None:
    import numpy as np

    return None if array is None else np.shape(array)


def _image_file(path: str, name: str):
    """`(digest, shape)` of an image on disk, remembered by path, size and modification
    time; None when it cannot be read or decoded."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    key = (path, found.st_size, found.st_mtime_ns)
    if key not in _images:
        try:
            with open_regular(path) as handle:
                array = pixels(handle.read(), name)
        except OSError:
            return None  # not remembered: a mount back later is read then
        _images[key] = None if array is None else (_digest(array), _shape(array))
        if len(_images) > KEPT:
            _images.popitem(last=False)
    return _images[key]


def image_picture(path: str, name: str) -> str | None:
    """`picture` of an image on disk, remembered by path, size and modification time; None
    when it cannot be read."""
    found = _image_file(path, name)
    return None if found is None else found[0]


def resaved(data: bytes, name: str, images) -> bool:
    """True when `data`, a member named `name` as each of `images` (`(path, name)` on disk:
    `named_as`) is, is one of them saved again: the very picture, or a JPEG that is its
    picture on its own scale (`_close`, see the module's rules)."""
    array = pixels(data, name)
    if array is None:
        return False
    digest, shape = _digest(array), _grey_shape(_shape(array))
    lossy = base_name(name).lower().endswith(LOSSY)
    for path, image_name in images:
        found = _image_file(path, image_name)
        if found is None:
            continue
        if found[0] == digest:
            return True
        if (
            lossy
            and _grey_shape(found[1]) == shape
            and _close(array, _image_array(path, image_name))
        ):
            return True
    return False


def _grey_shape(shape: tuple | None) -> tuple | None:
    """A picture's size without its colour channels (a colour JPEG of a grey image)."""
    if shape is not None and len(shape) == 3 and shape[-1] in (3, 4):
        return tuple(shape[:-1])
    return shape


def _image_array(path: str, name: str):
    """An image's values read again (a JPEG mask of its size is rare: never kept)."""
    try:
        with open_regular(path) as handle:
            return pixels(handle.read(), name)
    except OSError:
        return None


def _close(member, image) -> bool:
    """True when `member` is `image`'s picture on the image's own scale (`CLOSE`, `FOLLOWS`):
    its values differ from the image's by a root mean square of at most `CLOSE` of the image's
    standard deviation and correlate with them by `FOLLOWS` or more; colour is compared as its
    channels' mean when the other is grey."""
    import numpy as np

    if member is None or image is None:
        return False
    member, image = np.asarray(member, dtype=np.float64), np.asarray(image, dtype=np.float64)
    if member.ndim != image.ndim:
        member, image = _grey(member), _grey(image)
    if member.shape != image.shape or image.size == 0:
        return False
    member, image = member.reshape(-1), image.reshape(-1)
    spread, own = float(image.std()), float(member.std())
    if spread <= 0 or own <= 0:
        return False  # a flat image (or mask): only its very picture is a copy of it
    difference = float(np.sqrt(np.mean((member - image) ** 2)))
    if difference > CLOSE * spread:
        return False
    follows = float(np.mean((member - member.mean()) * (image - image.mean()))) / (own * spread)
    return follows >= FOLLOWS


def _grey(array):
    """A colour picture (channels last, alpha left out) as its channels' mean."""
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        return array[..., :3].mean(axis=-1)
    return array


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

    data = gzip.decompress(data) if gzipped and data[:2] == b"\x1f\x8b" else data
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
    type stores it (an image re-saved in 16 bits holds the same picture, and so does one saved
    as floats holding whole numbers: nibabel's `get_fdata()` saved again, ImageJ's 32-bit TIFF,
    a float NumPy array of an integer image)."""
    import numpy as np

    if array is None:
        return None
    array = np.asarray(array)
    flat = array.reshape(-1)
    real = array.dtype.kind == "c" or (array.dtype.kind == "f" and not _whole(flat))
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((array.shape, real)).encode())
    for start in range(0, flat.size, PIECE):
        piece = flat[start : start + PIECE]
        digest.update(piece.astype(np.float64 if real else np.int64).tobytes())
    return digest.hexdigest()


def _whole(flat) -> bool:
    """True when every value of a float array is a whole number an int64 holds exactly."""
    import numpy as np

    for start in range(0, flat.size, PIECE):
        piece = flat[start : start + PIECE]
        if not (np.isfinite(piece).all() and (np.abs(piece) <= WHOLE).all()):
            return False
        if not (np.floor(piece) == piece).all():
            return False
    return True
