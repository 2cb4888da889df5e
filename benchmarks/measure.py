"""Run one child process and measure it: wall time, peak RSS and CPU time of that child alone.

Peak RSS is ``ru_maxrss`` from ``os.wait4(pid)``: the kernel's high-water mark of resident
memory for exactly the reaped child (and any grandchildren it waited for), whatever ran before
it. That works for every workload, including the real CLI whose stdout must stay one JSON
document, so no wrapper or ``/usr/bin/time`` is needed. ``RUSAGE_CHILDREN`` deltas are not
used: that figure is a maximum over all children so far, never reset between them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

CONTENTION_METHOD = ("other CPU s = busy CPU time of the whole machine (/proc/stat) during the run minus "
                     "the child's own: other processes competing for the cores")
RSS_METHOD = ("peak RSS = ru_maxrss of each child process, from os.wait4(pid) "
              "(kernel high-water mark of that process alone)")
WALL_METHOD = ("wall = parent's monotonic clock from spawning the child to reaping it "
               "(interpreter start-up, imports and teardown included)")


@dataclass
class ChildRun:
    argv: list[str]
    returncode: int
    wall_s: float
    maxrss_mb: float | None     # MB = 2**20 bytes
    cpu_s: float | None         # user + system
    stdout: str
    stderr: str
    timed_out: bool = False
    others_cpu_s: float | None = None   # CPU seconds other processes used meanwhile (contention)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def stderr_tail(self, lines: int = 20) -> str:
        return "\n".join(self.stderr.rstrip().splitlines()[-lines:])


def _maxrss_mb(raw: int) -> float:
    # Linux reports KiB, macOS bytes
    return raw / 2**20 if sys.platform == "darwin" else raw / 1024


_PYCACHE: Path | None = None


def use_private_pycache(folder: Path | None) -> None:
    """Let children write and reuse bytecode under ``folder`` (``PYTHONPYCACHEPREFIX``), as on a
    normal installation, even where ``PYTHONDONTWRITEBYTECODE`` is set; nothing is written into
    the source tree or the virtual environment. ``None``: children inherit the environment."""
    global _PYCACHE
    _PYCACHE = folder


def child_env() -> dict[str, str]:
    """The parent's environment without anything that would point the child at another database."""
    env = dict(os.environ)
    env.pop("SHANHAI_DB", None)
    env.setdefault("COLUMNS", "120")
    if _PYCACHE is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE)
    return env


