"""Per-mu evaluation as a stored run: evaluate, store results, benchmarks and roll-ups in one
transaction, and read them back (summaries, one firm's account, two runs compared)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass, field

import duckdb

from shanhai import __version__, policy
from shanhai.errors import ShanhaiError
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.sql import literal, values

KIND = "mujun"


@dataclass
class RunSummary:
    run_id: str
    policy: str
    policy_version: str
    policy_fingerprint: str
    year: int
    region: str
    benchmarks: str
    engine: str
    enterprises: int
    evaluated: int
    classes: dict[str, int]
    surcharge_yuan: float
    seconds: float
    created_at: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


SCORES = "mujun_scores"          # what a run stores per firm; the view mujun_results adds the facts
LEGACY = "mujun_results_0006"    # runs stored before migration 0007, whole rows


def _table_of(store: Store, run_id: str) -> str:
    """Where a run's per-firm rows are: ``mujun_scores``, or the whole rows of an older run."""
    found = store.con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {SCORES} WHERE run_id = {literal(run_id)} "
                              "LIMIT 1)").fetchone()[0]
    return SCORES if found else LEGACY


def _facts_changed(store: Store, run_id: str, year: int) -> bool:
    """Whether the data a run read has changed since (its rows in ``mujun_scores`` show today's
    facts through the view ``mujun_results``; an older run's whole rows keep their own)."""
    if _table_of(store, run_id) != SCORES:
        return False
    row = store.con.execute(f"SELECT inputs_fingerprint FROM runs WHERE run_id = {literal(run_id)}").fetchone()
    return bool(row) and row[0] != inputs_fingerprint(store, year)


def _years(store: Store) -> list[int]:
    return [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]


def inputs_fingerprint(store: Store, year: int) -> str:
    """What an evaluation of ``year`` read: rows per dataset of each input table, and the last
    import change. Data only changes through a new dataset (synth, import) or a recorded import
    change, so two runs with the same fingerprint read the same data. (A content hash of every
    row costs about a second per million firms; this costs milliseconds.)"""
    parts = []
    for table, where in (("enterprise_years", f"WHERE year = {int(year)}"), ("enterprises", ""),
                         ("enterprise_flags", "")):
        rows = store.con.execute(f"SELECT coalesce(dataset_id, '-'), count(*) FROM {table} {where} "
                                 "GROUP BY 1 ORDER BY 1").fetchall()
        parts.append(f"{table}=" + ",".join(f"{d}:{n}" for d, n in rows))
    last = store.con.execute("SELECT coalesce(max(change_id), 0) FROM change_history").fetchone()[0]
    parts.append(f"change_history={last}")
    return hashlib.sha256(";".join(parts).encode()).hexdigest()[:32]


def _previous_run(store: Store, name: str, year: int, region: str) -> str | None:
    row = store.con.execute(
        f"SELECT run_id FROM runs WHERE kind = 'mujun' AND policy_name = {literal(name)} AND status = 'done' "
        f"AND json_extract_string(params, '$.year') = {literal(str(year))} "
        f"AND json_extract_string(params, '$.region') = {literal(region)} ORDER BY created_at DESC LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def run(store: Store, policy_name: str, year: int, region: str | None = None, *, engine: str = "duckdb",
        benchmarks: str = "preset", user: str | None = None, progress=None, source: str | None = None) -> RunSummary:
    """Evaluate ``year`` with a preset and store the run; returns its summary. ``source``:
    ``parquet://DIR`` reads the input tables from a Parquet dataset (``engine._parquet``)."""
    from shanhai.engine._parquet import attach

    with attach(store, source):
        return _run(store, policy_name, year, region, engine=engine, benchmarks=benchmarks, user=user,
                    progress=progress, source=source)


def _run(store: Store, policy_name: str, year: int, region: str | None, *, engine: str, benchmarks: str,
         user: str | None, progress, source: str | None) -> RunSummary:
    from shanhai.analysis import mujun

    started = time.perf_counter()
    step = progress or (lambda label, fraction: None)
    preset = policy.get(policy_name)
    scope = mujun.scope_of(region)
    years = _years(store)
    if year not in years:
        have = f"{years[0]}-{years[-1]}" if years else "none"
        raise ShanhaiError(f"no enterprise data for {year} (the database has {have})")
    notes = []
    if year not in preset.years:
        notes.append(f"政策 {preset.name} 适用年度为 {preset.years}, 本次用于 {year} 年数据 "
                     f"(policy years {preset.years}, applied to {year})")
    step("评价 evaluating", 0.1)
    prev_id = _previous_run(store, preset.name, year - 1, scope.adcode)
    key = _plan_key(store, preset, year, scope, benchmarks, prev_id) if engine == "duckdb" and not source else None
    plan = _load_plan(store, key) if key else None
    if plan is not None:
        try:
            return _replay(store, plan, preset, year, scope, benchmarks, user, notes, prev_id, step, started)
        except duckdb.Error:  # a plan the store no longer accepts (rolled back): build the run afresh
            forget_plan(store, key)
    log: list | None = [] if key else None
    summary = _evaluate_and_store(store, preset, year, scope, engine, benchmarks, user, notes, prev_id, step,
                                  started, source, log)
    if key:
        _save_plan(store, key, {"key": key, "run_id": summary.run_id, "prev_id": prev_id, "steps": log})
    return summary


