"""A DICOM object's pixels as the viewers decode them, and whether a decoder here reads them.

pydicom decodes JPEG with pylibjpeg-libjpeg, a strict decoder: a sequential (baseline or
extended, 12-bit) JPEG whose start-of-scan marker carries other spectral-selection values than
0 and 63 is refused ("A misplaced marker segment was found"). The IJG library inside GDCM and
DCMTK, so ITK-SNAP, 3D Slicer and SimpleITK, ignores those values in a sequential scan (it
warns "Invalid SOS parameters for sequential JPEG") and shows the image; the NEMA WG04 samples
(`*_JPLY`, pydicom's JPEG-lossy.dcm) are written so. Such a frame is decoded here as IJG
decodes it: its scans' parameters set to the only ones a sequential scan has, and decoded
again.
"""

from __future__ import annotations

from segcore.content.formats.read_reasons import NO_DECODER, NoReader

JPEG_SEQUENTIAL = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")  # baseline, extended
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
# pydicom's (3.0) plugins that refuse JPEG Extended at 12 bits ("does not support 'JPEG
# Extended' for samples with 12-bit precision"): with only these, none here reads 12-bit JPEG.
NOT_TWELVE_BIT = {"pillow", "gdcm"}
SOS, EOI = 0xDA, 0xD9
STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and the restart markers: no length
SEQUENTIAL_SCAN = (0, 63, 0)  # a sequential scan's Ss, Se and Ah/Al
# Every transfer syntax of the standard is under this root; pydicom (3.0) does not know those
# added since (named here as the standard names them), so none of its plugins reads them.
STANDARD_SYNTAX_ROOT = "1.2.840.10008.1.2."
DEFLATED_FRAMES = "1.2.840.10008.1.2.8.1"  # Deflated Image Frame Compression (DICOM 2024c)
NEWER_SYNTAXES = {
    "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
    "1.2.840.10008.1.2.4.111": "JPEG XL JPEG Recompression",
    "1.2.840.10008.1.2.4.112": "JPEG XL",
    DEFLATED_FRAMES: "Deflated Image Frame Compression",
}


def pixel_array(ds):
    """`ds.pixel_array`; a sequential JPEG frame every plugin refuses for its scan's
    spectral selection is decoded as IJG-based viewers decode it (see the module's docstring),
    and `ds` (a dataset read for the check alone) keeps the frames so repaired. Raises what
    pydicom raises for the file as it is when the repaired frames do not decode either."""
    try:
        return ds.pixel_array
    except RuntimeError as failed:
        repaired = _sequential_scans_repaired(ds)
        if repaired is None:
            raise
        original, ds.PixelData = ds.PixelData, repaired
        try:
            return ds.pixel_array
        except (RuntimeError, ValueError):
            ds.PixelData = original
            raise failed from None


