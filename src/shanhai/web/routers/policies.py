"""``/policies``: the per-mu evaluation presets (policy documents as data) and two of them side
by side with every field that differs (``policy.diff``). Presets are public policy, the same for
every signed-in user."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Query, Request

from shanhai.errors import ShanhaiError
from shanhai.jobs import dashboard
from shanhai.store.accounts import User
from shanhai.web.deps import PageError, current_user, render
from shanhai.web.screens import FMT

router = APIRouter()
NAV = [(50, "/policies", "评价办法", "Presets", None)]

# the words for a preset's fields in the list of differences (the dotted path stays as the row's title)
FIELD_LABELS = {
    "name": ("编号", "id"), "display_name": ("名称", "name"), "display_name_en": ("英文名称", "English name"),
    "version": ("版本", "version"), "years": ("适用年度", "years"), "region": ("适用地区", "region"),
    "source": ("来源", "source"), "confidence": ("来源可信度", "source confidence"), "caveats": ("说明与假设", "caveats"),
    "unit": ("评价单元", "evaluation unit"), "classes": ("分类", "classes"), "labels": ("类别名称", "class names"),
    "labels_en": ("英文类别名称", "English class names"), "shares": ("分类比例", "class shares"),
    "within": ("排名范围", "ranked within"), "thresholds": ("分数线", "thresholds"),
    "populations": ("评价对象", "populations"), "label": ("名称", "label"), "label_en": ("英文名称", "English label"),
    "above_scale": ("规上", "above-scale"), "lessee": ("租赁企业", "lessees"), "own_land_min": ("自有用地下限（亩）", "own land from (mu)"),
    "own_land_max": ("自有用地上限（亩）", "own land below (mu)"), "indicators": ("指标", "indicators"),
    "benchmark": ("基准", "benchmark"), "value": ("基准值", "value"), "kind": ("类型", "kind"), "data": ("数据口径", "data"),
    "multiple": ("倍数", "multiple"), "over": ("范围", "over"), "population": ("对象", "population"), "q": ("分位", "quantile"),
    "weight": ("权重", "weight"), "cap": ("封顶", "cap"), "floor": ("保底", "floor"), "deduct": ("扣分", "deduction"),
    "direction": ("方向", "direction"), "missing": ("缺失处理", "missing value"), "note": ("说明", "note"),
    "consequences": ("差别化政策", "consequences"), "electricity": ("差别电价（元/千瓦时）", "electricity (元/kWh)"),
    "gas": ("用气", "gas"), "water": ("用水", "water"), "land_quota": ("用地指标", "land quota"),
    "energy_quota": ("用能指标", "energy quota"), "land_tax_relief": ("城镇土地使用税减免", "land-tax relief"),
    "cap_wan": ("上限（万元）", "cap (万元)"), "escalation": ("累进", "escalation"),
    "consecutive_years": ("连续年数", "consecutive years"), "exempt_below_kwh": ("免收用电量（千瓦时）", "exempt below (kWh)"),
    "window_from": ("执行起", "from"), "window_to": ("执行止", "to"), "window_months": ("执行月数", "months"),
    "bonuses": ("加分", "bonuses"), "bonus_cap": ("加分上限", "bonus cap"), "penalties": ("减分", "penalties"),
    "penalty_cap": ("减分上限", "penalty cap"), "points": ("分值", "points"), "flag": ("条件", "condition"),
    "groups": ("行业分组", "industry groups"), "industries": ("行业", "industries"), "rules": ("调档规则", "class rules"),
    "when": ("条件", "when"), "then": ("结果", "then"), "id": ("编号", "id"), "best": ("最高类别", "best class"),
    "worst": ("最低类别", "worst class"), "down": ("降档", "down"), "set": ("定为", "set to"), "at_least": ("不低于", "at least"),
    "class": ("类别", "class"), "below": ("低于", "below"), "founded_within_years": ("成立年限内", "founded within (years)"), "indicator": ("指标", "indicator"),
}
_STEP = re.compile(r"([A-Za-z_]+)(?:\[([^\]]+)\])?")


def field_label(path: str, cmp: dict) -> tuple[str, str]:
    """(Chinese, English) words for a dotted preset path: ``populations[above_scale].indicators[tax_per_mu].
    benchmark.value`` reads 规上工业企业 › 亩均税收 › 基准 › 基准值. A part without a word shows as itself."""
    pops = {p["id"]: p for side in ("a", "b") for p in cmp[side].get("populations", [])}
    inds = {i["id"]: i["label"] for p in pops.values() for i in p.get("indicators", [])}
    zh, en = [], []
    for name, key in _STEP.findall(path):
        if name == "populations" and key:
            pop = pops.get(key, {})
            zh.append(pop.get("label") or key)
            en.append(pop.get("label_en") or pop.get("label") or key)
        elif name == "indicators" and key:
            zh.append(inds.get(key, key))
            en.append(key)
        elif re.fullmatch(r"[A-Z]", name):            # a class: classes.shares.A
            zh.append(f"{name}类")
            en.append(f"class {name}")
        else:
            words = FIELD_LABELS.get(name, (name, name))
            zh.append(words[0] + (f"[{key}]" if key else ""))
            en.append(words[1] + (f"[{key}]" if key else ""))
    return " › ".join(zh), " › ".join(en)


@router.get("/policies", name="policies")
def policies_page(request: Request, a: str | None = Query(None), b: str | None = Query(None),
                  user: User = Depends(current_user)):
    presets = dashboard.presets_list()
    names = [p["name"] for p in presets]
    if not presets:
        return render(request, "policies.html", {"presets": [], "cmp": None, "a": None, "b": None, "fmt": FMT})
    a = a or names[0]
    b = b or (names[1] if len(names) > 1 else names[0])
    try:
        cmp = dashboard.presets_compare(a, b)
    except ShanhaiError as exc:
        raise PageError(404, f"没有该评价办法：{exc}", f"No such preset: {exc}") from None
    for d in cmp["diff"]:
        d["label_zh"], d["label_en"] = field_label(d["path"], cmp)
    return render(request, "policies.html", {"presets": presets, "cmp": cmp, "a": a, "b": b, "fmt": FMT})
