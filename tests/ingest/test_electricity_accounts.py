"""Electricity by meter account (用电户号): the register (electricity-accounts), the account months
(electricity-by-account), and their merge into the firm's months (electricity_monthly: the sum over
the firm's accounts valid that month, with history, water and gas untouched)."""

from __future__ import annotations

import datetime as dt

import corpus
import pytest
from corpus import uscc

from shanhai.ingest import import_file
from shanhai.store.scope import Scope

KEQIAO, JINGNING = "330603", "331127"          # corpus firms are in 柯桥区
A, B = uscc(0), uscc(1)


def write_csv(path, rows):
    path.write_bytes(corpus._csv(rows))
    return path


def counts(result) -> tuple[int, int, int, int]:
    return result.inserted, result.updated, result.unchanged, result.rejected


def firm_months(store, code: str) -> dict[str, tuple]:
    rows = store.con.execute("SELECT strftime(month, '%Y-%m'), kwh, water_t, gas_m3 FROM electricity_monthly "
                             f"WHERE uscc = '{code}' ORDER BY month").fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def history(store) -> list[tuple]:
    return store.con.execute("SELECT table_name, row_key, column_name, old_value, new_value FROM change_history "
                             "WHERE table_name = 'electricity_monthly' ORDER BY change_id").fetchall()


@pytest.fixture
def register(store, tmp_path):
    """Firm A holds accounts 001 and 002 (002 closed after 2023-02), firm B holds 003 from 2023-02."""
    result = import_file(store, "electricity-accounts", write_csv(tmp_path / "户号登记.csv", [
        ["用电户号", "统一社会信用代码", "户名", "起始月份", "终止月份"],
        ["001", A, "甲公司一号表", "", ""],
        ["002", A, "甲公司二号表", "2022-01", "2023-02"],
        ["003", B, "乙公司", "2023-02", ""]]))
    assert counts(result) == (3, 0, 0, 0)
    assert store.con.execute("SELECT account_no, uscc, valid_from, valid_to FROM electricity_accounts "
                             "ORDER BY 1").fetchall() == [
        ("001", A, None, None), ("002", A, dt.date(2022, 1, 1), dt.date(2023, 2, 1)),
        ("003", B, dt.date(2023, 2, 1), None)]
    return store


def months_file(tmp_path, name="户号电量.csv", rows=None):
    return write_csv(tmp_path / name, [["户号", "户名", "月份", "用电量"], *(rows or [
        ["001", "甲公司一号表", "2023-01", "1000"],
        ["002", "甲公司二号表", "2023-01", "250.5"],
        ["001", "甲公司一号表", "2023-02", "1200"],
        ["002", "甲公司二号表", "2023-02", "300"]])])


def test_two_accounts_of_one_firm_are_summed_into_its_month(register, tmp_path):
    result = import_file(register, "electricity-by-account", months_file(tmp_path))
    assert counts(result) == (4, 0, 0, 0)
    assert firm_months(register, A) == {"2023-01": (1250.5, None, None), "2023-02": (1500.0, None, None)}
    assert any("新增 2 个企业月" in note for note in result.notes)
    assert history(register) == []          # inserted, nothing changed


def test_register_rejects_an_unregistered_firm_and_a_reversed_validity(store, tmp_path):
    result = import_file(store, "electricity-accounts", write_csv(tmp_path / "登记.csv", [
        ["户号", "统一社会信用代码", "起始月份", "终止月份"],
        ["101", A, "2023-01", "2023-06"],
        ["102", uscc(9999), "", ""],
        ["103", A, "2023-06", "2023-01"]]))
    assert counts(result) == (1, 0, 0, 2)
    got = {p.row: (p.column, p.message) for p in result.rejects}
    assert got[3][0] == "统一社会信用代码"
    assert got[4] == ("终止月份", "终止月份早于起始月份 the last month is before the first")


def test_an_unregistered_account_is_rejected_and_the_valid_rows_load(register, tmp_path):
    path = months_file(tmp_path, rows=[
        ["001", "甲", "2023-01", "1000"],
        ["999", "某公司", "2023-01", "500"],          # row 3: not in the register
        ["002", "甲", "2023-01", "20"]])
    result = import_file(register, "electricity-by-account", path)
    assert counts(result) == (2, 0, 0, 1)
    [problem] = result.rejects
    assert (problem.row, problem.column, problem.value) == (3, "户号", "999")
    assert "户号未登记" in problem.message and "electricity-accounts" in problem.message
    stored = register.con.execute("SELECT source_row, column_name, value, message FROM import_rejects "
                                  f"WHERE dataset_id = '{result.dataset_id}'").fetchall()
    assert [(r[0], r[1], r[2]) for r in stored] == [(3, "户号", "999")]
    assert result.file.endswith("户号电量.csv")
    assert firm_months(register, A) == {"2023-01": (1020.0, None, None)}


