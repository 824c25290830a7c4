"""A mask of several values per pixel made into one value per pixel, one rule for every format.

A colour mask (RGB PNG or JPEG, an RGB DICOM, a vector NRRD or MetaImage, an RGB NIfTI) is a
label mask only when its colour channels agree (a grey drawing saved in colour): its value is
that grey, counted once per pixel, not once per channel; a 4th channel (alpha), or a 2nd one of
two (grey and alpha), is not a value. Channels that differ make it a colour image, refused the
same way whatever holds it. A palette image whose colours in use are greys is those greys (its
indices otherwise: class numbers); of black and white only, off and on, as a 1-bit image. The layers of a 3D Slicer segmentation (an NRRD axis of kind
"list") are no colours: each is a label map of its own, and a pixel drawn in several layers
counts once.
"""

from __future__ import annotations

from segcore.content.formats.mask_geometry import MaskValues, drawn, values_of
from segcore.content.formats.read_reasons import COLOUR
from segcore.core.errors import UnreadableUpload


def one_per_pixel(array, axis: int = -1):
    """`array` without its channel `axis`: each pixel's grey; raises UnreadableUpload (COLOUR)
    when a pixel's colour channels differ."""
    import numpy as np

    array = np.moveaxis(np.asarray(array), axis, -1)
    channels = array[..., :3] if array.shape[-1] >= 3 else array[..., :1]
    if not (channels == channels[..., :1]).all():
        raise UnreadableUpload(COLOUR)
    return channels[..., 0]


BLACK_AND_WHITE = {0, 255}


def palette_greys(image, array) -> tuple[object, bool]:
    """A palette image's pixels (Pillow's mode "P", `array` its indices) as the greys it shows
    when every colour it uses is a grey: a mask that Pillow's quantize() or pngquant saved with
    a palette, white perhaps at index 0. Otherwise its indices, as label tools mean them (a
    VOC-style PNG's colours stand for its class numbers). The flag: the colours used are black
    and white only, then read off and on (0 and 1) as a 1-bit image's, whatever their indices."""
    import numpy as np

    palette = image.getpalette() if image.mode == "P" else None
    if not palette:
        return array, False
    colours = np.asarray(palette, np.uint8).reshape(-1, 3)  # RGB: alpha (tRNS) is no value
    used = np.unique(array)
    if not used.size or used[-1] >= len(colours):
        return array, False
    if not (colours[used] == colours[used][:, :1]).all():
        return array, False
    greys = colours[:, 0]
    if set(greys[used].tolist()) <= BLACK_AND_WHITE:
        return (greys[array] == 255).astype(np.uint8), True
    return greys[array], False


def from_fields(array):
    """A structured array of one field per channel (nibabel's RGB24 and RGBA32 NIfTI: fields
    R, G, B[, A]) as an array of its channels along the last axis; any other as it is."""
    import numpy as np

    names = getattr(array.dtype, "names", None)
    if not names:
        return array
    return np.stack([np.asarray(array[name]) for name in names], axis=-1)


def layered_values(array, axis: int) -> MaskValues:
    """The values of a mask of several label layers along `axis`: the labels of every layer,
    each pixel drawn in any of them counted once."""
    import numpy as np

    layers = np.moveaxis(np.asarray(array), axis, 0)
    if not len(layers):
        return values_of(layers)
    found = [values_of(layer) for layer in layers]
    on = np.logical_or.reduce([drawn(layer) for layer in layers])
    labels = {value for part in found for value in part.labels}
    return MaskValues(int(np.count_nonzero(on)), sorted(labels, key=_nan_last))


# NIfTI intents of a vector per voxel (vector, RGB vector, RGBA vector): SimpleITK writes a
# colour image so, its channels a 5th dimension.
NIFTI_VECTOR_INTENTS = (1007, 2003, 2004)


def nifti_channels(header) -> bool:
    """True when a NIfTI's 5th dimension holds each voxel's channels, not more of its grid."""
    return len(header.get_data_shape()) == 5 and int(header["intent_code"]) in NIFTI_VECTOR_INTENTS


def nifti_voxel_values(header, data) -> MaskValues:
    """A NIfTI's values, one per voxel: an RGB24 or RGBA32 file's (nibabel: a field per
    channel) and a vector one's (its 5th dimension) by the colour rule."""
    if getattr(data.dtype, "names", None):
        return values_of(one_per_pixel(from_fields(data)))
    return values_of(one_per_pixel(data) if nifti_channels(header) else data)


# NRRD axis kinds of a grid (or of no meaning); "list" is a layer of a 3D Slicer segmentation;
# any other ("vector", "RGB-color", "RGBA-color", "3-color"...) holds each voxel's channels.
NRRD_GRID_KINDS = ("domain", "space", "time", "stub", "scalar", "none", "???")


def nrrd_voxel_values(header: dict, data) -> MaskValues:
    """An NRRD's values, one per voxel: a colour one's (a vector NRRD, as ITK writes an RGB
    image) by the colour rule, a layered Slicer segmentation's with a pixel of several layers
    counted once."""
    kinds = [str(kind).lower() for kind in header.get("kinds") or ()]
    channels = [axis for axis, kind in enumerate(kinds) if kind not in (*NRRD_GRID_KINDS, "list")]
    layers = [axis for axis, kind in enumerate(kinds) if kind == "list"]
    if channels:
        data = one_per_pixel(data, channels[0])
        layers = [axis - (axis > channels[0]) for axis in layers]
    return layered_values(data, layers[0]) if layers else values_of(data)


def _nan_last(value: float) -> tuple:
    return (value != value, value)  # NaN never equals itself: put last, as values_of does
