"""A batch's content from its uploads' stored results (pure): each image's newest mask."""

from segcore.content.mask_content import ContentTally, newest_masks


def result(*masks, legacy=False) -> dict:
    """A stored upload result: `masks` as (image, name, problems)."""
    tally = ContentTally()
    for image, name, problems in masks:
        tally.add(name, problems, image)
    stored = tally.as_dict()
    if not legacy:
        stored["masks"] = tally.masks
    return stored


EMPTY = [("empty", {})]
WRONG = [("size", {"mask": "4×4", "image": "8×8"}), ("labels", {"labels": "7", "allowed": "0,1"})]


def test_a_newer_mask_of_an_image_replaces_the_older_whatever_its_name():
    first = result(("a", "a_mask.png", EMPTY), ("b", "b_mask.png", []))
    second = result(("a", "a_seg.png", []))  # the fix, under another suffix
    tally, counting = newest_masks([first, second])
    assert (tally.checked, tally.problems, tally.offenders) == (2, 0, [])
    assert counting == {0, 1}  # the first still counts for b


def test_a_wrong_newer_mask_counts_each_problem_kind_once_per_mask():
    tally, counting = newest_masks([result(("a", "a_mask.png", [])), result(("a", "a.png", WRONG))])
    assert (tally.checked, tally.problems) == (1, 1)
    assert (tally.counts["wrong_size"], tally.counts["bad_labels"]) == (1, 1)
    assert [o["code"] for o in tally.offenders] == ["size", "labels"] and counting == {1}


def test_a_result_stored_without_its_masks_adds_whole():
    legacy = result(("a", "a_mask.png", EMPTY), legacy=True)
    tally, counting = newest_masks([legacy, result(("a", "a_mask.png", []))])
    assert (tally.checked, tally.problems, counting) == (2, 1, {0, 1})
