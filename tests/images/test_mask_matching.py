"""Matching mask names to image names, and a batch's state: pure, no database."""

import pytest

from segcore.archives.archive_listing import kind_from_magic, kind_from_name
from segcore.core.errors import ConfigError
from segcore.images.mask_matching import (
    DEFAULT_EXTENSIONS,
    DEFAULT_MASK_SUFFIXES,
    batches_counting,
    compare_batch,
    counts_for,
    folder_batches,
    image_key,
    is_image_name,
    is_mask_member,
    mask_key,
    masks_for_batch,
    masks_held,
    other_batch_folder,
    place_masks,
    sort_members,
    split_extension,
)
from segcore.settings.config import parse_suffixes, settings_from


@pytest.mark.parametrize(
    "name, expected",
    [
        ("img_001.png", ("img_001", ".png")),
        ("CT_004.nii.gz", ("CT_004", ".nii.gz")),
        ("CT_004.NII.GZ", ("CT_004", ".nii.gz")),
        ("scan.v2.nrrd", ("scan.v2", ".nrrd")),
        ("IM000123", ("IM000123", "")),
        (".nii.gz", (".nii.gz", "")),  # an extension alone is no name
        ("x.seg.nrrd", ("x", ".seg.nrrd")),
        (
            "1.2.840.113619.2.55.3.604688119.969.1268071029.320",
            ("1.2.840.113619.2.55.3.604688119.969.1268071029.320", ""),
        ),
        ("labelmap.txt", ("labelmap.txt", "")),
    ],
)
def test_split_extension(name, expected):
    assert split_extension(name) == expected


@pytest.mark.parametrize(
    "mask, image",
    [
        ("img_001_mask.png", "img_001.png"),
        ("IMG_001-MASK.PNG", "img_001.jpg"),
        ("batch_400/masks/deep/img_001_seg.png", "img_001.tif"),
        ("masks\\img_001_label.png", "img_001.png"),
        ("img_001_labels.nii.gz", "img_001.nii.gz"),
        ("CT_004_gt.nii.gz", "CT_004.nii"),
        ("img_001.png", "img_001.png"),  # a mask named exactly as its image
    ],
)
def test_masks_match_their_images(mask, image):
    assert mask_key(mask) == image_key(image)


@pytest.mark.parametrize(
    "mask, image",
    [
        ("img_001_mask.png", "img_002.png"),
        ("img_001_mask_mask.png", "img_001.png"),  # one suffix is removed, not every one
        ("_mask.png", "mask.png"),
    ],
)
def test_masks_that_do_not_match(mask, image):
    assert mask_key(mask) != image_key(image)


def test_configured_suffixes_replace_the_defaults():
    assert mask_key("img_001_roi.png", ("_roi",)) == "img_001"
    assert mask_key("img_001_mask.png", ("_roi",)) == "img_001_mask"


@pytest.mark.parametrize(
    "path, is_mask",
    [
        ("img_001_mask.png", True),
        ("batch_400/masks/img_001_mask.png", True),
        ("batch_400/", False),
        ("__MACOSX/batch_400/._img_001_mask.png", False),
        ("batch_400/.DS_Store", False),
        ("Thumbs.db", False),
        ("THUMBS.DB", False),
        ("batch_400\\", False),
        ("batch_400/@eaDir/img_001_mask.png/SYNOFILE_THUMB_M.jpg", False),
        ("#recycle/img_001_mask.png", False),
        ("batch_400/.ipynb_checkpoints/img_001_mask.png", False),
        ("./batch_400/img_001_mask.png", True),
    ],
)
def test_directories_and_system_files_are_not_masks(path, is_mask):
    assert is_mask_member(path) is is_mask


