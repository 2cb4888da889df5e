"""山海协作: the mountain county profile, the 26 counties side by side, the enclaves, and the
progress of the 产业链山海协作行动计划 (issue 7, parts 1 and 6).

* :func:`profile` — one of the 26 mountain counties: its category (跨越发展类 / 生态发展类, **not
  verified**: ``regions.mountain_category_verified``), declared lead industries and the top
  suggestions of the opportunity analysis (``jobs.opportunities``, cached there), its above-scale
  per-mu figures against the category targets (tax per mu 25 / 20 万元, labour productivity
  15 万元/人: ``policy/coop/action_plan.toml``), above-scale firms this year and last and the firms
  newly above scale, its value added against the plan's thresholds, pairing partners, enclaves
  where it is host or owner with their returns, projects landing there by stage, and its chains'
  statuses (``jobs.chains.panorama_grid``).
* :func:`overview` — the 26 counties in one table with the headline figures.
* :func:`action_plan_progress` — each target of 2023 and 2025 with its current value, the gap and
  a light (green: reached or at/above calendar progress 序时进度; amber: up to the plan's
  ``lights.amber_points`` behind; red: further behind, or the target year passed unmet).
* :func:`enclaves` — the enclaves with their returns and the progress to the 30-enclave target.

Figures. Per-mu figures are above-scale (规上, the statistical scope the targets are set in) sums
over sums from ``enterprise_years``, as ``mujun_rollups`` computes them: tax per mu = Σ tax ÷ Σ
land used over the firms with land (own + leased − leased out > 0), value added per mu likewise,
labour productivity = Σ value added ÷ Σ headcount over the firms with a headcount. They are read
from the facts, not from a per-mu run, so a county is shown for every year with data. A firm is
*newly above scale* in a year when it is above scale then and was not in the year before (absent
or below; ``analysis.firm_counts``, shared with the targets board); the plan's counts start in
``counted_from`` (2021), and a store whose data begins later counts from its second year
(``partial``). Value added is that of above-scale firms.
Chain cooperation projects are projects with ``is_cooperation`` and a ``chain_id`` landing in the
26, signed from ``counted_from`` on (undated ones are not counted and are reported). Provincial
专精特新 firms are firms of the 26 with an ``enterprise_flags`` row ``specialised`` valid at some
time in the year. An enclave counts toward the 30 when its host or owner is one of the 26 (or a
city all of whose counties are: 衢州, 丽水) and it was established by the year's end (or its date
is unknown).

Projects and enclaves: the store does not link projects to enclaves (an enclave has no zone, and
a host county lands many projects outside it), so no project is said to be inside an enclave.

Scope. The profile of a county outside the caller's region is refused (:class:`OutOfScopeError`,
403), like every per-county screen. The overview lists all 26 for every caller — the category,
partners, enclave counts and the counts of firms are public aggregates — but for a county outside
the caller's region it leaves out projects and suppresses the money figures (value added, tax and
the per-mu figures) when fewer than ``PUBLIC_MIN_FIRMS`` above-scale firms stand behind them, so
that no firm's own figures can be read off a county total; no firm is ever named. The action
plan's progress is a province-wide total over the 26 (counts only). Enclaves are listed when
packaged (public reports) or when the caller's region covers their host or owner; the progress to
30 counts every one.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from shanhai import reference
from shanhai.analysis.firm_counts import above_scale_entries_sql
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._coop_targets import CoopTargets, coop_targets
from shanhai.store import Store
from shanhai.store.scope import Scope
from shanhai.store.sql import literal

PUBLIC_MIN_FIRMS = 3          # below this many above-scale firms, money figures of another county are hidden
TOP_SUGGESTIONS = 5
CATEGORY_NOTE = ("山区县分类（跨越发展类 / 生态发展类）未经核实：未找到公开来源，分类目标仅供参考。",
                 "The category split (跨越发展类 / 生态发展类) is not verified: no public source was found; "
                 "the category targets are indicative.")
ENCLAVE_KINDS = {"industrial": ("产业飞地", "industrial"), "innovation": ("科创飞地", "innovation"),
                 "village_income": ("消薄飞地", "village income")}
PROJECT_STAGES = {"signed": ("签约", "signed"), "land_supplied": ("供地", "land supplied"),
                  "started": ("开工", "started"), "completed": ("竣工", "completed"),
                  "producing": ("投产", "producing"), "above_scale": ("上规", "above scale"),
                  "full_output": ("达产", "full output")}
LIGHTS = {"green": ("绿灯", "green"), "amber": ("黄灯", "amber"), "red": ("红灯", "red"), "grey": ("无数据", "no data")}
STATUS_ORDER = ("strong", "present", "weak", "missing", "outside")
PER_MU_FIELDS = ("value_added", "tax_paid", "land_used_mu", "tax_per_mu", "value_added_per_mu",
                 "labour_productivity", "value_added_prev", "tax_per_mu_prev", "value_added_per_mu_prev")


# ---- small helpers ---------------------------------------------------------------------------

def _ratio(a, b):
    return None if a is None or not b else float(a) / float(b)


def _float(v):
    return None if v is None else float(v)


def _years(store: Store) -> list[int]:
    return [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]


def data_year(store: Store, year: int | None) -> tuple[int, list[int]]:
    years = _years(store)
    if not years:
        raise ShanhaiError("the database holds no enterprise data yet: run `shanhai synth` or `shanhai import`")
    if year is None:
        year = years[-1]
    if year not in years:
        raise ShanhaiError(f"no enterprise data for {year}: the database has {years[0]}–{years[-1]}")
    return int(year), years


def mountain_counties(store: Store) -> list[dict]:
    """The 26 mountain counties (the 2021 list, ``regions.mountain26``) with their city and category."""
    rows = store.con.execute("""
        SELECT r.adcode, r.name, r.city_adcode, c.name, r.mountain_category, r.mountain_category_verified,
               r.mountain_island_2023, r.mountain_island_2025
        FROM regions r LEFT JOIN regions c ON c.adcode = r.city_adcode
        WHERE r.level = 'county' AND r.mountain26 ORDER BY r.adcode""").fetchall()
    return [_county_dict(*r) for r in rows]


def _county_dict(adcode, name, city_adcode, city_name, category, verified, island_2023, island_2025) -> dict:
    plan = coop_targets()
    cat = plan.category_target(category)
    label = cat.label if cat else None
    return {"adcode": adcode, "name": name, "city_adcode": city_adcode, "city_name": city_name,
            "category": category, "category_verified": bool(verified),
            "category_label": None if label is None else (label if verified else f"{label}（待核实）"),
            "category_note": None if verified else CATEGORY_NOTE[0],
            "category_note_en": None if verified else CATEGORY_NOTE[1],
            "mountain_island_2023": bool(island_2023), "mountain_island_2025": bool(island_2025)}


def _mountain_set(store: Store) -> set[str]:
    return {r[0] for r in store.con.execute(
        "SELECT adcode FROM regions WHERE level = 'county' AND mountain26").fetchall()}


def _mountain_sides(store: Store) -> set[str]:
    """Region codes that stand for mountain counties as an enclave's host or owner: the 26, and a
    city all of whose counties are among them (衢州, 丽水)."""
    cities = {r[0] for r in store.con.execute("""
        SELECT city_adcode FROM regions WHERE level = 'county' GROUP BY 1 HAVING bool_and(mountain26)""").fetchall()}
    return _mountain_set(store) | cities


# ---- what the figures read: cached per data fingerprint --------------------------------------

def data_fingerprint(store: Store, years: list[int]) -> str:
    """The facts the figures read (``jobs.mujun.inputs_fingerprint`` of every year: firms, their
    years and flags, the last import change)."""
    from shanhai.jobs.mujun import inputs_fingerprint

    return hashlib.sha256(";".join(inputs_fingerprint(store, y) for y in years).encode()).hexdigest()[:32]


def _figures(store: Store, years: list[int]) -> dict:
    """Per mountain county and year: above-scale firms, value added, tax, land, headcount sums,
    new entries above scale, specialised firms. Every year of the store, one pass; cached."""
    from shanhai.jobs.dashboard import _cached, _db, _forget

    fingerprint = data_fingerprint(store, years)
    plan = coop_targets()
    start = max(plan.counted_from, years[0] + 1)

    def compute() -> dict:
        sums = store.con.execute("""
            WITH f AS (
                SELECT e.county_adcode AS adcode, y.year, y.above_scale, CAST(y.value_added AS DOUBLE) AS va,
                       CAST(y.tax_paid AS DOUBLE) AS tax, y.headcount AS heads,
                       CAST(coalesce(y.land_own_mu, 0) + coalesce(y.land_leased_mu, 0)
                            - coalesce(y.land_leased_out_mu, 0) AS DOUBLE) AS land
                FROM enterprise_years y JOIN enterprises e ON e.uscc = y.uscc
                WHERE e.county_adcode IN (SELECT adcode FROM regions WHERE level = 'county' AND mountain26))
            SELECT adcode, year, count(*) AS firms,
                   count(*) FILTER (WHERE above_scale) AS above_scale,
                   sum(va) FILTER (WHERE above_scale) AS value_added,
                   sum(tax) FILTER (WHERE above_scale) AS tax_paid,
                   sum(land) FILTER (WHERE above_scale AND land > 0) AS land_used_mu,
                   sum(tax) FILTER (WHERE above_scale AND land > 0) AS tax_l,
                   sum(va) FILTER (WHERE above_scale AND land > 0) AS va_l,
                   sum(va) FILTER (WHERE above_scale AND heads > 0) AS va_h,
                   sum(heads) FILTER (WHERE above_scale AND heads > 0) AS heads
            FROM f GROUP BY adcode, year""").fetchall()
        cols = ("firms", "above_scale", "value_added", "tax_paid", "land_used_mu", "tax_l", "va_l", "va_h", "heads")
        by: dict[str, dict[int, dict]] = defaultdict(dict)
        for adcode, year, *values in sums:
            by[adcode][year] = dict(zip(cols, values))
        in_26 = "e.county_adcode IN (SELECT adcode FROM regions WHERE level = 'county' AND mountain26)"
        entries = store.con.execute(f"""
            WITH entry AS ({above_scale_entries_sql(years[0], in_26)})
            SELECT adcode, year, count(*) AS entries, 0 AS firsts FROM entry GROUP BY 1, 2
            UNION ALL
            SELECT adcode, first, 0, count(*) FROM (
                SELECT uscc, adcode, min(year) AS first FROM entry WHERE year >= {int(start)} GROUP BY 1, 2)
            GROUP BY 1, 2""").fetchall()
        new: dict[str, dict[int, int]] = defaultdict(dict)
        first: dict[str, dict[int, int]] = defaultdict(dict)
        for adcode, year, n_entries, n_first in entries:
            if n_entries:
                new[adcode][year] = new[adcode].get(year, 0) + int(n_entries)
            if n_first:
                first[adcode][year] = first[adcode].get(year, 0) + int(n_first)
        specialised: dict[str, dict[int, int]] = defaultdict(dict)
        for year in years:
            for adcode, n in store.con.execute(f"""
                    SELECT e.county_adcode, count(DISTINCT f.uscc) FROM enterprise_flags f
                    JOIN enterprises e ON e.uscc = f.uscc
                    WHERE f.flag = 'specialised' AND f.valid_from <= DATE '{year}-12-31'
                      AND (f.valid_to IS NULL OR f.valid_to >= DATE '{year}-01-01')
                      AND e.county_adcode IN (SELECT adcode FROM regions WHERE level = 'county' AND mountain26)
                    GROUP BY 1""").fetchall():
                specialised[adcode][year] = int(n)
        return {"fingerprint": fingerprint, "years": list(years), "start": start, "sums": dict(by),
                "new": dict(new), "first": dict(first), "specialised": dict(specialised)}

    key = (_db(store), "coop_figures", tuple(years), plan.counted_from)
    got = _cached(key, compute)
    if got["fingerprint"] != fingerprint:
        _forget(key)
        got = _cached(key, compute)
    return got


def county_figures(store: Store, adcode: str, year: int, years: list[int], data: dict | None = None) -> dict:
    """A mountain county's above-scale figures of ``year`` (and of the year before)."""
    data = data or _figures(store, years)
    now = data["sums"].get(adcode, {}).get(year, {})
    before = data["sums"].get(adcode, {}).get(year - 1)
    first = data["first"].get(adcode, {})
    new = data["new"].get(adcode, {})
    out = {
        "year": year, "firms": int(now.get("firms") or 0), "above_scale": int(now.get("above_scale") or 0),
        "above_scale_prev": None if before is None else int(before.get("above_scale") or 0),
        "new_above_scale": None if year == years[0] else new.get(year, 0),
        "new_above_scale_since": sum(n for y, n in first.items() if y <= year) if year >= data["start"] else None,
        "new_since_year": data["start"],
        "specialised": data["specialised"].get(adcode, {}).get(year, 0),
        "value_added": _float(now.get("value_added")), "tax_paid": _float(now.get("tax_paid")),
        "land_used_mu": _float(now.get("land_used_mu")),
        "tax_per_mu": _ratio(now.get("tax_l"), now.get("land_used_mu")),
        "value_added_per_mu": _ratio(now.get("va_l"), now.get("land_used_mu")),
        "labour_productivity": _ratio(now.get("va_h"), now.get("heads")),
        "value_added_prev": None if before is None else _float(before.get("value_added")),
        "tax_per_mu_prev": None if before is None else _ratio(before.get("tax_l"), before.get("land_used_mu")),
        "value_added_per_mu_prev": None if before is None else _ratio(before.get("va_l"), before.get("land_used_mu")),
    }
    return out


