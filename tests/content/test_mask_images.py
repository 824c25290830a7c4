"""Which image a mask member is checked against (`ImageIndex`): pure, from stored listings."""

from types import SimpleNamespace

from segcore.content.scan.mask_images import ImageIndex
from segcore.images.mask_matching import DEFAULT_MASK_SUFFIXES


def index_of(*names: str) -> ImageIndex:
    listing = SimpleNamespace(batch_id="batch_1", folder="/data/batch_1", names=list(names))
    return ImageIndex.from_listings([listing], DEFAULT_MASK_SUFFIXES)


def test_a_mask_named_exactly_like_its_image_is_checked_against_it():
    """`masks/liver_label.png` is liver_label.png's mask, not liver.png's (its name without
    the suffix): an exact name wins, as completeness counts it."""
    index = index_of("liver.png", "liver_label.png", "case_gt.png")
    assert [i[1] for i in index.images_of("masks/liver_label.png")] == ["liver_label.png"]
    assert [i[1] for i in index.images_of("masks/case_gt.png")] == ["case_gt.png"]
    assert [i[1] for i in index.images_of("liver_mask.png")] == ["liver.png"]