@pytest.mark.parametrize(
    "name, is_image",
    [
        ("a.png", True),
        ("a.JPEG", True),
        ("a.nii.gz", True),
        ("a.mhd", True),
        ("a.dcm", True),
        ("a.gz", False),
        ("a.txt", False),
        ("a.zip", False),
        ("IM0001", False),
    ],
)
def test_image_extensions(name, is_image):
    assert is_image_name(name) is is_image


def test_complete_incomplete_and_extra():
    images = ["img_001.png", "img_002.png", "sub/img_003.png"]
    complete = compare_batch(images, ["IMG_001_mask.png", "img_002_seg.png", "img_003.png"], [])
    assert (complete.state, complete.matched, complete.images, complete.masks) == (
        "complete",
        3,
        3,
        3,
    )
    incomplete = compare_batch(images, ["img_001_mask.png", "stray_mask.png"], [])
    assert incomplete.state == "incomplete"
    assert incomplete.missing == ["img_002.png", "sub/img_003.png"]
    assert incomplete.extra == ["stray_mask.png"]
    extra = compare_batch(images[:1], ["img_001_mask.png", "img_009_mask.png"], [])
    assert (extra.state, extra.extra_count, extra.missing_count) == ("extra", 1, 0)


def test_a_mask_named_exactly_like_its_image_wins_over_a_suffix():
    """Images whose own names end in a mask suffix (`liver_label.png`, `case_gt.png`) get the
    masks named exactly like them (`masks/liver_label.png`), never "missing" and "extra" at
    once; a suffixed mask of an image named without one still matches it."""
    images = ["img_001.png", "liver_label.png", "case_gt.png", "liver.png"]
    masks = ["masks/img_001.png", "masks/liver_label.png", "masks/case_gt.png", "liver_mask.png"]
    check = compare_batch(images, masks, [])
    assert (check.state, check.matched, check.missing, check.extra) == ("complete", 4, [], [])
    alone = compare_batch(["liver.png", "liver_label.png"], ["masks/liver_label.png"], [])
    assert (alone.missing, alone.extra) == (["liver.png"], [])


def test_unreadable_upload_and_unknown_inputs():
    bad = [{"filename": "part2.zip", "reason": "encrypted zip"}]
    state = compare_batch(["img_001.png", "img_002.png"], ["img_001_mask.png"], bad)
    assert state.state == "unreadable" and state.unreadable == bad


def test_an_unreadable_upload_stops_mattering_once_the_readable_ones_give_every_mask():
    """A transfer cut short, then the whole batch again: delivered, and the state says so
    (the broken upload stays listed), never "unreadable" beside "delivered"."""
    bad = [{"filename": "batch_1.zip", "reason": "truncated"}]
    images = ["img_001.png", "img_002.png"]
    state = compare_batch(images, ["img_001_mask.png", "img_002_mask.png"], bad)
    assert (state.state, state.missing_count, state.unreadable) == ("complete", 0, bad)
    extra = compare_batch(images, ["img_001_mask.png", "img_002_mask.png", "x_mask.png"], bad)
    assert extra.state == "extra"
    assert (
        compare_batch(None, ["img_001_mask.png"], [], note="images: not mounted").state == "unknown"
    )
    assert compare_batch(["img_001.png"], None, []).state == "unknown"


def test_summary_lists_at_most_fifty_names_but_counts_all():
    check = compare_batch([f"img_{n}.png" for n in range(120)], [], [])
    summary = check.summary()
    assert summary["missing_count"] == 120 and len(summary["missing"]) == 50


@pytest.mark.parametrize(
    "filename, kind",
    [
        ("batch_400_part1.zip", "zip"),
        ("masks_batch_400.tar.xz", "tar"),
        ("BATCH400.tgz", "tar"),
        ("b.tar.bz2", "tar"),
        ("b.tar", "tar"),
        ("b.tar.gz", "tar"),
        ("img_001_mask.nii.gz", "file"),
        ("b.7z", "7z"),
        ("b.rar", "unsupported"),
        ("batch_400_masks", ""),
        ("b.z01", "split"),
        ("b.zip.001", "split"),
        ("b.7z.002", "split"),
        ("b.tar.zst", "unsupported"),
    ],
)
def test_kind_from_name(filename, kind):
    assert kind_from_name(filename) == kind