def _evaluate_and_store(store, preset, year, scope, engine, benchmarks, user, notes, prev_id, step, started, source,
                        log) -> RunSummary:
    """The run built from the Ibis expressions (``analysis.mujun``); ``log`` (DuckDB only) receives
    every statement, in order, for ``_replay``."""
    from shanhai.analysis import mujun
    from shanhai.engine import connect, insert
    from shanhai.engine import table as _table

    backend = connect(store, engine)
    previous = None
    store_backend = backend if engine == "duckdb" else connect(store)
    if prev_id is not None:
        r = _table(store_backend, _table_of(store, prev_id))
        previous = r.filter(r.run_id == prev_id).select("uscc", "class", "class_streak")
        if engine != "duckdb":  # the previous run lives in the store: hand its classes to the other engine
            import ibis

            previous = ibis.memtable(previous.to_pyarrow())
    evaluation = mujun.evaluate(backend, preset, year, scope.adcode, benchmarks=benchmarks, previous=previous,
                                log=log)
    if log is not None:
        log.append(("begin",))

    def write(run_id: str) -> None:
        n = insert(store, backend, SCORES, evaluation.scores, {"run_id": run_id, "year": year}, log=log)
        if n == 0:
            raise ShanhaiError(f"no enterprises with {year} data in region {scope.adcode}")
        insert(store, backend, "mujun_benchmarks", evaluation.benchmarks, {"run_id": run_id}, log=log)
        step("汇总 roll-ups", 0.7)
        r = _table(store_backend, SCORES)
        stored = r.filter(r.run_id == run_id)
        if engine == "duckdb":      # the firms' facts from stage 1, their classes as just stored
            facts = evaluation.facts.select("uscc", *mujun.ROLLUP_COLUMNS).rename(uscc_f="uscc")
            stored = stored.select("uscc", "population", "class", "surcharge_yuan")
            stored = stored.join(facts, stored.uscc == facts.uscc_f).drop("uscc_f")
        else:                       # stage 1 lives in Spark: the stored run's view has the facts
            r = _table(store_backend, "mujun_results")
            stored = r.filter(r.run_id == run_id)
        stages = mujun.Stages(store_backend, log)
        try:
            fig, counts = mujun.rollups(store_backend, stored, preset, year, stages)
            insert(store, store_backend, "mujun_rollups", fig, {"run_id": run_id}, log=log)
            insert(store, store_backend, "mujun_class_counts", counts, {"run_id": run_id}, log=log)
        finally:
            stages.release()

    try:
        return _store_run(store, preset, year, scope, benchmarks, engine, user, notes, prev_id, step, started,
                          source, list(evaluation.used), write)
    finally:
        evaluation.release()


