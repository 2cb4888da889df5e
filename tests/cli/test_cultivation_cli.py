"""``shanhai cultivate``: rules list/show, screen (stores a run), pool, candidates, firm with its
explanation, export --xlsx; --json agrees with the jobs layer; bad input is one line, exit code 2."""

from __future__ import annotations

import json
import shutil

import fastexcel
import pytest
from typer.testing import CliRunner

from shanhai.cli.app import app
from shanhai.errors import ShanhaiError
from shanhai.store import open_store


def run(db, *args):
    return CliRunner().invoke(app, ["cultivate", *args, "--db", str(db)])


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("cultivate_cli") / "c.duckdb"
    shutil.copy(small_db, path)
    return path


def test_rules_list_and_show():
    res = CliRunner().invoke(app, ["cultivate", "rules", "list", "--json"])
    assert res.exit_code == 0, res.output
    names = {r["name"] for r in json.loads(res.stdout)}
    assert {"specialised-2022", "specialised-2026", "scale-up-2011"} <= names
    res = CliRunner().invoke(app, ["cultivate", "rules", "show", "specialised-2026"])
    assert res.exit_code == 0 and "N-6" in res.stdout and "2号" in res.stdout
    res = CliRunner().invoke(app, ["cultivate", "rules", "show", "nope"])
    assert res.exit_code != 0


def test_screen_pool_candidates_firm_export(db, tmp_path):
    res = run(db, "screen", "--as-of", "2026-06-30", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["as_of"] == "2026-06-30" and "specialised-2026" in doc["counts"]
    res = run(db, "screen", "--region", "331100")
    assert res.exit_code == 0 and "已保存" in res.stdout
    with open_store(db, read_only=True) as store:
        assert store.con.execute("SELECT count(*) FROM runs WHERE kind = 'cultivation'").fetchone()[0] == 2
    res = run(db, "pool", "--region", "331100", "--json")
    pools = json.loads(res.stdout)
    assert res.exit_code == 0 and pools["basis"]["stored"] and all(c["adcode"].startswith("3311") for c in pools["counties"])
    res = run(db, "pool", "--run", doc["run_id"])
    assert res.exit_code == 0 and "specialised-2026" in res.stdout
    res = run(db, "candidates", "scale-up-2011", "--json", "--run", doc["run_id"])
    cand = json.loads(res.stdout)
    assert res.exit_code == 0 and cand["total"] == len(cand["firms"]) > 0
    uscc = cand["firms"][0]["uscc"]
    res = run(db, "firm", uscc, "--as-of", "2026-06-30")
    assert res.exit_code == 0 and "小升规" in res.stdout and uscc in res.stdout
    res = run(db, "firm", uscc, "--json")
    assert json.loads(res.stdout)["uscc"] == uscc
    out = tmp_path / "c.xlsx"
    res = run(db, "export", "--xlsx", str(out), "--region", "331127")
    assert res.exit_code == 0 and out.exists()
    assert fastexcel.read_excel(out.read_bytes()).sheet_names[0] == "培育库"


def test_bad_input_is_a_clear_shanhai_error(db):
    # the entry point (cli.app.main) prints a ShanhaiError as one line with exit code 2
    for args, message in ((("screen", "--year", "1990"), "no annual figures for 1990"),
                          (("screen", "--rules", "nope"), "unknown cultivation rule set"),
                          (("firm", "91330000MA00000000"), "not in the register"),
                          (("candidates", "scale-up-2011", "--outcome", "maybe"), "outcome")):
        res = run(db, *args)
        assert isinstance(res.exception, ShanhaiError) and message in str(res.exception), (args, res.output)
