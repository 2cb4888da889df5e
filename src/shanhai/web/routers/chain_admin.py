"""``/admin/chains`` (admins only): the chain model as data — list the chains, upload a TOML file or
workbook of chains, download the model as a workbook, edit one segment's codes and keywords, delete
a user's chain or restore a packaged one, set or clear an analyst's decision on one firm (an
exclusion, say), and recompute chain membership.

Every write runs as a background job (``shanhai.web.jobs``: the one writer of the database, and
the audit log's order), through ``shanhai.jobs.chain_model`` and ``shanhai.jobs.membership``, which
write the audit entries. A short job is waited for and the page comes back with its message; a
long one (membership of a large province) sends the admin to the job's page.
"""

from __future__ import annotations

import io
import secrets
import shutil
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse

from shanhai.errors import ShanhaiError
from shanhai.jobs import chain_model, membership
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.sql import literal
from shanhai.web import deps
from shanhai.web.deps import PageError, get_store, render, require_roles
from shanhai.web.routers.data import uploads_dir
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import save_upload

router = APIRouter(prefix="/admin/chains", include_in_schema=False)
NAV = [(92, "/admin/chains", "产业链模型", "Chain model", ("admin",))]
admin_only = require_roles("admin")

KIND = "chains"
WAIT_S = 5.0                       # a job finishing within this many seconds returns to the page
MAX_UPLOAD = 16 * 1024 * 1024      # a chain file is small
SUFFIXES = (".toml", ".xlsx", ".xlsm")
STAGE_LABELS = {"upstream": ("上游", "Upstream"), "midstream": ("中游", "Midstream"),
                "downstream": ("下游", "Downstream")}


def _run(request: Request, user: User, label: str, fn, back: str) -> RedirectResponse:
    """Queue ``fn(progress)`` as a job; back to ``back`` with its message when it finishes soon,
    else (or when it failed) to the job's page."""
    runner = request.app.state.jobs
    job_id = runner.submit(KIND, label, fn, user)
    try:
        job = runner.wait(job_id, WAIT_S)
    except TimeoutError:
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)
    if job.status != "done":
        return RedirectResponse(f"/jobs/{job_id}", status_code=303)
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}done={job_id}", status_code=303)


def _done(request: Request, user: User, job_id: str | None) -> str | None:
    """The message of a finished job of this user, shown once back on the page."""
    if not job_id:
        return None
    job = request.app.state.jobs.visible(job_id, user)
    return job.message if job is not None and job.status == "done" else None


def _chain_or_404(store: Store, chain_id: str) -> dict:
    for c in chain_model.chain_list(store):
        if c["chain_id"] == chain_id:
            return c
    raise PageError(404, f"没有代码为 {chain_id} 的产业链。", f"There is no chain {chain_id!r}.")


def _members_message(s: membership.MembershipSummary) -> str:
    return (f"企业归属已重新计算：按行业代码 {s.code:,} 行，按关键词 {s.keyword:,} 行，人工 {s.manual:,} 行"
            f"（排除 {s.excluded:,}），链主 {s.leaders:,} 家次，共 {s.firms:,} 家企业")


def _list_page(request: Request, store: Store, user: User, *, error: str | None = None, status: int = 200,
               message: str | None = None):
    return render(request, "chain_admin.html", {
        "chains": chain_model.chain_list(store), "summary": membership.membership_counts(store),
        "jobs": [j for j in request.app.state.jobs.jobs_of(user, 10) if j.kind == KIND],
        "message": message, "error": error}, status=status)


@router.get("", name="chain_admin")
def chains_page(request: Request, done: str | None = Query(None, max_length=64), store: Store = Depends(get_store),
                admin: User = Depends(admin_only)):
    return _list_page(request, store, admin, message=_done(request, admin, done))