def test_kind_from_magic():
    assert kind_from_magic(b"PK\x03\x04rest") == "zip"
    assert kind_from_magic(b"\xfd7zXZ\x00rest") == "tar"
    assert kind_from_magic(b"\x00" * 257 + b"ustar\x00") == "tar"
    assert kind_from_magic(b"%PDF-1.4") == ""


def test_mask_settings_are_validated():
    settings = settings_from({"MASK_SUFFIXES": "_roi, -lbl ,_roi", "MASK_CHECK_BUDGET_MB": "64"})
    assert settings.mask_suffixes == ("_roi", "-lbl")
    assert settings.mask_check_budget == 64 * 1024 * 1024
    assert (
        settings_from({}).mask_suffixes
        == parse_suffixes("_mask,-mask,_seg,_label,_labels,_gt,_segmentation,-label,.seg")
        == DEFAULT_MASK_SUFFIXES
    )
    with pytest.raises(ConfigError, match="MASK_SUFFIXES"):
        settings_from({"MASK_SUFFIXES": "_mask,.png"})
    with pytest.raises(ConfigError, match="MASK_CHECK_BUDGET_MB"):
        settings_from({"MASK_CHECK_BUDGET_MB": "0"})


@pytest.mark.parametrize(
    "value", ["_mask _seg _label", "_mask, _seg,_label", "_mask\t_seg\n_label"]
)
def test_mask_suffixes_split_on_spaces_as_well_as_commas(value):
    """As MASK_EXTENSIONS does: "_mask _seg _label" was one suffix that no mask ends with."""
    suffixes = settings_from({"MASK_SUFFIXES": value}).mask_suffixes
    assert suffixes == ("_mask", "_seg", "_label")
    for mask in ("img_001_mask.png", "img_001_seg.png", "img_001_label.nii.gz"):
        assert mask_key(mask, suffixes) == image_key("img_001.png")


@pytest.mark.parametrize(
    "value, bad",
    [("_mask;_seg", "_mask;_seg"), ("_mask, _seg;", "_seg;"), ("_mask|_seg", "_mask|_seg")],
)
def test_a_mask_suffix_with_a_character_no_file_name_ends_with_is_refused(value, bad):
    with pytest.raises(ConfigError, match="MASK_SUFFIXES") as refused:
        settings_from({"MASK_SUFFIXES": value})
    assert f"{bad!r} is not a mask suffix" in str(refused.value)
    assert "commas or spaces" in str(refused.value)


def test_the_batch_filter_takes_only_known_mask_states():
    from segcore.core.errors import ValidationError
    from segcore.work.batches import UNCHECKED, BatchQuery, build_filter

    assert build_filter(BatchQuery(mask_state="incomplete")) == {"mask_check.state": "incomplete"}
    assert build_filter(BatchQuery(mask_state=UNCHECKED)) == {
        "mask_check.state": {"$exists": False}
    }
    with pytest.raises(ValidationError):
        build_filter(BatchQuery(mask_state={"$ne": 1}))


def test_mask_extensions_are_configurable_compound_ones_too():
    settings = settings_from({"MASK_EXTENSIONS": "png, .NII.GZ seg.nrrd"})
    assert settings.mask_extensions == (".png", ".nii.gz", ".seg.nrrd")
    assert settings_from({}).mask_extensions == DEFAULT_EXTENSIONS
    for bad in ("p/ng", ".", "png,an_extension_far_too_long", "nii..gz"):
        with pytest.raises(ConfigError, match="MASK_EXTENSIONS"):
            settings_from({"MASK_EXTENSIONS": bad})
    extensions = settings.mask_extensions
    assert sort_members(["x/CT_1.seg.nrrd", "a.nii.gz", "b.jpg", "labelmap.txt"], extensions) == (
        ["CT_1.seg.nrrd", "a.nii.gz"],
        ["b.jpg", "labelmap.txt"],
    )
    assert mask_key("CT_1.seg.nrrd", (), extensions) == image_key("ct_1.nii.gz", extensions)


