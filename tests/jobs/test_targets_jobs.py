"""The targets job (jobs.targets) on the small province: the registry and presets sync
idempotently, presets cite their documents, computed figures are sums over sums of
enterprise_years, the synthetic monthly statistics add up to the firms' annual totals, status
rows follow the formulas and the scope, users' targets replace presets (audited), imported
targets land in ``targets``, runs are stored and never overwritten, the index ranks a group."""

from __future__ import annotations

import shutil

import pytest

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import targets as jt
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.synth.indicators import LAST_MONTH

P = Scope.province()
JINGNING, LISHUI, SHAOXING = "331127", "331100", "330600"


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("targets_jobs") / "targets.duckdb"
    shutil.copy(small_db, path)
    return path


@pytest.fixture
def store(db):
    with open_store(db) as s:
        yield s


def test_sync_is_idempotent(store):
    first = jt.sync(store, "tests")
    before = store.con.execute("SELECT count(*), sum(hash(t)) FROM targets t WHERE origin = 'preset'").fetchone()
    second = jt.sync(store, "tests")
    after = store.con.execute("SELECT count(*), sum(hash(t)) FROM targets t WHERE origin = 'preset'").fetchone()
    assert first == second and before == after and before[0] > 0
    assert store.con.execute("SELECT count(*) FROM indicators WHERE registry_version IS NOT NULL").fetchone()[0] \
        == first["indicators"]
    row = store.con.execute("SELECT formula, cumulative, direction FROM indicators "
                            "WHERE indicator_id = 'value_added_per_mu'").fetchone()
    assert "enterprise_years" in row[0] and row[1] is False and row[2] == "higher"


def test_presets_cite_their_documents(store):
    presets = {t["preset_id"]: t for t in jt._expanded_presets(store)}
    assert all("seed 00" in t["source"] for t in presets.values())
    want = {"province-2025-va": 180, "province-2025-tax": 37, "shaoxing-2023-industrial-va-growth": 6.3,
            "shaoxing-2023-digital-core-growth": 15, "shaoxing-2023-mfg-investment-growth": 12,
            "shaoxing-2023-va": 6.5, "shaoxing-2023-tax": 10, "shengsi-2025-tax": 12, "shengsi-2025-va": 150,
            "shengsi-2025-productivity": 110, "shengsi-2025-rd": 1.5, "shengsi-2027-revenue": 250000,
            "lishui-platforms-2025-va": 120, "lishui-platforms-2025-tax": 30, "lishui-platforms-2025-rd": 3,
            "lishui-platforms-2025-high-tech": 50}
    assert {k: presets[k]["value"] for k in want} == pytest.approx(want)
    assert presets["shaoxing-2023-va"]["kind"] == "growth" and presets["lishui-platforms-2025-rd"]["applies_to"] == "zones"
    # the mountain-county targets apply to each county of the category
    leapfrog = [t for t in jt._expanded_presets(store) if t["preset_id"] == "mountain-leapfrog-2025-tax"]
    eco = [t for t in jt._expanded_presets(store) if t["preset_id"] == "mountain-ecological-2025-tax"]
    assert len(leapfrog) + len(eco) == 26


def test_computed_figures_are_sums_over_sums(store):
    vals = jt.load_values(store)
    year = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]
    va, land = store.con.execute(f"""
        SELECT sum(y.value_added)::DOUBLE, sum(coalesce(land_own_mu, 0) + coalesce(land_leased_mu, 0)
               - coalesce(land_leased_out_mu, 0))::DOUBLE
        FROM enterprise_years y JOIN enterprises e USING (uscc)
        WHERE y.above_scale AND y.year = {year} AND e.county_adcode = '{JINGNING}'""").fetchone()
    assert vals[("value_added_per_mu", JINGNING)][str(year)] == pytest.approx(va / land)
    rd, rev = store.con.execute(f"""SELECT sum(rd_spending)::DOUBLE, sum(revenue)::DOUBLE FROM enterprise_years
                                    WHERE above_scale AND year = {year}""").fetchone()
    assert vals[("rd_intensity", "330000")][str(year)] == pytest.approx(100 * rd / rev)
    kwh = store.con.execute(f"""SELECT sum(kwh) FROM electricity_monthly m JOIN enterprises e USING (uscc)
                                WHERE e.county_adcode = '{JINGNING}' AND m.month < DATE '{year}-04-01'
                                AND m.month >= DATE '{year}-01-01'""").fetchone()[0]
    assert vals[("industrial_electricity", JINGNING)][f"{year}-03"] == pytest.approx(kwh / 10_000)


