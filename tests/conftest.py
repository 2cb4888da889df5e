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
