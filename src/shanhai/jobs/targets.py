"""Targets against the store: the indicator registry, the targets (the documents' presets, the
users' own, imported and synthetic ones), each target's status against the calendar (序时进度)
with its light, the year-end forecast, the watch list and the composite regional index; runs of
all of it stored in ``runs`` (kind ``targets``) and ``run_results``, never overwritten. The
formulas are in :mod:`shanhai.analysis.targets`, the rules in ``policy/monitoring/*.toml``.

**Values.** Imported indicators are read from ``indicator_values`` (periods ``2023``,
``2023-Q2``, ``2023-06``; a quarter counts as its last month). Computed ones are computed here
from the firms, for every county, city, the province and every zone: per-mu, productivity, R&D,
revenue, energy and high-tech share from ``enterprise_years`` (above-scale firms, sums over sums),
industrial electricity from ``electricity_monthly`` (cumulative by month).

**Targets.** The presets come from the policy files each time (``policy.preset_targets``:
``targets.toml`` and ``monitoring/targets_documents.toml``; a mountain-county target applies to
each county of its category, a zone target to each zone of its city); ``sync`` also writes them
to ``targets`` (origin ``preset``). A row of ``targets`` with another origin (user, import,
synthetic) for the same indicator, region, year, kind and applies_to replaces the preset.

**Scope.** Every row is a region's (or a zone's) figure: a caller sees the rows of the regions
its scope covers (a county its own, a city its own and its counties', the province all). The
composite index ranks each group whole (its ranks are the province's league table) and then
shows the caller the rows inside its scope. No firm appears anywhere.

``region_status(store, scope, region, year, month)`` is the plain-dict summary the monthly
briefing reads: the rows with their lights, the change of light since the month before, the
red and trending-to-miss targets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import secrets

from shanhai import __version__
from shanhai.analysis import firm_counts
from shanhai.analysis import targets as at
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._indicator_registry import (COUNT_FACTS, Indicator, index_rules, monitoring_rules,
                                                preset_targets, registry)
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import literal, values

KIND = "targets"
GROUPS = {"cities": ("设区市", "Cities"), "counties": ("县(市、区)", "Counties"),
          "mountain26": ("山区26县", "26 mountain counties")}
ORIGIN_LABELS = {"preset": ("政策文件", "Policy document"), "user": ("用户设定", "Set by a user"),
                 "import": ("导入", "Imported"), "synthetic": ("合成演示", "Synthetic demo")}
KIND_LABELS = {"level": ("总量/水平", "Level"), "growth": ("增速", "Growth")}
_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])))?$")


# ---- the registry ------------------------------------------------------------------------------

def _indicator_dict(i: Indicator) -> dict:
    return {"indicator_id": i.id, "name": i.name, "name_en": i.name_en, "definition": i.definition,
            "definition_en": i.definition_en, "unit": i.unit, "department": i.department, "source": i.source,
            "formula": i.formula, "cadence": i.cadence, "cumulative": i.cumulative, "direction": i.direction,
            "headline": i.headline, "alert_threshold": i.alert_threshold,
            "excellence_threshold": i.excellence_threshold, "registered": True, "integer": i.integer}


def indicators(store: Store | None = None) -> list[dict]:
    """The registry, then indicators only known from imports (``indicators`` rows not in it)."""
    reg = registry()
    out = [_indicator_dict(i) for i in reg.indicators]
    if store is not None:
        known = {i.id for i in reg.indicators}
        # the import registers an unknown id with the table's defaults: its periods say its cadence
        periodic = dict(store.con.execute(
            "SELECT indicator_id, bool_or(contains(period, '-')) FROM indicator_values GROUP BY 1").fetchall())
        for iid, name, name_en, unit, cadence, direction in store.con.execute(
                "SELECT indicator_id, name, name_en, unit, cadence, direction FROM indicators ORDER BY indicator_id"
                ).fetchall():
            if iid in known:
                continue
            cadence = "month" if periodic.get(iid) else "year"
            rate = "%" in (unit or "")           # a rate (增速, 比重) is compared as it is, never × 序时进度
            out.append({"indicator_id": iid, "name": name, "name_en": name_en or iid, "definition": "",
                        "definition_en": "", "unit": unit or "", "department": "", "source": "imported",
                        "formula": "imported (indicators import kind)", "cadence": cadence or "month",
                        "cumulative": (cadence or "month") != "year" and not rate, "direction": direction or "higher",
                        "headline": "growth" if (cadence or "month") != "year" and not rate else "level",
                        "alert_threshold": None, "excellence_threshold": None, "registered": False,
                        "rate_points": rate})
    return out


def indicator(store: Store, indicator_id: str) -> dict:
    for i in indicators(store):
        if i["indicator_id"] == indicator_id:
            return i
    raise NotFoundError(f"unknown indicator {indicator_id!r}: see `shanhai targets list` for the registry")


def sync(store: Store, user: str | None = None) -> dict:
    """Write the registry into ``indicators`` and the presets into ``targets`` (origin preset);
    idempotent: running it twice changes nothing. Returns the counts."""
    reg = registry()
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        for i in reg.indicators:
            con.execute(
                "INSERT OR REPLACE INTO indicators (indicator_id, name, name_en, unit, department, source, cadence, "
                "direction, alert_threshold, excellence_threshold, definition, formula, cumulative, registry_version) "
                f"VALUES ({values(i.id, i.name, i.name_en, i.unit, i.department, i.source, i.cadence, i.direction)}, "
                f"{values(_f(i.alert_threshold), _f(i.excellence_threshold), i.definition, i.formula, i.cumulative)}, "
                f"{literal(reg.version)})")
        con.execute("DELETE FROM targets WHERE origin = 'preset'")
        rows = _expanded_presets(store)
        n = 0
        for t in rows:
            exists = con.execute(
                f"SELECT count(*) FROM targets WHERE indicator_id = {literal(t['indicator_id'])} AND adcode = "
                f"{literal(t['adcode'])} AND year = {t['year']} AND kind = {literal(t['kind'])} AND applies_to = "
                f"{literal(t['applies_to'])}").fetchone()[0]
            if exists:
                continue
            con.execute(
                "INSERT INTO targets (indicator_id, adcode, year, kind, applies_to, value, source, label, origin, "
                f"preset_id, set_by, set_at) VALUES ({values(t['indicator_id'], t['adcode'], t['year'], t['kind'])}, "
                f"{values(t['applies_to'], float(t['value']), t['source'], t['label'], 'preset', t['preset_id'])}, "
                f"{values(t['file'], None)})")
            n += 1
        audit_append(con, "targets.sync", username=user, target=f"registry:{reg.version}",
                     detail={"indicators": len(reg.indicators), "preset_targets": n})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"indicators": len(reg.indicators), "registry_version": reg.version, "preset_targets": n}


def _f(v):
    return None if v is None else float(v)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# ---- targets -----------------------------------------------------------------------------------

def _expanded_presets(store: Store) -> list[dict]:
    mountain = {}
    for adcode, cat in store.con.execute(
            "SELECT adcode, mountain_category FROM regions WHERE level = 'county' AND mountain26").fetchall():
        mountain.setdefault(cat, []).append(adcode)
    out = []
    for t in preset_targets():
        if t["applies_to"].startswith("mountain26:"):
            codes = sorted(mountain.get(t["applies_to"].split(":")[1], []))
        else:
            codes = [t["applies_to"]]
        for code in codes:
            out.append({"indicator_id": t["indicator"], "adcode": code, "year": t["year"], "kind": t["kind"],
                        "applies_to": "zones" if t["zones"] else "region", "value": t["value"], "source": t["source"],
                        "label": t["label"], "origin": "preset", "preset_id": t["id"], "set_by": None, "set_at": None,
                        "file": t["file"]})
    return out


def all_targets(store: Store) -> list[dict]:
    """Presets (from the files) and the stored non-preset targets, the latter replacing a preset
    of the same key."""
    cur = store.con.execute(
        "SELECT indicator_id, adcode, year, kind, applies_to, value, source, label, origin, preset_id, set_by, "
        "set_at FROM targets WHERE origin <> 'preset' ORDER BY indicator_id, adcode, year, kind")
    cols = [d[0] for d in cur.description]
    stored = [dict(zip(cols, r)) for r in cur.fetchall()]
    keys = {(t["indicator_id"], t["adcode"], t["year"], t["kind"], t["applies_to"]) for t in stored}
    presets = [t for t in _expanded_presets(store)
               if (t["indicator_id"], t["adcode"], t["year"], t["kind"], t["applies_to"]) not in keys]
    return presets + stored


def list_targets(store: Store, scope: Scope, region: str | None = None, year: int | None = None,
                 indicator_id: str | None = None) -> dict:
    area = scope.narrow(store, region)
    names = _names(store)
    rows = [{**t, "region_name": names.get(t["adcode"], t["adcode"]),
             "origin_label": ORIGIN_LABELS.get(t["origin"], (t["origin"], t["origin"]))[0]}
            for t in all_targets(store) if area.covers(t["adcode"])
            and (year is None or t["year"] == year) and (indicator_id is None or t["indicator_id"] == indicator_id)]
    rows.sort(key=lambda t: (t["year"], t["adcode"], t["indicator_id"], t["kind"]))
    whole = {i.id for i in registry().indicators if i.integer}
    for t in rows:
        t["set_at"] = t["set_at"].isoformat(sep=" ", timespec="seconds") if t.get("set_at") else None
        if t["indicator_id"] in whole and t["kind"] == "level" and float(t["value"]).is_integer():
            t["value"] = int(t["value"])      # a count of firms: 500, not 500.00
    return {"region": area.as_dict(), "targets": rows}


def set_target(store: Store, scope: Scope, indicator_id: str, adcode: str, year: int, value: float, *,
               kind: str = "level", applies_to: str = "region", label: str | None = None, source: str | None = None,
               user: str | None = None) -> dict:
    """A user's own target for a region inside the caller's scope (origin ``user``; replaces any
    earlier one of the same key, and a preset; audited ``targets.set``)."""
    ind = indicator(store, indicator_id)
    if kind not in ("level", "growth"):
        raise ShanhaiError(f"kind must be level or growth, got {kind!r}")
    if applies_to not in ("region", "zones"):
        raise ShanhaiError(f"applies_to must be region or zones, got {applies_to!r}")
    try:
        year = int(year)
        value = float(value)
    except (TypeError, ValueError):
        raise ShanhaiError(f"year must be a whole number and value a number, got {year!r} and {value!r}") from None
    if not 2000 <= year <= 2100:
        raise ShanhaiError(f"year must lie between 2000 and 2100, got {year}")
    if not math.isfinite(value):
        raise ShanhaiError("value must be a finite number")
    if kind == "growth" and not -100 < value < 1000:
        raise ShanhaiError(f"a growth target is in percent (6.5 for +6.5 %) above −100, got {value:g}")
    target_scope = Scope.of(store, adcode)
    if not scope.contains(target_scope):
        raise OutOfScopeError(f"region {target_scope.adcode} is outside your scope ({scope.adcode} {scope.name})")
    label = (label or "").strip() or f"{target_scope.name} {ind['name']} {'增长' if kind == 'growth' else ''}" \
                                      f"{value:g}{'%' if kind == 'growth' else ind['unit']} ({year})"
    source = (source or "").strip() or f"用户设定 set by {user or 'cli'}"
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT OR REPLACE INTO targets (indicator_id, adcode, year, kind, applies_to, value, source, label, "
            f"origin, preset_id, set_by, set_at) VALUES ({values(indicator_id, target_scope.adcode, year, kind)}, "
            f"{values(applies_to, value, source, label, 'user', None, user or 'cli', _now())})")
        audit_append(con, "targets.set", username=user, target=f"{indicator_id}:{target_scope.adcode}:{year}:{kind}",
                     detail={"indicator": indicator_id, "adcode": target_scope.adcode, "year": year, "kind": kind,
                             "applies_to": applies_to, "value": value, "label": label, "source": source})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"indicator_id": indicator_id, "adcode": target_scope.adcode, "year": year, "kind": kind,
            "applies_to": applies_to, "value": value, "label": label, "source": source, "origin": "user"}


# ---- values --------------------------------------------------------------------------------------

def parse_period(period: str) -> tuple[int, int | None]:
    """(year, month) of ``2023`` (None), ``2023-06`` (6), ``2023-Q2`` (6: a quarter's last month)."""
    m = _PERIOD.match(str(period).strip())
    if not m:
        raise ShanhaiError(f"period {period!r} is not 2023, 2023-06 or 2023-Q2")
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ShanhaiError(f"period {period!r}: month must be 01–12")
        return year, month
    if m.group(3):
        return year, 3 * int(m.group(3))
    return year, None


def fingerprint(store: Store) -> str:
    """What the figures read: rows and content hashes of the tables, and the last import change."""
    parts = []
    for table, cols in (("indicator_values", "indicator_id || adcode || period || coalesce(value::VARCHAR, '')"),
                        ("targets", "t"),
                        ("enterprise_years", "t"),
                        ("enterprise_flags", "t"),
                        ("service_facts", "t"),
                        ("electricity_monthly", None)):
        if cols is None:     # tens of millions of rows: count, latest month and total are enough
            parts.append(repr(store.con.execute(
                f"SELECT count(*), max(month), sum(CAST(round(kwh) AS BIGINT)) FROM {table}").fetchone()))
            continue
        parts.append(repr(store.con.execute(
            f"SELECT count(*), coalesce(sum(hash({cols})), 0) FROM {table} t").fetchone()))
    parts.append(repr(store.con.execute("SELECT coalesce(max(change_id), 0) FROM change_history").fetchone()))
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:16]


