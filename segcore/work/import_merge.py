"""Merging the import's sources (the batches file, the folder scan) into one entry per batch.

Folders naming one batch (`batch_5`, `batch_05`) and batches naming one folder on disk are
never chosen between silently (SameBatch); of two folders the sources name for one batch, the
one used and the other are both said (`BatchEntry.folder_not_used`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

from segcore.core.naming import batch_key, storable
from segcore.core.regular_files import stored_folder_on_disk
from segcore.work.batches_file import BatchEntry


@dataclass(frozen=True)
class SameBatch:
    """Folders naming one batch (`batch_5`, `batch_05`, `batch_5_redo`): a scan imports the one
    named exactly as the batch (`kept`), or none of them, and says so. `paths` are the set-aside
    folders' real paths: a batches file naming one of them does not bring it back.

    With `folder` set, batches whose folders are that one folder on disk (a link `batch_7 ->
    batch_1`): the batch its folder is named for is `kept`, if any, and `others` are not
    imported, as two batches sharing one folder would count its images twice."""

    batch_id: str
    kept: str | None
    others: tuple[str, ...]
    paths: tuple[str, ...] = field(default=(), compare=False)
    folder: str | None = None

    def reason(self) -> str:
        """Why each of `others` was not imported, in English (the command line's words)."""
        if self.folder is not None:
            if self.kept:
                return (
                    f"names the folder of batch '{self.kept}' ({self.folder}), which is "
                    "imported instead"
                )
            return (
                f"shares folder {self.folder!r} with {', '.join(repr(b) for b in self.others)}; "
                "none of them is imported until each has its own"
            )
        if self.kept:
            return f"names the same batch as folder '{self.kept}', which is imported instead"
        return (
            f"names the same batch as {', '.join(repr(f) for f in self.others)}; none of "
            "them is imported until only one is left"
        )


def merge_sources(
    *sources: list[BatchEntry],
    set_aside: Sequence[SameBatch] = (),
    shared: list[SameBatch] | None = None,
    is_folder_here: Callable[[str], bool] | None = None,
) -> list[BatchEntry]:
    """Entries from several sources, one per batch; a later source fills what an earlier lacks.

    Ids naming the same batch number (`batch_7`, `batch_007`) are one batch, spelled as the
    first source spells it. Of two folders the sources name for one batch, the earlier's is
    used unless it is not on disk and the later's is (a file naming `batch_07` or another
    machine's path, the scan finding `batch_7`); the other is kept in `folder_not_used`, never
    dropped without a word, and an image count is only ever the used folder's. An entry whose
    folder is one the scan `set_aside` is left out, as
    the scan's report says (an older batches file listing the leftover `batch_05` beside
    `batch_5` took the batch's number, and the folder named exactly was dropped). Batches
    whose folders are one folder on disk are left out but the one it is named for, each group
    appended to `shared` (see SameBatch and `one_batch_per_folder`).
    """
    aside = {path for group in set_aside for path in group.paths}
    merged: dict[str, BatchEntry] = {}
    for entries in sources:
        for entry in entries:
            if aside and _one_of(entry.folder, aside):
                continue
            key = batch_key(entry.id)
            earlier = merged.get(key)
            if earlier is None:
                merged[key] = entry
            else:
                merged[key] = _merged(earlier, entry, is_folder_here or folder_on_disk)
    return one_batch_per_folder(list(merged.values()), shared)


def _merged(earlier: BatchEntry, later: BatchEntry, is_folder_here: Callable) -> BatchEntry:
    """One batch named by two sources: `earlier`'s id and fields first, its folder unless only
    `later`'s is on disk (see merge_sources)."""
    used, other = earlier, later
    if earlier.folder is None or (
        later.folder is not None
        and earlier.folder != later.folder
        and not is_folder_here(earlier.folder)
        and is_folder_here(later.folder)
    ):
        used, other = later, earlier
    same = other.folder is None or _same_folder(used.folder, other.folder)
    return BatchEntry(
        id=earlier.id,
        folder=used.folder,
        extra={**later.extra, **earlier.extra},
        fields={**later.fields, **earlier.fields},
        image_count=used.image_count
        if used.image_count is not None or not same
        else other.image_count,  # a count is of the folder it was made in
        folder_not_used=used.folder_not_used if same else other.folder,
    )


def _same_folder(a: str | None, b: str) -> bool:
    """Whether two spellings of a folder are one folder (touching the disk only when the
    texts differ)."""
    if a is None or a.rstrip("/") == b.rstrip("/"):
        return True
    return os.path.realpath(a) == os.path.realpath(b)


def one_batch_per_folder(
    entries: list[BatchEntry], shared: list[SameBatch] | None = None
) -> list[BatchEntry]:
    """`entries` but those whose folder is, on disk, another entry's folder (a link `batch_7 ->
    batch_1` in DATA_DIRECTORY, two items of a file naming one folder): of such a group only
    the batch the real folder is named for (`batch_1`) stays, or none; each group is appended
    to `shared`, never chosen silently."""
    groups: dict[str, list[BatchEntry]] = {}
    parents: dict[str, str] = {}
    for entry in entries:
        if entry.folder:  # the real path: a link, '..' or a trailing '/' name the same folder
            groups.setdefault(_real_path(entry.folder, parents), []).append(entry)
    left_out: set[int] = set()
    for real, group in groups.items():
        if len(group) < 2:
            continue
        name = os.path.basename(real)
        kept = next((e for e in group if batch_key(e.id) == batch_key(name)), None)
        others = [e for e in group if e is not kept]
        left_out.update(id(e) for e in others)
        if shared is not None:
            shared.append(
                SameBatch(
                    str(kept.id if kept else others[0].id),
                    kept.id if kept else None,
                    tuple(e.id for e in others),
                    folder=storable(real),
                )
            )
    return [e for e in entries if id(e) not in left_out]


def _real_path(folder: str, parents: dict[str, str]) -> str:
    """os.path.realpath(folder), each parent folder resolved once (`parents`): a scan of
    10,000 batches shares one parent, and realpath reads every component of every path."""
    parent, name = os.path.split(folder.rstrip("/") or "/")
    if name in ("", ".", ".."):
        return os.path.realpath(folder)
    if parent not in parents:
        parents[parent] = os.path.realpath(parent or ".")
    path = os.path.join(parents[parent], name)
    return os.path.realpath(path) if os.path.islink(path) else path


def _one_of(folder: str | None, paths: set[str]) -> bool:
    """Whether `folder` is one of `paths` (real paths), however the file spells it."""
    if not folder:
        return False
    name = os.path.basename(folder.rstrip("/"))
    # realpath touches the disk: only for a folder named as one of them
    return any(os.path.basename(path) == name for path in paths) and (
        os.path.realpath(folder) in paths
    )


def folder_on_disk(path: str) -> bool:
    """Whether `path` is a folder on this machine ('?' in a stored path standing for a byte
    that is not UTF-8, see naming.storable)."""
    return os.path.isdir(path) or stored_folder_on_disk(path) is not None