def test_reimporting_the_same_file_changes_nothing(register, tmp_path):
    path = months_file(tmp_path)
    import_file(register, "electricity-by-account", path)
    before = register.con.execute("SELECT * FROM electricity_monthly ORDER BY ALL").fetchall()
    again = import_file(register, "electricity-by-account", path)
    assert counts(again) == (0, 0, 4, 0)
    assert register.con.execute("SELECT * FROM electricity_monthly ORDER BY ALL").fetchall() == before
    assert register.con.execute("SELECT count(*) FROM change_history").fetchone()[0] == 0
    assert not any("合并" in note for note in again.notes)


def test_a_corrected_account_month_updates_the_firms_month_with_history(register, tmp_path):
    import_file(register, "electricity-by-account", months_file(tmp_path))
    # water of the firm's month, from a direct import: the account merge must leave it alone
    register.con.execute(f"UPDATE electricity_monthly SET water_t = 77 WHERE uscc = '{A}' AND month = '2023-01-01'")
    result = import_file(register, "electricity-by-account", months_file(tmp_path, "更正.csv", rows=[
        ["002", "甲", "2023-01", "300"]]))
    assert counts(result) == (0, 1, 0, 0)
    assert firm_months(register, A)["2023-01"] == (1300.0, 77.0, None)
    history_rows = history(register)
    assert history_rows == [("electricity_monthly", f"{A}|2023-01-01", "kwh", "1250.5", "1300.0")]
    assert register.con.execute("SELECT count(*) FROM change_history WHERE table_name = "
                                "'electricity_account_monthly'").fetchone()[0] == 1


def test_the_account_sum_replaces_a_month_imported_directly_by_uscc(register, tmp_path):
    direct = import_file(register, "electricity", write_csv(tmp_path / "直接.csv", [
        ["统一社会信用代码", "月份", "用电量", "用水量"], [A, "2023-01", "999", "5"]]))
    assert counts(direct) == (1, 0, 0, 0)
    import_file(register, "electricity-by-account", months_file(tmp_path))
    assert firm_months(register, A)["2023-01"] == (1250.5, 5.0, None)
    assert history(register) == [("electricity_monthly", f"{A}|2023-01-01", "kwh", "999.0", "1250.5")]


def test_valid_to_and_valid_from_are_respected(register, tmp_path):
    result = import_file(register, "electricity-by-account", months_file(tmp_path, rows=[
        ["001", "甲", "2023-03", "1000"],
        ["002", "甲", "2023-03", "400"],     # row 3: 002 closed after 2023-02, loads but not counted
        ["003", "乙", "2023-01", "50"],      # row 4: 003 counts for 乙 from 2023-02 only
        ["003", "乙", "2023-02", "60"]]))
    assert counts(result) == (4, 0, 0, 0)
    assert firm_months(register, A) == {"2023-03": (1000.0, None, None)}
    assert firm_months(register, B) == {"2023-02": (60.0, None, None)}
    assert sorted((w.row, w.column) for w in result.warnings) == [(3, "月份"), (4, "月份")]
    assert "不计入企业月度用电" in result.warnings[0].message


def test_wide_layout_and_units_are_converted(register, tmp_path):
    path = write_csv(tmp_path / "宽表.csv", [
        ["用电户号", "户名", "1月(万千瓦时)", "2月(万千瓦时)", "3月(万千瓦时)"],
        ["001", "甲", "0.1", "0.12", ""],
        ["002", "甲", "0.02", "—", "0.5"]])
    result = import_file(register, "electricity-by-account", path, year=2023)
    assert counts(result) == (4, 0, 0, 0)
    assert register.con.execute("SELECT kwh FROM electricity_account_monthly WHERE account_no = '001' "
                                "ORDER BY month").fetchall() == [(1000.0,), (1200.0,)]
    # 002 closed after 2023-02: its March loads with a warning and is not counted
    assert firm_months(register, A) == {"2023-01": (1200.0, None, None), "2023-02": (1200.0, None, None)}
    assert [(w.row, w.column, w.value) for w in result.warnings] == [(3, "月份 (列名)", "2023-03-01")]


def test_long_layout_unit_in_the_header(register, tmp_path):
    path = write_csv(tmp_path / "万千瓦时.csv", [["户号", "月份", "用电量(万千瓦时)"], ["001", "2023-05", "1.5"]])
    result = import_file(register, "electricity-by-account", path)
    assert counts(result) == (1, 0, 0, 0)
    assert firm_months(register, A) == {"2023-05": (15000.0, None, None)}


def test_a_blank_figure_is_rejected(register, tmp_path):
    result = import_file(register, "electricity-by-account", months_file(tmp_path, rows=[
        ["001", "甲", "2023-05", ""], ["002", "甲", "2023-05", "10"]]))
    assert counts(result) == (1, 0, 0, 1)
    assert [p.row for p in result.rejects] == [2]


def test_dry_run_merges_nothing(register, tmp_path):
    result = import_file(register, "electricity-by-account", months_file(tmp_path), dry_run=True)
    assert counts(result) == (4, 0, 0, 0)
    assert firm_months(register, A) == {}
    assert register.con.execute("SELECT count(*) FROM electricity_account_monthly").fetchone()[0] == 0


