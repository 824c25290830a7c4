"""Uploaded is not delivered: when a batch counts as delivered, when it is open, and the status a
new upload gives it. Pure functions over stored values: the one place these rules are written.

A batch is *delivered, usable* when its readable uploads together give every image a mask (its
mask check, `mask_check` on its document, found no image without a mask) and, when content
checks are on, they found nothing wrong, and no reviewer's send-back stands: a batch the
coordinator sent back (`rework`, `review.last_sent_back_at`; or `in_progress` again, its holder
redoing it) is not delivered until an upload dated after the send-back arrives (then it is delivered on that upload's day, when the checks
say usable). An unreadable upload never counts: its masks are no masks. A batch whose images
were never listed is *uploaded* but not known to be usable.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from segcore.work.holders import holder

REWORK = "rework"
REVIEW = "review"
DONE = "done"
# Statuses a new upload may move (MASKS_SET_STATUS): review, done and legacy values ("S") are
# never touched.
MOVABLE = ("pending", "in_progress")
# A reviewer's send-back stands while the batch is sent back or its holder is redoing it
# (marked `in_progress` from `rework`): starting the rework delivers nothing.
REDOING = (REWORK, "in_progress")
CHECK_FIELD = "mask_check"
# Beside `rework_reason`, its template and values: written only when segcore itself moved the
# batch to rework for an upload's problem (a sync's receipt, a mask or content check). A
# reviewer's send-back removes it (the note is the reason then), and so does a coordinator
# setting `rework` by hand: it is how segcore tells its own rework from a person's.
REASON_PHRASE = "rework_reason_phrase"

# The work not yet delivered, as a query, for the few segcore reads that ask the server (a
# person's open batches when they leave the team, balancing, next N pending). Who holds it is
# decided in Python by `segcore.work.holders` over what the query returns: a query cannot say
# that 42 or ["Flor"] holds a batch while "  " does not (on a list, a query tests each item).
CONTENT_FIELD = "mask_content"  # the content checks' result on a batch (`problems`)
REVIEW_FIELD = "review"  # the coordinator's review on a batch (segcore.work.review)
SENT_BACK_AT = f"{REVIEW_FIELD}.last_sent_back_at"
LATEST_UPLOAD = "training_metrics_info.latest_upload"
# Who held a delivered batch when it was delivered, noted when it is reassigned afterwards:
# {"name": the holder then, "at": the delivery's moment}. A delivery is theirs, not the new
# holder's; a later delivery (usable again after a send-back) is whoever holds it then.
DELIVERED_BY = "delivered_by"
# A query cannot compare two fields without `$expr`: a batch sent back and still in rework (or
# its rework in progress) is taken as not delivered here (a newer upload moves it to review when
# MASKS_SET_STATUS is on); `is_delivered` tells exactly in Python.
NOT_DELIVERED = {
    "status": {"$ne": DONE},
    "$or": [
        {f"{CHECK_FIELD}.usable": {"$ne": True}},
        {"status": {"$in": list(REDOING)}, SENT_BACK_AT: {"$type": "date"}},
    ],
}


def is_usable_check(check: object) -> bool:
    """True when a stored mask check (`mask_check`) says every image has a readable mask and
    the content checks (when they ran) found nothing."""
    if not isinstance(check, dict):
        return False
    if "usable" in check:
        return check.get("usable") is True
    return usable_from_counts(
        check.get("state"), check.get("images"), check.get("missing_count"), check.get("content")
    )


def content_problems(content: object) -> int:
    """How many content problems a batch's stored `mask_content` counts: 0 for none, for no
    check yet, or for a value another tool left that is no count (`problem_count`)."""
    return problem_count(content.get("problems") if isinstance(content, dict) else None)


def problem_count(value: object) -> int:
    """A stored problem count as a whole number, whichever tool wrote it: an integer, a
    whole double (mongosh writes `2` as `2.0`) or digits as text (`"3"`); 0 for anything
    else (none, true/false, a fraction, words, a negative number). Every figure reads the
    count through this, so `segcore status` and the pages never differ on it."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float):
        return int(value) if value.is_integer() and value > 0 else 0
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())  # ASCII: "²" is a digit to isdigit() and no number to int()
    return 0


