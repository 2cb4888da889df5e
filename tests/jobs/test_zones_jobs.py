"""Zone evaluation against the small synthetic province (jobs.zones, reports.zones_excel,
synth.zone_facts): runs stored per year against the previous one and never overwritten, the
ranking as plain dicts for briefings, region scope (the ranking is public, a zone's indicators
only for its own region), the workbook, clear errors, and the synthetic zone facts."""

from __future__ import annotations

import datetime

import io
import json
import shutil
import zipfile

import pytest

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import zones as jz
from shanhai.policy import PolicyError
from shanhai.reports.zones_excel import workbook_bytes
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope

JINGNING, LISHUI, SHANGCHENG = "331127", "331100", "330102"
PROVINCE = Scope.province()


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    """A copy of the small province with zhejiang-2021 runs for every year but the first, and a
    lishui-2020 run of the latest year. Returns (path, years, runs)."""
    path = tmp_path_factory.mktemp("zones") / "zones.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        years = jz.data_years(store)
        runs = jz.evaluate_years(store, "zhejiang-2021", years[1:], user="tests")
        runs.append(jz.evaluate(store, "lishui-2020", years[-1], user="tests"))
    return path, years, runs


@pytest.fixture
def store(world):
    with open_store(world[0], read_only=True) as s:
        yield s


def test_runs_chain_year_to_year(world, store):
    _, years, runs = world
    zj = [r for r in runs if r["method"] == "zhejiang-2021"]
    assert [r["year"] for r in zj] == years[1:]
    assert zj[0]["previous_run_id"] is None
    assert all(b["previous_run_id"] == a["run_id"] for a, b in zip(zj, zj[1:]))
    provincial = store.con.execute("SELECT count(*) FROM zones WHERE level = 'provincial'").fetchone()[0]
    assert all(r["zones"] == provincial for r in zj)
    assert zj[0]["up"] == zj[0]["down"] == 0                    # the first year has nothing to move from
    row = store.con.execute("SELECT kind, policy_name, policy_version, params->>'year', inputs_fingerprint, "
                            "code_version FROM runs WHERE run_id = ?", [zj[-1]["run_id"]]).fetchone()
    assert row[:4] == ("zones", "zhejiang-2021", "2021.1", str(years[-1])) and row[4] and row[5]
    # the later years carry tier moves and bottom streaks longer than one year
    streaks = store.con.execute("SELECT max(bottom_streak) FROM zone_results WHERE run_id = ?",
                                [zj[-1]["run_id"]]).fetchone()[0]
    assert streaks == len(zj) or streaks >= 2


def test_the_ranking_for_briefings_is_plain_dicts(world, store):
    rows = jz.ranking_rows(store, Scope.of(store, JINGNING), method="zhejiang-2021")
    json.dumps(rows)                                         # plain values only
    assert rows and {r["method"] for r in rows} == {"zhejiang-2021"}
    from shanhai.policy._zones import zone_methods
    assert {r["method_name"] for r in rows} == {zone_methods()["zhejiang-2021"].display_name}   # briefings name it
    from shanhai.reports import monthly
    here = Scope.of(store, JINGNING)
    zones = monthly._zones(store, here, here, datetime.date.today())
    assert zones and zone_methods()[zones["method"][1].split(" · ")[1].split()[0]].display_name in zones["sentences"]["zh"][0]
    assert {r["year"] for r in rows} == {world[1][-1]}
    assert not any(k in rows[0] for k in ("value_added_per_mu", "exports", "explanation"))
    assert [r["zone_id"] for r in rows if r["in_scope"]] == [f"Z{JINGNING}"]
    by_group: dict = {}
    for r in rows:
        by_group.setdefault(r["group"], []).append(r["rank"])
    assert all(ranks == sorted(ranks) and ranks[0] == 1 for ranks in by_group.values())
    assert {r["group_label"] for r in rows} == {"东北片", "西南片"}


def test_a_county_sees_its_own_zone_and_only_the_public_figures_of_others(store):
    county = Scope.of(store, JINGNING)
    doc = jz.zone(store, county, f"Z{JINGNING}")
    assert doc["result"]["in_scope"] and doc["explanation"]
    assert sum(e["points"] for e in doc["explanation"]) == pytest.approx(doc["result"]["total_score"], abs=1e-6)
    assert doc["points_total"] == pytest.approx(doc["result"]["total_score"], abs=1e-6)
    assert sum(g["points"] for g in doc["groups"]) == pytest.approx(doc["result"]["total_score"], abs=1e-6)
    assert len(doc["history"]) >= 2
    for other in (f"Z{SHANGCHENG}", "Z331102"):
        with pytest.raises(OutOfScopeError):
            jz.zone(store, county, other)
        with pytest.raises(OutOfScopeError):
            jz.history(store, county, other)
    city = Scope.of(store, LISHUI)
    assert jz.zone(store, city, "Z331102")["result"] is not None
    ranking = jz.ranking(store, city, method="zhejiang-2021")
    mine = {r["zone_id"] for r in ranking["zones"] if r["in_scope"]}
    assert mine and all(z.startswith("Z3311") for z in mine)
    assert ranking["counts"]["mine"] == len(mine)
    doc = jz.export_doc(store, county, method="zhejiang-2021")
    assert {d["zone_name"] for d in doc["details"]} == {r["zone_name"] for r in doc["zones"] if r["in_scope"]}
    assert len(doc["zones"]) > len(mine)


