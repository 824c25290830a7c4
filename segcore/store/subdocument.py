"""Writing fields inside a stored sub-document that older tools may have left as something else.

Legacy batches hold `metadata` or `review` as a document, as null, or as a value of another
kind ("n/a", a number, a list). A `$set` of "metadata.priority" fails on the server unless
the field is a document or absent, so each write is fitted to what the batch holds, as a
pure step before the compare-and-set that writes it.
"""

from __future__ import annotations


def fit_into(doc: dict, sets: dict, field: str) -> tuple[dict, dict] | None:
    """`sets` ($set paths) fitted to the batch's stored `field`, and the condition the stored
    field must still meet when written; None when it holds a legacy value that is no document
    (never overwritten: the caller decides to leave the fields out or to refuse).

    Absent or a document: `sets` as they are. Null holds nothing: it becomes a document of the
    fields written, provided it is still null.
    """
    prefix = f"{field}."
    inner = {path: value for path, value in sets.items() if path.startswith(prefix)}
    kept = doc.get(field)
    if not inner or field not in doc or isinstance(kept, dict):
        return sets, {}
    if kept is not None:
        return None
    fitted = {path: value for path, value in sets.items() if path not in inner}
    fitted[field] = {path.removeprefix(prefix): value for path, value in inner.items()}
    return fitted, {field: None}
