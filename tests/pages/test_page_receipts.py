"""The Receipts page, a batch's receipts, the review actions and every figure that could count
a corrupt upload as delivered, against real archives synced into the test database."""

import json

import pytest

from segcore.report import stats
from segcore.store.history import list_history
from segcore.team import team as team_module
from tests.helpers import charts, log_in, page
from tests.helpers import shown as as_read
from tests.receipt_seed import DICOMS, Lab, real_archive, seed_deliveries


@pytest.fixture
def lab(app_env, client, tmp_path):
    lab = Lab(app_env, client, tmp_path)
    seed_deliveries(lab)
    return lab


def table(at, index=0):
    return at.dataframe[index].value


def test_receipts_newest_first_with_filters(lab):
    at = page("receipts").run()
    assert not at.exception, at.exception
    shown = table(at)
    assert list(shown["File"]) == [
        "batch_4.zip",
        "batch_3.zip",
        "batch_2_masks.tar.gz",
        "batch_1_masks.tar.gz",
    ]
    assert dict(zip(shown["File"], shown["Result"])) == {
        "batch_4.zip": "incomplete",
        "batch_3.zip": "unreadable",
        "batch_2_masks.tar.gz": "unreadable",
        "batch_1_masks.tar.gz": "usable",
    }
    # what a receipt could not count reads "-", never a grey None or a float "2.0"
    counts = shown.set_index("File")[["Masks", "Matched", "Still missing", "Extra", "Uploaded by"]]
    assert counts.loc["batch_3.zip", "Matched"] == "-"
    assert all(isinstance(v, str) and v != "None" for v in counts.to_numpy().ravel())
    assert not any(
        "." in v for v in counts[["Masks", "Matched", "Still missing"]].to_numpy().ravel()
    )
    at.selectbox(key="rc_problem").set_value("unreadable").run()
    assert set(table(at)["File"]) == {"batch_3.zip", "batch_2_masks.tar.gz"}
    at.selectbox(key="rc_problem").set_value("All").run()
    at.selectbox(key="rc_person").set_value("ceci").run()
    assert list(table(at)["File"]) == ["batch_4.zip"]
    assert any("without a mask: img_002.dcm" in as_read(c.value) for c in at.caption)
    at.text_input(key="rc_batch").input("batch_9").run()
    assert [i.value for i in at.info] == ["No receipt matches."]


def test_receipts_are_dated_as_the_spanish_pages_date(lab, monkeypatch):
    """ "2026-12-05 17:00" on the Spanish Receipts page, where the other pages say "5 dic 2026"."""
    import re

    from ui.app import i18n

    monkeypatch.setenv("LANGUAGE", "es")
    monkeypatch.setattr(i18n, "current_language", lambda: "es")
    at = page("receipts").run()
    assert not at.exception, at.exception
    when = list(table(at)["Subido el"])
    assert len(when) == 4 and all(re.match(r"\d{1,2} [a-z]{3,4} \d{4}, ", w) for w in when), when


def test_a_batch_details_show_its_receipts(lab, app_env):
    at = page("batches").run()
    at.text_input(key="history_of").input("batch_2").run()
    assert not at.exception, at.exception
    receipts = next(d.value for d in at.dataframe if "Result" in d.value.columns)
    assert list(receipts["File"]) == ["batch_2_masks.tar.gz"]
    assert list(receipts["Result"]) == ["unreadable"]
    # the sync moved it to rework: the mark of that move is segcore's, not a detail shown
    assert app_env.work.batches.find_one({"id": "batch_2"}).get("status_move_entry")
    details = next(d.value for d in at.dataframe if "Field" in d.value.columns)
    assert "status_move_entry" not in list(details["Field"])


