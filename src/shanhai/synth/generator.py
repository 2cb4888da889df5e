"""The synthetic province: enterprises, their years and months, zones, land, projects, chains.

``generate(config)`` is pure (parameters in, Arrow tables out) and deterministic for a seed:
every step draws from its own child of ``SeedSequence(seed)``, so changing one step does not
shift the random numbers of the others. ``build(store, config)`` writes the tables.

Calibration: the base year's above-scale totals and per-mu figures are set to the targets in
``params.toml`` by one multiplicative factor per group (the rest of the province, 跨越发展类
and 生态发展类 mountain counties) and variable; other years by one factor per year for value
added and tax. Firm-level variation, industry and county differences survive the factors.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

import numpy as np
import pyarrow as pa

from shanhai import reference
from shanhai.errors import ShanhaiError
from shanhai.synth import coop_projects as _coop_projects
from shanhai.synth import zone_facts as _zone_facts
from shanhai.synth import indicators as _indicators
from shanhai.synth import cultivation_facts as _cultivation_facts
from shanhai.synth import energy as _energy
from shanhai.synth import transition as _transition
from shanhai.synth import service_facts as _service_facts
from shanhai.synth import service_desk as _service_desk

# Steps after the core tables, in order: each module has ``generate(rng, config, tables, geo,
# dataset) -> dict[str, pa.Table]`` (its own random stream; it may read and extend earlier
# tables) and ``TABLES``, the new tables it returns, written after the core ones.
STEPS = (_coop_projects, _zone_facts, _indicators, _cultivation_facts, _energy, _transition, _service_facts, _service_desk)
from shanhai.synth import names as _names
from shanhai.synth.params import divisions, params
from shanhai.uscc import generate as generate_uscc

ABOVE_SCALE_REVENUE = 2000.0     # 万元 main-business revenue
KWH_TCE = 0.0001229              # tce per kWh (当量值 0.1229 kgce/kWh)
STAGES = ("signed", "started", "completed", "producing", "above_scale", "full_output")
SUPPORTED_YEARS = range(2020, 2026)

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class SynthConfig:
    scale: float = 1.0
    seed: int = 7
    years: tuple[int, ...] = (2021, 2022, 2023, 2024)

    def __post_init__(self):
        if not (0 < self.scale <= 5):
            raise ShanhaiError(f"--scale must be above 0 and at most 5, got {self.scale}")
        if self.seed < 0:
            raise ShanhaiError(f"--seed must be a non-negative integer, got {self.seed}")
        years = tuple(self.years)
        if not years or list(years) != list(range(years[0], years[-1] + 1)):
            raise ShanhaiError(f"--years must be a contiguous range like 2021-2024, got {years}")
        if years[0] < SUPPORTED_YEARS.start or years[-1] >= SUPPORTED_YEARS.stop:
            raise ShanhaiError(
                f"--years must lie within {SUPPORTED_YEARS.start}-{SUPPORTED_YEARS.stop - 1} "
                f"(the years with calibration targets), got {years[0]}-{years[-1]}"
            )
        if len(years) < 2:
            raise ShanhaiError("--years needs at least two years (growth and entry need a past)")

    @property
    def base_year(self) -> int:
        wanted = params()["base_year"]
        return min(self.years, key=lambda y: (abs(y - wanted), y))

    @property
    def dataset_id(self) -> str:
        return f"synth-seed{self.seed}-scale{self.scale:g}-{self.years[0]}-{self.years[-1]}"

    def as_dict(self) -> dict:
        return {"scale": self.scale, "seed": self.seed, "years": list(self.years)}


def _lognormal_factor(rng: np.random.Generator, sigma: float, n: int) -> np.ndarray:
    """Mean-one log-normal noise."""
    return np.exp(rng.normal(-0.5 * sigma * sigma, sigma, n))


def _truncated_lognormal(rng, n, log_median, sigma, low, high):
    out = np.empty(0)
    while out.size < n:
        draw = np.exp(rng.normal(log_median, sigma, max(2 * n, 1024)))
        out = np.concatenate([out, draw[(draw >= low) & (draw < high)]])
    return out[:n]


def allocate(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder), giving
    each part at least ``minimum`` when the total allows it."""
    if minimum and total >= minimum * weights.size:
        return minimum + allocate(total - minimum * weights.size, weights)
    share = weights / weights.sum() * total
    counts = np.floor(share).astype(np.int64)
    short = total - counts.sum()
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


@dataclass
class _Geo:
    adcodes: np.ndarray          # counties, adcode order
    names: np.ndarray
    city_adcodes: np.ndarray
    city_names: np.ndarray
    kinds: np.ndarray            # district | county_city | county
    weight: np.ndarray           # population x manufacturing share
    group: np.ndarray            # 0 rest, 1 leapfrog, 2 ecological
    lead_classes: list           # per county: list of lists of 4-digit classes per lead code


def _geography() -> _Geo:
    counties = reference.counties()
    stats = {s.adcode: s for s in reference.county_stats()}
    cities = {c.adcode: c.name for c in reference.cities()}
    leads = {}
    for lead in reference.lead_industries():
        leads.setdefault(lead.adcode, [])
        for code in lead.codes:
            leads[lead.adcode].append(list(reference.classes_under(code)))
    group = np.array([0 if not c.mountain26 else (1 if c.mountain_category == "leapfrog" else 2)
                      for c in counties])
    return _Geo(
        adcodes=np.array([c.adcode for c in counties]),
        names=np.array([c.name for c in counties]),
        city_adcodes=np.array([c.city_adcode for c in counties]),
        city_names=np.array([cities[c.city_adcode] for c in counties]),
        kinds=np.array([c.county_kind for c in counties]),
        weight=np.array([stats[c.adcode].population * stats[c.adcode].mfg_share for c in counties]),
        group=group,
        lead_classes=[leads.get(c.adcode, []) for c in counties],
    )


@dataclass
class Province:
    """Everything generated, as Arrow tables keyed by the store's table names."""

    config: SynthConfig
    tables: dict[str, pa.Table] = field(default_factory=dict)
    calibration_factors: dict = field(default_factory=dict)


