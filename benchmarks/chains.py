"""The ``chains`` workload: the panoramas of every chain × every county at scale 1.0.

Input (prepared once, cached, not measured): the synthetic province at scale 1.0, seed 7, with
one province-wide zhejiang-2018 per-mu run of its latest year (the classes panoramas show). The
measured child (``benchmarks/chains_child.py run``) imports ``shanhai.jobs.chains`` (as a
server has), opens the store read-only and times ``panorama_grid`` with an empty cache
(**cold**: the one aggregation of member firms into cells, the manufacturing totals, then 10
chains × 90 counties of segment views and statuses), the same call again (**warm**: cells
cached), and one mountain county's targets and risk.

Target (from the issue): panoramas for all ten chains × 90 counties in under 2 s at scale 1.0:
ratio to target = cold s / 2 s.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks import SEED, scale_label
from benchmarks.measure import GrowthPoint, Ladder, reproduce_line, run_child
from benchmarks.mujun import _source_key, cache_dir
from benchmarks.workloads import Case

CHILD = Path(__file__).resolve().with_name("chains_child.py")
SCALE = 1.0
# synth scales: the province's firms (about 1,700 · 17,000 · 170,000) grow 10× a rung under the fixed
# 10 chains × 90 counties; the target at scale 1.0
LADDER = Ladder("firms (synth scale)", (0.01, 0.1, 1.0), (0.01, 0.1), target=SCALE, largest=5.0, smallest=0.01,
                note="sizes are synth scales: 10 chains × 90 counties are fixed, the firms in them grow 10× a rung")
TARGET_S = 2.0
COLUMNS = ("workload", "case", "size", "cold s", "warm s", "targets s", "risk s", "peak RSS MB",
           "ratio to target", "target")


class ChainsCase(Case):
    targeted: bool = False
    firms: int | None = None

    def value(self, key: str) -> float | None:
        return self.report_median(key) if self.ok else None


def _prepared(scale: float, timeout_s: float, log):
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"chains-scale{scale_label(scale)}-seed{SEED}-{_source_key()}.duckdb"
    facts = path.with_suffix(".json")
    if path.exists() and facts.exists():
        return path, json.loads(facts.read_text()), None
    log(f"chains input: building scale {scale_label(scale)} with a per-mu run (once; not measured) …")
    with tempfile.TemporaryDirectory(prefix="shanhai-bench-chains-prep-", dir=folder) as tmp:
        target = Path(tmp) / "input.duckdb"
        run = run_child([sys.executable, "-P", str(CHILD), "prepare", str(target), "--scale", f"{scale:g}",
                         "--seed", str(SEED)], Path(tmp), timeout_s)
        if not run.ok:
            return None, None, run
        info = json.loads(run.stdout.strip().splitlines()[-1])
        os.replace(target, path)
    facts.write_text(json.dumps(info))
    return path, info, None


def chains_cases(repeat: int, timeout_s: float, log, quick: bool = False, sizes=None) -> list[Case]:
    return [_chains_at(float(scale), repeat, timeout_s, log) for scale in LADDER.sizes(quick, sizes)]


def _chains_at(scale: float, repeat: int, timeout_s: float, log) -> Case:
    case = ChainsCase("chains", "panorama grid", "?", scale=scale)
    case.n = scale
    case.targeted = scale == LADDER.target
    source, info, failed = _prepared(scale, timeout_s, log)
    if source is None:
        case.fail(f"preparing the input failed (exit {failed.returncode})", failed)
        return case
    case.firms = info["firms"]
    case.size = f"10 chains × 90 counties · {info['firms']:,} firms, {info['members']:,} memberships (scale {scale_label(scale)})"
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="shanhai-bench-chains-") as tmp:
            db = Path(tmp) / "chains.duckdb"
            shutil.copy(source, db)
            run = run_child([sys.executable, "-P", str(CHILD), "run", str(db)], Path(tmp), timeout_s)
            if not run.ok:
                case.fail(f"child failed (exit {run.returncode})", run)
                break
            case.runs.append(run)
            case.reports.append(json.loads(run.stdout.strip().splitlines()[-1]))
    if case.ok:
        log(f"chains scale {scale_label(scale)}: cold {case.value('grid_cold_s'):.2f} s, "
            f"warm {case.value('grid_warm_s'):.3f} s")
    return case


def _fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def rows(cases: list[Case]) -> list[list[str]]:
    out = []
    for c in cases:
        if c.workload != "chains":
            continue
        if not c.ok:
            out.append([c.workload, c.case, c.size, *["—"] * 6, "FAILED"])
            continue
        cold = c.value("grid_cold_s")
        ratio = cold / TARGET_S
        verdict = ("pass" if ratio <= 1 else "MISS") if c.targeted else "—"
        ratio = ratio if c.targeted else None
        out.append([c.workload, c.case, c.size, _fmt(cold), _fmt(c.value("grid_warm_s"), 3), _fmt(c.value("targets_s")),
                    _fmt(c.value("risk_s")), _fmt(c.maxrss_mb, 0), _fmt(ratio), verdict])
    return out


def misses(cases: list[Case]) -> list[str]:
    return [f"chains {r[1]}: cold {r[3]} s, target {TARGET_S:g} s" for r in rows(cases) if r[-1] == "MISS"]


def markdown_section(cases: list[Case], md_table) -> list[str]:
    table = rows(cases)
    if not table:
        return []
    return ["", "## chains", "",
            "`benchmarks/chains.py`: the panoramas of all ten chains × 90 counties (`shanhai.jobs.chains."
            "panorama_grid`) on the synthetic province at scales "
            f"{', '.join(scale_label(s) for s in LADDER.full)} (seed 7: the firms grow 10× a rung under the fixed "
            "chains and counties) with a province-wide zhejiang-2018 run, prepared once per scale and cached. cold = first call in a fresh child with an empty cache (the member firms "
            "aggregated into cells, manufacturing totals, 900 panoramas of segment views and statuses); warm = the "
            "same call again; targets and risk = 景宁 (331127), all chains. Imports (ibis, the store) are done "
            f"before the clock starts, as in a running server. Target (from the issue): under {TARGET_S:g} s "
            "at scale 1.0; ratio to target = cold s / 2 s.", "", *md_table(COLUMNS, table),
            "", reproduce_line("chains", [c for c in cases if c.workload == "chains"])]


def growth_points(cases: list[Case]) -> list[GrowthPoint]:
    """cold s (the first panorama_grid inside the child) against the province's firms."""
    return [GrowthPoint("chains", "shanhai (cold)", "firms", c.firms, c.value("grid_cold_s"), "cold s", c.n,
                        others_cpu_s=c.others_cpu_s)
            for c in cases if c.workload == "chains" and c.ok and c.firms]
