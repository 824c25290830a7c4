"""The live sync's content checks, beside it: a new upload is content-checked right after its
receipt is made, and its receipt updated, without holding up the next upload's receipt.

The live sync hands each group's new uploads to `ContentWorker.add` and goes back to the change
stream; the worker checks them (`mask_content_check.check_content`, listing the images of
batches never listed, so every upload matched to a batch is checked), writes what it found
into their stored receipts (`receipts.apply_content`) and then hands the receipts to `after`
(the live sync enqueues their notifications there). A content check of a 50 MB upload takes
seconds: done in the loop, it delayed every receipt behind it.
"""

from __future__ import annotations

import threading
from typing import Callable

from pymongo.errors import PyMongoError

from segcore.core.errors import SegcoreError
from segcore.masks.receipts import apply_content
from segcore.store.connection import Databases

STOP_WAIT_S = 60.0  # how long a stopping live sync waits for the check under way


class ContentWorker(threading.Thread):
    """Content-checks the uploads it is given, in the order given, one group at a time."""

    def __init__(
        self,
        databases: Databases,
        author: str,
        log: Callable[[str], None],
        after: Callable[[list], None] | None = None,
    ):
        super().__init__(name="live-content", daemon=True)
        self.databases, self.author, self.log = databases, author, log
        self.after = after or (lambda upload_ids: None)
        self.queue: list = []
        self.ready = threading.Condition()
        self.stopping = False
        self.busy = False

    def add(self, upload_ids: list) -> None:
        """Queue new uploads (ids already queued are not added twice)."""
        if not upload_ids:
            return
        with self.ready:
            self.queue += [u for u in upload_ids if u not in self.queue]
            self.ready.notify()

    def idle(self) -> bool:
        """True when nothing is queued or being checked (for tests and a clean stop)."""
        with self.ready:
            return not self.queue and not self.busy

    def stop(self, wait_s: float = STOP_WAIT_S) -> None:
        """Finish the check under way (at most `wait_s`), drop the rest: the next start's
        catch-up sync makes their receipts again and `verify --content` checks them."""
        with self.ready:
            self.stopping = True
            self.ready.notify()
        if self.is_alive():
            self.join(wait_s)

    def run(self) -> None:
        while True:
            with self.ready:
                self.ready.wait_for(lambda: self.queue or self.stopping)
                if self.stopping:
                    return
                group, self.queue, self.busy = self.queue, [], True
            try:
                self.check(group)
            finally:
                with self.ready:
                    self.busy = False

    def check(self, upload_ids: list) -> None:
        """Check `upload_ids`, update their receipts, then call `after` (also when the check
        failed: the receipts stand without it); a problem is logged and never stops the live
        sync (the uploads wait for `verify --content`)."""
        from segcore.content.mask_content_check import check_content

        try:
            found = check_content(self.databases, upload_ids=upload_ids, author=self.author)
            apply_content(self.databases.work, upload_ids)
        except (SegcoreError, PyMongoError, OSError) as exc:
            self.log(f"content check skipped: {exc}")
            found = None
        if found is not None and found.checked_uploads:
            problems = sum(int(row.get("problems") or 0) for row in found.batches)
            self.log(
                f"content-checked {found.checked_uploads} uploads: {problems} masks with "
                f"problems in their batches"
            )
        try:
            self.after(upload_ids)
        except (SegcoreError, PyMongoError) as exc:
            self.log(f"receipt notifications not enqueued: {exc}")
