"""Login sessions kept in a cookie: only a hash stored, expiry, and revocation everywhere."""

from datetime import datetime, timedelta

import pytest

from segcore.core.actors import Actor
from segcore.team import auth, sessions

PASSWORD = "correct horse battery"
# In the future: sessions have a TTL index on expires_at, so a session that expired by the
# wall clock (one started at a past T0) may be deleted by the server at any moment mid-test.
T0 = datetime(2100, 1, 1, 8, 0)


@pytest.fixture
def users(db):
    auth.add_user(db, "Coord", "coordinator", PASSWORD)
    auth.add_user(db, "Vera", "viewer", PASSWORD)
    return db


def test_a_session_resumes_with_its_token_and_stores_only_a_hash(users):
    token, expires = sessions.start_session(users, Actor("Coord", "coordinator"), 480, T0)
    assert expires == T0 + timedelta(minutes=480)
    assert token not in str(list(users.app_sessions.find()))
    assert users.app_sessions.find_one()["token_hash"] == sessions.token_hash(token)
    assert sessions.resume_session(users, token, T0 + timedelta(minutes=10)) == (
        Actor("Coord", "coordinator"),
        T0,
    )


@pytest.mark.parametrize("token", ["", None, "not-a-token", "x" * 500])
def test_unknown_tokens_resume_nothing(users, token):
    sessions.start_session(users, Actor("Coord", "coordinator"), 480, T0)
    assert sessions.resume_session(users, token, T0) is None


def test_a_session_expires(users):
    token, _ = sessions.start_session(users, Actor("Coord", "coordinator"), 60, T0)
    assert sessions.resume_session(users, token, T0 + timedelta(minutes=59)) is not None
    assert sessions.resume_session(users, token, T0 + timedelta(minutes=60)) is None


def test_logging_out_ends_only_that_session(users):
    one, _ = sessions.start_session(users, Actor("Coord", "coordinator"), 60, T0)
    two, _ = sessions.start_session(users, Actor("Coord", "coordinator"), 60, T0)
    sessions.end_session(users, one)
    assert sessions.resume_session(users, one, T0) is None
    assert sessions.resume_session(users, two, T0) is not None


def test_a_new_password_or_removal_ends_every_session(users):
    coord, _ = sessions.start_session(users, Actor("Coord", "coordinator"), 60, T0)
    vera, _ = sessions.start_session(users, Actor("Vera", "viewer"), 60, T0)
    auth.set_password(users, "coord", "another long password")
    assert sessions.resume_session(users, coord, T0) is None
    assert sessions.resume_session(users, vera, T0) is not None
    auth.remove_user(users, "Vera")
    assert sessions.resume_session(users, vera, T0) is None


def test_the_role_is_read_afresh(users):
    token, _ = sessions.start_session(users, Actor("Vera", "viewer"), 60, T0)
    users.app_users.update_one({"name": "Vera"}, {"$set": {"role": "coordinator"}})
    assert sessions.resume_session(users, token, T0)[0] == Actor("Vera", "coordinator")


def test_cli_passwd_ends_sessions(users, run_cli):
    token, _ = sessions.start_session(users, Actor("Coord", "coordinator"), 60)
    done = run_cli(
        "user", "passwd", "Coord", "--password-stdin", input_text="a brand new password\n"
    )
    assert done.returncode == 0, done.stderr
    assert sessions.resume_session(users, token) is None
