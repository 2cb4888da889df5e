"""The ``load`` workload (issue 9 item 3): 100 concurrent clients on the dashboard and the API
while an import runs in the background through the web upload.

``shanhai serve`` runs in its own process over a database with a per-mu run and a province
account. The province's electricity file (``shanhai synth --as-files``, the database's own rows)
is the import, and the database lacks its latest month (:func:`prepare`): the first import brings
that month, so the views over electricity change with it (the job computes the views readers
used for the new data before it publishes it, ``web.screens.publishing``), and every later import
reads, cleans, checks and compares the whole file and changes nothing.

One asyncio loop in this process drives ``CLIENTS`` httpx clients (one signed-in session; each
client requests the next path of a shuffled mix of pages and API endpoints, waits ``THINK_S``,
and repeats) for the whole duration:

* the first ``BASELINE_SHARE`` of the time is the **baseline** window: no import;
* then the file is uploaded to ``/data/import`` (the form the 数据 page posts) and imported again
  and again until the time is up; a poller reads ``/api/v1/jobs/{id}`` every 50 ms and records
  when each import job was running (holding the server's one writer).

A request *during the import* is one in flight at some moment an import job was seen running. The report has
latency percentiles (p50/p95/p99/max) of all requests, of the baseline window and of the requests
during the import, the throughput, every error (any answer other than 200, any socket error or
timeout) and the **import stall**: how much longer the slowest reader waited during the import
than in the baseline (max and p99 differences), and the longest time with no answer at all. The test
(tests/load/test_load_web.py) asserts zero errors and a stall and a gap under 1 s.

``python -m benchmarks.load --db DB --file FILE --username U --password-env VAR --seconds N``
drives an already-prepared database and prints the report as JSON (the test does this);
``python -m benchmarks --only load`` builds the province first (scale 0.2, 60 s; quick: 0.05, 10 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

CLIENTS = 100
DURATION_S = 60
QUICK_DURATION_S = 10
SCALE = 0.2
QUICK_SCALE = 0.05
THINK_S = 2.0                   # a client's pause between two requests (a user reads the page)
BASELINE_SHARE = 0.35
TIMEOUT_S = 30.0
STALL_LIMIT_S = 1.0
KIND, TABLE = "electricity", "electricity_monthly"
USERNAME, PASSWORD = "load-province", "load-" + "p4ssw0rd-clients"
ENV_SECONDS = "SHANHAI_LOAD_SECONDS"

# Pages of the navigation (overview, per-mu, chains, mountain–sea, indices, warnings, zones,
# targets, cultivation, carbon, cage swap, monthly, presets, data) and the JSON API (runs, the
# per-mu ranking = a run's results, chains, alerts, collection, …). Pages computed afresh on
# every request until session 21 (a chain panorama, the targets board: 0.1-0.7 s of server time
# each at scale 0.05, measured with one client; cached per data version since, web/screens.cached_view)
# weigh 1 in the mix, the others LIGHT_WEIGHT: a user opens a panorama now and then, the overview
# and the rankings all the time. The mix is kept as it was, so figures stay comparable.
LIGHT_WEIGHT = 6
HEAVY = {"/chains", "/targets", "/cultivation", "/coop", "/coop/projects", "/transition", "/api/v1/chains",
         "/api/v1/chains/risk", "/api/v1/coop/counties", "/api/v1/targets/summary"}
PAGES = ["/", "/mujun/runs", "/mujun/runs/{run}", "/chains", "/chains/risk", "/coop",
         "/coop/projects", "/targets", "/indices", "/alerts", "/zones", "/cultivation", "/carbon",
         "/transition", "/monthly", "/policies", "/data"]
API = ["/api/v1/runs", "/api/v1/runs/{run}", "/api/v1/runs/{run}/headline", "/api/v1/runs/{run}/counties",
       "/api/v1/runs/{run}/bands", "/api/v1/runs/{run}/results", "/api/v1/chains", "/api/v1/chains/risk",
       "/api/v1/alerts", "/api/v1/collection", "/api/v1/coop/counties",
       "/api/v1/targets/summary", "/api/v1/carbon/runs", "/api/v1/policies"]


def mix(run_id: str) -> list[str]:
    """The weighted list of paths every client cycles through (in its own shuffled order)."""
    return [p.format(run=run_id) for p in PAGES + API for _ in range(1 if p in HEAVY else LIGHT_WEIGHT)]


# ---- the server ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, log_path: Path, env: dict | None = None, command=None) -> tuple[subprocess.Popen, str]:
    """``shanhai serve`` over ``db`` on a free loopback port (or ``command(port)``, another server
    such as load_probe's); returns (process, base URL) once ``/healthz`` answers."""
    import httpx

    port = free_port()
    argv = (command(port) if command is not None
            else [sys.executable, "-m", "shanhai", "serve", "--port", str(port), "--db", str(db)])
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`{' '.join(argv[1:4])}` exited with code {proc.returncode}: "
                               f"{log_path.read_text('utf-8', 'replace')[-600:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"`{' '.join(argv[1:4])}` did not answer /healthz within 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def csrf_of(html: str) -> str:
    match = re.search(r'data-csrf="([^"]+)"', html) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def sign_in(client, username: str, password: str) -> str:
    """Sign ``client`` (an httpx.Client) in the way a browser does; returns a CSRF token for forms."""
    token = csrf_of(client.get("/signin").text)
    r = client.post("/signin", data={"username": username, "password": password, "next": "/jobs",
                                     "csrf_token": token}, follow_redirects=False)
    if r.status_code != 303 or "shanhai_session" not in client.cookies:
        raise RuntimeError(f"signing in as {username} failed (HTTP {r.status_code})")
    page = client.get("/jobs", follow_redirects=False)
    if page.status_code == 303 and "/account/password" in page.headers.get("location", ""):
        # `shanhai users add` makes an account choose its own password at its first sign-in
        token = csrf_of(client.get("/account/password").text)
        r = client.post("/account/password", data={"current": password, "new": password + "-2",
                                                   "repeat": password + "-2", "csrf_token": token})
        if r.status_code != 200:
            raise RuntimeError(f"the first-sign-in password change of {username} failed (HTTP {r.status_code})")
        page = client.get("/jobs", follow_redirects=False)
    if page.status_code != 200:
        raise RuntimeError(f"{username} is signed in but /jobs answered HTTP {page.status_code}")
    return csrf_of(page.text)


# ---- the load ---------------------------------------------------------------------------------

@dataclass
class Sample:
    path: str
    start: float
    end: float
    status: int          # 0: socket error or timeout
    error: str | None = None


@dataclass
class ImportJob:
    job_id: str
    submitted: float
    running_from: float | None = None
    running_to: float | None = None
    status: str = "queued"
    message: str = ""


@dataclass
class Load:
    samples: list[Sample] = field(default_factory=list)
    jobs: list[ImportJob] = field(default_factory=list)
    baseline_end: float = 0.0
    started: float = 0.0
    stop_at: float = 0.0       # the clients send no request after this
    ended: float = 0.0


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None, "mean_ms": None}
    v = sorted(values)

    def q(p):      # nearest rank
        return round(v[min(len(v) - 1, max(0, int(-(-p * len(v) // 100)) - 1))] * 1000, 1)

    return {"n": len(v), "p50_ms": q(50), "p95_ms": q(95), "p99_ms": q(99), "max_ms": round(v[-1] * 1000, 1),
            "mean_ms": round(sum(v) / len(v) * 1000, 1)}


async def _drive(url: str, cookies, csrf: str, paths: list[str], file: Path, seconds: float, clients: int,
                 think_s: float, imports: int = 0) -> Load:
    import httpx

    load = Load()
    # idle connections are dropped after 3 s, before uvicorn closes them (5 s): a request sent on a
    # connection the server is closing at that instant would fail with a ReadError
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4, keepalive_expiry=3.0)
    async with httpx.AsyncClient(base_url=url, cookies=cookies, limits=limits, timeout=TIMEOUT_S) as http:
        loop = asyncio.get_running_loop()
        load.started = loop.time()
        stop_at = load.stop_at = load.started + seconds
        load.baseline_end = load.started + seconds * BASELINE_SHARE

        async def client(i: int) -> None:
            rng = random.Random(i)
            order = paths[:]
            rng.shuffle(order)
            k = 0
            await asyncio.sleep(rng.random() * think_s)
            while loop.time() < stop_at:
                path = order[k % len(order)]
                k += 1
                t0 = loop.time()
                try:
                    r = await http.get(path)
                    await r.aread()
                    s = Sample(path, t0, loop.time(), r.status_code,
                               None if r.status_code == 200 else r.text[:200])
                except httpx.HTTPError as exc:
                    s = Sample(path, t0, loop.time(), 0, f"{type(exc).__name__}: {exc}")
                load.samples.append(s)
                await asyncio.sleep(think_s)

        async def importer() -> None:
            await asyncio.sleep(max(0.0, load.baseline_end - loop.time()))
            while loop.time() < stop_at - 0.5 and not (imports and len(load.jobs) >= imports):
                with file.open("rb") as handle:
                    data = handle.read()
                r = await http.post("/data/import", data={"kind": KIND, "csrf_token": csrf},
                                    files={"file": (file.name, data, "text/csv")}, follow_redirects=False,
                                    timeout=300)
                if r.status_code != 303:
                    raise RuntimeError(f"the upload answered HTTP {r.status_code}: {r.text[:300]}")
                job = ImportJob(r.headers["location"].rsplit("/", 1)[-1], loop.time())
                load.jobs.append(job)
                while True:
                    j = (await http.get(f"/api/v1/jobs/{job.job_id}")).json()
                    now = loop.time()
                    job.status, job.message = j["status"], j.get("error") or j.get("message") or ""
                    if j["status"] == "running" and job.running_from is None:
                        job.running_from = now
                    if j["status"] in ("done", "failed"):
                        if job.running_from is None:
                            job.running_from = job.submitted
                        job.running_to = now
                        break
                    await asyncio.sleep(0.05)
                if job.status == "failed":
                    raise RuntimeError(f"the import job failed: {job.message}")

        tasks = [asyncio.create_task(client(i)) for i in range(clients)]
        await importer()
        await asyncio.gather(*tasks)
        load.ended = loop.time()
    return load


def report(load: Load, clients: int, think_s: float) -> dict:
    spans = [(j.running_from, j.running_to) for j in load.jobs if j.running_from is not None]
    # a request "during the import" was in flight at some moment an import job was running
    during = [s for s in load.samples if any(s.start <= b and s.end >= a for a, b in spans)]
    baseline = [s for s in load.samples if s.end < load.baseline_end]
    ends = sorted(s.end for s in load.samples)

    def gap(a: float, b: float) -> float | None:
        """The longest time within [a, b] in which no answer arrived."""
        inside = [a] + [t for t in ends if a < t < b] + [b]
        return round(max(y - x for x, y in zip(inside, inside[1:])), 3) if b > a else None
    errors = [s for s in load.samples if s.status != 200]
    overall = _percentiles([s.end - s.start for s in load.samples])
    base = _percentiles([s.end - s.start for s in baseline])
    busy = _percentiles([s.end - s.start for s in during])
    elapsed = load.ended - load.started

    def diff(key):
        return None if base[key] is None or busy[key] is None else round((busy[key] - base[key]) / 1000, 3)

    by_path: dict[str, list[float]] = {}
    for s in load.samples:
        by_path.setdefault(s.path, []).append(s.end - s.start)
    return {
        "clients": clients, "think_s": think_s, "seconds": round(elapsed, 2), "requests": len(load.samples),
        "throughput_rps": round(len(load.samples) / elapsed, 1) if elapsed else None,
        "overall": overall, "baseline": base, "during_import": busy,
        "stall_max_s": diff("max_ms"), "stall_p99_s": diff("p99_ms"),
        "gap_baseline_s": gap(load.started + 1.0, load.baseline_end),
        # an import still running after the clients stopped sending is not a time without answers
        "gap_import_s": max((g for a, b in spans if (g := gap(a, min(b, load.stop_at))) is not None), default=None),
        "import_seconds": round(sum(b - a for a, b in spans), 2),
        "imports": [{"job_id": j.job_id, "status": j.status, "message": j.message,
                     "running_s": None if j.running_to is None else round(j.running_to - j.running_from, 2)}
                    for j in load.jobs],
        "errors": len(errors),
        "error_samples": [{"path": s.path, "status": s.status, "error": s.error} for s in errors[:10]],
        "slowest_paths": sorted(({"path": p, **_percentiles(v)} for p, v in by_path.items()),
                                key=lambda d: -d["p95_ms"])[:5],
    }


def timeline(load: Load) -> dict:
    """Every request and import job in seconds from the start of the load (``--timeline``): to
    tell which answers were slow, when they began and whether an import was running then."""
    t0 = load.started
    return {"baseline_end": round(load.baseline_end - t0, 3),
            "imports": [{"job_id": j.job_id, "submitted": round(j.submitted - t0, 3),
                         "running_from": None if j.running_from is None else round(j.running_from - t0, 3),
                         "running_to": None if j.running_to is None else round(j.running_to - t0, 3),
                         "status": j.status} for j in load.jobs],
            "requests": [[s.path, round(s.start - t0, 3), round(s.end - t0, 3), s.status]
                         for s in sorted(load.samples, key=lambda s: s.start)]}


def drive(db: Path, file: Path, *, username: str, password: str, seconds: float, clients: int = CLIENTS,
          think_s: float = THINK_S, log=print, timeline_to: Path | None = None, imports: int = 0) -> dict:
    """Serve ``db``, warm every path once, then load it for ``seconds``; returns the report (and
    writes :func:`timeline` to ``timeline_to`` as JSON)."""
    import duckdb
    import httpx

    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT run_id FROM runs WHERE kind = 'mujun' ORDER BY created_at DESC LIMIT 1").fetchone()
    if row is None:
        raise RuntimeError(f"{db} holds no per-mu run: the load mix includes its pages")
    paths = mix(row[0])
    proc, url = start_server(db, Path(f"{db}.serve.log"))
    try:
        with httpx.Client(base_url=url, timeout=120) as client:
            csrf = sign_in(client, username, password)
            bad = []
            for path in dict.fromkeys(paths):          # warm-up: caches fill, and paths that fail stop the run here
                r = client.get(path)
                if r.status_code != 200:
                    bad.append(f"GET {path} answered HTTP {r.status_code}: {r.text[:120]}")
            if bad:
                raise RuntimeError("before the load: " + "; ".join(bad))
            cookies = client.cookies
        log(f"load: {clients} clients × {seconds:g} s on {len(set(paths))} paths, importing {file.name} after "
            f"{seconds * BASELINE_SHARE:.0f} s")
        load = asyncio.run(_drive(url, cookies, csrf, paths, file, seconds, clients, think_s, imports))
        result = report(load, clients, think_s)
        result["paths"] = len(set(paths))
        if timeline_to is not None:
            timeline_to.write_text(json.dumps(timeline(load)), "utf-8")
        return result
    finally:
        stop_server(proc)


def prepare(db: Path, files: Path, *, new_month: bool = True) -> Path:
    """The electricity file to upload, checked, for a database that holds the file's rows but the
    latest month's (``shanhai synth --as-files`` writes the database's own rows; ``new_month``
    deletes that month): the first import adds the month back (8,425 rows at scale 0.05), so the
    views over electricity change with it, and every later import reads, cleans, checks and
    compares the whole file and finds every row unchanged. The baseline window shows the data but
    one month of the 36, the import window the same and then that month. Shared by this benchmark
    and tests/load (which asserts it: the first import inserted rows, the later ones none).

    ``new_month=False`` deletes nothing (every import changes nothing: the import's own effect on
    readers, without new data to publish). Deleting every row (as before session 21) made the
    comparison unfair both ways: a baseline of cheap "no data" pages against an import window of
    the full ones."""
    import duckdb

    file = files / f"{KIND}.csv"
    if not file.is_file():
        raise RuntimeError(f"{file} is missing: write it with `shanhai synth --as-files`")
    with duckdb.connect(str(db)) as con:
        latest = con.execute(f"SELECT max(month) FROM {TABLE}").fetchone()[0]
        if latest is None:
            raise RuntimeError(f"{db} holds no electricity rows: the load's pages need the rows the file holds")
        if new_month:
            con.execute(f"DELETE FROM {TABLE} WHERE month = ?", [latest])
            con.execute("CHECKPOINT")
    return file


# ---- the benchmark suite's case ----------------------------------------------------------------

@dataclass
class LoadCase:
    size: str
    result: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.result)

    @property
    def passed(self) -> bool:
        r = self.result
        return self.ok and r["errors"] == 0 and r["stall_max_s"] is not None and r["stall_max_s"] < STALL_LIMIT_S


def load_cases(timeout_s: float, log, quick: bool = False) -> list[LoadCase]:
    from benchmarks.measure import child_env

    scale = QUICK_SCALE if quick else SCALE
    seconds = float(os.environ.get(ENV_SECONDS) or (QUICK_DURATION_S if quick else DURATION_S))
    case = LoadCase(f"scale {scale:g}, {CLIENTS} clients × {seconds:g} s")
    with tempfile.TemporaryDirectory(prefix="shanhai-bench-load-") as tmp:
        folder = Path(tmp)
        db = folder / "shanhai.duckdb"
        try:
            def shanhai(*args, stdin=None):
                done = subprocess.run([sys.executable, "-m", "shanhai", *args], cwd=folder, input=stdin, text=True,
                                      capture_output=True, env=child_env(), timeout=timeout_s)
                if done.returncode:
                    raise RuntimeError(f"`shanhai {' '.join(args)}` failed: {done.stderr.strip()[-400:]}")

            log(f"load: building the province at scale {scale:g} with its import files …")
            shanhai("synth", "--scale", f"{scale:g}", "--seed", "7", "--db", str(db), "--as-files", str(folder / "files"))
            shanhai("demo", "--db", str(db), "--json")
            shanhai("users", "add", USERNAME, "--role", "province", "--region", "330000", "--password-stdin",
                    "--db", str(db), stdin=PASSWORD + "\n")
            # a province account must enrol TOTP by default: the load is about reading, not enrolment
            shanhai("users", "settings", "--set", "totp_required_roles=admin", "--db", str(db))
            file = prepare(db, folder / "files")
            case.result = drive(db, file, username=USERNAME, password=PASSWORD, seconds=seconds, log=log)
            r = case.result
            log(f"load: {r['throughput_rps']:.0f} req/s, p95 {r['overall']['p95_ms']:.0f} ms, "
                f"stall {r['stall_max_s']} s, {r['errors']} errors")
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            case.error = str(exc)
            log(f"load: [red]FAILED[/red] {exc}")
    return [case]


COLUMNS = ("window", "load", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors",
           "stall (max / p99) s", "limit s", "pass/fail")


def rows(cases: list[LoadCase]) -> list[list[str]]:
    out = []
    for c in cases:
        if not c.ok:
            out.append(["all", c.size, *["—"] * 8, f"{STALL_LIMIT_S:g}", f"FAILED: {c.error}"])
            continue
        r = c.result
        for name, key in (("all", "overall"), ("baseline (no import)", "baseline"),
                          ("during the import", "during_import")):
            w = r[key]
            span = r["seconds"] * (BASELINE_SHARE if key == "baseline" else 1)
            rate = (f"{w['n'] / span:.0f}" if key != "during_import"
                    else (f"{w['n'] / r['import_seconds']:.0f}" if r["import_seconds"] else "—"))
            stall = f"{r['stall_max_s']} / {r['stall_p99_s']}" if key == "during_import" else ""
            out.append([name, c.size, f"{w['n']:,}", rate, *(f"{w[k]}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
                        f"{r['errors']}" if key == "overall" else "", stall,
                        f"{STALL_LIMIT_S:g}" if key == "during_import" else "",
                        ("pass" if c.passed else "**MISS**") if key == "during_import" else ""])
    return out


def misses(cases: list[LoadCase]) -> list[str]:
    return [f"load: {c.result['errors']} errors, stall {c.result['stall_max_s']} s (limit {STALL_LIMIT_S:g} s)"
            for c in cases if c.ok and not c.passed]


def failures(cases: list[LoadCase]) -> list[str]:
    return [f"load: {c.error}" for c in cases if not c.ok]


def markdown_section(cases: list[LoadCase], md_table) -> list[str]:
    if not cases:
        return []
    imports = "; ".join(f"{j['running_s']} s ({j['message']})" for c in cases if c.ok for j in c.result["imports"])
    gaps = ", ".join(f"{c.result['gap_import_s']}" for c in cases if c.ok)
    base_gaps = ", ".join(f"{c.result['gap_baseline_s']}" for c in cases if c.ok)
    return ["## load", "",
            f"`benchmarks/load.py`: `shanhai synth --as-files`, `shanhai demo`, a province account, the "
            "electricity file holding the database's own rows, the latest month deleted from the database (the "
            "first import brings it back, the later ones compare every row and change nothing), then "
            f"`shanhai serve` in its own process. {CLIENTS} httpx clients "
            f"(one asyncio loop, {THINK_S * 1000:g} ms pause between requests) cycle through {len(PAGES)} pages "
            f"and {len(API)} API endpoints; after {BASELINE_SHARE:.0%} of the time the electricity file is "
            "uploaded to /data/import and imported again and again until the end. \"During the import\": "
            "requests in flight at some moment an import job was running (polled every 50 ms). Stall = the "
            "window's max (p99) latency minus the baseline's; gap = the longest time with no answer at all "
            f"during an import ({gaps or '—'} s; baseline window: {base_gaps or '—'} s). Errors = answers other than 200, socket errors, timeouts "
            f"({TIMEOUT_S:g} s). The clients share the 2 cores with the server. Imports: {imports or '—'}.", "",
            *md_table(COLUMNS, rows(cases)), "",
            f"Reproduce: `python -m benchmarks --only load` (with `--quick`: scale {QUICK_SCALE:g} for "
            f"{QUICK_DURATION_S} s). One size: the issue fixes the load (100 clients, 60 s).", ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="a prepared database (a per-mu run, the account); "
                                                 "without it the province is built first")
    parser.add_argument("--file", type=Path, help="the electricity file to upload (with --db)")
    parser.add_argument("--username", default=USERNAME)
    parser.add_argument("--password-env", default="SHANHAI_LOAD_PASSWORD",
                        help="environment variable holding the password (default SHANHAI_LOAD_PASSWORD)")
    parser.add_argument("--seconds", type=float, default=float(os.environ.get(ENV_SECONDS) or DURATION_S))
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--think", type=float, default=THINK_S, help="seconds a client pauses between requests")
    parser.add_argument("--quick", action="store_true", help="without --db: scale 0.05 for 10 s")
    parser.add_argument("--imports", type=int, default=0, help="with --db: stop after this many imports "
                                                                 "(default: import again and again until the end)")
    parser.add_argument("--timeline", type=Path, help="with --db: write every request and import job (seconds "
                                                      "from the start) to this JSON file")
    args = parser.parse_args(argv)
    log = lambda text: print(text, file=sys.stderr)  # noqa: E731 (stdout is the JSON report)
    if args.db is None:
        if args.seconds != DURATION_S:
            os.environ[ENV_SECONDS] = f"{args.seconds:g}"
        found = load_cases(1800, log, quick=args.quick)
        print(json.dumps([{"ok": c.ok, "error": c.error, **c.result} for c in found], indent=1))
        return 0 if all(c.ok for c in found) else 1
    if args.file is None:
        parser.error("--db needs --file")
    password = os.environ.get(args.password_env) or PASSWORD
    result = drive(args.db, args.file, username=args.username, password=password, seconds=args.seconds,
                   clients=args.clients, think_s=args.think, log=log, timeline_to=args.timeline,
                   imports=args.imports)
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
