"""Colour masks under one rule whatever holds them: a drawing whose colour channels differ is
refused as a colour image, a grey drawing saved in colour is its grey with each pixel counted
once (never once per channel), and CMYK is read as the colours it shows. Every file is written
by the field's own library: Pillow, pydicom, SimpleITK, nibabel and pynrrd."""

import shutil
from dataclasses import replace

import nibabel
import nrrd
import numpy as np
import pydicom
import pytest
import SimpleITK
from PIL import Image
from pydicom.data import get_testdata_file

from segcore.content.mask_content_check import check_content
from segcore.store.schema import MASK_CONTENT
from tests.content.test_mask_content_archives import SIDE, checked, lab, said
from tests.content.test_mask_content_formats import images_dir, zipped

__all__ = ["lab"]  # the fixture, shared

CT = get_testdata_file("CT_small.dcm")  # 128×128
VOLUME = (5, 6, 7)  # slices, rows, columns, as SimpleITK's arrays are
REFUSED = "unreadable (a colour image, not a label mask (channels differ))"
RED, GREY = (255, 0, 0), (1, 1, 1)


def drawing(shape, colour, pixels: int) -> np.ndarray:
    """An RGB array of `shape` (without its channels) with `pixels` pixels in `colour`."""
    array = np.zeros((*shape, 3), np.uint8)
    flat = array.reshape(-1, 3)
    flat[1 : 1 + pixels] = colour
    return array


def rgb_dicom(target, colour, pixels: int) -> None:
    """CT_small with RGB pixel data, as a viewer saves an overlay (a Secondary Capture)."""
    ds = pydicom.dcmread(CT)
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    for keyword in ("RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth"):
        if keyword in ds:
            delattr(ds, keyword)
    ds.PixelData = drawing((ds.Rows, ds.Columns), colour, pixels).tobytes()
    ds.save_as(target)