def generate(config: SynthConfig, progress: Progress | None = None) -> Province:
    progress = progress or (lambda label, fraction: None)
    P = params()
    D = divisions()
    geo = _geography()
    streams = iter(np.random.default_rng(s) for s in np.random.SeedSequence(config.seed).spawn(32))
    years = np.array(config.years)
    Y = len(years)
    b = int(np.where(years == config.base_year)[0][0])
    S = config.scale
    province = Province(config)

    # ---------------------------------------------------------------- population and lifetimes
    progress("企业名录 enterprises", 0.05)
    rng = next(streams)
    counts = P["counts"]
    n_above = max(1, round(counts["above_scale"] * S))
    n_eval = max(1, round(counts["below_scale_evaluated"] * S))
    n_small = round(n_eval * counts["below_scale_small_share"])
    n_base = n_above + n_eval + n_small
    flows = max(0, round(n_base * counts["entry_rate"]))
    exits = max(0, round(n_base * counts["exit_rate"]))
    pre_years = [y for y in range(1, b + 1)]        # year indices whose entrants/exits touch the base
    post_years = [y for y in range(b + 1, Y)]
    n_pre_exit = exits * len(pre_years)               # extra firms, gone before the base year
    n_post_entry = flows * len(post_years)            # extra firms, born after the base year
    F = n_base + n_pre_exit + n_post_entry

    seg = np.concatenate([np.zeros(n_above, np.int8), np.ones(n_eval, np.int8), np.full(n_small, 2, np.int8)])
    pa_share = n_above / n_base
    extra_seg = lambda n, above_p: rng.choice(  # noqa: E731
        3, n, p=[above_p, (1 - above_p) * n_eval / (n_eval + n_small), (1 - above_p) * n_small / (n_eval + n_small)])
    seg = np.concatenate([seg, extra_seg(n_pre_exit, pa_share * 0.7), extra_seg(n_post_entry, pa_share * 0.5)]).astype(np.int8)
    first_active = np.zeros(F, np.int64)              # year index
    last_active = np.full(F, Y - 1, np.int64)
    # base-population entrants in the years up to the base: mostly small firms, never above scale
    # in the base year itself (a firm's first, partial year rarely passes 2000 万元)
    base_idx = np.arange(n_base)
    taken = np.zeros(n_base, bool)
    for y in pre_years:
        eligible = base_idx[(~taken) & ((seg[:n_base] > 0) | (y < b))]
        weights = np.where(seg[eligible] == 0, 0.3, 1.0)
        chosen = rng.choice(eligible, min(flows, eligible.size), replace=False, p=weights / weights.sum())
        first_active[chosen] = y
        taken[chosen] = True
    taken[:] = False
    for y in post_years:
        eligible = base_idx[~taken]
        weights = np.where(seg[eligible] == 0, 0.4, 1.0)
        chosen = rng.choice(eligible, min(exits, eligible.size), replace=False, p=weights / weights.sum())
        last_active[chosen] = y - 1
        taken[chosen] = True
    cursor = n_base
    for y in pre_years:
        last_active[cursor:cursor + exits] = y - 1
        cursor += exits
    for y in post_years:
        first_active[cursor:cursor + flows] = y
        cursor += flows
    active = (np.arange(Y)[None, :] >= first_active[:, None]) & (np.arange(Y)[None, :] <= last_active[:, None])

    # ------------------------------------------------------------------ counties and industries
    rng = next(streams)
    mountain = geo.group > 0
    county = np.empty(F, np.int64)
    for s_val, adjust in ((0, 0.85), (1, 1.1), (2, 1.1)):
        w = geo.weight * np.where(mountain, adjust, 1.0)
        in_base = np.where(seg[:n_base] == s_val)[0]
        per_county = allocate(in_base.size, w, minimum=2 if s_val == 0 else 0)  # every county has industry
        county[in_base] = rng.permutation(np.repeat(np.arange(len(w)), per_county))
        extra = n_base + np.where(seg[n_base:] == s_val)[0]
        county[extra] = rng.choice(len(w), extra.size, p=w / w.sum())
    group = geo.group[county]

    classes = reference.industry_classes()
    class_codes = np.array([c.code for c in classes])
    class_div = np.array([D.index(c) for c in class_codes])
    by_div = [np.where(class_div == d)[0] for d in range(len(D.codes))]
    industry = np.empty(F, dtype=object)
    div_draw = rng.choice(len(D.codes), F, p=D.firm_share)
    for d, members in enumerate(by_div):
        pick = np.where(div_draw == d)[0]
        industry[pick] = class_codes[members[rng.integers(0, members.size, pick.size)]]
    lead_share = P["size"]["lead_industry_share"]
    for c, lead_lists in enumerate(geo.lead_classes):
        if not lead_lists:
            continue
        pick = np.where((county == c) & (rng.random(F) < lead_share))[0]
        which = rng.integers(0, len(lead_lists), pick.size)
        for k, options in enumerate(lead_lists):
            sel = pick[which == k]
            industry[sel] = np.array(options)[rng.integers(0, len(options), sel.size)]
    division = np.array([D.index(code) for code in industry])

    # ---------------------------------------------------------------- base-year (latent) values
    progress("年度指标 yearly indicators", 0.15)
    rng = next(streams)
    size = P["size"]
    revenue0 = np.empty(F)
    for s_val in (0, 1, 2):
        for is_mtn in (False, True):
            sel = np.where((seg == s_val) & (mountain[county] == is_mtn))[0]
            if s_val == 0:
                shift = size["mountain_log_shift"] if is_mtn else 0.0
                revenue0[sel] = _truncated_lognormal(rng, sel.size, size["above_log_median"] + shift,
                                                     size["above_log_sigma"], ABOVE_SCALE_REVENUE, np.inf)
            else:
                shift = size["mountain_log_shift"] / 2 if is_mtn else 0.0
                revenue0[sel] = _truncated_lognormal(rng, sel.size, size["below_log_median"] + shift,
                                                     size["below_log_sigma"], 30.0, ABOVE_SCALE_REVENUE)
    county_effect = _lognormal_factor(rng, 0.15, len(geo.adcodes))[county]
    margin = np.minimum(D.va_margin[division] * county_effect * _lognormal_factor(rng, 0.2, F), 0.85)
    va0 = revenue0 * margin
    tax0 = va0 * D.tax_rate[division] * _lognormal_factor(rng, 0.4, F)
    # productivity rises with size (capital deepening): headcount ~ value added ^ 0.75
    head0 = va0 / (D.va_per_worker[division] * _lognormal_factor(rng, 0.3, F)) * (1000 / np.maximum(va0, 1)) ** 0.25
    head0 *= np.where(mountain[county], size["mountain_labour_intensity"], 1.0)
    land0 = revenue0 / (D.revenue_per_mu[division] * _lognormal_factor(rng, 0.45, F))
    land0 *= np.where(mountain[county], size["mountain_land_intensity"], 1.0)
    energy0 = va0 * D.energy_intensity[division] * _lognormal_factor(rng, 0.4, F)
    emission0 = va0 * D.emission_intensity[division] * _lognormal_factor(rng, 0.6, F)
    rd0 = revenue0 * D.rd_intensity[division] * _lognormal_factor(rng, 0.6, F)
    rd0[rng.random(F) < np.where(seg == 0, 0.12, 0.45)] = 0.0
    profit_margin = D.profit_margin[division] + rng.normal(0, 0.04, F)
    revenue_markup = 1 + rng.uniform(0, 0.08, F)   # 营业收入 over 主营业务收入

    # --------------------------------------------------------------------- growth paths
    rng = next(streams)
    growth = P["growth"]
    mean = np.array([growth["mean"][str(y)] for y in years])
    g = np.empty((F, Y))
    g[:, 0] = mean[0] + rng.normal(0, growth["sigma"], F)
    for y in range(1, Y):
        g[:, y] = mean[y] + growth["persistence"] * (g[:, y - 1] - mean[y - 1]) + rng.normal(0, growth["sigma"], F)
    ratio = np.ones((F, Y))
    for y in range(b + 1, Y):
        ratio[:, y] = ratio[:, y - 1] * np.exp(g[:, y])
    for y in range(b - 1, -1, -1):
        ratio[:, y] = ratio[:, y + 1] / np.exp(g[:, y + 1])
    # land grows in steps: an expansion some years, more likely for fast growers
    expand = np.where(rng.random((F, Y)) < 0.04 + 0.3 * np.clip(g, 0, None), rng.uniform(0.1, 0.4, (F, Y)), 0.0)
    land_path = np.ones((F, Y))
    for y in range(b + 1, Y):
        land_path[:, y] = land_path[:, y - 1] * (1 + expand[:, y])
    for y in range(b - 1, -1, -1):
        land_path[:, y] = land_path[:, y + 1] / (1 + expand[:, y + 1])

    # founding dates; a firm's first year counts only the months after it was founded
    rng = next(streams)
    found_year = np.where(first_active > 0, years[first_active],
                          years[0] - 1 - np.minimum(rng.exponential(12, F).astype(np.int64), years[0] - 1980))
    found_month = rng.integers(1, 13, F)
    found_day = rng.integers(1, 29, F)
    entry_fraction = np.ones((F, Y))
    born_inside = first_active > 0
    entry_fraction[born_inside, first_active[born_inside]] = (13 - found_month[born_inside]) / 12

    main_revenue = revenue0[:, None] * ratio * entry_fraction
    above = active & (main_revenue >= ABOVE_SCALE_REVENUE)

    # ---------------------------------------------------------------- calibration, base year
    progress("校准 calibration", 0.25)
    T = P["targets"]
    base_above = above[:, b]
    land_used0 = land0.copy()
    va_target_total = T["value_added_yi"] * 1e4 * S                    # 万元
    va_base = va0 * ratio[:, b] * entry_fraction[:, b]
    va_gen = np.array([va_base[base_above & (group == k)].sum() for k in range(3)])
    va_mtn = va_target_total * T["mountain_va_share"]
    # the two mountain categories' shares of the mountain total (even when a tiny scale drew none)
    mtn_split = va_gen[1:] / va_gen[1:].sum() if va_gen[1:].sum() > 0 else np.full(2, 0.5)
    va_target = np.array([va_target_total - va_mtn, va_mtn * mtn_split[0], va_mtn * mtn_split[1]])
    vpm = T["mountain_value_added_per_mu"]
    land_target = np.empty(3)
    land_target[1] = va_target[1] / vpm["leapfrog"]
    land_target[2] = va_target[2] / vpm["ecological"]
    land_target[0] = va_target_total / T["value_added_per_mu"] - land_target[1:].sum()
    tpm = T["mountain_tax_per_mu"]
    tax_target = np.empty(3)
    tax_target[1] = land_target[1] * tpm["leapfrog"]
    tax_target[2] = land_target[2] * tpm["ecological"]
    tax_target[0] = T["tax_per_mu"] * land_target.sum() - tax_target[1:].sum()
    head_total = va_target_total / T["labour_productivity"]
    head_mtn = va_mtn / T["mountain_labour_productivity"]
    head_target = np.array([head_total - head_mtn, head_mtn * mtn_split[0], head_mtn * mtn_split[1]])

    def factor(values, target):
        # a group with no above-scale firm in the base year (tiny scales) has nothing to calibrate
        gen = np.array([values[base_above & (group == k)].sum() for k in range(3)])
        return np.divide(target, gen, out=np.ones(3), where=gen > 0)

    f_va = factor(va_base, va_target)
    f_land = factor(land_used0 * land_path[:, b], land_target)
    f_tax = factor(tax0 * ratio[:, b] * entry_fraction[:, b], tax_target)
    f_head = factor(head0 * np.sqrt(ratio[:, b]), head_target)
    va0 *= f_va[group]
    land_used0 *= f_land[group]
    tax0 *= f_tax[group]
    head0 *= f_head[group]
    energy0 *= f_va[group]          # intensities per value added stay as drawn
    emission0 *= f_va[group]
    # mountain counties: census weights spread them too far apart (a few populous coastal
    # counties, a long thin tail), so shape the base-year county totals to the published profile
    # (6-8 counties over 100 亿, none under 5 亿) keeping the 26 counties' total
    county_factor = _mountain_profile(va0 * ratio[:, b] * entry_fraction[:, b], base_above, county,
                                      np.where(geo.group > 0)[0], S, T)
    va0 *= county_factor[county]
    energy0 *= county_factor[county]
    emission0 *= county_factor[county]
    province.calibration_factors = {
        "value_added": f_va.round(4).tolist(), "land": f_land.round(4).tolist(),
        "tax": f_tax.round(4).tolist(), "headcount": f_head.round(4).tolist(),
    }

    # land tenure: own, leased, leased out (used = own + leased - leased out)
    rng = next(streams)
    land_cfg = P["land"]
    u = rng.random(F)
    own = land_used0.copy()
    leased = np.zeros(F)
    leased_out = np.zeros(F)
    is0, is1, is2 = seg == 0, seg == 1, seg == 2
    lessee = (is0 & (u < land_cfg["lessee_share_above"])) | (is1 & (u < land_cfg["lessee_share_below"]))
    partial = is0 & (u >= land_cfg["lessee_share_above"]) & (u < land_cfg["lessee_share_above"] + land_cfg["partial_lease_share_above"])
    share_own = rng.uniform(0.6, 0.9, F)
    leased[lessee] = np.maximum(land_used0[lessee], 0.3)
    own[lessee] = 0.0
    leased[partial] = land_used0[partial] * (1 - share_own[partial])
    own[partial] = land_used0[partial] * share_own[partial]
    owners_out = (own > 0) & ~partial & (rng.random(F) < land_cfg["leased_out_share"])
    q = rng.uniform(0.1, 0.4, F)
    own[owners_out] = land_used0[owners_out] / (1 - q[owners_out])
    leased_out[owners_out] = own[owners_out] * q[owners_out]
    eval_owner = is1 & ~lessee
    own[eval_owner] = np.maximum(own[eval_owner], 3.0 + rng.uniform(0, 2, F)[eval_owner])
    own[is2] = rng.uniform(0.3, 2.95, F)[is2]
    leased[is2] = 0.0
    leased_out[is2] = 0.0

    # ------------------------------------------------------------------- the years
    VA = va0[:, None] * ratio * entry_fraction * _lognormal_factor(rng, 0.04, F * Y).reshape(F, Y)
    TAX = tax0[:, None] * ratio * entry_fraction * _lognormal_factor(rng, 0.12, F * Y).reshape(F, Y)
    HEAD = np.maximum(np.rint(head0[:, None] * np.sqrt(ratio)), np.where(above, 8, 1))
    OWN = own[:, None] * land_path
    OWN[eval_owner] = np.maximum(OWN[eval_owner], 3.0)
    OWN[is2] = np.minimum(OWN[is2], 2.99)
    LEASED = leased[:, None] * land_path
    LEASED_OUT = leased_out[:, None] * land_path
    USED = OWN + LEASED - LEASED_OUT
    ENERGY = energy0[:, None] * ratio ** 0.85 * entry_fraction * _lognormal_factor(rng, 0.05, F * Y).reshape(F, Y)
    EMISSION = emission0[:, None] * ratio ** 0.85 * entry_fraction * _lognormal_factor(rng, 0.08, F * Y).reshape(F, Y)
    RD = rd0[:, None] * ratio * entry_fraction * _lognormal_factor(rng, 0.15, F * Y).reshape(F, Y)
    PROFIT = main_revenue * (profit_margin[:, None] + rng.normal(0, 0.02, (F, Y)))
    OUTPUT = main_revenue * rng.uniform(0.97, 1.06, (F, Y))
    REVENUE = main_revenue * revenue_markup[:, None]

    # year factors: every year's province per-mu figures follow the published path
    year_factors = {}
    for y in range(Y):
        sel = above[:, y]
        land_sum = USED[sel, y].sum()
        k_va = T["value_added_per_mu_by_year"][str(years[y])] * land_sum / VA[sel, y].sum()
        k_tax = T["tax_per_mu_by_year"][str(years[y])] * land_sum / TAX[sel, y].sum()
        VA[:, y] *= k_va
        TAX[:, y] *= k_tax
        ENERGY[:, y] *= k_va
        EMISSION[:, y] *= k_va
        year_factors[int(years[y])] = {"value_added": round(float(k_va), 4), "tax": round(float(k_tax), 4)}
    province.calibration_factors["years"] = year_factors
    ELEC = ENERGY * D.elec_share[division][:, None] / KWH_TCE * _lognormal_factor(rng, 0.1, F * Y).reshape(F, Y)

    # ------------------------------------------------------------------- identities and names
    progress("名称与代码 names and codes", 0.35)
    rng = next(streams)
    serials = rng.choice(10**8, F, replace=False)
    uscc = generate_uscc(geo.adcodes[county], serials)
    prefix = np.array([_names.short_region(n) for n in geo.city_names], dtype=object)[county]
    county_prefix = np.array([_names.short_region(n) for n in geo.names], dtype=object)[county]
    prefix = np.where(rng.random(F) < 0.5, county_prefix, prefix)
    words = np.array(D.name_words, dtype=object)[division]
    large = revenue0 >= 50_000
    name = _names.enterprise_names(rng, prefix, words, large)
    truth: list[dict] = []
    dup = rng.choice(F, round(F * P["defects"]["duplicate_name_share"]), replace=False)
    originals = rng.choice(np.setdiff1d(np.arange(F), dup), dup.size, replace=False)
    name[dup] = name[originals]
    for d, o in zip(dup, originals):
        truth.append({"category": "data_defect", "kind": "duplicate_name", "uscc": uscc[d],
                      "detail": f"same name as {uscc[o]}"})

    # towns
    town_code = np.empty(F, dtype=object)
    town_name = np.empty(F, dtype=object)
    town_rows = []
    rank = np.argsort(np.argsort(-geo.weight))
    n_towns = np.clip(np.rint(20 - 14 * rank / len(rank)), 6, 20).astype(int)
    for c in range(len(geo.adcodes)):
        tnames = _names.town_names(rng, n_towns[c], geo.kinds[c])
        codes = [f"{geo.adcodes[c]}{k + 1:03d}" for k in range(n_towns[c])]
        for code, tname in zip(codes, tnames):
            town_rows.append({"adcode": code, "name": tname, "level": "town",
                              "parent_adcode": geo.adcodes[c], "city_adcode": geo.city_adcodes[c]})
        members = np.where(county == c)[0]
        zipf = 1.0 / np.arange(1, n_towns[c] + 1) ** 0.8
        pick = rng.choice(n_towns[c], members.size, p=zipf / zipf.sum())
        town_code[members] = np.array(codes, dtype=object)[pick]
        town_name[members] = np.array(tnames, dtype=object)[pick]

    # zones: each county's main platform
    rng = next(streams)
    zone_ids = np.array([f"Z{a}" for a in geo.adcodes], dtype=object)
    national = rank < 30
    zone_kind = np.where(rng.random(len(geo.adcodes)) < 0.6, "economic_development", "high_tech")
    zone_rows = []
    for c in range(len(geo.adcodes)):
        short = _names.short_region(geo.names[c])
        label = "经济开发区" if zone_kind[c] == "economic_development" else "高新技术产业园区"
        zone_rows.append({"zone_id": zone_ids[c], "name": f"{short}{label}",
                          "level": "national" if national[c] else "provincial", "kind": zone_kind[c],
                          "county_adcode": geo.adcodes[c],
                          "established_year": int(rng.integers(1992, 2016))})
    in_zone = rng.random(F) < np.select([is0, is1], [0.55, 0.4], 0.2)
    zone = np.where(in_zone, zone_ids[county], None)
    town_code = np.where(in_zone & (rng.random(F) < 0.7), np.char.add(geo.adcodes[county].astype(str), "001").astype(object), town_code)
    first_town = {r["adcode"]: r["name"] for r in town_rows}
    town_name = np.array([first_town[t] for t in town_code], dtype=object)

    # ------------------------------------------------------------------- defects
    progress("数据缺陷 defects", 0.4)
    rng = next(streams)
    defects = P["defects"]
    ENERGY_OUT = ENERGY.copy()
    EMISSION_OUT = EMISSION.copy()
    HEAD_OUT = HEAD.astype(float)
    miss = lambda above_p, below_p: rng.random((F, Y)) < np.where(above, above_p, below_p)  # noqa: E731
    ENERGY_OUT[miss(defects["missing_energy_above"], defects["missing_energy_below"])] = np.nan
    EMISSION_OUT[miss(defects["missing_emission_above"], defects["missing_emission_below"])] = np.nan
    HEAD_OUT[miss(0.0, defects["missing_headcount_below"])] = np.nan
    fy_rows, fy_cols = np.where(active)
    small_enough = revenue0[fy_rows] < np.quantile(revenue0[seg == 0], 0.5)
    candidates = np.where(small_enough)[0]
    n_out = round(fy_rows.size * defects["outlier_share"])
    chosen = rng.choice(candidates, min(n_out, candidates.size), replace=False)
    targets = {"tax_paid": TAX, "value_added": VA, "land_own_mu": OWN}
    for k in chosen:
        f, y = fy_rows[k], fy_cols[k]
        column = ("tax_paid", "value_added", "land_own_mu")[rng.integers(0, 3)]
        if column == "land_own_mu" and OWN[f, y] == 0:
            column = "tax_paid"
        mult = 10.0 if rng.random() < 0.5 else 0.1
        targets[column][f, y] *= mult
        truth.append({"category": "data_defect", "kind": "outlier_x10" if mult > 1 else "outlier_div10",
                      "uscc": uscc[f], "year": int(years[y]), "magnitude": mult, "detail": column})

    # ------------------------------------------------------------------- electricity by month
    progress("月度用电 monthly electricity", 0.45)
    rng = next(streams)
    months_kwh, month_index, fy_firm, fy_year, annual_fy, months_per_fy = _monthly_electricity(
        rng, P["electricity"], P["spring_festival"], years, active, found_month, first_active,
        ELEC, g, uscc, last_active, truth)
    # annual electricity is the sum of the months actually recorded
    annual = np.full((F, Y), np.nan)
    annual[fy_firm, fy_year] = annual_fy
    progress("写入表 tables", 0.6)

    # ------------------------------------------------------------------- tables
    t = province.tables
    dataset = config.dataset_id
    status = np.where(last_active < Y - 1, "closed", "active")
    closed_on = _dates(years[last_active] + 1, 1 + (np.arange(F) * 7) % 6, np.full(F, 15))
    founded_on = _dates(found_year, found_month, found_day)
    t["enterprises"] = pa.table({
        "uscc": pa.array(uscc, pa.string()),
        "name": pa.array(name, pa.string()),
        "county_adcode": pa.array(geo.adcodes[county], pa.string()),
        "town_adcode": pa.array(town_code, pa.string()),
        "town_name": pa.array(town_name, pa.string()),
        "industry_code": pa.array(industry, pa.string()),
        "zone_id": pa.array(zone, pa.string()),
        "founded_on": pa.array(founded_on),
        "closed_on": pa.array(closed_on, mask=status != "closed"),
        "status": pa.array(status, pa.string()),
        "dataset_id": pa.array([dataset] * F, pa.string()),
    })
    f_idx, y_idx = np.where(active)

    def col(matrix, nullable=False):
        values = matrix[f_idx, y_idx]
        return pa.array(values, pa.float64(), mask=np.isnan(values) if nullable else None)

    t["enterprise_years"] = pa.table({
        "uscc": pa.array(uscc[f_idx], pa.string()),
        "year": pa.array(years[y_idx], pa.int32()),
        "above_scale": pa.array(above[f_idx, y_idx]),
        "revenue": col(REVENUE), "main_revenue": col(main_revenue), "output_value": col(OUTPUT),
        "value_added": col(VA), "profit": col(PROFIT), "tax_paid": col(TAX),
        "headcount": pa.array(HEAD_OUT[f_idx, y_idx], pa.float64(), mask=np.isnan(HEAD_OUT[f_idx, y_idx])).cast(pa.int32()),
        "land_own_mu": col(OWN), "land_leased_mu": col(LEASED), "land_leased_out_mu": col(LEASED_OUT),
        "energy_tce": col(ENERGY_OUT, True), "emission_t": col(EMISSION_OUT, True),
        "rd_spending": col(RD), "electricity_kwh": col(annual),
        "confirmed": pa.array(rng.random(f_idx.size) < np.where(above[f_idx, y_idx], 0.9, 0.6)),
        "dataset_id": pa.array([dataset] * f_idx.size, pa.string()),
    })
    month_dates = (np.datetime64(f"{years[0]}-01", "M") + month_index).astype("datetime64[D]")
    firm_of_month = np.repeat(fy_firm, months_per_fy)
    water = months_kwh * 0.004 * _lognormal_factor(rng, 0.3, F)[firm_of_month]
    has_water = (rng.random(F) < 0.7)[firm_of_month]
    gas = months_kwh * 0.05 * _lognormal_factor(rng, 0.5, F)[firm_of_month]
    has_gas = (rng.random(F) < 0.35)[firm_of_month]
    t["electricity_monthly"] = pa.table({
        "uscc": pa.DictionaryArray.from_arrays(pa.array(firm_of_month.astype(np.int32)), pa.array(uscc, pa.string())),
        "month": pa.array(month_dates),
        "kwh": pa.array(np.round(months_kwh, 1)),
        "water_t": pa.array(np.round(water, 1), mask=~has_water),
        "gas_m3": pa.array(np.round(gas, 1), mask=~has_gas),
        "dataset_id": pa.DictionaryArray.from_arrays(pa.array(np.zeros(months_kwh.size, np.int32)), pa.array([dataset])),
    })

    progress("开发区与用地 zones and land", 0.7)
    latest = np.where(active, np.arange(Y)[None, :], -1).max(axis=1)
    zone_land = {}
    for zid, land in zip(zone, OWN[np.arange(F), latest] + LEASED[np.arange(F), latest]):
        if zid is not None:
            zone_land[zid] = zone_land.get(zid, 0.0) + land
    for row in zone_rows:
        row["planned_area_mu"] = round(zone_land.get(row["zone_id"], 0.0) * float(rng.uniform(1.2, 1.6)) + 500, 1)
        row["dataset_id"] = dataset
    t["zones"] = pa.Table.from_pylist(zone_rows)
    t["zone_counties"] = pa.table({"zone_id": pa.array(zone_ids.astype(str)), "adcode": pa.array(geo.adcodes.astype(str))})
    t["regions"] = pa.Table.from_pylist([{**r, "dataset_id": dataset} for r in town_rows])
    t["land_parcels"] = _parcels(rng, geo, county, zone, uscc, OWN, VA, latest, status, first_active, years, dataset)
    t["enterprise_flags"] = _flags(rng, seg, division, D, uscc, years, dataset)

    progress("产业链与项目 chains and projects", 0.8)
    t["enterprise_segments"] = _segments(industry, REVENUE[:, -1], geo.city_adcodes[county], above[:, -1], uscc,
                                         dataset)
    t["projects"], t["project_events"] = _projects(next(streams), config, geo, county, seg, revenue0, industry,
                                                   uscc, name, zone_ids, dataset)
    for step in STEPS:
        t.update(step.generate(next(streams), config, t, geo, dataset))
    truth_rows = [{"truth_id": i + 1, "category": r["category"], "kind": r["kind"], "uscc": r.get("uscc"),
                   "year": r.get("year"), "start_month": r.get("start_month"), "end_month": r.get("end_month"),
                   "magnitude": r.get("magnitude"), "detail": r.get("detail")} for i, r in enumerate(truth)]
    t["synth_ground_truth"] = pa.Table.from_pylist(truth_rows, schema=pa.schema([
        ("truth_id", pa.int32()), ("category", pa.string()), ("kind", pa.string()), ("uscc", pa.string()),
        ("year", pa.int32()), ("start_month", pa.date32()), ("end_month", pa.date32()),
        ("magnitude", pa.float64()), ("detail", pa.string())]))
    from shanhai import __version__
    fingerprint = hashlib.sha256(json.dumps(
        {**config.as_dict(), "params": P, "version": __version__}, sort_keys=True, default=str).encode()).hexdigest()
    t["datasets"] = pa.Table.from_pylist([{
        "dataset_id": dataset, "kind": "synthetic",
        "description": f"合成浙江省 synthetic Zhejiang, scale {config.scale:g}, seed {config.seed}, {years[0]}-{years[-1]}",
        "params": json.dumps({**config.as_dict(), "base_year": config.base_year,
                              "calibration_factors": province.calibration_factors}, ensure_ascii=False),
        "fingerprint": fingerprint, "code_version": __version__}])
    progress("完成 done", 0.85)
    return province


