"""Cultivation screening (梯度培育): every firm against the dated rule sets of the cultivation tiers
— 规上, 小升规, 创新型, 专精特新, "小巨人", 隐形冠军 — with the conditions met and missed. Pure:
arrays in, arrays out; the store-level job is :mod:`shanhai.jobs.cultivation`, the rule language
and the engine :mod:`shanhai.policy._rules`.

**Facts** (:func:`build_facts`). From the annual figures of the data year *Y* (上年度 of the
assessment) and the years before it, per firm:

* yearly: revenue, main_revenue, profit, rd_spending, headcount, above_scale, and
  main_share = main_revenue ÷ revenue × 100, rd_ratio = rd_spending ÷ revenue × 100,
  net_margin = profit ÷ revenue × 100, revenue_growth = (revenue_y ÷ revenue_{y−1} − 1) × 100
  (NULL when the year before is missing or ≤ 0), likewise main_revenue_growth and profit_growth;
* main_revenue_growth_mean2 = mean(main_revenue_growth_Y, main_revenue_growth_{Y−1}) (arithmetic
  mean: R-2022 "平均增长率", formula not confirmed), revenue_cagr2 = ((revenue_Y ÷ revenue_{Y−2})^½ − 1)
  × 100 (R-2026 "复合增长率"), main_revenue_avg3 = mean of the last three main revenues;
* firm_age and niche_years: full months from founded_on / niche_since to 1 January of Y+1, ÷ 12
  (a start on the 1st counts its month: 2023-01-01 → 3.0 years at the end of 2025; G6);
* the firm's titles and records on the assessment date (flags valid then), major incidents in the
  3 years before it, and the columns of ``cultivation_facts`` for Y.

A ratio with a zero or missing denominator is NULL, and NULL makes a condition *unknown*.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shanhai.policy._rules import (FAIL, MANUAL, OUTCOME_LABELS, OUTCOMES, PASS, TIER_FLAGS, TIERS, UNKNOWN,
                                   Evaluation, Facts, Leaf, RuleSet, evaluate, reason)

YEARLY = ("revenue", "main_revenue", "profit", "rd_spending", "headcount", "above_scale")
# cultivation_facts columns read as they are (numbers and yes/no)
FACT_COLUMNS = ("ip_class1", "ip_class1_self", "ip_class1_high_value", "ip_class2", "invention_patents", "debt_ratio",
                "market_share_national", "market_share_niche", "world_rank", "national_rank", "main_products",
                "equity_financing_2y", "equity_financing_3y", "rd_staff_share", "rd_institution_level",
                "digital_level", "platform_score", "platform_score_prev", "specialty_score", "key_field_level",
                "quality_award", "iso_cert", "own_brand", "standard_setting", "it_system", "intl_cert", "sei_field",
                "key_link", "market_position_ok", "chain_product_ok", "sci_award_provincial", "sci_award_national",
                "maker_contest_500", "maker_contest_50", "credit_ok")
FLAG_FACTS = ("high_tech", "tech_sme", "innovative_sme", "specialised", "little_giant", "hidden_champion",
              "single_champion", "rd_institution", "dishonest", "major_incident_3y", "in_key_chain")


def default_as_of(year: int) -> dt.date:
    """The assessment date for data year ``year``: 30 June of the year after (the rounds' usual
    filing window; the golden cases use it)."""
    return dt.date(year + 1, 6, 30)


def _float(values) -> np.ndarray:
    """A list or an Arrow column of numbers/bools/None as float64 with NaN for None."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if pa.types.is_null(values.type):
            return np.full(len(values), np.nan)
        return pc.cast(values, pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False).astype(float)
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _list(values) -> list:
    return values.to_pylist() if isinstance(values, (pa.Array, pa.ChunkedArray)) else list(values)


def _months_to(starts: list, year: int) -> np.ndarray:
    """Full months from each date to 1 January of ``year`` + 1 (NaN for None; 0 if after)."""
    out = np.full(len(starts), np.nan)
    for i, d in enumerate(starts):
        if d is None:
            continue
        months = (year + 1 - d.year) * 12 - (d.month - 1) - (1 if d.day > 1 else 0)
        out[i] = max(months, 0)
    return out


