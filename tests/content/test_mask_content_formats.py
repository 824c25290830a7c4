"""Content checks of real medical files as the field's libraries write them: every format the
listing counts is read by its own library, a damaged file is unreadable (never a crash that
stops the run), and a grid is compared in the frame its format states."""

import gzip
import io
import shutil
import subprocess
from dataclasses import replace

import nibabel
import nrrd
import numpy as np
import pydicom
import pytest
import SimpleITK
from PIL import Image
from pydicom.data import get_testdata_file

from segcore.content.mask_content import describe
from segcore.content.mask_content_check import check_content
from segcore.images.batch_images import list_image_names
from segcore.masks.mask_check import verify
from segcore.store.schema import MASK_CONTENT
from tests.archives import archive_with
from tests.content.test_mask_content_archives import SIDE, checked, lab, png, said, square
from tests.masks_content_files import NIBABEL_DATA, nifti_like

__all__ = ["lab"]  # the fixture, shared


def images_dir(lab):
    folder = lab.settings.data_directory / "batch_1"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def zipped(lab, tmp_path) -> bytes:
    target = tmp_path / "m.zip"
    names = sorted(p.name for p in lab.masks.iterdir())
    subprocess.run(["zip", "-q", str(target), *names], cwd=lab.masks, check=True)
    return target.read_bytes()


def volume(shape=(7, 6, 5)) -> np.ndarray:
    data = np.zeros(shape, np.uint8)
    data[2:4, 2:4, 1:3] = 1
    return data


@pytest.mark.parametrize("tool", ["zip", "tar"])
def test_damaged_files_are_unreadable_and_the_check_goes_on(lab, upload, tmp_path, tool):
    images = images_dir(lab)
    for stem in ("zero", "cut", "corrupt", "dfl", "good"):
        shutil.copy(NIBABEL_DATA / "anatomical.nii", images / f"{stem}.nii")
    (images / "empty_image.nrrd").write_bytes(b"")  # a zero-byte image
    png(lab.masks / "empty_image_mask.png", square())
    (lab.masks / "zero_mask.nii.gz").write_bytes(b"")
    (lab.masks / "cut_mask.nii").write_bytes((NIBABEL_DATA / "anatomical.nii").read_bytes()[:200])
    good = gzip.compress((NIBABEL_DATA / "anatomical.nii").read_bytes())
    broken = good[:40] + bytes(b ^ 0x5A for b in good[40:80]) + good[80:]
    (lab.masks / "corrupt_mask.nii.gz").write_bytes(broken)  # a corrupt deflate stream
    dfl = open(get_testdata_file("image_dfl.dcm"), "rb").read()
    (lab.masks / "dfl_mask.dcm").write_bytes(dfl[: len(dfl) - 200])  # deflated DICOM, cut
    nifti_like(images / "good.nii", lab.masks / "good_mask.nii.gz")
    # In a tar.gz a corrupt member's deflate error used to end the whole upload there.
    if tool == "zip":
        data, name = zipped(lab, tmp_path), "batch_1.zip"
    else:
        subprocess.run(
            ["tar", "-czf", str(tmp_path / "m.tgz"), "-C", str(lab.masks), "."], check=True
        )
        data, name = (tmp_path / "m.tgz").read_bytes(), "batch_1.tar.gz"
    row = checked(lab, upload, name, data)
    shown = said(row)
    assert row["checked"] == 5 and not row["notes"], row
    for mask in ("cut_mask.nii", "corrupt_mask.nii.gz", "dfl_mask.dcm"):
        assert shown[mask].startswith(f"{mask}: unreadable"), shown
    assert "zero_mask.nii.gz" not in shown  # 0 bytes is no mask: its image counts as without one
    assert shown["empty_image_mask.png"].startswith(
        "empty_image_mask.png: its image cannot be read (not a readable NRRD file"
    )
    assert "good_mask.nii.gz" not in shown


def test_a_slicer_seg_nrrd_mask_is_read_as_nrrd(lab, upload, tmp_path):
    data = volume()
    image = SimpleITK.GetImageFromArray(data.astype(np.int16))
    image.SetSpacing((0.8, 0.9, 2.5))
    SimpleITK.WriteImage(image, str(images_dir(lab) / "CT_001.nii.gz"))
    mask = SimpleITK.GetImageFromArray(data)
    mask.CopyInformation(image)
    SimpleITK.WriteImage(mask, str(lab.masks / "CT_001.seg.nrrd"), True)
    moved = SimpleITK.GetImageFromArray(data)
    moved.CopyInformation(image)
    moved.SetOrigin((0.0, 0.0, 5.0))
    SimpleITK.WriteImage(image, str(images_dir(lab) / "CT_002.nii.gz"))
    SimpleITK.WriteImage(moved, str(lab.masks / "CT_002.seg.nrrd"), True)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 2
    assert said(row) == {
        "CT_002.seg.nrrd": "CT_002.seg.nrrd: origin 0.0×0.0×5.0, image 0.0×0.0×0.0"
    }