def _mountain_profile(va, above, county, mountain_counties, scale, targets) -> np.ndarray:
    """Per-county value-added factors that give the mountain counties the published profile.

    The ``k`` largest (k = middle of ``mountain_counties_over_100yi``) are lifted to at least
    105 亿 x scale and every county to at least 1.2 x the published minimum; what is added is
    taken from the counties with room above those bounds, in proportion to that room, so the 26
    counties' total is unchanged. Counties that already fit get a factor of 1.
    """
    # every county index that can be asked for: the firms' and the mountain counties' (a tiny scale
    # may leave the last counties without a firm)
    n_counties = max(int(county.max()) + 1 if county.size else 0,
                     int(mountain_counties.max()) + 1 if len(mountain_counties) else 0)
    totals = np.bincount(county[above], weights=va[above], minlength=n_counties)
    factor = np.ones(n_counties)
    v = totals[mountain_counties]
    if v.size == 0 or v.sum() <= 0:
        return factor
    low, high = targets["mountain_counties_over_100yi"]
    k = (low + high) // 2
    top_level = 105 * 1e4 * scale
    floor = 1.2 * targets["mountain_county_min_va_yi"] * 1e4 * scale
    bound = np.full(v.size, floor)
    bound[np.argsort(-v, kind="stable")[:k]] = top_level
    lifted = np.maximum(v, bound)
    room = lifted - bound
    need = lifted.sum() - v.sum()
    if need > 0 and room.sum() > need:
        lifted -= need * room / room.sum()
    factor[mountain_counties] = np.where(v > 0, lifted / np.where(v > 0, v, 1), 1.0)
    return factor


