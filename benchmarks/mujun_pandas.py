"""The baseline of the ``mujun`` workload: 黄岩区 2022 (preset ``huangyan-2022``) the straightforward
pandas way, on the same store as the engine.

Run as a child process (``python -P benchmarks/mujun_pandas.py DB --year 2023``; it imports only
pandas, numpy and duckdb) and prints one JSON line with its timings. Steps, following
``shanhai.analysis.mujun``'s docstring for this preset:

1. read the year's ``enterprise_years`` joined to ``enterprises`` (and to the county list, as the
   engine does) from DuckDB into a DataFrame (``con.sql(...).df()``);
2. land used = own + leased − leased out (a missing part counts 0);
3. not evaluated (class T): status not ``active``, or no land used (≤ 0);
4. two populations: ``above_scale`` (是否规上 true) and ``below_scale`` (false);
5. indicator value = numerator ÷ denominator, NULL (NaN) when the denominator is ≤ 0 or missing;
6. score = value ÷ published benchmark × weight, rounded to 4 decimals; a missing score is 0,
   or the worst score of the firm's county and population if that is below 0 (a net tax refund:
   a firm that reports nothing never scores better than one that reports a loss), except
   单位排放增加值 of an above-scale firm: the mean of the rounded scores of the firms of its
   county and population (rounded to 4 decimals; 0 if none has one);
7. total = Σ scores, rounded to 4 decimals;
8. rank inside county × population, descending, ties share the best rank (``method="min"``);
9. class by rank shares A 20 % / B 60 % / C 15 % / D 5 %: the firm with r − 1 firms ahead of it
   out of n is in the first class whose cumulative share s has (r − 1) < s × n, compared in
   integers (shares in millionths);
10. the results go to a DuckDB table, ``pandas_mujun_results``.

Rounding is the engine's (``shanhai.analysis.mujun._round``): the double to 9 decimals, then
四舍五入 (half away from zero) to 4, so a score of 28.230049999999998 (28.23005 as a decimal) is
28.2301. pandas' own ``round(4)`` rounds the binary value half-to-even and gives different
scores on ties (0.00005 → 0.0) and near-ties; ``round4`` below does it with numpy.
"""

from __future__ import annotations

import json
import sys
import time

STARTED = time.perf_counter()

# huangyan-2022.toml: (indicator, numerator, denominator, factor to the published unit, benchmark, weight)
ABOVE_SCALE = [
    ("tax_per_mu", "tax_paid", "land_used_mu", 1.0, 24.097, 30),
    ("value_added_per_mu", "value_added", "land_used_mu", 1.0, 136.16, 20),
    ("value_added_per_energy", "value_added", "energy_tce", 1.0, 2.694, 20),
    ("value_added_per_emission", "value_added", "emission_t", 1.0, 4929.81, 10),
    ("labour_productivity", "value_added", "headcount", 1.0, 18.14, 10),
    ("rd_intensity", "rd_spending", "main_revenue", 1.0, 0.0302, 10),
]
BELOW_SCALE = [
    ("tax_per_mu", "tax_paid", "land_used_mu", 1.0, 11.5932, 50),
    ("tax_per_kwh", "tax_paid", "electricity_kwh", 10_000.0, 0.2352, 50),   # 万元 ÷ kWh × 10,000 = 元/kWh
]
POPULATIONS = {"above_scale": ABOVE_SCALE, "below_scale": BELOW_SCALE}
MEAN_SCORE_IF_MISSING = {("above_scale", "value_added_per_emission")}
SHARES = [("A", 0.20), ("B", 0.60), ("C", 0.15), ("D", 0.05)]
STATUSES = ("active",)
PPM = 1_000_000

# score columns in the order the engine sums them (first appearance over the populations)
SCORED = list(dict.fromkeys(i for rules in POPULATIONS.values() for i, *_ in rules))