def _store_run(store, preset, year, scope, benchmarks, engine, user, notes, prev_id, step, started, source, used,
               write) -> RunSummary:
    """One transaction: the run's row, what ``write(run_id)`` inserts (scores, benchmarks,
    roll-ups), the audit entry."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    run_id = f"mujun-{year}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    fingerprint = policy.fingerprint(preset)
    params = {"year": year, "region": scope.adcode, "region_level": scope.level, "benchmarks": benchmarks,
              "engine": engine, "source": source or "store", "policy_fingerprint": fingerprint, "previous_run": prev_id,
              "indicators_used": list(used),   # the view mujun_results shows these values
              "policy": json.loads(policy._load.canonical_json(preset))}
    con = store.con
    con.execute("SET preserve_insertion_order = false")  # halves the cost of writing a million rows
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO runs (run_id, kind, policy_name, policy_version, params, inputs_fingerprint, code_version, "
            f"created_by, created_at, status, note) VALUES ({values(run_id, KIND, preset.name, preset.version)}, "
            f"{literal(json.dumps(params, ensure_ascii=False))}::JSON, "
            f"{values(inputs_fingerprint(store, year), __version__, user or 'cli', now, 'done', '; '.join(notes) or None)})")
        step("保存结果 storing results", 0.4)
        write(run_id)
        audit_append(con, "evaluate.mujun", username=user, target=run_id,
                     detail={"policy": preset.name, "version": preset.version, "year": year, "region": scope.adcode})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("RESET preserve_insertion_order")
    step("完成 done", 1.0)
    summary = summary_of(store, run_id)
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.notes = notes
    return summary


# ---- compiled plans --------------------------------------------------------------------------
#
# Building the Ibis expressions of a run, importing Ibis' SQL compilers and compiling them costs
# about a second whatever the number of firms: most of a county's run. On DuckDB a run is a fixed
# sequence of statements (temp stages, then inserts inside the transaction) that depends only on
# the preset, the year, the region, the benchmark mode, whether a previous run exists, the tables'
# columns and the code: the first run with a key records it (a "plan"), later runs with the same
# key execute it again with their own stage names, run id and previous run id, and never touch
# Ibis. Plans are kept in the process and in the store (``compiled_plans``, migration 0022), so a
# CLI run, the web server after a restart and a what-if all replay. The key holds a fingerprint of
# every source file of the package and the DuckDB and Ibis versions: a plan never outlives the code
# that wrote it (a stale plan would store wrong classes without a sound).

_PLAN_TABLES = ("enterprise_years", "enterprises", "regions", "enterprise_flags", "electricity_monthly", SCORES,
                LEGACY, "mujun_results", "mujun_benchmarks", "mujun_rollups", "mujun_class_counts", "zones",
                "industries")
_PLANS_KEPT = 64                  # per store; older plans are deleted when a new one is saved
_plans: dict[str, dict] = {}
_code: str | None = None


def code_fingerprint() -> str:
    """sha256 over every ``.py``, ``.sql`` and ``.toml`` file of the installed ``shanhai`` package
    (path and content, in path order) and the DuckDB and Ibis versions: what compiled SQL depends
    on besides the key's data. Computed once per process (about 10 ms)."""
    global _code
    if _code is None:
        from importlib.metadata import PackageNotFoundError, version
        from pathlib import Path

        import shanhai

        root = Path(shanhai.__file__).resolve().parent
        h = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".sql", ".toml") and p.is_file()):
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        try:
            ibis_version = version("ibis-framework")
        except PackageNotFoundError:      # pragma: no cover - ibis is a main dependency
            ibis_version = "?"
        h.update(f"duckdb {duckdb.__version__} ibis {ibis_version}".encode())
        _code = h.hexdigest()[:32]
    return _code


def _plan_key(store: Store, preset, year: int, scope, benchmarks: str, prev_id: str | None) -> str:
    columns = {}
    for table in _PLAN_TABLES:
        try:
            columns[table] = [list(r[:3]) for r in store.con.execute(f'DESCRIBE "{table}"').fetchall()]
        except Exception:               # a table this store does not have (yet)
            columns[table] = None
    doc = {"code": code_fingerprint(), "preset": policy.fingerprint(preset), "year": year,
           "scope": [scope.adcode, scope.level], "benchmarks": benchmarks,
           "previous": _table_of(store, prev_id) if prev_id else None, "columns": columns}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:40]


def _memo_key(store: Store, key: str) -> str:
    return f"{store.path}|{key}"


def _load_plan(store: Store, key: str) -> dict | None:
    """The plan recorded under ``key``: this process's copy, else the store's. (Values are inlined
    as literals, as everywhere in a run: the first statement with bound parameters in a process
    makes DuckDB's client import pandas, 1.2 CPU s.)"""
    plan = _plans.get(_memo_key(store, key))
    if plan is not None:
        return plan
    try:
        row = store.con.execute(f"SELECT plan FROM compiled_plans WHERE plan_key = {literal(key)} "
                                f"AND code_fingerprint = {literal(code_fingerprint())}").fetchone()
    except duckdb.Error:          # a store opened read-only before migration 0022: no stored plans
        return None
    if row is None:
        return None
    plan = json.loads(row[0])
    if plan.get("key") != key:
        return None
    _remember(store, key, plan)
    return plan


def _remember(store: Store, key: str, plan: dict) -> None:
    while len(_plans) >= 32:
        _plans.pop(next(iter(_plans)))
    _plans[_memo_key(store, key)] = plan


def _save_plan(store: Store, key: str, plan: dict) -> None:
    """Keep the plan in the process and in the store (after the run's transaction: a plan is a
    cache, and failing to store one never fails the run)."""
    _remember(store, key, plan)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    con = store.con
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM compiled_plans WHERE code_fingerprint <> {literal(code_fingerprint())} "
                    f"OR plan_key = {literal(key)}")
        con.execute("DELETE FROM compiled_plans WHERE plan_key IN (SELECT plan_key FROM compiled_plans "
                    f"ORDER BY created_at DESC OFFSET {_PLANS_KEPT - 1:d})")
        con.execute(f"INSERT INTO compiled_plans VALUES ({values(key, KIND, code_fingerprint())}, "
                    f"{literal(json.dumps(plan, ensure_ascii=False))}::JSON, {literal(now)})")
        con.execute("COMMIT")
    except duckdb.Error:
        try:  # BEGIN itself may have failed (a read-only store): nothing to roll back then
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass


def forget_plan(store: Store, key: str) -> None:
    """Drop a plan that could not be replayed (process and store)."""
    _plans.pop(_memo_key(store, key), None)
    try:
        store.con.execute(f"DELETE FROM compiled_plans WHERE plan_key = {literal(key)}")
    except duckdb.Error:
        pass


def replay_stage(store: Store, name: str, sql: str) -> None:
    """One recorded stage of a plan, made again as the temp table ``name`` (a function of its own,
    so that a benchmark can time the stages of a replayed run)."""
    store.con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}')


def _replay(store: Store, plan: dict, preset, year: int, scope, benchmarks: str, user: str | None, notes: list,
            prev_id: str | None, step, started: float) -> RunSummary:
    """A run from its recorded plan: the same statements with this run's names, in the same order."""
    from shanhai.engine import insert, stage_name

    con = store.con
    names: dict[str, str] = {}
    created: list[str] = []
    steps = plan["steps"]
    begin = next(i for i, s in enumerate(steps) if s[0] == "begin")

    def sql_of(sql: str, run_id: str | None = None) -> str:
        for old, new in names.items():
            sql = sql.replace(old, new)
        if plan["prev_id"] and prev_id:
            sql = sql.replace(plan["prev_id"], prev_id)
        return sql.replace(plan["run_id"], run_id) if run_id else sql

    def stage(name: str, sql: str, run_id: str | None = None) -> None:
        new = stage_name()
        replay_stage(store, new, sql_of(sql, run_id))
        names[name] = new
        created.append(new)

    def write(run_id: str) -> None:
        for s in steps[begin + 1:]:
            if s[0] == "stage":
                stage(s[1], s[2], run_id)
                continue
            extra = {k: (run_id if v == plan["run_id"] else v) for k, v in s[3].items()}
            n = insert(store, None, s[1], sql_of(s[2], run_id), extra)
            if s[1] == SCORES:
                if n == 0:
                    raise ShanhaiError(f"no enterprises with {year} data in region {scope.adcode}")
                step("汇总 roll-ups", 0.7)

    try:
        for s in steps[:begin]:
            stage(s[1], s[2])
        return _store_run(store, preset, year, scope, benchmarks, "duckdb", user, notes, prev_id, step, started,
                          None, preset.indicators_used(), write)
    finally:
        for name in created:
            con.execute(f'DROP TABLE IF EXISTS "{name}"')


def latest_run(store: Store, name: str, year: int, region: str, fingerprint: str | None = None) -> str | None:
    """The newest run of a preset for a year and region (with this exact preset, if a fingerprint
    is given) whose input data has not changed since."""
    rows = store.con.execute(
        f"SELECT run_id, inputs_fingerprint, json_extract_string(params, '$.policy_fingerprint') FROM runs "
        f"WHERE kind = 'mujun' AND policy_name = {literal(name)} AND status = 'done' "
        f"AND json_extract_string(params, '$.year') = {literal(str(year))} "
        f"AND json_extract_string(params, '$.region') = {literal(region)} "
        f"AND json_extract_string(params, '$.benchmarks') = 'preset' ORDER BY created_at DESC").fetchall()
    current = inputs_fingerprint(store, year) if rows else None
    for run_id, inputs, policy_fp in rows:
        if inputs == current and (fingerprint is None or policy_fp == fingerprint):
            return run_id
    return None


def _run_row(store: Store, run_id: str) -> dict:
    row = store.con.execute(
        "SELECT run_id, policy_name, policy_version, params::VARCHAR, created_at, note FROM runs "
        f"WHERE run_id = {literal(run_id)} AND kind = 'mujun'").fetchone()
    if row is None:
        known = [r[0] for r in store.con.execute(
            "SELECT run_id FROM runs WHERE kind = 'mujun' ORDER BY created_at DESC LIMIT 5").fetchall()]
        hint = f" (latest: {', '.join(known)})" if known else " (no evaluation has been run yet)"
        raise ShanhaiError(f"no per-mu run {run_id!r}{hint}")
    return {"run_id": row[0], "policy": row[1], "policy_version": row[2], "params": json.loads(row[3]),
            "created_at": row[4], "note": row[5]}


def resolve(store: Store, run_id: str | None) -> str:
    """The run id given, or the latest per-mu run when none is."""
    if run_id and run_id != "latest":
        return _run_row(store, run_id)["run_id"]
    row = store.con.execute("SELECT run_id FROM runs WHERE kind = 'mujun' ORDER BY created_at DESC LIMIT 1").fetchone()
    if row is None:
        raise ShanhaiError("no per-mu run yet: run `shanhai evaluate mujun --year Y --policy NAME` first")
    return row[0]


