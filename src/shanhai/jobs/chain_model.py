"""The chain model in the store: users add or edit chains from a TOML file or a workbook, export
the model as a workbook, edit one segment, delete their own chains or put a packaged one back.

The ten packaged chains are loaded with the reference data (``store.load_reference``) with
``chains.origin = 'package'``. A chain imported or edited by a user gets ``origin = 'user'`` and
``updated_at``; a user chain with the id of a packaged one replaces it, and loading the package's
reference data again leaves it alone (``restore_chain`` puts the packaged definition back).

Files: TOML in the layout of the packaged ``chains.toml``, or a workbook (.xlsx) with one sheet,
one row per segment, headers in Chinese (:data:`COLUMNS`). Every error names the file and, for a
workbook, the row and column. Every change is one transaction with its audit entry; membership is
not recomputed here (``jobs.membership.assign_members``), but the rows of segments a change removes
go with them.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from shanhai import reference
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.reference import STAGES, Chain, Segment
from shanhai.reference._chains import chain_row, parse_chains, segment_row
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.sql import literal

SHEET = "产业链"
NOTES_SHEET = "填写说明"
STAGE_LABELS = {"upstream": "上游", "midstream": "中游", "downstream": "下游"}
_STAGE_OF = {**{zh: en for en, zh in STAGE_LABELS.items()}, **{en: en for en in STAGES}}

# key -> (the header written on export, accepted synonyms, required, what it holds)
COLUMNS: dict[str, tuple[str, tuple[str, ...], bool, str]] = {
    "chain.chain_id": ("产业链代码", ("产业链代码", "产业链编码", "链代码", "产业链id", "chain_id"), True,
                       "英文小写加下划线, 如 digital_security; 与内置产业链相同则修改该链"),
    "chain.name": ("产业链名称", ("产业链名称", "产业链", "链名称", "chain_name"), True,
                   "如 数字安防; 同一条链的各行相同(可只在第一行填写)"),
    "segment_id": ("环节代码", ("环节代码", "环节编码", "环节id", "segment_id"), False,
                   "链代码加点加英文, 如 digital_security.upstream; 顶层环节可空(默认 链代码.上中下游), 子环节必填"),
    "parent_segment_id": ("上级环节", ("上级环节", "上级环节代码", "父环节", "所属环节", "parent_segment_id"), False,
                          "子环节填所属顶层环节的代码或名称; 顶层环节留空"),
    "stage": ("环节(上游/中游/下游)", ("环节", "上中下游", "链位置", "阶段", "stage"), False,
              "上游、中游或下游; 子环节可空(随上级环节)"),
    "name": ("环节名称", ("环节名称", "segment_name"), True, "如 芯片、传感器与光学"),
    "codes": ("行业代码", ("行业代码", "国民经济行业代码", "制造业行业代码", "codes"), False,
              "GB/T 4754-2017 制造业 2~4 位代码, 多个用 ; 或 、 分隔; 4 位以下代码覆盖其下各小类"),
    "keywords": ("关键词", ("关键词", "产品关键词", "关键字", "keywords"), False,
                 "企业名称或经营范围中出现即归入该环节的产品词, 每个 2~20 字, 多个用 ; 或 、 分隔"),
    "non_manufacturing_codes": ("非制造业行业代码", ("非制造业行业代码", "非制造业代码", "其他行业代码",
                                                     "non_manufacturing_codes"), False,
                                "制造业以外的行业代码(服务业、采矿业等), 仅作说明, 不用于归属企业"),
    "chain.name_en": ("产业链英文名称", ("产业链英文名称", "chain_name_en"), False, "可空"),
    "name_en": ("环节英文名称", ("环节英文名称", "segment_name_en"), False, "可空"),
    "chain.source": ("来源", ("来源", "依据", "source"), False, "产业链定义的出处, 可空"),
    "chain.note": ("说明", ("说明", "备注", "note"), False, "可空"),
    "chain.status": ("定义状态", ("定义状态", "状态", "status"), False, "产业链及其环节划分的出处是否可靠, 可空"),
}
_LIST_KEYS = ("codes", "keywords", "non_manufacturing_codes")
_SPLIT = re.compile(r"[;；,，、\s]+")
_CHAIN_LEVEL = ("chain.name", "chain.name_en", "chain.source", "chain.note", "chain.status")


@dataclass
class ChainImport:
    file: str
    sha256: str
    chains: list[str]
    created: list[str]
    edited: list[str]
    segments: int
    removed_segments: list[str] = field(default_factory=list)
    memberships_dropped: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _known_codes() -> set[str]:
    return {i.code for i in reference.industries()}


def _packaged() -> dict[str, Chain]:
    return {c.chain_id: c for c in reference.chains()}


# ---- reading files ---------------------------------------------------------------------------

def read_chain_file(path: str | Path) -> tuple[Chain, ...]:
    """Validated chains from a TOML file or a workbook (.xlsx, .xlsm)."""
    path = Path(path)
    if not path.is_file():
        raise ShanhaiError(f"chain file {path} not found")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise ShanhaiError(f"chain file {path} cannot be read as UTF-8 text: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ShanhaiError(f"{path}: invalid TOML: {exc}") from None
        return parse_chains(data, path.name, _known_codes())
    if suffix in (".xlsx", ".xlsm"):
        data, rows, columns = _workbook_data(path)
        return parse_chains(data, path.name, _known_codes(), rows=rows, columns=columns)
    raise ShanhaiError(f"{path.name}: a chain file is a TOML file (.toml) or an Excel workbook (.xlsx)")


def _header_key(text: str) -> str:
    text = text.strip().replace("（", "(").replace("）", ")")
    text = re.sub(r"\(.*?\)", "", text)
    return re.sub(r"\s+", "", text).lower()


_SYNONYMS = {_header_key(s): key for key, (_, synonyms, _, _) in COLUMNS.items() for s in synonyms}


def _cells(path: Path) -> list[tuple[int, list[str | None]]]:
    """(sheet row number, cells as text) of every non-blank row of the workbook's first sheet."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(path.read_bytes())
        names = reader.sheet_names
        if not names:
            raise ShanhaiError(f"{path.name} has no sheets")
        batch = reader.load_sheet_eager(names[0], header_row=None, skip_rows=0, dtypes="string")
    except ShanhaiError:
        raise
    except Exception as exc:  # fastexcel raises its own error types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ShanhaiError(f"{path.name} cannot be read as an Excel workbook ({first}): "
                           "is it damaged? Open and re-save it in Excel") from exc
    columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
    out = []
    for index, row in enumerate(zip(*columns)):
        cells = [None if v is None or not str(v).strip() else str(v).strip() for v in row]
        if any(c is not None for c in cells):
            out.append((index + 1, cells))
    return out


