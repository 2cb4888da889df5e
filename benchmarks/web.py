"""The ``web`` workload: the dashboard under load (issue 5's target).

Province scale 1.0 (``shanhai synth --scale 1``), evaluated per mu by ``shanhai demo`` (which also
creates the demo accounts), served by ``shanhai serve`` in its own process. A province account
signs in once; then wrk (Debian's ``wrk``, a C load generator, so the client costs little CPU)
keeps 50 connections busy for 60 s against each page on loopback. A Lua ``done`` hook prints the
latency percentiles and the error counts as JSON.

Target: p95 under 150 ms and no errors (non-2xx answers, socket errors, timeouts) for the
overview (``/``) and the results page of the latest run (``/mujun/runs/{run_id}``).
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.measure import child_env, run_child

SCALE = 1.0
QUICK_SCALE = 0.1
CONNECTIONS = 50
DURATION_S = 60
QUICK_DURATION_S = 10
TARGET_P95_MS = 150.0
USERNAME, PASSWORD = "bench-province", "bench-" + "p4ssw0rd-load"

LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
"""


@dataclass
class WebCase:
    page: str                      # "overview" | "results"
    path: str
    size: str
    result: dict = field(default_factory=dict)
    server_rss_mb: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.result)

    @property
    def errors(self) -> int:
        r = self.result
        return sum(r.get(k, 0) for k in ("connect", "read", "write", "status", "timeout"))

    @property
    def p95_ms(self) -> float | None:
        return self.result["p95_us"] / 1000 if self.ok else None

    @property
    def passed(self) -> bool:
        return self.ok and self.p95_ms < TARGET_P95_MS and self.errors == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _shanhai(args: list[str], cwd: Path, timeout_s: float, stdin: str | None = None) -> None:
    argv = [sys.executable, "-m", "shanhai", *args]
    if stdin is None:
        run = run_child(argv, cwd, timeout_s)
        if not run.ok:
            raise RuntimeError(f"`shanhai {' '.join(args)}` failed: {run.stderr_tail(5)}")
        return
    done = subprocess.run(argv, cwd=cwd, input=stdin, text=True, capture_output=True, env=child_env(),
                          timeout=timeout_s)
    if done.returncode:
        raise RuntimeError(f"`shanhai {' '.join(args)}` failed: {done.stderr.strip()[-400:]}")


def _latest_run(db: Path) -> str:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute("SELECT run_id FROM runs WHERE kind = 'mujun' ORDER BY created_at DESC LIMIT 1").fetchone()
    if row is None:
        raise RuntimeError("the demo stored no per-mu run")
    return row[0]