def test_review_accepts_and_sends_back_from_the_batches_page(lab):
    work = lab.dbs.work
    at = page("batches").run()
    at.multiselect(key="review_ids").set_value(["batch_1", "batch_2"]).run()
    at.button(key="review_back").click().run()
    assert not at.exception
    assert any("note is required" in e.value for e in at.error)
    assert work.batches.find_one({"id": "batch_1"})["status"] == "review"
    at.text_input(key="review_note").input("edges cut").run()
    at.button(key="review_back").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["2 batches moved."]
    # said where the coordinator acted, the form kept open (at the top it was out of view)
    [form] = [e for e in at.expander if e.label == "Review delivered batches"]
    assert form.proto.expanded and [s.value for s in form.success] == ["2 batches moved."]
    doc = work.batches.find_one({"id": "batch_1"})
    assert (doc["status"], doc["rework_reason"], doc["review"]["sent_back"]) == (
        "rework",
        "edges cut",
        1,
    )
    [entry] = [h for h in list_history(work, "batch_1") if h["new"] == "rework"]
    assert entry["reason"] == "edges cut"
    at = page("batches").run()
    at.multiselect(key="review_ids").set_value(["batch_1"]).run()
    at.button(key="review_accept").click().run()
    assert work.batches.find_one({"id": "batch_1"})["status"] == "done"


def test_a_review_note_survives_another_page_until_it_is_sent(lab):
    """A note typed for a send-back, then the Team page and back: the note was gone. It stays
    until the batches go back with it, then the field is empty."""
    at = page("streamlit_app").run()
    at.switch_page("ui/pages/batches.py").run()
    at.text_input(key="review_note").input("edges cut")
    at.switch_page("ui/pages/team.py").run()
    at.switch_page("ui/pages/batches.py").run()
    assert not at.exception, at.exception
    assert at.text_input(key="review_note").value == "edges cut"
    at.multiselect(key="review_ids").set_value(["batch_1"]).run()
    at.button(key="review_back").click().run()
    assert lab.dbs.work.batches.find_one({"id": "batch_1"})["rework_reason"] == "edges cut"
    assert at.text_input(key="review_note").value == ""
    at.switch_page("ui/pages/team.py").run()
    assert at.switch_page("ui/pages/batches.py").run().text_input(key="review_note").value == ""


def test_a_corrupt_upload_is_never_counted_as_delivered(lab, run_cli):
    """One usable batch of four with uploads: every page and figure says one."""
    team_module.add_member(lab.dbs.work, "Flor", author="test")  # before any page reads it
    assert stats.summary(lab.dbs.work).delivered == 1
    status = json.loads(run_cli("status", "--json").stdout)
    assert (status["uploaded"], status["delivered"]) == (4, 1)

    at = page("dashboard").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Uploaded"], metrics["Delivered, usable"]) == ("4", "1")
    drawn = charts(at)
    assert drawn["chart_done"]["data"][0]["values"] == [1, 3, 0]
    bars = {b["name"]: b["x"] for b in drawn["chart_people"]["data"]}
    assert bars["Delivered, usable"] == [1] and bars["Uploaded, not usable"] == [3]
    assert sum(map(sum, drawn["chart_pace"]["data"][0]["z"])) == 1

    team = page("team").run()
    assert not team.exception, team.exception
    review = next(d.value for d in team.dataframe if "Sent back" in d.value.columns)
    assert dict(zip(review["Segmentador"], review["Delivered, usable"])) == {"Flor": 1}
    moves = page("moves").run()
    assert not moves.exception


@pytest.fixture
def spanish(monkeypatch):
    """The interface in Spanish, in the script runs and in the test's own thread (AppTest
    formats selectbox values outside the run)."""
    from ui.app import i18n

    monkeypatch.setenv("LANGUAGE", "es")
    monkeypatch.setattr(i18n, "current_language", lambda: "es")