def test_synthetic_monthly_statistics_add_up(store):
    years = [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]
    gaps = store.con.execute("""
        WITH annual AS (SELECT e.county_adcode AS adcode, y.year, sum(y.value_added)::DOUBLE AS va
                        FROM enterprise_years y JOIN enterprises e USING (uscc) WHERE y.above_scale GROUP BY ALL),
             dec AS (SELECT adcode, CAST(substr(period, 1, 4) AS INTEGER) AS year, value FROM indicator_values
                     WHERE indicator_id = 'industrial_va' AND period LIKE '%-12')
        SELECT count(*), max(abs(a.va - d.value)) FROM annual a JOIN dec d USING (adcode, year)""").fetchone()
    assert gaps[0] == 90 * (len(years) - 1) and gaps[1] < 0.05
    last = store.con.execute("SELECT max(period) FROM indicator_values").fetchone()[0]
    assert last == f"{years[-1]}-{LAST_MONTH:02d}"
    # cities are the sums of their counties, and months only rise (cumulative)
    city, counties = store.con.execute(f"""
        SELECT (SELECT value FROM indicator_values WHERE indicator_id = 'mfg_investment' AND adcode = '{LISHUI}'
                AND period = '{years[1]}-06'),
               (SELECT sum(value) FROM indicator_values v JOIN regions r ON r.adcode = v.adcode
                WHERE indicator_id = 'mfg_investment' AND r.city_adcode = '{LISHUI}' AND r.level = 'county'
                AND period = '{years[1]}-06')""").fetchone()
    assert city == pytest.approx(counties, rel=1e-6)
    falling = store.con.execute("""
        SELECT count(*) FROM (SELECT value - lag(value) OVER (PARTITION BY indicator_id, adcode, substr(period, 1, 4)
                                                              ORDER BY period) AS d FROM indicator_values) WHERE d < 0""").fetchone()[0]
    assert falling == 0


def test_status_follows_the_formulas(store):
    doc = jt.evaluate(store, P)
    y = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]
    assert (doc["as_of"]["year"], doc["as_of"]["month"]) == (y, LAST_MONTH)
    assert doc["as_of"]["progress"] == pytest.approx(LAST_MONTH / 12)
    assert doc["counts"]["red"] and doc["counts"]["amber"] and doc["counts"]["green"]
    inv = next(r for r in doc["rows"] if r["indicator_id"] == "mfg_investment" and r["entity"] == JINGNING)
    actual = store.con.execute(f"SELECT value FROM indicator_values WHERE indicator_id = 'mfg_investment' AND "
                               f"adcode = '{JINGNING}' AND period = '{y}-{LAST_MONTH:02d}'").fetchone()[0]
    assert inv["actual"] == pytest.approx(actual)
    assert inv["completion"] == pytest.approx(actual / inv["target"])
    assert inv["ratio"] == pytest.approx(actual / (inv["target"] * LAST_MONTH / 12))
    light = "green" if inv["ratio"] >= 1 else ("amber" if inv["ratio"] >= 0.9 else "red")
    assert inv["light"] == light
    va = next(r for r in doc["rows"] if r["indicator_id"] == "industrial_va" and r["entity"] == JINGNING)
    prev = store.con.execute(f"SELECT value FROM indicator_values WHERE indicator_id = 'industrial_va' AND "
                             f"adcode = '{JINGNING}' AND period = '{y - 1}-{LAST_MONTH:02d}'").fetchone()[0]
    assert va["growth"] == pytest.approx(100 * (va["actual"] / prev - 1))
    assert va["gap_points"] == pytest.approx(va["growth"] - va["target"])
    assert va["forecast"]["method"] in ("share_of_year", "seasonal_naive") and va["forecast"]["n_backtests"] >= 1
    # worst first
    order = [jt.at.LIGHT_ORDER[r["light"]] for r in doc["rows"]]
    assert order == sorted(order)
    # the Shaoxing 2023 targets are past: the year-end figures of 2023
    sx = next(r for r in doc["rows"] if r.get("preset_id") == "shaoxing-2023-industrial-va-growth")
    assert sx["horizon"] == "past" and sx["period"] == "2023-12"


