"""What a per-mu run means for firms and counties: surcharges, the remediation list, inefficient
land, two runs compared, and the stored roll-ups — read from a stored run (``mujun_results`` and
its companions), never recomputed from the raw data.

Every function takes ``region`` (the adcode of a county or a city; ``None`` or ``330000`` = the
whole run) and filters inside the query, so a county's user never receives another county's
firms. Values go into SQL through :func:`shanhai.store.sql.literal`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from shanhai.errors import ShanhaiError
from shanhai.store import Store
from shanhai.store.sql import literal

INEFFICIENT_STATUSES = {
    "approved_not_supplied": "批而未供",
    "supplied_not_used": "供而未用",
    "underused": "用而未尽",
    "built_not_operating": "建而未投",
    "operating_below_standard": "投而未达标",
}
ROLLUP_LEVELS = ("province", "city", "county", "town", "zone", "industry", "mountain26")
RULE_LABELS = {"rank_shares": "排名比例", "thresholds": "分数线", "excluded": "不参评"}
EPS = 1e-9


# ---- region scope ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Region:
    adcode: str
    name: str
    level: str          # province | city | county


def region_of(store: Store, region: str | None) -> Region | None:
    """The region a user asked for, checked against ``regions``; ``None`` for the whole run.
    (A thin wrapper over :class:`shanhai.store.scope.Scope`.)"""
    from shanhai.store.scope import Scope

    s = Scope.of(store, region)
    return None if s.is_province else Region(s.adcode, s.name, s.level)


def region_filter(store: Store, region: str | Region | None, column: str = "county_adcode") -> str:
    """A SQL predicate keeping rows whose county column lies inside ``region`` (``true`` for all).
    (A thin wrapper over :meth:`shanhai.store.scope.Scope.sql`.)"""
    from shanhai.store.scope import Scope

    if isinstance(region, Scope):
        return region.sql(column)
    if isinstance(region, Region):
        return Scope(region.adcode, region.level, region.name).sql(column)
    return Scope.of(store, region).sql(column)


def _rows(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, (_plain(v) for v in row), strict=True)) for row in cur.fetchall()]


def _plain(value):
    """Decimals become floats, so results serialise and compare as numbers."""
    from decimal import Decimal

    return float(value) if isinstance(value, Decimal) else value


def _run_info(store: Store, run_id: str) -> dict:
    from shanhai.jobs import mujun

    s = mujun.summary_of(store, run_id)
    return {"run_id": s.run_id, "policy": s.policy, "policy_version": s.policy_version, "year": s.year,
            "region": s.region, "created_at": s.created_at}


def _region_dict(r: Region | None) -> dict | None:
    return asdict(r) if r else None


def _class_order(preset) -> list[str]:
    return list(preset.classes.order)


def follow_up_classes(preset) -> tuple[list[str], str]:
    """The classes a run's follow-up lists take (整改名单, 低效用地) and the class they aim at: C and D
    (else the preset's two lowest) towards B (else its second class)."""
    order = _class_order(preset)
    return [c for c in ("C", "D") if c in order] or order[-2:], ("B" if "B" in order else order[1])


def _order_case(order: list[str], column: str = '"class"') -> str:
    """A SQL expression sorting classes best first, T last."""
    cases = " ".join(f"WHEN {literal(c)} THEN {i}" for i, c in enumerate(order))
    return f"CASE {column} {cases} ELSE {len(order)} END"


def rule_label(preset, rule: str | None) -> str:
    if rule is None:
        return ""
    if rule in RULE_LABELS:
        return RULE_LABELS[rule]
    for r in preset.rules:
        if r.id == rule:
            return r.label
    return rule


def runs(store: Store, region: str | None = None, limit: int = 200) -> list[dict]:
    """The stored per-mu runs, latest first; with ``region``, those that overlap it: the
    province's runs, its city's, its own, and (for a city) its counties'."""
    from shanhai.jobs import mujun

    r = region_of(store, region)
    rows = mujun.list_runs(store, limit=limit)
    if r is None:
        return rows
    covering = {"330000", r.adcode}
    if r.level == "county":
        city = store.con.execute(f"SELECT city_adcode FROM regions WHERE adcode = {literal(r.adcode)}").fetchone()
        if city and city[0]:
            covering.add(city[0])
    else:
        covering |= {c for (c,) in store.con.execute(
            f"SELECT adcode FROM regions WHERE level = 'county' AND city_adcode = {literal(r.adcode)}").fetchall()}
    return [x for x in rows if x["region"] in covering]


# ---- surcharges ------------------------------------------------------------------------------

@dataclass
class Surcharges:
    run: dict
    region: dict | None
    rows: list[dict]           # county × population × class, for classes with a price difference
    counties: list[dict]       # one per county
    total: dict

    def as_dict(self) -> dict:
        return asdict(self)


def surcharges(store: Store, run_id: str, region: str | None = None) -> Surcharges:
    """Electricity surcharges (and rebates) of a run by county, population and class: firms with
    a rate, firms charged, firms exempt (under the small-user threshold), their kWh and the
    estimated amount in 元 over the collection window."""
    from shanhai.jobs import mujun

    r = region_of(store, region)
    preset = mujun.preset_of(store, run_id)
    where = (f"m.run_id = {literal(run_id)} AND m.electricity_rate IS NOT NULL "
             f"AND {region_filter(store, r, 'm.county_adcode')}")
    order = _order_case(_class_order(preset), 'm."class"')
    measures = """count(*) AS firms_rated,
           count(*) FILTER (WHERE m.surcharge_yuan <> 0) AS firms_charged,
           count(*) FILTER (WHERE coalesce(m.surcharge_yuan, 0) = 0) AS firms_exempt,
           coalesce(sum(m.electricity_kwh) FILTER (WHERE m.surcharge_yuan <> 0), 0) AS kwh_charged,
           coalesce(sum(m.surcharge_yuan), 0)::DOUBLE AS surcharge_yuan"""
    rows = _rows(store, f"""
        SELECT m.county_adcode, g.name AS county_name, m.population, m."class",
               min(m.electricity_rate)::DOUBLE AS rate_min, max(m.electricity_rate)::DOUBLE AS rate_max, {measures}
        FROM mujun_results m LEFT JOIN regions g ON g.adcode = m.county_adcode
        WHERE {where} GROUP BY 1, 2, 3, 4 ORDER BY m.county_adcode, m.population, {order}""")
    for row in rows:
        row["population_label"] = _population_label(preset, row["population"])
        row["class_label"] = preset.class_label(row["class"])
    counties = _rows(store, f"""
        SELECT m.county_adcode, g.name AS county_name, {measures}
        FROM mujun_results m LEFT JOIN regions g ON g.adcode = m.county_adcode
        WHERE {where} GROUP BY ALL ORDER BY m.county_adcode""")
    total = _rows(store, f"SELECT {measures} FROM mujun_results m WHERE {where}")[0]
    return Surcharges(_run_info(store, run_id), _region_dict(r), rows, counties, total)


def _population_label(preset, pid: str | None) -> str:
    if pid is None:
        return preset.classes.excluded_label
    try:
        return preset.population(pid).label
    except KeyError:
        return pid


# ---- remediation -----------------------------------------------------------------------------

@dataclass
class Remediation:
    run: dict
    region: dict | None
    classes: list[str]
    target_class: str
    method: str
    rows: list[dict]
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def remediation(store: Store, run_id: str, region: str | None = None, classes=("C", "D"),
                target: str = "B") -> Remediation:
    """Every firm of ``classes`` with its distance to ``target`` (class B).

    The score to reach: with rank shares, the total score of the worst-ranked firm whose score
    put it in the target class, in the firm's own ranking unit (unit × population [× group]);
    with thresholds, the target class's threshold for the population. The gap in points, then —
    when the firm's population scores 亩均税收 — what it means in tax: extra tax per mu = gap ÷
    (weight ÷ benchmark), and × land used = extra tax in 万元 (at today's benchmark and with
    everyone else unchanged; a cap on the tax score can put the target out of reach of tax alone).
    """
    from shanhai.jobs import mujun

    r = region_of(store, region)
    preset = mujun.preset_of(store, run_id)
    order = _class_order(preset)
    classes = [c.strip().upper() for c in (classes.split(",") if isinstance(classes, str) else classes) if c.strip()]
    for c in classes + [target]:
        if c not in order:
            raise ShanhaiError(f"class {c!r} is not a class of policy {preset.name} (classes: {', '.join(order)})")
    method = preset.classes.method
    within_group = "group" in preset.classes.within
    group_join = "AND m.group_id IS NOT DISTINCT FROM b.group_id" if within_group else ""
    group_cols = ", group_id" if within_group else ""
    class_list = ", ".join(literal(c) for c in classes)
    rows = _rows(store, f"""
        WITH m AS (SELECT * FROM mujun_results WHERE run_id = {literal(run_id)}),
        b AS (SELECT unit_id, population{group_cols}, min(total_score) AS bar_score, count(*) AS bar_firms,
                     max(rank) AS bar_rank
              FROM m WHERE score_class = {literal(target)} GROUP BY ALL)
        SELECT m.uscc, m.name, m.county_adcode, g.name AS county_name, m.town_name, m.industry_code,
               m.population, m.unit_id, m.group_id, m."class", m.score_class, m.class_rule, m.class_streak,
               m.total_score, m.base_score, m.bonus, m.penalty, m.rank, m.unit_size,
               m.tax_paid, m.land_used_mu, m.tax_per_mu, m.tax_per_mu_benchmark, m.tax_per_mu_score,
               m.electricity_rate::DOUBLE AS electricity_rate, m.surcharge_yuan, b.bar_score, b.bar_rank
        FROM m LEFT JOIN b ON m.unit_id = b.unit_id AND m.population = b.population {group_join}
               LEFT JOIN regions g ON g.adcode = m.county_adcode
        WHERE m."class" IN ({class_list}) AND {region_filter(store, r, 'm.county_adcode')}""")
    out = []
    for row in rows:
        out.append(_remediate(preset, row, method, target))
    out.sort(key=lambda x: (x["county_adcode"], x["gap"] is None, x["gap"] if x["gap"] is not None else 0,
                            x["name"] or ""))
    if method == "rank_shares":
        bar = f"同一排名单元内按得分进入{target}类的最后一名企业的总分 (the worst-ranked firm scored into {target} in its unit)"
    else:
        bar = f"{target}类分数线 (the threshold of {target})"
    notes = [
        f"目标分 score to reach: {bar}",
        "需增税额 = 差距分 ÷ (亩均税收权重 ÷ 亩均税收基准值) × 用地面积; 按本次基准值和其他企业不变估算 "
        "(extra tax = gap ÷ (weight ÷ benchmark) × land used, at this run's benchmark, everyone else unchanged)",
    ]
    return Remediation(_run_info(store, run_id), _region_dict(r), classes, target, method, out, notes)


def _remediate(preset, row: dict, method: str, target: str) -> dict:
    pid = row["population"]
    pop = preset.population(pid)
    if method == "thresholds":
        target_score = preset.thresholds_for(pop).get(target)
    else:
        target_score = row["bar_score"]
    total = row["total_score"]
    gap = None
    if target_score is not None and total is not None:
        gap = round(max(target_score - total, 0.0), 4)
    rule = next((i for i in pop.indicators if i.id == "tax_per_mu"), None)
    bench = row["tax_per_mu_benchmark"]
    extra_per_mu = extra_wan = target_tax_per_mu = None
    note = []
    if row["class_rule"] not in (method, "excluded"):
        note.append(f"类别由规则决定 class set by rule: {rule_label(preset, row['class_rule'])}")
    if target_score is None:
        note.append(f"本排名单元无{target}类企业 no {target} firm in the ranking unit")
    if rule is None:
        note.append("该类企业不评亩均税收 tax per mu is not scored for this population")
    elif rule.direction != "higher":
        note.append("亩均税收按越低越好计分 tax per mu scored lower-is-better")
    elif gap is not None and bench is not None and bench > 0:
        w = rule.weight
        needed_score = (row["tax_per_mu_score"] or 0.0) + gap
        if rule.cap is not None and needed_score > rule.cap * w + EPS:
            note.append(f"亩均税收得分封顶 {rule.cap * w:g} 分, 仅靠税收达不到 the tax score is capped: "
                        "tax alone cannot close the gap")
        else:
            extra_per_mu = gap / (w / bench)
            value = row["tax_per_mu"]
            if rule.floor is not None and value is not None and value / bench * w < rule.floor * w:
                extra_per_mu = needed_score * bench / w - value   # first climb from the value to the floor
            land = row["land_used_mu"]
            extra_wan = round(extra_per_mu * land, 4) if land is not None else None
            target_tax_per_mu = round((value or 0.0) + extra_per_mu, 4)
            extra_per_mu = round(extra_per_mu, 4)
    return {
        "uscc": row["uscc"], "name": row["name"], "county_adcode": row["county_adcode"],
        "county_name": row["county_name"], "town_name": row["town_name"], "industry_code": row["industry_code"],
        "population": pid, "population_label": pop.label, "unit_id": row["unit_id"], "group_id": row["group_id"],
        "class": row["class"], "class_label": preset.class_label(row["class"]), "score_class": row["score_class"],
        "class_rule": row["class_rule"], "class_streak": row["class_streak"],
        "total_score": total, "rank": row["rank"], "unit_size": row["unit_size"],
        "target_class": target, "target_score": target_score, "target_rank": row["bar_rank"], "gap": gap,
        "tax_paid": row["tax_paid"], "land_used_mu": row["land_used_mu"], "tax_per_mu": row["tax_per_mu"],
        "tax_per_mu_benchmark": bench, "tax_per_mu_weight": rule.weight if rule else None,
        "extra_tax_per_mu": extra_per_mu, "target_tax_per_mu": target_tax_per_mu, "extra_tax_wan": extra_wan,
        "electricity_rate": row["electricity_rate"], "surcharge_yuan": row["surcharge_yuan"],
        "note": "; ".join(note),
    }


# ---- inefficient land ------------------------------------------------------------------------

@dataclass
class InefficientLand:
    run: dict
    region: dict | None
    firms: list[dict]          # C/D firms, worst class first, then most land, then lowest score
    parcels: list[dict]        # parcels in an inefficient status in the run's counties
    by_county: list[dict]

    def as_dict(self) -> dict:
        return asdict(self)


def inefficient_land(store: Store, run_id: str, region: str | None = None, classes=("C", "D")) -> InefficientLand:
    """Candidates for 低效用地 work: the run's C and D firms by land held and low score (with the
    inefficient parcels each holds), and every parcel in an inefficient status (批而未供, 供而未用,
    用而未尽, 建而未投, 投而未达标) in the run's counties, with its holder's class when the holder
    was evaluated in the run."""
    from shanhai.jobs import mujun

    r = region_of(store, region)
    preset = mujun.preset_of(store, run_id)
    order = _class_order(preset)
    classes = [c for c in classes if c in order]
    if not classes:
        raise ShanhaiError(f"none of the classes is a class of policy {preset.name} ({', '.join(order)})")
    statuses = ", ".join(literal(s) for s in INEFFICIENT_STATUSES)
    status_label = "CASE p.land_use_status " + " ".join(
        f"WHEN {literal(k)} THEN {literal(v)}" for k, v in INEFFICIENT_STATUSES.items()) + " END"
    run = literal(run_id)
    firms = _rows(store, f"""
        WITH held AS (SELECT holder_uscc, count(*) AS parcels, sum(area_mu)::DOUBLE AS area_mu
                      FROM land_parcels WHERE land_use_status IN ({statuses}) GROUP BY 1)
        SELECT m.uscc, m.name, m.county_adcode, g.name AS county_name, m.town_name, m.industry_code,
               m.population, m."class", m.total_score, m.rank, m.unit_size, m.land_own_mu::DOUBLE AS land_own_mu,
               m.land_used_mu, m.tax_paid, m.tax_per_mu, m.value_added_per_mu,
               coalesce(h.parcels, 0) AS inefficient_parcels, coalesce(h.area_mu, 0) AS inefficient_area_mu
        FROM mujun_results m LEFT JOIN held h ON h.holder_uscc = m.uscc
             LEFT JOIN regions g ON g.adcode = m.county_adcode
        WHERE m.run_id = {run} AND m."class" IN ({', '.join(literal(c) for c in classes)})
              AND {region_filter(store, r, 'm.county_adcode')}
        ORDER BY {_order_case(order, 'm."class"')} DESC, m.land_used_mu DESC NULLS LAST, m.total_score, m.uscc""")
    for i, row in enumerate(firms, 1):
        row["priority"] = i
        row["class_label"] = preset.class_label(row["class"])
        row["population_label"] = _population_label(preset, row["population"])
    counties = f"(SELECT DISTINCT county_adcode FROM mujun_results WHERE run_id = {run})"
    parcels = _rows(store, f"""
        SELECT p.parcel_id, p.county_adcode, g.name AS county_name, p.zone_id, p.area_mu::DOUBLE AS area_mu,
               p.land_use_status, {status_label} AS status_label, p.supplied_on, p.holder_uscc,
               coalesce(m.name, e.name) AS holder_name, m."class" AS holder_class, m.total_score AS holder_score,
               m.population AS holder_population
        FROM land_parcels p
             LEFT JOIN mujun_results m ON m.run_id = {run} AND m.uscc = p.holder_uscc
             LEFT JOIN enterprises e ON e.uscc = p.holder_uscc
             LEFT JOIN regions g ON g.adcode = p.county_adcode
        WHERE p.land_use_status IN ({statuses}) AND p.county_adcode IN {counties}
              AND {region_filter(store, r, 'p.county_adcode')}
        ORDER BY p.county_adcode, p.land_use_status, p.area_mu DESC, p.parcel_id""")
    for row in parcels:
        row["holder_class_label"] = preset.class_label(row["holder_class"]) if row["holder_class"] else None
    per_status = ", ".join(f"sum(area_mu) FILTER (WHERE land_use_status = {literal(k)})::DOUBLE AS {k}_mu"
                           for k in INEFFICIENT_STATUSES)
    by_county = _rows(store, f"""
        WITH p AS (SELECT county_adcode, count(*) AS parcels, sum(area_mu)::DOUBLE AS parcel_area_mu,
                          {per_status}
                   FROM land_parcels
                   WHERE land_use_status IN ({statuses}) AND county_adcode IN {counties}
                         AND {region_filter(store, r)} GROUP BY 1),
        f AS (SELECT county_adcode, count(*) AS firms, sum(land_used_mu) AS firm_land_mu
              FROM mujun_results WHERE run_id = {run} AND "class" IN ({', '.join(literal(c) for c in classes)})
                   AND {region_filter(store, r)} GROUP BY 1)
        SELECT coalesce(p.county_adcode, f.county_adcode) AS county_adcode, g.name AS county_name,
               coalesce(f.firms, 0) AS firms, coalesce(f.firm_land_mu, 0) AS firm_land_mu,
               coalesce(p.parcels, 0) AS parcels, coalesce(p.parcel_area_mu, 0) AS parcel_area_mu,
               {', '.join(f"coalesce(p.{k}_mu, 0) AS {k}_mu" for k in INEFFICIENT_STATUSES)}
        FROM p FULL JOIN f ON p.county_adcode = f.county_adcode
             LEFT JOIN regions g ON g.adcode = coalesce(p.county_adcode, f.county_adcode)
        ORDER BY 1""")
    return InefficientLand(_run_info(store, run_id), _region_dict(r), firms, parcels, by_county)


# ---- two runs compared -----------------------------------------------------------------------

@dataclass
class Comparison:
    run_a: dict
    run_b: dict
    region: dict | None
    classes: list[str]                       # the matrix's order: classes best first, T last
    matrix: dict[str, dict[str, int]]        # class in a → class in b → firms
    both: int                                # firms in both runs
    moved: int
    movers: list[dict]
    only_a: list[dict]
    only_b: list[dict]
    surcharge: dict                          # totals a, b, change
    surcharge_by_county: list[dict]
    benchmark_changes: list[dict]
    policy_changes: list[dict]

    def as_dict(self) -> dict:
        return asdict(self)


def compare(store: Store, run_a: str, run_b: str, region: str | None = None) -> Comparison:
    """Two runs side by side — two years of one preset, or two presets on one year (what-if):
    the class transition matrix of the firms in both (T included), who moved and why (each
    indicator's score change, largest first; bonus, penalty, hard-rule and population changes;
    the benchmarks they were scored against), the firms in only one run, and the surcharge change
    in total and by county."""
    from shanhai import policy
    from shanhai.jobs import mujun
    from shanhai.policy import INDICATORS

    r = region_of(store, region)
    pa, pb = mujun.preset_of(store, run_a), mujun.preset_of(store, run_b)
    a, b = literal(run_a), literal(run_b)
    where_a = region_filter(store, r, "a.county_adcode")
    where_b = region_filter(store, r, "b.county_adcode")
    order = list(dict.fromkeys(_class_order(pa) + _class_order(pb)))
    seen = [c for (c,) in store.con.execute(
        f'SELECT DISTINCT "class" FROM mujun_results WHERE run_id IN ({a}, {b})').fetchall()]
    classes = order + sorted(c for c in seen if c not in order and c != "T") + ["T"]
    matrix = {ca: {cb: 0 for cb in classes} for ca in classes}
    for ca, cb, n in store.con.execute(f"""
            SELECT a."class", b."class", count(*) FROM mujun_results a JOIN mujun_results b USING (uscc)
            WHERE a.run_id = {a} AND b.run_id = {b} AND {where_a} AND {where_b} GROUP BY ALL""").fetchall():
        matrix[ca][cb] = int(n)
    both = sum(sum(row.values()) for row in matrix.values())

    ind = list(INDICATORS)
    cols = ["uscc", "name", "county_adcode", "town_name", "population", "group_id", "unit_id", "class",
            "score_class", "class_rule", "excluded_reason", "total_score", "base_score", "bonus", "penalty",
            "bonus_flags", "penalty_flags", "rank", "unit_size", "surcharge_yuan"]
    cols += [f"{i}{suffix}" for i in ind for suffix in ("", "_benchmark", "_score")]
    select = ", ".join(f'a."{c}" AS "a__{c}", b."{c}" AS "b__{c}"' for c in cols)
    pairs = _rows(store, f"""
        SELECT {select}, g.name AS county_name FROM mujun_results a JOIN mujun_results b USING (uscc)
        LEFT JOIN regions g ON g.adcode = b.county_adcode
        WHERE a.run_id = {a} AND b.run_id = {b} AND {where_a} AND {where_b} AND a."class" <> b."class" """)
    movers = [_mover(pa, pb, row, ind, INDICATORS) for row in pairs]
    index = {c: i for i, c in enumerate(classes)}
    movers.sort(key=lambda m: (m["county_adcode"] or "", index[m["class_b"]] - index[m["class_a"]] < 0,
                               -abs(m["total_delta"] or 0), m["uscc"]))

    def only(first: str, other: str, preset) -> list[dict]:
        rows = _rows(store, f"""
            SELECT x.uscc, x.name, x.county_adcode, g.name AS county_name, x.population, x."class",
                   x.total_score, x.surcharge_yuan
            FROM mujun_results x LEFT JOIN regions g ON g.adcode = x.county_adcode
            WHERE x.run_id = {first} AND {region_filter(store, r, 'x.county_adcode')}
              AND x.uscc NOT IN (SELECT uscc FROM mujun_results WHERE run_id = {other} AND {region_filter(store, r)})
            ORDER BY x.county_adcode, x.uscc""")
        for row in rows:
            row["class_label"] = preset.class_label(row["class"])
        return rows

    only_a = only(a, b, pa)
    only_b = only(b, a, pb)
    by_county = _rows(store, f"""
        WITH s AS (SELECT run_id, county_adcode, coalesce(sum(surcharge_yuan), 0)::DOUBLE AS yuan,
                          count(*) FILTER (WHERE surcharge_yuan <> 0) AS charged
                   FROM mujun_results WHERE run_id IN ({a}, {b}) AND {region_filter(store, r)} GROUP BY ALL),
        k AS (SELECT DISTINCT county_adcode FROM s)
        SELECT k.county_adcode, g.name AS county_name,
               coalesce(sa.yuan, 0) AS surcharge_a, coalesce(sb.yuan, 0) AS surcharge_b,
               coalesce(sb.yuan, 0) - coalesce(sa.yuan, 0) AS change,
               coalesce(sa.charged, 0) AS charged_a, coalesce(sb.charged, 0) AS charged_b
        FROM k LEFT JOIN s sa ON sa.county_adcode = k.county_adcode AND sa.run_id = {a}
               LEFT JOIN s sb ON sb.county_adcode = k.county_adcode AND sb.run_id = {b}
               LEFT JOIN regions g ON g.adcode = k.county_adcode
        ORDER BY k.county_adcode""")
    total_a = sum(x["surcharge_a"] for x in by_county)
    total_b = sum(x["surcharge_b"] for x in by_county)
    surcharge = {"a": round(total_a, 2), "b": round(total_b, 2), "change": round(total_b - total_a, 2),
                 "charged_a": sum(x["charged_a"] for x in by_county),
                 "charged_b": sum(x["charged_b"] for x in by_county)}
    units = (f"(SELECT DISTINCT unit_id FROM mujun_results WHERE run_id IN ({a}, {b}) "
             f"AND {region_filter(store, r)})")
    benchmarks = _rows(store, f"""
        SELECT coalesce(x.unit_id, y.unit_id) AS unit_id, g.name AS unit_name,
               coalesce(x.population, y.population) AS population, coalesce(x.indicator, y.indicator) AS indicator,
               x.benchmark AS benchmark_a, y.benchmark AS benchmark_b, x.kind AS kind_a, y.kind AS kind_b
        FROM (SELECT * FROM mujun_benchmarks WHERE run_id = {a} AND unit_id IN {units}) x
        FULL JOIN (SELECT * FROM mujun_benchmarks WHERE run_id = {b} AND unit_id IN {units}) y
             ON x.unit_id = y.unit_id AND x.population = y.population AND x.indicator = y.indicator
        LEFT JOIN regions g ON g.adcode = coalesce(x.unit_id, y.unit_id)
        WHERE x.benchmark IS DISTINCT FROM y.benchmark
        ORDER BY 1, 3, 4""")
    for row in benchmarks:
        known = INDICATORS.get(row["indicator"])
        row["indicator_label"] = known.label if known else row["indicator"]
        ba, bb = row["benchmark_a"], row["benchmark_b"]
        row["change_pct"] = round((bb / ba - 1) * 100, 2) if ba and bb is not None else None
    policy_changes = [{"path": p, "a": va, "b": vb} for p, va, vb in policy.diff(pa, pb)]
    return Comparison(_run_info(store, run_a), _run_info(store, run_b), _region_dict(r), classes, matrix, both,
                      len(movers), movers, only_a, only_b, surcharge, by_county, benchmarks, policy_changes)


def _num(x):
    return 0.0 if x is None else float(x)


def _mover(pa, pb, row: dict, ind: list[str], catalogue) -> dict:
    why: list[dict] = []
    ra, rb = row["a__class_rule"], row["b__class_rule"]
    if ra != rb:
        why.append({"kind": "rule", "a": ra, "b": rb, "a_label": rule_label(pa, ra), "b_label": rule_label(pb, rb),
                    "detail": row["b__excluded_reason"] or row["a__excluded_reason"]})
    if row["a__population"] != row["b__population"]:
        why.append({"kind": "population", "a": row["a__population"], "b": row["b__population"],
                    "a_label": _population_label(pa, row["a__population"]),
                    "b_label": _population_label(pb, row["b__population"])})
    scored = []
    for i in ind:
        sa, sb = row[f"a__{i}_score"], row[f"b__{i}_score"]
        if sa is None and sb is None:
            continue
        delta = round(_num(sb) - _num(sa), 4)
        ba, bb = row[f"a__{i}_benchmark"], row[f"b__{i}_benchmark"]
        if delta == 0 and ba == bb and row[f"a__{i}"] == row[f"b__{i}"]:
            continue
        scored.append({"kind": "indicator", "indicator": i, "label": catalogue[i].label, "score_a": sa,
                       "score_b": sb, "delta": delta, "value_a": row[f"a__{i}"], "value_b": row[f"b__{i}"],
                       "benchmark_a": ba, "benchmark_b": bb, "benchmark_changed": ba != bb})
    for kind, sign in (("bonus", 1), ("penalty", -1)):
        va, vb = row[f"a__{kind}"], row[f"b__{kind}"]
        if _num(va) != _num(vb) or row[f"a__{kind}_flags"] != row[f"b__{kind}_flags"]:
            scored.append({"kind": kind, "a": va, "b": vb, "delta": round(sign * (_num(vb) - _num(va)), 4),
                           "flags_a": row[f"a__{kind}_flags"], "flags_b": row[f"b__{kind}_flags"]})
    scored.sort(key=lambda x: -abs(x["delta"]))
    why += scored
    if not why or all(item["kind"] != "rule" and abs(item.get("delta") or 0) < EPS for item in why):
        # the firm's own score did not move it: others around it did (rank shares)
        why.append({"kind": "rank", "a": row["a__rank"], "b": row["b__rank"], "unit_size_a": row["a__unit_size"],
                    "unit_size_b": row["b__unit_size"]})
    ta, tb = row["a__total_score"], row["b__total_score"]
    return {
        "uscc": row["a__uscc"], "name": row["b__name"] or row["a__name"], "county_adcode": row["b__county_adcode"],
        "county_name": row["county_name"], "town_name": row["b__town_name"],
        "class_a": row["a__class"], "class_b": row["b__class"],
        "class_label_a": pa.class_label(row["a__class"]), "class_label_b": pb.class_label(row["b__class"]),
        "population_a": row["a__population"], "population_b": row["b__population"],
        "total_a": ta, "total_b": tb, "total_delta": round(tb - ta, 4) if ta is not None and tb is not None else None,
        "rank_a": row["a__rank"], "rank_b": row["b__rank"], "unit_size_a": row["a__unit_size"],
        "unit_size_b": row["b__unit_size"], "surcharge_a": row["a__surcharge_yuan"],
        "surcharge_b": row["b__surcharge_yuan"], "why": why, "why_text": why_text(why),
    }


def why_text(why: list[dict], limit: int = 3) -> str:
    """The first reasons of a move in one line, e.g. ``亩均税收 -5.20; 单位能耗增加值 +1.10``."""
    parts = []
    for item in why[:limit]:
        if item["kind"] == "rule":
            parts.append(f"规则 {item['a_label']}→{item['b_label']}")
        elif item["kind"] == "population":
            parts.append(f"对象 {item['a_label']}→{item['b_label']}")
        elif item["kind"] == "rank":
            parts.append(f"名次 {item['a']}/{item['unit_size_a']}→{item['b']}/{item['unit_size_b']} (得分未变, 他企变化)")
        elif item["kind"] == "indicator":
            mark = " (基准变)" if item["benchmark_changed"] else ""
            parts.append(f"{item['label']} {item['delta']:+.2f}{mark}")
        else:
            parts.append(f"{'加分' if item['kind'] == 'bonus' else '减分'} {item['delta']:+.2f}")
    return "; ".join(parts)


# ---- roll-ups --------------------------------------------------------------------------------

@dataclass
class Rollup:
    run: dict
    region: dict | None
    level: str
    scope: str
    classes: list[str]
    rows: list[dict]
    recomputed: bool        # True: figures recomputed over the region's firms (not the stored roll-up)

    def as_dict(self) -> dict:
        return asdict(self)


def rollup(store: Store, run_id: str, level: str = "county", scope: str = "all",
           region: str | None = None) -> Rollup:
    """A run's roll-up rows at ``level`` for ``scope`` (all, above_scale, or pop:<population id>),
    each with its class counts. With a region, levels inside it (county, town; city for a city)
    are read from the stored roll-ups; levels that cut across it (province, zone, industry,
    mountain26) are recomputed over the region's firms only, so no figure includes another
    region's firms."""
    from shanhai.jobs import mujun

    if level not in ROLLUP_LEVELS:
        raise ShanhaiError(f"--level {level}: expected one of {', '.join(ROLLUP_LEVELS)}")
    r = region_of(store, region)
    preset = mujun.preset_of(store, run_id)
    # population scopes are stored as pop:<id> (a population may be called above_scale too)
    pops = [p.id for p in preset.populations]
    if scope in pops and not scope.startswith("pop:") and scope != "above_scale":
        scope = f"pop:{scope}"
    scopes = ["all", "above_scale"] + [f"pop:{p}" for p in pops]
    if scope not in scopes:
        raise ShanhaiError(f"--scope {scope}: expected one of {', '.join(scopes)}")
    order = _class_order(preset)
    if r is not None and level == "city" and r.level == "county":
        raise ShanhaiError(f"--level city is above --region {r.adcode} ({r.name}): use --level county or town")
    recompute = r is not None and level in ("province", "zone", "industry", "mountain26")
    if recompute:
        rows, counts = _recomputed(store, run_id, preset, level, scope, r)
    else:
        keep = "true"
        if r is not None:
            if level == "county":
                keep = region_filter(store, r, "key")
            elif level == "town":
                keep = ("key IN (SELECT adcode FROM regions WHERE level = 'town' "
                        f"AND {region_filter(store, r, 'parent_adcode')})")
            else:  # city
                keep = f"key = {literal(r.adcode)}"
        base = f"run_id = {literal(run_id)} AND level = {literal(level)} AND scope = {literal(scope)} AND {keep}"
        rows = _rows(store, f"SELECT * EXCLUDE (run_id) FROM mujun_rollups WHERE {base} ORDER BY key")
        counts = store.con.execute(
            f'SELECT key, "class", firms FROM mujun_class_counts WHERE {base}').fetchall()
    by_key: dict[str, dict[str, int]] = {}
    for key, code, n in counts:
        by_key.setdefault(key, {})[code] = int(n)
    seen = {c for d in by_key.values() for c in d}
    classes = order + sorted(c for c in seen if c not in order and c != "T") + ["T"]
    for row in rows:
        got = by_key.get(row["key"], {})
        row["classes"] = {c: got.get(c, 0) for c in classes}
    return Rollup(_run_info(store, run_id), _region_dict(r), level, scope, classes, rows, recompute)


def _recomputed(store: Store, run_id: str, preset, level: str, scope: str, r: Region):
    """The analysis layer's roll-ups over the region's firms of the run."""
    import ibis

    from shanhai.analysis import mujun as analysis
    from shanhai.engine import connect

    backend = connect(store)
    year = int(_run_info(store, run_id)["year"])
    results = backend.sql(
        f"SELECT * FROM mujun_results WHERE run_id = {literal(run_id)} AND {region_filter(store, r)}")
    stages = analysis.Stages(backend)
    try:
        fig, counts = analysis.rollups(backend, results, preset, year, stages)
        fig = fig.filter((fig.level == level) & (fig.scope == scope)).order_by("key")
        counts = counts.filter((counts.level == level) & (counts.scope == scope))
        # plain SQL on the store's connection: to_pyarrow() would import pandas (seconds) for no gain
        rows = _rows(store, ibis.to_sql(fig, dialect="duckdb"))
        count_rows = store.con.execute(
            f'SELECT key, "class", firms FROM ({ibis.to_sql(counts, dialect="duckdb")})').fetchall()
    finally:
        stages.release()
    return rows, count_rows