def _names(store: Store) -> dict[str, str]:
    names = dict(store.con.execute(
        "SELECT adcode, name FROM regions WHERE level IN ('province', 'city', 'county')").fetchall())
    for zid, name in store.con.execute("SELECT zone_id, name FROM zones").fetchall():
        names[f"zone:{zid}"] = name
    return names


def _zones(store: Store) -> dict[str, dict]:
    """zone entity → its county and city."""
    return {f"zone:{z}": {"county": c, "city": city} for z, c, city in store.con.execute(
        "SELECT z.zone_id, z.county_adcode, r.city_adcode FROM zones z LEFT JOIN regions r ON r.adcode = z.county_adcode"
    ).fetchall()}


def _where(entity: str, zones: dict) -> str:
    """The region adcode that decides who may see an entity (a zone: its county)."""
    return zones[entity]["county"] if entity.startswith("zone:") and entity in zones else entity


_SUMS = ("value_added", "tax_paid", "revenue", "main_revenue", "headcount", "energy_tce", "rd_spending",
         "output_value", "profit", "electricity_kwh")


def _computed(store: Store, reg) -> dict:
    """(indicator, entity) → {period: value} for the registry's computed indicators."""
    flags = sorted({i.compute.flag for i in reg.indicators if i.compute and i.compute.kind == "flag_share"})
    flag_cols = "".join(
        f", sum(CASE WHEN EXISTS (SELECT 1 FROM enterprise_flags f WHERE f.uscc = y.uscc AND f.flag = {literal(fl)} "
        f"AND f.valid_from <= make_date(y.year, 12, 31) AND (f.valid_to IS NULL OR f.valid_to >= make_date(y.year, 12, 31))) "
        f"THEN y.value_added END)::DOUBLE AS \"flag_{fl}\"" for fl in flags)
    sums = ", ".join(f"sum(y.{c})::DOUBLE AS {c}" for c in _SUMS)
    land = ("sum(coalesce(y.land_own_mu, 0) + coalesce(y.land_leased_mu, 0) - coalesce(y.land_leased_out_mu, 0))"
            "::DOUBLE AS land_used")
    base = ("FROM enterprise_years y JOIN enterprises e ON e.uscc = y.uscc JOIN regions r ON r.adcode = e.county_adcode "
            "WHERE y.above_scale")
    sql = f"""
        SELECT CASE WHEN grouping(e.county_adcode) = 0 THEN e.county_adcode
                    WHEN grouping(r.city_adcode) = 0 THEN r.city_adcode ELSE '330000' END AS entity,
               y.year, {sums}, {land}{flag_cols}
        {base}
        GROUP BY GROUPING SETS ((e.county_adcode, y.year), (r.city_adcode, y.year), (y.year))
        UNION ALL
        SELECT 'zone:' || e.zone_id, y.year, {sums}, {land}{flag_cols}
        {base} AND e.zone_id IS NOT NULL GROUP BY e.zone_id, y.year"""
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    out: dict = {}
    for r in cur.fetchall():
        row = dict(zip(cols, r))
        for i in reg.indicators:
            c = i.compute
            if c is None or c.kind in ("electricity", "count"):
                continue
            if c.kind == "ratio":
                num, den = row[c.numerator], row[c.denominator]
                v = num / den * c.factor if num is not None and den is not None and den > 0 else None
            elif c.kind == "sum":
                v = row[c.numerator] * c.factor if row[c.numerator] is not None else None
            else:
                num, den = row[f"flag_{c.flag}"], row[c.numerator]
                v = (100.0 * (num or 0.0) / den) if den is not None and den > 0 else None
            if v is not None:
                out.setdefault((i.id, row["entity"]), {})[str(row["year"])] = v
    elec = [i for i in reg.indicators if i.compute and i.compute.kind == "electricity"]
    if elec:
        rows = store.con.execute("""
            SELECT CASE WHEN grouping(e.county_adcode) = 0 THEN e.county_adcode
                        WHEN grouping(r.city_adcode) = 0 THEN r.city_adcode ELSE '330000' END AS entity,
                   year(m.month) AS y, month(m.month) AS mo, sum(m.kwh)::DOUBLE
            FROM electricity_monthly m JOIN enterprises e ON e.uscc = m.uscc JOIN regions r ON r.adcode = e.county_adcode
            WHERE m.kwh IS NOT NULL
            GROUP BY GROUPING SETS ((e.county_adcode, y, mo), (r.city_adcode, y, mo), (y, mo))
            ORDER BY entity, y, mo""").fetchall()
        for i in elec:
            run = None
            for entity, y, mo, kwh in rows:
                key = (entity, y)
                if key != run:
                    run, total = key, 0.0
                total += kwh
                out.setdefault((i.id, entity), {})[f"{y}-{mo:02d}"] = total * i.compute.factor
    counts = [i for i in reg.indicators if i.compute and i.compute.kind == "count"]
    if counts:
        out.update(_counts(store, counts))
    return out


def _count_rows(store: Store, hits: str, monthly: bool) -> list[tuple]:
    """(entity, year[, month], firms) of a SELECT of ``uscc, year[, month]``: per county, city,
    the province and zone (the firm's current county and zone)."""
    m = ", h.month" if monthly else ""
    entity = ("CASE WHEN grouping(e.county_adcode) = 0 THEN e.county_adcode "
              "WHEN grouping(r.city_adcode) = 0 THEN r.city_adcode ELSE '330000' END")
    base = f"FROM ({hits}) h JOIN enterprises e ON e.uscc = h.uscc JOIN regions r ON r.adcode = e.county_adcode"
    return store.con.execute(f"""
        SELECT {entity} AS entity, h.year{m}, count(DISTINCT h.uscc)
        {base}
        GROUP BY GROUPING SETS ((e.county_adcode, h.year{m}), (r.city_adcode, h.year{m}), (h.year{m}))
        UNION ALL
        SELECT 'zone:' || e.zone_id, h.year{m}, count(DISTINCT h.uscc)
        {base} WHERE e.zone_id IS NOT NULL GROUP BY e.zone_id, h.year{m}""").fetchall()


def _counts(store: Store, counts: list) -> dict:
    """(indicator, entity) → {period: firms} for the registry's counts (``analysis.firm_counts``).
    Every county, city, zone with firms and the province gets a figure for each year of the data
    (0 when none is counted): annual counts ``2023``, new grants January to month N ``2023-06``.
    The store's first year has no 小升规 figure (no year before it); service-facts titles only
    the years the facts cover."""
    years = [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]
    if not years:
        return {}
    entities = ["330000"]
    for county, city, zone in store.con.execute(
            "SELECT DISTINCT e.county_adcode, r.city_adcode, e.zone_id FROM enterprises e "
            "JOIN regions r ON r.adcode = e.county_adcode").fetchall():
        entities += [county, city] + ([f"zone:{zone}"] if zone is not None else [])
    entities = sorted(set(e for e in entities if e))
    fact_years = None
    out: dict = {}
    for i in counts:
        c = i.compute
        span = years
        if c.count == "new_above_scale":
            hits, span = firm_counts.above_scale_entries_sql(years[0]), years[1:]
        elif c.count == "flag":
            hits = firm_counts.flag_held_sql(c.flags, years)
        elif c.count == "new_flag":
            hits = firm_counts.flag_granted_sql(c.flags)
        elif c.count == "over":
            hits = firm_counts.over_threshold_sql(c.numerator, c.threshold)
        else:
            if fact_years is None:
                fact_years = [r[0] for r in store.con.execute(
                    "SELECT DISTINCT year FROM service_facts ORDER BY 1").fetchall()]
            hits, span = firm_counts.facts_sql(tuple(COUNT_FACTS[f][0] for f in c.facts)), fact_years
        if c.count == "new_flag":
            per: dict = {}
            for entity, y, mo, n in _count_rows(store, hits, True):
                per[(entity, y, mo)] = int(n)
            for entity in entities:
                series = out.setdefault((i.id, entity), {})
                for y in span:
                    total = 0
                    for mo in range(1, 13):
                        total += per.get((entity, y, mo), 0)
                        series[f"{y}-{mo:02d}"] = total
            continue
        per = {(entity, y): int(n) for entity, y, n in _count_rows(store, hits, False)}
        for entity in entities:
            series = out.setdefault((i.id, entity), {})
            for y in span:
                series[str(y)] = per.get((entity, y), 0)
    return out


_VALUE_CACHE: dict[tuple, dict] = {}


def load_values(store: Store) -> dict:
    """(indicator, entity) → {period: value}: imported rows and the computed figures, cached per
    store file and data fingerprint (a changed table is a new fingerprint)."""
    reg = registry()
    key = (str(getattr(store, "path", id(store))), fingerprint(store), reg.fingerprint())
    hit = _VALUE_CACHE.get(key)
    if hit is not None:
        return hit
    computed = {i.id for i in reg.indicators if i.source == "computed"}
    out: dict = {}
    for iid, adcode, period, value in store.con.execute(
            "SELECT indicator_id, adcode, period, value FROM indicator_values WHERE value IS NOT NULL").fetchall():
        if iid in computed:
            continue
        out.setdefault((iid, adcode), {})[period] = float(value)
    out.update(_computed(store, reg))
    if len(_VALUE_CACHE) > 8:
        _VALUE_CACHE.clear()
    _VALUE_CACHE[key] = out
    return out


def series_of(vals: dict, indicator_id: str, entity: str) -> tuple[dict, dict]:
    """(monthly {year: {month: value}}, annual {year: value}) of one indicator and entity."""
    monthly: dict = {}
    annual: dict = {}
    for period, v in vals.get((indicator_id, entity), {}).items():
        y, m = parse_period(period)
        if m is None:
            annual[y] = v
        else:
            monthly.setdefault(y, {})[m] = v
    return monthly, annual


def latest_period(store: Store) -> tuple[int, int]:
    """The data's "today": the latest monthly period imported, else December of the latest year of
    ``enterprise_years``."""
    row = store.con.execute(
        "SELECT max(period) FROM indicator_values WHERE regexp_matches(period, '^[0-9]{4}-[0-9]{2}$')").fetchone()
    if row and row[0]:
        y, m = parse_period(row[0])
        return y, m
    row = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()
    if row and row[0]:
        return int(row[0]), 12
    return dt.date.today().year, dt.date.today().month


def _as_of(store: Store, year: int | None, month: int | None) -> tuple[int, int]:
    ly, lm = latest_period(store)
    if year is None:
        return ly, (lm if month is None else _month(month))
    return int(year), (_month(month) if month is not None else (lm if int(year) == ly else 12))


def _month(month) -> int:
    try:
        m = int(month)
    except (TypeError, ValueError):
        raise ShanhaiError(f"month must be 1–12, got {month!r}") from None
    if not 1 <= m <= 12:
        raise ShanhaiError(f"month must be 1–12, got {m}")
    return m


# ---- status --------------------------------------------------------------------------------------

def _value_at(monthly: dict, annual: dict, ind: dict, year: int, month: int):
    """The figure of ``year`` as of ``month`` and the previous year's same period."""
    if ind["cadence"] == "year":
        return annual.get(year), annual.get(year - 1), "year"
    cur = monthly.get(year, {}).get(month)
    prev = monthly.get(year - 1, {}).get(month)
    if cur is None and month == 12 and year in annual:
        cur = annual[year]
    return cur, prev, "month"


def _entities(t: dict, zones: dict) -> list[str]:
    if t["applies_to"] != "zones":
        return [t["adcode"]]
    scope_code = t["adcode"]
    out = []
    for z, info in zones.items():
        if scope_code == "330000" or scope_code in (info["county"], info["city"]):
            out.append(z)
    return sorted(out)


def _row(t: dict, entity: str, ind: dict, vals: dict, year: int, month: int, rules, progress: float) -> dict:
    """One target for one entity as of (year, month)."""
    monthly, annual = series_of(vals, ind["indicator_id"], entity)
    direction = ind["direction"]
    T = t["year"]
    monthly_ind = ind["cadence"] != "year"
    out = {"indicator_id": ind["indicator_id"], "indicator_name": ind["name"], "indicator_name_en": ind["name_en"],
           "unit": ind["unit"], "direction": direction, "entity": entity, "target_year": T, "kind": t["kind"],
           "target": t["value"], "applies_to": t["applies_to"], "target_label": t.get("label"),
           "source": t.get("source"), "origin": t["origin"], "preset_id": t.get("preset_id"),
           "cumulative": bool(ind["cumulative"]), "cadence": ind["cadence"]}
    if T < year:
        horizon, ey, em = "past", T, 12
    elif T == year:
        horizon, ey, em = "current", year, (month if monthly_ind else 12)
    else:
        horizon, ey, em = "future", year, (month if monthly_ind else 12)
    out["horizon"] = horizon
    cur, prev, _ = _value_at(monthly, annual, ind, ey, em)
    out.update({"period": f"{ey}-{em:02d}" if monthly_ind else str(ey), "actual": cur, "previous": prev,
                "growth": at.growth_rate(cur, prev)})
    p = progress if (horizon == "current" and monthly_ind and ind["cumulative"]) else 1.0
    out["progress"] = p
    if ind.get("rate_points") and t["kind"] == "level":
        # an imported rate (unit %, e.g. a published 增速): its value against the target in points
        res = at.growth_light(cur, t["value"], direction, rules.growth)
        out.update({"measure": "gap_points", "gap_points": res["gap_points"], "ratio": None, "completion": None,
                    "due": None, "light": res["light"]})
    elif t["kind"] == "growth":
        res = at.growth_light(out["growth"], t["value"], direction, rules.growth)
        out.update({"measure": "gap_points", "gap_points": res["gap_points"], "ratio": None, "completion": None,
                    "due": None, "light": res["light"]})
    elif horizon == "future":
        last_year = max(annual) if (not monthly_ind and annual) else ey
        actual = annual.get(last_year) if not monthly_ind else (monthly.get(ey - 1, {}).get(12))
        recent = at.growth_rate(actual, annual.get(last_year - 1)) if not monthly_ind else None
        res = at.future_light(actual, t["value"], T - (last_year if not monthly_ind else ey - 1), recent, direction,
                              rules.future.amber_if_on_trend)
        if not monthly_ind:
            out.update({"period": str(last_year), "actual": actual, "growth": recent})
        out.update({"measure": "future", "completion": (actual / t["value"] if actual is not None and t["value"] > 0
                                                         and direction == "higher" else
                                                         (t["value"] / actual if actual and actual > 0 else None)),
                    "ratio": None, "gap_points": None, "due": t["value"], "needed_growth": res.get("needed_growth"),
                    "light": res["light"]})
    else:
        res = at.level_light(cur, t["value"], p, direction, rules.level, bool(ind["cumulative"]))
        out.update({"measure": res["measure"], "completion": res["completion"], "ratio": res["ratio"],
                    "gap_points": res["gap_points"], "due": res["due"], "light": res["light"],
                    "note": res.get("note")})
    out["forecast"] = None
    out["trending_to_miss"] = False
    if horizon == "current" and monthly_ind and ind["cumulative"] and cur is not None:
        fr = rules.forecast
        if em < 12 and em >= fr.earliest_month:
            f = at.forecast(monthly, ey, em, tuple(fr.methods), fr.share_years, fr.z, fr.min_backtests)
            last_end = monthly.get(ey - 1, {}).get(12)
            fc = {"method": f["method"], "point": f["point"], "low": f["low"], "high": f["high"], "rmse": f["rmse"],
                  "mape": f.get("mape"), "n_backtests": f["n_backtests"], "note": f["note"],
                  "backtest": [{k: e[k] for k in ("year", "error")} for m in f["methods"]
                               if m["method"] == f["method"] for e in m["backtest"]]}
            if t["kind"] == "growth":
                conv = (lambda v: at.growth_rate(v, last_end)) if last_end else (lambda v: None)
                fc.update({"growth": conv(f["point"]) if f["point"] is not None else None,
                           "growth_low": conv(f["low"]) if f["low"] is not None else None,
                           "growth_high": conv(f["high"]) if f["high"] is not None else None})
                best, point = fc["growth_high"] if direction == "higher" else fc["growth_low"], fc["growth"]
            else:
                best, point = (f["high"] if direction == "higher" else f["low"]), f["point"]
            fc["reaches_target"] = None
            if point is not None:
                fc["reaches_target"] = point >= t["value"] if direction == "higher" else point <= t["value"]
            if best is not None and rules.watch.trending:
                out["trending_to_miss"] = best < t["value"] if direction == "higher" else best > t["value"]
            out["forecast"] = fc
    elif horizon == "future" and out.get("light") == "red":
        out["trending_to_miss"] = True
    if ind.get("integer"):
        _whole(out)
    return out


def _whole(row: dict) -> None:
    """A count of firms shown in whole firms: a whole target as an int, the actual, previous, due
    figure and forecast rounded after the light is decided (growth, completion, gap stay as computed)."""
    if isinstance(row.get("target"), float) and row["target"].is_integer():
        row["target"] = int(row["target"])
    for k in ("actual", "previous", "due"):
        if isinstance(row.get(k), float) and math.isfinite(row[k]):
            row[k] = round(row[k])
    fc = row.get("forecast")
    if fc and row["kind"] == "level":
        for k in ("point", "low", "high"):
            if isinstance(fc.get(k), float) and math.isfinite(fc[k]):
                fc[k] = round(fc[k])


def _rules(name: str):
    return monitoring_rules(name)


def evaluate(store: Store, scope: Scope, region: str | None = None, year: int | None = None,
             month: int | None = None, *, rules: str = "default", indicator_id: str | None = None,
             light: str | None = None, previous: bool = True) -> dict:
    """Every target of the regions (and zones) inside the asked region as of (year, month): its
    value, the calendar progress, gap, ratio, light, year-end forecast and, with ``previous``, the
    light a month earlier. Rows sorted worst light first."""
    area = scope.narrow(store, region)
    y, m = _as_of(store, year, month)
    r = _rules(rules)
    progress = at.calendar_progress(y, m, r.calendar.basis, r.calendar.plan or None)
    vals = load_values(store)
    names = _names(store)
    zones = _zones(store)
    inds = {i["indicator_id"]: i for i in indicators(store)}
    rows = []
    for t in all_targets(store):
        ind = inds.get(t["indicator_id"])
        if ind is None or (indicator_id and t["indicator_id"] != indicator_id):
            continue
        for entity in _entities(t, zones):
            if entity not in zones and not entity.startswith("zone:") and entity not in names:
                continue
            if not area.covers(_where(entity, zones)):
                continue
            row = _row(t, entity, ind, vals, y, m, r, progress)
            row["entity_name"] = names.get(entity, entity)
            row["region_adcode"] = _where(entity, zones)
            row["level"] = "zone" if entity.startswith("zone:") else _level(entity)
            if previous and row["horizon"] == "current" and ind["cadence"] != "year" and m > 1:
                before = _row(t, entity, ind, vals, y, m - 1, r,
                              at.calendar_progress(y, m - 1, r.calendar.basis, r.calendar.plan or None))
                row["previous_light"] = before["light"]
                row["change"] = _change(before["light"], row["light"])
            else:
                row["previous_light"], row["change"] = None, None
            rows.append(row)
    if light:
        rows = [x for x in rows if x["light"] == light]
    rows.sort(key=lambda x: (at.LIGHT_ORDER[x["light"]], x["target_year"], x["indicator_id"], x["entity"]))
    counts = {k: sum(1 for x in rows if x["light"] == k) for k in at.LIGHT_ORDER}
    return {"region": area.as_dict(), "as_of": {"year": y, "month": m, "progress": progress,
                                                 "basis": r.calendar.basis},
            "rules": {"name": r.name, "version": r.version, "display_name": r.display_name, "source": r.source,
                      "fingerprint": r.fingerprint()},
            "registry_version": registry().version, "fingerprint": fingerprint(store),
            "rows": rows, "counts": counts}


def _level(adcode: str) -> str:
    if adcode == "330000":
        return "province"
    return "city" if adcode.endswith("00") else "county"


def _change(before: str, now: str) -> str | None:
    if "grey" in (before, now) or before == now:
        return None
    return "better" if at.LIGHT_ORDER[now] > at.LIGHT_ORDER[before] else "worse"


def region_status(store: Store, scope: Scope, region: str | None = None, year: int | None = None,
                  month: int | None = None, rules: str = "default") -> dict:
    """The briefing's summary of a region (plain dicts): as-of, counts by light, the rows, the red
    and trending-to-miss targets, the targets whose light rose or fell since the month before.
    Growth figures (``growth``, ``forecast_growth``, the ``target`` of a growth target, ``gap_points``)
    are already in percent (6.3 = +6.3 %); ``progress``, ``completion`` and ``ratio`` are fractions."""
    doc = evaluate(store, scope, region, year, month, rules=rules)
    keep = ("indicator_id", "indicator_name", "entity", "entity_name", "region_adcode", "level", "target_year", "kind", "target",
            "actual", "growth", "progress", "completion", "ratio", "gap_points", "light", "previous_light", "change",
            "trending_to_miss", "horizon", "source", "unit", "period")
    rows = [{k: x.get(k) for k in keep} | {"forecast": (x["forecast"] or {}).get("point"),
                                          "forecast_growth": (x["forecast"] or {}).get("growth")} for x in doc["rows"]]
    return {"region": doc["region"], "as_of": doc["as_of"], "rules": doc["rules"], "counts": doc["counts"],
            "rows": rows, "red": [x for x in rows if x["light"] == "red"],
            "trending_to_miss": [x for x in rows if x["trending_to_miss"]],
            "rose": [x for x in rows if x["change"] == "better"], "fell": [x for x in rows if x["change"] == "worse"]}


# ---- one indicator's series and forecast ---------------------------------------------------------

def indicator_series(store: Store, scope: Scope, indicator_id: str, region: str | None = None,
                     year: int | None = None, month: int | None = None, rules: str = "default") -> dict:
    """One indicator of one region: this year's and last year's monthly (or annual) figures, the
    targets, the status rows and the year-end forecast with its band."""
    area = scope.narrow(store, region)
    ind = indicator(store, indicator_id)
    y, m = _as_of(store, year, month)
    r = _rules(rules)
    vals = load_values(store)
    monthly, annual = series_of(vals, indicator_id, area.adcode)
    doc = evaluate(store, scope, area.adcode, y, m, rules=rules, indicator_id=indicator_id, previous=False)
    own = [x for x in doc["rows"] if x["entity"] == area.adcode]
    fc = None
    if ind["cadence"] != "year" and ind["cumulative"] and monthly.get(y, {}).get(m) is not None and m < 12:
        f = r.forecast
        res = at.forecast(monthly, y, m, tuple(f.methods), f.share_years, f.z, f.min_backtests)
        fc = {k: res.get(k) for k in ("method", "point", "low", "high", "rmse", "mape", "n_backtests", "note")}
        fc["methods"] = [{"method": t["method"], "point": t["point"], "rmse": t["rmse"], "mape": t["mape"],
                          "backtest": t["backtest"]} for t in res["methods"]]
        if m < f.earliest_month:
            fc["note"] = f"{f.earliest_month} 月前不作年度预计 no year-end estimate before month {f.earliest_month}"
        if ind.get("integer"):      # a count of firms: whole firms
            for d in (fc, *fc["methods"]):
                for k in ("point", "low", "high"):
                    if isinstance(d.get(k), float) and math.isfinite(d[k]):
                        d[k] = round(d[k])
    years = sorted(set(monthly) | set(annual))
    return {"region": area.as_dict(), "indicator": ind, "as_of": doc["as_of"], "rules": doc["rules"],
            "monthly": {str(k): [monthly[k].get(mm) for mm in range(1, 13)] for k in sorted(monthly)},
            "annual": {str(k): annual[k] for k in sorted(annual)}, "years": years, "rows": own,
            "sub_rows": [x for x in doc["rows"] if x["entity"] != area.adcode], "forecast": fc,
            "fingerprint": doc["fingerprint"]}


# ---- watch list ----------------------------------------------------------------------------------

def watch(store: Store, scope: Scope, region: str | None = None, year: int | None = None,
          month: int | None = None, rules: str = "default") -> dict:
    """Targets red or trending to miss, and regions whose headline figure is past an indicator's
    alert threshold (no target needed)."""
    doc = evaluate(store, scope, region, year, month, rules=rules)
    items = []
    for x in doc["rows"]:
        if x["horizon"] == "past":
            continue
        reasons = []
        if x["light"] == "red":
            reasons.append(("红灯", "red light"))
        if x["trending_to_miss"]:
            reasons.append(("预计难完成", "trending to miss"))
        if reasons:
            items.append({**_watch_base(x), "reason": "、".join(z for z, _ in reasons),
                          "reason_en": ", ".join(e for _, e in reasons), "kind": "target"})
    area = scope.narrow(store, region)
    y, m = doc["as_of"]["year"], doc["as_of"]["month"]
    vals = load_values(store)
    names = _names(store)
    for ind in indicators(store):
        if ind["alert_threshold"] is None and ind["excellence_threshold"] is None:
            continue
        for (iid, entity), _ in vals.items():
            if iid != ind["indicator_id"] or entity.startswith("zone:") or entity not in names \
                    or not area.covers(entity):
                continue
            monthly, annual = series_of(vals, iid, entity)
            cur, prev, _ = _value_at(monthly, annual, ind, y, m if ind["cadence"] != "year" else 12)
            figure = at.growth_rate(cur, prev) if ind["headline"] == "growth" else cur
            flag = at.threshold_flag(figure, ind["alert_threshold"], None, ind["direction"])
            if flag == "alert":
                items.append({"indicator_id": iid, "indicator_name": ind["name"], "entity": entity,
                              "entity_name": names.get(entity, entity), "level": _level(entity), "light": None,
                              "figure": figure, "headline": ind["headline"], "threshold": ind["alert_threshold"],
                              "unit": "%" if ind["headline"] == "growth" else ind["unit"], "kind": "threshold",
                              "reason": "低于预警线" if ind["direction"] == "higher" else "高于预警线",
                              "reason_en": "past the alert threshold", "target": None, "forecast": None})
    items.sort(key=lambda i: (i["kind"] != "target", i["entity"], i["indicator_id"]))
    return {"region": doc["region"], "as_of": doc["as_of"], "rules": doc["rules"], "items": items,
            "fingerprint": doc["fingerprint"]}


def _watch_base(x: dict) -> dict:
    fc = x.get("forecast") or {}
    return {"indicator_id": x["indicator_id"], "indicator_name": x["indicator_name"], "entity": x["entity"],
            "entity_name": x["entity_name"], "level": x["level"], "light": x["light"], "target": x["target"],
            "target_kind": x["kind"], "target_year": x["target_year"], "actual": x["actual"], "growth": x["growth"],
            "figure": x["growth"] if x["kind"] == "growth" else x["actual"], "unit": x["unit"],
            "forecast": fc.get("growth") if x["kind"] == "growth" else fc.get("point"),
            "forecast_low": fc.get("growth_low") if x["kind"] == "growth" else fc.get("low"),
            "forecast_high": fc.get("growth_high") if x["kind"] == "growth" else fc.get("high")}


# ---- composite index -----------------------------------------------------------------------------

def _group_members(store: Store, group: str) -> list[str]:
    if group == "cities":
        sql = "SELECT adcode FROM regions WHERE level = 'city' ORDER BY adcode"
    elif group == "counties":
        sql = "SELECT adcode FROM regions WHERE level = 'county' ORDER BY adcode"
    elif group == "mountain26":
        sql = "SELECT adcode FROM regions WHERE level = 'county' AND mountain26 ORDER BY adcode"
    else:
        raise ShanhaiError(f"unknown group {group!r}: expected {', '.join(GROUPS)}")
    return [r[0] for r in store.con.execute(sql).fetchall()]


def composite(store: Store, scope: Scope, region: str | None = None, year: int | None = None,
              month: int | None = None, *, group: str = "counties", rules: str = "default") -> dict:
    """The composite index of a group (cities, counties, the 26 mountain counties) as of (year,
    month): ranked over the whole group, the rows inside the caller's (asked) region shown."""
    area = scope.narrow(store, region)
    ir = index_rules(rules)
    y, m = _as_of(store, year, month)
    vals = load_values(store)
    inds = {i["indicator_id"]: i for i in indicators(store)}
    members = _group_members(store, group)
    names = _names(store)
    items, directions, raw = [], {}, {}
    for it in ir.items:
        key = f"{it.indicator}:{it.measure}"
        items.append((key, it.weight))
        directions[key] = inds[it.indicator]["direction"] if it.measure == "level" else "higher"
        if it.measure == "growth" and inds[it.indicator]["direction"] == "lower":
            directions[key] = "lower"
    for code in members:
        row = {}
        for it in ir.items:
            ind = inds[it.indicator]
            monthly, annual = series_of(vals, it.indicator, code)
            cur, prev, _ = _value_at(monthly, annual, ind, y, m if ind["cadence"] != "year" else 12)
            if ind["cadence"] == "year" and cur is None:       # annual figures: the latest year up to y
                have = [k for k in annual if k <= y]
                if have:
                    cur, prev = annual[max(have)], annual.get(max(have) - 1)
            row[f"{it.indicator}:{it.measure}"] = at.growth_rate(cur, prev) if it.measure == "growth" else cur
        raw[code] = row
    ranked = at.composite_index(raw, items, directions, ir.base, ir.span, ir.missing)
    out = []
    for r in ranked:
        if not area.covers(r["key"]):
            continue
        out.append({"adcode": r["key"], "name": names.get(r["key"], r["key"]), "index": r["index"], "rank": r["rank"],
                    "of": len(members), "scores": r["scores"], "values": raw[r["key"]], "missing": r["missing"]})
    return {"region": area.as_dict(), "group": group, "group_label": GROUPS[group][0], "as_of": {"year": y, "month": m},
            "rules": {"name": ir.name, "version": ir.version, "display_name": ir.display_name, "source": ir.source,
                      "base": ir.base, "span": ir.span, "missing": ir.missing, "fingerprint": ir.fingerprint()},
            "items": [{"key": k, "indicator_id": k.split(":")[0], "measure": k.split(":")[1], "weight": w,
                       "name": inds[k.split(":")[0]]["name"], "direction": directions[k]} for k, w in items],
            "rows": out, "members": len(members), "fingerprint": fingerprint(store)}


