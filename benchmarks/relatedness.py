"""The ``relatedness`` workload: economic complexity of 90 counties × 608 classes × 4 years —
RCA, presence, diversity, ubiquity, proximity, density, ECI, PCI, COI, COG —
``shanhai.analysis.relatedness.complexity_by_year`` beside the Growth Lab's ``ecomplexity`` 0.5.3
on the same input, with the results checked equal to 1e-9.

The input is a synthetic county × class panel with the nested structure economic complexity
assumes and heavy-tailed values (``relatedness_child.make_input``, seed 7: 90 × 608 × 4 = 218,880
cells, about 38 % of them non-zero, 14 classes empty everywhere), made inside each child before
the clock starts. Every measured run is a fresh child (``benchmarks/relatedness_child.py``):

* ``shanhai``: ``complexity_by_year(table)`` on the Arrow table (no pandas in the process);
* ``ecomplexity``: ``ecomplexity(df, cols, check_logsupermodularity=False, verbose=False)`` on the
  same rows as a pandas DataFrame (the conversion is not timed);

then (not measured) a ``check`` child compares the two outputs row by row: same rows, every
measure within 1e-9, NaN in the same places. A difference fails the workload.

Target (from the issue): at least 10× faster than ecomplexity on this input. The figure compared
is **run s**, the call alone inside each child (wall s, which adds interpreter start-up, imports —
pandas and scikit-learn for ecomplexity — and writing the output, is shown beside it): target s =
ecomplexity's run s / 10, ratio to target = run s / target s = 10 × ours / theirs, below 1 passes.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from benchmarks import SEED
from benchmarks.measure import ChildRun, GrowthPoint, Ladder, reproduce_line, run_child
from benchmarks.workloads import Case, _describe_failure

CHILD = Path(__file__).resolve().with_name("relatedness_child.py")
SPEEDUP = 10.0                          # the issue: ≥ 10× faster than ecomplexity
SIZE = "90 counties × 608 classes × 4 years"
# county × class cells per year, in the province's 90 : 608 proportions (relatedness_child.dimensions):
# 28 × 195, 90 × 608 (the target's input), 285 × 1,920 — ten times more cells a rung; 4 years each
LADDER = Ladder("county × class cells", (5_472, 54_720, 547_200), (5_472, 54_720), target=54_720, smallest=100,
                note="counties × classes grow by √10 each, cells by 10× (the natural size of economic complexity)")


class RelatednessCase(Case):
    """A row of the relatedness table: ``shanhai`` carries the target (a tenth of the baseline's
    run s) and the result of the check; ``ecomplexity`` is the baseline."""

    baseline: "RelatednessCase | None" = None
    check: dict | None = None
    targeted: bool = True         # the target applies at the ladder's target size only

    @property
    def target_s(self) -> float | None:
        base = self.baseline
        return base.run_s / SPEEDUP if self.targeted and base is not None and base.run_s else None

    @property
    def run_s(self) -> float | None:
        return self.report_median("run_s") if self.ok else None

    @property
    def measured_s(self) -> float | None:
        return self.run_s

    @property
    def speedup(self) -> float | None:
        base = self.baseline
        return base.run_s / self.run_s if base and base.run_s and self.run_s else None


    @property
    def ratio(self) -> float | None:
        return self.run_s / self.target_s if self.target_s and self.run_s is not None else None

    @property
    def target_note(self) -> str:
        if self.speedup is None:
            return ""
        return (f" (run s inside the child: ecomplexity {self.baseline.run_s:.2f} s, shanhai {self.run_s:.3f} s, "
                f"{self.speedup:.1f}× faster against a target of ≥ {SPEEDUP:g}×; results "
                f"{'equal' if self.check and self.check['equal'] else 'NOT checked equal'} to "
                f"{self.check['tolerance'] if self.check else 1e-9:g})")

    @property
    def status(self) -> str:
        """Case's rule on the ratio above; a pass needs the results checked equal too."""
        status = super().status
        return "MISS" if status == "pass" and not (self.check and self.check["equal"]) else status


def _report(run: ChildRun) -> dict | None:
    try:
        return json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def relatedness_cases(repeat: int, timeout_s: float, log, quick: bool = False, sizes=None) -> list[Case]:
    return LADDER.cases(_relatedness_at, repeat, timeout_s, log, quick, sizes)


