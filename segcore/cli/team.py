"""Team commands, and the health check of both databases."""

from __future__ import annotations

import sys

import click

from segcore.cli.base import (
    Value,
    echo,
    emit_json,
    error_message,
    handle_errors,
    json_option,
    main,
    pass_context,
)
from segcore.cli.base import (
    author as _author,
)
from segcore.core.errors import SegcoreError
from segcore.core.naming import printable


@main.group("team")
def team_group():
    """List and change the team of segmentadores."""


@team_group.command("list")
@json_option
@pass_context
@handle_errors
def team_list(ctx, as_json):
    """Everyone on the team."""
    from segcore.core.timefmt import wall_clock_moment
    from segcore.team import team

    members = team.list_members(ctx.databases.work)
    if as_json:  # the document ids are the app's business, not the output's
        # `created_at` is stored as the office's wall clock: written as the moment it names
        emit_json(
            [
                {
                    **{k: v for k, v in vars(m).items() if k != "id"},
                    "created_at": wall_clock_moment(m.created_at, ctx.settings.zone),
                }
                for m in members
            ]
        )
        return
    if not members:
        echo("The team is empty.")
    for m in members:
        # Names stored before control characters were refused must not drive the terminal.
        echo(f"{printable(m.name):<24} {printable(m.role or '-'):<24} {printable(m.email or '-')}")


@team_group.command("add")
@click.argument("name")
@click.option(
    "--role", type=Value("leave the option out for Segmentador"), help="Default: Segmentador."
)
@click.option("--email", type=Value("leave the option out for no email"))
@pass_context
@handle_errors
def team_add(ctx, name, role, email):
    """Add a segmentador."""
    from segcore.team import team

    member = team.add_member(
        ctx.databases.work, name, role, email, author=_author(), zone=ctx.settings.zone
    )
    echo(f"Added {printable(member.name)} ({printable(member.role)}).")


@team_group.command("edit")
@click.argument("name")
@click.option("--role", type=Value())
@click.option("--email", type=Value("to remove the email, use --clear-email"))
@click.option("--clear-email", is_flag=True, help="Remove the member's email.")
@pass_context
@handle_errors
def team_edit(ctx, name, role, email, clear_email):
    """Change a member's role and/or email (NAME as `team list` spells it, when two members'
    names differ only in case, accents or spacing)."""
    from segcore.team import team

    if clear_email:
        if email is not None:
            raise click.UsageError("give --email or --clear-email, not both")
        email = ""  # segcore's "no email"
    if role is None and email is None:
        raise click.UsageError("give --role and/or --email (or --clear-email)")
    member = team.edit_member(ctx.databases.work, name, role, email, author=_author())
    echo(
        f"{printable(member.name)}: role {printable(member.role or '-')}, "
        f"email {printable(member.email or '-')}."
    )


@team_group.command("remove")
@click.argument("name")
@click.option("--unassign", is_flag=True, help="Leave their open batches unassigned.")
@click.option(
    "--reassign-to",
    type=Value("to leave their open batches without one, use --unassign"),
    help="Hand their open batches to this member.",
)
@pass_context
@handle_errors
def team_remove(ctx, name, unassign, reassign_to):
    """Remove a member; their open batches are unassigned or reassigned (NAME as for edit)."""
    from segcore.work import handover

    moved = handover.remove_member(
        ctx.databases.work,
        name,
        unassign=unassign,
        reassign_to=reassign_to,
        author=_author(),
        zone=ctx.settings.zone,
    )
    where = f"reassigned to {reassign_to}" if reassign_to else "unassigned"
    echo(f"Removed {printable(name)}; {moved} open batches {printable(where)}.")


@main.command()
@json_option
@pass_context
@handle_errors
def health(ctx, as_json):
    """Whether both databases answer, how fast, and which server (password masked)."""
    if not as_json:
        return _health(ctx, as_json)
    from pymongo.errors import PyMongoError

    try:
        return _health(ctx, as_json)
    except (SegcoreError, PyMongoError) as exc:
        # A monitoring script asked for JSON: it gets the report's shape, nothing reachable,
        # and the error line on stderr and the exit code as without --json.
        emit_json(_unreachable(ctx, error_message(exc, ctx)))
        raise


def _unreachable(ctx, message: str) -> list[dict]:
    """health's report when it could not check: each database (one unnamed when the settings
    could not be read) not reachable, with why."""
    from segcore.core.redact import mask_uri

    settings, databases = ctx._settings, ctx._databases
    names = (settings.mongo_db, settings.training_db) if settings else (None,)
    return [
        {
            "database": name,
            "reachable": False,
            "rtt_ms": None,
            "version": None,
            "uri": mask_uri(databases.uri) if databases else None,
            "embedded": settings.embedded if settings else None,
            "error": message,
        }
        for name in names
    ]


def _health(ctx, as_json):
    from segcore.settings.config_table import database_note
    from segcore.store.connection import check_health

    note = database_note(ctx.settings)
    if note:
        echo(f"note: {note}", err=True)
    results = [check_health(ctx.databases, which) for which in ("work", "training")]
    restore = _interrupted_restore(ctx.databases.work) if results[0].reachable else None
    if as_json:
        emit_json(results)
    else:
        for h in results:
            state = (
                f"ok, {h.rtt_ms} ms, server {h.version}"
                if h.reachable
                else f"UNREACHABLE: {h.error}"
            )
            echo(f"{h.database:<20} {state}")
        echo(f"server: {results[0].uri}{' (embedded)' if results[0].embedded else ''}")
    if restore:
        echo(f"warning: {restore}", err=True)
    if restore or not all(h.reachable for h in results):
        sys.exit(1)


def _interrupted_restore(work):
    """An interrupted restore leaves the data unfinished: health reports it (exit code 1)."""
    from pymongo.errors import PyMongoError

    from segcore.store.restore_marker import interrupted_restore

    try:
        return interrupted_restore(work)
    except PyMongoError:
        return None  # the reachability line already says what is wrong