# ---- targets of one county -------------------------------------------------------------------

def _gap(actual, target) -> dict:
    return {"actual": actual, "target": target,
            "gap": None if actual is None or target is None else target - actual,
            "achieved": None if actual is None or not target else actual / target,
            "met": None if actual is None or target is None else actual >= target}


def county_targets(county: dict, figures: dict, plan: CoopTargets | None = None) -> list[dict]:
    """The county's per-mu figures against the category targets (2025), and its above-scale value
    added against the plan's thresholds (5 / 80 亿 by 2023, 8 / 100 亿 by 2025)."""
    plan = plan or coop_targets()
    cat = plan.category_target(county["category"])
    unverified = not county["category_verified"]
    rows = [{"id": "tax_per_mu", "indicator": "tax_per_mu", "year": plan.per_mu.year, "unit": "万元/亩",
             "label": (cat.label_target if cat else "规上工业亩均税收（未定分类，无目标）"),
             "label_en": "Above-scale tax per mu" + (f" ({county['category']})" if cat else " (no category: no target)"),
             "category_target": True, "unverified": unverified and cat is not None,
             **_gap(figures["tax_per_mu"], cat.tax_per_mu if cat else None)},
            {"id": "labour_productivity", "indicator": "labour_productivity", "year": plan.per_mu.year,
             "unit": "万元/人", "label": plan.per_mu.label_productivity, "label_en": "Labour productivity",
             "category_target": False, "unverified": False,
             **_gap(figures["labour_productivity"], plan.per_mu.labour_productivity)}]
    for t in plan.targets:
        if t.indicator == "counties_va_over":
            rows.append({"id": t.id, "indicator": "value_added", "year": t.year, "unit": "万元",
                         "label": f"规上工业增加值超 {t.threshold / 10000:g} 亿元",
                         "label_en": f"Above-scale value added over {t.threshold / 10000:g} 亿元",
                         "category_target": False, "unverified": False, "threshold": t.threshold,
                         **_gap(figures["value_added"], t.threshold)})
    return rows


