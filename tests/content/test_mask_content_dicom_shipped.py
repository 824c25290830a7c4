"""Every DICOM file pydicom ships that pydicom decodes with the plugins installed here is read
by the check, as an image and as a mask: a decoder missing from requirements.txt, or a reader
stricter than pydicom, fails here first."""

import io
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data.data_manager import DATA_ROOT

from segcore.content.formats.mask_formats import image_header, read_mask
from segcore.content.formats.read_reasons import COLOUR
from segcore.core.errors import UnreadableUpload

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def _pydicom_decodes(path: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path)
            if not any(keyword in ds for keyword in PIXEL_KEYWORDS):
                return False
            ds.pixel_array  # noqa: B018 - decoded with the plugins installed here
        except Exception:  # noqa: BLE001 - whatever pydicom raises, it does not decode it
            return False
    return True


# The files pydicom ships in its package (get_testdata_files() would also try to download
# its larger data set).
SHIPPED = Path(DATA_ROOT) / "test_files"
DECODED = sorted(
    str(path.relative_to(SHIPPED))
    for path in SHIPPED.rglob("*")
    if path.is_file() and _pydicom_decodes(str(path))
)


def test_pydicom_decodes_pydicoms_jpeg_files_of_every_kind_here():
    """The walk below covers JPEG baseline, 12-bit extended, lossless, JPEG-LS and JPEG 2000:
    a decoder missing from requirements.txt fails here first."""
    assert {"JPGExtended.dcm", "SC_rgb_jpeg_gdcm.dcm", "MR_small_jpeg_ls_lossless.dcm"} <= set(
        DECODED
    )
    assert {"SC_rgb_jpeg.dcm", "MR_small_jp2klossless.dcm", "693_J2KI.dcm"} <= set(DECODED)


@pytest.mark.parametrize("shipped", DECODED)
def test_no_file_pydicom_decodes_is_unreadable(shipped):
    """Every file pydicom ships that pydicom decodes with the plugins installed here is read
    as an image and as a mask: never "not a readable DICOM file", never "contents not
    checked"; a colour one whose channels differ is that, a colour image (the rule every format
    follows), not unreadable."""
    path = str(SHIPPED / shipped)
    name = Path(shipped).with_suffix(".dcm").name  # a DICOMDIR's IM000001 as uploads name it
    image_header(path, name)
    try:
        read_mask(io.BytesIO(open(path, "rb").read()), name, 10**8, 10**9)
    except UnreadableUpload as refused:
        ds = pydicom.dcmread(path)
        assert str(refused) == COLOUR and int(ds.SamplesPerPixel) == 3, str(refused)