def summary_of(store: Store, run_id: str) -> RunSummary:
    info = _run_row(store, run_id)
    p = info["params"]
    table = _table_of(store, run_id)
    counts = dict(store.con.execute(
        f'SELECT "class", count(*) FROM {table} WHERE run_id = {literal(run_id)} GROUP BY 1 ORDER BY 1'
    ).fetchall())
    total, surcharge = store.con.execute(
        f"SELECT count(*), coalesce(sum(surcharge_yuan), 0) FROM {table} WHERE run_id = {literal(run_id)}"
    ).fetchone()
    return RunSummary(
        run_id=run_id, policy=info["policy"], policy_version=info["policy_version"],
        policy_fingerprint=p.get("policy_fingerprint", ""), year=int(p["year"]), region=p["region"],
        benchmarks=p.get("benchmarks", "preset"), engine=p.get("engine", "duckdb"), enterprises=int(total),
        evaluated=int(total - counts.get("T", 0)), classes={k: int(v) for k, v in counts.items()},
        surcharge_yuan=float(surcharge), seconds=0.0, created_at=str(info["created_at"]),
        notes=[info["note"]] if info["note"] else [])


def preset_of(store: Store, run_id: str):
    """The preset exactly as the run used it (stored in the run, not re-read from disk)."""
    info = _run_row(store, run_id)
    return policy.parse(info["params"]["policy"], f"run {run_id}")


def list_runs(store: Store, limit: int = 20) -> list[dict]:
    rows = store.con.execute(
        "SELECT run_id, policy_name, policy_version, json_extract_string(params, '$.year'), "
        "json_extract_string(params, '$.region'), json_extract_string(params, '$.benchmarks'), created_by, "
        f"created_at FROM runs WHERE kind = 'mujun' ORDER BY created_at DESC LIMIT {int(limit)}").fetchall()
    keys = ("run_id", "policy", "version", "year", "region", "benchmarks", "created_by", "created_at")
    return [dict(zip(keys, r)) for r in rows]


# ---- one firm's account -----------------------------------------------------------------------

