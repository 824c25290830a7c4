"""A segmentador's own page, enforced in segcore: logins linked to a team member, every read
scoped to that member's batches, and "in progress" the only write they may make."""

from datetime import date, datetime

import pytest

from segcore.core.actors import Actor
from segcore.core.errors import MemberNotFound, PermissionDenied, ValidationError
from segcore.core.phrases import Phrase
from segcore.masks.receipts import INCOMPLETE, PROBLEM_WORDS
from segcore.store.history import Change, list_history, record
from segcore.team import auth, sessions, team
from segcore.views import my_work
from segcore.work import assignments, handover
from segcore.work.batches import Edit

PASSWORD = "correct horse battery"
TODAY = date(2025, 10, 20)
NOW = datetime(2025, 10, 20, 12)


@pytest.fixture
def lab(db):
    for name in ("Flor", "Ceci", "Luis"):
        team.add_member(db, name, author="test")
    docs = [
        {
            "id": "batch_1",
            "assignee": "Flor",
            "status": "pending",
            "metadata": {"due_date": "2025-10-18", "priority": "alta"},
        },
        {
            "id": "batch_2",
            "assignee": "Flor",
            "status": "pending",
            "metadata": {"due_date": "2025-10-30", "priority": "baja"},
            "mask_check": {
                "state": "incomplete",
                "images": 3,
                "matched": 1,
                "missing_count": 2,
                "missing": ["img_2.png", "img_3.png"],
                "unreadable": [],
            },
        },
        {
            "id": "batch_3",
            "assignee": "Flor",
            "status": "done",
            "mongo_uploaded": True,
            "training_metrics_info": {"first_upload": datetime(2025, 10, 16, 9), "file_count": 1},
            "mask_check": {
                "state": "complete",
                "usable": True,  # delivered, usable
                "usable_since": datetime(2025, 10, 16, 9),
            },
        },
        {
            "id": "batch_4",
            "assignee": "Ceci",
            "status": "pending",
            "metadata": {"due_date": "2025-10-19"},
        },
        {
            "id": "batch_5",
            "assignee": "Ceci",
            "status": "done",
            "mongo_uploaded": True,
            "training_metrics_info": {"first_upload": datetime(2025, 10, 17, 9)},
            "mask_check": {
                "state": "complete",
                "usable": True,
                "usable_since": datetime(2025, 10, 17, 9),
            },
        },
        {"id": "batch_6", "status": "pending"},
    ]
    db.batches.insert_many(docs)
    auth.add_user(db, "flor", "segmentador", PASSWORD, member="flor ")
    auth.add_user(db, "ceci", "segmentador", PASSWORD, member="Ceci")
    return db


def flor(db):
    return auth.authenticate(db, "flor", PASSWORD)


def test_a_segmentador_login_belongs_to_one_existing_member(lab):
    assert flor(lab) == Actor("flor", "segmentador", "Flor")  # the member's stored name
    with pytest.raises(MemberNotFound):
        auth.add_user(lab, "ghost", "segmentador", PASSWORD, member="Nobody")
    with pytest.raises(ValidationError) as exc:
        auth.add_user(lab, "lone", "segmentador", PASSWORD)
    assert exc.value.field == "member"
    with pytest.raises(ValidationError):
        auth.add_user(lab, "boss", "coordinator", PASSWORD, member="Flor")
    assert lab.app_users.count_documents({"name": {"$in": ["ghost", "lone", "boss"]}}) == 0
    token, _ = sessions.start_session(lab, flor(lab), 60)
    assert sessions.resume_session(lab, token)[0].member == "Flor"


def test_removing_the_member_ends_their_logins_and_sessions(lab):
    token, _ = sessions.start_session(lab, flor(lab), 60)
    handover.remove_member(lab, "Flor", unassign=True, author="test")
    assert [u.name for u in auth.list_users(lab)] == ["ceci"]
    assert sessions.resume_session(lab, token) is None