@pytest.mark.parametrize(
    "image, mask",
    [
        ("case_0001_0000.nii.gz", "case_0001.nii.gz"),  # nnU-Net channel 0
        ("case_0001_0003.nii.gz", "case_0001.nii.gz"),  # and any other channel
        ("CT_001.nii.gz", "CT_001.seg.nrrd"),  # Slicer
        ("CT_001.nii.gz", "CT_001.seg.nii.gz"),
        ("CT_001.nii.gz", "CT_001_segmentation.nii.gz"),
        ("CT_001.nii.gz", "CT_001-label.nrrd"),
        (
            "1.2.840.113619.2.55.3.604688119.969.1268071029.320",
            "1.2.840.113619.2.55.3.604688119.969.1268071029.320_mask.dcm",
        ),
        ("hi\u0301gado_001.png", "hígado_001_mask.png"),  # decomposed on one side
        ("hígado_001.png", "hi\u0301gado_001_mask.png"),
    ],
)
def test_naming_conventions_match(image, mask):
    check = compare_batch([image], [mask], [])
    assert (check.state, check.matched) == ("complete", 1)


def test_other_files_never_make_a_batch_extra_and_dicomdir_is_no_image():
    check = compare_batch(
        ["img_001.png"], ["img_001_mask.png"], [], other_files=["labelmap.txt", "README"]
    )
    assert (check.state, check.summary()["other_files"]) == ("complete", ["README", "labelmap.txt"])
    assert not is_image_name("DICOMDIR") and not is_image_name("dicomdir")


@pytest.mark.parametrize(
    "path, batches",
    [
        ("batch_2/img_001_mask.png", {"batch_2"}),
        ("entrega/Masks_Batch-0002/img_001_mask.png", {"batch_2"}),
        ("batch_1_to_batch_2/img_001_mask.png", set()),  # named as the upload: says nothing
        ("batch_1_to_batch_2/batch_2/img_001_mask.png", {"batch_2"}),
        ("lote_A/img_001_mask.png", set()),
        ("batch_3_mask.png", set()),  # a file name is no folder
        ("masks\\batch_4\\img_001_mask.png", {"batch_4"}),
    ],
)
def test_the_batch_a_folder_names(path, batches):
    assert folder_batches(path) == batches


PATHS = [
    "batch_1/img_001_mask.png",
    "batch_1/img_002_mask.png",
    "batch_1/img_003_mask.png",
    "batch_2/img_001_mask.png",
    "batch_2/img_002_mask.png",
    "shared/labelmap_mask.png",
    "img_009_mask.png",
    "old/img_002_mask.png",
]
NAMES = sorted({p.rsplit("/", 1)[-1] for p in PATHS})


@pytest.mark.parametrize(
    "key, batches, expected",
    [
        # each batch its own folder's masks and those under no batch's folder
        (
            "batch_1",
            ["batch_1", "batch_2"],
            ["img_001_mask.png", "img_002_mask.png", "img_003_mask.png", "img_009_mask.png"]
            + ["labelmap_mask.png"],
        ),
        (
            "batch_2",
            ["batch_1", "batch_2"],
            ["img_001_mask.png", "img_002_mask.png", "img_009_mask.png", "labelmap_mask.png"],
        ),
        # a batch whose folder is absent gets the loose masks only
        (
            "batch_5",
            ["batch_1", "batch_5"],
            ["img_002_mask.png", "img_009_mask.png", "labelmap_mask.png"],
        ),
        # one batch: folders do not matter
        ("batch_2", ["batch_2"], NAMES),
        # folders naming none of the upload's batches: every mask counts
        ("batch_7", ["batch_7", "batch_8"], NAMES),
    ],
)
def test_an_upload_for_several_batches_gives_each_the_masks_of_its_folder(key, batches, expected):
    placed, also_loose = place_masks(PATHS)
    assert also_loose == ["img_002_mask.png"]  # in batch_1/ and batch_2/, and in old/
    assert masks_for_batch(NAMES, placed, also_loose, key, batches) == expected


