"""Team rules against the real server: validation, duplicates, legacy documents, removal."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from segcore.core.errors import (
    AmbiguousMember,
    DuplicateMember,
    MemberChanged,
    MemberNotFound,
    ValidationError,
)
from segcore.store.history import list_history
from segcore.team import team
from segcore.work import batches, handover


def test_add_trims_defaults_role_and_persists(db):
    member = team.add_member(db, "  Mauricio  ", email="mauricio@example.com", author="coord")
    assert member.name == "Mauricio" and member.role == "Segmentador"
    stored = db.segmentadores.find_one({"name": "Mauricio"})
    assert stored["email"] == "mauricio@example.com"
    assert len(stored["created_at"]) == 19 and stored["created_at"][4] == "-"
    assert [m.name for m in team.list_members(db)] == ["Mauricio"]


@pytest.mark.parametrize(
    "second",
    # the last ones pasted with an invisible character: zero-width space, soft hyphen, BOM,
    # a left-to-right mark
    [
        "flor",
        "FLOR",
        " Flor ",
        "Flór",
        "flor\t",
        "Flor\u200b",
        "Flor\u00ad",
        "\ufeffFlor",
        "\u200eFlor",
    ],
)
def test_duplicates_refused_whatever_case_accents_spacing(db, second):
    team.add_member(db, "Flor")
    with pytest.raises(DuplicateMember) as exc:
        team.add_member(db, second)
    assert exc.value.field == "name" and "Flor" in str(exc.value)
    assert db.segmentadores.count_documents({}) == 1


@pytest.mark.parametrize(
    "name,email,field",
    [
        ("", None, "name"),
        ("   ", None, "name"),
        ("x" * 81, None, "name"),
        ("Ana", "not-an-email", "email"),
        ("Ana", "ana@", "email"),
        ("Ana", "a b@c.com", "email"),
    ],
)
def test_invalid_input_names_the_field_and_writes_nothing(db, name, email, field):
    with pytest.raises(ValidationError) as exc:
        team.add_member(db, name, email=email)
    assert exc.value.field == field
    assert db.segmentadores.count_documents({}) == 0


def test_concurrent_adds_of_the_same_person_leave_one(dbs):
    names = ["Flor", " flor ", "FLOR", "Flór"] * 3

    def add(name):
        try:
            team.add_member(dbs.work, name)
            return "added"
        except DuplicateMember:
            return "duplicate"

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        outcomes = list(pool.map(add, names))
    assert outcomes.count("added") == 1
    assert dbs.work.segmentadores.count_documents({}) == 1


def test_legacy_members_load_without_rewrite_and_block_duplicates(dbs):
    from segcore.prepare import prepare

    legacy = [
        {
            "name": "Maggie",
            "role": "Segmentador Senior",
            "email": "",
            "created_at": "2025-10-07 12:00:00",
        },
        {"name": "Ceci"},
    ]
    dbs.work.segmentadores.insert_many([dict(d) for d in legacy])
    assert prepare(dbs) == []
    members = {m.name: m for m in team.list_members(dbs.work)}
    assert members["Ceci"].role is None and members["Ceci"].email is None
    assert members["Maggie"].created_at == "2025-10-07 12:00:00"
    stored = dbs.work.segmentadores.find_one({"name": "Ceci"}, {"_id": 0, "name_key": 0})
    assert stored == {"name": "Ceci"}
    with pytest.raises(DuplicateMember):
        team.add_member(dbs.work, "ceci")


def test_legacy_colliding_names_are_reported(dbs):
    from segcore.prepare import prepare

    dbs.work.segmentadores.insert_many([{"name": "Flor"}, {"name": "flor "}])
    warnings = prepare(dbs)
    assert len(warnings) == 1 and "flor" in warnings[0]


def test_a_name_pasted_with_invisible_characters_is_stored_without_them(db):
    member = team.add_member(db, "\ufeffMar\u00adía\u200b José")
    assert member.name == "María José"
    assert [m.name for m in team.list_members(db)] == ["María José"]
    assert team.find_member(db, "maria jose\u200b").name == "María José"
    with pytest.raises(ValidationError, match="A name is required"):
        team.add_member(db, "\u200b\u00ad")


def test_a_legacy_name_with_an_invisible_character_is_one_person_and_shown_as_stored(dbs):
    """Keys made before invisible characters were ignored are redone; a stored pair that is
    now one person is reported with the invisible character shown, so it can be told apart."""
    from segcore.prepare import prepare

    dbs.work.segmentadores.insert_many(
        [
            {"name": "Flor", "name_key": "flor"},
            {"name": "Flor\u200b", "name_key": "flor\u200b"},
            {"name": "Ana\u00ad", "name_key": "ana\u00ad"},
        ]
    )
    warnings = prepare(dbs)
    assert [str(w) for w in warnings] == [
        "Team member 'Flor\\u200b' has the same name as another one (up to case, accents, "
        "spacing or invisible characters); rename or remove one of them."
    ]
    assert sorted(m.name for m in team.list_members(dbs.work)) == [
        "Ana\u00ad",
        "Flor",
        "Flor\u200b",
    ]
    assert team.find_member(dbs.work, "Ana").name == "Ana\u00ad"  # as stored
    with pytest.raises(DuplicateMember, match="'Ana\u00ad' is already on the team"):
        team.add_member(dbs.work, "Ana")
    with pytest.raises(DuplicateMember, match="'Flor' is already on the team"):
        team.add_member(dbs.work, "Flor\u200b")


def test_edit_role_and_email_records_history(db):
    team.add_member(db, "Ignacio")
    team.edit_member(db, "ignacio", role="Revisor", email="ig@example.com", author="coord")
    member = team.find_member(db, "Ignacio")
    assert (member.role, member.email) == ("Revisor", "ig@example.com")
    fields = {(h["field"], h["old"], h["new"], h["author"]) for h in list_history(db, "Ignacio")}
    assert ("role", "Segmentador", "Revisor", "coord") in fields
    with pytest.raises(ValidationError):
        team.edit_member(db, "Ignacio", email="bad")
    assert team.find_member(db, "Ignacio").email == "ig@example.com"


def test_edit_compares_each_field_with_the_value_the_editor_saw(db):
    team.add_member(db, "Ana", role="Segmentador", email="ana@example.org")
    team.edit_member(db, "Ana", email="ana.new@example.org", author="cli")  # someone else
    # only the role was changed by this editor: the other's email stays
    member = team.edit_member(
        db, "Ana", role="Revisora", seen={"role": "Segmentador"}, author="coord"
    )
    assert (member.role, member.email) == ("Revisora", "ana.new@example.org")
    # an email changed from the one this editor saw is a conflict: nothing is written
    with pytest.raises(MemberChanged) as refused:
        team.edit_member(
            db,
            "Ana",
            role="Jefa",
            email="ana@lab.example.org",
            seen={"role": "Revisora", "email": "ana@example.org"},
            author="coord",
        )
    assert (refused.value.field, refused.value.now) == ("email", "ana.new@example.org")
    assert "ana.new@example.org" in str(refused.value) and "ana@lab.example.org" in str(
        refused.value
    )
    stored = team.find_member(db, "Ana")
    assert (stored.role, stored.email) == ("Revisora", "ana.new@example.org")
    assert [h["new"] for h in list_history(db, "Ana") if h["author"] == "coord"] == ["Revisora"]


def _batches(db, docs):
    db.batches.insert_many([dict(d) for d in docs])


def test_remove_with_open_batches_needs_a_choice(db):
    team.add_member(db, "Flor")
    team.add_member(db, "Ceci")
    _batches(
        db,
        [
            {"id": "batch_1", "assignee": "Flor", "status": "pending"},
            {
                "id": "batch_2",
                "assignee": "Flor",
                "mongo_uploaded": True,
                "mask_check": {"state": "complete", "usable": True},
            },
            {"id": "batch_3", "assignee": "Ceci"},
        ],
    )
    with pytest.raises(ValidationError) as exc:
        handover.remove_member(db, "Flor")
    assert "1 open batches" in str(exc.value)
    assert db.segmentadores.count_documents({}) == 2
    moved = handover.remove_member(db, "flor", reassign_to="ceci", author="coord")
    assert moved == 1
    assert db.batches.find_one({"id": "batch_1"})["assignee"] == "Ceci"
    # Finished work keeps the name of who did it.
    assert db.batches.find_one({"id": "batch_2"})["assignee"] == "Flor"
    assert [m.name for m in team.list_members(db)] == ["Ceci"]
    assert any(h["field"] == "assignee" and h["new"] == "Ceci" for h in list_history(db, "batch_1"))


def test_remove_and_unassign(db):
    team.add_member(db, "Flor")
    _batches(db, [{"id": "batch_1", "assignee": "Flor"}])
    handover.remove_member(db, "Flor", unassign=True)
    assert db.batches.find_one({"id": "batch_1"})["assignee"] is None


def test_remove_unknown_or_to_unknown(db):
    team.add_member(db, "Flor")
    with pytest.raises(MemberNotFound):
        handover.remove_member(db, "Nadie", unassign=True)
    _batches(db, [{"id": "batch_1", "assignee": "Flor"}])
    with pytest.raises(MemberNotFound):
        handover.remove_member(db, "Flor", reassign_to="Nadie")
    assert batches.open_batch_ids(db, "Flor") == ["batch_1"]


def test_a_name_another_tool_stored_as_a_list_or_nothing_stops_nothing(dbs, run_cli):
    """A legacy member whose name is a list, a dict, None or blank used to stop every command
    and page (an unhashable name in a cache); it is shown as stored, and a nameless one is
    called nameless, not a duplicate."""
    from segcore.prepare import prepare

    dbs.work.segmentadores.insert_many(
        [{"name": "Flor"}, {"name": ["Ceci"]}, {"name": {"first": "Ana"}}, {"name": None}]
    )
    dbs.work.segmentadores.insert_one({"role": "Revisor"})  # no name at all
    warnings = prepare(dbs)
    assert warnings == [
        "A team member has no name (stored: None); give it one or remove it.",
        "A team member has no name (stored: None); give it one or remove it.",
    ]
    listed = run_cli("team", "list")
    assert listed.returncode == 0, listed.stderr
    assert "['Ceci']" in listed.stdout and "{'first': 'Ana'}" in listed.stdout
    status = run_cli("status")
    assert status.returncode == 0 and "Traceback" not in status.stderr


# --- legacy duplicates: José (added first, holding the name's key) and Jose ----------------


@pytest.fixture
def duplicates(dbs):
    """José and a later Jose stored by the old dashboard (Jose without the name key the
    product adds), a login each, and José's batches under several spellings."""
    from segcore.prepare import prepare
    from segcore.team import auth

    dbs.work.segmentadores.insert_many(
        [
            {"name": "José", "role": "Segmentador", "email": "jose@example.com"},
            {"name": "Jose", "role": "Segmentador", "email": "jose2@example.com"},
        ]
    )
    assert len(prepare(dbs)) == 1  # "Jose" has the same name as another one
    auth.add_user(dbs.work, "jose", "segmentador", "a long password", member="José")
    auth.add_user(dbs.work, "jose2", "segmentador", "a long password", member="Jose")
    _batches(
        dbs.work,
        [
            {"id": "batch_1", "assignee": "José", "status": "pending"},
            {"id": "batch_2", "assignee": "jose", "status": "pending"},
            {"id": "batch_3", "assignee": "Jose", "status": "in_progress"},
        ],
    )
    return dbs.work


