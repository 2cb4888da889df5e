"""Machine description, growth fit, phase breakdown, Rich tables and the markdown report."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from rich.table import Table

from benchmarks import TARGET_CORES, scale_label
from benchmarks.measure import (CONTENTION_METHOD, RSS_METHOD, WALL_METHOD, GrowthPoint, fit_growth, reproduce,
                                reproduce_line)
from benchmarks.workloads import Case

DASH = "—"
REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------- machine


def _meminfo_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20    # kB -> GiB
    except OSError:
        pass
    return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    memory = _meminfo_total_gib()
    commit = _git("rev-parse", "--short", "HEAD")
    if commit is not None and _git("status", "--porcelain", "--untracked-files=no"):
        commit += " (+ uncommitted changes in tracked files)"
    cores_note = ("the targets' machine" if cpus == TARGET_CORES
                  else f"targets are stated for {TARGET_CORES} cores")
    return {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "commit": commit or "unknown (no git)",
        "cpus": f"{cpus} (os.cpu_count; {usable} usable by this process) — {cores_note}",
        "cpu model": _cpu_model() or "unknown",
        "memory": f"{memory:.1f} GiB (MemTotal, /proc/meminfo)" if memory else "unknown",
        "os": platform.platform(),
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "duckdb": _version("duckdb"),
        "numpy": _version("numpy"),
        "pyarrow": _version("pyarrow"),
        "ibis-framework": _version("ibis-framework"),
        "fastexcel": _version("fastexcel"),
        "pandas": _version("pandas") + " (the import and mujun baselines)",
        "bytecode": bytecode_note(private_cache=False),
    }


def bytecode_note(private_cache: bool) -> str:
    if private_cache:
        return ("children write and reuse .pyc files in a private cache (--pycache), "
                "as on a normal installation")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return ("inherited: PYTHONDONTWRITEBYTECODE is set, so every child compiles its imports from "
                "source (pass --pycache for the figures of a normal installation)")
    return "inherited: children write and reuse .pyc files as usual"


def contention(cases: list[Case]) -> str:
    runs = [r for c in cases for r in c.runs if r.others_cpu_s is not None]
    if not runs:
        return "not measured (no successful run, or no /proc/stat)"
    others = sum(r.others_cpu_s for r in runs)
    available = sum(r.wall_s for r in runs) * (os.cpu_count() or 1)
    return (f"{others:.1f} CPU s used by other processes during {sum(r.wall_s for r in runs):.0f} s of "
            f"measured runs ({100 * others / available:.0f} % of the machine)")


# ---------------------------------------------------------------------------- analysis


@dataclass
class Fit:
    exponent: float
    points: int
    build_exponent: float | None     # in-process build time only (no start-up, no imports)
    extrapolated_s: dict[float, float]  # scale -> predicted wall s, for scales not measured


def growth_fit(cases: list[Case], predict_scales: tuple[float, ...] = (1.0,)) -> Fit | None:
    """Least squares of log wall time on log enterprises over the successful synth scales
    (:func:`benchmarks.measure.fit_growth`, the helper of every workload's growth row)."""
    done = [c for c in cases if c.workload == "synth" and c.ok]
    wall = fit_growth([c.enterprises for c in done], [c.wall_s for c in done])
    if wall is None:
        return None
    build = fit_growth([c.enterprises for c in done], [c.report_median("build_s") for c in done])
    # enterprises grow linearly with scale: predict through the measured enterprises per scale
    per_scale = float(np.mean([c.enterprises / c.scale for c in done]))
    measured = {c.scale for c in done}
    extrapolated = {s: wall.predict(per_scale * s) for s in predict_scales if s not in measured}
    return Fit(wall.exponent, wall.points, build.exponent if build else None, extrapolated)


def synth_growth_points(cases: list[Case]) -> list[GrowthPoint]:
    """synth's rows of the growth table: wall s (the child is the build) and the in-process build alone."""
    done = [c for c in cases if c.workload == "synth" and c.ok]
    return ([GrowthPoint("synth", "shanhai", "enterprises", c.enterprises, c.wall_s, "wall s", c.scale,
                         others_cpu_s=c.others_cpu_s) for c in done]
            + [GrowthPoint("synth", "shanhai, build only", "enterprises", c.enterprises, c.report_median("build_s"),
                           "build s", c.scale, others_cpu_s=c.others_cpu_s) for c in done])


GROWTH_COLUMNS = ("workload", "engine", "unit", "sizes", "times s", "timed", "exponent", "other CPU s",
                  "not measured", "reproduce")
GROWTH_METHOD = ("exponent = slope of the least-squares line through (log size, log time), numpy.polyfit of degree 1 "
                 "(benchmarks.measure.fit_growth): time ∝ size^exponent, 1 = linear, below 1 = fixed costs still "
                 "weigh at the small sizes, — = fewer than two sizes. The time fitted is the one named in `timed`: "
                 "the work timed inside the child (run s, import s, cold s, build s) wherever the child times it, "
                 "because interpreter start-up and imports are a constant that would flatten the small sizes; "
                 "wall s only for synth, whose child is the build (its build-only row is beside it). sizes are "
                 "what was processed (e.g. 996,000 firms for the 1,000,000 rung); reproduce = the one command that "
                 "measures the row again (add `--out PATH` to keep RESULTS.md); other CPU s = what other processes took from "
                 "the cores during each size's run (contention: well above 0, the times are pessimistic and the "
                 "exponent unreliable)")


def _seconds(value: float) -> str:
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def _size(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or float(value).is_integer() else f"{value:g}"


def growth_rows(points: list[GrowthPoint], repeat: int = 1, code: bool = False) -> list[list[str]]:
    """One row per workload and engine: its sizes and times in ascending size, the fitted exponent
    (:func:`benchmarks.measure.fit_growth`), the CPU s other processes took during each (contention), the
    sizes it was not measured at and why, the command (in backticks when ``code``: markdown)."""
    groups: dict[tuple[str, str], list[GrowthPoint]] = {}
    for point in points:
        groups.setdefault((point.workload, point.engine), []).append(point)
    out = []
    for (workload, engine), group in groups.items():
        measured = sorted((p for p in group if p.seconds is not None), key=lambda p: p.size)
        skipped = sorted((p for p in group if p.seconds is None), key=lambda p: p.size)
        fit = fit_growth([p.size for p in measured], [p.seconds for p in measured])
        rungs = sorted({p.rung for p in group if p.rung is not None})
        timed = sorted({p.timed for p in group})
        out.append([workload, engine, group[0].unit, " · ".join(_size(p.size) for p in measured) or DASH,
                    " · ".join(_seconds(p.seconds) for p in measured) or DASH, ", ".join(timed),
                    f"{fit.exponent:.2f}" if fit else DASH,
                    " · ".join(_num(p.others_cpu_s, 1) for p in measured) or DASH,
                    "; ".join(f"{_size(p.size)}: {p.skipped}" for p in skipped) or DASH,
                    (f"`{reproduce(workload, rungs, repeat)}`" if code else reproduce(workload, rungs, repeat))
                    if rungs else DASH])
    return out


def growth_section(points: list[GrowthPoint], md_table, repeat: int = 1) -> list[str]:
    """RESULTS.md's growth table (empty when nothing was measured)."""
    rows = growth_rows(points, repeat)
    if not rows:
        return []
    return ["", "## growth", "", f"How time grows with size, per workload and engine. {GROWTH_METHOD}.", "",
            *md_table(GROWTH_COLUMNS, growth_rows(points, repeat, code=True))]


def phases(report: dict) -> list[tuple[str, float, float]]:
    """(phase, seconds, peak RSS MB at its end) from the synth child's progress events.

    A progress call names the phase it starts, except ``写入 <table>`` (called after each
    table is inserted) and the final ``完成 done`` of build (after commit, calibration table
    and checkpoint), which close theirs."""
    events = report.get("events") or []
    out, previous_t, previous_label = [], 0.0, None
    for k, event in enumerate(events):
        label = event["label"]
        if label.startswith("写入 "):
            name = f"write {label.split(' ', 1)[1]}"
        elif k == len(events) - 1 and event["fraction"] >= 1.0:
            name = "commit, audit, calibration table, checkpoint"
        elif previous_label is None:
            name = "open store, reference data, geography"
        else:
            name = previous_label
        out.append((name, event["t"] - previous_t, event["maxrss_mb"]))
        previous_t, previous_label = event["t"], label
    rest = report["build_s"] - previous_t
    if rest > 0.05:
        out.append(("close store", rest, report["maxrss_mb"]))
    return out


# ---------------------------------------------------------------------------- formatting


def _num(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return DASH
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def throughput(case: Case) -> str:
    if not case.ok or case.workload != "synth":
        return DASH
    return f"{case.rows / case.wall_s:,.0f} rows/s · {case.enterprises / case.wall_s:,.0f} firms/s"


MAIN_COLUMNS = ("workload", "size", "wall s", "peak RSS MB", "throughput", "target s",
                "ratio to target", "pass/fail")


def main_row(case: Case) -> list[str]:
    return [case.workload if case.workload == "synth" else f"{case.workload} {case.case}", case.size,
            _num(case.wall_s, 2), _num(case.maxrss_mb, 0), throughput(case), _num(case.target_s, 0),
            _num(case.ratio, 2), case.status]


def detail_columns(workload: str) -> tuple[str, ...]:
    common = ("size", "runs", "wall range s", "CPU s", "CPU / wall", "other CPU s")
    if workload == "synth":
        return (*common, "imports s", "build s", "start-up + teardown s", "rows", "DB MB",
                "calibration ok")
    return (*common, "DB MB")


def detail_row(case: Case) -> list[str]:
    if not case.ok:
        return [case.size, str(len(case.runs)), *([DASH] * (len(detail_columns(case.workload)) - 2))]
    walls = [r.wall_s for r in case.runs]
    span = f"{min(walls):.2f}–{max(walls):.2f}" if len(walls) > 1 else f"{walls[0]:.2f}"
    cpu = case.cpu_s
    row = [case.size, str(len(case.runs)), span, _num(cpu, 1),
           _num(cpu / case.wall_s if cpu is not None else None, 2), _num(case.others_cpu_s, 1)]
    db = float(np.median(case.db_mb)) if case.db_mb else None
    if case.workload == "synth":
        imports, build = case.report_median("import_s"), case.report_median("build_s")
        rep = case.median_report()
        row += [_num(imports, 2), _num(build, 2), _num(case.wall_s - imports - build, 2), _num(case.rows),
                _num(db, 0), f"{rep['calibration_ok']}/{rep['calibration_total']}"]
    else:
        row += [_num(db, 0)]
    return row


def phase_rows(case: Case) -> list[list[str]]:
    report = case.median_report()
    build = report["build_s"]
    return [[name, f"{seconds:.2f}", f"{100 * seconds / build:.0f} %", f"{rss:.0f}"]
            for name, seconds, rss in phases(report)]


def rich_table(title: str, columns: tuple[str, ...], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i < 2 else "right")
    for row in rows:
        styled = list(row)
        if styled[-1] == "MISS":
            styled[-1] = "[bold yellow]MISS[/bold yellow]"
        elif styled[-1] == "FAILED":
            styled[-1] = "[bold red]FAILED[/bold red]"
        elif styled[-1] == "pass":
            styled[-1] = "[green]pass[/green]"
        table.add_row(*styled)
    return table


def md_table(columns: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    align = ["---" if i < 2 else "---:" for i in range(len(columns))]
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join(align) + " |"]
    for row in rows:
        shown = [f"**{c}**" if c in ("MISS", "FAILED") else c for c in row]
        lines.append("| " + " | ".join(cell(c) for c in shown) + " |")
    return lines


def fit_text(fit: Fit | None) -> str:
    if fit is None:
        return "growth exponent: not fitted (fewer than two successful synth scales)"
    text = (f"growth exponent: wall time ∝ enterprises^{fit.exponent:.2f} "
            f"(least squares on log wall s vs log enterprises, {fit.points} scales)")
    if fit.build_exponent is not None:
        text += f"; in-process build alone ∝ enterprises^{fit.build_exponent:.2f}"
    for scale, seconds in fit.extrapolated_s.items():
        text += f"; extrapolated wall at scale {scale_label(scale)}: {seconds:.1f} s"
    return text


def misses(cases: list[Case]) -> list[str]:
    return [f"{c.workload} {c.case}: {c.measured_s:.1f} s against a target of {c.target_s:g} s "
            f"(ratio {c.ratio:.2f}){c.target_note}" for c in cases if c.status == "MISS"]


def failures(cases: list[Case]) -> list[tuple[str, str]]:
    out = []
    for c in cases:
        if c.ok:
            continue
        tail = c.failed_run.stderr_tail() if c.failed_run else ""
        out.append((f"{c.workload} {c.case}: {c.error}", tail))
    return out


# ---------------------------------------------------------------------------- markdown


def markdown(cases: list[Case], info: dict[str, str], fit: Fit | None, *, mode: str, repeat: int,
             startup_s: float | None, sections: list[str] | None = None, elapsed_s: float | None = None) -> str:
    lines = ["# Shanhai benchmarks", "",
             f"Written by `python -m benchmarks` ({mode}) on {info['date']}, commit {info['commit']}. "
             f"Each figure is the median of {repeat} run{'s' if repeat > 1 else ''}. "
             "Benchmarks report, they do not gate: a missed target is listed below, never a test failure."
             + (f" The suite ran for {elapsed_s / 60:.1f} min (preparing uncached inputs included)."
                if elapsed_s is not None else ""),
             "", "## Machine", "", "| | |", "| --- | --- |"]
    for key in ("cpus", "cpu model", "memory", "os", "python", "duckdb", "numpy", "pyarrow",
                "ibis-framework", "fastexcel", "pandas", "bytecode", "contention"):
        if key in info:
            lines.append(f"| {key} | {info[key]} |")
    lines += ["", "Contention well above 0 % means other processes shared the CPUs: the timings are then "
              "pessimistic (see the other CPU s column of the details). Compare runs made on a quiet machine."]
    lines += ["", "## How it is measured", "",
              "- Every run is a fresh child process (`sys.executable`) in its own temporary directory, "
              "deleted afterwards.",
              f"- {WALL_METHOD}.",
              f"- {RSS_METHOD}; MB = 2^20 bytes.",
              f"- {CONTENTION_METHOD}.",
              "- synth: `benchmarks/synth_child.py` calls `shanhai.synth.build(db, SynthConfig(scale, seed=7))` "
              "and prints its row counts and a timeline of the build's progress calls as JSON; "
              "throughput = rows written (sum of `BuildResult.rows`) and enterprises (firms) per second of "
              "wall time.",
              "- growth exponent: slope of a least-squares line (numpy.polyfit) through log wall s against "
              "log enterprises over the synth scales; 1 is linear.",
              "- demo: the real entry point, `python -m shanhai demo --db PATH --json`, must exit 0 and print "
              "one JSON document. Cold = database absent (build + overview), warm = the same database "
              "again (overview only).",
              "- target: from the issues that asked for this suite (synth at scale 1.0 under 60 s on 2 cores; "
              "demo from an absent database under 30 s; import of a 1,000,000-row enterprise-years CSV under "
              "5 s and of a 100,000-row XLSX under 3 s; the per-mu evaluation of 1,000,000 enterprises under 1.5 s "
              "and 1.5 GB). The target is the baseline: ratio to target = wall / target (mujun: run s / target, "
              "see its section), below 1 passes.",
              ]
    if startup_s is not None:
        lines.append(f"- floor: a bare `python -c pass` takes {startup_s:.3f} s on this machine.")
    for workload in ("synth", "demo"):
        chosen = [c for c in cases if c.workload == workload]
        if not chosen:
            continue
        lines += ["", f"## {workload}", ""]
        lines += md_table(MAIN_COLUMNS, [main_row(c) for c in chosen])
        if workload == "synth":
            lines += ["", fit_text(fit) + ".", "", reproduce_line("synth", chosen)]
        else:
            lines += ["", f"Reproduce: `python -m benchmarks --only demo{f' --repeat {repeat}' if repeat > 1 else ''}`."]
        lines += ["", "Details:", ""]
        lines += md_table(detail_columns(workload), [detail_row(c) for c in chosen])
        done = [c for c in chosen if c.ok]
        if workload == "synth" and done:
            largest = max(done, key=lambda c: c.scale)
            lines += ["", f"Phases of the build at {largest.size}, timed between the progress calls of "
                      "`shanhai.synth.build` and named after them (the Chinese-labelled phases generate in "
                      "memory, `写入表 tables` included; `write <table>` is the INSERT into DuckDB; DuckDB "
                      "compresses and stores the inserted rows at COMMIT), with the peak RSS so far at the end "
                      "of each phase:", ""]
            lines += md_table(("phase", "s", "share of build", "peak RSS MB"), phase_rows(largest))
    lines += sections or []
    lines += ["", "## Targets", ""]
    missed, failed = misses(cases), failures(cases)
    targeted = [c for c in cases if c.target_s is not None]
    if not targeted:
        lines.append("No targeted workload ran in this mode.")
    for c in targeted:
        if c.ok:
            lines.append(f"- {c.workload} {c.case}: {c.measured_s:.1f} s / {c.target_s:g} s = "
                         f"{c.ratio:.2f} → **{c.status}**{c.target_note}")
        else:
            lines.append(f"- {c.workload} {c.case}: **FAILED** ({c.error})")
    if not missed and targeted and all(c.ok for c in targeted):
        lines.append("- all targets met.")
    if failed:
        lines += ["", "## Failures", ""]
        for title, tail in failed:
            lines += [f"- {title}", ""]
            if tail:
                lines += ["  stderr, last lines:", "", "  ```", *(f"  {line}" for line in tail.splitlines()),
                          "  ```", ""]
    return "\n".join(lines).rstrip() + "\n"