# ---- pairings, enclaves, projects, chains of one county ---------------------------------------

def partners(store: Store, adcode: str) -> list[dict]:
    rows = store.con.execute(f"""
        SELECT p.developed_adcode, p.developed_name, c.name AS developed_city, p.scope, p.paired_since,
               p.evidence_date, p.confidence, p.source_url
        FROM pairings p LEFT JOIN regions r ON r.adcode = p.developed_adcode
             LEFT JOIN regions c ON c.adcode = r.city_adcode
        WHERE p.mountain_adcode = {literal(adcode)}
        ORDER BY p.scope, p.paired_since NULLS LAST, p.developed_name""").fetchall()
    cols = ("developed_adcode", "developed_name", "developed_city", "scope", "paired_since", "evidence_date",
            "confidence", "source_url")
    return [dict(zip(cols, r)) for r in rows]


def _packaged_enclaves() -> dict[str, reference.Enclave]:
    return {e.enclave_id: e for e in reference.enclaves()}


def _enclave_rows(store: Store, where: str = "true") -> list[dict]:
    rows = store.con.execute(f"""
        SELECT e.enclave_id, e.name, e.kind, e.host_adcode, h.name, h.level, e.owner_adcode, o.name, o.level,
               e.established_on, CAST(e.area_mu AS DOUBLE), e.dataset_id
        FROM enclaves e LEFT JOIN regions h ON h.adcode = e.host_adcode LEFT JOIN regions o ON o.adcode = e.owner_adcode
        WHERE {where} ORDER BY e.established_on NULLS LAST, e.enclave_id""").fetchall()
    returns: dict[str, list[dict]] = defaultdict(list)
    for eid, year, amount in store.con.execute(
            "SELECT enclave_id, year, CAST(amount AS DOUBLE) FROM enclave_returns ORDER BY enclave_id, year").fetchall():
        returns[eid].append({"year": year, "amount": amount})
    packaged = _packaged_enclaves()
    out = []
    for (eid, name, kind, host, host_name, host_level, owner, owner_name, owner_level, established, area,
         dataset) in rows:
        ref = packaged.get(eid) if dataset is None else None
        label = ENCLAVE_KINDS.get(kind, (kind, kind))
        out.append({
            "enclave_id": eid, "name": name, "kind": kind, "kind_label": label[0], "kind_label_en": label[1],
            "host_adcode": host, "host_name": (ref.host_name if ref else None) or host_name or host,
            "host_level": host_level, "owner_adcode": owner, "owner_name": (ref.owner_name if ref else None)
            or owner_name or owner, "owner_level": owner_level,
            "established_on": established.isoformat() if established else None,
            "established": (ref.established if ref else (established.isoformat() if established else "")) or None,
            "area_mu": area, "packaged": dataset is None, "dataset_id": dataset,
            "returns": returns.get(eid, []), "returns_total": sum(r["amount"] or 0 for r in returns.get(eid, [])),
            "investment_wan": ref.investment_wan if ref else None, "return_terms": ref.return_terms if ref else None,
            "confidence": ref.confidence if ref else None, "source_tag": ref.source_tag if ref else None,
            "source_url": ref.source_url if ref else None, "note": ref.note if ref else None,
        })
    return out


