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

from segcore.content.scan.image_pixels import compared, image_picture, named_as, picture, resaved
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


def xray(seed: int) -> np.ndarray:
    """A grey radiograph-like picture: a gradient with noise, as a scanner's picture is."""
    rows, columns = np.mgrid[0 : SHAPE[0], 0 : SHAPE[1]]
    noise = np.random.default_rng(seed).normal(0, 8, SHAPE)
    return np.clip(60 + 3 * columns + 2 * rows + noise, 0, 255).astype(np.uint8)


def encoded(array, fmt: str, mode: str | None = None, **options) -> bytes:
    image = Image.fromarray(np.asarray(array, dtype=np.uint8))
    buffer = io.BytesIO()
    (image.convert(mode) if mode else image).save(buffer, fmt, **options)
    return buffer.getvalue()


def on_disk(tmp_path, name: str, data: bytes) -> list[tuple[str, str]]:
    """An image written in a batch folder, as `resaved` is given it."""
    (tmp_path / name).write_bytes(data)
    return [(str(tmp_path / name), name)]


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_names_are_compared_by_their_stem_as_matching_keys_them():
    """A copy saved in another format keeps its image's stem: `img_003.tif` is named as
    `img_003.png`, as matching would otherwise make it img_003's mask."""
    assert named_as("export/img_003.tif", "img_003.png")
    assert named_as("JPEGImages/IMG_003.JPG", "img_003.png")
    assert named_as("images/1.2.840.5.dcm", "1.2.840.5")  # a UID-named DICOM given `.dcm`
    assert named_as("case_1.nii", "case_1.nii.gz")
    assert not named_as("masks/img_003_mask.png", "img_003.png")
    assert not named_as("img_0031.png", "img_003.png")


@pytest.mark.parametrize("fmt, extension", [("TIFF", ".tif"), ("BMP", ".bmp"), ("PNG", ".png")])
def test_a_jpeg_image_converted_losslessly_is_the_same_picture(tmp_path, fmt, extension):
    """A JPEG image saved by a tool as TIFF, BMP or PNG: the very pixels, another format."""
    image = encoded(xray(1), "JPEG", quality=90)
    images = on_disk(tmp_path, "img_003.jpg", image)
    assert resaved(encoded(decoded(image), fmt), f"img_003{extension}", images)


@pytest.mark.parametrize("source", ["PNG", "JPEG"])
@pytest.mark.parametrize("quality", [95, 75, 50])
@pytest.mark.parametrize("mode", [None, "RGB"])
def test_an_image_saved_again_as_jpeg_is_that_image(tmp_path, source, quality, mode):
    """A PNG or JPEG image saved as JPEG (re-encoded, in grey or in colour, at the qualities
    tools use): every pixel a little off, within `CLOSE` of the image's range on average."""
    image = encoded(xray(2), source, **({"quality": 90} if source == "JPEG" else {}))
    images = on_disk(tmp_path, f"img_003.{source.lower()}", image)
    again = encoded(decoded(image), "JPEG", mode, quality=quality)
    assert resaved(again, "img_003.jpg", images)