def test_receipts_word_every_reason_in_spanish(lab, spanish, run_cli):
    """The Receipts page and a batch's details say why in Spanish; the command line in
    English; a receipt stored before reasons were kept as templates still reads."""
    from segcore.core.translations import translations

    listing = lab.dbs.work.mask_checks.find_one({"filename": "batch_3.zip"})
    spanish_unreadable = translations("es").gettext(listing["reason_code"])
    assert spanish_unreadable != listing["reason_code"]  # the catalog words it
    at = page("receipts").run()
    assert not at.exception, at.exception
    shown = table(at)
    why = dict(zip(shown["Archivo"], shown["Motivo"]))
    assert why["batch_4.zip"] == "batch_4: 1 de 4 imágenes sin máscara"
    assert why["batch_3.zip"] == spanish_unreadable.format(**listing["reason_params"])
    assert why["batch_1_masks.tar.gz"] == ""
    assert dict(zip(shown["Archivo"], shown["Resultado"]))["batch_4.zip"] == "incompleta"

    details = page("batches").run()
    details.text_input(key="history_of").input("batch_4").run()
    assert not details.exception, details.exception
    receipts = next(d.value for d in details.dataframe if "Resultado" in d.value.columns)
    assert list(receipts["Motivo"]) == ["batch_4: 1 de 4 imágenes sin máscara"]
    # the history names segcore's own work in Spanish too, never "sync (started by ...)"
    history = next(d.value for d in details.dataframe if "Autor" in d.value.columns)
    authors = set(history["Autor"])
    assert authors and not any("started by" in a or a == "sync" for a in authors), authors
    assert any(a.startswith("sincronización") for a in authors), authors

    out = run_cli("receipts", "batch_4").stdout
    assert "batch_4: 1 of 4 images without a mask" in out

    # Receipts stored before templates: the unreadable one is worded from its upload's
    # listing; one with nothing to go on keeps its English text.
    lab.dbs.work.receipts.update_many({}, {"$unset": {"reason_phrase": ""}})
    lab.dbs.work.receipts.update_one(
        {"filename": "batch_4.zip"}, {"$set": {"reason": "batch_4: an old English reason"}}
    )
    import streamlit as st

    st.cache_data.clear()
    at = page("receipts").run()
    assert not at.exception, at.exception
    why = dict(zip(table(at)["Archivo"], table(at)["Motivo"]))
    assert why["batch_3.zip"] == spanish_unreadable.format(**listing["reason_params"])
    assert why["batch_4.zip"] == "batch_4: an old English reason"


def test_an_upload_naming_two_batches_lists_each_batchs_missing_images_apart(app_env):
    # The caption read "without a mask: img_002.png, img_003.png, img_002.png, img_003.png".
    from datetime import datetime, timezone

    from segcore.masks.receipts import build_receipt

    images = ["img_001.png", "img_002.png", "img_003.png"]
    parts = [  # each batch as its mask check left it: img_002 and img_003 without a mask
        {
            "id": b,
            "key": b,
            "images": images,
            "usable": False,
            "image_error": None,
            "missing_count": 2,
            "missing": images[1:],
        }
        for b in ("batch_1", "batch_2")
    ]
    upload = {
        "_id": 1,
        "filename": "batch_1_batch_2.zip",
        "batches": ["batch_1", "batch_2"],
        "uploadDate": datetime(2026, 12, 1, tzinfo=timezone.utc),
        "metadata": {"uploaded_by": "flor"},
    }
    listing = {"kind": "zip", "names": ["img_001_mask.png"]}
    app_env.work.receipts.insert_one(build_receipt(upload, listing, parts, "test", ["_mask"]))
    at = page("receipts").run()
    assert not at.exception
    said = [as_read(c.value) for c in at.caption if "without a mask" in as_read(c.value)]
    assert said == [
        "batch_1_batch_2.zip: without a mask: batch_1: img_002.png, img_003.png; "
        "batch_2: img_002.png, img_003.png; matching no image: -"
    ], said


