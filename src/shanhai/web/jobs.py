"""Background jobs in the server process, and the one writer of the database.

DuckDB lets a process run many readers but conflicting writers abort each other, so the server
serialises long writes: imports and evaluations started from the web are queued and run one at
a time on a single worker thread, which holds :attr:`JobRunner.write_lock` while a job runs.

``submit(kind, label, fn, user) -> job_id`` queues ``fn(progress)``. ``progress(done, total,
message)`` reports progress; ``progress.store`` is the worker's own :class:`Store` (a cursor on
the server's connection) for the job to read and write with. ``fn`` may return a URL (``str``
starting with ``/``) or a dict with ``url`` and ``message``: the job page links to it when done.

Audit entries written from requests (sign-ins, exports, user changes) go through
:meth:`JobRunner.log`: written at once when no job holds the writer, otherwise queued and written
by the worker right after the job, so a sign-in never waits for an evaluation and never breaks
the job's transaction (the audit chain's sequence numbers are taken inside it).

Job records live in memory: the page ``/jobs/{id}`` and ``/api/v1/jobs/{id}`` show one to its
user and to admins; a restart forgets finished jobs.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from shanhai.errors import ShanhaiError
from shanhai.store import audit
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.web.deps import PageError, current_user, render, templates

log = logging.getLogger("shanhai.web.jobs")

# a job's kind as the jobs page names it (every kind a router submits; an unknown one shows as itself)
KIND_LABELS = {"import": ("数据导入", "Data import"), "evaluate": ("亩均评价", "Per-mu evaluation"),
               "report": ("专报生成", "Report"), "export": ("导出", "Export"), "pairing": ("结对规划", "Pairing plan"),
               "chains": ("产业链模型", "Chain model"), "alerts": ("用电预警扫描", "Power-use alert scan"),
               "carbon": ("碳效评价", "Carbon efficiency"), "power_index": ("电力指数", "Power index"),
               "service": ("惠企政策匹配", "Support-policy matching"),
               "service_lists": ("重点/困难企业名单", "Key and struggling firm lists"),
               "zones": ("开发区评价", "Zone evaluation")}
KINDS_ZH = {k: zh for k, (zh, _en) in KIND_LABELS.items()}
STATUS_LABELS = {"queued": ("排队中", "queued"), "running": ("运行中", "running"),
                 "done": ("已完成", "done"), "failed": ("失败", "failed")}
KEEP_FINISHED = 500


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass
class Job:
    job_id: str
    kind: str
    label: str
    user_id: int
    username: str
    status: str = "queued"           # queued | running | done | failed
    done: float = 0
    total: float = 1
    message: str = ""
    error: str | None = None
    url: str | None = None
    created_at: datetime = field(default_factory=_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    fn: Callable | None = field(default=None, repr=False)

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return max(0, min(100, int(round(100 * self.done / self.total)))) if self.total else 0

    def as_dict(self) -> dict:
        return {"job_id": self.job_id, "kind": self.kind, "label": self.label, "username": self.username,
                "status": self.status, "status_zh": STATUS_LABELS[self.status][0], "done": self.done,
                "total": self.total, "percent": self.percent, "message": self.message, "error": self.error,
                "url": self.url, "created_at": self.created_at.isoformat(timespec="seconds"),
                "started_at": self.started_at.isoformat(timespec="seconds") if self.started_at else None,
                "finished_at": self.finished_at.isoformat(timespec="seconds") if self.finished_at else None}


class Progress:
    """The callback a job receives: ``progress(done, total, message)``; ``.store`` to work with."""

    def __init__(self, job: Job, store: Store):
        self._job = job
        self.store = store

    def __call__(self, done: float, total: float = 1, message: str = "") -> None:
        self._job.done, self._job.total = done, total or 1
        if message:
            self._job.message = message

    def fraction(self, label: str, fraction: float) -> None:
        """The ``(label, fraction)`` form the jobs layer's ``progress=`` arguments use."""
        self(fraction, 1, label)


