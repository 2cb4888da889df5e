"""The rule language's per-firm lifetime limits of a support-policy item (``[amount]
lifetime_cap`` / ``once_per_firm``) and stages: parsed, validated with one clear error naming the
key, shown in the explanation and the item summary; the items of one stacking group must agree."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import numpy as np
import pytest

from shanhai.policy._load import PolicyError
from shanhai.policy._rules import Facts, explain_amount, stage_split
from shanhai.policy._service import parse_item, service_items
from service_test_items import install_items, item_toml

def _item(extra: str, name: str = "t-limits", group: str = ""):
    return parse_item(tomllib.loads(item_toml(name, 100, extra, group)), f"{name}.toml")


def test_limits_are_parsed_and_shown():
    it = _item("lifetime_cap = 250\nonce_per_firm = false")
    assert (it.amount.lifetime_cap, it.amount.once_per_firm) == (250.0, False)
    s = it.summary()
    assert (s["lifetime_cap"], s["once_per_firm"], s["limits"]) == (250.0, False, "每家企业各年度累计封顶 250 万元")
    once = _item("once_per_firm = true")
    assert once.summary()["limits"] == "每家企业限享一次" and once.amount.lifetime_cap is None
    plain = _item("")
    assert (plain.amount.lifetime_cap, plain.amount.once_per_firm, plain.summary()["limits"]) == (None, False, "")
    facts = Facts(np.array(["A"], dtype=object), {"digital_spend": np.array([50.0])}, {})
    assert explain_amount(it.amount, facts, 0)["formula"] == "定额 100 万元 = 100 万元（每家企业各年度累计封顶 250 万元）"
    assert explain_amount(plain.amount, facts, 0)["formula"] == "定额 100 万元 = 100 万元"


@pytest.mark.parametrize("extra, message", [
    ("lifetime_cap = 0", "amount.lifetime_cap: must be > 0 万元"),
    ("lifetime_cap = -5", "amount.lifetime_cap: must be > 0 万元"),
    ('lifetime_cap = "300"', "lifetime_cap must be a finite number"),
    ("cap = 100\nlifetime_cap = 80", "amount.lifetime_cap: 80 万元 is below the per-award cap 100 万元"),
    ('once_per_firm = "yes"', "amount.once_per_firm: must be true or false"),
    ("once_per_firm = 1", "amount.once_per_firm: must be true or false"),
    ("lifetime = 300", "unknown keys lifetime"),
])
def test_bad_limits_are_one_clear_error(extra, message):
    with pytest.raises(PolicyError, match=message.replace("(", r"\(")) as exc:
        _item(extra)
    assert str(exc.value).startswith("t-limits.toml: ")


def test_the_items_of_a_group_must_state_the_same_limits(tmp_path, monkeypatch):
    group = 'stacking_group = "g-x"'
    install_items(tmp_path, monkeypatch, {name: item_toml(name, 100, "lifetime_cap = 300", group) for name in ("t-a", "t-b")})
    assert service_items()["t-b"].amount.lifetime_cap == 300.0
    install_items(tmp_path, monkeypatch, {"t-b": item_toml("t-b", 100, "once_per_firm = true", group)})
    with pytest.raises(PolicyError, match="t-b: amount.lifetime_cap/once_per_firm .* differ from t-a .* same "
                                          "stacking_group 'g-x'"):
        service_items()


def test_stage_split_rounds_half_up_and_the_last_stage_takes_the_rest():
    # 33.3333 × 0.3 = 9.99999 → 10.0000; 33.3333 − 10.0000 = 23.3333
    assert stage_split(Decimal("33.3333"), (("完工", 0.3), ("验收", 0.7))) == [("完工", Decimal("10.0000")),
                                                                            ("验收", Decimal("23.3333"))]
    # 0.0005 × 0.3 = 0.00015 → 0.0002 (half up); the rest 0.0003
    assert stage_split(Decimal("0.0005"), (("a", 0.3), ("b", 0.7))) == [("a", Decimal("0.0002")),
                                                                      ("b", Decimal("0.0003"))]
    assert stage_split(Decimal("12.3456"), ()) == [("一次性", Decimal("12.3456"))]
