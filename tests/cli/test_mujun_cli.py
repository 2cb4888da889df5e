"""``shanhai mujun …``: every command's --json is one JSON document, --region narrows it, and
mistakes are ShanhaiErrors (one line, exit 2, once the group is registered in ``shanhai``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
import typer.main
from typer.testing import CliRunner

from shanhai.errors import ShanhaiError
from shanhai.jobs import mujun
from shanhai.store import open_store


def _registered() -> bool:
    try:
        from shanhai.cli import app
        return "mujun" in typer.main.get_command(app).commands
    except Exception:  # the main app is being edited elsewhere: test the group on its own
        return False


REGISTERED = _registered()


def invoke(*args: str):
    """Run ``shanhai mujun ARGS`` through the main app once it has the group, else the group itself."""
    if REGISTERED:
        from shanhai.cli import app
        return CliRunner().invoke(app, ["mujun", *args])
    from shanhai.cli.mujun import app
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def env(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("mujun_cli") / "cli.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        a = mujun.run(store, "zhejiang-2018", 2022).run_id
        b = mujun.run(store, "zhejiang-2018", 2023).run_id
        county, city = store.con.execute(
            f"SELECT county_adcode, city_adcode FROM mujun_results WHERE run_id = '{b}' "
            "AND \"class\" IN ('C', 'D') GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
    return SimpleNamespace(db=str(path), a=a, b=b, county=county, city=city)


def as_json(env, *args: str) -> dict:
    result = invoke(*args, "--db", env.db, "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    return json.loads(result.stdout)


def test_runs(env):
    ids = [r["run_id"] for r in as_json(env, "runs")["runs"]]    # the session's store may hold others' runs
    assert ids[0] == env.b and ids.index(env.b) < ids.index(env.a)   # latest first
    local = [r["run_id"] for r in as_json(env, "runs", "--region", env.county)["runs"]]
    assert {env.a, env.b} <= set(local)


def test_surcharges_default_to_the_latest_run(env):
    doc = as_json(env, "surcharges")
    assert doc["run"]["run_id"] == env.b
    assert doc["total"]["surcharge_yuan"] > 0
    local = as_json(env, "surcharges", "--run", env.a, "--region", env.county)
    assert local["run"]["run_id"] == env.a
    assert {c["county_adcode"] for c in local["counties"]} <= {env.county}


def test_remediation_and_land(env):
    doc = as_json(env, "remediation", "--region", env.county, "--classes", "D")
    assert doc["rows"] and {r["class"] for r in doc["rows"]} == {"D"}
    assert {r["county_adcode"] for r in doc["rows"]} == {env.county}
    land = as_json(env, "land", "--region", env.city)
    assert land["firms"] and land["by_county"]


def test_compare(env):
    doc = as_json(env, "compare", env.a, env.b, "--region", env.county)
    assert doc["both"] == sum(sum(row.values()) for row in doc["matrix"].values())
    assert {m["county_adcode"] for m in doc["movers"]} <= {env.county}
    assert "change" in doc["surcharge"]


def test_rollup(env):
    doc = as_json(env, "rollup", "--level", "county", "--scope", "lessee")
    assert doc["level"] == "county" and doc["scope"] == "pop:lessee" and doc["rows"]
    assert all(sum(r["classes"].values()) == r["firms"] for r in doc["rows"])
    town = as_json(env, "rollup", "--level", "town", "--region", env.county)
    assert all(r["key"].startswith(env.county) for r in town["rows"])


def test_export(env, tmp_path):
    out = tmp_path / "lists.xlsx"
    doc = as_json(env, "export", "--out", str(out))
    assert out.exists() and doc["kind"] == "public_lists" and len(doc["sheets"]) == 4
    county = tmp_path / "county.xlsx"
    doc = as_json(env, "export", "--out", str(county), "--county", env.county)
    assert doc["kind"] == "county_workbook" and doc["region"] == env.county
    doc = as_json(env, "export", "--out", str(county), "--county", env.county, "--lists", "--force")
    assert doc["kind"] == "public_lists" and doc["region"] == env.county
    again = invoke("export", "--out", str(county), "--db", env.db)
    assert isinstance(again.exception, ShanhaiError) or again.exit_code == 2


def test_tables_print(env):
    for args in (["surcharges"], ["remediation", "--limit", "3"], ["land", "--limit", "3"],
                 ["compare", env.a, "latest", "--limit", "3"], ["rollup", "--level", "city"], ["runs"]):
        result = invoke(*args, "--db", env.db)
        assert result.exit_code == 0, (args, result.output, result.exception)
        assert result.output.strip()


def test_mistakes_are_shanhai_errors(env):
    for args in (["surcharges", "--region", "999999"], ["remediation", "--classes", "Z"],
                 ["rollup", "--level", "city", "--region", env.county], ["surcharges", "--run", "mujun-nope"]):
        result = invoke(*args, "--db", env.db)
        assert result.exit_code != 0
        assert isinstance(result.exception, ShanhaiError) or result.exit_code == 2, args


def test_help_is_chinese_first():
    from shanhai.cli.mujun import app

    group = typer.main.get_command(app)
    assert set(group.commands) == {"runs", "official", "surcharges", "remediation", "land", "compare", "export",
                                   "rollup"}
    for name, command in group.commands.items():
        assert re.match(r"[\u4e00-\u9fff]", command.help or ""), name
        for param in command.params:
            if getattr(param, "param_type_name", None) == "option" and param.help:
                assert re.match(r"[\u4e00-\u9fff]", param.help) or param.opts[0] in ("--db", "--json"), \
                    (name, param.opts)


@pytest.mark.skipif(not REGISTERED, reason="`shanhai mujun` is not registered in shanhai.cli.app yet")
def test_one_line_error_and_exit_2(env):
    result = subprocess.run([sys.executable, "-m", "shanhai", "mujun", "surcharges", "--db", env.db,
                             "--region", "999999"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    assert "999999" in result.stderr
