"""Child process of the ``service_match`` workload (``benchmarks/service_match.py``).

    python -P benchmarks/service_match_child.py shanhai [--firms 158000] [--items 100]

Builds (not measured) the inputs both engines share — :func:`make_inputs`: ``firms`` synthetic
firms over the 90 counties of ``reference/data/county_stats.csv`` with every fact of the service
catalogue (numbers lognormal, yes/no half and half, 8 % missing, six years of the yearly facts)
and ``items`` policy items generated from the shipped ones by scaling their thresholds (item k:
× 0.8 + 0.4·k/(items−1), yes/no tests unchanged) — then times :func:`shanhai.analysis.service.match_item`
over every item (``run_s``). The last line of stdout is a JSON report with the counts per outcome
and a digest of every firm's outcome and amount (rounded to 0.0001 万元), compared with the pandas
baseline's (``benchmarks/service_match_pandas.py``).
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
YEARS = 6


def _scale(node, f: float) -> None:
    if isinstance(node, dict):
        if node.get("op") in (">=", ">", "<=", "<") and isinstance(node.get("value"), (int, float)) \
                and not isinstance(node.get("value"), bool):
            v = node["value"] * f
            node["value"] = round(v) if isinstance(node["value"], int) else round(v, 4)
        for key in ("conditions", "all", "any", "of"):
            for child in node.get(key, []) or []:
                _scale(child, f)
    elif isinstance(node, list):
        for child in node:
            _scale(child, f)


def make_items(n_items: int):
    from shanhai.policy._service import parse_item, service_items

    base = [service_items()[k] for k in sorted(service_items())]
    out = []
    for k in range(n_items):
        raw = copy.deepcopy(base[k % len(base)].rule.raw)
        f = 0.8 + 0.4 * k / max(1, n_items - 1)
        _scale(raw, f)
        raw["name"] = f"{raw['name']}-v{k:03d}"
        out.append(parse_item(raw, raw["name"]))
    return out


def make_inputs(firms: int, seed: int = 17):
    from shanhai.policy._service import service_catalogue

    with open(ROOT / "src/shanhai/reference/data/county_stats.csv", encoding="utf-8") as fh:
        counties = [r[0] for r in csv.reader(fh) if r and r[0].isdigit()]
    rng = np.random.default_rng(seed)
    county = np.array(counties, dtype=object)[rng.integers(0, len(counties), firms)]
    values, history = {}, {}
    for f in service_catalogue().values():
        if f.kind == "bool":
            v = (rng.random((firms, YEARS)) < 0.5).astype(float)
        elif f.id == "first_set_level":
            v = rng.integers(0, 4, (firms, YEARS)).astype(float)
        elif f.id == "production_years":
            v = np.round(rng.uniform(0, 10, (firms, YEARS)), 2)
        else:
            v = np.round(rng.lognormal(np.log(800), 1.2, (firms, YEARS)), 2)
        v[rng.random((firms, YEARS)) < 0.08] = np.nan
        if f.yearly:
            history[f.id] = v
        else:
            values[f.id] = v[:, -1].copy()
    keys = np.array([f"F{i:07d}" for i in range(firms)], dtype=object)
    return keys, county, values, history


def digest(codes: list[np.ndarray], amounts: list[np.ndarray]) -> str:
    h = hashlib.sha256()
    for c, a in zip(codes, amounts):
        h.update(np.asarray(c, np.int8).tobytes())
        h.update(np.where(np.isnan(a), -1.0, np.round(a, 4)).astype(np.float64).tobytes())
    return h.hexdigest()[:16]


def shanhai(firms: int, n_items: int) -> dict:
    from shanhai.analysis import service as asv
    from shanhai.policy._rules import Facts

    items = make_items(n_items)
    keys, county, values, history = make_inputs(firms)
    facts = Facts(keys, values, history)
    t0 = time.perf_counter()
    results = asv.match_items(items, facts, county)
    run_s = time.perf_counter() - t0
    counts = {o: int(sum((r.code == i).sum() for r in results)) for i, o in enumerate(asv.SERVICE_OUTCOMES)}
    return {"run_s": run_s, "rows_read": firms * n_items, "firms": firms, "items": n_items, "counts": counts,
            "digest": digest([r.code for r in results], [r.amount for r in results])}


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("shanhai",))
    p.add_argument("--firms", type=int, default=158_000)
    p.add_argument("--items", type=int, default=100)
    a = p.parse_args(argv)
    print(json.dumps(shanhai(a.firms, a.items)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
