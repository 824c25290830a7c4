"""DICOM SEG masks as highdicom lays them out (built here with pydicom): one frame per segment
per position, empty frames left out. A SEG's depth is its positions, its labels its segment
numbers, a fractional SEG's fraction above 0 its segment."""

import shutil

from pydicom.data import get_testdata_file

from tests.content.test_mask_content_archives import checked, lab, said
from tests.content.test_mask_content_formats import images_dir, zipped
from tests.dicom_seg import drawn, enhanced_image, seg, slice_position

__all__ = ["lab"]  # the fixture, shared

TOP, BOTTOM = (slice(10, 20), slice(10, 20)), (slice(30, 40), slice(30, 40))


def mr_images(lab, *stems: str) -> None:
    for stem in stems:
        shutil.copy(get_testdata_file("MR_small.dcm"), images_dir(lab) / f"{stem}.dcm")


def test_a_seg_of_several_segments_on_one_slice_is_its_slice(lab, upload, tmp_path):
    """Two segments on one slice are two frames, not two slices; a segment left out (nothing
    drawn) changes nothing; the labels checked are the segment numbers."""
    mr_images(lab, "two", "skipped", "three")
    here = slice_position(0)
    seg(lab.masks / "two_seg.dcm", [(1, here, drawn(*TOP)), (2, here, drawn(*BOTTOM))], 2)
    seg(lab.masks / "skipped_seg.dcm", [(1, here, drawn(*TOP)), (2, here, drawn(*TOP))], 3)
    seg(lab.masks / "three_seg.dcm", [(1, here, drawn(*TOP)), (3, here, drawn(*BOTTOM))], 3)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3
    assert said(row) == {"three_seg.dcm": "three_seg.dcm: label 3 not in 0,1,2"}


def test_a_fractional_seg_is_its_segments_not_its_fractions(lab, upload, tmp_path):
    """Stored fractions 0 to 255 are not labels: a pixel of a fraction above 0 is its segment's;
    a SEG of no fraction above 0 is empty."""
    mr_images(lab, "soft", "blank")
    here = slice_position(0)
    soft = drawn(*TOP, value=255)
    soft[20:22, 10:20] = 128
    seg(
        lab.masks / "soft_seg.dcm",
        [(1, here, soft), (2, here, drawn(*BOTTOM, 64))],
        2,
        "FRACTIONAL",
    )
    seg(lab.masks / "blank_seg.dcm", [(1, here, drawn(*TOP, 0))], 1, "FRACTIONAL")
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 2
    assert said(row) == {"blank_seg.dcm": "blank_seg.dcm: empty"}


def test_a_seg_of_a_volume_holds_the_slices_where_something_is_drawn(lab, upload, tmp_path):
    """A SEG of a 4-slice enhanced MR (stored top slice first) that draws on every slice, bottom
    first, or left out the slices where nothing is drawn passes; one shifted 5 mm within the
    plane, or of more slices than its image, is named."""
    positions = [slice_position(index) for index in (3, 2, 1, 0)]
    for stem in ("full", "sparse", "shifted", "longer"):
        enhanced_image(images_dir(lab) / f"{stem}.dcm", positions)
    frames = [
        (1, slice_position(1), drawn(*TOP)),
        (1, slice_position(2), drawn(*TOP)),
        (2, slice_position(2), drawn(*BOTTOM)),
    ]
    seg(lab.masks / "sparse_seg.dcm", frames, 2)
    moved = [(n, [x + 5.0, y, z], array) for n, (x, y, z), array in frames]
    seg(lab.masks / "shifted_seg.dcm", moved, 2)
    seg(lab.masks / "full_seg.dcm", [(1, slice_position(i), drawn(*TOP)) for i in range(4)], 1)
    five = [(1, slice_position(index), drawn(*TOP)) for index in range(5)]
    seg(lab.masks / "longer_seg.dcm", five, 1)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 4
    shown = said(row)
    assert set(shown) == {"shifted_seg.dcm", "longer_seg.dcm"}, shown
    assert shown["longer_seg.dcm"] == "longer_seg.dcm: 64×64×5, image 64×64×4"
    assert shown["shifted_seg.dcm"].startswith("shifted_seg.dcm: origin -78.9")


def test_a_seg_drawn_off_the_images_slices_is_named(lab, upload, tmp_path):
    """A SEG that left out its empty frames is placed slice by slice: drawn 500 mm past the
    volume, or 2.5 mm off the slices (between two of them), its slices are none of the image's,
    however few they are; on the image's slices it passes."""
    positions = [slice_position(index) for index in range(4)]
    for stem in ("right", "far", "between"):
        enhanced_image(images_dir(lab) / f"{stem}.dcm", positions)

    def moved(dz: float) -> list:
        return [(1, [x, y, z + dz], drawn(*TOP)) for x, y, z in positions[1:3]]

    seg(lab.masks / "right_seg.dcm", moved(0.0), 1)
    seg(lab.masks / "far_seg.dcm", moved(500.0), 1)
    seg(lab.masks / "between_seg.dcm", moved(2.5), 1)
    row = checked(lab, upload, "batch_1.zip", zipped(lab, tmp_path))
    assert row["checked"] == 3
    said_of = said(row)  # MR_small's slices lie at z = 6.64, 11.64, 16.64 and 21.64 mm
    assert said_of == {
        "far_seg.dcm": "far_seg.dcm: a slice drawn at 511.6 mm along the slices, not on any "
        "of the image's 4 slices (6.64 to 21.64 mm)",
        "between_seg.dcm": "between_seg.dcm: a slice drawn at 14.14 mm along the slices, not "
        "on any of the image's 4 slices (6.64 to 21.64 mm)",
    }
    assert row["counts"]["wrong_size"] == 2
