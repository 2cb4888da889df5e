"""Chain membership: which firms sit in which chain segments, and the chain leaders (链主).

``assign_members`` recomputes the rows of ``enterprise_segments`` a rule derives, in one set of SQL
statements in the store (no Python loop over firms):

- method ``code``: the firm's industry class lies under one of the segment's codes (a 2-, 3- or
  4-digit code covers the classes that start with it);
- method ``keyword``: one of the segment's keywords occurs in the firm's name or business scope
  (经营范围), upper or lower case alike, for a firm not already in that segment by code;
- a firm in a sub-segment is also in its parent, by the same method;
- every ``manual`` row is kept as it is and wins over the rules: an analyst's member, supplier or
  chain-leader row, and an **exclusion** — role ``excluded`` with method ``manual`` — which removes
  a firm from a segment its code or a keyword put it in. Readers leave excluded rows out;
- chain leaders among the computed rows follow ``reference.LEADER_RULE`` (the synthetic province
  uses the same rule): per chain, the province's top firms by revenue in the latest year among
  those above scale that year, plus each city's largest when the city has enough above-scale
  members; a leader's rows in every segment of that chain get role ``chain_leader``.

Keywords are matched exactly without testing every keyword against every firm: one regular
expression of all keywords (longest first) extracts the keywords in each text, left to right
without overlaps; an extracted keyword stands for itself and every keyword inside it, and for the
few keywords that can start inside it and run past its end (整车 … 车身), which are then looked for
in that text alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from shanhai import reference
from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.store import Store
from shanhai.store.audit import append as audit_append
from shanhai.store.sql import literal

COMPUTED = ("code", "keyword")
MANUAL_ROLES = ("member", "chain_leader", "supplier", "excluded")
ROLE_LABELS = {"member": ("成员", "member"), "chain_leader": ("链主", "chain leader"),
               "supplier": ("配套", "supplier"), "excluded": ("排除", "excluded")}
METHOD_LABELS = {"code": ("按行业代码", "by industry code"), "keyword": ("按关键词", "by keyword"),
                 "manual": ("人工认定", "manual")}
_SEPARATOR = "|"                          # between name and business scope; never inside a keyword
_REGEX_SPECIAL = set("\\.^$|?*+()[]{}")

Progress = Callable[[str, float], None]


@dataclass
class MembershipSummary:
    """What a recomputation left in ``enterprise_segments`` (rows, unless said otherwise)."""

    code: int                 # computed by industry code
    keyword: int              # computed by keyword (firms not in that segment by code)
    manual: int               # manual rows kept, exclusions included
    excluded: int             # manual exclusions
    leaders: int              # (chain, firm) pairs with the role chain_leader, manual ones included
    firms: int                # firms in at least one segment (exclusions aside)
    chains: dict[str, dict] = field(default_factory=dict)   # chain_id -> firms, leaders, by method
    dataset: str | None = None
    year: int | None = None   # the data year chain leaders were chosen by
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def _regex(words) -> str:
    """An RE2 alternation of ``words``, longest first (so a longer keyword wins at a position)."""
    escaped = ("".join("\\" + ch if ch in _REGEX_SPECIAL else ch for ch in w)
               for w in sorted(words, key=lambda w: (-len(w), w)))
    return "|".join(escaped)


def _partial_overlaps(words: set[str]) -> set[tuple[str, str]]:
    """(a, b) where keyword b starts inside keyword a, after a's start, and runs past a's end: a
    match of a can hide an occurrence of b from the regex's non-overlapping matches."""
    found = set()
    for a in words:
        for b in words:
            if a != b and b not in a and any(a.endswith(b[:k]) for k in range(1, min(len(a), len(b)))):
                found.add((a, b))
    return found


def _keyword_tables(store: Store) -> str | None:
    """Create ``_kw_expand`` (an extracted keyword → the segments of every keyword inside it) and
    ``_kw_partial`` (an extracted keyword → keywords it may hide, with their segments); returns the
    regular expression of all keywords (None when there are none)."""
    con = store.con
    rows = con.execute("SELECT segment_id, keywords FROM chain_segments WHERE coalesce(keywords, '') <> ''").fetchall()
    segments_of: dict[str, set[str]] = {}
    for segment_id, text in rows:
        for word in text.split(";"):
            word = word.strip().lower()
            if word:
                segments_of.setdefault(word, set()).add(segment_id)
    words = set(segments_of)
    expand = sorted({(w, s) for w in words for k in words if k in w for s in segments_of[k]})
    partial = sorted({(a, b, s) for a, b in _partial_overlaps(words) for s in segments_of[b]})
    con.execute("CREATE OR REPLACE TEMP TABLE _kw_expand (word VARCHAR, segment_id VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE _kw_partial (after VARCHAR, word VARCHAR, segment_id VARCHAR)")
    for table, tuples in (("_kw_expand", expand), ("_kw_partial", partial)):
        for start in range(0, len(tuples), 500):
            chunk = tuples[start:start + 500]
            con.execute(f"INSERT INTO {table} VALUES " + ", ".join(
                "(" + ", ".join(literal(v) for v in t) + ")" for t in chunk))
    return _regex(words) if words else None