def county_enclaves(store: Store, adcode: str, city_adcode: str | None) -> list[dict]:
    """Enclaves where the county is host or owner, and its city's own (marked ``via_city``)."""
    codes = [adcode] + ([city_adcode] if city_adcode else [])
    inlist = ", ".join(literal(c) for c in codes)
    rows = _enclave_rows(store, f"e.host_adcode IN ({inlist}) OR e.owner_adcode IN ({inlist})")
    for r in rows:
        r["role"] = "host" if adcode == r["host_adcode"] else "owner" if adcode == r["owner_adcode"] else \
            ("host" if r["host_adcode"] == city_adcode else "owner")
        r["via_city"] = adcode not in (r["host_adcode"], r["owner_adcode"])
    return rows


def county_projects(store: Store, adcode: str) -> dict:
    """Projects landing in the county: counts and planned investment by stage (no investor named)."""
    rows = store.con.execute(f"""
        SELECT stage, count(*), count(*) FILTER (WHERE is_cooperation),
               count(*) FILTER (WHERE is_cooperation AND chain_id IS NOT NULL),
               CAST(sum(planned_investment) AS DOUBLE)
        FROM projects WHERE landing_adcode = {literal(adcode)} GROUP BY 1""").fetchall()
    by_stage = {s: {"stage": s, "label": PROJECT_STAGES[s][0], "label_en": PROJECT_STAGES[s][1], "projects": 0,
                    "cooperation": 0, "chain_cooperation": 0, "planned_investment": 0.0} for s in PROJECT_STAGES}
    for stage, n, coop, chain, money in rows:
        row = by_stage.setdefault(stage, {"stage": stage, "label": stage, "label_en": stage, "projects": 0,
                                          "cooperation": 0, "chain_cooperation": 0, "planned_investment": 0.0})
        row.update(projects=int(n), cooperation=int(coop), chain_cooperation=int(chain),
                   planned_investment=money or 0.0)
    stages = list(by_stage.values())
    first_elsewhere = store.con.execute(f"""
        SELECT count(*) FROM projects WHERE landing_adcode = {literal(adcode)}
          AND first_contact_adcode IS NOT NULL AND first_contact_adcode <> landing_adcode""").fetchone()[0]
    return {"total": sum(s["projects"] for s in stages), "cooperation": sum(s["cooperation"] for s in stages),
            "chain_cooperation": sum(s["chain_cooperation"] for s in stages),
            "planned_investment": sum(s["planned_investment"] for s in stages),
            "first_contact_elsewhere": int(first_elsewhere), "by_stage": stages}