def test_status_is_scoped(store):
    county = jt.evaluate(store, Scope.of(store, JINGNING))
    assert county["rows"] and {r["region_adcode"] for r in county["rows"]} == {JINGNING}
    with pytest.raises(OutOfScopeError):
        jt.evaluate(store, Scope.of(store, JINGNING), LISHUI)
    city = jt.evaluate(store, Scope.of(store, LISHUI))
    assert all(r["region_adcode"].startswith("3311") for r in city["rows"])
    zones = {r["entity"] for r in city["rows"] if r["level"] == "zone"}
    assert zones and all(z.startswith("zone:") for z in zones)


def test_forecast_back_test_on_a_past_year(store):
    y = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]
    doc = jt.indicator_series(store, P, "industrial_va", None, y - 1, 9)
    fc = doc["forecast"]
    actual = doc["monthly"][str(y - 1)][11]
    assert fc["point"] == pytest.approx(actual, rel=0.05)       # the synthetic year end from Jan–Sep
    assert fc["n_backtests"] >= 1 and fc["rmse"] is not None


def test_user_targets_replace_presets_and_are_audited(store):
    with pytest.raises(OutOfScopeError):
        jt.set_target(store, Scope.of(store, JINGNING), "tax_per_mu", LISHUI, 2025, 30.0)
    with pytest.raises(NotFoundError):
        jt.set_target(store, P, "no_such_indicator", JINGNING, 2025, 30.0)
    with pytest.raises(ShanhaiError):
        jt.set_target(store, P, "tax_per_mu", JINGNING, 2025, 30.0, kind="share")
    with pytest.raises(ShanhaiError):
        jt.set_target(store, P, "tax_per_mu", JINGNING, 2025, float("nan"))
    row = jt.set_target(store, Scope.of(store, JINGNING), "tax_per_mu", JINGNING, 2025, 21.5, user="jingning")
    assert row["origin"] == "user"
    mine = [t for t in jt.all_targets(store) if t["indicator_id"] == "tax_per_mu" and t["adcode"] == JINGNING
            and t["year"] == 2025 and t["kind"] == "level" and t["applies_to"] == "region"]
    assert [(t["value"], t["origin"]) for t in mine] == [(21.5, "user")]
    audit = store.con.execute("SELECT username, target FROM audit_log WHERE action = 'targets.set' "
                              "ORDER BY seq DESC LIMIT 1").fetchone()
    assert audit == ("jingning", f"tax_per_mu:{JINGNING}:2025:level")


def test_imported_targets_land_in_targets(store, tmp_path):
    from shanhai.ingest.importer import import_file

    csv = tmp_path / "plan.csv"
    csv.write_text("指标代码,指标名称,地区代码,期间,数值,目标值\n"
                   f"tech_reform_investment,工业技术改造投资,{SHAOXING},2024-06,52000,130000\n"
                   f"tech_reform_investment,工业技术改造投资,{SHAOXING},2023-06,50000,\n", "utf-8")
    res = import_file(store, "indicators", csv, username="tests")
    assert res.rejected == 0
    row = store.con.execute(f"SELECT kind, value, origin FROM targets WHERE indicator_id = 'tech_reform_investment' "
                            f"AND adcode = '{SHAOXING}' AND year = 2024").fetchone()
    assert row == ("level", 130000.0, "import")
    doc = jt.evaluate(store, P, SHAOXING, 2024, 6, indicator_id="tech_reform_investment")
    r = next(x for x in doc["rows"] if x["target_year"] == 2024)
    assert r["actual"] == 52000.0 and r["growth"] == pytest.approx(4.0) and r["progress"] == 0.5
    assert r["ratio"] == pytest.approx(52000 / (130000 * 0.5))


