"""Support-policy matching (惠企政策直达): every firm against every item in force — outcome, amount
and reasons. Pure: arrays in, arrays out. The store-level job is :mod:`shanhai.jobs.service_policies`;
the items are data (:mod:`shanhai.policy._service`), conditions and amount formulas are evaluated
by the one rule engine (:mod:`shanhai.policy._rules`: :func:`evaluate`, :func:`compute_amounts`).

**Facts** (:func:`build_facts`), per firm for award year *Y*: ``sales`` and ``above_scale`` from
the annual figures (yearly, years before founding = not above scale), ``software_sales`` by year
from ``service_facts``, the other ``service_facts`` columns of *Y*, ``production_years`` = full
months from ``production_start`` to 1 January of *Y* + 1 ÷ 12, ``in_ningbo`` = county adcode
starts with 3302, and the exclusion flags (``credit_blacklist``, ``major_accident``: the
service_facts column OR an enterprise_flags record; no record = no).

**Outcome** of a firm for an item (:func:`match_item`):

* the engine's ``eligible`` → ``eligible`` with the amount — unless the amount is 0 (e.g. no
  threshold crossed for the first time: ``not_eligible``), a fact the amount needs is missing
  (``manual_review``, review ``missing``) or the wording allows several amounts
  (``manual_review``, review ``ambiguous_amount``, candidates [low, high]); an item whose amount
  is not published (kind ``unknown``) stays ``eligible`` with the amount unknown;
* the engine's ``needs_review`` → ``manual_review`` (missing data, a manual test or a
  ``review_when`` flag such as a jurisdiction carve-out): never a pass;
* ``near`` (fails, within the margin: which conditions and how far) and ``not_eligible`` as they are.

**Money**: amounts are computed vectorised in float and rounded to 0.0001 万元 (:func:`calc_money`)
before they are stored as DECIMAL; totals and budgets are summed in Decimal.

**就高不重复** (:func:`calc_stacking`): among a firm's eligible items of one ``stacking_group``
only the highest amount is paid (ties: the item id first in order); the others are marked
``stacked_out``.

**Budget** (:func:`calc_budget_allocation`): when the amounts needed exceed an item's budget,
payment is allocated in a stated order — ``amount_desc`` (largest award first, then USCC; each
firm paid in full or not at all), ``uscc`` (register order) or ``pro_rata`` (every firm gets
amount × budget ÷ need, rounded down to 0.0001 万元) — and never exceeds the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shanhai.policy._rules import (MONEY_Q, OUTCOME_RANK, AmountResult, Evaluation, Facts, compute_amounts, evaluate,
                                  stage_split)

SERVICE_OUTCOMES = ("eligible", "manual_review", "near", "not_eligible")
SERVICE_OUTCOME_LABELS = {"eligible": ("符合", "Eligible"), "manual_review": ("待人工审核", "Manual review"),
                          "near": ("接近", "Near miss"), "not_eligible": ("不符合", "Not eligible")}
# an item's amount formula ([amount] kind, shanhai.policy._rules.AMOUNT_KINDS)
AMOUNT_KIND_LABELS = {"fixed": ("定额", "Fixed sum"), "bands": ("按区间分档", "Bands"), "tiers": ("按条件分档", "Tiers"),
                      "percent": ("按比例", "Percentage"), "per_unit": ("按单位计", "Per unit"),
                      "first_crossing": ("首次跨档奖励", "First crossing"), "unknown": ("金额待定", "Not stated")}
REVIEW_LABELS = {"missing": "缺数据", "manual": "需人工判断", "ambiguous_amount": "金额表述不明确"}
YEARLY = ("sales", "above_scale")
# service_facts columns read as they are (numbers and yes/no)
FACT_COLUMNS = ("equipment_investment", "project_completed", "benchmark_project", "future_factory",
                "smart_factory_prov", "smart_factory_city", "digital_workshop_prov", "digital_workshop_city",
                "software_firm", "first_set_level", "first_set_component", "first_batch_price", "first_set_cluster",
                "delivered_in_window", "related_party_owner", "digital_spend")
FLAG_FACTS = ("credit_blacklist", "major_accident")
Q = MONEY_Q


def _float(values) -> np.ndarray:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if pa.types.is_null(values.type):
            return np.full(len(values), np.nan)
        return pc.cast(values, pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False).astype(float)
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _list(values) -> list:
    return values.to_pylist() if isinstance(values, (pa.Array, pa.ChunkedArray)) else list(values)


def calc_production_years(starts: list, year: int) -> np.ndarray:
    """Full months from each production start to 1 January of ``year`` + 1, ÷ 12 (NaN for None).
    2019-09-01 → 2.33 years at the end of 2021 (G1)."""
    out = np.full(len(starts), np.nan)
    for i, d in enumerate(starts):
        if d is None:
            continue
        months = (year + 1 - d.year) * 12 - (d.month - 1) - (1 if d.day > 1 else 0)
        out[i] = max(months, 0) / 12
    return out


def build_facts(firms: dict, years: dict, software: dict, year: int) -> Facts:
    """The facts of every firm (module docstring). ``firms``: one row per firm with ``uscc``,
    ``county_adcode``, ``founded_on``, ``production_start``, :data:`FACT_COLUMNS` and
    :data:`FLAG_FACTS`; ``years``: ``uscc``, ``year``, ``sales``, ``above_scale``; ``software``:
    ``uscc``, ``year``, ``software_sales``. Firms come out sorted by USCC (row-order invariant)."""
    keys = np.array(_list(firms["uscc"]), dtype=object)
    order = np.argsort(keys.astype(str), kind="stable")
    keys = keys[order]
    n = len(keys)
    values = {c: (_float(firms[c])[order] if n else np.zeros(0)) for c in FACT_COLUMNS + FLAG_FACTS}
    for c in FLAG_FACTS:                                        # no record = no
        values[c] = np.nan_to_num(values[c], nan=0.0)
    starts = _list(firms["production_start"])
    values["production_years"] = calc_production_years([starts[i] for i in order], year)
    counties = _list(firms["county_adcode"])
    values["in_ningbo"] = np.array([1.0 if str(counties[i] or "").startswith("3302") else 0.0 for i in order])
    span = list(range(year - 9, year + 1))
    k = len(span)
    row_of = {u: i for i, u in enumerate(keys)}
    hist: dict[str, np.ndarray] = {}
    for src, names in ((years, YEARLY), (software, ("software_sales",))):
        yrs = _float(src["year"]).astype(int) if len(src["year"]) else np.zeros(0, int)
        idx = np.array([row_of.get(u, -1) for u in _list(src["uscc"])], dtype=int)
        ok = (idx >= 0) & (yrs <= year) & (yrs >= span[0])
        for name in names:
            m = np.full((n, k), np.nan)
            v = _float(src[name])
            m[idx[ok], yrs[ok] - span[0]] = v[ok]
            hist[name] = m
    founded_all = _list(firms["founded_on"])
    founded_year = np.array([np.nan if founded_all[i] is None else founded_all[i].year for i in order], dtype=float)
    before = np.array(span)[None, :] < founded_year[:, None]
    hist["above_scale"] = np.where(np.isnan(hist["above_scale"]) & before, 0.0, hist["above_scale"])
    hist["software_sales"] = np.where(np.isnan(hist["software_sales"]) & before, 0.0, hist["software_sales"])
    return Facts(keys, values, hist)


_SV_NAMES = np.array(SERVICE_OUTCOMES, dtype=object)
_SV = {o: i for i, o in enumerate(SERVICE_OUTCOMES)}
_RV_NAMES = np.array(["", "missing", "manual", "ambiguous_amount"], dtype=object)


@dataclass
class ItemMatch:
    """One item over every firm of a :class:`Facts`."""
    item: object                 # ServiceItem
    evaluation: Evaluation
    amounts: AmountResult
    code: np.ndarray             # int8 index into SERVICE_OUTCOMES
    review_code: np.ndarray      # int8 index into '', missing, manual, ambiguous_amount
    amount: np.ndarray           # 万元, NaN unknown (0 for not eligible / near)
    in_region: np.ndarray        # bool: the firm lies in the item's issuing region
    position: np.ndarray         # per firm: its row in ``evaluation``/``amounts``/``facts`` (-1 outside the region)
    facts: Facts                 # the firms of the region only (what the engine evaluated)

    def local(self, i: int) -> int:
        """Firm ``i``'s row in the evaluation (a ShanhaiError-free -1 when it lies outside the region)."""
        return int(self.position[i])

    @property
    def outcome(self) -> np.ndarray:
        return _SV_NAMES[self.code]

    @property
    def review(self) -> np.ndarray:
        return _RV_NAMES[self.review_code]

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.code[self.in_region], minlength=len(SERVICE_OUTCOMES))
        return {o: int(c[i]) for i, o in enumerate(SERVICE_OUTCOMES)}

    def need(self) -> Decimal:
        """Budget the eligible firms need (amounts known), in 万元."""
        ok = (self.code == _SV["eligible"]) & self.in_region & ~np.isnan(self.amount)
        return sum((calc_money(x) for x in self.amount[ok]), Decimal("0"))