def county_chains(store: Store, county_scope: Scope, year: int) -> dict:
    """The county's row of ``jobs.chains.panorama_grid``: per chain the segments by status."""
    from shanhai.jobs import chains as jc

    try:
        grid = jc.panorama_grid(store, county_scope, year=year)
        names = {c.chain_id: c for c in jc.chain_list(store)}
        basis = jc.basis(store, year).as_dict()
    except ShanhaiError as exc:
        return {"chains": [], "basis": None, "error": str(exc)}
    out = []
    for g in grid:
        counts = {s: 0 for s in STATUS_ORDER}
        for status in g["statuses"].values():
            counts[status] = counts.get(status, 0) + 1
        c = names.get(g["chain_id"])
        out.append({"chain_id": g["chain_id"], "name": c.name if c else g["chain_id"],
                    "name_en": c.name_en if c else None, "firms": g["firms"], "value_added": g["value_added"],
                    "segments": len(g["statuses"]), "counts": counts, "statuses": g["statuses"]})
    out.sort(key=lambda x: (-x["counts"]["strong"], -x["counts"]["present"], x["chain_id"]))
    return {"chains": out, "basis": basis, "error": None}


def county_suggestions(store: Store, county_scope: Scope, adcode: str, year: int, top: int) -> dict:
    """Declared lead industries and the top suggestions of ``jobs.opportunities``."""
    from shanhai.jobs.opportunities import opportunities

    try:
        o = opportunities(store, adcode, scope=county_scope, year=year, top=top)
    except ShanhaiError as exc:
        return {"error": str(exc), "develop": [], "strengthen": [], "leads": [], "eci": None, "eci_rank": None,
                "counties": None}
    keep = ("code", "name", "rank", "score", "density", "cog", "pci", "rca", "lead", "reason_zh", "reason_en")
    return {"error": None, "eci": o.eci, "eci_rank": o.eci_rank, "counties": o.counties, "measure": o.measure,
            "develop": [{k: r[k] for k in keep} for r in o.develop],
            "strengthen": [{k: r[k] for k in keep} for r in o.strengthen],
            "leads": o.leads, "fingerprint": o.provenance.get("fingerprint")}


