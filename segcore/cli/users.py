"""App logins (used when LOGIN=on)."""

from __future__ import annotations

import sys
from datetime import datetime

import click

from segcore.cli.base import Value, echo, emit_json, handle_errors, json_option, main, pass_context
from segcore.core.actors import ROLES
from segcore.core.errors import N_, SegcoreError
from segcore.core.naming import is_utf8, printable


@main.group("user")
def user_group():
    """Logins for the app (used when LOGIN=on)."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return _piped_password(sys.stdin.readline())
    if not sys.stdin.isatty():
        # click would read an empty line and end with a bare "Aborted!".
        raise SegcoreError(
            "no terminal to ask for the password; use --password-stdin and pipe it in"
        )
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _piped_password(line: str) -> str:
    """The password piped in: its line ending and a leading byte-order mark dropped (Notepad's
    "UTF-8 with BOM": kept, the login would work only with an invisible character typed
    first), refused when not UTF-8 (a file saved in Latin-1), never shown."""
    password = line.rstrip("\r\n").removeprefix("\ufeff")
    if not is_utf8(password):
        raise SegcoreError(
            N_("the password piped in is not valid UTF-8 text; save it as UTF-8 (nothing changed)")
        )
    return password


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option(
    "--member",
    type=Value(),
    help="With --role segmentador: the team member the login belongs to.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
@handle_errors
def user_add(ctx, name, role, member, password_stdin):
    """Create a login (the password is asked for, never given as an argument).

    A segmentador login sees only the batches of its team member (--member).
    """
    from segcore.team import auth

    user = auth.add_user(
        ctx.databases.work, name, role, _read_password(password_stdin), member=member
    )
    owner = f" for {printable(user.member)}" if user.member else ""
    echo(f"User {printable(user.name)} created with the {user.role} role{owner}.")


@user_group.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_context
@handle_errors
def user_passwd(ctx, name, password_stdin):
    """Change a user's password (also lifts a lockout)."""
    from segcore.team import auth

    auth.set_password(ctx.databases.work, name, _read_password(password_stdin))
    echo(f"Password of {printable(name)} changed.")


@user_group.command("list")
@json_option
@pass_context
@handle_errors
def user_list(ctx, as_json):
    """Every app user and their role (never their password hashes)."""
    from segcore.core.timefmt import utcnow
    from segcore.team import auth

    users = auth.list_users(ctx.databases.work)
    if as_json:
        emit_json(users)
        return
    now = utcnow()
    for user in users:
        locked = (
            f"  locked until {user.locked_until:%H:%M} UTC"
            if isinstance(user.locked_until, datetime) and user.locked_until > now
            else ""
        )
        member = f" ({printable(user.member)})" if user.member else ""
        # another tool's login document may lack a field: shown as missing, never a KeyError
        name = "(no name)" if user.name is None else printable(user.name)
        role = "(no role)" if user.role is None else printable(user.role)
        echo(f"{name:<24} {role}{member}{locked}")
    if not users:
        echo("No users yet: add one with `python -m segcore user add NAME --role coordinator`.")


@user_group.command("remove")
@click.argument("name")
@pass_context
@handle_errors
def user_remove(ctx, name):
    """Delete a login."""
    from segcore.team import auth

    auth.remove_user(ctx.databases.work, name)
    echo(f"User {printable(name)} removed.")