def _workbook_data(path: Path) -> tuple[dict, list[list[int]], dict[str, str]]:
    """The workbook as chains.toml's structure, the sheet row of every segment and the headers."""
    rows = _cells(path)
    if not rows:
        raise ShanhaiError(f"{path.name}: the first sheet is empty: expected a header row "
                           f"({'、'.join(h for h, _, req, _ in COLUMNS.values() if req)} …) and one row per segment")
    # the header: the first row naming the chain and the segment (a title row may sit above it)
    start = next((i for i, (_, cells) in enumerate(rows[:10])
                  if {"chain.chain_id", "name"} <= {_SYNONYMS.get(_header_key(c)) for c in cells if c}), 0)
    rows = rows[start:]
    header_row, header = rows[0]
    where_of: dict[str, int] = {}
    labels: dict[str, str] = {}
    for i, text in enumerate(header):
        if text is None:
            continue
        key = _SYNONYMS.get(_header_key(text))
        if key is None:
            raise ShanhaiError(
                f"{path.name}: 第{header_row}行 row {header_row}: unknown column {text!r}: the columns are "
                + "、".join(h for h, *_ in COLUMNS.values()))
        if key in where_of:
            raise ShanhaiError(f"{path.name}: 第{header_row}行 row {header_row}: columns {labels[key]!r} and {text!r} "
                               "both give " + COLUMNS[key][0])
        where_of[key], labels[key] = i, text
    missing = [COLUMNS[k][0] for k, (_, _, required, _) in COLUMNS.items() if required and k not in where_of]
    if missing:
        raise ShanhaiError(f"{path.name}: 第{header_row}行 row {header_row}: missing column(s) {'、'.join(missing)} "
                           "(the first non-blank row is the header)")
    if len(rows) == 1:
        raise ShanhaiError(f"{path.name}: no segments below the header row: expected one row per segment")

    def at(row: int, key: str) -> str:
        return f"{path.name}: 第{row}行 row {row}, 列 column {labels[key]}"

    chains: dict[str, dict] = {}
    segment_rows: dict[str, list[int]] = {}
    for row, cells in rows[1:]:
        value = {k: cells[i] if i < len(cells) else None for k, i in where_of.items()}
        chain_id = value["chain.chain_id"]
        if chain_id is None:
            raise ShanhaiError(f"{at(row, 'chain.chain_id')}: missing: every row names its chain")
        chain = chains.setdefault(chain_id, {"chain_id": chain_id, "segments": []})
        for key in _CHAIN_LEVEL:
            if key in value and value[key] is not None:
                short = key.removeprefix("chain.")
                if short in chain and chain[short] != value[key]:
                    raise ShanhaiError(f"{at(row, key)}: {value[key]!r} differs from {chain[short]!r} on an earlier "
                                       f"row of chain {chain_id!r}: a chain's rows agree (or leave it empty)")
                chain[short] = value[key]
        segment: dict = {}
        for key in ("segment_id", "parent_segment_id", "name", "name_en"):
            if value.get(key) is not None:
                segment[key] = value[key]
        if value.get("stage") is not None:
            stage = _STAGE_OF.get(value["stage"].lower())
            if stage is None:
                raise ShanhaiError(f"{at(row, 'stage')}: {value['stage']!r} is not a stage: expected 上游, 中游 or 下游")
            segment["stage"] = stage
        for key in _LIST_KEYS:
            if value.get(key) is not None:
                segment[key] = split_list(value[key])
        chain["segments"].append(segment)
        segment_rows.setdefault(chain_id, []).append(row)
    # 上级环节 may name the parent segment instead of giving its code
    for chain in chains.values():
        ids = {s.get("segment_id") or f"{chain['chain_id']}.{s.get('stage')}": s for s in chain["segments"]
               if "parent_segment_id" not in s}
        by_name = {}
        for s in ids.values():
            by_name.setdefault(s.get("name"), []).append(s)
        for s in chain["segments"]:
            parent = s.get("parent_segment_id")
            if parent is not None and parent not in ids and len(by_name.get(parent, [])) == 1:
                top = by_name[parent][0]
                s["parent_segment_id"] = top.get("segment_id") or f"{chain['chain_id']}.{top.get('stage')}"
    data = {"chains": list(chains.values())}
    return data, [segment_rows[c] for c in chains], labels


