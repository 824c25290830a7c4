"""What a file's first bytes say it holds, whatever its name: a mask renamed by hand (a PNG
saved as `.npy`, a PNG as `.nii.gz`) is said to be what it is, not worded by the library that
was asked to read it as something else ("This file contains pickled (object) data")."""

from __future__ import annotations

SNIFF_BYTES = 348  # up to a NIfTI-1's magic, at 344
# (offset, signature, the format's name as its users write it). DICOM first: its 128-byte
# preamble may itself be a TIFF header (pydicom's MR_small.dcm has one).
SIGNATURES = (
    (128, b"DICM", "DICOM"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"\x93NUMPY", "NumPy"),
    (0, b"PK\x03\x04", "zip"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"NRRD", "NRRD"),
    (0, b"ObjectType", "MetaImage"),
    (344, b"n+1\x00", "NIfTI"),
    (344, b"ni1\x00", "NIfTI"),
    (4, b"n+2\x00", "NIfTI"),
    (0, b"BM", "BMP"),
)
# By mask_formats' format kind: what its own files' first bytes may say (an .npz is a zip)
OWN_KINDS = {
    "nifti": {"NIfTI", "gzip"},
    "numpy": {"NumPy", "zip"},
    "mgh": {"gzip"},
}


def holds(head: bytes) -> str | None:
    """The format a file's first bytes (`head`, SNIFF_BYTES of them) name, None for none."""
    for offset, signature, name in SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return name
    return None


def other_kind(kind: str, head: bytes) -> str | None:
    """The format `head` names when it is not one a file read as `kind` holds (a PNG read as
    NumPy); None when it is, when they name none, or for a kind not sniffed."""
    found = holds(head)
    if kind not in OWN_KINDS or found is None or found in OWN_KINDS[kind]:
        return None
    return found
