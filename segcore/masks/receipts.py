"""A receipt per upload: whether it could be read, and what it holds against its batch's images.

Made as soon as a sync, the live sync or `verify` sees an upload, from the upload's stored
listing (`mask_checks`) and the batch's image listing, and kept in `receipts` keyed by the
upload's id. Its masks, matched and extra are the upload's own (against its batch's images);
its missing (names and count) and its problem say what the batch is short of once this upload
is counted together with the batch's readable uploads up to it (as it stood when the upload
came in): a part that completes a batch delivered in parts misses nothing, though its own
masks match only some images. When read (`list_receipts`), an incomplete receipt whose
batches are all usable now says so (`delivered_since`): their masks came in a later upload.
`content` is the upload's stored content result while it is current (`is_current`), None
before any content check: a receipt made again (`verify --recheck`) keeps what the content
checks found. The sync's side (listing new uploads, moving statuses) is `segcore.intake`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from pymongo import DESCENDING, UpdateOne
from pymongo.database import Database

from segcore.content.mask_content_check import has_content_problem, is_current
from segcore.core.errors import N_, BatchNotFound
from segcore.core.naming import cut, person_key
from segcore.core.phrases import Nn_, Phrase, text_of
from segcore.core.timefmt import office_now, utcnow
from segcore.images import batch_images
from segcore.images.mask_matching import (
    DEFAULT_EXTENSIONS,
    NAMES_SHOWN,
    compare_batch,
    mask_count,
    masks_held,
    matching_rules,
    paths_for_batch,
    shown,
)
from segcore.masks.batch_as_it_stood import Arrival, delivered_since, still_missing
from segcore.masks.receipt_uploaders import spellings
from segcore.store.schema import MASK_CHECKS, MASK_CONTENT, RECEIPTS, find_in, replace_many
from segcore.uploads.uploads import kept_filename, no_batch_reason, uploader_of
from segcore.work import delivery
from segcore.work.batches import NOT_IN_LIST, unknown_batch_ids

PROBLEMS = ("unreadable", "incomplete", "content", "no_batch", "unknown", "removed")
# A problem in words (the pages' labels too, ui.app.labels.PROBLEM): what a rework reason starts with.
PROBLEM_WORDS = {
    "unreadable": N_("unreadable"),
    "incomplete": N_("incomplete"),
    "content": N_("content problems"),
    "no_batch": N_("names no batch"),
    "unknown": N_("images not listed"),
    "removed": N_("deleted"),
}
NOTIFIED = ("unreadable", "incomplete", "content")  # the problems people are told about
NOTIFY_DUE = "notify_due"
SHOWN = NAMES_SHOWN
LIST_LIMIT = 2000


def ensure_indexes(db: Database) -> None:
    """The Receipts page lists newest first, by batch or by problem."""
    db[RECEIPTS].create_index([("upload_date", DESCENDING)], name="upload_date")
    db[RECEIPTS].create_index([("batches", 1)], name="batches")
    # The notifications' scan reads only the receipts still to tell someone about.
    db[RECEIPTS].create_index([(NOTIFY_DUE, 1)], name=NOTIFY_DUE, sparse=True)


def build_receipt(
    upload: dict,
    listing: dict | None,
    parts: list[dict],
    made_by: str,
    suffixes,
    extensions=DEFAULT_EXTENSIONS,
    content: dict | None = None,
) -> dict:
    """A receipt (pure). `upload`: the file document; `listing`: its stored listing (None when
    never listed); `parts`: per batch it names, {"id", "key", "images" (names or None),
    "usable", "image_error"}; `suffixes` and `extensions` as configured, as the mask check
    matched; `content`: its current content result (`mask_content`), if any. Each part counts
    the masks the mask check counts for its batch (an upload naming several batches: those
    under its folder and under none)."""
    listing = listing or {}
    readable = bool(listing) and not listing.get("reason")
    names = listing.get("names") or [] if readable else []
    # by the key matching takes (one mask per image, whatever its suffix or extension), or
    # more where folders tell same-named images' masks apart
    images = [n for p in parts for n in p["images"] or ()]
    masks = mask_count(names, suffixes, extensions, images)
    own = []
    batches = upload.get("batches") or [p.get("key", p["id"]) for p in parts]
    if readable and len(set(batches)) > 1:  # each batch's folder holds masks of its own
        masks = max(masks, masks_held(listing, batches, suffixes, extensions, images))
    for part in parts:
        counted = paths_for_batch(listing, part.get("key"), batches) if readable else []
        row = {
            "id": part["id"],
            "images": None,
            "matched": None,
            "missing_count": None,
            "missing": [],
            "extra_count": None,
            "extra": [],
            "usable": part["usable"],
        }
        if readable and part["images"] is not None:
            check = compare_batch(part["images"], counted, [], suffixes, extensions=extensions)
            masks = max(masks, check.masks or 0)
            missing_count, missing = still_missing(part)
            row.update(
                images=check.images,
                matched=check.matched,
                missing_count=missing_count,
                missing=missing,
                extra_count=check.extra_count,
                extra=shown(check.extra),
            )
        own.append(row)
    problem, reason = receipt_problem(listing, readable, parts, upload)
    content, failed = _content_of(content, listing)
    if failed is not None and problem in (None, "unknown"):
        problem, reason = "content", failed
    # As the uploads list and the sync read it: a whole number (42) is a name, shown "42".
    uploader, _ = uploader_of(upload.get("metadata"))
    return {
        "_id": upload["_id"],
        "filename": kept_filename(upload.get("filename")),
        "uploaded_by": uploader,
        "upload_date": upload.get("uploadDate"),
        "length": upload.get("length"),
        "batches": [p["id"] for p in parts],
        "kind": listing.get("kind"),
        "readable": readable,
        "reason": None if reason is None else text_of(reason),
        # the reason's template and values, worded in each reader's language when read
        "reason_phrase": reason.as_doc() if isinstance(reason, Phrase) else None,
        "problem": problem,
        "masks": masks,
        "matched": _total(own, "matched"),
        "missing_count": _total(own, "missing_count"),
        "extra_count": _total(own, "extra_count"),
        "missing": [n for r in own for n in r["missing"]][:SHOWN],
        "extra": [n for r in own for n in r["extra"]][:SHOWN],
        "parts": own,
        "other_files": shown(list(listing.get("other_files") or [])),
        "changes": listing.get("changes"),
        "content": content,
        # An upload that cannot be read is never usable, whatever its batches' earlier ones made
        "usable": readable and bool(parts) and all(p["usable"] for p in parts) and failed is None,
        "made_by": made_by,
        "made_at": utcnow(),
        # the matching settings it was made under: `verify` makes it again under new ones
        "rules": matching_rules(suffixes, extensions),
        # set while its notifications are to be enqueued (segcore.notify), unset after; not
        # for a part whose fix came in with it (nothing is left to tell)
        **({NOTIFY_DUE: True} if problem in NOTIFIED and not _fixed_since(parts) else {}),
    }


# Why a receipt is not usable, kept as templates so each reader gets them in their language.
NOT_LISTED = N_("not listed")
INCOMPLETE = Nn_(
    "{batch}: {missing} of {images} image without a mask",
    "{batch}: {missing} of {images} images without a mask",
)
IMAGES_INSTEAD = Nn_(
    "{batch}: {missing} of {images} image without a mask: the upload holds the batch's image "
    "instead of masks",
    "{batch}: {missing} of {images} images without a mask: the upload holds the batch's images "
    "instead of masks",
)
IMAGES_NOT_LISTED = N_("{batch}: images not listed ({error})")
IMAGES_NOT_LISTED_YET = N_("{batch}: images not listed yet")
NOT_KNOWN_COMPLETE = N_("{batch}: not known to be complete")
CHECK_NOTE = N_("{batch}: {note}")
CONTENT_FAILED = N_("the content checks found problems")
CONTENT_PROBLEMS = Nn_("{count} content problem", "{count} content problems")


def receipt_problem(listing: dict, readable: bool, parts: list[dict], upload: dict) -> tuple:
    """(problem, reason as a Phrase) of a receipt (of `upload`, its file document), or
    (None, None) when its batches are now usable."""
    if not listing:
        return "unreadable", Phrase(NOT_LISTED)
    if not readable:
        return "unreadable", unreadable_phrase(listing)
    if not parts:
        return "no_batch", no_batch_reason(upload)
    for part in parts:
        if not part["usable"] and part["images"] is not None and part.get("missing_count"):
            # only copies of the batch's images, no mask: the wrong folder was zipped
            only_images = listing.get("image_copies") and not listing.get("names")
            return "incomplete", Phrase(
                IMAGES_INSTEAD if only_images else INCOMPLETE,
                plural_by="images",
                batch=part["id"],
                missing=part["missing_count"],
                images=len(part["images"]),
            )
    for part in parts:
        if not part["usable"]:
            return "unknown", _unknown_phrase(part)
    return None, None


def unreadable_phrase(listing: dict) -> "Phrase | str":
    """Why a stored listing could not be read: its template and values (`reason_code`,
    `reason_params`); a listing stored before codes were kept gives its English text."""
    code, params = listing.get("reason_code"), listing.get("reason_params")
    english = str(listing.get("reason"))
    if not isinstance(code, str):
        return english
    return Phrase.from_doc({"template": code, "params": params or {}}, english)


def _unknown_phrase(part: dict) -> Phrase:
    if part["images"] is None:
        error = part.get("image_error")
        if error in (None, "not listed yet"):
            return Phrase(IMAGES_NOT_LISTED_YET, batch=part["id"])
        return Phrase(IMAGES_NOT_LISTED, batch=part["id"], error=str(error))
    notes = [
        n for n in part.get("notes") or () if isinstance(n, dict) and isinstance(n.get("code"), str)
    ]
    if notes:
        return Phrase(CHECK_NOTE, batch=part["id"], note=_joined(notes))
    if part.get("note"):
        return Phrase(CHECK_NOTE, batch=part["id"], note=str(part["note"]))
    return Phrase(NOT_KNOWN_COMPLETE, batch=part["id"])


def _joined(notes: list[dict]) -> "Phrase | str":
    """A check's notes ({"code", "params"}) as one phrase, "; " between them."""
    first = Phrase.from_doc({"template": notes[0]["code"], "params": notes[0].get("params") or {}})
    if len(notes) == 1:
        return first
    return Phrase("{first}; {rest}", first=first, rest=_joined(notes[1:]))


