"""The ``shanhai`` command line (Typer + Rich): thin, one module per command group."""

from shanhai.cli.app import app, main

__all__ = ["app", "main"]