def is_usable_batch(check: object, content: object = None) -> bool:
    """A batch's delivery from its stored mask check and content check (`mask_content`, kept
    by the content checks: any problem makes the masks unusable)."""
    return is_usable_check(check) and not content_problems(content)


def known_unusable(check: object, content: object = None) -> bool:
    """True when a batch's stored checks say its uploads give no usable masks (unreadable,
    masks missing, content problems), so it is not accepted as done. A batch whose images were
    never listed (no check, or "unknown") cannot be told: accepting it stays the reviewer's
    call."""
    if is_usable_batch(check, content):
        return False
    told = isinstance(check, dict) and check.get("state") not in (None, "unknown")
    return told or bool(content_problems(content))


def usable_from_counts(state: object, images: object, missing: object, content=None) -> bool:
    """The delivery rule from a check's counts: images known and each with a mask."""
    if state not in ("complete", "extra", "unreadable"):
        return False  # "incomplete" has missing masks; "unknown" cannot tell
    if not isinstance(images, int) or images <= 0 or missing != 0:
        return False
    return not (isinstance(content, dict) and content.get("ok") is False)


def usable_fields(state, images, missing, latest, before, now: datetime) -> dict:
    """`usable` and `usable_since` of a batch's new mask check: since when is kept from the
    earlier result (`before`) while it stays usable, else the newest readable upload's date
    (`latest`), else `now`."""
    usable = usable_from_counts(state, images, missing)
    since = None
    if usable:
        kept = (
            before.get("usable_since")
            if isinstance(before, dict) and before.get("usable") is True
            else None
        )
        since = kept or latest or now
    return {"usable": usable, "usable_since": since}


def _utc(moment: object) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is not None:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def sent_back_standing(status: object, review: object, latest_upload: object) -> bool:
    """True while a reviewer's send-back stands: the batch is in `rework` (or its holder
    marked it `in_progress` to redo it), was sent back (`review.last_sent_back_at`) and no
    upload is dated after that (`latest_upload`, the newest upload's date). Its masks are not
    usable, whatever the checks say."""
    if status not in REDOING or not isinstance(review, dict):
        return False
    sent_back = _utc(review.get("last_sent_back_at"))
    if sent_back is None:
        return False  # sent back by a tool that kept no date: the checks decide
    latest = _utc(latest_upload)
    return latest is None or latest <= sent_back


def delivery_of(doc: dict) -> tuple[bool, datetime | None]:
    """(usable, delivered at) of a stored batch document (its `status`, checks, `review` and
    `training_metrics_info.latest_upload`): its checks'
    rule (`is_usable_batch`, `delivered_at`) unless a reviewer's send-back stands; a batch
    usable again after a send-back is delivered on the day of the upload that came after it."""
    check, content = doc.get(CHECK_FIELD), doc.get(CONTENT_FIELD)
    if not is_usable_batch(check, content):
        return False, None
    review = doc.get(REVIEW_FIELD)
    info = doc.get("training_metrics_info")
    latest = info.get("latest_upload") if isinstance(info, dict) else None
    if sent_back_standing(doc.get("status"), review, latest):
        return False, None
    moment = delivered_at(check, content)
    sent_back = _utc(review.get("last_sent_back_at")) if isinstance(review, dict) else None
    latest = _utc(latest)
    if moment is not None and sent_back is not None and latest is not None:
        if _utc(moment) <= sent_back < latest:
            moment = latest  # delivered again by the upload after the send-back
    return True, moment


def credited_to(
    doc: dict, assignee: str | None, usable: bool, delivered: datetime | None
) -> str | None:
    """Whose delivery a batch is (None when it is not delivered, or was delivered while
    nobody held it): the holder noted when it was reassigned after that delivery
    (`delivered_by`, for the same moment), else who holds it now (`assignee`).

    The one rule for "who delivered", which every figure follows through the rows'
    `delivered_by` (`deliverer`). Deliveries older than `delivered_by` (handed over before
    the release that notes it) have none: they are taken as the current holder's, as every
    figure counted them then."""
    if not usable:
        return None
    noted = doc.get(DELIVERED_BY)
    if isinstance(noted, dict) and _utc(noted.get("at")) == _utc(delivered):
        if noted.get("name") is None:
            return None  # delivered while nobody held it, handed out afterwards
        name = holder(noted.get("name"))
        if name is not None:
            return name
    return assignee