def _dates(year, month, day) -> np.ndarray:
    """Vectorised ``date(year, month, day)`` as datetime64[D]."""
    months = (np.asarray(year) - 1970) * 12 + np.asarray(month) - 1
    return months.astype("datetime64[M]").astype("datetime64[D]") + (np.asarray(day) - 1)


def _monthly_electricity(rng, cfg, festivals, years, active, found_month, first_active, elec, g, uscc,
                         last_active, truth):
    """Monthly kWh for every active firm-year, with anomalies recorded in ``truth``.

    Returns (kWh per live month, month index since January of the first year, firm and year
    index of each firm-year block, annual kWh per block, live months per block). Rows are
    grouped by firm, then year, then month.
    """
    F, Y = active.shape
    season = np.array(cfg["season"])
    sf = np.ones((Y, 12))
    for y, year in enumerate(years):
        festival = date.fromisoformat(festivals[str(year)])
        m = festival.month - 1
        sf[y, m] *= cfg["spring_festival_factor"]
        if festival.day <= 10 and m > 0:
            sf[y, m - 1] *= 0.93
        if festival.day >= 20:
            sf[y, m + 1] *= 0.9
    fy_firm, fy_year = np.where(active)                 # grouped by firm, then year
    n = fy_firm.size
    months = np.arange(12)
    weight = season[None, :] * sf[fy_year] * (1 + g[fy_firm, fy_year][:, None] * (months[None, :] - 5.5) / 12)
    weight *= np.exp(rng.normal(0, cfg["noise_sigma"], (n, 12)))
    born = (first_active[fy_firm] == fy_year) & (first_active[fy_firm] > 0)
    live = ~(born[:, None] & (months[None, :] < (found_month[fy_firm] - 1)[:, None]))
    weight = np.where(live, weight, 0.0)
    kwh = weight / weight.sum(axis=1, keepdims=True) * elec[fy_firm, fy_year][:, None]
    # series per firm, in months since January of the first year
    month_index = (fy_year[:, None] * 12 + months[None, :])
    series_firm = np.repeat(fy_firm, 12)
    flat_kwh = kwh.ravel()
    flat_month = month_index.ravel()
    flat_live = live.ravel()

    # anomalies on firms with at least 18 live months
    live_months = np.bincount(series_firm[flat_live], minlength=F)
    first_month = np.full(F, 10**6)
    np.minimum.at(first_month, series_firm[flat_live], flat_month[flat_live])
    last_month = np.full(F, -1)
    np.maximum.at(last_month, series_firm[flat_live], flat_month[flat_live])
    eligible = np.where(live_months >= 18)[0]
    counts = [round(F * cfg["collapse_share"]), round(F * cfg["decline_share"]), round(F * cfg["spike_share"])]
    picked = rng.choice(eligible, min(sum(counts), eligible.size), replace=False)
    kinds = np.repeat(["collapse", "decline", "spike"], counts)[: picked.size]
    # firms that close: a share of them collapse in their last months (the signal to catch)
    closing = np.setdiff1d(np.where((last_active < Y - 1) & (live_months >= 15))[0], picked)
    closing = closing[rng.random(closing.size) < 0.4]
    block_len = np.bincount(fy_firm, minlength=F) * 12
    block_start = np.r_[0, np.cumsum(block_len)[:-1]]
    base_month = np.datetime64(f"{years[0]}-01", "M")
    for f, kind in list(zip(picked, kinds)) + [(f, "collapse_before_exit") for f in closing]:
        lo = max(first_month[f] + 12, last_month[f] - 23)
        if kind == "collapse_before_exit":
            lo = max(first_month[f] + 12, last_month[f] - 5)
        start = int(rng.integers(lo, last_month[f] + 1)) if last_month[f] >= lo else int(last_month[f])
        block = slice(block_start[f], block_start[f] + block_len[f])
        kwh_f, month_f, live_f = flat_kwh[block], flat_month[block], flat_live[block]
        sel = (month_f >= start) & live_f
        if kind in ("collapse", "collapse_before_exit"):
            level = float(rng.uniform(0.02, 0.25))
            kwh_f[sel] *= level
            end = int(last_month[f])
        elif kind == "decline":
            length = int(rng.integers(6, 13))
            level = float(rng.uniform(0.3, 0.6))
            steps = np.clip((month_f[sel] - start + 1) / length, 0, 1)
            kwh_f[sel] *= 1 - (1 - level) * steps
            end = min(start + length - 1, int(last_month[f]))
        else:
            level = float(rng.uniform(2.5, 4.0))
            kwh_f[month_f == start] *= level
            end = start
        truth.append({"category": "electricity_anomaly",
                      "kind": "collapse" if kind == "collapse_before_exit" else kind,
                      "uscc": uscc[f], "start_month": (base_month + start).astype("datetime64[D]").item(),
                      "end_month": (base_month + end).astype("datetime64[D]").item(),
                      "magnitude": round(level, 4),
                      "detail": "before exit" if kind == "collapse_before_exit" else None})
    annual_fy = np.where(flat_live, flat_kwh, 0.0).reshape(n, 12).sum(axis=1)
    return flat_kwh[flat_live], flat_month[flat_live], fy_firm, fy_year, annual_fy, live.sum(axis=1)


