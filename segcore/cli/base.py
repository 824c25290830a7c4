"""The command line, `python -m segcore`: the same configuration and server as the app.

Each command opens the databases, calls one segcore function and prints the result; named
segcore errors become a one-line message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import errno
import functools
import getpass
import io
import json
import os
import sys
from dataclasses import asdict, is_dataclass
from datetime import date, datetime

import click

from segcore.core.errors import N_, SegcoreError
from segcore.core.naming import is_utf8, printable, undecodable_shown, unsafe_character
from segcore.core.timefmt import json_moment

# Only click, the error classes and naming are imported here: `segcore --help` and a cron run
# that finds nothing new must not pay for pymongo, pandas or bcrypt before they are needed.

_CLIENTS: list = []  # the clients this process's commands opened, closed before it exits


class OutputError(SegcoreError):
    """The command's output could not be written (a full disk, standard output closed)."""


# What writing standard output raises when the output is lost, not merely cut short by a
# reader that went away (EPIPE, `| head -1`, which click ends silently).
_WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF)


class _ClosedOutput(io.RawIOBase):
    """Standard output when the process started without one (`segcore status >&-`, where
    Python sets sys.stdout to None and click.echo would print nowhere, exit 0): the first
    write fails as on a closed descriptor, later ones (the exit's flush) are dropped."""

    failed = False

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self.failed:
            return len(data)
        self.failed = True
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))


def watch_closed_stdout() -> None:
    """Make a write to a closed standard output an error (see _ClosedOutput)."""
    if sys.stdout is None:
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_ClosedOutput()), encoding="utf-8")


def output_lost(exc: OSError) -> OutputError:
    """The error for output that could not be written; what is still buffered for standard
    output goes to /dev/null, so the exit's own flush does not fail again with a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # no descriptor (a closed standard output): _ClosedOutput drops it itself
    return OutputError(
        N_("cannot write the output: {reason}"), reason=exc.strerror or os.strerror(exc.errno)
    )


def _out(text: str, nl: bool = True) -> None:
    """Write `text` to standard output; OutputError when it cannot be written."""
    try:
        click.echo(text, nl=nl)
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:
            raise  # EPIPE: the reader went away, click ends the command quietly
        raise output_lost(exc) from None


def echo(message: object = "", err: bool = False, nl: bool = True) -> None:
    """Print one message (or several lines) with control characters escaped: every command's
    output goes through here, so a name from an archive, an upload's filename, a batch id or
    a history value never rewrites the terminal or a cron mail (escape sequences, \\r, C1
    controls, bidi overrides). Raises OutputError when standard output cannot be written."""
    if err:
        click.echo(printable(message, keep_newlines=True), err=True, nl=nl)
    else:
        _out(printable(message, keep_newlines=True), nl=nl)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun, singular for one ("1 batch", "3 batches"): the output is read by
    people before scripts, and scripts take `--json`."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


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
        self._prepared = False

    @property
    def settings(self):
        if self._settings is None:
            from segcore.settings.config import load_settings

            # The default `.env` may be absent; a file named with --env-file must exist.
            self._settings = (
                load_settings(".env")
                if self.env_file is None
                else load_settings(self.env_file, required=True)
            )
            for warning in self._settings.warnings:  # a misspelt name in .env, never its value
                echo(f"warning: {warning}", err=True)
        return self._settings

    @property
    def databases(self):
        """The databases, prepared (`segcore.prepare`) once per process."""
        if not self._prepared:
            from segcore.core.code_stamp import code_stamp
            from segcore.prepare import prepare
            from segcore.prepare_stamp import mark_prepared
            from segcore.store.connection import friendly_errors

            databases = self.unprepared()
            with friendly_errors(databases.uri):
                for warning in prepare(databases):
                    echo(f"warning: {warning}", err=True)
                mark_prepared(databases.work, code_stamp())
            self._prepared = True
        return self._databases

    def unprepared(self):
        """The databases as they are, for a command that checks the preparation's stamp
        itself (a routine sync that finds nothing new, see segcore.prepare_stamp)."""
        if self._databases is None:
            from segcore.store.connection import open_databases

            self._databases = open_databases(self.settings)
            _CLIENTS.append(self._databases.client)
        return self._databases


def handle_errors(command):
    """Turn segcore errors into `error: <message>` and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from pymongo.errors import PyMongoError

        from segcore.store.connection import friendly_errors

        ctx = click.get_current_context().find_object(Context)
        uri = ctx._databases.uri if ctx and ctx._databases else None
        try:
            with friendly_errors(uri):
                return command(*args, **kwargs)
        except (SegcoreError, PyMongoError) as exc:
            echo(f"error: {printable(error_message(exc, ctx))}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            echo("error: interrupted", err=True)
            sys.exit(130)

    return wrapper


def error_message(exc: BaseException, ctx: Context | None) -> str:
    """The one line a command says of a segcore or driver error, without MONGO_URI's password."""
    from segcore.core.redact import scrub
    from segcore.store.connection import driver_error_message

    uri = ctx._databases.uri if ctx and ctx._databases else None
    if isinstance(exc, SegcoreError):
        return scrub(str(exc), uri)
    return driver_error_message(exc, uri)


def _plain(value):
    if is_dataclass(value):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if k != "_id"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):  # every time in one convention (README "Command line")
        return json_moment(value)
    if isinstance(value, date):  # a day (a due date, the office's today): as it is
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:  # JSON spells it as a UTF-16 pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(value) -> str:
    """`value` as plain JSON (dates as ISO strings), the same data with every character a
    terminal would act on written as a \\u escape (json leaves DEL, C1 and bidi raw)."""
    text = json.dumps(_plain(value), ensure_ascii=False, indent=2)
    if text.isprintable() or all(ch == "\n" or not unsafe_character(ch) for ch in text):
        return text
    return "".join(_json_escape(ch) if ch != "\n" and unsafe_character(ch) else ch for ch in text)