def _firms(dataset: str | None) -> str:
    where = f" WHERE dataset_id = {literal(dataset)}" if dataset is not None else ""
    return f"SELECT uscc, industry_code, name, business_scope, dataset_id FROM enterprises{where}"


def _computed_rows_sql(firms: str, regex: str | None) -> str:
    """SELECT uscc, segment_id, method, dataset_id of the memberships of ``firms`` by the rules,
    except where an analyst's (manual) row holds the pair."""
    # case-insensitive matching (PCB, IGBT) by the regex, not lower() over every text (slow on CJK)
    text = f"concat_ws({literal(_SEPARATOR)}, name, business_scope)"
    keyword_hits = "SELECT NULL::VARCHAR AS uscc, NULL::VARCHAR AS segment_id WHERE false"
    if regex is not None:
        keyword_hits = f"""
            WITH w AS (
                SELECT uscc, text,
                       unnest(list_distinct(list_transform(regexp_extract_all(text, {literal('(?i)' + regex)}),
                                                           x -> lower(x)))) AS word
                FROM (SELECT uscc, {text} AS text FROM f))
            SELECT w.uscc, x.segment_id FROM w JOIN _kw_expand x ON x.word = w.word
            UNION
            SELECT w.uscc, p.segment_id FROM w JOIN _kw_partial p ON p.after = w.word
            WHERE contains(lower(w.text), p.word)"""
    return f"""
        WITH f AS ({firms}),
        prefixes AS (
            SELECT DISTINCT uscc, unnest([left(industry_code, 2), left(industry_code, 3), left(industry_code, 4)]) AS code
            FROM f WHERE industry_code IS NOT NULL),
        hits AS (
            SELECT DISTINCT p.uscc, si.segment_id, 'code' AS method
            FROM prefixes p JOIN segment_industries si ON si.industry_code = p.code
            UNION ALL
            SELECT uscc, segment_id, 'keyword' FROM ({keyword_hits})),
        placed AS (         -- a sub-segment's firms are in its parent too
            SELECT h.uscc, s.segment_id, h.method FROM hits h JOIN chain_segments s ON s.segment_id = h.segment_id
            UNION ALL
            SELECT h.uscc, s.parent_segment_id, h.method FROM hits h JOIN chain_segments s ON s.segment_id = h.segment_id
            WHERE s.parent_segment_id IS NOT NULL),
        best AS (SELECT uscc, segment_id, min(method) AS method FROM placed GROUP BY ALL)   -- 'code' < 'keyword'
        SELECT b.uscc, b.segment_id, b.method, f.dataset_id
        FROM best b JOIN f ON f.uscc = b.uscc
        ANTI JOIN (SELECT uscc, segment_id FROM enterprise_segments WHERE method NOT IN ('code', 'keyword')) es
            ON es.uscc = b.uscc AND es.segment_id = b.segment_id"""


def _leaders_sql(year: int) -> str:
    """(chain_id, uscc) of the computed chain leaders by ``reference.LEADER_RULE``."""
    rule = reference.LEADER_RULE
    return f"""
        WITH m AS (
            SELECT DISTINCT es.uscc, s.chain_id FROM enterprise_segments es JOIN chain_segments s USING (segment_id)
            WHERE es.method IN ('code', 'keyword')),
        a AS (
            SELECT m.chain_id, m.uscc, ey.revenue, r.city_adcode
            FROM m JOIN enterprise_years ey ON ey.uscc = m.uscc AND ey.year = {year} AND ey.above_scale
            JOIN enterprises e ON e.uscc = m.uscc
            LEFT JOIN regions r ON r.adcode = e.county_adcode),
        ranked AS (
            SELECT chain_id, uscc, city_adcode,
                   row_number() OVER (PARTITION BY chain_id ORDER BY revenue DESC NULLS LAST, uscc) AS province_rank,
                   row_number() OVER (PARTITION BY chain_id, city_adcode ORDER BY revenue DESC NULLS LAST, uscc) AS city_rank,
                   count(*) OVER (PARTITION BY chain_id, city_adcode) AS city_members
            FROM a)
        SELECT chain_id, uscc FROM ranked
        WHERE province_rank <= {rule.province_top}
           OR (city_adcode IS NOT NULL AND city_rank = 1 AND city_members >= {rule.city_min_members})"""


