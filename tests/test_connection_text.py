"""Pure helpers that keep passwords out of what the user sees, and legacy date parsing."""

from datetime import date, datetime

import pytest

from segcore.connection import mask_uri, scrub
from segcore.timefmt import date_string, parse_date


@pytest.mark.parametrize("uri,shown", [
    ("mongodb://localhost:27017", "mongodb://localhost:27017"),
    ("mongodb://app:s3cret@db:27017/?authSource=admin", "mongodb://app:***@db:27017/?authSource=admin"),
    ("mongodb+srv://app:p%40ss@cluster.example.net/x", "mongodb+srv://app:***@cluster.example.net/x"),
    ("mongodb://app@db/?authMechanism=MONGODB-X509", "mongodb://app@db/?authMechanism=MONGODB-X509"),
    ("mongodb://h1,h2/?tls=true&tlsCertificateKeyFilePassword=kpw&replicaSet=rs",
     "mongodb://h1,h2/?tls=true&tlsCertificateKeyFilePassword=***&replicaSet=rs"),
])
def test_mask_uri(uri, shown):
    assert mask_uri(uri) == shown


def test_scrub_removes_raw_and_decoded_password():
    uri = "mongodb://app:p%40ss@db/"
    assert scrub("auth failed for p@ss and p%40ss", uri) == "auth failed for *** and ***"


@pytest.mark.parametrize("value,expected", [
    ("2025-09-30", date(2025, 9, 30)), ("2025-10-07 12:00:00", date(2025, 10, 7)),
    ("30/09/2025", date(2025, 9, 30)), (datetime(2025, 1, 2, 3, 4), date(2025, 1, 2)),
    (date(2025, 1, 2), date(2025, 1, 2)), ("soon", None), (None, None), (42, None),
])
def test_parse_legacy_dates(value, expected):
    assert parse_date(value) == expected


def test_date_string():
    assert date_string("30/09/2025") == "2025-09-30" and date_string(" ") is None
    with pytest.raises(ValueError):
        date_string("later")
