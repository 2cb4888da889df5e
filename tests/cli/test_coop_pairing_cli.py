"""``shanhai coop pair`` / ``shanhai coop plan`` (``cli.coop_pairing``), mounted here on a Typer app of
their own (the project's app registers them under ``coop``): --json documents agree with the jobs
layer, the tables print, the workbook is written, and mistakes are ShanhaiErrors."""

from __future__ import annotations

import json
import shutil

import fastexcel
import pytest
import typer
from typer.testing import CliRunner

from shanhai.cli import coop_pairing
from shanhai.errors import ShanhaiError

cli = typer.Typer()
cli.command("pair")(coop_pairing.pair)
cli.command("plan")(coop_pairing.plan)


@pytest.fixture(scope="module")
def db(small_evaluated, tmp_path_factory):
    path = tmp_path_factory.mktemp("coop-cli") / "coop.duckdb"
    shutil.copy(small_evaluated[0], path)
    return path


def run(db, *args):
    return CliRunner().invoke(cli, [*args, "--db", str(db)])


def test_pair_stores_a_plan_and_plan_shows_it(db, tmp_path):
    res = run(db, "pair", "--region", "330300", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["status"] == "optimal" and doc["options"]["region"] == "330300" and doc["pairs"]
    assert all(1 <= len(c["pairs"]) <= 2 for c in doc["counties"] if c["included"])
    shown = run(db, "plan", doc["run_id"], "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout) == doc
    table = run(db, "plan")
    assert table.exit_code == 0 and doc["run_id"] in table.stdout and "最优方案" in table.stdout
    assert doc["counties"][0]["name"] in table.stdout
    listed = json.loads(run(db, "plan", "--list", "--json").stdout)["plans"]
    assert listed[0]["run_id"] == doc["run_id"]
    book = tmp_path / "plan.xlsx"
    res = run(db, "plan", doc["run_id"], "--xlsx", str(book))
    assert res.exit_code == 0 and book.exists()
    assert fastexcel.read_excel(str(book)).sheet_names == ["结对方案", "县域汇总", "说明"]
    with pytest.raises(ShanhaiError, match="already exists"):
        CliRunner().invoke(cli, ["plan", doc["run_id"], "--xlsx", str(book), "--db", str(db)],
                           catch_exceptions=False)


def test_options_reach_the_plan(db):
    res = run(db, "pair", "--region", "330300", "--min", "2", "--max", "2", "-k", "1", "--distinct-industries",
              "--within-city", "first", "--json")
    assert res.exit_code == 0, res.output
    o = json.loads(res.stdout)["options"]
    assert (o["per_county"], o["max_counties"], o["distinct_industries"], o["within_city_first"]) == \
        ([2, 2], 1, True, "first")
    strict = json.loads(run(db, "pair", "--strict", "--json").stdout)
    assert strict["status"] == "infeasible" and strict["problems"]
    text = run(db, "plan", strict["run_id"])
    assert "约束无法满足" in text.stdout and "没有任何可选企业" in text.stdout


@pytest.mark.parametrize("args, words", [
    (["pair", "--min", "3", "--max", "2"], "min ≤ max"),
    (["pair", "--within-city", "sometimes"], "within_city_first must be"),
    (["pair", "--region", "330200"], "no mountain county"),
    (["plan", "pairing-19990101T000000-000000"], "no pairing plan"),
])
def test_mistakes_are_shanhai_errors(db, args, words):
    with pytest.raises(ShanhaiError, match=words):
        CliRunner().invoke(cli, [*args, "--db", str(db)], catch_exceptions=False)
