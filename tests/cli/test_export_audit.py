"""Every command of ``shanhai`` that writes a file or a folder from the store records one ``export``
in the audit log, as the web records its downloads (等保 §8.1.4.3 a).

The commands are found by walking the Typer app: a command with a parameter of type Path (other
than --db and the input files below) or an option named like an output (--out, -o, --xlsx, --pdf …)
writes something. Each is either run here on a copy of a small evaluated province and must add
exactly one ``export`` record — action ``export``, result ``success``, user ``cli:<login>``, the
absolute path written in ``detail.path`` — or is listed with its reason in
``shanhai.cli._common.UNAUDITED_OUTPUTS`` and must add none. A new output option without either
fails ``test_every_output_command_is_audited_or_allow_listed``. The chain still verifies after all
of them, and a failed export leaves no record.
"""

from __future__ import annotations

import json
import shutil
import typing
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from shanhai.cli import app
from shanhai.cli._common import UNAUDITED_OUTPUTS
from shanhai.store import audit, open_store

OUTPUT_NAMES = {"--out", "-o", "--output", "--xlsx", "--xls", "--csv", "--pdf", "--docx", "--html", "--json-out",
                "--out-dir", "--folder", "--as-files", "--rejects"}
# Path parameters that name what a command reads, not what it writes.
INPUTS = {("import", "file"), ("policy validate", "files"), ("db restore", "src"), ("chains import", "file"),
          ("policy check", "folder")}

COUNTY = "331127"   # 景宁: a mountain county with firms, leads and projects in the synthetic province
CITY = "331100"     # 丽水

# How to run each audited command: its arguments with {out} for the file or folder written and
# {plan}, {year}, {run}, {item} for ids the module's database provides; and the target the record
# must carry (the web's target for the same download where there is one).
CASES: dict[str, tuple[list[str], str]] = {
    "evaluate mujun": (["--year", "{year}", "--region", COUNTY, "--out", "{out}.xlsx"], "mujun-"),
    "mujun export": (["--out", "{out}.xlsx", "--run", "{run}", "--county", COUNTY], "{run}"),
    "report mujun": (["--run", "{run}", "--region", COUNTY, "--format", "xlsx", "--out", "{out}.xlsx"], "{run}"),
    "report monthly": (["--region", COUNTY, "--format", "docx", "--out", "{out}.docx"], f"monthly:{COUNTY}"),
    "opportunities": (["--region", COUNTY, "--xlsx", "{out}.xlsx"], f"opportunities:{COUNTY}"),
    "db export-parquet": (["{out}", "--table", "regions", "--table", "enterprises"], "parquet"),
    "synth": (["--scale", "0.01", "--years", "2022-2023", "--as-files", "{out}"], "import_files"),
    "audit export": (["{out}.jsonl"], "audit_log"),
    "chains export": (["{out}.xlsx"], "chains"),
    "chains panorama": (["new_energy_vehicles", "--region", COUNTY, "--xlsx", "{out}.xlsx"],
                        f"chains:panorama:new_energy_vehicles:{COUNTY}"),
    "chains targets": (["--region", COUNTY, "--limit", "5", "--xlsx", "{out}.xlsx"], f"chains:targets:{COUNTY}"),
    "coop counties": (["--xlsx", "{out}.xlsx"], "coop:counties"),
    "coop profile": (["--region", COUNTY, "--xlsx", "{out}.xlsx"], f"coop:county:{COUNTY}"),
    "coop targets": (["--xlsx", "{out}.xlsx"], "coop:counties"),
    "coop enclaves": (["--xlsx", "{out}.xlsx"], "coop:enclaves"),
    "coop pair": (["--region", "330300", "--xlsx", "{out}.xlsx"], "coop:pairing:"),
    "coop plan": (["{plan}", "--xlsx", "{out}.xlsx"], "coop:pairing:{plan}"),
    "coop projects": (["--region", CITY, "--xlsx", "{out}.xlsx"], f"coop:projects:{CITY}"),
    "coop stalled": (["--region", CITY, "--xlsx", "{out}.xlsx"], f"coop:projects:{CITY}"),
    "coop rank-lead": ([f"LD{COUNTY}001", "--xlsx", "{out}.xlsx"], f"coop:lead:LD{COUNTY}001"),
    "coop ledger": (["--region", CITY, "--xlsx", "{out}.xlsx"], f"coop:ledger:{CITY}:"),
    "alerts export": (["--xlsx", "{out}.xlsx", "--region", CITY, "--status", "all"], f"alerts:{CITY}"),
    "index production": (["--region", COUNTY, "--xlsx", "{out}.xlsx"], f"indices:{COUNTY}"),
    "index chains": (["--region", COUNTY, "--xlsx", "{out}.xlsx"], f"indices:{COUNTY}"),
    "zones export": (["--xlsx", "{out}.xlsx", "--region", COUNTY], "zones:"),
    "service eligible": (["{item}", "--xlsx", "{out}.xlsx"], "service:{item}"),
    "service payout export": (["--xlsx", "{out}.xlsx", "--item", "{item}"], "service-payments:{item}"),
    "service requests export": (["--xlsx", "{out}.xlsx", "--region", CITY], f"service_requests:{CITY}"),
    "service lists export": (["--xlsx", "{out}.xlsx", "--region", CITY], f"service_lists:{CITY}"),
    "service pipeline export": (["--xlsx", "{out}.xlsx", "--region", CITY], f"service_pipeline:{CITY}"),
    "targets status": (["--region", CITY, "--month", "6", "--xlsx", "{out}.xlsx"], f"targets:{CITY}:"),
    "targets watch": (["--region", CITY, "--month", "6", "--xlsx", "{out}.xlsx"], f"targets:{CITY}:"),
    "targets index": (["--region", CITY, "--month", "6", "--xlsx", "{out}.xlsx"], f"targets:{CITY}:"),
    "targets export": (["--xlsx", "{out}.xlsx", "--region", CITY, "--month", "6"], f"targets:{CITY}:"),
    "cultivate export": (["--xlsx", "{out}.xlsx", "--region", COUNTY], f"cultivation:{COUNTY}"),
    "carbon export": (["--xlsx", "{out}.xlsx", "--region", COUNTY], "carbon:"),
    "carbon ledger balance": (["--region", COUNTY, "--xlsx", "{out}.xlsx"], f"transition:{COUNTY}"),
    "carbon ledger export": (["--xlsx", "{out}.xlsx", "--region", COUNTY], f"transition:{COUNTY}"),
}
# The allow-listed commands, run the same way: they must write their file and no export record.
# (arguments, whether the run writes its file: an archive is written only when records are past retention)
UNAUDITED_CASES: dict[str, tuple[list[str], bool]] = {
    "template": (["enterprises", "--out", "{out}.xlsx"], True),
    "import": (["enterprises", "{rejects_input}", "--rejects", "{out}.xlsx"], True),
    "db backup": (["{out}"], True),
    "audit archive": (["--to", "{out}"], False),
}
# The record an allow-listed command writes instead, where its reason names one.
OWN_RECORD = {"db backup": "db_backup", "import": "import"}


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name)), command


