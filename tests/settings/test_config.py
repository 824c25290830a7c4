"""Settings: defaults, .env files, and a clear error naming a malformed setting."""

import pytest

from segcore.core.errors import ConfigError
from segcore.settings.config import configured_language, load_settings, settings_from
from segcore.settings.config_table import describe


def test_defaults_use_the_embedded_server():
    settings = settings_from({})
    assert settings.embedded and settings.mongo_db == "segmentacion_db"
    assert (settings.training_db, settings.masks_bucket) == ("training_metrics", "masks")
    assert settings.effective_batches_file is None


def test_batches_file_defaults_to_the_data_directory(tmp_path):
    settings = settings_from({"DATA_DIRECTORY": str(tmp_path)})
    assert settings.effective_batches_file == tmp_path / "batches.json"


@pytest.mark.parametrize(
    "key,value",
    [
        ("MONGO_DB", "bad name"),
        ("MONGO_DB", "a.b"),
        ("TRAINING_DB", "x" * 70),
        ("MONGO_TIMEOUT_MS", "soon"),
        ("MONGO_TIMEOUT_MS", "5"),
        ("MASKS_BUCKET", "$masks"),
        ("AUTO_SYNC_MINUTES", "-1"),
        ("STALL_DAYS", "0"),
        ("STALL_DAYS", "a week"),
        ("PACE_WINDOW_DAYS", "3"),
        ("MOVE_MAX_SHARE", "0"),
        ("MOVE_MAX_SHARE", "150%"),
        ("MOVE_MAX_SHARE", "half"),
    ],
)
def test_malformed_setting_is_named(key, value):
    with pytest.raises(ConfigError) as exc:
        settings_from({key: value})
    assert key in str(exc.value)


@pytest.mark.parametrize(
    "env,expected",
    [
        ({}, (7, 28, 0.5)),
        ({"STALL_DAYS": "5", "PACE_WINDOW_DAYS": "14", "MOVE_MAX_SHARE": "25%"}, (5, 14, 0.25)),
        ({"MOVE_MAX_SHARE": "1"}, (7, 28, 1.0)),
    ],
)
def test_pace_settings(env, expected):
    settings = settings_from(env)
    assert (settings.stall_days, settings.pace_window_days, settings.move_max_share) == expected


def test_bad_uri_error_does_not_echo_it():
    with pytest.raises(ConfigError) as exc:
        settings_from({"MONGO_URI": "http://admin:hunter2@host"})
    assert "MONGO_URI" in str(exc.value) and "hunter2" not in str(exc.value)


@pytest.mark.parametrize(
    "options, named",
    [
        ("tls=ture", "the option 'tls'"),  # the driver would drop it and connect without TLS
        ("authMechanism=SCRAM-SHA-265", "the option 'authMechanism'"),
        ("serverSelectionTimeoutMS=abc", "the option 'serverSelectionTimeoutMS'"),
        ("retryWrite=true", "the option 'retryWrite'"),  # unknown: a typo of retryWrites
        ("authMechanismProperties=AWS_SESSION_TOKEN%3Ahunter2&x=1", "the option 'x'"),
        ("tls=true&ssl=false", "its options together"),
    ],
)
def test_an_option_the_driver_would_drop_stops_with_its_name(options, named):
    with pytest.raises(ConfigError) as exc:
        settings_from({"MONGO_URI": f"mongodb://admin:hunter2@db.local/?{options}"})
    said = str(exc.value)
    assert said.startswith(f"MONGO_URI: {named} cannot be used")
    assert "hunter2" not in said and "ture" not in said and "abc" not in said


def test_the_usual_options_are_accepted():
    uri = "mongodb://app:pw@db1,db2/?replicaSet=rs0&authSource=admin&tls=true&retryWrites=true"
    assert settings_from({"MONGO_URI": uri}).mongo_uri == uri


@pytest.mark.parametrize(
    "options, named",
    [
        ("w=0", "w=0 asks the server not to confirm writes"),  # a copied "fast" string
        ("W=0&retryWrites=false", "w=0 asks the server not to confirm writes"),
        ("readConcernLevel=snapshot", "readConcernLevel=snapshot is a read concern"),
        ("readConcernLevel=linearizable", "readConcernLevel=linearizable is a read concern"),
        ("readPreference=secondaryPreferred", "readPreference=secondaryPreferred would read"),
        ("readPreference=primaryPreferred", "readPreference=primaryPreferred would read"),
    ],
)
def test_an_option_that_breaks_confirmed_writes_or_transactions_stops_with_its_name(options, named):
    with pytest.raises(ConfigError) as exc:
        settings_from({"MONGO_URI": f"mongodb://admin:hunter2@db.local/?{options}"})
    assert str(exc.value).startswith(f"MONGO_URI: {named}")
    assert "hunter2" not in str(exc.value)


