"""shanhai.jobs.carbon against the small synthetic province: stored runs never overwritten, the
synthetic energy consistent with the monthly electricity (months are stored to 0.1 kWh: within 1 kWh a year), scope in the readers, the per-mu
energy sync (audited, idempotent), determinism and row-order invariance, and unit invariance
through the import path (kWh vs 万kWh, m³ vs 万m³)."""

from __future__ import annotations

import shutil

import pytest

from shanhai.errors import ShanhaiError
from shanhai.jobs import carbon as jc
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope


@pytest.fixture(scope="module")
def db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("carbon") / "carbon.duckdb"
    shutil.copy(small_db, path)
    return path


def _grades(store, run_id):
    return store.con.execute(f"SELECT uscc, year, co2_t, intensity, k, grade, level, flag FROM carbon_grades "
                             f"WHERE run_id = '{run_id}' ORDER BY uscc, year").fetchall()


def test_synthetic_electricity_matches_the_monthly_series(db):
    with open_store(db, read_only=True) as store:
        bad = store.con.execute("""
            WITH e AS (SELECT uscc, CAST(period AS INTEGER) AS year, sum(quantity) AS kwh FROM energy_use
                       WHERE carrier IN ('grid_electricity', 'green_power', 'pv_self') GROUP BY ALL),
                 m AS (SELECT uscc, year(month) AS year, sum(kwh) AS kwh FROM electricity_monthly GROUP BY ALL)
            SELECT count(*), count_if(abs(e.kwh - m.kwh) > 1.0 + 1e-6 * m.kwh) FROM e JOIN m USING (uscc, year)""").fetchone()
        assert bad[0] > 1000 and bad[1] == 0
        carriers = {c for (c,) in store.con.execute("SELECT DISTINCT carrier FROM energy_use").fetchall()}
        assert {"grid_electricity", "pv_self", "coal", "natural_gas", "heat", "diesel", "lpg"} <= carriers


def test_run_stores_a_new_run_each_time_and_is_deterministic(db):
    with open_store(db) as store:
        a = jc.run(store, user="tests")
        b = jc.run(store, user="tests")
        assert a["run_id"] != b["run_id"] and a["firm_years"] == b["firm_years"] > 1000
        assert _grades(store, a["run_id"]) == _grades(store, b["run_id"])
        kinds = store.con.execute(f"SELECT kind, policy_name FROM runs WHERE run_id = '{a['run_id']}'").fetchone()
        assert kinds == ("carbon", "default")
        assert store.con.execute(f"SELECT count(*) FROM audit_log WHERE target = '{a['run_id']}'").fetchone()[0] == 1
        # flagged rows carry no grade; graded rows have K and a level
        assert store.con.execute(f"SELECT count(*) FROM carbon_grades WHERE run_id = '{a['run_id']}' AND "
                                 "((flag IS NULL) = (grade IS NULL))").fetchone()[0] == 0


def test_row_order_does_not_change_the_grades(db, tmp_path):
    path = tmp_path / "shuffled.duckdb"
    shutil.copy(db, path)
    with open_store(db, read_only=True) as store:
        base_run = jc.runs(store, Scope.province())[0]["run_id"]
        base = _grades(store, base_run)
    with open_store(path) as store:
        store.con.execute("CREATE TEMP TABLE _e AS SELECT * FROM energy_use ORDER BY hash(uscc || carrier) DESC")
        store.con.execute("DELETE FROM energy_use")
        store.con.execute("INSERT INTO energy_use SELECT * FROM _e")
        run = jc.run(store, user="tests")
        got = _grades(store, run["run_id"])
        assert [(u, y, g, lv, f) for u, y, _c, _l, _k, g, lv, f in got] == \
            [(u, y, g, lv, f) for u, y, _c, _l, _k, g, lv, f in base]
        assert [r[3] for r in got] == pytest.approx([r[3] for r in base], rel=1e-12)


