"""The cultivation screening job on the session's small province: the synthetic cultivation facts
exist, a stored run is never overwritten and matches a fresh in-memory screening, the rule sets in
force follow the assessment date, pools add up, the briefing's pool counts are plain dicts, a county
scope sees only its own firms (pools, candidates, firm), and the facts import kind round-trips."""

from __future__ import annotations

import json
import shutil

import pytest

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import cultivation as jc
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope

COUNTY = "331127"      # 景宁
OTHER = "330102"


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("cultivation") / "c.duckdb"
    shutil.copy(small_db, path)
    return path


@pytest.fixture(scope="module")
def stored(db):
    with open_store(db) as store:
        year = jc.latest_year(store)
        first = jc.run(store, Scope.province(), year=year, user="tests")
        second = jc.run(store, Scope.province(), year=year, as_of="2026-06-30", user="tests")
    return year, first, second


def test_synthetic_facts_cover_every_firm_year(db):
    with open_store(db, read_only=True) as store:
        n_years, n_facts, missing = store.con.execute("""
            SELECT (SELECT count(*) FROM enterprise_years), (SELECT count(*) FROM cultivation_facts),
                   (SELECT count(*) FROM enterprise_years y ANTI JOIN cultivation_facts f USING (uscc, year))""").fetchone()
        tier1 = store.con.execute("SELECT count(*) FROM enterprise_flags WHERE flag IN ('tech_sme', 'innovative_sme')"
                                  ).fetchone()[0]
    assert n_facts == n_years and missing == 0 and tier1 > 0


def test_runs_are_stored_never_overwritten_and_match_a_fresh_screening(db, stored):
    year, first, second = stored
    assert first["run_id"] != second["run_id"]
    assert [r["name"] for r in first["rule_sets"]] == ["above-scale-2011", "scale-up-2011", "innovative-2022",
                                                        "specialised-2022", "little-giant-2022", "hidden-champion-2025"]
    assert [r["name"] for r in second["rule_sets"]][3:] == ["specialised-2026", "little-giant-2026",
                                                            "hidden-champion-2026"]
    with open_store(db, read_only=True) as store:
        rows = store.con.execute("SELECT run_id, count(*) FROM cultivation_results GROUP BY 1 ORDER BY 1").fetchall()
        assert len(rows) == 2
        params = json.loads(store.con.execute(f"SELECT params FROM runs WHERE run_id = '{first['run_id']}'").fetchone()[0])
        assert params["year"] == year and params["rule_sets"][0]["rules"]["name"] == "above-scale-2011"
        s = jc.screen(store, Scope.province(), year=year)
        got = dict(((r, u), o) for r, u, o in store.con.execute(
            f"SELECT rule_set, uscc, outcome FROM cultivation_results WHERE run_id = '{first['run_id']}'").fetchall())
        fresh = {(t.rule_set.name, u): o for t in s.results for u, o in zip(t.evaluation.keys, t.outcome)}
        assert got == fresh
        counts = {t.rule_set.name: t.evaluation.counts() for t in s.results}
    assert counts == first["counts"]
    assert sum(counts["above-scale-2011"].values()) == params["firms"]


def test_pools_add_up_and_briefing_counts_are_plain_dicts(db, stored):
    year, first, _ = stored
    with open_store(db, read_only=True) as store:
        doc = jc.pools(store, Scope.province(), run_id=first["run_id"])
        for t in doc["totals"]:
            assert t["firms"] == sum(c["tiers"][t["rule_set"]]["firms"] for c in doc["counties"])
            assert t["candidates"] <= t["eligible"]
        city = jc.pool_counts(store, Scope.province(), "331100", year=year)
    assert city and all(isinstance(r, dict) and r["region"] == "331100" and r["run_id"] for r in city)
    assert {r["tier"] for r in city} >= {"scale_up", "specialised", "little_giant", "hidden_champion"}
    json.dumps(city, default=str)


def test_county_scope_sees_only_its_own_firms(db, stored):
    year, first, _ = stored
    with open_store(db, read_only=True) as store:
        county = Scope.of(store, COUNTY)
        doc = jc.pools(store, county)
        assert [c["adcode"] for c in doc["counties"]] in ([COUNTY], [])
        lst = jc.candidates(store, county, rule_set="innovative-2022")
        assert lst["firms"] and all(f["county_adcode"] == COUNTY for f in lst["firms"])
        with pytest.raises(OutOfScopeError):
            jc.pools(store, county, OTHER)
        far = store.con.execute(f"SELECT uscc FROM enterprises WHERE county_adcode = '{OTHER}' LIMIT 1").fetchone()[0]
        with pytest.raises(OutOfScopeError):
            jc.firm(store, county, far)
        mine = lst["firms"][0]["uscc"]
        f = jc.firm(store, county, mine)
        assert f["county_adcode"] == COUNTY and f["tiers"]
        with pytest.raises(NotFoundError):
            jc.firm(store, county, "91330000MA00000000")
        runs = jc.list_runs(store, county)
        assert runs and all(r["region"] == "330000" for r in runs)


def test_live_screening_when_no_run_covers_the_year(db, stored):
    year, _, _ = stored
    with open_store(db, read_only=True) as store:
        doc = jc.pools(store, Scope.province(), COUNTY, year=year - 1)
    assert doc["basis"]["stored"] is False and doc["basis"]["year"] == year - 1


def test_bad_input_is_one_clear_sentence(db):
    with open_store(db, read_only=True) as store:
        with pytest.raises(ShanhaiError, match="no annual figures for 1990"):
            jc.screen(store, Scope.province(), year=1990)
        with pytest.raises(ShanhaiError, match="unknown cultivation rule set"):
            jc.screen(store, Scope.province(), rules="nope")
        with pytest.raises(ShanhaiError, match="not a date"):
            jc.screen(store, Scope.province(), as_of="June")
        with pytest.raises(ShanhaiError, match="outcome"):
            jc.candidates(store, Scope.province(), outcome="maybe")
        with pytest.raises(NotFoundError):
            jc.pools(store, Scope.province(), run_id="cultivation-none")


def test_import_kind_loads_and_changes_the_screening(db, stored, tmp_path):
    from shanhai.ingest import import_file

    with open_store(db) as store:
        year = jc.latest_year(store)
        uscc = store.con.execute(f"SELECT uscc FROM enterprises WHERE county_adcode = '{COUNTY}' AND status = 'active' "
                                 f"AND uscc IN (SELECT uscc FROM enterprise_years WHERE year = {year}) LIMIT 1"
                                 ).fetchone()[0]
        path = tmp_path / "facts.csv"
        path.write_text("统一社会信用代码,数据年度,进入细分市场时间,Ⅰ类知识产权,资产负债率,研发机构级别,自主品牌\n"
                        f"{uscc},{year},2010-01-01,7,45.5,国家级,是\n", "utf-8")
        result = import_file(store, "cultivation-facts", path)
        assert result.rejected == 0 and result.inserted + result.updated == 1
        row = store.con.execute(f"SELECT niche_since, ip_class1, debt_ratio, rd_institution_level, own_brand "
                                f"FROM cultivation_facts WHERE uscc = '{uscc}' AND year = {year}").fetchone()
        assert row[1:] == (7, 45.5, 4, True) and str(row[0]) == "2010-01-01"
        f = jc.firm(store, Scope.province(), uscc)
        assert f["facts"]["ip_class1"] == 7 and f["facts"]["niche_years"] == year + 1 - 2010
        # the stored runs were made on the facts before the import: marked stale, not rewritten
        assert f["stored"] and all(r["stale"] for r in f["stored"] if r["year"] == year)
