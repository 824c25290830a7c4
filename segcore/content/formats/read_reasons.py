"""Why a mask or an image is not read: every reason the content check words itself, and
`NoReader`, what this check cannot read for a limit of its own (never a problem of the file).

A reason is stored in English (the command line, JSON and receipts print it as it is); the
pages and the messages to people word it in the reader's language from these texts
(`segcore.content.reason_words`), a library's own words inside it kept as the library said them. A new reason is added here, marked `N_`, to
PHRASES (a whole text) or TEMPLATES (with `{fields}`): `tests/content/test_read_reasons.py`
words every one of them in Spanish, and fails on a reason a content module composes elsewhere.
"""

from __future__ import annotations

from segcore.core.errors import N_, UnreadableUpload


class NoReader(UnreadableUpload):
    """A file this check cannot read for a limit of the server, not of the file (an extension
    in MASK_EXTENSIONS no reader here knows, DICOM pixel data no installed decoder reads): its
    contents are not checked, and it is said so (never a problem of the mask)."""


class NotChecked(str):
    """A NoReader's reason as a scan keeps it beside other reasons: said as "contents not
    checked", never a problem of the mask."""


# What a file was read as, in "not a readable {kind} ({detail})".
IMAGE = N_("image")
NIFTI_FILE = N_("NIfTI file")
MGH_FILE = N_("MGH file")
NRRD_FILE = N_("NRRD file")
NUMPY_FILE = N_("NumPy file")
METAIMAGE_FILE = N_("MetaImage file")
DICOM_FILE = N_("DICOM file")
ZIP = N_("zip")
TAR_ARCHIVE = N_("tar archive")
SEVEN_ZIP_ARCHIVE = N_("7z archive")
KINDS = (
    IMAGE,
    NIFTI_FILE,
    MGH_FILE,
    NRRD_FILE,
    NUMPY_FILE,
    METAIMAGE_FILE,
    DICOM_FILE,
    ZIP,
    TAR_ARCHIVE,
    SEVEN_ZIP_ARCHIVE,
)
NOT_READABLE = N_("not a readable {kind} ({detail})")  # detail: a reason, or a library's words

# Whole texts.
ENCRYPTED_MEMBER = N_("an encrypted member")
COLOUR = N_("a colour image, not a label mask (channels differ)")
DETACHED_NRRD = N_("NRRD header without its data (a detached data file)")
ENCRYPTED_7Z = N_("encrypted 7z archive")
ENCRYPTED_7Z_HEADERS = N_("encrypted 7z headers")
UNSUPPORTED_FORMAT = N_("unsupported format")
TRUNCATED = N_("truncated: fewer values than its header declares")
CORRUPT_HEADER = N_("truncated or corrupt header")
NO_PIXEL_DATA = N_("no pixel data")
NO_ROWS_COLUMNS = N_("pixel data without rows and columns")
NO_FILE_HEADER = N_("saved without its DICOM file header: no preamble, no 'DICM'")
NOT_DICOM = N_("not DICOM data: no 'DICM' header")
NO_DIMENSIONS = N_("not an image mask: a 0-dimensional array")
NO_DIMENSIONS_IMAGE = N_("not an image: a 0-dimensional array")
DEEP_COLOUR = N_(
    "a 16-bit colour or grey-and-alpha image that no library here reads at full depth "
    "(Pillow keeps 8 bits, SimpleITK refuses it)"
)
IMAGE_GONE = N_("no longer in the batch's folder")
GZIPPED_NII = N_("gzip-compressed, but named .nii, not .nii.gz: NIfTI readers do not open it")
PHRASES = (
    ENCRYPTED_MEMBER,
    COLOUR,
    DETACHED_NRRD,
    ENCRYPTED_7Z,
    ENCRYPTED_7Z_HEADERS,
    UNSUPPORTED_FORMAT,
    TRUNCATED,
    CORRUPT_HEADER,
    NO_PIXEL_DATA,
    NO_ROWS_COLUMNS,
    NO_FILE_HEADER,
    NOT_DICOM,
    NO_DIMENSIONS,
    NO_DIMENSIONS_IMAGE,
    DEEP_COLOUR,
    IMAGE_GONE,
    GZIPPED_NII,
)

# Texts with values: `{detail}` holds a library's words, never worded again.
NO_READER = N_("no reader for {extension} files")
ODD_VALUES = N_("not an image mask: values of type {dtype} that no mask holds")
NPZ_MASKS = N_("an .npz of {count} arrays: which one is the mask is not known")
NPZ_IMAGES = N_("an .npz of {count} arrays, not one image")
IMAGE_NOT_OPENED = N_("cannot be opened ({detail})")
CHECK_FAILED = N_("the check could not read it ({detail})")
# As a zip member's or a 7z's method: the file is fine, this check cannot decode it.
UNSUPPORTED_METHOD = N_("compressed by {method}, which this check cannot read")
NO_DECODER = N_("pixel data compressed as {syntax}, which this check cannot read")
# A DICOM number that is none ("1A" as a Number of Frames): {attribute} the standard's name.
MALFORMED_VALUE = N_("a malformed {attribute}: '{value}'")
# A file renamed by hand: {what} the format its first bytes name (PNG, DICOM, NIfTI...).
HOLDS_OTHER = N_("it holds {what} data, not what its name says")
# A detached header (`.mhd`, `.nhdr`) uploaded without the file holding its values.
NO_DATA_FILE = N_("a header without its data: {file} is not in the upload")
TEMPLATES = (
    NO_READER,
    ODD_VALUES,
    NPZ_MASKS,
    NPZ_IMAGES,
    IMAGE_NOT_OPENED,
    CHECK_FAILED,
    UNSUPPORTED_METHOD,
    NO_DECODER,
    MALFORMED_VALUE,
    NO_DATA_FILE,
    HOLDS_OTHER,
)

# A DICOM object that holds no image, named by its SOP class ("a DICOM RT Plan, not an image
# mask"): {what} is the standard's name, {noun} one of NOUNS.
NOT_AN_IMAGE = "a DICOM {what}, not {noun}"
MASK_NOUN, IMAGE_NOUN = "an image mask", "an image"
NOT_AN_IMAGE_WORDED = {
    MASK_NOUN: N_("a DICOM {what}, not an image mask"),
    IMAGE_NOUN: N_("a DICOM {what}, not an image"),
}


def not_readable(kind: str, detail: str) -> str:
    """ "not a readable {kind} ({detail})": `kind` one of KINDS, `detail` a reason or a
    library's words."""
    return NOT_READABLE.format(kind=kind, detail=detail)
