"""Settings from the environment or a `.env` file: the only place segcore reads them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values

from segcore.errors import ConfigError
from segcore.redact import mask_uri

DEFAULT_EMBEDDED_PATH = ".segdata/db"


@dataclass(frozen=True)
class Settings:
    """Everything segcore needs to know about its deployment."""

    # Out of repr: a Settings printed in a log or a traceback must not show the password.
    mongo_uri: str | None = field(default=None, repr=False)
    mongo_db: str = "segmentacion_db"
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

    @property
    def embedded(self) -> bool:
        """True when segcore runs its own database server instead of MONGO_URI."""
        return self.mongo_uri is None

    @property
    def demo_directory(self) -> Path:
        """Where the demo data's folders go by default: next to the embedded database."""
        return self.embedded_path.parent / "demo-data"

    @property
    def effective_batches_file(self) -> Path | None:
        if self.batches_file is not None:
            return self.batches_file
        if self.data_directory is not None:
            return self.data_directory / "batches.json"
        return None


def _database_name(key: str, value: str) -> str:
    # MongoDB database names: no spaces, dots, slashes or quotes, at most 63 bytes.
    bad = set(' ./\\"$*<>:|?') & set(value)
    if not value or bad or len(value.encode()) > 63:
        raise ConfigError(f"{key}={value!r} is not a valid MongoDB database name")
    return value


def _int(key: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{key}={value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(f"{key}={number} is out of range ({low}..{high})")
    return number


def _directory(key: str, value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{key}={value!r} is not an existing directory")
    return path


LANGUAGES = ("es", "en")


def _language(value: str) -> str:
    code = value.strip().lower()
    if code not in LANGUAGES:
        raise ConfigError(f"LANGUAGE={value!r} must be one of: {', '.join(LANGUAGES)}")
    return code


def settings_from(env: Mapping[str, str]) -> Settings:
    """Build settings from a mapping of variables; raise ConfigError naming a bad one."""
    values = {k: v.strip() for k, v in env.items() if isinstance(v, str) and v.strip()}
    uri = values.get("MONGO_URI")
    if uri is not None and not uri.startswith(("mongodb://", "mongodb+srv://")):
        # Never echo the value: it may hold a password.
        raise ConfigError("MONGO_URI must start with mongodb:// or mongodb+srv://")
    bucket = values.get("MASKS_BUCKET", "masks")
    if "$" in bucket or bucket.startswith(".") or bucket.endswith("."):
        raise ConfigError(f"MASKS_BUCKET={bucket!r} is not a valid GridFS bucket name")
    data_dir = values.get("DATA_DIRECTORY")
    batches_file = values.get("BATCHES_FILE")
    login = values.get("LOGIN", "off").lower()
    if login not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"LOGIN={login!r} must be on or off")
    return Settings(
        mongo_uri=uri,
        mongo_db=_database_name("MONGO_DB", values.get("MONGO_DB", "segmentacion_db")),
        training_db=_database_name("TRAINING_DB", values.get("TRAINING_DB", "training_metrics")),
        masks_bucket=bucket,
        data_directory=_directory("DATA_DIRECTORY", data_dir) if data_dir else None,
        batches_file=Path(batches_file).expanduser() if batches_file else None,
        embedded_path=Path(values.get("EMBEDDED_DB_PATH", DEFAULT_EMBEDDED_PATH)).expanduser(),
        timeout_ms=_int("MONGO_TIMEOUT_MS", values.get("MONGO_TIMEOUT_MS", "3000"), 100, 120_000),
        auto_sync_minutes=_int("AUTO_SYNC_MINUTES", values.get("AUTO_SYNC_MINUTES", "0"), 0, 1440),
        login=login in ("on", "true", "1", "yes"),
        session_minutes=_int("SESSION_MINUTES", values.get("SESSION_MINUTES", "480"), 1, 10_080),
        language=_language(values.get("LANGUAGE", "es")),
    )


def load_settings(env_file: str | os.PathLike | None = ".env") -> Settings:
    """Read settings from `env_file` (if present) overlaid by the process environment."""
    merged: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return settings_from(merged)


def describe(settings: Settings) -> dict[str, str]:
    """The effective configuration for display, with any password masked."""
    return {
        "MONGO_URI": mask_uri(settings.mongo_uri) if settings.mongo_uri else "(embedded server)",
        "MONGO_DB": settings.mongo_db,
        "TRAINING_DB": settings.training_db,
        "MASKS_BUCKET": settings.masks_bucket,
        "DATA_DIRECTORY": str(settings.data_directory or "(not set)"),
        "BATCHES_FILE": str(settings.effective_batches_file or "(not set)"),
        "EMBEDDED_DB_PATH": str(settings.embedded_path),
        "MONGO_TIMEOUT_MS": str(settings.timeout_ms),
        "AUTO_SYNC_MINUTES": str(settings.auto_sync_minutes),
        "LOGIN": "on" if settings.login else "off",
        "SESSION_MINUTES": str(settings.session_minutes),
        "LANGUAGE": settings.language,
    }
