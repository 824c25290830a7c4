"""The reasons and notes the checks store in English, worded in a reader's language: pure
functions over a `translate` (a catalog's `gettext`), so the pages (`ui.app.labels`) and the
messages segcore writes (`segcore.notify`) word them alike.

Each stored text is matched against the templates it was made from (`read_reasons`, the
archives' own) and worded again from the template's translation; a library's words inside it
are kept as the library said them, and a text of no known shape is shown as stored.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from segcore.archives.archive_links import LINK_NO_FILE, LINK_NOT_READ
from segcore.archives.archive_links import LINK_OUTSIDE as LINK_OUTSIDE_SCAN
from segcore.archives.archive_links import MISSING as LINK_MISSING
from segcore.archives.archive_links import OUTSIDE as LINK_OUTSIDE
from segcore.archives.archive_listing import EMPTY_MEMBER
from segcore.archives.archive_tar import CORRUPT as TAR_CORRUPT
from segcore.archives.archive_tar import REST_NOT_READ
from segcore.archives.archive_tar import TRUNCATED as TAR_TRUNCATED
from segcore.archives.archive_zip import MEMBER_REASONS
from segcore.archives.not_masks import INSTANCE_MEMBER, OTHER_BATCH_MEMBER, OVERLAY_MEMBER
from segcore.content.formats import read_reasons
from segcore.content.mask_content import describe, describe_note
from segcore.images.image_copies import COPY_MEMBER

Translate = Callable[[str], str]

READ_KINDS = frozenset(read_reasons.KINDS)
# Whole texts: every reason the checks word themselves (read_reasons), a damaged zip member
# (archive_zip), a tar's compressed stream damaged or cut (archive_tar).
READ_PHRASES = frozenset((*read_reasons.PHRASES, *MEMBER_REASONS, TAR_CORRUPT, TAR_TRUNCATED))
_NOT_READABLE = re.compile(r"^not a readable (?P<kind>.+?) \((?P<detail>.*)\)$", re.DOTALL)


def _pattern(template: str) -> re.Pattern:
    """A stored text's template as a pattern, each `{field}` a named group."""
    return re.compile(
        "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+)", re.escape(template)) + "$", re.DOTALL
    )


# Texts a check composes from these templates: worded again from the template's translation,
# the reasons inside them worded in turn.
COMPOSED = [
    (template, _pattern(template))
    for template in (*read_reasons.TEMPLATES, LINK_NOT_READ, LINK_NO_FILE, LINK_OUTSIDE_SCAN)
]
_NESTED = ("why", "reason")
_NOT_AN_IMAGE = _pattern(read_reasons.NOT_AN_IMAGE)
# What a listing says of an upload's other files: "seg.png (0 bytes)", a copy, a link, a mask
# under another batch's folder, an instance mask, a visualization beside the class masks, a
# tar's rest past the budget.
_OTHER_FILES = [
    (t, _pattern(t))
    for t in (
        EMPTY_MEMBER,
        COPY_MEMBER,
        LINK_OUTSIDE,
        LINK_MISSING,
        OTHER_BATCH_MEMBER,
        INSTANCE_MEMBER,
        OVERLAY_MEMBER,
        REST_NOT_READ,
    )
]


def _from_template(text: str, templates: list, translate: Translate) -> str | None:
    for template, pattern in templates:
        found = pattern.match(text)
        if found:
            values = {
                k: read_reason(v, translate) if k in _NESTED else v
                for k, v in found.groupdict().items()
            }
            return translate(template).format(**values)
    return None


def read_reason(text: object, translate: Translate) -> str:
    """A content check's stored reason (English) through `translate`: its own words
    translated, the library's words inside them as they are."""
    text = str(text)
    if text in READ_PHRASES:
        return translate(text)
    found = _NOT_READABLE.match(text)
    kind, detail = found.group(1, 2) if found else (None, None)
    if kind in READ_KINDS:
        return translate(read_reasons.NOT_READABLE).format(
            kind=translate(kind), detail=read_reason(detail, translate)
        )
    found = _NOT_AN_IMAGE.match(text)
    # the DICOM object's name (its SOP class's) as the standard says it
    if found and found.group("noun") in read_reasons.NOT_AN_IMAGE_WORDED:
        template = read_reasons.NOT_AN_IMAGE_WORDED[found.group("noun")]
        return translate(template).format(what=found.group("what"))
    return _from_template(text, COMPOSED, translate) or text


def other_file(text: object, translate: Translate) -> str:
    """One of an upload's other files as a listing stored it (a name, or a name and what it
    is), through `translate`."""
    text = str(text)
    return _from_template(text, _OTHER_FILES, translate) or text


def not_image(item: dict, translate: Translate) -> str:
    """A file a batch's image listing left out for holding no image (`{"name", "what"}`,
    batch_images), through `translate`: "RS_structures.dcm (a DICOM RT Structure Set, not an
    image)"."""
    template = read_reasons.NOT_AN_IMAGE_WORDED[read_reasons.IMAGE_NOUN]
    return f"{item.get('name')} ({translate(template).format(what=item.get('what'))})"


def offender(entry: dict, translate: Translate) -> str:
    """One content problem of a mask (`{"name", "code", "params"}`), through `translate`."""
    return describe(_reason_worded(entry, translate), translate)


def upload_note(note: dict, translate: Translate) -> str:
    """An upload-level note of a content check (too large, unreadable), through `translate`."""
    return describe_note(_reason_worded(note, translate), translate)


def _reason_worded(entry: dict, translate: Translate) -> dict:
    params = entry.get("params") if isinstance(entry.get("params"), dict) else {}
    if isinstance(params.get("reason"), str):
        return {**entry, "params": {**params, "reason": read_reason(params["reason"], translate)}}
    return entry
