"""What a file handed to `restore` is when it is not a backup: a good backup mailed zipped
("Send to > Compressed folder"), recompressed to save space (`zcat | xz`) or put in a tar is
intact, only wrapped, and is named so rather than called damaged."""

from __future__ import annotations

from pathlib import Path

from segcore.core.errors import N_, BackupFileError

# How other packers' files start
_WRAPPERS = (
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty zip
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"Rar!\x1a\x07", "rar"),
)


def refuse_other_format(path: Path, start: bytes) -> None:
    """BackupFileError saying what the file is when it is neither gzip nor JSON Lines: an
    archive or another compressor's file holding a backup is to be unpacked first."""
    kind = next((name for magic, name in _WRAPPERS if start.startswith(magic)), None)
    if kind is None and start[257:262] == b"ustar":
        kind = "tar"
    if kind is not None:
        raise BackupFileError(
            N_(
                "{path}: packed with {kind}, not a segcore backup itself: unpack it first "
                "and restore the backup it holds (a .jsonl.gz or .jsonl file); nothing was "
                "restored"
            ),
            path=path,
            kind=kind,
        )
    raise BackupFileError(
        N_("{path}: not a segcore backup (neither gzip nor JSON Lines); nothing was restored"),
        path=path,
    )
