"""`python -m segcore`: the command line."""

from segcore.cli import main

main(prog_name="python -m segcore")