def _parcels(rng, geo, county, zone, uscc, OWN, VA, latest, status, first_active, years, dataset):
    F = county.size
    idx = np.arange(F)
    own_latest = OWN[idx, latest]
    va_latest = VA[idx, latest]
    holders = np.where(own_latest > 0)[0]
    vpm = np.where(own_latest > 0, va_latest / np.where(own_latest > 0, own_latest, 1), np.nan)
    low = np.zeros(F, bool)
    for c in range(len(geo.adcodes)):
        members = holders[county[holders] == c]
        if members.size:
            low[members[vpm[members] <= np.quantile(vpm[members], 0.08)]] = True
    rows_county, rows_zone, rows_area, rows_status, rows_holder, rows_supplied = [], [], [], [], [], []

    def add(c, z, area, st, holder, supplied):
        rows_county.append(geo.adcodes[c]); rows_zone.append(z); rows_area.append(round(float(area), 4))
        rows_status.append(st); rows_holder.append(holder); rows_supplied.append(supplied)

    supplied_year = np.clip(years[0] - rng.exponential(8, F).astype(int), 1995, years[-1])
    for f in holders:
        st = "built_not_operating" if status[f] == "closed" else ("operating_below_standard" if low[f] else "in_use")
        add(county[f], zone[f], own_latest[f], st, uscc[f], date(int(supplied_year[f]), 6, 30))
    underused = holders[rng.random(holders.size) < 0.04]
    for f in underused:
        add(county[f], zone[f], own_latest[f] * rng.uniform(0.1, 0.3), "underused", uscc[f], date(int(supplied_year[f]), 6, 30))
    recent = np.where(first_active > 0)[0]
    for c in range(len(geo.adcodes)):
        n_firms = int((county == c).sum())
        for _ in range(1 + round(n_firms * 0.004)):
            add(c, f"Z{geo.adcodes[c]}" if rng.random() < 0.7 else None, rng.uniform(20, 200), "approved_not_supplied", None, None)
        local_recent = recent[county[recent] == c]
        for _ in range(round(n_firms * 0.003)):
            holder = uscc[rng.choice(local_recent)] if local_recent.size else None
            add(c, f"Z{geo.adcodes[c]}" if rng.random() < 0.8 else None, rng.uniform(10, 120), "supplied_not_used",
                holder, date(int(years[-1]) - int(rng.integers(0, 3)), int(rng.integers(1, 13)), 1))
    order = np.lexsort((np.arange(len(rows_county)), np.array(rows_county)))
    seq: dict[str, int] = {}
    ids = [None] * len(order)
    for i in order:
        seq[rows_county[i]] = seq.get(rows_county[i], 0) + 1
        ids[i] = f"P{rows_county[i]}{seq[rows_county[i]]:06d}"
    return pa.table({
        "parcel_id": pa.array(ids, pa.string()), "county_adcode": pa.array(rows_county, pa.string()),
        "zone_id": pa.array(rows_zone, pa.string()), "area_mu": pa.array(rows_area, pa.float64()),
        "land_use_status": pa.array(rows_status, pa.string()), "holder_uscc": pa.array(rows_holder, pa.string()),
        "supplied_on": pa.array(rows_supplied, pa.date32()), "dataset_id": pa.array([dataset] * len(ids), pa.string()),
    })