QUERY = """
SELECT y.uscc, y.above_scale, y.tax_paid, y.value_added, y.headcount, y.energy_tce, y.emission_t,
       y.rd_spending, y.main_revenue, y.electricity_kwh, y.land_own_mu, y.land_leased_mu,
       y.land_leased_out_mu, e.county_adcode, e.status
FROM enterprise_years y
JOIN enterprises e ON e.uscc = y.uscc
JOIN regions r ON r.adcode = e.county_adcode AND r.level = 'county'
WHERE y.year = {year}
"""


def check_preset(name: str = "huangyan-2022") -> str | None:
    """None when the constants above are the packaged preset's (called by the parent, unmeasured),
    else what differs: the baseline must implement the same method the engine runs."""
    from shanhai import policy
    from shanhai.policy import INDICATORS

    preset = policy.get(name)
    problems = []
    if [p.id for p in preset.populations] != list(POPULATIONS):
        problems.append(f"populations {[p.id for p in preset.populations]} != {list(POPULATIONS)}")
    for p in preset.populations:
        expected = POPULATIONS.get(p.id, [])
        got = []
        for r in p.indicators:
            d = INDICATORS[r.id]
            den = "land_used_mu" if d.denominator == "land_used" else d.denominator
            got.append((r.id, d.numerator, den, d.factor, (r.benchmark.value or 0) * r.benchmark.multiple, r.weight))
            if r.benchmark.kind != "fixed" or r.direction != "higher" or r.cap is not None or r.floor is not None:
                problems.append(f"{p.id}.{r.id}: only fixed, uncapped, higher-is-better indicators are implemented")
            if (r.missing == "mean_score") != ((p.id, r.id) in MEAN_SCORE_IF_MISSING) or r.missing not in (
                    "zero", "mean_score"):
                problems.append(f"{p.id}.{r.id}: missing = {r.missing!r}")
        if [tuple(x) for x in expected] != got:
            problems.append(f"{p.id}: indicators {got} != {expected}")
        if p.above_scale is None or (p.above_scale != (p.id == "above_scale")) or p.own_land_min is not None \
                or p.own_land_max is not None or p.lessee is not None:
            problems.append(f"{p.id}: population conditions differ")
        if preset.shares_for(p) != dict(SHARES):
            problems.append(f"{p.id}: shares {preset.shares_for(p)} != {dict(SHARES)}")
    classes = preset.classes
    if classes.method != "rank_shares" or list(classes.within) != ["population"] or preset.unit != "county":
        problems.append("classes: expected rank shares within county × population")
    s = preset.scope
    if tuple(s.statuses) != STATUSES or not s.require_land or s.exclude_industries or s.exclude_flags \
            or s.min_age_years:
        problems.append(f"scope {s} differs")
    if preset.bonuses or preset.penalties or preset.rules or preset.groups:
        problems.append("bonuses, penalties, rules or industry groups are not implemented")
    return "; ".join(problems) or None


def round4(x):
    """x to 9 decimals, then 四舍五入 (half away from zero) to 4 — the engine's
    ``CAST(x AS DECIMAL(38, 9))``, ``round(·, 4)``, ``CAST(· AS DOUBLE)`` — in integers, exact for
    |x| < 9,000,000 (scores and totals are far smaller)."""
    import numpy as np

    scaled = np.asarray(x, dtype="float64") * 1e9
    whole = np.trunc(scaled)
    nines = np.where(np.abs(scaled - whole) == 0.5, whole + np.sign(scaled), np.rint(scaled))
    return np.sign(nines) * np.floor((np.abs(nines) + 50_000) / 100_000) / 1e4


