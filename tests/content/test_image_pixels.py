"""The same picture in other bytes: what tells a re-saved copy of an image from a mask named as it.

Real files written by Pillow, nibabel and NumPy, as an annotator's tool saves them again, and
pydicom's own test files (one picture in several transfer syntaxes)."""

import io
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from segcore.content.scan.image_pixels import compared, image_picture, named_as, picture
from tests.masks_content_files import label_square

SHAPE = (24, 32)
PICTURE = (np.arange(SHAPE[0] * SHAPE[1]).reshape(SHAPE) % 200).astype(np.uint8)


def saved(array, mode=None, **options) -> bytes:
    image = Image.fromarray(array)
    buffer = io.BytesIO()
    (image.convert(mode) if mode else image).save(buffer, "PNG", **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "again",
    [
        {"compress_level": 1},  # CVAT's or ITK-SNAP's export: other zlib settings
        {"mode": "RGB"},  # a grey picture saved in colour
        {"mode": "RGBA", "optimize": True},  # with an opaque alpha channel
    ],
)
def test_a_picture_saved_again_is_the_same_picture(again):
    options = dict(again)
    mode = options.pop("mode", None)
    first, second = saved(PICTURE), saved(PICTURE, mode, **options)
    assert first != second
    assert picture(second, "img_001.png") == picture(first, "img_001.png") is not None


@pytest.mark.parametrize(
    "mask",
    [
        label_square(SHAPE),  # 0/1
        label_square(SHAPE, 255),  # 0/255, as a binary mask is saved in 8 bits
        np.zeros(SHAPE, np.uint8),  # empty
        PICTURE[:, :-1],  # the picture cut by a column: another size
    ],
)
def test_a_mask_is_never_the_picture_it_labels(mask):
    assert picture(saved(mask), "img_001.png") != picture(saved(PICTURE), "img_001.png")


def test_a_nifti_saved_again_in_another_type_is_the_same_volume(tmp_path):
    volume = (np.arange(4 * 5 * 6).reshape(4, 5, 6) % 90).astype(np.int16)
    nibabel.save(nibabel.Nifti1Image(volume, np.eye(4)), tmp_path / "case.nii.gz")
    nibabel.save(nibabel.Nifti1Image(volume.astype(np.int32), np.eye(4)), tmp_path / "again.nii")
    image = image_picture(str(tmp_path / "case.nii.gz"), "case.nii.gz")
    assert picture((tmp_path / "again.nii").read_bytes(), "case.nii") == image is not None


def test_an_image_on_disk_is_decoded_once_per_version(tmp_path):
    path = tmp_path / "img_001.png"
    path.write_bytes(saved(PICTURE))
    assert image_picture(str(path), "img_001.png") == picture(saved(PICTURE), "img_001.png")
    path.write_bytes(saved(label_square(SHAPE)))
    assert image_picture(str(path), "img_001.png") == picture(saved(label_square(SHAPE)), "x.png")
    assert image_picture(str(tmp_path / "gone.png"), "gone.png") is None


def test_names_and_formats_compared():
    assert named_as("export/IMG_001.PNG", "img_001.png")
    assert not named_as("masks/img_001_mask.png", "img_001.png")
    assert [
        compared(n) for n in ("a.png", "a.nii.gz", "a.npy", "a.dcm", "1.2.840.5", "a.nrrd")
    ] == [
        True,
        True,
        True,
        True,
        True,
        False,
    ]
    assert picture(b"not a picture", "img_001.png") is None


@pytest.mark.parametrize("again", ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm"])
def test_a_dicom_image_saved_again_in_another_transfer_syntax_is_the_same_picture(again):
    """pydicom's MR_small re-encoded RLE Lossless or JPEG 2000 lossless (a viewer's "save"):
    other bytes, the same stored pixels; a 0/1 mask drawn on it is another picture."""
    first = Path(get_testdata_file("MR_small.dcm")).read_bytes()
    second = Path(get_testdata_file(again)).read_bytes()
    assert first != second
    assert picture(second, "MR_small.dcm") == picture(first, "MR_small.dcm") is not None
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.PixelData = (ds.pixel_array > 1000).astype("<i2").tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    assert picture(buffer.getvalue(), "MR_small.dcm") not in (None, picture(first, "x.dcm"))
