"""Masks of multi-frame DICOM images (an enhanced MR built from pydicom's MR_small.dcm, pydicom's
RT Dose rtdose.dcm) as ITK-based tools save them: the slices' spacing is part of the grid, and
a volume stored from its highest slice down is the grid ITK reads."""

import shutil

import numpy as np
import SimpleITK
from pydicom.data import get_testdata_file

from tests.content.test_mask_content_archives import checked, lab
from tests.content.test_mask_content_formats import images_dir, zipped
from tests.dicom_seg import enhanced_image, slice_position

__all__ = ["lab"]  # the fixture, shared


def itk_mask(image_path, target, slice_spacing: float | None = None) -> None:
    """The mask ITK-SNAP, 3D Slicer or SimpleITK saves on `image_path`: the image's own grid
    (CopyInformation), one square drawn; `slice_spacing` resamples its slices' spacing."""
    image = SimpleITK.ReadImage(str(image_path))
    drawn = np.zeros(SimpleITK.GetArrayFromImage(image).shape, np.uint8)
    drawn[1, 2:6, 2:6] = 1
    mask = SimpleITK.GetImageFromArray(drawn)
    mask.CopyInformation(image)
    if slice_spacing is not None:
        mask.SetSpacing((*image.GetSpacing()[:2], slice_spacing))
    SimpleITK.WriteImage(mask, str(target))


def spacing_said(row) -> dict[str, tuple]:
    return {
        o["name"]: (o["params"]["mask"], o["params"]["image"])
        for o in row["offenders"]
        if o["code"] == "spacing"
    }


def test_a_mask_of_other_slice_spacing_than_its_multi_frame_image_is_named(lab, upload, tmp_path):
    """An enhanced MR of 3 frames 5 mm apart and an RT Dose of 15 frames 5 mm apart (its
    GridFrameOffsetVector): ITK's own masks pass, the same masks resampled to other slices
    (and an enhanced MR mask whose frames are 8 mm apart) are named with all three spacings."""
    folder = images_dir(lab)
    for stem in ("mr_right", "mr_thick", "mr_frames"):
        enhanced_image(folder / f"{stem}.dcm", [slice_position(i) for i in range(3)])
    for stem in ("dose_right", "dose_thick"):
        shutil.copy(get_testdata_file("rtdose.dcm"), folder / f"{stem}.dcm")
    itk_mask(folder / "mr_right.dcm", lab.masks / "mr_right_mask.nii.gz")
    itk_mask(folder / "mr_thick.dcm", lab.masks / "mr_thick_mask.nii.gz", slice_spacing=8.0)
    enhanced_image(lab.masks / "mr_frames_mask.dcm", [slice_position(i, 8.0) for i in range(3)])
    itk_mask(folder / "dose_right.dcm", lab.masks / "dose_right_mask.nrrd")
    itk_mask(folder / "dose_thick.dcm", lab.masks / "dose_thick_mask.nrrd", slice_spacing=10.0)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 5
    assert spacing_said(row) == {
        "mr_thick_mask.nii.gz": ("0.3125×0.3125×8.0", "0.3125×0.3125×5.0"),
        "mr_frames_mask.dcm": ("0.3125×0.3125×8.0", "0.3125×0.3125×5.0"),
        "dose_thick_mask.nrrd": ("10.0×10.0×10.0", "10.0×10.0×5.0"),
    }


def test_itk_masks_of_a_volume_stored_head_first_fit_it(lab, upload, tmp_path):
    """An enhanced MR whose frames are stored from the highest slice down, as a head-to-foot
    acquisition stores them: ITK reads it from its first frame, its slice axis pointing down,
    and the masks ITK-based tools save on it (NIfTI, NRRD) pass, as on the same volume stored
    feet first; one whose origin is off a slice is still named."""
    folder = images_dir(lab)
    down = [slice_position(i) for i in (2, 1, 0)]
    for stem in ("head_first", "nrrd_head_first", "shifted"):
        enhanced_image(folder / f"{stem}.dcm", down)
    enhanced_image(folder / "feet_first.dcm", down[::-1])
    itk_mask(folder / "head_first.dcm", lab.masks / "head_first_mask.nii.gz")
    itk_mask(folder / "nrrd_head_first.dcm", lab.masks / "nrrd_head_first_mask.nrrd")
    itk_mask(folder / "feet_first.dcm", lab.masks / "feet_first_mask.nii.gz")
    itk_mask(folder / "shifted.dcm", lab.masks / "shifted_mask.nii.gz")
    shifted = SimpleITK.ReadImage(str(lab.masks / "shifted_mask.nii.gz"))
    shifted.SetOrigin((*shifted.GetOrigin()[:2], shifted.GetOrigin()[2] + 5.0))
    SimpleITK.WriteImage(shifted, str(lab.masks / "shifted_mask.nii.gz"))
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 4
    assert {(o["name"], o["code"]) for o in row["offenders"]} == {("shifted_mask.nii.gz", "origin")}
