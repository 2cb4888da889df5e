"""The ``carbon`` workload: 1,000,000 firm-years × 6 energy carriers converted (natural units in
mixed units → tce 当量值/等价值 and CO2) and graded (L, level, the industry's Σ CO2 ÷ Σ VA, K, grade
1–5) in DuckDB SQL, beside a straightforward pandas implementation of the same formulas on the
same input, with the results checked identical on every firm-year.

The input (6,000,000 energy rows) is made once and cached (``benchmarks/carbon_child.py prepare``,
not measured). Every measured run is a fresh child on its own copy:

* ``shanhai``: the builders of :mod:`shanhai.analysis.carbon` (``firm_energy_sql`` +
  ``grades_sql``, the SQL ``shanhai.jobs.carbon.run`` executes) into a temporary table (run s),
  then the write of the results into the file (store s, beside it);
* ``pandas``: ``benchmarks/carbon_pandas.py`` (merges and groupbys), on the whole input;

then (not measured) ``carbon_child.py check`` compares: same firm-years, grade, level and flag,
L, the industry's L and K within 1e-9 relative. A difference fails the workload.

Target (from the issue): under 2 s: **ratio to target = run s / 2 s**.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.measure import ChildRun, GrowthPoint, Ladder, child_report, failure, reproduce_line, run_child
from benchmarks.workloads import Case

CHILD = Path(__file__).resolve().with_name("carbon_child.py")
BASELINE = Path(__file__).resolve().with_name("carbon_pandas.py")
FIRMS = 1_000_000
# firm-years (each with 6 carrier rows); the target is on 1,000,000; pandas runs at every size
LADDER = Ladder("firm-years", (10_000, 100_000, 1_000_000), (10_000, 100_000), target=FIRMS)
TARGET_S = 2.0


class CarbonCase(Case):
    check: dict | None = None
    targeted: bool = False

    @property
    def run_s(self) -> float | None:
        return self.report_median("run_s") if self.ok else None

    @property
    def measured_s(self) -> float | None:
        return self.run_s

    @property
    def target_s(self) -> float | None:
        return TARGET_S if self.targeted else None

    @property
    def ratio(self) -> float | None:
        return None if self.target_s is None or self.run_s is None else self.run_s / self.target_s

    @property
    def status(self) -> str:
        if not self.ok:
            return "FAILED"
        return "—" if self.ratio is None else ("pass" if self.ratio < 1 else "MISS")


def prepared_input(firms: int, timeout_s: float, log) -> tuple[Path | None, dict | None, ChildRun | None]:
    folder = Path(tempfile.gettempdir()) / "shanhai-bench-cache"
    folder.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(CHILD.read_bytes()).hexdigest()[:12]
    path = folder / f"carbon-{firms}-{key}.duckdb"
    facts = path.with_suffix(".json")
    if path.exists() and facts.exists():
        info = json.loads(facts.read_text())
        log(f"carbon input: cached {path} ({info['rows']:,} rows)")
        return path, info, None
    for stale in folder.glob(f"carbon-{firms}-*"):
        stale.unlink()
    log(f"carbon input: building {firms:,} firm-years × 6 carriers into {path} (once; not measured) …")
    with tempfile.TemporaryDirectory(prefix="shanhai-bench-carbon-prep-", dir=folder) as tmp:
        target = Path(tmp) / "input.duckdb"
        run = run_child([sys.executable, "-P", str(CHILD), "prepare", str(target), "--firms", str(firms)], Path(tmp),
                        timeout_s)
        if not run.ok:
            return None, None, run
        info = json.loads(run.stdout.strip().splitlines()[-1])
        os.replace(target, path)
    facts.write_text(json.dumps(info, indent=1))
    return path, info, None


def _measure(case: CarbonCase, argv: list[str], run_dir: Path, timeout_s: float, log, label: str) -> bool:
    got = child_report(case, argv, run_dir, timeout_s, log, f"carbon {case.case} {label}", ("run_s", "rows_read"))
    if got is None:
        return False
    run, report = got
    log(f"carbon {case.case} {label}: wall {run.wall_s:.1f} s, run {report['run_s']:.2f} s, peak RSS "
        f"{run.maxrss_mb or 0:,.0f} MB")
    return True


def carbon_cases(repeat: int, timeout_s: float, log, quick: bool = False, sizes=None) -> list[Case]:
    return LADDER.cases(_carbon_at, repeat, timeout_s, log, quick, sizes)


def _carbon_at(firms: int, repeat: int, timeout_s: float, log) -> list[Case]:
    ours, theirs = CarbonCase("carbon", "shanhai", "?"), CarbonCase("carbon", "pandas", "?")
    ours.n = theirs.n = firms
    source, info, failed = prepared_input(firms, timeout_s, log)
    if source is None:
        for c in (ours, theirs):
            c.fail(f"preparing the input failed ({failure(failed)})", failed)
        return [ours, theirs]
    ours.size = theirs.size = f"{info['firms']:,} firm-years × 6 carriers ({info['rows']:,} rows, mixed units)"
    ours.scale = theirs.scale = info["firms"]
    ours.targeted = firms == LADDER.target
    check_case = CarbonCase("carbon", "check", ours.size)
    check_case.n = firms
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="shanhai-bench-carbon-") as tmp:
            folder = Path(tmp)
            run_dir = folder / "shanhai"
            run_dir.mkdir()
            db = run_dir / "in.duckdb"
            shutil.copyfile(source, db)
            _measure(ours, [sys.executable, "-P", str(CHILD), "shanhai", str(db)], run_dir, timeout_s, log,
                     f"run {i + 1}/{repeat}")
            pdir = folder / "pandas"
            pdir.mkdir()
            _measure(theirs, [sys.executable, "-P", str(BASELINE), str(source), str(pdir / "out.duckdb")], pdir,
                     timeout_s, log, f"run {i + 1}/{repeat}")
            if i == 0 and ours.ok and theirs.ok:
                run = run_child([sys.executable, "-P", str(CHILD), "check", str(db), str(pdir / "out.duckdb")], folder,
                                timeout_s)
                try:
                    report = json.loads(run.stdout.strip().splitlines()[-1])
                except (ValueError, IndexError):
                    report = None
                ours.check = theirs.check = report
                if not (run.ok and report and report["identical"]):
                    check_case.fail(f"results differ from the pandas baseline: {report}", run)
                    log(f"carbon check: [bold red]FAILED[/bold red] {report}")
                else:
                    log(f"carbon check: [green]identical[/green] ({report['firm_years']:,} firm-years)")
    return [ours, theirs, check_case] if check_case.error else [ours, theirs]


COLUMNS = ("engine", "input", "wall s", "run s", "store s", "peak RSS MB", "rows/s", "target", "ratio to target",
           "ratio to pandas", "results", "pass/fail")


def _num(value, digits=2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _chosen(cases: list) -> list:
    return [c for c in cases if c.workload == "carbon" and c.case != "check"]


def rows(cases: list) -> list[list[str]]:
    chosen = _chosen(cases)
    out = []
    for c in chosen:
        base = next((b for b in chosen if b.case == "pandas" and b.ok and b.n == c.n), None)
        rep = c.median_report() if c.ok else {}
        vs = c.run_s / base.run_s if base and c.run_s and c.case != "pandas" and base.run_s else None
        check = c.check
        results = ("not checked" if check is None else f"identical: yes ({check['firm_years']:,} firm-years)"
                   if check["identical"] else f"**identical: NO** ({check['differing']:,} differ)")
        out.append([c.case, c.size, _num(c.wall_s), _num(c.run_s), _num(rep.get("store_s")) if rep else "—",
                    _num(c.maxrss_mb, 0), f"{rep['rows_read'] / c.run_s:,.0f}" if rep and c.run_s else "—",
                    f"{TARGET_S:g} s" if c.target_s else "—", _num(c.ratio), _num(vs), results, c.status])
    return out


def print_tables(console, cases: list, repeat: int, rich_table) -> None:
    if _chosen(cases):
        console.print(rich_table(f"carbon — median of {repeat}", COLUMNS, rows(cases)))


def markdown_section(cases: list, md_table) -> list[str]:
    if not _chosen(cases):
        return []
    lines = ["", "## carbon", "",
             f"`benchmarks/carbon.py`: N firm-years × 6 carriers (N = {', '.join(f'{s:,}' for s in LADDER.full)}; "
             f"the target on {LADDER.target:,}) (grid electricity, PV, gas, coal, diesel, "
             "heat in mixed units: kWh/万kWh, m³/万m³, t/kg, GJ/MJ) converted to tce and CO2 and graded (碳效码: L, "
             "level, industry Σ CO2 ÷ Σ VA, K, grade) by the SQL builders of `shanhai.analysis.carbon` in a fresh "
             "child (run s; the write of the results to the file is store s, beside it); `pandas` = "
             "`benchmarks/carbon_pandas.py`, the same formulas with merges and groupbys on the whole input; results "
             "compared on every firm-year. Target: under 2 s (ratio = run s / 2 s).", ""]
    return lines + md_table(COLUMNS, rows(cases)) + ["", reproduce_line("carbon", _chosen(cases))]


def growth_points(cases: list) -> list[GrowthPoint]:
    """run s (the conversion and grading inside the child) against firm-years, per engine."""
    return [GrowthPoint("carbon", c.case, "firm-years", c.scale, c.run_s, "run s", c.n,
                        others_cpu_s=c.others_cpu_s)
            for c in _chosen(cases) if c.ok and c.run_s]


__all__ = ["carbon_cases", "print_tables", "markdown_section", "growth_points", "LADDER"]
