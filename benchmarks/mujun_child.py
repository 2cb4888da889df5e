"""Child process of the ``mujun`` workload (see ``benchmarks/mujun.py``): one job per process.

Run as a script (``python -P benchmarks/mujun_child.py JOB ...``), so it imports only the standard
library and ``shanhai`` (the ``check`` job: ``duckdb``); it prints one JSON line on stdout.

* ``prepare OUT --scale S --seed N --copies K --years 2022-2023``: not measured. Builds the synthetic
  province at scale S with ``shanhai.synth.build``, then replicates ``enterprises``,
  ``enterprise_years`` and ``enterprise_flags`` K× in SQL (copy k's USCCs start with the digit
  k instead of 9; check characters are not recomputed), so the year holds about K × 166,000 firms
  at scale 1 in a fraction of the time and memory a synth build of that size would take.
* ``shanhai DB --policy NAME --year Y``: measured. ``open_store`` + ``shanhai.jobs.mujun.run`` +
  close, with the engine's functions wrapped with timers (the phases), ``ibis.to_sql`` timed
  inside each phase (Ibis compile vs DuckDB execution) and the peak RSS at the end of each phase.
* ``check SHANHAI_DB PANDAS_DB --columns ...``: not measured. Compares the run stored in
  ``mujun_results`` with the pandas baseline's ``pandas_mujun_results`` row by row; exit code 3
  when any row differs.
"""

from __future__ import annotations

import json
import sys
import time

STARTED = time.perf_counter()


def _maxrss_mb() -> float:
    import resource

    raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return raw / 2**20 if sys.platform == "darwin" else raw / 1024


def _emit(report: dict) -> None:
    report["maxrss_mb"] = _maxrss_mb()
    json.dump(report, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


# ---------------------------------------------------------------------------- prepare (not measured)

REPLICATED = ("enterprises", "enterprise_years", "enterprise_flags")


def prepare(out: str, scale: float, seed: int, copies: int, years: tuple[int, ...]) -> dict:
    from shanhai.store import open_store
    from shanhai.synth import SynthConfig, build

    started = time.perf_counter()
    result = build(out, SynthConfig(scale=scale, seed=seed, years=years))
    built = time.perf_counter()
    with open_store(out) as store:
        con = store.con
        con.execute("SET enable_progress_bar = false")
        first = {r[0] for r in con.execute("SELECT DISTINCT substr(uscc, 1, 1) FROM enterprises").fetchall()}
        digits = [str(k) for k in range(1, copies)]
        if first != {"9"}:
            raise SystemExit(f"expected every synthetic USCC to start with 9, found {sorted(first)}")
        if digits:
            variants = ", ".join(f"('{d}')" for d in digits)
            con.execute("BEGIN TRANSACTION")
            for table in REPLICATED:
                con.execute(f"INSERT INTO {table} BY NAME SELECT t.* REPLACE (k.c || substr(t.uscc, 2) AS uscc) "
                            f"FROM {table} t, (VALUES {variants}) k(c) WHERE t.uscc LIKE '9%'")
            con.execute("COMMIT")
        con.execute("CHECKPOINT")
        per_year = dict(con.execute("SELECT year, count(*) FROM enterprise_years GROUP BY 1 ORDER BY 1").fetchall())
        rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in REPLICATED}
    return {"synth_s": built - started, "replicate_s": time.perf_counter() - built,
            "synth_enterprises": result.rows["enterprises"], "copies": copies,
            "firms_per_year": {str(k): v for k, v in per_year.items()}, "rows": rows}


# ---------------------------------------------------------------------------- the measured run

# The stages materialised by ``Stages.keep``, named by the function that asks for them and the
# order it asks (see shanhai.analysis.mujun.evaluate / _benchmarks / rollups).
STAGE_NAMES = {
    ("evaluate", 1): "stage 1: inputs, scope, population, indicator values",
    ("_benchmarks", 1): "stage: benchmarks per unit",
    ("rollups", 1): "roll-up stage: partial sums per cell (county × town × zone × industry × scale × population × class)",
}


