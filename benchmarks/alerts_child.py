"""Child process of the ``alerts`` workload (``benchmarks/alerts.py``).

    python -P benchmarks/alerts_child.py prepare DB [--firms 500000] [--months 100]
    python -P benchmarks/alerts_child.py shanhai DB
    python -P benchmarks/alerts_child.py check DB PANDAS_DB --firms N

``prepare`` (not measured) makes a store (``open_store``: every migration) with ``enterprises``
(N firms, 11 cities × 13 towns of made-up codes) and ``electricity_monthly`` (N × M months from
January 2017): daily level lognormal-like by firm, the synthetic province's seasonal profile, a
festival-month dip of 0.62 (the 春节 dates of the packaged rule set), ±10 % noise, water for 70 %
and gas for 35 % of the firms, and anomalies in the last 20 months: 1.5 % collapse (to 2–24 %),
1.5 % decline (to 45 % over 9 months), 1 % a one-month spike (×3). All in DuckDB SQL.

``shanhai`` times ``open_store`` + ``shanhai.jobs.alerts.scan(store)`` (the latest month: read
the months the windows need, every firm's signals and score, the run, alerts, repeats and visit
tasks stored in one transaction) + close. ``check`` compares the pandas baseline's alerts (table
``pandas_alerts`` of PANDAS_DB, the first N firms) with the run's ``alert_scores`` for the same
firms: the same firms, kind and score within 0.01. The last line of stdout is a JSON report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

STARTED = time.perf_counter()
SEASON = (1.02, 0.92, 1.00, 0.99, 1.01, 1.02, 1.10, 1.10, 1.02, 0.98, 1.00, 1.05)   # synth params.toml
FESTIVAL_FACTOR = 0.62
FIRST_MONTH = "2017-01-01"


def prepare(db: str, firms: int, months: int) -> dict:
    from shanhai.policy._alerts import alert_rules
    from shanhai.store import open_store

    t0 = time.perf_counter()
    dates = alert_rules().festival.dates
    fest = " ".join(f"WHEN {y} THEN {d.month}" for y, d in dates.items())
    season = ", ".join(map(str, SEASON))
    first = months - 20
    with open_store(db) as store:
        con = store.con
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"""CREATE TEMP TABLE firms AS
            SELECT i, '91' || lpad(i::VARCHAR, 16, '0') AS uscc,
                   '33' || lpad((1 + i % 11)::VARCHAR, 2, '0') || lpad((1 + i % 7)::VARCHAR, 2, '0') AS county,
                   200.0 * exp(3.0 * ((hash(i, 'level') % 1000000) / 1e6)) AS level,
                   CASE WHEN i % 1000 < 15 THEN 'collapse' WHEN i % 1000 < 30 THEN 'decline'
                        WHEN i % 1000 < 40 THEN 'spike' END AS kind,
                   {first} + (hash(i, 'start') % 20)::INTEGER AS start,
                   0.02 + ((hash(i, 'depth') % 23)::INTEGER) / 100.0 AS depth,
                   (hash(i, 'water') % 100) < 70 AS has_water, (hash(i, 'gas') % 100) < 35 AS has_gas
            FROM range({firms}) t(i)""")
        con.execute("""INSERT INTO enterprises (uscc, name, county_adcode, town_adcode, town_name, industry_code,
                                                status, dataset_id)
            SELECT uscc, '基准企业' || i, county, county || lpad((1 + i % 13)::VARCHAR, 3, '0'),
                   '镇' || (1 + i % 13), '3311', 'active', 'bench' FROM firms""")
        con.execute(f"""INSERT INTO electricity_monthly
            WITH g AS (
                SELECT f.uscc, f.i, m, DATE '{FIRST_MONTH}' + to_months(m) AS month, f.level, f.kind, f.start,
                       f.depth, f.has_water, f.has_gas
                FROM firms f CROSS JOIN range({months}) r(m)
            ), k AS (
                SELECT uscc, month, has_water, has_gas,
                       level * dayofmonth(last_day(month)) * [{season}][month(month)]
                       * CASE WHEN month(month) = (CASE year(month) {fest} END) THEN {FESTIVAL_FACTOR} ELSE 1 END
                       * (0.9 + 0.2 * ((hash(i, m) % 1000000) / 1e6))
                       * CASE WHEN kind = 'collapse' AND m >= start THEN depth
                              WHEN kind = 'decline' AND m >= start THEN 1 - 0.55 * least(1.0, (m - start + 1) / 9.0)
                              WHEN kind = 'spike' AND m = start THEN 3.0 ELSE 1.0 END AS kwh
                FROM g
            )
            SELECT uscc, month, round(kwh, 1), CASE WHEN has_water THEN round(kwh * 0.004, 1) END,
                   CASE WHEN has_gas THEN round(kwh * 0.05, 1) END, 'bench' FROM k""")
        con.execute("CHECKPOINT")
        rows = con.execute("SELECT count(*), count(DISTINCT uscc), max(month) FROM electricity_monthly").fetchone()
    return {"rows": rows[0], "firms": rows[1], "latest": rows[2].isoformat(), "months": months,
            "prepare_s": round(time.perf_counter() - t0, 1)}


def shanhai(db: str) -> dict:
    t0 = time.perf_counter()
    from shanhai.jobs import alerts as ja
    from shanhai.store import open_store

    imported = time.perf_counter()
    store = open_store(db)
    opened = time.perf_counter()
    cpu0 = time.process_time()
    doc = ja.scan(store, user="bench")
    ran = time.perf_counter()
    cpu = time.process_time() - cpu0
    rows = store.con.execute(f"SELECT count(*) FROM electricity_monthly WHERE month > DATE '{doc['month']}' "
                             "- INTERVAL 26 MONTH").fetchone()[0]
    store.close()
    closed = time.perf_counter()
    return {"run_s": round(ran - opened, 3), "run_cpu_s": round(cpu, 2), "import_s": round(imported - t0, 3),
            "open_s": round(opened - imported, 3), "close_s": round(closed - ran, 3), "firms": doc["firms_scanned"],
            "rows_read": rows, "alerts": doc["alerts"], "tasks": doc["tasks"], "month": doc["month"],
            "run_id": doc["run_id"]}


def check(db: str, pandas_db: str, firms: int) -> dict:
    import duckdb

    con = duckdb.connect(db, read_only=True)
    con.execute(f"ATTACH '{pandas_db}' AS p (READ_ONLY)")
    limit = "91" + str(firms).rjust(16, "0")
    ours = con.execute(f"SELECT uscc, kind, score FROM alert_scores WHERE uscc < '{limit}'").fetchall()
    theirs = con.execute("SELECT uscc, kind, score FROM p.pandas_alerts").fetchall()
    a, b = {u: (k, s) for u, k, s in ours}, {u: (k, s) for u, k, s in theirs}
    only_ours, only_theirs = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    both = set(a) & set(b)
    kind_diff = sorted(u for u in both if a[u][0] != b[u][0])
    score_diff = sorted(u for u in both if abs(a[u][1] - b[u][1]) > 0.01 + 1e-9)
    identical = not (only_ours or only_theirs or kind_diff or score_diff)
    return {"identical": identical, "shanhai_alerts": len(a), "pandas_alerts": len(b), "only_shanhai": only_ours[:5],
            "only_pandas": only_theirs[:5], "kind_differs": kind_diff[:5], "score_differs": score_diff[:5],
            "differing": len(only_ours) + len(only_theirs) + len(kind_diff) + len(score_diff)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="alerts_child")
    parser.add_argument("mode", choices=("prepare", "shanhai", "check"))
    parser.add_argument("db")
    parser.add_argument("pandas_db", nargs="?")
    parser.add_argument("--firms", type=int, default=500_000)
    parser.add_argument("--months", type=int, default=100)
    args = parser.parse_args(argv)
    if args.mode == "prepare":
        report = prepare(args.db, args.firms, args.months)
    elif args.mode == "shanhai":
        report = shanhai(args.db)
    else:
        report = check(args.db, args.pandas_db, args.firms)
    sys.stdout.write(json.dumps(report, default=str) + "\n")


if __name__ == "__main__":
    main()
