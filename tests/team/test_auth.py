"""Login: hashed passwords, roles, lockout, session expiry, and the viewer refused by segcore."""

import json
from datetime import datetime, timedelta

import pytest

from segcore.core.actors import Actor
from segcore.core.errors import AccountLocked, LoginFailed, PermissionDenied, ValidationError
from segcore.store.history import list_history
from segcore.team import auth, team

PASSWORD = "correct horse battery"


@pytest.fixture
def users(db):
    auth.add_user(db, "Coord", "coordinator", PASSWORD)
    auth.add_user(db, "Vera", "viewer", PASSWORD)
    return db


def test_passwords_are_stored_only_as_bcrypt_hashes(users):
    for doc in users.app_users.find({}):
        assert PASSWORD not in str(doc) and doc["password_hash"].startswith(b"$2b$")
    assert [(u.name, u.role) for u in auth.list_users(users)] == [
        ("Coord", "coordinator"),
        ("Vera", "viewer"),
    ]


def test_login_returns_the_role(users):
    assert auth.authenticate(users, "coord", PASSWORD) == Actor("Coord", "coordinator")
    assert auth.authenticate(users, " VERA ", PASSWORD).can_write is False


@pytest.mark.parametrize(
    "name,password",
    [("Coord", "wrong password!"), ("Nobody", PASSWORD), ("", PASSWORD), ("Coord", None)],
)
def test_wrong_name_or_password_same_message(users, name, password):
    with pytest.raises(LoginFailed) as exc:
        auth.authenticate(users, name, password)
    assert str(exc.value) == "Wrong user name or password."


def test_lockout_after_repeated_failures_and_its_expiry(users):
    now = datetime(2026, 1, 1, 12, 0)
    for attempt in range(auth.MAX_FAILURES - 1):
        with pytest.raises(LoginFailed):
            auth.authenticate(users, "Coord", "nope nope nope", now + timedelta(seconds=attempt))
    with pytest.raises(AccountLocked):
        auth.authenticate(users, "Coord", "nope nope nope", now + timedelta(seconds=10))
    # Even the right password is refused while locked...
    with pytest.raises(AccountLocked):
        auth.authenticate(users, "Coord", PASSWORD, now + timedelta(minutes=5))
    # ...and accepted once the lockout has passed.
    later = now + auth.LOCKOUT + timedelta(seconds=11)
    assert auth.authenticate(users, "Coord", PASSWORD, later).name == "Coord"


def test_failures_outside_the_window_do_not_lock(users):
    now = datetime(2026, 1, 1, 12, 0)
    for attempt in range(auth.MAX_FAILURES + 2):
        with pytest.raises(LoginFailed):
            auth.authenticate(
                users, "Coord", "nope nope nope", now + attempt * (auth.FAILURE_WINDOW / 2)
            )


@pytest.mark.parametrize(
    "name,role,password,field",
    [
        ("", "viewer", PASSWORD, "name"),
        ("x", "admin", PASSWORD, "role"),
        ("x", "viewer", "short", "password"),
        ("coord", "viewer", PASSWORD, "name"),
    ],
)
def test_invalid_users_refused(users, name, role, password, field):
    with pytest.raises(ValidationError) as exc:
        auth.add_user(users, name, role, password)
    assert exc.value.field == field


def test_session_expiry():
    start = datetime(2026, 1, 1, 8, 0)
    assert not auth.session_expired(start, start + timedelta(minutes=59), 60)
    assert auth.session_expired(start, start + timedelta(minutes=61), 60)
    assert auth.session_expired(None, start, 60)


def test_viewer_writes_refused_and_author_recorded(users):
    viewer = auth.authenticate(users, "Vera", PASSWORD)
    with pytest.raises(PermissionDenied):
        team.add_member(users, "Flor", author=viewer)
    assert users.segmentadores.count_documents({}) == 0
    coordinator = auth.authenticate(users, "Coord", PASSWORD)
    team.add_member(users, "Flor", author=coordinator)
    assert list_history(users, "Flor")[0]["author"] == "Coord"


def test_password_change_lifts_lockout(users):
    now = datetime(2026, 1, 1, 12, 0)
    for _attempt in range(auth.MAX_FAILURES):
        with pytest.raises((LoginFailed, AccountLocked)):
            auth.authenticate(users, "Vera", "nope nope nope", now)
    auth.set_password(users, "vera", "a brand new password")
    assert auth.authenticate(users, "Vera", "a brand new password", now).role == "viewer"


