"""``shanhai users``: accounts of the web dashboard (add, list, disable, passwd, unlock, reset-2fa,
force-change, encrypt-secrets, settings), and the demo's.

Passwords are read from a hidden prompt (asked twice) or, with ``--password-stdin``, from the
first line of standard input; they are never echoed or accepted as an argument. An account added
here, or whose password is set here, must choose its own password at its next sign-in; only the
demo's accounts (``shanhai demo``) are exempt from that, from expiry and from two-factor sign-in.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, emit_json, out
from shanhai.errors import ShanhaiError
from shanhai.policy import _security
from shanhai.store import accounts, default_db_path, open_store
from shanhai.store.accounts import ROLE_LABELS, ROLES

app = typer.Typer(help="用户 Accounts of the web dashboard: add, list, disable, passwd, unlock, reset-2fa, "
                       "force-change, encrypt-secrets, settings.", no_args_is_help=True)

UsernameArg = Annotated[str, typer.Argument(help="用户名 Username (2-32 letters, digits, '.', '_', '-').")]
StdinOption = Annotated[bool, typer.Option("--password-stdin",
                                           help="从标准输入读取密码 Read the password from the first line of stdin.")]

# The demo's accounts: a province admin, a city, a mountain county (景宁, one of the 26).
DEMO_ACCOUNTS = (
    ("demo-admin", "admin", "330000", "省经信厅管理员（演示）"),
    ("demo-lishui", "city", "331100", "丽水市经信局（演示）"),
    ("demo-jingning", "county", "331127", "景宁县经信局（演示）"),
)


def _read_password(stdin: bool) -> str:
    if stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise ShanhaiError("--password-stdin: standard input is empty; pipe the password in, e.g. "
                               "`printf '%s\\n' \"$PW\" | shanhai users add …`")
        return password
    password = typer.prompt("密码 Password", hide_input=True, confirmation_prompt="再次输入 Repeat")
    return password


def _actor() -> str:
    """Who runs the command (the operating-system account), for the audit log."""
    try:
        return "cli:" + os.getlogin()
    except OSError:
        return "cli:" + (os.environ.get("USER") or "unknown")


def _existing(db: Path | None) -> Path:
    path = db or default_db_path()
    if not path.exists():
        raise ShanhaiError(f"database {path} does not exist: build one with `shanhai demo --db {path}` "
                           f"or `shanhai db init --db {path}`")
    return path


@app.command()
def add(
    username: UsernameArg,
    role: Annotated[str, typer.Option("--role", help=f"角色 Role: {', '.join(ROLES)}.")],
    region: Annotated[str | None, typer.Option(
        "--region", help="数据范围 Region adcode: 330000 for admin/province, a city for city, a city or county "
                         "for county/viewer.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="姓名或单位 Display name.")] = None,
    password_stdin: StdinOption = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """添加用户 Add an account with a role and a region scope."""
    path = _existing(db)
    with open_store(path) as store:
        accounts.check_role_region(store, role, region)  # refuse before asking for a password
        password = _read_password(password_stdin)
        user = accounts.add_user(store, username, password, role, region, name, actor=_actor(), must_change=True)
    if json_output:
        emit_json(user.as_dict())
        return
    out.print(f"已添加 Added user {user.username}: {ROLE_LABELS[user.role][0]} {user.role}, region {user.region_adcode}")


@app.command("list")
def list_(db: DbOption = None, json_output: JsonOption = False) -> None:
    """列出用户 List the accounts."""
    path = _existing(db)
    with open_store(path, read_only=True) as store:
        users = accounts.list_users(store)
        names = dict(store.con.execute("SELECT adcode, name FROM regions").fetchall())
        seen = dict(store.con.execute("SELECT user_id, max(last_seen) FROM sessions GROUP BY user_id").fetchall())
        locked = accounts.locks(store)
    if json_output:
        emit_json([{**u.as_dict(), "region_name": names.get(u.region_adcode),
                    "last_seen": seen.get(u.user_id), "locked_until": locked.get(u.user_id)} for u in users])
        return
    if not users:
        out.print("没有用户 No accounts yet: add one with `shanhai users add NAME --role admin`")
        return
    table = Table(title="用户 Accounts", title_justify="left")
    for column in ("用户名 username", "姓名 name", "角色 role", "范围 region", "最近活动 last seen (UTC)"):
        table.add_column(column)
    table.add_column("状态 status", no_wrap=True)
    table.add_column("双因素 2FA", no_wrap=True)
    table.add_column("备注 notes")
    for u in users:
        last = seen.get(u.user_id)
        table.add_row(u.username, u.display_name or "", f"{ROLE_LABELS[u.role][0]} {u.role}",
                      f"{u.region_adcode} {names.get(u.region_adcode, '')}",
                      last.strftime("%Y-%m-%d %H:%M") if last else "—",
                      "已停用 disabled" if u.disabled else "正常 active",
                      "已启用 on" if u.totp_enabled else "未启用 off",
                      " ".join(x for x in (f"锁定至 locked until {locked[u.user_id]:%H:%M}" if u.user_id in locked else "",
                                           "须改密 must change password" if u.must_change_password else "",
                                           "演示 demo" if u.demo else "") if x))
    out.print(table)


@app.command()
def disable(username: UsernameArg, db: DbOption = None) -> None:
    """停用用户 Disable an account and end its sessions."""
    path = _existing(db)
    with open_store(path) as store:
        user = accounts.disable_user(store, username, actor=_actor())
    out.print(f"已停用 Disabled user {user.username}; their sessions have ended")


@app.command()
def passwd(username: UsernameArg, password_stdin: StdinOption = False, db: DbOption = None) -> None:
    """修改密码 Set an account's password (ends its sessions; they must change it at the next sign-in)."""
    path = _existing(db)
    with open_store(path) as store:
        if accounts.get_user(store, username) is None:
            raise ShanhaiError(f"there is no user {username!r}: see `shanhai users list`")
        password = _read_password(password_stdin)
        user = accounts.set_password(store, username, password, actor=_actor(),
                                     must_change=not user_is_demo(store, username))
    out.print(f"已修改 Password of {user.username} changed; their sessions have ended"
              + ("" if user.demo else "; they must change it at the next sign-in"))