def test_an_nnunet_mask_is_opened_against_its_channel_image(lab, upload, tmp_path):
    nibabel.save(
        nibabel.Nifti1Image(np.ones((10, 10, 4), np.int16), np.eye(4)),
        images_dir(lab) / "case_0001_0000.nii.gz",
    )
    nibabel.save(
        nibabel.Nifti1Image(np.zeros((3, 3, 3), np.uint8), np.eye(4)),
        lab.masks / "case_0001.nii.gz",
    )
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 1
    assert set(said(row)) == {"case_0001.nii.gz"} and row["counts"]["wrong_size"] == 1


def test_numpy_masks_and_images_are_read_by_numpy(lab, upload, tmp_path):
    images = images_dir(lab)
    png(images / "a.png", np.full((12, 16), 90))
    png(images / "b.png", np.full((12, 16), 90))
    np.save(images / "c.npy", np.ones((12, 16), np.uint8))
    mask = np.zeros((12, 16), np.uint8)
    mask[2:5, 3:7] = 1
    np.save(lab.masks / "a_mask.npy", mask)
    np.savez_compressed(lab.masks / "b_mask.npz", np.zeros((12, 16), np.uint8))
    wrong = np.zeros((13, 16))
    wrong[1, 1] = 1
    png(lab.masks / "c_mask.png", wrong)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3
    assert said(row) == {
        "b_mask.npz": "b_mask.npz: empty",
        "c_mask.png": "c_mask.png: 16×13, image 16×12",
    }


def test_numpy_arrays_that_are_no_mask_are_said_in_words(lab, upload, tmp_path):
    """A saved number (`np.array(3)`), complex values or records are no label mask: said so,
    never with Python's error text nor an empty size; a 0-dimensional image likewise."""
    for stem in ("a", "b", "c", "d"):
        png(images_dir(lab) / f"{stem}.png", np.full((20, 24), 90))
    np.save(images_dir(lab) / "e.npy", np.array(7))
    np.save(lab.masks / "a_mask.npy", np.zeros((20, 24), complex))
    np.save(lab.masks / "b_mask.npy", np.array(3))
    np.save(lab.masks / "c_mask.npy", np.zeros((20, 24), dtype=[("x", "u1"), ("y", "u1")]))
    np.save(lab.masks / "d_mask.npy", np.full((20, 24), "1"))
    np.save(lab.masks / "e_mask.npy", square(1))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    odd = "unreadable (not an image mask: values of type {} that no mask holds)"
    assert said(row) == {
        "a_mask.npy": "a_mask.npy: " + odd.format("complex128"),
        "b_mask.npy": "b_mask.npy: unreadable (not an image mask: a 0-dimensional array)",
        "c_mask.npy": "c_mask.npy: " + odd.format("void16"),
        "d_mask.npy": "d_mask.npy: " + odd.format("str32"),
        "e_mask.npy": "e_mask.npy: its image cannot be read (not an image: a 0-dimensional array)",
    }


@pytest.mark.parametrize(
    "filename", ["MR_small_jpeg_ls_lossless.dcm", "JPGExtended.dcm", "MR_small_RLE.dcm"]
)
def test_compressed_dicom_masks_are_decoded(lab, upload, tmp_path, filename):
    shutil.copy(get_testdata_file(filename), images_dir(lab) / "mr.dcm")
    shutil.copy(get_testdata_file(filename), lab.masks / "mr_mask.dcm")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 1 and row["counts"]["unreadable"] == 0, said(row)


def test_an_nrrd_grid_is_read_in_the_space_it_names(lab, upload, tmp_path):
    data = volume()
    spacing, origin = np.diag([0.8, 0.9, 2.5]), np.array([10.5, -20.25, 30.0])
    ras = np.diag([-0.8, -0.9, 2.5, 1.0])
    ras[:3, 3] = origin * [-1, -1, 1]
    for stem, space, flip in (
        ("a", "left-posterior-superior", [1, 1, 1]),
        ("b", "right-anterior-superior", [-1, -1, 1]),
        ("c", "left-anterior-superior", [1, -1, 1]),
        ("d", "LAS", [1, -1, 1]),
    ):
        nibabel.save(
            nibabel.Nifti1Image(np.ones((7, 6, 5), np.int16), ras),
            images_dir(lab) / f"{stem}.nii.gz",
        )
        flip = np.array(flip, float)
        nrrd.write(
            str(lab.masks / f"{stem}_mask.nrrd"),
            data,
            {"space": space, "space directions": spacing * flip, "space origin": origin * flip},
        )
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 4 and said(row) == {}  # one grid, written in four frames


