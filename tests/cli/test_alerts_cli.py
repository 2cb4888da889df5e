"""``shanhai alerts …`` (cli.alerts): scan stores a run, list/show/evaluate/tasks print tables and
--json documents that agree with the jobs layer, a task moves through its states, the workbook is
written, bad input is one line."""

from __future__ import annotations

import json
import shutil

import fastexcel
import pytest
from typer.testing import CliRunner

from shanhai.cli.app import app


def run(db, *args):
    return CliRunner().invoke(app, ["alerts", *args, "--db", str(db)])


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("alerts_cli") / "alerts.duckdb"
    shutil.copy(small_db, path)
    return path


def test_scan_list_show_tasks_export(db, tmp_path):
    res = run(db, "scan", "--json")
    assert res.exit_code == 0, res.output
    scan = json.loads(res.stdout)
    assert scan["run_id"].startswith("alerts-") and scan["alerts"] > 0 and scan["tasks"] > 0
    res = run(db, "scan")
    assert res.exit_code == 0 and "重复 repeats" in res.stdout
    res = run(db, "list", "--json", "--limit", "5")
    doc = json.loads(res.stdout)
    assert res.exit_code == 0 and doc["total"] == scan["new_alerts"] and len(doc["alerts"]) == 5
    res = run(db, "list", "--kind", "collapse")
    assert res.exit_code == 0 and "得分 score" in res.stdout
    alert_id = doc["alerts"][0]["alert_id"]
    res = run(db, "show", alert_id)
    assert res.exit_code == 0 and "信号 signals" in res.stdout, res.output
    res = run(db, "tasks", "--json")
    tasks = json.loads(res.stdout)
    assert tasks["counts"]["open"] == scan["tasks"]
    task_id = tasks["tasks"][0]["task_id"]
    assert run(db, "task", task_id, "push", "--note", "线上核查").exit_code == 0
    res = run(db, "task", task_id, "visit")
    assert res.exit_code != 0 and "result" in str(res.exception)
    assert run(db, "task", task_id, "visit", "--result", "reduced").exit_code == 0
    res = run(db, "task", task_id, "close", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["state"] == "closed"
    res = run(db, "tasks")
    assert "走访确认率" in res.stdout and "100.0%" in res.stdout
    out = tmp_path / "alerts.xlsx"
    res = run(db, "export", "--xlsx", str(out), "--status", "all")
    assert res.exit_code == 0 and out.exists()
    assert {"预警名单", "走访任务", "说明"} <= set(fastexcel.read_excel(str(out)).sheet_names)


def test_evaluate_prints_every_type(small_db):
    res = CliRunner().invoke(app, ["alerts", "evaluate", "--db", str(small_db)])
    assert res.exit_code == 0, res.output
    for word in ("collapse", "decline", "spike", "精确率", "召回率", "match rule"):
        assert word in res.stdout
    res = CliRunner().invoke(app, ["alerts", "evaluate", "--json", "--db", str(small_db)])
    doc = json.loads(res.stdout)
    assert [k["kind"] for k in doc["kinds"]] == ["collapse", "decline", "spike", "all"]


def test_bad_input(db):
    res = run(db, "scan", "--month", "1999-01")
    assert res.exit_code != 0
    res = run(db, "list", "--status", "maybe")
    assert res.exit_code != 0
    res = run(db, "scan", "--rules", "nosuch")
    assert res.exit_code != 0
