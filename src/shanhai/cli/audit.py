"""``shanhai audit``: verify, head, archive, export and list the hash-chained audit log."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shanhai.cli._common import DbOption, JsonOption, audit_export, emit_json, err, out
from shanhai.errors import ShanhaiError
from shanhai.reports import _safe
from shanhai.store import audit, default_db_path, open_store

app = typer.Typer(help="审计日志 Verify, print the head of, archive, export and list the tamper-evident audit log.",
                  no_args_is_help=True)

# key_id: the audit key a version-3 record was signed with, which whoever checks an export needs
COLUMNS = ("seq", "occurred_at", "username", "client", "action", "target", "result", "detail",
           "chain_version", "prev_hash", "hash", "key_id")
HEADERS = ("序号 seq", "时间 (UTC) occurred_at", "用户 username", "地址 client", "操作 action", "对象 target",
           "结果 result", "详情 detail", "链版本 chain_version", "前一哈希 prev_hash", "哈希 hash",
           "审计密钥标识 key_id")
ActionOption = Annotated[str | None, typer.Option("--action", help="操作前缀 Only actions starting with this.")]
UserOption = Annotated[str | None, typer.Option("--user", help="用户 Only this account name (substring).")]
SinceOption = Annotated[str | None, typer.Option("--since", help="起始日期 From this day (YYYY-MM-DD, UTC).")]
UntilOption = Annotated[str | None, typer.Option("--until", help="截止日期 Up to and including this day (YYYY-MM-DD).")]


def _day(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ShanhaiError(f"{option} {text!r} is not a date: write YYYY-MM-DD") from None


def _where(action, user, since, until) -> str:
    return audit.where(username=user, action=action, since=_day(since, "--since"), until=_day(until, "--until"))


ExpectHeadOption = Annotated[str | None, typer.Option(
    "--expect-head", help="预期链头 SEQ:HASH from an earlier `shanhai audit head`, kept off this host: fail (exit "
                          "code 1) when record SEQ is missing or its hash differs.")]


@app.command()
def verify(expect_head: ExpectHeadOption = None, db: DbOption = None, json_output: JsonOption = False) -> None:
    """校验 Walk the archives and the log as one hash chain; name the first record altered, removed or
    inserted (exit code 1), or the first keyed record that cannot be verified because its audit key
    is not configured (exit code 3). With --expect-head SEQ:HASH, also fail (exit code 1) when that
    record is missing or its hash changed: a rewritten chain, even one that looks never keyed."""
    path = db or default_db_path()
    expected = audit.parse_head(expect_head) if expect_head else None
    keys = audit.audit_keys()
    with open_store(path, read_only=True) as store:
        finding, summary = audit.check(store.con, keys)
        head_finding = audit.check_head(store.con, *expected) if expected else None
        current = audit.head(store.con)
    if head_finding is not None and (finding is None or finding.kind == "unverifiable"):
        finding = head_finding          # a changed head outweighs "cannot be verified": the chain was rewritten
    unverifiable = finding is not None and finding.kind == "unverifiable"
    document = {"db": str(path), "ok": finding is None, "outcome": _outcome(finding, keys), **summary,
                "finding": finding.as_dict() if finding else None,
                "current_head": audit.head_line(current) if current else None,
                "expected_head": None if expected is None else {
                    "seq": expected[0], "hash": expected[1], "ok": head_finding is None,
                    "finding": head_finding.as_dict() if head_finding else None}}
    if json_output:
        emit_json(document)
    elif finding is None:
        out.print(f"[green]审计链完整 The audit chain is intact[/green]: {summary['live']} records in the log, "
                  f"{summary['archived']} in {summary['archives']} archive file(s)")
        if keys.current is None:
            out.print(f"未配置审计密钥 No audit key is configured: records are chained with plain sha256, which "
                      f"anyone who can write the database file can recompute (set {audit.KEY_ENV}, see docs/security.md)")
        else:
            since = f" (from record {summary['keyed_from']} on)" if summary["keyed"] else ""
            out.print(f"审计密钥 Audit key {keys.current_id}: {summary['keyed']} keyed record(s) verified with HMAC-SHA256"
                      f"{since}")
        if expected:
            out.print(f"链头一致 Record {expected[0]} still has the hash recorded off the host")
    elif unverifiable:
        out.print(f"[yellow]无法校验 The audit chain cannot be fully verified[/yellow]: {finding.message} "
                  "(its links hold; a missing key is not evidence of tampering, nor of its absence)")
    elif finding.kind == "head":
        out.print(f"[red]审计链头不符 The audit chain does not match the head recorded off the host[/red]: "
                  f"{finding.message}")
    else:
        out.print(f"[red]审计链断开 The audit chain is broken[/red]: {finding.message}")
    if finding is not None:
        raise typer.Exit(3 if unverifiable else 1)


@app.command()
def head(db: DbOption = None, json_output: JsonOption = False) -> None:
    """链头 Print the newest record's seq:hash, key id and time as one line to copy to another host or
    a ticket; check it later with `shanhai audit verify --expect-head SEQ:HASH`."""
    path = db or default_db_path()
    with open_store(path, read_only=True) as store:
        rec = audit.head(store.con)
    if json_output:
        emit_json(None if rec is None else {**rec, "line": audit.head_line(rec)})
        return
    if rec is None:
        err.print("审计日志为空 The audit log is empty: there is no head yet")
        return
    typer.echo(audit.head_line(rec))    # plain, never wrapped: the line is copied as it is
    err.print("审计链头 Keep this line off this host (another machine, a ticket); later "
              f"`shanhai audit verify --expect-head {rec['seq']}:{rec['hash'][:8]}…` (the whole hash) shows a "
              "chain rewritten or cut since")


def _outcome(finding, keys) -> str:
    """keyed | unkeyed (intact, with or without an audit key) | unverifiable | broken (a break, or a
    head that no longer matches --expect-head)."""
    if finding is None:
        return "unkeyed" if keys.current is None else "keyed"
    return "unverifiable" if finding.kind == "unverifiable" else "broken"


@app.command()
def archive(
    to: Annotated[Path | None, typer.Option("--to", help="归档文件夹 Folder for the archive file "
                                              "(default: audit-archive beside the database).")] = None,
    retention: Annotated[int | None, typer.Option(
        "--retention-days", help=f"保留天数 Retention in days (default ${audit.RETENTION_ENV} or 180; "
                                 f"never under {audit.MIN_RETENTION_DAYS}).")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """归档 Move records older than the retention period to a JSON-lines file that verify also checks."""
    path = db or default_db_path()
    folder = to or (path.resolve().parent / "audit-archive")
    with open_store(path) as store:
        listing = audit.archive(store.con, folder, retention=retention)
    document = {"db": str(path), "archived": listing is not None,
                **({k: (str(v) if k in ("archived_at", "cutoff") else v) for k, v in listing.items()}
                   if listing else {"retention_days": audit.retention_days(retention)})}
    if json_output:
        emit_json(document)
    elif listing is None:
        out.print(f"没有超过保留期的记录 No record is older than {document['retention_days']} days: nothing archived")
    else:
        out.print(f"已归档 Archived records {listing['first_seq']}–{listing['last_seq']} ({listing['rows']}) "
                  f"to {listing['path']} (sha256 {listing['sha256'][:16]}…)")


def _rows(store, where: str, limit: int | None, newest_first: bool = False):
    order = "DESC" if newest_first else ""
    cap = f" LIMIT {int(limit)}" if limit else ""
    return store.con.execute(
        f"SELECT {', '.join(c if c != 'detail' else 'detail::VARCHAR' for c in COLUMNS)} FROM audit_log "
        f"WHERE {where} ORDER BY seq {order}{cap}").fetchall()


@app.command()
def export(
    dest: Annotated[Path, typer.Argument(help="输出文件 Output file: .csv, .xlsx or .jsonl.")],
    action: ActionOption = None, user: UserOption = None, since: SinceOption = None, until: UntilOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """导出 Write the log (filtered) to CSV, Excel or JSON lines; the export is itself audited."""
    suffix = dest.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".jsonl"):
        raise ShanhaiError(f"{dest}: the export file must end in .csv, .xlsx or .jsonl")
    if dest.parent and not dest.parent.exists():
        raise ShanhaiError(f"cannot write {dest}: folder {dest.parent} does not exist")
    path = db or default_db_path()
    with open_store(path) as store:
        where = _where(action, user, since, until)
        rows = _rows(store, where, None)
        if suffix == ".csv":
            buffer = io.StringIO()
            writer = _safe.csv_writer(buffer)
            writer.writerow(HEADERS)
            for r in rows:
                writer.writerow([r[0], r[1].isoformat(sep=" ", timespec="microseconds"),
                                 *("" if v is None else v for v in r[2:])])
            dest.write_text("\ufeff" + buffer.getvalue(), "utf-8")
        elif suffix == ".jsonl":
            with dest.open("w", encoding="utf-8") as handle:
                for r in rows:
                    rec = dict(zip(COLUMNS, r))
                    rec["occurred_at"] = rec["occurred_at"].isoformat(timespec="microseconds")
                    handle.write(json.dumps(rec, ensure_ascii=False) + "\n")
        else:
            book = _safe.workbook(str(dest))
            sheet = book.add_worksheet("审计日志")
            bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
            when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
            sheet.write_row(0, 0, HEADERS, bold)
            for i, r in enumerate(rows, start=1):
                sheet.write_number(i, 0, r[0])
                sheet.write_datetime(i, 1, r[1], when)
                for c, v in enumerate(r[2:], start=2):
                    if isinstance(v, int):
                        sheet.write_number(i, c, v)
                    else:
                        sheet.write_string(i, c, "" if v is None else str(v))
            sheet.freeze_panes(1, 0)
            book.close()
        audit_export(store, "audit_log", dest, format=suffix[1:], kind="audit_log", rows=len(rows),
                     tables=["audit_log"], filters={"action": action, "user": user, "since": since, "until": until})
    if json_output:
        emit_json({"file": str(dest), "rows": len(rows), "format": suffix[1:]})
    else:
        err.print(f"已导出 Exported {len(rows)} audit records to {dest}")


@app.command("list")
def list_(
    action: ActionOption = None, user: UserOption = None, since: SinceOption = None, until: UntilOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="条数 Show at most this many, newest first.")] = 50,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """列出 Show the newest audit records (filtered)."""
    path = db or default_db_path()
    with open_store(path, read_only=True) as store:
        rows = _rows(store, _where(action, user, since, until), limit, newest_first=True)
    if json_output:
        emit_json([dict(zip(COLUMNS, r)) for r in rows])
        return
    table = Table("序号 Seq", "时间 Time (UTC)", "用户 User", "地址 Address", "操作 Action", "对象 Target",
                  "结果 Result", title="审计日志 Audit log", title_justify="left")
    for r in rows:
        table.add_row(str(r[0]), r[1].isoformat(sep=" ", timespec="seconds"), r[2] or "", r[3] or "", r[4],
                      r[5] or "", r[6] or "")
    out.print(table)
