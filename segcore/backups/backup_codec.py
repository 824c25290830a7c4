"""Documents to and from one line of MongoDB extended JSON each, exactly, types included.

`bson.json_util` in canonical mode keeps every BSON type (`$oid`, `$date`, `$numberLong`,
`$numberDecimal`, binary of any subtype, regex, code, timestamps, min/max keys, NaN and
infinities) and decodes dates outside Python's range as `DatetimeMS`. What it cannot do on its
own is tell a value from a plain document that only looks like one: another tool may store
`{"$date": "next monday"}` or `{"$oid": 1}` as an ordinary sub-document, which canonical JSON
writes unchanged and then reads back as a date (or refuses). So every document with a key
starting with `$` is written as `{"$segcoreKeys": [[key, value], ...]}` and turned back into
that very document on reading (order kept); no value the codec produces has that key.
"""

from __future__ import annotations

import json

from bson import json_util
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.json_util import JSONMode, JSONOptions

ESCAPED = "$segcoreKeys"
JSON_OPTIONS = JSONOptions(
    json_mode=JSONMode.CANONICAL,
    tz_aware=False,
    uuid_representation=UuidRepresentation.UNSPECIFIED,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)
# How documents are read for a backup: UUIDs stay binary (subtype 3 or 4, as stored) and dates
# Python cannot hold (before year 1 or after 9999) come back as DatetimeMS, not as an error.
READ_OPTIONS = CodecOptions(
    tz_aware=False,
    uuid_representation=UuidRepresentation.UNSPECIFIED,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)


def escape(value):
    """`value` with every document holding a `$` key wrapped, so it reads back as a document."""
    if isinstance(value, dict):
        if any(isinstance(key, str) and key.startswith("$") for key in value):
            return {ESCAPED: [[key, escape(item)] for key, item in value.items()]}
        return {key: escape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escape(item) for item in value]
    return value


def _hook(pairs):
    if len(pairs) == 1 and pairs[0][0] == ESCAPED:
        items = pairs[0][1]
        if not isinstance(items, list) or not all(
            isinstance(i, list) and len(i) == 2 and isinstance(i[0], str) for i in items
        ):
            raise ValueError(f"malformed {ESCAPED}")
        return {key: item for key, item in items}
    return json_util.object_pairs_hook(pairs, JSON_OPTIONS)


def dumps(value) -> str:
    """One line of canonical extended JSON for `value` (a document, or a record holding some)."""
    return json_util.dumps(escape(value), json_options=JSON_OPTIONS)


def loads(text: str | bytes):
    """The value `dumps` wrote. Raises ValueError (or a bson error) for text it did not write."""
    return json.loads(text, object_pairs_hook=_hook)
