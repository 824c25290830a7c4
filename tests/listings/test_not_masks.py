"""Members named as masks that are no masks of the upload: pure, over an archive's entries as
the listing reads them (`(path, size, key, value, link)`)."""

import pytest

from segcore.archives.not_masks import without_instance_masks, without_other_batches
from segcore.images.mask_matching import DEFAULT_EXTENSIONS


def entries(*paths):
    return [(path, 300, "crc", 1, None) for path in paths]


def instance_paths(*paths) -> list[str]:
    return [e[0] for e in without_instance_masks(entries(*paths), DEFAULT_EXTENSIONS)[1]]


@pytest.mark.parametrize(
    "paths, instances",
    [
        # CVAT's export: the sibling of the class masks holds instance masks
        (
            ("SegmentationClass/img_001.png", "SegmentationObject/img_001.png", "labelmap.txt"),
            ["SegmentationObject/img_001.png"],
        ),
        # under a task folder, in any case, Windows separators
        (
            ("task_1\\segmentationclass\\img_001.png", "task_1\\SEGMENTATIONOBJECT\\img_001.png"),
            ["task_1\\SEGMENTATIONOBJECT\\img_001.png"],
        ),
        # no class masks beside them: they are the upload's masks
        (("SegmentationObject/img_001.png", "masks/img_002_mask.png"), []),
        # class masks elsewhere (another folder above): not their sibling
        (("new/SegmentationClass/img_001.png", "old/SegmentationObject/img_001.png"), []),
        # a class folder holding no mask (only a text file) says nothing
        (("SegmentationClass/readme.txt", "SegmentationObject/img_001.png"), []),
    ],
)
def test_instance_masks_are_the_class_masks_sibling_folder(paths, instances):
    assert instance_paths(*paths) == instances


@pytest.mark.parametrize(
    "path, listed, elsewhere, unlisted",
    [
        ("batch_14/img_001_mask.png", {"batch_13", "batch_14"}, ["batch_14"], []),
        ("batch_14/img_001_mask.png", {"batch_13"}, [], ["batch_14"]),
        ("export_batch_20261207/img_001_mask.png", {"batch_13"}, [], ["batch_20261207"]),
        ("batch_13/img_001_mask.png", {"batch_13"}, [], []),
        ("batch_14/labelmap.txt", {"batch_13", "batch_14"}, [], []),  # no mask: kept
        # the list not known (None): every batch a folder names, as before
        ("export_batch_20261207/img_001_mask.png", None, ["batch_20261207"], []),
    ],
)
def test_only_a_listed_batchs_folder_takes_masks_away(path, listed, elsewhere, unlisted):
    kept, away, missing = without_other_batches(
        entries(path), "batch_13", DEFAULT_EXTENSIONS, listed
    )
    assert ([b for _, b in away], missing) == (elsewhere, unlisted)
    assert len(kept) + len(away) == 1
