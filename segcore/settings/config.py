"""Settings from the environment or a `.env` file: the only place segcore reads them."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values

from segcore.core.errors import N_, ConfigError
from segcore.core.phrases import Phrase
from segcore.core.timefmt import office_zone
from segcore.settings.config_db import DEFAULT_DATABASE, app_database, check_name, check_text
from segcore.settings.config_envfile import (
    MISSPELT_IGNORED,
    MISSPELT_UNSET,
    misspelt_names,
    parse_env_text,
    read_env_text,
)
from segcore.settings.config_uri import check_uri
from segcore.settings.config_urls import (
    WEBHOOK_FORMATS,
    email_address,
    exclusions,
    recipients,
    smtp_url,
    webhook_url,
)

DEFAULT_EMBEDDED_PATH = ".segdata/db"


@dataclass(frozen=True)
class Settings:
    """Everything segcore needs to know about its deployment."""

    # Out of repr: a Settings printed in a log or a traceback must not show the password.
    mongo_uri: str | None = field(default=None, repr=False)
    mongo_db: str = DEFAULT_DATABASE
    # Where mongo_db came from ("MONGO_DB", "MONGO_URI" or "default"), and a database MONGO_URI
    # names that MONGO_DB overrides: shown by `segcore health` and the Settings page.
    mongo_db_source: str = "default"
    unused_uri_database: str | None = None
    training_db: str = "training_metrics"
    masks_bucket: str = "masks"
    data_directory: Path | None = None
    batches_file: Path | None = None
    embedded_path: Path = Path(DEFAULT_EMBEDDED_PATH)
    timeout_ms: int = 3000
    auto_sync_minutes: int = 0
    login: bool = False
    session_minutes: int = 480
    language: str = "es"
    mask_suffixes: tuple[str, ...] = (
        "_mask",
        "-mask",
        "_seg",
        "_label",
        "_labels",
        "_gt",
        "_segmentation",
        "-label",
        ".seg",
    )
    # The image and volume extensions: only members with one count as masks.
    mask_extensions: tuple[str, ...] = (
        ".png",
        ".jpg",
        ".jpeg",
        ".tif",
        ".tiff",
        ".bmp",
        ".dcm",
        ".nii",
        ".nii.gz",
        ".nrrd",
        ".seg.nrrd",
        ".mha",
        ".mhd",
        ".npy",
        ".npz",
    )
    mask_check_budget_mb: int = 2048

    @property
    def mask_check_budget(self) -> int:
        """Bytes a mask check may read or decompress from one upload."""
        return self.mask_check_budget_mb * 1024 * 1024

    mask_labels: tuple[float, ...] | None = None  # MASK_LABELS; None: label values not checked
    mask_min_pixels: int = 0  # MASK_MIN_PIXELS; 0: not checked
    mask_qc_budget_mb: int = 2048
    mask_qc_max_voxels: int = 64_000_000

    @property
    def mask_qc_budget(self) -> int:
        """Bytes a content check may decompress from one upload."""
        return self.mask_qc_budget_mb * 1024 * 1024

    timezone: str | None = None  # IANA name; None shows times in the server's own zone
    masks_set_status: bool = True
    stall_days: int = 7
    pace_window_days: int = 28
    move_max_share: float = 0.5
    # Notifications (segcore.notify_*): secrets out of repr, like the MONGO_URI.
    smtp_url: str | None = field(default=None, repr=False)
    notify_from: str | None = None
    webhook_url: str | None = field(default=None, repr=False)
    webhook_format: str = "json"
    webhook_secret: str | None = field(default=None, repr=False)
    notify_receipts: bool = True
    notify_daily: bool = True
    notify_weekly: bool = True
    notify_coordinators: tuple[tuple[str, str], ...] = ()  # (name, email)
    notify_exclude: tuple[str, ...] = ()  # names or email addresses, never written to
    notify_timeout_s: int = 10
    notify_hour: int = 8  # the office's hour from which the daily and weekly messages are due
    # What reading the settings noticed without refusing them (a misspelt name in `.env` whose
    # setting is set elsewhere), as `Phrase`s: the command line prints them on stderr.
    warnings: tuple = field(default=(), compare=False)

    @property
    def notify_channels(self) -> tuple[str, ...]:
        """The channels configured: "email" when SMTP_URL is set, "webhook" for WEBHOOK_URL."""
        return tuple(
            c for c, url in (("email", self.smtp_url), ("webhook", self.webhook_url)) if url
        )

    @property
    def zone(self):
        """The office's time zone (a tzinfo; None means the server's zone)."""
        return office_zone(self.timezone)

    @property
    def embedded(self) -> bool:
        """True when segcore runs its own database server instead of MONGO_URI."""
        return self.mongo_uri is None

    @property
    def demo_directory(self) -> Path:
        """Where the demo data's folders go by default: next to the embedded database."""
        return self.embedded_path.parent / "demo-data"

    def require_data_directory(self) -> Path:
        """DATA_DIRECTORY, checked now: only commands that read folders need it to exist.

        Raises ConfigError when it is not set or not an existing directory (an SSHFS mount
        that dropped), naming the setting.
        """
        if self.data_directory is None:
            raise ConfigError(N_("DATA_DIRECTORY is not set"))
        return _directory("DATA_DIRECTORY", str(self.data_directory))

    @property
    def effective_batches_file(self) -> Path | None:
        if self.batches_file is not None:
            return self.batches_file
        if self.data_directory is not None:
            return self.data_directory / "batches.json"
        return None