def _leads(store: Store, adcode: str) -> list[dict]:
    return [{"position": p, "name": n, "codes": [c.strip() for c in codes.split(";") if c.strip()]}
            for p, n, codes in store.con.execute(
                f"SELECT position, name, codes FROM lead_industries WHERE adcode = {literal(adcode)} "
                "ORDER BY position").fetchall()]


# ---- the profile -----------------------------------------------------------------------------

def _mountain_county(store: Store, scope: Scope, adcode: str) -> tuple[Scope, dict]:
    asked = scope.narrow(store, adcode)               # 404 unknown, 403 outside the caller's region
    row = store.con.execute(f"""
        SELECT r.adcode, r.name, r.city_adcode, c.name, r.mountain_category, r.mountain_category_verified,
               r.mountain_island_2023, r.mountain_island_2025, r.mountain26, r.level
        FROM regions r LEFT JOIN regions c ON c.adcode = r.city_adcode
        WHERE r.adcode = {literal(asked.adcode)}""").fetchone()
    if row is None or row[9] != "county" or not row[8]:
        raise NotFoundError(f"{asked.adcode} {asked.name} 不是山区26县之一 (not one of the 26 mountain counties: "
                            "a profile is drawn for a mountain county)")
    return asked, _county_dict(*row[:8])


def profile(store: Store, scope: Scope, adcode: str, year: int | None = None, *,
            top: int = TOP_SUGGESTIONS) -> dict:
    """One mountain county inside the caller's scope (module docstring)."""
    county_scope, county = _mountain_county(store, scope, adcode)
    y, years = data_year(store, year)
    plan = coop_targets()
    figures = county_figures(store, county["adcode"], y, years)
    suggestions = county_suggestions(store, county_scope, county["adcode"], y, top)
    chains = county_chains(store, county_scope, y)
    return {
        "county": county,
        "year": y,
        "figures": figures,
        "targets": county_targets(county, figures, plan),
        "leads": _leads(store, county["adcode"]),
        "suggestions": suggestions,
        "partners": partners(store, county["adcode"]),
        "enclaves": county_enclaves(store, county["adcode"], county["city_adcode"]),
        "projects": county_projects(store, county["adcode"]),
        "chains": chains["chains"],
        "chains_basis": chains["basis"],
        "chains_error": chains["error"],
        "basis": basis(store, y, years),
    }


def basis(store: Store, year: int, years: list[int]) -> dict:
    plan = coop_targets()
    return {"year": year, "years": years, "data_fingerprint": data_fingerprint(store, years),
            "plan": plan.name, "plan_version": plan.version, "plan_source": plan.source,
            "plan_fingerprint": plan.fingerprint()[:12], "counted_from": plan.counted_from,
            "method": ("规上工业企业之和比（Σ税收 ÷ Σ用地，Σ增加值 ÷ Σ从业人员），取自企业年度数据；"
                       "新上规企业 = 当年规上且上年非规上（或无数据）的企业"),
            "method_en": ("above-scale sums over sums (Σ tax ÷ Σ land used, Σ value added ÷ Σ headcount) from "
                          "enterprise_years; newly above scale = above scale in the year and not in the year before")}


# ---- the 26 counties -------------------------------------------------------------------------

