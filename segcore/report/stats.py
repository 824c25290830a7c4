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
    SENT_BACK_AT,
    delivery_of,
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


# What `delivery.delivery_of` reads, and the rest a summary counts: subfields only, so a
# mask check's lists of missing or unreadable files are not sent.
_SUMMARY_PROJECTION = {
    "_id": 0,
    "assignee": 1,
    "status": 1,
    "mongo_uploaded": 1,
    **{
        f"{CHECK_FIELD}.{name}": 1
        for name in ("usable", "usable_since", "state", "images", "missing_count", "content")
    },
    f"{CONTENT_FIELD}.problems": 1,
    SENT_BACK_AT: 1,
    LATEST_UPLOAD: 1,
}


def summary(db: Database) -> Summary:
    """Counts over the whole batch list, in one read.

    Delivered is `delivery.delivery_of`'s rule, the one the pages and the weekly report
    count by (a check stored without `usable` by an earlier release, a problem count stored
    as `2.0` or `"3"` by another tool: `delivery.problem_count`); who holds a batch is
    `holders.holder`'s rule, as on the pages: 42 and ["Flor"] are assigned, "  " is not.
    Not an aggregation: a server-side expression would be a second copy of the rule, and
    reading the few fields costs about what grouping them does on the embedded server.
    """
    total = assigned = with_masks = delivered = 0
    for doc in db[COLLECTION].find({}, _SUMMARY_PROJECTION, batch_size=10_000):
        total += 1
        assigned += holder(doc.get("assignee")) is not None
        with_masks += doc.get("mongo_uploaded") is True
        delivered += delivery_of(doc)[0]
    return summary_from_counts(total, assigned, with_masks, delivered)
