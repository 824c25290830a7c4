"""Images sharing a name in different subfolders of a batch: each needs a mask of its own, told
apart by the mask's folders. Pure, no database."""

import pytest

from segcore.images.mask_matching import compare_batch, paths_for_batch

PATIENTS = [f"{p}/img_00{i}.png" for p in ("patient_A", "patient_B") for i in (1, 2)]
SERIES = ["study/SE000001/IM000000", "study/SE000001/IM000001", "study/SE000002/IM000000"]


@pytest.mark.parametrize(
    "images, masks, missing, ambiguous",
    [
        # masks for patient_A only: patient_B's two images have none
        (
            PATIENTS,
            ["patient_A/img_001_mask.png", "patient_A/img_002_mask.png"],
            ["patient_B/img_001.png", "patient_B/img_002.png"],
            [],
        ),
        # any folders above the image's own, and the mask's name without a suffix, count
        (
            PATIENTS,
            [
                "upload/patient_A/img_001_mask.png",
                "patient_A/img_002_mask.png",
                "masks/patient_B/img_001.png",
                "batch_1/patient_B/img_002_seg.png",
            ],
            [],
            [],
        ),
        # a mask at the top says not whose img_001 it is: counted for neither
        (
            PATIENTS,
            ["img_001_mask.png", "patient_A/img_002_mask.png", "patient_B/img_002_mask.png"],
            ["patient_A/img_001.png", "patient_B/img_001.png"],
            ["img_001_mask.png"],
        ),
        # a folder that only starts like the image's is not the image's
        (
            PATIENTS[:1] + PATIENTS[2:3],
            ["patient_A_v2/img_001_mask.png"],
            PATIENTS[:1] + PATIENTS[2:3],
            ["patient_A_v2/img_001_mask.png"],
        ),
        # DICOM series: the series folder tells IM000000 apart; IM000001 is unique
        (
            SERIES,
            ["SE000002/IM000000_mask.dcm", "IM000001_mask.dcm"],
            ["study/SE000001/IM000000"],
            [],
        ),
        # an image at the batch's top and one in a subfolder: a mask at the top is the former's
        (["img_001.png", "b/img_001.png"], ["img_001_mask.png"], ["b/img_001.png"], []),
    ],
)
def test_each_image_sharing_a_name_needs_the_mask_its_folders_name(
    images, masks, missing, ambiguous
):
    check = compare_batch(images, masks, [])
    assert check.missing == missing
    assert check.matched == len(images) - len(missing)
    assert [a["mask"] for a in check.ambiguous] == ambiguous
    assert check.state == ("incomplete" if missing else "complete")


def test_an_ambiguous_mask_beside_every_right_one_makes_the_batch_extra_not_counted_twice():
    masks = ["patient_A/img_001_mask.png", "patient_B/img_001_mask.png", "img_001_mask.png"]
    check = compare_batch(["patient_A/img_001.png", "patient_B/img_001.png"], masks, [])
    assert (check.state, check.matched, check.masks) == ("extra", 2, 3)
    assert check.summary()["ambiguous"] == [
        {"mask": "img_001_mask.png", "images": ["patient_A/img_001.png", "patient_B/img_001.png"]}
    ]


def test_unique_names_keep_ignoring_folders():
    """Where no two images share a name, a mask anywhere counts, as before."""
    images = ["patient_A/img_001.png", "patient_B/img_002.png", "img_003.png"]
    masks = ["elsewhere/img_001_mask.png", "img_002_mask.png", "x/y/img_003_mask.png"]
    check = compare_batch(images, masks, [])
    assert (check.state, check.matched, check.masks, check.ambiguous) == ("complete", 3, 3, [])


def test_an_upload_for_several_batches_gives_each_only_the_paths_under_its_folder():
    listing = {
        "names": ["img_001_mask.png"],
        "paths": ["batch_1/patient_A/img_001_mask.png", "batch_2/patient_B/img_001_mask.png"],
        "placed": {"batch_1": ["img_001_mask.png"], "batch_2": ["img_001_mask.png"]},
        "also_loose": [],
    }
    batches = ["batch_1", "batch_2"]
    assert paths_for_batch(listing, "batch_1", batches) == ["batch_1/patient_A/img_001_mask.png"]
    check = compare_batch(PATIENTS, paths_for_batch(listing, "batch_2", batches), [])
    assert check.matched == 1 and "patient_A/img_001.png" in check.missing
