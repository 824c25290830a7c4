"""What changed between two listings of a batch's uploads: pure, no database."""

from segcore.archives.listing_changes import changes_between, changes_by_upload


def zip_listing(**masks):
    """A stored zip listing: name -> (size, crc)."""
    return {
        "names": sorted(masks),
        "members": [{"name": n, "size": s, "crc": c} for n, (s, c) in masks.items()],
    }


def tar_listing(**masks):
    return {
        "names": sorted(masks),
        "members": [{"name": n, "size": s, "digest": d} for n, (s, d) in masks.items()],
    }


def test_added_removed_and_changed_by_checksum():
    before = zip_listing(a=(10, 1), b=(10, 2), c=(10, 3))
    after = zip_listing(a=(10, 1), b=(10, 9), d=(4, 4))
    found = changes_between(before, after)
    assert (found.added, found.removed, found.changed, found.compared) == (
        ["d"],
        ["c"],
        ["b"],
        "content",
    )
    assert found.any and not changes_between(after, after).any


def test_a_zip_then_a_tar_compare_sizes_only():
    found = changes_between(
        zip_listing(a=(10, 1), b=(10, 2)), tar_listing(a=(10, "x"), b=(12, "y"))
    )
    assert (found.changed, found.compared) == (["b"], "size")


def test_a_listing_from_before_sizes_were_kept_compares_names():
    old = {"names": ["a", "b"]}  # stored by the first version: no members
    found = changes_between(old, zip_listing(a=(10, 1), c=(1, 1)))
    assert (found.added, found.removed, found.changed, found.compared) == (
        ["c"],
        ["b"],
        [],
        "names",
    )


def test_the_same_name_in_two_folders_counts_once_and_changes_when_either_does():
    before = {
        "names": ["a"],
        "members": [{"name": "a", "size": 1, "crc": 1}, {"name": "a", "size": 1, "crc": 2}],
    }
    after = {
        "names": ["a"],
        "members": [{"name": "a", "size": 1, "crc": 1}, {"name": "a", "size": 1, "crc": 3}],
    }
    assert changes_between(before, after).changed == ["a"]


def test_by_upload_the_first_adds_everything_and_an_unreadable_one_is_empty():
    unreadable = {"names": [], "members": [], "reason": "encrypted zip"}
    found = changes_by_upload([zip_listing(a=(1, 1)), unreadable, zip_listing(a=(1, 1))])
    assert [(c.added, c.removed) for c in found] == [(["a"], []), ([], ["a"]), (["a"], [])]


def test_a_mask_reuploaded_under_another_case_is_changed_not_removed_and_added():
    """A Windows tool writes `IMG_001_MASK.npy` for the fix of `img_001_mask.npy`: matching
    ignores case, so the fix changed img_001's mask (shown as the new upload spells it)."""
    before = {
        "names": ["img_001_mask.npy", "img_002_mask.npy"],
        "members": [
            {"name": "img_001_mask.npy", "size": 896, "crc": 1},
            {"name": "img_002_mask.npy", "size": 896, "crc": 2},
        ],
    }
    fix = {
        "names": ["IMG_001_MASK.npy", "img_002_mask.npy"],
        "members": [
            {"name": "IMG_001_MASK.npy", "size": 896, "crc": 7},
            {"name": "img_002_mask.npy", "size": 896, "crc": 2},
        ],
    }
    found = changes_between(before, fix)
    assert (found.added, found.removed, found.changed) == ([], [], ["IMG_001_MASK.npy"])
    same = {**fix, "members": [{**fix["members"][0], "crc": 1}, fix["members"][1]]}
    assert not changes_between(before, same).any  # only the case differs: nothing changed
