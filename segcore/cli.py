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
from pathlib import Path

import click
from pymongo.errors import PyMongoError

from segcore import batch_import, batches, history, stats, team
from segcore.config import Settings, load_settings
from segcore.connection import (Databases, driver_error_message, friendly_errors,
                                open_databases, scrub)
from segcore.actors import ROLES
from segcore.errors import SegcoreError
from segcore.setup import prepare


def _author() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


class Context:
    """Settings and a lazily opened, prepared connection shared by the subcommands."""

    def __init__(self, env_file: str):
        self.env_file = env_file
        self._settings: Settings | None = None
        self._databases: Databases | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.env_file)
        return self._settings

    @property
    def databases(self) -> Databases:
        if self._databases is None:
            self._databases = open_databases(self.settings)
            with friendly_errors(self._databases.uri):
                for warning in prepare(self._databases):
                    click.echo(f"warning: {warning}", err=True)
        return self._databases


def handle_errors(command):
    """Turn segcore errors into `error: <message>` and exit code 1."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
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
@click.option("--env-file", default=".env", show_default=True,
              help="Settings file read before the environment.")
@click.pass_context
def main(click_ctx, env_file):
    """Segmentation work dashboard: team, batches, assignments and mask sync."""
    click_ctx.obj = Context(env_file)


# --- batches --------------------------------------------------------------------------------

@main.command("import")
@click.option("--file", "batches_file", type=click.Path(path_type=Path),
              help="Batches file (default: BATCHES_FILE).")
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              help="Folder holding one directory per batch (default: DATA_DIRECTORY).")
@click.option("--count-images", is_flag=True,
              help="Count the image files of each folder (slow on network mounts).")
@json_option
@pass_context
@handle_errors
def import_command(ctx, batches_file, data_dir, count_images, as_json):
    """Import the batch list from the batches file and the data directory."""
    settings = ctx.settings
    data_dir = data_dir or settings.data_directory
    batches_file = batches_file or settings.effective_batches_file
    bar = None

    def progress(done, total):
        nonlocal bar
        if as_json:
            return
        if bar is None:
            bar = click.progressbar(length=total, label="Scanning folders", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    result = batch_import.import_from_sources(ctx.databases.work, batches_file, data_dir,
                                              _author(), count_images, progress)
    if bar is not None:
        bar.__exit__(None, None, None)
    if as_json:
        emit_json(result)
        return
    click.echo(f"Imported: {result.added} added, {result.updated} updated, "
               f"{result.unchanged} unchanged, {len(result.flagged_missing)} flagged as missing, "
               f"{len(result.restored)} found again.")


@main.command()
@click.argument("batch_ids", nargs=-1, required=True)
@click.option("--to", "assignee", help="Team member to assign the batches to.")
@click.option("--unassign", is_flag=True, help="Remove the assignee.")
@json_option
@pass_context
@handle_errors
def assign(ctx, batch_ids, assignee, unassign, as_json):
    """Assign batches to a team member, or unassign them."""
    if bool(assignee) == bool(unassign):
        raise click.UsageError("give exactly one of --to NAME or --unassign")
    result = batches.assign(ctx.databases.work, list(batch_ids), None if unassign else assignee,
                            _author())
    if as_json:
        emit_json(result)
    else:
        click.echo(f"{len(result.updated)} batches updated.")
        for conflict in result.conflicts:
            click.echo(f"conflict: {conflict.describe()}", err=True)
        for batch_id in result.missing:
            click.echo(f"not found: {batch_id}", err=True)
    if result.missing or result.conflicts or result.failed:
        sys.exit(1)


@main.command()
@json_option
@pass_context
@handle_errors
def status(ctx, as_json):
    """Counts: total, assigned, with masks, pending."""
    counts = stats.summary(ctx.databases.work)
    if as_json:
        emit_json(counts.as_dict())
        return
    click.echo(f"total {counts.total}  assigned {counts.assigned}  with masks "
               f"{counts.with_masks}  pending {counts.pending}  done {counts.percent_done}%")


@main.command("history")
@click.argument("batch_id", required=False)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_context
@handle_errors
def history_command(ctx, batch_id, limit, as_json):
    """Recent changes, of one batch (or team member) if given."""
    entries = history.list_history(ctx.databases.work, key=batch_id, limit=limit)
    if as_json:
        emit_json(entries)
        return
    if not entries:
        click.echo("No changes recorded.")
    for e in entries:
        click.echo(f"{e['at']:%Y-%m-%d %H:%M:%S}  {e['author']:<16} {e['kind']:<6} {e['key']:<14} "
                   f"{e['field']}: {e['old']!r} -> {e['new']!r}")


# --- team -----------------------------------------------------------------------------------

@main.group("team")
def team_group():
    """List and change the team of segmentadores."""


@team_group.command("list")
@json_option
@pass_context
@handle_errors
def team_list(ctx, as_json):
    """Everyone on the team."""
    members = team.list_members(ctx.databases.work)
    if as_json:
        emit_json(members)
        return
    if not members:
        click.echo("The team is empty.")
    for m in members:
        click.echo(f"{m.name:<24} {m.role or '-':<24} {m.email or '-'}")


@team_group.command("add")
@click.argument("name")
@click.option("--role", default=None, help="Default: Segmentador.")
@click.option("--email", default=None)
@pass_context
@handle_errors
def team_add(ctx, name, role, email):
    """Add a segmentador."""
    member = team.add_member(ctx.databases.work, name, role, email, author=_author())
    click.echo(f"Added {member.name} ({member.role}).")


@team_group.command("edit")
@click.argument("name")
@click.option("--role", default=None)
@click.option("--email", default=None)
@pass_context
@handle_errors
def team_edit(ctx, name, role, email):
    """Change a member's role and/or email."""
    if role is None and email is None:
        raise click.UsageError("give --role and/or --email")
    member = team.edit_member(ctx.databases.work, name, role, email, author=_author())
    click.echo(f"{member.name}: role {member.role or '-'}, email {member.email or '-'}.")


