"""``shanhai zones`` (cli.zones): methods, evaluate (several years in order), runs, ranking, show,
history and export, with --json documents that agree with the jobs layer, --region scope and
one-sentence errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import fastexcel
import pytest
from typer.testing import CliRunner

from shanhai.cli import zones as cz
from shanhai.errors import ShanhaiError
from shanhai.store.scope import OutOfScopeError

JINGNING = "331127"


def run(db, *args):
    return CliRunner().invoke(cz.app, [*args, "--db", str(db)] if db else list(args))


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("zones_cli") / "zones.duckdb"
    shutil.copy(small_db, path)
    return path


def test_methods():
    res = run(None, "methods", "--json")
    assert res.exit_code == 0, res.output
    names = {m["name"] for m in json.loads(res.stdout)}
    assert {"zhejiang-2021", "mofcom-2021", "lishui-2020"} <= names
    res = run(None, "methods")
    assert res.exit_code == 0 and "对外开放" in res.stdout and "山海设定参数" in res.stdout


def test_evaluate_ranking_show_history_export(db, tmp_path):
    res = run(db, "evaluate", "--year", "2024", "--year", "2022", "--year", "2023", "--json")
    assert res.exit_code == 0, res.output
    runs = json.loads(res.stdout)
    assert [r["year"] for r in runs] == [2022, 2023, 2024]
    assert runs[0]["previous_run_id"] is None and runs[2]["previous_run_id"] == runs[1]["run_id"]
    res = run(db, "runs", "--json")
    assert {r["run_id"] for r in json.loads(res.stdout)} >= {r["run_id"] for r in runs}

    res = run(db, "ranking", "--json")
    doc = json.loads(res.stdout)
    assert doc["basis"]["run_id"] == runs[-1]["run_id"] and doc["groups"]
    group = doc["groups"][0]["key"]
    res = run(db, "ranking", "--group", group, "--year", "2023")
    assert res.exit_code == 0, res.output
    assert runs[1]["run_id"] in res.stdout and doc["groups"][0]["label"] in res.stdout

    res = run(db, "show", f"Z{JINGNING}", "--region", JINGNING, "--json")
    assert res.exit_code == 0, res.output
    zone = json.loads(res.stdout)
    assert zone["points_total"] == pytest.approx(zone["result"]["total_score"], abs=1e-6)
    assert [h["year"] for h in zone["history"]] == [2022, 2023, 2024]
    res = run(db, "show", f"Z{JINGNING}")
    assert res.exit_code == 0 and "合计 total" in res.stdout and "亩均增加值" in res.stdout
    res = run(db, "history", f"Z{JINGNING}", "--json")
    assert [h["run_id"] for h in json.loads(res.stdout)] == [r["run_id"] for r in runs]

    path = tmp_path / "zones.xlsx"
    res = run(db, "export", "--xlsx", str(path), "--region", JINGNING)
    assert res.exit_code == 0, res.output
    book = fastexcel.read_excel(str(path))
    assert book.sheet_names == ["排名", "指标得分", "说明"]
    detail = book.load_sheet_by_name("指标得分").to_arrow().to_pylist()
    assert detail and {r["开发区"] for r in detail} == {zone["zone"]["name"]}


def test_scope_and_errors(db):
    res = run(db, "show", "Z330102", "--region", JINGNING)
    assert isinstance(res.exception, OutOfScopeError)
    res = run(db, "evaluate", "--year", "1999")
    assert isinstance(res.exception, ShanhaiError) and "no firm figures for 1999" in str(res.exception)
    res = run(db, "ranking", "--method", "nope")
    assert isinstance(res.exception, ShanhaiError) and "unknown zone method" in str(res.exception)


def test_the_registered_command_prints_one_line(db):
    """Through ``shanhai`` itself: a user error is one line on stderr and exit code 2."""
    done = subprocess.run([sys.executable, "-m", "shanhai", "zones", "show", "Z999999", "--db", str(db)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "no zone 'Z999999'" in done.stderr
