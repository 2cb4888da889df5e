"""Import behaviour: re-import is a no-op, a corrected file updates exactly the changed cells with
their history, warnings load, units convert exactly, --year fills the year, the register gates
enterprise-years."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import corpus
import pytest
from corpus import uscc

from shanhai.ingest import import_file

CASES = corpus.cases()
REIMPORTABLE = [name for name, case in CASES.items()
                if not case.refused and case.may_refuse is None and case.xfail is None and case.loaded]


def write_csv(path, rows, encoding="utf-8"):
    path.write_bytes(corpus._csv(rows, encoding))
    return path


def counts(result) -> tuple[int, int, int, int]:
    return result.inserted, result.updated, result.unchanged, result.rejected


# ---------------------------------------------------------------------------- re-import


@pytest.mark.parametrize("name", REIMPORTABLE)
def test_reimporting_the_same_file_changes_nothing(name, store, tmp_path):
    case = CASES[name]
    path = corpus.generate(case, tmp_path)
    first = import_file(store, case.kind, path, year=case.year)
    assert first.inserted == len(case.loaded)
    before = corpus.content_checksums(store)
    assert {"datasets", "import_rejects", "import_warnings", "change_history"} <= set(before)

    again = import_file(store, case.kind, path, year=case.year)

    assert counts(again) == (0, 0, first.loaded, first.rejected)
    assert again.dataset_id == first.dataset_id
    assert [(p.row, p.column, p.value, p.message) for p in again.rejects] == \
        [(p.row, p.column, p.value, p.message) for p in first.rejects]
    after = corpus.content_checksums(store)
    assert {t: v for t, v in after.items() if v != before[t]} == {}


def test_reimport_of_values_finer_than_the_column_is_a_noop(store, tmp_path):
    """Values with more decimals than DECIMAL(18, 4) (2500.123456 万元, 1,234.5 元, 1.23 平方米)
    are rounded once; the next import compares the rounded value and finds nothing changed."""
    path = write_csv(tmp_path / "精度.csv", [["统一社会信用代码", "年份", "主营业务收入", "实缴税金(元)", "自有用地(平方米)"],
                                            [uscc(0), "2023", "2500.123456", "1234.5", "1.23"]])
    first = import_file(store, "enterprise-years", path)
    assert counts(first) == (1, 0, 0, 0)
    stored = store.con.execute("SELECT main_revenue, tax_paid, land_own_mu FROM enterprise_years").fetchone()
    assert stored == (Decimal("2500.1235"), Decimal("0.1235"), Decimal("0.0018"))
    before = corpus.content_checksums(store)
    again = import_file(store, "enterprise-years", path)
    assert counts(again) == (0, 0, 1, 0)
    assert corpus.content_checksums(store) == before
    assert store.con.execute("SELECT count(*) FROM change_history").fetchone()[0] == 0


def test_reimport_as_xlsx_of_the_same_rows_is_unchanged(store, tmp_path):
    rows = [["统一社会信用代码", "年份", "主营业务收入(亿元)", "自有用地(亩)", "年平均职工人数"],
            [uscc(1), "2023", "0.25", "12.5", "40"], [uscc(2), "2023", "0.1", "3", "7"]]
    csv = import_file(store, "enterprise-years", write_csv(tmp_path / "a.csv", rows, "gbk"))
    assert counts(csv) == (2, 0, 0, 0)
    corpus._write_xlsx(rows)(tmp_path / "a.xlsx")
    xlsx = import_file(store, "enterprise-years", tmp_path / "a.xlsx")
    assert counts(xlsx) == (0, 0, 2, 0)
    assert store.con.execute("SELECT count(*) FROM change_history").fetchone()[0] == 0


# ---------------------------------------------------------------------------- a corrected file


EY_HEADER = ["统一社会信用代码", "企业名称", "年份", "主营业务收入", "营业收入", "自有用地", "实缴税金(元)"]


def test_corrected_file_updates_changed_cells_with_history(store, tmp_path):
    original = [EY_HEADER,
                [uscc(10), "甲", "2023", "2500", "2600", "10", "100000"],
                [uscc(11), "乙", "2023", "1500", "1600", "-5", "20000"],     # rejected: negative land
                [uscc(12), "丙", "2023", "3000", "3100", "8", "30000"]]
    first = import_file(store, "enterprise-years", write_csv(tmp_path / "2023.csv", original))
    assert counts(first) == (2, 0, 0, 1)
    assert [(p.row, p.value) for p in first.rejects] == [(3, "-5")]

    corrected = [EY_HEADER,
                 [uscc(10), "甲", "2023", "2500", "2650.5", "10", "100000"],  # revenue 2600 -> 2650.5
                 [uscc(11), "乙", "2023", "1500", "1600", "5", "20000"],     # fixed
                 [uscc(12), "丙改名", "2023", "3000", "3100", "8", "30000"]]  # only the unstored name
    second = import_file(store, "enterprise-years", write_csv(tmp_path / "2023-更正.csv", corrected))
    assert counts(second) == (1, 1, 1, 0)
    assert second.dataset_id != first.dataset_id

    history = store.con.execute("""SELECT table_name, row_key, column_name, old_value, new_value, dataset_id
                                   FROM change_history ORDER BY change_id""").fetchall()
    assert len(history) == 1
    table, key, column, old, new, dataset = history[0]
    assert (table, key, column, dataset) == ("enterprise_years", f"{uscc(10)}|2023", "revenue", second.dataset_id)
    assert (Decimal(old), Decimal(new)) == (Decimal("2600"), Decimal("2650.5"))

    rows = corpus.table_rows(store.con, "enterprise_years", ["uscc", "year", "revenue", "land_own_mu", "dataset_id"])
    assert rows[(uscc(10), 2023)]["revenue"] == Decimal("2650.5")
    assert rows[(uscc(10), 2023)]["dataset_id"] == second.dataset_id
    assert rows[(uscc(11), 2023)]["land_own_mu"] == Decimal("5")
    assert rows[(uscc(11), 2023)]["dataset_id"] == second.dataset_id
    assert rows[(uscc(12), 2023)]["dataset_id"] == first.dataset_id       # unchanged rows keep theirs
    datasets = {r[0] for r in store.con.execute("SELECT dataset_id FROM datasets WHERE kind = 'import'").fetchall()}
    assert datasets == {first.dataset_id, second.dataset_id}
    # the corrected file again: nothing to do
    third = import_file(store, "enterprise-years", tmp_path / "2023-更正.csv")
    assert counts(third) == (0, 0, 3, 0)
    assert store.con.execute("SELECT count(*) FROM change_history").fetchone()[0] == 1


def test_corrected_register_records_text_and_date_changes(store, tmp_path):
    header = ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码", "成立日期", "经营状态"]
    import_file(store, "enterprises", write_csv(tmp_path / "a.csv", [
        header, [uscc(3000), "旧名称有限公司", "柯桥区", "1752", "2010-01-01", "在营"]]))
    second = import_file(store, "enterprises", write_csv(tmp_path / "b.csv", [
        header, [uscc(3000), "新名称有限公司", "龙游县", "1752", "2011/2/3", "在营"]]))
    assert counts(second) == (0, 1, 0, 0)
    history = store.con.execute("""SELECT column_name, old_value, new_value, dataset_id FROM change_history
                                   WHERE row_key = ? ORDER BY column_name""", [uscc(3000)]).fetchall()
    assert history == [("county_adcode", "330603", "330825", second.dataset_id),
                       ("founded_on", "2010-01-01", "2011-02-03", second.dataset_id),
                       ("name", "旧名称有限公司", "新名称有限公司", second.dataset_id)]


def test_a_column_missing_from_the_file_keeps_stored_values(store, tmp_path):
    header = ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码"]
    import_file(store, "enterprises", write_csv(tmp_path / "a.csv", [
        header + ["经营状态"], [uscc(3001), "已注销公司", "柯桥区", "1752", "注销"]]))
    import_file(store, "enterprise-years", write_csv(tmp_path / "y1.csv", [
        ["统一社会信用代码", "年份", "主营业务收入", "是否确认"], [uscc(20), "2023", "2500", "是"]]))
    # files without the status and confirmation columns
    second = import_file(store, "enterprises", write_csv(tmp_path / "b.csv", [
        header, [uscc(3001), "已注销公司", "柯桥区", "1752"]]))
    years = import_file(store, "enterprise-years", write_csv(tmp_path / "y2.csv", [
        ["统一社会信用代码", "年份", "主营业务收入"], [uscc(20), "2023", "2500"]]))
    assert store.con.execute("SELECT status FROM enterprises WHERE uscc = ?", [uscc(3001)]).fetchone()[0] == "closed"
    assert store.con.execute("SELECT confirmed FROM enterprise_years").fetchone()[0] is True
    assert counts(second) == (0, 0, 1, 0) and counts(years) == (0, 0, 1, 0)


# ---------------------------------------------------------------------------- warnings


def test_warning_row_loads_and_is_recorded(store, tmp_path):
    rows = [["统一社会信用代码", "年份", "主营业务收入", "工业总产值", "工业增加值"],
            [uscc(13), "2023", "2500", "1000", "1100"],      # value added > 1.05 x output: warning
            [uscc(14), "2023", "2500", "1000", "1050"]]      # exactly 1.05 x: no warning
    result = import_file(store, "enterprise-years", write_csv(tmp_path / "w.csv", rows))
    assert counts(result) == (2, 0, 0, 0)
    assert result.warned == 1
    assert [(w.row, w.column) for w in result.warnings] == [(2, "工业增加值")]
    assert "增加值超过工业总产值" in result.warnings[0].message
    stored = store.con.execute("""SELECT dataset_id, table_name, row_key, source_row, column_name, message
                                  FROM import_warnings""").fetchall()
    assert len(stored) == 1
    dataset, table, key, row, column, message = stored[0]
    assert (dataset, table, key, row, column) == (result.dataset_id, "enterprise_years", f"{uscc(13)}|2023", 2,
                                                  "工业增加值")
    assert "value added exceeds gross output" in message
    assert store.con.execute("SELECT value_added FROM enterprise_years WHERE uscc = ?",
                             [uscc(13)]).fetchone()[0] == Decimal("1100")


# ---------------------------------------------------------------------------- units


@pytest.mark.parametrize("header, cell, column, expected", [
    ("实缴税金(元)", "12,345,678", "tax_paid", Decimal("1234.5678")),
    ("实缴税金", "12,345,678元", "tax_paid", Decimal("1234.5678")),
    ("实缴税金（元）", "１２，３４５，６７８", "tax_paid", Decimal("1234.5678")),
    ("营业收入(亿元)", "1.23456789", "revenue", Decimal("12345.6789")),
    ("营业收入", "123,456,789,012.3456元", "revenue", Decimal("12345678.9012")),
    ("营业收入(千元)", "1", "revenue", Decimal("0.1")),
    ("营业收入", "12345.5元", "revenue", Decimal("1.2346")),
    ("自有用地(平方米)", "2000", "land_own_mu", Decimal("3")),
    ("自有用地", "2000平方米", "land_own_mu", Decimal("3")),
    ("自有用地", "1.5公顷", "land_own_mu", Decimal("22.5")),
    ("自有用地(公顷)", "1.5", "land_own_mu", Decimal("22.5")),
    ("自有用地(m²)", "666.67", "land_own_mu", Decimal("1.0000")),
    ("自有用地(万平方米)", "2", "land_own_mu", Decimal("30")),
    ("用电量(万千瓦时)", "12", "electricity_kwh", 120000.0),
    ("用电量", "12万千瓦时", "electricity_kwh", 120000.0),
    ("用电量(兆瓦时)", "1.5", "electricity_kwh", 1500.0),
    ("综合能耗(千克标准煤)", "1500", "energy_tce", 1.5),
    ("排放当量(千克)", "250", "emission_t", 0.25),
])
def test_unit_conversion_is_exact(store, tmp_path, header, cell, column, expected):
    rows = [["统一社会信用代码", "年份", "是否规上", header], [uscc(15), "2023", "是", cell]]
    result = import_file(store, "enterprise-years", write_csv(tmp_path / "u.csv", rows))
    assert counts(result) == (1, 0, 0, 0), result.rejects
    value = store.con.execute(f'SELECT "{column}" FROM enterprise_years').fetchone()[0]
    assert value == expected and type(value) is type(expected)


def test_wide_electricity_in_wan_kwh(store, tmp_path):
    path = tmp_path / "宽表.xlsx"
    corpus._write_xlsx([["统一社会信用代码"] + [f"{m}月(万千瓦时)" for m in range(1, 13)],
                        [uscc(16)] + [12] * 12])(path)
    result = import_file(store, "electricity", path, year=2022)
    assert counts(result) == (12, 0, 0, 0)
    assert store.con.execute("SELECT min(month), max(month), min(kwh), max(kwh) FROM electricity_monthly").fetchone() \
        == (dt.date(2022, 1, 1), dt.date(2022, 12, 1), 120000.0, 120000.0)


# ---------------------------------------------------------------------------- --year, the register


def test_year_option_fills_a_file_without_a_year_column(store, tmp_path):
    rows = [["统一社会信用代码", "主营业务收入"], [uscc(17), "2500"], [uscc(18), "1000"]]
    path = write_csv(tmp_path / "无年份.csv", rows)
    result = import_file(store, "enterprise-years", path, year=2021)
    assert counts(result) == (2, 0, 0, 0)
    assert sorted(store.con.execute("SELECT uscc, year, above_scale FROM enterprise_years").fetchall()) == \
        [(uscc(17), 2021, True), (uscc(18), 2021, False)]
    # the same file for another year is another dataset and other rows
    other = import_file(store, "enterprise-years", path, year=2022)
    assert counts(other) == (2, 0, 0, 0) and other.dataset_id != result.dataset_id


def test_year_option_out_of_range(store, tmp_path):
    from shanhai.errors import ShanhaiError

    path = write_csv(tmp_path / "y.csv", [["统一社会信用代码", "主营业务收入"], [uscc(17), "2500"]])
    with pytest.raises(ShanhaiError, match="--year"):
        import_file(store, "enterprise-years", path, year=1800)


def test_enterprise_years_of_an_unregistered_firm_is_rejected(store, tmp_path):
    stranger = uscc(7777)
    rows = [["统一社会信用代码", "年份", "主营业务收入"], [stranger, "2023", "2500"], [uscc(19), "2023", "2500"]]
    result = import_file(store, "enterprise-years", write_csv(tmp_path / "r.csv", rows))
    assert counts(result) == (1, 0, 0, 1)
    [problem] = result.rejects
    assert (problem.row, problem.column, problem.value) == (2, "统一社会信用代码", stranger)
    assert "名录" in problem.message and "enterprise register" in problem.message
    assert store.con.execute("SELECT uscc FROM enterprise_years").fetchall() == [(uscc(19),)]
    # registering the firm, then importing the same file again, loads the row
    import_file(store, "enterprises", write_csv(tmp_path / "e.csv", [
        ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码"], [stranger, "新登记", "柯桥区", "1752"]]))
    again = import_file(store, "enterprise-years", tmp_path / "r.csv")
    assert counts(again) == (1, 0, 1, 0)


def test_enterprise_years_rejects_malformed_codes(store, tmp_path):
    rows = [["统一社会信用代码", "年份", "主营业务收入"],
            [corpus.wrong_check(1), "2023", "2500"], [uscc(1)[:17], "2023", "2500"], ["不是代码", "2023", "2500"],
            [uscc(1), "2023", "2500"]]
    result = import_file(store, "enterprise-years", write_csv(tmp_path / "bad.csv", rows))
    assert counts(result) == (1, 0, 0, 3)
    assert [(p.row, p.column) for p in result.rejects] == [(2, "统一社会信用代码"), (3, "统一社会信用代码"),
                                                          (4, "统一社会信用代码")]
    assert store.con.execute("SELECT uscc FROM enterprise_years").fetchall() == [(uscc(1),)]


def test_electricity_of_an_unregistered_firm_is_rejected(store, tmp_path):
    rows = [["统一社会信用代码", "月份", "用电量"], [uscc(7778), "2023-01", "10"], [uscc(19), "2023-01", "10"]]
    result = import_file(store, "electricity", write_csv(tmp_path / "e.csv", rows))
    assert counts(result) == (1, 0, 0, 1)
    assert "enterprise register" in result.rejects[0].message


# ---------------------------------------------------------------------------- dry run


def test_dry_run_counts_what_the_import_does_and_writes_nothing(store, tmp_path):
    import_file(store, "enterprise-years", write_csv(tmp_path / "a.csv", [
        ["统一社会信用代码", "年份", "主营业务收入"], [uscc(21), "2023", "100"], [uscc(22), "2023", "200"]]))
    path = write_csv(tmp_path / "b.csv", [["统一社会信用代码", "年份", "主营业务收入"],
                                          [uscc(21), "2023", "100"],        # unchanged
                                          [uscc(22), "2023", "250"],        # updated
                                          [uscc(23), "2023", "300"],        # inserted
                                          [uscc(24), "2023", "-1"]])        # rejected
    before = corpus.content_checksums(store)
    audit = store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    dry = import_file(store, "enterprise-years", path, dry_run=True)
    assert dry.dry_run and counts(dry) == (1, 1, 1, 1)
    assert corpus.content_checksums(store) == before
    assert store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audit
    real = import_file(store, "enterprise-years", path)
    assert counts(real) == counts(dry)
    assert [(p.row, p.column, p.value, p.message) for p in real.rejects] == \
        [(p.row, p.column, p.value, p.message) for p in dry.rejects]


def test_a_lone_data_row_is_not_taken_for_a_second_header_row(store, tmp_path):
    """Found by hypothesis: a full-width USCC and a whitespace-only cell under 行业代码 made the
    only data row look like a sub-header (' ' + 行业代码 normalised to 行业代码)."""
    path = tmp_path / "one.csv"
    path.write_text("统一社会信用代码,企业名称,县(市、区),行业代码\n９１３３０６０３００００４０００Ｘ７,,, \n", "utf-8")
    result = import_file(store, "enterprises", path)
    assert result.header_rows == [1] and result.rows_in == 1 and result.rejected == 1
    assert {p.column for p in result.rejects} == {"企业名称", "县(市、区)", "行业代码"}


# ---------------------------------------------------------------------------- reading: the CSV fast path and its fallbacks

YEAR_ROWS = ["统一社会信用代码", "年份", "主营业务收入"]


@pytest.mark.parametrize("blank", ["\n", "\r\n"])
def test_blank_lines_keep_the_row_numbers(store, tmp_path, blank):
    """DuckDB skips blank lines; the rows keep the line numbers a text editor shows (a blank
    line of another line end than the file's makes the fast path read the file again)."""
    path = tmp_path / "空行.csv"
    path.write_bytes(("统一社会信用代码,年份,主营业务收入\n\n" f"{uscc(30)},2023,100\n{blank}\n"
                      f"{uscc(31)},2023,-5\n{uscc(32)},2023,abc\n\n").encode())
    result = import_file(store, "enterprise-years", path)
    assert counts(result) == (1, 0, 0, 2)
    assert [(p.row, p.value) for p in result.rejects] == [(6, "-5"), (7, "abc")]


def test_a_wider_row_after_the_sample_is_read_whole(store, tmp_path):
    """The fast path takes the width from the first lines; a later, wider row (here a stray cell
    past the last column) makes it read the file again, exactly."""
    lines = [",".join(YEAR_ROWS)] + [f"{uscc(n % 40)},{2000 + n // 40},{n}" for n in range(2500)]
    lines[2300] += ",多出的单元格,再一个"
    path = tmp_path / "宽行.csv"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    result = import_file(store, "enterprise-years", path)
    assert counts(result) == (2500, 0, 0, 0)
    assert result.unknown_columns == []


def test_bytes_that_are_not_utf8_after_the_sample(store, tmp_path):
    """A file whose first lines are ASCII and whose later ones are GBK is GB18030, as detected
    over the whole file."""
    lines = [",".join(YEAR_ROWS).encode("gbk")] + [
        f"{uscc(n % 40)},{2000 + n // 40},{n}".encode() for n in range(2500)]
    lines.append(f"{uscc(41)},2099,五百".encode("gbk"))
    path = tmp_path / "后面是GBK.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = import_file(store, "enterprise-years", path)
    assert result.encoding == "gb18030"
    assert counts(result) == (2500, 0, 0, 1)
    assert [(p.row, p.value) for p in result.rejects] == [(2502, "五百")]


def test_an_import_never_loads_pandas(db_path, tmp_path):
    """pandas takes a second and a half to import: neither reading a CSV nor a workbook, nor
    DuckDB's scan of it, may bring it in (a CSV needs neither pyarrow nor numpy either)."""
    import subprocess
    import sys

    rows = [YEAR_ROWS, [uscc(33), "2023", "2500"], [uscc(34), "2023", "1000万元"]]
    write_csv(tmp_path / "a.csv", rows)
    corpus._write_xlsx(rows)(tmp_path / "a.xlsx")
    script = (
        "import sys\n"
        "from shanhai.store import open_store\n"
        "from shanhai.ingest import import_file\n"
        f"with open_store({str(db_path)!r}) as store:\n"
        f"    import_file(store, 'enterprise-years', {str(tmp_path / 'a.csv')!r})\n"
        "    print(sorted(m for m in ('pandas', 'pyarrow', 'numpy') if m in sys.modules))\n"
        f"    import_file(store, 'enterprise-years', {str(tmp_path / 'a.xlsx')!r})\n"
        "    print('pandas' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "False"]


def test_an_import_that_changes_a_synced_energy_figure_clears_its_basis(store, tmp_path):
    """`carbon sync-energy` writes energy_tce with its basis and the 当量值 beside it (migration 0025);
    a file that changes the figure makes it "as imported" again — basis and 当量值 cleared, with
    history — while a row whose figure the file leaves alone, and a file without the column, keep them."""
    header = ["统一社会信用代码", "年份", "主营业务收入", "综合能耗"]
    first = import_file(store, "enterprise-years", write_csv(
        tmp_path / "a.csv", [header, [uscc(20), "2023", "2500", "100"], [uscc(21), "2023", "2500", "200"]]))
    assert counts(first) == (2, 0, 0, 0)
    store.con.execute("UPDATE enterprise_years SET energy_tce = energy_tce + 50, energy_basis = 'equivalent_coal', "
                      "energy_tce_calorific = energy_tce")           # what a 等价值 sync leaves
    synced = "SELECT uscc, energy_tce, energy_basis, energy_tce_calorific FROM enterprise_years ORDER BY uscc"
    assert store.con.execute(synced).fetchall() == [(uscc(20), 150.0, "equivalent_coal", 100.0),
                                                    (uscc(21), 250.0, "equivalent_coal", 200.0)]
    # a file without the energy column changes revenue only
    other = import_file(store, "enterprise-years", write_csv(
        tmp_path / "b.csv", [header[:3], [uscc(20), "2023", "2600"], [uscc(21), "2023", "2600"]]))
    assert counts(other) == (0, 2, 0, 0)
    assert [r[2] for r in store.con.execute(synced).fetchall()] == ["equivalent_coal", "equivalent_coal"]
    # the statistics office's figure for firm 20; firm 21's synced figure repeated as is
    fixed = import_file(store, "enterprise-years", write_csv(
        tmp_path / "c.csv", [header, [uscc(20), "2023", "2600", "120"], [uscc(21), "2023", "2600", "250"]]))
    assert counts(fixed) == (0, 1, 1, 0)
    assert store.con.execute(synced).fetchall() == [(uscc(20), 120.0, None, None),
                                                    (uscc(21), 250.0, "equivalent_coal", 200.0)]
    history = store.con.execute("""SELECT row_key, column_name, old_value, new_value FROM change_history
                                   WHERE dataset_id = ? ORDER BY column_name""", [fixed.dataset_id]).fetchall()
    assert history == [(f"{uscc(20)}|2023", "energy_basis", "equivalent_coal", None),
                       (f"{uscc(20)}|2023", "energy_tce", "150.0", "120.0"),
                       (f"{uscc(20)}|2023", "energy_tce_calorific", "100.0", None)]
