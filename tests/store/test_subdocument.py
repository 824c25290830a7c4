"""Fields written into a sub-document that legacy batches hold as null or another kind."""

from segcore.store.subdocument import fit_into

SETS = {"status": "rework", "review.note": "redo the left lung", "review.sent_back": 1}


def test_a_document_or_no_field_takes_the_fields_as_they_are():
    for doc in ({"id": "b"}, {"id": "b", "review": {"sent_back": 2}}):
        assert fit_into(doc, SETS, "review") == (SETS, {})


def test_a_null_field_becomes_a_document_of_the_fields_if_it_is_still_null():
    sets, condition = fit_into({"id": "b", "review": None}, SETS, "review")
    assert sets == {"status": "rework", "review": {"note": "redo the left lung", "sent_back": 1}}
    assert condition == {"review": None}


def test_a_legacy_value_that_is_no_document_is_never_overwritten():
    for legacy in ("n/a", 3, ["x"]):
        assert fit_into({"id": "b", "review": legacy}, SETS, "review") is None
    # nothing to write inside it: the other fields go as they are
    assert fit_into({"id": "b", "review": "n/a"}, {"status": "done"}, "review") == (
        {"status": "done"},
        {},
    )
