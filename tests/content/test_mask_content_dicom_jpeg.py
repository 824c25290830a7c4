"""DICOM files as CT and MR scanners write them, JPEG compressed at 12 bits (pydicom's own
JPEG Extended files: JPEG-lossy.dcm, the NEMA WG04 sample whose scan header GDCM warns about,
and JPGExtended.dcm, its fixed copy): the check reads each as the viewers do."""

import shutil
import subprocess
import sys

import numpy as np
import pydicom
import pytest
import SimpleITK
from pydicom.data import get_testdata_file

from segcore.content.formats.dicom_pixels import pixel_array
from tests.content.test_mask_content_archives import checked, lab, png, said
from tests.content.test_mask_content_formats import images_dir, zipped

__all__ = ["lab"]  # the fixture, shared

TWELVE_BIT = ["JPEG-lossy.dcm", "JPGExtended.dcm"]  # NM, 256×1024, 12 bits stored in 16
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def test_a_twelve_bit_jpeg_reads_as_the_viewers_show_it():
    """JPEG-lossy.dcm's scan header says a spectral selection of 0 to 0, which pylibjpeg-libjpeg
    refuses and IJG (GDCM, so SimpleITK and ITK-SNAP) ignores: its pixels here are those of
    its fixed copy as pydicom decodes it, and those SimpleITK shows (within 1: two lossy JPEG
    decoders round their inverse DCT each its own way)."""
    lossy = get_testdata_file("JPEG-lossy.dcm")
    with pytest.raises(RuntimeError, match="misplaced marker segment"):
        pydicom.dcmread(lossy).pixel_array  # noqa: B018 - pydicom alone
    ours = pixel_array(pydicom.dcmread(lossy))
    fixed = pydicom.dcmread(get_testdata_file("JPGExtended.dcm")).pixel_array
    itk = SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(lossy))[0]
    assert ours.shape == (1024, 256) and 0 < ours.max() <= 4095
    assert np.array_equal(ours, fixed)
    assert np.abs(ours.astype(int) - itk).max() <= 1


@pytest.mark.parametrize("name", TWELVE_BIT)
def test_twelve_bit_jpeg_images_take_their_masks(name, lab, upload, tmp_path):
    """As a batch's images: a mask of their size passes, one of another size is named; as a
    mask (a scan uploaded by mistake), it is read, and named for its values."""
    scan = get_testdata_file(name)
    for stem in ("right", "wrong", "scan"):
        shutil.copy(scan, images_dir(lab) / f"{stem}.dcm")
    drawn = np.zeros((1024, 256), np.uint8)
    drawn[100:200, 50:120] = 1
    png(lab.masks / "right_mask.png", drawn)
    png(lab.masks / "wrong_mask.png", drawn.T)
    shutil.copy(scan, lab.masks / "scan_mask.dcm")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3 and not row["notes"]
    found = said(row)
    assert set(found) == {"wrong_mask.png", "scan_mask.dcm"}
    assert found["wrong_mask.png"] == "wrong_mask.png: 1024×256, image 256×1024"
    assert found["scan_mask.dcm"].startswith("scan_mask.dcm: label 3, 4, 5")
    assert "readable" not in found["scan_mask.dcm"]


def test_a_twelve_bit_jpeg_without_its_decoder_is_not_checked():
    """Without pylibjpeg-libjpeg (a broken install), Pillow alone is left for JPEG Extended,
    and it reads 8 bits only: a 12-bit mask is "contents not checked", a limit of this server
    and never the annotator's fault, where it was "unreadable" in Pillow's words."""
    code = (
        "import io, sys\n"
        "sys.modules['pylibjpeg'] = sys.modules['libjpeg'] = None  # not installed\n"
        "from pydicom.data import get_testdata_file\n"
        "from segcore.content.formats.mask_formats import read_mask\n"
        "from segcore.content.formats.read_reasons import NoReader\n"
        "path = get_testdata_file('JPGExtended.dcm')\n"
        "try:\n"
        "    read_mask(io.BytesIO(open(path, 'rb').read()), 'a.dcm', 10**8, 10**9)\n"
        "except NoReader as refused:\n"
        "    print(refused)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert done.stdout.strip() == (
        "pixel data compressed as JPEG Extended (Process 2 and 4), which this check cannot read"
    )
