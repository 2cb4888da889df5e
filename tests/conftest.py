"""Shared fixtures: small synthetic provinces built once per test session."""

from __future__ import annotations

import pytest

from shanhai.synth import SynthConfig, build

SMALL = SynthConfig(scale=0.05, seed=7)


@pytest.fixture(scope="session")
def small_build(tmp_path_factory):
    """A scale-0.05 province (about 8,000 firms): the result of ``build`` and its path."""
    path = tmp_path_factory.mktemp("small") / "small.duckdb"
    return build(path, SMALL)


@pytest.fixture(scope="session")
def small_db(small_build):
    return small_build.path


@pytest.fixture(scope="session")
def small_evaluated(small_db, tmp_path_factory):
    """A copy of the small province with one province-wide zhejiang-2018 run of its latest year
    (read-only users: tests that write make their own copy). Returns (path, year, run_id)."""
    import shutil

    from shanhai.jobs import mujun
    from shanhai.store import open_store

    path = tmp_path_factory.mktemp("evaluated") / "evaluated.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        year = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]
        run_id = mujun.run(store, "zhejiang-2018", year, user="tests").run_id
    return path, year, run_id


# Hypothesis explores new examples on every run; in CI (CI=true) it replays a fixed sequence so
# a landing is never blocked by an example unrelated to the change. Local runs keep exploring.
import os  # noqa: E402

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


# Figures a test measures and the issue asks to see in the test output (alert precision and
# recall per anomaly type, …): a test hands its lines to the `figures` fixture, and they are
# printed in their own section at the end of every run, passed or failed.
_FIGURES: list[tuple[str, str]] = []


@pytest.fixture
def figures(request):
    def add(text: str) -> None:
        _FIGURES.append((request.node.nodeid, text))
    return add


def pytest_terminal_summary(terminalreporter):
    if _FIGURES:
        terminalreporter.section("measured figures")
        for nodeid, text in _FIGURES:
            terminalreporter.write_line(f"{nodeid}:")
            for line in text.splitlines():
                terminalreporter.write_line(f"    {line}")
