"""Where a symbolic link inside an archive leads, as extracting would resolve it: pure."""

import pytest

from segcore.archives.archive_links import link_path, resolve_links


@pytest.mark.parametrize(
    "member, target, expected",
    [
        ("img_002_mask.png", "img_001_mask.png", "img_001_mask.png"),
        ("./masks/img_002_mask.png", "../img_001_mask.png", "img_001_mask.png"),
        ("masks/a/b.png", "./../c.png", "masks/c.png"),
        ("masks\\b.png", "c.png", "masks/c.png"),
        ("img_002_mask.png", "/etc/passwd", None),  # absolute: outside, whatever it names
        ("img_002_mask.png", "C:\\masks\\x.png", None),
        ("masks/b.png", "../../x.png", None),  # up past the archive's top
        ("b.png", "", None),
    ],
)
def test_where_a_link_leads(member, target, expected):
    assert link_path(member, target) == expected


def test_links_take_their_targets_size_and_loops_lead_nowhere():
    entries = [
        ("a.png", 90, "crc", 1, None),
        ("b.png", 0, "crc", 2, "a.png"),
        ("c.png", 0, "crc", 3, "b.png"),
        ("d.png", 0, "crc", 4, "e.png"),
        ("e.png", 0, "crc", 5, "d.png"),
    ]
    kept, notes = resolve_links(entries)
    assert [(e[0], e[1], e[3]) for e in kept] == [
        ("a.png", 90, 1),
        ("b.png", 90, 2),
        ("c.png", 90, 3),
    ]
    assert notes == [
        ("d.png", "d.png (a link to e.png, no file of the archive)"),
        ("e.png", "e.png (a link to d.png, no file of the archive)"),
    ]
