"""``shanhai opportunities --region ADCODE``: --json is one JSON document, the table prints, --xlsx
writes the county's workbook, mistakes are ShanhaiErrors (one line, exit 2, once the command is
registered in ``shanhai``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from shanhai.errors import ShanhaiError
from shanhai.store import open_store


def _registered() -> bool:
    try:
        from shanhai.cli import app
        return "opportunities" in typer.main.get_command(app).commands
    except Exception:  # the main app is being edited elsewhere: test the command on its own
        return False


REGISTERED = _registered()


def _standalone() -> typer.Typer:
    from shanhai.cli.opportunities import opportunities

    app = typer.Typer()
    app.command("opportunities")(opportunities)
    app.callback()(lambda: None)      # keep the command's name on the command line, as in ``shanhai``
    return app


def invoke(*args: str):
    """Run ``shanhai opportunities ARGS`` through the main app once it has the command."""
    if REGISTERED:
        from shanhai.cli import app
    else:
        app = _standalone()
    return CliRunner().invoke(app, ["opportunities", *args])


@pytest.fixture(scope="module")
def env(small_db, tmp_path_factory):
    """A copy: --xlsx records the export in the audit log, and the session's database stays as built."""
    import shutil

    path = tmp_path_factory.mktemp("opportunities_cli") / "opportunities.duckdb"
    shutil.copy(small_db, path)
    with open_store(path, read_only=True) as store:
        county = store.con.execute("SELECT adcode FROM lead_industries ORDER BY adcode LIMIT 1").fetchone()[0]
    return {"db": str(path), "county": county}


def test_json_is_one_document(env):
    result = invoke("--region", env["county"], "--db", env["db"], "--json", "--top", "3")
    assert result.exit_code == 0, (result.output, result.exception)
    doc = json.loads(result.stdout)
    assert doc["adcode"] == env["county"] and doc["measure"] == "value_added" and doc["xlsx"] is None
    assert len(doc["develop"]) == 3 and len(doc["industries"]) == doc["provenance"]["classes"]
    assert doc["leads"] and all("reason_zh" in r for r in doc["develop"])


def test_tables_print(env):
    result = invoke("--region", env["county"], "--db", env["db"], "--measure", "headcount", "--top", "4")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "培育 Develop" in result.output and "做强 Strengthen" in result.output and "ECI" in result.output
    assert "从业人员" in result.output


def test_xlsx_workbook(env, tmp_path):
    import fastexcel

    path = tmp_path / "opportunities.xlsx"
    result = invoke("--region", env["county"], "--db", env["db"], "--json", "--xlsx", str(path))
    assert result.exit_code == 0, (result.output, result.exception)
    doc = json.loads(result.stdout)
    reader = fastexcel.read_excel(str(path))
    assert reader.sheet_names == ["汇总", "建议", "机会图", "全部行业", "说明"]
    assert doc["xlsx"]["sheets"]["全部行业"] == len(doc["industries"])
    rows = reader.load_sheet_by_name("全部行业", header_row=1).to_arrow()
    assert rows.num_rows == len(doc["industries"])
    assert sorted(rows.column(0).to_pylist()) == sorted(r["code"] for r in doc["industries"])
    again = invoke("--region", env["county"], "--db", env["db"], "--xlsx", str(path))
    assert isinstance(again.exception, ShanhaiError) and "already exists" in str(again.exception)
    assert invoke("--region", env["county"], "--db", env["db"], "--xlsx", str(path), "--force").exit_code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--region", "330100"], "is a city"),
    (["--region", "999999"], "999999"),
    (["--measure", "profit"], "unknown measure"),
    (["--xlsx", "out.csv"], ".xlsx"),
])
def test_mistakes_are_shanhai_errors(env, tmp_path, args, message):
    args = [a.replace("out.csv", str(tmp_path / "out.csv")) for a in args]
    if "--region" not in args:
        args += ["--region", env["county"]]
    result = invoke(*args, "--db", env["db"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ShanhaiError) and message in str(result.exception), result.exception


def test_help_is_chinese_first():
    command = typer.main.get_command(_standalone()).commands["opportunities"]
    assert re.match(r"[\u4e00-\u9fff]", command.help or "")
    for param in command.params:
        if getattr(param, "param_type_name", None) == "option" and param.help:
            assert re.match(r"[\u4e00-\u9fff]", param.help) or param.opts[0] in ("--db", "--json"), param.opts


@pytest.mark.skipif(not REGISTERED, reason="`shanhai opportunities` is not registered in shanhai.cli.app yet")
def test_one_line_error_and_exit_2(env):
    result = subprocess.run([sys.executable, "-m", "shanhai", "opportunities", "--db", env["db"],
                             "--region", "999999"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
    assert "999999" in result.stderr
