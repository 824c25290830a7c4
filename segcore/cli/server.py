"""The embedded server and the demo data."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import click

from segcore.cli.base import (
    author as _author,
)
from segcore.cli.base import (
    echo,
    emit_json,
    handle_errors,
    json_option,
    main,
    pass_context,
)


@main.command("stop-server")
@pass_context
@handle_errors
def stop_server(ctx):
    """Stop the embedded database server (it starts again when needed)."""
    from segcore.store import embedded

    stopped = embedded.stop_server(ctx.settings.embedded_path)
    echo("Embedded server stopped." if stopped else "No embedded server was running.")
    if ctx.settings.mongo_uri:
        echo(
            "note: MONGO_URI is set: the app uses that server, which this command does not stop.",
            err=True,
        )


# --- demo data ------------------------------------------------------------------------------


@contextlib.contextmanager
def ctrl_c_noted():
    """Ctrl-C raises KeyboardInterrupt as usual and is also noted: one that lands in a
    finaliser, where Python only prints it, would let the command run on to the end. Yields
    the question "was Ctrl-C pressed?"."""
    pressed = threading.Event()

    def on_ctrl_c(signum, frame):
        pressed.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield pressed.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


@main.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to create the demo folders (default: next to the embedded database).",
)
@click.option("--batches", "count", default=300, show_default=True, type=click.IntRange(10, 5000))
@json_option
@pass_context
@handle_errors
def demo(ctx, directory, count, as_json):
    """Load clearly labelled demo data into empty databases."""
    from segcore import demo as demo_data

    directory = directory or ctx.settings.demo_directory
    with ctrl_c_noted() as interrupted:
        summary = demo_data.load_demo(
            ctx.databases, directory, author=_author(), count=count, interrupted=interrupted
        )
    if as_json:
        emit_json(summary)
        return
    echo(
        f"Demo loaded: {summary['batches']} batches in {summary['directory']}, "
        f"a team of {summary['team']}, {summary['uploads']} mask uploads."
    )
