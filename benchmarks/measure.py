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
