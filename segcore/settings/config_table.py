"""The effective configuration as the Settings page and `segcore health` show it: every
setting's value, passwords masked, and a phrase for what stands in for a missing one."""

from __future__ import annotations

from segcore.core.phrases import N_, Phrase
from segcore.core.redact import mask_uri, mask_url
from segcore.settings.config import Settings

EMBEDDED_SERVER = N_("(embedded server)")
NOT_SET = N_("(not set)")
NONE_SET = N_("(none)")
SERVER_ZONE = N_("(the server's zone)")
NOT_CHECKED = N_("(not checked)")
FROM_URI = N_("{name} (named in MONGO_URI)")
URI_OVERRIDDEN = N_("{name} (MONGO_DB; MONGO_URI names {other}, not used)")
DATABASE_NOTE = N_(
    "MONGO_DB={name} is the app's database (MONGO_DB wins); the database MONGO_URI names, "
    "{other}, is not used for the app's data."
)


def database_note(settings: Settings) -> Phrase | None:
    """When MONGO_DB and the database MONGO_URI names differ, which one is used: said by
    `segcore health` and the Settings page, since a coordinator who wrote the URI's database
    would otherwise see an empty app and think the data lost."""
    if settings.unused_uri_database is None:
        return None
    return Phrase(DATABASE_NOTE, name=settings.mongo_db, other=settings.unused_uri_database)


def _app_database(settings: Settings) -> str:
    """The app's database and, when it is not plain MONGO_DB or the default, where it came from."""
    if settings.mongo_db_source == "MONGO_URI":
        return Phrase(FROM_URI, name=settings.mongo_db)
    if settings.unused_uri_database is not None:
        return Phrase(URI_OVERRIDDEN, name=settings.mongo_db, other=settings.unused_uri_database)
    return settings.mongo_db


def describe(settings: Settings) -> dict[str, str]:
    """The effective configuration for display, with any password masked (what stands in for
    a missing value is a Phrase, worded by the app)."""
    return {
        "MONGO_URI": mask_uri(settings.mongo_uri)
        if settings.mongo_uri
        else Phrase(EMBEDDED_SERVER),
        "MONGO_DB": _app_database(settings),
        "TRAINING_DB": settings.training_db,
        "MASKS_BUCKET": settings.masks_bucket,
        "DATA_DIRECTORY": str(settings.data_directory)
        if settings.data_directory
        else Phrase(NOT_SET),
        "BATCHES_FILE": str(settings.effective_batches_file)
        if settings.effective_batches_file
        else Phrase(NOT_SET),
        "EMBEDDED_DB_PATH": str(settings.embedded_path),
        "MONGO_TIMEOUT_MS": str(settings.timeout_ms),
        "AUTO_SYNC_MINUTES": str(settings.auto_sync_minutes),
        "LOGIN": "on" if settings.login else "off",
        "SESSION_MINUTES": str(settings.session_minutes),
        "LANGUAGE": settings.language,
        "MASK_SUFFIXES": ",".join(settings.mask_suffixes) or Phrase(NONE_SET),
        "MASK_EXTENSIONS": " ".join(e.lstrip(".") for e in settings.mask_extensions),
        "MASK_CHECK_BUDGET_MB": str(settings.mask_check_budget_mb),
        "MASK_LABELS": (
            ",".join(f"{v:g}" for v in settings.mask_labels)
            if settings.mask_labels is not None
            else Phrase(NOT_CHECKED)
        ),
        "MASK_MIN_PIXELS": str(settings.mask_min_pixels)
        if settings.mask_min_pixels
        else Phrase(NOT_CHECKED),
        "MASK_QC_BUDGET_MB": str(settings.mask_qc_budget_mb),
        "MASK_QC_MAX_VOXELS": str(settings.mask_qc_max_voxels),
        "TIMEZONE": settings.timezone or Phrase(SERVER_ZONE),
        "MASKS_SET_STATUS": "on" if settings.masks_set_status else "off",
        "STALL_DAYS": str(settings.stall_days),
        "PACE_WINDOW_DAYS": str(settings.pace_window_days),
        "MOVE_MAX_SHARE": f"{settings.move_max_share:g}",
        "SMTP_URL": mask_url(settings.smtp_url) if settings.smtp_url else Phrase(NOT_SET),
        "NOTIFY_FROM": settings.notify_from or Phrase(NOT_SET),
        "WEBHOOK_URL": mask_url(settings.webhook_url) if settings.webhook_url else Phrase(NOT_SET),
        "WEBHOOK_FORMAT": settings.webhook_format,
        "WEBHOOK_SECRET": "***" if settings.webhook_secret else Phrase(NOT_SET),
        "NOTIFY_RECEIPTS": "on" if settings.notify_receipts else "off",
        "NOTIFY_DAILY": "on" if settings.notify_daily else "off",
        "NOTIFY_WEEKLY": "on" if settings.notify_weekly else "off",
        "NOTIFY_COORDINATORS": ", ".join(f"{n} <{a}>" for n, a in settings.notify_coordinators)
        or Phrase(NONE_SET),
        "NOTIFY_EXCLUDE": ", ".join(settings.notify_exclude) or Phrase(NONE_SET),
        "NOTIFY_TIMEOUT_S": str(settings.notify_timeout_s),
        "NOTIFY_HOUR": str(settings.notify_hour),
    }
