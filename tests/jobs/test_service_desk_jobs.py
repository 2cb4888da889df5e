"""Enterprise requests, key/struggling lists and the listing pipeline against a small synthetic
province (issue 12): the G10 request through its states with its clock and 督办, KPIs that keep
closed and solved apart, lists as runs with service tasks on the visit-task machinery, the G8
pipeline firm, and region scope (a county sees and acts on its own firms only)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal

import pytest

from shanhai.errors import ShanhaiError
from shanhai.jobs import service_lists as jl
from shanhai.jobs import service_pipeline as jp
from shanhai.jobs import service_requests as jr
from shanhai.store import open_store
from shanhai.store.audit import verify
from shanhai.store.scope import OutOfScopeError, Scope

PROVINCE = Scope.province()
EMPTY_DESK = ("DELETE FROM service_request_events", "DELETE FROM service_requests",
              "DELETE FROM listing_milestones", "DELETE FROM listing_pipeline")


@pytest.fixture
def store(small_db, tmp_path):
    path = tmp_path / "desk.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as s:
        for sql in EMPTY_DESK:          # the synthetic demo's requests and pool: these tests start empty
            s.con.execute(sql)
        yield s


def _two_counties(store):
    rows = store.con.execute("""SELECT county_adcode, min(uscc) FROM enterprises WHERE status = 'active'
                                GROUP BY 1 ORDER BY 1 LIMIT 2""").fetchall()
    (ca, a), (cb, b) = rows
    return Scope.of(store, ca), a, Scope.of(store, cb), b


def test_g10_request_runs_its_states_with_the_haishu_clock(store):
    ca, firm, _, _ = _two_counties(store)
    q = jr.submit(store, ca, uscc=firm, title="用地指标咨询", category="land", channel="portal",
                  sla="NB-HAISHU-2018", user="officer_a", at=dt.datetime(2025, 3, 6, 10))
    assert q["status"] == "submitted" and q["department"] == "自然资源和规划局" and q["due_on"] is None
    assert {s["step"]: s["due"] for s in q["steps"]}["route"] == dt.date(2025, 3, 10)
    q = jr.transition(store, ca, q["request_id"], "accept", user="officer_a", at=dt.datetime(2025, 3, 7, 9))
    assert q["due_on"] == dt.date(2025, 3, 14) and q["overdue_from"] == dt.date(2025, 3, 17)
    q = jr.transition(store, ca, q["request_id"], "assign", user="officer_a", at=dt.datetime(2025, 3, 7, 10))
    # Monday 17th: overdue by 1 wd → 督办
    assert jr.list_requests(store, ca, overdue=True, today=dt.date(2025, 3, 14))["total"] == 0
    esc = jr.escalate_overdue(store, ca, today=dt.datetime(2025, 3, 17, 8), user="system")
    assert esc["escalated"] == [q["request_id"]]
    q = jr.request(store, ca, q["request_id"], today=dt.date(2025, 3, 17))
    assert q["status"] == "escalated" and q["clock"]["overdue_wd"] == 1 and q["clock"]["state"] == "overdue"
    jr.transition(store, ca, q["request_id"], "answer", user="officer_a", at=dt.datetime(2025, 3, 17, 11))
    with pytest.raises(ShanhaiError, match="solved"):
        jr.transition(store, ca, q["request_id"], "close", user="officer_a", at=dt.datetime(2025, 3, 17, 12))
    q = jr.transition(store, ca, q["request_id"], "close", solved=False, user="officer_a",
                      at=dt.datetime(2025, 3, 17, 12))
    assert q["status"] == "closed" and q["overdue_wd"] == 1 and q["solved"] is False
    assert q["clock"]["state"] == "closed_late"
    q = jr.transition(store, ca, q["request_id"], "rate", satisfaction=4, user="firm")
    assert [e["action"] for e in q["events"]] == ["submit", "accept", "assign", "escalate", "answer", "close", "rate"]
    assert verify(store.con) is None


def test_state_machine_refuses_wrong_moves_and_late_extensions(store):
    ca, firm, _, _ = _two_counties(store)
    q = jr.submit(store, ca, uscc=firm, title="x", sla="FJ-QZ-2022", at=dt.datetime(2025, 3, 6, 10))
    with pytest.raises(ShanhaiError, match="cannot close"):
        jr.transition(store, ca, q["request_id"], "close", solved=True)
    q = jr.transition(store, ca, q["request_id"], "accept", at=dt.datetime(2025, 3, 6, 11))
    assert q["due_on"] == dt.date(2025, 3, 17)           # 7 wd from acceptance
    with pytest.raises(ShanhaiError, match="前 1 个工作日"):
        jr.transition(store, ca, q["request_id"], "extend", extra_wd=3, at=dt.datetime(2025, 3, 17, 9))
    q = jr.transition(store, ca, q["request_id"], "extend", extra_wd=3, at=dt.datetime(2025, 3, 14, 9))
    assert q["due_on"] == dt.date(2025, 3, 20) and q["extended_wd"] == 3
    with pytest.raises(ShanhaiError, match="channel"):
        jr.submit(store, ca, uscc=firm, title="x", channel="fax")
    with pytest.raises(ShanhaiError, match="title"):
        jr.submit(store, ca, uscc=firm, title="  ")


def test_kpis_keep_closed_and_solved_apart(store):
    ca, firm, _, _ = _two_counties(store)
    ids = [jr.submit(store, ca, uscc=firm, title=f"r{i}", category="policy", at=dt.datetime(2025, 3, 3, 9))["request_id"]
           for i in range(4)]
    for i, rid in enumerate(ids[:3]):
        jr.transition(store, ca, rid, "accept", at=dt.datetime(2025, 3, 3, 10))
        jr.transition(store, ca, rid, "answer", at=dt.datetime(2025, 3, 4, 10))
        jr.transition(store, ca, rid, "close", solved=i < 2,
                      at=dt.datetime(2025, 3, 5 if i < 2 else 20, 10))
    jr.transition(store, ca, ids[0], "rate", satisfaction=5)
    jr.transition(store, ca, ids[1], "rate", satisfaction=2)
    k = jr.kpis(store, ca, by="department")
    row = next(r for r in k["rows"] if r["key"] == "经济和信息化局")
    assert (row["collected"], row["closed"], row["solved"], row["closed_on_time"]) == (4, 3, 2, 2)
    assert (row["close_rate"], row["solve_rate"], row["on_time_rate"], row["satisfaction_rate"]) == (0.75, 0.5, 0.6667, 0.5)
    assert "closed ÷ collected" in k["definitions"]["close_rate"]["definition"]


def test_a_county_never_sees_another_countys_requests(store):
    ca, a, cb, b = _two_counties(store)
    qa = jr.submit(store, ca, uscc=a, title="A")
    jr.submit(store, cb, uscc=b, title="B")
    with pytest.raises(OutOfScopeError):
        jr.submit(store, ca, uscc=b, title="not mine")
    with pytest.raises(OutOfScopeError):
        jr.request(store, cb, qa["request_id"])
    with pytest.raises(OutOfScopeError):
        jr.transition(store, cb, qa["request_id"], "accept")
    seen = {r["uscc"] for r in jr.list_requests(store, ca, status="all")["requests"]}
    assert seen == {a}
    assert {r["key"] for r in jr.kpis(store, ca, by="county")["rows"]} == {ca.adcode}
    assert len(jr.list_requests(store, PROVINCE, status="all")["requests"]) == 2


def test_lists_are_runs_with_service_tasks_on_the_visit_machinery(store):
    ca, a, cb, b = _two_counties(store)
    out = jl.build(store, "haishu-2018", user="tests")
    run = store.con.execute(f"SELECT kind, params FROM runs WHERE run_id = '{out['run_id']}'").fetchone()
    assert run[0] == "service_lists" and json.loads(run[1])["lists"]["key"]["listed"] == out["lists"]["key"]["listed"]
    year = out["year"]
    bad = store.con.execute(f"""SELECT count(*) FROM service_list_entries l JOIN enterprise_years y
        ON y.uscc = l.uscc AND y.year = {year} WHERE l.run_id = '{out['run_id']}' AND l.kind = 'key'
        AND l.via = 'rule' AND y.tax_paid < 500 AND NOT EXISTS (SELECT 1 FROM enterprise_flags f
        WHERE f.uscc = l.uscc AND f.flag = 'leader_linked')""").fetchone()[0]
    assert bad == 0
    missed = store.con.execute(f"""SELECT count(*) FROM enterprise_years y JOIN enterprises e USING (uscc)
        WHERE y.year = {year} AND y.tax_paid >= 500 AND e.status = 'active' AND y.uscc NOT IN
        (SELECT uscc FROM service_list_entries WHERE run_id = '{out['run_id']}' AND kind = 'key')""").fetchone()[0]
    assert missed == 0 and out["lists"]["key"]["listed"] > 0
    assert out["tasks"]["key"] == out["lists"]["key"]["listed"]
    src = dict(store.con.execute("SELECT source, count(*) FROM visit_tasks GROUP BY 1").fetchall())
    assert src.get("key_list") == out["tasks"]["key"]
    again = jl.build(store, "haishu-2018", user="tests")
    assert again["tasks"]["key"] == 0                       # open tasks are not issued twice
    ea = jl.entries(store, ca, kind="key")
    assert all(r["county_adcode"] == ca.adcode for r in ea["entries"])
    if ea["entries"]:
        tid = ea["entries"][0]["task_id"] or store.con.execute(
            f"SELECT task_id FROM visit_tasks WHERE uscc = '{ea['entries'][0]['uscc']}' AND source = 'key_list'").fetchone()[0]
        with pytest.raises(OutOfScopeError):
            jl.log(store, cb, tid, "contact")
        with pytest.raises(ShanhaiError, match="note"):
            jl.log(store, ca, tid, "visit")
        t = jl.log(store, ca, tid, "visit", note="走访：订单下滑，需融资对接", user="officer_a")
        assert t["state"] == "visited" and t["events"][-1]["note"].startswith("走访")


def test_g8_pipeline_firm_and_targets(store):
    ca, firm, cb, b = _two_counties(store)
    jp.enrol(store, ca, firm, entered_on="2021-06-01", reinvest_share="0.85", user="tests")
    for m, d in [("joint_stock", "2022-03-15"), ("counselling_filed", "2022-11-20"),
                 ("application_accepted", "2023-06-30"), ("listed", "2024-04-18")]:
        jp.record(store, ca, firm, m, d, user="tests")
    f = jp.firm(store, ca, firm)
    assert f["tier"] == "listed" and f["awards"]["total"] == Decimal(1000)
    with pytest.raises(ShanhaiError, match="早于"):
        jp.record(store, ca, firm, "approved", "2021-01-01")
    jp.enrol(store, cb, b, reinvest_share="0.65")
    jp.record(store, cb, b, "listed", "2024-05-01")
    out = jp.run(store, "xiaoshan-2021", user="tests")
    assert out["firms"] == 2 and out["manual_review"] == 1
    rows = store.con.execute(f"SELECT uscc, award, amount, status, candidates FROM pipeline_results "
                             f"WHERE run_id = '{out['run_id']}' AND award = 'listed' ORDER BY uscc").fetchall()
    got = {r[0]: r[1:] for r in rows}
    assert got[firm] == ("listed", Decimal(700), "due", None)
    assert got[b][2] == "manual_review" and got[b][3] == "568.7500, 455.0000"
    bo = jp.board(store, ca)
    assert [f["uscc"] for f in bo["firms"]] == [firm]
    prov = {t["id"]: t for t in jp.progress(store, PROVINCE)}
    assert prov["zj_listed_2025"]["actual"] == 2 and prov["zj_listed_2025"]["target"] == 1000
    assert all(t["region"] != "330000" for t in jp.progress(store, ca))
    with pytest.raises(OutOfScopeError):
        jp.firm(store, cb, firm)


def _csv(path, rows):
    import csv
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows(rows)
    return path


def test_import_kinds_requests_and_milestones(store, tmp_path):
    from shanhai.ingest import import_file

    ca, a, cb, b = _two_counties(store)
    f = _csv(tmp_path / "诉求.csv", [
        ["工单编号", "统一社会信用代码", "诉求标题", "问题分类", "渠道", "提交日期", "受理日期", "办结日期", "办理状态", "是否解决", "满意度"],
        ["Q1", a, "用地咨询", "用地", "12345", "2025-03-06", "2025-03-07", "2025-03-17", "已办结", "否", "4"],
        ["Q2", b, "融资", "融资", "企业码", "2025-03-06", "2025-03-07", "", "已受理", "", ""],
        ["Q3", a, "坏日期", "其他", "", "2025-03-10", "", "2025-03-01", "已办结", "", ""]])     # closed before opened
    res = import_file(store, "service-requests", f)
    assert res.inserted == 2 and res.rejected == 1
    row = store.con.execute("SELECT department, county_adcode, status, due_on FROM service_requests "
                            "WHERE request_id = 'Q1'").fetchone()
    assert row[:3] == ("自然资源和规划局", ca.adcode, "closed") and row[3] is None
    assert jr.refresh_clocks(store) == 2
    q = jr.request(store, PROVINCE, "Q1")
    assert q["due_on"] == dt.date(2025, 3, 14) and q["overdue_wd"] == 1         # G10 through an import
    esc = jr.escalate_overdue(store, today=dt.date(2025, 3, 17))
    assert esc["escalated"] == ["Q2"]
    m = _csv(tmp_path / "节点.csv", [["统一社会信用代码", "节点", "日期"], [a, "股改", "2022-03-15"],
                                     [a, "辅导备案", "2022-11-20"], [a, "不存在的节点", "2022-11-20"]])
    res = import_file(store, "listing-milestones", m)
    assert res.inserted == 2 and res.rejected == 1
    out = jp.run(store, "xiaoshan-2021")
    assert out["firms"] == 1 and out["awards_due_total"] == Decimal(100)
    with pytest.raises(OutOfScopeError):
        jp.firm(store, cb, a)


def test_the_synthetic_demo_has_requests_some_overdue_and_a_pool(small_db, tmp_path):
    from shanhai.synth.generator import clear_synthetic

    path = tmp_path / "demo.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as s:
        doc = jr.list_requests(s, PROVINCE, status="open", today=dt.date(2026, 12, 7))
        assert doc["total"] > 0 and doc["overdue"] > 0
        assert all(q["clock"]["state"] == "overdue" for q in doc["requests"] if q["due_on"] is not None)
        closed = s.con.execute("SELECT count(*), count(*) FILTER (overdue_wd > 0) FROM service_requests "
                               "WHERE status = 'closed'").fetchone()
        assert closed[0] > 0
        assert s.con.execute("SELECT count(*) FROM listing_pipeline").fetchone()[0] >= 6
        k = jr.kpis(s, PROVINCE)
        assert 0 < k["total"]["close_rate"] < 1 and k["total"]["solve_rate"] < k["total"]["close_rate"]
        clear_synthetic(s.con)
        for t in ("service_requests", "service_request_events", "listing_pipeline", "listing_milestones"):
            assert s.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 0, t


@pytest.mark.parametrize("name", ["service-requests", "listing-milestones"])
def test_a_template_filled_with_its_examples_imports_cleanly(name, store, tmp_path):
    from shanhai.ingest import import_file, spec

    _, a, _, _ = _two_counties(store)
    kind = spec.kind(name)
    header = [c.label for c in kind.columns]
    row = [a if c.type == "uscc" else (c.example or "") for c in kind.columns]
    res = import_file(store, name, _csv(tmp_path / f"{name}.csv", [header, row]))
    assert (res.inserted, res.rejected) == (1, 0), res.rejects
    assert res.unknown_columns == []


def test_lists_read_each_countys_published_per_mu_result(store):
    """Without a published result the lists read the newest per-mu run — here a one-county what-if
    with another preset, which would decide every county's scores; once results are published, each
    county's firms are scored by its own published run, else the province's."""
    from shanhai.jobs import mujun, mujun_official

    year = jl._year(store, None)
    ca, a, cb, b = _two_counties(store)
    province = mujun.run(store, "zhejiang-2018", year, user="tests").run_id
    whatif = mujun.run(store, "huangyan-2022", year, region=ca.adcode, user="tests").run_id
    assert jl._mujun_source(store, year) == whatif
    mujun_official.designate(store, province, user="tests")
    source = jl._mujun_source(store, year)
    assert set(source.values()) == {province} and {ca.adcode, cb.adcode} <= set(source)
    mujun_official.designate(store, whatif, user="tests")
    source = jl._mujun_source(store, year)
    assert source[ca.adcode] == whatif and source[cb.adcode] == province
    scores = {u: s for u, s in store.con.execute(
        f"SELECT uscc, score FROM ({jl.facts_sql(year, source, 3)}) WHERE uscc IN ('{a}', '{b}')").fetchall()}
    stored = dict(store.con.execute(f"""SELECT run_id || uscc, total_score FROM mujun_scores
        WHERE (run_id, uscc) IN (('{whatif}', '{a}'), ('{province}', '{b}'))""").fetchall())
    assert scores == {a: stored.get(whatif + a), b: stored.get(province + b)}
    out = jl.build(store, "haishu-2018", user="tests")
    params = json.loads(store.con.execute(f"SELECT params FROM runs WHERE run_id = '{out['run_id']}'").fetchone()[0])
    assert params["mujun_run"][ca.adcode] == whatif
