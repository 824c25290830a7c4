"""The command line, `python -m segcore`: the same configuration and server as the app.

Each command opens the databases, calls one segcore function and prints the result; named
segcore errors become a one-line message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import functools
import getpass
import json
import sys
from dataclasses import asdict, is_dataclass
from datetime import date, datetime

import click

from segcore.core.errors import SegcoreError

# Only click and the error classes are imported here: `segcore --help` and a cron run that
# finds nothing new must not pay for pymongo, pandas or bcrypt before they are needed.


def author() -> str:
    """Who the history records for a command-line change."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


class Context:
    """Settings and a lazily opened, prepared connection shared by the subcommands."""

    def __init__(self, env_file: str | None):
        self.env_file = env_file
        self._settings = None
        self._databases = None

    @property
    def settings(self):
        if self._settings is None:
            from segcore.core.config import load_settings

            # The default `.env` may be absent; a file named with --env-file must exist.
            self._settings = (load_settings(".env") if self.env_file is None
                              else load_settings(self.env_file, required=True))
        return self._settings

    @property
    def databases(self):
        if self._databases is None:
            from segcore.core.connection import friendly_errors, open_databases
            from segcore.prepare import prepare

            self._databases = open_databases(self.settings)
            with friendly_errors(self._databases.uri):
                for warning in prepare(self._databases):
                    click.echo(f"warning: {warning}", err=True)
        return self._databases


def handle_errors(command):
    """Turn segcore errors into `error: <message>` and exit code 1."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from pymongo.errors import PyMongoError

        from segcore.core.connection import driver_error_message, friendly_errors
        from segcore.core.redact import scrub

        ctx = click.get_current_context().find_object(Context)
        uri = ctx._databases.uri if ctx and ctx._databases else None
        try:
            with friendly_errors(uri):
                return command(*args, **kwargs)
        except SegcoreError as exc:
            uri = ctx._databases.uri if ctx and ctx._databases else None
            click.echo(f"error: {scrub(str(exc), uri)}", err=True)
            sys.exit(1)
        except PyMongoError as exc:
            uri = ctx._databases.uri if ctx and ctx._databases else None
            click.echo(f"error: {driver_error_message(exc, uri)}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
    return wrapper


def _plain(value):
    if is_dataclass(value):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if k != "_id"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def emit_json(value) -> None:
    """Print `value` as plain JSON (dates as ISO strings)."""
    click.echo(json.dumps(_plain(value), ensure_ascii=False, indent=2))


json_option = click.option("--json", "as_json", is_flag=True, help="Print plain JSON.")
pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option("--env-file", default=None,
              help="Settings file read before the environment (default: .env, if present).")
@click.pass_context
def main(click_ctx, env_file):
    """Segmentation work dashboard: team, batches, assignments and mask sync."""
    click_ctx.obj = Context(env_file)