def _content_of(content: dict | None, listing: dict) -> tuple:
    """A receipt's content result and, when it makes the upload not usable, why (None): the
    upload's stored result as `apply_content` writes it in, else one an early listing held."""
    if content is not None:
        content = {k: v for k, v in content.items() if k not in ("_id", "masks")}
        count = _count(content)
        failed = has_content_problem(content)
        return content, Phrase(CONTENT_PROBLEMS, plural_by="count", count=count) if failed else None
    content = listing.get("content")
    failed = isinstance(content, dict) and content.get("ok") is False
    return content, Phrase(CONTENT_FAILED) if failed else None


def _total(rows: list[dict], key: str):
    values = [r[key] for r in rows if r[key] is not None]
    return sum(values) if values else None


def store_receipts(work: Database, uploads: list[dict], *args, **kwargs) -> list[dict]:
    """Build (`build_receipts`) and store the receipts of `uploads`; returns them."""
    receipts = build_receipts(work, uploads, *args, **kwargs)
    save_receipts(work, receipts)
    return receipts


def build_receipts(
    work: Database,
    uploads: list[dict],
    docs_by_key: dict,
    results: dict,
    made_by: str,
    suffixes,
    listings: dict | None = None,
    images: dict | None = None,
    extensions=DEFAULT_EXTENSIONS,
    by_batch: dict | None = None,
) -> list[dict]:
    """The receipts of `uploads` (each with `batches`, its keys) from their stored listings,
    their batches' results (`results` by key) and their current content results, not stored
    yet. `listings` (by upload id) and `images` (by batch key): those already in memory,
    instead of reading them again.
    `by_batch`: each batch's upload ids, with their dates, {key: {id: date}}: a receipt then
    judges its batch as it stood when the upload came in (see `Arrival`)."""
    if listings is None:
        listings = {
            d["_id"]: d for d in find_in(work[MASK_CHECKS], "_id", [u["_id"] for u in uploads])
        }
    if images is None:
        keys = sorted({k for u in uploads for k in u["batches"] if k in docs_by_key})
        images = batch_images.stored_listings(work, keys)
    contents = {
        d["_id"]: d
        for d in find_in(work[MASK_CONTENT], "_id", [u["_id"] for u in uploads], {"masks": 0})
    }
    receipts = []
    arrival = Arrival(work, by_batch or {}, listings, suffixes, extensions)
    for upload in uploads:
        parts = [
            arrival.judge(upload, _part(docs_by_key[k], results.get(k), images.get(k), k), k)
            for k in upload["batches"]
            if k in docs_by_key
        ]
        result = contents.get(upload["_id"])
        receipts.append(
            build_receipt(
                upload,
                listings.get(upload["_id"]),
                parts,
                made_by,
                suffixes,
                extensions,
                result if is_current(upload, result) else None,
            )
        )
    return receipts


