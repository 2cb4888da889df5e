"""Errors a user can act on.

Every user-facing command catches :class:`ShanhaiError` and prints its message as one line on
stderr with exit code 2 (see ``shanhai.cli``). Raise it with a sentence that says what was wrong
and where (file, row, column, table) and what was expected; never let a traceback reach a user.
"""

from __future__ import annotations


class ShanhaiError(Exception):
    """A problem the user can fix: bad input, a missing file, a locked database."""


class DatabaseLockedError(ShanhaiError):
    """Another process holds the DuckDB file (one process owns a database at a time)."""


class SchemaError(ShanhaiError):
    """The database file's schema is newer than this code, or a migration failed."""


class NotFoundError(ShanhaiError):
    """The thing asked for does not exist (an adcode, a run, an enterprise); the web answers 404."""