@team_group.command("remove")
@click.argument("name")
@click.option("--unassign", is_flag=True, help="Leave their open batches unassigned.")
@click.option("--reassign-to", default=None, help="Hand their open batches to this member.")
@pass_context
@handle_errors
def team_remove(ctx, name, unassign, reassign_to):
    """Remove a member; their open batches are unassigned or reassigned."""
    moved = team.remove_member(ctx.databases.work, name, unassign=unassign,
                               reassign_to=reassign_to, author=_author())
    where = f"reassigned to {reassign_to}" if reassign_to else "unassigned"
    click.echo(f"Removed {name}; {moved} open batches {where}.")


@main.command()
@json_option
@pass_context
@handle_errors
def health(ctx, as_json):
    """Whether both databases answer, how fast, and which server (password masked)."""
    from segcore.connection import check_health

    results = [check_health(ctx.databases, which) for which in ("work", "training")]
    if as_json:
        emit_json(results)
    else:
        for h in results:
            state = (f"ok, {h.rtt_ms} ms, server {h.version}" if h.reachable
                     else f"UNREACHABLE: {h.error}")
            click.echo(f"{h.database:<20} {state}")
        click.echo(f"server: {results[0].uri}{' (embedded)' if results[0].embedded else ''}")
    if not all(h.reachable for h in results):
        sys.exit(1)


# --- embedded server ------------------------------------------------------------------------

@main.command("stop-server")
@pass_context
@handle_errors
def stop_server(ctx):
    """Stop the embedded database server (it starts again when needed)."""
    from segcore import embedded

    stopped = embedded.stop_server(ctx.settings.embedded_path)
    click.echo("Embedded server stopped." if stopped else "No embedded server was running.")


# --- demo data ------------------------------------------------------------------------------

@main.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False),
              help="Where to create the demo folders (default: next to the embedded database).")
@click.option("--batches", "count", default=300, show_default=True,
              type=click.IntRange(10, 5000))
@json_option
@pass_context
@handle_errors
def demo(ctx, directory, count, as_json):
    """Load clearly labelled demo data into empty databases."""
    from segcore import demo as demo_data

    directory = directory or ctx.settings.embedded_path.parent / "demo-data"
    summary = demo_data.load_demo(ctx.databases, directory, author=_author(), count=count)
    if as_json:
        emit_json(summary)
        return
    click.echo(f"Demo loaded: {summary['batches']} batches in {summary['directory']}, "
               f"a team of {summary['team']}, {summary['uploads']} mask uploads.")


# --- sync with the uploaded masks -----------------------------------------------------------

