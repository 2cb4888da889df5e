"""The hostile corpus: every file imports without a traceback, every bad row is explained, every
good row loads (the exact rows in the database); file-level problems are one ShanhaiError that
names the file. Then the same through the real command line."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import corpus
import fastexcel
import pytest
import xlsxwriter
from corpus import ANY, uscc

from shanhai.errors import ShanhaiError
from shanhai.ingest import import_file, kind as kind_spec

CASES = corpus.cases()


def _params(refused: bool) -> list:
    return [pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else [])
            for name, case in CASES.items() if case.refused == refused]


LOADING = _params(refused=False)
REFUSED = _params(refused=True)


def _same(actual, expected) -> bool:
    if isinstance(expected, float) and isinstance(actual, float):
        return math.isclose(actual, expected, rel_tol=1e-12, abs_tol=1e-12)
    return actual == expected and type(actual) is type(expected) if expected is not None else actual is None


def match_problems(problems, expected: list[corpus.Reject]) -> list[str]:
    """Differences between the engine's problems and the expected ones (empty when they agree):
    the same number of problems per row, each expected one matched by a distinct problem."""
    out = []
    got_rows, want_rows = Counter(p.row for p in problems), Counter(r.row for r in expected)
    if got_rows != want_rows:
        out.append(f"problems per row: got {dict(sorted(got_rows.items()))}, expected {dict(sorted(want_rows.items()))}")
    left = list(problems)
    for want in expected:
        for p in left:
            if (p.row == want.row and want.column in (p.column or "") and want.reason in p.message
                    and (want.value is ANY or p.value == want.value)):
                left.remove(p)
                break
        else:
            near = [p for p in problems if p.row == want.row]
            out.append(f"no problem matches {want}; row {want.row} has {near}")
    return out


def check_explained(problems) -> None:
    for p in problems:
        assert isinstance(p.row, int) and p.row >= 1, p
        assert isinstance(p.column, str) and p.column.strip(), p
        assert isinstance(p.message, str) and p.message.strip(), p
        assert p.value is None or isinstance(p.value, str), p


# ---------------------------------------------------------------------------- the corpus, in-process


@pytest.mark.parametrize("name", LOADING)
def test_hostile_file_loads_exactly(name, store, tmp_path):
    case = CASES[name]
    path = corpus.generate(case, tmp_path / "in")
    table = kind_spec(case.kind).table
    before = corpus.table_rows(store.con, table)

    if case.may_refuse is not None:
        try:
            result = import_file(store, case.kind, path, year=case.year)
        except ShanhaiError as exc:
            assert path.name in str(exc) and all(f in str(exc) for f in case.may_refuse), str(exc)
            assert corpus.table_rows(store.con, table) == before
            return
    else:
        result = import_file(store, case.kind, path, year=case.year)

    after = corpus.table_rows(store.con, table)
    added = {k: v for k, v in after.items() if k not in before}
    assert {k: after[k] for k in before} == before, "rows already in the table changed"
    assert sorted(added, key=str) == sorted(case.loaded, key=str)
    wrong = {(key, column): (added[key][column], value)
             for key, values in case.loaded.items() for column, value in values.items()
             if not _same(added[key][column], value)}
    assert not wrong, f"(key, column): (stored, expected) = {wrong}"

    assert result.inserted == len(case.loaded)
    assert result.updated == result.unchanged == 0
    assert result.rows_in == result.inserted + result.updated + result.unchanged + result.rejected
    check_explained(result.rejects)
    assert match_problems(result.rejects, case.rejects) == []
    assert result.rejected == len({p.row for p in result.rejects}) or case.kind == "electricity"
    assert match_problems(result.warnings, case.warnings) == []
    stored = store.con.execute("SELECT count(*) FROM import_rejects WHERE dataset_id = ?",
                               [result.dataset_id]).fetchone()[0]
    assert stored == len(result.rejects)

    assert len(result.unknown_columns) == len(case.unknown_columns), result.unknown_columns
    for header in case.unknown_columns:
        assert any(header in text for text in result.unknown_columns), (header, result.unknown_columns)
        assert any(header in note for note in result.notes), result.notes
    if case.blank_rows is not None:
        assert result.blank_rows == case.blank_rows
    if case.total_rows is not None:
        assert result.total_rows == case.total_rows
    if case.header_rows is not None:
        assert result.header_rows == case.header_rows
    if case.encoding is not None:
        assert result.encoding in case.encoding
    if case.rows_in is not None:
        assert result.rows_in == case.rows_in


@pytest.mark.parametrize("name", REFUSED)
def test_hostile_file_refused_naming_it(name, store, tmp_path):
    case = CASES[name]
    path = corpus.generate(case, tmp_path / "in")
    before = corpus.content_checksums(store)
    with pytest.raises(ShanhaiError) as caught:
        import_file(store, case.kind, path, year=case.year)
    message = str(caught.value)
    assert path.name in message, message
    assert "\n" not in message.strip(), message
    for fragment in case.error:
        assert fragment in message, (fragment, message)
    assert corpus.content_checksums(store) == before


def test_missing_file_and_unknown_kind(store, tmp_path):
    missing = tmp_path / "没有这个文件.xlsx"
    with pytest.raises(ShanhaiError, match="没有这个文件.xlsx"):
        import_file(store, "enterprises", missing)
    with pytest.raises(ShanhaiError, match="enterprise-years"):
        import_file(store, "companies", tmp_path)


def test_gb18030_character_round_trips(store, tmp_path):
    path = corpus.generate(CASES["gb18030_csv"], tmp_path)
    assert "𠀀".encode("gb18030") in path.read_bytes()
    import_file(store, "enterprises", path)
    names = [r[0] for r in store.con.execute("SELECT name FROM enterprises WHERE name LIKE '%𠀀%'").fetchall()]
    assert names == ["𠀀科技有限公司"]


def test_same_rows_in_every_encoding(store, tmp_path):
    """One table written as GBK, GB18030, UTF-8 and UTF-8 with BOM imports to the same rows."""
    rows = [corpus.ENT_HEADER[:4], [uscc(2100), "编码测试有限公司", "柯桥区", "1752"]]
    results = []
    for encoding in ("gbk", "gb18030", "utf-8", "utf-8-sig"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(corpus._csv(rows, encoding))
        results.append(import_file(store, "enterprises", path))
    assert [(r.inserted, r.unchanged, r.rejected) for r in results] == [(1, 0, 0)] + [(0, 1, 0)] * 3
    assert store.con.execute("SELECT name FROM enterprises WHERE uscc = ?", [uscc(2100)]).fetchone()[0] \
        == "编码测试有限公司"


def test_explicit_encoding_that_does_not_fit(store, tmp_path):
    path = tmp_path / "utf8.csv"
    path.write_bytes(corpus._csv([corpus.ENT_HEADER[:4], [uscc(2101), "编码", "柯桥区", "1752"]], "gb18030"))
    with pytest.raises(ShanhaiError, match="utf8.csv"):
        import_file(store, "enterprises", path, encoding="utf-8")
    with pytest.raises(ShanhaiError, match="encoding"):
        import_file(store, "enterprises", path, encoding="klingon")


# ---------------------------------------------------------------------------- engine bugs (xfail)


def _wide(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    corpus._write_xlsx([header, *rows])(path)
    return path


def test_wide_electricity_month_columns_keep_their_own_units(store, tmp_path):
    path = _wide(tmp_path / "mixed.xlsx", ["统一社会信用代码", "1月(万千瓦时)", "2月(千瓦时)", "3月"],
                 [[uscc(40), 12, 5000, 3]])
    result = import_file(store, "electricity", path, year=2023)
    assert result.inserted == 3
    kwh = dict(store.con.execute("SELECT month(month), kwh FROM electricity_monthly").fetchall())
    assert kwh == {1: 120000.0, 2: 5000.0, 3: 3.0}


def test_wide_electricity_reject_names_the_month_column(store, tmp_path):
    path = _wide(tmp_path / "wide.xlsx", ["统一社会信用代码"] + [f"{m}月" for m in range(1, 13)],
                 [[uscc(40)] + [1] * 11 + [-1]])
    result = import_file(store, "electricity", path, year=2023)
    assert [(p.row, p.column, p.value) for p in result.rejects] == [(2, "12月", "-1")]


def test_wide_electricity_blank_markers_are_empty_cells(store, tmp_path):
    path = _wide(tmp_path / "wide.xlsx", ["统一社会信用代码"] + [f"{m}月" for m in range(1, 13)],
                 [[uscc(40), 5] + ["—", "-", "无", "/"] + [None] * 7])
    result = import_file(store, "electricity", path, year=2023)
    assert (result.inserted, result.rejected) == (1, 0)
    assert store.con.execute("SELECT month(month), kwh FROM electricity_monthly").fetchall() == [(1, 5.0)]


def test_wide_electricity_year_in_headers(store, tmp_path):
    path = _wide(tmp_path / "wide.xlsx", ["统一社会信用代码"] + [f"2023年{m}月" for m in range(1, 13)],
                 [[uscc(40)] + [1] * 12])
    result = import_file(store, "electricity", path)
    assert result.inserted == 12
    assert store.con.execute("SELECT DISTINCT year(month) FROM electricity_monthly").fetchall() == [(2023,)]


# ---------------------------------------------------------------------------- the real command line


def shanhai(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SHANHAI_DB"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "shanhai", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=300)


def read_rejects_workbook(path: Path) -> list[tuple[int, str, str | None, str]]:
    sheet = fastexcel.read_excel(str(path)).load_sheet("被拒绝的单元格", dtypes="string")
    columns = sheet.to_arrow().to_pydict()
    names = list(columns)
    assert names == ["源文件行号 row", "列 column", "值 value", "原因 reason"], names
    return [(int(float(r)), c, v or None, m) for r, c, v, m in zip(*(columns[n] for n in names))]


def test_cli_import_with_rejects_writes_the_rejects_workbook(db_path, tmp_path):
    case = CASES["bad_keys"]
    path = corpus.generate(case, tmp_path / "in")
    done = shanhai("import", "enterprises", path, "--db", db_path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "已导入 Imported" in done.stdout and case.filename in done.stdout
    workbook = path.with_name(path.name + ".rejects.xlsx")
    assert workbook.exists(), done.stdout
    assert str(workbook) in done.stdout
    rows = read_rejects_workbook(workbook)
    problems = [corpus.Reject(r, c, v, m) for r, c, v, m in rows]

    class P:  # the workbook's rows in the shape of Problem
        def __init__(self, r):
            self.row, self.column, self.value, self.message = r.row, r.column, r.value, r.reason

    assert match_problems([P(p) for p in problems], case.rejects) == []
    info = fastexcel.read_excel(str(workbook)).load_sheet("说明", header_row=None, dtypes="string").to_arrow()
    facts = dict(zip(info.column(0).to_pylist(), info.column(1).to_pylist()))
    assert facts["拒绝行 rejected rows"] in ("12", "12.0")


@pytest.mark.parametrize("problem", [
    "truncated_xlsx",
    "png_as_xlsx",
    "missing_file",
    "unknown_kind",
])
def test_cli_file_level_problem_is_one_line_exit_2(problem, db_path, tmp_path):
    if problem == "missing_file":
        path, kind = tmp_path / "不存在.xlsx", "enterprises"
    elif problem == "unknown_kind":
        path, kind = corpus.generate(CASES["bad_keys"], tmp_path), "companies"
    else:
        path, kind = corpus.generate(CASES[problem], tmp_path), "enterprises"
    done = shanhai("import", kind, path, "--db", db_path, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("错误 error:")
    assert (path.name in lines[0]) if problem != "unknown_kind" else ("companies" in lines[0])


def test_cli_file_level_problem_has_no_traceback_and_names_the_file(db_path, tmp_path):
    """What holds today for every file-level problem, whatever the progress bar prints."""
    for name in ("truncated_xlsx", "png_as_xlsx", "empty_csv", "headerless", "missing_required"):
        path = corpus.generate(CASES[name], tmp_path)
        done = shanhai("import", "enterprises", path, "--db", db_path, cwd=tmp_path)
        assert done.returncode == 2, (name, done.stderr)
        assert "Traceback" not in done.stderr, (name, done.stderr)
        errors = [line for line in done.stderr.splitlines() if line.startswith("错误 error:")]
        assert len(errors) == 1 and path.name in errors[0], (name, done.stderr)


def test_cli_json_is_one_document(db_path, tmp_path):
    path = corpus.generate(CASES["units_in_cells"], tmp_path)
    done = shanhai("import", "enterprise-years", path, "--db", db_path, "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)       # the whole of stdout, one document
    assert document["kind"] == "enterprise-years"
    assert document["inserted"] == 3 and document["rejected"] == 4 and document["loaded"] == 3
    assert document["rows_in"] == 7
    assert len(document["rejects"]) == 4
    assert {p["row"] for p in document["rejects"]} == {5, 6, 7, 8}
    assert document["rejects_file"].endswith(".rejects.xlsx")


def test_cli_dry_run_writes_nothing(db_path, tmp_path):
    from shanhai.store import open_store

    path = corpus.generate(CASES["bad_keys"], tmp_path)
    with open_store(db_path) as store:
        before = corpus.content_checksums(store)
        audit_before = store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    done = shanhai("import", "enterprises", path, "--db", db_path, "--dry-run", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["dry_run"] is True
    assert (document["inserted"], document["rejected"]) == (3, 12)
    assert not path.with_name(path.name + ".rejects.xlsx").exists()
    with open_store(db_path) as store:
        assert corpus.content_checksums(store) == before
        assert store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audit_before
    # the dry run's counts are what the real import then does
    done = shanhai("import", "enterprises", path, "--db", db_path, "--json", cwd=tmp_path)
    real = json.loads(done.stdout)
    assert [real[k] for k in ("inserted", "updated", "unchanged", "rejected")] == \
        [document[k] for k in ("inserted", "updated", "unchanged", "rejected")]


def test_cli_dry_run_rejects_only_where_asked(db_path, tmp_path):
    path = corpus.generate(CASES["bad_keys"], tmp_path)
    target = tmp_path / "拒绝.xlsx"
    done = shanhai("import", "enterprises", path, "--db", db_path, "--dry-run", "--rejects", target, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "dry run" in done.stdout
    assert len(read_rejects_workbook(target)) == 12


def test_cli_year_and_sheet_options(db_path, tmp_path):
    path = tmp_path / "两个表.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    workbook.add_worksheet("说明").write(0, 0, "本工作簿第二个表是数据")
    data = workbook.add_worksheet("2024年")
    data.write_row(0, 0, ["统一社会信用代码", "主营业务收入(亿元)"])
    data.write_row(1, 0, [uscc(50), 0.3])
    workbook.close()
    done = shanhai("import", "enterprise-years", path, "--db", db_path, "--year", 2024, "--sheet", "2024年",
                   "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["sheet"], document["inserted"]) == ("2024年", 1)
    done = shanhai("import", "enterprise-years", path, "--db", db_path, "--sheet", "没有", cwd=tmp_path)
    assert done.returncode == 2 and "没有" in done.stderr and "2024年" in done.stderr