def test_a_mask_of_several_volumes_is_not_the_mask_of_one(lab, upload, tmp_path):
    nibabel.save(
        nibabel.Nifti1Image(np.ones((10, 12, 5), np.int16), np.eye(4)), images_dir(lab) / "a.nii.gz"
    )
    nibabel.save(
        nibabel.Nifti1Image(np.ones((10, 12, 5), np.int16), np.eye(4)), images_dir(lab) / "b.nii.gz"
    )
    nibabel.save(
        nibabel.Nifti1Image(np.ones((10, 12, 5, 3), np.uint8), np.eye(4)),
        lab.masks / "a_mask.nii.gz",
    )
    nibabel.save(
        nibabel.Nifti1Image(np.ones((10, 12, 5, 1), np.uint8), np.eye(4)),
        lab.masks / "b_mask.nii.gz",
    )
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert said(row) == {"a_mask.nii.gz": "a_mask.nii.gz: 10×12×5×3, image 10×12×5"}


def test_a_mask_of_a_single_slice_series_is_one_of_its_volumes(lab, upload, tmp_path):
    """A cine slice (64×48×1, 10 frames) is masked by one 64×48 slice, as a 3-slice series by
    one 3-slice volume; a mask of two slices is not the mask of one."""
    affine = np.diag([0.8, 0.8, 5.0, 1.0])
    for stem, slices in (("one", 1), ("three", 3), ("two", 1)):
        series = np.ones((64, 48, slices, 10), np.int16)
        nibabel.save(nibabel.Nifti1Image(series, affine), images_dir(lab) / f"{stem}.nii.gz")
        mask = np.zeros((64, 48, slices if stem != "two" else 2), np.uint8)
        mask[10:20, 10:20] = 1
        nibabel.save(nibabel.Nifti1Image(mask, affine), lab.masks / f"{stem}_mask.nii.gz")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3
    assert said(row) == {"two_mask.nii.gz": "two_mask.nii.gz: 64×48×2, image 64×48×1×10"}


def test_a_nifti_mask_without_orientation_is_compared_by_size_and_spacing(lab, upload, tmp_path):
    affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    affine[:3, 3] = [4.5, 5.5, -2.0]
    nibabel.save(
        nibabel.Nifti1Image(np.ones((10, 12, 5), np.int16), affine), images_dir(lab) / "a.nii.gz"
    )
    bare = nibabel.Nifti1Image(volume((10, 12, 5)), None)  # qform and sform codes 0
    bare.header.set_zooms((1.0, 1.0, 1.0))
    nibabel.save(bare, lab.masks / "a_mask.nii.gz")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 1 and said(row) == {}


def test_nifti_spacing_is_compared_in_mm_whatever_unit_the_header_names(lab, upload, tmp_path):
    """Images in microns and meters, their masks written by SimpleITK (in mm, as Slicer and
    ITK-SNAP write them) pass; a mask in mm of the same numbers as an image in microns is
    named."""
    for stem, unit in (("micron", "micron"), ("meter", "meter"), ("numbers", "micron")):
        image = nibabel.Nifti1Image(np.ones((10, 8, 4), np.int16), np.diag([0.5, 0.5, 2.0, 1]))
        image.header.set_xyzt_units(unit)
        nibabel.save(image, images_dir(lab) / f"{stem}.nii.gz")
        if stem == "numbers":
            mask = nibabel.Nifti1Image(volume((10, 8, 4)), image.affine)  # in mm
            nibabel.save(mask, lab.masks / "numbers_mask.nii")
            continue
        grid = SimpleITK.ReadImage(str(images_dir(lab) / f"{stem}.nii.gz"))
        mask = SimpleITK.GetImageFromArray(np.transpose(volume((10, 8, 4)), (2, 1, 0)).copy())
        mask.CopyInformation(grid)
        SimpleITK.WriteImage(mask, str(lab.masks / f"{stem}_mask.nii.gz"))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3
    assert said(row) == {
        "numbers_mask.nii": "numbers_mask.nii: spacing 0.5×0.5×2.0, image 0.0005×0.0005×0.002"
    }


def test_nan_in_a_float_mask_is_named_as_a_value(lab, upload, tmp_path):
    nibabel.save(
        nibabel.Nifti1Image(np.ones((6, 6, 3), np.int16), np.eye(4)), images_dir(lab) / "a.nii.gz"
    )
    mask = volume((6, 6, 3)).astype(np.float32)
    mask[0, 0, 0] = np.nan
    nibabel.save(nibabel.Nifti1Image(mask, np.eye(4)), lab.masks / "a_mask.nii.gz")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert said(row) == {"a_mask.nii.gz": "a_mask.nii.gz: label nan not in 0,1,2"}


def test_a_16_bit_colour_mask_keeps_its_labels(lab, upload, tmp_path):
    images = images_dir(lab)
    png(images / "rgb.png", np.full((SIDE, SIDE), 90))
    labels = np.zeros((SIDE, SIDE), np.uint16)
    labels[1:3, 1:3], labels[4, 4] = 1, 2
    rgb = SimpleITK.GetImageFromArray(np.stack([labels] * 3, axis=-1), isVector=True)
    SimpleITK.WriteImage(rgb, str(lab.masks / "rgb_mask.png"))  # 16 bits per channel
    assert Image.open(lab.masks / "rgb_mask.png").mode == "RGB"  # Pillow keeps 8 of them
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 1 and said(row) == {}  # not "empty": labels 1 and 2 are there