@pytest.mark.parametrize(
    "options",
    [
        "w=1",
        "w=majority&journal=true",
        "journal=false",
        "w=2&wtimeoutMS=5000",
        "readConcernLevel=majority",
        "readPreference=primary",
    ],
)
def test_write_and_read_concerns_the_app_can_work_with_are_accepted(options):
    uri = f"mongodb://db.local/?{options}"
    assert settings_from({"MONGO_URI": uri}).mongo_uri == uri


def test_env_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("MONGO_DB=from_file\nTRAINING_DB=tm_file\n")
    monkeypatch.setenv("TRAINING_DB", "tm_env")
    settings = load_settings(env_file)
    assert (settings.mongo_db, settings.training_db) == ("from_file", "tm_env")


def test_describe_masks_the_password():
    shown = describe(
        settings_from({"MONGO_URI": "mongodb://app:s3cr%40t@db.local:27017/?authSource=admin"})
    )
    assert "s3cr" not in " ".join(shown.values())
    assert shown["MONGO_URI"].startswith("mongodb://app:***@db.local")


@pytest.mark.parametrize("password", ["Xy[s3cret]z", "Xy[s3cret", "s3cret]z"])
def test_brackets_in_every_url_settings_password_are_masked_or_named_never_quoted(password):
    """MONGO_URI's driver takes brackets in a password: accepted and masked. SMTP_URL and
    WEBHOOK_URL go through urlsplit, which reads them as an IPv6 host and quotes what they
    hold: refused, naming the setting and what to percent-encode."""
    uri = f"mongodb://app:{password}@db.local:27017/"
    shown = describe(settings_from({"MONGO_URI": uri}))
    assert "s3cret" not in " ".join(shown.values())
    for key, url in (
        ("SMTP_URL", f"smtps://dash:{password}@mail.example.org:465"),
        ("WEBHOOK_URL", f"https://hook:{password}@hooks.example.org/T0ken"),
    ):
        with pytest.raises(ConfigError) as refused:
            settings_from({key: url, "NOTIFY_FROM": "a@b.org"})
        said = str(refused.value)
        assert said.startswith(f"{key}: write an") and "'[' or ']'" in said
        assert "s3cret" not in said and "T0ken" not in said


