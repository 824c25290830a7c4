"""The app's database: MONGO_DB, else the database MONGO_URI names, else the default; which one
is used is said when both are set, and the password is never part of what is said."""

import pytest

from segcore.core.errors import ConfigError
from segcore.settings.config import settings_from
from segcore.settings.config_table import database_note, describe

ATLAS = "mongodb+srv://app:s3cret-pw@cluster0.ab1cd.mongodb.net"


def test_a_database_named_in_the_uri_is_the_apps_unless_mongodb_reserves_the_name():
    """`mongodb://host/teamdb` is how MongoDB and Atlas write a connection to teamdb; admin,
    local and config in a URI name the database to log in to, so the default stays."""
    cases = {
        "mongodb://db.local:27017/teamdb": ("teamdb", "MONGO_URI"),
        f"{ATLAS}/teamdb?retryWrites=true&w=majority": ("teamdb", "MONGO_URI"),
        "mongodb://app:pw@db1,db2/team%2Ddb?replicaSet=rs0": ("team-db", "MONGO_URI"),
        "mongodb://app:pw@db.local/admin": ("segmentacion_db", "default"),
        "mongodb://app:pw@db.local/Admin?tls=true": ("segmentacion_db", "default"),
        "mongodb://db.local/local": ("segmentacion_db", "default"),
        "mongodb://db.local/config": ("segmentacion_db", "default"),
        "mongodb://app:pw@db.local/?authSource=admin": ("segmentacion_db", "default"),
        "mongodb://db.local": ("segmentacion_db", "default"),
    }
    for uri, expected in cases.items():
        settings = settings_from({"MONGO_URI": uri})
        assert (settings.mongo_db, settings.mongo_db_source) == expected, uri
        assert database_note(settings) is None, uri


def test_mongo_db_wins_and_the_database_the_uri_names_is_said_unused():
    settings = settings_from({"MONGO_URI": f"{ATLAS}/teamdb", "MONGO_DB": "segmentacion_db"})
    assert settings.mongo_db == "segmentacion_db"
    note = database_note(settings)
    assert note == (
        "MONGO_DB=segmentacion_db is the app's database (MONGO_DB wins); the database "
        "MONGO_URI names, teamdb, is not used for the app's data."
    )
    shown = describe(settings)
    assert shown["MONGO_DB"] == "segmentacion_db (MONGO_DB; MONGO_URI names teamdb, not used)"
    assert "s3cret-pw" not in note + " ".join(shown.values())
    # Nothing to say when the URI names the database to log in to, the same one, or none.
    for path in ("admin", "segmentacion_db", "", "?authSource=admin"):
        same = settings_from({"MONGO_URI": f"{ATLAS}/{path}", "MONGO_DB": "segmentacion_db"})
        assert database_note(same) is None, path
        assert describe(same)["MONGO_DB"] == "segmentacion_db", path


def test_the_settings_table_says_the_database_came_from_the_uri():
    shown = describe(settings_from({"MONGO_URI": f"{ATLAS}/teamdb"}))
    assert shown["MONGO_DB"] == "teamdb (named in MONGO_URI)"
    assert "s3cret-pw" not in " ".join(shown.values())


@pytest.mark.parametrize(
    "path, name",
    [
        ("team%20db", "'team db'"),
        ("teamdb.batches", "'teamdb.batches'"),  # the driver would read a collection
        ("team%24db", "'team$db'"),
        ("a:b", "'a:b'"),
        ("x" * 64, "'" + "x" * 64 + "'"),
    ],
)
def test_an_invalid_database_name_in_the_uri_is_one_clear_line(path, name):
    for mongo_db in ({}, {"MONGO_DB": "segmentacion_db"}):
        with pytest.raises(ConfigError) as caught:
            settings_from({"MONGO_URI": f"mongodb://app:s3cret-pw@db.local/{path}", **mongo_db})
        said = str(caught.value)
        assert said.startswith(f"MONGO_URI names the database {name}, which is not a valid")
        assert "\n" not in said and "s3cret-pw" not in said


def test_the_training_database_named_in_the_uri_cannot_be_the_apps():
    """The rule that the uploads' database is not the app's applies to the one actually used."""
    with pytest.raises(ConfigError) as caught:
        settings_from({"MONGO_URI": f"{ATLAS}/training_metrics"})
    said = str(caught.value)
    assert said.startswith("MONGO_URI names the database 'training_metrics', the training")
    assert "Set MONGO_DB" in said and "s3cret-pw" not in said
    with pytest.raises(ConfigError):
        settings_from({"MONGO_URI": f"{ATLAS}/uploads", "TRAINING_DB": "Uploads"})
    # With MONGO_DB set, the URI's database only serves to log in: allowed, and said.
    settings = settings_from({"MONGO_URI": f"{ATLAS}/training_metrics", "MONGO_DB": "seg"})
    assert (settings.mongo_db, settings.training_db) == ("seg", "training_metrics")
    assert "training_metrics" in database_note(settings)
