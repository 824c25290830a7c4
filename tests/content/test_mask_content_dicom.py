"""Plain DICOM masks as scripts make them (pydicom's CT_small.dcm copied, its pixel data
replaced by a label map): their values are the modality values SimpleITK, 3D Slicer and
pydicom's apply_modality_lut read, and a DICOM file that is no image mask is said so in words."""

import io
import shutil
import zlib

import numpy as np
import pydicom
import pytest
import SimpleITK
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate

from segcore.content.formats.mask_formats import image_header, read_mask
from segcore.content.formats.mask_geometry import first_line
from segcore.content.mask_content_check import check_content, content_summary, has_content_problem
from segcore.core.errors import UnreadableUpload
from segcore.store.schema import MASK_CONTENT
from tests.content.test_mask_content_archives import checked, lab, said
from tests.content.test_mask_content_formats import images_dir, zipped

__all__ = ["lab"]  # the fixture, shared

CT = get_testdata_file("CT_small.dcm")  # 128×128 int16, RescaleSlope 1, RescaleIntercept -1024


def ct_mask(label: np.ndarray, intercept: float | None = None, **write) -> bytes:
    """The CT with its pixel data replaced by `label` (its own intercept kept unless given)."""
    ds = pydicom.dcmread(CT)
    ds.PixelData = label.astype(np.int16).tobytes()
    if intercept is not None:
        ds.RescaleIntercept = intercept
    buffer = io.BytesIO()
    if write:
        ds.preamble = None
    pydicom.dcmwrite(buffer, ds, **write)
    return buffer.getvalue()


def drawn(value: int = 1) -> np.ndarray:
    label = np.zeros((128, 128), np.int16)
    label[40:80, 30:90] = value
    return label


def mask_values(data: bytes):
    return read_mask(io.BytesIO(data), "ct_mask.dcm", 10**7, 10**8)[1]


def unreadable(data: bytes, name: str = "ct_mask.dcm") -> str:
    with pytest.raises(UnreadableUpload) as raised:
        read_mask(io.BytesIO(data), name, 10**7, 10**8)
    return str(raised.value)


def test_a_dicom_masks_values_are_its_modality_values(tmp_path):
    """0/1 stored with the CT's intercept -1024 is -1024/-1023 to SimpleITK and here, and not
    one pixel is 0; with intercept 0 it is the 0/1 label map it was meant to be."""
    kept = tmp_path / "kept.dcm"
    kept.write_bytes(ct_mask(drawn()))
    itk = np.unique(SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(str(kept)))).tolist()
    values = mask_values(kept.read_bytes())
    assert values.labels == itk == [-1024, -1023]
    assert values.nonzero == 128 * 128
    plain = mask_values(ct_mask(drawn(), intercept=0))
    assert plain.labels == [0, 1] and plain.nonzero == 40 * 60


def test_emptiness_follows_the_modality_values():
    """Stored 0 everywhere with intercept -1024 is -1024 everywhere: not empty (every value is
    non-zero), its label -1024; stored 1024 everywhere with it is 0 everywhere: empty."""
    background = mask_values(ct_mask(np.zeros((128, 128))))
    assert background.labels == [-1024] and background.nonzero == 128 * 128
    zero = mask_values(ct_mask(np.full((128, 128), 1024)))
    assert zero.labels == [0] and zero.nonzero == 0


def test_a_ct_copied_into_a_mask_is_flagged_for_its_labels(lab, upload, tmp_path):
    for stem in ("kept", "reset"):
        shutil.copy(CT, images_dir(lab) / f"{stem}.dcm")
    (lab.masks / "kept_mask.dcm").write_bytes(ct_mask(drawn()))
    (lab.masks / "reset_mask.dcm").write_bytes(ct_mask(drawn(), intercept=0))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 2
    assert said(row) == {"kept_mask.dcm": "kept_mask.dcm: label -1024, -1023 not in 0,1,2"}


def test_results_of_the_check_that_read_stored_values_are_checked_again(lab, upload, tmp_path):
    """Version 4 of the check passed such a mask: its stored results are read again."""
    shutil.copy(CT, images_dir(lab) / "kept.dcm")
    (lab.masks / "kept_mask.dcm").write_bytes(ct_mask(drawn()))
    checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    lab.work[MASK_CONTENT].update_many({}, {"$set": {"version": 4}})
    assert check_content(lab, ["batch_1"]).checked_uploads == 1