def _wait_healthy(port: int, proc: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`shanhai serve` exited with code {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"`shanhai serve` did not answer /healthz within {timeout_s:.0f} s")


def _cookies(response) -> list[str]:
    return [v.split(";", 1)[0] for k, v in response.getheaders() if k.lower() == "set-cookie"]


def _sign_in(port: int) -> str:
    """Sign in the way a browser does: the form's CSRF token and pre-session cookie, then the POST."""
    import re

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/signin")
    page = conn.getresponse()
    html = page.read().decode("utf-8", "replace")
    jar = dict(c.split("=", 1) for c in _cookies(page))
    match = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'data-csrf="([^"]+)"', html)
    form = {"username": USERNAME, "password": PASSWORD, "next": "/"}
    if match:
        form["csrf_token"] = match.group(1)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
    conn.request("POST", "/signin", urllib.parse.urlencode(form), headers)
    response = conn.getresponse()
    response.read()
    jar.update(dict(c.split("=", 1) for c in _cookies(response)))
    if response.status not in (302, 303) or "shanhai_session" not in jar:
        raise RuntimeError(f"signing in as {USERNAME} failed (HTTP {response.status})")

    def send(method: str, path: str, body: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, None if body is None else urllib.parse.urlencode(body), headers)
        answer = conn.getresponse()
        text = answer.read().decode("utf-8", "replace")
        jar.update(dict(c.split("=", 1) for c in _cookies(answer)))
        return answer, text

    first, _ = send("GET", "/")
    if first.status == 303 and "/account/password" in (first.getheader("location") or ""):
        # an account made by `shanhai users add` chooses its own password at its first sign-in (issue 13)
        _, html = send("GET", "/account/password")
        token = re.search(r'name="csrf_token" value="([^"]+)"', html) or re.search(r'data-csrf="([^"]+)"', html)
        changed, _ = send("POST", "/account/password", {"current": PASSWORD, "new": PASSWORD + "-2",
                                                        "repeat": PASSWORD + "-2",
                                                        "csrf_token": token.group(1) if token else ""})
        if changed.status != 200:
            raise RuntimeError(f"the first-sign-in password change of {USERNAME} failed (HTTP {changed.status})")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _check_page(port: int, path: str, cookie: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered HTTP {response.status}, not 200")


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def web_cases(timeout_s: float, log, quick: bool = False) -> list[WebCase]:
    scale = QUICK_SCALE if quick else SCALE
    duration = QUICK_DURATION_S if quick else DURATION_S
    size = f"scale {scale:g}, {CONNECTIONS} connections × {duration} s"
    cases = [WebCase("overview", "/", size), WebCase("results", "/mujun/runs/{run_id}", size)]
    wrk = shutil.which("wrk")
    if wrk is None:
        for case in cases:
            case.error = "wrk is not installed (make bench installs Debian's wrk)"
        return cases
    with tempfile.TemporaryDirectory(prefix="shanhai-bench-web-") as tmp:
        folder = Path(tmp)
        db = folder / "shanhai.duckdb"
        proc = None
        try:
            log(f"web: building the province at scale {scale:g} …")
            _shanhai(["synth", "--scale", f"{scale:g}", "--seed", "7", "--db", str(db)], folder, timeout_s)
            _shanhai(["demo", "--db", str(db), "--json"], folder, timeout_s)
            _shanhai(["users", "add", USERNAME, "--role", "province", "--region", "330000",
                      "--password-stdin", "--db", str(db)], folder, 120, stdin=PASSWORD + "\n")
            # province accounts enrol TOTP at their first sign-in by default (issue 13); wrk signs in
            # with a password only, so only admins need the second factor on this database
            _shanhai(["users", "settings", "--set", "totp_required_roles=admin", "--db", str(db)], folder, 120)
            run_id = _latest_run(db)
            port = _free_port()
            server_log = open(folder / "serve.log", "wb")
            proc = subprocess.Popen([sys.executable, "-m", "shanhai", "serve", "--port", str(port), "--db", str(db)],
                                    cwd=folder, stdin=subprocess.DEVNULL, stdout=server_log,
                                    stderr=subprocess.STDOUT, env=child_env())
            _wait_healthy(port, proc, 120)
            cookie = _sign_in(port)
            script = folder / "report.lua"
            script.write_text(LUA)
            for case in cases:
                path = case.path.format(run_id=run_id)
                try:
                    _check_page(port, path, cookie)          # warm: the first answer may fill caches
                    log(f"web {case.page}: wrk -c{CONNECTIONS} -d{duration}s GET {path}")
                    done = subprocess.run([wrk, "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "10s",
                                           "-H", f"Cookie: {cookie}", "-s", str(script),
                                           f"http://127.0.0.1:{port}{path}"],
                                          capture_output=True, text=True, timeout=duration + 120)
                    line = next((x for x in done.stdout.splitlines() if x.startswith("{")), None)
                    if done.returncode or line is None:
                        raise RuntimeError(f"wrk failed: {(done.stderr or done.stdout).strip()[-300:]}")
                    case.result = json.loads(line)
                    case.server_rss_mb = _rss_mb(proc.pid)
                    log(f"web {case.page}: p95 {case.p95_ms:.0f} ms, "
                        f"{case.result['requests'] / (case.result['duration_us'] / 1e6):.0f} req/s, "
                        f"{case.errors} errors")
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    case.error = str(exc)
                    log(f"web {case.page}: [red]FAILED[/red] {exc}")
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            for case in cases:
                case.error = case.error or str(exc)
            log(f"web: [red]FAILED[/red] {exc}")
        finally:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return cases


COLUMNS = ("page", "load", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors",
           "server peak RSS MB", "target p95 ms", "ratio to target", "pass/fail")


def rows(cases: list[WebCase]) -> list[list[str]]:
    out = []
    for c in cases:
        if not c.ok:
            out.append([c.page, c.size, "—", "—", "—", "—", "—", "—", "—", "—", f"{TARGET_P95_MS:g}", "—",
                        f"FAILED: {c.error}"])
            continue
        r = c.result
        ms = lambda key: f"{r[key] / 1000:.1f}"  # noqa: E731
        out.append([c.page, c.size, f"{r['requests']:,}", f"{r['requests'] / (r['duration_us'] / 1e6):.0f}",
                    ms("p50_us"), ms("p95_us"), ms("p99_us"), ms("max_us"),
                    f"{c.errors} (status {r['status']}, timeout {r['timeout']}, socket "
                    f"{r['connect'] + r['read'] + r['write']})",
                    f"{c.server_rss_mb:,.0f}" if c.server_rss_mb else "—", f"{TARGET_P95_MS:g}",
                    f"{c.p95_ms / TARGET_P95_MS:.2f}", "pass" if c.passed else "**MISS**"])
    return out


def misses(cases: list[WebCase]) -> list[str]:
    return [f"web {c.page}: p95 {c.p95_ms:.0f} ms (target {TARGET_P95_MS:g} ms), {c.errors} errors"
            for c in cases if c.ok and not c.passed]


def failures(cases: list[WebCase]) -> list[str]:
    return [f"web {c.page}: {c.error}" for c in cases if not c.ok]


def markdown_section(cases: list[WebCase], md_table) -> list[str]:
    if not cases:
        return []
    return ["## web", "",
            "`benchmarks/web.py`: `shanhai synth --scale 1 --seed 7`, `shanhai demo` (the per-mu run and the "
            "demo accounts), then `shanhai serve` in its own process; a province account signs in once and "
            f"Debian's `wrk` (-t2 -c{CONNECTIONS}) loads each page for the stated time on loopback with that "
            "session cookie. Latency percentiles and error counts come from wrk's Lua `done` hook; errors = "
            "non-2xx answers + socket errors + timeouts (10 s). Server peak RSS = VmHWM of the server process "
            "after the page's run. The client shares the 2 cores with the server.", "",
            *md_table(COLUMNS, rows(cases)), "",
            f"Reproduce: `python -m benchmarks --only web` (with `--quick`: scale {QUICK_SCALE:g} for "
            f"{QUICK_DURATION_S} s). One size: the target is latency at scale 1.0 under a fixed load.", ""]


def ensure_wrk() -> str | None:
    """``None`` when wrk is on PATH, else a sentence saying how to get it."""
    if shutil.which("wrk"):
        return None
    return "wrk is not installed: `apt-get install wrk` (make bench does it)"


if __name__ == "__main__":   # python -m benchmarks.web [--quick]: this workload alone, printed as JSON
    found = web_cases(1800, print, quick="--quick" in sys.argv)
    print(json.dumps([{"page": c.page, "ok": c.ok, "error": c.error, **c.result} for c in found], indent=1))
    sys.exit(0 if all(c.ok for c in found) else 1)