def test_a_batch_delivered_in_parts_reads_the_same_in_every_column(app_env, client, tmp_path):
    """batch_1 comes in two zips (img_001 and img_002's masks, then img_003's); batch_2 as
    three bare masks uploaded one by one, a sync after each. The page said "Missing 2" beside
    the usable part that completed batch_1, named its delivered masks "without a mask" under the
    table, and "1 of 3 images without a mask" beside "Missing 2"."""
    lab = Lab(app_env, client, tmp_path)
    lab.batch(1, 3)
    lab.batch(2, 3)
    for name in ("IMG_001_MASK.DCM", "img_002_mask.dcm", "img_003_mask.dcm"):
        lab.upload(name, DICOMS[0].read_bytes(), batch_id="batch_2")
        lab.sync()
    part_1 = real_archive(lab.tmp, "zip", ["img_001_mask.dcm", "img_002_mask.dcm"], "p1.zip")
    lab.upload("batch_1_part1.zip", part_1)
    lab.sync()

    at = page("receipts").run()
    assert not at.exception, at.exception
    said = [as_read(c.value) for c in at.caption if "without a mask:" in as_read(c.value)]
    # batch_1 still lacks img_003's mask; nothing says it came since
    assert said == ["batch_1_part1.zip: without a mask: img_003.dcm; matching no image: -"]

    lab.upload("batch_1_part2.zip", real_archive(lab.tmp, "zip", ["img_003_mask.dcm"], "p2.zip"))
    lab.sync()
    import streamlit as st

    st.cache_data.clear()  # as a new session reads them, not the first run's cached receipts
    at = page("receipts").run()
    assert not at.exception, at.exception
    rows = table(at).set_index("File")
    read = rows[["Result", "Why", "Masks", "Matched", "Still missing"]].to_dict("index")
    later = " (delivered since by a later upload)"
    assert read == {
        "batch_1_part2.zip": dict(
            Result="usable", Why="", Masks="1", Matched="1", **{"Still missing": "0"}
        ),
        "batch_1_part1.zip": {
            "Result": "incomplete",
            "Why": "batch_1: 1 of 3 images without a mask" + later,
            "Masks": "2",
            "Matched": "2",
            "Still missing": "1",
        },
        "img_003_mask.dcm": dict(
            Result="usable", Why="", Masks="1", Matched="1", **{"Still missing": "0"}
        ),
        "img_002_mask.dcm": {
            "Result": "incomplete",
            "Why": "batch_2: 1 of 3 images without a mask" + later,
            "Masks": "1",
            "Matched": "1",
            "Still missing": "1",
        },
        "IMG_001_MASK.DCM": {
            "Result": "incomplete",
            "Why": "batch_2: 2 of 3 images without a mask" + later,
            "Masks": "1",
            "Matched": "1",
            "Still missing": "2",
        },
    }, read
    said = [as_read(c.value) for c in at.caption if "without a mask:" in as_read(c.value)]
    # the newest receipt with a problem, never the usable part 2 with img_001 and img_002
    assert said == [
        "batch_1_part1.zip: without a mask: img_003.dcm; matching no image: -" + later
    ], said

    # a batch's details on the Batches page show its receipts the same way
    at = page("batches").run()
    at.text_input(key="history_of").input("batch_2").run()
    assert not at.exception, at.exception
    receipts = next(d.value for d in at.dataframe if "Result" in d.value.columns)
    assert dict(zip(receipts["File"], receipts["Still missing"])) == {
        "img_003_mask.dcm": "0",
        "img_002_mask.dcm": "1",
        "IMG_001_MASK.DCM": "2",
    }
    said = [as_read(c.value) for c in at.caption if "without a mask:" in as_read(c.value)]
    assert said == ["img_002_mask.dcm: without a mask: img_003.dcm; matching no image: -" + later]


def test_accept_never_overrides_a_send_back_made_after_the_form_was_drawn(lab):
    """The form showed batch_1 "In review"; another coordinator sent it back before the click.
    The click's run re-reads the rows (the data moved): Accept must compare with what was on
    screen, so the send-back stays and the form says so."""
    from segcore.work import review
    from ui.app.connection import forget_data_versions

    work = lab.dbs.work
    at = page("batches").run()
    at.multiselect(key="review_ids").set_value(["batch_1"]).run()
    review.review(work, ["batch_1"], accept=False, note="left lung missing", author="cli")
    forget_data_versions()  # a second later: the app sees the data version moved
    at.button(key="review_accept").click().run()
    assert not at.exception, at.exception
    doc = work.batches.find_one({"id": "batch_1"})
    assert (doc["status"], doc.get("rework_reason")) == ("rework", "left lung missing")
    [said] = [s.value for s in at.success]
    assert "0 batches moved" in said and "Changed by someone else meanwhile" in said
    assert "done" not in [h["new"] for h in list_history(work, "batch_1")]  # no entry left