def user_is_demo(store, username: str) -> bool:
    user = accounts.get_user(store, username)
    return bool(user and user.demo)


@app.command()
def unlock(username: UsernameArg, db: DbOption = None) -> None:
    """解锁 Unlock an account locked after failed sign-ins (audited)."""
    with open_store(_existing(db)) as store:
        user = accounts.unlock(store, username, actor=_actor())
    out.print(f"已解锁 Unlocked user {user.username}")


@app.command("reset-2fa")
def reset_2fa(username: UsernameArg, db: DbOption = None) -> None:
    """重置双因素 Turn an account's two-factor sign-in off (lost phone): it enrols again (audited)."""
    with open_store(_existing(db)) as store:
        user = accounts.reset_totp(store, username, actor=_actor())
    out.print(f"已重置 Two-factor sign-in of {user.username} reset; their sessions have ended")


@app.command("force-change")
def force_change(username: UsernameArg, db: DbOption = None) -> None:
    """强制改密 The account must change its password at its next request (audited)."""
    with open_store(_existing(db)) as store:
        user = accounts.force_change(store, username, actor=_actor())
    out.print(f"已设置 {user.username} must change their password at the next request")


@app.command("encrypt-secrets")
def encrypt_secrets(db: DbOption = None, json_output: JsonOption = False) -> None:
    """加密两步验证种子 Encrypt plain TOTP seeds under the secrets key ($SHANHAI_SECRETS_KEY) and re-encrypt
    those under an old key ($SHANHAI_SECRETS_KEY_OLD); running it again changes nothing (audited).
    Exit code 1 when some seed cannot be read (its key is not configured, or the row was altered)."""
    with open_store(_existing(db)) as store:
        result = accounts.encrypt_totp_secrets(store, actor=_actor())
    if json_output:
        emit_json(result)
    else:
        out.print(f"鉴别数据密钥 Secrets key {result['key_id']}: 已加密 encrypted {len(result['encrypted'])} plain "
                  f"TOTP seed(s), 已换钥 re-encrypted {len(result['rekeyed'])} under an old key, 未变 "
                  f"{result['unchanged']} already under this key")
        for item in result["unreadable"]:
            out.print(f"[red]无法读取 Unreadable[/red]: {item['message']}")
    if result["unreadable"]:
        if not json_output:
            out.print(f"未处理 {len(result['unreadable'])} seed(s) left unchanged: put their key in "
                      "SHANHAI_SECRETS_KEY_OLD and run this again, or `shanhai users reset-2fa NAME` (they enrol again)")
        raise typer.Exit(1)


