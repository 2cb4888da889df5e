"""``shanhai coop profile|counties|targets|enclaves``: --json is one JSON document, the tables
print (with the unverified-category mark), --xlsx writes the workbook and refuses to overwrite,
mistakes are ShanhaiErrors. The commands are tested through the main app once ``coop`` is
registered there, else on their own."""

from __future__ import annotations

import json
import re

import fastexcel
import pytest
import typer
import typer.main
from typer.testing import CliRunner

from shanhai.errors import ShanhaiError

COMMANDS = ("profile", "counties", "targets", "enclaves")


def _registered() -> bool:
    try:
        from shanhai.cli import app
        coop = typer.main.get_command(app).commands.get("coop")
        return coop is not None and set(COMMANDS) <= set(getattr(coop, "commands", {}))
    except Exception:  # the main app is being edited elsewhere: test the commands on their own
        return False


REGISTERED = _registered()


def _standalone() -> typer.Typer:
    from shanhai.cli import coop_profile

    coop = typer.Typer()
    for name in COMMANDS:
        coop.command(name)(getattr(coop_profile, name))
    app = typer.Typer()
    app.add_typer(coop, name="coop")
    return app


def invoke(*args: str):
    if REGISTERED:
        from shanhai.cli import app
    else:
        app = _standalone()
    return CliRunner().invoke(app, ["coop", *args])


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    """A copy: --xlsx records the export in the audit log, and the session's database stays as built."""
    import shutil

    path = tmp_path_factory.mktemp("coop_profile_cli") / "coop.duckdb"
    shutil.copy(small_db, path)
    return str(path)


def test_profile_json_and_table(db):
    result = invoke("profile", "--region", "331127", "--db", db, "--json", "--top", "3")
    assert result.exit_code == 0, (result.output, result.exception)
    doc = json.loads(result.stdout)
    assert doc["county"]["adcode"] == "331127" and doc["xlsx"] is None
    assert len(doc["suggestions"]["develop"]) <= 3 and doc["targets"][0]["unverified"]
    shown = invoke("profile", "--region", "331127", "--db", db)
    assert shown.exit_code == 0, (shown.output, shown.exception)
    assert "景宁畲族自治县" in shown.output and "待核实" in shown.output and "丽景民族工业园" in shown.output


def test_counties_targets_enclaves(db):
    counties = invoke("counties", "--db", db, "--json")
    assert counties.exit_code == 0, counties.exception
    assert len(json.loads(counties.stdout)["rows"]) == 26
    targets = invoke("targets", "--db", db, "--json")
    doc = json.loads(targets.stdout)
    assert [i["target_year"] for i in doc["items"]].count(2025) == 6 and all(i["light"] for i in doc["items"])
    table = invoke("targets", "--db", db)
    assert table.exit_code == 0 and "序时" in table.output and "seed 000" in table.output
    enclaves = invoke("enclaves", "--db", db)
    assert enclaves.exit_code == 0 and "镇海—龙游" in enclaves.output and "10 / 30" in enclaves.output
    assert "待核实" in invoke("counties", "--db", db).output


def test_xlsx(db, tmp_path):
    path = tmp_path / "coop.xlsx"
    result = invoke("counties", "--db", db, "--xlsx", str(path), "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    assert json.loads(result.stdout)["xlsx"] == str(path)
    assert fastexcel.read_excel(str(path)).sheet_names == ["山区26县", "行动计划目标", "说明"]
    again = invoke("targets", "--db", db, "--xlsx", str(path))
    assert isinstance(again.exception, ShanhaiError) and "already exists" in str(again.exception)
    assert invoke("targets", "--db", db, "--xlsx", str(path), "--force").exit_code == 0
    book = tmp_path / "p.xlsx"
    assert invoke("profile", "--region", "330825", "--db", db, "--xlsx", str(book)).exit_code == 0
    assert fastexcel.read_excel(str(book)).sheet_names[0] == "概况"
    assert invoke("enclaves", "--db", db, "--xlsx", str(tmp_path / "e.xlsx")).exit_code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["profile", "--region", "330603"], "26"),
    (["profile", "--region", "999999"], "999999"),
    (["counties", "--year", "1999"], "1999"),
    (["targets", "--xlsx", "out.csv"], ".xlsx"),
])
def test_mistakes_are_shanhai_errors(db, tmp_path, args, message):
    args = [a.replace("out.csv", str(tmp_path / "out.csv")) for a in args]
    result = invoke(*args, "--db", db)
    assert result.exit_code != 0
    assert isinstance(result.exception, ShanhaiError) and message in str(result.exception), result.exception


def test_help_is_chinese_first():
    group = typer.main.get_command(_standalone()).commands["coop"]
    for name in COMMANDS:
        command = group.commands[name]
        assert re.match(r"[\u4e00-\u9fff]", command.help or ""), name
        for param in command.params:
            if getattr(param, "param_type_name", None) == "option" and param.help:
                assert re.match(r"[\u4e00-\u9fff]", param.help) or param.opts[0] in ("--db", "--json"), param.opts
