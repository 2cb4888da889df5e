"""The listing pipeline (凤凰行动, 上市后备企业库) against the store: pool members
(``listing_pipeline``) and their milestone dates (``listing_milestones``), recorded by hand or
imported (kind ``listing-milestones``); a pipeline run (runs.kind = 'service_pipeline') derives
each firm's tier and the staged awards due under a preset (``policy/service_desk/pipeline-*.toml``)
with :func:`shanhai.analysis.service_desk.calc_stage_awards` and stores them in
``pipeline_results`` (never overwritten); progress against the province's and Shaoxing's targets
counts pool firms by their milestones, inside the caller's scope.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

from shanhai import __version__
from shanhai.analysis import service_desk as sd
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.policy._service_desk import MILESTONE_LABELS, MILESTONES, pipeline
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.scope import OutOfScopeError, Scope
from shanhai.store.sql import literal, values

KIND = "service_pipeline"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _dicts(store: Store, sql: str) -> list[dict]:
    cur = store.con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _date(v, what: str) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v).strip())
    except ValueError:
        raise ShanhaiError(f"{what}: {v!r} is not a date like 2023-06-30") from None


def _firm(store: Store, scope: Scope, uscc: str) -> tuple[str, str]:
    uscc = (uscc or "").strip().upper()
    row = store.con.execute(f"SELECT county_adcode FROM enterprises WHERE uscc = {literal(uscc)}").fetchone()
    if row is None:
        raise NotFoundError(f"no enterprise with USCC {uscc!r}")
    if not scope.covers(row[0]):
        raise OutOfScopeError(f"enterprise {uscc} is outside your scope ({scope.adcode} {scope.name})")
    return uscc, row[0]


def enrol(store: Store, scope: Scope, uscc: str, *, entered_on=None, reform_plan_by=None, reinvest_share=None,
          board: str | None = None, officer: str | None = None, user: str | None = None) -> dict:
    """Put a firm in the reserve pool (or update its pool record)."""
    uscc, county = _firm(store, scope, uscc)
    share = None
    if reinvest_share not in (None, ""):
        try:
            share = float(reinvest_share)
        except ValueError:
            raise ShanhaiError(f"reinvest_share {reinvest_share!r} is not a number between 0 and 1") from None
        if not 0 <= share <= 1:
            raise ShanhaiError(f"reinvest_share {share} must lie between 0 and 1 (a share, e.g. 0.85)")
    entered = _date(entered_on, "entered_on") if entered_on else _now().date()
    plan = _date(reform_plan_by, "reform_plan_by") if reform_plan_by else None
    now = _now()
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM listing_pipeline WHERE uscc = {literal(uscc)}")
        con.execute(f"""INSERT INTO listing_pipeline VALUES ({values(uscc, county, entered, plan)},
            {literal(share)}, {values(board, officer, None, now)})""")
        audit_append(con, "service.pipeline.enrol", username=user, target=uscc,
                     detail={"entered_on": entered.isoformat(), "reinvest_share": share})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return firm(store, scope, uscc)


def record(store: Store, scope: Scope, uscc: str, milestone: str, occurred_on, *, note: str | None = None,
           user: str | None = None) -> dict:
    """Record (or correct) a milestone date of a pool firm; out-of-order dates are refused."""
    if milestone not in MILESTONES:
        raise ShanhaiError(f"milestone {milestone!r} is not one of {', '.join(MILESTONES)}")
    uscc, county = _firm(store, scope, uscc)
    if not store.con.execute(f"SELECT 1 FROM listing_pipeline WHERE uscc = {literal(uscc)}").fetchone():
        raise ShanhaiError(f"enterprise {uscc} is not in the reserve pool: enrol it first")
    day = _date(occurred_on, milestone)
    dates = milestones(store, uscc)
    dates[milestone] = day
    problems = sd.calc_milestone_order(dates)
    if problems:
        raise ShanhaiError("；".join(problems))
    now = _now()
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM listing_milestones WHERE uscc = {literal(uscc)} AND milestone = {literal(milestone)}")
        con.execute(f"INSERT INTO listing_milestones VALUES ({values(uscc, milestone, day, note, None, user, now)})")
        audit_append(con, "service.pipeline.milestone", username=user, target=uscc,
                     detail={"milestone": milestone, "date": day.isoformat(), "note": note})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return firm(store, scope, uscc)


def milestones(store: Store, uscc: str) -> dict:
    return dict(store.con.execute(f"SELECT milestone, occurred_on FROM listing_milestones WHERE uscc = {literal(uscc)}")
                .fetchall())


def firm(store: Store, scope: Scope, uscc: str, *, preset: str = "xiaoshan-2021") -> dict:
    """One pool firm: its record, milestones, tier and staged awards under ``preset`` (live)."""
    uscc, _ = _firm(store, scope, uscc)
    rows = _dicts(store, f"""SELECT p.*, e.name FROM listing_pipeline p JOIN enterprises e USING (uscc)
                              WHERE p.uscc = {literal(uscc)}""")
    if not rows:
        raise NotFoundError(f"enterprise {uscc} is not in the reserve pool")
    out = rows[0]
    pl = pipeline(preset)
    ms = milestones(store, uscc)
    out["milestones"] = [{"milestone": m, "label": MILESTONE_LABELS[m][0], "date": ms.get(m)} for m in MILESTONES]
    out["tier"] = sd.calc_tier(pl, ms)
    out["awards"] = sd.calc_stage_awards(pl, ms, reinvest_share=out["reinvest_share"])
    out["preset"] = pl.name
    return out


def run(store: Store, preset: str = "xiaoshan-2021", *, user: str | None = None, progress=None) -> dict:
    """Tier and staged awards of every pool firm under ``preset``, stored as a run."""
    step = progress or (lambda label, fraction: None)
    pl = pipeline(preset)
    step("读取上市进程 milestones", 0.1)
    # firms whose milestones were imported (kind listing-milestones) join the pool: entered on the earliest
    store.con.execute(f"""INSERT INTO listing_pipeline (uscc, county_adcode, entered_on, updated_at)
        SELECT m.uscc, any_value(e.county_adcode), min(m.occurred_on), {literal(_now())}
        FROM listing_milestones m JOIN enterprises e USING (uscc)
        WHERE m.uscc NOT IN (SELECT uscc FROM listing_pipeline) GROUP BY m.uscc""")
    pool = _dicts(store, "SELECT uscc, county_adcode, reinvest_share FROM listing_pipeline ORDER BY uscc")
    ms: dict[str, dict] = {}
    for uscc, m, d in store.con.execute("SELECT uscc, milestone, occurred_on FROM listing_milestones").fetchall():
        ms.setdefault(uscc, {})[m] = d
    now = _now()
    run_id = f"pipeline-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    rows = []
    tiers: dict[str, int] = {}
    total = 0
    review = 0
    for f in pool:
        dates = ms.get(f["uscc"], {})
        tier = sd.calc_tier(pl, dates)
        tiers[tier or "-"] = tiers.get(tier or "-", 0) + 1
        res = sd.calc_stage_awards(pl, dates, reinvest_share=f["reinvest_share"])
        total += res["total"]
        review += int(res["manual_review"])
        if not res["awards"]:
            rows.append((run_id, f["uscc"], f["county_adcode"], tier, "-", None, None, None, None, "-", None, None))
        for a in res["awards"]:
            rows.append((run_id, f["uscc"], f["county_adcode"], tier, a["award"], a["milestone"], a["earned_on"],
                         a["due_on"], None if a["amount"] is None else str(a["amount"]), a["status"],
                         ", ".join(str(c) for c in a["candidates"]) or None, a["rule"] or None))
    params = {"preset_fingerprint": pl.fingerprint(), "firms": len(pool), "tiers": tiers,
              "awards_due_total": str(total), "manual_review": review}
    step("保存 storing", 0.6)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"""INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint,
            code_version, created_by, created_at, status) VALUES ({values(run_id, KIND, pl.name, pl.version)},
            {literal(json.dumps(params, ensure_ascii=False))}::JSON, {values(None, __version__, user or 'cli', now, 'done')})""")
        if rows:
            con.executemany("INSERT INTO pipeline_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        audit_append(con, "service.pipeline.run", username=user, target=run_id,
                     detail={"preset": pl.name, "version": pl.version, **params})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    step("完成 done", 1.0)
    return {"run_id": run_id, "preset": pl.name, "firms": len(pool), "tiers": tiers, "awards_due_total": total,
            "manual_review": review}


def latest_run(store: Store, run_id: str | None = None) -> str | None:
    if run_id not in (None, "", "latest"):
        if not store.con.execute(f"SELECT 1 FROM runs WHERE kind = {literal(KIND)} AND run_id = {literal(run_id)}").fetchone():
            raise NotFoundError(f"no pipeline run {run_id!r}")
        return run_id
    row = store.con.execute(f"SELECT run_id FROM runs WHERE kind = {literal(KIND)} ORDER BY created_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


def board(store: Store, scope: Scope, region: str | None = None, *, run_id: str | None = None,
          preset: str | None = None) -> dict:
    """The pipeline board inside ``region``: pool firms by tier (latest run, or ``preset`` live),
    their awards and the progress against the preset's targets for regions the scope contains."""
    where = scope.narrow(store, region)
    rid = latest_run(store, run_id)
    pname = preset or (store.con.execute(f"SELECT policy_name FROM runs WHERE run_id = {literal(rid)}").fetchone()[0]
                       if rid else "xiaoshan-2021")
    pl = pipeline(pname)
    firms = _dicts(store, f"""SELECT p.uscc, e.name, p.county_adcode, p.entered_on, p.reinvest_share, p.officer
        FROM listing_pipeline p JOIN enterprises e USING (uscc) WHERE {where.sql('p.county_adcode')}
        ORDER BY p.uscc""")
    ms: dict[str, dict] = {}
    if firms:
        inlist = ", ".join(literal(f["uscc"]) for f in firms)
        for uscc, m, d in store.con.execute(f"SELECT uscc, milestone, occurred_on FROM listing_milestones "
                                            f"WHERE uscc IN ({inlist})").fetchall():
            ms.setdefault(uscc, {})[m] = d
    awards = {}
    if rid:
        for r in _dicts(store, f"""SELECT uscc, award, amount, status, due_on, candidates FROM pipeline_results
                                    WHERE run_id = {literal(rid)} AND {where.sql('county_adcode')}"""):
            awards.setdefault(r["uscc"], []).append(r)
    by_tier: dict[str, list] = {t.id: [] for t in pl.tiers}
    for f in firms:
        dates = ms.get(f["uscc"], {})
        f["milestones"] = {m: dates.get(m) for m in MILESTONES}
        f["tier"] = sd.calc_tier(pl, dates)
        f["awards"] = awards.get(f["uscc"], [])
        by_tier.setdefault(f["tier"] or "-", []).append(f)
    return {"region": where.as_dict(), "run_id": rid, "preset": {"name": pl.name, "display_name": pl.display_name,
            "tiers_published": pl.tiers_published},
            "tiers": [{"id": t.id, "label": t.label, "label_en": t.label_en, "firms": by_tier.get(t.id, [])}
                      for t in pl.tiers],
            "firms": firms, "targets": progress(store, scope, preset=pl.name)}


