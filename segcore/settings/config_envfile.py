"""The `.env` file: its lines read as settings, and each mistake in them refused naming its line
(never its value, which may be a password). `config` calls these."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from segcore.core.errors import N_, ConfigError


def read_env_file(env_file: str | os.PathLike) -> dict[str, str]:
    """The variables of a `.env` file; ConfigError naming the file when it cannot be read."""
    return parse_env_text(env_file, read_env_text(env_file))


def read_env_text(env_file: str | os.PathLike) -> str:
    try:
        with open(env_file, encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError:
        raise _not_utf8(env_file) from None
    except OSError as exc:
        raise ConfigError(
            N_("{path}: cannot be read ({reason})"), path=env_file, reason=exc.strerror or exc
        ) from None


def _not_utf8(env_file) -> ConfigError:
    """The error for a `.env` that is not UTF-8, naming the line and the byte (`0xe9`): the
    text decoder's offset counts from the chunk it read, so the file's bytes are decoded again."""
    try:
        raw = Path(env_file).read_bytes()
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return ConfigError(
            N_("{path}, line {line}: is not UTF-8 text (byte {byte}); save it as UTF-8"),
            path=env_file,
            line=before.count(b"\n") + 1,
            byte=f"0x{raw[exc.start]:02x}",
        )
    except OSError:
        pass  # changed since it was read: said without the line
    return ConfigError(N_("{path}: is not UTF-8 text; save it as UTF-8"), path=env_file)


def parse_env_text(env_file, text: str) -> dict[str, str]:
    _refuse_unparsable_lines(env_file, text)
    values = dotenv_values(stream=io.StringIO(text))
    return {k: v for k, v in values.items() if v is not None}


# Every setting segcore reads: a `.env` name close to one of these is probably it misspelt.
KNOWN_SETTINGS = (
    "MONGO_URI",
    "MONGO_DB",
    "TRAINING_DB",
    "MASKS_BUCKET",
    "DATA_DIRECTORY",
    "BATCHES_FILE",
    "EMBEDDED_DB_PATH",
    "MONGO_TIMEOUT_MS",
    "AUTO_SYNC_MINUTES",
    "LOGIN",
    "LANGUAGE",
    "SESSION_MINUTES",
    "TIMEZONE",
    "MASKS_SET_STATUS",
    "MASK_SUFFIXES",
    "MASK_EXTENSIONS",
    "MASK_CHECK_BUDGET_MB",
    "MASK_LABELS",
    "MASK_MIN_PIXELS",
    "MASK_QC_BUDGET_MB",
    "MASK_QC_MAX_VOXELS",
    "STALL_DAYS",
    "PACE_WINDOW_DAYS",
    "MOVE_MAX_SHARE",
    "SMTP_URL",
    "NOTIFY_FROM",
    "WEBHOOK_URL",
    "WEBHOOK_FORMAT",
    "WEBHOOK_SECRET",
    "NOTIFY_RECEIPTS",
    "NOTIFY_DAILY",
    "NOTIFY_WEEKLY",
    "NOTIFY_COORDINATORS",
    "NOTIFY_EXCLUDE",
    "NOTIFY_TIMEOUT_S",
    "NOTIFY_HOUR",
)


def meant_setting(name: str) -> str | None:
    """The setting a `.env` name not among them probably means (`mongo_uri`, `MONGO_URL`, a
    name behind a byte-order mark left by `cat a.env b.env`), or None for a name of its own
    (another tool's `PATH`, `API_KEY`): the same name in another case, else a close spelling."""
    import difflib

    if name in KNOWN_SETTINGS:
        return None
    plain = name.lstrip("\ufeff").strip().upper()
    if plain in KNOWN_SETTINGS:
        return plain
    close = difflib.get_close_matches(plain, KNOWN_SETTINGS, n=1, cutoff=0.85)
    return close[0] if close else None


def misspelt_names(env_file, text: str) -> list[tuple[int, str, str]]:
    """(line, name, the setting it probably means) for each such `.env` name."""
    found = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.key is not None and (meant := meant_setting(binding.key)):
            found.append((binding.original.line, binding.key, meant))
    return found


MISSPELT_UNSET = N_(
    "{path}, line {line}: {name} is not a setting (did you mean {meant}?); without it "
    "{meant} is not set and the command would run on its default"
)
MISSPELT_IGNORED = N_(
    "{path}, line {line}: {name} is not a setting and is ignored (did you mean {meant}, "
    "which is set?)"
)


_SETTING_NAME = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
# A `.env` line that is not NAME=value, or whose value cannot be read, by whether the line
# holds a quote (True: the likely cause is an unclosed one).
_NOT_A_SETTING = {
    False: N_("{path}, line {line}: is not NAME=value (the name, an equals sign, then the value)"),
    True: N_("{path}, line {line}: is not NAME=value (an unclosed quote?)"),
}
_UNREADABLE_SETTING = {
    False: N_(
        "{path}, line {line}: {name} cannot be read (the name, an equals sign, then the value)"
    ),
    True: N_("{path}, line {line}: {name} cannot be read (an unclosed quote?)"),
}


def _refuse_unparsable_lines(env_file, text: str) -> None:
    """ConfigError for a line python-dotenv cannot read (an unclosed quote) or reads as a name
    without a value (a connection string pasted without `MONGO_URI=`, a bare `MONGO_DB`): it
    would skip the first and let the second erase the setting above it, and the command would
    run on the default. The line's text is never shown (it may be a password)."""
    first_line: dict[str, int] = {}
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.key is not None and binding.value is None:
            raise ConfigError(_NOT_A_SETTING[False], path=env_file, line=line)
        if binding.error:
            found = _SETTING_NAME.match(binding.original.string)
            quoted = any(quote in binding.original.string for quote in "'\"")
            if found:
                raise ConfigError(
                    _UNREADABLE_SETTING[quoted], path=env_file, line=line, name=found.group(1)
                )
            raise ConfigError(_NOT_A_SETTING[quoted], path=env_file, line=line)
        if binding.key is not None:
            # A second line for one name silently wins over the first (an empty one erases
            # it): which was meant is the coordinator's to say.
            if binding.key in first_line:
                raise ConfigError(
                    N_(
                        "{path}, line {line}: {name} is set again (first on line {first}); "
                        "keep one of the two lines"
                    ),
                    path=env_file,
                    line=line,
                    name=binding.key,
                    first=first_line[binding.key],
                )
            first_line[binding.key] = line
