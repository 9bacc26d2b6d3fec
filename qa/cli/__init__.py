"""The `qa` command line (`qa.cli.main`: the parser and `main`; `qa.cli.commands`: what each command does)."""

from qa.cli.main import main

__all__ = ["main"]