def test_only_the_members_own_batches_come_back(lab):
    mine = my_work.my_batches(lab, flor(lab), TODAY)
    assert [b.id for b in mine] == ["batch_1", "batch_2", "batch_3"]  # open first, due first
    first, second = mine[0], mine[1]
    assert (first.overdue, first.days_left) == (True, -2)
    assert (second.missing, second.matched, second.images) == (["img_2.png", "img_3.png"], 1, 3)
    # whatever member a segmentador asks for, they get their own
    assert {b.id for b in my_work.my_batches(lab, flor(lab), TODAY, member="Ceci")} == {
        "batch_1",
        "batch_2",
        "batch_3",
    }
    assert [r["id"] for r in my_work.my_reviews(lab, flor(lab), member="Ceci")] == ["batch_3"]
    pace = my_work.my_pace(lab, flor(lab), NOW, member="Ceci")
    assert (pace.open, pace.delivered_7) == (2, 1)
    assert sum(w["deliveries"] for w in pace.weeks) == 1
    # a coordinator chooses whose page; a login without a member sees nothing
    assert {b.id for b in my_work.my_batches(lab, Actor("Coord"), TODAY, member="Ceci")} == {
        "batch_4",
        "batch_5",
    }
    with pytest.raises(PermissionDenied):
        my_work.my_batches(lab, Actor("odd", "segmentador"), TODAY)


def test_marking_in_progress_is_the_one_write_and_only_on_their_batches(lab):
    me = flor(lab)
    result = assignments.start_batch(lab, "batch_1", "pending", me)
    assert result.updated == ["batch_1"]
    assert lab.batches.find_one({"id": "batch_1"})["status"] == "in_progress"
    entry = list_history(lab, key="batch_1")[0]
    assert (entry["author"], entry["old"], entry["new"]) == ("flor", "pending", "in_progress")
    before = list(lab.batches.find({}, {"_id": 0}))
    for batch_id in ("batch_4", "batch_6", "batch_99"):  # someone else's, nobody's, none
        with pytest.raises(PermissionDenied) as exc:
            assignments.start_batch(lab, batch_id, "pending", me)
        assert "Ceci" not in str(exc.value)
    with pytest.raises(ValidationError):
        assignments.start_batch(lab, "batch_3", "done", me)
    stale = assignments.start_batch(lab, "batch_2", "in_review_meanwhile", me)
    assert stale.updated == [] and stale.conflicts
    with pytest.raises(PermissionDenied):
        assignments.assign(lab, ["batch_6"], "Flor", author=me)
    with pytest.raises(PermissionDenied):
        team.add_member(lab, "Intruder", author=me)
    with pytest.raises(PermissionDenied):
        auth.add_user(lab, "x", "coordinator", PASSWORD, author=me)
    assert list(lab.batches.find({}, {"_id": 0})) == before
    assert len(team.list_members(lab)) == 3


def test_marking_in_progress_a_batch_the_coordinator_started_meanwhile_is_no_conflict(lab):
    """Her page showed batch_1 pending; the coordinator set it in progress meanwhile. Two
    people chose the same value: the result says it already is (the page said "changed
    meanwhile; nothing was saved"), with nothing written and one entry, the coordinator's."""
    me = flor(lab)
    edit = Edit("batch_1", "status", "pending", "in_progress")
    assert assignments.apply_edits(lab, [edit], "Ana").updated == ["batch_1"]
    result = assignments.start_batch(lab, "batch_1", "pending", me)
    assert (result.updated, result.conflicts, result.failed) == ([], [], {})
    assert result.already == ["batch_1"]
    assert [(h["author"], h["new"]) for h in list_history(lab, key="batch_1")] == [
        ("Ana", "in_progress")
    ]
    stale = assignments.start_batch(lab, "batch_2", "in_review_meanwhile", me)
    assert stale.conflicts and not stale.already  # another value meanwhile: a conflict


