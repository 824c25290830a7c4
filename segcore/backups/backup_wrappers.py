"""What a file handed to `restore` is when it is not a backup: a good backup mailed zipped
("Send to > Compressed folder"), recompressed to save space (`zcat | xz`) or put in a tar is
intact, only wrapped, and is named so rather than called damaged."""

from __future__ import annotations

from pathlib import Path

from segcore.core.errors import N_, BackupFileError

_GZIP = b"\x1f\x8b"
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


def refuse_wrapped_in_gzip(path: Path, inner: bytes) -> None:
    """BackupFileError saying what a gzip file holds when it is another packed file, not a
    backup's lines: a tar made with `tar czf`, a backup gzipped a second time (a web server
    compressing a .gz download again, `gzip` run on it by habit). `inner`: its first 512
    uncompressed bytes. Returns for anything else."""
    kind = None
    if inner.startswith(_GZIP):
        kind = "gzip + gzip"
    elif inner[257:262] == b"ustar":
        kind = "tar + gzip"
    else:
        kind = next(
            (f"{name} + gzip" for magic, name in _WRAPPERS if inner.startswith(magic)), None
        )
    if kind is not None:
        raise _packed(path, kind)


def _packed(path: Path, kind: str) -> BackupFileError:
    return BackupFileError(
        N_(
            "{path}: packed with {kind}, not a segcore backup itself: unpack it first "
            "and restore the backup it holds (a .jsonl.gz or .jsonl file); nothing was "
            "restored"
        ),
        path=path,
        kind=kind,
    )


def refuse_other_format(path: Path, start: bytes) -> None:
    """BackupFileError saying what the file is when it is neither gzip nor JSON Lines: an
    archive or another compressor's file holding a backup is to be unpacked first."""
    kind = next((name for magic, name in _WRAPPERS if start.startswith(magic)), None)
    if kind is None and start[257:262] == b"ustar":
        kind = "tar"
    if kind is not None:
        raise _packed(path, kind)
    raise BackupFileError(
        N_("{path}: not a segcore backup (neither gzip nor JSON Lines); nothing was restored"),
        path=path,
    )
