"""The workloads: ``synth`` at several scales, ``shanhai demo`` cold and warm.

Every run gets its own temporary directory (the child's working directory and its database),
deleted when the run ends.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import SEED, TARGETS, scale_label
from benchmarks.measure import ChildRun, run_child

SYNTH_CHILD = Path(__file__).with_name("synth_child.py")

Log = Callable[[str], None]


@dataclass
class Case:
    """One row of a results table: a workload at one size, over ``repeat`` runs."""

    workload: str                 # "synth" | "demo"
    case: str                     # "scale 0.1" … | "cold" | "warm"
    size: str                     # human description of the size
    scale: float | None = None
    runs: list[ChildRun] = field(default_factory=list)       # successful runs
    reports: list[dict] = field(default_factory=list)        # parsed stdout, one per run
    db_mb: list[float] = field(default_factory=list)
    error: str | None = None      # set when a run failed; the case then has no figures
    failed_run: ChildRun | None = None
    n: int | float | None = None  # the rung of the workload's size ladder (benchmarks.measure.Ladder) it ran at

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.runs)

    @property
    def wall_s(self) -> float | None:
        return statistics.median(r.wall_s for r in self.runs) if self.ok else None

    @property
    def maxrss_mb(self) -> float | None:
        values = [r.maxrss_mb for r in self.runs if r.maxrss_mb is not None]
        return statistics.median(values) if self.ok and values else None

    @property
    def cpu_s(self) -> float | None:
        values = [r.cpu_s for r in self.runs if r.cpu_s is not None]
        return statistics.median(values) if self.ok and values else None

    @property
    def others_cpu_s(self) -> float | None:
        values = [r.others_cpu_s for r in self.runs if r.others_cpu_s is not None]
        return statistics.median(values) if self.ok and values else None

    @property
    def median_index(self) -> int:
        """The run whose wall time is closest to the median (for per-run details)."""
        wall = self.wall_s
        return min(range(len(self.runs)), key=lambda i: abs(self.runs[i].wall_s - wall))

    def median_report(self) -> dict:
        return self.reports[self.median_index]

    def report_median(self, key: str) -> float | None:
        values = [r[key] for r in self.reports if key in r]
        return statistics.median(values) if values else None

    @property
    def target_s(self) -> float | None:
        return TARGETS.get((self.workload, self.case))

    @property
    def measured_s(self) -> float | None:
        """What the target is compared with: the wall time (``benchmarks.mujun``: run s)."""
        return self.wall_s

    target_note = ""    # said after the figure in the target lines (benchmarks.mujun: wall, peak RSS)

    @property
    def ratio(self) -> float | None:
        if self.target_s is None or self.wall_s is None:
            return None
        return self.wall_s / self.target_s

    @property
    def status(self) -> str:
        if not self.ok:
            return "FAILED"
        if self.ratio is None:
            return "—"
        return "pass" if self.ratio < 1 else "MISS"

    # synth only
    @property
    def rows(self) -> int | None:
        return sum(self.reports[0]["rows"].values()) if self.ok and self.workload == "synth" else None

    @property
    def enterprises(self) -> int | None:
        return self.reports[0]["rows"]["enterprises"] if self.ok and self.workload == "synth" else None

    def fail(self, message: str, run: ChildRun | None) -> None:
        self.error, self.failed_run = message, run


def _db_mb(db: Path) -> float:
    files = [db, db.with_name(db.name + ".wal")]
    return sum(f.stat().st_size for f in files if f.exists()) / 2**20


def _describe_failure(run: ChildRun) -> str:
    if run.timed_out:
        return f"timed out after {run.wall_s:.0f} s"
    return f"exit code {run.returncode}"


def synth_case(scale: float, repeat: int, timeout_s: float, log: Log) -> Case:
    label = scale_label(scale)
    case = Case("synth", f"scale {label}", f"scale {label}", scale=scale, n=scale)
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="shanhai-bench-") as tmp:
            db = Path(tmp) / "synth.duckdb"
            argv = [sys.executable, "-P", str(SYNTH_CHILD), "--scale", f"{scale:g}", "--seed", str(SEED),
                    "--db", str(db)]
            run = run_child(argv, Path(tmp), timeout_s)
            if not run.ok:
                case.fail(_describe_failure(run), run)
                log(f"synth {case.size} run {i + 1}/{repeat}: [red]FAILED[/red] ({case.error})")
                return case
            try:
                report = json.loads(run.stdout.strip().splitlines()[-1])
                report["rows"]["enterprises"]
            except (ValueError, IndexError, KeyError, TypeError) as exc:
                case.fail(f"stdout is not the expected JSON report ({exc})", run)
                log(f"synth {case.size} run {i + 1}/{repeat}: [red]FAILED[/red] ({case.error})")
                return case
            case.runs.append(run)
            case.reports.append(report)
            case.db_mb.append(_db_mb(db))
        if i == 0:
            enterprises = report["rows"]["enterprises"]
            case.size = f"scale {label} · {enterprises:,} firms"
        log(f"synth {case.size} run {i + 1}/{repeat}: {run.wall_s:.1f} s, "
            f"peak RSS {run.maxrss_mb or 0:.0f} MB")
    return case


def _demo_run(db: Path, cwd: Path, timeout_s: float) -> tuple[ChildRun, dict | None, str | None]:
    argv = [sys.executable, "-m", "shanhai", "demo", "--db", str(db), "--json"]
    run = run_child(argv, cwd, timeout_s)
    if not run.ok:
        return run, None, _describe_failure(run)
    try:
        document = json.loads(run.stdout)
    except ValueError as exc:
        return run, None, f"exit code 0 but stdout is not JSON ({exc})"
    if not isinstance(document, dict):
        return run, None, "exit code 0 but stdout is not a JSON object"
    return run, document, None


def demo_scale() -> str:
    try:
        from shanhai.cli.demo import DEMO_SCALE
    except Exception:  # the cold run will report what is wrong
        return "?"
    return scale_label(DEMO_SCALE)


def demo_cases(repeat: int, timeout_s: float, log: Log) -> list[Case]:
    scale = demo_scale()
    cold = Case("demo", "cold", f"database absent: build scale {scale} + overview")
    warm = Case("demo", "warm", f"database present (scale {scale}): overview only")
    for i in range(repeat):
        with tempfile.TemporaryDirectory(prefix="shanhai-bench-") as tmp:
            db = Path(tmp) / "demo.duckdb"
            run, document, error = _demo_run(db, Path(tmp), timeout_s)
            if error is None and not db.exists():
                error = f"exit code 0 but no database at {db}"
            if error:
                cold.fail(error, run)
                warm.fail("not run: the cold run failed", None)
                log(f"demo cold run {i + 1}/{repeat}: [red]FAILED[/red] ({error})")
                return [cold, warm]
            cold.runs.append(run)
            cold.reports.append(document)
            cold.db_mb.append(_db_mb(db))
            log(f"demo cold run {i + 1}/{repeat}: {run.wall_s:.1f} s, peak RSS {run.maxrss_mb or 0:.0f} MB")

            run, document, error = _demo_run(db, Path(tmp), timeout_s)
            if error:
                warm.fail(error, run)
                log(f"demo warm run {i + 1}/{repeat}: [red]FAILED[/red] ({error})")
                return [cold, warm]
            warm.runs.append(run)
            warm.reports.append(document)
            warm.db_mb.append(_db_mb(db))
            log(f"demo warm run {i + 1}/{repeat}: {run.wall_s:.1f} s, peak RSS {run.maxrss_mb or 0:.0f} MB")
    return [cold, warm]


# DuckDB's Python client imports pandas lazily, on the first query with parameters or Arrow data
_WARM_UP = ("import duckdb, shanhai.synth, shanhai.cli; "
            "duckdb.connect().execute('SELECT ?', [1]).fetchall()")


def warm_up(timeout_s: float) -> str | None:
    """One unmeasured child that imports what the workloads import, so the first measured run
    does not pay alone for a cold file cache (or, where bytecode is written, for compiling)."""
    with tempfile.TemporaryDirectory(prefix="shanhai-bench-") as tmp:
        run = run_child([sys.executable, "-c", _WARM_UP], Path(tmp), timeout_s)
    return None if run.ok else f"warm-up import failed ({_describe_failure(run)}):\n{run.stderr_tail()}"


def python_startup(repeat: int, timeout_s: float) -> float | None:
    """Seconds for a bare ``python -c pass``: the floor under every wall time above."""
    times = []
    for _ in range(max(3, repeat)):
        with tempfile.TemporaryDirectory(prefix="shanhai-bench-") as tmp:
            run = run_child([sys.executable, "-c", "pass"], Path(tmp), timeout_s)
            if run.ok:
                times.append(run.wall_s)
    return statistics.median(times) if times else None