def _is_path(annotation) -> bool:
    return annotation is Path or any(_is_path(a) for a in typing.get_args(annotation))


def output_commands() -> dict[str, list[str]]:
    """Every command of the app that writes a file or folder → the parameters that name it."""
    found = {}
    for path, command in _commands(typer.main.get_command(app)):
        outputs = []
        for param in command.params:
            names = set(param.opts) | set(param.secondary_opts)
            if "--db" in names or (path, param.name) in INPUTS:
                continue
            annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            if names & OUTPUT_NAMES or _is_path(annotation):
                outputs.append(param.name)
        if outputs:
            found[path] = outputs
    return found


OUTPUTS = output_commands()
TAKES_DB = {path for path, command in _commands(typer.main.get_command(app))
            if any("--db" in p.opts for p in command.params)}


def test_the_walk_finds_the_known_outputs():
    # the discovery itself must see options, arguments and nested groups, or the tests below prove nothing
    assert OUTPUTS["mujun export"] == ["out_path"]
    assert OUTPUTS["chains export"] == ["file"]                       # an argument
    assert OUTPUTS["service requests export"] == ["xlsx"]             # a group inside a group
    assert OUTPUTS["carbon ledger balance"] == ["xlsx"]
    assert "import" in OUTPUTS and "chains import" not in OUTPUTS   # --rejects is an output, FILE an input
    assert len(OUTPUTS) >= 40