def _int(key: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(
            N_("{key}={value!r} is not a whole number"), key=key, value=value
        ) from None
    if not low <= number <= high:
        raise ConfigError(
            N_("{key}={number} is out of range ({low}..{high})"),
            key=key,
            number=number,
            low=low,
            high=high,
        )
    return number


def _share(key: str, value: str) -> float:
    try:
        number = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        raise ConfigError(
            N_("{key}={value!r} is not a number (e.g. 0.5 or 50%)"), key=key, value=value
        ) from None
    if not 0 < number <= 1:
        raise ConfigError(
            N_("{key}={value} is out of range (a share above 0, at most 1)"), key=key, value=value
        )
    return number


def _directory(key: str, value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ConfigError(N_("{key}={value!r} is not an existing directory"), key=key, value=value)
    return path


LANGUAGES = ("es", "en")


def _language(value: str) -> str:
    """`es` or `en`. LANGUAGE is also GNU gettext's variable, which desktops often export as a
    list ("es_MX:es", "en_US:en"): the first entry naming a known language is taken."""
    for entry in value.strip().lower().split(":"):
        code = entry.replace("-", "_").split("_")[0].split(".")[0]
        if code in LANGUAGES:
            return code
    raise ConfigError(
        N_("LANGUAGE={value!r} must be one of: {choices}"),
        value=value,
        choices=", ".join(LANGUAGES),
    )


NOT_A_SUFFIX = N_(
    "{suffix!r} is not a mask suffix (letters, digits, _ - +, a dot only first, no extension, "
    "at most 32 characters; separate suffixes with commas or spaces)"
)
NOT_AN_EXTENSION = N_("{part!r} is not a file extension (letters and digits, e.g. png or nii.gz)")
NO_EXTENSION = N_("name at least one extension")


def parse_suffixes(text: str) -> tuple[str, ...]:
    """Mask suffixes from a setting (`_mask,_seg` or `_mask _seg`, as MASK_EXTENSIONS takes);
    raises ValueError naming a bad one (its message a `Phrase`, worded by the app)."""
    parts = (part for part in re.split(r"[\s,]+", text.strip()) if part)
    suffixes = tuple(dict.fromkeys(parts))
    for suffix in suffixes:
        # A leading dot is allowed (Slicer's `x.seg.nii.gz`); an extension is not a suffix. Any
        # other character (`_mask;_seg` pasted with a semicolon) ends no file's name.
        if (
            not re.fullmatch(r"\.?[\w+-]+", suffix)
            or len(suffix) > 32
            or suffix.lower() in Settings.mask_extensions
        ):
            raise ValueError(Phrase(NOT_A_SUFFIX, suffix=suffix))
    return suffixes


def parse_extensions(text: str) -> tuple[str, ...]:
    """Extensions from a setting (`png jpg nii.gz`, commas or spaces, dots optional), lower-case
    with a leading dot; raises ValueError naming a bad one (its message a `Phrase`)."""
    found = []
    for part in re.split(r"[\s,]+", text.strip()):
        if not part:
            continue
        extension = "." + part.lower().lstrip(".")
        if not re.fullmatch(r"(\.[a-z0-9_+-]{1,16}){1,3}", extension):
            raise ValueError(Phrase(NOT_AN_EXTENSION, part=part))
        found.append(extension)
    if not found:
        raise ValueError(Phrase(NO_EXTENSION))
    return tuple(dict.fromkeys(found))


def _suffixes(value: str) -> tuple[str, ...]:
    try:
        suffixes = parse_suffixes(value)
    except ValueError as exc:
        raise ConfigError(N_("MASK_SUFFIXES: {problem}"), problem=exc.args[0]) from None
    return suffixes


def _extensions(value: str) -> tuple[str, ...]:
    try:
        return parse_extensions(value)
    except ValueError as exc:
        raise ConfigError(N_("MASK_EXTENSIONS: {problem}"), problem=exc.args[0]) from None


def _switch(key: str, value: str) -> bool:
    value = value.lower()
    if value not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
        raise ConfigError(N_("{key}={value!r} must be on or off"), key=key, value=value)
    return value in ("on", "true", "1", "yes")


def _timezone(value: str | None) -> str | None:
    if value is None:
        return None
    prefix, _, plain = value.partition("/")
    if prefix in ("right", "posix") and plain:
        # tzdata's leap-second (`right/`) copies read every time seconds or, with zoneinfo, an
        # hour off (CEST in December for right/Europe/Madrid); `posix/` ones are only aliases
        raise ConfigError(
            N_(
                "TIMEZONE={value!r} is a copy of a time zone for other software, and times "
                "would be read wrong with it: use {plain}"
            ),
            value=value,
            plain=plain,
        )
    try:
        office_zone(value)
    except ValueError:
        raise ConfigError(
            N_(
                "TIMEZONE={value!r} is not a known time zone "
                "(an IANA name such as America/Mexico_City)"
            ),
            value=value,
        ) from None
    return value


def _notify(values: dict) -> dict:
    """The notification settings, checked: a clear error naming the setting, secrets unshown."""
    smtp = smtp_url(values.get("SMTP_URL"))
    sender = values.get("NOTIFY_FROM")
    if smtp and not sender:
        raise ConfigError(N_("NOTIFY_FROM is required with SMTP_URL (the sender's address)"))
    fmt = values.get("WEBHOOK_FORMAT", "json").lower()
    if fmt not in WEBHOOK_FORMATS:
        raise ConfigError(
            N_("WEBHOOK_FORMAT={value!r} must be one of: {choices}"),
            value=fmt,
            choices=", ".join(WEBHOOK_FORMATS),
        )
    if sender:
        email_address("NOTIFY_FROM", parseaddr(sender)[1])
    return dict(
        smtp_url=smtp,
        notify_from=sender,
        webhook_url=webhook_url(values.get("WEBHOOK_URL")),
        webhook_format=fmt,
        webhook_secret=values.get("WEBHOOK_SECRET"),
        notify_receipts=_switch("NOTIFY_RECEIPTS", values.get("NOTIFY_RECEIPTS", "on")),
        notify_daily=_switch("NOTIFY_DAILY", values.get("NOTIFY_DAILY", "on")),
        notify_weekly=_switch("NOTIFY_WEEKLY", values.get("NOTIFY_WEEKLY", "on")),
        notify_coordinators=recipients(values.get("NOTIFY_COORDINATORS", "")),
        notify_exclude=exclusions(values.get("NOTIFY_EXCLUDE", "")),
        notify_timeout_s=_int("NOTIFY_TIMEOUT_S", values.get("NOTIFY_TIMEOUT_S", "10"), 1, 300),
        notify_hour=_int("NOTIFY_HOUR", values.get("NOTIFY_HOUR", "8"), 0, 23),
    )


def _labels(value: str | None) -> tuple[float, ...] | None:
    """The agreed label values of MASK_LABELS (`0,1,2`), sorted; None when unset."""
    if value is None:
        return None
    labels = set()
    for part in (p.strip() for p in value.split(",") if p.strip()):
        try:
            number = float(part)
        except ValueError:
            number = float("nan")
        if number != number or number in (float("inf"), float("-inf")):
            raise ConfigError(
                N_("MASK_LABELS={value!r}: {part!r} is not a number (label values such as 0,1,2)"),
                value=value,
                part=part,
            )
        labels.add(number)
    if not labels:
        raise ConfigError(N_("MASK_LABELS={value!r}: no label values (such as 0,1,2)"), value=value)
    return tuple(sorted(labels))


def _same_as_training(name: str, source: str, training_db: str) -> ConfigError:
    """Why the app's database may not be the training one, and what to change."""
    if source == "MONGO_URI":
        return ConfigError(
            N_(
                "MONGO_URI names the database {name!r}, the training database (TRAINING_DB): "
                "the app's data would be backed up and restored with the uploads (a restore "
                "would remove uploads made since the backup). Set MONGO_DB to the app's own "
                "database (the URI's database then serves only to log in), or name another "
                "one in MONGO_URI."
            ),
            name=name,
        )
    return ConfigError(
        N_(
            "TRAINING_DB={name!r} is the app's own database (MONGO_DB): the uploads would be "
            "backed up and restored with the app's data (a restore would remove uploads made "
            "since the backup). Name the database the annotators upload to."
        ),
        name=training_db,
    )


def settings_from(env: Mapping[str, str]) -> Settings:
    """Build settings from a mapping of variables; raise ConfigError naming a bad one."""
    values = {k: v.strip() for k, v in env.items() if isinstance(v, str) and v.strip()}
    uri = values.get("MONGO_URI")
    if uri is not None:
        check_uri(uri)
    bucket = check_text("MASKS_BUCKET", values.get("MASKS_BUCKET", "masks"))
    if "$" in bucket or bucket.startswith(".") or bucket.endswith("."):
        raise ConfigError(
            N_("MASKS_BUCKET={value!r} is not a valid GridFS bucket name"), value=bucket
        )
    data_dir = values.get("DATA_DIRECTORY")
    batches_file = values.get("BATCHES_FILE")
    app_db = app_database(values.get("MONGO_DB"), uri)
    training_db = check_name("TRAINING_DB", values.get("TRAINING_DB", "training_metrics"))
    if app_db.name.lower() == training_db.lower():  # MongoDB's names differ by more than case
        raise _same_as_training(app_db.name, app_db.source, training_db)
    return Settings(
        mongo_uri=uri,
        mongo_db=app_db.name,
        mongo_db_source=app_db.source,
        unused_uri_database=app_db.unused_uri_database,
        training_db=training_db,
        masks_bucket=bucket,
        # Not checked here: a dropped mount must not stop the sync or the status, which do not
        # read folders (see Settings.require_data_directory).
        data_directory=Path(data_dir).expanduser() if data_dir else None,
        batches_file=Path(batches_file).expanduser() if batches_file else None,
        embedded_path=Path(values.get("EMBEDDED_DB_PATH", DEFAULT_EMBEDDED_PATH)).expanduser(),
        timeout_ms=_int("MONGO_TIMEOUT_MS", values.get("MONGO_TIMEOUT_MS", "3000"), 100, 120_000),
        auto_sync_minutes=_int("AUTO_SYNC_MINUTES", values.get("AUTO_SYNC_MINUTES", "0"), 0, 1440),
        login=_switch("LOGIN", values.get("LOGIN", "off")),
        session_minutes=_int("SESSION_MINUTES", values.get("SESSION_MINUTES", "480"), 1, 10_080),
        language=_language(values.get("LANGUAGE", "es")),
        mask_suffixes=_suffixes(values.get("MASK_SUFFIXES", ",".join(Settings.mask_suffixes))),
        mask_extensions=_extensions(
            values.get("MASK_EXTENSIONS", " ".join(Settings.mask_extensions))
        ),
        mask_check_budget_mb=_int(
            "MASK_CHECK_BUDGET_MB", values.get("MASK_CHECK_BUDGET_MB", "2048"), 1, 1_048_576
        ),
        mask_labels=_labels(values.get("MASK_LABELS")),
        mask_min_pixels=_int(
            "MASK_MIN_PIXELS", values.get("MASK_MIN_PIXELS", "0"), 0, 1_000_000_000
        ),
        mask_qc_budget_mb=_int(
            "MASK_QC_BUDGET_MB", values.get("MASK_QC_BUDGET_MB", "2048"), 1, 1_048_576
        ),
        mask_qc_max_voxels=_int(
            "MASK_QC_MAX_VOXELS", values.get("MASK_QC_MAX_VOXELS", "64000000"), 1, 10**12
        ),
        timezone=_timezone(values.get("TIMEZONE")),
        masks_set_status=_switch("MASKS_SET_STATUS", values.get("MASKS_SET_STATUS", "on")),
        stall_days=_int("STALL_DAYS", values.get("STALL_DAYS", "7"), 1, 365),
        pace_window_days=_int("PACE_WINDOW_DAYS", values.get("PACE_WINDOW_DAYS", "28"), 7, 365),
        move_max_share=_share("MOVE_MAX_SHARE", values.get("MOVE_MAX_SHARE", "0.5")),
        **_notify(values),
    )


def configured_language(env_file: str | os.PathLike | None = ".env") -> str | None:
    """The LANGUAGE setting alone (environment over `env_file`), or None when it is unset or
    itself malformed: a configuration error found in another setting is then said in the
    language asked. Read leniently, as `.env` may be what is wrong; raises nothing."""
    value = os.environ.get("LANGUAGE", "").strip() or None  # blank: not set, as for all
    if value is None and env_file is not None:
        try:
            text = Path(env_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""  # load_settings reports it
        value = dotenv_values(stream=io.StringIO(text)).get("LANGUAGE")
    try:
        return _language(value) if value is not None else None
    except ConfigError:
        return None  # the configuration error names it; the page keeps its default


def load_settings(env_file: str | os.PathLike | None = ".env", required: bool = False) -> Settings:
    """Read settings from `env_file` overlaid by the process environment.

    A missing file is skipped unless `required` (a file named on the command line must exist,
    or the command would run against an empty embedded database). A variable set empty in the
    environment (a unit's `Environment=MONGO_DB=`, a wrapper's `MONGO_DB="$DB"` with `DB`
    unset) is not set: `env_file`'s value stands, as the default does without one.

    A `.env` name that is a setting misspelt (`MONGO_URL`, `mongo_uri`) is refused when the
    setting it means is set nowhere else (the command would run on the default: an empty
    embedded server for MONGO_URI), and otherwise kept as a warning (`Settings.warnings`).
    Raises ConfigError.
    """
    merged: dict[str, str] = {}
    misspelt: list[tuple[int, str, str]] = []
    if env_file is not None:
        if Path(env_file).exists() or required:
            if required and not Path(env_file).is_file():
                raise ConfigError(N_("--env-file {path}: no such file"), path=env_file)
            text = read_env_text(env_file)
            merged.update(parse_env_text(env_file, text))
            misspelt = misspelt_names(env_file, text)
    merged.update((k, v) for k, v in os.environ.items() if v.strip())
    warnings = []
    for line, name, meant in misspelt:
        params = dict(path=str(env_file), line=line, name=name, meant=meant)
        if not merged.get(meant, "").strip():
            raise ConfigError(MISSPELT_UNSET, **params)
        warnings.append(Phrase(MISSPELT_IGNORED, **params))
    settings = settings_from(merged)
    return replace(settings, warnings=tuple(warnings)) if warnings else settings