def test_cli_hands_a_segmentador_login_to_a_member(run_cli, db):
    team.add_member(db, "Flor", author="test")
    out = run_cli(
        "user",
        "add",
        "flor",
        "--role",
        "segmentador",
        "--member",
        "FLOR",
        "--password-stdin",
        input_text=PASSWORD + "\n",
    )
    assert out.returncode == 0, out.stderr
    assert "segmentador role for Flor" in out.stdout
    assert "flor" in run_cli("user", "list").stdout and "(Flor)" in run_cli("user", "list").stdout
    nobody = run_cli(
        "user",
        "add",
        "x",
        "--role",
        "segmentador",
        "--member",
        "Nobody",
        "--password-stdin",
        input_text=PASSWORD + "\n",
    )
    assert nobody.returncode == 1 and "Nobody" in nobody.stderr
    assert len(nobody.stderr.strip().splitlines()) == 1
    removed = run_cli("team", "remove", "Flor")
    assert removed.returncode == 0, removed.stderr
    assert "flor" not in run_cli("user", "list").stdout


def test_the_latest_receipt_of_each_own_batch_and_nothing_of_anyone_elses(lab):
    """An upload naming Flor's and Ceci's batches: uploaded by Ceci, nothing of it reaches
    Flor; uploaded by Flor, she sees her batch's part only, with no word of Ceci's batch."""
    lab.receipts.insert_many(
        [
            {
                "_id": 1,
                "filename": "batch_1_and_batch_4.zip",
                "uploaded_by": "ceci",
                "upload_date": datetime(2025, 10, 19, 9),
                "readable": True,
                "problem": "incomplete",
                "reason": "batch_4: 2 of 2 images without a mask",
                "batches": ["batch_1", "batch_4"],
                "parts": [
                    {
                        "id": "batch_1",
                        "images": 2,
                        "matched": 1,
                        "missing": ["img_2.png"],
                        "missing_count": 1,
                    },
                    {
                        "id": "batch_4",
                        "images": 2,
                        "matched": 0,
                        "missing": ["x.png", "y.png"],
                        "missing_count": 2,
                    },
                ],
            },
            {
                "_id": 2,
                "filename": "batch_1_old.zip",
                "upload_date": datetime(2025, 10, 1),
                "readable": False,
                "reason": "truncated",
                "batches": ["batch_1"],
                "parts": [{"id": "batch_1"}],
            },
        ]
    )
    found = my_work.my_receipts(lab, flor(lab), ["batch_1", "batch_2", "batch_4"])
    assert list(found) == ["batch_1"]  # batch_4 is not hers
    receipt = found["batch_1"]
    # Ceci's upload is Ceci's: Flor's page shows her own newest (no uploader stored: hers)
    assert (receipt["filename"], receipt["readable"]) == ("batch_1_old.zip", False)
    assert "ceci" not in str(receipt).lower() and "batch_4" not in str(receipt)
    assert "x.png" not in str(receipt)
    lab.receipts.update_one({"_id": 1}, {"$set": {"uploaded_by": "FLÓR"}})  # hers after all
    receipt = my_work.my_receipts(lab, flor(lab), ["batch_1"])["batch_1"]
    assert (receipt["matched"], receipt["images"], receipt["missing"]) == (1, 2, ["img_2.png"])
    assert receipt["filename"] is None and "batch_4" not in str(receipt)  # names another batch


def test_a_batch_stored_under_another_spelling_of_the_name_is_theirs(lab):
    """Another tool stored "FLOR " for Flor: the coordinator's pages and the alerts count it as
    hers; her own page did not list it (an exact match), nor offer to mark it in progress."""
    lab.batches.insert_one({"id": "batch_9", "assignee": "FLÓR ", "status": "pending"})
    mine = {b.id for b in my_work.my_batches(lab, flor(lab), TODAY)}
    assert mine == {"batch_1", "batch_2", "batch_3", "batch_9"}
    assert "batch_9" not in {b.id for b in my_work.my_batches(lab, Actor("C"), TODAY, "Ceci")}


def test_my_page_names_only_the_own_batchs_problems_of_a_multi_batch_upload(lab):
    """Content offenders of an upload naming two batches carry their batch: Flor's page lists
    hers, never the masks (names may carry patient ids) of Ceci's batch."""
    offenders = [
        {"name": "a_mask.png", "code": "empty", "params": {}, "b": "batch_1"},
        {"name": "p123_mask.png", "code": "empty", "params": {}, "b": "batch_4"},
    ]
    lab.receipts.insert_one(
        {
            "_id": 3,
            "filename": "batch_1_and_batch_4.zip",
            "uploaded_by": "flor",
            "upload_date": datetime(2025, 10, 20),
            "readable": True,
            "problem": "content",
            "batches": ["batch_1", "batch_4"],
            "parts": [{"id": "batch_1"}, {"id": "batch_4"}],
            "content": {"offenders": offenders},
        }
    )
    receipt = my_work.my_receipts(lab, flor(lab), ["batch_1"])["batch_1"]
    assert [o["name"] for o in receipt["content"]] == ["a_mask.png"]