def _busy_cpu_s() -> float | None:
    """CPU seconds all processes of the machine have spent busy since boot (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def run_child(argv: list[str], cwd: Path, timeout_s: float) -> ChildRun:
    """Run ``argv`` in ``cwd``; stdout and stderr go to files there (no pipe can fill up)."""
    out_path, err_path = cwd / ".bench-stdout", cwd / ".bench-stderr"
    busy_before = _busy_cpu_s()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=child_env())
        killed = threading.Event()

        def kill():
            killed.set()
            proc.kill()

        timer = threading.Timer(timeout_s, kill)
        timer.daemon = True
        timer.start()
        try:
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(proc.pid, 0)
                wall = time.perf_counter() - started
                proc.returncode = os.waitstatus_to_exitcode(status)
                rss, cpu = _maxrss_mb(usage.ru_maxrss), usage.ru_utime + usage.ru_stime
            else:  # pragma: no cover - Windows: no per-child rusage
                proc.wait()
                wall = time.perf_counter() - started
                rss = cpu = None
        finally:
            timer.cancel()
    busy_after = _busy_cpu_s()
    others = None
    if busy_before is not None and busy_after is not None and cpu is not None:
        others = max(0.0, busy_after - busy_before - cpu)
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    stderr = err_path.read_text(encoding="utf-8", errors="replace")
    out_path.unlink()
    err_path.unlink()
    return ChildRun(argv, proc.returncode, wall, rss, cpu, stdout, stderr, killed.is_set(), others)


def failure(run: ChildRun) -> str:
    """Why a child run failed, in a few words."""
    return f"timed out after {run.wall_s:.0f} s" if run.timed_out else f"exit code {run.returncode}"


def child_report(case, argv: list[str], run_dir: Path, timeout_s: float, log, title: str,
                 keys: tuple[str, ...]) -> tuple[ChildRun, dict] | None:
    """Run one measured child and read its JSON report (the last line of stdout, which must hold
    ``keys``); on success the run and the report are appended to ``case``, otherwise ``case`` fails
    with the reason and ``title`` is logged as FAILED. Returns (run, report) or None."""
    import json

    run = run_child(argv, run_dir, timeout_s)
    if not run.ok:
        case.fail(failure(run), run)
        log(f"{title}: [red]FAILED[/red] ({case.error})")
        return None
    try:
        report = json.loads(run.stdout.strip().splitlines()[-1])
        for key in keys:
            report[key]
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        case.fail(f"stdout is not the expected JSON report ({exc})", run)
        log(f"{title}: [red]FAILED[/red] ({case.error})")
        return None
    case.runs.append(run)
    case.reports.append(report)
    return run, report


# ---------------------------------------------------------------------------- size ladders and growth


@dataclass(frozen=True)
class Ladder:
    """The sizes a workload runs at, declared once in its module.

    ``unit`` names what a size counts (enterprises, firm-years, rows, cells, …); ``full`` is the
    ladder of ``make bench``, ``quick`` the one of ``--quick``; ``target`` is the size the issue's
    target applies to (the only row with a target s and a pass/fail), None when there is none."""

    unit: str
    full: tuple[int | float, ...]
    quick: tuple[int | float, ...]
    target: int | float | None = None
    note: str = ""                 # why these sizes (when they are not 10k · 100k · 1M)

    largest: float | None = None   # the largest size the workload accepts (synth scales: 5)
    smallest: float | None = None  # the smallest (e.g. one firm × 100 months for alerts)

    def sizes(self, quick: bool = False, chosen: tuple[int | float, ...] | None = None) -> tuple[int | float, ...]:
        """``chosen`` (from ``--sizes``) when given, else the quick or the full ladder."""
        return tuple(chosen) if chosen else (self.quick if quick else self.full)

    def cases(self, at, repeat: int, timeout_s: float, log, quick: bool = False, chosen=None) -> list:
        """``at(size, repeat, timeout_s, log)`` (a workload's cases at one whole size) over every size
        of the ladder, in order."""
        out: list = []
        for size in self.sizes(quick, chosen):
            out += at(int(size), repeat, timeout_s, log)
        return out

    def problem(self, sizes: tuple[int | float, ...]) -> str | None:
        """Why ``sizes`` cannot run on this ladder (None when they can): whole numbers where the ladder
        counts things, between ``smallest`` and ``largest``."""
        whole = all(float(s).is_integer() for s in self.full)
        for size in sizes:
            if whole and not float(size).is_integer():
                return f"{size:g} is not a whole number of {self.unit}"
            if self.largest is not None and size > self.largest:
                return f"{size:g} is above the largest size, {self.largest:g} ({self.unit})"
            if self.smallest is not None and size < self.smallest:
                return f"{size:g} is below the smallest size, {self.smallest:g} ({self.unit})"
        return None


_SUFFIXES = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}


def parse_sizes(text: str) -> tuple[int | float, ...]:
    """``"10000,100000"``, ``"10k, 1M"``, ``"1_000_000"`` or ``"0.1,0.25"`` (synth scales) → sizes.

    Sizes are separated by commas; each is a positive number with an optional k / M / G suffix
    (× 1,000 / 1,000,000 / 1,000,000,000) and optional ``_`` between digits. Whole numbers come
    back as ``int``, the others (synth scales) as ``float``; duplicates are dropped, the order is
    ascending. Raises ``ValueError`` naming the bad item."""
    sizes: list[int | float] = []
    for raw in text.split(","):
        item = raw.strip().replace("_", "")
        if not item:
            raise ValueError(f"empty size in {text!r} (sizes are separated by commas, e.g. 10000,100000)")
        factor = _SUFFIXES.get(item[-1].lower(), 1)
        number = item[:-1] if factor != 1 else item
        try:
            value = float(number) * factor
        except ValueError:
            raise ValueError(f"size {raw.strip()!r} is not a number (e.g. 10000, 10k, 1M or 0.25)") from None
        if not value > 0 or value != value or value == float("inf"):
            raise ValueError(f"size {raw.strip()!r} must be a positive number")
        sizes.append(int(value) if value.is_integer() else value)
    return tuple(sorted(set(sizes)))


@dataclass(frozen=True)
class Growth:
    """time ≈ exp(intercept) · size^exponent, fitted by least squares on log time vs log size."""

    exponent: float
    intercept: float
    points: int

    def predict(self, size: float) -> float:
        import math

        return math.exp(self.intercept + self.exponent * math.log(size))


def fit_growth(sizes, seconds) -> Growth | None:
    """Slope of the least-squares line through (log size, log seconds): ``numpy.polyfit(deg=1)``.

    1.0 means time grows linearly with size, 2.0 quadratically, below 1 sub-linearly (fixed
    costs dominate the small sizes). Points with a missing or non-positive size or time are left
    out; None when fewer than two distinct sizes remain (no slope to fit)."""
    import math

    import numpy as np

    pairs = [(float(s), float(t)) for s, t in zip(sizes, seconds)
             if s is not None and t is not None and s > 0 and t > 0 and math.isfinite(s) and math.isfinite(t)]
    if len({s for s, _ in pairs}) < 2:
        return None
    x = np.log([s for s, _ in pairs])
    y = np.log([t for _, t in pairs])
    slope, intercept = np.polyfit(x, y, 1)
    return Growth(float(slope), float(intercept), len(pairs))


@dataclass(frozen=True)
class GrowthPoint:
    """One measured size of one engine of one workload, for the growth table."""

    workload: str
    engine: str
    unit: str              # what size counts
    size: float            # the size actually processed (e.g. 996,000 firms for the 1M rung)
    seconds: float | None  # None: not measured at this size (``skipped`` says why)
    timed: str             # which time: "run s" (inside the child) or "wall s" (the child's whole life)
    rung: int | float | None = None   # the ladder size it came from (what --sizes takes)
    skipped: str = ""      # why there is no time at this size (e.g. the baseline does not finish)
    others_cpu_s: float | None = None   # CPU s other processes took meanwhile (contention)


def size_arg(size: int | float) -> str:
    """A size as ``--sizes`` takes it: 1000000 → "1000000", 0.25 → "0.25"."""
    return f"{size:g}" if isinstance(size, float) and not float(size).is_integer() else str(int(size))


def reproduce(workload: str, sizes, repeat: int = 1) -> str:
    """The one command that measures ``workload`` at ``sizes`` again (writing elsewhere than RESULTS.md
    is left to ``--out``)."""
    command = f"python -m benchmarks --only {workload} --sizes {','.join(size_arg(s) for s in sizes)}"
    return command + (f" --repeat {repeat}" if repeat > 1 else "")


def reproduce_line(workload: str, chosen: list) -> str:
    """"Reproduce: `…` · `…`": one command per size (``Case.n``) of a workload's table, printed under it."""
    sizes = sorted({c.n for c in chosen if c.n is not None})
    if not sizes:
        return ""
    runs = max((len(c.runs) for c in chosen), default=1) or 1
    return "Reproduce: " + " · ".join(f"`{reproduce(workload, [s], runs)}`" for s in sizes) + "."
