"""Child process of the ``relatedness`` workload (``benchmarks/relatedness.py``).

    python -P benchmarks/relatedness_child.py shanhai OUT.parquet [--seed 7] [--cells 54720]
    python -P benchmarks/relatedness_child.py ecomplexity OUT.parquet [--seed 7] [--cells 54720]
    python -P benchmarks/relatedness_child.py check OURS.parquet THEIRS.parquet

``shanhai`` / ``ecomplexity``: make the input (:func:`make_input`, not timed), run one
implementation on it — ``shanhai.analysis.relatedness.complexity_by_year`` on the Arrow table, or
``ecomplexity.ecomplexity`` (0.5.3, ``check_logsupermodularity=False``, ``verbose=False``) on the
same rows as a pandas DataFrame (the conversion not timed) — and write its output to OUT. The
shanhai child never imports pandas. ``check``: compare the two outputs row by row. The last line
of stdout is a JSON report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

LOCATIONS, PRODUCTS, YEARS = 90, 608, (2021, 2022, 2023, 2024)
EMPTY_CLASSES = 14        # classes with no value in any county (the synthetic province has firms in 594 of 608)
KEYS = ["year", "location", "product"]
RESULTS = ["diversity", "ubiquity", "rca", "mcp", "eci", "pci", "density", "coi", "cog"]
ATOL = 1e-9


def dimensions(cells: int) -> tuple[int, int]:
    """(counties, classes) of a panel with about ``cells`` county × class cells per year, in the 90 : 608
    proportions of the province (54,720 → 90 × 608; 5,472 → 28 × 195; 547,200 → 285 × 1,920)."""
    locations = max(2, round((cells * LOCATIONS / PRODUCTS) ** 0.5))
    return locations, max(2, round(cells / locations))


def make_input(seed: int, n_locations: int = LOCATIONS, n_products: int = PRODUCTS) -> pa.Table:
    """A county × class panel with the structure economic complexity assumes, heavy-tailed values.

    Each county has a capability c ~ U(0, 1) and a size ~ lognormal(0, 1); each class a difficulty
    d ~ U(0, 1) and a size ~ lognormal(0, 1.5). A county has a class with probability
    logistic(6 (c − d) − 1 + N(0, 1.5)) (nested: capable counties make the hard classes and most of
    the easy ones), about 30 % of the cells; the value is county size × class size × (Pareto(1.2) +
    0.05). Each later year multiplies the values by lognormal(0.05, 0.15) and flips 3 % of the
    cells in or out. ``EMPTY_CLASSES`` classes of 608 (the same share of other sizes) have no value
    anywhere (left out by both implementations). Only non-zero cells are rows. ``n_locations`` ×
    ``n_products`` other than 90 × 608 give the ladder's other sizes; 90 × 608 is the target's input.
    """
    rng = np.random.default_rng(seed)
    capability, difficulty = rng.uniform(size=n_locations), rng.uniform(size=n_products)
    logit = 6 * (capability[:, None] - difficulty[None, :]) - 1 + rng.normal(0, 1.5, (n_locations, n_products))
    present = rng.random((n_locations, n_products)) < 1 / (1 + np.exp(-logit))
    base = (rng.lognormal(0, 1, n_locations)[:, None] * rng.lognormal(0, 1.5, n_products)[None, :]
            * (rng.pareto(1.2, (n_locations, n_products)) + 0.05))
    empty = rng.choice(n_products, round(EMPTY_CLASSES * n_products / PRODUCTS), replace=False)
    years, locations, products, values = [], [], [], []
    for k, year in enumerate(YEARS):
        if k:
            base = base * rng.lognormal(0.05, 0.15, base.shape)
            present = present ^ (rng.random(present.shape) < 0.03)
        x = np.where(present, base, 0.0)
        x[:, empty] = 0.0
        li, pi = np.nonzero(x)
        years.append(np.full(len(li), year))
        locations.append(li)
        products.append(pi)
        values.append(x[li, pi])
    county = np.array([f"{330100 + i}" for i in range(n_locations)])
    industry = np.array([f"{1300 + j}" for j in range(n_products)])
    return pa.table({"year": np.concatenate(years), "location": county[np.concatenate(locations)],
                     "product": industry[np.concatenate(products)], "value": np.concatenate(values)})


def _run(which: str, out: str, seed: int, cells: int = LOCATIONS * PRODUCTS) -> dict:
    locations, products = dimensions(cells)
    table = make_input(seed, locations, products)
    started = time.perf_counter()
    if which == "shanhai":
        from shanhai.analysis.relatedness import complexity_by_year

        import_s = time.perf_counter() - started
        cpu, began = time.process_time(), time.perf_counter()
        result = complexity_by_year(table)
        run_s, run_cpu_s = time.perf_counter() - began, time.process_time() - cpu
        rows = result.num_rows
        pq.write_table(result, out)
    else:
        import pandas  # noqa: F401  (ecomplexity's own dependency: its import time is the baseline's)
        from ecomplexity import ecomplexity

        import_s = time.perf_counter() - started
        df = table.to_pandas()
        cpu, began = time.process_time(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = ecomplexity(df, {"time": "year", "loc": "location", "prod": "product", "val": "value"},
                                 check_logsupermodularity=False, verbose=False)
        run_s, run_cpu_s = time.perf_counter() - began, time.process_time() - cpu
        rows = len(result)
        result.to_parquet(out, index=False)
    return {"run_s": run_s, "run_cpu_s": run_cpu_s, "import_s": import_s, "rows": rows, "input_rows": table.num_rows,
            "locations": locations, "products": products, "years": len(YEARS),
            "cells": locations * products * len(YEARS)}


def _check(ours_path: str, theirs_path: str) -> dict:
    ours = pq.read_table(ours_path).to_pandas().sort_values(KEYS).reset_index(drop=True)
    theirs = pq.read_table(theirs_path).to_pandas().sort_values(KEYS).reset_index(drop=True)
    report = {"ours_rows": len(ours), "theirs_rows": len(theirs), "max_abs_diff": {}, "nan_mismatch": {}}
    same_keys = len(ours) == len(theirs) and (ours[KEYS].astype(str).to_numpy() ==
                                              theirs[KEYS].astype(str).to_numpy()).all()
    report["same_rows"] = bool(same_keys)
    if same_keys:
        for column in RESULTS:
            a, b = ours[column].astype(float).to_numpy(), theirs[column].astype(float).to_numpy()
            nan = np.isnan(a) != np.isnan(b)
            both = ~np.isnan(a) & ~np.isnan(b)
            report["nan_mismatch"][column] = int(nan.sum())
            report["max_abs_diff"][column] = float(np.abs(a[both] - b[both]).max()) if both.any() else 0.0
    report["equal"] = bool(same_keys and not any(report["nan_mismatch"].values())
                           and all(v <= ATOL for v in report["max_abs_diff"].values()))
    report["tolerance"] = ATOL
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="relatedness_child.py")
    parser.add_argument("mode", choices=("shanhai", "ecomplexity", "check"))
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cells", type=int, default=LOCATIONS * PRODUCTS,
                        help="county × class cells per year (90 × 608 = 54,720 by default)")
    args = parser.parse_args(argv)
    report = (_check(*args.paths[:2]) if args.mode == "check"
              else _run(args.mode, args.paths[0], args.seed, args.cells))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