def test_units_do_not_change_the_grade(db, tmp_path):
    """Every electricity row rewritten in 万千瓦时 and every gas row in 万立方米 (as an import of
    such a file stores them): the same grades."""
    path = tmp_path / "units.duckdb"
    shutil.copy(db, path)
    with open_store(path) as store:
        before = jc.run(store, user="tests")
        store.con.execute("UPDATE energy_use SET quantity = quantity / 10000, unit = '10k_kWh' WHERE unit = 'kWh'")
        store.con.execute("UPDATE energy_use SET quantity = quantity / 10000, unit = '10k_m3' WHERE unit = 'm3'")
        store.con.execute("UPDATE energy_use SET quantity = quantity * 1000, unit = 'kg' WHERE carrier = 'diesel'")
        after = jc.run(store, user="tests")
        a, b = _grades(store, before["run_id"]), _grades(store, after["run_id"])
        assert [r[5] for r in a] == [r[5] for r in b] and [r[6] for r in a] == [r[6] for r in b]
        assert [r[3] for r in a] == pytest.approx([r[3] for r in b], rel=1e-9)


def test_import_in_other_units_gives_the_same_grade(db, tmp_path):
    """The import path: one firm's energy written as a CSV with Chinese headers, once in 千瓦时 and
    立方米, once in 万千瓦时 and 万立方米: the stored rows convert to the same tce and CO2."""
    from shanhai.ingest.importer import import_file

    path = tmp_path / "imp.duckdb"
    shutil.copy(db, path)
    with open_store(path) as store:
        uscc = store.con.execute("SELECT uscc FROM enterprises ORDER BY uscc LIMIT 1").fetchone()[0]
        results = []
        for kwh, gas, ukwh, ugas in ((2_000_000, 500_000, "千瓦时", "立方米"), (200, 50, "万千瓦时", "万立方米")):
            f = tmp_path / f"energy_{ukwh}.csv"
            f.write_text("统一社会信用代码,期间,能源品种,消费量,计量单位\n"
                         f"{uscc},2030,电网购电,{kwh},{ukwh}\n{uscc},2030,天然气,{gas},{ugas}\n", "utf-8")
            res = import_file(store, "energy", f, username="tests")
            assert res.rejected == 0 and res.inserted + res.updated == 2, res.rejects
            rows = store.con.execute("SELECT carrier, quantity, unit FROM energy_use WHERE uscc = ? AND period = '2030' "
                                     "ORDER BY carrier", [uscc]).fetchall()
            tot = [jc.convert(q, u, c, 2030) for c, q, u in rows]
            results.append((sum(t["tce_equal"] for t in tot), sum(t["co2_t"] for t in tot)))
        assert results[0] == pytest.approx(results[1])
        assert results[0][1] == pytest.approx(2_000_000 * 0.0005306 + 500_000 * 0.0021622)


def test_import_rejects_a_unit_that_does_not_fit(db, tmp_path):
    from shanhai.ingest.importer import import_file

    path = tmp_path / "bad.duckdb"
    shutil.copy(db, path)
    with open_store(path) as store:
        uscc = store.con.execute("SELECT uscc FROM enterprises ORDER BY uscc LIMIT 1").fetchone()[0]
        f = tmp_path / "bad.csv"
        f.write_text(f"统一社会信用代码,期间,能源品种,消费量,计量单位\n{uscc},2030,原煤,5,千瓦时\n", "utf-8")
        res = import_file(store, "energy", f, username="tests")
        assert store.con.execute("SELECT count(*) FROM energy_use WHERE period = '2030'").fetchone()[0] == 0
        assert res.rejected == 1 and "计量单位与能源品种不符" in repr(res.rejects)