def test_every_output_command_is_audited_or_allow_listed():
    audited, allowed = set(CASES), set(UNAUDITED_OUTPUTS)
    assert not audited & allowed
    missing = sorted(set(OUTPUTS) - audited - allowed)
    assert not missing, (f"{missing} write files: record them with shanhai.cli._common.audit_export (and add a case "
                         "here), or list them with a reason in UNAUDITED_OUTPUTS")
    assert not (audited | allowed) - set(OUTPUTS), "cases for commands that no longer write a file"
    assert set(UNAUDITED_CASES) == allowed
    assert all(len(reason) > 20 for reason in UNAUDITED_OUTPUTS.values())


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture(scope="module")
def province(small_evaluated, tmp_path_factory):
    """The small evaluated province with what the exports read: index, zones, carbon, cultivation,
    service and alert runs, a pairing plan. Returns (path, ids)."""
    source, year, run_id = small_evaluated
    path = tmp_path_factory.mktemp("export_audit") / "province.duckdb"
    shutil.copy(source, path)
    db = ["--db", str(path)]
    item = "shengzhou-digital-titles-2023"
    prepared = [
        ["alerts", "scan"],
        ["index", "run", "--region", COUNTY],
        ["zones", "evaluate", "--year", str(year)],
        ["carbon", "grade", "--year", str(year), "--region", COUNTY],
        ["cultivate", "screen", "--region", COUNTY],
        ["service", "match", "--items", item],
        ["service", "lists", "build"],
        ["service", "pipeline", "run"],
    ]
    for args in prepared:
        res = invoke(*args, *db)
        assert res.exit_code == 0, (args, res.output, res.exception)
    res = invoke("coop", "pair", "--region", "330300", "--json", *db)
    assert res.exit_code == 0, res.output
    # a file with one good and one bad row, for `shanhai import --rejects`
    rejects_input = path.parent / "enterprises.csv"
    rejects_input.write_text("统一社会信用代码,企业名称,所在县,行业代码\nnot-a-uscc,某某公司,景宁畲族自治县,2412\n", "utf-8")
    ids = {"year": str(year), "run": run_id, "plan": json.loads(res.stdout)["run_id"], "item": item,
           "rejects_input": str(rejects_input)}
    with open_store(path) as store:
        assert audit.verify(store.con) is None
    return path, ids


