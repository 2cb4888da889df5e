"""Administration (admins only): accounts, and the audit log with its hash chain."""

from __future__ import annotations

import io
from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from shanhai.errors import ShanhaiError
from shanhai.store import accounts, audit
from shanhai.store.accounts import ROLES, User
from shanhai.store.connection import Store
from shanhai.reports import _safe
from shanhai.web import deps
from shanhai.web.deps import PageError, get_store, render, require_roles

router = APIRouter(prefix="/admin", include_in_schema=False)
NAV = [(90, "/admin/users", "用户管理", "Users", ("admin",)),
       (91, "/admin/audit", "审计日志", "Audit log", ("admin",))]
admin_only = require_roles("admin")
PAGE = 100
EXPORT_LIMIT = 200_000


def _regions(store: Store) -> list[dict]:
    rows = store.con.execute(
        "SELECT adcode, name, level, city_adcode, mountain26 FROM regions WHERE level IN ('province', 'city', 'county') "
        "ORDER BY adcode").fetchall()
    return [{"adcode": a, "name": n, "level": lv, "city": c, "mountain26": m} for a, n, lv, c, m in rows]


def _user_or_404(store: Store, user_id: int) -> User:
    user = accounts.user_by_id(store, user_id)
    if user is None:
        raise PageError(404, f"没有编号为 {user_id} 的用户。", f"There is no user with id {user_id}.")
    return user


def _users_page(request: Request, store: Store, *, message=None, error=None, form=None, status=200):
    sessions = dict(store.con.execute(
        "SELECT user_id, max(last_seen) FROM sessions GROUP BY user_id").fetchall())
    names = {r["adcode"]: r["name"] for r in _regions(store)}
    return render(request, "admin_users.html", {
        "users": accounts.list_users(store), "regions": _regions(store), "region_names": names,
        "roles": ROLES, "last_seen": sessions, "message": message, "error": error, "form": form or {},
        "min_password": accounts.settings(store).password_min_length, "locks": accounts.locks(store)},
        status=status)