def test_dicom_files_that_are_no_image_mask_are_said_in_words():
    """Each reason whole and in the user's terms, never pydicom's advice cut mid-word ("Use
    force=True to fo"): an RT Structure Set (pydicom's rtstruct.dcm, itself without the file
    header) or RT Plan is named; a dataset saved without the 'DICM' header, bytes that are no
    DICOM and pixel data cut short are said so."""
    rtstruct = open(get_testdata_file("rtstruct.dcm"), "rb").read()
    assert unreadable(rtstruct) == "a DICOM RT Structure Set, not an image mask"
    rtplan = open(get_testdata_file("rtplan.dcm"), "rb").read()
    assert unreadable(rtplan) == "a DICOM RT Plan, not an image mask"
    dicomdir = open(get_testdata_file("DICOMDIR"), "rb").read()  # its class in its file meta
    assert unreadable(dicomdir) == "a DICOM Media Storage Directory, not an image mask"
    headless = ct_mask(drawn(), intercept=0, enforce_file_format=False)
    assert unreadable(headless) == (
        "not a readable DICOM file (saved without its DICOM file header: no preamble, no 'DICM')"
    )
    assert unreadable(b"label map, to follow\n" * 20, "ct_mask") == (
        "not a readable DICOM file (not DICOM data: no 'DICM' header)"
    )
    cut = ct_mask(drawn(), intercept=0)[:-2000]
    assert unreadable(cut) == (
        "not a readable DICOM file (truncated: fewer values than its header declares)"
    )


def test_an_image_that_is_no_image_is_named(tmp_path):
    shutil.copy(get_testdata_file("rtplan.dcm"), tmp_path / "plan.dcm")
    with pytest.raises(UnreadableUpload, match="^a DICOM RT Plan, not an image$"):
        image_header(str(tmp_path / "plan.dcm"), "plan.dcm")


def test_a_long_library_reason_is_cut_after_a_whole_word():
    with pytest.raises(pydicom.errors.InvalidDicomError) as raised:
        pydicom.dcmread(io.BytesIO(b"no DICOM here" * 20))
    reason = first_line(raised.value)
    assert len(reason) <= 120 and reason.endswith("…")
    assert str(raised.value).startswith(reason[:-1] + " ")


def test_an_rt_structure_set_uploaded_as_a_mask_is_named(lab, upload, tmp_path):
    shutil.copy(CT, images_dir(lab) / "ct.dcm")
    shutil.copy(get_testdata_file("rtstruct.dcm"), lab.masks / "ct_mask.dcm")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert said(row) == {
        "ct_mask.dcm": "ct_mask.dcm: unreadable (a DICOM RT Structure Set, not an image mask)"
    }


DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation


def radiograph(path, pixel_spacing=None) -> None:
    """CT_small as a DX (a projection radiograph: no position, no orientation) with the
    detector's ImagerPixelSpacing and, given, a PixelSpacing calibrated at the patient."""
    ds = pydicom.dcmread(CT)
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = DX_STORAGE
    ds.Modality = "DX"
    for keyword in (
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "SliceLocation",
        "PixelSpacing",
    ):
        delattr(ds, keyword)
    ds.ImagerPixelSpacing = [0.2, 0.25]
    if pixel_spacing:
        ds.PixelSpacing = pixel_spacing
    ds.save_as(path, enforce_file_format=True)


def test_a_radiographs_mask_fits_the_spacing_itk_reads_and_the_calibrated_one(
    lab, upload, tmp_path
):
    """A DX with ImagerPixelSpacing 0.2\\0.25 and PixelSpacing 0.16\\0.2: the mask SimpleITK
    saves of it (ITK reads the imager's, 0.25×0.2) passes, as does one in its PixelSpacing;
    one of another spacing is named, also against a DX carrying ImagerPixelSpacing alone."""
    radiograph(images_dir(lab) / "dx_itk.dcm", [0.16, 0.2])
    radiograph(images_dir(lab) / "dx_calibrated.dcm", [0.16, 0.2])
    radiograph(images_dir(lab) / "dx_wrong.dcm", [0.16, 0.2])
    radiograph(images_dir(lab) / "dx_imager.dcm")
    image = SimpleITK.ReadImage(str(images_dir(lab) / "dx_itk.dcm"))
    mask = SimpleITK.Cast(image > 1100, SimpleITK.sitkUInt8)
    SimpleITK.WriteImage(mask, str(lab.masks / "dx_itk_mask.nii.gz"))
    for stem, spacing in (("calibrated", 0.2), ("wrong", 0.5), ("imager", 0.5)):
        mask.SetSpacing((spacing, 0.16 if stem == "calibrated" else 0.5, 5.0))
        SimpleITK.WriteImage(mask, str(lab.masks / f"dx_{stem}_mask.nii.gz"))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 4
    assert said(row) == {
        "dx_wrong_mask.nii.gz": "dx_wrong_mask.nii.gz: spacing 0.5×0.5, image 0.25×0.2",
        "dx_imager_mask.nii.gz": "dx_imager_mask.nii.gz: spacing 0.5×0.5, image 0.25×0.2",
    }


