"""``/data``: upload a workbook or CSV into the store with the CLI's import engine
(:func:`shanhai.ingest.import_file`, its reading and cleaning in a child process:
``ingest._isolated``) as a background job, see the import's summary and download
its rejects workbook; and the collection progress by county and town (the share of firms with
this year's data).

An upload runs under its uploader's region scope (``deps.current_scope``): rows of another region
are rejected, each with its reason, and nothing outside the region is written; the summary page
lists them apart.

An upload is kept beside the database in ``<db>.uploads/<token>/`` with ``summary.json`` (the
import's result and who ran it) and ``rejects.xlsx``; the summary page and the rejects file are
shown to their uploader and to admins only (404 for anyone else)."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse

from shanhai.errors import ShanhaiError
from shanhai.ingest import guard
from shanhai.jobs import dashboard
from shanhai.store.accounts import User
from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web.deps import PageError, audit, current_scope, current_user, get_store, render, require_write
from shanhai.web.routers.mujun import XLSX, attachment
from shanhai.web.screens import FMT, can_write, clear_fragments, reading, save_upload

router = APIRouter(prefix="/data")
NAV = [(60, "/data", "数据", "Data", None)]

MAX_UPLOAD = 512 * 1024 * 1024          # 512 MB: a province's electricity file fits
SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def uploads_dir(request: Request) -> Path:
    return Path(f"{request.app.state.db_path}.uploads")


def _safe_name(name: str) -> str:
    name = Path(name or "upload").name
    name = re.sub(r"[^\w.\-\u4e00-\u9fff（）()]+", "_", name)[:120]
    return name or "upload"


def _summary(request: Request, user: User, token: str) -> tuple[Path, dict]:
    """An import's folder and summary, if it is the user's (or the user is an admin)."""
    if not TOKEN.match(token or ""):
        raise PageError(404, "没有找到该导入记录。", "There is no such import.")
    folder = uploads_dir(request) / token
    path = folder / "summary.json"
    if not path.is_file():
        raise PageError(404, "没有找到该导入记录（或尚未完成）。", "There is no such import (or it has not finished).")
    data = json.loads(path.read_text("utf-8"))
    if data.get("user_id") != user.user_id and not user.is_admin:
        raise PageError(404, "没有找到该导入记录。", "There is no such import.")
    return folder, data


def recent_imports(request: Request, user: User, limit: int = 10) -> list[dict]:
    root = uploads_dir(request)
    if not root.is_dir():
        return []
    out = []
    for path in root.glob("*/summary.json"):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("user_id") == user.user_id or user.is_admin:
            out.append(data)
    return sorted(out, key=lambda d: d.get("finished_at", ""), reverse=True)[:limit]


@router.get("", name="data")
def data_page(request: Request, year: int | None = Query(None), county: str | None = Query(None),
              store: Store = Depends(get_store), user: User = Depends(current_user),
              scope: Scope = Depends(current_scope)):
    from shanhai.ingest.spec import kinds

    with reading():
        progress = dashboard.collection_progress(store, scope, year, county or None)
    rows = progress["towns"] if progress["towns"] else progress["counties"]
    chart = {"names": [r["name"] for r in rows],
             "reported": [None if r["reported_share"] is None else round(r["reported_share"] * 100, 1) for r in rows],
             "confirmed": [None if r["confirmed_share"] is None else round(r["confirmed_share"] * 100, 1)
                           for r in rows]}
    ctx = {"progress": progress, "chart": chart, "fmt": FMT, "can_write": can_write(user),
           "kinds": [{"kind": k.kind, "label": k.label, "label_en": k.label_en, "note": k.note}
                     for k in kinds().values()],
           "imports": recent_imports(request, user),
           "jobs": [j for j in request.app.state.jobs.jobs_of(user, 10) if j.kind == "import"]}
    return render(request, "data.html", ctx)


@router.get("/template.xlsx", name="data_template")
def template_download(kind: str = Query(..., max_length=60), user: User = Depends(current_user)):
    """The blank import template of one kind (``shanhai template KIND``'s workbook): a county user downloads
    it from the page instead of being told a command it cannot run. Holds no data, so it is not audited."""
    import tempfile

    from shanhai.ingest.spec import kind as import_kind
    from shanhai.ingest.template import write_template

    try:
        chosen = import_kind(kind)
    except ShanhaiError:
        raise PageError(404, f"没有这种数据类型：{kind}", f"No import kind {kind!r}.") from None
    with tempfile.TemporaryDirectory(prefix="shanhai-template-") as folder:
        data = write_template(chosen, Path(folder) / "template.xlsx").read_bytes()
    return attachment(data, f"{chosen.label}导入模板.xlsx", XLSX)


@router.post("/import", name="data_import")
async def upload(request: Request, kind: str = Form(...), year: str = Form(""), sheet: str = Form(""),
                 file: UploadFile = File(...), user: User = Depends(require_write),
                 scope: Scope = Depends(current_scope), store: Store = Depends(get_store)):
    """Queue the import of an uploaded workbook or CSV; the job page links to its summary."""
    from shanhai.ingest.spec import kinds

    known = kinds()
    if kind not in known:
        raise PageError(400, f"未知的数据类型 {kind}。", f"Unknown kind of file {kind!r}.")
    name = _safe_name(file.filename or "")
    if not name.lower().endswith(SUFFIXES):
        raise PageError(400, f"文件 {name} 不是 Excel（.xlsx）或 CSV 文件。",
                        f"{name} is not an Excel (.xlsx) or CSV file.")
    y = None
    if year.strip():
        if not year.strip().isdigit():
            raise PageError(400, f"年度 {year} 应为四位数字。", f"The year {year!r} should be four digits.")
        y = int(year)
    token = secrets.token_urlsafe(12)
    folder = uploads_dir(request) / token
    folder.mkdir(parents=True, exist_ok=False)
    path = folder / name
    size = await save_upload(file, path, MAX_UPLOAD)
    if size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise PageError(400, f"文件 {name} 是空的。", f"{name} is empty.")
    try:   # by content, not by name; zip bombs refused before any parser reads them
        detected = guard.check_file(path, name=name)
    except ShanhaiError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        audit(request, store, "import.refused", target=name, detail={"kind": kind, "size": size, "reason": str(exc)},
              result="failure")
        raise PageError(400, f"文件 {name} 被拒绝，未导入任何数据：{exc}", str(exc)) from None
    if (detected == "text") != name.lower().endswith((".csv", ".txt")):
        shutil.rmtree(folder, ignore_errors=True)
        audit(request, store, "import.refused", target=name, detail={"kind": kind, "size": size,
                                                                      "reason": f"content {detected}"}, result="failure")
        raise PageError(400, f"文件 {name} 的内容与其扩展名不符（内容为 {detected}），未导入任何数据。",
                        f"{name}: its content ({detected}) does not match its name; nothing was imported.")
    username, user_id = user.username, user.user_id
    label = f"数据导入 {known[kind].label} · {name}"

    def job(progress):
        from datetime import datetime, timezone

        from shanhai.ingest._isolated import import_file_isolated
        from shanhai.ingest.rejects import write_rejects

        # reading, cleaning and checking in a low-priority child process: DuckDB takes the GIL
        # after every step of a statement, so the import's long statements on this process's job
        # thread would hold up every page (docs/operations.md, "Load"); the merge stays here
        result = import_file_isolated(progress.store, kind, path, year=y, sheet=sheet.strip() or None,
                                      username=username, progress=progress.fraction, scope=scope)
        if result.rejects:
            result.rejects_file = str(write_rejects(result, folder / "rejects.xlsx"))
        data = result.as_dict(limit=200)
        data.update(token=token, user_id=user_id, username=username, file_name=name, size=size,
                    kind_label=known[kind].label,
                    finished_at=datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds"))
        data["file"] = name                       # not the server's path
        data["rejects_file"] = "rejects.xlsx" if result.rejects else None
        (folder / "summary.json").write_text(json.dumps(data, ensure_ascii=False, default=str), "utf-8")
        if result.inserted or result.updated:         # the same file again changed nothing
            dashboard.clear_cache_for(progress.store)     # the results views show the facts as they are now
            clear_fragments()
        outside = f"（其中 {result.out_of_scope:,} 行不在您的数据范围内）" if result.out_of_scope else ""
        return {"url": f"/data/imports/{token}",
                "message": f"导入完成：新增 {result.inserted:,}，更新 {result.updated:,}，拒绝 {result.rejected:,} 行{outside}"}

    job_id = request.app.state.jobs.submit("import", label, job, user)
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@router.get("/imports/{token}", name="data_import_summary")
def import_summary(request: Request, token: str, user: User = Depends(current_user)):
    folder, data = _summary(request, user, token)
    imp = {"kind": "", "kind_label": data.get("kind", ""), "file_name": "", "dataset_id": "", "username": "",
           "finished_at": "", "sheet": None, "encoding": None, "rows_in": data.get("rows"), "blank_rows": 0,
           "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0, "warned": 0, "notes": [],
           "unknown_columns": [], "columns": {}, "rejects": [], "warnings": [], "rejects_file": None,
           "scope": None, "out_of_scope": 0, "scope_rejects": [], **data}
    return render(request, "data_import.html", {"imp": imp, "fmt": FMT})


@router.get("/imports/{token}/rejects", name="data_import_rejects")
def import_rejects(request: Request, token: str, user: User = Depends(current_user)):
    folder, data = _summary(request, user, token)
    path = folder / "rejects.xlsx"
    if not data.get("rejects_file") or not path.is_file():
        raise PageError(404, "该次导入没有拒绝行。", "This import rejected no rows.")
    base = Path(data.get("file_name") or "import").stem
    return attachment(path.read_bytes(), f"{base}.拒绝行.xlsx", XLSX)