@router.get("/users", name="admin_users")
def users_page(request: Request, store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    return _users_page(request, store)


@router.post("/users", name="admin_users_add")
def add_user(request: Request, username: str = Form(""), display_name: str = Form(""), role: str = Form(""),
             region_adcode: str = Form(""), password: str = Form(""), store: Store = Depends(get_store),
             admin: User = Depends(admin_only)):
    form = {"username": username, "display_name": display_name, "role": role, "region_adcode": region_adcode}
    try:
        user = accounts.add_user(store, username, password, role, region_adcode, display_name,
                                 actor=admin.username, log=deps.audit_writer(request, store), must_change=True)
    except ShanhaiError as exc:
        return _users_page(request, store, error=str(exc), form=form, status=400)
    return _users_page(request, store, message=(f"已添加用户 {user.username}。", f"User {user.username} added."))


@router.post("/users/{user_id}/disable", name="admin_users_disable")
def disable_user(request: Request, user_id: int, store: Store = Depends(get_store),
                 admin: User = Depends(admin_only)):
    user = _user_or_404(store, user_id)
    if user.user_id == admin.user_id:
        return _users_page(request, store, error=("不能停用自己的账号。", "You cannot disable your own account."), status=400)
    accounts.disable_user(store, user.username, actor=admin.username, log=deps.audit_writer(request, store))
    deps.accounts_changed(request)
    return _users_page(request, store, message=(f"已停用用户 {user.username}，其会话已结束。",
                                                f"User {user.username} disabled; their sessions ended."))


@router.post("/users/{user_id}/enable", name="admin_users_enable")
def enable_user(request: Request, user_id: int, store: Store = Depends(get_store),
                admin: User = Depends(admin_only)):
    user = _user_or_404(store, user_id)
    accounts.enable_user(store, user.username, actor=admin.username, log=deps.audit_writer(request, store))
    deps.accounts_changed(request)
    return _users_page(request, store, message=(f"已启用用户 {user.username}。", f"User {user.username} enabled."))


@router.post("/users/{user_id}/password", name="admin_users_password")
def reset_password(request: Request, user_id: int, password: str = Form(""), store: Store = Depends(get_store),
                   admin: User = Depends(admin_only)):
    user = _user_or_404(store, user_id)
    try:
        accounts.set_password(store, user.username, password, actor=admin.username,
                              log=deps.audit_writer(request, store))
        deps.accounts_changed(request)
    except ShanhaiError as exc:
        return _users_page(request, store, error=str(exc), status=400)
    return _users_page(request, store, message=(f"已重置 {user.username} 的密码，其会话已结束，下次登录须修改密码。",
                                                f"Password of {user.username} reset; their sessions ended and they "
                                                "must change it at the next sign-in."))


@router.post("/users/{user_id}/unlock", name="admin_users_unlock")
def unlock_user(request: Request, user_id: int, store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    user = _user_or_404(store, user_id)
    accounts.unlock(store, user.username, actor=admin.username, log=deps.audit_writer(request, store))
    return _users_page(request, store, message=(f"已解锁用户 {user.username}。", f"User {user.username} unlocked."))


@router.post("/users/{user_id}/reset-2fa", name="admin_users_reset_2fa")
def reset_2fa(request: Request, user_id: int, store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    user = _user_or_404(store, user_id)
    accounts.reset_totp(store, user.username, actor=admin.username, log=deps.audit_writer(request, store))
    deps.accounts_changed(request)
    return _users_page(request, store, message=(
        f"已重置 {user.username} 的双因素登录，其会话已结束。",
        f"Two-factor sign-in of {user.username} reset; their sessions ended."))


@router.post("/users/{user_id}/force-change", name="admin_users_force_change")
def force_change(request: Request, user_id: int, store: Store = Depends(get_store),
                 admin: User = Depends(admin_only)):
    user = _user_or_404(store, user_id)
    accounts.force_change(store, user.username, actor=admin.username, log=deps.audit_writer(request, store))
    deps.accounts_changed(request)
    return _users_page(request, store, message=(f"{user.username} 下次请求时须修改密码。",
                                                f"{user.username} must change their password at their next request."))


@router.post("/users/{user_id}/role", name="admin_users_role")
def change_role(request: Request, user_id: int, role: str = Form(""), region_adcode: str = Form(""),
                store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    user = _user_or_404(store, user_id)
    if user.user_id == admin.user_id:
        return _users_page(request, store, error=("不能更改自己的角色。", "You cannot change your own role."), status=400)
    try:
        changed = accounts.change_role(store, user.username, role, region_adcode, actor=admin.username,
                                       log=deps.audit_writer(request, store))
    except ShanhaiError as exc:
        return _users_page(request, store, error=str(exc), status=400)
    deps.accounts_changed(request)
    return _users_page(request, store, message=(
        f"{changed.username} 的角色与数据范围已改为 {changed.role} {changed.region_adcode}，其会话已结束。",
        f"{changed.username} is now {changed.role} {changed.region_adcode}; their sessions ended."))


# ---- audit log -------------------------------------------------------------------------------

def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PageError(422, f"{name} 应为 YYYY-MM-DD 格式的日期。", f"{name} must be a date as YYYY-MM-DD.") from None


def _audit_where(username: str | None, action: str | None, target: str | None, since: str | None,
                 until: str | None) -> str:
    return audit.where(username=username, action=action, target=target, since=_day(since, "from"),
                       until=_day(until, "to"))


def _cell(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula (usernames in failed sign-ins are
    whatever the caller typed): see :mod:`shanhai.reports._safe`."""
    return _safe.cell("" if value is None else str(value))


def _filters(username, action, target, since, until) -> dict:
    return {"username": username or "", "action": action or "", "target": target or "", "since": since or "",
            "until": until or ""}


@router.get("/audit", name="admin_audit")
def audit_page(request: Request, username: str | None = None, action: str | None = None, target: str | None = None,
               since: str | None = Query(None, alias="from"), until: str | None = Query(None, alias="to"),
               page: int = Query(1, ge=1, le=100_000), verify: bool = False, expect_head: str | None = None,
               store: Store = Depends(get_store), admin: User = Depends(admin_only)):
    expected = None
    if verify and expect_head and expect_head.strip():
        try:
            expected = audit.parse_head(expect_head, "expect_head")
        except ShanhaiError:
            raise PageError(422, "预期链头应为 序号:哈希（即 shanhai audit head 输出的第一个词）。",
                            "The expected head must be SEQ:HASH (the first word `shanhai audit head` prints).") from None
    where = _audit_where(username, action, target, since, until)
    total = store.con.execute(f"SELECT count(*) FROM audit_log WHERE {where}").fetchone()[0]
    rows = store.con.execute(
        f"SELECT seq, occurred_at, username, client, action, target, result, detail::VARCHAR FROM audit_log "
        f"WHERE {where} ORDER BY seq DESC LIMIT {PAGE} OFFSET {(page - 1) * PAGE}").fetchall()
    actions = [a for (a,) in store.con.execute("SELECT DISTINCT action FROM audit_log ORDER BY 1").fetchall()]
    verified = None
    if verify:
        keys = audit.audit_keys()
        finding, summary = audit.check(store.con, keys)
        head_finding = audit.check_head(store.con, *expected) if expected else None
        if head_finding is not None and (finding is None or finding.kind == "unverifiable"):
            finding = head_finding      # a head that no longer matches: the chain was rewritten or cut
        head = audit.head(store.con)
        broken = None if finding is None else finding.seq
        entries = store.con.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        unverifiable = finding is not None and finding.kind == "unverifiable"
        # keyed / unkeyed: intact, with or without an audit key configured; unverifiable: keyed
        # records whose key is not configured (links hold); broken: altered, removed or inserted
        outcome = ("unverifiable" if unverifiable else "broken" if finding is not None
                   else "keyed" if keys.current is not None else "unkeyed")
        verified = {"ok": finding is None, "broken": broken, "entries": entries, "outcome": outcome,
                    "kind": finding.kind if finding else None, "message": finding.message if finding else None,
                    "archived": summary.get("archived", 0), "key_id": keys.current_id,
                    "keyed": summary.get("keyed", 0), "unverifiable": summary.get("unverifiable", 0),
                    "head": head, "head_line": audit.head_line(head) if head else None,
                    "expected": None if expected is None else {"seq": expected[0], "ok": head_finding is None}}
        detail = {"ok": finding is None, "broken": broken, "outcome": outcome}
        if expected is not None:
            detail["expect_head"] = {"seq": expected[0], "ok": head_finding is None}
        deps.audit(request, store, "audit.verify", detail=detail,
                   result="success" if finding is None else "unverifiable" if unverifiable else "chain_broken")
    filters = _filters(username, action, target, since, until)
    query = urlencode([("from" if k == "since" else "to" if k == "until" else k, v)
                       for k, v in filters.items() if v])
    return render(request, "admin_audit.html", {
        "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE)), "filters": filters,
        "actions": actions, "verified": verified, "query": query})


@router.get("/audit/export", name="admin_audit_export")
def audit_export(request: Request, format: str = "csv", username: str | None = None, action: str | None = None,
                 target: str | None = None, since: str | None = Query(None, alias="from"),
                 until: str | None = Query(None, alias="to"), store: Store = Depends(get_store),
                 admin: User = Depends(admin_only)):
    if format not in ("csv", "xlsx"):
        raise PageError(422, "导出格式应为 csv 或 xlsx。", "The export format must be csv or xlsx.")
    where = _audit_where(username, action, target, since, until)
    rows = store.con.execute(
        f"SELECT seq, occurred_at, username, client, action, target, result, detail::VARCHAR, chain_version, "
        f"prev_hash, hash, key_id FROM audit_log WHERE {where} ORDER BY seq LIMIT {EXPORT_LIMIT}").fetchall()
    headers = ["序号 seq", "时间 (UTC) occurred_at", "用户 username", "地址 client", "操作 action", "对象 target",
               "结果 result", "详情 detail", "链版本 chain_version", "前一哈希 prev_hash", "哈希 hash",
               "审计密钥标识 key_id"]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    deps.audit(request, store, "export", target="audit_log",
               detail={"format": format, "rows": len(rows), **_filters(username, action, target, since, until)})
    if format == "csv":
        buffer = io.StringIO()
        writer = _safe.csv_writer(buffer)
        writer.writerow(headers)
        for r in rows:
            writer.writerow([r[0], r[1].isoformat(sep=" ", timespec="seconds"), *(_cell(v) for v in r[2:])])
        body = ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 Chinese correctly
        media = "text/csv; charset=utf-8"
    else:
        out = io.BytesIO()
        book = _safe.workbook(out, {"in_memory": True})
        sheet = book.add_worksheet("审计日志")
        bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
        when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        for c, h in enumerate(headers):
            sheet.write(0, c, h, bold)
        for i, r in enumerate(rows, start=1):
            sheet.write_number(i, 0, r[0])
            sheet.write_datetime(i, 1, r[1], when)
            for c, v in enumerate(r[2:], start=2):
                sheet.write_string(i, c, "" if v is None else str(v))
        sheet.set_column(0, 0, 8)
        sheet.set_column(1, 1, 20)
        sheet.set_column(2, 4, 18)
        sheet.set_column(2, 6, 16)
        sheet.set_column(7, 7, 60)
        sheet.set_column(9, 10, 20)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(rows), len(headers) - 1)
        book.close()
        body = out.getvalue()
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="shanhai-audit-{stamp}.{format}"'})