def test_the_uploaded_by_filter_names_each_person_once_with_all_their_receipts(lab):
    """Uploads stored as "flor", "FLOR " and "Flor" are Flor's, whose Team page counts every
    one of them: the filter offered each spelling, and "Flor" listed only the one spelled so."""
    from tests.receipt_seed import masks, real_archive

    team_module.add_member(lab.dbs.work, "Flor", author="test")
    for number, who in ((5, "FLOR "), (6, "Flor")):
        lab.batch(number, 2)
        archive = real_archive(lab.tmp, "zip", masks(2), f"{number}.zip")
        lab.upload(f"batch_{number}.zip", archive, uploaded_by=who)
    lab.sync()
    at = page("receipts").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="rc_person").options[1:] == ["ceci (not on the team)", "Flor"]
    at.selectbox(key="rc_person").set_value("Flor").run()
    assert set(table(at)["File"]) == {
        "batch_6.zip",
        "batch_5.zip",
        "batch_3.zip",
        "batch_2_masks.tar.gz",
        "batch_1_masks.tar.gz",
    }


def test_the_uploaded_by_filter_marks_a_former_member_as_the_other_filters_do(lab):
    """Someone who left the team reads "(left the team)" here as on the Dashboard and Batches
    filters, not as a current member."""
    team_module.add_member(lab.dbs.work, "Flor", author="test")
    lab.batch(5, 2)
    from tests.receipt_seed import masks, real_archive

    lab.upload("batch_5.zip", real_archive(lab.tmp, "zip", masks(2), "5.zip"), uploaded_by="Flor")
    lab.sync()
    team_module.delete_member(lab.dbs.work, "Flor", author="test")
    at = page("receipts").run()
    assert not at.exception, at.exception
    assert "Flor (left the team)" in at.selectbox(key="rc_person").options
    dashboard = page("dashboard").run()
    assert "Flor (left the team)" in dashboard.selectbox(key="dash_who").options


def test_after_a_send_back_the_choice_no_longer_holds_the_moved_batches(lab):
    """The walk: after "Send back (1)" the chip still read "batch_1 (In review)" with "Accept
    (1)" offered, and that Accept did nothing and said nothing. The moved batches leave the
    choice; chosen again, they are labelled with their new status."""
    at = page("batches").run()
    at.multiselect(key="review_ids").set_value(["batch_1"]).run()
    at.text_input(key="review_note").input("edges cut").run()
    at.button(key="review_back").click().run()
    assert not at.exception, at.exception
    assert at.multiselect(key="review_ids").value == []
    assert at.button(key="review_accept").label == "Accept (0)"
    assert at.button(key="review_accept").disabled
    labels = at.multiselect(key="review_ids").options
    assert "batch_1 (Rework)" in labels and "batch_1 (In review)" not in labels


def test_a_chosen_batch_changed_meanwhile_is_relabelled_and_named(lab):
    """A sync (or someone else) moves a chosen batch: the browser would keep its old label and a
    click act on it. The choice is sent again, labelled as the batch is now, and said."""
    from segcore.store import data_version
    from ui.app.connection import forget_data_versions

    work = lab.dbs.work
    at = page("batches").run()
    at.multiselect(key="review_ids").set_value(["batch_1", "batch_2"]).run()
    work.batches.update_one({"id": "batch_1"}, {"$set": {"status": "rework"}})
    data_version.bump_batches(work, ["batch_1"])
    forget_data_versions()  # what the next second does: the app reads the version at most once
    at.run()
    assert not at.exception, at.exception
    [form] = [e for e in at.expander if e.label == "Review delivered batches"]
    assert form.proto.expanded
    assert [as_read(w.value) for w in form.warning] == [
        "Changed meanwhile: batch_1: In review → Rework. The choice shows them as they are now."
    ]
    assert at.multiselect(key="review_ids").value == ["batch_1", "batch_2"]
    assert "batch_1 (Rework)" in at.multiselect(key="review_ids").options
    at.run()  # said once
    [form] = [e for e in at.expander if e.label == "Review delivered batches"]
    assert not form.warning


