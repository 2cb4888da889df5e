"""The ``pairing`` workload: the 一企一县 (1+N) pairing plan of 26 mountain counties × 5,000
candidate firms — ``shanhai.analysis.pairing.plan`` (scipy.optimize.milp, HiGHS) beside PuLP + CBC
(issue 9's baseline) on the same model, with the objectives checked equal.

The input (``pairing_child.make_input``, seed 7, made inside each child before the clock starts)
has the feasibility of the real candidate rule — the counties' chains from their declared lead
industries, the firms' chains with the sizes measured on the synthetic province at scale 1.0,
about 28 % of the pairs feasible — and scores built from the five components of the default rule
set. Each case is a fresh child (``benchmarks/pairing_child.py``):

* ``shanhai``: ``plan(scores, feasible, per_county=(1, 2), max_counties=2)`` — feasibility
  check (max flow), exact pruning, sparse model, HiGHS at gap 0 — timed alone (**run s**); the
  child also times the whole model without pruning and the plan with both optional rules
  (different industries per county, within-city first: two solves);
* ``pulp + cbc``: the whole model (a binary per feasible pair, the same rows) written with PuLP and
  solved by its bundled CBC at a relative gap of 0, one thread; building and solving timed apart.

Target (from the issue): 26 counties × 5,000 candidate firms planned to optimality in under 3 s;
ratio to target = shanhai's run s / 3 s. The PuLP objective must equal ours (to 1e-6).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from benchmarks import SEED
from benchmarks.measure import ChildRun, GrowthPoint, Ladder, reproduce_line, run_child
from benchmarks.workloads import Case, _describe_failure

CHILD = Path(__file__).resolve().with_name("pairing_child.py")
TARGET_S = 3.0
# candidate firms, × the 26 mountain counties (fixed: the real ones); pairs grow 10× a rung; the target on 5,000
LADDER = Ladder("candidate firms × 26 counties", (500, 5_000, 50_000), (500, 5_000), target=5_000, smallest=100,
                note="the 26 mountain counties are the real ones, so the firms grow: 26 × 500 · 5,000 · 50,000 pairs")
TOLERANCE = 1e-6
COLUMNS = ("case", "size", "model", "run s", "build s", "solve s", "variables", "constraints", "objective",
           "wall s", "peak RSS MB", "ratio to target", "target")


class PairingCase(Case):
    """A row of the pairing table; ``shanhai`` carries the target and the objective check."""

    targeted: bool = False
    check: dict | None = None

    def value(self, key: str):
        return self.report_median(key) if self.ok else None

    @property
    def run_s(self) -> float | None:
        return self.value("run_s")

    @property
    def measured_s(self) -> float | None:
        return self.run_s

    @property
    def target_s(self) -> float | None:
        return TARGET_S if self.targeted else None

    @property
    def ratio(self) -> float | None:
        return self.run_s / TARGET_S if self.targeted and self.run_s is not None else None

    @property
    def target_note(self) -> str:
        if not self.targeted or self.run_s is None:
            return ""
        return (f" (run s inside the child: the plan of 26 counties × {self.n:,} firms; PuLP + CBC "
                f"{'objective equal' if self.check and self.check['equal'] else 'objective NOT checked equal'})")

    @property
    def status(self) -> str:
        status = super().status
        return "MISS" if status == "pass" and not (self.check and self.check["equal"]) else status


def _report(run: ChildRun) -> dict | None:
    try:
        return json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def pairing_cases(repeat: int, timeout_s: float, log, quick: bool = False, sizes=None) -> list[Case]:
    return LADDER.cases(_pairing_at, repeat, timeout_s, log, quick, sizes)


def _pairing_at(firms: int, repeat: int, timeout_s: float, log) -> list[Case]:
    size = f"26 counties × {firms:,} firms"
    ours = PairingCase("pairing", "shanhai", size)
    ours.targeted = firms == LADDER.target
    theirs = PairingCase("pairing", "pulp + cbc", size)
    ours.n = theirs.n = ours.scale = theirs.scale = firms
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="shanhai-bench-pairing-") as tmp:
            for case, which in ((ours, "shanhai"), (theirs, "pulp")):
                if case.error:
                    continue
                run = run_child([sys.executable, "-P", str(CHILD), which, "--seed", str(SEED), "--firms", str(firms)],
                                Path(tmp), timeout_s)
                report = _report(run) if run.ok else None
                if report is None or "run_s" not in report:
                    case.fail(_describe_failure(run) if not run.ok else "stdout is not the expected JSON report", run)
                    log(f"pairing {case.case} {size} run {i + 1}/{repeat}: [red]FAILED[/red] ({case.error})")
                    continue
                case.runs.append(run)
                case.reports.append(report)
                log(f"pairing {case.case} {size} run {i + 1}/{repeat}: run {report['run_s']:.3f} s (build "
                    f"{report['build_s']:.3f} s, solve {report['solve_s']:.3f} s), {report['variables']:,} variables, "
                    f"objective {report['objective']}, wall {run.wall_s:.2f} s")
    if ours.ok:
        first = ours.reports[0]
        size = (f"26 counties × {firms:,} firms · {first['feasible_pairs']:,} feasible pairs "
                f"({100 * first['density']:.0f} %)")
        ours.size = theirs.size = size
    if ours.ok and theirs.ok:
        a, b = ours.reports[0], theirs.reports[0]
        values = {"shanhai": a["objective"], "shanhai, whole model": a["full_objective"], "pulp + cbc": b["objective"]}
        worst = max(abs(v - a["objective"]) for v in values.values())
        ours.check = theirs.check = {"equal": worst <= TOLERANCE and a["status"] == b["status"] == "optimal",
                                     "max_abs_diff": worst, "objectives": values,
                                     "same_pairs": a["plan"] == b["plan"]}
        log(f"pairing check: objectives {'[green]equal[/green]' if ours.check['equal'] else '[red]DIFFER[/red]'} "
            f"({values}); same pairs: {ours.check['same_pairs']}")
    return [ours, theirs]


def _num(x, digits: int = 2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def rows(cases: list[Case]) -> list[list[str]]:
    out = []
    for c in cases:
        if c.workload != "pairing":
            continue
        if not c.ok:
            out.append([c.case, c.size, "—", *["—"] * 9, "FAILED"])
            continue
        if c.case == "shanhai":
            variants = (("pruned (default)", ""), ("whole model", "full_"), ("+ both rules", "rules_"))
        else:
            variants = (("whole model", ""),)
        for label, prefix in variants:
            target = prefix == "" and c.targeted
            out.append([c.case if not prefix else "", c.size if not prefix else "", label,
                        _num(c.value(f"{prefix}run_s"), 3), _num(c.value(f"{prefix}build_s"), 3),
                        _num(c.value(f"{prefix}solve_s"), 3), f"{c.value(f'{prefix}variables'):,}",
                        f"{c.value(f'{prefix}constraints'):,}", _num(c.value(f"{prefix}objective"), 4),
                        _num(c.wall_s) if not prefix else "", _num(c.maxrss_mb, 0) if not prefix else "",
                        _num(c.ratio) if target else "—", c.status if target else "—"])
    return out


def print_tables(console, cases: list, repeat: int, rich_table) -> None:
    table = rows(cases)
    if table:
        console.print(rich_table(f"pairing — median of {repeat}", COLUMNS, table))
        for c in cases:
            if c.workload == "pairing" and c.case == "shanhai" and c.check:
                console.print(f"pairing objectives at {c.n:,} firms: {c.check['objectives']} — equal: "
                              f"{c.check['equal']}, same pairs: {c.check['same_pairs']}")


def markdown_section(cases: list, md_table) -> list[str]:
    table = rows(cases)
    if not table:
        return []
    lines = ["", "## pairing", "",
             "`benchmarks/pairing.py`: the 一企一县 (1+N) pairing plan of 26 mountain counties × N candidate "
             f"firms (N = {', '.join(f'{s:,}' for s in LADDER.full)}, the target on {LADDER.target:,}: the counties "
             "are the real 26, so the firms grow; `benchmarks/pairing_child.py make_input(seed={SEED})`: the counties' chains from their declared "
             "lead industries — 17 of 26 match one; the other 9 get 1–2 chains so that every county takes part —, "
             "the firms' chains with the sizes measured at scale 1.0, scores from the five components of the default "
             "rule set), each county 1–2 firms, each firm at most K = 2 counties. `shanhai` = "
             "`shanhai.analysis.pairing.plan` (feasibility check by max flow, exact pruning to each county's "
             "best candidates, sparse model, `scipy.optimize.milp`/HiGHS at gap 0); the child also solves the whole "
             "model without pruning and the plan with both optional rules (different industries per county, "
             "within-city first: two solves). `pulp + cbc` = the whole model written with PuLP and solved by its "
             "bundled CBC (gap 0, one thread), issue 9's baseline. run s = build + solve inside the child (input "
             "made and imports done before the clock); wall s = the child's whole life. Target (from the issue): "
             f"under {TARGET_S:g} s; ratio to target = run s / {TARGET_S:g} s. The objectives must be equal (to "
             f"{TOLERANCE:g}).", "", *md_table(COLUMNS, table)]
    chosen = [c for c in cases if c.workload == "pairing"]
    for c in chosen:
        check = c.check if c.case == "shanhai" else None
        if check:
            lines += ["", f"Objectives at {c.n:,} firms: "
                          f"{', '.join(f'{k} {v:.4f}' for k, v in check['objectives'].items())} — "
                          f"{'equal' if check['equal'] else '**NOT equal**'} (max |Δ| {check['max_abs_diff']:.1e}); "
                          f"the same pairs: {'yes' if check['same_pairs'] else 'no (ties)'}."]
    return lines + ["", reproduce_line("pairing", chosen)]


def growth_points(cases: list) -> list[GrowthPoint]:
    """run s (build + solve inside the child) against candidate firms, per engine; shanhai's whole model
    (no pruning) as an engine of its own."""
    out = []
    for c in cases:
        if c.workload != "pairing" or not c.ok:
            continue
        out.append(GrowthPoint("pairing", c.case, "candidate firms", c.n, c.run_s, "run s", c.n,
                               others_cpu_s=c.others_cpu_s))
        if c.case == "shanhai":
            out.append(GrowthPoint("pairing", "shanhai, whole model", "candidate firms", c.n, c.value("full_run_s"),
                                   "run s", c.n, others_cpu_s=c.others_cpu_s))
    return out


__all__ = ["pairing_cases", "print_tables", "markdown_section", "growth_points", "LADDER"]