def explain(store: Store, run_id: str, uscc: str, region: str | None = None) -> dict:
    """Everything that decided one firm's class in a run, as a document (``explain_text`` renders
    it). ``region``: the caller's scope; a firm outside it is reported as not found."""
    from shanhai.policy import INDICATORS
    from shanhai.policy._model import FLAG_LABELS

    run_id = resolve(store, run_id)
    info = _run_row(store, run_id)
    preset = preset_of(store, run_id)
    cur = store.con.execute(f"SELECT * FROM mujun_results WHERE run_id = {literal(run_id)} "
                            f"AND uscc = {literal(uscc.strip().upper())}")
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    if row is not None and region is not None:
        r = dict(zip(names, row))
        if region not in (r["county_adcode"], r["city_adcode"], "330000"):
            row = None
    if row is None:
        raise ShanhaiError(f"run {run_id} has no enterprise {uscc} (in your region)")
    r = dict(zip(names, row))
    doc: dict = {
        "run_id": run_id, "policy": preset.name, "policy_version": preset.version,
        "policy_name": preset.display_name, "policy_source": preset.source,
        "policy_fingerprint": info["params"].get("policy_fingerprint"), "created_at": str(info["created_at"]),
        "year": r["year"], "uscc": r["uscc"], "name": r["name"], "county_adcode": r["county_adcode"],
        "town_name": r["town_name"], "industry_code": r["industry_code"], "above_scale": r["above_scale"],
        "land_used_mu": r["land_used_mu"], "class": r["class"], "class_label": preset.class_label(r["class"]),
    }
    if _facts_changed(store, run_id, int(r["year"])):
        doc["facts_changed"] = ("本次运行后数据已有导入变更: 所示事实为当前数据, 得分与分类为运行时结果 (the data changed "
                                "since this run: the facts shown are today's, the scores and class the run's)")
    from shanhai import reference
    try:
        doc["county_name"] = reference.region(r["county_adcode"]).name
    except ShanhaiError:
        doc["county_name"] = r["county_adcode"]
    if r["class"] == "T" and r["population"] is None:
        doc["excluded_reason"] = r["excluded_reason"]
        return doc
    pop = preset.population(r["population"])
    doc["population"] = {"id": pop.id, "label": pop.label}
    bench_rows = dict(((b[0]), (b[1], b[2], b[3])) for b in store.con.execute(
        f"SELECT indicator, benchmark, kind, firms FROM mujun_benchmarks WHERE run_id = {literal(run_id)} "
        f"AND unit_id = {literal(r['unit_id'])} AND population = {literal(pop.id)}").fetchall())
    items = []
    for rule in pop.indicators:
        d = INDICATORS[rule.id]
        benchmark, kind, firms = bench_rows.get(rule.id, (r.get(f"{rule.id}_benchmark"), rule.benchmark.kind, None))
        value, score = r[rule.id], r[f"{rule.id}_score"]
        how = "value"
        if value is None:
            how = {"zero": "missing_zero", "deduct": "missing_deduct", "mean_score": "missing_mean",
                   "min_score": "missing_min"}[rule.missing]
        elif benchmark and rule.direction == "higher":
            plain = value / benchmark * rule.weight
            if rule.cap is not None and plain > rule.cap * rule.weight:
                how = "capped"
            elif rule.floor is not None and plain < rule.floor * rule.weight:
                how = "floored"
        items.append({"indicator": rule.id, "label": d.label, "unit": d.unit, "value": value,
                      "numerator": d.numerator, "denominator": d.denominator, "benchmark": benchmark,
                      "benchmark_kind": kind, "benchmark_firms": firms, "weight": rule.weight,
                      "direction": rule.direction, "cap": rule.cap, "floor": rule.floor, "score": score,
                      "how": how})
    doc["indicators"] = items
    doc["base_score"] = r["base_score"]
    doc["bonus"] = r["bonus"]
    doc["penalty"] = r["penalty"]
    doc["bonus_flags"] = [{"flag": f, "label": FLAG_LABELS.get(f, f)} for f in (r["bonus_flags"] or "").split(",") if f]
    doc["penalty_flags"] = [{"flag": f, "label": FLAG_LABELS.get(f, f)} for f in (r["penalty_flags"] or "").split(",")
                            if f]
    doc["total_score"] = r["total_score"]
    doc["rank"] = r["rank"]
    doc["unit_size"] = r["unit_size"]
    doc["unit_id"] = r["unit_id"]
    doc["group_id"] = r["group_id"]
    doc["class_method"] = preset.classes.method
    doc["score_class"] = r["score_class"]
    doc["class_rule"] = r["class_rule"]
    if preset.classes.method == "rank_shares":
        doc["shares"] = preset.shares_for(pop)
    else:
        doc["thresholds"] = preset.thresholds_for(pop)
    rule = next((x for x in preset.rules if x.id == r["class_rule"]), None)
    doc["rule_label"] = rule.label if rule else None
    doc["class_streak"] = r["class_streak"]
    doc["consequences"] = {
        "electricity_rate": None if r["electricity_rate"] is None else float(r["electricity_rate"]),
        "water_rate": None if r["water_rate"] is None else float(r["water_rate"]),
        "gas_rate": None if r["gas_rate"] is None else float(r["gas_rate"]),
        "surcharge_yuan": None if r["surcharge_yuan"] is None else float(r["surcharge_yuan"]),
        "electricity_kwh": r["electricity_kwh"],
        "energy_quota": r["energy_quota"], "land_quota": r["land_quota"], "land_tax_relief": r["land_tax_relief"],
    }
    c = preset.consequence(pop.id, r["class"])
    if c is not None:
        doc["consequences"].update(window_months=c.months, window_from=str(c.window_from or ""),
                                   window_to=str(c.window_to or ""), cap_wan=c.cap_wan,
                                   exempt_below_kwh=c.exempt_below_kwh, note=c.note)
    return doc


_HOW = {"missing_zero": "无数据, 按 0 分 (no data: 0)", "missing_deduct": "无数据, 扣分 (no data: deduction)",
        "missing_mean": "无数据, 取同类企业平均分 (no data: the population's mean score)",
        "missing_min": "无数据, 取同类企业最低分 (no data: the population's lowest score)",
        "capped": "封顶 (capped)", "floored": "保底 (floored)", "value": ""}
_QUOTA = {"priority": "优先保障", "normal": "正常", "restricted": "从严控制", "cut": "压减"}


def _num(v, digits=4) -> str:
    if v is None:
        return "—"
    return f"{v:,.{digits}f}".rstrip("0").rstrip(".") if isinstance(v, float) else f"{v:,}"


