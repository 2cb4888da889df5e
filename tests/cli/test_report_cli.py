"""``shanhai report mujun``: writes the briefing where it is told, prints the path, records the
export in the audit log, and refuses mistakes in one line."""

from __future__ import annotations

import io
import json
import shutil
from types import SimpleNamespace

import docx
import pytest
import typer.main
from typer.testing import CliRunner

from shanhai.jobs import mujun
from shanhai.store import open_store
from test_cli import assert_user_error, shanhai  # noqa: E402 (tests/cli is on sys.path)


def _app():
    from shanhai.cli import app

    if "report" in typer.main.get_command(app).commands:
        return app, ["report"]
    from shanhai.cli.report import app as group       # the main app is being edited elsewhere
    return group, []


@pytest.fixture(scope="module")
def env(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("report_cli") / "cli.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        run = mujun.run(store, "zhejiang-2018", 2023).run_id
        county = store.con.execute(
            f"SELECT county_adcode FROM mujun_results WHERE run_id = '{run}' GROUP BY 1 "
            "ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]
        name = store.con.execute(f"SELECT name FROM regions WHERE adcode = '{county}'").fetchone()[0]
    return SimpleNamespace(db=str(path), run=run, county=county, name=name)


def invoke(*args: str):
    app, prefix = _app()
    return CliRunner().invoke(app, [*prefix, "mujun", *args])


def test_writes_a_word_briefing_into_a_folder(env, tmp_path):
    result = invoke("--run", env.run, "--region", env.county, "--format", "docx", "--out", str(tmp_path),
                    "--db", env.db)
    assert result.exit_code == 0, (result.output, result.exception)
    path = tmp_path / f"{env.name}2023年度亩均效益综合评价专报.docx"
    assert path.exists() and str(path) in result.output.replace("\n", "")
    d = docx.Document(io.BytesIO(path.read_bytes()))
    assert any(env.name in p.text for p in d.paragraphs)
    with open_store(env.db, read_only=True) as store:
        action, target, detail = store.con.execute(
            "SELECT action, target, detail FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    assert action == "export" and target == env.run
    detail = json.loads(detail)
    assert detail["kind"] == "briefing.mujun" and detail["format"] == "docx" and detail["region"] == env.county
    assert detail["path"] == str(path.resolve()) and detail["bytes"] == path.stat().st_size   # absolute, as every export


def test_json_and_english_workbook(env, tmp_path):
    out = tmp_path / "b.xlsx"
    result = invoke("--region", env.county, "--format", "xlsx", "--lang", "en", "--out", str(out), "--db", env.db,
                    "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    doc = json.loads(result.stdout)
    assert doc["path"] == str(out) and doc["run_id"] == env.run and doc["bytes"] == out.stat().st_size
    assert doc["media_type"].endswith("spreadsheetml.sheet")


def test_mistakes_are_one_line(env, tmp_path):
    assert_user_error(shanhai("report", "mujun", "--format", "odt", "--db", env.db), "--format")
    assert_user_error(shanhai("report", "mujun", "--format", "pdf", "--out", str(tmp_path / "x.docx"),
                              "--db", env.db), "--out", ".pdf")
    assert_user_error(shanhai("report", "mujun", "--region", "339999", "--format", "docx",
                              "--out", str(tmp_path), "--db", env.db), "339999")
    assert_user_error(shanhai("report", "mujun", "--run", "nope", "--format", "docx", "--db", env.db), "nope")
    assert not list(tmp_path.iterdir())


def test_pdf_through_the_installed_command(env, tmp_path):
    result = shanhai("report", "mujun", "--region", env.county, "--out", str(tmp_path), "--db", env.db)
    assert result.returncode == 0, result.stderr
    files = list(tmp_path.glob("*.pdf"))
    assert len(files) == 1 and files[0].read_bytes()[:5] == b"%PDF-"
    assert str(files[0]) in result.stdout.replace("\n", "")