@pytest.mark.parametrize("as_phrase", [True, False])
def test_a_rework_reason_stored_of_another_batch_shows_only_its_problem(lab, as_phrase):
    """An earlier version stored an upload's one reason for every batch it named: Flor's
    batch_2 was sent back "incomplete: batch_4: 2 of 2 images without a mask", Ceci's batch
    and figures, shown on Flor's page. A reason of her own batch stays whole."""
    other = Phrase(
        "{problem}: {reason}",
        problem=Phrase(PROBLEM_WORDS["incomplete"]),
        reason=Phrase(INCOMPLETE, plural_by="images", batch="batch_4", missing=2, images=2),
    )
    own = Phrase(
        "{problem}: {reason}",
        problem=Phrase(PROBLEM_WORDS["incomplete"]),
        reason=Phrase(INCOMPLETE, plural_by="images", batch="batch_1", missing=1, images=3),
    )
    lab.batches.update_many({"id": {"$in": ["batch_1", "batch_2"]}}, {"$set": {"status": "rework"}})
    record(
        lab,
        [
            Change(
                "batch", b, "status", "pending", "rework", "sync", NOW, r if as_phrase else str(r)
            )
            for b, r in (("batch_2", other), ("batch_1", own))
        ],
    )
    notes = {r["id"]: str(r["note"]) for r in my_work.my_reviews(lab, flor(lab))}
    assert notes["batch_2"] == "incomplete"
    assert notes["batch_1"] == "incomplete: batch_1: 1 of 3 images without a mask"
    assert "batch_4" not in str(my_work.my_reviews(lab, flor(lab)))


def test_my_pace_counts_from_the_day_they_joined_as_the_team_page_does(lab):
    """Someone who joined 7 days ago is paced over those 7 days, not over the 28-day window."""
    from segcore.report.pace import analyse, pace_row

    now = datetime(2025, 10, 20, 12)
    lab.segmentadores.update_one({"name": "Ceci"}, {"$set": {"created_at": "2025-10-13"}})
    mine = my_work.my_pace(lab, Actor("C"), now, member="Ceci")
    rows = [pace_row(d) for d in lab.batches.find({})]
    members = list(lab.segmentadores.find({}, {"_id": 0}))
    team_page = next(p for p in analyse(rows, members, now).people if p.name == "Ceci")
    assert (mine.pace, mine.projected_finish) == (team_page.pace, team_page.projected_finish)


def test_a_later_legacy_duplicates_page_shows_none_of_the_first_ones_batches(db):
    """José (added first) and Jose share a name's key: every page counts batch_1-3 for José,
    so Jose's own login listed them too (as "his"), and could mark them in progress."""
    from tests.helpers import seed_legacy_duplicates

    seed_legacy_duplicates(db)
    jose = auth.authenticate(db, "jose", "a long password")
    jose2 = auth.authenticate(db, "jose2", "a long password")
    assert {b.id for b in my_work.my_batches(db, jose, TODAY)} == {"batch_1", "batch_2", "batch_3"}
    assert my_work.my_batches(db, jose2, TODAY) == []
    assert my_work.my_reviews(db, jose2) == []
    with pytest.raises(PermissionDenied):
        assignments.start_batch(db, "batch_3", "pending", jose2)
    assert assignments.start_batch(db, "batch_3", "pending", jose).updated == ["batch_3"]