def explain_text(doc: dict) -> str:
    """A readable account (Chinese first) of how a firm's class came about."""
    lines = [f"{doc['name']} ({doc['uscc']}) — {doc['county_name']} {doc.get('town_name') or ''}".rstrip(),
             f"{doc['year']} 年度 · 政策 {doc['policy_name']} ({doc['policy']} v{doc['policy_version']})"]
    if "excluded_reason" in doc:
        lines.append(f"结果: T {doc['class_label']} — {doc['excluded_reason']} (not evaluated)")
        lines.append(f"运行 run {doc['run_id']} · {doc['created_at']}")
        return "\n".join(lines)
    lines.append(f"评价对象 population: {doc['population']['label']} ({doc['population']['id']}); "
                 f"用地 land used {_num(doc['land_used_mu'], 2)} 亩")
    lines.append("")
    lines.append("指标得分 indicator scores (得分 = 指标值 ÷ 基准值 × 权重):")
    for it in doc["indicators"]:
        kind = {"fixed": "公布值", "sum_ratio": "本县同类企业之和比", "mean": "均值", "median": "中位数",
                "percentile": "分位数", "max": "最高值"}.get(it["benchmark_kind"], it["benchmark_kind"])
        firms = f", {it['benchmark_firms']} 家" if it.get("benchmark_firms") else ""
        if it["value"] is None:
            arithmetic = f"{_HOW[it['how']]} = {_num(it['score'])}"
        else:
            op = "÷ {b} ×" if it["direction"] == "higher" else "基准 {b} ÷ 值 ×"
            arithmetic = (f"{_num(it['value'])} " + op.format(b=_num(it['benchmark'])) +
                          f" {_num(it['weight'])} = {_num(it['score'])}")
            if it["how"] in ("capped", "floored"):
                arithmetic += f" ({_HOW[it['how']]})"
        lines.append(f"  {it['label']} ({it['unit']}): {arithmetic}   [基准 {kind}{firms}]")
    lines.append(f"  小计 base score {_num(doc['base_score'])}")
    for f in doc["bonus_flags"]:
        lines.append(f"  加分 bonus: {f['label']} ({f['flag']})")
    for f in doc["penalty_flags"]:
        lines.append(f"  减分 penalty: {f['label']} ({f['flag']})")
    lines.append(f"  总分 total = {_num(doc['base_score'])} + {_num(doc['bonus'])} − {_num(doc['penalty'])} = "
                 f"{_num(doc['total_score'])}")
    lines.append("")
    unit = f"{doc['unit_id']} × {doc['population']['label']}" + (f" × {doc['group_id']}" if doc["group_id"] else "")
    share = doc["rank"] / doc["unit_size"] if doc["unit_size"] else None
    lines.append(f"排名 rank: {doc['rank']} / {doc['unit_size']} ({unit}), 前 {share:.1%}" if share is not None
                 else "排名 rank: —")
    if doc["class_method"] == "rank_shares":
        cum, bands = 0.0, []
        for code, s in doc["shares"].items():
            cum += s
            bands.append(f"{code} ≤ {cum:.0%}")
        lines.append(f"按排名比例 by rank shares ({', '.join(bands)}): {doc['score_class']}")
    else:
        lines.append(f"按分数线 by thresholds ({', '.join(f'{k} ≥ {v:g}' for k, v in doc['thresholds'].items())}): "
                     f"{doc['score_class']}")
    if doc["rule_label"]:
        lines.append(f"规则 rule {doc['class_rule']}: {doc['rule_label']} → {doc['class']}")
    lines.append(f"结果 class: {doc['class']} {doc['class_label']}"
                 + (f" (连续 {doc['class_streak']} 年)" if doc.get("class_streak", 1) and doc["class_streak"] > 1 else ""))
    c = doc["consequences"]
    parts = []
    if c.get("electricity_rate") is not None:
        parts.append(f"差别电价 +{c['electricity_rate']:g} 元/千瓦时"
                     + (f" ({c['window_from']} 至 {c['window_to']})" if c.get("window_from") else ""))
        parts.append(f"预计加收 {c['surcharge_yuan']:,.2f} 元 (用电 {_num(c['electricity_kwh'], 0)} 千瓦时"
                     + (f" × {c['window_months']}/12" if c.get("window_months", 12) != 12 else "")
                     + (f", 每户最多 {c['cap_wan']:g} 万元" if c.get("cap_wan") else "")
                     + (f", 年用电 < {c['exempt_below_kwh']:,.0f} 千瓦时免征" if c.get("exempt_below_kwh") else "") + ")")
    if c.get("energy_quota"):
        parts.append(f"用能 {_QUOTA.get(c['energy_quota'], c['energy_quota'])}")
    if c.get("land_quota"):
        parts.append(f"用地 {_QUOTA.get(c['land_quota'], c['land_quota'])}")
    if c.get("note"):
        parts.append(c["note"])
    lines.append("后果 consequences: " + ("; ".join(parts) if parts else "无 (none)"))
    lines.append("")
    lines.append(f"运行 run {doc['run_id']} · {doc['created_at']} · 政策指纹 {str(doc['policy_fingerprint'])[:12]}")
    if doc.get("facts_changed"):
        lines.append(f"注意 note: {doc['facts_changed']}")
    lines.append(f"来源 source: {doc['policy_source']}")
    return "\n".join(lines)


# ---- counties ranked, distance to targets ---------------------------------------------------

