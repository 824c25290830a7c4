"""A receipt's batch as it stood when its upload came in (`Arrival`, `still_missing`), and
whether a batch short of masks then is usable now (`delivered_since`): a receipt keeps the
batch as it stood, the pages say when its missing masks came in a later upload."""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

from segcore.images.mask_matching import compare_batch, paths_for_batch, shown
from segcore.store.schema import BATCHES, MASK_CHECKS, find_in
from segcore.work import delivery


def still_missing(part: dict) -> tuple:
    """(count, names shown) of the batch's images without a mask once the upload is counted
    with the batch's readable uploads up to it: none for a usable batch, else its mask
    check's (or, for a part fixed later, as `Arrival` found it); count None when the batch's
    check counted none (its uploads not all listed)."""
    if part["usable"]:
        return 0, []
    count = part.get("missing_count")
    if type(count) is not int:
        return None, []
    names = part.get("missing")
    return count, shown([n for n in names if isinstance(n, str)] if isinstance(names, list) else [])


def shown_missing(receipt: dict) -> object:
    """The receipt's "still missing" as shown: none for a usable upload (its batch then had
    every mask), whatever a receipt stored before this rule counted (the upload's own masks'
    shortfall, 2 for a part completing a batch delivered in parts); else as stored."""
    if receipt.get("usable") is True:
        return 0
    return receipt.get("missing_count")


class Arrival:
    """A batch as it stood when an upload came in. A batch made usable by a later upload (the
    fix of a part, both seen by one run) was not usable at the part's arrival: its receipt
    says so, as it would have had a run come between them."""

    def __init__(self, work, by_batch: dict, listings: dict, suffixes, extensions):
        self.work, self.by_batch, self.listings = work, by_batch, listings
        self.rules = (suffixes, extensions)

    def judge(self, upload: dict, part: dict, key: str) -> dict:
        since, date = part.pop("usable_since", None), upload.get("uploadDate")
        uploads = self.by_batch.get(key)
        if not (part["usable"] and uploads and part["images"] is not None):
            return part
        if not (isinstance(since, datetime) and isinstance(date, datetime) and date < since):
            return part
        mine = (date, str(upload["_id"]))
        earlier = [
            u
            for u, when in uploads.items()
            if isinstance(when, datetime) and (when, str(u)) <= mine
        ]
        self._read([u for u in earlier if u not in self.listings])
        names = [
            n
            for u in earlier
            if self.listings.get(u) and not self.listings[u].get("reason")
            for n in paths_for_batch(
                self.listings[u], key, self.listings[u].get("batches") or [key]
            )
        ]
        suffixes, extensions = self.rules
        check = compare_batch(part["images"], names, [], suffixes, extensions=extensions)
        if check.missing_count:
            part.update(
                usable=False,
                missing_count=check.missing_count,
                missing=list(check.missing),
                fixed_later=True,
            )
        return part

    def _read(self, upload_ids: list) -> None:
        if upload_ids:
            self.listings.update(
                (d["_id"], d) for d in find_in(self.work[MASK_CHECKS], "_id", upload_ids)
            )


def delivered_since(work: Database, receipts: list[dict]) -> list[dict]:
    """Each incomplete receipt whose short batches are all usable now gets `delivered_since`
    True: the masks it lacked came in a later upload (a receipt keeps the batch as it stood)."""
    short = {
        id(r): [str(p.get("id")) for p in _short_parts(r)]
        for r in receipts
        if r.get("problem") == "incomplete"
    }
    ids = sorted({b for batch_ids in short.values() for b in batch_ids})
    usable = {
        str(d.get("id"))
        for d in find_in(work[BATCHES], "id", ids, {"_id": 0, "id": 1, delivery.CHECK_FIELD: 1})
        if delivery.is_usable_check(d.get(delivery.CHECK_FIELD))
    }
    for receipt in receipts:
        batch_ids = short.get(id(receipt))
        if batch_ids:
            receipt["delivered_since"] = all(b in usable for b in batch_ids)
    return receipts


def _short_parts(receipt: dict) -> list[dict]:
    """The parts of a receipt whose batch was short of masks; of a receipt stored without
    parts, its batches."""
    parts = [p for p in _stored_list(receipt.get("parts")) if isinstance(p, dict)]
    if not parts:
        return [{"id": b} for b in _stored_list(receipt.get("batches"))]
    return [p for p in parts if not p.get("usable")]


def _stored_list(value: object) -> list:
    """A stored list; none for a number or a text another tool left in its place."""
    return list(value) if isinstance(value, (list, tuple)) else []