def test_a_1_bit_mask_is_off_and_on_whichever_labels_are_agreed(lab, upload, tmp_path):
    """A black-and-white mask saved in 1 bit (PNG, Group 4 TIFF, BMP; read as 0 and 1) passes
    with labels 0,255 as in 8 bits; an 8-bit mask of 0 and 1 is still not one of 0 and 255."""
    lab.settings = replace(lab.settings, mask_labels=(0.0, 255.0))
    lab.images("bw_png", "bw_tif", "bw_bmp", "grey")
    white = Image.fromarray(square(255))
    white.convert("1").save(lab.masks / "bw_png_mask.png")
    white.convert("1").save(lab.masks / "bw_tif_mask.tif", compression="group4")
    white.convert("1").save(lab.masks / "bw_bmp_mask.bmp")
    png(lab.masks / "grey_mask.png", square(1))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 4
    assert said(row) == {"grey_mask.png": "grey_mask.png: label 1 not in 0,255"}


def test_dicom_files_named_dicom_or_ima_are_images(tmp_path):
    for name in ("chest_0001.dicom", "MR.0001.0001.IMA", "IM_0001"):
        shutil.copy(get_testdata_file("CT_small.dcm"), tmp_path / name)
    (tmp_path / "notes.dicom").write_text("not DICOM")
    assert list_image_names(tmp_path) == ["IM_0001", "MR.0001.0001.IMA", "chest_0001.dicom"]


def test_a_dicom_image_named_dicom_is_matched_and_opened(lab, upload, tmp_path):
    shutil.copy(get_testdata_file("CT_small.dcm"), images_dir(lab) / "chest_0001.dicom")
    shutil.copy(get_testdata_file("CT_small.dcm"), lab.masks / "chest_0001_mask.dcm")
    upload("batch_1.zip", zipped(lab, tmp_path))
    report = verify(lab, ["batch_1"])
    assert report.batches[0]["state"] == "complete"
    row = check_content(lab, ["batch_1"]).by_batch()["batch_1"]
    assert row["checked"] == 1 and row["counts"]["unreadable"] == 0


def itk_2d(path, array, origin=(-12.0, 30.0), spacing=(0.5, 0.7)) -> None:
    """A 2D image written by SimpleITK (as an X-ray pipeline writes NRRD, MHA or NIfTI)."""
    image = SimpleITK.GetImageFromArray(np.asarray(array, np.uint8))
    image.SetOrigin(origin)
    image.SetSpacing(spacing)
    SimpleITK.WriteImage(image, str(path))


def test_2d_grids_match_across_formats_and_in_any_case(lab, upload, tmp_path):
    """One 2D grid as SimpleITK writes it in NRRD (no space: ITK's frame), MHA (an upper-case
    name too) and NIfTI (a third origin value of 0): the right masks pass, a wrong one is named."""
    images = images_dir(lab)
    shape = (48, 64)
    for stem, ending in (("a", ".nrrd"), ("b", ".MHA"), ("c", ".nii.gz"), ("d", ".nrrd")):
        itk_2d(images / f"{stem}.tmp{ending.lower()}", np.full(shape, 90))
        (images / f"{stem}.tmp{ending.lower()}").rename(images / f"{stem}{ending}")
    mask = np.zeros(shape)
    mask[10:20, 10:20] = 1
    itk_2d(lab.masks / "a_mask.nrrd", mask)
    itk_2d(lab.masks / "b_mask.nii.gz", mask)
    itk_2d(lab.masks / "c_mask.mha", mask)
    itk_2d(lab.masks / "d_mask.mha", mask, origin=(-2.0, 30.0))  # 10 mm off
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 4
    assert said(row) == {"d_mask.mha": "d_mask.mha: origin -2.0×30.0, image -12.0×30.0×0.0"}


def test_a_dicom_seg_grid_is_read_from_its_functional_groups(lab, upload, tmp_path):
    """An enhanced multi-frame object keeps spacing, orientation and position in its
    functional groups: a SEG 50 mm off at half the spacing is named."""
    import pydicom
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    image = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    shutil.copyfile(get_testdata_file("CT_small.dcm"), images_dir(lab) / "ct.dcm")
    seg = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    for keyword in ("PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient"):
        delattr(seg, keyword)
    measures, orientation, position = Dataset(), Dataset(), Dataset()
    measures.PixelSpacing = [float(v) / 2 for v in image.PixelSpacing]
    orientation.ImageOrientationPatient = image.ImageOrientationPatient
    position.ImagePositionPatient = [float(v) - 50 for v in image.ImagePositionPatient]
    shared, frame = Dataset(), Dataset()
    shared.PixelMeasuresSequence = Sequence([measures])
    shared.PlaneOrientationSequence = Sequence([orientation])
    frame.PlanePositionSequence = Sequence([position])
    seg.SharedFunctionalGroupsSequence = Sequence([shared])
    seg.PerFrameFunctionalGroupsSequence = Sequence([frame])
    seg.NumberOfFrames = 1
    seg.save_as(lab.masks / "ct_seg.dcm")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert {o["code"] for o in row["offenders"]} >= {"spacing", "origin"}