MR = get_testdata_file("MR_small.dcm")  # 64×64, PixelSpacing 0.3125\0.3125


def mr_copy(path, label: np.ndarray | None = None, **attributes) -> None:
    """MR_small saved to `path`, its pixels replaced by `label` when given, `attributes` set
    (a value as a converter writes it: PixelSpacing "0.3125", one value)."""
    ds = pydicom.dcmread(MR)
    if label is not None:
        ds.PixelData = label.astype("<i2").tobytes()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


def test_a_pixel_spacing_of_one_value_is_read_for_both_axes(lab, upload, tmp_path):
    """Some converters write PixelSpacing with one value (VM 1), which pydicom gives as a
    number, not a list: the mask and the image are read (one value is both axes), never
    "unreadable" in Python's words; a mask of another one-value spacing is named for it."""
    label = np.zeros((64, 64), np.int16)
    label[20:40, 10:30] = 1
    mr_copy(images_dir(lab) / "a.dcm")
    mr_copy(lab.masks / "a_mask.dcm", label, PixelSpacing="0.3125")
    mr_copy(images_dir(lab) / "b.dcm", PixelSpacing="0.3125")
    mr_copy(lab.masks / "b_mask.dcm", label)
    mr_copy(images_dir(lab) / "c.dcm", PixelSpacing="0.3125")
    mr_copy(lab.masks / "c_mask.dcm", label, PixelSpacing="0.5")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3
    assert said(row) == {"c_mask.dcm": "c_mask.dcm: spacing 0.5×0.5, image 0.3125×0.3125"}


def test_geometry_attributes_of_odd_multiplicity_never_make_a_file_unreadable(tmp_path):
    """A radiograph's one-value ImagerPixelSpacing is both axes, as PixelSpacing's; an
    orientation of one value is none, a position of one is named as the origin it says (as one
    of two values is): the file is read."""
    radiograph(tmp_path / "dx.dcm")
    ds = pydicom.dcmread(tmp_path / "dx.dcm")
    ds.ImagerPixelSpacing = "0.2"
    ds.save_as(tmp_path / "dx.dcm", enforce_file_format=True)
    assert image_header(str(tmp_path / "dx.dcm"), "dx.dcm").spacing == (0.2, 0.2)
    mr_copy(tmp_path / "odd.dcm", ImageOrientationPatient="1", ImagePositionPatient="5")
    grid = image_header(str(tmp_path / "odd.dcm"), "odd.dcm")
    assert (grid.spacing, grid.origin, grid.direction) == ((0.3125, 0.3125), (5.0,), None)


HTJ2K_LOSSLESS = "1.2.840.10008.1.2.4.201"  # written by current dcmtk- and OpenJPH-based tools
MPEG2 = "1.2.840.10008.1.2.4.100"  # video: no pixel-data decoder for it exists in pydicom


def relabelled(path, syntax: str) -> None:
    """pydicom's MR_small_jp2klossless.dcm (a JPEG 2000 codestream, which HTJ2K decoders read)
    under another transfer syntax."""
    ds = pydicom.dcmread(get_testdata_file("MR_small_jp2klossless.dcm"))
    ds.file_meta.TransferSyntaxUID = syntax
    ds.save_as(path)


def test_pixel_data_no_decoder_here_reads_is_not_checked_never_a_problem(lab, upload, tmp_path):
    """A mask in a transfer syntax no decoder installed here reads is a limit of this server,
    not the annotator's fault: "contents not checked", said in words (no pip requirements), and
    the upload is usable; an image in it is read by its header, and its right mask passes."""
    label = np.zeros((64, 64), np.int16)
    label[20:40, 10:30] = 1
    mr_copy(images_dir(lab) / "a.dcm")
    relabelled(lab.masks / "a_mask.dcm", MPEG2)
    relabelled(images_dir(lab) / "b.dcm", MPEG2)
    mr_copy(lab.masks / "b_mask.dcm", label)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert (row["checked"], row["problems"]) == (2, 0)
    assert said(row) == {
        "a_mask.dcm": "a_mask.dcm: contents not checked (pixel data compressed as MPEG2 Main "
        "Profile / Main Level, which this check cannot read)"
    }
    upload_id = lab.work[MASK_CONTENT].find_one({})["_id"]
    assert not has_content_problem(content_summary(lab.work, upload_id))


