"""The pandas baseline of the ``carbon`` workload: the same conversion and grading as
``shanhai.analysis.carbon`` (default preset), written straightforwardly with merges and groupbys.

    python -P benchmarks/carbon_pandas.py INPUT_DB OUT_DB

Reads ``energy`` and ``firms`` of INPUT_DB (not measured), converts every row to its canonical
unit, applies the 2023 coefficients (the same ``calc_coefficients``), sums per firm-year, joins the
value added, takes each industry's Σ CO2 ÷ Σ VA over firms with VA > 0 (2-digit division,
province), then L, level, K and grade with the same inclusive bounds and the same rounding
(6 decimals for sums, 12 for the industry's L and K); writes ``pandas_grades`` to OUT_DB (not
measured). The last line of stdout is a JSON report with ``run_s``.
"""

from __future__ import annotations

import json
import math
import sys
import time

import duckdb
import numpy as np
import pandas as pd

from shanhai.analysis import carbon as ac
from shanhai.policy._carbon import factors, grading


def main() -> int:
    source, out = sys.argv[1], sys.argv[2]
    con = duckdb.connect(source, read_only=True)
    energy = con.execute("SELECT uscc, period, carrier, quantity, unit FROM energy").df()
    firms = con.execute("SELECT uscc, year, CAST(value_added AS DOUBLE) AS value_added, industry_code FROM firms").df()
    con.close()
    t0 = time.perf_counter()
    g = grading("default")
    c = ac.calc_coefficients(factors(g.factors), g, 2023)
    units = pd.DataFrame([(u, can, m) for u, (can, m) in ac.UNITS.items()], columns=["unit", "canonical", "mult"])
    coef = pd.DataFrame([(k, ac.CANONICAL_UNIT[k], c.tce_equivalent[k], c.tce_equal[k], c.co2[k]) for k in ac.CANONICAL_UNIT],
                        columns=["carrier", "canonical", "a", "b", "e"])
    e = energy.merge(units, on="unit").merge(coef, on=["carrier", "canonical"])
    e["year"] = e["period"].str[:4].astype(int)
    q = e["quantity"] * e["mult"]
    e["tce_equivalent"], e["tce_equal"], e["co2_t"] = q * e["a"], q * e["b"], q * e["e"]
    fe = e.groupby(["uscc", "year"], as_index=False)[["tce_equivalent", "tce_equal", "co2_t"]].sum()
    fe[["tce_equivalent", "tce_equal", "co2_t"]] = fe[["tce_equivalent", "tce_equal", "co2_t"]].round(6)
    f = fe.merge(firms, on=["uscc", "year"])
    f["industry"] = f["industry_code"].str[:2]
    pos = f[f["value_added"] > 0]
    ind = pos.groupby(["year", "industry"]).agg(co2=("co2_t", lambda s: math.fsum(s)), va=("value_added", lambda s: math.fsum(s)),
                                                industry_firms=("uscc", "size")).reset_index()
    ind["industry_intensity"] = (ind["co2"] / ind["va"]).round(12)
    f = f.merge(ind[["year", "industry", "industry_firms", "industry_intensity"]], on=["year", "industry"], how="left")
    va = f["value_added"]
    f["intensity"] = np.where(va > 0, f["co2_t"] / va.where(va > 0), np.nan)
    f["flag"] = np.select([va.isna(), va <= 0, f["industry_firms"] < g.industry.min_firms, f["industry_intensity"] <= 0],
                          ["no_value_added", "va_not_positive", "thin_industry", "zero_industry"], default=None)
    k = (f["intensity"] / f["industry_intensity"]).round(12)
    f["k"] = np.where(f["flag"].isna(), k, np.nan)
    c1, c2, c3, c4 = g.grades.cutoffs
    f["grade"] = np.where(f["flag"].isna(), np.select([k <= c1, k <= c2, k <= c3, k <= c4], [1, 2, 3, 4], 5), np.nan)
    L = f["intensity"]
    f["level"] = np.where(L.isna(), None, np.where(L <= g.levels.low, "low", np.where(L <= g.levels.medium, "medium", "high")))
    run_s = time.perf_counter() - t0
    res = f[["uscc", "year", "intensity", "industry_intensity", "k", "grade", "level", "flag"]].copy()
    res["grade"] = res["grade"].astype("Int64")
    res = res.replace({np.nan: None})
    o = duckdb.connect(out)
    o.register("res", res)
    o.execute("CREATE TABLE pandas_grades AS SELECT uscc, year, intensity, industry_intensity, k, grade::INTEGER AS grade, "
              "level::VARCHAR AS level, flag::VARCHAR AS flag FROM res")
    o.close()
    print(json.dumps({"run_s": round(run_s, 4), "rows_read": int(len(energy)), "firm_years": int(len(res)),
                      "graded": int(res["grade"].notna().sum())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