def _ratio(num: np.ndarray, den: np.ndarray, scale: float = 100.0) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den * scale, np.nan)


def _growth(m: np.ndarray) -> np.ndarray:
    """Year-on-year growth in % per column (the first column NaN)."""
    g = np.full(m.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        g[:, 1:] = np.where(m[:, :-1] > 0, (m[:, 1:] / m[:, :-1] - 1) * 100, np.nan)
    return g


def build_facts(firms: dict[str, list], years: dict[str, list], year: int) -> Facts:
    """The facts of every firm (module docstring). ``firms``: columns ``uscc``, ``founded_on``,
    ``niche_since``, the :data:`FACT_COLUMNS` and :data:`FLAG_FACTS` (one row per firm, any order);
    ``years``: columns ``uscc``, ``year`` and :data:`YEARLY` (rows of the years up to ``year``).
    Firms come out sorted by USCC, so the result does not depend on row order."""
    keys = np.array(_list(firms["uscc"]), dtype=object)
    order = np.argsort(keys.astype(str), kind="stable")
    keys = keys[order]
    n = len(keys)

    def col(name):
        return _float(firms[name])[order] if n else np.zeros(0)

    values: dict[str, np.ndarray] = {c: col(c) for c in FACT_COLUMNS + FLAG_FACTS}
    founded_all, niche_all = _list(firms["founded_on"]), _list(firms["niche_since"])
    founded = [founded_all[i] for i in order]
    niche = [niche_all[i] for i in order]
    values["firm_age"] = _months_to(founded, year) / 12
    values["niche_years"] = _months_to(niche, year) / 12
    # a provincial R&D institution (N-7, innovative D3) is the flag or a recorded level ≥ 3
    lvl = values["rd_institution_level"]
    values["rd_institution"] = np.where(values["rd_institution"] > 0.5, 1.0, np.where(lvl >= 3, 1.0, 0.0))
    # yearly matrices: oldest year first, the data year last
    yrs = _float(years["year"]).astype(int) if len(years["year"]) else np.zeros(0, int)
    first = int(yrs.min()) if yrs.size else year
    span = list(range(min(first, year - 3), year + 1))
    k = len(span)
    row_of = {u: i for i, u in enumerate(keys)}
    idx = np.array([row_of.get(u, -1) for u in _list(years["uscc"])], dtype=int)
    ok = (idx >= 0) & (yrs <= year) & (yrs >= span[0])
    hist: dict[str, np.ndarray] = {}
    for name in YEARLY:
        m = np.full((n, k), np.nan)
        v = _float(years[name])
        m[idx[ok], yrs[ok] - span[0]] = v[ok]
        hist[name] = m
    # before a firm was founded it was not above scale (first_time needs the earlier years)
    founded_year = np.array([np.nan if d is None else d.year for d in founded], dtype=float)
    before = np.array(span)[None, :] < founded_year[:, None]
    hist["above_scale"] = np.where(np.isnan(hist["above_scale"]) & before, 0.0, hist["above_scale"])
    rev, main, profit, rd = hist["revenue"], hist["main_revenue"], hist["profit"], hist["rd_spending"]
    hist["main_share"] = _ratio(main, rev)
    hist["rd_ratio"] = _ratio(rd, rev)
    hist["net_margin"] = _ratio(profit, rev)
    hist["revenue_growth"] = _growth(rev)
    hist["main_revenue_growth"] = _growth(main)
    hist["profit_growth"] = _growth(profit)
    g = hist["main_revenue_growth"]
    values["main_revenue_growth_mean2"] = (g[:, -1] + g[:, -2]) / 2 if k >= 2 else np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        values["revenue_cagr2"] = np.where(rev[:, -3] > 0, (np.sqrt(rev[:, -1] / rev[:, -3]) - 1) * 100, np.nan) \
            if k >= 3 else np.full(n, np.nan)
    values["main_revenue_avg3"] = main[:, -3:].mean(axis=1) if k >= 3 else np.full(n, np.nan)
    return Facts(keys, values, hist)


@dataclass
class TierResult:
    """One rule set over the firms: the engine's evaluation, who already holds the title, and the
    storable columns (outcome, missed, unknown, manual, gaps, the first score)."""
    rule_set: RuleSet
    evaluation: Evaluation
    holds_title: np.ndarray
    missed: np.ndarray
    unknown: np.ndarray
    manual: np.ndarray
    gaps: np.ndarray
    score_low: np.ndarray
    score_high: np.ndarray

    @property
    def outcome(self) -> np.ndarray:
        return self.evaluation.outcome


def _collect(node, top_status: np.ndarray, out: dict[str, list], ev: Evaluation, near_outcome: np.ndarray,
             gaps: list) -> None:
    r = ev.nodes[node.id]
    if isinstance(node, Leaf):
        open_top = top_status != PASS
        for code, key in ((UNKNOWN, "unknown"), (MANUAL, "manual")):
            hit = open_top & (r.status == code)
            if hit.any():
                out[key].append((node.id, hit))
        if node.op in (">=", ">", "<=", "<") and r.gap is not None:
            hit = np.where(near_outcome & (top_status == FAIL) & (r.status == FAIL) & r.near)[0]
            for i in hit:
                gaps.append((i, reason(node, "fail", float(r.value[i]), float(r.gap[i]))))
        return
    for c in node.children:
        _collect(c, top_status, out, ev, near_outcome, gaps)


def _join(n: int, parts: list[tuple[str, np.ndarray]], sep: str = ",") -> np.ndarray:
    out = np.full(n, "", dtype=object)
    for text, mask in parts:
        out = np.where(mask, np.where(out == "", text, out + sep + text), out)
    return out


def screen_tier(rs: RuleSet, facts: Facts) -> TierResult:
    """``rs`` over every firm of ``facts`` (vectorised), with what each firm misses."""
    ev = evaluate(rs, facts)
    n = facts.n
    flag = TIER_FLAGS.get(rs.tier)
    if flag:
        holds = facts.values[flag] > 0.5
    elif rs.tier == "above_scale":
        holds = facts.history["above_scale"][:, -1] > 0.5
    else:
        holds = np.zeros(n, bool)
    missed_parts, acc, gaps = [], {"unknown": [], "manual": []}, []
    near_outcome = ev.outcome == "near"
    for node in rs.conditions:
        st = ev.nodes[node.id].status
        missed_parts.append((node.id, st == FAIL))
        _collect(node, st, acc, ev, near_outcome, gaps)
    for x in rs.exclusions:
        missed_parts.append((x.id, ev.nodes[x.id].status == PASS))
    gap_text = np.full(n, "", dtype=object)
    for i, text in gaps:
        gap_text[i] = text if not gap_text[i] else gap_text[i] + "；" + text
    if rs.scores:
        lo, hi = ev.scores[rs.scores[0].id]
    else:
        lo = hi = np.full(n, np.nan)
    return TierResult(rs, ev, holds, _join(n, missed_parts), _join(n, acc["unknown"]), _join(n, acc["manual"]),
                      gap_text, lo, hi)


def pools(results: list[TierResult], county: np.ndarray) -> list[dict]:
    """Counts per county and rule set: firms by outcome, title holders, and candidates (eligible
    or near, not yet holding the title)."""
    out = []
    counties = np.unique(county.astype(str)) if county.size else np.array([], dtype=str)
    for tr in results:
        for c in counties:
            m = county == c
            row = {"county_adcode": str(c), "rule_set": tr.rule_set.name, "tier": tr.rule_set.tier,
                   "firms": int(m.sum()), "holders": int((m & tr.holds_title).sum())}
            for o in OUTCOMES:
                row[o] = int((m & (tr.outcome == o)).sum())
            row["candidates"] = int((m & (tr.outcome == "eligible") & ~tr.holds_title).sum())
            out.append(row)
    return out


def tier_label(tier: str, lang: str = "zh") -> str:
    zh, en = TIERS.get(tier, (tier, tier))
    return zh if lang == "zh" else en


def outcome_label(outcome: str, lang: str = "zh") -> str:
    zh, en = OUTCOME_LABELS[outcome]
    return zh if lang == "zh" else en