def test_float_noise_on_a_label_is_that_label(lab, upload, tmp_path):
    """uint8 255 with scl_slope 1/255 reads as 1.0000000591: label 1. A value truly off is
    shown as it is, never rounded to look like a label."""
    nibabel.save(
        nibabel.Nifti1Image(np.ones((6, 6, 3), np.int16), np.eye(4)), images_dir(lab) / "a.nii.gz"
    )
    nibabel.save(
        nibabel.Nifti1Image(np.ones((6, 6, 3), np.int16), np.eye(4)), images_dir(lab) / "b.nii.gz"
    )
    scaled = nibabel.Nifti1Image(volume((6, 6, 3)) * 255, np.eye(4))
    scaled.header.set_slope_inter(1 / 255, 0)
    nibabel.save(scaled, lab.masks / "a_mask.nii.gz")
    off = volume((6, 6, 3)).astype(np.float32) * np.float32(1.0002)
    nibabel.save(nibabel.Nifti1Image(off, np.eye(4)), lab.masks / "b_mask.nii.gz")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert said(row) == {"b_mask.nii.gz": "b_mask.nii.gz: label 1.000200033 not in 0,1,2"}


def test_an_unreadable_png_is_said_without_python_object_names(lab, upload, tmp_path):
    lab.images("x")
    (lab.masks / "x_mask.png").write_bytes(b"not a png at all")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    [reason] = [o["params"]["reason"] for o in row["offenders"]]
    assert "0x" not in reason and "object" not in reason, reason


def test_a_dicom_no_plugin_decodes_is_said_with_each_plugins_reason(lab, upload, tmp_path):
    """pydicom names the reasons on the lines after "raised by all available plugins:": the
    reason keeps them (here pylibjpeg's, a 12-bit JPEG frame cut before its start marker, and
    Pillow's: 12-bit JPEG Extended)."""
    from pydicom.encaps import encapsulate, generate_frames

    ds = pydicom.dcmread(get_testdata_file("JPGExtended.dcm"))
    [frame] = generate_frames(ds.PixelData, number_of_frames=1)
    shutil.copy(get_testdata_file("JPGExtended.dcm"), images_dir(lab) / "ct_001.dcm")
    ds.PixelData = encapsulate([frame[2:]])
    ds.save_as(lab.masks / "ct_001_mask.dcm")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    [shown] = said(row).values()
    assert shown.startswith("ct_001_mask.dcm: unreadable (not a readable DICOM file (Unable to")
    assert "pylibjpeg: libjpeg error code" in shown and "SOI marker missing" in shown
    assert "pillow: Pillow does not support 'JPEG Extended' for samples with 12-bit" in shown


def test_float_noise_around_0_is_background(lab, upload, tmp_path):
    """What a linear resampling leaves around 0 (±1e-6) is label 0, so not drawn: a mask of
    nothing else is empty, and one of 5 drawn voxels in it too small (it passed as drawn)."""
    lab.settings = replace(lab.settings, mask_min_pixels=10)
    noise = (np.random.RandomState(0).uniform(-1, 1, (8, 6, 4)) * 1e-6).astype(np.float32)
    five = np.zeros((8, 6, 4), np.float32)
    five[2, 2, :] = 1.0
    five[3, 3, 0] = 1.0
    for stem, mask in (("noise", noise), ("five", five + noise)):
        nibabel.save(
            nibabel.Nifti1Image(np.ones((8, 6, 4), np.int16), np.eye(4)),
            images_dir(lab) / f"{stem}.nii.gz",
        )
        nibabel.save(nibabel.Nifti1Image(mask, np.eye(4)), lab.masks / f"{stem}_mask.nii.gz")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert said(row) == {
        "noise_mask.nii.gz": "noise_mask.nii.gz: empty",
        "five_mask.nii.gz": "five_mask.nii.gz: 5 non-zero pixels, fewer than 10",
    }


def registered(path, sform_code: int) -> None:
    """A NIfTI as FSL or ANTs leave one after a registration: its qform in the scanner's frame
    (code 1), its sform, rotated and moved, in another (`sform_code`)."""
    qform = np.diag([1.0, 1.0, 2.0, 1.0])
    qform[:3, 3] = [-20, -25, -30]
    cos, sin = np.cos(0.1), np.sin(0.1)
    sform = np.array([[cos, -sin, 0, -18], [sin, cos, 0, -20], [0, 0, 1, -28], [0, 0, 0, 1]])
    image = nibabel.Nifti1Image(np.ones((10, 12, 6), np.int16), None)
    image.set_qform(qform, 1)
    image.set_sform(sform @ np.diag([1, 1, 2, 1]), sform_code)
    nibabel.save(image, path)