def county_codes(counties) -> np.ndarray:
    """County adcodes as integers (0 when missing), for :func:`in_region`."""
    text = np.asarray(counties, dtype="U6")                    # the first six characters, vectorised
    try:
        return np.where(text == "", "0", text).astype(np.int64)
    except ValueError:                                         # something that is not an adcode
        return np.array([int(c) if c.isdigit() else 0 for c in text.tolist()], dtype=np.int64)


def in_region(adcode: str, counties) -> np.ndarray:
    """Whether each county (adcodes, or their :func:`county_codes`) lies in the issuing region
    ``adcode`` (province, city or county)."""
    codes = counties if getattr(counties, "dtype", None) == np.int64 else county_codes(counties)
    a = int(adcode)
    if adcode == "330000":
        return np.ones(len(codes), bool)
    if adcode.endswith("00"):
        return codes // 100 == a // 100
    return codes == a


def _region_facts(facts: Facts, inr: np.ndarray, fields: set[str]) -> tuple[np.ndarray, Facts]:
    if inr.all():
        return np.arange(facts.n), facts
    idx = np.nonzero(inr)[0]
    return idx, Facts(facts.keys[idx], {k: v[idx] for k, v in facts.values.items() if k in fields},
                      {k: h[idx] for k, h in facts.history.items() if k in fields})


