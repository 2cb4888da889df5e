"""The synthetic province's zone-level figures (``zone_facts``): exports, foreign direct investment
actually used and fixed-asset investment per zone and year — the 对外开放 and investment inputs of
the zone evaluation that firm data does not carry. One step of ``generator.generate``
(``generate(rng, config, tables, geo, dataset)``), deterministic for its own random stream.

Modelling choices (no public per-zone series was used): per zone a lasting export propensity
(exports ÷ its firms' revenue, lognormal around 18 %, higher for national zones) and FDI
intensity (万美元 per 万元 revenue, lognormal around 0.4 %), each year moved by ±10 % noise;
fixed-asset investment around 12 % of revenue. About 4 % of the cells are left NULL (not
reported), so the evaluation's missing rules are exercised. A zone without firms in a year has
no row.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

TABLES = ("zone_facts",)
MISSING_SHARE = 0.04

_SCHEMA = pa.schema([("zone_id", pa.string()), ("year", pa.int32()), ("exports", pa.float64()),
                     ("actual_fdi", pa.float64()), ("fixed_asset_investment", pa.float64()),
                     ("dataset_id", pa.string())])


def generate(rng: np.random.Generator, config, tables: dict[str, pa.Table], geo, dataset: str) -> dict[str, pa.Table]:
    """The step (module docstring): returns ``zone_facts``."""
    zones = tables["zones"].to_pylist()
    zone_of = dict(zip(tables["enterprises"].column("uscc").to_pylist(),
                       tables["enterprises"].column("zone_id").to_pylist()))
    ey = tables["enterprise_years"]
    revenue: dict[tuple[str, int], float] = defaultdict(float)
    for uscc, year, rev in zip(ey.column("uscc").to_pylist(), ey.column("year").to_pylist(),
                               ey.column("revenue").to_pylist()):
        zid = zone_of.get(uscc)
        if zid is not None and rev is not None:
            revenue[zid, int(year)] += float(rev)
    rows = []
    for z in sorted(zones, key=lambda z: z["zone_id"]):
        national = z["level"] == "national"
        export_rate = float(rng.lognormal(np.log(0.18 if national else 0.14), 0.45))
        fdi_rate = float(rng.lognormal(np.log(0.004 if national else 0.0025), 0.6))
        fai_rate = float(rng.lognormal(np.log(0.12), 0.3))
        for year in config.years:
            rev = revenue.get((z["zone_id"], int(year)))
            noise = rng.uniform(0.9, 1.1, 3)
            drop = rng.random(3) < MISSING_SHARE
            if not rev:
                continue
            values = [round(rev * min(export_rate, 0.9) * noise[0], 4), round(rev * fdi_rate * noise[1], 4),
                      round(rev * fai_rate * noise[2], 4)]
            values = [None if d else v for v, d in zip(values, drop)]
            rows.append({"zone_id": z["zone_id"], "year": int(year), "exports": values[0], "actual_fdi": values[1],
                         "fixed_asset_investment": values[2], "dataset_id": dataset})
    return {"zone_facts": pa.Table.from_pylist(rows, schema=_SCHEMA)}