ODD_RECEIPT_VALUES = [
    pytest.param(1, ["1"], id="a count"),
    pytest.param(["img_002.png", None], ["img_002.png, None"], id="a list holding null"),
    pytest.param("img_002.png", ["img_002.png"], id="one name as text"),
]


@pytest.mark.parametrize("odd, said", ODD_RECEIPT_VALUES)
def test_receipt_lists_of_another_type_are_shown_as_stored(app_env, monkeypatch, odd, said):
    """An older version or a hand edit may leave `missing`, `extra`, `batches`, `other_files`,
    a part's names or the content offenders as a count, a list holding null or one text: the
    Receipts page, a batch's details and her own page show them as stored, never a traceback
    or the text letter by letter."""
    from datetime import datetime

    from segcore.team import auth

    work = app_env.work
    team_module.add_member(work, "Flor", author="test")
    auth.add_user(work, "flor", "segmentador", "correct horse battery", member="Flor")
    work.batches.insert_one({"id": "batch_1", "assignee": "Flor", "status": "rework"})
    part = {"id": "batch_1", "images": 3, "matched": 2, "missing": odd, "extra": odd}
    work.receipts.insert_one(
        {
            "_id": 1,
            "filename": "batch_1.zip",
            "uploaded_by": "flor",
            "upload_date": datetime(2026, 1, 2),
            "readable": True,
            "problem": "incomplete",
            "batches": ["batch_1"] if isinstance(odd, list) else "batch_1",
            "missing": odd,
            "extra": odd,
            "other_files": odd,
            "parts": [part, {**part, "id": odd}] if isinstance(odd, list) else odd,
            "content": {"offenders": odd, "notes": odd},
        }
    )
    at = page("receipts").run()
    assert not at.exception, at.exception
    assert list(table(at)["Batches"]) == ["batch_1"]
    captions = [as_read(c.value) for c in at.caption if "without a mask" in as_read(c.value)]
    assert len(captions) == 1 and "i, m, g" not in captions[0], captions
    assert all(s in captions[0] for s in said), captions
    at = page("batches").run()
    at.text_input(key="history_of").input("batch_1").run()
    assert not at.exception, at.exception
    monkeypatch.setenv("LOGIN", "on")
    at = log_in(page("streamlit_app").run(), "flor", "correct horse battery")
    assert not at.exception, at.exception


def test_a_usable_receipt_stored_by_the_older_rule_misses_nothing(app_env):
    """Receipts stored before "still missing" counted the batch as it stood kept the upload's
    own shortfall: the part completing a batch delivered in parts read "usable" beside
    "Missing 2". A usable upload's batch then had every mask, whatever was stored."""
    from datetime import datetime

    app_env.work.batches.insert_one({"id": "batch_1", "status": "review"})
    app_env.work.receipts.insert_one(
        {
            "_id": 1,
            "filename": "batch_1_part2.zip",
            "upload_date": datetime(2026, 1, 2),
            "readable": True,
            "usable": True,
            "problem": None,
            "batches": ["batch_1"],
            "masks": 1,
            "matched": 1,
            "missing_count": 2,
            "missing": ["img_001.png", "img_002.png"],
        }
    )
    at = page("receipts").run()
    assert not at.exception, at.exception
    assert list(table(at)["Still missing"]) == ["0"]
    assert not [c for c in at.caption if "without a mask" in as_read(c.value)]
