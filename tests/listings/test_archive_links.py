"""Where a symbolic link inside an archive leads, as extracting would resolve it: pure."""

import pytest

from segcore.archives.archive_links import StreamedLinks, link_path, resolve_links


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


def test_a_streamed_tar_reads_the_files_its_links_need_when_they_pass_or_on_a_second_pass():
    """`masks/a -> ../links/a -> ../store/a` met before store/a: read when it passes; store/b
    passed before `masks/b -> ../store/b` came: read again, its last copy; a loop leads to
    itself."""
    links = StreamedLinks()
    assert links.passing("store/b.png", 512) is False
    assert links.passing("store/b.png", 4096) is False  # a second copy (tar -r): the last counts
    links.link("masks/a_mask.png", "links/a.png")
    links.need(links.resolved("links/a.png"), "a_mask.png")
    links.link("links/a.png", "store/a.png")  # met later: store/a.png is needed through it
    assert links.resolved("links/a.png") == "store/a.png"
    assert links.passing("store/a.png", 9000) is True
    assert links.needed["store/a.png"] == "a_mask.png"
    links.link("masks/b_mask.png", "store/b.png")
    links.need("store/b.png", "b_mask.png")
    assert links.back(["store/a.png", "store/b.png"]) == {"store/b.png": 4096}
    assert links.resolved("store/a.png", read={"store/a.png"}) == "store/a.png"
    links.link("x.png", "y.png")
    links.link("y.png", "x.png")
    assert links.resolved("x.png") in ("x.png", "y.png")
