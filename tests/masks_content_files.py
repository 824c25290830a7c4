"""Real images and masks with planted defects, packed by real tools, for the content-check tests.

Images come from the files packages ship (pydicom's CT_small.dcm, nibabel's anatomical.nii and
example4d.nii.gz) or are written by Pillow, pynrrd and SimpleITK; masks are written by Pillow,
nibabel, pydicom, pynrrd and SimpleITK, each either right or with one defect.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import nibabel
import nrrd
import numpy as np
import pydicom
import SimpleITK
from PIL import Image
from pydicom.data import get_testdata_file

NIBABEL_DATA = Path(nibabel.__file__).parent / "tests" / "data"


def png(path: Path, array) -> None:
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def label_square(shape, value: int = 1) -> np.ndarray:
    array = np.zeros(shape, dtype=np.uint8)
    array[shape[0] // 4 : shape[0] // 2, shape[1] // 4 : shape[1] // 2] = value
    return array


def nifti_like(source: Path, target: Path, *, spacing=None, value: int = 1, empty: bool = False):
    """A mask on the grid of the NIfTI image `source` (optionally with another spacing)."""
    image = nibabel.load(source)
    shape = image.shape[:3]
    data = np.zeros(shape, dtype=np.uint8)
    if not empty:
        data[shape[0] // 4 : shape[0] // 2, shape[1] // 4 : shape[1] // 2, :] = value
    affine = image.affine.copy()
    if spacing is not None:
        scale = np.asarray(spacing) / np.asarray(image.header.get_zooms()[:3])
        affine[:3, :3] = affine[:3, :3] * scale
    mask = nibabel.Nifti1Image(data, affine)
    mask.header.set_zooms(spacing or image.header.get_zooms()[:3])
    mask.to_filename(target)


def dicom_mask(target: Path, *, empty: bool = False) -> None:
    """A mask written by pydicom on the grid of pydicom's CT_small.dcm."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    data = np.zeros((ds.Rows, ds.Columns), dtype=np.uint16)
    if not empty:
        data[10:40, 10:40] = 1
    ds.PixelData = data.tobytes()
    ds.PixelRepresentation = 0
    # its values are the labels: the CT's rescale (intercept -1024) reset, as mask tools write
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    ds.save_as(target)


def volume_image(
    target: Path,
    shape=(12, 10, 6),
    spacing=(0.7, 0.7, 3.0),
    origin=(0, 0, 0),
    direction=None,
    value: int = 1,
    writer: str = "itk",
) -> None:
    """A small volume (image or mask) written by SimpleITK (.mha/.mhd) or pynrrd (.nrrd)."""
    data = np.zeros(shape, dtype=np.uint8)
    data[2:5, 2:5, 1:3] = value
    if writer == "nrrd":
        directions = np.diag(spacing) if direction is None else np.asarray(direction) * spacing
        nrrd.write(
            str(target),
            data,
            {
                "space": "left-posterior-superior",
                "space directions": directions,
                "space origin": np.asarray(origin, float),
            },
        )
        return
    image = SimpleITK.GetImageFromArray(np.transpose(data, (2, 1, 0)).copy())
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    if direction is not None:
        image.SetDirection(tuple(np.asarray(direction, float).flatten()))
    SimpleITK.WriteImage(image, str(target))


def build_batch(images: Path, masks: Path) -> dict[str, str]:
    """Fill `images` and `masks` (folders) with one right and one wrong mask of every kind;
    returns the wrong masks' names with the words their problem must be reported in."""
    images.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    for n in (1, 12, 30, 41, 50, 60):
        png(images / f"img_{n:03d}.png", np.full((512, 512), 90))
    png(masks / "img_001_mask.png", label_square((512, 512), 2))
    png(masks / "img_012_mask.png", label_square((513, 512)))  # 512 wide, 513 high
    png(masks / "img_030_mask.png", np.zeros((512, 512)))
    png(masks / "img_041_mask.png", label_square((512, 512), 3))
    png(masks / "img_060_mask.png", np.pad(np.ones((2, 2)), ((0, 510), (0, 510))))  # 4 pixels
    good = (masks / "img_001_mask.png").read_bytes()
    (masks / "img_050_mask.png").write_bytes(good[: len(good) // 2])  # truncated
    shutil.copy(NIBABEL_DATA / "anatomical.nii", images / "case_01.nii")
    nifti_like(images / "case_01.nii", masks / "case_01_seg.nii.gz")
    shutil.copy(NIBABEL_DATA / "example4d.nii.gz", images / "case_07.nii.gz")
    nifti_like(images / "case_07.nii.gz", masks / "case_07.nii.gz", spacing=(0.8, 0.8, 3.0))
    shutil.copy(get_testdata_file("CT_small.dcm"), images / "ct_001.dcm")
    dicom_mask(masks / "ct_001_mask.dcm")
    shutil.copy(get_testdata_file("CT_small.dcm"), images / "ct_002.dcm")
    dicom_mask(masks / "ct_002_mask.dcm", empty=True)
    volume_image(images / "vol_01.nrrd", writer="nrrd")
    volume_image(masks / "vol_01_mask.nrrd", writer="nrrd", origin=(0, 0, 5.0))
    volume_image(images / "vol_02.mha")
    volume_image(masks / "vol_02_mask.mha", direction=[[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    volume_image(images / "vol_03.mha")
    volume_image(masks / "vol_03_mask.mha")
    return {
        "img_012_mask.png": "img_012_mask.png: 512×513, image 512×512",
        "img_030_mask.png": "img_030_mask.png: empty",
        "img_041_mask.png": "img_041_mask.png: label 3 not in 0,1,2",
        "img_050_mask.png": "img_050_mask.png: unreadable",
        "img_060_mask.png": "img_060_mask.png: 4 non-zero pixels, fewer than 10",
        "case_07.nii.gz": "case_07.nii.gz: spacing 0.8×0.8×3.0, image 2.0×2.0×2.2",
        "ct_002_mask.dcm": "ct_002_mask.dcm: empty",
        "vol_01_mask.nrrd": "vol_01_mask.nrrd: origin 0.0×0.0×5.0, image 0.0×0.0×0.0",
        "vol_02_mask.mha": "vol_02_mask.mha: direction",
    }


def pack(masks: Path, target: Path, tool: str) -> bytes:
    """The mask folder packed by a real tool: Info-ZIP `zip` or GNU `tar -cJf`."""
    names = sorted(os.listdir(masks))
    if tool == "zip":
        subprocess.run(["zip", "-q", "-r", str(target), *names], cwd=masks, check=True)
    else:
        subprocess.run(["tar", "-cJf", str(target), *names], cwd=masks, check=True)
    return target.read_bytes()
