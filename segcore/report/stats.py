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
    REDOING,
    SENT_BACK_AT,
)
from segcore.work.holders import holder


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
        return round(100.0 * self.with_masks / self.total, 1) if self.total else 0.0

    @property
    def without_masks(self) -> int:
        """`pending` under a name that cannot be mistaken for the "pending" status."""
        return self.pending

    percent_done = percent_with_masks  # the JSON key scripts already read

    @property
    def percent_delivered(self) -> float:
        """Share of batches delivered, usable."""
        return round(100.0 * self.delivered / self.total, 1) if self.total else 0.0

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


# `delivery.sent_back_standing` as an expression: in rework (or redoing it), sent back at a
# date, and no upload dated after it.
_SENT_BACK_AT = f"${SENT_BACK_AT}"
_LATEST = f"${LATEST_UPLOAD}"
_SENT_BACK_STANDS = {
    "$and": [
        {"$in": ["$status", list(REDOING)]},
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
