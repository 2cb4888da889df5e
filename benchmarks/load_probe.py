"""Where the readers' waiting comes from during an import: ``benchmarks/load.py``'s load, run against
``shanhai serve`` with probes inside the server (issue 9 item 3, docs/operations.md "Load").

The server process (``python -m benchmarks.load_probe serve DB PORT OUT``) is ``create_app`` under
uvicorn as ``shanhai serve`` runs it, plus:

* per request: path, arrival, end of the answer (server time), the thread pool's borrowed tokens;
* an **event-loop lag** probe: a task sleeping 10 ms, recording every wake-up later than 20 ms;
* **CPU seconds per thread** (``/proc/self/task``, every 100 ms: the event loop, the thread pool's
  workers, the job worker, DuckDB's own threads), of the driver (this process's parent) and of the
  whole machine (``/proc/stat``: "other" = everything that is neither the server nor the driver,
  i.e. contention from other work);
* the job's start and end, and its progress messages.

``--job`` swaps what an import job does, to tell the import's own work from everything around it
(the upload, the job poller, the load's growth over time):

* ``real``: the import as it is;
* ``sleep``: a job that sleeps (``--sleep`` seconds) and then imports a one-row file: no work;
* ``child``: the real import in a separate process (``nice 10``) into a copy of the database taken
  before the server started (a diagnostic control only: the server's own file is never opened
  by another process), then the one-row import.

``--nice N`` runs the job worker thread at nice N (the former background priority was 10).

``python -m benchmarks.load_probe --db DB --file FILE [--clients 100] [--seconds 15] [--job real]``
(the database prepared as tests/load/test_load_web.py does) prints the load report's figures and
the probes' summary as JSON; ``--out DIR`` keeps the raw probe data.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

LAG_TICK_S = 0.01
LAG_REPORT_S = 0.02
CPU_EVERY_S = 0.1


# ---- inside the server ------------------------------------------------------------------------

def _serve(db: Path, port: int, out: Path, job: str, nice: int | None, sleep_s: float, file: Path | None) -> None:
    import asyncio
    import gc

    import anyio.to_thread
    import uvicorn

    from shanhai.web import jobs as _jobs
    from shanhai.web.app import create_app

    t0 = time.monotonic()

    def now() -> float:
        return round(time.monotonic() - t0, 4)

    requests, lag, cpu, job_spans, phases = [], [], [], [], []
    names: dict[int, str] = {}

    if nice is not None:
        work = _jobs.JobRunner._work

        def niced_work(self):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
            work(self)
        _jobs.JobRunner._work = niced_work

    run = _jobs.JobRunner._run

    def timed_run(self, j, store):
        start = now()
        try:
            run(self, j, store)
        finally:
            job_spans.append((start, now(), j.kind, j.status))
    _jobs.JobRunner._run = timed_run
    call = _jobs.Progress.__call__

    def progress(self, done, total=1, message=""):
        phases.append((now(), message))
        return call(self, done, total, message)
    _jobs.Progress.__call__ = progress

    if job != "real":
        import shanhai.ingest as ingest

        real_import = ingest.import_file
        tiny = out.parent / "one-row.csv"
        if file is None:
            raise SystemExit("--job sleep/child needs --file")
        with file.open("rb") as handle:        # the header and the first record, in the file's encoding
            tiny.write_bytes(b"".join(handle.readline() for _ in range(2)))
        pristine = out.parent / "pristine.duckdb"
        if job == "child":
            shutil.copy(db, pristine)

        def stand_in(store, kind, path, **kw):
            if job == "sleep":
                time.sleep(sleep_s)
            else:
                copy = out.parent / "child.duckdb"
                shutil.copy(pristine, copy)
                code = ("import sys; from shanhai.store import open_store; from shanhai.ingest import import_file; "
                        "s = open_store(sys.argv[1]); s.con.execute('SET threads = 1'); "
                        "import_file(s, sys.argv[2], sys.argv[3]); s.close()")
                subprocess.run(["nice", "-n", "10", sys.executable, "-c", code, str(copy), kind, str(path)], check=True)
            return real_import(store, kind, tiny, **kw)
        ingest.import_file = stand_in

    app = create_app(db)
    state = {"lag": False}

    async def lag_probe():
        while True:
            t = time.monotonic()
            await asyncio.sleep(LAG_TICK_S)
            late = time.monotonic() - t - LAG_TICK_S
            if late > LAG_REPORT_S:
                lag.append((now(), round(late, 4)))

    async def probed(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        if not state["lag"]:
            state["lag"] = True
            asyncio.get_running_loop().create_task(lag_probe())
        start, borrowed = now(), anyio.to_thread.current_default_thread_limiter().borrowed_tokens
        try:
            await app(scope, receive, send)
        finally:
            requests.append((scope["path"], start, now(), borrowed))

    def ticks() -> dict:
        for t in threading.enumerate():
            names[t.native_id] = t.name
        out_ = {}
        for tid in os.listdir("/proc/self/task"):
            try:
                stat = Path(f"/proc/self/task/{tid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            name = names.get(int(tid), "duckdb/other").split(" (")[0]
            name = "thread pool" if name.startswith("AnyIO worker") else name
            out_[tid] = (name, int(fields[11]) + int(fields[12]))
        machine = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        out_["machine"] = ("machine", sum(int(v) for v in machine[:3]) + int(machine[5]) + int(machine[6]))
        try:
            stat = Path(f"/proc/{os.getppid()}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            out_["driver"] = ("driver", int(fields[11]) + int(fields[12]))
        except OSError:
            pass
        return out_

    def sampler():
        while True:
            cpu.append((now(), ticks()))
            time.sleep(CPU_EVERY_S)
    threading.Thread(target=sampler, name="probe", daemon=True).start()
    gc.collect()            # as `shanhai serve` does
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    try:
        uvicorn.run(probed, host="127.0.0.1", port=port, log_level="warning", server_header=False)
    finally:
        out.write_text(json.dumps({"requests": requests, "lag": lag, "cpu": cpu, "jobs": job_spans,
                                   "phases": phases, "hz": os.sysconf("SC_CLK_TCK")}))


# ---- the summary ----------------------------------------------------------------------------

def summary(probe: dict, baseline_s: float) -> dict:
    """Per window (the load's ``baseline_s`` seconds before the first upload, less the first
    second; while import jobs ran): event-loop lag, server time of the requests that arrived in
    it, and CPU cores used by the server's threads, the driver and the rest of the machine."""
    reqs = [r for r in probe["requests"] if not r[0].startswith("/api/v1/jobs/")]
    uploads = [r for r in reqs if r[0] == "/data/import"]
    spans = [(a, b) for a, b, kind, _ in probe["jobs"] if kind == "import"]
    if not uploads or not spans:
        return {"error": "no import ran"}
    cpu, hz = probe["cpu"], probe["hz"]
    windows = {"before": [(uploads[0][1] - baseline_s + 1.0, uploads[0][1])], "during": spans}

    def at(t):
        return min(cpu, key=lambda c: abs(c[0] - t))

    out = {}
    for name, parts in windows.items():
        length = sum(b - a for a, b in parts)
        lag = [v for t, v in probe["lag"] if any(a <= t <= b for a, b in parts)]
        times = sorted(r[2] - r[1] for r in reqs if r[0] != "/data/import" and any(a <= r[1] <= b for a, b in parts))
        used: dict[str, float] = {}
        for a, b in parts:
            c0, c1 = at(a), at(b)
            for tid, (group, ticks) in c1[1].items():
                used[group] = used.get(group, 0) + (ticks - c0[1].get(tid, (group, 0))[1]) / hz
        server = sum(v for k, v in used.items() if k not in ("machine", "driver"))
        cores = {k: round(v / length, 2) for k, v in sorted(used.items()) if k not in ("machine",)}
        cores["server"] = round(server / length, 2)
        cores["other"] = round((used.get("machine", 0) - server - used.get("driver", 0)) / length, 2)

        def q(p):
            return round(times[min(len(times) - 1, int(p * len(times)))] * 1000, 1) if times else None
        out[name] = {"seconds": round(length, 2), "loop_lag_s": round(sum(lag), 2),
                     "loop_lag_share": round(sum(lag) / length, 3) if length else None,
                     "loop_lag_max_ms": round(max(lag, default=0) * 1000, 1),
                     "requests": len(times), "server_p50_ms": q(0.5), "server_p95_ms": q(0.95),
                     "server_max_ms": round(times[-1] * 1000, 1) if times else None, "cores": cores}
    out["upload_s"] = [round(r[2] - r[1], 2) for r in uploads]
    out["jobs_s"] = [round(b - a, 2) for a, b in spans]
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        p = argparse.ArgumentParser(prog="python -m benchmarks.load_probe serve")
        p.add_argument("db", type=Path)
        p.add_argument("port", type=int)
        p.add_argument("out", type=Path)
        p.add_argument("--job", choices=("real", "sleep", "child"), default="real")
        p.add_argument("--nice", type=int)
        p.add_argument("--sleep", type=float, default=8.0)
        p.add_argument("--file", type=Path)
        a = p.parse_args(argv[1:])
        _serve(a.db, a.port, a.out, a.job, a.nice, a.sleep, a.file)
        return 0
    from benchmarks import load as _load

    p = argparse.ArgumentParser(prog="python -m benchmarks.load_probe", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", type=Path, required=True, help="a database prepared as tests/load does (copied, not changed)")
    p.add_argument("--file", type=Path, required=True, help="the electricity file to upload")
    p.add_argument("--username", default=_load.USERNAME)
    p.add_argument("--password-env", default="SHANHAI_LOAD_PASSWORD")
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--clients", type=int, default=_load.CLIENTS)
    p.add_argument("--job", choices=("real", "sleep", "child"), default="real")
    p.add_argument("--nice", type=int, help="run the job worker thread at this nice value")
    p.add_argument("--sleep", type=float, default=8.0, help="seconds a --job sleep job sleeps")
    p.add_argument("--out", type=Path, help="keep the copy, the server log and the raw probe data here")
    a = p.parse_args(argv)
    folder = a.out or Path(tempfile.mkdtemp(prefix="shanhai-load-probe-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "load.duckdb"
    shutil.copy(a.db, db)
    raw = folder / "probe.json"
    extra = ["--job", a.job, "--sleep", f"{a.sleep:g}", "--file", str(a.file.resolve())]
    extra += ["--nice", str(a.nice)] if a.nice is not None else []

    serve = _load.start_server

    def start_server(db_path: Path, log_path: Path, env: dict | None = None):
        return serve(db_path, log_path, env, command=lambda port: [
            sys.executable, "-m", "benchmarks.load_probe", "serve", str(db_path), str(port), str(raw), *extra])

    _load.start_server = start_server
    password = os.environ.get(a.password_env) or _load.PASSWORD
    result = _load.drive(db, a.file, username=a.username, password=password, seconds=a.seconds, clients=a.clients,
                         log=lambda text: print(text, file=sys.stderr))
    keep = ("requests", "errors", "stall_max_s", "stall_p99_s", "gap_import_s", "gap_baseline_s", "imports")
    report = {"job": a.job, "nice": a.nice, "clients": a.clients,
              "load": {k: result[k] for k in keep} | {w: {k: result[w][k] for k in ("n", "p50_ms", "p95_ms", "p99_ms", "max_ms")}
                                                       for w in ("baseline", "during_import")},
              "probe": summary(json.loads(raw.read_text()), a.seconds * _load.BASELINE_SHARE)}
    print(json.dumps(report, indent=1, ensure_ascii=False))
    if a.out is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
