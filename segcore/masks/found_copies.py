"""Copies of a batch's images the content check told by their pixels, counted as copies in an
upload's listing (`without_copies`), and kept there when the listing is made again
(`keep_found`): a `verify --recheck` or a listing under new rules reads the archive, which
tells copies only by their bytes or an images folder, so without them it would count the copy
as its image's mask again and deliver a batch the content check found without one, until the
next content check.
"""

from __future__ import annotations

from pymongo import UpdateOne
from pymongo.database import Database

from segcore.images.image_copies import COPY_MEMBER
from segcore.images.mask_matching import member_base_name
from segcore.store.schema import MASK_CHECKS, MASK_CONTENT, find_in


def without_copies(listing: dict, copies: list[str]) -> dict | None:
    """The fields of a stored listing to set once `copies` (paths) are no masks but copies
    of the batch's images (pure); None when nothing changes. A name stays a mask while
    another path holds it (`masks/img_003.png` next to the copy `img_003.png`)."""
    new = sorted(set(copies) - set(listing.get("image_copies") or ()))
    if not new or listing.get("reason"):
        return None
    paths = listing.get("paths")
    held = [p for p in paths if p not in new] if isinstance(paths, list) else None
    kept = (
        {member_base_name(p) for p in held}
        if held is not None
        else set(listing.get("names") or ()) - {member_base_name(p) for p in new}
    )
    names = [n for n in listing.get("names") or () if n in kept]
    members = listing.get("members")
    placed = listing.get("placed") if isinstance(listing.get("placed"), dict) else {}
    copied = [COPY_MEMBER.format(name=p) for p in new]
    return {
        "names": names,
        **({"paths": held} if held is not None else {}),
        "members": [m for m in members if m.get("name") in kept]
        if isinstance(members, list)
        else members,
        "placed": {b: [n for n in found if n in kept] for b, found in placed.items()},
        "also_loose": [n for n in listing.get("also_loose") or () if n in kept],
        "image_copies": sorted({*(listing.get("image_copies") or ()), *new}),
        "other_files": sorted({*(listing.get("other_files") or ()), *copied}),
    }


def keep_found(work: Database, uploads: dict, listed: list, kept: dict | None = None) -> None:
    """Into the listings just stored of the uploads `listed` (ids; `uploads`: their documents
    by id), and into `kept` (those listings by id, when given), the copies their stored
    content results found by their pixels (`resaved`), when a result was made for the upload
    as it is (its length, date and batches)."""
    projection = {"resaved": 1, "length": 1, "uploadDate": 1, "batches": 1}
    where = {"resaved.0": {"$exists": True}}
    found = {
        d["_id"]: [p for p in d["resaved"] if isinstance(p, str)]
        for d in find_in(work[MASK_CONTENT], "_id", listed, projection, where=where)
        if d["_id"] in uploads and _same_upload(uploads[d["_id"]], d)
    }
    if not found:
        return
    fields = {
        d["_id"]: without_copies(d, found[d["_id"]])
        for d in find_in(work[MASK_CHECKS], "_id", list(found))
    }
    fields = {u: values for u, values in fields.items() if values is not None}
    if fields:
        writes = [UpdateOne({"_id": u}, {"$set": values}) for u, values in fields.items()]
        work[MASK_CHECKS].bulk_write(writes, ordered=False)
    for upload_id, values in fields.items() if kept is not None else ():
        kept[upload_id] = {**kept[upload_id], **values}


def _same_upload(upload: dict, result: dict) -> bool:
    """True when a content result was made for `upload` as it is: its bytes (length, date)
    and the batches it names."""
    return all(result.get(k) == upload.get(k) for k in ("length", "uploadDate")) and sorted(
        result.get("batches") or ()
    ) == sorted(upload.get("batches") or ())