def split_list(text: str | None) -> list[str]:
    """Codes or keywords typed in one cell or form field: separated by ; 、 , or spaces."""
    return [w for w in _SPLIT.split(text or "") if w]


# ---- the model in the store ------------------------------------------------------------------

def _stored_data(store: Store, chain_ids: list[str] | None = None) -> dict:
    con = store.con
    where = f" WHERE chain_id IN ({', '.join(literal(c) for c in chain_ids)})" if chain_ids else ""
    codes: dict[str, list[str]] = {}
    for segment_id, code in con.execute(
            "SELECT segment_id, industry_code FROM segment_industries ORDER BY segment_id, industry_code").fetchall():
        codes.setdefault(segment_id, []).append(code)
    segments: dict[str, list[dict]] = {}
    for sid, cid, stage, parent, name, name_en, keywords, other in con.execute(
            "SELECT segment_id, chain_id, stage, parent_segment_id, name, name_en, keywords, non_manufacturing_codes "
            f"FROM chain_segments{where} ORDER BY chain_id, position, segment_id").fetchall():
        entry = {"segment_id": sid, "name": name, "codes": codes.get(sid, []),
                 "keywords": [w for w in (keywords or "").split(";") if w],
                 "non_manufacturing_codes": [w for w in (other or "").split(";") if w]}
        if parent:
            entry["parent_segment_id"] = parent
        else:
            entry["stage"] = stage
        if name_en:
            entry["name_en"] = name_en
        segments.setdefault(cid, []).append(entry)
    chains = []
    for cid, name, name_en, note, status, source in con.execute(
            f"SELECT chain_id, name, name_en, note, status, source FROM chains{where} ORDER BY chain_id").fetchall():
        entry = {"chain_id": cid, "name": name, "segments": segments.get(cid, [])}
        for key, value in (("name_en", name_en), ("note", note), ("status", status), ("source", source)):
            if value:
                entry[key] = value
        chains.append(entry)
    return {"chains": chains}