@pytest.mark.parametrize(
    "batches, expected",
    [
        (["batch_1", "batch_2"], 8),  # each folder's own, and old/img_002 once beside them
        (["batch_1", "batch_5"], 7),  # batch_2/ names neither: its masks are loose ones
        (["batch_7", "batch_8"], len(NAMES)),  # no folder names one: one mask per name
    ],
)
def test_an_upload_for_several_batches_holds_each_folders_masks_apart(batches, expected):
    placed, also_loose = place_masks(PATHS)
    listing = {"names": NAMES, "paths": PATHS, "placed": placed, "also_loose": also_loose}
    assert masks_held(listing, batches) == expected


def test_a_batchs_stored_result_stays_small_whatever_the_archive_names():
    """A zip may name a member with 65,535 characters: the names a batch's result stores
    (NAMES_SHOWN of each kind) are cut to NAME_CHARS_SHOWN characters with "…", so the batch
    document stays far from the 16 MB a document holds; every one is still counted."""
    from segcore.images.mask_matching import NAME_CHARS_SHOWN, NAMES_SHOWN
    from segcore.store.schema import document_size

    long = [f"{n:03d}_{'x' * 65_000}_mask.png" for n in range(80)]
    check = compare_batch(["img_001.png"], long, [], other_files=long)
    summary = check.summary()
    assert (summary["extra_count"], summary["other_files_count"]) == (80, 80)
    assert len(summary["extra"]) == NAMES_SHOWN and len(summary["other_files"]) == NAMES_SHOWN
    assert all(len(n) == NAME_CHARS_SHOWN + 1 and n.endswith("…") for n in summary["extra"])
    assert summary["extra"][0].startswith("000_xxx")
    assert document_size(summary) < 200_000


@pytest.mark.parametrize(
    "paths, member, counted_by",
    [
        # no folder names a batch: every mask counts for both
        (["img_001_mask.png"], "img_001_mask.png", {"batch_3", "batch_5"}),
        # each batch's folder: its own
        (["batch_3/a_mask.png", "batch_5/a_mask.png"], "batch_5/a_mask.png", {"batch_5"}),
        # a folder naming a batch the upload does not name, whose names batch_5/ holds:
        # batch_3 gets no mask of it (as its completeness counts none)
        (["batch_4/a_mask.png", "batch_5/a_mask.png"], "batch_4/a_mask.png", {"batch_5"}),
    ],
)
def test_which_batches_of_an_upload_count_a_mask(paths, member, counted_by):
    """The content check opens a mask for the batches whose completeness counts it."""
    placed, also_loose = place_masks(paths)
    listing = {
        "names": sorted({p.rsplit("/", 1)[-1] for p in paths}),
        "paths": paths,
        "placed": placed,
        "also_loose": also_loose,
    }
    counting = batches_counting(listing, ["batch_3", "batch_5"])
    assert counts_for(counting, member) == counted_by
    assert batches_counting(listing, ["batch_3"]) is None  # one batch: every mask is its


def test_masks_differing_only_in_case_are_one_mask():
    """`masks/img_002_mask.png` beside `masks/IMG_002_MASK.PNG`, or a fix spelled in upper
    case beside the first upload's: one mask per image, as matching counts them."""
    images = ["img_001.png", "img_002.png"]
    check = compare_batch(
        images,
        ["img_001_mask.npy", "IMG_001_MASK.npy", "m/img_002_mask.png", "IMG_002_MASK.PNG"],
        [],
    )
    assert (check.state, check.masks, check.matched, check.extra_count) == ("complete", 2, 2, 0)