def refuse_undecodable(ds) -> None:
    """Raise NoReader when the pixel data is compressed in a standard transfer syntax that no
    decoder installed here reads (HTJ2K without pylibjpeg-openjpeg, MPEG video; 12-bit JPEG
    Extended with Pillow alone): a limit of this server, not of the file. A syntax a decoder
    here handles, but fails on, stays unreadable in the decoder's words; so does a transfer
    syntax the standard does not know. One of the standard's that pydicom does not know (JPEG
    XL, added in 2024) is one no decoder here reads; Deflated Image Frame Compression is read
    (`inflate_frames`)."""
    from pydicom.pixels import get_decoder

    meta = getattr(ds, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if "PixelData" not in ds or syntax is None or syntax.is_private or syntax == DEFLATED_FRAMES:
        return
    if not syntax.is_transfer_syntax and str(syntax).startswith(STANDARD_SYNTAX_ROOT):
        name = NEWER_SYNTAXES.get(str(syntax), str(syntax))
        raise NoReader(NO_DECODER.format(syntax=name))
    if not syntax.is_transfer_syntax or not syntax.is_compressed:
        return
    try:
        plugins = set(get_decoder(syntax).available_plugins)
    except NotImplementedError:  # pydicom has no decoder at all for it (MPEG, HEVC)
        plugins = set()
    if syntax == JPEG_EXTENDED and int(getattr(ds, "BitsStored", 8) or 8) != 8:
        plugins -= NOT_TWELVE_BIT
    if not plugins:
        raise NoReader(NO_DECODER.format(syntax=syntax.name))


def inflate_frames(ds) -> None:
    """`ds` (a dataset read for the check alone) in Deflated Image Frame Compression made the
    uncompressed object it stands for: each frame inflated (zlib, which pydicom inflates a
    deflated dataset with; raw deflate as the standard writes it, a zlib stream too), its
    transfer syntax Explicit VR Little Endian, for pydicom to read as any other. Raises
    zlib.error or ValueError for damaged frames."""
    import zlib

    from pydicom.encaps import generate_frames
    from pydicom.uid import ExplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if str(getattr(meta, "TransferSyntaxUID", "")) != DEFLATED_FRAMES or "PixelData" not in ds:
        return
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    limit = _frame_bytes(ds)
    inflated = []
    for frame in generate_frames(ds.PixelData, number_of_frames=frames):
        try:
            inflated.append(_inflate(frame, -zlib.MAX_WBITS, limit))
        except zlib.error:  # zlib or gzip header
            inflated.append(_inflate(frame, zlib.MAX_WBITS | 32, limit))
    data = b"".join(inflated)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PixelData = data + b"\0" * (len(data) % 2)
    ds["PixelData"].is_undefined_length = False


def _frame_bytes(ds) -> int:
    """The bytes one frame of `ds` holds uncompressed (its rows, columns, samples and bits),
    and one of padding: no inflated frame may be longer (a deflate bomb, a few MB that would
    inflate to GBs, stops there). ValueError when the header does not say."""
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
        bits = int(getattr(ds, "BitsAllocated", 8) or 8)
    except (AttributeError, TypeError, ValueError):
        raise ValueError("no frame size in the header") from None
    if min(rows, columns, samples, bits) <= 0:
        raise ValueError("no frame size in the header")
    return -(-rows * columns * samples * bits // 8) + 1


def _inflate(frame: bytes, wbits: int, limit: int) -> bytes:
    import zlib

    data = zlib.decompressobj(wbits).decompress(frame, limit + 1)
    if len(data) > limit:
        raise ValueError(f"a frame inflates past the {limit - 1} bytes its header declares")
    return data


def _sequential_scans_repaired(ds) -> bytes | None:
    """`ds`'s pixel data with each sequential JPEG frame's scans set to Ss 0, Se 63 and
    Ah/Al 0, as IJG reads them; None when `ds` is no sequential JPEG or no frame needed it."""
    from pydicom.encaps import encapsulate, generate_frames

    meta = getattr(ds, "file_meta", None)
    if str(getattr(meta, "TransferSyntaxUID", "")) not in JPEG_SEQUENTIAL:
        return None
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    try:
        found = list(generate_frames(ds.PixelData, number_of_frames=frames))
    except (ValueError, KeyError, IndexError):
        return None
    repaired = [_sequential_scans(frame) for frame in found]
    if all(new is None for new in repaired):
        return None
    return encapsulate([new or old for new, old in zip(repaired, found)])


def _sequential_scans(frame: bytes) -> bytes | None:
    """`frame` (one JPEG codestream) with each start-of-scan's Ss, Se and Ah/Al set to a
    sequential scan's; None when they already are, or its markers cannot be followed."""
    if not frame.startswith(b"\xff\xd8"):  # SOI
        return None
    data = bytearray(frame)
    changed = False
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:  # a fill byte before the marker
            at += 1
            continue
        if marker == EOI:
            break
        if marker in STANDALONE:
            at += 2
            continue
        end = at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")
        if end > len(data):
            return None
        if marker == SOS:
            if tuple(data[end - 3 : end]) != SEQUENTIAL_SCAN:
                data[end - 3 : end] = bytes(SEQUENTIAL_SCAN)
                changed = True
            end = _after_entropy_coded(data, end)
        at = end
    return bytes(data) if changed else None


def _after_entropy_coded(data: bytearray, at: int) -> int:
    """Where the marker after a scan's entropy-coded data starts: the first 0xFF followed by
    neither a stuffed 0x00 nor a restart marker."""
    while True:
        at = data.find(b"\xff", at)
        if at == -1 or at + 1 >= len(data):
            return len(data)
        following = data[at + 1]
        if following != 0x00 and following not in STANDALONE and following != 0xFF:
            return at
        at += 1 if following == 0xFF else 2