class Phases:
    """Wrap functions with timers. Nested wrapped calls are subtracted from their caller, so every
    phase's ``s`` is its own time; ``ibis.to_sql`` inside a phase is counted as that phase's
    compile time (part of its own time, the rest being DuckDB and Python glue)."""

    def __init__(self) -> None:
        self.stack: list[dict] = []
        self.rows: dict[str, dict] = {}
        self.order: list[str] = []
        self.events: list[tuple[str, float]] = []   # (label, seconds since STARTED) at each phase end
        self.stage_calls: dict[str, int] = {}

    def record(self, name: str, own: float, compile_s: float, sql_chars: int, cpu_s: float = 0.0) -> None:
        if name not in self.rows:
            self.rows[name] = {"calls": 0, "s": 0.0, "cpu_s": 0.0, "compile_s": 0.0, "sql_chars": 0, "rss_mb": 0.0}
            self.order.append(name)
        row = self.rows[name]
        row["calls"] += 1
        row["s"] += own
        row["cpu_s"] += cpu_s
        row["compile_s"] += compile_s
        row["sql_chars"] += sql_chars
        row["rss_mb"] = _maxrss_mb()

    def wrap(self, module, attribute: str, label) -> None:
        original = getattr(module, attribute, None)
        if original is None:
            return

        def timed(*args, **kwargs):
            name = label(args, kwargs) if callable(label) else label
            frame = {"children": 0.0, "children_cpu": 0.0, "compile": 0.0, "sql": 0}
            self.stack.append(frame)
            began, began_cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                spent, spent_cpu = time.perf_counter() - began, time.process_time() - began_cpu
                self.stack.pop()
                if self.stack:
                    self.stack[-1]["children"] += spent
                    self.stack[-1]["children_cpu"] += spent_cpu
                self.record(name, spent - frame["children"], frame["compile"], frame["sql"],
                            spent_cpu - frame["children_cpu"])
                self.events.append((name, time.perf_counter() - STARTED))

        setattr(module, attribute, timed)

    def wrap_compile(self, module) -> None:
        original = module.to_sql

        def to_sql(*args, **kwargs):
            began = time.perf_counter()
            sql = original(*args, **kwargs)
            spent = time.perf_counter() - began
            if self.stack:
                self.stack[-1]["compile"] += spent
                self.stack[-1]["sql"] += len(sql)
            else:
                self.record("Ibis compile outside the phases", spent, spent, len(sql), spent)
            return sql

        module.to_sql = to_sql

    def stage_name(self, args, kwargs) -> str:
        caller = sys._getframe(3).f_code.co_name     # stage_name <- timed <- Stages.keep <- caller
        n = self.stage_calls[caller] = self.stage_calls.get(caller, 0) + 1
        return "materialize " + STAGE_NAMES.get((caller, n), f"{caller} stage {n}")


def run_shanhai(db: str, policy: str, year: int) -> dict:
    import ibis

    import shanhai.engine
    import shanhai.policy
    from shanhai.analysis import mujun as analysis
    from shanhai.jobs import mujun as job
    from shanhai.store import open_store

    imported = time.perf_counter()
    phases = Phases()
    phases.wrap_compile(ibis)
    phases.wrap(analysis, "materialize", phases.stage_name)
    phases.wrap(analysis, "release", "drop the stage tables")
    phases.wrap(analysis, "evaluate", "evaluate: build the Ibis expressions (outside its stages)")
    phases.wrap(analysis, "rollups", "rollups: build the Ibis expressions (outside its stages)")
    phases.wrap(shanhai.engine, "insert", lambda args, kwargs: f"insert {args[2]} (compile + INSERT … SELECT)"
                + (": scores, rank, class, rules, consequences" if args[2] == "mujun_scores" else ""))
    phases.wrap(shanhai.engine, "connect", "connect the Ibis backend (first use: imports ibis.backends.duckdb)")
    phases.wrap(shanhai.policy, "get", "load the preset")
    phases.wrap(job, "inputs_fingerprint", "inputs fingerprint")
    phases.wrap(job, "_years", "years in the store")
    phases.wrap(job, "_previous_run", "previous run look-up")
    phases.wrap(job, "audit_append", "audit append")
    phases.wrap(job, "summary_of", "summary (class counts from mujun_scores)")
    phases.wrap(job, "replay_stage", "materialize a stage of a replayed plan")
    phases.wrap(job, "_plan_key", "plan key (code fingerprint, the tables' columns)")
    phases.wrap(job, "_load_plan", "plan look-up (process, then compiled_plans)")
    phases.wrap(job, "_save_plan", "plan saved (compiled_plans)")
    marks: dict[str, float] = {}

    def progress(label, fraction):
        marks[label] = time.perf_counter() - STARTED

    began = time.perf_counter()
    with open_store(db) as store:
        opened, opened_cpu = time.perf_counter(), time.process_time()
        summary = job.run(store, policy, year, progress=progress)
        ran, ran_cpu = time.perf_counter(), time.process_time()
    closed = time.perf_counter()
    run_s = ran - opened
    rows = {name: dict(phases.rows[name]) for name in phases.order}
    # COMMIT (with DuckDB's automatic checkpoint when the WAL is large) happens between the audit
    # append and the progress call 完成 done; none of the wrapped functions covers it
    audit_end = max((t for name, t in phases.events if name == "audit append"), default=None)
    if audit_end is not None and "完成 done" in marks:
        rows["COMMIT (writes the run's rows)"] = {"calls": 1, "s": marks["完成 done"] - audit_end, "cpu_s": None,
                                                 "compile_s": 0.0, "sql_chars": 0, "rss_mb": _maxrss_mb()}
    covered = sum(r["s"] for r in rows.values())
    rows["rest of run() (Python glue, INSERT INTO runs, BEGIN, SET)"] = {
        "calls": 1, "s": max(0.0, run_s - covered), "cpu_s": None, "compile_s": 0.0, "sql_chars": 0,
        "rss_mb": _maxrss_mb()}
    return {"policy": policy, "year": year, "enterprises": summary.enterprises, "evaluated": summary.evaluated,
            "classes": summary.classes, "run_id": summary.run_id, "import_s": imported - STARTED,
            "open_s": opened - began, "run_s": run_s, "run_cpu_s": ran_cpu - opened_cpu, "close_s": closed - ran,
            "work_s": closed - began,
            "summary_seconds": summary.seconds, "phases": rows}