@pytest.mark.parametrize(
    "masks, expected",
    [
        # an older export's suffix beside the new one's, in another folder
        (["masks/img_001_mask.png", "labels/img_001_label.png", "masks/img_002_mask.png"], 2),
        # a fix under another suffix and extension, ITK-SNAP's and Slicer's
        (["img_001_mask.png", "img_001_seg.nii.gz", "CT/img_001.seg.nrrd", "img_002-mask.tif"], 2),
        # named exactly as the image, and with a suffix: still img_001's one mask
        (["SegmentationClass/img_001.png", "img_001_gt.png", "img_002_labels.bmp"], 2),
        # masks of no image count one per key too
        (["img_001_mask.png", "img_002_mask.png", "img_009_mask.png", "img_009_seg.png"], 3),
    ],
)
def test_an_images_masks_under_several_suffixes_are_one_mask(masks, expected):
    """Masks are counted by the key matching takes, whatever their suffix, extension or
    folder: one mask per image, never two."""
    check = compare_batch(["img_001.png", "img_002.png"], masks, [])
    assert check.masks == expected
    assert check.matched == 2


def test_the_exact_name_counts_as_its_images_key_before_a_suffix():
    """`liver_label.png` is an image: `masks/liver_label.png` and `liver_label_mask.png` are
    its one mask, `liver_mask.png` is liver.png's."""
    images = ["liver.png", "liver_label.png"]
    masks = ["masks/liver_label.png", "liver_label_mask.png", "liver_mask.png"]
    check = compare_batch(images, masks, [])
    assert (check.state, check.masks, check.matched) == ("complete", 2, 2)


def test_an_upload_for_several_batches_counts_each_folders_masks_by_key():
    """`batch_1/img_001_mask.png` beside `batch_1/old/img_001_label.png` is batch_1's one
    mask; batch_2's folder holds its own."""
    paths = ["batch_1/img_001_mask.png", "batch_1/old/img_001_label.png", "batch_2/img_001.png"]
    placed, also_loose = place_masks(paths)
    names = sorted({p.rsplit("/", 1)[-1] for p in paths})
    listing = {"names": names, "paths": paths, "placed": placed, "also_loose": also_loose}
    assert masks_held(listing, ["batch_1", "batch_2"], images=["img_001.png"]) == 2


LISTED = {"batch_1", "batch_2", "batch_400", "batch_13", "batch_14"}


@pytest.mark.parametrize(
    "path, other",
    [
        ("batch_14/img_002_mask.png", "batch_14"),  # two batch folders zipped together
        ("masks_batch_2/img_002_mask.png", "batch_2"),
        ("Batch 400/img_002_mask.png", "batch_400"),  # any spelling of a listed batch
        ("batch_0400/img_002_mask.png", "batch_400"),  # a legacy id's leading zeros
        ("ｂａｔｃｈ＿１４/img_002_mask.png", "batch_14"),  # full-width, typed with an IME
        ("batch_14/export_batch_20261207/img_002_mask.png", "batch_14"),
        # folders naming no batch of the list: a date, a year, a number nobody imported
        ("export_batch_20261207/masks/img_002_mask.png", None),
        ("Batch 2026/masks/img_002_mask.png", None),
        ("masks_batch_999/img_002_mask.png", None),
        ("batch_13/img_002_mask.png", None),  # the upload's own batch
        ("batch_14/batch_13/img_002_mask.png", None),  # under its own folder too
        ("batch_13_to_batch_14/img_002_mask.png", None),  # a folder naming several names none
        ("masks/img_002_mask.png", None),
    ],
)
def test_only_a_folder_naming_a_batch_of_the_list_is_another_batchs(path, other):
    assert other_batch_folder(path, ("batch_13",), LISTED) == other