def colour_masks(lab, colour, pixels: int) -> list[str]:
    """One image of each format and its mask drawn in `colour` as the format's library saves
    a colour image; the masks' names."""
    images = images_dir(lab)
    lab.images("png")
    Image.fromarray(drawing((SIDE, SIDE), colour, pixels)).save(lab.masks / "png_mask.png")
    shutil.copy(CT, images / "dcm.dcm")
    rgb_dicom(lab.masks / "dcm_mask.dcm", colour, pixels)
    grid = SimpleITK.GetImageFromArray(np.ones(VOLUME, np.int16))
    grid.SetSpacing((0.8, 0.8, 2.5))
    vector = SimpleITK.GetImageFromArray(drawing(VOLUME, colour, pixels), isVector=True)
    vector.CopyInformation(grid)
    for image, mask in (
        ("nrrd.nrrd", "nrrd_mask.seg.nrrd"),  # kinds: vector domain domain domain
        ("mha.mha", "mha_mask.mha"),
        ("vector.nii.gz", "vector_mask.nii.gz"),  # 5D, intent vector
    ):
        SimpleITK.WriteImage(grid, str(images / image))
        SimpleITK.WriteImage(vector, str(lab.masks / mask))
    affine = np.diag([0.8, 0.8, 2.5, 1.0])
    nibabel.save(nibabel.Nifti1Image(np.ones(VOLUME[::-1], np.int16), affine), images / "rgb.nii")
    fields = np.zeros(VOLUME[::-1], dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    for name, value in zip("RGB", colour):
        fields[name].reshape(-1)[1 : 1 + pixels] = value  # RGB24, as nibabel writes it
    nibabel.save(nibabel.Nifti1Image(fields, affine), lab.masks / "rgb_mask.nii.gz")
    return sorted(p.name for p in lab.masks.iterdir())


def test_a_colour_drawing_is_refused_whatever_format_holds_it(lab, upload, tmp_path):
    """The red drawing refused as a PNG passed as an RGB DICOM, a vector NRRD or MHA; an RGB
    NIfTI was unreadable for a Python error, a vector one the wrong size."""
    names = colour_masks(lab, RED, 20)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 6 and row["counts"]["unreadable"] == 6
    assert said(row) == {name: f"{name}: {REFUSED}" for name in names}


def test_a_grey_drawing_saved_in_colour_counts_each_pixel_once(lab, upload, tmp_path):
    """5 grey pixels are too few for MASK_MIN_PIXELS 10 in every format, as in the PNG: the
    DICOM, NRRD and MHA counted each pixel's three samples (15) and passed."""
    lab.settings = replace(lab.settings, mask_min_pixels=10)
    names = colour_masks(lab, GREY, 5)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 6 and row["counts"]["too_small"] == 6
    assert said(row) == {name: f"{name}: 5 non-zero pixels, fewer than 10" for name in names}


def test_a_pixel_drawn_in_two_layers_of_a_slicer_segmentation_counts_once(lab, upload, tmp_path):
    """A layered .seg.nrrd (3D Slicer's overlapping segments, an axis of kind "list") holds
    6 drawn pixels in each of its 2 layers, the same 6: too few, where 12 were counted."""
    lab.settings = replace(lab.settings, mask_min_pixels=10)
    grid = SimpleITK.GetImageFromArray(np.ones(VOLUME, np.int16))
    grid.SetSpacing((0.8, 0.8, 2.5))
    SimpleITK.WriteImage(grid, str(images_dir(lab) / "seg.nrrd"))
    layers = np.zeros((2, *VOLUME[::-1]), np.uint8)
    layers[0, 2:4, 2:5, 1], layers[1, 2:4, 2:5, 1] = 1, 2
    directions = np.array([[np.nan] * 3, [0.8, 0, 0], [0, 0.8, 0], [0, 0, 2.5]])
    header = {
        "space": "left-posterior-superior",
        "kinds": ["list", "domain", "domain", "domain"],
        "space directions": directions,
        "space origin": np.zeros(3),
    }
    nrrd.write(str(lab.masks / "seg_mask.seg.nrrd"), layers, header)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert said(row) == {"seg_mask.seg.nrrd": "seg_mask.seg.nrrd: 6 non-zero pixels, fewer than 10"}


@pytest.mark.parametrize("extension", ["tif", "jpg"])
def test_a_cmyk_mask_is_read_as_the_colours_it_shows(lab, upload, tmp_path, extension):
    """A grey square saved in CMYK (C, M and Y 0, the drawing in K) was read as empty: its
    first three channels taken for R, G and B. A red one is a colour image."""
    lab.settings = replace(lab.settings, mask_labels=None)  # JPEG blurs a square's edges
    lab.images("grey", "red", size=(64, 48))
    grey = np.zeros((48, 64), np.uint8)
    grey[10:20, 10:20] = 255
    Image.fromarray(grey).convert("CMYK").save(lab.masks / f"grey_mask.{extension}")
    red = np.zeros((48, 64, 3), np.uint8)
    red[10:20, 10:20] = RED
    Image.fromarray(red).convert("CMYK").save(lab.masks / f"red_mask.{extension}")
    assert Image.open(lab.masks / f"grey_mask.{extension}").mode == "CMYK"
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 2
    assert said(row) == {f"red_mask.{extension}": f"red_mask.{extension}: {REFUSED}"}


def voc_palette() -> list[int]:
    """The PASCAL VOC colour map (class 1 dark red, 2 dark green...), as its tools write it."""
    palette = []
    for label in range(256):
        r = g = b = 0
        for bit in range(8):
            r |= ((label >> 0) & 1) << (7 - bit)
            g |= ((label >> 1) & 1) << (7 - bit)
            b |= ((label >> 2) & 1) << (7 - bit)
            label >>= 3
        palette += [r, g, b]
    return palette


def test_a_palette_mask_is_read_as_the_greys_it_shows(lab, upload, tmp_path):
    """A black-and-white drawing saved with a palette (Pillow's quantize(), white at index 0;
    its web palette, white at index 225) is the black and white it shows: 5 white pixels are
    too few, where the black background was counted as drawn, or "label 225" named. A VOC-style
    label PNG, whose colours stand for classes, is still read by its indices."""
    lab.settings = replace(lab.settings, mask_labels=(0.0, 1.0, 2.0, 255.0), mask_min_pixels=10)
    lab.images("quantized", "tiff", "bmp", "web", "voc", size=(64, 48))
    few, square = np.zeros((48, 64, 3), np.uint8), np.zeros((48, 64, 3), np.uint8)
    few[10, 10:15], square[10:30, 10:30] = 255, 255
    Image.fromarray(few).quantize(2).save(lab.masks / "quantized_mask.png")
    Image.fromarray(few).quantize(2).save(lab.masks / "tiff_mask.tif")
    Image.fromarray(few).quantize(16).save(lab.masks / "bmp_mask.bmp")
    Image.fromarray(square).convert("P").save(lab.masks / "web_mask.png")
    classes = np.zeros((48, 64), np.uint8)
    classes[10:20, 10:20], classes[30:40, 30:40] = 1, 2
    voc = Image.fromarray(classes, mode="P")
    voc.putpalette(voc_palette())
    voc.save(lab.masks / "voc_mask.png")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 5
    few_said = "5 non-zero pixels, fewer than 10"
    assert said(row) == {
        f"{n}_mask.{e}": f"{n}_mask.{e}: {few_said}"
        for n, e in (("quantized", "png"), ("tiff", "tif"), ("bmp", "bmp"))
    }


@pytest.mark.parametrize("labels", [(0.0, 1.0), (0.0, 255.0)])
def test_a_black_and_white_palette_mask_is_off_and_on_as_a_1_bit_one(lab, upload, tmp_path, labels):
    """A palette mask of black and white holds off and on, as its 1-bit twin, whichever index
    white has: with labels 0,1 or 0,255 it passes, never "label 255 not in 0,1"; a grey
    palette keeps its greys (128 is named)."""
    lab.settings = replace(lab.settings, mask_labels=labels)
    lab.images("white_first", "black_first", "grey", size=(32, 32))
    square = np.zeros((32, 32, 3), np.uint8)
    square[5:20, 5:20] = 255
    Image.fromarray(square).quantize(2).save(lab.masks / "white_first_mask.png")
    indexed = Image.fromarray((square[..., 0] // 255).astype(np.uint8), mode="P")
    indexed.putpalette([0, 0, 0, 255, 255, 255])
    indexed.save(lab.masks / "black_first_mask.png")
    grey = Image.fromarray((square[..., 0] // 255).astype(np.uint8), mode="P")
    grey.putpalette([0, 0, 0, 128, 128, 128])
    grey.save(lab.masks / "grey_mask.png")
    assert Image.open(lab.masks / "white_first_mask.png").getpalette()[:3] == [255, 255, 255]
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3
    allowed = ",".join(str(int(v)) for v in labels)
    assert said(row) == {"grey_mask.png": f"grey_mask.png: label 128 not in {allowed}"}


def test_results_stored_by_version_5_are_checked_again(lab, upload, tmp_path):
    """Version 5 of the check passed an RGB DICOM mask: its stored result is read again."""
    shutil.copy(CT, images_dir(lab) / "dcm.dcm")
    rgb_dicom(lab.masks / "dcm_mask.dcm", RED, 20)
    checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    lab.work[MASK_CONTENT].update_many({}, {"$set": {"version": 5}})
    assert check_content(lab, ["batch_1"]).checked_uploads == 1