def _fixed_since(parts: list[dict]) -> bool:
    return bool(parts) and all(p["usable"] or p.get("fixed_later") for p in parts)


def save_receipts(work: Database, receipts: list[dict]) -> None:
    """Store built receipts (each replacing the upload's earlier one). One the database
    refuses (names of hundreds of batches' images past a document's 16 MB) is stored without
    its names, its counts and verdict kept; one refused even so is owed, as a receipt of a
    check killed before it (`owed_receipts`): the other receipts are stored all the same."""
    refused = replace_many(work[RECEIPTS], receipts)
    if refused:
        replace_many(work[RECEIPTS], [without_names(receipts[at]) for at in refused])


def without_names(receipt: dict) -> dict:
    """A receipt without the names it lists (pure): its counts and verdict stay."""
    bare = {k: [] if k in NAME_LISTS else v for k, v in receipt.items()}
    bare["parts"] = [{**p, "missing": [], "extra": []} for p in receipt.get("parts") or ()]
    changes = receipt.get("changes")
    if isinstance(changes, dict):
        bare["changes"] = {k: [] if k in NAME_LISTS else v for k, v in changes.items()}
    if isinstance(receipt.get("content"), dict):
        bare["content"] = {k: v for k, v in receipt["content"].items() if k != "offenders"}
    return {**bare, "names_left_out": True}