def _relatedness_at(cells: int, repeat: int, timeout_s: float, log) -> list[Case]:
    size = f"{cells:,} county × class cells × 4 years"      # named by the child's dimensions after its run
    ours = RelatednessCase("relatedness", "shanhai", size)
    theirs = RelatednessCase("relatedness", "ecomplexity", size)
    ours.baseline = theirs
    ours.n = theirs.n = cells
    ours.scale = theirs.scale = cells
    ours.targeted = cells == LADDER.target
    check_case = RelatednessCase("relatedness", "check", size)
    check_case.n = cells
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="shanhai-bench-relatedness-") as tmp:
            folder = Path(tmp)
            outputs = {}
            for case in (theirs, ours):
                if case.error:
                    continue
                outputs[case.case] = folder / f"{case.case}.parquet"
                argv = [sys.executable, "-P", str(CHILD), case.case, str(outputs[case.case]), "--seed", str(SEED),
                        "--cells", str(cells)]
                run = run_child(argv, folder, timeout_s)
                report = _report(run) if run.ok else None
                if report is None or "run_s" not in report:
                    case.fail(_describe_failure(run) if not run.ok else "stdout is not the expected JSON report", run)
                    log(f"relatedness {case.case} {size} run {i + 1}/{repeat}: [red]FAILED[/red] ({case.error})")
                    continue
                case.runs.append(run)
                case.reports.append(report)
                size = f"{report['locations']} counties × {report['products']:,} classes × {report['years']} years"
                case.size = check_case.size = size
                case.scale = report["locations"] * report["products"]
                log(f"relatedness {case.case} {size} run {i + 1}/{repeat}: wall {run.wall_s:.2f} s, run "
                    f"{report['run_s']:.3f} s, peak RSS {run.maxrss_mb or 0:,.0f} MB, other CPU "
                    f"{run.others_cpu_s or 0:.1f} s")
            if i == 0 and ours.ok and theirs.ok:
                run = run_child([sys.executable, "-P", str(CHILD), "check", str(outputs["shanhai"]),
                                 str(outputs["ecomplexity"])], folder, timeout_s)
                report = _report(run) if run.ok else None
                ours.check = theirs.check = report
                if report and report["equal"]:
                    log(f"relatedness check: [green]equal[/green] ({report['ours_rows']:,} rows, 9 measures, "
                        f"to {report['tolerance']:g})")
                else:
                    why = (f"results differ from ecomplexity's: rows {report['ours_rows']:,} vs "
                           f"{report['theirs_rows']:,}, same rows {report['same_rows']}, largest differences "
                           f"{report['max_abs_diff']}, NaN mismatches {report['nan_mismatch']}"
                           if report else f"the comparison failed ({_describe_failure(run)})")
                    check_case.fail(why, run)
                    log(f"relatedness check: [bold red]FAILED[/bold red] {why}")
    return [ours, theirs, check_case] if check_case.error else [ours, theirs]


# ---------------------------------------------------------------------------- tables

COLUMNS = ("implementation", "input", "wall s", "run s", "peak RSS MB", "cells/s", "speed-up", "target s",
           "ratio to target", "results", "pass/fail")
DETAIL_COLUMNS = ("case", "runs", "wall range s", "run range s", "run CPU s", "CPU s", "other CPU s", "imports s",
                  "input rows", "output rows")


