"""Support-policy matching and pay-out against the store: stored runs, for_firm/confirm, the
workflow (意愿确认 → 公示 → 审定 → 兑现) with budgets, caps and 就高不重复, and region scope."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import pytest

from shanhai.errors import ShanhaiError
from shanhai.jobs import service_policies as sp
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope

EXTRA = """
name = "{name}"
display_name = "测试事项 {name}"
tier = "digital"
version = "1"
document = "测试文件"
source = "test item (not a real policy)"
valid_from = 2020-01-01
adcode = "330681"
payment_mode = "no_application"
budget = {budget}
stacking_group = "test-group"
notice_days = 7
[amount]
kind = "percent"
field = "digital_spend"
rate = {rate}
min_base = 10
cap = 150
[[conditions]]
id = "T-1"
label = "数字化改造投入"
field = "digital_spend"
op = ">="
value = 10
wording = "以上"
"""


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("service") / "service.duckdb"
    shutil.copy(small_db, path)
    return path


@pytest.fixture(scope="module")
def stored(db):
    with open_store(db) as store:
        return sp.run(store, user="tests")


def _eligible(store, item_id, run_id):
    return [r[0] for r in store.con.execute(
        f"SELECT uscc FROM service_match_results WHERE run_id = '{run_id}' AND item_id = '{item_id}' "
        "AND outcome = 'eligible' AND NOT stacked_out ORDER BY amount DESC, uscc").fetchall()]


def test_run_is_stored_with_explanations_and_matches_a_fresh_match(db, stored):
    with open_store(db) as store:
        n = store.con.execute(f"SELECT count(*) FROM service_match_results WHERE run_id = '{stored['run_id']}'").fetchone()[0]
        assert n > 0
        m = sp.match(store, year=stored["year"])
        fresh = {s["item_id"]: s["counts"] for s in m.summary()}
        for s in stored["items"]:
            assert fresh[s["item_id"]] == s["counts"]
        row = store.con.execute(f"SELECT formula, reasons, amount FROM service_match_results WHERE run_id = "
                                f"'{stored['run_id']}' AND item_id = 'zhuji-digital-spend-2024' AND outcome = 'eligible' "
                                "LIMIT 1").fetchone()
        assert "× 30%" in row[0] and "数字化改造投入" in row[1]
        kinds = store.con.execute(f"SELECT kind, params->>'year' FROM runs WHERE run_id = '{stored['run_id']}'").fetchone()
        assert kinds[0] == "service_match"
        audit = store.con.execute(f"SELECT count(*) FROM audit_log WHERE action = 'service.match' "
                                  f"AND target = '{stored['run_id']}'").fetchone()[0]
        assert audit == 1


def test_every_item_has_eligible_or_review_firms_in_the_demo(stored):
    total = {s["item_id"]: s["counts"]["eligible"] + s["counts"]["manual_review"] for s in stored["items"]}
    assert sum(1 for v in total.values() if v > 0) >= 5


def test_for_firm_and_the_full_payout_workflow(db, stored):
    item = "zhuji-digital-spend-2024"
    with open_store(db) as store:
        uscc = _eligible(store, item, stored["run_id"])[0]
        rows = {r["item_id"]: r for r in sp.for_firm(store, uscc)}
        r = rows[item]
        assert r["outcome"] == "eligible" and isinstance(r["amount"], Decimal) and r["reasons"]
        assert set(r) >= {"item_id", "name", "document", "outcome", "amount", "reasons", "missing", "payment_mode",
                          "payout_state"}
        # on-application item: must apply before confirming
        with pytest.raises(ShanhaiError, match="apply first"):
            sp.confirm(store, item, uscc, actor="firm")
        sp.apply(store, item, uscc, actor="firm", on="2025-03-01")
        sp.confirm(store, item, uscc, actor="firm", on="2025-03-02")
        with pytest.raises(ShanhaiError, match="already confirmed"):
            sp.confirm(store, item, uscc, actor="firm", on="2025-03-02")
        county = Scope.of(store, "330681")
        got = sp.notice(store, county, item, actor="officer", on="2025-03-03")
        assert got[0]["notice_until"] == dt.date(2025, 3, 10)
        with pytest.raises(ShanhaiError, match="finished its public notice"):
            sp.approve(store, county, item, actor="officer", on="2025-03-09")
        sp.approve(store, county, item, actor="officer", on="2025-03-10")
        paid = sp.pay(store, county, item, actor="officer", on="2025-03-12")
        assert paid[0]["amount"] == r["amount"]
        assert {x["item_id"]: x for x in sp.for_firm(store, uscc)}[item]["payout_state"] == "paid"
        events = store.con.execute(f"SELECT state, actor FROM service_payout_events WHERE payment_id LIKE '{item}:{uscc}:%' "
                                   "ORDER BY seq").fetchall()
        assert [e[0] for e in events] == ["applied", "confirmed", "notice", "approved", "paid"]
        assert store.con.execute(f"SELECT count(*) FROM audit_log WHERE action LIKE 'service.%' "
                                 f"AND target LIKE '{item}:{uscc}:%'").fetchone()[0] == 5
        ledger = sp.payments_list(store, county, item_id=item)
        assert [x["uscc"] for x in ledger] == [uscc] and ledger[0]["bank_account"]
        # a county officer elsewhere sees nothing of it and cannot act on it
        other = Scope.of(store, "330683")
        assert sp.payments_list(store, other, item_id=item) == []
        with pytest.raises(OutOfScopeError):
            sp.notice(store, other, item, actor="officer", uscc=uscc)


def test_not_eligible_firm_cannot_confirm(db, stored):
    item = "shengzhou-digital-titles-2023"
    with open_store(db) as store:
        uscc = store.con.execute("SELECT uscc FROM enterprises WHERE county_adcode = '330683' AND uscc NOT IN "
                                 f"(SELECT uscc FROM service_match_results WHERE run_id = '{stored['run_id']}' "
                                 f"AND item_id = '{item}') LIMIT 1").fetchone()[0]
        with pytest.raises(ShanhaiError, match="not eligible"):
            sp.confirm(store, item, uscc, actor="firm")


def test_county_scope_of_results(db, stored):
    with open_store(db) as store:
        county = Scope.of(store, "330681")
        doc = sp.item_results(store, county, "zhuji-digital-spend-2024")
        assert doc["rows"] and all(r["county_adcode"].startswith("330681") for r in doc["rows"])
        assert sp.item_results(store, Scope.of(store, "330683"), "zhuji-digital-spend-2024")["rows"] == []
        uscc = doc["rows"][0]["uscc"]
        with pytest.raises(OutOfScopeError):
            sp.firm_detail(store, Scope.of(store, "330683"), uscc)


def test_budget_is_never_exceeded_and_groups_do_not_stack(small_db, tmp_path, monkeypatch):
    folder = tmp_path / "policy" / "service"
    folder.mkdir(parents=True)
    (folder / "test-stack-a.toml").write_text(EXTRA.format(name="test-stack-a", budget=60, rate=30), "utf-8")
    (folder / "test-stack-b.toml").write_text(EXTRA.format(name="test-stack-b", budget=100000, rate=20), "utf-8")
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path / "policy"))
    path = tmp_path / "b.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        r = sp.run(store, region="330681", items="test-stack-a,test-stack-b", user="tests")
        a = _eligible(store, "test-stack-a", r["run_id"])
        stacked = store.con.execute(f"SELECT count(*), count(*) FILTER (WHERE stacked_out) FROM service_match_results "
                                    f"WHERE run_id = '{r['run_id']}' AND item_id = 'test-stack-b' "
                                    "AND outcome = 'eligible'").fetchone()
        assert stacked[0] > 0 and stacked[0] == stacked[1]        # a pays more: b is stacked out for everyone
        b_firm = store.con.execute(f"SELECT uscc FROM service_match_results WHERE run_id = '{r['run_id']}' "
                                   "AND item_id = 'test-stack-b' AND stacked_out LIMIT 1").fetchone()[0]
        with pytest.raises(ShanhaiError, match="就高不重复"):
            sp.confirm(store, "test-stack-b", b_firm, actor="firm")
        county = Scope.of(store, "330681")
        for u in a:
            sp.confirm(store, "test-stack-a", u, actor="officer", on_behalf=True, on="2025-01-01")
        sp.notice(store, county, "test-stack-a", actor="officer", on="2025-01-02")
        need = sum(Decimal(x["amount"]) for x in sp.payments_list(store, county, item_id="test-stack-a"))
        assert need > 60
        with pytest.raises(ShanhaiError, match="budget of test-stack-a"):
            sp.approve(store, county, "test-stack-a", actor="officer", on="2025-01-20")
        got = sp.approve(store, county, "test-stack-a", actor="officer", on="2025-01-20", order="amount_desc")
        assert sum(Decimal(x["amount"]) for x in got) <= 60
        sp.pay(store, county, "test-stack-a", actor="officer", on="2025-01-21")
        paid = store.con.execute("SELECT sum(amount) FROM payments WHERE item_id = 'test-stack-a' AND state = 'paid'"
                                 ).fetchone()[0]
        assert paid <= 60


def test_bad_input_is_one_clear_sentence(db):
    with open_store(db) as store:
        with pytest.raises(ShanhaiError, match="unknown policy item"):
            sp.run(store, items="no-such-item")
        with pytest.raises(ShanhaiError, match="not a date"):
            sp.notice(store, Scope.province(), "zhuji-digital-spend-2024", actor="x", on="yesterday")


def test_import_kind_loads_and_changes_the_match(small_db, tmp_path):
    from shanhai.ingest import import_file

    path = tmp_path / "i.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        year = sp.latest_year(store)
        uscc = store.con.execute(f"SELECT uscc FROM enterprises WHERE county_adcode = '330681' AND status = 'active' "
                                 f"AND uscc IN (SELECT uscc FROM enterprise_years WHERE year = {year}) ORDER BY uscc "
                                 "LIMIT 1").fetchone()[0]
        csv = tmp_path / "facts.csv"
        csv.write_text("统一社会信用代码,兑现年度,数字化改造投入,失信被执行人,开户行及账号\n"
                       f"{uscc},{year},620,否,中国银行 6217000000000001\n", "utf-8")
        result = import_file(store, "service-facts", csv)
        assert result.rejected == 0 and result.inserted + result.updated == 1
        doc = sp.firm_detail(store, Scope.province(), uscc, year=year)
        zhuji = [x for x in doc["items"] if x["item_id"] == "zhuji-digital-spend-2024"][0]
        assert zhuji["outcome"] == "eligible" and zhuji["amount"] == Decimal("150.0000")
        assert "封顶 150 万元" in zhuji["formula"]