# ---------------------------------------------------------------------------- check (not measured)


def check(shanhai_db: str, pandas_db: str, columns: list[str], float_columns: list[str]) -> dict:
    """Row by row: every firm of the run and of the baseline, the columns compared exactly
    (``IS DISTINCT FROM``: NULL equals NULL, 0.1 + 0.2 differs from 0.3)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{shanhai_db}' AS s (READ_ONLY)")
    con.execute(f"ATTACH '{pandas_db}' AS p (READ_ONLY)")
    runs = con.execute("SELECT DISTINCT run_id FROM s.mujun_results").fetchall()
    if len(runs) != 1:
        raise SystemExit(f"expected one run in {shanhai_db}, found {len(runs)}")
    con.execute("CREATE TEMP TABLE a AS SELECT * FROM s.mujun_results")
    con.execute("CREATE TEMP TABLE b AS SELECT * FROM p.pandas_mujun_results")
    n_a, n_b = (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("a", "b"))
    distinct = " OR ".join(f'a."{c}" IS DISTINCT FROM b."{c}"' for c in columns)
    differing = con.execute(f"""SELECT count(*) FROM a FULL OUTER JOIN b ON a.uscc = b.uscc
                                WHERE a.uscc IS NULL OR b.uscc IS NULL OR {distinct}""").fetchone()[0]
    per_column = {}
    for c in columns:
        n = con.execute(f'SELECT count(*) FROM a JOIN b USING (uscc) '
                        f'WHERE a."{c}" IS DISTINCT FROM b."{c}"').fetchone()[0]
        if n:
            worst = None
            if c in float_columns:
                worst = con.execute(f'SELECT max(abs(a."{c}" - b."{c}")) FROM a JOIN b USING (uscc)').fetchone()[0]
            per_column[c] = {"rows": n, "max_abs_diff": worst}
    examples = []
    if differing:
        shown = ", ".join(f'a."{c}" AS "s_{c}", b."{c}" AS "p_{c}"' for c in columns)
        cur = con.execute(f"""SELECT coalesce(a.uscc, b.uscc) AS uscc, {shown} FROM a FULL OUTER JOIN b
                              ON a.uscc = b.uscc WHERE a.uscc IS NULL OR b.uscc IS NULL OR {distinct} LIMIT 3""")
        names = [d[0] for d in cur.description]
        for row in cur.fetchall():
            record = dict(zip(names, row))
            examples.append({k: v for k, v in record.items()
                             if k == "uscc" or (k[2:] in per_column or not per_column)})
    missing_scores = con.execute("SELECT count(*) FROM a WHERE total_score IS NULL").fetchone()[0]
    negative = con.execute("SELECT count(*) FROM a WHERE tax_paid < 0 OR value_added < 0 OR rd_spending < 0"
                           ).fetchone()[0]
    return {"shanhai_rows": n_a, "pandas_rows": n_b, "differing_rows": differing, "per_column": per_column,
            "examples": [{k: (v if isinstance(v, (int, float, str, type(None))) else str(v)) for k, v in e.items()}
                         for e in examples],
            "excluded_rows": missing_scores, "negative_rows": negative, "identical": differing == 0 and n_a == n_b}


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="mujun_child.py")
    sub = parser.add_subparsers(dest="job", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("out")
    p.add_argument("--scale", type=float, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--copies", type=int, required=True)
    p.add_argument("--years", required=True)
    s = sub.add_parser("shanhai")
    s.add_argument("db")
    s.add_argument("--policy", required=True)
    s.add_argument("--year", type=int, required=True)
    c = sub.add_parser("check")
    c.add_argument("shanhai_db")
    c.add_argument("pandas_db")
    c.add_argument("--columns", required=True)
    c.add_argument("--float-columns", default="")
    args = parser.parse_args(argv)
    if args.job == "prepare":
        first, last = (int(y) for y in args.years.split("-"))
        _emit(prepare(args.out, args.scale, args.seed, args.copies, tuple(range(first, last + 1))))
        return 0
    if args.job == "shanhai":
        _emit(run_shanhai(args.db, args.policy, args.year))
        return 0
    report = check(args.shanhai_db, args.pandas_db, args.columns.split(","),
                   [x for x in args.float_columns.split(",") if x])
    _emit(report)
    if not report["identical"]:
        print(f"RESULTS DIFFER: {report['differing_rows']:,} rows differ between the shanhai run "
              f"({report['shanhai_rows']:,} rows) and the pandas baseline ({report['pandas_rows']:,} rows); "
              f"by column: {report['per_column']}; examples: {report['examples']}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    import os

    os.environ.pop("SHANHAI_DB", None)
    sys.exit(main(sys.argv[1:]))
