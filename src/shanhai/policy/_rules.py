"""The rule language: conditions over an enterprise's facts, as data (TOML), and the one engine
that evaluates them for every firm at once. Cultivation tiers (``policy/cultivation/*.toml``) and
support-policy items (惠企政策事项, ``policy/service/*.toml`` via :mod:`shanhai.policy._service`) are
both rule sets in this language; items add an ``[amount]`` (see "amounts" below).

**A rule set** names its document (``source``, ``source_keys``), its validity (``valid_from``,
``valid_to``: the date range it is in force) and a version, and holds

* ``conditions``: all required. A *leaf* compares one fact with a value::

      {id = "N-3a", label = "上年度营业收入", field = "revenue", op = ">=", value = 1500,
       unit = "万元", wording = "以上"}

  ``op`` is one of ``>= > <= < == !=`` (numbers), ``is_true`` / ``is_false`` (yes/no facts) or
  ``manual`` (a qualitative test: the result is *manual review*, or the recorded yes/no of
  ``field`` when a person has entered it). ``wording`` is the document's word and must agree with
  ``op`` (以上/不低于/达到/及以上 → ``>=``; 超过/高于/大于 → ``>``; 以下/不高于/不超过/以内 → ``<=``;
  低于/不满/不足/少于 → ``<``; 民法典 Art. 1259). ``years = n`` reads a yearly fact over the last
  ``n`` years ending with the data year, with ``aggregate`` = ``each`` (every year: n years in a
  row), ``any``, ``sum``, ``mean`` or ``first_time`` (holds in the data year and in no earlier
  year of the history the facts hold — every year loaded, whatever ``years`` says: 首次). ``near`` (absolute, in the condition's unit) overrides the rule
  set's relative margin for "near".
  A *group* is ``{id, label, all = [...]}``, ``{any = [...]}`` or ``{at_least = k, of = [...]}``.
* ``scores``: scored tables. An item scores one fact by ``bands`` (``{min = 80, points = 5}`` —
  value ≥ min; or ``{max = 50, points = 5}`` — value ≤ max; a last band with neither is "else"),
  a yes/no fact by ``points_true``, a fact that already is points by ``points_from`` (with ``cap``),
  or several sub-items by ``max_of`` / ``sum_of`` (with ``cap``).
  ``edge = "higher"`` (default) puts a value on a shared band edge in the higher-scoring band (the
  bands are inclusive); ``"lower"`` makes them exclusive. Items belong to ``block``\\ s. A
  condition reads a score as ``field = "score:ID"`` or ``"score:ID:BLOCK"``.
* ``exclusions``: conditions that, when they hold, make the firm not eligible (bad credit, a
  major safety or environmental accident ...). Flags are never missing (no record = no).
* ``review_when``: conditions that, when they hold, send a firm that does not fail to *needs
  review* (review ``manual``) — a jurisdiction carve-out (宁波 for the provincial 首台(套) award) or a
  wording that leaves a group's coverage open. Never a pass, never a fail.

**Missing data is not a failure.** Every condition is *pass*, *fail*, *unknown* (a fact it needs
is missing) or *manual* (qualitative). Groups combine them in three-valued logic (``all``: fail if
any fails, else unknown/manual if any is, else pass; ``any``: pass if any passes ...; ``at_least``:
pass with k passes, fail when even the unknown ones could not make k). A score with missing items
is an interval [points known, points known + the missing items' maxima]: a threshold on it passes
when the low end passes, fails when the high end fails, and is unknown in between.

**Outcomes.** ``eligible`` (every condition passes); ``needs_review`` (none fails, some unknown or
manual — ``review`` says which: ``missing`` data or ``manual`` only); ``near`` (it fails, but at
most ``near.max_missed`` top-level conditions, each within the margin — ``gap`` says by how much:
"营业收入 1,850 万元, 差 150 万元"); ``not_eligible``. Comparisons use a tolerance of
:data:`TOLERANCE` relative, so that 4,800 × 1.05² or 1,200 ÷ 1,500 land on their edge.

Evaluation is vectorised: a :class:`Facts` holds one numpy column per fact (NaN = missing; yes/no
as 1/0) and per yearly fact a matrix (firms × years, oldest first); :func:`evaluate` runs every
condition over every firm as array operations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
import warnings
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np

from shanhai.policy._load import PolicyError

TOLERANCE = 1e-9
OUTCOMES = ("eligible", "needs_review", "near", "not_eligible")
OUTCOME_LABELS = {"eligible": ("符合", "Eligible"), "needs_review": ("待核实", "Needs review"),
                  "near": ("接近", "Near"), "not_eligible": ("不符合", "Not eligible")}
OUTCOME_RANK = {"not_eligible": 0, "near": 1, "needs_review": 2, "eligible": 3}
_OC = OUTCOME_RANK                      # outcome codes of Evaluation.code
_OUTCOME_NAMES = np.array(sorted(OUTCOME_RANK, key=OUTCOME_RANK.get), dtype=object)
_REVIEW_NAMES = np.array(["", "missing", "manual"], dtype=object)
# condition status codes
FAIL, PASS, UNKNOWN, MANUAL = 0, 1, 2, 3
STATUS_NAMES = {FAIL: "fail", PASS: "pass", UNKNOWN: "unknown", MANUAL: "manual"}
STATUS_LABELS = {"fail": ("未达到", "missed"), "pass": ("达到", "met"), "unknown": ("缺数据", "data missing"),
                 "manual": ("待人工审核", "manual review")}
COMPARE = (">=", ">", "<=", "<", "==", "!=")
OPS = COMPARE + ("is_true", "is_false", "manual")
AGGREGATES = ("each", "any", "sum", "mean", "first_time")
KINDS = ("number", "bool")
# the document's wording → the operator it means (民法典 Art. 1259: 以上/以下/以内 include the number)
WORDING = {"以上": ">=", "及以上": ">=", "不低于": ">=", "不少于": ">=", "达到": ">=", "≥": ">=",
           "超过": ">", "高于": ">", "大于": ">",
           "以下": "<=", "及以下": "<=", "不高于": "<=", "不超过": "<=", "以内": "<=", "≤": "<=",
           "低于": "<", "不满": "<", "不足": "<", "少于": "<", "小于": "<"}
SUFFIX_WORDS = ("以上", "及以上", "以下", "及以下", "以内")
OP_WORDS = {">=": "不低于", ">": "超过", "<=": "不超过", "<": "低于", "==": "等于", "!=": "不等于"}


# ---- the fact catalogue ------------------------------------------------------------------------

@dataclass(frozen=True)
class FactDef:
    """A fact the rules may read: its identifier, Chinese and English labels, unit, kind, and
    whether it is yearly (a history the ``years`` of a condition can read)."""
    id: str
    label: str
    label_en: str = ""
    unit: str = ""
    kind: str = "number"
    yearly: bool = False
    source: str = ""


def load_catalogue(path: Path) -> dict[str, FactDef]:
    """A fact catalogue (``[[facts]]`` tables) from TOML; a PolicyError naming the entry otherwise."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: not a readable UTF-8 TOML file: {exc}") from None
    out: dict[str, FactDef] = {}
    for i, f in enumerate(data.get("facts", [])):
        where = f"{path.name}: facts[{i}]"
        if not isinstance(f, dict) or not isinstance(f.get("id"), str) or not isinstance(f.get("label"), str):
            raise PolicyError(f"{where}: needs an id and a label")
        extra = set(f) - {"id", "label", "label_en", "unit", "kind", "yearly", "source"}
        if extra:
            raise PolicyError(f"{where}: unknown keys {', '.join(sorted(extra))}")
        if f.get("kind", "number") not in KINDS:
            raise PolicyError(f"{where}: kind must be one of {', '.join(KINDS)}")
        if f["id"] in out:
            raise PolicyError(f"{where}: fact {f['id']} is defined twice")
        out[f["id"]] = FactDef(**f)
    if not out:
        raise PolicyError(f"{path}: no [[facts]] defined")
    return out


# ---- the rule model ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Leaf:
    id: str
    label: str
    label_en: str
    field: str | None
    op: str
    value: float | None
    unit: str
    wording: str
    years: int
    aggregate: str
    near: float | None
    source: str

    def describe(self, catalogue: dict[str, FactDef] | None = None) -> str:
        if self.op == "manual":
            return f"{self.label}（人工审核）"
        if self.op in ("is_true", "is_false"):
            return f"{self.label}：{'是' if self.op == 'is_true' else '否'}"
        word = self.wording or OP_WORDS[self.op]
        span = ""
        if self.years > 1:
            span = {"each": f"近{self.years}年每年", "any": f"近{self.years}年任一年", "sum": f"近{self.years}年合计",
                    "mean": f"近{self.years}年平均", "first_time": "首次"}[self.aggregate]
        amount = f"{fmt_value(self.value)}{(' ' + self.unit) if self.unit else ''}"
        text = f"{amount}{word}" if word in SUFFIX_WORDS else f"{word}{amount}"
        return f"首次{self.label}{text}" if self.aggregate == "first_time" else f"{span}{self.label}{text}"