@pytest.fixture
def copy(province, tmp_path):
    """A copy of the province per test: a command's writes stay its own."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(province[0], path)
    return path


def _exports(path: Path, after: int) -> list[dict]:
    with open_store(path, read_only=True) as store:
        rows = store.con.execute(
            f"SELECT seq, username, client, action, target, result, detail FROM audit_log "
            f"WHERE seq > {int(after)} AND action = 'export' ORDER BY seq").fetchall()
    cols = ("seq", "username", "client", "action", "target", "result", "detail")
    return [dict(zip(cols, r)) | {"detail": json.loads(r[6]) if r[6] else {}} for r in rows]


def _head(path: Path) -> int:
    with open_store(path, read_only=True) as store:
        return store.con.execute("SELECT coalesce(max(seq), 0) FROM audit_log").fetchone()[0]


def _argv(command: str, args: list[str], db: Path, out: Path, ids: dict) -> list[str]:
    values = {**ids, "out": str(out)}
    return [*command.split(), *(a.format(**values) for a in args), *(["--db", str(db)] if command in TAKES_DB else [])]


@pytest.mark.parametrize("command", sorted(OUTPUTS))
def test_an_export_writes_one_audit_record(command, province, copy, tmp_path):
    _, ids = province
    out = tmp_path / "out"
    db = tmp_path / "fresh.duckdb" if command == "synth" else copy   # synth builds its own province
    before = _head(db) if db.exists() else 0
    if command in UNAUDITED_OUTPUTS:
        args, writes = UNAUDITED_CASES[command]
        res = invoke(*_argv(command, args, db, out, ids))
        assert res.exit_code == 0, (res.output, res.exception)
        if writes:
            assert [p for p in tmp_path.iterdir() if p.name.startswith("out")], f"{command} wrote nothing"
        assert _exports(db, before) == [], f"{command} is allow-listed but recorded an export"
        if command in OWN_RECORD:
            with open_store(db, read_only=True) as store:
                assert store.con.execute(f"SELECT count(*) FROM audit_log WHERE seq > {before} "
                                         f"AND action = '{OWN_RECORD[command]}'").fetchone()[0] == 1
        return
    assert command in CASES, f"{command} writes a file but has no case here and is not allow-listed"
    args, target = CASES[command]
    res = invoke(*_argv(command, args, db, out, ids))
    assert res.exit_code == 0, (res.output, res.exception)
    written = [p for p in tmp_path.iterdir() if p.name.startswith("out")]
    assert len(written) == 1, written
    records = _exports(db, before)
    assert len(records) == 1, records
    rec = records[0]
    assert rec["result"] == "success" and rec["username"].startswith("cli:") and rec["client"] == "local"
    assert rec["target"].startswith(target.format(**ids)), rec["target"]
    detail = rec["detail"]
    assert Path(detail["path"]).resolve() == written[0].resolve()
    assert Path(detail["path"]).is_absolute() and detail["format"] and detail["kind"]
    size = (sum(p.stat().st_size for p in written[0].rglob("*") if p.is_file()) if written[0].is_dir()
            else written[0].stat().st_size)
    assert detail["bytes"] == size > 0
    # what the export was made from: a run, a region, a year or month, a plan, a lead, the tables …
    assert {"run", "region", "year", "month", "plan", "lead", "tables", "dataset", "chains"} & detail.keys(), detail
    with open_store(db, read_only=True) as store:
        assert audit.verify(store.con) is None


def test_a_failed_export_leaves_no_record(copy, tmp_path):
    before = _head(copy)
    # refused before writing (a run that does not exist), and failing while writing (no such folder)
    res = invoke("mujun", "export", "--out", str(tmp_path / "x.xlsx"), "--run", "mujun-nosuch", "--db", str(copy))
    assert res.exit_code != 0 and not (tmp_path / "x.xlsx").exists()
    res = invoke("alerts", "export", "--xlsx", str(tmp_path / "no" / "such" / "a.xlsx"), "--db", str(copy))
    assert res.exit_code != 0
    assert _exports(copy, before) == []


def test_an_export_whose_record_cannot_be_written_is_withdrawn(copy, tmp_path, monkeypatch):
    """If the audit record cannot be written (the database taken by another process, say), the file
    just written is removed and the command fails: nothing leaves the store without its record."""
    from shanhai.errors import ShanhaiError

    def refuse(*args, **kwargs):
        raise ShanhaiError("database is in use by another Shanhai process")

    before = _head(copy)
    monkeypatch.setattr(audit, "append", refuse)
    out = tmp_path / "alerts.xlsx"
    res = invoke("alerts", "export", "--xlsx", str(out), "--db", str(copy))
    assert res.exit_code != 0 and "export withdrawn" in str(res.exception), res.output
    assert not out.exists()
    folder = tmp_path / "parquet"
    res = invoke("db", "export-parquet", str(folder), "--table", "regions", "--db", str(copy))
    assert res.exit_code != 0 and "export withdrawn" in str(res.exception), res.output
    assert not (folder / "regions").exists()
    monkeypatch.undo()
    assert _exports(copy, before) == []


def test_the_chain_verifies_after_exports(province, copy, tmp_path):
    """Exports of each kind into one database (a folder, a workbook through a store reopened for the
    record, one through the command's own writable store), then `shanhai audit verify`: intact."""
    _, ids = province
    before = _head(copy)
    commands = ("db export-parquet", "alerts export", "zones export", "report mujun", "coop plan")
    for n, command in enumerate(commands):
        res = invoke(*_argv(command, CASES[command][0], copy, tmp_path / f"out{n}", ids))
        assert res.exit_code == 0, (command, res.output, res.exception)
    assert [r["target"].split(":")[0] for r in _exports(copy, before)] == [
        "parquet", "alerts", "zones", ids["run"].split(":")[0], "coop"]
    res = invoke("audit", "verify", "--db", str(copy), "--json")
    assert res.exit_code == 0, res.output


def test_export_is_read_only_on_the_web(copy, province, tmp_path):
    """The web's cached views count `export` among the actions that change no data: a command-line
    export leaves the head of the data-changing records where it was."""
    from shanhai.web.screens import READ_ONLY_ACTIONS, _changing

    assert "export" in READ_ONLY_ACTIONS
    before = _head(copy)
    res = invoke(*_argv("alerts export", CASES["alerts export"][0], copy, tmp_path / "out", province[1]))
    assert res.exit_code == 0, res.output
    with open_store(copy, read_only=True) as store:
        assert store.con.execute(_changing(before)).fetchone()[0] is None
        assert store.con.execute(f"SELECT count(*) FROM audit_log WHERE seq > {before}").fetchone()[0] == 1


TAKES_JSON = {path for path, command in _commands(typer.main.get_command(app))
              if any("--json" in p.opts for p in command.params)}


@pytest.mark.parametrize("command", sorted(c for c in CASES if c in TAKES_JSON))
def test_an_export_with_json_prints_one_json_document(command, province, copy, tmp_path):
    """With --json, stdout is one JSON document and nothing else — also when the command writes a
    file: its "written" line goes to stderr (the rule of cli._common)."""
    _, ids = province
    db = tmp_path / "fresh.duckdb" if command == "synth" else copy
    args, _target = CASES[command]
    res = CliRunner().invoke(app, [*_argv(command, args, db, tmp_path / "out", ids), "--json"])
    assert res.exit_code == 0, (res.output, res.exception)
    json.loads(res.stdout)
