"""The ``remediation-actions`` import kind: a county's register file lands in the ledger (done rows
with their audited freed amounts credited to the firm's county and year), bad rows are rejected
naming the row and column, done actions cannot be re-imported, and a county import keeps to its
county."""

from __future__ import annotations

import shutil

import pytest

from shanhai.ingest.importer import import_file
from shanhai.jobs import transition as jt
from shanhai.store import open_store
from shanhai.store.scope import Scope


@pytest.fixture()
def store(small_db, tmp_path):
    path = tmp_path / "import.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as s:
        s.con.execute("DELETE FROM quota_allocations")
        s.con.execute("DELETE FROM remediation_actions")
        yield s


def _firms(store, n=3):
    county = store.con.execute("SELECT county_adcode FROM enterprises GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    usccs = [r[0] for r in store.con.execute(f"SELECT uscc FROM enterprises WHERE county_adcode = '{county}' "
                                             f"ORDER BY uscc LIMIT {n}").fetchall()]
    other = store.con.execute(f"SELECT uscc FROM enterprises WHERE county_adcode <> '{county}' LIMIT 1").fetchone()[0]
    return county, usccs, other


def test_import_register(store, tmp_path):
    county, (a, b, c), other = _firms(store)
    csv = tmp_path / "整治清单.csv"
    csv.write_text("整治编号,统一社会信用代码,整治类型,状态,计划日期,完成日期,腾出土地(亩),腾出用能(万吨标准煤),减碳量(吨)\n"
                   f"X-1,{a},关停,已完成,2023-01-10,2023-06-30,12.5,0.18,5400\n"
                   f"X-2,{b},整治提升,计划,2024-03-01,,,,\n"
                   f"X-3,{c},淘汰落后产能,已完成,2023-02-01,2023-09-30,,100,\n"
                   f"X-4,{other},关停,计划,2024-01-01,,,,\n", "utf-8")
    res = import_file(store, "remediation-actions", csv, scope=Scope.of(store, county), username="tests")
    assert res.inserted == 2 and res.rejected == 2
    why = {p.column: p.message for p in res.rejects}
    assert any("audited" in m for m in why.values()) and len(res.rejects) == 2
    rows = {r["action_id"]: r for r in jt.register(store, Scope.province())["actions"]}
    x1 = rows["X-1"]
    assert (x1["status"], x1["county_adcode"], x1["credit_year"], x1["freed_energy_tce"], x1["measured"]) == (
        "done", county, 2023, 1800.0, True)
    assert rows["X-2"]["status"] == "planned" and rows["X-2"]["source"] == "import"
    bal = jt.balances(store, Scope.province(), county)
    assert bal["balanced"] and float(bal["total"]["energy"]["freed"]) == 1800.0
    assert float(bal["total"]["carbon"]["freed"]) == 5400.0 and float(bal["total"]["land"]["freed"]) == 12.5
    # a done action cannot be re-imported; a planned one can move on
    again = tmp_path / "again.csv"
    again.write_text("整治编号,统一社会信用代码,整治类型,状态,完成日期,腾出土地,腾出用能,减碳量\n"
                     f"X-1,{a},关停,已完成,2023-07-30,1,1,1\n"
                     f"X-2,{b},整治提升,已完成,2024-08-01,0,50,130\n", "utf-8")
    res = import_file(store, "remediation-actions", again, username="tests")
    assert res.updated == 1 and res.rejected == 1 and "done or cancelled" in res.rejects[0].message
    assert jt.action(store, Scope.province(), "X-2")["credit_year"] == 2024
    assert float(jt.balances(store, Scope.province(), county)["total"]["energy"]["freed"]) == 1850.0
