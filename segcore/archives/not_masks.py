"""Members named as masks that are no masks of the upload: pure functions over an archive's
entries (`(path, size, key, value, link)`, as `archive_listing` reads them).

- A mask under another batch's folder (`batch_14/` in `batch_13.zip`: two batch folders
  zipped together; `batch_3/` in `batch_1_to_batch_2.zip`) is that batch's, not the upload's. Only a
  folder naming a batch of the list is another batch's (`mask_matching.other_batch_folder`):
  a dated `export_batch_20261207/` or `Batch 2026/` names none, and its masks count.
- Beside a `SegmentationClass/` folder (Pascal VOC's layout, as CVAT's and Datumaro's
  "Segmentation mask" export writes it), its sibling `SegmentationObject/` holds instance
  masks, one number per object: not the image's mask, never held to MASK_LABELS. labelme's
  `labelme2voc.py` writes more siblings: `SegmentationClassPNG/` (class masks too),
  `SegmentationObjectPNG/` (instance masks too) and `SegmentationClassVisualization/`,
  `SegmentationObjectVisualization/` (colour overlays of the masks on the image): no mask
  of the image either.
"""

from __future__ import annotations

from segcore.core.errors import N_
from segcore.images.image_copies import CLASS_FOLDER, INSTANCE_FOLDER, OVERLAY_FOLDER
from segcore.images.mask_matching import (
    folder_batches,
    is_image_name,
    is_mask_member,
    mask_path,
    member_base_name,
    nfc,
    other_batch_folder,
)

# how a mask under another batch's folder is listed among an upload's other files
OTHER_BATCH_MEMBER = N_("{name} (in {batch}'s folder, not this batch's)")
# how an instance mask beside the class masks (VOC's SegmentationObject/) is listed
INSTANCE_MEMBER = N_("{name} (an instance mask, beside the class masks)")
# how a visualization beside the class masks (labelme2voc's `...Visualization/`) is listed
OVERLAY_MEMBER = N_("{name} (a visualization, beside the class masks)")


def without_other_batches(
    entries: list, own, extensions, listed=None
) -> tuple[list, list, list[str]]:
    """`(entries, elsewhere, unlisted)`: for an upload naming batches `own` (one, or several:
    `batch_1_to_batch_2.zip`), the members named as masks under another batch's folder taken
    out (`elsewhere`: each path and that batch, `mask_matching.other_batch_folder`: a batch
    of `listed`, every one with None), and the batches the masks' folders name that `listed`
    lacks; none without `own`."""
    own = set(own or ())
    if not own:
        return entries, [], []
    kept, elsewhere, seen = [], [], {}
    named: set[str] = set()
    for entry in entries:
        name = entry[0]
        mask = is_mask_member(name) and is_image_name(member_base_name(name), extensions)
        batches = folder_batches(name, seen) if mask else set()
        named |= batches
        batch = (
            other_batch_folder(name, own, batches if listed is None else listed, seen)
            if mask
            else None
        )
        if batch is None:
            kept.append(entry)
        else:
            elsewhere.append((name, batch))
    unlisted = [] if listed is None else sorted(named - set(listed) - own)
    return kept, elsewhere, unlisted


def without_instance_masks(entries: list, extensions) -> tuple[list, list, list]:
    """`(entries, instances, overlays)`: the members named as masks beside a class masks'
    folder (`SegmentationClass/`, `SegmentationClassPNG/`, holding masks) taken out: those of
    a sibling `SegmentationObject*/` folder (VOC's layout, as CVAT and Datumaro export it,
    `SegmentationObjectPNG/` of labelme2voc: a number per object) are `instances`, those of a
    sibling `*Visualization/` folder (labelme2voc's colour overlays) are `overlays`; the class
    masks count."""
    folders = {}
    for entry in entries:
        if is_mask_member(entry[0]) and is_image_name(member_base_name(entry[0]), extensions):
            parts = [nfc(p).casefold() for p in mask_path(entry[0]).split("/")[:-1]]
            if parts:
                folders[entry[0]] = (tuple(parts[:-1]), parts[-1])
    classes = {above for above, folder in folders.values() if _class_folder(folder)}
    if not classes:
        return entries, [], []
    kept, instances, overlays = [], [], []
    for entry in entries:
        above, folder = folders.get(entry[0], ((), ""))
        if above not in classes or _class_folder(folder):
            kept.append(entry)
        elif folder.endswith(OVERLAY_FOLDER):
            overlays.append(entry)
        elif folder.startswith(INSTANCE_FOLDER):
            instances.append(entry)
        else:
            kept.append(entry)
    return kept, instances, overlays


def _class_folder(folder: str) -> bool:
    """True for a (casefolded) folder of class masks: `segmentationclass`, `...png`, not
    `segmentationclassvisualization`."""
    return folder.startswith(CLASS_FOLDER) and not folder.endswith(OVERLAY_FOLDER)