def _on_team(db) -> list[tuple]:
    return [(m.name, m.email) for m in team.list_members(db)]


def _logins(db) -> list[str]:
    return sorted(u["name"] for u in db.app_users.find())


def test_removing_the_later_duplicate_removes_that_one_only(duplicates):
    db = duplicates
    moved = handover.remove_member(db, "Jose", author="coord")
    assert moved == 0  # José holds the batches under the shared key, not Jose
    assert _on_team(db) == [("José", "jose@example.com")]
    assert _logins(db) == ["jose"]  # José's login stays, Jose's went with him
    assert [d["assignee"] for d in db.batches.find({}, sort=[("id", 1)])] == [
        "José",
        "jose",
        "Jose",
    ]
    assert [h["key"] for h in db.history.find({"kind": "team", "new": "removed"})] == ["Jose"]


def test_removing_the_first_duplicate_hands_over_its_batches_and_leaves_the_other(duplicates):
    db = duplicates
    moved = handover.remove_member(db, "José", unassign=True, author="coord")
    assert moved == 3
    assert _on_team(db) == [("Jose", "jose2@example.com")]
    assert _logins(db) == ["jose2"]
    assert db.batches.count_documents({"assignee": None}) == 3


def test_removing_the_first_duplicate_never_credits_its_finished_batches_to_the_other(
    duplicates,
):
    """Probe 15: José's finished batches, kept "so the record shows who segmented them", were
    counted as Jose's once José left (every figure counts a name's batches for the first
    member of that name). The removal is refused while Jose would take them, and done once
    Jose is gone."""
    from segcore.core.errors import NameWouldPass

    db = duplicates
    db.batches.insert_one({"id": "batch_4", "assignee": "jose", "status": "done"})
    before = list(db.batches.find({}, {"_id": 0}))
    with pytest.raises(NameWouldPass) as refused:
        handover.remove_member(db, "José", reassign_to="Jose", author="coord")
    assert str(refused.value).startswith(
        "José's delivered or done batches (1) would then count for Jose, who has the same name"
    )
    assert list(db.batches.find({}, {"_id": 0})) == before  # nothing handed over
    assert _on_team(db) == [("José", "jose@example.com"), ("Jose", "jose2@example.com")]
    handover.remove_member(db, "Jose", author="coord")  # he holds nothing: all is José's
    assert handover.remove_member(db, "José", unassign=True, author="coord") == 3
    assert _on_team(db) == []
    kept = [(d["id"], d["assignee"]) for d in db.batches.find({"assignee": {"$ne": None}})]
    assert kept == [("batch_4", "jose")]  # José's record, held by nobody on the team