def test_a_mask_in_either_frame_of_a_registered_nifti_fits_it(lab, upload, tmp_path):
    """ITK-SNAP, 3D Slicer and SimpleITK read an image whose qform and sform differ by its
    qform and save their masks in it; nibabel reads it by its sform: a mask matching either
    is right, one matching neither is named (by the sform's origin)."""
    images = images_dir(lab)
    for stem, code in (("mni", 4), ("aligned", 2), ("nibabel", 4), ("moved", 4)):
        registered(images / f"{stem}.nii.gz", code)
    for stem in ("mni", "aligned"):  # what the ITK-based tools save
        grid = SimpleITK.ReadImage(str(images / f"{stem}.nii.gz"))
        mask = SimpleITK.Cast(grid > 0, SimpleITK.sitkUInt8)
        SimpleITK.WriteImage(mask, str(lab.masks / f"{stem}_mask.nii.gz"))
    image = nibabel.load(images / "nibabel.nii.gz")  # what nibabel saves: the header copied
    nibabel.save(
        nibabel.Nifti1Image(volume((10, 12, 6)), None, image.header),
        lab.masks / "nibabel_mask.nii.gz",
    )
    moved = SimpleITK.ReadImage(str(images / "moved.nii.gz"))
    moved.SetOrigin(tuple(v + 5.0 for v in moved.GetOrigin()))
    SimpleITK.WriteImage(
        SimpleITK.Cast(moved > 0, SimpleITK.sitkUInt8), str(lab.masks / "moved_mask.nii.gz")
    )
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 4 and row["problems"] == 1
    assert [describe(o) for o in row["offenders"]] == [
        "moved_mask.nii.gz: origin 25.0×30.0×-25.0, image 18.0×20.0×-28.0",
        "moved_mask.nii.gz: direction -1.0×-0.0×0.0×-0.0×-1.0×0.0×0.0×0.0×1.0, "
        "image -0.995×0.09983×-0.0×-0.09983×-0.995×-0.0×0.0×0.0×1.0",
    ]


def test_a_mask_whose_image_cannot_be_read_is_still_checked(lab, upload, tmp_path):
    """Emptiness, labels and readability do not depend on the image: a mask of an image saved
    without its DICOM file header, or deleted since it was listed, used to get the note alone,
    and its batch counted as delivered."""
    images = images_dir(lab)
    headerless = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    del headerless.file_meta
    headerless.preamble = None
    for stem in ("empty", "seven", "corrupt"):
        headerless.save_as(images / f"{stem}.dcm", enforce_file_format=False, implicit_vr=True)
    lab.images("gone")
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ds.RescaleIntercept = 0
    for stem, value in (("empty", 0), ("seven", 7)):
        label = np.zeros((128, 128), np.int16)
        label[40:80, 30:90] = value
        ds.PixelData = label.tobytes()
        buffer = io.BytesIO()
        ds.save_as(buffer)
        (lab.masks / f"{stem}_mask.dcm").write_bytes(buffer.getvalue())
    (lab.masks / "corrupt_mask.dcm").write_bytes(b"this is not a dicom file at all" * 10)
    png(lab.masks / "gone_mask.png", np.zeros((SIDE, SIDE)))
    upload("batch_1.zip", zipped(lab, tmp_path), chunk_size=4096)
    verify(lab, ["batch_1"])
    (images / "gone.png").unlink()  # deleted after the listing
    row = check_content(lab, ["batch_1"]).by_batch()["batch_1"]
    shown = sorted(describe(o) for o in row["offenders"])
    header = (
        "not a readable DICOM file (saved without its DICOM file header: no preamble, no 'DICM')"
    )
    assert shown == [
        "corrupt_mask.dcm: its image cannot be read (" + header + ")",
        "corrupt_mask.dcm: unreadable (not a readable DICOM file (not DICOM data: no 'DICM' header))",
        "empty_mask.dcm: empty",
        "empty_mask.dcm: its image cannot be read (" + header + ")",
        "gone_mask.png: empty",
        "gone_mask.png: its image cannot be read (no longer in the batch's folder)",
        "seven_mask.dcm: its image cannot be read (" + header + ")",
        "seven_mask.dcm: label 7 not in 0,1,2",
    ]
    assert row["problems"] == 4 and row["counts"]["empty"] == 2


def test_a_mask_whose_image_has_no_reader_is_still_checked(lab, upload, tmp_path):
    """WebP and JPEG 2000 images (extensions a team adds to MASK_EXTENSIONS, no reader here)
    are images that cannot be read: their masks are still checked for their own problems. They
    used to get the note "contents not checked" alone, under the mask's name, and counted as
    usable. A mask of such an extension itself keeps that note."""
    lab.settings = replace(
        lab.settings, mask_extensions=(*lab.settings.mask_extensions, ".webp", ".jp2", ".xyz")
    )
    images = images_dir(lab)
    Image.fromarray(np.full((SIDE, SIDE), 90, np.uint8)).save(images / "empty.webp")
    Image.fromarray(np.full((SIDE, SIDE), 90, np.uint8)).save(images / "seven.jp2")
    lab.images("own")
    png(lab.masks / "empty_mask.png", np.zeros((SIDE, SIDE)))
    png(lab.masks / "seven_mask.png", square(7))
    (lab.masks / "own_mask.xyz").write_bytes(b"what the lab's own tool writes")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert sorted(describe(o) for o in row["offenders"]) == [
        "empty_mask.png: empty",
        "empty_mask.png: its image cannot be read (no reader for .webp files)",
        "own_mask.xyz: contents not checked (no reader for .xyz files)",
        "seven_mask.png: its image cannot be read (no reader for .jp2 files)",
        "seven_mask.png: label 7 not in 0,1,2",
    ]
    assert row["problems"] == 2