@dataclass(frozen=True)
class Group:
    id: str
    label: str
    label_en: str
    mode: str                    # all | any | at_least
    k: int
    children: tuple


@dataclass(frozen=True)
class Band:
    lo: float | None
    hi: float | None
    points: float


@dataclass(frozen=True)
class Item:
    id: str
    label: str
    block: str
    field: str | None
    bands: tuple[Band, ...]
    points_true: float | None
    points_false: float
    combine: str                  # bands | bool | max_of | sum_of
    parts: tuple
    cap: float | None

    @property
    def max_points(self) -> float:
        if self.combine == "bands":
            return max(b.points for b in self.bands)
        if self.combine == "bool":
            return max(float(self.points_true or 0), self.points_false)
        if self.combine == "value":
            return float(self.cap)
        sub = [p.max_points for p in self.parts]
        total = max(sub) if self.combine == "max_of" else sum(sub)
        return min(total, self.cap) if self.cap is not None else total


@dataclass(frozen=True)
class Score:
    id: str
    label: str
    edge: str
    items: tuple[Item, ...]

    @property
    def blocks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.block for i in self.items))


@dataclass(frozen=True)
class RuleSet:
    name: str
    display_name: str
    display_name_en: str
    tier: str
    version: str
    source: str
    source_keys: tuple[str, ...]
    valid_from: dt.date
    valid_to: dt.date | None
    published: bool
    notes: tuple[str, ...]
    near_relative: float
    near_max_missed: int
    conditions: tuple
    exclusions: tuple[Leaf, ...]
    scores: tuple[Score, ...]
    raw: dict = field(compare=False, repr=False)
    review_when: tuple = ()        # leaves that, when they hold, send the firm to manual review

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode()).hexdigest()

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def leaves(self) -> list[Leaf]:
        out: list[Leaf] = []

        def walk(node):
            if isinstance(node, Leaf):
                out.append(node)
            else:
                for c in node.children:
                    walk(c)
        for c in self.conditions:
            walk(c)
        return out

    def fields(self) -> set[str]:
        """Every fact the rule set reads (conditions, exclusions, scores)."""
        out = {x.field for x in self.leaves() + list(self.exclusions) + list(self.review_when)
               if x.field and not x.field.startswith("score:")}

        def items(it):
            if it.field:
                out.add(it.field)
            for p in it.parts:
                items(p)
        for s in self.scores:
            for it in s.items:
                items(it)
        return out

    def upper_bounded(self) -> set[str]:
        """Facts with a ceiling in some condition (``<=``/``<``): raising them may cost eligibility."""
        return {x.field for x in self.leaves() if x.field and x.op in ("<=", "<")}

    def node(self, node_id: str):
        def walk(node):
            if node.id == node_id:
                return node
            if isinstance(node, Group):
                for c in node.children:
                    hit = walk(c)
                    if hit is not None:
                        return hit
            return None
        for c in list(self.conditions) + list(self.exclusions) + list(self.review_when):
            hit = walk(c)
            if hit is not None:
                return hit
        raise PolicyError(f"rule set {self.name} has no condition {node_id!r}")


def fmt_value(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    v = float(v)
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


# ---- validation on load --------------------------------------------------------------------------

class _Checker:
    def __init__(self, source: str, catalogue: dict[str, FactDef]):
        self.source = source
        self.catalogue = catalogue
        self.ids: set[str] = set()
        self.score_ids: dict[str, Score] = {}

    def fail(self, where: str, message: str):
        raise PolicyError(f"{self.source}: {where}: {message}")

    def keys(self, d, where: str, allowed: set[str]):
        if not isinstance(d, dict):
            self.fail(where, "expected a table {…}")
        extra = set(d) - allowed
        if extra:
            self.fail(where, f"unknown keys {', '.join(sorted(extra))}: expected some of {', '.join(sorted(allowed))}")

    def text(self, d, key, where, required=True) -> str:
        v = d.get(key, "")
        if not isinstance(v, str) or (required and not v.strip()):
            self.fail(where, f"{key} must be {'a non-empty' if required else 'a'} text")
        return v

    def number(self, v, where, what) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            self.fail(where, f"{what} must be a finite number (got {v!r})")
        return float(v)

    def new_id(self, d, where) -> str:
        i = self.text(d, "id", where)
        if i in self.ids:
            self.fail(where, f"id {i!r} is used twice")
        self.ids.add(i)
        return i

    def fact(self, name, where) -> FactDef | None:
        if not isinstance(name, str):
            self.fail(where, f"field must be a fact name (got {name!r})")
        if name.startswith("score:"):
            parts = name.split(":")
            score = self.score_ids.get(parts[1]) if len(parts) in (2, 3) else None
            if score is None:
                self.fail(where, f"field {name!r}: no score {parts[1] if len(parts) > 1 else ''!r} in this rule set "
                                 f"(scores: {', '.join(self.score_ids) or 'none'})")
            if len(parts) == 3 and parts[2] not in score.blocks:
                self.fail(where, f"field {name!r}: score {parts[1]} has no block {parts[2]!r} "
                                 f"(blocks: {', '.join(score.blocks)})")
            return None
        if name not in self.catalogue:
            close = sorted(k for k in self.catalogue if k[:3] == name[:3])[:5]
            self.fail(where, f"field {name!r} is not a known fact" + (f" (did you mean {', '.join(close)}?)" if close else ""))
        return self.catalogue[name]

    def leaf(self, d, where, *, exclusion=False) -> Leaf:
        self.keys(d, where, {"id", "label", "label_en", "field", "op", "value", "unit", "wording", "years",
                             "aggregate", "near", "source"})
        cid = self.new_id(d, where)
        where = f"{where} ({cid})"
        label = self.text(d, "label", where)
        op = d.get("op")
        if op not in OPS:
            self.fail(where, f"op must be one of {', '.join(OPS)} (got {op!r})")
        name = d.get("field")
        if name is None and op != "manual":
            self.fail(where, "field is required (only op = \"manual\" may go without)")
        fact = self.fact(name, where) if name is not None else None
        wording = self.text(d, "wording", where, required=False)
        if wording:
            if op not in COMPARE or wording not in WORDING:
                self.fail(where, f"wording {wording!r} is for a threshold: expected one of {', '.join(WORDING)} "
                                 f"with a comparison op")
            if WORDING[wording] != op:
                self.fail(where, f"wording {wording!r} means op = \"{WORDING[wording]}\", not {op!r} "
                                 f"(以上/不低于 include the number, 超过/高于 do not)")
        value = d.get("value")
        is_score = isinstance(name, str) and name.startswith("score:")
        if op in COMPARE:
            value = self.number(value, where, "value")
            if fact is not None and fact.kind == "bool":
                self.fail(where, f"fact {name} is yes/no: use op = \"is_true\" or \"is_false\"")
        elif value is not None:
            self.fail(where, f"op {op!r} takes no value")
        if op in ("is_true", "is_false", "manual") and fact is not None and fact.kind != "bool":
            self.fail(where, f"op {op!r} needs a yes/no fact; {name} is a number")
        unit = self.text(d, "unit", where, required=False)
        if fact is not None and unit and unit != fact.unit:
            self.fail(where, f"unit {unit!r} does not match the fact {name}'s unit {fact.unit!r}")
        if fact is not None and not unit:
            unit = fact.unit
        if is_score and not unit:
            unit = "分"
        years = d.get("years", 1)
        if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 10:
            self.fail(where, f"years must be a whole number from 1 to 10 (got {years!r})")
        aggregate = d.get("aggregate", "each")
        if aggregate not in AGGREGATES:
            self.fail(where, f"aggregate must be one of {', '.join(AGGREGATES)} (got {aggregate!r})")
        if (years > 1 or "aggregate" in d) and (fact is None or not fact.yearly):
            if aggregate != "first_time" or fact is None or not fact.yearly:
                self.fail(where, f"years/aggregate need a yearly fact; {name} is not one")
        if aggregate in ("sum", "mean") and op not in COMPARE:
            self.fail(where, f"aggregate {aggregate!r} needs a comparison op")
        near = d.get("near")
        if near is not None:
            near = self.number(near, where, "near")
            if near < 0 or op not in COMPARE:
                self.fail(where, "near must be ≥ 0 and only on a comparison")
        if exclusion and op == "manual":
            self.fail(where, "an exclusion cannot be manual")
        return Leaf(cid, label, self.text(d, "label_en", where, required=False), name, op, value, unit, wording,
                    years, aggregate, near, self.text(d, "source", where, required=False))

    def node(self, d, where, depth=0):
        if depth > 8:
            self.fail(where, "groups nest more than 8 deep")
        if not isinstance(d, dict):
            self.fail(where, "expected a table {…}")
        modes = [m for m in ("all", "any", "of") if m in d]
        if not modes:
            return self.leaf(d, where)
        if len(modes) > 1:
            self.fail(where, "a group has exactly one of all, any or (at_least with of)")
        self.keys(d, where, {"id", "label", "label_en", "all", "any", "of", "at_least", "source"})
        gid = self.new_id(d, where)
        where = f"{where} ({gid})"
        mode = modes[0]
        children = d[mode]
        if not isinstance(children, list) or not children:
            self.fail(where, f"{mode} must be a non-empty list of conditions")
        k = 0
        if mode == "of":
            k = d.get("at_least")
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(children):
                self.fail(where, f"at_least must be a whole number from 1 to {len(children)} (got {k!r})")
            mode = "at_least"
        elif "at_least" in d:
            self.fail(where, "at_least goes with of = [...]")
        kids = tuple(self.node(c, f"{where}.{modes[0]}[{i}]", depth + 1) for i, c in enumerate(children))
        return Group(gid, self.text(d, "label", where), self.text(d, "label_en", where, required=False), mode, k, kids)

    def bands(self, raw, where) -> tuple[Band, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail(where, "bands must be a non-empty list")
        out = []
        for i, b in enumerate(raw):
            w = f"{where}.bands[{i}]"
            self.keys(b, w, {"min", "max", "points"})
            lo = None if b.get("min") is None else self.number(b["min"], w, "min")
            hi = None if b.get("max") is None else self.number(b["max"], w, "max")
            if lo is not None and hi is not None:
                self.fail(w, "a band has min or max, not both")
            if lo is None and hi is None and i != len(raw) - 1:
                self.fail(w, "only the last band may have neither min nor max (the 'else' band)")
            out.append(Band(lo, hi, self.number(b.get("points"), w, "points")))
        kinds = {("min" if b.lo is not None else "max") for b in out if b.lo is not None or b.hi is not None}
        if len(kinds) > 1:
            self.fail(where, "bands mix min and max: use min bands (higher is better) or max bands (lower is better)")
        edges = [b.lo if b.lo is not None else b.hi for b in out if b.lo is not None or b.hi is not None]
        if kinds == {"min"} and any(b >= a for a, b in zip(edges, edges[1:])):
            self.fail(where, "min bands must be listed from the highest min down")
        if kinds == {"max"} and any(b <= a for a, b in zip(edges, edges[1:])):
            self.fail(where, "max bands must be listed from the lowest max up")
        pts = [b.points for b in out]
        if any(b > a for a, b in zip(pts, pts[1:])):
            self.fail(where, "band points must not increase down the list (the first band is the best)")
        return tuple(out)

    def item(self, d, where, depth=0) -> Item:
        self.keys(d, where, {"id", "label", "block", "field", "bands", "points_true", "points_false", "points_from",
                             "max_of", "sum_of", "cap"})
        iid = self.text(d, "id", where)
        where = f"{where} ({iid})"
        block = d.get("block", "")
        kinds = [k for k in ("bands", "points_true", "points_from", "max_of", "sum_of") if k in d]
        if len(kinds) != 1:
            self.fail(where, "an item has exactly one of bands, points_true, points_from, max_of or sum_of")
        cap = None if d.get("cap") is None else self.number(d["cap"], where, "cap")
        kind = kinds[0]
        name = d.get("field")
        if kind == "points_from":
            name = d["points_from"]
            fact = self.fact(name, where)
            if fact is None or fact.kind != "number":
                self.fail(where, "points_from must name a number fact (its value is the points)")
            if cap is None or cap <= 0:
                self.fail(where, "points_from needs a cap > 0 (the item's maximum)")
        elif kind in ("bands", "points_true"):
            fact = self.fact(name, where)
            if fact is None:
                self.fail(where, "an item cannot score another score")
            if kind == "bands" and fact.kind != "number":
                self.fail(where, f"bands need a number; {name} is yes/no (use points_true)")
            if kind == "points_true" and fact.kind != "bool":
                self.fail(where, f"points_true needs a yes/no fact; {name} is a number (use bands)")
        elif name is not None:
            self.fail(where, f"{kind} items take no field")
        bands, parts, pts = (), (), None
        if kind == "bands":
            bands = self.bands(d["bands"], where)
        elif kind == "points_from":
            pass
        elif kind == "points_true":
            pts = self.number(d["points_true"], where, "points_true")
            if pts < 0:
                self.fail(where, "points_true must be ≥ 0")
        else:
            if depth > 2 or not isinstance(d[kind], list) or not d[kind]:
                self.fail(where, f"{kind} must be a non-empty list of items (nested at most 2 deep)")
            parts = tuple(self.item(p, f"{where}.{kind}[{i}]", depth + 1) for i, p in enumerate(d[kind]))
        pf = 0.0
        if "points_false" in d:
            if kind != "points_true":
                self.fail(where, "points_false goes with points_true")
            pf = self.number(d["points_false"], where, "points_false")
            if pf < 0:
                self.fail(where, "points_false must be ≥ 0")
        return Item(iid, self.text(d, "label", where), block if isinstance(block, str) else "", name, bands, pts, pf,
                    {"bands": "bands", "points_true": "bool", "points_from": "value"}.get(kind, kind), parts, cap)


def _date(v, where, c: _Checker, required=True) -> dt.date | None:
    if v is None and not required:
        return None
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    c.fail(where, f"must be a date like 2026-04-01 (got {v!r})")


def parse_rule_set(data: dict, source: str, catalogue: dict[str, FactDef]) -> RuleSet:
    """A rule set from parsed TOML, checked against the fact ``catalogue``; a PolicyError naming
    ``source`` and the condition at fault otherwise."""
    c = _Checker(source, catalogue)
    c.keys(data, "(top level)", {"name", "display_name", "display_name_en", "tier", "version", "source", "source_keys",
                                 "valid_from", "valid_to", "published", "notes", "near", "conditions", "exclusions",
                                 "review_when", "scores"})
    name = c.text(data, "name", "name")
    if not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in name) or not name[0].isalnum():
        c.fail("name", f"{name!r}: letters, digits, - and _ only")
    valid_from = _date(data.get("valid_from"), "valid_from", c)
    valid_to = _date(data.get("valid_to"), "valid_to", c, required=False)
    if valid_to is not None and valid_to < valid_from:
        c.fail("valid_to", "is before valid_from")
    near = data.get("near", {})
    c.keys(near, "near", {"relative", "max_missed"})
    rel = c.number(near.get("relative", 0.1), "near", "relative")
    missed = near.get("max_missed", 2)
    if not 0 <= rel < 1 or isinstance(missed, bool) or not isinstance(missed, int) or missed < 0:
        c.fail("near", "relative must lie in [0, 1) and max_missed be a whole number ≥ 0")
    scores = []
    for i, s in enumerate(data.get("scores", [])):
        w = f"scores[{i}]"
        c.keys(s, w, {"id", "label", "edge", "items"})
        sid = c.text(s, "id", w)
        if sid in c.score_ids:
            c.fail(w, f"score {sid!r} is defined twice")
        edge = s.get("edge", "higher")
        if edge not in ("higher", "lower"):
            c.fail(w, "edge must be 'higher' or 'lower'")
        raw_items = s.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            c.fail(w, "items must be a non-empty list")
        items = tuple(c.item(it, f"{w}.items[{j}]") for j, it in enumerate(raw_items))
        if len({it.id for it in items}) != len(items):
            c.fail(w, "item ids must be unique")
        score = Score(sid, c.text(s, "label", w), edge, items)
        c.score_ids[sid] = score
        scores.append(score)
    raw_conditions = data.get("conditions")
    if not isinstance(raw_conditions, list) or not raw_conditions:
        c.fail("conditions", "a rule set needs a non-empty list of conditions")
    conditions = tuple(c.node(x, f"conditions[{i}]") for i, x in enumerate(raw_conditions))
    exclusions = tuple(c.leaf(x, f"exclusions[{i}]", exclusion=True) for i, x in enumerate(data.get("exclusions", [])))
    review_when = tuple(c.leaf(x, f"review_when[{i}]", exclusion=True) for i, x in enumerate(data.get("review_when", [])))
    keys = data.get("source_keys", [])
    notes = data.get("notes", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        c.fail("source_keys", "must be a list of texts")
    if not isinstance(notes, list) or not all(isinstance(k, str) for k in notes):
        c.fail("notes", "must be a list of texts")
    published = data.get("published", True)
    if not isinstance(published, bool):
        c.fail("published", "must be true or false")
    return RuleSet(name, c.text(data, "display_name", "display_name"),
                   c.text(data, "display_name_en", "display_name_en", required=False), c.text(data, "tier", "tier"),
                   c.text(data, "version", "version"), c.text(data, "source", "source"), tuple(keys), valid_from,
                   valid_to, published, tuple(notes), rel, missed, conditions, exclusions, tuple(scores),
                   json.loads(json.dumps(data, default=str)), review_when)


def read_rule_set(path: Path, catalogue: dict[str, FactDef]) -> RuleSet:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: not a readable UTF-8 TOML file: {exc}") from None
    rs = parse_rule_set(data, path.name, catalogue)
    if path.stem != rs.name:
        raise PolicyError(f"{path}: the file name must be {rs.name}.toml (the rule set's name)")
    return rs


# ---- facts -----------------------------------------------------------------------------------

@dataclass
class Facts:
    """Facts of ``n`` firms: ``values[fact]`` a float array (NaN missing; yes/no as 1/0) for the data
    year, ``history[fact]`` a (n × years) matrix of a yearly fact, oldest year first, the last column
    the data year (NaN where the firm has no figure). ``keys`` identifies the firms (USCCs)."""
    keys: np.ndarray
    values: dict[str, np.ndarray]
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.keys)

    def column(self, name: str) -> np.ndarray:
        if name in self.values:
            return self.values[name]
        if name in self.history:
            return self.history[name][:, -1]
        raise PolicyError(f"the facts have no {name!r}: the rules read a fact the screening did not load")

    def span(self, name: str, years: int) -> np.ndarray:
        if name not in self.history:
            if years == 1:
                return self.column(name)[:, None]
            raise PolicyError(f"the facts have no yearly history of {name!r}")
        h = self.history[name]
        if h.shape[1] < years:
            pad = np.full((h.shape[0], years - h.shape[1]), np.nan)
            h = np.hstack([pad, h])
        return h[:, -years:]

    def take(self, idx) -> "Facts":
        return Facts(self.keys[idx], {k: v[idx] for k, v in self.values.items()},
                     {k: v[idx] for k, v in self.history.items()})


# ---- evaluation --------------------------------------------------------------------------------

def _cmp(op: str, a: np.ndarray, v: float) -> np.ndarray:
    eps = TOLERANCE * max(1.0, abs(v))
    with np.errstate(invalid="ignore"):
        if op == ">=":
            return a >= v - eps
        if op == ">":
            return a > v + eps
        if op == "<=":
            return a <= v + eps
        if op == "<":
            return a < v - eps
        if op == "==":
            return np.abs(a - v) <= eps
        return np.abs(a - v) > eps


@dataclass
class NodeResult:
    status: np.ndarray             # int8 codes FAIL/PASS/UNKNOWN/MANUAL
    near: np.ndarray               # bool: failed, within the margin
    value: np.ndarray | None = None  # the value compared (leaf), NaN when missing
    gap: np.ndarray | None = None    # how far from the threshold when failed (leaf)


@dataclass
class Evaluation:
    rule_set: RuleSet
    keys: np.ndarray
    outcome: np.ndarray            # object array of OUTCOMES
    review: np.ndarray             # '' | missing | manual
    nodes: dict[str, NodeResult]   # every condition, group and exclusion by id
    scores: dict[str, tuple[np.ndarray, np.ndarray]]   # "ID" / "ID:BLOCK" → (low, high)
    excluded: np.ndarray           # bool
    top_ids: tuple[str, ...]
    code: np.ndarray | None = None  # int8 outcome codes: index into OUTCOMES ordered by _OC

    def counts(self) -> dict[str, int]:
        return {o: int((self.outcome == o).sum()) for o in OUTCOMES}

    def explain(self, i: int, catalogue: dict[str, FactDef] | None = None) -> dict:
        """One firm's result: the outcome and, per condition, its status, value and reason."""
        rs = self.rule_set

        def one(node):
            r = self.nodes[node.id]
            st = STATUS_NAMES[int(r.status[i])]
            d = {"id": node.id, "label": node.label, "status": st, "status_label": STATUS_LABELS[st][0],
                 "near": bool(r.near[i])}
            if isinstance(node, Leaf):
                d.update(requirement=node.describe(), field=node.field, op=node.op, threshold=node.value,
                         unit=node.unit, years=node.years, aggregate=node.aggregate, source=node.source,
                         value=_num(r.value[i]) if r.value is not None else None,
                         gap=_num(r.gap[i]) if r.gap is not None else None)
                shown = None
                if node.field and node.field.startswith("score:"):
                    lo, hi = self.scores[node.field[6:]]
                    d["range"] = [_num(lo[i]), _num(hi[i])]
                    if d["range"][0] != d["range"][1]:
                        shown = f"{fmt_value(lo[i])}–{fmt_value(hi[i])}"
                d["reason"] = reason(node, st, d["value"], d["gap"], shown)
            else:
                d.update(mode=node.mode, k=node.k, children=[one(c) for c in node.children])
                kids = d["children"]
                done = sum(1 for k in kids if k["status"] == "pass")
                want = {"all": len(kids), "any": 1, "at_least": node.k}[node.mode]
                d["reason"] = (f"{node.label}：{len(kids)} 项中达到 {done} 项（需 "
                               f"{'全部' if node.mode == 'all' else want} 项）")
            return d
        conds = [one(c) for c in rs.conditions]
        excl = [one(x) for x in rs.exclusions]
        flags = [one(x) for x in rs.review_when]
        scores = {}
        for s in rs.scores:
            lo, hi = self.scores[s.id]
            scores[s.id] = {"label": s.label, "low": _num(lo[i]), "high": _num(hi[i]),
                            "blocks": {b: {"low": _num(self.scores[f"{s.id}:{b}"][0][i]),
                                           "high": _num(self.scores[f"{s.id}:{b}"][1][i])} for b in s.blocks},
                            "items": {it.id: {"label": it.label, "block": it.block,
                                              "low": _num(self.scores[f"{s.id}.{it.id}"][0][i]),
                                              "high": _num(self.scores[f"{s.id}.{it.id}"][1][i]),
                                              "max": it.max_points} for it in s.items}}
        flat = flatten([c for c in conds if c["status"] != "pass"])     # what an open condition still needs
        out = str(self.outcome[i])
        return {"outcome": out, "outcome_label": OUTCOME_LABELS[out][0], "review": str(self.review[i]) or None,
                "excluded": bool(self.excluded[i]),
                "missed": [c["id"] for c in conds if c["status"] == "fail"],
                "unknown": [c["id"] for c in flat if c["status"] == "unknown" and "children" not in c],
                "manual": [c["id"] for c in flat if c["status"] == "manual" and "children" not in c],
                "gaps": [c["reason"] for c in flat if c["status"] == "fail" and "children" not in c
                         and c.get("gap") is not None],
                "exclusions_hit": [x["id"] for x in excl if x["status"] == "pass"],
                "review_flags": [{"id": x["id"], "label": x["label"]} for x in flags if x["status"] == "pass"],
                "conditions": conds, "exclusions": excl, "scores": scores}


def flatten(nodes: list[dict]) -> list[dict]:
    out = []
    for n in nodes:
        out.append(n)
        out.extend(flatten(n.get("children", [])))
    return out


def _num(v):
    if v is None:
        return None
    v = float(v)
    return None if np.isnan(v) else round(v, 6)


def reason(leaf: Leaf, status: str, value, gap, shown: str | None = None) -> str:
    """One sentence: the requirement, the firm's value and the gap (营业收入 1,850 万元, 差 150 万元)."""
    req = leaf.describe()
    if status == "manual":
        return f"{req}：待人工审核" + ("" if value is None else f"（已录入：{'是' if value else '否'}）")
    u = f" {leaf.unit}" if leaf.unit else ""
    if status == "unknown":
        return f"{req}：缺少数据，无法判断" + (f"（{leaf.label} {shown}{u}，取决于缺失的评分项）" if shown else "")
    if leaf.op in ("is_true", "is_false") or leaf.op == "manual":
        got = "是" if value else "否"
        return f"{req}：{'达到' if status == 'pass' else '未达到'}（{got}）"
    got = f"{leaf.label} {shown or fmt_value(value)}{u}"
    if status == "pass":
        return f"{req}：达到（{got}）"
    if gap is not None and leaf.op in (">=", ">"):
        return f"{req}：未达到（{got}，差 {fmt_value(gap)}{u}）"
    if gap is not None and leaf.op in ("<=", "<"):
        return f"{req}：未达到（{got}，超出 {fmt_value(gap)}{u}）"
    return f"{req}：未达到（{got}）"


def _leaf(leaf: Leaf, facts: Facts, scores: dict, near_rel: float) -> NodeResult:
    n = facts.n
    status = np.full(n, UNKNOWN, np.int8)
    near = np.zeros(n, bool)
    if leaf.field is None:                                  # manual, nothing recorded
        return NodeResult(np.full(n, MANUAL, np.int8), near, np.full(n, np.nan), np.full(n, np.nan))
    if leaf.field.startswith("score:"):
        lo, hi = scores[leaf.field[6:]]
        good_end, bad_end = (lo, hi) if leaf.op in (">=", ">", "==") else (hi, lo)
        ok = _cmp(leaf.op, good_end, leaf.value)
        bad = ~_cmp(leaf.op, bad_end, leaf.value)
        status[:] = UNKNOWN
        status[bad] = FAIL
        status[ok] = PASS
        value = np.where(lo == hi, lo, np.nan)
        gap = np.where(status == FAIL, np.abs(leaf.value - bad_end), np.nan)
        margin = leaf.near if leaf.near is not None else near_rel * abs(leaf.value)
        near = (status == FAIL) & (gap <= margin + TOLERANCE)
        return NodeResult(status, near, value, gap)
    if leaf.aggregate == "first_time":
        h = facts.history.get(leaf.field)
        if h is None:
            raise PolicyError(f"the facts have no yearly history of {leaf.field!r}")
        if leaf.op in ("is_true", "is_false"):
            with np.errstate(invalid="ignore"):
                ok = (h > 0.5) if leaf.op == "is_true" else (h <= 0.5)
        else:
            ok = _cmp(leaf.op, h, leaf.value)
        known = ~np.isnan(h)
        now_known, now_ok = known[:, -1], ok[:, -1]
        before_ok = (ok[:, :-1] & known[:, :-1]).any(axis=1)
        before_missing = (~known[:, :-1]).any(axis=1) & ~before_ok
        status[now_known & ~now_ok] = FAIL
        status[now_known & now_ok & before_ok] = FAIL
        status[now_known & now_ok & ~before_ok & ~before_missing] = PASS
        # an earlier year without a figure leaves it unknown (the caller fills the years before a
        # firm was founded where it knows the answer, e.g. not above scale)
        gap = np.full(n, np.nan)
        if leaf.op in (">=", ">", "<=", "<"):
            below = now_known & ~now_ok & ~before_ok            # short this year, never reached before
            gap = np.where(below, np.abs(leaf.value - np.nan_to_num(h[:, -1])), np.nan)
            margin = leaf.near if leaf.near is not None else near_rel * abs(leaf.value)
            near = below & (gap <= margin + TOLERANCE)
        return NodeResult(status, near, h[:, -1], gap)
    if leaf.op in ("is_true", "is_false", "manual"):
        a = facts.column(leaf.field)
        known = ~np.isnan(a)
        truth = np.where(known, a > 0.5, False)
        if leaf.op == "is_false":
            truth = ~truth
        status[known] = np.where(truth[known], PASS, FAIL)
        if leaf.op == "manual":
            status[~known] = MANUAL
        return NodeResult(status, near, a, np.full(n, np.nan))
    years = leaf.years
    m = facts.span(leaf.field, years)
    if leaf.aggregate in ("sum", "mean") or years == 1:
        with np.errstate(invalid="ignore"):
            a = m.sum(axis=1) if leaf.aggregate == "sum" else (m.mean(axis=1) if years > 1 else m[:, 0])
        known = ~np.isnan(a)
        ok = _cmp(leaf.op, a, leaf.value)
        status[known] = np.where(ok[known], PASS, FAIL)
        value = a
    else:
        ok = _cmp(leaf.op, m, leaf.value)
        known = ~np.isnan(m)
        okk = ok & known
        badk = ~ok & known
        if leaf.aggregate == "each":
            status[badk.any(axis=1)] = FAIL
            status[okk.all(axis=1)] = PASS
            # the value shown is the worst year
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                value = np.nanmin(m, axis=1) if leaf.op in (">=", ">") else np.nanmax(m, axis=1)
        else:  # any
            status[(~known).any(axis=1) & ~okk.any(axis=1)] = UNKNOWN
            status[badk.all(axis=1)] = FAIL
            status[okk.any(axis=1)] = PASS
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                value = np.nanmax(m, axis=1) if leaf.op in (">=", ">") else np.nanmin(m, axis=1)
    gap = np.full(n, np.nan)
    failed = status == FAIL
    if leaf.op in (">=", ">", "<=", "<"):
        with np.errstate(invalid="ignore"):
            gap = np.where(failed, np.abs(leaf.value - value), np.nan)
        margin = leaf.near if leaf.near is not None else near_rel * abs(leaf.value)
        near = failed & (gap <= margin + TOLERANCE)
    return NodeResult(status, near, value, gap)


def _combine(mode: str, k: int, kids: list[NodeResult]) -> NodeResult:
    st = np.stack([c.status for c in kids])
    nr = np.stack([c.near for c in kids])
    n_pass = (st == PASS).sum(axis=0)
    n_fail = (st == FAIL).sum(axis=0)
    n_unk = (st == UNKNOWN).sum(axis=0)
    n_man = (st == MANUAL).sum(axis=0)
    n_near = ((st == FAIL) & nr).sum(axis=0)
    total = st.shape[0]
    need = {"all": total, "any": 1, "at_least": k}[mode]
    status = np.full(st.shape[1], FAIL, np.int8)
    open_ = n_unk + n_man
    status[n_pass >= need] = PASS
    undecided = (n_pass < need) & (n_pass + open_ >= need)
    status[undecided & (n_unk > 0)] = UNKNOWN
    status[undecided & (n_unk == 0)] = MANUAL
    # near: failing, but the near misses would make up the difference
    near = (status == FAIL) & (n_pass + open_ + n_near >= need)
    if mode == "all":
        near &= n_fail == n_near
    return NodeResult(status, near)


def _bands(item: Item, a: np.ndarray, edge: str) -> np.ndarray:
    pts = np.full(a.shape, np.nan)
    done = np.isnan(a)
    for b in item.bands:
        if b.lo is not None:
            hit = (a >= b.lo - TOLERANCE * max(1, abs(b.lo))) if edge == "higher" else (a > b.lo + TOLERANCE * max(1, abs(b.lo)))
        elif b.hi is not None:
            hit = (a <= b.hi + TOLERANCE * max(1, abs(b.hi))) if edge == "higher" else (a < b.hi - TOLERANCE * max(1, abs(b.hi)))
        else:
            hit = np.ones(a.shape, bool)
        hit &= ~done
        pts[hit] = b.points
        done |= hit
    pts[~done] = 0.0          # below every band: no points
    return pts


def _item(item: Item, facts: Facts, edge: str, out: dict, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    if item.combine == "bands":
        with np.errstate(invalid="ignore"):
            p = _bands(item, facts.column(item.field), edge)
        lo = np.where(np.isnan(p), 0.0, p)
        hi = np.where(np.isnan(p), item.max_points, p)
    elif item.combine == "value":
        a = facts.column(item.field)
        p = np.clip(a, 0.0, item.cap)
        lo = np.where(np.isnan(p), 0.0, p)
        hi = np.where(np.isnan(p), item.max_points, p)
    elif item.combine == "bool":
        a = facts.column(item.field)
        p = np.where(np.isnan(a), np.nan, np.where(a > 0.5, item.points_true, item.points_false))
        lo = np.where(np.isnan(p), min(item.points_true, item.points_false), p)
        hi = np.where(np.isnan(p), item.max_points, p)
    else:
        parts = [_item(p, facts, edge, out, f"{prefix}.{item.id}") for p in item.parts]
        los = np.stack([x[0] for x in parts])
        his = np.stack([x[1] for x in parts])
        if item.combine == "max_of":
            lo, hi = los.max(axis=0), his.max(axis=0)
        else:
            lo, hi = los.sum(axis=0), his.sum(axis=0)
        if item.cap is not None:
            lo, hi = np.minimum(lo, item.cap), np.minimum(hi, item.cap)
    out[f"{prefix}.{item.id}"] = (lo, hi)
    return lo, hi


def evaluate(rs: RuleSet, facts: Facts) -> Evaluation:
    """Every condition of ``rs`` over every firm of ``facts``, and each firm's outcome (module docstring)."""
    n = facts.n
    scores: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for s in rs.scores:
        lo_total, hi_total = np.zeros(n), np.zeros(n)
        blocks = {b: [np.zeros(n), np.zeros(n)] for b in s.blocks}
        for it in s.items:
            lo, hi = _item(it, facts, s.edge, scores, s.id)
            lo_total += lo
            hi_total += hi
            blocks[it.block][0] += lo
            blocks[it.block][1] += hi
        scores[s.id] = (lo_total, hi_total)
        for b, (lo, hi) in blocks.items():
            scores[f"{s.id}:{b}"] = (lo, hi)
    nodes: dict[str, NodeResult] = {}

    def run(node) -> NodeResult:
        if isinstance(node, Leaf):
            r = _leaf(node, facts, scores, rs.near_relative)
        else:
            r = _combine(node.mode, node.k, [run(c) for c in node.children])
        nodes[node.id] = r
        return r
    top = [run(c) for c in rs.conditions]
    excluded = np.zeros(n, bool)
    for x in rs.exclusions:
        r = _leaf(x, facts, scores, 0.0)
        nodes[x.id] = r
        excluded |= r.status == PASS
    root = _combine("all", 0, top) if top else NodeResult(np.full(n, PASS, np.int8), np.zeros(n, bool))
    st = np.stack([t.status for t in top])
    n_fail = (st == FAIL).sum(axis=0)
    n_near = ((st == FAIL) & np.stack([t.near for t in top])).sum(axis=0)
    # outcome and review as small integer codes (OUTCOMES / REVIEWS order), turned into labels once
    code = np.zeros(n, np.int8)                              # not_eligible
    rcode = np.zeros(n, np.int8)                             # ''
    code[root.status == PASS] = _OC["eligible"]
    open_ = (root.status == UNKNOWN) | (root.status == MANUAL)
    code[open_] = _OC["needs_review"]
    rcode[root.status == UNKNOWN] = 1
    rcode[root.status == MANUAL] = 2
    is_near = (root.status == FAIL) & (n_fail == n_near) & (n_fail <= rs.near_max_missed) & (rs.near_max_missed > 0)
    code[is_near] = _OC["near"]
    flagged = np.zeros(n, bool)
    for x in rs.review_when:              # e.g. a jurisdiction carve-out: never pass, never fail
        r = _leaf(x, facts, scores, 0.0)
        nodes[x.id] = r
        flagged |= r.status == PASS
    flagged &= root.status != FAIL        # a firm that fails anyway stays not eligible / near
    code[flagged] = _OC["needs_review"]
    rcode[flagged] = 2
    code[excluded] = _OC["not_eligible"]
    rcode[excluded] = 0
    outcome = _OUTCOME_NAMES[code]
    review = _REVIEW_NAMES[rcode]
    return Evaluation(rs, facts.keys, outcome, review, nodes, scores, excluded, tuple(c.id for c in rs.conditions),
                      code)


# ---- the cultivation rule sets (policy/cultivation/*.toml) ---------------------------------------

CULTIVATION_DIR = Path(__file__).parent / "cultivation"
# tiers in the order of the cultivation ladder (梯度培育), with their labels
TIERS = {"above_scale": ("规上工业企业", "Above-scale firm"), "scale_up": ("小升规培育对象", "Scale-up candidate"),
         "innovative": ("创新型中小企业", "Innovative SME"), "specialised": ("专精特新中小企业", "Specialised SME"),
         "little_giant": ("专精特新“小巨人”", "Little giant"), "hidden_champion": ("浙江省隐形冠军", "Hidden champion")}
# the flag that says a firm already holds a tier's title (enterprise_flags)
TIER_FLAGS = {"innovative": "innovative_sme", "specialised": "specialised", "little_giant": "little_giant",
              "hidden_champion": "hidden_champion"}


def cultivation_catalogue() -> dict[str, FactDef]:
    """The facts the cultivation rules may read (``cultivation/_facts.toml``)."""
    return _catalogue(CULTIVATION_DIR / "_facts.toml")


_CATALOGUES: dict = {}


def _catalogue(path: Path) -> dict[str, FactDef]:
    key = (path, path.stat().st_mtime_ns if path.exists() else 0)
    if key not in _CATALOGUES:
        _CATALOGUES[key] = load_catalogue(path)
    return _CATALOGUES[key]


def _folders() -> tuple[Path, ...]:
    from shanhai.policy._rulesets import folders

    return folders(CULTIVATION_DIR, "cultivation")


def read_rule_sets(where: tuple[Path, ...], catalogue: dict[str, FactDef],
                   tiers: dict | None = None) -> dict[str, RuleSet]:
    """Every ``*.toml`` rule set in ``where`` (files starting with ``_`` are not rule sets), checked:
    names unique, tiers among ``tiers`` (default: the cultivation tiers; another user of the engine,
    e.g. support policies, passes its own), and no two rule sets of a tier in force on the same day."""
    tiers = TIERS if tiers is None else tiers
    found: dict[str, RuleSet] = {}
    for folder in where:
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            if path.name.startswith("_"):
                continue
            rs = read_rule_set(path, catalogue)
            if rs.name in found:
                raise PolicyError(f"{path}: rule set {rs.name} is already defined")
            if rs.tier not in tiers:
                raise PolicyError(f"{path}: tier {rs.tier!r} is not one of {', '.join(tiers)}")
            found[rs.name] = rs
    by_tier: dict[str, list[RuleSet]] = {}
    for rs in found.values():
        by_tier.setdefault(rs.tier, []).append(rs)
    for tier, sets in by_tier.items():
        sets.sort(key=lambda r: r.valid_from)
        for a, b in zip(sets, sets[1:]):
            if a.valid_to is None or a.valid_to >= b.valid_from:
                raise PolicyError(f"rule sets {a.name} and {b.name} ({tier}) are both in force on {b.valid_from}: "
                                  f"give {a.name} a valid_to before {b.valid_from}")
    return found


def cultivation_rule_sets() -> dict[str, RuleSet]:
    """Every cultivation rule set by name: the packaged ones, then $SHANHAI_POLICY_DIR/cultivation."""
    where = _folders()
    stamp = tuple((p, tuple((f.name, f.stat().st_mtime_ns) for f in sorted(p.glob("*.toml"))) if p.is_dir() else ())
                  for p in where)
    if stamp not in _CACHE:
        _CACHE.clear()
        _CACHE[stamp] = read_rule_sets(where, cultivation_catalogue())
    return _CACHE[stamp]


_CACHE: dict = {}


def cultivation_rule_set(name: str) -> RuleSet:
    found = cultivation_rule_sets()
    if name not in found:
        raise PolicyError(f"unknown cultivation rule set {name!r}: expected one of {', '.join(sorted(found))}")
    return found[name]


def in_force(tier: str, day: dt.date) -> RuleSet | None:
    """The rule set of ``tier`` in force on ``day`` (None when none is)."""
    if tier not in TIERS:
        raise PolicyError(f"unknown tier {tier!r}: expected one of {', '.join(TIERS)}")
    hits = [rs for rs in cultivation_rule_sets().values() if rs.tier == tier and rs.in_force(day)]
    return hits[0] if hits else None


# ---- amounts (support-policy items: 惠企政策事项) ------------------------------------------------
#
# An item's ``[amount]`` table says how much an eligible firm gets, in 万元, in one of these shapes
# (enterprise_service.md §6.1):
#
# * ``fixed``: ``value``;
# * ``bands``: by a number fact, ``bands = [{max = 3, amount = 30}, {amount = 10}]`` (first band that
#   holds, bands inclusive; a last band with neither min nor max is "else");
# * ``tiers``: titles held, ``tiers = [{field = "future_factory", amount = 100}, ...]``,
#   ``combine = "highest"`` (就高, default) or ``"sum"``;
# * ``percent``: ``rate`` % of the ``field`` (the base), below ``min_base`` nothing, ``uplifts =
#   [{field, points, cap}]`` add percentage points (and replace the cap) when a flag holds;
# * ``per_unit``: ``rate`` 万元 per unit of ``field``;
# * ``first_crossing``: a yearly fact first crossing thresholds (``steps = [{over = 1000, amount =
#   10}, ...]``, ``wording`` 超过 (strict) or 达到); several crossed in one year → ``multiple`` =
#   ``"manual_review"`` (candidates: the highest and the sum), ``"highest"`` or ``"sum"``;
# * ``unknown``: the document's amount is not known (``note`` says why): eligible, amount unknown.
#
# Every shape takes ``cap`` (per firm per award) and ``stages`` (``[{label, share}]``, shares
# adding up to 1: staged payment, one stage paid at a time, the last stage taking the rounding
# rest: :func:`stage_split`), and two limits over every award year of the item — or of its
# stacking group when it has one: ``lifetime_cap`` (万元 per firm over all years: a later award is
# clipped to the room left) and ``once_per_firm = true`` (one award per firm ever). A fact an amount needs that is missing makes the amount unknown
# (NaN) and the firm goes to manual review; an unknown uplift flag makes it ambiguous (candidates
# without and with the uplift).

MONEY_Q = Decimal("0.0001")   # money is kept to 0.0001 万元 (1 yuan)
AMOUNT_KINDS = ("fixed", "bands", "tiers", "percent", "per_unit", "first_crossing", "unknown")


@dataclass(frozen=True)
class Amount:
    kind: str
    value: float | None = None
    field: str | None = None
    label: str = ""
    unit: str = ""
    bands: tuple = ()            # (min, max, amount)
    tiers: tuple = ()            # (field, label, amount)
    combine: str = "highest"
    rate: float | None = None
    uplifts: tuple = ()          # (field, label, points, cap)
    min_base: float | None = None
    cap: float | None = None
    strict: bool = True
    steps: tuple = ()            # (threshold, amount), ascending
    multiple: str = "manual_review"
    note: str = ""
    stages: tuple = ()           # (label, share)
    lifetime_cap: float | None = None   # 万元 per firm over every award year (of the item or its group)
    once_per_firm: bool = False         # at most one award per firm ever (of the item or its group)

    def limits_text(self) -> str:
        """The lifetime limits in words ('' when there are none)."""
        parts = []
        if self.once_per_firm:
            parts.append("每家企业限享一次")
        if self.lifetime_cap is not None:
            parts.append(f"每家企业各年度累计封顶 {fmt_value(self.lifetime_cap)} 万元")
        return "，".join(parts)

    def fields(self) -> set[str]:
        out = {self.field} if self.field else set()
        out |= {t[0] for t in self.tiers} | {u[0] for u in self.uplifts}
        return out

    def most(self) -> float | None:
        """The largest amount one firm can get (None when unbounded)."""
        if self.kind == "fixed":
            return self.value
        if self.kind == "bands":
            return max(b[2] for b in self.bands)
        if self.kind == "tiers":
            a = [t[2] for t in self.tiers]
            top = max(a) if self.combine == "highest" else sum(a)
            return min(top, self.cap) if self.cap is not None else top
        if self.kind == "first_crossing":
            top = sum(s[1] for s in self.steps) if self.multiple != "highest" else max(s[1] for s in self.steps)
            return min(top, self.cap) if self.cap is not None else top
        caps = [self.cap] + [u[3] for u in self.uplifts]
        return None if any(c is None for c in caps) else max(caps)


def parse_amount(d, where: str, catalogue: dict[str, FactDef]) -> Amount:
    """An ``[amount]`` table checked against the fact catalogue; a PolicyError naming ``where`` otherwise."""
    c = _Checker(where, catalogue)
    c.keys(d, "amount", {"kind", "value", "field", "bands", "tiers", "combine", "rate", "uplifts", "min_base", "cap",
                         "wording", "steps", "multiple", "note", "stages", "lifetime_cap", "once_per_firm"})
    kind = d.get("kind")
    if kind not in AMOUNT_KINDS:
        c.fail("amount", f"kind must be one of {', '.join(AMOUNT_KINDS)} (got {kind!r})")

    def num(key, required=False, positive=False):
        v = d.get(key)
        if v is None:
            if required:
                c.fail("amount", f"kind {kind!r} needs {key}")
            return None
        v = c.number(v, "amount", key)
        if v < 0 or (positive and v == 0):
            c.fail("amount", f"{key} must be {'> 0' if positive else '≥ 0'}")
        return v

    def fact(name, want, where):
        f = c.fact(name, where)
        if f is None or f.kind != want:
            c.fail(where, f"{name} must be a {'number' if want == 'number' else 'yes/no'} fact")
        return f
    kw: dict = {"kind": kind, "cap": num("cap"), "note": d.get("note", "")}
    if not isinstance(kw["note"], str):
        c.fail("amount", "note must be a text")
    if kind == "fixed":
        kw["value"] = num("value", True)
    elif kind in ("bands", "percent", "per_unit", "first_crossing"):
        f = fact(d.get("field"), "number", "amount.field")
        kw.update(field=f.id, label=f.label, unit=f.unit)
        if kind == "first_crossing" and not f.yearly:
            c.fail("amount.field", f"first_crossing needs a yearly fact; {f.id} is not one")
    if kind == "bands":
        raw = d.get("bands")
        if not isinstance(raw, list) or not raw:
            c.fail("amount", "bands must be a non-empty list")
        out = []
        for i, b in enumerate(raw):
            w = f"amount.bands[{i}]"
            c.keys(b, w, {"min", "max", "amount"})
            lo = None if b.get("min") is None else c.number(b["min"], w, "min")
            hi = None if b.get("max") is None else c.number(b["max"], w, "max")
            if lo is not None and hi is not None:
                c.fail(w, "a band has min or max, not both")
            if lo is None and hi is None and i != len(raw) - 1:
                c.fail(w, "only the last band may have neither min nor max")
            out.append((lo, hi, c.number(b.get("amount"), w, "amount")))
        kw["bands"] = tuple(out)
    if kind == "tiers":
        raw = d.get("tiers")
        if not isinstance(raw, list) or not raw:
            c.fail("amount", "tiers must be a non-empty list")
        out = []
        for i, t in enumerate(raw):
            w = f"amount.tiers[{i}]"
            c.keys(t, w, {"field", "amount"})
            f = fact(t.get("field"), "bool", w)
            out.append((f.id, f.label, c.number(t.get("amount"), w, "amount")))
        kw["tiers"] = tuple(out)
        if d.get("combine", "highest") not in ("highest", "sum"):
            c.fail("amount", "combine must be 'highest' or 'sum'")
        kw["combine"] = d.get("combine", "highest")
    if kind in ("percent", "per_unit"):
        kw["rate"] = num("rate", True, positive=True)
        kw["min_base"] = num("min_base")
    if kind == "percent":
        out = []
        for i, u in enumerate(d.get("uplifts", [])):
            w = f"amount.uplifts[{i}]"
            c.keys(u, w, {"field", "points", "cap"})
            f = fact(u.get("field"), "bool", w)
            cap = None if u.get("cap") is None else c.number(u["cap"], w, "cap")
            out.append((f.id, f.label, c.number(u.get("points"), w, "points"), cap))
        kw["uplifts"] = tuple(out)
    elif "uplifts" in d:
        c.fail("amount", "uplifts go with kind = \"percent\"")
    if kind == "first_crossing":
        raw = d.get("steps")
        if not isinstance(raw, list) or not raw:
            c.fail("amount", "steps must be a non-empty list")
        out = []
        for i, s in enumerate(raw):
            w = f"amount.steps[{i}]"
            c.keys(s, w, {"over", "amount"})
            out.append((c.number(s.get("over"), w, "over"), c.number(s.get("amount"), w, "amount")))
        if any(b[0] <= a[0] for a, b in zip(out, out[1:])):
            c.fail("amount", "steps must be listed from the lowest threshold up")
        kw["steps"] = tuple(out)
        wording = d.get("wording", "超过")
        if WORDING.get(wording) not in (">", ">="):
            c.fail("amount", f"wording must be a lower-bound word like 超过 or 达到 (got {wording!r})")
        kw["strict"] = WORDING[wording] == ">"
        if d.get("multiple", "manual_review") not in ("manual_review", "highest", "sum"):
            c.fail("amount", "multiple must be manual_review, highest or sum")
        kw["multiple"] = d.get("multiple", "manual_review")
    stages = []
    for i, s in enumerate(d.get("stages", [])):
        w = f"amount.stages[{i}]"
        c.keys(s, w, {"label", "share"})
        share = c.number(s.get("share"), w, "share")
        if not 0 < share <= 1:
            c.fail(w, "share must lie in (0, 1]")
        stages.append((c.text(s, "label", w), share))
    if stages and abs(sum(s[1] for s in stages) - 1) > 1e-9:
        c.fail("amount.stages", "shares must add up to 1")
    kw["stages"] = tuple(stages)
    life = d.get("lifetime_cap")
    if life is not None:
        life = c.number(life, "amount.lifetime_cap", "lifetime_cap")
        if life <= 0:
            c.fail("amount.lifetime_cap", f"must be > 0 万元 (got {fmt_value(life)}): leave it out for no lifetime cap")
        if kw["cap"] is not None and life < kw["cap"]:
            c.fail("amount.lifetime_cap", f"{fmt_value(life)} 万元 is below the per-award cap {fmt_value(kw['cap'])} "
                                          "万元: one award could never be paid in full")
    kw["lifetime_cap"] = life
    once = d.get("once_per_firm", False)
    if not isinstance(once, bool):
        c.fail("amount.once_per_firm", f"must be true or false (got {once!r})")
    kw["once_per_firm"] = once
    return Amount(**kw)


def stage_split(amount: Decimal, stages: tuple) -> list[tuple[str, Decimal]]:
    """A staged award (万元, Decimal) split by its shares, each part rounded half up to 0.0001 万元 and
    the last stage taking the rest, so the parts add up to ``amount`` exactly. No stages: one part
    ("一次性")."""
    if not stages:
        return [("一次性", amount)]
    out, given = [], Decimal("0")
    for k, (label, share) in enumerate(stages):
        part = amount - given if k == len(stages) - 1 else (amount * Decimal(repr(share))).quantize(
            MONEY_Q, ROUND_HALF_UP)
        out.append((label, part))
        given += part
    return out


@dataclass
class AmountResult:
    value: np.ndarray          # 万元 per firm; NaN = not known
    ambiguous: np.ndarray      # bool: the wording allows several amounts
    cand_low: np.ndarray       # the candidates when ambiguous (low, high)
    cand_high: np.ndarray


def _band_amount(bands, a: np.ndarray) -> np.ndarray:
    out = np.full(a.shape, np.nan)
    done = np.isnan(a)
    for lo, hi, amt in bands:
        if lo is not None:
            hit = _cmp(">=", a, lo)
        elif hi is not None:
            hit = _cmp("<=", a, hi)
        else:
            hit = np.ones(a.shape, bool)
        hit &= ~done
        out[hit] = amt
        done |= hit
    out[~done & ~np.isnan(a)] = 0.0
    return out


def compute_amounts(am: Amount, facts: Facts) -> AmountResult:
    """The amount of every firm of ``facts`` (vectorised; the shapes are described above)."""
    n = facts.n
    amb = np.zeros(n, bool)
    lo_c, hi_c = np.full(n, np.nan), np.full(n, np.nan)
    if am.kind == "fixed":
        v = np.full(n, am.value)
    elif am.kind == "unknown":
        v = np.full(n, np.nan)
    elif am.kind == "bands":
        v = _band_amount(am.bands, facts.column(am.field))
    elif am.kind == "tiers":
        held = np.stack([facts.column(t[0]) for t in am.tiers])          # tiers × firms
        amounts = np.array([t[2] for t in am.tiers])[:, None]
        got = np.where(held > 0.5, amounts, 0.0)
        v = got.max(axis=0) if am.combine == "highest" else got.sum(axis=0)
        v = np.where(np.isnan(held).all(axis=0), np.nan, v)
    elif am.kind in ("percent", "per_unit"):
        base = facts.column(am.field)
        rate = np.full(n, am.rate)
        cap = np.full(n, np.inf if am.cap is None else am.cap)
        rate_hi, cap_hi = rate.copy(), cap.copy()
        for f, _label, pts, ucap in am.uplifts:
            flag = facts.column(f)
            on, unk = flag > 0.5, np.isnan(flag)
            rate = np.where(on, rate + pts, rate)
            rate_hi = np.where(on | unk, rate_hi + pts, rate_hi)
            if ucap is not None:
                cap = np.where(on, ucap, cap)
                cap_hi = np.where(on | unk, ucap, cap_hi)
            amb |= unk
        scale = 100.0 if am.kind == "percent" else 1.0
        with np.errstate(invalid="ignore"):
            v = np.minimum(base * rate / scale, cap)
            hi = np.minimum(base * rate_hi / scale, cap_hi)
        if am.min_base is not None:
            below = _cmp("<", base, am.min_base)
            v, hi = np.where(below, 0.0, v), np.where(below, 0.0, hi)
        amb &= ~np.isnan(base) & (hi != v)
        lo_c, hi_c = np.where(amb, v, np.nan), np.where(amb, hi, np.nan)
    else:  # first_crossing
        h = facts.span(am.field, max(2, facts.history[am.field].shape[1] if am.field in facts.history else 2))
        now, before = h[:, -1], h[:, :-1]
        known_before = ~np.isnan(before).all(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            prev = np.nanmax(before, axis=1)
        op = ">" if am.strict else ">="
        crossed = np.stack([_cmp(op, now, t) & ~_cmp(op, np.where(known_before, prev, -np.inf), t)
                            for t, _a in am.steps])                      # steps × firms
        amounts = np.array([a for _t, a in am.steps])[:, None]
        got = np.where(crossed, amounts, 0.0)
        top, total = got.max(axis=0), got.sum(axis=0)
        many = crossed.sum(axis=0) > 1
        v = {"highest": top, "sum": total}.get(am.multiple, np.where(many, np.nan, top))
        if am.multiple == "manual_review":
            amb = many
            lo_c, hi_c = np.where(many, top, np.nan), np.where(many, total, np.nan)
        # a crossing now with no earlier figure: whether it is the first time is not known
        reached = np.stack([_cmp(op, now, t) for t, _a in am.steps]).any(axis=0)
        v = np.where(np.isnan(now) | (reached & ~known_before), np.nan, v)
    if am.cap is not None and am.kind not in ("percent", "per_unit"):
        v = np.minimum(v, am.cap)
        lo_c, hi_c = np.minimum(lo_c, am.cap), np.minimum(hi_c, am.cap)
    return AmountResult(v, amb, lo_c, hi_c)


def explain_amount(am: Amount, facts: Facts, i: int, res: AmountResult | None = None) -> dict:
    """One firm's amount with its formula in words and numbers (a ``formula`` sentence, the
    ``value`` or None, ``candidates`` when ambiguous)."""
    res = res or compute_amounts(am, facts.take(np.array([i])))
    j = 0 if res.value.shape[0] == 1 else i
    v = res.value[j]
    val = None if np.isnan(v) else round(float(v), 4)
    cands = [round(float(res.cand_low[j]), 4), round(float(res.cand_high[j]), 4)] if res.ambiguous[j] else []
    u = f" {am.unit}" if am.unit else ""
    cap = f"，封顶 {fmt_value(am.cap)} 万元" if am.cap is not None else ""
    if am.kind == "fixed":
        text = f"定额 {fmt_value(am.value)} 万元"
    elif am.kind == "unknown":
        text = f"金额未知：{am.note or '文件未载明金额'}"
    elif am.kind == "bands":
        x = facts.column(am.field)[i]
        parts = []
        for lo, hi, a in am.bands:
            cond = f"≥ {fmt_value(lo)}" if lo is not None else (f"≤ {fmt_value(hi)}" if hi is not None else "其他")
            parts.append(f"{cond}{u} → {fmt_value(a)} 万元")
        text = f"{am.label} {fmt_value(x)}{u}；分档：" + "；".join(parts)
    elif am.kind == "tiers":
        held = [f"{lbl}（{fmt_value(a)} 万元）" for f, lbl, a in am.tiers if facts.column(f)[i] > 0.5]
        text = ("取得：" + "、".join(held) if held else "未取得所列称号") + \
            ("；就高不重复" if am.combine == "highest" else "；累加") + cap
    elif am.kind in ("percent", "per_unit"):
        x = facts.column(am.field)[i]
        rate = am.rate + sum(p for f, _l, p, _c in am.uplifts if facts.column(f)[i] > 0.5)
        caps = [c for f, _l, _p, c in am.uplifts if facts.column(f)[i] > 0.5 and c is not None]
        capv = caps[-1] if caps else am.cap
        ups = "".join(f"（{lbl} +{fmt_value(p)} 个百分点）" for f, lbl, p, _c in am.uplifts if facts.column(f)[i] > 0.5)
        unit_word = "%" if am.kind == "percent" else f" 万元/{am.unit or '单位'}"
        raw = x * rate / (100.0 if am.kind == "percent" else 1.0)
        text = f"{am.label} {fmt_value(x)}{u} × {fmt_value(rate)}{unit_word}{ups} = {fmt_value(raw)} 万元"
        if capv is not None and raw > capv:
            text += f"，封顶 {fmt_value(capv)} 万元"
        if am.min_base is not None and x < am.min_base:
            text = f"{am.label} {fmt_value(x)}{u} 低于起点 {fmt_value(am.min_base)}{u}：0 万元"
    else:
        h = facts.history[am.field][i]
        word = "超过" if am.strict else "达到"
        steps = "；".join(f"首次{word} {fmt_value(t)}{u} → {fmt_value(a)} 万元" for t, a in am.steps)
        shown = " → ".join(fmt_value(x) for x in h[-2:])
        text = f"{am.label} {shown}{u}；{steps}"
        if cands:
            text += f"；一年内跨越多档，文件未明确是否累加：候选 {fmt_value(cands[0])} 或 {fmt_value(cands[1])} 万元"
    if am.stages and val is not None:
        parts = stage_split(Decimal(repr(val)).quantize(MONEY_Q, ROUND_HALF_UP), am.stages)
        text += "；分期：" + "、".join(f"{lbl} {fmt_value(float(p))} 万元" for lbl, p in parts)
    if val is not None and am.kind not in ("percent", "per_unit", "unknown"):
        text += f" = {fmt_value(val)} 万元"
    if am.limits_text():
        text += f"（{am.limits_text()}）"
    return {"formula": text, "value": val, "candidates": cands, "ambiguous": bool(res.ambiguous[j])}