def test_a_name_both_duplicates_answer_to_is_refused_and_changes_nothing(duplicates):
    db = duplicates
    for act in (
        lambda: handover.remove_member(db, "jose", unassign=True, author="coord"),
        lambda: team.edit_member(db, "JOSE", email="x@example.com", author="coord"),
    ):
        with pytest.raises(AmbiguousMember) as refused:
            act()
        assert "'José', 'Jose'" in str(refused.value) and "exactly" in str(refused.value)
    assert _on_team(db) == [("José", "jose@example.com"), ("Jose", "jose2@example.com")]
    assert _logins(db) == ["jose", "jose2"]


def test_editing_a_duplicate_by_its_exact_spelling_edits_that_one(duplicates):
    db = duplicates
    edited = team.edit_member(db, "Jose", email="jose.b@example.com", author="coord")
    assert (edited.name, edited.email) == ("Jose", "jose.b@example.com")
    assert _on_team(db) == [("José", "jose@example.com"), ("Jose", "jose.b@example.com")]
    assert team.find_member(db, " José ").email == "jose@example.com"


def test_a_member_chosen_from_the_list_is_acted_on_even_when_spelled_alike(dbs):
    """Two legacy documents both stored as "Jose": the one chosen (by its document) goes."""
    dbs.work.segmentadores.insert_many(
        [{"name": "Jose", "email": "first@example.com"}, {"name": "Jose", "email": "b@example.com"}]
    )
    team.ensure_indexes(dbs.work)
    first, second = team.list_members(dbs.work)
    with pytest.raises(AmbiguousMember, match="2 team members are called 'Jose'"):
        team.find_member(dbs.work, "Jose")
    team.edit_member(dbs.work, second, role="Revisor", author="coord")
    handover.remove_member(dbs.work, first, author="coord")
    assert [(m.email, m.role) for m in team.list_members(dbs.work)] == [
        ("b@example.com", "Revisor")
    ]
    with pytest.raises(MemberNotFound):  # removed: never the other one of that name
        team.edit_member(dbs.work, first, role="Revisor", author="coord")