@router.get("/export", name="chain_admin_export")
def export(request: Request, store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    chains = chain_model.stored_chains(store)
    if not chains:
        raise PageError(404, "数据库中没有产业链。", "The database holds no chains.")
    buffer = io.BytesIO()
    chain_model.write_workbook(chains, buffer)
    deps.audit(request, store, "export", target="chains",
               detail={"format": "xlsx", "chains": len(chains), "segments": sum(len(c.segments) for c in chains)})
    return attachment(buffer.getvalue(), f"产业链模型-{datetime.now():%Y%m%d}.xlsx", XLSX)


@router.post("/import", name="chain_admin_import")
async def upload(request: Request, file: UploadFile = File(...), recompute: str = Form(""),
                 store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    """Check an uploaded chain file at once (errors name the row and column), then import it as a
    job (and recompute membership when asked)."""
    name = Path(file.filename or "").name or "chains"
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise PageError(400, f"文件 {name} 不是 TOML（.toml）或 Excel（.xlsx）文件。",
                        f"{name} is not a TOML (.toml) or Excel (.xlsx) file.")
    folder = uploads_dir(request) / f"chains-{secrets.token_urlsafe(9)}"
    folder.mkdir(parents=True, exist_ok=False)
    path = folder / f"chains{suffix}"
    await save_upload(file, path, MAX_UPLOAD)
    try:
        chains = chain_model.read_chain_file(path)
    except ShanhaiError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _list_page(request, store, admin, error=str(exc).replace(path.name, name), status=400)
    username, again = admin.username, bool(recompute)

    def job(progress):
        try:
            result = chain_model.import_chains(progress.store, path, user=username)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        text = (f"已导入 {name}：{len(result.chains)} 条产业链（新增 {len(result.created)}，修改 {len(result.edited)}），"
                f"{result.segments} 个环节")
        if again:
            text += "；" + _members_message(membership.assign_members(progress.store, user=username,
                                                                      progress=progress.fraction))
        return {"url": "/admin/chains", "message": text}

    label = f"产业链导入 · {name} · {', '.join(c.chain_id for c in chains)}"
    return _run(request, admin, label, job, "/admin/chains")


@router.post("/members", name="chain_admin_members")
def recompute(request: Request, admin: User = Depends(admin_only)):
    username = admin.username

    def job(progress):
        summary = membership.assign_members(progress.store, user=username, progress=progress.fraction)
        return {"url": "/admin/chains", "message": _members_message(summary)}

    return _run(request, admin, "产业链企业归属重算 chain membership", job, "/admin/chains")


def _chain_page(request: Request, store: Store, admin: User, chain_id: str, *, message=None, error=None,
                form=None, status=200):
    info = _chain_or_404(store, chain_id)
    (chain,) = chain_model.stored_chains(store, [chain_id])
    counts: dict[str, dict] = {}
    for segment_id, method, role, n in store.con.execute(f"""
            SELECT es.segment_id, es.method, es.role, count(*) FROM enterprise_segments es
            JOIN chain_segments s USING (segment_id) WHERE s.chain_id = {literal(chain_id)} GROUP BY ALL""").fetchall():
        c = counts.setdefault(segment_id, {"code": 0, "keyword": 0, "manual": 0, "excluded": 0, "leaders": 0})
        if role == "excluded":
            c["excluded"] += n
        else:
            c[method] = c.get(method, 0) + n
        if role == "chain_leader":
            c["leaders"] += n
    leaders = store.con.execute(f"""
        SELECT e.uscc, e.name, r.name, min(es.method), string_agg(DISTINCT es.segment_id, ', ')
        FROM enterprise_segments es JOIN chain_segments s USING (segment_id) JOIN enterprises e USING (uscc)
        LEFT JOIN regions r ON r.adcode = e.county_adcode
        WHERE s.chain_id = {literal(chain_id)} AND es.role = 'chain_leader' GROUP BY ALL ORDER BY 2""").fetchall()
    manual = store.con.execute(f"""
        SELECT es.uscc, e.name, es.segment_id, es.role FROM enterprise_segments es
        JOIN chain_segments s USING (segment_id) LEFT JOIN enterprises e USING (uscc)
        WHERE s.chain_id = {literal(chain_id)} AND es.method = 'manual' ORDER BY es.segment_id, es.uscc LIMIT 200""").fetchall()
    industries = dict(store.con.execute("SELECT code, name FROM industries").fetchall())
    return render(request, "chain_admin_chain.html", {
        "info": info, "chain": chain, "counts": counts, "leaders": leaders, "manual": manual,
        "industries": industries, "stage_labels": STAGE_LABELS, "roles": membership.ROLE_LABELS,
        "message": message, "error": error, "form": form or {}}, status=status)


@router.get("/{chain_id}", name="chain_admin_chain")
def chain_page(request: Request, chain_id: str, done: str | None = Query(None, max_length=64),
               store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    return _chain_page(request, store, admin, chain_id, message=_done(request, admin, done))


@router.post("/{chain_id}/segment", name="chain_admin_segment")
def edit_segment(request: Request, chain_id: str, segment_id: str = Form(""), codes: str = Form(""),
                 keywords: str = Form(""), recompute: str = Form(""), store: Store = Depends(get_store),
                 admin: User = Depends(admin_only)):
    """Set one segment's codes and keywords: checked here (an error comes back on the page with
    what was typed), written by a job."""
    _chain_or_404(store, chain_id)
    owner = store.con.execute(f"SELECT chain_id FROM chain_segments WHERE segment_id = {literal(segment_id)}").fetchone()
    if owner is None or owner[0] != chain_id:
        raise PageError(404, f"产业链 {chain_id} 没有环节 {segment_id}。", f"Chain {chain_id!r} has no segment {segment_id!r}.")
    code_list, keyword_list = chain_model.split_list(codes), chain_model.split_list(keywords)
    try:
        chain_model.check_segment_edit(store, segment_id, codes=code_list, keywords=keyword_list)
    except ShanhaiError as exc:
        return _chain_page(request, store, admin, chain_id, error=str(exc), status=400,
                           form={"segment_id": segment_id, "codes": codes, "keywords": keywords})
    username, again = admin.username, bool(recompute)

    def job(progress):
        chain_model.update_segment(progress.store, segment_id, codes=code_list, keywords=keyword_list, user=username)
        text = f"已保存环节 {segment_id}：行业代码 {len(code_list)} 个，关键词 {len(keyword_list)} 个"
        if again:
            text += "；" + _members_message(membership.assign_members(progress.store, user=username,
                                                                      progress=progress.fraction))
        return {"url": f"/admin/chains/{chain_id}", "message": text}

    return _run(request, admin, f"产业链环节修改 · {segment_id}", job, f"/admin/chains/{chain_id}")


@router.post("/{chain_id}/delete", name="chain_admin_delete")
def delete(request: Request, chain_id: str, store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    info = _chain_or_404(store, chain_id)
    if info["packaged"]:
        raise PageError(400, f"{info['name']} 是内置的标志性产业链，不能删除；可恢复其内置定义。",
                        f"{info['name']} is a packaged chain and cannot be deleted: restore its packaged definition.")
    username = admin.username

    def job(progress):
        result = chain_model.delete_chain(progress.store, chain_id, user=username)
        return {"url": "/admin/chains", "message": f"已删除产业链 {result['name']}（{result['segments']} 个环节，"
                                                   f"企业归属 {result['memberships_dropped']:,} 行）"}

    return _run(request, admin, f"产业链删除 · {chain_id}", job, "/admin/chains")


@router.post("/{chain_id}/restore", name="chain_admin_restore")
def restore(request: Request, chain_id: str, store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    info = _chain_or_404(store, chain_id)
    if not info["packaged"]:
        raise PageError(400, f"{info['name']} 是用户定义的产业链，没有内置定义可恢复。",
                        f"{info['name']} is a user's chain: there is no packaged definition to restore.")
    username = admin.username

    def job(progress):
        chain_model.restore_chain(progress.store, chain_id, user=username)
        summary = membership.assign_members(progress.store, user=username, progress=progress.fraction)
        return {"url": f"/admin/chains/{chain_id}",
                "message": f"已恢复 {info['name']} 的内置定义；" + _members_message(summary)}

    return _run(request, admin, f"产业链恢复内置定义 · {chain_id}", job, f"/admin/chains/{chain_id}")


@router.post("/{chain_id}/member", name="chain_admin_member")
def set_member(request: Request, chain_id: str, uscc: str = Form(""), segment_id: str = Form(""),
               role: str = Form(""), store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    """An analyst's decision on one firm in one segment of this chain: a manual role (``excluded``
    takes the firm out), or ``clear`` to drop the decision; membership is recomputed after."""
    _chain_or_404(store, chain_id)
    owner = store.con.execute(f"SELECT chain_id FROM chain_segments WHERE segment_id = {literal(segment_id)}").fetchone()
    if owner is None or owner[0] != chain_id:
        raise PageError(404, f"产业链 {chain_id} 没有环节 {segment_id}。", f"Chain {chain_id!r} has no segment {segment_id!r}.")
    uscc = uscc.strip().upper()
    if role not in (*membership.MANUAL_ROLES, "clear"):
        raise PageError(400, f"未知的角色 {role}。", f"Unknown role {role!r}.")
    if not store.con.execute(f"SELECT count(*) FROM enterprises WHERE uscc = {literal(uscc)}").fetchone()[0]:
        return _chain_page(request, store, admin, chain_id, status=400,
                           error=f"企业名录中没有统一社会信用代码为 {uscc or '（空）'} 的企业 / {uscc!r} is not in the register",
                           form={"uscc": uscc, "member_segment": segment_id, "role": role})
    username = admin.username

    def job(progress):
        if role == "clear":
            membership.clear_manual(progress.store, uscc, segment_id, user=username)
        else:
            membership.set_manual(progress.store, uscc, segment_id, role, user=username)
        summary = membership.assign_members(progress.store, user=username, progress=progress.fraction)
        return {"url": f"/admin/chains/{chain_id}",
                "message": f"已更新 {uscc} 在 {segment_id} 的人工认定（{role}）；" + _members_message(summary)}

    return _run(request, admin, f"产业链人工认定 · {uscc} · {segment_id}", job, f"/admin/chains/{chain_id}")