def _flags(rng, seg, division, D, uscc, years, dataset):
    F = seg.size
    tech_div = np.isin(np.array(D.codes)[division], ["27", "35", "38", "39", "40"])
    spec = [
        ("high_tech", np.where(seg == 0, np.where(tech_div, 0.22, 0.09), 0.015), 3),
        ("specialised", np.where(seg == 0, 0.04, 0.004), 3),
        ("rd_institution", np.where(seg == 0, 0.10, 0.01), None),
        ("safety_violation", np.full(F, 0.006), 1),
        ("environmental_violation", np.full(F, 0.008), 1),
    ]
    rows = {"uscc": [], "flag": [], "valid_from": [], "valid_to": [], "detail": []}
    for flag, p, years_valid in spec:
        hit = np.where(rng.random(F) < p)[0]
        start_year = rng.integers(years[0] - 2, years[-1] + 1, hit.size)
        start_month = rng.integers(1, 13, hit.size)
        for f, y, m in zip(hit, start_year, start_month):
            start = date(int(y), int(m), 1)
            end = date(int(y) + years_valid, int(m), 1) if years_valid else None
            detail = None
            if flag.endswith("violation"):
                detail = "major" if rng.random() < 0.2 else "general"
            rows["uscc"].append(uscc[f]); rows["flag"].append(flag); rows["valid_from"].append(start)
            rows["valid_to"].append(end); rows["detail"].append(detail)
        if flag == "specialised":
            giants = hit[rng.random(hit.size) < 0.1]
            for f in giants:
                rows["uscc"].append(uscc[f]); rows["flag"].append("little_giant")
                rows["valid_from"].append(date(int(years[-1]), 7, 1)); rows["valid_to"].append(date(int(years[-1]) + 3, 7, 1))
                rows["detail"].append(None)
    table = pa.table({"uscc": pa.array(rows["uscc"], pa.string()), "flag": pa.array(rows["flag"], pa.string()),
                      "valid_from": pa.array(rows["valid_from"], pa.date32()),
                      "valid_to": pa.array(rows["valid_to"], pa.date32()),
                      "detail": pa.array(rows["detail"], pa.string()),
                      "dataset_id": pa.array([dataset] * len(rows["uscc"]), pa.string())})
    return table


