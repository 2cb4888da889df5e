"""The ``service_match`` workload: 100 support-policy items (generated from the shipped ones by
scaling their thresholds) matched against 158,000 firms by :func:`shanhai.analysis.service.match_item`
(the one rule engine, vectorised; firms outside an item's region are not evaluated), beside a
straightforward pandas implementation of the same rules (``benchmarks/service_match_pandas.py``)
on the same inputs; the two must agree on every firm's outcome and amount (digest).

Each measured run is a fresh child that builds its inputs (not measured) and times the matching
(run s). Target (from the issue): under 2 s: **ratio to target = run s / 2 s**.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from benchmarks.carbon import CarbonCase
from benchmarks.measure import GrowthPoint, Ladder, reproduce_line, run_child

CHILD = Path(__file__).resolve().with_name("service_match_child.py")
BASELINE = Path(__file__).resolve().with_name("service_match_pandas.py")
FIRMS, ITEMS = 158_000, 100
# firms (each matched against every item); 158,000 is the target size, kept as a rung of its own
LADDER = Ladder("firms × 100 items", (10_000, 100_000, FIRMS, 1_000_000), (10_000, 100_000), target=FIRMS)
TARGET_S = 2.0
COLUMNS = ("engine", "input", "wall s", "run s", "peak RSS MB", "firm-items/s", "target", "ratio to target",
           "ratio to pandas", "results", "pass/fail")


class MatchCase(CarbonCase):
    pass


def service_match_cases(repeat: int, timeout_s: float, log, quick: bool = False, sizes=None) -> list:
    return LADDER.cases(_service_match_at, repeat, timeout_s, log, quick, sizes)


def _service_match_at(firms: int, repeat: int, timeout_s: float, log) -> list:
    size = f"{ITEMS} items × {firms:,} firms"
    ours, theirs = MatchCase("service_match", "shanhai", size), MatchCase("service_match", "pandas", size)
    ours.scale = theirs.scale = ours.n = theirs.n = firms
    ours.targeted = firms == LADDER.target
    digests = {}
    for i in range(repeat):
        for case, argv in ((ours, [sys.executable, "-P", str(CHILD), "shanhai"]),
                           (theirs, [sys.executable, "-P", str(BASELINE)])):
            with tempfile.TemporaryDirectory(prefix="shanhai-bench-service-") as tmp:
                run = run_child(argv + ["--firms", str(firms), "--items", str(ITEMS)], Path(tmp), timeout_s)
            if not run.ok:
                case.fail(f"exit code {run.returncode}" if not run.timed_out else "timed out", run)
                log(f"service_match {case.case} {firms:,} firms: [red]FAILED[/red] ({case.error})")
                continue
            report = json.loads(run.stdout.strip().splitlines()[-1])
            case.runs.append(run)
            case.reports.append(report)
            digests[case.case] = report["digest"]
            log(f"service_match {case.case} {firms:,} firms run {i + 1}/{repeat}: run {report['run_s']:.2f} s, "
                f"peak RSS {run.maxrss_mb or 0:,.0f} MB")
    same = len(set(digests.values())) == 1 and len(digests) == 2
    ours.check = theirs.check = {"identical": same, "firm_years": firms * ITEMS, "differing": 0 if same else -1}
    return [ours, theirs]


def _num(value, digits=2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def rows(cases: list) -> list[list[str]]:
    chosen = [c for c in cases if c.workload == "service_match"]
    out = []
    for c in chosen:
        base = next((b for b in chosen if b.case == "pandas" and b.ok and b.n == c.n), None)
        vs = c.run_s / base.run_s if base and c.run_s and c.case != "pandas" and base.run_s else None
        check = c.check or {}
        res = "not checked" if not check else ("identical: yes" if check["identical"] else "**identical: NO**")
        out.append([c.case, c.size, _num(c.wall_s), _num(c.run_s), _num(c.maxrss_mb, 0),
                    f"{c.scale * ITEMS / c.run_s:,.0f}" if c.run_s else "—",
                    f"{TARGET_S:g} s" if c.target_s else "—", _num(c.ratio), _num(vs), res, c.status])
    return out


def print_tables(console, cases: list, repeat: int, rich_table) -> None:
    if rows(cases):
        console.print(rich_table(f"service_match — median of {repeat}", COLUMNS, rows(cases)))


def markdown_section(cases: list, md_table) -> list[str]:
    if not rows(cases):
        return []
    chosen = [c for c in cases if c.workload == "service_match"]
    return ["", "## service_match", "",
            f"`benchmarks/service_match.py`: {ITEMS} policy items × N firms (N = "
            f"{', '.join(f'{s:,}' for s in LADDER.full)}) matched by the rule engine "
            "(`shanhai.analysis.service.match_item`), beside `benchmarks/service_match_pandas.py` (the same rules in "
            f"pandas) at every size; outcomes and amounts compared by digest. Target: under 2 s at {FIRMS:,} firms.",
            ""] + md_table(COLUMNS, rows(cases)) + ["", reproduce_line("service_match", chosen)]


def growth_points(cases: list) -> list[GrowthPoint]:
    """run s (the matching of every item inside the child) against firms, per engine."""
    return [GrowthPoint("service_match", c.case, "firms", c.scale, c.run_s, "run s", c.n,
                        others_cpu_s=c.others_cpu_s)
            for c in cases if c.workload == "service_match" and c.ok and c.run_s]


__all__ = ["service_match_cases", "print_tables", "markdown_section", "growth_points", "LADDER"]