def test_the_zone_page_defaults_to_a_run_covering_the_zone(store):
    """A 丽水 zone: the default method's run first, lishui-2020 when asked; a national zone, which
    neither stored method covers: no run, or "not covered" under a named method."""
    doc = jz.zone(store, PROVINCE, f"Z{JINGNING}")
    assert doc["basis"]["method"] == "zhejiang-2021" and doc["result"] is not None
    doc = jz.zone(store, PROVINCE, f"Z{JINGNING}", method="lishui-2020")
    assert doc["basis"]["method"] == "lishui-2020" and doc["result"]["group"] == "all"
    national = store.con.execute("SELECT min(zone_id) FROM zones WHERE level = 'national'").fetchone()[0]
    assert national is not None
    doc = jz.zone(store, PROVINCE, national)
    assert doc.get("no_run") and doc["result"] is None and doc["basis"] is None
    doc = jz.zone(store, PROVINCE, national, method="zhejiang-2021")
    assert doc["result"] is None and doc["not_covered"] and doc["basis"]["method"] == "zhejiang-2021"


def test_clear_errors(store, world):
    with pytest.raises(NotFoundError, match="no zone 'Z999999'"):
        jz.zone(store, PROVINCE, "Z999999")
    with pytest.raises(NotFoundError, match="no zone evaluation run 'zones-nosuchrun'"):
        jz.ranking(store, PROVINCE, "zones-nosuchrun")
    with pytest.raises(NotFoundError, match="no zone evaluation of mofcom-2021"):
        jz.ranking(store, PROVINCE, method="mofcom-2021")
    with pytest.raises(PolicyError, match="unknown zone method"):
        jz.ranking(store, PROVINCE, method="no-such-method")
    with pytest.raises(NotFoundError, match="group 'area=nowhere' is not in run"):
        jz.ranking(store, PROVINCE, method="zhejiang-2021", group="area=nowhere")
    mujun_like = store.con.execute("SELECT run_id FROM runs WHERE kind <> 'zones' LIMIT 1").fetchone()
    if mujun_like:
        with pytest.raises(NotFoundError):
            jz.ranking(store, PROVINCE, mujun_like[0])


def test_a_year_without_data_is_refused_before_anything_is_stored(world, tmp_path):
    path = tmp_path / "z.duckdb"
    shutil.copy(world[0], path)
    with open_store(path) as s:
        before = s.con.execute("SELECT count(*) FROM runs").fetchone()[0]
        with pytest.raises(ShanhaiError, match="no firm figures for 1999"):
            jz.evaluate_years(s, "zhejiang-2021", [world[1][-1], 1999])
        assert s.con.execute("SELECT count(*) FROM runs").fetchone()[0] == before


def test_the_workbook(store, tmp_path):
    doc = jz.export_doc(store, Scope.of(store, JINGNING), method="zhejiang-2021")
    data = workbook_bytes(doc)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        strings = z.read("xl/sharedStrings.xml").decode("utf-8")
        workbook = z.read("xl/workbook.xml").decode("utf-8")
    assert all(s in workbook for s in ("排名", "指标得分", "说明"))
    assert doc["basis"]["run_id"] in strings and "zhejiang-2021" in strings
    assert "浙江在线" in strings and "山海设定参数" in strings
    own = next(r for r in doc["zones"] if r["in_scope"])
    others = [r for r in doc["zones"] if not r["in_scope"]]
    assert own["zone_name"] in strings and others[0]["zone_name"] in strings   # the ranking is public
    assert len([n for n in names if n.startswith("xl/worksheets/sheet")]) == 3
    # the score sheet holds the own zone's indicators only
    assert {d["zone_name"] for d in doc["details"]} == {own["zone_name"]}


def test_the_synthetic_zone_facts(small_db):
    with open_store(small_db, read_only=True) as s:
        rows = s.con.execute("""
            SELECT f.zone_id, f.year, f.exports, f.actual_fdi, f.fixed_asset_investment,
                   (SELECT sum(y.revenue) FROM enterprise_years y JOIN enterprises e USING (uscc)
                    WHERE e.zone_id = f.zone_id AND y.year = f.year) AS revenue
            FROM zone_facts f""").fetchall()
        zones_with_firms = s.con.execute("""
            SELECT count(*) FROM (SELECT DISTINCT e.zone_id, y.year FROM enterprise_years y
                                  JOIN enterprises e USING (uscc) WHERE e.zone_id IS NOT NULL)""").fetchone()[0]
    assert len(rows) == zones_with_firms
    shares = [float(r[2]) / float(r[5]) for r in rows if r[2] is not None]
    assert all(0 < x <= 0.9 * 1.1 + 1e-9 for x in shares)
    missing = sum(r[2] is None for r in rows) + sum(r[3] is None for r in rows)
    assert 0 < missing < len(rows) * 0.2