def test_cli_user_commands_never_show_the_password(run_cli, db):
    out = run_cli(
        "user",
        "add",
        "Coord",
        "--role",
        "coordinator",
        "--password-stdin",
        input_text=PASSWORD + "\n",
    )
    assert out.returncode == 0, out.stderr
    listed = run_cli("user", "list", "--json")
    assert '"Coord"' in listed.stdout and PASSWORD not in listed.stdout + listed.stderr
    assert "password_hash" not in listed.stdout
    short = run_cli(
        "user", "add", "Other", "--role", "viewer", "--password-stdin", input_text="short\n"
    )
    assert short.returncode == 1 and "at least" in short.stderr


def test_parallel_failures_still_lock_the_account(users):
    """App instances share the failure count in MongoDB: a burst of wrong passwords sent in
    parallel (as several instances, or threads, would) must not escape the lockout."""
    from concurrent.futures import ThreadPoolExecutor

    now = datetime(2026, 1, 1, 12, 0)

    def attempt(_):
        try:
            auth.authenticate(users, "Coord", "nope nope nope", now)
        except (LoginFailed, AccountLocked) as exc:
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=auth.MAX_FAILURES * 2) as pool:
        outcomes = list(pool.map(attempt, range(auth.MAX_FAILURES * 2)))
    assert "AccountLocked" in outcomes
    with pytest.raises(AccountLocked):
        auth.authenticate(users, "Coord", PASSWORD, now + timedelta(minutes=1))


def test_password_longer_than_bcrypt_reads_is_refused(db):
    with pytest.raises(ValidationError) as exc:
        auth.add_user(db, "Coord", "coordinator", "é" * 37)  # 74 bytes
    assert exc.value.field == "password" and db.app_users.count_documents({}) == 0
    auth.add_user(db, "Coord", "coordinator", "x" * 72)
    assert auth.authenticate(db, "Coord", "x" * 72).name == "Coord"


@pytest.mark.parametrize("typed_after", ["y", "anything-typed-after", "x"])
def test_a_typed_password_longer_than_the_stored_72_bytes_is_wrong(db, typed_after):
    # bcrypt reads 72 bytes: "x" * 72 followed by anything must not pass for "x" * 72.
    auth.add_user(db, "Coord", "coordinator", "x" * 72)
    with pytest.raises(LoginFailed):
        auth.authenticate(db, "Coord", "x" * 72 + typed_after)
    auth.set_password(db, "Coord", "z" * 70 + "é")  # 72 bytes, the changed password too
    with pytest.raises(LoginFailed):
        auth.authenticate(db, "Coord", "z" * 70 + "é" + typed_after)
    assert auth.authenticate(db, "Coord", "z" * 70 + "é").name == "Coord"


def test_cli_passwd_remove_and_expired_lockouts(run_cli, db):
    assert (
        run_cli(
            "user",
            "add",
            "Vera",
            "--role",
            "viewer",
            "--password-stdin",
            input_text=PASSWORD + "\r\n",
        ).returncode
        == 0
    )
    assert auth.authenticate(db, "vera", PASSWORD).role == "viewer"
    long_ago = datetime(2020, 1, 1)
    for _ in range(auth.MAX_FAILURES):
        with pytest.raises((LoginFailed, AccountLocked)):
            auth.authenticate(db, "Vera", "nope nope nope", long_ago)
    listed = run_cli("user", "list")
    assert "Vera" in listed.stdout and "locked" not in listed.stdout  # that lockout is over
    changed = run_cli(
        "user", "passwd", "VERA", "--password-stdin", input_text="another long password\n"
    )
    assert changed.returncode == 0 and "another long password" not in changed.stdout
    assert auth.authenticate(db, "Vera", "another long password").name == "Vera"
    with pytest.raises(LoginFailed):
        auth.authenticate(db, "Vera", PASSWORD)
    assert run_cli("user", "remove", "vera").returncode == 0
    assert db.app_users.count_documents({}) == 0
    missing = run_cli("user", "remove", "vera")
    assert missing.returncode == 1 and "No user named" in missing.stderr


def test_a_name_that_is_not_a_user_locks_exactly_like_one_that_is(users):
    """Neither the message nor the lockout tells whether a user name exists."""
    # A non-user's attempts expire through a TTL index: a date in the past would let the
    # server's TTL monitor delete them between two attempts (as it did once).
    now = datetime(2100, 1, 1, 12, 0)
    messages = {}
    for name in ("Coord", "Nobody"):
        for _attempt in range(auth.MAX_FAILURES - 1):
            with pytest.raises(LoginFailed):
                auth.authenticate(users, name, "nope nope nope", now)
        with pytest.raises(AccountLocked) as locked:
            auth.authenticate(users, name, "nope nope nope", now)
        with pytest.raises(AccountLocked) as again:
            auth.authenticate(users, name, PASSWORD, now + timedelta(minutes=1))
        messages[name] = (str(locked.value), str(again.value))
    assert messages["Coord"] == messages["Nobody"]
    assert "Nobody" not in str(list(users.login_attempts.find()))  # stored only as a hash


