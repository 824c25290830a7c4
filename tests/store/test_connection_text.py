"""Pure helpers that keep passwords out of what the user sees, and legacy date parsing."""

from datetime import date, datetime

import pytest
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteConcernError,
)

from segcore.core.redact import mask_uri, scrub, uri_secrets
from segcore.core.timefmt import date_string, parse_date
from segcore.store.connection import driver_error_message


@pytest.mark.parametrize(
    "uri,shown",
    [
        ("mongodb://localhost:27017", "mongodb://localhost:27017"),
        (
            "mongodb://app:s3cret@db:27017/?authSource=admin",
            "mongodb://app:***@db:27017/?authSource=admin",
        ),
        (
            "mongodb+srv://app:p%40ss@cluster.example.net/x",
            "mongodb+srv://app:***@cluster.example.net/x",
        ),
        (
            "mongodb://app@db/?authMechanism=MONGODB-X509",
            "mongodb://app@db/?authMechanism=MONGODB-X509",
        ),
        (
            "mongodb://h1,h2/?tls=true&tlsCertificateKeyFilePassword=kpw&replicaSet=rs",
            "mongodb://h1,h2/?tls=true&tlsCertificateKeyFilePassword=***&replicaSet=rs",
        ),
    ],
)
def test_mask_uri(uri, shown):
    assert mask_uri(uri) == shown


@pytest.mark.parametrize(
    "uri,shown",
    [
        # Unquoted reserved characters: pymongo refuses these URIs, but they are displayed first.
        ("mongodb://app:pa/ss@db:27017/", "mongodb://app:***@db:27017/"),
        ("mongodb://app:pa@ss@db/", "mongodb://app:***@db/"),
        ("mongodb://app:pa?ss@db/?authSource=admin", "mongodb://app:***@db/?authSource=admin"),
        # An "@" in the options makes the mask cover too much, never too little.
        ("mongodb://app:pw@db/?appname=a@b", "mongodb://app:***@b"),
    ],
)
def test_mask_uri_of_malformed_uris_hides_the_whole_password(uri, shown):
    assert mask_uri(uri) == shown


def test_secrets_include_every_decoding_longest_first():
    # quote_plus writes a space as "+", which pymongo decodes back to a space.
    secrets = uri_secrets("mongodb://app:a+b%2Fc@db/")
    assert {"a+b%2Fc", "a+b/c", "a b/c"} <= set(secrets)
    assert secrets == sorted(secrets, key=len, reverse=True)
    assert scrub("failed for a b/c", "mongodb://app:a+b%2Fc@db/") == "failed for ***"


@pytest.mark.parametrize(
    "exc,expected",
    [
        (OperationFailure("authentication failed", 18, {"errmsg": "x"}), "user name or password"),
        (
            AutoReconnect("127.0.0.1:1: authentication failed, full error: {'ok': 0}"),
            "user name or password",
        ),
        (
            OperationFailure(
                "not authorized on tm to execute command (action: insert), full error: {'ok': 0.0}",
                13,
            ),
            "not allowed to do this",
        ),
        (
            ServerSelectionTimeoutError(
                "db:27017: [Errno 111] Connection refused, Timeout: 3s, Topology Description: <...>"
            ),
            "cannot be reached",
        ),
        (OperationFailure("bad query", 2), "the database reported: bad query"),
    ],
)
def test_driver_errors_become_one_short_line(exc, expected):
    message = driver_error_message(exc, "mongodb://app:s3cret@db/")
    assert expected in message and "full error" not in message and "Topology" not in message
    assert "\n" not in message


def test_scrub_removes_raw_and_decoded_password():
    uri = "mongodb://app:p%40ss@db/"
    assert scrub("auth failed for p@ss and p%40ss", uri) == "auth failed for *** and ***"


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2025-09-30", date(2025, 9, 30)),
        ("2025-10-07 12:00:00", date(2025, 10, 7)),
        ("30/09/2025", date(2025, 9, 30)),
        (" 2026-12-20\n", date(2026, 12, 20)),
        ("2026-12-20T00:00:00", date(2026, 12, 20)),
        ("2026-12-20 10:00", date(2026, 12, 20)),
        ("2026-12-20T23:30:00.000Z", date(2026, 12, 20)),
        ("2026-12-20T23:30:00-06:00", date(2026, 12, 20)),
        ("2025-10-07 12:00:00.123456", date(2025, 10, 7)),
        # trailing characters made another date of these: now they are no date
        ("2026-12-201", None),
        ("2026-12-2099", None),
        ("2026-12-20abc", None),
        ("12/05/20261", None),
        ("2026-12-20 10:00:00abc", None),
        ("2026-12-20T", None),
        ("2026-12-20 later", None),
        (datetime(2025, 1, 2, 3, 4), date(2025, 1, 2)),
        (date(2025, 1, 2), date(2025, 1, 2)),
        ("soon", None),
        (None, None),
        (42, None),
    ],
)
def test_parse_legacy_dates(value, expected):
    assert parse_date(value) == expected


def test_date_string():
    assert date_string("30/09/2025") == "2025-09-30" and date_string(" ") is None
    with pytest.raises(ValueError):
        date_string("later")


@pytest.mark.parametrize(
    "exc",
    [
        WriteConcernError("Not enough data-bearing nodes", 100, {}),
        OperationFailure("unrecognized getLastError mode: dc2", 79, {}),
        BulkWriteError({"writeErrors": [], "writeConcernErrors": [{"code": 100}], "nInserted": 1}),
    ],
)
def test_a_write_concern_the_servers_cannot_meet_names_the_w_option(exc):
    said = driver_error_message(exc, "mongodb://app:pw@db/?w=5")
    assert said.startswith("the database cannot confirm writes as the option w in MONGO_URI")
    assert "pw" not in said.replace("(", " ").split()
