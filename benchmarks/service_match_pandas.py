"""pandas baseline of the ``service_match`` workload: the same 100 items over the same firms
(``service_match_child.make_inputs`` / ``make_items``), written directly in pandas — every
condition a Series of pass/fail/unknown/manual codes, groups combined with ``DataFrame`` sums,
near misses, exclusions, review flags, the amount shapes, the outcome mapping — without the
Shanhai engine. Prints the same JSON report (``run_s``, counts, digest).

    python -P benchmarks/service_match_pandas.py [--firms 158000] [--items 100]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_match_child import YEARS, digest, make_inputs, make_items  # noqa: E402  (sys.path set there)

FAIL, PASS, UNKNOWN, MANUAL = 0, 1, 2, 3
TOL = 1e-9


def cmp(op, a: pd.Series, v: float) -> pd.Series:
    eps = TOL * max(1.0, abs(v))
    return {">=": a >= v - eps, ">": a > v + eps, "<=": a <= v + eps, "<": a < v - eps,
            "==": (a - v).abs() <= eps, "!=": (a - v).abs() > eps}[op]


def leaf(d: dict, df: pd.DataFrame, rel: float):
    f, op = d["field"], d["op"]
    st = pd.Series(UNKNOWN, index=df.index, dtype="int64")
    near = pd.Series(False, index=df.index)
    if d.get("aggregate") == "first_time":
        cols = [f"{f}@{k}" for k in range(YEARS)]
        h = df[cols]
        ok = (h > 0.5) if op == "is_true" else ((h <= 0.5) if op == "is_false" else cmp(op, h, d["value"]))
        known = h.notna()
        now_known, now_ok = known[cols[-1]], ok[cols[-1]] & known[cols[-1]]
        before_ok = (ok[cols[:-1]] & known[cols[:-1]]).any(axis=1)
        before_missing = (~known[cols[:-1]]).any(axis=1) & ~before_ok
        st[now_known & ~now_ok] = FAIL
        st[now_known & now_ok & before_ok] = FAIL
        st[now_known & now_ok & ~before_ok & ~before_missing] = PASS
        if op in (">=", ">", "<=", "<"):
            below = now_known & ~now_ok & ~before_ok
            gap = (d["value"] - h[cols[-1]].fillna(0)).abs()
            margin = d.get("near", rel * abs(d["value"]))
            near = below & (gap <= margin + TOL)
        return st, near
    a = df[f] if f in df else df[f"{f}@{YEARS - 1}"]
    known = a.notna()
    if op in ("is_true", "is_false"):
        truth = (a > 0.5) if op == "is_true" else ~(a > 0.5)
        st[known] = np.where(truth[known], PASS, FAIL)
        return st, near
    ok = cmp(op, a, d["value"])
    st[known] = np.where(ok[known], PASS, FAIL)
    if op in (">=", ">", "<=", "<"):
        margin = d.get("near", rel * abs(d["value"]))
        near = (st == FAIL) & ((d["value"] - a).abs() <= margin + TOL)
    return st, near


def combine(mode: str, k: int, kids):
    st = pd.concat([s for s, _ in kids], axis=1)
    nr = pd.concat([x for _, x in kids], axis=1)
    n_pass, n_fail = (st == PASS).sum(axis=1), (st == FAIL).sum(axis=1)
    n_unk, n_man = (st == UNKNOWN).sum(axis=1), (st == MANUAL).sum(axis=1)
    n_near = ((st == FAIL) & nr).sum(axis=1)
    need = {"all": st.shape[1], "any": 1, "at_least": k}[mode]
    out = pd.Series(FAIL, index=st.index, dtype="int64")
    open_ = n_unk + n_man
    out[n_pass >= need] = PASS
    und = (n_pass < need) & (n_pass + open_ >= need)
    out[und & (n_unk > 0)] = UNKNOWN
    out[und & (n_unk == 0)] = MANUAL
    near = (out == FAIL) & (n_pass + open_ + n_near >= need)
    if mode == "all":
        near &= n_fail == n_near
    return out, near


def node(d, df, rel):
    for mode in ("all", "any", "of"):
        if mode in d:
            kids = [node(c, df, rel) for c in d[mode]]
            return combine("at_least" if mode == "of" else mode, d.get("at_least", 0), kids)
    return leaf(d, df, rel)


def amount(am: dict, df: pd.DataFrame):
    kind = am["kind"]
    amb = pd.Series(False, index=df.index)
    if kind == "unknown":
        return pd.Series(np.nan, index=df.index), amb
    if kind == "fixed":
        v = pd.Series(float(am["value"]), index=df.index)
    elif kind == "bands":
        a = df[am["field"]]
        v = pd.Series(np.nan, index=df.index)
        done = a.isna()
        for b in am["bands"]:
            hit = cmp(">=", a, b["min"]) if "min" in b else (cmp("<=", a, b["max"]) if "max" in b
                                                              else pd.Series(True, index=df.index))
            hit &= ~done
            v[hit] = b["amount"]
            done |= hit
        v[~done & a.notna()] = 0.0
    elif kind == "tiers":
        held = pd.concat([df[t["field"]] for t in am["tiers"]], axis=1)
        got = pd.concat([(df[t["field"]] > 0.5) * float(t["amount"]) for t in am["tiers"]], axis=1)
        v = got.max(axis=1) if am.get("combine", "highest") == "highest" else got.sum(axis=1)
        v[held.isna().all(axis=1)] = np.nan
    elif kind == "percent":
        base = df[am["field"]]
        rate = pd.Series(float(am["rate"]), index=df.index)
        cap = pd.Series(float(am.get("cap", np.inf)), index=df.index)
        rate_hi, cap_hi = rate.copy(), cap.copy()
        for u in am.get("uplifts", []):
            flag = df[u["field"]]
            on, unk = flag > 0.5, flag.isna()
            rate = rate.where(~on, rate + u["points"])
            rate_hi = rate_hi.where(~(on | unk), rate_hi + u["points"])
            if "cap" in u:
                cap = cap.where(~on, float(u["cap"]))
                cap_hi = cap_hi.where(~(on | unk), float(u["cap"]))
            amb |= unk
        v = np.minimum(base * rate / 100.0, cap)
        hi = np.minimum(base * rate_hi / 100.0, cap_hi)
        if "min_base" in am:
            below = cmp("<", base, am["min_base"])
            v, hi = v.where(~below, 0.0), hi.where(~below, 0.0)
        amb &= base.notna() & (hi != v)
        return v, amb
    else:  # first_crossing
        cols = [f"{am['field']}@{k}" for k in range(YEARS)]
        now, before = df[cols[-1]], df[cols[:-1]]
        known_before = before.notna().any(axis=1)
        prev = before.max(axis=1).where(known_before, -np.inf)
        op = ">" if am.get("wording", "超过") in ("超过", "高于", "大于") else ">="
        crossed = pd.concat([cmp(op, now, s["over"]) & ~cmp(op, prev, s["over"]) for s in am["steps"]], axis=1)
        got = pd.concat([crossed.iloc[:, i] * float(s["amount"]) for i, s in enumerate(am["steps"])], axis=1)
        top, many = got.max(axis=1), crossed.sum(axis=1) > 1
        mult = am.get("multiple", "manual_review")
        v = {"highest": top, "sum": got.sum(axis=1)}.get(mult, top.where(~many, np.nan))
        if mult == "manual_review":
            amb = many
        reached = pd.concat([cmp(op, now, s["over"]) for s in am["steps"]], axis=1).any(axis=1)
        v = v.where(~(now.isna() | (reached & ~known_before)), np.nan)
    if "cap" in am:
        v = np.minimum(v, am["cap"])
    return v, amb


def region(adcode: str, county: pd.Series) -> pd.Series:
    if adcode == "330000":
        return pd.Series(True, index=county.index)
    return county.str[:4] == adcode[:4] if adcode.endswith("00") else county.str[:6] == adcode


def match(raw: dict, df: pd.DataFrame):
    inr = region(raw["adcode"], df["county"])
    sub = df[inr]
    rel = raw.get("near", {}).get("relative", 0.1)
    max_missed = raw.get("near", {}).get("max_missed", 2)
    top = [node(c, sub, rel) for c in raw["conditions"]]
    root, _ = combine("all", 0, top)
    st = pd.concat([s for s, _ in top], axis=1)
    nr = pd.concat([x for _, x in top], axis=1)
    n_fail, n_near = (st == FAIL).sum(axis=1), ((st == FAIL) & nr).sum(axis=1)
    excluded = pd.Series(False, index=sub.index)
    for x in raw.get("exclusions", []):
        excluded |= leaf(x, sub, 0.0)[0] == PASS
    flagged = pd.Series(False, index=sub.index)
    for x in raw.get("review_when", []):
        flagged |= leaf(x, sub, 0.0)[0] == PASS
    flagged &= root != FAIL
    eng = pd.Series("not_eligible", index=sub.index)
    eng[root == PASS] = "eligible"
    eng[(root == UNKNOWN) | (root == MANUAL)] = "needs_review"
    eng[(root == FAIL) & (n_fail == n_near) & (n_fail <= max_missed) & (max_missed > 0)] = "near"
    eng[flagged] = "needs_review"
    eng[excluded] = "not_eligible"
    v, amb = amount(raw["amount"], sub)
    code = pd.Series(3, index=sub.index, dtype="int64")
    el = eng == "eligible"
    code[el] = 0
    if raw["amount"]["kind"] != "unknown":
        code[el & v.isna() & ~amb] = 1
        code[el & amb] = 1
        code[el & ~amb & v.notna() & (v <= 0)] = 3
    code[eng == "needs_review"] = 1
    code[eng == "near"] = 2
    amt = v.where(code == 0, np.where(code == 1, np.nan, 0.0))
    full_code = pd.Series(3, index=df.index, dtype="int64")
    full_amt = pd.Series(0.0, index=df.index)
    full_code[inr] = code
    full_amt[inr] = amt
    return full_code.to_numpy(), full_amt.to_numpy(dtype=float)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--firms", type=int, default=158_000)
    p.add_argument("--items", type=int, default=100)
    a = p.parse_args(argv)
    items = [it.rule.raw for it in make_items(a.items)]
    keys, county, values, history = make_inputs(a.firms)
    cols = {"county": county.astype(str), **values}
    for f, h in history.items():
        for k in range(YEARS):
            cols[f"{f}@{k}"] = h[:, k]
    t0 = time.perf_counter()
    df = pd.DataFrame(cols)
    out = [match(raw, df) for raw in items]
    run_s = time.perf_counter() - t0
    names = ("eligible", "manual_review", "near", "not_eligible")
    counts = {o: int(sum((c == i).sum() for c, _ in out)) for i, o in enumerate(names)}
    print(json.dumps({"run_s": run_s, "rows_read": a.firms * a.items, "firms": a.firms, "items": a.items,
                      "counts": counts, "digest": digest([c for c, _ in out], [x for _, x in out])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
