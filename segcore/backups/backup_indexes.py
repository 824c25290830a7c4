"""The indexes a backup lists in its header: read from a collection, checked before a restore
(a foreign tool's or a hand-edited spec the driver refuses stopped a restore half-way), and
given to create_index."""

from __future__ import annotations

import json

INDEX_OPTIONS = (
    "unique",
    "sparse",
    "expireAfterSeconds",
    "partialFilterExpression",
    "collation",
    "weights",
    "default_language",
    "language_override",
)


def index_specs(collection) -> list[dict]:
    """The collection's indexes but `_id`'s, as `create_index` arguments."""
    specs = []
    for name, info in collection.index_information().items():
        if name != "_id_":
            key = [[k, v] for k, v in info["key"]]
            if any(k == "_fts" for k, _v in key):  # a text index lists its fields as weights
                fields = [[f, "text"] for f in info.get("weights", {})]
                key = [[k, v] for k, v in key if k not in ("_fts", "_ftsx")] + fields
            specs.append(
                {"name": name, "key": key, **{o: info[o] for o in INDEX_OPTIONS if o in info}}
            )
    return specs


def valid_indexes(indexes, header: dict) -> bool:
    """The header's indexes in shape, {collection: [{name, key, ...}]}; none in version 1."""
    if indexes is None:
        return header["version"] == 1
    return isinstance(indexes, dict) and all(
        isinstance(specs, list)
        and all(
            isinstance(s, dict)
            and isinstance(s.get("name"), str)
            and isinstance(s.get("key"), list)
            and s["key"]
            for s in specs
        )
        for specs in indexes.values()
    )


# What create_index takes beside 1 and -1 as a field's direction (`$**` takes 1).
INDEX_TYPES = ("text", "2d", "2dsphere", "hashed", "geoHaystack")


def _direction(value: object) -> bool:
    if isinstance(value, str):
        return value in INDEX_TYPES
    # 1.0: an index made in the mongo shell, whose numbers are doubles
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value in (1, -1)


def _makeable(spec: dict) -> bool:
    """Whether create_index takes this spec: [field name, direction] pairs and the options
    a backup writes. Anything else (another tool's, a hand edit) stopped a restore half-way
    with the driver's TypeError."""
    pairs = spec["key"]
    return all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and p[0] and _direction(p[1])
        for p in pairs
    ) and all(o in ("key", "name", *INDEX_OPTIONS) for o in spec)


def unmakeable_index(indexes: dict) -> tuple[str, str, str] | None:
    """(collection, index name, its key as text) of the first index no restore can make."""
    for collection, specs in indexes.items():
        for spec in specs:
            if not _makeable(spec):
                return collection, spec["name"], json.dumps(spec["key"], default=str)[:80]
    return None


def index_key(spec: dict) -> list[tuple]:
    """A checked spec's key as create_index takes it (a shell's 1.0 as 1)."""
    return [(f, int(d) if isinstance(d, float) else d) for f, d in spec["key"]]