# ---- runs ----------------------------------------------------------------------------------------

def run(store: Store, scope: Scope, region: str | None = None, year: int | None = None, month: int | None = None,
        *, rules: str = "default", index: str = "default", user: str | None = None) -> dict:
    """Evaluate the status, the watch list and the index of every group, and store them as a new
    run (kind ``targets``); the registry and presets are synced first. Returns the run's summary."""
    sync(store, user)
    area = scope.narrow(store, region)
    doc = evaluate(store, scope, area.adcode, year, month, rules=rules)
    w = watch(store, scope, area.adcode, doc["as_of"]["year"], doc["as_of"]["month"], rules=rules)
    groups = {g: composite(store, scope, area.adcode, doc["as_of"]["year"], doc["as_of"]["month"], group=g,
                           rules=index) for g in GROUPS}
    now = _now()
    run_id = f"targets-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    ir = index_rules(index)
    params = {"region": area.adcode, "year": doc["as_of"]["year"], "month": doc["as_of"]["month"],
              "progress": doc["as_of"]["progress"], "basis": doc["as_of"]["basis"], "rules": doc["rules"],
              "index": {"name": ir.name, "version": ir.version, "fingerprint": ir.fingerprint()},
              "registry_version": doc["registry_version"]}
    summary = {"counts": doc["counts"], "rows": len(doc["rows"]), "watch": len(w["items"]),
               "as_of": doc["as_of"], "region": area.as_dict()}
    results = [(run_id, "summary", "summary", summary)]
    results += [(run_id, "status", f"{x['indicator_id']}|{x['entity']}|{x['target_year']}|{x['kind']}|"
                 f"{x['applies_to']}", x) for x in doc["rows"]]
    results += [(run_id, "watch", f"{i['kind']}|{i['indicator_id']}|{i['entity']}|{n}", i)
                for n, i in enumerate(w["items"])]
    for g, d in groups.items():
        results += [(run_id, f"index_{g}", r["adcode"], r) for r in d["rows"]]
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status, note) VALUES ({values(run_id, KIND, doc['rules']['name'])}, "
            f"{literal(doc['rules']['version'])}, {literal(json.dumps(params, ensure_ascii=False))}::JSON, "
            f"{values(doc['fingerprint'], __version__, user or 'cli', now, 'done', None)})")
        con.executemany("INSERT INTO run_results (run_id, entity_kind, entity_id, result) VALUES (?, ?, ?, ?)",
                        [(a, b, c, json.dumps(d, ensure_ascii=False, default=str)) for a, b, c, d in results])
        audit_append(con, "run.targets", username=user, target=run_id,
                     detail={"region": area.adcode, "year": doc["as_of"]["year"], "month": doc["as_of"]["month"],
                             "rules": doc["rules"]["name"], "index": ir.name, "counts": doc["counts"]})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {"run_id": run_id, "params": params, "summary": summary}


def list_runs(store: Store, scope: Scope, limit: int = 20) -> list[dict]:
    """Stored target runs whose region lies inside the caller's scope, newest first."""
    rows = store.con.execute(
        f"SELECT run_id, params::VARCHAR, created_by, created_at, policy_name, policy_version FROM runs "
        f"WHERE kind = {literal(KIND)} ORDER BY created_at DESC, run_id DESC").fetchall()
    out = []
    for run_id, params, by, at_, pname, pver in rows:
        p = json.loads(params)
        if not scope.covers(p["region"]) or (p["region"] == "330000" and not scope.is_province):
            continue
        out.append({"run_id": run_id, "region": p["region"], "year": p["year"], "month": p["month"],
                    "rules": pname, "rules_version": pver, "created_by": by,
                    "created_at": at_.isoformat(sep=" ", timespec="seconds")})
        if len(out) >= limit:
            break
    return out


def run_doc(store: Store, scope: Scope, run_id: str) -> dict:
    """A stored run as it was computed: params, summary, status rows, watch items, index rows."""
    row = store.con.execute(
        f"SELECT params::VARCHAR, created_by, created_at, inputs_fingerprint, code_version FROM runs "
        f"WHERE run_id = {literal(run_id)} AND kind = {literal(KIND)}").fetchone()
    if row is None:
        raise NotFoundError(f"no targets run {run_id!r}: see `shanhai targets runs`")
    params = json.loads(row[0])
    region = params["region"]
    if not (scope.covers(region) and (region != "330000" or scope.is_province)):
        raise OutOfScopeError(f"run {run_id} covers {region}, outside your scope ({scope.adcode} {scope.name})")
    out = {"run_id": run_id, "params": params, "created_by": row[1],
           "created_at": row[2].isoformat(sep=" ", timespec="seconds"), "inputs_fingerprint": row[3],
           "code_version": row[4], "status": [], "watch": [], "index": {g: [] for g in GROUPS}, "summary": None}
    zones = _zones(store)
    for kind, entity_id, result in store.con.execute(
            f"SELECT entity_kind, entity_id, result::VARCHAR FROM run_results WHERE run_id = {literal(run_id)} "
            "ORDER BY entity_kind, entity_id").fetchall():
        r = json.loads(result)
        if kind == "summary":
            out["summary"] = r
        elif kind in ("status", "watch"):
            if scope.covers(_where(r["entity"], zones)):
                out[kind].append(r)
        elif kind.startswith("index_"):
            if scope.covers(r["adcode"]):
                out["index"][kind.removeprefix("index_")].append(r)
    for g in out["index"]:
        out["index"][g].sort(key=lambda r: (r["rank"] is None, r["rank"] or 0))
    return out