@main.command()
@click.option("--full", is_flag=True, help="Read every upload instead of only what changed.")
@click.option("--mode", default="cli", show_default=True, help="Recorded with the run (e.g. cron).")
@json_option
@pass_context
@handle_errors
def sync(ctx, full, mode, as_json):
    """Sync the batch list with the uploaded masks (safe to run from cron)."""
    from segcore.sync import run_sync

    with click.progressbar(length=1000, label="Syncing", file=sys.stderr,
                           show_eta=False) as bar:
        def progress(fraction, message):
            if not as_json:
                bar.label = message.ljust(40)
                bar.update(int(fraction * 1000) - bar.pos)
        report = run_sync(ctx.databases, full=full, mode=mode, author=_author(),
                          progress=progress)
    if as_json:
        emit_json(report.as_dict())
        return
    click.echo(f"{report.total_files} files ({report.new_files} new, {report.removed_files} "
               f"removed); {report.batches_with_masks} batches with masks, "
               f"{report.batches_without_masks} without; {report.batches_updated} updated; "
               f"{report.orphans} orphan, {report.unmatched} unmatched, {report.mismatches} "
               f"mismatched uploads; {report.duration_s:.1f} s"
               f"{f' (full read: {report.full_reason})' if report.full else ''}.")


@main.command()
@click.option("--recent", type=click.IntRange(1, 10_000), help="The N most recent uploads.")
@click.option("--orphans", is_flag=True, help="Uploads naming a batch that is not in the list.")
@click.option("--unmatched", is_flag=True, help="Uploads naming no batch.")
@click.option("--mismatches", is_flag=True, help="Uploads by someone other than the assignee.")
@json_option
@pass_context
@handle_errors
def uploads(ctx, recent, orphans, unmatched, mismatches, as_json):
    """Uploaded mask files: the most recent, or the problems the last sync found."""
    from segcore.sync import last_run
    from segcore.uploads import recent_uploads

    rows: list[dict] = []
    if recent or not (orphans or unmatched or mismatches):
        rows += [u.as_dict() for u in recent_uploads(ctx.databases, recent or 20)]
    if orphans or unmatched or mismatches:
        run = last_run(ctx.databases.work)
        if run is None:
            raise SegcoreError("No sync has run yet: run `python -m segcore sync` first.")
        for flag, key in ((orphans, "orphan_uploads"), (unmatched, "unmatched_uploads"),
                          (mismatches, "mismatched_uploads")):
            if flag:
                rows += [{k: v for k, v in f.items() if k != "assignee" or key ==
                          "mismatched_uploads"} for f in run.get(key, [])]
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        when = row["upload_date"].strftime("%Y-%m-%d %H:%M") if row.get("upload_date") else "-"
        extra = f"  assignee {row['assignee']}" if row.get("assignee") else ""
        click.echo(f"{when}  {row['uploaded_by'] or '-':<12} {row['size_mb']:>8.2f} MB  "
                   f"{row['filename']}  [{', '.join(row['batches']) or 'no batch'}]{extra}")
    if not rows:
        click.echo("Nothing to show.")


# --- app users (login) ----------------------------------------------------------------------

@main.group("user")
def user_group():
    """Logins for the app (used when LOGIN=on)."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
@handle_errors
def user_add(ctx, name, role, password_stdin):
    """Create a login (the password is asked for, never given as an argument)."""
    from segcore import auth

    user = auth.add_user(ctx.databases.work, name, role, _read_password(password_stdin))
    click.echo(f"User {user.name} created with the {user.role} role.")


@user_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
@handle_errors
def user_passwd(ctx, name, password_stdin):
    """Change a user's password (also lifts a lockout)."""
    from segcore import auth

    auth.set_password(ctx.databases.work, name, _read_password(password_stdin))
    click.echo(f"Password of {name} changed.")


@user_group.command("list")
@json_option
@pass_context
@handle_errors
def user_list(ctx, as_json):
    """Every app user and their role (never their password hashes)."""
    from segcore import auth
    from segcore.history import utcnow

    users = auth.list_users(ctx.databases.work)
    if as_json:
        emit_json(users)
        return
    now = utcnow()
    for user in users:
        locked = (f"  locked until {user.locked_until:%H:%M} UTC"
                  if user.locked_until and user.locked_until > now else "")
        click.echo(f"{user.name:<24} {user.role}{locked}")
    if not users:
        click.echo("No users yet: add one with `python -m segcore user add NAME --role coordinator`.")


@user_group.command("remove")
@click.argument("name")
@pass_context
@handle_errors
def user_remove(ctx, name):
    """Delete a login."""
    from segcore import auth

    auth.remove_user(ctx.databases.work, name)
    click.echo(f"User {name} removed.")
