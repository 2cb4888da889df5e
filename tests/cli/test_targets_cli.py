"""``shanhai targets …`` (cli.targets): --json documents agree with the jobs layer, tables print,
workbooks are written, a target set from the command line shows in the status, runs are stored,
bad input is one clear error."""

from __future__ import annotations

import json
import shutil

import fastexcel
import pytest
from typer.testing import CliRunner

from shanhai.cli.app import app
from shanhai.jobs import targets as jt
from shanhai.store import open_store
from shanhai.store.scope import Scope

JINGNING = "331127"


def run(db, *args):
    return CliRunner().invoke(app, ["targets", *args, "--db", str(db)])


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("targets_cli") / "targets.duckdb"
    shutil.copy(small_db, path)
    return path


def test_list_and_show(db):
    res = run(db, "list", "--json")
    assert res.exit_code == 0, res.output
    ids = [i["indicator_id"] for i in json.loads(res.stdout)]
    assert {"value_added_per_mu", "industrial_va", "mfg_investment", "energy_per_va"} <= set(ids)
    res = run(db, "list")
    assert res.exit_code == 0 and "value_added_per_mu" in res.stdout and "万元/亩" in res.stdout
    res = run(db, "show", "industrial_va", "--region", JINGNING)
    assert res.exit_code == 0, res.output
    assert "年末预计" in res.stdout and "12月" in res.stdout


def test_status_json_matches_the_job(db, tmp_path):
    res = run(db, "status", "--region", JINGNING, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    with open_store(db, read_only=True) as store:
        same = jt.evaluate(store, Scope.province(), JINGNING)
    assert doc["counts"] == same["counts"] and len(doc["rows"]) == len(same["rows"])
    res = run(db, "status", "--region", "331100", "--month", "6", "--rules", "yinchuan", "--xlsx", str(tmp_path / "s.xlsx"))
    assert res.exit_code == 0, res.output
    assert "序时进度 50.00%" in res.stdout and (tmp_path / "s.xlsx").exists()
    assert {"目标监测", "指标库", "说明"} <= set(fastexcel.read_excel(str(tmp_path / "s.xlsx")).sheet_names)


def test_forecast_watch_index(db):
    res = run(db, "forecast", "industrial_va", "--region", "331100", "--json")
    assert res.exit_code == 0, res.output
    fc = json.loads(res.stdout)["forecast"]
    assert fc["point"] and {m["method"] for m in fc["methods"]} == {"share_of_year", "seasonal_naive"}
    res = run(db, "forecast", "industrial_va", "--region", "331100")
    assert res.exit_code == 0 and "回测" in res.stdout
    res = run(db, "watch", "--region", "331100")
    assert res.exit_code == 0 and "预警清单" in res.stdout
    res = run(db, "index", "--group", "mountain26", "--json")
    assert res.exit_code == 0
    rows = json.loads(res.stdout)["rows"]
    assert len(rows) == 26 and rows[0]["rank"] == 1
    res = run(db, "index", "--group", "cities")
    assert res.exit_code == 0 and "杭州市" in res.stdout


def test_set_targets_and_runs(db, tmp_path):
    res = run(db, "set", "mfg_investment", "--region", JINGNING, "--year", "2024", "--value", "54321",
              "--source", "景宁县2024年投资计划", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["value"] == 54321
    res = run(db, "targets", "--region", JINGNING, "--json")
    mine = [t for t in json.loads(res.stdout)["targets"] if t["indicator_id"] == "mfg_investment" and t["year"] == 2024]
    assert [(t["value"], t["origin"]) for t in mine] == [(54321.0, "user")]
    res = run(db, "status", "--region", JINGNING, "--indicator", "mfg_investment", "--json")
    rows = [r for r in json.loads(res.stdout)["rows"] if r["target_year"] == 2024]
    assert rows[0]["target"] == 54321.0
    res = run(db, "sync", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["indicators"] >= 13
    first = run(db, "run", "--region", "331100", "--json")
    second = run(db, "run", "--region", "331100", "--json")
    assert first.exit_code == second.exit_code == 0, first.output
    assert json.loads(first.stdout)["run_id"] != json.loads(second.stdout)["run_id"]
    res = run(db, "runs", "--json")
    assert len(json.loads(res.stdout)) >= 2
    out = tmp_path / "all.xlsx"
    res = run(db, "export", "--xlsx", str(out), "--region", "331100")
    assert res.exit_code == 0 and out.exists()
    sheets = set(fastexcel.read_excel(str(out)).sheet_names)
    assert {"目标监测", "预警清单", "指标库", "说明"} <= sheets and any(s.startswith("综合指数") for s in sheets)


def test_bad_input(db):
    res = run(db, "show", "no_such_indicator")
    assert res.exit_code != 0 and "unknown indicator" in str(res.exception)
    res = run(db, "set", "mfg_investment", "--region", "339999", "--year", "2024", "--value", "1")
    assert res.exit_code != 0 and "339999" in str(res.exception)
    res = run(db, "set", "mfg_investment", "--region", JINGNING, "--year", "2024", "--value", "1", "--kind", "share")
    assert res.exit_code != 0 and "level or growth" in str(res.exception)
    res = run(db, "status", "--rules", "no-such-rules")
    assert res.exit_code != 0 and "no-such-rules" in str(res.exception)
    res = run(db, "index", "--group", "towns")
    assert res.exit_code != 0 and "towns" in str(res.exception)
