"""The medical files pydicom and nibabel ship, as masks and images: each read as the standard
defines it, and a file no mask or image can be is said so in words, never in Python's."""

import gzip
import io
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.data.data_manager import DATA_ROOT
from pydicom.uid import ExplicitVRLittleEndian

from segcore.content.formats.mask_formats import image_header, read_mask
from segcore.content.formats.read_reasons import COLOUR, TRUNCATED
from segcore.core.errors import UnreadableUpload
from tests.content.test_mask_content_archives import checked, lab, said
from tests.content.test_mask_content_formats import images_dir, zipped

__all__ = ["lab"]  # the fixture, shared

NIBABEL_DATA = Path(nibabel.__file__).parent / "tests" / "data"
PYDICOM_FILES = Path(DATA_ROOT) / "test_files"


def shipped(name: str) -> bytes:
    return Path(get_testdata_file(name)).read_bytes()


def refused(data: bytes, name: str) -> str:
    with pytest.raises(UnreadableUpload) as raised:
        read_mask(io.BytesIO(data), name, 10**8, 10**9)
    return str(raised.value)


# --- uncompressed DICOM of every photometric interpretation --------------------------------


def grey_ybr_full_422() -> bytes:
    """MR_small's grid holding a grey 0/255 drawing stored uncompressed as YBR_FULL_422: each
    two pixels share one Cb and one Cr (Y0 Y1 Cb Cr), two values a pixel, as PS3.3 C.7.6.3.1.2
    defines it; Cb = Cr = 128, so its channels agree once shown in colour."""
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    drawing = np.zeros((64, 64), np.uint8)
    drawing[20:40, 16:48] = 255
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "YBR_FULL_422", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    for keyword in ("RescaleSlope", "RescaleIntercept", "WindowCenter", "WindowWidth"):
        if keyword in ds:
            delattr(ds, keyword)
    pairs = drawing.reshape(64, 32, 2)
    stored = np.stack([pairs[..., 0], pairs[..., 1], *[np.full((64, 32), 128, np.uint8)] * 2], -1)
    ds.PixelData = stored.tobytes()
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, implicit_vr=False, little_endian=True)
    return buffer.getvalue()


def test_a_grey_mask_stored_as_uncompressed_ybr_full_422_is_read(lab, upload, tmp_path):
    """A complete file pydicom reads as 64×64×3, never "truncated": with MASK_LABELS 0,255 it
    passes, and pydicom's own YBR_FULL_422 photograph is a colour image, as every other."""
    lab.settings = replace(lab.settings, mask_labels=(0.0, 255.0))
    shutil.copy(get_testdata_file("MR_small.dcm"), images_dir(lab) / "mr.dcm")
    (lab.masks / "mr_mask.dcm").write_bytes(grey_ybr_full_422())
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 1 and said(row) == {}
    photo = shipped("SC_ybr_full_422_uncompressed.dcm")
    assert refused(photo, "photo_mask.dcm") == COLOUR