def match_items(items, facts: Facts, counties) -> list[ItemMatch]:
    """:func:`match_item` for many items, the firms of each issuing region taken once."""
    codes = counties if getattr(counties, "dtype", None) == np.int64 else county_codes(counties)
    regions: dict[str, tuple] = {}
    for it in items:
        if it.adcode not in regions:
            inr = in_region(it.adcode, codes)
            need = set().union(*(x.fields() for x in items if x.adcode == it.adcode))
            regions[it.adcode] = (inr, *_region_facts(facts, inr, need))
    return [match_item(it, facts, codes, region=regions[it.adcode]) for it in items]


def match_item(item, facts: Facts, counties, *, region: tuple | None = None) -> ItemMatch:
    """Every firm of ``facts`` against ``item`` (module docstring). ``counties``: the firms' county
    adcodes (or :func:`county_codes` of them, computed once for many items). Only the firms inside
    the item's issuing region are evaluated; the others are not eligible (outside the region).
    ``region``: (in_region, index, facts of the region) when the caller has taken them already."""
    n = facts.n
    if region is None:
        inr = in_region(item.adcode, counties)
        idx, sub = _region_facts(facts, inr, item.fields())
    else:
        inr, idx, sub = region
    position = np.full(n, -1, np.int64)
    position[idx] = np.arange(idx.size)
    ev = evaluate(item.rule, sub)
    am = compute_amounts(item.amount, sub)
    eng = ev.code
    code = np.full(sub.n, _SV["not_eligible"], np.int8)
    review = np.zeros(sub.n, np.int8)
    el = eng == OUTCOME_RANK["eligible"]
    amt = am.value
    code[el] = _SV["eligible"]
    if item.amount.kind != "unknown":
        nan = np.isnan(amt)
        miss = el & nan & ~am.ambiguous
        code[miss], review[miss] = _SV["manual_review"], 1
        amb = el & am.ambiguous
        code[amb], review[amb] = _SV["manual_review"], 3
        zero = el & ~am.ambiguous & ~nan & (amt <= 0)
        code[zero] = _SV["not_eligible"]
    rv = eng == OUTCOME_RANK["needs_review"]
    code[rv] = _SV["manual_review"]
    review[rv] = np.where(ev.review[rv] == "missing", 1, 2)
    code[eng == OUTCOME_RANK["near"]] = _SV["near"]
    amount = np.where(code == _SV["eligible"], amt, np.where(code == _SV["manual_review"], np.nan, 0.0))
    if sub is not facts:
        full_code = np.full(n, _SV["not_eligible"], np.int8)
        full_review = np.zeros(n, np.int8)
        full_amount = np.zeros(n)
        full_code[idx], full_review[idx], full_amount[idx] = code, review, amount
        code, review, amount = full_code, full_review, full_amount
    return ItemMatch(item, ev, am, code, review, amount, inr, position, sub)


