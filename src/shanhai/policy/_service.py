"""Support-policy items (惠企政策事项) as data: one TOML file per item in ``policy/service/`` (and
``$SHANHAI_POLICY_DIR/service``), each a rule set of the one rule language
(:mod:`shanhai.policy._rules`: conditions, exclusions, ``review_when``, first-time, 以上/超过)
plus what only an item has:

* ``document`` (文件依据, the number of the document that grants it), ``adcode`` (the issuing
  region: only firms inside it are matched), ``payment_mode`` — ``no_application`` (免申即享: the
  list is pre-filled, the firm only confirms) or ``on_application`` (the firm applies first);
* ``budget`` (万元 a year, optional), ``stacking_group`` (items of one group are not paid twice to
  a firm in a year: 就高不重复), ``notice_days`` (public notice before approval, 7 by default);
* ``[amount]``: the formula (fixed, bands, tiers, percent with floor/cap/uplift, per unit, first
  crossing, unknown; staged), parsed by :func:`shanhai.policy._rules.parse_amount`, with the
  per-firm lifetime limits ``lifetime_cap`` / ``once_per_firm``: they count every award year of
  the item, or of its stacking group when it has one — so the items of one group must state the
  same limits (checked when the items are loaded).

``tier`` is the item's category (:data:`CATEGORIES`). Several items of one category may be in
force together (unlike cultivation tiers).
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from shanhai.policy._load import PolicyError
from shanhai.policy._rules import Amount, FactDef, RuleSet, _catalogue, parse_amount, parse_rule_set

SERVICE_DIR = Path(__file__).parent / "service"
CATEGORIES = {"scale_up_award": ("小升规奖励", "Scale-up award"), "tech_renovation": ("技术改造", "Technical renovation"),
              "first_set": ("首台(套)", "First set"), "digital": ("数字化转型", "Digital transformation"),
              "software": ("软件产业", "Software industry"), "listing": ("上市培育", "Listing"),
              "other": ("其他", "Other")}
PAYMENT_MODES = {"no_application": ("免申即享", "No application"), "on_application": ("依申请兑现", "On application")}
ITEM_KEYS = ("document", "adcode", "payment_mode", "budget", "stacking_group", "notice_days", "amount")


@dataclass(frozen=True)
class ServiceItem:
    rule: RuleSet
    amount: Amount
    document: str
    adcode: str
    payment_mode: str
    budget: Decimal | None
    stacking_group: str | None
    notice_days: int

    @property
    def item_id(self) -> str:
        return self.rule.name

    @property
    def name(self) -> str:
        return self.rule.display_name

    @property
    def category(self) -> str:
        return self.rule.tier

    def fields(self) -> set[str]:
        return self.rule.fields() | self.amount.fields()

    def summary(self) -> dict:
        r = self.rule
        return {"item_id": self.item_id, "name": self.name, "name_en": r.display_name_en, "category": self.category,
                "category_label": CATEGORIES[self.category][0], "document": self.document, "adcode": self.adcode,
                "payment_mode": self.payment_mode, "payment_mode_label": PAYMENT_MODES[self.payment_mode][0],
                "budget": self.budget, "stacking_group": self.stacking_group, "notice_days": self.notice_days,
                "version": r.version, "valid_from": r.valid_from.isoformat(),
                "valid_to": r.valid_to.isoformat() if r.valid_to else None, "published": r.published,
                "source": r.source, "source_keys": list(r.source_keys), "notes": list(r.notes),
                "amount_kind": self.amount.kind, "amount_max": self.amount.most(), "cap": self.amount.cap,
                "lifetime_cap": self.amount.lifetime_cap, "once_per_firm": self.amount.once_per_firm,
                "limits": self.amount.limits_text(),
                "stages": [{"label": lbl, "share": share} for lbl, share in self.amount.stages],
                "fingerprint": r.fingerprint()[:12]}


def service_catalogue() -> dict[str, FactDef]:
    return _catalogue(SERVICE_DIR / "_facts.toml")


def parse_item(data: dict, source: str, catalogue: dict[str, FactDef] | None = None) -> ServiceItem:
    """An item from parsed TOML; a PolicyError naming ``source`` and the key at fault otherwise."""
    catalogue = catalogue or service_catalogue()
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a table")
    rule_part = {k: v for k, v in data.items() if k not in ITEM_KEYS}
    rs = parse_rule_set(rule_part, source, catalogue)
    if rs.tier not in CATEGORIES:
        raise PolicyError(f"{source}: tier {rs.tier!r} is not one of {', '.join(CATEGORIES)}")
    for key in ("document", "adcode"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise PolicyError(f"{source}: {key} must be a non-empty text")
    adcode = data["adcode"].strip()
    if not (adcode.isdigit() and len(adcode) == 6 and adcode.startswith("33")):
        raise PolicyError(f"{source}: adcode {adcode!r} is not a 6-digit Zhejiang adcode (330000, a city or a county)")
    mode = data.get("payment_mode")
    if mode not in PAYMENT_MODES:
        raise PolicyError(f"{source}: payment_mode must be one of {', '.join(PAYMENT_MODES)} (got {mode!r})")
    budget = data.get("budget")
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0:
            raise PolicyError(f"{source}: budget must be a positive number of 万元 (got {budget!r})")
        budget = Decimal(str(budget))
    group = data.get("stacking_group")
    if group is not None and (not isinstance(group, str) or not group.strip()):
        raise PolicyError(f"{source}: stacking_group must be a non-empty text")
    days = data.get("notice_days", 7)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 60:
        raise PolicyError(f"{source}: notice_days must be a whole number from 0 to 60 (got {days!r})")
    if "amount" not in data:
        raise PolicyError(f"{source}: an item needs an [amount] table")
    amount = parse_amount(data["amount"], source, catalogue)
    # the fingerprint covers the whole item (amount, budget, mode), not only its conditions
    rs = replace(rs, raw=json.loads(json.dumps(data, default=str)))
    return ServiceItem(rs, amount, data["document"].strip(), adcode, mode, budget, group, days)


def read_item(path: Path) -> ServiceItem:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{path}: not a readable UTF-8 TOML file: {exc}") from None
    item = parse_item(data, path.name)
    if path.stem != item.item_id:
        raise PolicyError(f"{path}: the file name must be {item.item_id}.toml (the item's name)")
    return item


_CACHE: dict = {}


def service_items() -> dict[str, ServiceItem]:
    """Every item by id: the packaged ones, then ``$SHANHAI_POLICY_DIR/service``."""
    from shanhai.policy._rulesets import folders

    where = folders(SERVICE_DIR, "service")
    stamp = tuple((p, tuple((f.name, f.stat().st_mtime_ns) for f in sorted(p.glob("*.toml"))) if p.is_dir() else ())
                  for p in where)
    if stamp not in _CACHE:
        found: dict[str, ServiceItem] = {}
        for folder in where:
            for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
                if path.name.startswith("_"):
                    continue
                item = read_item(path)
                if item.item_id in found:
                    raise PolicyError(f"{path}: item {item.item_id} is already defined")
                found[item.item_id] = item
        _check_group_limits(found)
        _CACHE.clear()
        _CACHE[stamp] = found
    return _CACHE[stamp]


def _check_group_limits(found: dict[str, ServiceItem]) -> None:
    """The lifetime limits of a stacking group count every item of the group: its items must agree."""
    seen: dict[str, ServiceItem] = {}
    for it in found.values():
        g = it.stacking_group
        if not g:
            continue
        first = seen.setdefault(g, it)
        a, b = first.amount, it.amount
        if (a.lifetime_cap, a.once_per_firm) != (b.lifetime_cap, b.once_per_firm):
            raise PolicyError(
                f"{it.item_id}: amount.lifetime_cap/once_per_firm ({b.lifetime_cap}, {b.once_per_firm}) differ from "
                f"{first.item_id} ({a.lifetime_cap}, {a.once_per_firm}) of the same stacking_group {g!r}: the limits "
                "count every item of the group, so its items must state the same ones")


def service_item(item_id: str) -> ServiceItem:
    found = service_items()
    if item_id not in found:
        raise PolicyError(f"unknown policy item {item_id!r}: expected one of {', '.join(sorted(found))}")
    return found[item_id]


def items_in_force(day: dt.date, ids=None) -> list[ServiceItem]:
    """The named items (a list or comma-separated text) or every item in force on ``day``."""
    if ids:
        if isinstance(ids, str):
            ids = [i.strip() for i in ids.split(",") if i.strip()]
        return [service_item(i) for i in ids]
    return [it for it in service_items().values() if it.rule.in_force(day)]
