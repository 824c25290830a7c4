"""Progress figures: how many batches there are, assigned, with masks (uploaded), delivered
(usable), pending."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pymongo.database import Database

from segcore.work.batches import COLLECTION
from segcore.work.delivery import CHECK_FIELD, CONTENT_FIELD


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


def summary(db: Database) -> Summary:
    """Counts over the whole batch list, in one pass."""
    pipeline = [
        {
            "$group": {
                "_id": None,
                "total": {"$sum": 1},
                "assigned": {
                    "$sum": {"$cond": [{"$in": [{"$ifNull": ["$assignee", ""]}, [""]]}, 0, 1]}
                },
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
    rows = list(db[COLLECTION].aggregate(pipeline))
    if not rows:
        return summary_from_counts(0, 0, 0)
    row = rows[0]
    return summary_from_counts(row["total"], row["assigned"], row["with_masks"], row["delivered"])