def _native_decoded(path: Path) -> str | None:
    """The photometric interpretation of an uncompressed DICOM file pydicom decodes here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path)
            if "PixelData" not in ds or ds.file_meta.TransferSyntaxUID.is_compressed:
                return None
            ds.pixel_array  # noqa: B018 - decoded by pydicom
        except Exception:  # noqa: BLE001 - whatever pydicom raises, it does not decode it
            return None
    return str(ds.PhotometricInterpretation)


NATIVE = {
    str(path.relative_to(PYDICOM_FILES)): found
    for path in sorted(PYDICOM_FILES.rglob("*"))
    if path.is_file() and (found := _native_decoded(path))
}


def test_the_walk_covers_every_native_photometric_interpretation():
    """pydicom ships no uncompressed YBR_FULL: its RGB file relabelled so (three values a
    pixel, as RGB) stands for it."""
    assert {"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB", "YBR_FULL_422"} <= set(
        NATIVE.values()
    )
    ds = pydicom.dcmread(get_testdata_file("examples_rgb_color.dcm"))
    ds.PhotometricInterpretation = "YBR_FULL"
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds)
    assert refused(buffer.getvalue(), "m.dcm") == COLOUR


@pytest.mark.parametrize("name", sorted(NATIVE))
def test_no_complete_uncompressed_file_is_called_truncated(name):
    """Every uncompressed file pydicom ships and decodes, whatever its photometric
    interpretation, holds the pixel data its header declares."""
    try:
        read_mask(io.BytesIO((PYDICOM_FILES / name).read_bytes()), "m.dcm", 10**8, 10**9)
    except UnreadableUpload as refused_it:
        assert TRUNCATED not in str(refused_it)


# --- malformed DICOM values -----------------------------------------------------------------


def test_malformed_dicom_values_are_said_in_words(lab, upload, tmp_path):
    """pydicom's meta_missing_tsyntax.dcm (pixel data, no rows and columns) and badVR.dcm (a
    Number of Frames of '1A') as masks, and badVR.dcm as an image: worded reasons, never
    "'FileDataset' object has no attribute 'Columns'" or "invalid literal for int()"."""
    for stem in ("a", "b"):
        shutil.copy(get_testdata_file("CT_small.dcm"), images_dir(lab) / f"{stem}.dcm")
    shutil.copy(get_testdata_file("badVR.dcm"), images_dir(lab) / "c.dcm")
    (lab.masks / "a_mask.dcm").write_bytes(shipped("meta_missing_tsyntax.dcm"))
    (lab.masks / "b_mask.dcm").write_bytes(shipped("badVR.dcm"))
    label = np.zeros((10, 10), np.uint8)
    label[2:5, 2:5] = 1
    nibabel.save(nibabel.Nifti1Image(label, np.eye(4)), lab.masks / "c_mask.nii")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    malformed = "not a readable DICOM file (a malformed Number of Frames: '1A')"
    assert said(row) == {
        "a_mask.dcm": "a_mask.dcm: unreadable (not a readable DICOM file (pixel data without "
        "rows and columns))",
        "b_mask.dcm": f"b_mask.dcm: unreadable ({malformed})",
        "c_mask.nii": f"c_mask.nii: its image cannot be read ({malformed})",
    }
    assert refused(shipped("nested_priv_SQ.dcm"), "m.dcm") == (
        "not a readable DICOM file (pixel data without rows and columns)"
    )


# --- nibabel's files ------------------------------------------------------------------------


def test_a_complex_nifti_mask_gets_the_reason_a_numpy_mask_gets(lab, upload, tmp_path):
    """A NIfTI of DT_COMPLEX64 (as MR phase data is saved) holding 0/1, and the same array as
    an .npy: both "values of type complex64 that no mask holds", never Python's TypeError;
    also when the NIfTI is past MASK_QC_MAX_VOXELS (read by its header)."""
    volume = np.arange(12 * 10 * 6, dtype=np.int16).reshape(12, 10, 6)
    for stem in ("case_01", "case_02"):
        nibabel.save(nibabel.Nifti1Image(volume, np.eye(4)), images_dir(lab) / f"{stem}.nii.gz")
    complex_mask = np.zeros((12, 10, 6), np.complex64)
    complex_mask[3:8, 2:6, 1:4] = 1
    nifti = nibabel.Nifti1Image(complex_mask, np.eye(4))
    (lab.masks / "case_01_mask.nii.gz").write_bytes(gzip.compress(nifti.to_bytes()))
    np.save(lab.masks / "case_02_mask.npy", complex_mask)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    odd = "unreadable (not an image mask: values of type complex64 that no mask holds)"
    assert said(row) == {
        "case_01_mask.nii.gz": f"case_01_mask.nii.gz: {odd}",
        "case_02_mask.npy": f"case_02_mask.npy: {odd}",
    }
    header_only = io.BytesIO(nifti.to_bytes())
    with pytest.raises(UnreadableUpload, match="values of type complex64"):
        read_mask(header_only, "case_01_mask.nii", 10, 10**9)


def test_a_cifti_image_is_read_as_the_nifti_2_it_is(lab, upload, tmp_path):
    """nibabel's row_major.dconn.nii (a NIfTI-2 file with a CIFTI extension, as HCP's
    `.dconn.nii` and `.dscalar.nii` are) as a batch image: its grid is read from its NIfTI-2
    header, as the same file uploaded as a mask is, never "AttributeError: 'Cifti2Header'
    object has no attribute 'get_data_shape'"."""
    cifti = NIBABEL_DATA / "row_major.dconn.nii"
    shutil.copy(cifti, images_dir(lab) / "sub01.dconn.nii")
    assert image_header(str(cifti), "sub01.dconn.nii").size == (1, 1, 1, 1, 10, 10)
    as_mask = read_mask(io.BytesIO(cifti.read_bytes()), "x.dconn.nii", 10**8, 10**9)[0]
    assert as_mask.size == (1, 1, 1, 1, 10, 10)
    label = np.zeros((1, 1, 1, 1, 10, 10), np.uint8)
    label[..., 2:5, 2:5] = 1
    nibabel.save(nibabel.Nifti2Image(label, np.eye(4)), lab.masks / "sub01.dconn_mask.nii")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 1 and said(row) == {}