def stored_chains(store: Store, chain_ids: list[str] | None = None) -> tuple[Chain, ...]:
    """The chain model as it is in the store (packaged and user chains), in chain-id order."""
    data = _stored_data(store, chain_ids)
    if not data["chains"]:
        return ()
    return parse_chains(data, "database", _known_codes() | _stored_codes(store))


def _stored_codes(store: Store) -> set[str]:
    return {c for (c,) in store.con.execute("SELECT code FROM industries").fetchall()}


def chain_list(store: Store) -> list[dict]:
    """One row per chain for the admin screens: origin, last change, segments, firms by method."""
    rows = store.con.execute("""
        SELECT c.chain_id, c.name, c.name_en, coalesce(c.origin, 'package'), c.updated_at, c.source,
               (SELECT count(*) FROM chain_segments s WHERE s.chain_id = c.chain_id),
               (SELECT count(*) FROM chain_segments s WHERE s.chain_id = c.chain_id AND s.parent_segment_id IS NOT NULL),
               (SELECT count(DISTINCT es.uscc) FROM enterprise_segments es JOIN chain_segments s USING (segment_id)
                WHERE s.chain_id = c.chain_id AND es.role <> 'excluded'),
               (SELECT count(DISTINCT es.uscc) FROM enterprise_segments es JOIN chain_segments s USING (segment_id)
                WHERE s.chain_id = c.chain_id AND es.role = 'chain_leader')
        FROM chains c ORDER BY c.chain_id""").fetchall()
    packaged = _packaged()
    return [{"chain_id": r[0], "name": r[1], "name_en": r[2], "origin": r[3], "updated_at": r[4], "source": r[5],
             "segments": r[6], "sub_segments": r[7], "firms": r[8], "leaders": r[9], "packaged": r[0] in packaged}
            for r in rows]


def _write(store: Store, chain: Chain, origin: str, updated_at: datetime | None) -> tuple[list[str], int]:
    """Replace ``chain`` in the store (inside the caller's transaction); returns the segment ids it
    no longer has and how many membership rows went with them.

    Rows that stay are updated in place and only the difference is deleted or inserted: DuckDB
    refuses to insert a key deleted while another connection may still read it."""
    con = store.con
    cid = literal(chain.chain_id)
    old = {s for (s,) in con.execute(f"SELECT segment_id FROM chain_segments WHERE chain_id = {cid}").fetchall()}
    removed = sorted(old - {s.segment_id for s in chain.segments})
    dropped = 0
    if removed:
        ids = ", ".join(literal(s) for s in removed)
        dropped = con.execute(f"SELECT count(*) FROM enterprise_segments WHERE segment_id IN ({ids})").fetchone()[0]
        con.execute(f"DELETE FROM enterprise_segments WHERE segment_id IN ({ids})")
        con.execute(f"DELETE FROM segment_industries WHERE segment_id IN ({ids})")
        con.execute(f"DELETE FROM chain_segments WHERE segment_id IN ({ids})")
    row = {**chain_row(chain, origin), "updated_at": updated_at}
    con.execute(f"INSERT OR REPLACE INTO chains ({', '.join(row)}) VALUES ({', '.join(literal(v) for v in row.values())})")
    pairs = {(s.segment_id, c) for s in chain.segments for c in s.codes}
    stored = set(con.execute(f"SELECT segment_id, industry_code FROM segment_industries WHERE segment_id IN "
                             f"(SELECT segment_id FROM chain_segments WHERE chain_id = {cid})").fetchall())
    for segment_id, code in sorted(stored - pairs):
        con.execute(f"DELETE FROM segment_industries WHERE segment_id = {literal(segment_id)} "
                    f"AND industry_code = {literal(code)}")
    for position, segment in enumerate(chain.segments):
        srow = segment_row(segment, position)
        con.execute(f"INSERT OR REPLACE INTO chain_segments ({', '.join(srow)}) "
                    f"VALUES ({', '.join(literal(v) for v in srow.values())})")
    new = sorted(pairs - stored)
    if new:
        con.execute("INSERT INTO segment_industries (segment_id, industry_code) VALUES "
                    + ", ".join(f"({literal(sid)}, {literal(c)})" for sid, c in new))
    return removed, dropped


def _check_names(store: Store, chains: tuple[Chain, ...], where: str) -> None:
    """A chain's name picks it in imports (数字安防上游): two chains may not share one."""
    ids = {c.chain_id for c in chains}
    taken = {n: c for c, n in store.con.execute("SELECT chain_id, name FROM chains").fetchall() if c not in ids}
    for chain in chains:
        if chain.name in taken:
            raise ShanhaiError(f"{where}: chain {chain.chain_id!r} is named {chain.name!r} like the stored chain "
                               f"{taken[chain.name]!r}: chain names must differ")


