"""Progress figures: how many batches there are, assigned, with masks (uploaded), delivered
(usable), pending."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pymongo.database import Database

from segcore.work.batches import COLLECTION
from segcore.work.delivery import (
    CHECK_FIELD,
    CONTENT_FIELD,
    LATEST_UPLOAD,
    REWORK,
    SENT_BACK_AT,
)
from segcore.work.holders import holder


def share(part: int, total: int) -> float:
    """Percent to one decimal that never reads 100.0 while something is missing, nor 0.0
    when something is there: 1,999 of 2,000 is 99.9, not the 100.0 rounding gives."""
    if not total:
        return 0.0
    percent = round(100.0 * part / total, 1)
    if part < total:
        percent = min(percent, 99.9)
    if part > 0:
        percent = max(percent, 0.1)
    return percent


@dataclass(frozen=True)
class Summary:
    total: int
    assigned: int
    with_masks: int
    pending: int
    delivered: int = 0  # delivered, usable (segcore.delivery): uploaded is not delivered

    @property
    def percent_with_masks(self) -> float:
        """Share of batches with masks. Not "done": `done` is a status a coordinator sets."""
        return share(self.with_masks, self.total)

    @property
    def without_masks(self) -> int:
        """`pending` under a name that cannot be mistaken for the "pending" status."""
        return self.pending

    percent_done = percent_with_masks  # the JSON key scripts already read

    @property
    def percent_delivered(self) -> float:
        """Share of batches delivered, usable."""
        return share(self.delivered, self.total)

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "percent_done": self.percent_with_masks,
            "uploaded": self.with_masks,
            "percent_delivered": self.percent_delivered,
            "without_masks": self.without_masks,
            "percent_with_masks": self.percent_with_masks,
        }


def summary_from_counts(total: int, assigned: int, with_masks: int, delivered: int = 0) -> Summary:
    """Pending means "no masks uploaded yet", whoever holds the batch."""
    return Summary(
        total=total,
        assigned=assigned,
        with_masks=with_masks,
        pending=total - with_masks,
        delivered=delivered,
    )


# `delivery.sent_back_standing` as an expression: in rework, sent back at a date, and no upload
# dated after it.
_SENT_BACK_AT = f"${SENT_BACK_AT}"
_LATEST = f"${LATEST_UPLOAD}"
_SENT_BACK_STANDS = {
    "$and": [
        {"$eq": ["$status", REWORK]},
        {"$eq": [{"$type": _SENT_BACK_AT}, "date"]},
        {
            "$or": [
                {"$ne": [{"$type": _LATEST}, "date"]},
                {"$lte": [_LATEST, _SENT_BACK_AT]},
            ]
        },
    ]
}


def summary(db: Database) -> Summary:
    """Counts over the whole batch list, in one pass.

    Grouped by stored assignee (a group per person or spelling), so that who holds a batch is
    `holders.holder`'s rule, as on the pages: 42 and ["Flor"] are assigned, "  " is not.
    """
    pipeline = [
        {
            "$group": {
                "_id": "$assignee",
                "total": {"$sum": 1},
                "with_masks": {"$sum": {"$cond": [{"$eq": ["$mongo_uploaded", True]}, 1, 0]}},
                "delivered": {
                    "$sum": {
                        "$cond": [
                            {
                                "$and": [
                                    {"$eq": [f"${CHECK_FIELD}.usable", True]},
                                    {
                                        "$not": [
                                            {
                                                "$gt": [
                                                    {"$ifNull": [f"${CONTENT_FIELD}.problems", 0]},
                                                    0,
                                                ]
                                            }
                                        ]
                                    },
                                    {"$not": [_SENT_BACK_STANDS]},
                                ]
                            },
                            1,
                            0,
                        ]
                    }
                },
            }
        }
    ]
    groups = list(db[COLLECTION].aggregate(pipeline))
    return summary_from_counts(
        sum(g["total"] for g in groups),
        sum(g["total"] for g in groups if holder(g["_id"]) is not None),
        sum(g["with_masks"] for g in groups),
        sum(g["delivered"] for g in groups),
    )
