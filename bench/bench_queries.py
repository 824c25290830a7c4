"""Batch-list queries at scale, as ratios of a bare read of the same documents.

The batch table filters and sorts the rows a process keeps of every batch
(`segcore.views.batch_rows`) and reads one page of documents by id; each case here times that
from a view not computed yet (a new filter), as a page's interaction costs it.

python bench/bench_queries.py [--batches 50000]
"""

from __future__ import annotations

import argparse
import random

from common import best_of, throwaway_server

from segcore.report import stats
from segcore.team import team
from segcore.views.batch_rows import BatchRows
from segcore.work import batches
from segcore.work.batches import BatchQuery


def build(db, count: int) -> None:
    rng = random.Random(1)
    names = [f"Person {i}" for i in range(100)]
    for name in names:
        team.add_member(db, name)
    docs = []
    for n in range(1, count + 1):
        docs.append(
            {
                "id": f"batch_{n}",
                "number": n,
                "folder": f"/data/batch_{n}",
                "assignee": rng.choice(names) if rng.random() < 0.7 else None,
                "status": rng.choice(batches.STATUSES),
                "mongo_uploaded": rng.random() < 0.4,
                "metadata": {"priority": rng.choice(batches.PRIORITIES), "due_date": "2025-09-30"},
            }
        )
    for start in range(0, len(docs), 5000):
        db.batches.insert_many(docs[start : start + 5000])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=50_000)
    args = parser.parse_args()
    with throwaway_server() as (_uri, client):
        db = client.bench
        batches.ensure_indexes(db)
        build(db, args.batches)
        floor = best_of(lambda: list(db.batches.find({}, batches.TABLE_PROJECTION)))
        rows = BatchRows().refresh(db)

        def table_page(query: BatchQuery, page: int = 1):
            rows.forget_views()  # a view not computed yet, as a new filter is
            return rows.page(db, query, page=page)

        cases = {
            "every batch read as rows": lambda: BatchRows().refresh(db),
            "first page, no filter": lambda: table_page(BatchQuery()),
            "page 200, no filter": lambda: table_page(BatchQuery(), page=200),
            "one person's batches": lambda: table_page(BatchQuery(assignee="Person 7")),
            "without masks": lambda: table_page(BatchQuery(has_masks=False)),
            "text search '123'": lambda: table_page(BatchQuery(text="123")),
            "status counts (summary)": lambda: stats.summary(db),
            "next 50 pending": lambda: batches.next_pending_ids(db, 50),
        }
        print(f"{args.batches} batches; floor = bare read of all batch documents: {floor:.2f} s")
        print(f"{'operation':<28} {'time':>8} {'x floor':>8}")
        for label, case in cases.items():
            took = best_of(case)
            print(f"{label:<28} {took:>7.2f}s {took / floor:>8.2f}")


if __name__ == "__main__":
    main()