def _transaction(store: Store, work):
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        result = work()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def import_chains(store: Store, path: str | Path, *, user: str | None = None) -> ChainImport:
    """Add or replace the chains of a TOML file or workbook (all or nothing). A chain with the id
    of a stored one replaces it — a packaged chain so edited becomes the user's (origin 'user')."""
    path = Path(path)
    chains = read_chain_file(path)
    _check_names(store, chains, path.name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    existing = {c for (c,) in store.con.execute("SELECT chain_id FROM chains").fetchall()}
    now = _now()

    def work() -> ChainImport:
        removed, dropped = [], 0
        for chain in chains:
            if not chain.source:
                chain = _with_source(chain, f"用户文件 {path.name}")
            r, d = _write(store, chain, "user", now)
            removed += r
            dropped += d
        result = ChainImport(file=path.name, sha256=digest, chains=[c.chain_id for c in chains],
                             created=[c.chain_id for c in chains if c.chain_id not in existing],
                             edited=[c.chain_id for c in chains if c.chain_id in existing],
                             segments=sum(len(c.segments) for c in chains), removed_segments=removed,
                             memberships_dropped=dropped)
        audit_append(store.con, "chains.import", username=user, target=path.name, detail=result.as_dict())
        return result

    return _transaction(store, work)


def _with_source(chain: Chain, source: str) -> Chain:
    from dataclasses import replace

    return replace(chain, source=source)


def check_segment_edit(store: Store, segment_id: str, *, codes: list[str] | None = None,
                       keywords: list[str] | None = None) -> tuple[Chain, dict]:
    """The segment's chain with new codes and/or keywords, validated like a file (nothing is
    written), and the segment's old lists."""
    row = store.con.execute(f"SELECT chain_id FROM chain_segments WHERE segment_id = {literal(segment_id)}").fetchone()
    if row is None:
        raise NotFoundError(f"there is no chain segment {segment_id!r}")
    data = _stored_data(store, [row[0]])
    entry = next(s for s in data["chains"][0]["segments"] if s["segment_id"] == segment_id)
    old = {"codes": list(entry["codes"]), "keywords": list(entry["keywords"])}
    if codes is not None:
        entry["codes"] = list(codes)
    if keywords is not None:
        entry["keywords"] = list(keywords)
    (chain,) = parse_chains(data, "表单 form", _known_codes())
    return chain, old


def update_segment(store: Store, segment_id: str, *, codes: list[str] | None = None,
                   keywords: list[str] | None = None, user: str | None = None) -> Segment:
    """Set one segment's industry codes and/or keywords (validated like a file); its chain becomes
    the user's."""
    chain, old = check_segment_edit(store, segment_id, codes=codes, keywords=keywords)
    segment = next(s for s in chain.segments if s.segment_id == segment_id)

    def work() -> Segment:
        _write(store, chain, "user", _now())
        audit_append(store.con, "chains.segment.edit", username=user, target=segment_id,
                     detail={"chain": chain.chain_id, "before": old,
                             "after": {"codes": list(segment.codes), "keywords": list(segment.keywords)}})
        return segment

    return _transaction(store, work)


def delete_chain(store: Store, chain_id: str, *, user: str | None = None) -> dict:
    """Delete a user's chain with its segments and membership rows (a packaged chain cannot be
    deleted: ``restore_chain`` undoes a user's edits of one)."""
    row = store.con.execute(f"SELECT name FROM chains WHERE chain_id = {literal(chain_id)}").fetchone()
    if row is None:
        raise NotFoundError(f"there is no chain {chain_id!r}")
    if chain_id in _packaged():
        raise ShanhaiError(f"chain {chain_id!r} ({row[0]}) is one of the packaged 标志性产业链 and cannot be deleted: "
                           "restore its packaged definition instead")
    cid = literal(chain_id)

    def work() -> dict:
        segments = f"SELECT segment_id FROM chain_segments WHERE chain_id = {cid}"
        members = store.con.execute(f"SELECT count(*) FROM enterprise_segments WHERE segment_id IN ({segments})").fetchone()[0]
        n_segments = store.con.execute(f"SELECT count(*) FROM chain_segments WHERE chain_id = {cid}").fetchone()[0]
        store.con.execute(f"DELETE FROM enterprise_segments WHERE segment_id IN ({segments})")
        store.con.execute(f"DELETE FROM segment_industries WHERE segment_id IN ({segments})")
        store.con.execute(f"DELETE FROM chain_segments WHERE chain_id = {cid}")
        store.con.execute(f"DELETE FROM chains WHERE chain_id = {cid}")
        result = {"chain_id": chain_id, "name": row[0], "segments": n_segments, "memberships_dropped": members}
        audit_append(store.con, "chains.delete", username=user, target=chain_id, detail=result)
        return result

    return _transaction(store, work)


def restore_chain(store: Store, chain_id: str, *, user: str | None = None) -> dict:
    """Put back the packaged definition of one of the ten chains (origin 'package' again)."""
    packaged = _packaged().get(chain_id)
    if packaged is None:
        raise NotFoundError(f"{chain_id!r} is not one of the packaged chains: "
                            + ", ".join(_packaged()))

    def work() -> dict:
        removed, dropped = _write(store, packaged, "package", None)
        result = {"chain_id": chain_id, "removed_segments": removed, "memberships_dropped": dropped}
        audit_append(store.con, "chains.restore", username=user, target=chain_id, detail=result)
        return result

    return _transaction(store, work)


# ---- export ----------------------------------------------------------------------------------

def export_rows(chains: tuple[Chain, ...]) -> list[list[str]]:
    """The workbook's rows (header first) for ``chains``: one row per segment."""
    keys = list(COLUMNS)
    out = [[COLUMNS[k][0] for k in keys]]
    for chain in chains:
        for segment in chain.segments:
            value = {
                "chain.chain_id": chain.chain_id, "chain.name": chain.name, "segment_id": segment.segment_id,
                "parent_segment_id": segment.parent_segment_id or "",
                "stage": "" if segment.parent_segment_id else STAGE_LABELS[segment.stage],
                "name": segment.name, "codes": ";".join(segment.codes), "keywords": "、".join(segment.keywords),
                "non_manufacturing_codes": ";".join(segment.non_manufacturing_codes),
                "chain.name_en": chain.name_en, "name_en": segment.name_en, "chain.source": chain.source,
                "chain.note": chain.note, "chain.status": chain.status,
            }
            out.append([value[k] or "" for k in keys])
    return out


def write_workbook(chains: tuple[Chain, ...], target) -> None:
    """Write ``chains`` as the import layout to ``target`` (a path or a binary file object)."""
    from shanhai.reports._safe import workbook

    rows = export_rows(chains)
    book = workbook(target, {"in_memory": True})
    try:
        sheet = book.add_worksheet(SHEET)
        head = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1, "text_wrap": True})
        required = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True})
        text = book.add_format({"num_format": "@"})
        keys = list(COLUMNS)
        for c, key in enumerate(keys):
            sheet.write_string(0, c, rows[0][c], required if COLUMNS[key][2] else head)
            sheet.write_comment(0, c, COLUMNS[key][3])
        for r, row in enumerate(rows[1:], start=1):
            for c, v in enumerate(row):
                sheet.write_string(r, c, v, text)
        widths = {"chain.chain_id": 22, "chain.name": 16, "segment_id": 40, "parent_segment_id": 30, "stage": 10,
                  "name": 24, "codes": 36, "keywords": 44, "non_manufacturing_codes": 16, "chain.name_en": 24,
                  "name_en": 36, "chain.source": 40, "chain.note": 40, "chain.status": 30}
        for c, key in enumerate(keys):
            sheet.set_column(c, c, widths.get(key, 16), text)
        stage = keys.index("stage")
        sheet.data_validation(1, stage, max(len(rows), 500), stage,
                              {"validate": "list", "source": list(STAGE_LABELS.values()), "ignore_blank": True})
        sheet.freeze_panes(1, 2)
        notes = book.add_worksheet(NOTES_SHEET)
        notes.write_row(0, 0, ["列 column", "必填 required", "说明 what it holds"], head)
        for r, key in enumerate(keys, start=1):
            notes.write_row(r, 0, [COLUMNS[key][0], "是" if COLUMNS[key][2] else "", COLUMNS[key][3]])
        tail = len(keys) + 2
        for i, line in enumerate((
                "一行一个环节(含子环节); 只读取第一个工作表。导入时, 文件中的每条产业链整体替换数据库中同代码的产业链。",
                "与内置标志性产业链代码相同的产业链视为对该链的修改, 重新加载内置参考数据不会覆盖; 可在管理页面恢复内置定义。",
                "子环节属于上级环节: 归入子环节的企业也属于上级环节。企业归属按行业代码与关键词重新计算, 人工认定与排除保留。")):
            notes.write_string(tail + i, 0, line)
        notes.set_column(0, 0, 22)
        notes.set_column(1, 1, 10)
        notes.set_column(2, 2, 90)
    finally:
        book.close()


def export_chains(store: Store, path: str | Path) -> dict:
    """Write the chain model of the store as a workbook in the import layout."""
    path = Path(path)
    chains = stored_chains(store)
    if not chains:
        raise ShanhaiError("the database holds no chains: run `shanhai db init` to load the reference data")
    write_workbook(chains, str(path))
    return {"file": str(path), "chains": len(chains), "segments": sum(len(c.segments) for c in chains)}
