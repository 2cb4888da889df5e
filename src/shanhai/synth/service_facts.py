"""The synthetic province's support-policy facts — one step of ``generator.generate``: what the
惠企政策 items read beyond the annual figures (``service_facts``, one row per firm per year it
reports). Deterministic for the step's own random stream; invented, not calibrated (no published
counts were found), sized so that every shipped item has some eligible firms, near misses and
manual-review cases in the demo province.

Per firm: production start = founding + 0–11 months (5 % unknown), a software firm (3 %, larger
share in software-heavy divisions is not modelled), a bank account. Per year: an equipment project
for 15 % of firm-years (investment ≈ lognormal around 3 % of revenue, at least 50 万元; 70 %
completed, 4 % of those a benchmark project; the benchmark flag unknown for 5 %), digital titles
for above-scale firms (未来工厂 0.3 %, 省级智能工厂 1 %, 市级 2 %, 省级数字化车间 2 %, 市级 4 %),
software sales growing 5–60 % a year from 300–3,000 万元, a 首台(套) recognition for 0.6 % of
firm-years (level 1–3, 25 % components; first-batch price lognormal around 900 万元, 415X
cluster 50 %, delivered in window 80 %, related-party ownership 10 %), digital spend for 30 % of
firm-years (lognormal around 40 万元, 5 % unknown), the credit blacklist (1 %) and major accidents
(0.3 %).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pyarrow as pa

TABLES = ("service_facts",)
BANKS = ("中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "浙江农商银行", "杭州银行", "宁波银行")


def generate(rng: np.random.Generator, config, tables: dict[str, pa.Table], geo, dataset: str) -> dict[str, pa.Table]:
    ent = tables["enterprises"]
    uscc = np.array(ent.column("uscc").to_pylist(), dtype=object)
    founded = ent.column("founded_on").to_pylist()
    F = len(uscc)
    firm_of = {u: i for i, u in enumerate(uscc)}
    ey = tables["enterprise_years"]
    f_idx = np.array([firm_of[u] for u in ey.column("uscc").to_pylist()], dtype=int)
    years = np.array(ey.column("year").to_pylist(), dtype=int)
    rev = np.array([np.nan if v is None else float(v) for v in ey.column("revenue").to_pylist()], dtype=float)
    above = np.array([bool(v) for v in ey.column("above_scale").to_pylist()])
    R = f_idx.size
    # per firm
    lag = rng.integers(0, 12, F)
    start = []
    for d, k in zip(founded, lag):
        if d is None:
            start.append(None)
            continue
        m = d.month - 1 + int(k)
        start.append(date(d.year + m // 12, m % 12 + 1, 1))
    start_known = rng.random(F) >= 0.05
    software = rng.random(F) < 0.03
    sw_base = rng.uniform(300, 3000, F)
    bank = [f"{BANKS[int(b)]} {int(a):016d}" for b, a in zip(rng.integers(0, len(BANKS), F),
                                                            rng.integers(10**15, 10**16 - 1, F))]
    # per firm-year
    project = rng.random(R) < 0.15
    equip = np.where(project, np.maximum(50, np.nan_to_num(rev) * 0.03 * rng.lognormal(0, 0.8, R)), 0.0)
    completed = project & (rng.random(R) < 0.7)
    bench = completed & (rng.random(R) < 0.04)
    bench_known = rng.random(R) >= 0.05
    titles = {}
    for name, p in (("future_factory", 0.003), ("smart_factory_prov", 0.01), ("smart_factory_city", 0.02),
                    ("digital_workshop_prov", 0.02), ("digital_workshop_city", 0.04)):
        titles[name] = above & (rng.random(R) < p)
    first_year = years.min() if R else 0
    growth = rng.uniform(1.05, 1.6, R)
    sw_sales = np.where(software[f_idx], sw_base[f_idx] * growth ** (years - first_year), np.nan)
    recog = rng.random(R) < 0.006
    level = np.where(recog, rng.integers(1, 4, R), 0)
    component = recog & (rng.random(R) < 0.25)
    price = np.where(recog, rng.lognormal(np.log(900), 0.5, R), np.nan)
    price_known = recog & (rng.random(R) < 0.5)
    cluster = recog & (rng.random(R) < 0.5)
    window = recog & (rng.random(R) < 0.8)
    related = recog & (rng.random(R) < 0.1)
    spend = np.where(rng.random(R) < 0.3, rng.lognormal(np.log(40), 1.0, R), 0.0)
    spend_known = rng.random(R) >= 0.05
    blacklist = rng.random(R) < 0.01
    accident = rng.random(R) < 0.003
    dec = pa.decimal128(18, 4)

    def money(v, mask=None):
        v = np.round(np.nan_to_num(v), 4)
        return pa.array([Decimal(f"{x:.4f}") for x in v], dec, mask=mask)
    facts = pa.table({
        "uscc": pa.array(uscc[f_idx].tolist(), pa.string()),
        "year": pa.array(years, pa.int32()),
        "production_start": pa.array([start[i] if start_known[i] else None for i in f_idx], pa.date32()),
        "equipment_investment": money(equip),
        "project_completed": pa.array(completed, pa.bool_()),
        "benchmark_project": pa.array(bench, pa.bool_(), mask=~bench_known),
        **{k: pa.array(v, pa.bool_()) for k, v in titles.items()},
        "software_firm": pa.array(software[f_idx], pa.bool_()),
        "software_sales": money(sw_sales, mask=np.isnan(sw_sales)),
        "first_set_level": pa.array(level, pa.int32()),
        "first_set_component": pa.array(component, pa.bool_()),
        "first_batch_price": money(price, mask=~price_known),
        "first_set_cluster": pa.array(cluster, pa.bool_()),
        "delivered_in_window": pa.array(window, pa.bool_()),
        "related_party_owner": pa.array(related, pa.bool_()),
        "digital_spend": money(spend, mask=~spend_known),
        "credit_blacklist": pa.array(blacklist, pa.bool_()),
        "major_accident": pa.array(accident, pa.bool_()),
        "bank_account": pa.array([bank[i] for i in f_idx], pa.string()),
        "source": pa.array(["synthetic"] * R, pa.string()),
        "dataset_id": pa.array([dataset] * R, pa.string()),
    })
    return {"service_facts": facts}