def county_ranking(store: Store, run_id: str, region: str | None = None) -> list[dict]:
    """Counties ranked the regional way: above-scale 亩均税收 and 亩均增加值 (sums over sums) among
    all counties of the run and among the 县市 (counties and county-level cities, districts
    left out), with the previous year's figures. ``region`` limits the rows returned (the
    ranks stay those among all counties)."""
    rows = store.con.execute(f"""
        WITH c AS (
            SELECT r.key, r.label, r.firms, r.tax_per_mu, r.value_added_per_mu, r.labour_productivity,
                   r.prev_tax_per_mu, r.prev_value_added_per_mu, r.surcharge_yuan, g.county_kind, g.city_adcode,
                   g.mountain26, g.mountain_category
            FROM mujun_rollups r JOIN regions g ON g.adcode = r.key
            WHERE r.run_id = {literal(run_id)} AND r.level = 'county' AND r.scope = 'above_scale')
        SELECT *,
               rank() OVER (ORDER BY tax_per_mu DESC NULLS LAST) AS rank_tax,
               rank() OVER (ORDER BY value_added_per_mu DESC NULLS LAST) AS rank_va,
               CASE WHEN county_kind <> 'district' THEN
                   rank() OVER (PARTITION BY county_kind <> 'district' ORDER BY tax_per_mu DESC NULLS LAST) END
                   AS rank_tax_county_cities,
               count(*) OVER () AS counties,
               count(*) FILTER (WHERE county_kind <> 'district') OVER () AS county_cities
        FROM c ORDER BY rank_tax, key""")
    names = [d[0] for d in rows.description]
    out = [dict(zip(names, r)) for r in rows.fetchall()]
    for r in out:
        r["surcharge_yuan"] = float(r["surcharge_yuan"] or 0)
    if region not in (None, "330000"):
        out = [r for r in out if region in (r["key"], r["city_adcode"])]
    return out


# the note of a target that applies to one category of the 26 mountain counties (Chinese, English)
MOUNTAIN_SPLIT_NOTE = ("山区县分类待核实", "the mountain category split is not yet verified")


def target_gaps(store: Store, run_id: str, region: str | None = None) -> list[dict]:
    """Distance from each region's above-scale figures in this run to the per-mu targets of the
    policy documents (``policy.targets()``): actual, target, gap, share achieved."""
    gaps = []
    for t in policy.targets():
        if t.level == "county" and t.applies_to.startswith("mountain26:"):
            category = t.applies_to.split(":")[1]
            where = (f"r.level = 'county' AND r.key IN (SELECT adcode FROM regions WHERE mountain26 "
                     f"AND mountain_category = {literal(category)})")
        elif t.level == "zone":
            where = (f"r.level = 'zone' AND r.key IN (SELECT z.zone_id FROM zones z JOIN regions g ON "
                     f"g.adcode = z.county_adcode WHERE g.city_adcode = {literal(t.applies_to)})")
        else:
            where = f"r.level = {literal(t.level)} AND r.key = {literal(t.applies_to)}"
        prev_col = f"r.prev_{t.indicator}" if t.indicator in ("tax_per_mu", "value_added_per_mu") else "NULL"
        rows = store.con.execute(
            f"SELECT r.level, r.key, r.label, r.{t.indicator}, {prev_col}, z.county_adcode "
            f"FROM mujun_rollups r LEFT JOIN zones z ON r.level = 'zone' AND z.zone_id = r.key "
            f"WHERE r.run_id = {literal(run_id)} AND r.scope = 'above_scale' AND {where} ORDER BY r.key").fetchall()
        for level, key, label, actual, prev, zone_county in rows:
            if region not in (None, "330000") and not _within(store, region, level, key, zone_county):
                continue
            target = t.value if t.value is not None else (None if prev is None else prev * (1 + t.growth))
            gaps.append({
                "target_id": t.id, "label": t.label, "source": t.source, "target_year": t.year, "level": level,
                "key": key, "name": label, "indicator": t.indicator, "actual": actual, "target": target,
                "gap": None if actual is None or target is None else target - actual,
                "achieved": None if not actual or not target else actual / target,
                "note": (" ".join(MOUNTAIN_SPLIT_NOTE) if t.applies_to.startswith("mountain26:") else None),
                "note_zh": (MOUNTAIN_SPLIT_NOTE[0] if t.applies_to.startswith("mountain26:") else None),
                "note_en": (MOUNTAIN_SPLIT_NOTE[1] if t.applies_to.startswith("mountain26:") else None),
            })
    return gaps


def _within(store: Store, region: str, level: str, key: str, zone_county: str | None) -> bool:
    if level == "province":
        return False
    adcode = zone_county if level == "zone" else key
    if adcode == region:
        return True
    row = store.con.execute(f"SELECT city_adcode FROM regions WHERE adcode = {literal(adcode)}").fetchone()
    return bool(row) and row[0] == region