def _segments(industry, revenue, city, above, uscc, dataset):
    """Chain membership by industry code, with chain leaders by ``reference.LEADER_RULE`` (the
    rule ``jobs.membership`` applies to a store): among a chain's firms above scale in the latest
    year (``above``), the province's top ones by that year's ``revenue`` and each large city's top one."""
    rule = reference.LEADER_RULE
    segments_of: dict[str, list[tuple[str, str]]] = {}
    for chain in reference.chains():
        for segment in chain.segments:
            for code in segment.codes:
                for cls in reference.classes_under(code):
                    segments_of.setdefault(cls, []).append((chain.chain_id, segment.segment_id))
    rows_f, rows_seg, rows_chain = [], [], []
    for f, code in enumerate(industry):
        for chain_id, segment_id in dict.fromkeys(segments_of.get(code, ())):
            rows_f.append(f); rows_seg.append(segment_id); rows_chain.append(chain_id)
    rows_f = np.array(rows_f, np.int64)
    rows_chain = np.array(rows_chain, dtype=object)
    leader = np.zeros(rows_f.size, bool)
    for chain in reference.chains():
        members = np.unique(rows_f[rows_chain == chain.chain_id])
        members = members[above[members]]
        if not members.size:
            continue
        top = set(members[np.argsort(-revenue[members], kind="stable")][:rule.province_top].tolist())
        for c in np.unique(city[members]):
            local = members[city[members] == c]
            if local.size >= rule.city_min_members:
                top.add(int(local[np.argmax(revenue[local])]))
        leader |= (rows_chain == chain.chain_id) & np.isin(rows_f, list(top))
    return pa.table({
        "uscc": pa.array(uscc[rows_f] if rows_f.size else [], pa.string()),
        "segment_id": pa.array(rows_seg, pa.string()),
        "role": pa.array(np.where(leader, "chain_leader", "member"), pa.string()),
        "method": pa.array(["code"] * rows_f.size, pa.string()),
        "dataset_id": pa.array([dataset] * rows_f.size, pa.string()),
    })


