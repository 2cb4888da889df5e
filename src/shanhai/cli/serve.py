"""``shanhai serve``: the web dashboard. One server process owns the database file."""

from __future__ import annotations

from typing import Annotated

import typer

from shanhai.cli._common import DbOption, out
from shanhai.store import accounts, audit, default_db_path, open_store


def serve(
    host: Annotated[str, typer.Option(help="监听地址 Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口 Port.", min=1, max=65535)] = 8000,
    db: DbOption = None,
) -> None:
    """网页服务 Serve the web dashboard (sign-in, map, per-mu screens, briefings, JSON API).

    The server holds the database for as long as it runs: other `shanhai` commands on the same
    file are refused until it stops (Ctrl+C). Put it behind an https reverse proxy for anything
    but loopback: cookies are marked Secure when the proxy forwards X-Forwarded-Proto https.
    """
    path = db or default_db_path()
    # open once here so a locked, missing or newer file, a malformed audit or secrets key, a keyed
    # audit log without its key or encrypted TOTP seeds without theirs fails with one sentence
    # before uvicorn starts
    with open_store(path, create=False) as store:
        audit.check_writable(store.con)
        seeds = accounts.check_secrets(store.con)
    for kid, names in sorted(seeds["unknown"].items()):
        out.print(f"[yellow]鉴别数据密钥不符[/yellow] {len(names)} account(s) ({', '.join(names)}) have TOTP seeds "
                  f"encrypted with secrets key {kid}, which is not configured: they can sign in only with a "
                  "recovery code until that key is in SHANHAI_SECRETS_KEY_OLD (or `shanhai users reset-2fa NAME`)")

    import uvicorn

    from shanhai.cli.users import demo_accounts_text, read_demo_accounts
    from shanhai.web.app import create_app

    app = create_app(path)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    address = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}/"
    out.print(f"[bold]山海产业大脑 Shanhai[/bold] serving {path} at [bold]{address}[/bold] (Ctrl+C 停止 to stop)")
    for line in demo_accounts_text(read_demo_accounts(path)):
        out.print(line)
    # A long-lived server: what is loaded by now (modules, templates, the reference data) is moved
    # out of the collector's sight, and young-generation collections run less often. Collections of
    # the long-lived heap were the slowest requests' pauses under load.
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True, server_header=False)