def test_an_htj2k_mask_is_read_and_checked(lab, upload, tmp_path):
    """HTJ2K, as current dcmtk- and OpenJPH-based tools write it, is read (pylibjpeg-openjpeg):
    its values are checked against the labels (0, 1, 2 here) like any other mask's, here MR
    values that are no labels."""
    mr_copy(images_dir(lab) / "a.dcm")
    relabelled(lab.masks / "a_mask.dcm", HTJ2K_LOSSLESS)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert (row["checked"], row["problems"]) == (1, 1)
    [reason] = said(row).values()
    assert reason.startswith("a_mask.dcm: label ") and "not in 0,1,2" in reason


def newer_syntax_mask(path, syntax: str, frame: bytes) -> None:
    """MR_small as a mask whose one frame is `frame`, encapsulated under a transfer syntax the
    standard added after pydicom 3.0, which pydicom will not write: saved under one of the same
    length it knows, then that UID replaced in the file meta."""
    ds = pydicom.dcmread(MR)
    ds.PixelData = encapsulate([frame])
    known = {DEFLATED_FRAMES: JPEG_BASELINE, JPEG_XL_LOSSLESS: MPEG2}[syntax]
    ds.file_meta.TransferSyntaxUID = known
    written = io.BytesIO()
    ds.save_as(written, enforce_file_format=True)
    padded = [uid.encode() + b"\0" * (len(uid) % 2) for uid in (known, syntax)]
    data = written.getvalue()
    at = data.index(padded[0], 128)
    path.write_bytes(data[:at] + padded[1] + data[at + len(padded[1]) :])


DEFLATED_FRAMES = "1.2.840.10008.1.2.8.1"  # Deflated Image Frame Compression, DICOM 2024c
JPEG_XL_LOSSLESS = "1.2.840.10008.1.2.4.110"  # DICOM 2024b
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"


def deflated(label: np.ndarray) -> bytes:
    """A frame as the standard deflates it: raw deflate (RFC 1951), no zlib header."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(label.astype("<i2").tobytes()) + packer.flush()


def test_masks_in_syntaxes_newer_than_pydicom_are_read_or_not_checked(lab, upload, tmp_path):
    """Deflated Image Frame Compression (each frame deflated) is read and its values checked;
    JPEG XL, which no decoder here reads, is "contents not checked", as MPEG2 is: a standard
    transfer syntax pydicom does not know is never "unreadable"."""
    label = np.zeros((64, 64), np.int16)
    label[20:40, 10:30] = 1
    for stem in ("deflated", "deflated_label", "jpeg_xl"):
        mr_copy(images_dir(lab) / f"{stem}.dcm")
    newer_syntax_mask(lab.masks / "deflated_mask.dcm", DEFLATED_FRAMES, deflated(label))
    newer_syntax_mask(lab.masks / "deflated_label_mask.dcm", DEFLATED_FRAMES, deflated(label * 7))
    newer_syntax_mask(lab.masks / "jpeg_xl_mask.dcm", JPEG_XL_LOSSLESS, b"\xff\x0a" + bytes(64))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert (row["checked"], row["problems"]) == (3, 1)
    assert said(row) == {
        "deflated_label_mask.dcm": "deflated_label_mask.dcm: label 7 not in 0,1,2",
        "jpeg_xl_mask.dcm": "jpeg_xl_mask.dcm: contents not checked (pixel data compressed as "
        "JPEG XL Lossless, which this check cannot read)",
    }


def test_a_deflated_frame_that_inflates_past_its_declared_size_is_refused(lab, upload, tmp_path):
    """A deflated frame is inflated no further than its header's rows and columns allow: 20 MB
    of zeros deflate to about 20 KB, and inflating them whole would hold 20 MB per frame (a
    bomb of GBs in a few MB). Such a mask is unreadable; a right-sized one beside it is read."""
    label = np.zeros((64, 64), np.int16)
    label[20:40, 10:30] = 1
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = packer.compress(bytes(20_000_000)) + packer.flush()
    for stem in ("bomb", "fine"):
        mr_copy(images_dir(lab) / f"{stem}.dcm")
    newer_syntax_mask(lab.masks / "bomb_mask.dcm", DEFLATED_FRAMES, bomb)
    newer_syntax_mask(lab.masks / "fine_mask.dcm", DEFLATED_FRAMES, deflated(label))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert (row["checked"], row["problems"]) == (2, 1)
    [(name, reason)] = said(row).items()
    assert name == "bomb_mask.dcm" and "inflates past the 8192 bytes" in reason