def test_a_new_members_join_time_is_the_offices(db):
    """The join time was the server's clock: in an office a day away from it, someone added
    this morning was paced from yesterday (or tomorrow), the day the stored text names."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from segcore.core.timefmt import parse_date

    now = datetime.now(timezone.utc)
    zone = ZoneInfo("Etc/GMT+12" if now.hour < 12 else "Pacific/Kiritimati")
    member = team.add_member(db, "Mauricio", author="coord", zone=zone)
    joined = datetime.strptime(member.created_at, "%Y-%m-%d %H:%M:%S")  # the legacy form
    office = datetime.now(zone).replace(tzinfo=None)
    assert timedelta(0) <= office - joined < timedelta(minutes=1)
    assert parse_date(db.segmentadores.find_one({"name": "Mauricio"})["created_at"]) == (
        office.date()
    )


def test_a_removed_member_keeps_the_day_they_joined(db):
    """Their pace counts from it (`pace.analyse`'s `former`): the removal records their
    `created_at` in the history, as the old value of the field it deletes."""
    team.add_member(db, "José María Ávila", author="coord")
    team.add_member(db, "Eva", author="coord")
    joined = db.segmentadores.find_one({"name": "José María Ávila"})["created_at"]
    handover.remove_member(db, "José María Ávila", author="coord")
    assert handover.former_joinings(db) == [{"name": "José María Ávila", "created_at": joined}]
    [kept] = [h for h in list_history(db, key="José María Ávila") if h["field"] == "created_at"]
    assert (kept["old"], kept["new"], kept["author"]) == (joined, None, "coord")


def test_a_member_removed_before_the_joining_was_kept_joined_when_added(db):
    """Removed by an earlier version (no joining recorded): the history's "added" moment; a
    member of the old dashboard (never added here) has none; one back on the team is none
    of these."""
    team.add_member(db, "Flor", author="coord")
    db.segmentadores.insert_one({"name": "Legacy", "created_at": "2024-01-01 09:00:00"})
    team.add_member(db, "Ana", author="coord")
    for name in ("Flor", "Legacy", "Ana"):
        handover.remove_member(db, name, author="coord")
    db.history.delete_many({"field": "created_at"})  # as an earlier version recorded it
    team.add_member(db, "Ana", author="coord")
    added = db.history.find_one({"key": "Flor", "new": "added"})["at"]
    assert handover.former_joinings(db) == [
        {"name": "Flor", "created_at": added},
        {"name": "Legacy", "created_at": None},
    ]


def test_former_members_are_found_whatever_another_tool_stored_in_the_history(db):
    """A team entry written by another tool with its date as text and a text `_id` sat beside
    ours: sorting them raised TypeError, which took the report and alerts down."""
    team.add_member(db, "Flor", author="coord")
    handover.remove_member(db, "Flor", author="coord")
    db.history.insert_one(
        {
            "_id": "imported-1",
            "kind": "team",
            "key": "Beto",
            "field": "member",
            "old": None,
            "new": "removed",
            "at": "2025-03-01 10:00",
        }
    )
    assert sorted(p["name"] for p in handover.former_joinings(db)) == ["Beto", "Flor"]