@app.command()
def settings(
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="设置 KEY=VALUE (repeatable; roles as a comma list), audited.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """安全设置 Show the security settings, or override some with --set KEY=VALUE (audited)."""
    path = _existing(db)
    with open_store(path, read_only=not set_) as store:
        for item in set_ or []:
            key, sep, value = item.partition("=")
            if not sep:
                raise ShanhaiError(f"--set {item!r}: write KEY=VALUE, e.g. --set lockout_minutes=30")
            accounts.set_security_setting(store, key.strip(), value, actor=_actor())
        rows = _security.describe(store)
    if json_output:
        emit_json(rows)
        return
    table = Table(title="安全设置 Security settings", title_justify="left")
    for column in ("设置 key", "当前值 value", "默认 default", "来源 source"):
        table.add_column(column)
    for r in rows:
        shown = ", ".join(r["value"]) if isinstance(r["value"], list) else str(r["value"])
        default = ", ".join(r["default"]) if isinstance(r["default"], list) else str(r["default"])
        table.add_row(r["key"], shown, default, "数据库 database" if r["overridden"] else "默认 default")
    out.print(table)


# ---- the demo's accounts ---------------------------------------------------------------------

def demo_password_file(db_path: Path) -> Path:
    return Path(f"{db_path}.demo-accounts")


def ensure_demo_accounts(store) -> list[dict]:
    """Create the demo's three accounts if missing (one random password, kept beside the database
    in ``<db>.demo-accounts`` with mode 0600 so later runs can print it); returns them."""
    file = demo_password_file(store.path)
    password = None
    if file.exists():
        for line in file.read_text("utf-8").splitlines():
            if line.startswith("password="):
                password = line.split("=", 1)[1].strip()
    if file.exists():  # accounts of an older demo database: mark them as the demo's
        names = ", ".join(f"'{a[0]}'" for a in DEMO_ACCOUNTS)
        store.con.execute(f"UPDATE users SET demo = true WHERE username IN ({names}) AND NOT coalesce(demo, false)")
    missing = [a for a in DEMO_ACCOUNTS if accounts.get_user(store, a[0]) is None]
    if missing and password is None:
        password = "Shanhai-" + secrets.token_urlsafe(9) + "-7"   # four kinds of character: the policy holds
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# 山海 Shanhai demo accounts (synthetic data only): " +
                    ", ".join(a[0] for a in DEMO_ACCOUNTS) + "\npassword=" + password + "\n")
    for username, role, region, name in missing:
        accounts.add_user(store, username, password, role, region, name, demo=True)
    names = dict(store.con.execute("SELECT adcode, name FROM regions").fetchall())
    return [{"username": u, "role": r, "region": g, "region_name": names.get(g, ""), "password": password}
            for u, r, g, _ in DEMO_ACCOUNTS if accounts.get_user(store, u) is not None]


def demo_accounts_text(found: list[dict]) -> list[str]:
    lines = ["演示账号 Demo accounts (密码 password: "
             f"{found[0]['password'] or '见 see ' + 'shanhai users passwd'}):"] if found else []
    for a in found:
        lines.append(f"  {a['username']:<15} {ROLE_LABELS[a['role']][0]} {a['role']:<8} "
                     f"{a['region']} {a['region_name']}")
    return lines


def read_demo_accounts(db_path: Path) -> list[dict]:
    """The demo accounts recorded beside ``db_path`` (empty when there is no demo file)."""
    file = demo_password_file(db_path)
    if not file.exists():
        return []
    password = next((line.split("=", 1)[1].strip() for line in file.read_text("utf-8").splitlines()
                     if line.startswith("password=")), None)
    return [{"username": u, "role": r, "region": g, "region_name": n.split("（")[0], "password": password}
            for u, r, g, n in DEMO_ACCOUNTS]
