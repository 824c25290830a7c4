"""DICOM objects that hold no image, told by their SOP class from a file's first bytes.

A PACS or planning-system export leaves, beside a study's images, objects no annotator can
draw a mask on: an RT Structure Set, an RT Plan, a structured report, a presentation state, a
waveform, a key object selection. Their SOP class (the file meta's Media Storage SOP Class, or
the dataset's SOP Class UID when it was saved without a file meta, as pydicom's `rtstruct.dcm`)
is among the first bytes of the file, so one small read tells them.

Only the classes whose objects never hold pixel data are named here, by the words of their
names in the standard (pydicom's dictionary): a class of another name (an RT Dose, a Parametric
Map, a class newer than pydicom) stays an image, as it was before.
"""

from __future__ import annotations

import io
import re

HEAD_BYTES = 128 + 1024  # the preamble, 'DICM' and a file meta (or a dataset's first elements)
# Words of the SOP class names of objects without pixel data: RT objects but the dose and
# images, structured reports, presentation states, waveforms, key object selections,
# encapsulated documents, registrations, measurements, protocols.
NO_IMAGE_WORDS = (
    " SR Storage",  # every structured report's class, its trial versions' too
    "Presentation State",
    "Waveform",
    "RT Structure Set",
    "RT Plan",
    "RT Ion Plan",
    "Treatment Record",
    "Treatment Summary Record",
    "Radiation Record",
    "Radiation Set",
    "Delivery Instruction",
    "Segment Annotation",
    "Physician Intent",
    "Treatment Preparation",
    "Key Object Selection",
    "Encapsulated",
    "Raw Data",
    "Spatial Registration",
    "Spatial Fiducials",
    "Real World Value Mapping",
    "Tractography Results",
    "Measurements Storage",
    "Procedure Log",
    "Procedure Protocol",
    "Protocol Approval",
    "Hanging Protocol",
    "Color Palette",
    "Template",
    "Bulk Simple Annotations",
    "Content Assessment Results",
    "MR Spectroscopy",
)
# Name words that export tools give such objects (Eclipse's and RayStation's `RS.<UID>.dcm`,
# `RP…`, `RE…`; Orthanc's `SR000001.dcm`; `RTSTRUCT_…`): a `.dcm` so named is opened to find
# out, any other `.dcm` is not (see `may_hold_no_image`).
NAME_WORDS = frozenset(
    (
        *("rs", "rp", "re", "rt", "sr", "pr", "ps", "ko", "kos", "reg", "ecg", "doc", "pdf"),
        *("rtstruct", "rtss", "rtplan", "rtrecord", "gsps", "struct", "structs", "structure"),
        *("structures", "structureset", "plan", "report", "registration", "waveform"),
    )
)


def may_hold_no_image(name: str) -> bool:
    """True for a file name whose words (letters between other characters, in any case) hold
    one that exports give objects without an image: `RS_structures.dcm`, `RS1.2.752.dcm`,
    `RTSTRUCT_0001.dcm`, `SR000001.dcm`; never `CT_0001.dcm` or `img_001.dcm`."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0] if "." in name else name
    return any(word in NAME_WORDS for word in re.split(r"[^a-z]+", stem.lower()) if word)


def no_image_class(head: bytes) -> str | None:
    """The name of the SOP class a DICOM file's first bytes (`head`, HEAD_BYTES of them) state
    when it is one of objects without pixel data (`NO_IMAGE_WORDS`), without "Storage": "RT
    Structure Set", "Comprehensive SR"; None for any other class, or bytes that state none."""
    uid = _sop_class(head)
    name = str(getattr(uid, "name", "")) if uid else ""
    if not name or name == str(uid) or not any(word in name for word in NO_IMAGE_WORDS):
        return None
    return name.removesuffix(" Storage")


def _sop_class(head: bytes):
    """The SOP class a file's first bytes state: its file meta's, else its dataset's (a file
    saved without a file meta); None when they state none."""
    import warnings

    from pydicom.filereader import read_partial

    def past_sop_class(tag, vr, length) -> bool:
        return tag > 0x00080016  # (0008,0016) SOP Class UID: stop after it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a forced read of other bytes warns on each tag
            ds = read_partial(io.BytesIO(head), stop_when=past_sop_class, force=True)
    except Exception:  # noqa: BLE001 - the first bytes of anything: pydicom raises anything
        return None
    meta = getattr(ds, "file_meta", None)
    found = meta.get("MediaStorageSOPClassUID") if meta is not None else None
    return found or ds.get("SOPClassUID")
