"""Content rules and their words: pure, no database, no files."""

import numpy as np
import pytest

from segcore.content.formats.mask_geometry import Geometry, values_of
from segcore.content.mask_content import (
    OFFENDERS_SHOWN,
    ContentTally,
    Rules,
    check_mask,
    check_values,
    compare_grid,
    describe,
    describe_note,
)
from segcore.core.errors import ConfigError
from segcore.settings.config import settings_from

EYE = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
CT = Geometry((512, 512, 40), (0.7, 0.7, 3.0), (0.0, 0.0, 0.0), EYE)


@pytest.mark.parametrize(
    "mask, words",
    [
        (Geometry((512, 513)), "m: 512×513, image 512×512"),
        (Geometry((512, 512, 3)), "m: 512×512×3, image 512×512"),
    ],
)
def test_planar_sizes(mask, words):
    assert [
        describe({"name": "m", "code": c, "params": p})
        for c, p in compare_grid(mask, Geometry((512, 512)))
    ] == [words]


@pytest.mark.parametrize(
    "mask, words",
    [
        (
            Geometry((512, 512, 40), (0.8, 0.8, 3.0), (0.0, 0.0, 0.0), EYE),
            ["m: spacing 0.8×0.8×3.0, image 0.7×0.7×3.0"],
        ),
        (Geometry((512, 512, 40), (0.7000001, 0.7, 3.0), (0.0, 0.0, 0.004), EYE), []),  # tolerances
        (
            Geometry((512, 512, 40), (0.7, 0.7, 3.0), (0.0, 0.0, 1.5), EYE),
            ["m: origin 0.0×0.0×1.5, image 0.0×0.0×0.0"],
        ),
        (
            Geometry(
                (512, 512, 40),
                (0.7, 0.7, 3.0),
                (0.0, 0.0, 0.0),
                (-1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0),
            ),
            ["m: direction"],
        ),
        (Geometry((512, 512, 41), (0.8, 0.8, 3.0)), ["m: 512×512×41, image 512×512×40"]),
        (Geometry((512, 512, 40)), []),  # a format without spacing: the size alone is compared
    ],
)
def test_volume_grids(mask, words):
    said = [describe({"name": "m", "code": c, "params": p}) for c, p in compare_grid(mask, CT)]
    assert len(said) == len(words) and all(s.startswith(w) for s, w in zip(said, words)), said


@pytest.mark.parametrize(
    "array, rules, codes",
    [
        (np.zeros((4, 4), np.uint8), Rules(), ["empty"]),
        (np.eye(4, dtype=np.uint8), Rules(min_pixels=5), ["too_small"]),
        (np.eye(4, dtype=np.uint8), Rules(min_pixels=4), []),
        (np.eye(4, dtype=np.int16) * 300, Rules(labels=(0.0, 1.0)), ["labels"]),
        (np.eye(4, dtype=np.float32) * 0.5, Rules(labels=(0.0, 1.0)), ["labels"]),
        (np.arange(200, dtype=np.uint8).reshape(10, 20), Rules(labels=(0.0, 1.0, 2.0)), ["labels"]),
        (np.eye(4, dtype=bool), Rules(labels=(0.0, 1.0)), []),
        (np.eye(4, dtype=np.uint8) * 255, Rules(), []),  # 0/255 masks pass when labels are unset
    ],
)
def test_values(array, rules, codes):
    assert [code for code, _ in check_values(values_of(array), rules)] == codes


def test_label_words_name_the_values_and_the_agreed_ones():
    array = np.array([[0, 1, 3], [2, 7, 0]], np.uint8)
    ((code, params),) = check_values(values_of(array), Rules(labels=(0.0, 1.0, 2.0)))
    assert (
        describe({"name": "img_041_mask.png", "code": code, "params": params})
        == "img_041_mask.png: label 3, 7 not in 0,1,2"
    )


def test_header_only_is_a_note_not_a_problem():
    tally = ContentTally()
    tally.add("big.nii.gz", check_mask(CT, None, CT, Rules()))
    assert tally.problems == 0 and tally.header_only == 1
    assert describe(tally.offenders[0]).startswith("big.nii.gz: 10485760 voxels, over the limit")


def test_first_offenders_only_and_batches_sum_uploads():
    one, two = ContentTally(), ContentTally()
    for n in range(40):
        one.add(f"a{n}.png", [("empty", {})])
        two.add(f"b{n}.png", [("empty", {})])
    total = ContentTally()
    total.merge(one.as_dict())
    total.merge(two.as_dict())
    assert total.counts["empty"] == 80 and total.problems == 80
    assert len(total.offenders) == OFFENDERS_SHOWN


def test_words_in_another_language_and_notes():
    spanish = {"{name}: empty": "{name}: vacía"}
    assert (
        describe({"name": "x.png", "code": "empty"}, lambda t: spanish.get(t, t)) == "x.png: vacía"
    )
    assert describe_note({"code": "too_large", "params": {"budget": "1"}}).startswith(
        "too large to check"
    )


@pytest.mark.parametrize(
    "value, labels",
    [("0,1,2", (0.0, 1.0, 2.0)), (" 2, 0 ,1,1", (0.0, 1.0, 2.0)), ("0,255", (0.0, 255.0))],
)
def test_mask_labels_setting(value, labels):
    assert settings_from({"MASK_LABELS": value}).mask_labels == labels


@pytest.mark.parametrize(
    "env",
    [
        {"MASK_LABELS": "0,one"},
        {"MASK_LABELS": ","},
        {"MASK_MIN_PIXELS": "-1"},
        {"MASK_QC_BUDGET_MB": "0"},
        {"MASK_QC_MAX_VOXELS": "many"},
    ],
)
def test_bad_settings_name_themselves(env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        settings_from(env)


def test_an_mhd_mask_is_checked_by_header_with_the_reason():
    tally = ContentTally()
    tally.add(
        "vol_mask.mhd",
        check_mask(Geometry((4, 4, 4)), None, Geometry((4, 4, 5)), Rules(), detached=True),
    )
    assert [describe(o) for o in tally.offenders] == [
        "vol_mask.mhd: 4×4×4, image 4×4×5",
        "vol_mask.mhd: its values are in a separate file: size checked from the header only",
    ]
    assert tally.counts["wrong_size"] == 1 and tally.header_only == 1