def test_the_lockout_time_is_in_the_office_zone(users):
    from segcore.core.timefmt import office_zone

    now = datetime(2026, 1, 1, 12, 0)  # UTC; Mexico City is UTC-6 in January
    zone = office_zone("America/Mexico_City")
    for _ in range(auth.MAX_FAILURES - 1):
        with pytest.raises(LoginFailed):
            auth.authenticate(users, "Coord", "nope nope nope", now, zone=zone)
    with pytest.raises(AccountLocked) as locked:
        auth.authenticate(users, "Coord", "nope nope nope", now, zone=zone)
    assert str(locked.value) == (
        "Too many failed attempts: try again after 06:15 (America/Mexico_City)."
    )


@pytest.mark.parametrize(
    "kwargs, spanish",
    [
        ({"password": "short"}, "Una contraseña tiene al menos 10 caracteres."),
        ({"password": "x" * 80}, "Una contraseña tiene como máximo 72 bytes"),
        ({"role": "boss"}, "El rol debe ser uno de"),
        ({"name": "a\x1bb"}, "Un nombre de usuario no puede contener caracteres de control"),
    ],
)
def test_a_refused_login_is_worded_in_the_readers_language(db, kwargs, spanish):
    """These refusals were English f-strings: a Spanish coordinator creating a login with a
    short password read "A password has at least 10 characters."."""
    from segcore.core.translations import translations

    values = {"name": "Ana", "role": "viewer", "password": "a long password", **kwargs}
    with pytest.raises(ValidationError) as refused:
        auth.add_user(db, values["name"], values["role"], values["password"])
    catalog = translations("es")
    worded = catalog.gettext(refused.value.template).format(**refused.value.params)
    assert worded.startswith(spanish), worded


def two_alike(db):
    """Two legacy members spelled exactly alike, the first holding the batch stored as Luis."""
    db.segmentadores.insert_many(
        [{"name": "Luis", "email": "luis.a@example.org"}, {"name": "Luis", "email": "b@x.org"}]
    )
    team.ensure_indexes(db)
    db.batches.insert_one({"id": "batch_1", "number": 1, "assignee": "Luis", "status": "pending"})
    return team.list_members(db)


def test_each_of_two_members_spelled_alike_gets_a_login_of_their_own(db):
    from segcore.views import my_work
    from segcore.work import assignments

    first, second = two_alike(db)
    auth.add_user(db, "luis_a", "segmentador", PASSWORD, member=first, author="cli")
    auth.add_user(db, "luis_b", "segmentador", PASSWORD, member=second, author="cli")
    assert auth.logins_of(db, first) == ["luis_a"] and auth.logins_of(db, second) == ["luis_b"]
    luis_a = auth.authenticate(db, "luis_a", PASSWORD)
    luis_b = auth.authenticate(db, "luis_b", PASSWORD)
    today = datetime(2026, 12, 7).date()
    assert [b.id for b in my_work.my_batches(db, luis_a, today)] == ["batch_1"]
    assert my_work.my_batches(db, luis_b, today) == []  # the first one's batches, not theirs
    with pytest.raises(PermissionDenied):
        assignments.start_batch(db, "batch_1", "pending", luis_b)


def test_the_second_of_two_members_spelled_alike_is_named_as_the_team_page_lists_it(db):
    first, second = two_alike(db)
    assert team.find_member(db, "Luis (2)").id == second.id
    auth.add_user(db, "luis_b", "segmentador", PASSWORD, member="Luis (2)")
    assert auth.logins_of(db, second) == ["luis_b"] and auth.logins_of(db, first) == []
    with pytest.raises(team.AmbiguousMember, match="'Luis \\(2\\)' for the second"):
        auth.add_user(db, "luis", "segmentador", PASSWORD, member="Luis")


@pytest.mark.parametrize("field", ["role", "name"])
def test_user_list_shows_a_login_stored_without_a_role_or_name(run_cli, db, field):
    """Another tool (or a hand edit) left a login without its role or name: `user list` lists
    every login, that one with the field shown as missing, never a KeyError traceback."""
    for name in ("Ana", "Luis"):
        added = run_cli(
            "user", "add", name, "--role", "coordinator", "--password-stdin",
            input_text=PASSWORD + "\n",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
    db.app_users.update_one({"name_key": "luis"}, {"$unset": {field: 1}})
    listed = run_cli("user", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert "Ana" in listed.stdout and f"(no {field})" in listed.stdout
    as_json = json.loads(run_cli("user", "list", "--json").stdout)
    assert len(as_json) == 2 and any(u[field] is None for u in as_json)
