"""Child process of the ``carbon`` workload (``benchmarks/carbon.py``).

    python -P benchmarks/carbon_child.py prepare DB [--firms 1000000]
    python -P benchmarks/carbon_child.py shanhai DB
    python -P benchmarks/carbon_child.py check DB PANDAS_DB

``prepare`` (not measured) writes a DuckDB file with ``firms`` (N firm-years of 2023: value added
lognormal around 3,000 万元 with 0.5 % ≤ 0, 30 divisions, 90 made-up counties in 11 cities) and
``energy`` (6 rows per firm-year: grid electricity, self-consumed PV, natural gas, raw coal,
diesel, heat — in mixed units: kWh or 万kWh, m³ or 万m³, t or kg, GJ or MJ). All in DuckDB SQL.

``shanhai`` times the conversion and the grading in DuckDB SQL — ``firm_energy_sql`` over
``coefficients_sql`` of the default preset, then ``grades_sql`` — into a temporary table, as
``shanhai.jobs.carbon.run`` does before storing (``run_s``), then the write of the 1,000,000 result
rows into the file's table ``grades`` (``store_s``, reported beside it). ``check`` compares the pandas baseline's
``pandas_grades`` with ``grades``: every firm-year, the same grade, level and flag, and L, the
industry's L and K within a relative 1e-9. The last line of stdout is a JSON report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

STARTED = time.perf_counter()


def prepare(db: str, firms: int) -> dict:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(db)
    con.execute("SELECT setseed(0.11)")
    con.execute(f"""
        CREATE TABLE firms AS
        SELECT 'F' || lpad(i::VARCHAR, 8, '0') AS uscc, 2023 AS year,
               CAST(CASE WHEN random() < 0.005 THEN -100 * random()
                         ELSE round(exp(ln(3000) + 0.9 * (random() + random() + random() - 1.5)), 4) END AS DECIMAL(18, 4))
                   AS value_added,
               lpad((13 + (i % 30))::VARCHAR, 2, '0') || '11' AS industry_code,
               '33' || lpad((1 + (i % 11))::VARCHAR, 2, '0') || lpad((1 + (i // 11) % 8)::VARCHAR, 2, '0') AS county_adcode,
               '33' || lpad((1 + (i % 11))::VARCHAR, 2, '0') || '00' AS city_adcode
        FROM range({int(firms)}) t(i)""")
    con.execute("""
        CREATE TABLE energy AS
        WITH f AS (SELECT uscc, CAST(value_added AS DOUBLE) AS va, CAST(substr(industry_code, 1, 2) AS INTEGER) AS d
                   FROM firms)
        SELECT uscc, '2023' AS period, carrier, quantity, unit, NULL::DOUBLE AS measured_tce_per_unit,
               NULL::DOUBLE AS measured_co2_per_unit
        FROM (
            SELECT uscc, 'grid_electricity' AS carrier, abs(va) * (800 + 40 * d) * (0.6 + random()) AS q, random() < 0.3 AS alt FROM f
            UNION ALL SELECT uscc, 'pv_self', abs(va) * 60 * random(), random() < 0.3 FROM f
            UNION ALL SELECT uscc, 'natural_gas', abs(va) * (10 + d) * random(), random() < 0.5 FROM f
            UNION ALL SELECT uscc, 'coal', abs(va) * 0.02 * (d % 7) * random(), random() < 0.2 FROM f
            UNION ALL SELECT uscc, 'diesel', abs(va) * 0.002 * random(), random() < 0.5 FROM f
            UNION ALL SELECT uscc, 'heat', abs(va) * 0.3 * (d % 5) * random(), random() < 0.3 FROM f)
        CROSS JOIN LATERAL (SELECT
            CASE carrier WHEN 'grid_electricity' THEN CASE WHEN alt THEN q / 10000 ELSE q END
                         WHEN 'pv_self' THEN q WHEN 'natural_gas' THEN CASE WHEN alt THEN q / 10000 ELSE q END
                         WHEN 'diesel' THEN CASE WHEN alt THEN q * 1000 ELSE q END
                         WHEN 'heat' THEN CASE WHEN alt THEN q * 1000 ELSE q END ELSE q END AS quantity,
            CASE carrier WHEN 'grid_electricity' THEN CASE WHEN alt THEN '10k_kWh' ELSE 'kWh' END
                         WHEN 'pv_self' THEN 'kWh' WHEN 'natural_gas' THEN CASE WHEN alt THEN '10k_m3' ELSE 'm3' END
                         WHEN 'diesel' THEN CASE WHEN alt THEN 'kg' ELSE 't' END
                         WHEN 'heat' THEN CASE WHEN alt THEN 'MJ' ELSE 'GJ' END ELSE 't' END AS unit)""")
    n = con.execute("SELECT count(*) FROM energy").fetchone()[0]
    con.close()
    return {"firms": firms, "rows": n, "prepare_s": round(time.perf_counter() - t0, 2)}


def shanhai(db: str) -> dict:
    import duckdb

    from shanhai.analysis import carbon as ac
    from shanhai.policy._carbon import factors, grading

    con = duckdb.connect(db)
    t0 = time.perf_counter()
    g = grading("default")
    fe = ac.firm_energy_sql("energy", ac.coefficients_sql(factors(g.factors), g, [2023]))
    con.execute(f"CREATE OR REPLACE TEMP TABLE _grades AS {ac.grades_sql(f'({fe})', 'firms', g)}")
    run_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    con.execute("CREATE OR REPLACE TABLE grades AS SELECT * FROM _grades")
    store_s = time.perf_counter() - t1
    n, graded = con.execute("SELECT count(*), count(grade) FROM grades").fetchone()
    rows = con.execute("SELECT count(*) FROM energy").fetchone()[0]
    con.close()
    return {"run_s": round(run_s, 4), "store_s": round(store_s, 4), "rows_read": rows, "firm_years": n, "graded": graded}


def check(db: str, pandas_db: str) -> dict:
    import duckdb

    con = duckdb.connect(db)
    con.execute(f"ATTACH '{pandas_db}' AS p (READ_ONLY)")
    n, differing = con.execute("""
        SELECT count(*), count_if(p.uscc IS NULL OR g.uscc IS NULL
                                  OR g.grade IS DISTINCT FROM p.grade OR g.level IS DISTINCT FROM p.level
                                  OR g.flag IS DISTINCT FROM p.flag
                                  OR abs(coalesce(g.intensity, 0) - coalesce(p.intensity, 0)) > 1e-9 * abs(coalesce(g.intensity, 1))
                                  OR abs(coalesce(g.k, 0) - coalesce(p.k, 0)) > 1e-9 * abs(coalesce(g.k, 1))
                                  OR abs(coalesce(g.industry_intensity, 0) - coalesce(p.industry_intensity, 0))
                                     > 1e-9 * abs(coalesce(g.industry_intensity, 1)))
        FROM grades g FULL JOIN p.pandas_grades p ON p.uscc = g.uscc AND p.year = g.year""").fetchone()
    con.close()
    return {"firm_years": n, "differing": differing, "identical": differing == 0}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("prepare", "shanhai", "check"))
    parser.add_argument("db")
    parser.add_argument("other", nargs="?")
    parser.add_argument("--firms", type=int, default=1_000_000)
    a = parser.parse_args()
    if a.mode == "prepare":
        report = prepare(a.db, a.firms)
    elif a.mode == "shanhai":
        report = shanhai(a.db)
    else:
        report = check(a.db, a.other)
    report["child_s"] = round(time.perf_counter() - STARTED, 3)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