def test_readers_are_scoped(db):
    with open_store(db, read_only=True) as store:
        county = store.con.execute("SELECT county_adcode FROM carbon_grades GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
        scope = Scope.of(store, county)
        g = jc.grades(store, scope, limit=None)
        assert g["firms"] and {f["county_adcode"] for f in g["firms"]} == {county}
        s = jc.share(store, scope)
        assert {r["adcode"] for r in s["rows"]} == {county}
        other = store.con.execute(f"SELECT uscc FROM carbon_grades WHERE county_adcode <> '{county}' LIMIT 1").fetchone()[0]
        with pytest.raises(OutOfScopeError):
            jc.firm(store, scope, other)
        with pytest.raises(OutOfScopeError):
            jc.industries(store, scope, adcode="330000")
        b = jc.briefing(store, county)
        assert set(b) >= {"grade_counts", "low_carbon_share", "target", "worst_industries"} and b["region"] == county


def test_industry_average_is_a_ratio_of_sums(db):
    with open_store(db, read_only=True) as store:
        run = jc.runs(store, Scope.province())[0]["run_id"]
        bad = store.con.execute(f"""
            WITH x AS (SELECT year, industry, sum(co2_t) / sum(value_added) AS ros, any_value(industry_intensity) AS stored,
                              count(DISTINCT industry_intensity) AS n
                       FROM carbon_grades WHERE run_id = '{run}' AND value_added > 0 GROUP BY ALL)
            SELECT count(*), count_if(n <> 1 OR abs(ros - stored) > 1e-9 * ros) FROM x""").fetchone()
        assert bad[0] > 20 and bad[1] == 0
        p = store.con.execute(f"SELECT sum(co2_t) / sum(value_added) FROM carbon_industries WHERE run_id = '{run}' "
                              "AND adcode = '330000' AND industry = '26' AND year = 2024").fetchone()[0]
        assert p is None or p > 0.6


def test_sync_energy_is_audited_and_idempotent(db, tmp_path):
    path = tmp_path / "sync.duckdb"
    shutil.copy(db, path)
    with open_store(path) as store:
        first = jc.sync_energy(store, user="tests")
        assert first["changed"] > 1000 and first["basis"] == "equal"
        again = jc.sync_energy(store, user="tests")
        assert again["changed"] == 0
        n = store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'carbon.sync_energy'").fetchone()[0]
        assert n == 2
        y, e = store.con.execute("SELECT year, max(energy_tce) FROM enterprise_years WHERE energy_tce IS NOT NULL "
                                 "GROUP BY year ORDER BY year DESC LIMIT 1").fetchone()
        assert e > 0
        # the sync says what it wrote: 等价值 with the 当量值 beside it (more where there is electricity)
        kept = store.con.execute("""SELECT count(*), count_if(energy_basis = 'equivalent_coal'),
                                           count_if(energy_tce_calorific < energy_tce)
                                    FROM enterprise_years WHERE energy_tce IS NOT NULL AND electricity_kwh > 0
                                    AND energy_tce_calorific IS NOT NULL""").fetchone()
        assert kept[0] > 1000 and kept[0] == kept[1] == kept[2]
        eq = jc.sync_energy(store, basis="equivalent", user="tests")
        assert eq["changed"] > 0
        assert store.con.execute("""SELECT count(*) FROM enterprise_years WHERE energy_basis IS NOT NULL AND
                                    (energy_basis <> 'equivalent_calorific' OR energy_tce <> energy_tce_calorific)"""
                                 ).fetchone()[0] == 0
        with pytest.raises(ShanhaiError):
            jc.sync_energy(store, basis="nonsense")


def test_what_if_changes_the_factor_not_the_stored_run(db):
    with open_store(db) as store:
        uscc = store.con.execute("SELECT uscc FROM carbon_grades WHERE grade IS NOT NULL AND co2_t > 0 "
                                 "ORDER BY uscc LIMIT 1").fetchone()[0]
        n = store.con.execute("SELECT count(*) FROM carbon_grades").fetchone()[0]
        w = jc.what_if(store, Scope.province(), uscc, grid_series="mee_nbs_fossil")
        assert w["what_if"]["result"]["co2_t"] >= w["base"]["result"]["co2_t"]
        assert store.con.execute("SELECT count(*) FROM carbon_grades").fetchone()[0] == n
        with pytest.raises(ShanhaiError):
            jc.what_if(store, Scope.province(), uscc, grid_series="no_such_series")