def _num(value, digits=2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _chosen(cases: list) -> list:
    return [c for c in cases if c.workload == "relatedness" and c.case != "check"]


def _results(c: RelatednessCase) -> str:
    if c.check is None:
        return "not checked"
    if c.check["equal"]:
        worst = max(c.check["max_abs_diff"].values())
        return f"equal: yes ({c.check['ours_rows']:,} rows, max |Δ| {worst:.1e})"
    return "**equal: NO**"


def rows(cases: list) -> list[list[str]]:
    out = []
    for c in _chosen(cases):
        cells = c.reports[0]["cells"] if c.ok else None
        out.append([c.case, c.size, _num(c.wall_s), _num(c.run_s, 3), _num(c.maxrss_mb, 0),
                    f"{cells / c.run_s:,.0f}" if cells and c.run_s else "—",
                    f"{c.speedup:.1f}×" if c.speedup else ("1×" if c.case == "ecomplexity" and c.ok else "—"),
                    _num(c.target_s, 3), _num(c.ratio), _results(c), c.status])
    return out


def detail_rows(cases: list) -> list[list[str]]:
    out = []
    for c in _chosen(cases):
        label = f"{c.case} · {c.n:,} cells" if c.n else c.case
        if not c.ok:
            out.append([label, str(len(c.runs)), *(["—"] * (len(DETAIL_COLUMNS) - 2))])
            continue
        span = (lambda xs: f"{min(xs):.3f}–{max(xs):.3f}" if len(xs) > 1 else f"{xs[0]:.3f}")
        report = c.median_report()
        out.append([label, str(len(c.runs)), span([r.wall_s for r in c.runs]), span([r["run_s"] for r in c.reports]),
                    _num(c.report_median("run_cpu_s"), 3), _num(c.cpu_s), _num(c.others_cpu_s, 1),
                    _num(c.report_median("import_s")), f"{report['input_rows']:,}", f"{report['rows']:,}"])
    return out


def print_tables(console, cases: list, repeat: int, rich_table) -> None:
    if not _chosen(cases):
        return
    console.print(rich_table(f"relatedness — median of {repeat}", COLUMNS, rows(cases)))
    console.print(rich_table("relatedness details", DETAIL_COLUMNS, detail_rows(cases)))


def markdown_section(cases: list, md_table, info: dict | None = None) -> list[str]:
    chosen = _chosen(cases)
    if not chosen:
        return []
    lines = ["", "## relatedness", "",
             "`benchmarks/relatedness.py`: economic complexity (RCA, presence, diversity, ubiquity, proximity, "
             "density, ECI, PCI, COI, COG) of one long table of counties × classes × 4 years, at "
             f"{', '.join(f'{c:,}' for c in LADDER.full)} county × class cells a year (28 × 195, 90 × 608, 285 × 1,920: "
             "the province's proportions, ten times more cells a rung; the target on 90 × 608). Input: "
             f"`benchmarks/relatedness_child.py make_input(seed={SEED})`, a synthetic county × class panel with a "
             "nested structure (capable counties make the hard classes and most easy ones) and heavy-tailed values "
             "(county size × class size × Pareto(1.2)), about 38 % of the cells non-zero, 3 % of them flipping in "
             "or out each year, 14 of 608 classes (the same share at other sizes) empty everywhere; made inside "
             "each child before the clock starts. "
             "`shanhai` = `shanhai.analysis.relatedness.complexity_by_year` on the Arrow table; `ecomplexity` = "
             "the Growth Lab's `ecomplexity` 0.5.3 (`check_logsupermodularity=False, verbose=False`) on the same "
             "rows as a pandas DataFrame. run s = the call alone; wall s = the child's whole life (start-up, "
             "imports, making the input, writing the output). Target (from the issue): at least "
             f"{SPEEDUP:g}× faster than ecomplexity: target s = ecomplexity's run s / {SPEEDUP:g}, ratio to target "
             "= run s / target s, below 1 passes (and the results must be equal). results = the two outputs "
             "compared row by row (same rows; each of the 9 measures within 1e-9; NaN in the same places).", ""]
    if info:
        from benchmarks.report import contention

        mode = f" (`python -m benchmarks`: {info['mode']})" if info.get("mode") else ""
        lines += [f"Measured {info.get('date', '')}{mode}, commit {info.get('commit', '')}; contention during these "
                  f"runs: {contention(chosen)}.", ""]
    lines += md_table(COLUMNS, rows(cases))
    lines += ["", reproduce_line("relatedness", chosen)]
    lines += ["", "Details:", ""]
    lines += md_table(DETAIL_COLUMNS, detail_rows(cases))
    return lines


def growth_points(cases: list) -> list[GrowthPoint]:
    """run s (the call alone inside the child) against county × class cells per year, per implementation."""
    return [GrowthPoint("relatedness", c.case, "county × class cells", c.scale, c.run_s, "run s", c.n,
                        others_cpu_s=c.others_cpu_s) for c in _chosen(cases) if c.ok and c.run_s]


__all__ = ["relatedness_cases", "print_tables", "markdown_section", "growth_points", "LADDER"]
