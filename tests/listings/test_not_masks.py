"""Members named as masks that are no masks of the upload: pure, over an archive's entries as
the listing reads them (`(path, size, key, value, link)`)."""

import pytest

from segcore.archives.not_masks import without_instance_masks, without_other_batches
from segcore.images.mask_matching import DEFAULT_EXTENSIONS


def entries(*paths):
    return [(path, 300, "crc", 1, None) for path in paths]


def instance_paths(*paths) -> list[str]:
    return [e[0] for e in without_instance_masks(entries(*paths), DEFAULT_EXTENSIONS)[1]]


def overlay_paths(*paths) -> list[str]:
    return [e[0] for e in without_instance_masks(entries(*paths), DEFAULT_EXTENSIONS)[2]]


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
        # labelme2voc: instance labels as NumPy arrays and as PNGs, beside class labels
        (
            ("SegmentationClassPNG/img_001.png", "SegmentationObjectPNG/img_001.png"),
            ["SegmentationObjectPNG/img_001.png"],
        ),
        (
            ("SegmentationClass/img_001.npy", "SegmentationObject/img_001.npy"),
            ["SegmentationObject/img_001.npy"],
        ),
    ],
)
def test_instance_masks_are_the_class_masks_sibling_folder(paths, instances):
    assert instance_paths(*paths) == instances


@pytest.mark.parametrize(
    "paths, kept, overlays",
    [
        # labelme2voc's whole tree: the class masks are kept, both overlays taken out
        (
            (
                "SegmentationClass/img_001.npy",
                "SegmentationClassPNG/img_001.png",
                "SegmentationClassVisualization/img_001.jpg",
                "SegmentationObject/img_001.npy",
                "SegmentationObjectPNG/img_001.png",
                "SegmentationObjectVisualization/img_001.jpg",
                "class_names.txt",
            ),
            [
                "SegmentationClass/img_001.npy",
                "SegmentationClassPNG/img_001.png",
                "class_names.txt",
            ],
            [
                "SegmentationClassVisualization/img_001.jpg",
                "SegmentationObjectVisualization/img_001.jpg",
            ],
        ),
        # DeepLab's SegmentationClassRaw/ is class masks too; any case
        (
            (
                "voc/SegmentationClassRaw/img_001.png",
                "voc/segmentationclassvisualization/img_001.jpg",
            ),
            ["voc/SegmentationClassRaw/img_001.png"],
            ["voc/segmentationclassvisualization/img_001.jpg"],
        ),
        # overlays without class masks beside them (elsewhere) are what the annotator sent
        (
            ("new/SegmentationClass/img_001.png", "old/SegmentationClassVisualization/img_001.jpg"),
            ["new/SegmentationClass/img_001.png", "old/SegmentationClassVisualization/img_001.jpg"],
            [],
        ),
        # another folder beside the class masks (a second export of masks) still counts
        (
            ("SegmentationClass/img_001.png", "masks/img_001_mask.png"),
            ["SegmentationClass/img_001.png", "masks/img_001_mask.png"],
            [],
        ),
    ],
)
def test_visualizations_beside_the_class_masks_are_no_masks(paths, kept, overlays):
    left, _, found = without_instance_masks(entries(*paths), DEFAULT_EXTENSIONS)
    assert ([e[0] for e in left], [e[0] for e in found]) == (kept, overlays)


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
        entries(path), ("batch_13",), DEFAULT_EXTENSIONS, listed
    )
    assert ([b for _, b in away], missing) == (elsewhere, unlisted)
    assert len(kept) + len(away) == 1


@pytest.mark.parametrize(
    "path, elsewhere",
    [
        ("batch_3/img_002_mask.png", ["batch_3"]),  # a third listed batch's folder
        ("batch_2/img_002_mask.png", []),  # one of the upload's: placed there
        ("batch_1_to_batch_2/img_002_mask.png", []),  # names several: none
        ("masks/img_002_mask.png", []),
    ],
)
def test_an_upload_naming_several_batches_has_no_mask_of_a_third(path, elsewhere):
    _, away, _ = without_other_batches(
        entries(path), ("batch_1", "batch_2"), DEFAULT_EXTENSIONS, {"batch_1", "batch_2", "batch_3"}
    )
    assert [b for _, b in away] == elsewhere