def emit_json(value) -> None:
    """Print `value` as plain JSON (dates as ISO strings), terminal-safe; raises OutputError
    when standard output cannot be written."""
    _out(json_text(value))


json_option = click.option("--json", "as_json", is_flag=True, help="Print plain JSON.")


class Text(click.ParamType):
    """Any text an argument or option takes (every plain one is made this, see TextCommand):
    bytes that are not UTF-8 (`Jos\\xe9` typed in a Latin-1 or Windows-1252 terminal, which
    Python gives as lone surrogates) are refused in a usage error naming the argument, never
    looked up or stored. Paths (click.Path) are not text: one that exists may be used."""

    name = "text"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not is_utf8(value):
            self.fail(f"'{undecodable_shown(value)}' is not valid UTF-8 text", param, ctx)
        return value


class Value(Text):
    """An option's text that may not be blank ("", spaces): an empty spreadsheet cell or an
    unset variable ("$NAME") is a mistake, never taken for "none", which each command says
    with a flag of its own (`instead`, named in the usage error). A `path` is not text: one
    on disk may hold any bytes."""

    def __init__(self, instead: str = "", path: bool = False):
        self.instead, self.path = instead, path

    def convert(self, value, param, ctx):
        value = value if self.path else super().convert(value, param, ctx)
        if isinstance(value, str) and not value.strip():
            hint = f"; {self.instead}" if self.instead else ""
            self.fail(f"a blank value is refused{hint}", param, ctx)
        return value


pass_context = click.make_pass_decorator(Context)


class TextCommand(click.Command):
    """A command whose plain text arguments and options are Text (undecodable bytes refused)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.type is click.STRING:
                param.type = Text()


class TextGroup(click.Group):
    """A group whose commands, and subgroups' commands, are TextCommands."""

    command_class = TextCommand
    group_class = type  # a subgroup's subgroups are TextGroups too


class SafeGroup(TextGroup):
    """The command group, whose usage errors (which repeat what was typed) are escaped too,
    and whose commands are loaded when named (`lazy`: command -> module of segcore.cli, set
    by segcore.cli; `modules`: all of them, loaded for --help or a name not in `lazy`)."""

    lazy: dict = {}
    modules: tuple = ()
    group_class = TextGroup  # `team`, `user`: no lazy loading of their own

    def _load(self, *modules: str) -> None:
        import importlib

        for module in modules:
            importlib.import_module(f"segcore.cli.{module}")

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self._load(self.lazy[cmd_name])
        if cmd_name not in self.commands:
            self._load(*self.modules)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        self._load(*self.modules)
        return super().list_commands(ctx)

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        watch_closed_stdout()
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except (OutputError, OSError) as exc:
            # click's own output (--help) fails as an OSError; a command's as an OutputError
            if isinstance(exc, OSError) and (exc.filename or exc.errno not in _WRITE_ERRORS):
                raise
            lost = exc if isinstance(exc, OutputError) else output_lost(exc)
            echo(f"error: {lost}", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            original = exc.format_message
            exc.format_message = lambda: printable(original())
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            echo("Aborted!", err=True)
            sys.exit(1)
        finally:
            if _CLIENTS:  # the process ends here: see close_for_exit
                from segcore.store.connection import close_for_exit

                close_for_exit(_CLIENTS)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=SafeGroup)
@click.option(
    "--env-file",
    default=None,
    help="Settings file read before the environment (default: .env, if present).",
)
@click.pass_context
def main(click_ctx, env_file):
    """Segmentation work dashboard: team, batches, assignments and mask sync."""
    click_ctx.obj = Context(env_file)