def evaluate(df):
    """Score, rank and class the firms of one year (one row per firm, the columns of ``QUERY``)."""
    import numpy as np
    import pandas as pd

    land = df["land_own_mu"].fillna(0) + df["land_leased_mu"].fillna(0) - df["land_leased_out_mu"].fillna(0)
    # the land columns are exact 4-decimal numbers (DECIMAL(14, 4)): round off the float noise of
    # the sum, so 0.1 + 0.2 − 0.3 is 0 (no land) as in the database, not 5.6e-17
    df["land_used_mu"] = round4(land)
    evaluated = df["status"].isin(STATUSES) & (df["land_used_mu"] > 0)
    df["population"] = np.where(evaluated, np.where(df["above_scale"], "above_scale", "below_scale"), None)

    for indicator in SCORED:
        df[f"{indicator}_score"] = np.nan
    for population, rules in POPULATIONS.items():
        rows = df["population"] == population
        for indicator, numerator, denominator, factor, benchmark, weight in rules:
            num = df.loc[rows, numerator].astype("float64")       # headcount is Int32 (nullable)
            den = df.loc[rows, denominator].astype("float64")
            value = (num / den).where(den > 0) * factor
            df.loc[rows, f"{indicator}_score"] = round4(value / benchmark * weight)

    group = ["county_adcode", "population"]
    for population, rules in POPULATIONS.items():
        rows = df["population"] == population
        for indicator, *_ in rules:
            column = f"{indicator}_score"
            scores = df.loc[rows].groupby(group)[column]
            if (population, indicator) in MEAN_SCORE_IF_MISSING:
                mean = scores.transform("mean")
                fill = pd.Series(round4(mean), index=mean.index).fillna(0.0)
            else:
                fill = scores.transform("min").clip(upper=0.0).fillna(0.0)     # min(0, worst score)
            df.loc[rows, column] = df.loc[rows, column].fillna(fill)

    total = pd.Series(0.0, index=df.index)
    for indicator in SCORED:
        total = total + df[f"{indicator}_score"].fillna(0.0)
    df["total_score"] = pd.Series(round4(total), index=df.index).where(evaluated)

    ranked = df[evaluated].groupby(group)["total_score"]
    df["rank"] = ranked.rank(method="min", ascending=False).astype("Int32")
    df["unit_size"] = ranked.transform("size").astype("Int32")

    ahead = (df["rank"].astype("float64") - 1).to_numpy()
    size = df["unit_size"].astype("float64").to_numpy()
    conditions, cumulative = [], 0
    for code, share in SHARES[:-1]:
        cumulative += round(share * PPM)
        conditions.append(ahead * PPM < cumulative * size)     # exact: both sides below 2**53
    classes = np.select(conditions, [code for code, _ in SHARES[:-1]], default=SHARES[-1][0])
    df["class"] = np.where(evaluated, classes, "T")
    return df[["uscc", "county_adcode", "population", *(f"{i}_score" for i in SCORED), "total_score", "rank",
               "unit_size", "class"]]


def run(db: str, year: int) -> dict:
    import duckdb

    imported = time.perf_counter()
    con = duckdb.connect(db)
    df = con.sql(QUERY.format(year=int(year))).df()
    read = time.perf_counter()
    results = evaluate(df)
    evaluated = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    con.register("_results", results)
    con.execute("CREATE OR REPLACE TABLE pandas_mujun_results AS SELECT * FROM _results")
    con.unregister("_results")
    con.execute("COMMIT")
    written = time.perf_counter()
    counts = dict(con.execute('SELECT "class", count(*) FROM pandas_mujun_results GROUP BY 1 ORDER BY 1').fetchall())
    con.close()
    closed = time.perf_counter()
    return {"enterprises": int(len(results)), "classes": {k: int(v) for k, v in counts.items()},
            "import_s": imported - STARTED, "run_s": closed - imported, "work_s": closed - imported,
            "phases": {"read (con.sql(...).df())": read - imported,
                       "evaluate (pandas: scores, rank, class)": evaluated - read,
                       "write pandas_mujun_results, commit": written - evaluated,
                       "class counts, close": closed - written}}


if __name__ == "__main__":
    import argparse
    import resource

    parser = argparse.ArgumentParser(prog="mujun_pandas.py")
    parser.add_argument("db")
    parser.add_argument("--year", type=int, required=True)
    args = parser.parse_args()
    report = run(args.db, args.year)
    raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report["maxrss_mb"] = raw / 2**20 if sys.platform == "darwin" else raw / 1024
    json.dump(report, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