def calc_money(x) -> Decimal:
    """A float amount in 万元 as Decimal rounded to 0.0001 (half up)."""
    return Decimal(repr(float(x))).quantize(Q, rounding=ROUND_HALF_UP)


def calc_stacking(groups: list[str | None], ids: list[str], amounts: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """就高不重复: ``amounts``/``eligible`` are items × firms; ``groups``/``ids`` per item. Returns
    items × firms ``stacked_out``: eligible, but another eligible item of the same group pays more
    (or as much and comes first by id)."""
    out = np.zeros(amounts.shape, bool)
    by_group: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        if g:
            by_group.setdefault(g, []).append(i)
    for rows in by_group.values():
        if len(rows) < 2:
            continue
        rows = sorted(rows, key=lambda r: ids[r])
        a = np.where(eligible[rows], np.nan_to_num(amounts[rows], nan=0.0), -np.inf)   # k × firms
        win = np.argmax(a, axis=0)                   # first maximum = first by id on ties
        for j, r in enumerate(rows):
            out[r] = eligible[r] & (win != j)
    return out


def calc_budget_allocation(amounts: list[Decimal], keys: list[str], budget: Decimal | None,
                           order: str = "amount_desc") -> list[Decimal]:
    """What each firm gets when ``amounts`` (万元) compete for ``budget`` (module docstring). The
    result never sums above the budget; without a budget everyone gets the full amount."""
    if budget is None or sum(amounts, Decimal("0")) <= budget:
        return list(amounts)
    if order == "pro_rata":
        need = sum(amounts, Decimal("0"))
        return [(a * budget / need).quantize(Q, rounding=ROUND_DOWN) for a in amounts]
    if order not in ("amount_desc", "uscc"):
        raise ValueError(f"unknown allocation order {order!r}: amount_desc, uscc or pro_rata")
    idx = sorted(range(len(amounts)), key=(lambda i: (-amounts[i], keys[i])) if order == "amount_desc"
                 else (lambda i: keys[i]))
    left = budget
    out = [Decimal("0")] * len(amounts)
    for i in idx:
        if amounts[i] <= left:
            out[i] = amounts[i]
            left -= amounts[i]
    return out


def calc_stages(amount: Decimal, stages: tuple) -> list[tuple[str, Decimal]]:
    """A staged award split by its shares; the last stage takes the rounding rest (sum = amount).
    The one split used by the explanation and the ledger (:func:`shanhai.policy._rules.stage_split`)."""
    return stage_split(amount, stages)
