"""Fixtures of the import tests: a fresh database per test, copied from one built per session.

The template holds the reference data and the register's firms ``corpus.uscc(0..59)``; copying
its file takes milliseconds where building it takes a second or two.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import corpus
import pytest

from shanhai.store import load_reference, open_store


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ingest-template") / "template.duckdb"
    with open_store(path) as store:
        load_reference(store.con)
        corpus.register_firms(store.con)
        store.con.execute("CHECKPOINT")
    return path


@pytest.fixture
def db_path(template_db, tmp_path) -> Path:
    """A closed database file with the reference data and the registered firms."""
    path = tmp_path / "shanhai.duckdb"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
def store(db_path):
    with open_store(db_path) as opened:
        yield opened
