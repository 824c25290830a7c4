"""Building a receipt (pure): what it says for each kind of upload, and the fields a listing
may carry from newer mask checks (other files, what changed) or content checks."""

from datetime import datetime

import pytest

from segcore.masks.receipts import build_receipt, receipt_problem

UPLOAD = {
    "_id": 7,
    "filename": "batch_1.zip",
    "uploadDate": datetime(2026, 1, 2, 9),
    "length": 120,
    "metadata": {"uploaded_by": "flor"},
}
IMAGES = ["img_001.png", "img_002.png", "img_003.png"]


def part(usable, images=IMAGES, missing=0, note=None):
    return {
        "id": "batch_1",
        "usable": usable,
        "images": images,
        "image_error": None,
        "missing_count": missing,
        # the batch's images without a mask, as its check left them: the last `missing` ones
        "missing": list(images[len(images) - missing :]) if missing and images else [],
        "note": note,
    }


@pytest.mark.parametrize(
    "listing, parts, expected",
    [
        (None, [part(False)], "unreadable"),
        ({"reason": "not a readable zip (truncated)"}, [part(False)], "unreadable"),
        ({"names": ["a_mask.png"]}, [], "no_batch"),
        ({"names": ["img_001_mask.png"]}, [part(False, missing=2)], "incomplete"),
        ({"names": ["img_001_mask.png"]}, [part(False, images=None)], "unknown"),
        (
            {"names": ["img_001_mask.png"]},
            [part(False, note="masks: 1 upload(s) not checked yet")],
            "unknown",
        ),
        ({"names": ["img_001_mask.png"]}, [part(True)], None),  # the batch is usable with it
    ],
)
def test_the_problem_of_a_receipt(listing, parts, expected):
    readable = bool(listing) and not listing.get("reason")
    assert receipt_problem(listing or {}, readable, parts, UPLOAD)[0] == expected


@pytest.mark.parametrize(
    "filename, batch_id, reason",
    [
        ("batch_99.zip", None, "names no batch in the list"),
        ("masks.zip", "batch_99", "names no batch in the list"),
        ("masks.zip", None, "names no batch in the list"),
        ("masks.zip", 7.5, "its metadata.batch_id (7.5) is not a batch id"),
        ("masks.zip", float("nan"), "its metadata.batch_id (nan) is not a batch id"),
        ("masks.zip", True, "its metadata.batch_id (True) is not a batch id"),
    ],
)
def test_a_receipt_naming_no_batch_says_why(filename, batch_id, reason):
    upload = {**UPLOAD, "filename": filename, "metadata": {"batch_id": batch_id}}
    problem, phrase = receipt_problem({"names": ["a_mask.png"]}, True, [], upload)
    assert (problem, str(phrase)) == ("no_batch", reason)


def test_a_receipt_counts_its_own_masks_and_carries_what_newer_checks_store():
    listing = {
        "kind": "zip",
        "names": ["img_001_mask.png", "img_002_mask.png", "x_mask.png"],
        "other_files": ["labelmap.txt"],
        "content": {"ok": False, "findings": ["empty"]},
        "changes": {"added": ["img_002_mask.png"], "removed": [], "changed": []},
    }
    receipt = build_receipt(UPLOAD, listing, [part(False, missing=1)], "sync", ("_mask",))
    assert (
        receipt["masks"],
        receipt["matched"],
        receipt["missing_count"],
        receipt["extra_count"],
    ) == (3, 2, 1, 1)
    assert receipt["missing"] == ["img_003.png"] and receipt["extra"] == ["x_mask.png"]
    assert receipt["other_files"] == ["labelmap.txt"]
    assert receipt["changes"]["added"] == ["img_002_mask.png"]
    assert receipt["content"] == {"ok": False, "findings": ["empty"]}
    assert (receipt["problem"], receipt["uploaded_by"], receipt["usable"]) == (
        "incomplete",
        "flor",
        False,
    )
    complete = build_receipt(UPLOAD, listing, [part(True)], "sync", ("_mask",))
    assert (complete["problem"], complete["usable"]) == ("content", False)


def test_a_receipt_says_what_its_batch_still_misses_not_what_the_upload_alone_lacks():
    """A batch delivered in parts: the part bringing img_003's mask completes it (the batch is
    usable), so nothing is missing, though its one mask matches one image of three; a bare
    img_002 mask after img_001's leaves the batch short of img_003 only."""
    completing = build_receipt(
        UPLOAD, {"kind": "zip", "names": ["img_003_mask.png"]}, [part(True)], "sync", ("_mask",)
    )
    assert (completing["matched"], completing["missing_count"], completing["missing"]) == (1, 0, [])
    assert completing["usable"] and completing["parts"][0]["missing"] == []
    second = build_receipt(
        UPLOAD,
        {"kind": "file", "names": ["img_002_mask.png"]},
        [part(False, missing=1)],
        "sync",
        ("_mask",),
    )
    assert (second["matched"], second["missing_count"], second["missing"]) == (
        1,
        1,
        ["img_003.png"],
    )
    assert second["reason"] == "batch_1: 1 of 3 images without a mask"


def test_a_receipt_without_content_checks_has_none():
    receipt = build_receipt(UPLOAD, {"names": []}, [part(True)], "verify", ())
    assert receipt["content"] is None and receipt["changes"] is None
    assert receipt["other_files"] == [] and receipt["made_by"] == "verify"


def test_an_unreadable_upload_is_not_usable_though_its_batch_was_delivered_before():
    """A truncated archive after a complete delivery: the batch stays delivered (its earlier
    upload), the receipt of this upload is not usable."""
    listing = {"reason": "truncated archive: the compressed stream ends"}
    receipt = build_receipt(UPLOAD, listing, [part(True)], "sync", ("_mask",))
    assert (receipt["problem"], receipt["usable"]) == ("unreadable", False)


def test_a_receipt_counts_masks_differing_only_in_case_once():
    """`masks/img_002_mask.png` beside `masks/IMG_002_MASK.PNG` in one zip: 3 masks for 3
    images, as the batch's check counts them, not 4."""
    names = ["IMG_002_MASK.PNG", "img_001_mask.png", "img_002_mask.png", "img_003_mask.png"]
    receipt = build_receipt(UPLOAD, {"names": names}, [part(True)], "sync", ("_mask",))
    assert (receipt["masks"], receipt["matched"], receipt["extra_count"]) == (3, 3, 0)


@pytest.mark.parametrize(
    "stored, shown",
    [
        ("flor", "flor"),
        (42, "42"),  # a user number: the uploads list and the mismatch report show "42"
        (True, None),
        (["flor"], None),
        ("", None),
        (None, None),
    ],
)
def test_a_receipt_names_the_uploader_as_the_uploads_list_does(stored, shown):
    # Probe 15: uploaded_by 42 read "Subido por: -" on the Receipts page, 42 everywhere else.
    from segcore.uploads.uploads import upload_from_document

    upload = {**UPLOAD, "metadata": {"uploaded_by": stored}}
    receipt = build_receipt(upload, {"names": ["img_001_mask.png"]}, [part(True)], "sync", ())
    assert receipt["uploaded_by"] == upload_from_document(upload).uploaded_by == shown