NAME_LISTS = ("missing", "extra", "other_files", "added", "removed", "changed")


def _part(doc: dict, result: dict | None, images, key: str) -> dict:
    result = result or {}
    return {
        "id": str(doc.get("id")),
        "key": key,
        "usable": delivery.is_usable_check(result),
        "images": images.names if images is not None else None,
        "image_error": images.error if images is not None else "not listed yet",
        "missing_count": result.get("missing_count"),
        "missing": result.get("missing"),
        "note": result.get("note"),
        "notes": result.get("notes"),
        "usable_since": result.get("usable_since"),
    }


def list_receipts(
    work: Database,
    batch_ids: list[str] | None = None,
    *,
    person: str | None = None,
    problem: str | None = None,
    limit: int = LIST_LIMIT,
    strict: bool = False,
) -> list[dict]:
    """Receipts newest first, of `batch_ids` when given; `problem` one of PROBLEMS or "any"
    (any problem) or "none"; `person` an uploader under any spelling (`person_key`, as the Team
    page counts their files). Never a query built from raw input: every value is a plain string
    compared for equality. `strict` (the command line): BatchNotFound for an id that is no
    batch and has no receipt, where a page says "no receipt matches"."""
    query: dict = {}
    if batch_ids:
        query["batches"] = {"$in": [str(b) for b in batch_ids][:200]}
    if person:  # every stored spelling of that person ("flor", "FLOR " for Flor)
        query["uploaded_by"] = {"$in": spellings(work, person_key(str(person)))}
    if problem == "any":
        query["problem"] = {"$ne": None}
    elif problem == "none":
        query["problem"] = None
    elif problem in PROBLEMS:
        query["problem"] = problem
    elif problem:
        raise ValueError(f"unknown problem {problem!r}")
    found = list(work[RECEIPTS].find(query).sort("upload_date", DESCENDING).limit(int(limit)))
    if strict and batch_ids and not found:  # a batch removed since keeps its receipts
        unknown = [
            b
            for b in unknown_batch_ids(work, [str(b) for b in batch_ids][:200])
            if work[RECEIPTS].find_one({"batches": b}, {"_id": 1}) is None
        ]
        if unknown:
            raise BatchNotFound(NOT_IN_LIST, ids=", ".join(cut(b) for b in unknown[:5]))
    return _as_read(work, found)