def deliverer(row: dict) -> str | None:
    """Whose delivery a batch row is (its `delivered_by`, from `credited_to`); None for a
    batch not delivered or delivered while nobody held it."""
    if not row.get("usable"):
        return None
    return row["delivered_by"] if "delivered_by" in row else row.get("assignee")


def delivered_by_update(doc: dict, new_assignee: object) -> dict:
    """The `$set` that keeps a delivered batch's delivery with the one who held it, when it is
    reassigned (to `new_assignee`, None for nobody): empty when it is not delivered or the
    delivery is already noted. `doc` holds what `delivery_of` reads, `assignee` and
    `delivered_by`. Pure."""
    usable, moment = delivery_of(doc)
    if not usable:
        return {}
    credited = credited_to(doc, holder(doc.get("assignee")), usable, moment)
    if holder(new_assignee) == credited:
        return {}  # stays with whoever delivered it (nobody, for one delivered unassigned)
    noted = doc.get(DELIVERED_BY)
    if isinstance(noted, dict) and _utc(noted.get("at")) == _utc(moment):
        return {}  # this delivery is noted already
    # name None: delivered while nobody held it, so the new holder gets none for it either
    return {DELIVERED_BY: {"name": credited, "at": moment}}


def is_open(assignee: object, usable: bool, status: object) -> bool:
    """An open batch: assigned (`holders.holder`: 42 and ["Flor"] too), without usable masks,
    not done."""
    return holder(assignee) is not None and not usable and status != DONE


def is_overdue(row: dict, today: date) -> bool:
    """A due date (`due_date`, a date) before `today` on a batch not delivered (`usable`) and
    not done: the table's "overdue" marker, the Late filter and the alerts, one rule."""
    due = row.get("due_date")
    return (
        isinstance(due, date)
        and due < today
        and not row.get("usable")
        and row.get("status") != DONE
    )


def delivered_at(check: object, content: object = None) -> datetime | None:
    """When a usable batch became usable (the date of the upload that completed it), else None."""
    if not is_usable_batch(check, content):
        return None
    moment = check.get("usable_since")
    return moment if isinstance(moment, datetime) else None


def status_after_upload(
    status: object, usable: bool, readable_news: bool, problem: str | None
) -> tuple[str, str | None] | None:
    """The status a batch takes after new uploads were checked, with the reason; None to keep it.

    `usable`: the batch is now delivered; `readable_news`: the new uploads could be read (when
    the batch's images are unknown, a readable upload goes to review: a person must look);
    `problem`: why the new uploads are not usable. pending and in_progress move to review or
    rework; rework moves to review once usable; review, done and legacy values stay.
    """
    if usable:
        return (REVIEW, None) if status in (*MOVABLE, REWORK) else None
    if status not in MOVABLE:
        return None
    if problem:
        return REWORK, problem
    return (REVIEW, None) if readable_news else None


def status_after_check(doc: dict) -> tuple[str, None] | None:
    """The status a batch in `rework` takes when its checks are made again: `review` when
    segcore itself sent it to rework for an upload's problem (`REASON_PHRASE` stored), no
    reviewer's send-back stands (`sent_back_standing`) and its uploads are now delivered, usable
    (`is_usable_batch`: the chunks came, a recheck found no content problem); None to keep it.
    A rework a person set is never undone here: only a newer upload moves it
    (`status_after_upload`). `doc`: the stored batch (status, checks, review, latest upload)."""
    if doc.get("status") != REWORK or not isinstance(doc.get(REASON_PHRASE), dict):
        return None
    info = doc.get("training_metrics_info")
    latest = info.get("latest_upload") if isinstance(info, dict) else None
    if sent_back_standing(REWORK, doc.get(REVIEW_FIELD), latest):
        return None
    return (REVIEW, None) if is_usable_batch(doc.get(CHECK_FIELD), doc.get(CONTENT_FIELD)) else None