class JobRunner:
    def __init__(self, store: Store):
        self.base = store
        self.write_lock = threading.RLock()
        self.busy = False
        self.jobs: dict[str, Job] = {}
        self._queue: queue.Queue = queue.Queue()
        self._outbox: list[tuple] = []
        self._outbox_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="shanhai-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        self.flush()

    # ---- jobs ------------------------------------------------------------------------------

    def submit(self, kind: str, label: str, fn: Callable[[Progress], object], user: User) -> str:
        job = Job(secrets.token_urlsafe(9), kind, label, user.user_id, user.username, fn=fn)
        self.jobs[job.job_id] = job
        self._queue.put(job.job_id)
        self._forget_old()
        return job.job_id

    def status(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def visible(self, job_id: str, user: User) -> Job | None:
        job = self.jobs.get(job_id)
        if job is None or (job.user_id != user.user_id and not user.is_admin):
            return None
        return job

    def jobs_of(self, user: User, limit: int = 20) -> list[Job]:
        mine = [j for j in list(self.jobs.values()) if j.user_id == user.user_id or user.is_admin]
        return sorted(mine, key=lambda j: j.created_at, reverse=True)[:limit]

    def wait(self, job_id: str, timeout: float = 60) -> Job:
        """Block until a job finishes (tests and the CLI use it)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            job = self.jobs[job_id]
            if job.status in ("done", "failed"):
                return job
            time.sleep(0.02)
        raise TimeoutError(f"job {job_id} did not finish within {timeout} s")

    def _forget_old(self) -> None:
        finished = [j for j in list(self.jobs.values()) if j.status in ("done", "failed")]
        if len(finished) > KEEP_FINISHED:
            for j in sorted(finished, key=lambda j: j.created_at)[: len(finished) - KEEP_FINISHED]:
                self.jobs.pop(j.job_id, None)

    def _work(self) -> None:
        cursor = self.base.con.cursor()
        store = Store(self.base.path, cursor, False)
        try:
            while True:
                job_id = self._queue.get()
                if job_id is None:
                    return
                job = self.jobs.get(job_id)
                if job is None:
                    continue
                self.busy = True
                with self.write_lock, _one_thread(cursor):
                    try:
                        self._run(job, store)
                    finally:
                        self.busy = False
                        self._flush(store)
        finally:
            cursor.close()

    def _run(self, job: Job, store: Store) -> None:
        job.status, job.started_at = "running", _now()
        from shanhai.web.screens import publishing

        try:
            # readers keep the views of the data before the job until they are computed for its data
            with publishing(store):
                result = job.fn(Progress(job, store))
            if isinstance(result, str) and result.startswith("/"):
                job.url = result
            elif isinstance(result, dict):
                job.url = result.get("url")
                job.message = result.get("message") or job.message
            job.status = "done"
            job.done = job.total
        except ShanhaiError as exc:
            job.status, job.error = "failed", str(exc)
        except Exception as exc:  # a bug: one line for the page, the traceback for the log
            log.error("job %s (%s) failed:\n%s", job.job_id, job.kind, traceback.format_exc())
            job.status, job.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        finally:
            job.finished_at = _now()
            job.fn = None
            try:  # a job that left a transaction open must not leave it to the next one
                store.con.execute("ROLLBACK")
            except duckdb.Error:
                pass

    # ---- audit entries from requests -------------------------------------------------------

    def log(self, store: Store, action: str, *, username: str | None = None, target: str | None = None,
            detail: dict | None = None) -> None:
        """Append an audit entry now, or queue it while a job holds the writer."""
        entry = (_now(), action, username, target, detail)
        while True:
            if self.busy:
                with self._outbox_lock:
                    self._outbox.append(entry)
                return
            if self.write_lock.acquire(timeout=0.2):
                try:
                    self._flush(store)
                    audit.append(store.con, action, username=username, target=target, detail=detail)
                finally:
                    self.write_lock.release()
                return

    def writer(self, store: Store) -> Callable[..., None]:
        """An audit writer for :mod:`shanhai.store.accounts` functions (their ``log=`` argument)."""
        return lambda action, **kw: self.log(store, action, **kw)

    def pending(self) -> list[tuple]:
        """Queued sign-in entries as (at, action, target, client), for throttling."""
        with self._outbox_lock:
            return [(at, action, target, (detail or {}).get("client"))
                    for at, action, _, target, detail in self._outbox if action.startswith("sign_in")]

    def flush(self) -> None:
        cursor = self.base.con.cursor()
        try:
            with self.write_lock:
                self._flush(Store(self.base.path, cursor, False))
        finally:
            cursor.close()

    def _flush(self, store: Store) -> None:
        with self._outbox_lock:
            entries, self._outbox = self._outbox, []
        for at, action, username, target, detail in entries:
            detail = {**(detail or {}), "queued_at": at.isoformat(timespec="microseconds")}
            audit.append(store.con, action, username=username, target=target, detail=detail)


_runner: JobRunner | None = None


def set_runner(runner: JobRunner | None) -> None:
    global _runner
    _runner = runner


def runner() -> JobRunner:
    if _runner is None:
        raise ShanhaiError("the background job runner is not started: jobs run inside `shanhai serve`")
    return _runner


def submit(kind: str, label: str, fn: Callable[[Progress], object], user: User) -> str:
    """Queue ``fn(progress)`` as a job of ``user``; returns its id (show ``/jobs/{id}``)."""
    return runner().submit(kind, label, fn, user)


def status(job_id: str) -> Job | None:
    return runner().status(job_id)


# ---- pages ----------------------------------------------------------------------------------

router = APIRouter()
templates.env.globals["job_status_labels"] = STATUS_LABELS


def _visible_job(request: Request, job_id: str, user: User) -> Job:
    job = request.app.state.jobs.visible(job_id, user)
    if job is None:
        raise PageError(404, "没有找到该后台任务（或它不属于您）。",
                        "There is no such background job, or it is not yours.")
    return job


@router.get("/jobs", name="jobs_list")
def jobs_page(request: Request, user: User = Depends(current_user)):
    return render(request, "jobs.html", {"jobs": request.app.state.jobs.jobs_of(user, 50), "job": None})


@router.get("/jobs/{job_id}", name="job_page")
def job_page(request: Request, job_id: str, user: User = Depends(current_user)):
    return render(request, "jobs.html", {"job": _visible_job(request, job_id, user), "jobs": []})


@router.get("/api/v1/jobs/{job_id}", name="job_status", tags=["jobs"])
def job_status(request: Request, job_id: str, user: User = Depends(current_user)) -> JSONResponse:
    """后台任务状态 A background job's status and progress (only its user and admins see it)."""
    return JSONResponse(_visible_job(request, job_id, user).as_dict())


@contextlib.contextmanager
def _one_thread(cursor):
    """Run a job on one core: DuckDB's worker threads are shared by every query of the process, so
    while a job runs they are switched off (``SET threads = 1``: each query then executes on its
    caller's thread, the job's on the worker thread) and switched back after, leaving the other
    cores to the pages.

    The worker thread keeps normal scheduling priority on purpose. DuckDB's Python client takes
    the GIL after every execution step of a running statement, to check for Ctrl+C
    (``DuckDBPyConnection::CompletePendingQuery``; a 0.3 s query took 3 s beside a Python thread
    that kept the GIL 50 ms at a time), so a job thread at low priority (nice 10, as before) made
    a Python thread that handed it the GIL wait until the scheduler ran it again — a priority
    inversion on a busy machine — and made the import itself several times slower under load,
    without the pages answering any faster (docs/operations.md, "Load")."""
    before = cursor.execute("SELECT current_setting('threads')").fetchone()[0]
    cursor.execute("SET threads = 1")
    try:
        yield
    finally:
        cursor.execute(f"SET threads = {int(before)}")