def test_a_moved_account_remerges_when_its_months_are_imported_again(register, tmp_path):
    path = months_file(tmp_path, rows=[["003", "乙", "2023-03", "70"]])
    import_file(register, "electricity-by-account", path)
    assert firm_months(register, B) == {"2023-03": (70.0, None, None)}
    moved = import_file(register, "electricity-accounts", write_csv(tmp_path / "过户.csv", [
        ["用电户号", "统一社会信用代码", "起始月份"], ["003", A, "2023-03"]]))
    assert counts(moved) == (0, 1, 0, 0)
    import_file(register, "electricity-by-account", months_file(tmp_path, "再导.csv",
                                                                rows=[["003", "乙", "2023-03", "70"]]))
    assert firm_months(register, A)["2023-03"] == (70.0, None, None)
    # the former holder's stored month is left as it was (the register holds the current holder)
    assert firm_months(register, B) == {"2023-03": (70.0, None, None)}


# ---------------------------------------------------------------------------- region scope

@pytest.fixture
def jingning_firm(register, tmp_path):
    code = uscc(0, JINGNING)
    result = import_file(register, "enterprises", write_csv(tmp_path / "景宁企业.csv", [
        ["统一社会信用代码", "企业名称", "县(市、区)", "行业代码"], [code, "景宁企业", JINGNING, "1752"]]))
    assert counts(result) == (1, 0, 0, 0)
    result = import_file(register, "electricity-accounts", write_csv(tmp_path / "景宁户号.csv", [
        ["用电户号", "统一社会信用代码"], ["900", code]]))
    assert counts(result) == (1, 0, 0, 0)
    return code


def test_a_county_import_rejects_an_account_of_another_countys_firm(register, jingning_firm, tmp_path):
    keqiao = Scope.of(register, KEQIAO)
    result = import_file(register, "electricity-by-account", months_file(tmp_path, rows=[
        ["001", "甲", "2023-01", "10"],
        ["900", "景宁企业", "2023-01", "20"]]), scope=keqiao)
    assert counts(result) == (1, 0, 0, 1) and result.out_of_scope == 1
    [problem] = result.rejects
    assert (problem.row, problem.column, problem.value) == (3, "户号", "900")
    assert "该户号所属企业属于 331127" in problem.message and "不在您的数据范围 330603 柯桥区内" in problem.message
    assert firm_months(register, jingning_firm) == {}
    assert firm_months(register, A) == {"2023-01": (10.0, None, None)}


def test_a_county_cannot_take_over_another_countys_account(register, jingning_firm, tmp_path):
    keqiao = Scope.of(register, KEQIAO)
    result = import_file(register, "electricity-accounts", write_csv(tmp_path / "抢户号.csv", [
        ["用电户号", "统一社会信用代码"], ["900", A], ["004", A]]), scope=keqiao)
    assert counts(result) == (1, 0, 0, 1)
    [problem] = result.rejects
    assert (problem.row, problem.value) == (2, "900")
    assert "数据库中已有的记录" in problem.message
    assert register.con.execute("SELECT uscc FROM electricity_accounts WHERE account_no = '900'").fetchone() == (
        jingning_firm,)
    # an account of another county's firm named in a county's register file is rejected too
    result = import_file(register, "electricity-accounts", write_csv(tmp_path / "景宁登记.csv", [
        ["用电户号", "统一社会信用代码"], ["901", jingning_firm]]), scope=keqiao)
    assert counts(result) == (0, 0, 0, 1) and result.out_of_scope == 1


def test_the_isolated_import_gives_the_same_result(register, tmp_path):
    """The web's import (cleaning in a child process) reads the register the rule names and merges
    the firms' months the same way."""
    from shanhai.ingest._isolated import import_file_isolated

    path = months_file(tmp_path, rows=[["001", "甲", "2023-01", "10"], ["999", "某", "2023-01", "5"],
                                       ["002", "甲", "2023-01", "20"]])
    result = import_file_isolated(register, "electricity-by-account", path)
    assert counts(result) == (2, 0, 0, 1)
    assert [(p.row, p.value) for p in result.rejects] == [(3, "999")]
    assert firm_months(register, A) == {"2023-01": (30.0, None, None)}


def test_a_rule_level_other_than_error_or_warning_is_refused():
    from shanhai.errors import ShanhaiError
    from shanhai.ingest import spec

    data = {"kind": "x", "table": "x", "label": "x", "key": ["a"],
            "columns": [{"id": "a", "type": "text"}],
            "rules": [{"when": "true", "column": "a", "message": "m", "level": "note"}],
            "region": {"lookup": "a", "table": "t", "key": "a", "column": "c", "belongs": "b", "belongs_en": "b"}}
    with pytest.raises(ShanhaiError, match="level 'note': expected error or warning"):
        spec.parse(data, "x.toml")
    data["rules"][0]["level"] = "warning"
    assert spec.parse(data, "x.toml").rules[0].level == "warning"