def overview(store: Store, scope: Scope, year: int | None = None) -> dict:
    """The 26 mountain counties with their headline figures (module docstring: what a caller sees
    of a county outside its region)."""
    y, years = data_year(store, year)
    plan = coop_targets()
    pair_counts = dict(store.con.execute("SELECT mountain_adcode, count(*) FROM pairings GROUP BY 1").fetchall())
    enclave_rows = _enclave_rows(store)
    data = _figures(store, years)
    rows = []
    for county in mountain_counties(store):
        code = county["adcode"]
        fig = county_figures(store, code, y, years, data)
        in_scope = scope.covers(code)
        suppressed = not in_scope and fig["above_scale"] < PUBLIC_MIN_FIRMS
        targets = county_targets(county, fig, plan)
        row = {**county, **fig, "in_scope": in_scope, "suppressed": suppressed,
               "partners": int(pair_counts.get(code, 0)),
               "enclaves": sum(1 for e in enclave_rows if code in (e["host_adcode"], e["owner_adcode"])),
               "projects": county_projects(store, code)["total"] if in_scope else None,
               "targets": {t["id"]: {k: t[k] for k in ("target", "met", "achieved", "gap", "unit")} for t in targets}}
        if suppressed:
            for field in PER_MU_FIELDS:
                row[field] = None
            for t in row["targets"].values():
                t.update(met=None, achieved=None, gap=None)
        row["tax_target"] = row["targets"]["tax_per_mu"]["target"]
        rows.append(row)
    visible = [r for r in rows if not r["suppressed"]]
    totals = {
        "counties": len(rows), "above_scale": sum(r["above_scale"] for r in rows),
        "above_scale_prev": sum(r["above_scale_prev"] or 0 for r in rows) if y != years[0] else None,
        "new_above_scale": sum(r["new_above_scale"] or 0 for r in rows) if y != years[0] else None,
        "new_above_scale_since": (sum(r["new_above_scale_since"] or 0 for r in rows)
                                  if rows and rows[0]["new_above_scale_since"] is not None else None),
        "specialised": sum(r["specialised"] for r in rows),
        "tax_met": sum(1 for r in visible if r["targets"]["tax_per_mu"]["met"]),
        "productivity_met": sum(1 for r in visible if r["targets"]["labour_productivity"]["met"]),
        "suppressed": sum(1 for r in rows if r["suppressed"]),
    }
    totals.update(_totals_26(data, y))
    return {"year": y, "rows": rows, "totals": totals, "basis": basis(store, y, years),
            "category_note": CATEGORY_NOTE[0], "category_note_en": CATEGORY_NOTE[1],
            "public_min_firms": PUBLIC_MIN_FIRMS}


def _totals_26(data: dict, year: int) -> dict:
    """The 26 together (sums over sums): public, whatever the caller's region."""
    s = {k: 0.0 for k in ("value_added", "tax_l", "va_l", "land_used_mu", "va_h", "heads")}
    for by_year in data["sums"].values():
        now = by_year.get(year) or {}
        for k in s:
            s[k] += float(now.get(k) or 0)
    return {"value_added": s["value_added"], "tax_per_mu": _ratio(s["tax_l"], s["land_used_mu"]),
            "value_added_per_mu": _ratio(s["va_l"], s["land_used_mu"]),
            "labour_productivity": _ratio(s["va_h"], s["heads"])}


# ---- enclaves --------------------------------------------------------------------------------

def _counts_toward(e: dict, sides: set[str], year: int) -> bool:
    if e["host_adcode"] not in sides and e["owner_adcode"] not in sides:
        return False
    return e["established_on"] is None or int(e["established_on"][:4]) <= year


def enclaves(store: Store, scope: Scope, year: int | None = None) -> dict:
    """The enclaves the caller may see (packaged ones, and those whose host or owner its region
    covers) with their returns, and the progress to the plan's enclave target (every enclave)."""
    y = data_year(store, year)[0] if year is None else int(year)
    plan = coop_targets()
    target = next((t for t in plan.targets if t.indicator == "enclaves"), None)
    sides = _mountain_sides(store)
    rows = _enclave_rows(store)
    for r in rows:
        r["mountain"] = r["host_adcode"] in sides or r["owner_adcode"] in sides
        r["counts"] = _counts_toward(r, sides, y)
    visible = [r for r in rows if r["packaged"] or scope.covers(r["host_adcode"]) or scope.covers(r["owner_adcode"])]
    counted = sum(1 for r in rows if r["counts"])
    by_year: dict[int, float] = defaultdict(float)
    for r in visible:
        for ret in r["returns"]:
            by_year[ret["year"]] += ret["amount"] or 0.0
    return {
        "year": y, "enclaves": visible, "hidden": len(rows) - len(visible),
        "by_kind": {k: {"label": v[0], "label_en": v[1], "count": sum(1 for r in visible if r["kind"] == k)}
                    for k, v in ENCLAVE_KINDS.items()},
        "returns_by_year": [{"year": k, "amount": v} for k, v in sorted(by_year.items())],
        "progress": {"counted": counted, "target": target.value if target else None,
                     "target_year": target.year if target else None, "label": target.label if target else None,
                     "note": target.note if target else None,
                     "achieved": _ratio(counted, target.value) if target else None},
        "note": ("随包飞地为公开报道的样例（来源与可信度见各行），导入的飞地仅飞入地或飞出地所在地区可见；"
                 "飞地内的项目无法从库中判定，未列出。"),
        "note_en": ("Packaged enclaves are publicly reported examples (source and confidence per row); an imported "
                    "enclave is visible to its host's and owner's regions only; the projects inside an enclave "
                    "cannot be told from the store and are not listed."),
    }


# ---- the action plan's progress --------------------------------------------------------------