def batch_receipts(work: Database, batch_ids: list[str]) -> list[dict]:
    """Every receipt naming one of `batch_ids`, newest first, however many (a person's page
    tells each of their 2,000 open batches): read in short `$in` lists, not `list_receipts`'
    page of receipts (the first 200 batches)."""
    found = {r["_id"]: r for r in find_in(work[RECEIPTS], "batches", sorted(set(batch_ids)))}
    at = {i: r.get("upload_date") for i, r in found.items()}
    at = {i: moment if isinstance(moment, datetime) else datetime.min for i, moment in at.items()}
    return _as_read(work, [found[i] for i in sorted(found, key=at.get, reverse=True)])


def _as_read(work: Database, found: list[dict]) -> list[dict]:
    """Stored receipts as they are shown: names cut, reasons as phrases, content joined."""
    for receipt in found:  # one stored whole before names were cut
        receipt["filename"] = kept_filename(receipt.get("filename"))
    return delivered_since(work, with_content(work, with_reasons(work, found)))


def with_reasons(work: Database, receipts: list[dict]) -> list[dict]:
    """Each receipt's `reason` as a Phrase (its English text, worded by each reader), from its
    stored template; a receipt stored before templates were kept gets its upload's listing's
    when unreadable, else keeps its English text."""
    old = [
        r["_id"]
        for r in receipts
        if not r.get("reason_phrase") and r.get("problem") == "unreadable"
    ]
    projection = {"reason": 1, "reason_code": 1, "reason_params": 1}
    listings = {d["_id"]: d for d in find_in(work[MASK_CHECKS], "_id", old, projection)}
    for receipt in receipts:
        stored = receipt.pop("reason_phrase", None)
        if stored:
            receipt["reason"] = Phrase.from_doc(stored, receipt.get("reason"))
        elif receipt["_id"] in listings and listings[receipt["_id"]].get("reason"):
            receipt["reason"] = unreadable_phrase(listings[receipt["_id"]])
    return receipts


def with_content(work: Database, receipts: list[dict]) -> list[dict]:
    """The receipts with their uploads' content results (segcore.content.mask_content_check),
    joined when read: content checks run after the receipt is made. A result with problems
    makes the upload not usable."""
    results = {
        d["_id"]: d for d in find_in(work[MASK_CONTENT], "_id", [r["_id"] for r in receipts])
    }
    for receipt in receipts:
        content = results.get(receipt["_id"])
        if content is None:
            continue
        receipt["content"] = {k: v for k, v in content.items() if k not in ("_id", "masks")}
        if has_content_problem(content) and receipt.get("problem") in (None, "unknown"):
            receipt.update(
                problem="content",
                usable=False,
                reason=Phrase(CONTENT_PROBLEMS, plural_by="count", count=_count(content)),
            )
    return receipts