def test_my_deliveries_per_week_end_on_the_offices_today_as_the_7_day_count_does(lab):
    """Monday 08:30 in Tokyo is Sunday in UTC: a delivery made that morning is in "Delivered in
    the last 7 days" and must be in the chart's last week (Monday Dec 7), not dropped from a
    chart that ended on the UTC Sunday; in Mexico City on Sunday evening (Monday in UTC) the
    chart must not show next week."""
    from zoneinfo import ZoneInfo

    lab.segmentadores.update_many({}, {"$set": {"created_at": "2025-01-07 12:00:00"}})
    delivered = datetime(2026, 12, 6, 23)  # Mon Dec 7 08:00 in Tokyo
    lab.batches.update_one(
        {"id": "batch_3"},
        {
            "$set": {
                "training_metrics_info.first_upload": delivered,
                "mask_check.usable_since": delivered,
            }
        },
    )
    tokyo = my_work.my_pace(lab, flor(lab), datetime(2026, 12, 6, 23, 30), ZoneInfo("Asia/Tokyo"))
    assert tokyo.delivered_7 == 1
    assert (tokyo.weeks[-1]["week"], tokyo.weeks[-1]["deliveries"]) == (date(2026, 12, 7), 1)
    mexico = my_work.my_pace(
        lab, flor(lab), datetime(2026, 12, 7, 2), ZoneInfo("America/Mexico_City")
    )  # Sunday Dec 6, 20:00 in the office
    assert mexico.weeks[-1]["week"] == date(2026, 11, 30)


def test_my_pace_keeps_a_delivery_handed_over_afterwards_as_the_team_page_does(lab):
    """Flor delivered batch_3; the coordinator hands it to Ceci for review. Flor's page keeps
    her delivery, Ceci's gets none for it: the Team page's and the report's rule."""
    from segcore.report.pace import analyse, pace_row

    before = my_work.my_pace(lab, flor(lab), NOW)
    assert (before.delivered_7, before.last_delivery) == (1, date(2025, 10, 16))
    ceci_before = my_work.my_pace(lab, Actor("C"), NOW, member="Ceci")  # her own batch_5
    assert assignments.assign(lab, ["batch_3"], "Ceci", "coord").updated == ["batch_3"]

    mine = my_work.my_pace(lab, flor(lab), NOW)
    rows = [pace_row(d) for d in lab.batches.find({})]
    members = list(lab.segmentadores.find({}, {"_id": 0}))
    team_page = {p.name: p for p in analyse(rows, members, NOW).people}
    assert (
        (mine.delivered_7, mine.delivered_28, mine.last_delivery, mine.pace)
        == (
            team_page["Flor"].delivered_7,
            team_page["Flor"].delivered_28,
            team_page["Flor"].last_delivery,
            team_page["Flor"].pace,
        )
        == (1, 1, date(2025, 10, 16), before.pace)
    )
    assert sum(w["deliveries"] for w in mine.weeks) == 1
    assert before.open == mine.open  # the batch she no longer holds is not her open work
    ceci = my_work.my_pace(lab, Actor("C"), NOW, member="Ceci")
    assert (ceci.delivered_28, ceci.weeks) == (ceci_before.delivered_28, ceci_before.weeks)
    assert ceci.delivered_28 == team_page["Ceci"].delivered_28 == 1
    assert "batch_3" not in [b.id for b in my_work.my_batches(lab, flor(lab), TODAY)]


def test_a_former_members_page_keeps_their_pace_since_they_joined(lab):
    """Ceci joined on Monday the 13th and delivered two batches; removed, her page (a
    coordinator's choice) still paces her over her six working days, not the whole window."""
    lab.segmentadores.update_one({"name": "Ceci"}, {"$set": {"created_at": "2025-10-13 09:00:00"}})
    delivered = datetime(2025, 10, 17, 9)
    lab.batches.insert_one(
        {
            "id": "batch_9",
            "assignee": "Ceci",
            "status": "done",
            "mongo_uploaded": True,
            "training_metrics_info": {"first_upload": delivered, "file_count": 1},
            "mask_check": {"state": "complete", "usable": True, "usable_since": delivered},
        }
    )
    before = my_work.my_pace(lab, Actor("C"), NOW, member="Ceci")
    handover.remove_member(lab, "Ceci", unassign=True, author="coord")
    after = my_work.my_pace(lab, Actor("C"), NOW, member="Ceci")
    assert after.pace == before.pace == round(2 / 6, 3)
    assert (after.delivered_7, after.open) == (before.delivered_7, 0)
