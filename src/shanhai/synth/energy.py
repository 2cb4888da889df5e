"""The synthetic province's energy by carrier (``energy_use``): per above-scale firm and year,
grid electricity, certified green power and self-consumed PV, raw coal, natural gas, diesel,
LPG, fuel oil and heat, in natural units. One step of ``generator.generate``
(``generate(rng, config, tables, geo, dataset)``), deterministic for its own random stream.

Consistency: the year's electricity is the firm's monthly electricity already generated
(``enterprise_years.electricity_kwh``, the sum of its months), split into grid, green power (a
lasting share for about 10 % of firms, from 2022) and self-consumed PV (about 25 % of firms);
the fuels carry the rest of the firm's energy use (``energy_tce`` 当量值 less its electricity at
0.1229 kgce/kWh, which follows the division intensities of ``divisions.csv`` calibrated to the
published per-mu figures), split by a fuel mix per division (coal-heavy for chemicals, fibres,
non-metallic minerals, metals and paper; steam and gas for textiles; gas, diesel and LPG
elsewhere — modelling choices, reference/energy_carbon.md §6 names the high-energy divisions)
with lasting firm noise, converted at the default factor set's coefficients. A firm-year
without electricity has no rows; when energy_tce is missing the fuels follow the division's
electricity share.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from shanhai.policy._carbon import factors
from shanhai.synth.params import divisions

TABLES = ("energy_use",)
KWH_TCE = 0.0001229
FUELS = ("coal", "natural_gas", "heat", "diesel", "lpg", "fuel_oil")
_DEFAULT_MIX = (0.0, 0.55, 0.15, 0.2, 0.1, 0.0)
MIX = {"17": (0.05, 0.35, 0.55, 0.03, 0.02, 0.0), "22": (0.45, 0.25, 0.28, 0.02, 0.0, 0.0),
       "25": (0.15, 0.30, 0.25, 0.0, 0.0, 0.30), "26": (0.45, 0.30, 0.22, 0.02, 0.01, 0.0),
       "28": (0.60, 0.10, 0.28, 0.02, 0.0, 0.0), "30": (0.50, 0.40, 0.0, 0.08, 0.02, 0.0),
       "31": (0.55, 0.40, 0.0, 0.05, 0.0, 0.0), "32": (0.30, 0.60, 0.0, 0.05, 0.05, 0.0),
       "13": (0.10, 0.45, 0.35, 0.05, 0.05, 0.0), "14": (0.05, 0.50, 0.35, 0.05, 0.05, 0.0)}
UNITS = {"coal": "t", "natural_gas": "m3", "heat": "GJ", "diesel": "t", "lpg": "t", "fuel_oil": "t"}
_SCHEMA = pa.schema([("uscc", pa.string()), ("period", pa.string()), ("carrier", pa.string()),
                     ("quantity", pa.float64()), ("unit", pa.string()), ("dataset_id", pa.string()),
                     ("measured_tce_per_unit", pa.float64()), ("measured_co2_per_unit", pa.float64())])


def generate(rng: np.random.Generator, config, tables: dict[str, pa.Table], geo, dataset: str) -> dict[str, pa.Table]:
    """The step (module docstring): returns ``energy_use``."""
    f = factors("default")
    D = divisions()
    ent = tables["enterprises"]
    firm_ix = {u: i for i, u in enumerate(ent.column("uscc").to_pylist())}
    division = np.array([c[:2] for c in ent.column("industry_code").to_pylist()])
    n = len(firm_ix)
    has_pv = rng.random(n) < 0.25
    pv_share = np.where(has_pv, rng.uniform(0.03, 0.15, n), 0.0)
    has_green = rng.random(n) < 0.10
    green_share = np.where(has_green, rng.uniform(0.05, 0.30, n), 0.0)
    mixes = np.array([MIX.get(d, _DEFAULT_MIX) for d in division])
    noise = rng.lognormal(0.0, 0.35, mixes.shape)
    mixes = mixes * noise
    mixes = mixes / np.where(mixes.sum(axis=1, keepdims=True) > 0, mixes.sum(axis=1, keepdims=True), 1.0)
    elec_share = np.array([float(D.elec_share[D.codes.index(d)]) if d in D.codes else 0.5 for d in division])

    ey = tables["enterprise_years"]
    above = np.asarray(ey.column("above_scale").to_numpy(zero_copy_only=False), bool)
    kwh = np.asarray(ey.column("electricity_kwh").to_numpy(zero_copy_only=False), float)
    tce = np.asarray(ey.column("energy_tce").to_numpy(zero_copy_only=False), float)
    years = np.asarray(ey.column("year").to_numpy(zero_copy_only=False), int)
    fi = np.array([firm_ix[u] for u in ey.column("uscc").to_pylist()], dtype=np.int64)
    keep = above & np.isfinite(kwh) & (kwh > 0)
    fi, kwh, tce, years = fi[keep], kwh[keep], tce[keep], years[keep]
    share = elec_share[fi]
    fuel_tce = np.where(np.isfinite(tce), np.maximum(tce - kwh * KWH_TCE, 0.0),
                        kwh * KWH_TCE * (1 - share) / np.maximum(share, 0.05))
    green = np.where(years >= 2022, green_share[fi], 0.0)
    pv = pv_share[fi]
    quantities = {"grid_electricity": kwh * (1 - pv - green), "green_power": kwh * green, "pv_self": kwh * pv}
    for j, fuel in enumerate(FUELS):
        quantities[fuel] = fuel_tce * mixes[fi, j] / f.carriers[fuel].tce_per_unit
    usccs = np.array(ent.column("uscc").to_pylist(), dtype=object)[fi]
    periods = years.astype(str)
    cols = {k: [] for k in ("uscc", "period", "carrier", "quantity", "unit")}
    for carrier, q in quantities.items():
        q = np.round(q, 3)
        sel = q > 0
        m = int(sel.sum())
        cols["uscc"].append(usccs[sel])
        cols["period"].append(periods[sel])
        cols["carrier"].append(np.full(m, carrier, dtype=object))
        cols["quantity"].append(q[sel])
        cols["unit"].append(np.full(m, UNITS.get(carrier, "kWh"), dtype=object))
    flat = {k: np.concatenate(v) for k, v in cols.items()}
    total = flat["quantity"].size
    table = pa.table({"uscc": pa.array(flat["uscc"].tolist(), pa.string()),
                      "period": pa.array(flat["period"].tolist(), pa.string()),
                      "carrier": pa.array(flat["carrier"].tolist(), pa.string()),
                      "quantity": pa.array(flat["quantity"], pa.float64()),
                      "unit": pa.array(flat["unit"].tolist(), pa.string()),
                      "dataset_id": pa.array([dataset] * total, pa.string()),
                      "measured_tce_per_unit": pa.nulls(total, pa.float64()),
                      "measured_co2_per_unit": pa.nulls(total, pa.float64())}, schema=_SCHEMA)
    return {"energy_use": table}