def apply_content(work: Database, upload_ids: list) -> int:
    """Write the content results of `upload_ids` into their stored receipts (a problem makes
    the receipt's problem `content` when it had none or another count; a result without one
    gives a receipt whose problem was `content` its verdict without it: a receipt made again
    keeps its content result, which a later check may find fixed); returns how many receipts
    changed."""
    results = find_in(work[MASK_CONTENT], "_id", list(upload_ids))
    fine = [c["_id"] for c in results if not has_content_problem(c)]
    stale = find_in(work[RECEIPTS], "_id", fine, {"readable": 1, "parts": 1}, where=_CONTENT)
    writes = [
        UpdateOne({"_id": r["_id"], **_CONTENT}, {"$set": _without_content(r)}) for r in stale
    ]
    for content in results:
        update: dict = {"content": {k: v for k, v in content.items() if k not in ("_id", "masks")}}
        if has_content_problem(content):  # the content problems are told, once found
            update[NOTIFY_DUE] = True
        writes.append(UpdateOne({"_id": content["_id"]}, {"$set": update}))
        if has_content_problem(content):
            reason = Phrase(CONTENT_PROBLEMS, plural_by="count", count=_count(content))
            writes.append(
                UpdateOne(
                    {"_id": content["_id"], "problem": {"$in": [None, "unknown", "content"]}},
                    {
                        "$set": {
                            "problem": "content",
                            "usable": False,
                            "reason": text_of(reason),
                            "reason_phrase": reason.as_doc(),
                            NOTIFY_DUE: True,
                        }
                    },
                )
            )
    if not writes:
        return 0
    return work[RECEIPTS].bulk_write(writes, ordered=True).modified_count


_CONTENT = {"problem": "content"}


def _without_content(receipt: dict) -> dict:
    """A receipt's verdict from its listing and batches alone (a content problem overrides
    only none, or `unknown`), for one whose content problems are gone."""
    parts = receipt.get("parts") or []
    unknown = next((p for p in parts if not p.get("usable")), None)
    if receipt.get("readable") and parts and unknown is None:
        return {"problem": None, "usable": True, "reason": None, "reason_phrase": None}
    template = (
        IMAGES_NOT_LISTED_YET if (unknown or {}).get("images") is None else NOT_KNOWN_COMPLETE
    )
    reason = Phrase(template, batch=(unknown or {}).get("id"))
    return {
        "problem": "unknown",
        "usable": False,
        "reason": text_of(reason),
        "reason_phrase": reason.as_doc(),
    }


def lacking_content(work: Database) -> list:
    """The uploads whose stored content result their receipt lacks (a check killed before
    writing it there): a full content check writes them in. Two reads of ids, compared here
    (an `$in` of every receipt costs far more on the embedded server)."""
    bare = [d["_id"] for d in work[RECEIPTS].find({"content": None}, {"_id": 1})]
    if not bare:
        return []
    checked = {d["_id"] for d in work[MASK_CONTENT].find({}, {"_id": 1})}
    return [upload_id for upload_id in bare if upload_id in checked]


REMOVED = N_("the upload was deleted on {day}")


def mark_removed(work: Database, upload_ids: list, zone: tzinfo | None = None) -> None:
    """The receipts of deleted uploads say so (problem `removed`, not usable, nothing left to
    tell): a receipt kept "usable" after its upload was deleted contradicted the batch, which
    no longer counts it. What the upload held stays on the receipt, as a record. The day in
    its reason is the office's (`zone`; None: the server's), as every page dates it."""
    if not upload_ids:
        return
    now = utcnow()
    reason = Phrase(REMOVED, day=office_now(zone).date())
    work[RECEIPTS].update_many(
        {"_id": {"$in": list(upload_ids)}},
        {
            "$set": {
                "problem": "removed",
                "usable": False,
                "removed_at": now,
                "reason": text_of(reason),
                "reason_phrase": reason.as_doc(),
            },
            "$unset": {NOTIFY_DUE: ""},
        },
    )


def _count(content: dict) -> int:
    problems = content.get("problems")
    return problems if isinstance(problems, int) and not isinstance(problems, bool) else 0
