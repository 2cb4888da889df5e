"""The synthetic province's cultivation facts — one step of ``generator.generate``, after the core
tables: what the cultivation rules need that the annual figures lack (``cultivation_facts``, one
row per firm per year it reports), and the tier-1 titles (科技型 / 创新型中小企业) appended to
``enterprise_flags``. Deterministic for the step's own random stream; invented, not calibrated to
published counts (none were found for these facts).

Per firm (drawn once): the year it entered its niche (founding + 0–4 years), the debt ratio level,
the market share and rank (larger and more R&D-intensive firms rank higher), the IT and quality
attributes. Per year: IP counts grow with R&D intensity (Poisson, mean 0.2 + 60 × R&D ratio,
cumulative), the platform score (only firms with R&D ≥ 2 % of revenue are on the platform: 25 +
500 × ratio + noise, 0–100), R&D staff share. About 8 % of each numeric fact is missing, and the
manual judgements (key link, market position, 链/品) are recorded for only one firm in twenty.
Tier-1 titles: 科技型 for firms with R&D ≥ 3 % in a year (valid that year), 创新型 (valid 3 years)
for half of those with R&D ≥ 4 %.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa

TABLES = ("cultivation_facts",)

_INT = ("ip_class1", "ip_class1_self", "ip_class1_high_value", "ip_class2", "invention_patents", "world_rank",
        "national_rank", "main_products", "rd_institution_level", "digital_level", "key_field_level")
_FLOAT = ("debt_ratio", "market_share_national", "market_share_niche", "equity_financing_2y", "equity_financing_3y",
          "rd_staff_share", "platform_score", "platform_score_prev", "specialty_score")
_BOOL = ("quality_award", "iso_cert", "own_brand", "standard_setting", "it_system", "intl_cert", "sei_field",
         "key_chain", "key_link", "market_position_ok", "chain_product_ok", "sci_award_provincial",
         "sci_award_national", "maker_contest_500", "maker_contest_50", "credit_ok")


def generate(rng: np.random.Generator, config, tables: dict[str, pa.Table], geo, dataset: str) -> dict[str, pa.Table]:
    ent = tables["enterprises"]
    uscc = np.array(ent.column("uscc").to_pylist(), dtype=object)
    founded = ent.column("founded_on").to_pylist()
    F = len(uscc)
    firm_of = {u: i for i, u in enumerate(uscc)}
    ey = tables["enterprise_years"]
    f_idx = np.array([firm_of[u] for u in ey.column("uscc").to_pylist()], dtype=int)
    years = np.array(ey.column("year").to_pylist(), dtype=int)
    rev = np.array([np.nan if v is None else v for v in ey.column("revenue").to_pylist()], dtype=float)
    rd = np.array([np.nan if v is None else v for v in ey.column("rd_spending").to_pylist()], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(rev > 0, np.nan_to_num(rd) / rev, 0.0)
    R = f_idx.size
    # per firm
    niche_lag = rng.integers(0, 5, F)
    niche = [None if d is None else date(min(d.year + int(lag), config.years[-1]), d.month, 1)
             for d, lag in zip(founded, niche_lag)]
    debt_level = np.clip(rng.normal(52, 15, F), 5, 98)
    size = np.log1p(np.nan_to_num(rev))
    share_base = np.clip(rng.lognormal(0.5, 1.0, F), 0, 60)
    attrs = {k: rng.random(F) for k in ("it", "iso", "brand", "std", "intl", "sei", "award", "chain", "credit",
                                        "quality", "maker")}
    rd_inst = np.where(attrs["award"] < 0.02, 4, np.where(attrs["award"] < 0.08, 3,
                       np.where(attrs["award"] < 0.2, 2, np.where(attrs["award"] < 0.35, 1, 0))))
    digital = 1 + (rng.random(F) < 0.55) + (rng.random(F) < 0.3) + (rng.random(F) < 0.1)
    # per firm-year
    intensity = np.clip(ratio, 0, 0.3)
    ip1 = rng.poisson(0.2 + 60 * intensity * (1 + size[f_idx] / 10))
    cols: dict[str, np.ndarray] = {}
    cols["ip_class1"] = ip1
    cols["ip_class1_self"] = np.minimum(ip1, rng.binomial(ip1, 0.7))
    cols["ip_class1_high_value"] = np.minimum(ip1, rng.binomial(ip1, 0.1))
    cols["ip_class2"] = rng.poisson(0.5 + 40 * intensity)
    cols["invention_patents"] = ip1
    share = share_base[f_idx] * (0.5 + size / 12) * (1 + 5 * intensity)
    cols["market_share_national"] = np.clip(share, 0, 80)
    cols["market_share_niche"] = np.clip(share * rng.uniform(0.8, 1.6, R), 0, 90)
    cols["world_rank"] = np.clip(np.round(60 / (1 + share)), 1, 99).astype(int)
    cols["national_rank"] = np.clip(np.round(25 / (1 + share / 3)), 1, 99).astype(int)
    cols["main_products"] = rng.integers(1, 6, R)
    cols["debt_ratio"] = np.clip(debt_level[f_idx] + rng.normal(0, 4, R), 1, 99).round(1)
    fin = rng.random(R) < 0.04 + 0.3 * intensity
    cols["equity_financing_2y"] = np.where(fin, np.round(rng.lognormal(7.3, 1.1, R), 0), 0.0)
    cols["equity_financing_3y"] = np.where(fin, cols["equity_financing_2y"] * rng.uniform(1, 1.5, R), 0.0).round(0)
    cols["rd_staff_share"] = np.clip(3 + 150 * intensity + rng.normal(0, 4, R), 0, 80).round(1)
    cols["rd_institution_level"] = rd_inst[f_idx]
    cols["digital_level"] = digital[f_idx]
    on_platform = intensity >= 0.02
    score = np.clip(25 + 500 * intensity + rng.normal(0, 8, R), 0, 100).round(1)
    cols["platform_score"] = np.where(on_platform, score, np.nan)
    cols["platform_score_prev"] = np.where(on_platform, np.clip(score + rng.normal(-2, 6, R), 0, 100).round(1), np.nan)
    cols["specialty_score"] = np.where(on_platform, rng.integers(0, 16, R).astype(float), np.nan)
    cols["key_field_level"] = np.where(attrs["chain"][f_idx] < 0.1, 2, np.where(attrs["chain"][f_idx] < 0.35, 1, 0))
    b = {}
    b["quality_award"] = attrs["quality"][f_idx] < 0.05
    b["iso_cert"] = attrs["iso"][f_idx] < 0.6
    b["own_brand"] = attrs["brand"][f_idx] < 0.5
    b["standard_setting"] = attrs["std"][f_idx] < 0.1 + intensity
    b["it_system"] = attrs["it"][f_idx] < 0.55
    b["intl_cert"] = attrs["intl"][f_idx] < 0.15
    b["sei_field"] = attrs["sei"][f_idx] < 0.3
    b["key_chain"] = attrs["chain"][f_idx] < 0.35
    b["sci_award_provincial"] = attrs["award"][f_idx] < 0.03
    b["sci_award_national"] = attrs["award"][f_idx] < 0.005
    b["maker_contest_500"] = attrs["maker"][f_idx] < 0.01
    b["maker_contest_50"] = attrs["maker"][f_idx] < 0.002
    b["credit_ok"] = attrs["credit"][f_idx] < 0.93
    recorded = rng.random(R) < 0.05
    b["key_link"] = recorded & (rng.random(R) < 0.5 + intensity)
    b["market_position_ok"] = recorded & (share > 5)
    b["chain_product_ok"] = recorded & (attrs["chain"][f_idx] < 0.5)
    arrays = {"uscc": pa.array(uscc[f_idx].tolist(), pa.string()), "year": pa.array(years, pa.int32()),
              "niche_since": pa.array([niche[i] for i in f_idx], pa.date32())}
    for name in _INT:
        v = np.asarray(cols[name])
        miss = rng.random(R) < 0.08
        arrays[name] = pa.array(v.astype(np.int64), pa.int32(), mask=miss)
    for name in _FLOAT:
        v = np.asarray(cols[name], dtype=float)
        miss = np.isnan(v) | (rng.random(R) < 0.08)
        arrays[name] = pa.array(np.nan_to_num(v), pa.float64(), mask=miss)
    for name in _BOOL:
        miss = (~recorded if name in ("key_link", "market_position_ok", "chain_product_ok")
                else rng.random(R) < 0.05)
        arrays[name] = pa.array(b[name], pa.bool_(), mask=miss)
    arrays["source"] = pa.array(["synthetic"] * R, pa.string())
    arrays["dataset_id"] = pa.array([dataset] * R, pa.string())
    order = ["uscc", "year", "niche_since", *_INT[:4], "invention_patents", "debt_ratio", "market_share_national",
             "market_share_niche", "world_rank", "national_rank", "main_products", "equity_financing_2y",
             "equity_financing_3y", "rd_staff_share", "rd_institution_level", "digital_level", "platform_score",
             "platform_score_prev", "specialty_score", "key_field_level", *_BOOL, "source", "dataset_id"]
    facts = pa.table({k: arrays[k] for k in order})
    # tier-1 titles: 科技型 (one year) and 创新型 (three years), appended to the flags
    flags = tables["enterprise_flags"]
    rows = flags.to_pylist()
    tech = np.where(intensity >= 0.03)[0]
    for r in tech:
        rows.append({"uscc": uscc[f_idx[r]], "flag": "tech_sme", "valid_from": date(int(years[r]) + 1, 3, 31),
                     "valid_to": date(int(years[r]) + 2, 3, 31), "detail": None, "dataset_id": dataset})
    innov = [r for r in np.where(intensity >= 0.04)[0] if rng.random() < 0.5]
    seen = set()
    for r in innov:
        if uscc[f_idx[r]] in seen:
            continue
        seen.add(uscc[f_idx[r]])
        rows.append({"uscc": uscc[f_idx[r]], "flag": "innovative_sme", "valid_from": date(int(years[r]) + 1, 6, 1),
                     "valid_to": date(int(years[r]) + 4, 6, 1), "detail": None, "dataset_id": dataset})
    tables["enterprise_flags"] = pa.Table.from_pylist(rows, schema=flags.schema)
    return {"cultivation_facts": facts}