def test_a_detached_nrrd_is_read_by_its_header_as_a_mask_and_as_an_image(lab, upload, tmp_path):
    """ITK's detached NRRD (`.nhdr`, its values in `.raw.gz` or `.raw`), added to
    MASK_EXTENSIONS: a mask's size is checked from its header, as a `.mhd`'s, and an image's
    grid is read from its header. Both used to be "contents not checked (no reader for .nhdr
    files)": a mask of the wrong size, or of the wrong spacing for its image, was usable."""
    lab.settings = replace(lab.settings, mask_extensions=(*lab.settings.mask_extensions, ".nhdr"))
    images = images_dir(lab)
    image = SimpleITK.GetImageFromArray(np.zeros((10, 30, 40), np.int16))
    image.SetSpacing((0.7, 0.9, 2.5))
    SimpleITK.WriteImage(image, str(images / "case.nii.gz"))
    SimpleITK.WriteImage(image, str(images / "scan.nhdr"))  # and scan.raw beside it
    wrong = SimpleITK.GetImageFromArray(np.ones((10, 40, 30), np.uint8))
    wrong.SetSpacing((0.7, 0.9, 2.5))
    SimpleITK.WriteImage(wrong, str(lab.masks / "case_mask.nhdr"), True)  # case_mask.raw.gz
    coarse = SimpleITK.GetImageFromArray(volume((10, 30, 40)))
    coarse.SetSpacing((1.0, 1.0, 2.5))
    SimpleITK.WriteImage(coarse, str(lab.masks / "scan_mask.nrrd"))
    assert sorted(p.name for p in lab.masks.iterdir())[:2] == ["case_mask.nhdr", "case_mask.raw.gz"]
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert sorted(describe(o) for o in row["offenders"]) == [
        "case_mask.nhdr: 30×40×10, image 40×30×10",
        "case_mask.nhdr: its values are in a separate file: size checked from the header only",
        "scan_mask.nrrd: spacing 1.0×1.0×2.5, image 0.7×0.9×2.5",
    ]
    assert row["problems"] == 2 and row["header_only"] == 1


def test_results_stored_by_version_6_are_checked_again(lab, upload, tmp_path):
    """Version 6 passed a mask whose image no reader knows: its stored result is read again."""
    lab.settings = replace(lab.settings, mask_extensions=(*lab.settings.mask_extensions, ".webp"))
    Image.fromarray(np.full((SIDE, SIDE), 90, np.uint8)).save(images_dir(lab) / "a.webp")
    png(lab.masks / "a_mask.png", np.zeros((SIDE, SIDE)))
    checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    lab.work[MASK_CONTENT].update_many({}, {"$set": {"version": 6}})
    assert check_content(lab, ["batch_1"]).checked_uploads == 1


def test_a_numpy_mask_is_read_in_the_axis_order_of_its_images_reader(lab, upload, tmp_path):
    """A `.npy` says nothing of its axis order: it is compared as the image's reader gives
    its array, nibabel's (x, y, z) for a NIfTI (`np.save(m, nib.load(img).get_fdata() > t)`),
    SimpleITK's (z, y, x) for a MetaImage, Pillow's (rows, columns) for a PNG. It used to be
    read rows first whatever the image, so a nibabel mask of its NIfTI was the wrong size."""
    images = images_dir(lab)
    shutil.copy(NIBABEL_DATA / "anatomical.nii", images / "anat.nii")
    shutil.copy(NIBABEL_DATA / "anatomical.nii", images / "swapped.nii")
    anat = nibabel.load(images / "anat.nii").get_fdata()
    assert anat.shape == (33, 41, 25)
    np.save(lab.masks / "anat_mask.npy", (anat > np.percentile(anat, 90)).astype(np.uint8))
    np.save(lab.masks / "swapped_mask.npy", np.ones((41, 33, 25), np.uint8))
    volume_image = SimpleITK.GetImageFromArray(np.zeros((5, 6, 7), np.int16))  # 7×6×5
    SimpleITK.WriteImage(volume_image, str(images / "ct.mha"))
    itk_mask = SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(str(images / "ct.mha"))) * 0 + 1
    np.save(lab.masks / "ct_mask.npy", itk_mask.astype(np.uint8))
    png(images / "photo.png", np.full((12, 16), 90))
    np.save(lab.masks / "photo_mask.npy", np.asarray(Image.open(images / "photo.png")) > 0)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 4
    assert said(row) == {"swapped_mask.npy": "swapped_mask.npy: 41×33×25, image 33×41×25"}