def _projects(rng, config, geo, county, seg, revenue0, industry, uscc, name, zone_ids, dataset):
    P = params()["projects"]
    n = max(40, round(P["per_sqrt_scale"] * np.sqrt(config.scale)))
    years = config.years
    mountain = np.where(geo.group > 0)[0]
    developed = np.where(geo.group == 0)[0]
    partners: dict[int, list[int]] = {}
    index = {a: i for i, a in enumerate(geo.adcodes)}
    for pair in reference.mountain_sea_pairs():
        if pair.developed_adcode in index:
            partners.setdefault(index[pair.mountain_adcode], []).append(index[pair.developed_adcode])
    chain_of: dict[str, str] = {}
    for chain in reference.chains():
        for segment in chain.segments:
            for code in segment.codes:
                for cls in reference.classes_under(code):
                    chain_of.setdefault(cls, chain.chain_id)
    big = np.where(seg == 0)[0]
    big_by_county = {c: big[county[big] == c] for c in range(len(geo.adcodes))}
    mw = geo.weight[mountain] / geo.weight[mountain].sum()
    aw = geo.weight / geo.weight.sum()
    # projects signed up to three years before the window, so every stage is reached in it
    start, end = date(years[0] - 3, 1, 1), date(years[-1], 12, 31)
    span = (end - start).days
    durations = {"started": (60, 270), "completed": (240, 540), "producing": (30, 90),
                 "above_scale": (180, 540), "full_output": (365, 730)}
    projects, events = [], []
    for k in range(n):
        u = rng.random()
        if u < P["cooperation_share"]:
            kind = "cooperation"
            landing = int(rng.choice(mountain, p=mw))
            options = partners.get(landing) or list(rng.choice(developed, 1))
            first = int(rng.choice(options))
        elif u < P["cooperation_share"] + P["transfer_share"]:
            kind = "transfer"
            first = int(rng.choice(len(aw), p=aw))
            landing = int(rng.choice(len(aw), p=aw))
            while landing == first:
                landing = int(rng.choice(len(aw), p=aw))
        else:
            kind = "local"
            landing = first = int(rng.choice(len(aw), p=aw))
        investors = big_by_county.get(first, np.array([], np.int64))
        investor = int(rng.choice(investors)) if investors.size and rng.random() < 0.6 else None
        leads = geo.lead_classes[landing]
        if leads and rng.random() < 0.6:
            options = leads[int(rng.integers(0, len(leads)))]
            code = options[int(rng.integers(0, len(options)))]
        elif investor is not None:
            code = industry[investor]
        else:
            code = industry[int(rng.integers(0, industry.size))]
        amount = float(np.exp(rng.normal(np.log(30_000), 0.9))) * (0.6 if kind == "cooperation" else 1.0)
        signed = date.fromordinal(start.toordinal() + int(rng.integers(0, span - 60)))
        stall = rng.random() < 0.12
        stall_at = int(rng.integers(1, len(STAGES))) if stall else len(STAGES)
        project_id = f"PJ{years[0]}{k + 1:05d}"
        brand = _names.brands(rng, 1)[0] if investor is None else name[investor][:4]
        word = divisions().short_names[divisions().index(code)]
        label = f"{brand}年产{int(rng.integers(2, 50))}万套{word}项目"
        current = signed
        reached = "signed"
        events.append({"project_id": project_id, "stage": "signed", "event_date": signed, "invested": 0.0,
                       "output": None, "dataset_id": dataset})
        plan = signed
        fractions = {"started": 0.15, "completed": 0.7, "producing": 0.85, "above_scale": 0.95, "full_output": 1.0}
        for i, stage in enumerate(STAGES[1:], start=1):
            low, high = durations[stage]
            step = int(rng.integers(low, high))
            plan = date.fromordinal(plan.toordinal() + (low + high) // 2)
            current = date.fromordinal(current.toordinal() + step)
            if i >= stall_at or current > end:
                continue
            if reached != STAGES[i - 1]:
                continue
            reached = stage
            output = None
            if stage == "producing":
                output = amount * 0.3
            elif stage == "above_scale":
                output = max(amount * 0.6, ABOVE_SCALE_REVENUE)
            elif stage == "full_output":
                output = amount * float(rng.uniform(0.8, 1.5))
            events.append({"project_id": project_id, "stage": stage, "event_date": current,
                           "invested": round(amount * fractions[stage] * float(rng.uniform(0.85, 1.05)), 4),
                           "output": None if output is None else round(output, 4), "dataset_id": dataset})
        projects.append({
            "project_id": project_id, "name": label,
            "investor_uscc": None if investor is None else uscc[investor],
            "investor_name": None if investor is None else name[investor],
            "industry_code": code, "chain_id": chain_of.get(code),
            "first_contact_adcode": geo.adcodes[first], "landing_adcode": geo.adcodes[landing],
            "zone_id": zone_ids[landing], "planned_investment": round(amount, 4),
            "is_cooperation": kind == "cooperation", "stage": reached, "signed_on": signed,
            "expected_full_output": plan, "dataset_id": dataset,
        })
    return pa.Table.from_pylist(projects), pa.Table.from_pylist(events)


# --------------------------------------------------------------------------- writing

SYNTH_TABLES = ("datasets", "regions", "zones", "zone_counties", "enterprises", "enterprise_years",
                "enterprise_flags", "electricity_monthly", "land_parcels", "enterprise_segments",
                "projects", "project_events", "synth_ground_truth") + tuple(
                    table for step in STEPS for table in step.TABLES)


def existing_enterprises(con) -> int:
    return con.execute("SELECT count(*) FROM enterprises").fetchone()[0]


def clear_synthetic(con) -> None:
    """Delete every synthetic row (towns, zones and firms of earlier builds); keeps imports."""
    for table in SYNTH_TABLES:
        if table in ("zone_counties", "synth_ground_truth"):
            continue
        con.execute(f"DELETE FROM {table} WHERE dataset_id LIKE 'synth-%'")
    con.execute("DELETE FROM zone_counties WHERE zone_id NOT IN (SELECT zone_id FROM zones)")
    con.execute("DELETE FROM synth_ground_truth")


def write(con, province: Province, progress: Progress | None = None) -> dict[str, int]:
    """Insert the generated tables in one transaction; returns rows per table."""
    progress = progress or (lambda label, fraction: None)
    counts = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for i, table in enumerate(SYNTH_TABLES):
            arrow = province.tables[table]
            con.register("_synth_rows", arrow)
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _synth_rows")
            con.unregister("_synth_rows")
            counts[table] = arrow.num_rows
            progress(f"写入 {table}", 0.85 + 0.14 * (i + 1) / len(SYNTH_TABLES))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts
