"""The 腾笼换鸟 ledger (cage swap) in the store: the remediation register, what each completed
action frees, allocations of freed quota to projects, balances and progress (formulas in
:mod:`shanhai.analysis.transition`, rules in ``policy/transition/ledger_*.toml``).

- **Register** (``remediation_actions``): actions of kind close / eliminate / remediate / relocate
  on a firm, status planned → in_progress → done (or cancelled), seeded from a stored per-mu run's
  C/D lists (``seed_from_mujun``), added by hand (``add_action``) — every write audited.
- **Freed**: when an action is done, its firm's last full year in ``enterprise_years`` (the latest
  year before the completion year; else the completion year) gives land used, energy and CO2; the
  kind's shares make the freed amounts (or audited figures given with the action, marked
  ``measured``), credited to the firm's county and the completion year, on the rule set's basis.
  A store keeps one basis: an action or allocation on another basis is refused.
- **Allocations** (``quota_allocations``): a project of the register (``projects``) receives
  energy (and optionally carbon and land) from its landing county's balance; its intensity
  (planned energy ÷ value added, stored on the allocation) must pass the threshold of the
  allocation date, and each amount must fit the available balance — else a ShanhaiError and
  nothing is written. A project receives each quota kind once.
- **Balances**: per county freed, allocated and available (freed = allocated + available, exactly,
  in Decimal); a city or the province adds its counties. **Progress**: the region's completed
  actions in a target's period against the 2023 targets of the province (seed 001) and Shaoxing.

Every reader takes the caller's ``Scope``: a county sees and acts on its own county's register.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from decimal import Decimal

from shanhai import __version__
from shanhai.analysis import transition as at
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._transition import (BASIS_LABELS, KINDS, QUOTA_KINDS, QUOTA_UNITS, TARGET_FIELDS, LedgerRules,
                                        ledger_rule_sets, ledger_rules)
from shanhai.store import Store, audit
from shanhai.store.scope import Scope
from shanhai.store.sql import literal, values

STATUSES = ("planned", "in_progress", "done", "cancelled")
STATUS_LABELS = {"planned": ("计划", "Planned"), "in_progress": ("实施中", "In progress"),
                 "done": ("已完成", "Done"), "cancelled": ("已撤销", "Cancelled")}
# where an action came from (remediation_actions.source)
SOURCE_LABELS = {"mujun": ("亩均评价", "Per-mu evaluation"), "manual": ("手工录入", "Entered by hand"),
                 "import": ("导入", "Imported"), "synthetic": ("合成演示", "Synthetic demo")}
# the kind of a quota freed by actions and allocated to projects (QUOTA_KINDS)
QUOTA_KIND_LABELS = {"land": ("用地", "Land"), "energy": ("用能", "Energy"), "carbon": ("碳排放", "Carbon")}
NEXT_STATUS = {"planned": ("in_progress", "done", "cancelled"), "in_progress": ("done", "cancelled"),
               "done": (), "cancelled": ()}
SEED_KIND = "transition_seed"
LAND_USED = ("CAST(coalesce(y.land_own_mu, 0) + coalesce(y.land_leased_mu, 0) - coalesce(y.land_leased_out_mu, 0) "
             "AS DOUBLE)")
ZERO = Decimal(0)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _date(value, field: str = "date") -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ShanhaiError(f"{field} {value!r} is not a date: expected YYYY-MM-DD") from None


def _rules(rules: LedgerRules | str) -> LedgerRules:
    return rules if isinstance(rules, LedgerRules) else ledger_rules(rules)


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _names(store: Store) -> dict[str, str]:
    return dict(store.con.execute("SELECT adcode, name FROM regions WHERE level IN ('province', 'city', 'county')")
                .fetchall())


def ledger_basis(store: Store) -> str | None:
    """The basis the store's ledger is kept on (None while it is empty)."""
    rows = store.con.execute(
        "SELECT DISTINCT basis FROM remediation_actions WHERE basis IS NOT NULL "
        "UNION SELECT DISTINCT basis FROM quota_allocations WHERE basis IS NOT NULL").fetchall()
    if len(rows) > 1:
        raise ShanhaiError(f"the ledger mixes energy bases ({', '.join(sorted(r[0] for r in rows))}): "
                           "fix the register before adding to it")
    return rows[0][0] if rows else None


def _check_basis(store: Store, rules: LedgerRules) -> None:
    kept = ledger_basis(store)
    if kept is not None and kept != rules.basis:
        zh_kept, zh_new = BASIS_LABELS[kept][0], BASIS_LABELS[rules.basis][0]
        raise ShanhaiError(f"the ledger is kept in {kept} ({zh_kept}); rule set {rules.name!r} uses {rules.basis} "
                           f"({zh_new}): never mix bases inside one ledger — use a rule set on {kept}")


def _basis_doc(rules: LedgerRules, store: Store | None = None) -> dict:
    zh, en = BASIS_LABELS[rules.basis]
    warning = None
    if rules.basis == "equivalent_coal":
        warning = ("等价值台账：电力按年度等价值系数折标，该系数为山海设定参数（未找到浙江省公布值），与当量值台账不可混用。"
                   " / Coal-equivalent ledger: electricity is valued at a yearly coefficient that is a Shanhai "
                   "parameter (no published Zhejiang value found); never mix with a calorific ledger.")
    return {"rule_set": rules.name, "version": rules.version, "display_name": rules.display_name,
            "basis": rules.basis, "basis_label": zh, "basis_label_en": en, "fingerprint": rules.fingerprint(),
            "factors": rules.factors.model_dump(mode="json"), "inclusive": rules.inclusive,
            "thresholds": [t.model_dump(mode="json") for t in rules.thresholds],
            "kinds": {k: v.model_dump(mode="json") for k, v in rules.kinds.items()},
            "sources": list(rules.sources), "warning": warning,
            "ledger_basis": ledger_basis(store) if store is not None else None}


def rule_sets() -> list[dict]:
    return [{"name": r.name, "version": r.version, "display_name": r.display_name, "basis": r.basis,
             "basis_label": BASIS_LABELS[r.basis][0]} for r in ledger_rule_sets().values()]


def action_kinds(rules: LedgerRules | str = "default") -> list[dict]:
    """The action kinds with what each frees (shares of the firm's last full year)."""
    r = _rules(rules)
    return [{"kind": k, "zh": r.kinds[k].zh, "en": r.kinds[k].en, "land_share": r.kinds[k].land_share,
             "energy_share": r.kinds[k].energy_share, "co2_share": r.kinds[k].co2_share,
             "published": r.kinds[k].published, "seeded_from_class": [c for c in ("C", "D")
                                                                       if getattr(r.seed, c) == k]}
            for k in KINDS]


# ---- the register --------------------------------------------------------------------------------

def _next_ids(store: Store, county: str, n: int) -> list[str]:
    prefix = f"TL{county}-"
    last = store.con.execute(
        f"SELECT max(TRY_CAST(substr(action_id, {len(prefix) + 1}) AS INTEGER)) FROM remediation_actions "
        f"WHERE starts_with(action_id, {literal(prefix)})").fetchone()[0] or 0
    return [f"{prefix}{last + i:05d}" for i in range(1, n + 1)]


def _firm(store: Store, scope: Scope, uscc: str) -> dict:
    rows = _dicts(store, f"SELECT uscc, name, county_adcode, industry_code, status FROM enterprises "
                         f"WHERE uscc = {literal(str(uscc).strip())}")
    if not rows:
        raise NotFoundError(f"enterprise {uscc!r} is not in the register (enterprises)")
    scope.check(rows[0]["county_adcode"], f"enterprise {uscc}")
    return rows[0]


def action(store: Store, scope: Scope, action_id: str) -> dict:
    rows = _register(store, scope, where=f"a.action_id = {literal(action_id)}", limit=1, check_scope=False)
    if not rows:
        raise NotFoundError(f"remediation action {action_id!r} is not in the register")
    scope.check(rows[0]["county_adcode"], f"action {action_id}")
    return rows[0]


def _register(store: Store, scope: Scope, where: str = "true", limit: int | None = None,
              check_scope: bool = True) -> list[dict]:
    rows = _dicts(store, f"""
        SELECT a.action_id, a.uscc, e.name AS firm, a.county_adcode, r.name AS county, a.kind, a.status,
               a.action_date, a.planned_on, a.done_on, a.credit_year, a.figures_year, a.basis,
               CAST(a.freed_land_mu AS DOUBLE) AS freed_land_mu, a.freed_energy_tce, a.freed_co2_t, a.measured,
               a.rule_set, a.rule_version, a.source, a.source_run_id, a.mujun_class, a.note, a.created_by,
               a.created_at, a.updated_by, a.updated_at
        FROM remediation_actions a LEFT JOIN enterprises e USING (uscc)
        LEFT JOIN regions r ON r.adcode = a.county_adcode
        WHERE {scope.sql('a.county_adcode') if check_scope else 'true'} AND {where}
        ORDER BY a.county_adcode, a.action_id {f'LIMIT {int(limit)}' if limit else ''}""")
    for r in rows:
        r["kind_label"], r["kind_label_en"] = _kind_label(r["kind"])
        r["status_label"], r["status_label_en"] = STATUS_LABELS.get(r["status"] or "planned", (r["status"], r["status"]))
    return rows


def _kind_label(kind: str) -> tuple[str, str]:
    r = ledger_rules("default")
    k = r.kinds.get(kind)
    return (k.zh, k.en) if k else (kind, kind)


def register(store: Store, scope: Scope, region: str | None = None, *, kind: str | None = None,
             status: str | None = None, year: int | None = None, limit: int = 500) -> dict:
    """The register inside the region: actions (newest county first), counts by kind and status."""
    reg = scope.narrow(store, region)
    conds = []
    if kind:
        if kind not in KINDS:
            raise ShanhaiError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        conds.append(f"a.kind = {literal(kind)}")
    if status:
        if status not in STATUSES:
            raise ShanhaiError(f"status {status!r} is not one of {', '.join(STATUSES)}")
        conds.append(f"a.status = {literal(status)}")
    if year:
        conds.append(f"(a.credit_year = {int(year)} OR (a.credit_year IS NULL AND year(a.planned_on) = {int(year)}))")
    where = " AND ".join(conds) or "true"
    rows = _register(store, reg, where=where, limit=limit)
    counts = _dicts(store, f"""SELECT kind, status, count(*) AS n FROM remediation_actions a
        WHERE {reg.sql('a.county_adcode')} AND {where} GROUP BY ALL ORDER BY ALL""")
    total = sum(c["n"] for c in counts)
    return {"region": reg.as_dict(), "filters": {"kind": kind, "status": status, "year": year},
            "total": total, "shown": len(rows), "counts": counts, "actions": rows}


def _audit(store: Store, action_name: str, user: str | None, target: str, detail: dict) -> None:
    audit.append(store.con, action_name, username=user, target=target, detail=detail)


def seed_from_mujun(store: Store, scope: Scope, run_id: str | None = None, *, classes: tuple[str, ...] = ("C", "D"),
                    planned_on: str | dt.date | None = None, rules: LedgerRules | str = "default",
                    user: str | None = None) -> dict:
    """Planned actions for the firms of a stored per-mu run's classes (C → rule ``seed.C``,
    D → ``seed.D``) inside the scope; firms that already have an open (not cancelled) action of
    that kind are skipped. Stored as a run of kind ``transition_seed`` and audited."""
    from shanhai.jobs import mujun

    r = _rules(rules)
    _check_basis(store, r)
    bad = [c for c in classes if c not in ("C", "D")]
    if bad or not classes:
        raise ShanhaiError(f"classes {', '.join(bad) or '(none)'}: the register is seeded from per-mu classes C and D")
    mujun_run = mujun.resolve(store, run_id)
    params = json.loads(store.con.execute(f"SELECT params::VARCHAR FROM runs WHERE run_id = {literal(mujun_run)}")
                        .fetchone()[0])
    day = _date(planned_on, "planned date") if planned_on else dt.date(int(params["year"]) + 1, 1, 1)
    kind_sql = "CASE m.class " + " ".join(f"WHEN {literal(c)} THEN {literal(getattr(r.seed, c))}" for c in classes) + " END"
    now = _now()
    seed_id = f"transition-seed-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _tl_seed AS
            SELECT m.uscc, m.county_adcode, m.class, {kind_sql} AS kind
            FROM mujun_results m
            WHERE m.run_id = {literal(mujun_run)} AND m.class IN ({', '.join(literal(c) for c in classes)})
              AND {scope.sql('m.county_adcode')}""")
        skipped = con.execute("""SELECT count(*) FROM _tl_seed s WHERE EXISTS (SELECT 1 FROM remediation_actions a
            WHERE a.uscc = s.uscc AND a.kind = s.kind AND coalesce(a.status, 'planned') <> 'cancelled')""").fetchone()[0]
        con.execute(f"""INSERT INTO remediation_actions (action_id, uscc, kind, action_date, county_adcode, status,
                planned_on, basis, rule_set, rule_version, measured, source, source_run_id, mujun_class, note,
                created_by, created_at)
            WITH todo AS (
                SELECT s.* FROM _tl_seed s WHERE NOT EXISTS (SELECT 1 FROM remediation_actions a
                    WHERE a.uscc = s.uscc AND a.kind = s.kind AND coalesce(a.status, 'planned') <> 'cancelled')),
            last AS (
                SELECT county_adcode, max(TRY_CAST(substr(action_id, 10) AS INTEGER)) AS n FROM remediation_actions
                WHERE action_id LIKE 'TL______-%' GROUP BY county_adcode)
            SELECT 'TL' || t.county_adcode || '-' || lpad(CAST(coalesce(l.n, 0)
                       + row_number() OVER (PARTITION BY t.county_adcode ORDER BY t.uscc) AS VARCHAR), 5, '0'),
                   t.uscc, t.kind, {literal(day)}::DATE, t.county_adcode, 'planned', {literal(day)}::DATE,
                   {values(r.basis, r.name, r.version)}, false, 'mujun', {literal(mujun_run)}, t.class,
                   {literal(f'亩均评价 {params["year"]} 年 ')} || t.class || ' 类',
                   {values(user or audit.cli_user(), now)}
            FROM todo t LEFT JOIN last l USING (county_adcode)""")
        added = con.execute(f"SELECT count(*) FROM remediation_actions WHERE source_run_id = {literal(mujun_run)} "
                            f"AND created_at = {literal(now)}").fetchone()[0]
        by_class = dict(con.execute(f"""SELECT mujun_class, count(*) FROM remediation_actions
            WHERE source_run_id = {literal(mujun_run)} AND created_at = {literal(now)} GROUP BY 1 ORDER BY 1""").fetchall())
        doc = {"seed_run_id": seed_id, "mujun_run_id": mujun_run, "mujun_year": int(params["year"]),
               "region": scope.as_dict(), "classes": list(classes), "planned_on": day.isoformat(),
               "kinds": {c: getattr(r.seed, c) for c in classes}, "added": int(added), "skipped": int(skipped),
               "by_class": {k: int(v) for k, v in by_class.items()}, "rule_set": r.name, "basis": r.basis}
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status, note) VALUES ({values(seed_id, SEED_KIND, r.name, r.version)}, "
            f"{literal(json.dumps(doc, ensure_ascii=False))}::JSON, "
            f"{values(mujun_run, __version__, user or audit.cli_user(), now, 'done', '腾笼换鸟整治清单')})")
        _audit(store, "transition_seed", user, f"transition:seed:{seed_id}", doc)
        con.execute("DROP TABLE IF EXISTS _tl_seed")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return doc


def _credit(store: Store, action_row: dict, day: dt.date, r: LedgerRules, land_mu=None, energy_tce=None,
            co2_t=None) -> dict:
    """The freed amounts of an action completed on ``day`` (rule, or audited figures)."""
    uscc = action_row["uscc"]
    # the ledger values electricity itself (analysis.transition): it reads the firm's 当量值, which
    # is energy_tce as imported, or the 当量值 `carbon sync-energy` kept beside a 等价值 energy_tce
    facts = _dicts(store, f"""SELECT y.year, {LAND_USED} AS land_used_mu,
               CASE WHEN y.energy_basis = 'equivalent_coal' THEN y.energy_tce_calorific ELSE y.energy_tce END
                   AS energy_tce, y.electricity_kwh
        FROM enterprise_years y WHERE y.uscc = {literal(uscc)} AND y.year <= {day.year}
        ORDER BY (y.year < {day.year}) DESC, y.year DESC LIMIT 1""") if uscc else []
    measured = any(v is not None for v in (land_mu, energy_tce, co2_t))
    if not facts and not measured:
        raise ShanhaiError(f"action {action_row['action_id']}: firm {uscc} has no enterprise_years row up to {day.year}; "
                           "give the audited freed land, energy and CO2 instead")
    f = facts[0] if facts else {"year": None, "land_used_mu": 0, "energy_tce": 0, "electricity_kwh": 0}
    k = r.kinds[action_row["kind"]]
    year_for_coal = f["year"] or day.year
    freed = at.calc_freed(f["land_used_mu"], f["energy_tce"], f["electricity_kwh"], land_share=k.land_share,
                          energy_share=k.energy_share, co2_share=k.co2_share, basis=r.basis,
                          grid_kg_per_kwh=r.factors.grid_co2_kg_per_kwh,
                          other_tce_per_unit=r.factors.other_tce_per_unit,
                          other_co2_per_unit=r.factors.other_co2_t_per_unit,
                          calorific=r.factors.electricity_calorific_kgce_per_kwh,
                          coal=r.factors.coal_coefficient(year_for_coal))
    out = {"land": freed.land_mu, "energy": freed.energy_tce, "carbon": freed.co2_t}
    for key, given in (("land", land_mu), ("energy", energy_tce), ("carbon", co2_t)):
        if given is not None:
            if float(given) < 0:
                raise ShanhaiError(f"freed {key} {given}: must be 0 or more")
            out[key] = at.d4(given)
    return {**out, "figures_year": f["year"], "measured": measured}


def add_action(store: Store, scope: Scope, uscc: str, kind: str, *, planned_on: str | dt.date | None = None,
               status: str = "planned", done_on: str | dt.date | None = None, land_mu=None, energy_tce=None,
               co2_t=None, note: str | None = None, rules: LedgerRules | str = "default", user: str | None = None,
               source: str = "manual") -> dict:
    """One action added by hand (audited); a ``done`` action is credited at once."""
    r = _rules(rules)
    _check_basis(store, r)
    if kind not in KINDS:
        raise ShanhaiError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if status not in ("planned", "in_progress", "done"):
        raise ShanhaiError(f"status {status!r}: a new action is planned, in_progress or done")
    firm = _firm(store, scope, uscc)
    planned = _date(planned_on, "planned date") if planned_on else (_date(done_on, "done date") if done_on else dt.date.today())
    if status == "done" and not done_on:
        raise ShanhaiError("a done action needs its completion date (done_on)")
    now = _now()
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        action_id = _next_ids(store, firm["county_adcode"], 1)[0]
        con.execute(f"""INSERT INTO remediation_actions (action_id, uscc, kind, action_date, county_adcode, status,
                planned_on, basis, rule_set, rule_version, measured, source, note, created_by, created_at)
            VALUES ({values(action_id, firm['uscc'], kind, planned, firm['county_adcode'], 'planned', planned, r.basis,
                            r.name, r.version, False, source, note, user or audit.cli_user(), now)})""")
        _audit(store, "transition_add", user, f"transition:action:{action_id}",
               {"uscc": firm["uscc"], "kind": kind, "county": firm["county_adcode"], "planned_on": planned.isoformat(),
                "rule_set": r.name, "basis": r.basis, "source": source})
        if status != "planned":
            _set_status(store, scope, action_id, status, done_on or planned, r, user, land_mu, energy_tce, co2_t, note)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return action(store, scope, action_id)


def _set_status(store, scope, action_id, status, on, r, user, land_mu=None, energy_tce=None, co2_t=None, note=None):
    row = action(store, scope, action_id)
    current = row["status"] or "planned"
    if status not in STATUSES:
        raise ShanhaiError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    if status not in NEXT_STATUS[current]:
        allowed = ", ".join(NEXT_STATUS[current]) or "none (final)"
        raise ShanhaiError(f"action {action_id} is {current}: it can move to {allowed}, not {status}")
    day = _date(on, "date")
    now, who = _now(), user or audit.cli_user()
    sets = {"status": status, "updated_by": who, "updated_at": now}
    detail: dict = {"from": current, "to": status, "on": day.isoformat()}
    if status == "done":
        if row["basis"] and row["basis"] != r.basis:
            raise ShanhaiError(f"action {action_id} was registered on {row['basis']}; rule set {r.name!r} is on "
                               f"{r.basis}: never mix bases inside one ledger")
        c = _credit(store, row, day, r, land_mu, energy_tce, co2_t)
        sets.update({"done_on": day, "credit_year": day.year, "figures_year": c["figures_year"],
                     "freed_land_mu": c["land"], "freed_energy_tce": float(c["energy"]),
                     "freed_co2_t": float(c["carbon"]), "measured": c["measured"], "basis": r.basis,
                     "rule_set": r.name, "rule_version": r.version})
        detail.update({"freed_land_mu": str(c["land"]), "freed_energy_tce": str(c["energy"]),
                       "freed_co2_t": str(c["carbon"]), "figures_year": c["figures_year"], "measured": c["measured"],
                       "credit": {"county": row["county_adcode"], "year": day.year}, "rule_set": r.name,
                       "basis": r.basis})
    if note:
        sets["note"] = note
    assign = ", ".join(f"{k} = {literal(v)}" for k, v in sets.items())
    store.con.execute(f"UPDATE remediation_actions SET {assign} WHERE action_id = {literal(action_id)}")
    _audit(store, "transition_status", user, f"transition:action:{action_id}", detail)


def set_status(store: Store, scope: Scope, action_id: str, status: str, *, on: str | dt.date | None = None,
               land_mu=None, energy_tce=None, co2_t=None, note: str | None = None,
               rules: LedgerRules | str = "default", user: str | None = None) -> dict:
    """Move an action on (planned → in_progress → done, or cancelled); done credits its freed
    quota to its county and the year of ``on``. Done and cancelled are final. Audited."""
    r = _rules(rules)
    _check_basis(store, r)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        _set_status(store, scope, action_id, status, on or dt.date.today(), r, user, land_mu, energy_tce, co2_t, note)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return action(store, scope, action_id)


# ---- balances ------------------------------------------------------------------------------------

def _freed_sql(scope: Scope, year: int | None = None) -> str:
    y = f" AND credit_year <= {int(year)}" if year else ""
    return f"""SELECT county_adcode,
            sum(CAST(coalesce(freed_land_mu, 0) AS DECIMAL(20, 4))) AS land,
            sum(CAST(round(coalesce(freed_energy_tce, 0), 4) AS DECIMAL(20, 4))) AS energy,
            sum(CAST(round(coalesce(freed_co2_t, 0), 4) AS DECIMAL(20, 4))) AS carbon,
            count(*) AS actions
        FROM remediation_actions WHERE status = 'done' AND {scope.sql('county_adcode')}{y} GROUP BY 1"""


def _allocated_sql(scope: Scope, year: int | None = None) -> str:
    y = f" AND year(allocated_on) <= {int(year)}" if year else ""
    return f"""SELECT county_adcode, quota_kind, sum(CAST(round(amount, 4) AS DECIMAL(20, 4))) AS amount,
            count(DISTINCT project_id) AS projects
        FROM quota_allocations WHERE {scope.sql('county_adcode')}{y} GROUP BY ALL"""


def balances(store: Store, scope: Scope, region: str | None = None, *, year: int | None = None) -> dict:
    """Per county of the region and for the region: freed, allocated and available land (亩),
    energy (tce, the ledger basis) and carbon (t CO2), Decimal; ``year`` = as at that year's end."""
    reg = scope.narrow(store, region)
    names = _names(store)
    freed = {r[0]: r for r in store.con.execute(_freed_sql(reg, year)).fetchall()}
    alloc: dict[str, dict[str, Decimal]] = {}
    for county, kind, amount, _ in store.con.execute(_allocated_sql(reg, year)).fetchall():
        alloc.setdefault(county, {})[kind] = amount
    counties = sorted(set(freed) | set(alloc))
    rows = []
    for c in counties:
        f = freed.get(c)
        row = {"county_adcode": c, "county": names.get(c, c), "actions_done": int(f[4]) if f else 0}
        for i, kind in enumerate(QUOTA_KINDS, start=1):
            fr = f[i] if f else ZERO
            al = alloc.get(c, {}).get(kind, ZERO)
            row[kind] = {"freed": fr, "allocated": al, "available": at.calc_balance(fr, al)}
        rows.append(row)
    total = {"county_adcode": reg.adcode, "county": reg.name, "actions_done": sum(r["actions_done"] for r in rows)}
    for kind in QUOTA_KINDS:
        fr = sum((r[kind]["freed"] for r in rows), ZERO)
        al = sum((r[kind]["allocated"] for r in rows), ZERO)
        total[kind] = {"freed": fr, "allocated": al, "available": at.calc_balance(fr, al)}
    basis = ledger_basis(store)
    return {"region": reg.as_dict(), "year": year, "basis": basis,
            "basis_label": BASIS_LABELS[basis][0] if basis else None, "units": QUOTA_UNITS,
            "counties": rows, "total": total,
            "balanced": all(r[k]["freed"] == r[k]["allocated"] + r[k]["available"]
                            for r in [*rows, total] for k in QUOTA_KINDS)}


def _available(store: Store, county: str, year: int | None = None) -> dict[str, Decimal]:
    """The county's available quota; with ``year``, what an allocation dated that year may take:
    the least balance at the end of that year and of every later year holding an allocation. Quota
    is credited by year, so a back-dated allocation cannot use quota freed in a later year, nor
    take what a later allocation already relies on."""
    scope = Scope(county, "county")
    if year is None:
        b = balances(store, scope, None)
        return {k: b["total"][k]["available"] for k in QUOTA_KINDS}
    later = [y for (y,) in store.con.execute(
        f"SELECT DISTINCT year(allocated_on) FROM quota_allocations WHERE county_adcode = {literal(county)} "
        f"AND year(allocated_on) > {int(year)} ORDER BY 1").fetchall()]
    least: dict[str, Decimal] = {}
    for y in [int(year), *later]:
        b = balances(store, scope, None, year=y)
        for k in QUOTA_KINDS:
            a = b["total"][k]["available"]
            if k not in least or a < least[k]:
                least[k] = a
    return least


# ---- allocations ---------------------------------------------------------------------------------

def _project(store: Store, scope: Scope, project_id: str) -> dict:
    rows = _dicts(store, f"SELECT project_id, name, landing_adcode, stage, industry_code FROM projects "
                         f"WHERE project_id = {literal(str(project_id).strip())}")
    if not rows:
        raise NotFoundError(f"project {project_id!r} is not in the project register (projects)")
    scope.check(rows[0]["landing_adcode"], f"project {project_id}")
    return rows[0]


def check_project(energy_tce: float, value_added, day: dt.date, rules: LedgerRules) -> dict:
    """The new-project check: intensity, the threshold of ``day``, admitted or not, and why."""
    try:
        intensity = at.calc_intensity(energy_tce, value_added)
    except ValueError as exc:
        raise ShanhaiError(f"value added {value_added}: {exc}") from None
    t = rules.threshold_on(day)
    ok = at.calc_admit(intensity, t.value, rules.inclusive)
    op = ("≤" if ok else ">") if rules.inclusive else ("<" if ok else "≥")
    text = (f"能耗强度 intensity {intensity:.5f} tce/万元 {op} {t.value:.2f} ({t.label}, {t.valid_from} 起, "
            f"{'含' if rules.inclusive else '不含'}等于 {'inclusive' if rules.inclusive else 'exclusive'})")
    return {"intensity": round(intensity, 6), "threshold": t.value, "threshold_label": t.label,
            "threshold_from": t.valid_from.isoformat(), "inclusive": rules.inclusive, "admitted": ok, "text": text}


def allocate(store: Store, scope: Scope, project_id: str, *, energy_tce: float, value_added, on: str | dt.date,
             co2_t: float | None = None, land_mu: float | None = None, rules: LedgerRules | str = "default",
             inclusive: bool | None = None, note: str | None = None, user: str | None = None) -> dict:
    """Allocate freed quota of the project's landing county to it: energy (tce, the ledger basis)
    and, if given, carbon (t CO2) and land (亩). Refused (ShanhaiError, nothing written) when the
    project's intensity is over the threshold of ``on``, an amount is over the county's available
    balance as at ``on``'s year (:func:`_available`), or the project already holds that quota kind.
    Audited."""
    r = _rules(rules).with_inclusive(inclusive)
    _check_basis(store, r)
    day = _date(on, "allocation date")
    p = _project(store, scope, project_id)
    county = p["landing_adcode"]
    if energy_tce is None or not float(energy_tce) > 0:
        raise ShanhaiError("the project's planned energy use (tce) must be above 0")
    chk = check_project(float(energy_tce), value_added, day, r)
    if not chk["admitted"]:
        raise ShanhaiError(f"project {project_id} refused: {chk['text']} — over the new-project threshold of {day}")
    wanted = {"energy": at.d4(energy_tce)}
    for kind, given in (("carbon", co2_t), ("land", land_mu)):
        if given is not None:
            if not float(given) > 0:
                raise ShanhaiError(f"{kind} amount {given}: must be above 0 (leave it out to allocate none)")
            wanted[kind] = at.d4(given)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        held = [k for (k,) in con.execute(f"SELECT DISTINCT quota_kind FROM quota_allocations "
                                          f"WHERE project_id = {literal(p['project_id'])}").fetchall() if k in wanted]
        if held:
            raise ShanhaiError(f"project {project_id} already holds {', '.join(held)} quota: no quota is allocated twice")
        avail = _available(store, county, day.year)
        over = [f"{k} {wanted[k]} {QUOTA_UNITS[k]} > available {avail[k]}" for k in wanted if wanted[k] > avail[k]]
        if over:
            raise ShanhaiError(f"project {project_id} refused: over the balance of county {county} for an allocation "
                               f"dated {day} (quota credited up to {day.year}, less what later allocations hold): "
                               + "; ".join(over))
        now, who = _now(), user or audit.cli_user()
        ids = []
        for kind, amount in wanted.items():
            alloc_id = f"QA{county}-{now:%Y%m%d%H%M%S}-{secrets.token_hex(3)}-{kind[0]}"
            ids.append(alloc_id)
            con.execute(f"""INSERT INTO quota_allocations (allocation_id, action_id, project_id, quota_kind, amount,
                    allocated_on, county_adcode, credit_year, basis, project_energy_tce, project_value_added,
                    project_intensity, threshold, threshold_inclusive, check_result, rule_set, rule_version,
                    created_by, created_at, note)
                VALUES ({values(alloc_id, None, p['project_id'], kind, float(amount), day, county, day.year, r.basis,
                                float(energy_tce), at.d4(value_added), chk['intensity'], chk['threshold'],
                                r.inclusive, chk['text'], r.name, r.version, who, now, note)})""")
        after = _available(store, county)
        doc = {"project_id": p["project_id"], "project": p["name"], "county_adcode": county, "on": day.isoformat(),
               "allocations": ids, "amounts": {k: str(v) for k, v in wanted.items()}, "check": chk,
               "available_after": {k: str(v) for k, v in after.items()}, "rule_set": r.name, "basis": r.basis}
        _audit(store, "transition_allocate", user, f"transition:project:{p['project_id']}", doc)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return {**doc, "amounts": wanted, "available_after": after}


def allocations(store: Store, scope: Scope, region: str | None = None, limit: int = 500) -> dict:
    reg = scope.narrow(store, region)
    rows = _dicts(store, f"""SELECT q.allocation_id, q.project_id, p.name AS project, q.county_adcode, r.name AS county,
            q.quota_kind, q.amount, q.allocated_on, q.basis, q.project_energy_tce,
            CAST(q.project_value_added AS DOUBLE) AS project_value_added, q.project_intensity, q.threshold,
            q.threshold_inclusive, q.check_result, q.rule_set, q.created_by, q.created_at, q.note
        FROM quota_allocations q LEFT JOIN projects p USING (project_id) LEFT JOIN regions r ON r.adcode = q.county_adcode
        WHERE {reg.sql('q.county_adcode')} ORDER BY q.allocated_on DESC, q.project_id, q.quota_kind LIMIT {int(limit)}""")
    for x in rows:
        x["unit"] = QUOTA_UNITS.get(x["quota_kind"], "")
    return {"region": reg.as_dict(), "allocations": rows}


# ---- progress ------------------------------------------------------------------------------------

def progress(store: Store, scope: Scope, region: str | None = None, *, rules: LedgerRules | str = "default") -> dict:
    """The region's completed actions in each applicable target's period against the target: the
    province's 2023 numbers (seed 001) for the province, Shaoxing's (seed 002 and news) for
    Shaoxing; a region inside a target's region shows its contribution to it."""
    r = _rules(rules)
    reg = scope.narrow(store, region)
    names = _names(store)
    out = []
    for t in r.targets:
        t_scope = Scope.province() if t.region == "330000" else Scope(t.region, "city" if t.region.endswith("00") else "county",
                                                                       names.get(t.region, t.region))
        if not (t_scope.contains(reg) or reg.contains(t_scope)):
            continue
        counted = reg if t_scope.contains(reg) else t_scope
        got = store.con.execute(f"""SELECT
                count(DISTINCT uscc) FILTER (WHERE kind IN ('close', 'eliminate')),
                count(DISTINCT uscc) FILTER (WHERE kind = 'remediate'),
                sum(CAST(coalesce(freed_land_mu, 0) AS DECIMAL(20, 4))),
                sum(CAST(round(coalesce(freed_energy_tce, 0), 4) AS DECIMAL(20, 4))),
                sum(CAST(round(coalesce(freed_co2_t, 0), 4) AS DECIMAL(20, 4)))
            FROM remediation_actions WHERE status = 'done' AND {counted.sql('county_adcode')}
              AND done_on BETWEEN {literal(t.period_from)} AND {literal(t.period_to)}""").fetchone()
        achieved = dict(zip(TARGET_FIELDS, got))
        items = []
        for f in TARGET_FIELDS:
            goal = getattr(t, f)
            if goal is None:
                continue
            a = achieved[f] or 0
            items.append({"field": f, "target": goal, "achieved": a,
                          "share": float(a) / float(goal) if goal else None})
        out.append({"target_region": t.region, "target_region_name": names.get(t.region, t.region),
                    "counted_region": counted.adcode, "counted_region_name": counted.name or names.get(counted.adcode),
                    "contribution": counted.adcode != t.region, "period_from": t.period_from.isoformat(),
                    "period_to": t.period_to.isoformat(), "source": t.source, "published": t.published,
                    "items": items})
    return {"region": reg.as_dict(), "rule_set": r.name, "targets": out}


PROGRESS_LABELS = {"firms_eliminated": ("淘汰落后产能企业", "Firms eliminated/closed", "家"),
                   "firms_remediated": ("整治提升企业", "Firms remediated", "家"),
                   "land_mu": ("腾出土地", "Land freed", "亩"), "energy_tce": ("腾出用能", "Energy freed", "tce"),
                   "co2_t": ("减碳", "CO2 freed", "t")}


def summary(store: Store, scope: Scope, region: str | None = None, *, rules: LedgerRules | str = "default") -> dict:
    """For the monthly briefing: the region's balance (totals, floats) and progress as plain dicts."""
    b = balances(store, scope, region)
    p = progress(store, scope, region, rules=rules)
    return {"region": b["region"], "basis": b["basis"], "actions_done": b["total"]["actions_done"],
            "balance": {k: {x: float(v) for x, v in b["total"][k].items()} for k in QUOTA_KINDS},
            "units": dict(QUOTA_UNITS),
            "progress": [{"target_region": t["target_region"], "target_region_name": t["target_region_name"],
                          "period": f"{t['period_from']}–{t['period_to']}", "source": t["source"],
                          "items": [{"field": i["field"], "label": PROGRESS_LABELS[i["field"]][0],
                                     "unit": PROGRESS_LABELS[i["field"]][2], "target": float(i["target"]),
                                     "achieved": float(i["achieved"]), "share": i["share"]} for i in t["items"]]}
                         for t in p["targets"]]}


def export_doc(store: Store, scope: Scope, region: str | None = None, *, rules: LedgerRules | str = "default",
               kind: str | None = None, status: str | None = None, year: int | None = None) -> dict:
    """Everything the workbook shows: the register, balances, allocations, progress and the basis."""
    r = _rules(rules)
    reg = register(store, scope, region, kind=kind, status=status, year=year, limit=1_000_000)
    return {"region": reg["region"], "register": reg, "balances": balances(store, scope, region),
            "allocations": allocations(store, scope, region, limit=1_000_000)["allocations"],
            "progress": progress(store, scope, region, rules=r), "basis": _basis_doc(r, store),
            "kinds": action_kinds(r), "generated_at": _now().isoformat(timespec="seconds")}


def plain(obj):
    """A document with Decimals as floats and dates as ISO text (JSON and templates)."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()
    return obj


def basis(store: Store, rules: LedgerRules | str = "default") -> dict:
    return _basis_doc(_rules(rules), store)


__all__ = ["register", "action", "seed_from_mujun", "add_action", "set_status", "balances", "allocate", "allocations",
           "check_project", "progress", "summary", "export_doc", "action_kinds", "rule_sets", "ledger_basis", "plain",
           "basis"]
