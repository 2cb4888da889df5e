"""``shanhai chains …``: --json documents agree with the jobs layer, the tables print, the
workbooks are written, and mistakes are ShanhaiErrors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from shanhai.cli import app
from shanhai.errors import ShanhaiError

JINGNING = "331127"


def run(db, *args):
    return CliRunner().invoke(app, ["chains", *args, "--db", str(db)])


@pytest.fixture(scope="module")
def db(small_evaluated, tmp_path_factory):
    """A copy: --xlsx records the export in the audit log, and the session's database stays as built."""
    import shutil

    path = tmp_path_factory.mktemp("chains_cli") / "chains.duckdb"
    shutil.copy(small_evaluated[0], path)
    return path


def test_list_and_show(db):
    res = run(db, "list", "--json")
    assert res.exit_code == 0, res.output
    chains = json.loads(res.stdout)["chains"]
    assert len(chains) >= 10 and all(c["segments"] for c in chains)
    res = run(db, "show", chains[0]["chain_id"])
    assert res.exit_code == 0 and chains[0]["name"] in res.stdout
    res = run(db, "show", chains[0]["name"], "--json")
    assert json.loads(res.stdout)["chain_id"] == chains[0]["chain_id"]


def test_panorama_json_and_table(db, small_evaluated):
    chain_id = json.loads(run(db, "list", "--json").stdout)["chains"][0]["chain_id"]
    res = run(db, "panorama", chain_id, "--region", JINGNING, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["region"]["code"] == JINGNING and doc["basis"]["run_id"] == small_evaluated[2]
    assert {s["status"] for s in doc["segments"]} <= {"strong", "present", "weak", "missing", "outside"}
    res = run(db, "panorama", chain_id, "--region", "331100")
    assert res.exit_code == 0 and "丽水市" in res.stdout and "区位熵" in res.stdout


def test_targets_and_risk(db, tmp_path):
    res = run(db, "targets", "--region", JINGNING, "--limit", "5", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert len(doc["targets"]) <= 5 and all(not t["masked"] for t in doc["targets"])   # the CLI is the province's
    out = tmp_path / "targets.xlsx"
    res = run(db, "targets", "--region", JINGNING, "--limit", "5", "--xlsx", str(out))
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 0
    res = run(db, "risk", "--region", JINGNING, "--json")
    doc = json.loads(res.stdout)
    assert all(c["health"] == pytest.approx(max(0, 100 - sum(c["penalties"].values()))) for c in doc["chains"])
    assert "健康度" in run(db, "risk", "--region", JINGNING).stdout


@pytest.mark.parametrize("args,message", [
    (("panorama", "no_such_chain", "--region", JINGNING), "no chain"),
    (("panorama", "smart_home", "--region", "999999"), "neither a region"),
    (("targets", "--region", JINGNING, "--year", "1999"), "no enterprise data for 1999"),
    (("risk", "--region", JINGNING, "--rules", "nope"), "unknown chain rule set"),
])
def test_mistakes_are_shanhai_errors(db, args, message):
    """The app's entry point prints a ShanhaiError as one line with exit code 2 (tests/cli/test_cli.py)."""
    res = run(db, *args)
    assert isinstance(res.exception, ShanhaiError), res.output
    assert message in str(res.exception)
