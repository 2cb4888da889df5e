"""The baseline of the ``alerts`` workload: the early-warning scan of the latest month the
straightforward pandas way, on the same store as the engine, for the first N firms.

Run as a child process (``python -P benchmarks/alerts_pandas.py DB OUT_DB --firms N --rules
TOML``; it imports only pandas, numpy, duckdb and tomllib) and prints one JSON line with its
timings. It implements the formulas of ``shanhai.analysis.alerts`` with the rule set's TOML:

1. read the months the windows need (the latest and the 25 before it) of the first N firms with
   ``con.sql(...).df()``;
2. daily use, festival months, the lunar-aligned lag (11/12/13) per row;
3. per firm (``groupby('uscc')``): ``shift`` for the lags, ``shift(1).rolling(12)`` mean, sd and
   count of the non-festival daily use, ``rolling(3)`` and ``shift(3).rolling(13)`` for the
   decline, water and gas baselines, ``cumcount`` for history, cumulative-sum blocks for the
   near-zero and falling runs;
4. the strengths, points, score (rounded to 2) and kind with numpy;
5. the latest month's firms at or above the alert score go to ``pandas_alerts`` in OUT_DB.

It stores no run, alert or task. Why a fraction: 50,000,000 rows as a DataFrame (uscc as Python
strings) need far more than the 2 GB the target allows, and the grouped rolling windows over
500,000 firms take minutes; the report says which fraction ran.
"""

from __future__ import annotations

import json
import sys
import time

STARTED = time.perf_counter()


def main(argv: list[str]) -> None:
    import argparse
    import tomllib

    parser = argparse.ArgumentParser(prog="alerts_pandas")
    parser.add_argument("db")
    parser.add_argument("out")
    parser.add_argument("--firms", type=int, required=True)
    parser.add_argument("--rules", required=True)
    args = parser.parse_args(argv)
    import duckdb
    import numpy as np
    import pandas as pd

    imported = time.perf_counter()
    with open(args.rules, "rb") as fh:
        R = tomllib.load(fh)
    phases = {}
    t = time.perf_counter()
    con = duckdb.connect(args.db, read_only=True)
    latest = con.execute("SELECT max(month) FROM electricity_monthly").fetchone()[0]
    limit = "91" + str(args.firms).rjust(16, "0")
    back = max(25, 11 + R["near_zero"]["full_after_months"], R["decline"]["falls"] + 1, R["history"]["min_months"])
    df = con.sql(f"""SELECT uscc, month, kwh, water_t, gas_m3 FROM electricity_monthly
                     WHERE uscc < '{limit}' AND month BETWEEN DATE '{latest}' - INTERVAL {back} MONTH AND DATE '{latest}'
                  """).df()
    con.close()
    phases["read"] = time.perf_counter() - t

    t = time.perf_counter()
    df = df.sort_values(["uscc", "month"], kind="stable").reset_index(drop=True)
    month = pd.to_datetime(df["month"])
    y, m = month.dt.year.to_numpy(), month.dt.month.to_numpy()
    df["mi"] = y * 12 + m - 1
    df["u"] = df["kwh"] / month.dt.days_in_month.to_numpy()
    dates = {int(k): v for k, v in R["festival"]["dates"].items()}
    late = {yy for yy, d in dates.items() if d.month == 2 and d.day >= R["festival"]["late_day"]}
    fest_month = {yy: d.month for yy, d in dates.items()}
    df["fest"] = (m == 1) | (m == 2) | ((m == 3) & np.isin(y, list(late)))
    fm_this = pd.Series(y).map(fest_month).to_numpy()
    fm_prev = pd.Series(y - 1).map(fest_month).to_numpy()
    same = ~(pd.notna(fm_this) & pd.notna(fm_prev)) | (fm_this == fm_prev)
    df["lag_m"] = np.where((m == 1) & ~same, 11, np.where((m == 2) & ~same, 13, 12))
    df["ub"] = df["u"].where(~df["fest"])
    g = df.groupby("uscc", sort=False)
    for k in (1, 11, 12, 13):
        df[f"u{k}"] = g["u"].shift(k)
        df[f"mi{k}"] = g["mi"].shift(k)
    df["fest1"] = g["fest"].shift(1)
    df["ub_prev"] = g["ub"].shift(1)
    df["ub_prev3"] = g["ub"].shift(3)
    df["w_prev"] = g["water_t"].shift(1)
    df["g_prev"] = g["gas_m3"].shift(1)
    rolled = df.groupby("uscc", sort=False)
    df["b"] = rolled["ub_prev"].rolling(12, min_periods=1).mean().reset_index(level=0, drop=True)
    df["sd"] = rolled["ub_prev"].rolling(12, min_periods=1).std().reset_index(level=0, drop=True)
    df["n"] = rolled["ub_prev"].rolling(12, min_periods=1).count().reset_index(level=0, drop=True)
    df["u3"] = rolled["ub"].rolling(3, min_periods=1).mean().reset_index(level=0, drop=True)
    df["b3"] = rolled["ub_prev3"].rolling(13, min_periods=1).mean().reset_index(level=0, drop=True)
    df["wb"] = rolled["w_prev"].rolling(12, min_periods=1).mean().reset_index(level=0, drop=True)
    df["gb"] = rolled["g_prev"].rolling(12, min_periods=1).mean().reset_index(level=0, drop=True)
    df["hist"] = g.cumcount()
    phases["windows"] = time.perf_counter() - t

    t = time.perf_counter()
    u, b, mi = df["u"], df["b"], df["mi"]

    def ratio(a, c):
        return a / c.where(c != 0)

    yoy = np.select([df["lag_m"] == 11, df["lag_m"] == 13],
                    [ratio(u, df["u11"]).where(mi - df["mi11"] == 11), ratio(u, df["u13"]).where(mi - df["mi13"] == 13)],
                    ratio(u, df["u12"]).where(mi - df["mi12"] == 12))
    yoy = pd.Series(yoy, index=df.index)
    sd = np.maximum(df["sd"].fillna(0), R["zscore_drop"]["min_cv"] * b)
    zs = ratio(u - b, sd).where(~df["fest"])
    NZ = R["near_zero"]
    nz = (b > NZ["active_floor_kwh_per_day"]) & ((u < NZ["share_below"] * b) | (u < NZ["floor_kwh_per_day"]))
    fall = (~df["fest"]) & (~df["fest1"].fillna(True).astype(bool)) & (u < df["u1"])
    d = ratio(df["u3"], df["b3"])
    sb = ratio(u, b)
    s = pd.Series(np.where(df["fest"], yoy.fillna(sb), sb), index=df.index)
    wr = pd.Series(np.where(df["water_t"].isna() & df["gas_m3"].isna(), np.nan,
                            np.minimum(ratio(df["water_t"], df["wb"]).fillna(1e9),
                                       ratio(df["gas_m3"], df["gb"]).fillna(1e9))), index=df.index)

    def run_length(flag):
        block = (~flag).groupby(df["uscc"], sort=False).cumsum()
        return flag.astype(int).groupby([df["uscc"], block], sort=False).cumsum()

    # runs counted up to full_after_months and decline.falls, as the engine counts them
    nz_run = run_length(nz).clip(upper=NZ["full_after_months"])
    falls = run_length(fall).clip(upper=R["decline"]["falls"])

    def ramp(x, a, c):
        return ((a - x) / (a - c)).fillna(0.0).clip(0.0, 1.0)

    YZ, Z, DC, SP, UT = R["yoy_drop"], R["zscore_drop"], R["decline"], R["spike"], R["utilities"]
    st = {
        "yoy_drop": ramp(yoy, YZ["ratio_below"], YZ["full_at"]),
        "zscore_drop": ramp(zs, Z["z_below"], Z["full_at"]),
        "near_zero": nz_run / NZ["full_after_months"],
        "decline": np.maximum(ramp(d, DC["ratio_below"], DC["full_at"]),
                              np.where((falls >= DC["falls"]) & (d < 1), 0.5, 0.0)),
        "spike": pd.Series(np.where(s >= SP["ratio_above"],
                                    np.minimum(1.0, (s - SP["ratio_above"]) / (SP["full_at"] - SP["ratio_above"])), 0.0),
                           index=df.index),
        "utilities_drop": pd.Series(np.where(wr < UT["ratio_below"], 1.0, 0.0), index=df.index),
    }
    eligible = (df["hist"] >= R["history"]["min_months"]) & (df["n"] >= R["history"]["min_baseline_months"])
    W = R["score"]["weights"]
    pts = {k: np.where(eligible, W[k] * st[k], 0.0) for k in st if k != "utilities_drop"}
    others = sum(st[k] for k in st if k != "utilities_drop")
    pts["utilities_drop"] = np.where(eligible & (others > 0), W["utilities_drop"] * st["utilities_drop"], 0.0)
    score = np.round(np.minimum(100.0, sum(pts.values())), 2)
    collapse = pts["yoy_drop"] + pts["zscore_drop"] + pts["near_zero"] + pts["utilities_drop"]
    kind = np.where(pts["spike"] > np.maximum(collapse, pts["decline"]), "spike",
                    np.where(pts["decline"] > collapse, "decline", "collapse"))
    out = pd.DataFrame({"uscc": df["uscc"], "month": df["month"], "score": score, "kind": kind})
    out = out[(pd.to_datetime(out["month"]) == pd.Timestamp(latest)) & (out["score"] >= R["score"]["alert_at"])]
    phases["signals"] = time.perf_counter() - t

    t = time.perf_counter()
    oc = duckdb.connect(args.out)
    oc.execute("CREATE OR REPLACE TABLE pandas_alerts AS SELECT * FROM out")
    oc.close()
    phases["write"] = time.perf_counter() - t
    done = time.perf_counter()
    sys.stdout.write(json.dumps({"run_s": round(done - imported, 3), "import_s": round(imported - STARTED, 3),
                                 "rows_read": int(len(df)), "firms": int(df["uscc"].nunique()),
                                 "alerts": int(len(out)), "phases": {k: round(v, 3) for k, v in phases.items()}}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
