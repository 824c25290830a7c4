"""The live sync's content checks, beside it: a new upload is content-checked right after its
receipt is made, and its receipt updated, without holding up the next upload's receipt.

The live sync hands each group's new uploads to `ContentWorker.add` and goes back to the change
stream; the worker checks them (`mask_content_check.check_content`, listing the images of
batches never listed, so every upload matched to a batch is checked), writes what it found
into their stored receipts (`receipts.apply_content`) and then hands the receipts to `after`
(the live sync enqueues their notifications there). A content check of a 50 MB upload takes
seconds: done in the loop, it delayed every receipt behind it. The sync marked the uploads owed
a check before saving its resume point; the marks go once their receipts are told about
(`content_due`), so a live sync killed before that checks them when it starts again.
"""

from __future__ import annotations

import threading
from typing import Callable

from pymongo.errors import PyMongoError

from segcore.core.errors import SegcoreError
from segcore.masks.content_step import check_and_tell
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
        """Finish the check under way (at most `wait_s`), drop the rest: they stay owed
        (content_due), and the next start or a content check does them."""
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
        sync (the uploads stay owed: the next start or `verify --content` checks them)."""
        told = []

        def tell(ids: list) -> None:
            told.append(ids)
            self._tell(ids)

        try:
            found = check_and_tell(
                self.databases,
                tell=tell,
                upload_ids=upload_ids,
                owed_first=False,
                author=self.author,
            )
        except (SegcoreError, PyMongoError, OSError) as exc:
            self.log(f"content check skipped: {exc}")
            found = None
        if found is not None and found.checked_uploads:
            problems = sum(int(row.get("problems") or 0) for row in found.batches)
            self.log(
                f"content-checked {found.checked_uploads} uploads: {problems} masks with "
                f"problems in their batches"
            )
        if not told:
            self._tell(upload_ids)

    def _tell(self, upload_ids: list) -> None:
        """`after`, logged when it fails: the receipts keep their mark (`notify_due`), which
        the next scan enqueues."""
        try:
            self.after(upload_ids)
        except (SegcoreError, PyMongoError) as exc:
            self.log(f"receipt notifications not enqueued: {exc}")
