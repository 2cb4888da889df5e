"""``shanhai index …``: a run is stored and printed, the tables and --json documents agree with the
jobs layer, the workbook is written, bad input is one clear line."""

from __future__ import annotations

import json
import shutil

import fastexcel
import pytest
from typer.testing import CliRunner

from shanhai.cli import app


def run(db, *args):
    return CliRunner().invoke(app, ["index", *args, "--db", str(db)])


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("index_cli") / "index.duckdb"
    shutil.copy(small_db, path)
    return path


def test_run_list_show_and_export(db, tmp_path):
    res = run(db, "run", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["run_id"].startswith("power-") and len(doc["periods"]) == 13
    res = run(db, "runs", "--json")
    assert [r["run_id"] for r in json.loads(res.stdout)] == [doc["run_id"]]

    res = run(db, "production", "--region", "331100", "--json")
    cells = json.loads(res.stdout)
    assert cells["total"]["adcode"] == "331100" and cells["rows"]
    res = run(db, "production", "--region", "331100")
    assert res.exit_code == 0 and "丽水市" in res.stdout and "运行指数" in res.stdout

    res = run(db, "production", "--by", "region", "--region", "331100", "--json")
    subs = json.loads(res.stdout)
    assert {r["level"] for r in subs["rows"]} == {"county"}

    res = run(db, "chains", "--region", "330200", "--json")
    chain = json.loads(res.stdout)
    assert chain["kind"] == "chain" and chain["rows"]

    res = run(db, "series", "--region", "331127", "--json")
    series = json.loads(res.stdout)
    assert [r["period"][:7] for r in series["rows"]] == doc["periods"]

    out = tmp_path / "indices.xlsx"
    res = run(db, "production", "--region", "331127", "--xlsx", str(out))
    assert res.exit_code == 0 and out.exists()
    assert fastexcel.read_excel(out.read_bytes()).sheet_names == ["行业", "地区", "产业链", "月度", "说明"]


def test_bad_input_is_one_clear_line(db):
    from shanhai.cli.app import main  # noqa: F401  (the entry point turns ShanhaiError into one line)

    res = run(db, "production", "--period", "June")
    assert res.exit_code != 0
    assert "expected YYYY-MM" in str(res.exception) or "expected YYYY-MM" in res.output
    res = run(db, "run", "--rules", "nosuch")
    assert res.exit_code != 0
    assert "unknown index rule set" in str(res.exception) or "unknown index rule set" in res.output