def progress(store: Store, scope: Scope, *, preset: str = "xiaoshan-2021") -> list[dict]:
    """Each target of the preset whose region the caller's scope contains: the count of pool firms
    of that region by the target's measure (listed: a listed date; new_listings: listed in
    [since, year]; reserve: in the pool, not listed; filed: application accepted or approved, not
    listed; joint_stock: a joint-stock date) against the target value. Counts read the pool only
    (firms listed before they were tracked are not in it)."""
    pl = pipeline(preset)
    out = []
    for t in pl.targets:
        try:
            tscope = Scope.of(store, t.region)
        except ShanhaiError:
            continue
        if not scope.contains(tscope):
            continue
        lst = "EXISTS (SELECT 1 FROM listing_milestones m WHERE m.uscc = p.uscc AND m.milestone = 'listed'{cond})"
        measure = {
            "listed": lst.format(cond=f" AND year(m.occurred_on) <= {t.year}"),
            "new_listings": lst.format(cond=f" AND year(m.occurred_on) BETWEEN {t.since or t.year} AND {t.year}"),
            "reserve": "NOT " + lst.format(cond=""),
            "filed": "EXISTS (SELECT 1 FROM listing_milestones m WHERE m.uscc = p.uscc AND m.milestone IN "
                     "('application_accepted', 'approved')) AND NOT " + lst.format(cond=""),
            "joint_stock": "EXISTS (SELECT 1 FROM listing_milestones m WHERE m.uscc = p.uscc AND m.milestone = 'joint_stock')",
        }[t.measure]
        n = store.con.execute(f"SELECT count(*) FROM listing_pipeline p WHERE {tscope.sql('p.county_adcode')} "
                              f"AND {measure}").fetchone()[0]
        out.append({"id": t.id, "label": t.label, "region": t.region, "region_name": tscope.name, "year": t.year,
                    "measure": t.measure, "source": t.source, **sd.calc_target_progress(t.value, n)})
    return out