def test_a_detached_header_uploaded_without_its_data_is_no_mask(lab, upload, tmp_path):
    """An `.mhd` (or an `.nhdr` added to MASK_EXTENSIONS) holds only a header: uploaded
    without the data file it names (SimpleITK's `.raw`), it holds no mask at all, and is
    unreadable, whichever archive holds it (zip, tar); with its data file beside it, its size
    is checked from its header, as before."""
    lab.settings = replace(lab.settings, mask_extensions=(*lab.settings.mask_extensions, ".nhdr"))
    images = images_dir(lab)
    grid = np.zeros((4, 10, 10), np.int16)
    for stem in ("whole", "bare", "bare_nrrd"):
        SimpleITK.WriteImage(SimpleITK.GetImageFromArray(grid), str(images / f"{stem}.mha"))
    drawn = SimpleITK.GetImageFromArray(volume((4, 10, 10)))
    SimpleITK.WriteImage(drawn, str(lab.masks / "whole_mask.mhd"))  # and whole_mask.raw
    SimpleITK.WriteImage(drawn, str(lab.masks / "bare_mask.mhd"))
    SimpleITK.WriteImage(drawn, str(lab.masks / "bare_nrrd_mask.nhdr"))
    (lab.masks / "bare_mask.raw").unlink()
    (lab.masks / "bare_nrrd_mask.raw").unlink()
    for kind, data in (
        ("zip", zipped(lab, tmp_path)),
        ("tar", archive_with("tar", lab.masks, tmp_path / "m.tar.gz", "-czf")),
    ):
        row = checked(lab, upload, f"batch_1.{kind}", data)
        assert sorted(describe(o) for o in row["offenders"]) == [
            "bare_mask.mhd: unreadable (a header without its data: bare_mask.raw is not in the "
            "upload)",
            "bare_nrrd_mask.nhdr: unreadable (a header without its data: bare_nrrd_mask.raw is "
            "not in the upload)",
            "whole_mask.mhd: its values are in a separate file: size checked from the header only",
        ], kind
        assert row["counts"]["unreadable"] == 2


def test_a_nifti_is_compressed_or_not_as_its_first_bytes_say(lab, upload, tmp_path):
    """A `.nii.gz` saved without compression (SimpleITK, so ITK-SNAP and 3D Slicer, open it)
    is read as the NIfTI it is, as a mask and as an image (its wrong-size mask named); a `.nii`
    holding gzip data, which none of them opens, is unreadable in words, never in Python's."""
    images = images_dir(lab)
    affine = np.diag([1.0, 1.0, 2.0, 1.0])
    scan = nibabel.Nifti1Image(np.arange(400, dtype=np.int16).reshape(10, 10, 4), affine)
    drawn = nibabel.Nifti1Image(volume((10, 10, 4)), affine)
    nibabel.save(scan, images / "plain.nii.gz")  # compressed, as its name says
    (images / "stored.nii.gz").write_bytes(scan.to_bytes())  # named .gz, not compressed
    nibabel.save(scan, images / "misnamed.nii.gz")
    (lab.masks / "plain_mask.nii.gz").write_bytes(drawn.to_bytes())
    short = nibabel.Nifti1Image(volume((10, 10, 3)), affine)
    (lab.masks / "stored_mask.nii.gz").write_bytes(gzip.compress(short.to_bytes()))
    (lab.masks / "misnamed_mask.nii").write_bytes(gzip.compress(drawn.to_bytes()))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3
    assert said(row) == {
        "stored_mask.nii.gz": "stored_mask.nii.gz: 10×10×3, image 10×10×4",
        "misnamed_mask.nii": "misnamed_mask.nii: unreadable (not a readable NIfTI file "
        "(gzip-compressed, but named .nii, not .nii.gz: NIfTI readers do not open it))",
    }


def test_a_mask_renamed_by_hand_is_said_to_hold_what_it_holds(lab, upload, tmp_path):
    """A PNG saved as `.npy` or `.nii.gz`, a DICOM as `.nii`: unreadable, saying what the file
    holds, never the words of the library asked to read it as something else (NumPy's "pickled
    (object) data ... load it unsafely using allow_pickle", Python's bytes)."""
    lab.images("png_npy", "png_nii", "dicom_nii")
    png(tmp_path / "drawn.png", square())
    shutil.copy(tmp_path / "drawn.png", lab.masks / "png_npy_mask.npy")
    shutil.copy(tmp_path / "drawn.png", lab.masks / "png_nii_mask.nii.gz")
    shutil.copy(get_testdata_file("MR_small.dcm"), lab.masks / "dicom_nii_mask.nii")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3
    assert said(row) == {
        "png_npy_mask.npy": "png_npy_mask.npy: unreadable (not a readable NumPy file (it holds "
        "PNG data, not what its name says))",
        "png_nii_mask.nii.gz": "png_nii_mask.nii.gz: unreadable (not a readable NIfTI file (it "
        "holds PNG data, not what its name says))",
        "dicom_nii_mask.nii": "dicom_nii_mask.nii: unreadable (not a readable NIfTI file (it "
        "holds DICOM data, not what its name says))",
    }