@pytest.mark.parametrize(
    "line, said",
    [
        ('MONGO_DB="lab', ".env, line 2: MONGO_DB cannot be read (an unclosed quote?)"),
        ("MONGO_URI='mongodb://app:hunter2@db", ".env, line 2: MONGO_URI cannot be read"),
        ("this is no setting", ".env, line 2: is not NAME=value"),
        # a connection string pasted without MONGO_URI=, a bare name, a password alone
        ("mongodb://app:hunter2@db:27017/teamdb", ".env, line 2: is not NAME=value"),
        ("MONGO_DB", ".env, line 2: is not NAME=value"),
        ("export MONGO_DB", ".env, line 2: is not NAME=value"),
        ("hunter2", ".env, line 2: is not NAME=value"),
        # no quote on the line: no hint at one
        ("MONGO_DB segdb", ".env, line 2: is not NAME=value (the name, an equals sign"),
        # set again below: an empty value would erase it, another would replace it unseen
        ("TRAINING_DB=", ".env, line 2: TRAINING_DB is set again (first on line 1)"),
        ("LANGUAGE=es", ".env, line 3: LANGUAGE is set again (first on line 2)"),
    ],
)
def test_a_line_the_env_file_cannot_hold_stops_with_its_line_and_name(tmp_path, line, said):
    """python-dotenv skips such a line with a warning: the command would run on the default
    database (an empty embedded one for MONGO_URI). Its value is never shown."""
    env_file = tmp_path / ".env"
    env_file.write_text(f"TRAINING_DB=tm\n{line}\nLANGUAGE=en\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file)
    assert str(caught.value).replace(str(tmp_path) + "/", "").startswith(said)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("training", ["segmentacion_db", "SEGMENTACION_DB"])
def test_the_uploads_database_cannot_be_the_apps_own(training):
    """A backup holds the app's whole database and a restore replaces it: with the uploads in
    it, a restore would remove every upload made since the backup."""
    with pytest.raises(ConfigError) as caught:
        settings_from({"MONGO_DB": "segmentacion_db", "TRAINING_DB": training})
    assert str(caught.value).startswith(f"TRAINING_DB={training!r} is the app's own database")


@pytest.mark.parametrize("zone", ["right/Europe/Madrid", "posix/America/Mexico_City"])
def test_a_leap_second_or_posix_copy_of_a_zone_is_refused_naming_the_plain_one(zone):
    """zoneinfo reads right/Europe/Madrid as CEST (+02:00) in December: every time an hour off."""
    with pytest.raises(ConfigError) as refused:
        settings_from({"TIMEZONE": zone})
    plain = zone.split("/", 1)[1]
    assert str(refused.value) == (
        f"TIMEZONE='{zone}' is a copy of a time zone for other software, and times would be "
        f"read wrong with it: use {plain}"
    )
    assert settings_from({"TIMEZONE": plain}).timezone == plain


@pytest.mark.parametrize(
    "text, said",
    [
        # NOTIFY_FROM saved in Latin-1: the line and the byte, not the byte's offset (68)
        (
            b"MONGO_URI=mongodb://127.0.0.1:27017/\r\nMONGO_DB=teamdb\r\n"
            b"NOTIFY_FROM=Jos\xe9 <jose@example.org>\r\n",
            ".env, line 3: is not UTF-8 text (byte 0xe9); save it as UTF-8",
        ),
        ("MONGO_DB=teamdb\n".encode("utf-16"), ".env, line 1: is not UTF-8 text (byte 0xff)"),
    ],
)
def test_an_env_file_not_in_utf8_is_refused_naming_its_line_and_byte(tmp_path, text, said):
    env_file = tmp_path / ".env"
    env_file.write_bytes(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file)
    assert str(caught.value).replace(str(tmp_path) + "/", "").startswith(said)


@pytest.mark.parametrize(
    "key, value",
    [
        ("MONGO_DB", "segmentaci\udcf3n"),
        ("TRAINING_DB", "m\udce9tricas"),
        ("MASKS_BUCKET", "m\udce1scaras"),
    ],
)
def test_a_name_setting_from_a_latin1_crontab_is_refused_naming_it(key, value):
    """Python gives an environment variable's Latin-1 byte as a lone surrogate."""
    with pytest.raises(ConfigError) as caught:
        settings_from({key: value})
    shown = "".join(f"\\x{ord(c) - 0xDC00:02x}" if c >= "\udc80" else c for c in value)
    assert (
        str(caught.value)
        == f"{key}='{shown}' is not UTF-8 text; save the file that sets it as UTF-8"
    )


@pytest.mark.parametrize(
    "text, meant",
    [
        ("MONGO_URL=mongodb://app:hunter2@db.example.org/\nMONGO_DB=teamdb\n", "MONGO_URI"),
        ("mongo_uri=mongodb://app:hunter2@db.example.org/\nmongo_db=teamdb\n", "MONGO_URI"),
        ("MONGO_URI=mongodb://app:hunter2@db.example.org/\n\ufeffMONGO_DB=teamdb\n", "MONGO_DB"),
    ],
)
def test_a_misspelt_setting_in_the_env_file_is_refused_when_its_setting_is_unset(
    tmp_path, monkeypatch, text, meant
):
    """Ignored, the command ran on the default (an empty embedded server) and exited 0."""
    monkeypatch.delenv("MONGO_URI", raising=False)
    monkeypatch.delenv("MONGO_DB", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file)
    said = str(caught.value).replace(str(tmp_path) + "/", "")
    assert said.startswith(".env, line ") and f"(did you mean {meant}?)" in said
    assert "hunter2" not in said and "teamdb" not in said


def test_a_misspelt_setting_whose_setting_is_set_is_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("MONGO_DB", "teamdb")
    env_file = tmp_path / ".env"
    env_file.write_text("LOGIN=on\nmongo_db=otherdb\nAPI_KEY=s3cret\nPATH_EXTRA=/x\n")
    settings = load_settings(env_file)
    assert settings.mongo_db == "teamdb" and settings.login
    [warning] = settings.warnings  # none for the names of other tools (API_KEY, PATH_EXTRA)
    assert warning.replace(str(tmp_path) + "/", "") == (
        ".env, line 2: mongo_db is not a setting and is ignored (did you mean MONGO_DB, "
        "which is set?)"
    )
    assert "otherdb" not in warning


@pytest.mark.parametrize("key", ["MONGO_DB", "MONGO_URI", "LANGUAGE"])
@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_environment_variable_leaves_the_env_files_value(
    tmp_path, monkeypatch, key, empty
):
    """A unit's `Environment=MONGO_DB=` or a wrapper's `MONGO_DB="$DB"` with DB unset ran the
    command on the default database (an empty embedded server for MONGO_URI)."""
    env_file = tmp_path / ".env"
    env_file.write_text("MONGO_URI=mongodb://db.example.org/\nMONGO_DB=teamdb\nLANGUAGE=en\n")
    monkeypatch.setenv(key, empty)
    settings = load_settings(env_file)
    assert (settings.mongo_uri, settings.mongo_db) == ("mongodb://db.example.org/", "teamdb")
    assert settings.language == "en" and configured_language(env_file) == "en"


def test_the_known_settings_are_those_env_example_and_the_readme_list():
    """The list a misspelt `.env` name is matched against: a setting left out of it would be
    taken for another's misspelling (or its own misspellings missed)."""
    import re

    from segcore.settings.config_envfile import KNOWN_SETTINGS
    from tests.helpers import ROOT

    example = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    readme = set(re.findall(r"^\| `([A-Z_]+)`", (ROOT / "README.md").read_text(), re.M))
    assert set(KNOWN_SETTINGS) == example and readme <= set(KNOWN_SETTINGS)
