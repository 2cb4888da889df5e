"""The ``coop`` project commands (cli.coop_projects): --json documents agree with the jobs layer, the
tables print, the workbooks are written, a transfer writes once. The functions are registered on a
Typer app of their own here (``cli/app.py`` registers them under ``shanhai coop``)."""

from __future__ import annotations

import json
import shutil

import fastexcel
import pytest
import typer
from typer.testing import CliRunner

from shanhai.cli import coop_projects as cp

app = typer.Typer()
for _name, _fn in (("projects", cp.projects), ("stalled", cp.stalled), ("leads", cp.leads),
                   ("rank-lead", cp.rank_lead), ("transfer", cp.transfer), ("ledger", cp.ledger)):
    app.command(_name)(_fn)

JINGNING = "331127"


def run(db, *args):
    return CliRunner().invoke(app, [*args, "--db", str(db)])


@pytest.fixture(scope="module")
def db(small_evaluated, tmp_path_factory):
    path = tmp_path_factory.mktemp("coop_cli") / "coop.duckdb"
    shutil.copy(small_evaluated[0], path)
    return path


def test_projects_and_stalled(db, tmp_path):
    res = run(db, "projects", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["total"] == doc["kpis"]["projects"] > 0
    res = run(db, "projects", "--region", "331100", "--by", "pairing", "--xlsx", str(tmp_path / "p.xlsx"))
    assert res.exit_code == 0, res.output
    assert "履约率" in res.stdout and (tmp_path / "p.xlsx").exists()
    assert {"项目跟踪", "停滞项目", "指标", "指标分结对", "说明"} <= set(fastexcel.read_excel(str(tmp_path / "p.xlsx")).sheet_names)
    res = run(db, "stalled", "--json")
    assert res.exit_code == 0 and all(p["why"] for p in json.loads(res.stdout)["projects"])
    assert run(db, "projects", "--light", "blue").exit_code != 0


def test_leads_rank_and_transfer(db, tmp_path):
    res = run(db, "leads", "--region", JINGNING, "--json")
    assert res.exit_code == 0, res.output
    assert f"LD{JINGNING}001" in {x["lead_id"] for x in json.loads(res.stdout)["leads"]}
    res = run(db, "rank-lead", f"LD{JINGNING}001", "--limit", "5", "--xlsx", str(tmp_path / "r.xlsx"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.xlsx").exists() and "得分" in res.stdout
    res = run(db, "transfer", f"LD{JINGNING}001", "--to", "330110", "--date", "2024-03-01", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["from_adcode"] == JINGNING
    again = run(db, "transfer", f"LD{JINGNING}001", "--to", "330110")
    assert again.exit_code != 0


def test_ledger(db, tmp_path):
    res = run(db, "ledger", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["check"]["equal"] is True
    res = run(db, "ledger", "--region", "331100", "--year", str(doc["year"]), "--xlsx", str(tmp_path / "l.xlsx"))
    assert res.exit_code == 0, res.output
    assert {"台账", "分县", "首谈积分", "说明"} <= set(fastexcel.read_excel(str(tmp_path / "l.xlsx")).sheet_names)