@pytest.mark.parametrize(
    "mask, fmt",
    [
        (label_square(SHAPE), "PNG"),  # 0/1, as most tools save a label mask
        (label_square(SHAPE, 255), "PNG"),  # 0/255
        (label_square(SHAPE, 255), "JPEG"),  # a 0/255 mask saved (wrongly) as JPEG
        (np.where(xray(3) > 120, 255, 0), "JPEG"),  # a threshold of the very picture, as JPEG
        (xray(3) // 2, "JPEG"),  # the picture at half its values: another picture
        (np.minimum(xray(3).astype(int) + 3, 255), "PNG"),  # lossless yet not the picture
    ],
)
def test_a_mask_is_never_taken_for_a_copy_of_its_image(tmp_path, mask, fmt):
    """A label mask named as its image (VOC's `SegmentationClass/img_003.png`) is no copy of
    it, whatever format either is in: only the very picture, or a JPEG within `CLOSE` of
    it, is."""
    for name, image in (
        ("img_003.png", encoded(xray(3), "PNG")),
        ("img_003.jpg", encoded(xray(3), "JPEG", quality=90)),
    ):
        images = on_disk(tmp_path, name, image)
        extension = ".jpg" if fmt == "JPEG" else ".png"
        assert not resaved(encoded(mask, fmt), f"img_003{extension}", images)


def test_a_copy_of_another_size_or_of_a_flat_image_is_compared_exactly(tmp_path):
    """A thumbnail is no copy; a flat (one-value) image's copy is only its very picture."""
    images = on_disk(tmp_path, "img_003.png", encoded(xray(4), "PNG"))
    assert not resaved(encoded(xray(4)[:, :-2], "JPEG", quality=95), "img_003.jpg", images)
    flat = on_disk(tmp_path, "img_004.png", encoded(np.full(SHAPE, 9), "PNG"))
    assert not resaved(encoded(np.full(SHAPE, 10), "JPEG", quality=95), "img_004.jpg", flat)
    assert resaved(encoded(np.full(SHAPE, 9), "TIFF"), "img_004.tif", flat)


def dark_picture(seed: int) -> np.ndarray:
    """A fluorescence-like picture: a dim background, brighter cells, one saturated pixel."""
    picture = np.random.default_rng(seed).normal(6, 2, (64, 64))
    picture[20:40, 20:40] += 50
    picture[30, 30] = 255
    return np.clip(picture, 0, 255).astype(np.uint8)


def ct_like(seed: int) -> np.ndarray:
    """A CT-like slice: tissue in a disc, black around it."""
    rows, columns = np.mgrid[-32:32, -32:32]
    tissue = np.clip(np.random.default_rng(seed).normal(120, 30, (64, 64)), 0, 255)
    return np.where(np.hypot(rows, columns) < 25, tissue, 0).astype(np.uint8)


def test_a_label_mask_saved_as_jpeg_of_a_dark_picture_is_a_mask(tmp_path):
    """A 0/1 (or 0/255) label mask saved as JPEG differs from a dark picture by little of its
    range (one hot pixel makes the range), yet it is no picture of it: a mask."""
    square = np.zeros((64, 64), np.uint8)
    square[20:40, 20:40] = 1
    images = on_disk(tmp_path, "img_001.png", encoded(dark_picture(1), "PNG"))
    for labels in (square, square * 255):
        assert not resaved(encoded(labels, "JPEG", quality=95), "img_001.jpg", images)


def test_an_8_bit_jpeg_mask_of_a_16_bit_or_12_bit_image_is_a_mask(tmp_path):
    """A 0/255 mask saved as an 8-bit JPEG is not on a 16-bit PNG's or a 12-bit MR DICOM's
    scale, however small against their range."""
    square = np.zeros((64, 64), np.uint8)
    square[20:40, 20:40] = 255
    mask = encoded(square, "JPEG", quality=95)
    deep = np.clip(np.random.default_rng(1).normal(100, 20, (64, 64)), 0, None)
    deep[20:40, 20:40] += 3000
    deep[0, 0] = 60000
    buffer = io.BytesIO()
    Image.fromarray(deep.astype(np.uint16)).save(buffer, "PNG")
    assert not resaved(mask, "img_001.jpg", on_disk(tmp_path, "img_001.png", buffer.getvalue()))
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    mr = np.zeros((64, 64), np.int16)
    mr[16:48, 16:48] = np.random.default_rng(2).integers(200, 600, (32, 32))
    mr[32, 32] = 4000
    ds.PixelData = mr.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    assert not resaved(mask, "im1.jpg", on_disk(tmp_path, "im1.dcm", buffer.getvalue()))


def test_a_threshold_of_a_picture_of_two_flat_greys_saved_as_jpeg_is_a_mask(tmp_path):
    """The one case the old rule (8 % of the range) took for a copy: a 0/255 JPEG mask of a
    picture that is nearly two flat greys is still no picture of it on its own scale."""
    rng = np.random.default_rng(5)
    two = np.where(rng.random((64, 64)) > 0.5, 200, 30) + rng.normal(0, 3, (64, 64))
    two = np.clip(two, 0, 255).astype(np.uint8)
    images = on_disk(tmp_path, "img_001.png", encoded(two, "PNG"))
    assert not resaved(encoded(np.where(two > 100, 255, 0), "JPEG"), "img_001.jpg", images)


@pytest.mark.parametrize("make", [dark_picture, ct_like])
@pytest.mark.parametrize("quality", [95, 75, 50])
@pytest.mark.parametrize("mode", [None, "RGB"])
def test_a_dark_or_black_surrounded_picture_saved_again_as_jpeg_is_that_picture(
    tmp_path, make, quality, mode
):
    """The other side: a dark picture, or one mostly black, re-encoded as JPEG (grey or
    colour) is still told for the image saved again."""
    images = on_disk(tmp_path, "img_001.png", encoded(make(3), "PNG"))
    again = encoded(make(3), "JPEG", mode, quality=quality)
    assert resaved(again, "img_001.jpg", images)


@pytest.mark.parametrize("quality", [95, 50])
def test_a_colour_picture_saved_again_as_jpeg_is_that_picture(tmp_path, quality):
    colour = np.stack([xray(2), xray(3), xray(4)], axis=-1)
    images = on_disk(tmp_path, "img_001.png", encoded(colour, "PNG"))
    assert resaved(encoded(colour, "JPEG", quality=quality), "img_001.jpg", images)


def test_an_image_saved_again_as_floats_is_the_same_picture(tmp_path):
    """The image's very values stored as floats: nibabel's `get_fdata()` saved again (float64
    NIfTI), ImageJ's "32-bit" TIFF, a float32 NumPy array. A float mask of other values, or
    of values that are not whole, is another picture."""
    volume = np.random.default_rng(2).integers(-1000, 2000, (20, 24, 6)).astype(np.int16)
    nibabel.save(nibabel.Nifti1Image(volume, np.eye(4)), tmp_path / "case3.nii.gz")
    nibabel.save(nibabel.Nifti1Image(volume.astype(np.float64), np.eye(4)), tmp_path / "f.nii")
    images = [(str(tmp_path / "case3.nii.gz"), "case3.nii.gz")]
    assert resaved((tmp_path / "f.nii").read_bytes(), "case3.nii", images)
    flat = np.random.default_rng(3).integers(0, 255, (24, 32)).astype(np.uint8)
    images = on_disk(tmp_path, "img_003.png", encoded(flat, "PNG"))
    buffer = io.BytesIO()
    Image.fromarray(flat.astype(np.float32)).save(buffer, "TIFF")
    assert resaved(buffer.getvalue(), "img_003.tif", images)
    for values, copy in ((flat, True), (flat + 0.5, False), (label_square((24, 32)), False)):
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(values, dtype=np.float32))
        assert resaved(buffer.getvalue(), "img_003.npy", images) is copy
