"""``shanhai service requests|lists|pipeline …`` (cli.service_desk): a request through its states with
its clock, KPIs, due dates under a profile (G10), lists built and shown, the G8 pipeline firm,
workbooks written, --json documents that agree with the jobs."""

from __future__ import annotations

import json
import shutil

import fastexcel
import pytest
from typer.testing import CliRunner

from shanhai.cli.app import app


def run(db, group, *args):
    return CliRunner().invoke(app, ["service", group, *args, "--db", str(db)])


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("desk_cli") / "desk.duckdb"
    shutil.copy(small_db, path)
    from shanhai.store import open_store
    with open_store(path) as s:         # the synthetic demo's requests and pool: these tests start empty
        for sql in ("DELETE FROM service_request_events", "DELETE FROM service_requests",
              "DELETE FROM listing_milestones", "DELETE FROM listing_pipeline"):
            s.con.execute(sql)
    return path


def _firm(db):
    from shanhai.store import open_store
    with open_store(db, read_only=True) as s:
        return s.con.execute("SELECT min(uscc) FROM enterprises WHERE status = 'active'").fetchone()[0]


def test_due_dates_g10():
    res = CliRunner().invoke(app, ["service", "requests", "due", "2025-03-06", "--sla", "NB-HAISHU-2018",
                                   "--accepted", "2025-03-07", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert {s["step"]: s["due"] for s in doc["steps"]} == {"route": "2025-03-10", "close": "2025-03-14"}
    res = CliRunner().invoke(app, ["service", "requests", "profiles"])
    assert res.exit_code == 0 and "SD-2020" in res.stdout and "FJ-QZ-2022" in res.stdout


def test_request_lifecycle_kpi_export(db, tmp_path):
    firm = _firm(db)
    res = run(db, "requests", "submit", firm, "--title", "融资对接", "--category", "finance",
              "--at", "2025-03-06T10:00", "--json")
    assert res.exit_code == 0, res.output
    rid = json.loads(res.stdout)["request_id"]
    for args in (["accept", "--at", "2025-03-07T09:00"], ["assign", "--at", "2025-03-07T10:00"],
                 ["answer", "--at", "2025-03-12T10:00"], ["close", "--solved", "--at", "2025-03-13T10:00"],
                 ["rate", "--satisfaction", "5"]):
        res = run(db, "requests", "act", rid, *args)
        assert res.exit_code == 0, res.output
    res = run(db, "requests", "show", rid, "--json")
    doc = json.loads(res.stdout)
    assert doc["status"] == "closed" and doc["solved"] is True and doc["clock"]["state"] == "closed_on_time"
    res = run(db, "requests", "list", "--status", "all")
    assert res.exit_code == 0 and rid in res.stdout
    res = run(db, "requests", "kpi", "--json")
    k = json.loads(res.stdout)
    assert k["total"]["close_rate"] == 1.0 and k["total"]["satisfaction_rate"] == 1.0
    assert run(db, "requests", "escalate", "--json").exit_code == 0
    x = tmp_path / "r.xlsx"
    res = run(db, "requests", "export", "--xlsx", str(x))
    assert res.exit_code == 0, res.output
    sheets = fastexcel.read_excel(x).sheet_names
    assert sheets == ["企业诉求", "考核指标", "说明"]


def test_lists_and_pipeline(db, tmp_path):
    res = run(db, "lists", "build", "--json")
    assert res.exit_code == 0, res.output
    built = json.loads(res.stdout)
    res = run(db, "lists", "show", "--kind", "key", "--json")
    doc = json.loads(res.stdout)
    assert doc["total"] == built["lists"]["key"]["listed"] and doc["run_id"] == built["run_id"]
    assert run(db, "lists", "runs").exit_code == 0
    x = tmp_path / "l.xlsx"
    assert run(db, "lists", "export", "--xlsx", str(x), "--kind", "struggling").exit_code == 0
    assert "说明" in fastexcel.read_excel(x).sheet_names
    if doc["entries"]:
        tid = doc["entries"][0]["task_id"]
        res = run(db, "lists", "log", tid, "visit", "--note", "走访：了解用工需求")
        assert res.exit_code == 0, res.output
    firm = _firm(db)
    assert run(db, "pipeline", "enrol", firm, "--entered", "2021-06-01", "--reinvest", "0.85").exit_code == 0
    for m, d in [("joint_stock", "2022-03-15"), ("counselling_filed", "2022-11-20"),
                 ("application_accepted", "2023-06-30"), ("listed", "2024-04-18")]:
        res = run(db, "pipeline", "record", firm, m, d)
        assert res.exit_code == 0, res.output
    res = run(db, "pipeline", "show", firm, "--json")
    assert json.loads(res.stdout)["awards"]["total"] == "1000"
    res = run(db, "pipeline", "run", "--json")
    assert json.loads(res.stdout)["firms"] == 1
    res = run(db, "pipeline", "board")
    assert res.exit_code == 0 and "已上市" in res.stdout
    res = CliRunner().invoke(app, ["service", "pipeline", "presets"])
    assert res.exit_code == 0 and "xiaoshan-2021" in res.stdout
    x = tmp_path / "p.xlsx"
    assert run(db, "pipeline", "export", "--xlsx", str(x)).exit_code == 0
    assert fastexcel.read_excel(x).sheet_names == ["上市后备企业", "目标进度", "说明"]
