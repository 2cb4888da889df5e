"""The kinds of 山海协作 projects: leads, lead-transfers, project-plans, project-shares — a valid file
loads, bad rows are rejected with their reason, re-importing changes nothing, the region scope
holds (a lead and its transfer are the finder's, plans and shares the landing county's)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import corpus

from shanhai.ingest import import_file
from shanhai.store.scope import Scope

KEQIAO, JINGNING = "330603", "331127"


def write_csv(path, rows):
    path.write_bytes(corpus._csv(rows))
    return path


def counts(result):
    return result.inserted, result.updated, result.unchanged, result.rejected


def reasons(result) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list] = {}
    for p in result.rejects:
        out.setdefault(p.row, []).append((p.column, p.message))
    return out


def test_leads_and_transfers(store, tmp_path):
    leads = write_csv(tmp_path / "线索.csv", [
        ["线索编号", "线索名称", "行业代码", "计划投资", "用地需求", "单位增加值能耗", "新增就业", "首谈地", "首谈日期", "线索状态"],
        ["L1", "新能源电池项目", "3841", "3亿元", "120", "0.35", "300", "柯桥区", "2024-01-05", "在谈"],
        ["L2", "高耗能项目", "3011", "5000", "50", "0.8", "40", JINGNING, "2024-02-01", "已放弃"],
        ["L3", "坏行业", "9999", "100", "", "", "", KEQIAO, "", ""],           # 3: unknown industry
        ["L4", "没有首谈地", "3841", "100", "", "", "", "", "", ""]])          # 4: first contact required
    first = import_file(store, "leads", leads)
    assert counts(first) == (2, 0, 0, 2)
    assert store.con.execute("SELECT lead_id, investment, land_mu, energy_per_va, jobs, found_by_adcode, status "
                             "FROM leads ORDER BY 1").fetchall() == [
        ("L1", Decimal("30000.0000"), Decimal("120.0000"), 0.35, 300, KEQIAO, "open"),
        ("L2", Decimal("5000.0000"), Decimal("50.0000"), 0.8, 40, JINGNING, "dropped")]
    again = import_file(store, "leads", leads)
    assert counts(again) == (0, 0, 2, 2)
    transfers = write_csv(tmp_path / "流转.csv", [
        ["线索编号", "承接地", "流转日期", "备注"],
        ["L1", "景宁", "2024-03-01", "首谈地用地不足"],       # from = the lead's finder
        ["L9", JINGNING, "2024-03-01", ""],                  # 3: unknown lead
        ["L1", KEQIAO, "2024-03-01", ""]])                   # 4: to the finder itself
    result = import_file(store, "lead-transfers", transfers)
    assert counts(result) == (1, 0, 0, 2)
    got = reasons(result)
    assert "线索不存在" in got[3][0][1] and "承接地与首谈地相同" in got[4][0][1]
    assert store.con.execute("SELECT lead_id, from_adcode, to_adcode, transferred_on FROM lead_transfers"
                             ).fetchall() == [("L1", KEQIAO, JINGNING, dt.date(2024, 3, 1))]
    # the receiving county cannot write the finder's transfer
    scoped = import_file(store, "lead-transfers", write_csv(tmp_path / "jn.csv", [
        ["线索编号", "承接地", "流转日期"], ["L1", "330110", "2024-04-01"]]), scope=Scope.of(store, JINGNING))
    assert counts(scoped) == (0, 0, 0, 1)
    assert "该流转的首谈地为 330603" in scoped.rejects[0].message


def test_plans_and_shares_of_a_project(store, tmp_path):
    import_file(store, "projects", write_csv(tmp_path / "p.csv", [
        ["项目编号", "项目名称", "首谈地", "落地地", "项目阶段", "是否山海协作项目"],
        ["P1", "景宁协作项目", KEQIAO, JINGNING, "供地", "是"]]))
    assert store.con.execute("SELECT stage FROM projects").fetchone() == ("land_supplied",)
    events = import_file(store, "project-events", write_csv(tmp_path / "e.csv", [
        ["项目编号", "阶段", "日期"], ["P1", "签约", "2024-01-01"], ["P1", "供地", "2024-03-01"]]))
    assert counts(events) == (2, 0, 0, 0)
    plans = import_file(store, "project-plans", write_csv(tmp_path / "plan.csv", [
        ["项目编号", "阶段", "计划日期", "计划累计投资"],
        ["P1", "供地", "2024-02-01", "500"], ["P1", "开工", "2024-06-01", "1500"],
        ["P9", "开工", "2024-06-01", "1"]]))                       # 4: unknown project
    assert counts(plans) == (2, 0, 0, 1)
    shares = import_file(store, "project-shares", write_csv(tmp_path / "share.csv", [
        ["项目编号", "起始年份", "截止年份", "落地地分成比例", "合作方", "合作方分成比例"],
        ["P1", "2025", "2027", "50%", "柯桥区", "0.5"],
        ["P1", "2028", "", "0.7", KEQIAO, ""],                     # partner share: 1 − 0.7
        ["P1", "2030", "2029", "0.7", KEQIAO, "0.3"],               # 4: to before from
        ["P1", "2031", "", "0.7", KEQIAO, "0.4"],                   # 5: do not add up to 1
        ["P1", "2032", "", "0.7", JINGNING, "0.3"]]))               # 6: partner = landing
    assert counts(shares) == (2, 0, 0, 3)
    got = reasons(shares)
    assert "截止年份早于起始年份" in got[4][0][1] and "不等于1" in got[5][0][1] and "合作方与落地地相同" in got[6][0][1]
    assert store.con.execute("SELECT from_year, to_year, landing_share, partner_adcode, partner_share "
                             "FROM project_shares ORDER BY 1").fetchall() == [
        (2025, 2027, Decimal("0.5000"), KEQIAO, Decimal("0.5000")),
        (2028, None, Decimal("0.7000"), KEQIAO, Decimal("0.3000"))]
    # plans and shares are the landing county's records
    scoped = import_file(store, "project-shares", write_csv(tmp_path / "kq.csv", [
        ["项目编号", "起始年份", "落地地分成比例", "合作方"], ["P1", "2040", "0.6", KEQIAO]]),
        scope=Scope.of(store, KEQIAO))
    assert counts(scoped) == (0, 0, 0, 1) and "该项目落地于 331127" in scoped.rejects[0].message
