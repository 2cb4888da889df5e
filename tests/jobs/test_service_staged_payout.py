"""Staged pay-out and per-firm lifetime limits of support-policy items, with the arithmetic written
out: a 30/70 award that does not split evenly (the last stage takes the rest), stages in order,
nothing after the last stage; a lifetime cap over a stacking group across award years (clipped in
the second year, refused in the third); once_per_firm; a plain item paid whole as before. The items
are test-only TOML files in a temporary $SHANHAI_POLICY_DIR."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from shanhai.errors import ShanhaiError
from shanhai.jobs import service_policies as sp
from shanhai.store import open_store
from shanhai.store.scope import Scope
from service_test_items import STAGES_30_70, install_items, item_toml, qualifying_firm

ITEMS = {
    "test-staged": item_toml("test-staged", "33.3333", STAGES_30_70),
    "test-plain": item_toml("test-plain", "12.3456"),
    "test-life": item_toml("test-life", "33.3333", "lifetime_cap = 50", 'stacking_group = "g-life"'),
    "test-life-b": item_toml("test-life-b", "40", "lifetime_cap = 50", 'stacking_group = "g-life"'),
    "test-once": item_toml("test-once", "20", "once_per_firm = true"),
}
D = Decimal


@pytest.fixture()
def env(small_db, tmp_path, monkeypatch):
    install_items(tmp_path, monkeypatch, ITEMS)
    path = tmp_path / "staged.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        y = sp.latest_year(store)
        years = (y - 2, y - 1, y)
        yield store, qualifying_firm(store, years), years, Scope.of(store, "330681")


def _run(store, year, items):
    sp.run(store, region="330681", year=year, items=items, user="tests")


def _confirm_notice(store, county, item, uscc, year, day):
    sp.confirm(store, item, uscc, actor="officer", on_behalf=True, on=day, year=year)
    sp.notice(store, county, item, actor="officer", on=day, uscc=uscc)


def _row(store, item, uscc, year):
    return store.con.execute(f"SELECT state, amount, paid_amount, stages_paid, note FROM payments "
                             f"WHERE payment_id = '{item}:{uscc}:{year}'").fetchone()


def test_a_staged_award_is_paid_one_stage_at_a_time_and_adds_up_exactly(env):
    store, uscc, (_y2, _y1, y), county = env
    item = "test-staged"
    _run(store, y, item)
    formula = [x for x in sp.firm_detail(store, county, uscc, year=y)["items"] if x["item_id"] == item][0]["formula"]
    # 33.3333 × 0.3 = 9.99999 → 10.0000 (half up to 0.0001 万元); the last stage takes the rest:
    # 33.3333 − 10.0000 = 23.3333 — the explanation shows the ledger's split, not 33.3333 × 0.7
    assert "分期：完工 10 万元、验收 23.33 万元" in formula
    _confirm_notice(store, county, item, uscc, y, "2025-05-01")
    sp.approve(store, county, item, actor="officer", on="2025-05-01", uscc=uscc)
    with pytest.raises(ShanhaiError, match="下一期是第 1 期「完工」"):
        sp.pay(store, county, item, actor="officer", on="2025-05-02", uscc=uscc, stage="验收")
    with pytest.raises(ShanhaiError, match="没有「结项」这一期"):
        sp.pay(store, county, item, actor="officer", on="2025-05-02", uscc=uscc, stage="结项")
    first = sp.pay(store, county, item, actor="officer", on="2025-05-02", uscc=uscc)
    assert (first[0]["stage"], first[0]["stage_amount"], first[0]["state"]) == ("完工", D("10.0000"), "paying")
    assert _row(store, item, uscc, y)[:4] == ("paying", D("33.3333"), D("10.0000"), 1)
    # the whole award stays committed against the budget while it is paid in stages
    assert sp._committed(store, item, y) == D("33.3333")
    ledger = sp.payments_list(store, county, item_id=item)[0]
    # 10.0000 ÷ 33.3333 = 30.00003 % → "30"
    assert (ledger["state_label"], ledger["progress"]) == ("分期兑现中", "1/2 期 · 已兑现 30%")
    # the exported payment list (兑现名单) shows the approved amount, what is paid so far and how far
    import fastexcel

    from shanhai.reports.service_excel import payments_bytes

    sheet = fastexcel.read_excel(payments_bytes([ledger], scope={"adcode": "330681"})).load_sheet(
        "兑现名单", header_row=None).to_arrow().to_pylist()
    values = [list(r.values()) for r in sheet]
    assert values[1][6:8] == ["兑现金额(万元)", "已兑现(万元)"]
    assert [float(v) for v in values[2][6:8]] == [33.3333, 10.0] and "1/2 期 · 已兑现 30%" in values[2][9]
    assert values[3][0] == "合计" and [float(v) for v in values[3][6:8]] == [33.3333, 10.0]
    assert {x["item_id"]: x for x in sp.for_firm(store, uscc, year=y)}[item]["payout_state"] == "paying"
    with pytest.raises(ShanhaiError, match="下一期是第 2 期「验收」"):
        sp.pay(store, county, item, actor="officer", on="2025-09-01", uscc=uscc, stage="完工")
    last = sp.pay(store, county, item, actor="officer", on="2025-09-01", uscc=uscc, stage="验收")
    assert (last[0]["stage_amount"], last[0]["state"], last[0]["paid_amount"]) == (D("23.3333"), "paid", D("33.3333"))
    assert _row(store, item, uscc, y)[:4] == ("paid", D("33.3333"), D("33.3333"), 2)
    assert sp.payments_list(store, county, item_id=item)[0]["progress"] == "2/2 期 · 已兑现 100%"
    with pytest.raises(ShanhaiError, match="已兑现完毕"):
        sp.pay(store, county, item, actor="officer", on="2025-09-02", uscc=uscc)
    events = store.con.execute(f"SELECT state, amount, note FROM service_payout_events "
                               f"WHERE payment_id = '{item}:{uscc}:{y}' ORDER BY seq").fetchall()
    assert [e[0] for e in events] == ["confirmed", "notice", "approved", "paying", "paid"]
    assert events[3][1] + events[4][1] == events[2][1] == D("33.3333")
    assert events[3][2] == "第 1/2 期「完工」兑现 10.0000 万元，累计 10.0000 / 33.3333 万元"
    audit = store.con.execute(f"SELECT action, detail->>'amount' FROM audit_log WHERE target = '{item}:{uscc}:{y}' "
                              "AND action IN ('service.paying', 'service.paid') ORDER BY seq").fetchall()
    assert audit == [("service.paying", "10.0000"), ("service.paid", "23.3333")]


def test_a_plain_item_is_paid_whole_in_one_call_as_before(env):
    store, uscc, (_y2, _y1, y), county = env
    item = "test-plain"
    _run(store, y, item)
    _confirm_notice(store, county, item, uscc, y, "2025-05-01")
    sp.approve(store, county, item, actor="officer", on="2025-05-01", uscc=uscc)
    with pytest.raises(ShanhaiError, match="不分期兑现"):
        sp.pay(store, county, item, actor="officer", on="2025-05-02", uscc=uscc, stage="完工")
    paid = sp.pay(store, county, item, actor="officer", on="2025-05-02", uscc=uscc)
    assert (paid[0]["state"], paid[0]["amount"], paid[0]["stage"]) == ("paid", D("12.3456"), None)
    assert _row(store, item, uscc, y) == ("paid", D("12.3456"), D("12.3456"), 1, None)
    events = store.con.execute(f"SELECT state, amount, note FROM service_payout_events "
                               f"WHERE payment_id = '{item}:{uscc}:{y}' ORDER BY seq").fetchall()
    assert events[-1] == ("paid", D("12.3456"), None)
    assert sp.payments_list(store, county, item_id=item)[0]["progress"] == ""
    with pytest.raises(ShanhaiError, match="已兑现完毕"):
        sp.pay(store, county, item, actor="officer", on="2025-05-03", uscc=uscc)


def test_a_lifetime_cap_over_a_group_clips_the_second_year_and_refuses_the_third(env):
    store, uscc, (y2, y1, y), county = env
    # one item per run: within a year the group's items would stack (就高不重复)
    _run(store, y2, "test-life")
    _run(store, y1, "test-life-b")
    _run(store, y, "test-life")
    _confirm_notice(store, county, "test-life", uscc, y2, "2025-01-05")
    got = sp.approve(store, county, "test-life", actor="officer", on="2025-01-05", uscc=uscc)
    assert [g["amount"] for g in got] == [D("33.3333")] and got[0]["note"] is None
    sp.pay(store, county, "test-life", actor="officer", on="2025-01-06", uscc=uscc)
    # both later years confirmed while the room is 50 − 33.3333 = 16.6667
    _confirm_notice(store, county, "test-life-b", uscc, y1, "2025-02-01")
    _confirm_notice(store, county, "test-life", uscc, y, "2025-02-01")
    got = sp.approve(store, county, "test-life-b", actor="officer", on="2025-02-01", uscc=uscc)
    # the group's second award: 40 asked, 50 − 33.3333 = 16.6667 left
    assert got[0]["amount"] == D("16.6667")
    assert got[0]["note"].startswith("终身限额：核定 16.6667 万元（应得 40.0000 万元；每家企业各年度累计封顶 50 万元")
    assert _row(store, "test-life-b", uscc, y1)[:2] == ("approved", D("16.6667"))
    # the third year: 33.3333 (paid) + 16.6667 (approved, not yet paid) = 50: nothing left
    with pytest.raises(ShanhaiError, match="累计封顶 50 万元已用尽.*不予审定"):
        sp.approve(store, county, "test-life", actor="officer", on="2025-02-01", uscc=uscc)
    assert _row(store, "test-life", uscc, y)[0] == "notice"
    # pay re-checks: an approved amount above the room (edited behind the workflow's back) is not paid
    store.con.execute(f"UPDATE payments SET amount = 20 WHERE payment_id = 'test-life-b:{uscc}:{y1}'")
    with pytest.raises(ShanhaiError, match="超过终身剩余额度 16.6667 万元"):
        sp.pay(store, county, "test-life-b", actor="officer", on="2025-02-02", uscc=uscc)
    store.con.execute(f"UPDATE payments SET amount = 16.6667 WHERE payment_id = 'test-life-b:{uscc}:{y1}'")
    sp.pay(store, county, "test-life-b", actor="officer", on="2025-02-02", uscc=uscc)
    total = store.con.execute(f"SELECT sum(paid_amount) FROM payments WHERE uscc = '{uscc}' "
                              "AND stacking_group = 'g-life'").fetchone()[0]
    assert total == D("50.0000")


def test_once_per_firm_pays_one_award_ever(env):
    store, uscc, (y2, y1, y), county = env
    item = "test-once"
    for x in (y2, y1, y):
        _run(store, x, item)
    # two years on notice together: one approval grants the earlier year and refuses the later one
    sp.confirm(store, item, uscc, actor="officer", on_behalf=True, on="2025-03-01", year=y1)
    sp.confirm(store, item, uscc, actor="officer", on_behalf=True, on="2025-03-01", year=y)
    sp.notice(store, county, item, actor="officer", on="2025-03-01", uscc=uscc)
    got = sp.approve(store, county, item, actor="officer", on="2025-03-01", uscc=uscc)
    assert [(g["year"], g["amount"]) for g in got if "refused" not in g] == [(y1, D("20.0000"))]
    refused = [g for g in got if "refused" in g]
    assert [g["year"] for g in refused] == [y] and "每家企业限享一次" in refused[0]["refused"]
    assert _row(store, item, uscc, y)[0] == "notice"
    sp.pay(store, county, item, actor="officer", on="2025-03-02", uscc=uscc)
    # another year cannot even be confirmed now
    with pytest.raises(ShanhaiError, match=f"已获 {item} 的奖励.*限享一次.*不予确认"):
        sp.confirm(store, item, uscc, actor="officer", on_behalf=True, on="2025-03-03", year=y2)
    with pytest.raises(ShanhaiError, match="限享一次"):
        sp.approve(store, county, item, actor="officer", on="2025-03-03", uscc=uscc)