def assign_members(store: Store, *, dataset: str | None = None, user: str | None = None,
                   progress: Progress | None = None) -> MembershipSummary:
    """Recompute chain membership by industry code and keyword, keep every manual row, flag the
    chain leaders, in one transaction with an audit entry.

    ``dataset``: recompute only the firms of that dataset (``enterprises.dataset_id``, e.g. after
    an import); the chain leaders are chosen again over every firm. Computed rows carry their
    firm's dataset id.
    """
    started = time.perf_counter()
    step = progress or (lambda label, fraction: None)
    con = store.con
    if dataset is not None and not con.execute(
            f"SELECT count(*) FROM enterprises WHERE dataset_id = {literal(dataset)}").fetchone()[0]:
        raise NotFoundError(f"no enterprises of dataset {dataset!r} in the register: "
                            "see `shanhai db info` for the datasets")
    firms = _firms(dataset)
    year = con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]
    con.execute("SET preserve_insertion_order = false")
    con.execute("BEGIN TRANSACTION")
    try:
        # the rows the rules give now; only the difference with the stored ones is written (deleting
        # and inserting a province's rows costs seconds in the table's primary-key index)
        step("产业链成员 chain membership: 按行业代码与关键词 by code and keyword", 0.1)
        regex = _keyword_tables(store)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _computed AS {_computed_rows_sql(firms, regex)}")
        step("产业链成员 chain membership: 写入 writing", 0.5)
        mine = f" AND es.uscc IN (SELECT uscc FROM enterprises WHERE dataset_id = {literal(dataset)})" if dataset else ""
        con.execute(f"""
            DELETE FROM enterprise_segments es WHERE es.method IN ('code', 'keyword'){mine}
              AND NOT EXISTS (SELECT 1 FROM _computed c WHERE c.uscc = es.uscc AND c.segment_id = es.segment_id)""")
        con.execute("""
            UPDATE enterprise_segments es SET method = c.method, dataset_id = c.dataset_id FROM _computed c
            WHERE es.uscc = c.uscc AND es.segment_id = c.segment_id
              AND (es.method IS DISTINCT FROM c.method OR es.dataset_id IS DISTINCT FROM c.dataset_id)""")
        con.execute("""
            INSERT INTO enterprise_segments (uscc, segment_id, role, method, dataset_id)
            SELECT c.uscc, c.segment_id, 'member', c.method, c.dataset_id FROM _computed c
            ANTI JOIN enterprise_segments es ON es.uscc = c.uscc AND es.segment_id = c.segment_id""")
        step("链主 chain leaders", 0.8)
        leaders = (f"(SELECT l.uscc, s.segment_id FROM ({_leaders_sql(year)}) l JOIN chain_segments s USING (chain_id))"
                   if year is not None else "(SELECT NULL::VARCHAR AS uscc, NULL::VARCHAR AS segment_id WHERE false)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE _leaders AS {leaders}")
        con.execute("""
            UPDATE enterprise_segments es SET role = x.role
            FROM (SELECT es.uscc, es.segment_id,
                         CASE WHEN l.uscc IS NULL THEN 'member' ELSE 'chain_leader' END AS role
                  FROM enterprise_segments es
                  LEFT JOIN _leaders l ON l.uscc = es.uscc AND l.segment_id = es.segment_id
                  WHERE es.method IN ('code', 'keyword')) x
            WHERE es.uscc = x.uscc AND es.segment_id = x.segment_id AND es.role <> x.role""")
        summary = _summary(store, dataset, year)
        audit_append(con, "chains.members", username=user, target=dataset or "all",
                     detail={"code": summary.code, "keyword": summary.keyword, "manual": summary.manual,
                             "excluded": summary.excluded, "leaders": summary.leaders, "firms": summary.firms,
                             "year": year})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("RESET preserve_insertion_order")
        for table in ("_kw_expand", "_kw_partial", "_computed", "_leaders"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    step("完成 done", 1.0)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _summary(store: Store, dataset: str | None = None, year: int | None = None) -> MembershipSummary:
    con = store.con
    by = {(m, r): n for m, r, n in con.execute(
        "SELECT method, role, count(*) FROM enterprise_segments GROUP BY ALL").fetchall()}
    chains: dict[str, dict] = {}
    for chain_id, method, firms in con.execute("""
            SELECT s.chain_id, es.method, count(DISTINCT es.uscc) FROM enterprise_segments es
            JOIN chain_segments s USING (segment_id) WHERE es.role <> 'excluded' GROUP BY ALL""").fetchall():
        chains.setdefault(chain_id, {"firms": 0, "leaders": 0, "by_method": {}})["by_method"][method] = firms
    for chain_id, firms, leaders in con.execute("""
            SELECT s.chain_id, count(DISTINCT es.uscc) FILTER (WHERE es.role <> 'excluded'),
                   count(DISTINCT es.uscc) FILTER (WHERE es.role = 'chain_leader')
            FROM enterprise_segments es JOIN chain_segments s USING (segment_id) GROUP BY ALL""").fetchall():
        entry = chains.setdefault(chain_id, {"firms": 0, "leaders": 0, "by_method": {}})
        entry["firms"], entry["leaders"] = firms, leaders
    leaders = con.execute("""
        SELECT count(*) FROM (SELECT DISTINCT es.uscc, s.chain_id FROM enterprise_segments es
        JOIN chain_segments s USING (segment_id) WHERE es.role = 'chain_leader')""").fetchone()[0]
    firms = con.execute("SELECT count(DISTINCT uscc) FROM enterprise_segments WHERE role <> 'excluded'").fetchone()[0]
    return MembershipSummary(
        code=sum(n for (m, _), n in by.items() if m == "code"),
        keyword=sum(n for (m, _), n in by.items() if m == "keyword"),
        manual=sum(n for (m, _), n in by.items() if m == "manual"),
        excluded=sum(n for (m, r), n in by.items() if r == "excluded"),
        leaders=leaders, firms=firms, chains=dict(sorted(chains.items())), dataset=dataset, year=year)


def membership_counts(store: Store) -> MembershipSummary:
    """The membership as it is stored now (no recomputation)."""
    year = store.con.execute("SELECT max(year) FROM enterprise_years").fetchone()[0]
    return _summary(store, None, year)


def _check(store: Store, uscc: str, segment_id: str) -> None:
    if not store.con.execute(f"SELECT count(*) FROM enterprises WHERE uscc = {literal(uscc)}").fetchone()[0]:
        raise NotFoundError(f"enterprise {uscc} is not in the enterprise register")
    if not store.con.execute(f"SELECT count(*) FROM chain_segments WHERE segment_id = {literal(segment_id)}").fetchone()[0]:
        raise NotFoundError(f"there is no chain segment {segment_id!r}")


def set_manual(store: Store, uscc: str, segment_id: str, role: str, *, user: str | None = None) -> None:
    """Record an analyst's decision for one firm and segment (method ``manual``, kept by every
    recomputation): ``member``, ``supplier``, ``chain_leader``, or ``excluded`` to take the firm
    out of a segment its code or a keyword put it in."""
    if role not in MANUAL_ROLES:
        raise ShanhaiError(f"unknown role {role!r}: expected one of {', '.join(MANUAL_ROLES)}")
    uscc = uscc.strip().upper()
    _check(store, uscc, segment_id)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        before = con.execute(f"SELECT role, method FROM enterprise_segments WHERE uscc = {literal(uscc)} "
                             f"AND segment_id = {literal(segment_id)}").fetchone()
        con.execute(f"INSERT OR REPLACE INTO enterprise_segments (uscc, segment_id, role, method, dataset_id) "
                    f"VALUES ({literal(uscc)}, {literal(segment_id)}, {literal(role)}, 'manual', NULL)")
        audit_append(con, "chains.member.set", username=user, target=f"{uscc}@{segment_id}",
                     detail={"role": role, "before": list(before) if before else None})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def clear_manual(store: Store, uscc: str, segment_id: str, *, user: str | None = None) -> bool:
    """Drop an analyst's decision for one firm and segment (an exclusion, say): the row becomes a
    computed member again, which the next ``assign_members`` keeps (the firm's code or keywords
    place it there) or deletes. False when there was no decision. (The row is changed rather than
    deleted: DuckDB refuses to insert a key deleted while another connection may still read it.)"""
    uscc = uscc.strip().upper()
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        before = con.execute(f"SELECT role FROM enterprise_segments WHERE uscc = {literal(uscc)} "
                             f"AND segment_id = {literal(segment_id)} AND method = 'manual'").fetchone()
        if before is None:
            con.execute("ROLLBACK")
            return False
        con.execute(f"UPDATE enterprise_segments SET role = 'member', method = 'code' WHERE uscc = {literal(uscc)} "
                    f"AND segment_id = {literal(segment_id)}")
        audit_append(con, "chains.member.clear", username=user, target=f"{uscc}@{segment_id}",
                     detail={"role": before[0]})
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True
