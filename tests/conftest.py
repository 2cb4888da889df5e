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


# Hypothesis explores new examples on every run; in CI (CI=true) it replays a fixed sequence so
# a landing is never blocked by an example unrelated to the change. Local runs keep exploring.
import os  # noqa: E402

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