def test_runs_are_never_overwritten(store):
    a = jt.run(store, Scope.of(store, LISHUI), user="tests")
    b = jt.run(store, Scope.of(store, LISHUI), user="tests")
    assert a["run_id"] != b["run_id"]
    doc = jt.run_doc(store, Scope.of(store, LISHUI), a["run_id"])
    assert doc["status"] and doc["summary"]["counts"] == a["summary"]["counts"]
    assert doc["index"]["mountain26"] and all(r["adcode"].startswith("3311") for r in doc["index"]["mountain26"])
    with pytest.raises(OutOfScopeError):
        jt.run_doc(store, Scope.of(store, "330100"), a["run_id"])
    with pytest.raises(NotFoundError):
        jt.run_doc(store, P, "targets-nosuchrun")
    assert {r["run_id"] for r in jt.list_runs(store, Scope.of(store, LISHUI))} >= {a["run_id"], b["run_id"]}
    assert not jt.list_runs(store, Scope.of(store, "330100"))


def test_index_and_region_status(store):
    idx = jt.composite(store, P, group="mountain26")
    assert len(idx["rows"]) == 26 and sorted(r["rank"] for r in idx["rows"])[0] == 1
    assert all(60 <= r["index"] <= 100 for r in idx["rows"])
    ranks = [r["rank"] for r in idx["rows"]]
    assert ranks == sorted(ranks)
    cities = jt.composite(store, P, group="cities")
    assert len(cities["rows"]) == 11
    with pytest.raises(ShanhaiError):
        jt.composite(store, P, group="towns")
    s = jt.region_status(store, P, LISHUI)
    assert s["counts"] and all(isinstance(r, dict) for r in s["rows"])
    assert {r["light"] for r in s["red"]} <= {"red"}
    assert all(r["change"] == "better" for r in s["rose"]) and all(r["change"] == "worse" for r in s["fell"])


def test_an_unregistered_imported_rate_is_compared_in_points(store, tmp_path):
    from shanhai.ingest.importer import import_file

    csv = tmp_path / "rate.csv"
    csv.write_text("指标代码,指标名称,单位,地区代码,期间,数值,目标值\n"
                   f"va_growth_published,规上工业增加值增速,%,{SHAOXING},2024-03,5.0,6.0\n"
                   f"va_growth_published,规上工业增加值增速,%,{SHAOXING},2024-06,5.5,\n", "utf-8")
    assert import_file(store, "indicators", csv, username="tests").rejected == 0
    ind = jt.indicator(store, "va_growth_published")
    assert ind["cadence"] == "month" and not ind["cumulative"] and not ind["registered"]
    r = next(x for x in jt.evaluate(store, P, SHAOXING, 2024, 6, indicator_id="va_growth_published")["rows"])
    assert r["actual"] == 5.5 and r["gap_points"] == pytest.approx(-0.5) and r["light"] == "amber"
    assert r["progress"] == 1.0


def test_periods_and_calendar_bases(store):
    assert jt.parse_period("2023") == (2023, None)
    assert jt.parse_period("2023-06") == (2023, 6)
    assert jt.parse_period("2023-Q2") == (2023, 6)
    for bad in ("2023-13", "23-06", "2023Q5"):
        with pytest.raises(ShanhaiError):
            jt.parse_period(bad)
    days = jt.evaluate(store, P, JINGNING, 2024, 3, rules="days")
    assert days["as_of"]["progress"] == pytest.approx(91 / 366)
    plan = jt.evaluate(store, P, JINGNING, 2024, 4, rules="plan")
    assert plan["as_of"]["progress"] == 0.30
    with pytest.raises(ShanhaiError):
        jt.evaluate(store, P, JINGNING, 2024, 13)
