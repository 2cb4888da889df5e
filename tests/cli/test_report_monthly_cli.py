"""``shanhai report monthly``: writes the document (computing the month's index run once), audits
the export, and refuses bad options in one line."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from shanhai.cli import app


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("monthly_cli") / "monthly.duckdb"
    shutil.copy(small_db, path)
    return path


def run(db, *args):
    return CliRunner().invoke(app, ["report", "monthly", *args, "--db", str(db)])


def test_writes_pdf_and_word_and_audits(db, tmp_path):
    res = run(db, "--region", "331100", "--out", str(tmp_path), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["path"].endswith(".pdf") and (tmp_path / doc["path"].rsplit("/", 1)[1]).read_bytes()[:4] == b"%PDF"
    res = run(db, "--region", "331127", "--format", "docx", "--lang", "en", "--out", str(tmp_path / "m.docx"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m.docx").read_bytes()[:2] == b"PK"
    con = duckdb.connect(str(db), read_only=True)
    try:
        runs = con.execute("SELECT count(*) FROM runs WHERE kind = 'power_index'").fetchone()[0]
        exports = con.execute("SELECT count(*) FROM audit_log WHERE action = 'export' "
                              "AND target LIKE 'monthly:%'").fetchone()[0]
    finally:
        con.close()
    assert runs == 1            # the city's run covers its county: computed once
    assert exports == 2


@pytest.mark.parametrize("args, says", [(["--format", "xlsx"], "expected pdf, docx"),
                                        (["--lang", "fr"], "expected zh or en"),
                                        (["--out", "/tmp/x.docx"], "must end in .pdf"),
                                        (["--month", "June"], "expected YYYY-MM")])
def test_bad_options_are_one_line(db, args, says):
    res = run(db, *args)
    assert res.exit_code != 0
    assert says in (res.output + str(res.exception))