def _light(actual, target, as_of: int, target_year: int, counted_from: int, amber_points: float) -> tuple[str, float]:
    """(light, calendar progress 序时进度) of a count toward a target."""
    schedule = min(1.0, max(0.0, (as_of - counted_from + 1) / (target_year - counted_from + 1)))
    if actual is None or not target:
        return "grey", schedule
    share = actual / target
    if share >= 1:
        return "green", schedule
    if as_of >= target_year:
        return "red", schedule
    behind = 100 * (schedule - share)
    if behind <= 0:
        return "green", schedule
    return ("amber" if behind <= amber_points else "red"), schedule


def action_plan_progress(store: Store, scope: Scope, year: int | None = None) -> dict:
    """Every target of the plan (2023, 2025) with its value as of the data year (or the target
    year, when that is earlier), the gap and a light. Province-wide totals over the 26 counties:
    the same for every caller (``scope`` is accepted for the uniform signature; nothing in the
    answer is per firm)."""
    y, years = data_year(store, year)
    plan = coop_targets()
    data = _figures(store, years)
    mountain = sorted(_mountain_set(store))
    inlist = ", ".join(literal(c) for c in mountain) or "NULL"
    sides = _mountain_sides(store)
    enclave_rows = _enclave_rows(store)
    names = {r["adcode"]: r["name"] for r in mountain_counties(store)}
    items = []
    for t in plan.targets:
        as_of = min(y, t.year)
        target = float(len(mountain)) if t.all_counties else t.value
        actual, detail, partial, note = None, {}, False, t.note
        if t.indicator == "chain_projects":
            row = store.con.execute(f"""
                SELECT count(*) FILTER (WHERE signed_on IS NOT NULL AND year(signed_on) BETWEEN {plan.counted_from}
                                        AND {as_of}),
                       count(*) FILTER (WHERE signed_on IS NULL)
                FROM projects WHERE is_cooperation AND chain_id IS NOT NULL AND landing_adcode IN ({inlist})""").fetchone()
            actual, detail = int(row[0]), {"undated": int(row[1])}
            if row[1]:
                note = (note + "；" if note else "") + f"{row[1]} 个项目无签约日期，未计入"
        elif t.indicator == "new_above_scale":
            if as_of in years and as_of >= data["start"]:
                actual = sum(n for by in data["first"].values() for yr, n in by.items() if yr <= as_of)
                partial = data["start"] > plan.counted_from
                detail = {"from_year": data["start"], "to_year": as_of}
                if partial:
                    note = (note + "；" if note else "") + (f"库中数据始于 {years[0]} 年，新上规企业自 {data['start']} 年起计"
                                                           f"（计划自 {plan.counted_from} 年起）")
        elif t.indicator == "counties_va_over":
            if as_of in years:
                over = sorted(c for c in mountain
                              if (data["sums"].get(c, {}).get(as_of, {}).get("value_added") or 0) > t.threshold)
                actual = len(over)
                detail = {"threshold": t.threshold, "counties": [{"adcode": c, "name": names.get(c)} for c in over]}
        elif t.indicator == "enclaves":
            actual = sum(1 for e in enclave_rows if _counts_toward(e, sides, as_of))
            detail = {"undated": sum(1 for e in enclave_rows if e["established_on"] is None
                                     and (e["host_adcode"] in sides or e["owner_adcode"] in sides))}
        elif t.indicator == "specialised":
            if as_of in years:
                actual = sum(by.get(as_of, 0) for by in data["specialised"].values())
        light, schedule = _light(actual, target, as_of, t.year, plan.counted_from, plan.lights.amber_points)
        items.append({
            "id": t.id, "target_year": t.year, "indicator": t.indicator, "label": t.label, "label_en": t.label_en,
            "unit": t.unit, "target": target, "as_of": as_of, "actual": actual,
            "gap": None if actual is None else max(0.0, target - actual),
            "achieved": None if actual is None else actual / target,
            "schedule": schedule, "light": light, "light_label": LIGHTS[light][0], "light_label_en": LIGHTS[light][1],
            "partial": partial, "note": note or None, "detail": detail})
    return {"year": y, "items": items, "counties": len(mountain), "source": plan.source,
            "source_file": plan.source_file, "plan": plan.display_name, "version": plan.version,
            "counted_from": plan.counted_from, "lights_note": plan.lights.note,
            "basis": basis(store, y, years)}


__all__ = ["CATEGORY_NOTE", "ENCLAVE_KINDS", "LIGHTS", "PROJECT_STAGES", "PUBLIC_MIN_FIRMS", "action_plan_progress",
           "county_figures", "county_targets", "data_year", "enclaves", "mountain_counties", "overview", "profile"]
