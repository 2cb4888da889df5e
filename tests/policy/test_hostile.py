"""Hostile presets: every constraint the models declare, read back from ``Preset.model_json_schema()``,
is violated once, and ``policy.parse`` must refuse it with a ``PolicyError`` naming the file and the
field's path; then the cross-field rules (the models' validators), each with its own message.

The cases are generated, so a constraint added to a model is tested without touching this file.
"""

from __future__ import annotations

import copy

import pytest

from shanhai import policy
from shanhai.policy import PolicyError, Preset

SCHEMA = Preset.model_json_schema()
DEFS = SCHEMA["$defs"]
SOURCE = "hostile.toml"
CONSTRAINTS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "const", "pattern",
               "minLength", "maxLength", "minItems", "maxItems")


def base() -> dict:
    """A valid preset holding every model at least once: zhejiang-2018 (populations, bonuses,
    penalties, rules, consequences with escalation) plus Wenling's industry groups."""
    data = policy.get("zhejiang-2018").model_dump(mode="json", by_alias=True, exclude_none=True)
    data["groups"] = policy.get("wenling-2022").model_dump(mode="json", by_alias=True)["groups"]
    return data


def resolve(node: dict) -> tuple[str | None, dict]:
    """(model name or None, schema) with $ref followed and Optional's null branch dropped."""
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b.get("type") != "null"]
        assert len(branches) == 1, node
        return resolve(branches[0])
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return name, DEFS[name]
    return None, node


def instances(node: dict, value, path: tuple, name: str = "Preset"):
    """Every (model, path, value) where the base data holds an instance of a model."""
    if "properties" in node and isinstance(value, dict):
        yield name, path, value
        for prop, sub in node["properties"].items():
            if prop in value:
                child_name, child = resolve(sub)
                yield from instances(child, value[prop], path + (prop,), child_name)
    elif node.get("type") == "array" and isinstance(value, list):
        child_name, child = resolve(node.get("items", {}))
        for i, item in enumerate(value):
            yield from instances(child, item, path + (i,), child_name)


def dotted(path: tuple) -> str:
    """The way PolicyError writes a field's place: populations[0].indicators[1].weight."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def violations(prop: dict, current):
    """(suffix, bad value, what) for each declared constraint of one property."""
    _, s = resolve(prop)
    integer = s.get("type") == "integer"
    step = 1 if integer else 0.5
    if "minimum" in s:
        yield (), s["minimum"] - step, f"minimum {s['minimum']}"
    if "maximum" in s:
        yield (), s["maximum"] + step, f"maximum {s['maximum']}"
    if "exclusiveMinimum" in s:
        yield (), s["exclusiveMinimum"], f"exclusiveMinimum {s['exclusiveMinimum']}"
    if "exclusiveMaximum" in s:
        yield (), s["exclusiveMaximum"], f"exclusiveMaximum {s['exclusiveMaximum']}"
    if "enum" in s or "const" in s:
        yield (), "no_such_choice", "enum"
    if "pattern" in s:
        yield (), "Not Valid!", f"pattern {s['pattern']}"
    if "minLength" in s and s["minLength"] > 0:
        yield (), "x" * (s["minLength"] - 1), f"minLength {s['minLength']}"
    if "maxLength" in s:
        yield (), "a" * (s["maxLength"] + 1), f"maxLength {s['maxLength']}"
    if s.get("type") == "array":
        if "minItems" in s and s["minItems"] > 0:
            yield (), [], f"minItems {s['minItems']}"
        if "maxItems" in s and isinstance(current, list) and current:
            yield (), [copy.deepcopy(current[0]) for _ in range(s["maxItems"] + 1)], f"maxItems {s['maxItems']}"
        items = s.get("items", {})
        name, _ = resolve(items)
        if name is None and isinstance(current, list) and current:
            for suffix, bad, what in violations(items, current[0]):
                yield (0,) + suffix, [bad] + current[1:], f"items {what}"
    patterns = s.get("patternProperties")
    if patterns and isinstance(current, dict) and current:
        (key_pattern, value_schema), = patterns.items()
        first = next(iter(current))
        yield ("bad key",), {"bad key": current[first], **{k: v for k, v in current.items() if k != first}}, \
            f"key pattern {key_pattern}"
        for suffix, bad, what in violations(value_schema, current[first]):
            yield (first,) + suffix, {**current, first: bad}, f"values {what}"


def hostile_cases():
    cases, seen = [], set()
    data = base()
    for model, path, value in instances(SCHEMA, data, ()):
        schema = SCHEMA if model == "Preset" else DEFS[model]
        for prop, sub in schema["properties"].items():
            for suffix, bad, what in violations(sub, value.get(prop)):
                if (model, prop, what) in seen:          # each constraint once, at its first instance
                    continue
                seen.add((model, prop, what))
                cases.append(pytest.param(path + (prop,), suffix, bad, id=f"{model}.{prop}:{what}"))
    return cases


CASES = hostile_cases()


def test_every_declared_constraint_is_covered():
    """The generator reaches every model and a good share of the constraints (a smoke check on itself)."""
    ids = {c.id.split(":")[0].split(".")[0] for c in CASES}
    assert ids == {"Preset", *DEFS}, set(DEFS) - ids
    assert len(CASES) >= 60


def set_at(data: dict, path: tuple, value) -> None:
    target = data
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value


@pytest.mark.parametrize("path, suffix, bad", CASES)
def test_a_violated_constraint_names_its_field(path, suffix, bad):
    data = base()
    set_at(data, path, bad)
    with pytest.raises(PolicyError) as err:
        policy.parse(data, SOURCE)
    message = str(err.value)
    assert message.startswith(f"{SOURCE}: "), message
    where = dotted(path + tuple(s for s in suffix if s != "bad key"))
    assert f"{where}: " in message or f"{where}." in message, (where, message)
    assert "\n" not in message and "Traceback" not in message


def test_the_base_is_valid():
    assert policy.parse(base(), SOURCE).name == "zhejiang-2018"


# ---------------------------------------------------------------------------------------------
# cross-field rules
# ---------------------------------------------------------------------------------------------

def _pop(data, pid):
    return next(p for p in data["populations"] if p["id"] == pid)


def _edit_shares(d):
    d["classes"]["shares"] = {"A": 0.2, "B": 0.6, "C": 0.15, "D": 0.1}


def _edit_share_classes(d):
    d["classes"]["shares"] = {"A": 0.4, "B": 0.6}


def _edit_population_shares(d):
    _pop(d, "lessee")["shares"] = {"A": 0.05, "B": 0.7, "C": 0.2, "D": 0.06}


def _edit_rule_population(d):
    d["rules"][0]["populations"] = ["nobody"]


def _edit_rule_class(d):
    d["rules"][0]["then"] = {"set": "E"}


def _edit_consequence_class(d):
    d["consequences"][0]["class"] = "E"


def _edit_label_class(d):
    d["classes"]["labels"]["E"] = "额外"


def _edit_fixed_without_value(d):
    _pop(d, "above_scale")["indicators"][0]["benchmark"] = {"kind": "fixed"}


def _edit_value_not_fixed(d):
    _pop(d, "above_scale")["indicators"][0]["benchmark"] = {"kind": "mean", "value": 3}


def _edit_percentile_without_q(d):
    _pop(d, "above_scale")["indicators"][0]["benchmark"] = {"kind": "percentile"}


def _edit_data_on_statistic(d):
    _pop(d, "above_scale")["indicators"][0]["benchmark"] = {"kind": "mean", "data": "median"}


def _edit_duplicate_indicator(d):
    p = _pop(d, "above_scale")
    p["indicators"].append(copy.deepcopy(p["indicators"][0]))


def _edit_duplicate_population(d):
    d["populations"][2]["id"] = "lessee"


def _edit_floor_above_cap(d):
    _pop(d, "above_scale")["indicators"][0].update(cap=1.5, floor=2)


def _edit_deduct_without_points(d):
    _pop(d, "above_scale")["indicators"][0]["missing"] = "deduct"


def _edit_points_without_deduct(d):
    _pop(d, "above_scale")["indicators"][0]["deduct"] = 3


def _edit_land_bounds(d):
    _pop(d, "below_scale_3mu").update(own_land_min=5, own_land_max=3)


def _edit_benchmark_population(d):
    _pop(d, "above_scale")["indicators"][0]["benchmark"]["population"] = "nobody"


def _edit_bonus_population(d):
    d["bonuses"][0]["populations"] = ["nobody"]


def _edit_t_in_order(d):
    d["classes"]["order"] = ["A", "B", "C", "T"]
    d["classes"]["labels"] = {}
    d["classes"]["shares"] = {"A": 0.2, "B": 0.6, "C": 0.15, "T": 0.05}
    d["consequences"] = []
    for p in d["populations"]:
        p.pop("shares", None)


def _edit_order_repeats(d):
    d["classes"]["order"] = ["A", "B", "B", "D"]


def _edit_thresholds_missing(d):
    d["classes"]["method"] = "thresholds"


def _edit_thresholds_rising(d):
    d["classes"]["method"] = "thresholds"
    d["classes"]["thresholds"] = {"A": 60, "B": 80, "C": 40}


def _edit_thresholds_classes(d):
    d["classes"]["method"] = "thresholds"
    d["classes"]["thresholds"] = {"A": 90, "B": 60}


def _edit_within_group(d):
    d["classes"]["within"] = ["population", "group"]
    d.pop("groups", None)


def _edit_two_catch_alls(d):
    d["groups"][0]["industries"] = []


def _edit_duplicate_rule(d):
    d["rules"][1]["id"] = d["rules"][0]["id"]


def _edit_duplicate_consequence(d):
    d["consequences"].append(copy.deepcopy(d["consequences"][-1]))


def _edit_window_order(d):
    d["consequences"][2].pop("window_months", None)
    d["consequences"][2].update(window_from="2023-06-30", window_to="2022-12-01")


def _edit_window_half(d):
    d["consequences"][2].pop("window_months", None)
    d["consequences"][2]["window_from"] = "2022-12-01"


def _edit_window_twice(d):
    d["consequences"][2].update(window_from="2022-12-01", window_to="2023-06-30", window_months=7)


def _edit_empty_condition(d):
    d["rules"][0]["when"] = {}


def _edit_indicator_without_bound(d):
    d["rules"][0]["when"] = {"indicator": "tax_per_mu"}


def _edit_bound_without_indicator(d):
    d["rules"][0]["when"] = {"below": 1}


def _edit_two_actions(d):
    d["rules"][0]["then"] = {"down": 1, "set": "D"}


def _edit_region(d):
    d["region"] = "339999"


def _edit_industry_code(d):
    d["groups"][0]["industries"] = ["99"]


def _edit_extra_field(d):
    d["weights"] = {"tax": 30}


CROSS = [
    (_edit_shares, r"classes\.shares add up to 1\.05, expected 1"),
    (_edit_share_classes, r"classes\.shares must give every class \['A', 'B', 'C', 'D'\]"),
    (_edit_population_shares, r"populations\.lessee\.shares add up to 1\.01, expected 1"),
    (_edit_rule_population, r"rules\.major_safety_accident: unknown population 'nobody' \(populations: above_scale, "),
    (_edit_rule_class, r"rules\.major_safety_accident: unknown class 'E' \(classes: A, B, C, D\)"),
    (_edit_consequence_class, r"consequences: unknown class 'E'"),
    (_edit_label_class, r"classes\.labels: unknown class 'E'"),
    (_edit_fixed_without_value, r"populations\[0\]\.indicators\[0\]\.benchmark: a fixed benchmark needs value"),
    (_edit_value_not_fixed, r"benchmark: value is only for fixed benchmarks, not mean"),
    (_edit_percentile_without_q, r"benchmark: a percentile benchmark needs q"),
    (_edit_data_on_statistic, r"benchmark: data names the statistic that replaces a fixed value"),
    (_edit_duplicate_indicator, r"populations\[0\]: population above_scale: an indicator is listed twice"),
    (_edit_duplicate_population, r"population ids repeat: above_scale, lessee, lessee"),
    (_edit_floor_above_cap, r"populations\[0\]\.indicators\[0\]: floor 2(\.0)? is above cap 1\.5"),
    (_edit_deduct_without_points, r"missing = 'deduct' needs deduct > 0"),
    (_edit_points_without_deduct, r"deduct is only used with missing = 'deduct'"),
    (_edit_land_bounds, r"population below_scale_3mu: own_land_min must be below own_land_max"),
    (_edit_benchmark_population, r"populations\.above_scale\.tax_per_mu\.benchmark: unknown population 'nobody'"),
    (_edit_bonus_population, r"bonus/penalty high_tech: unknown population 'nobody'"),
    (_edit_t_in_order, r"T is the not-evaluated class and cannot be in classes\.order"),
    (_edit_order_repeats, r"classes\.order repeats a class"),
    (_edit_thresholds_missing, r"thresholds needs classes\.thresholds"),
    (_edit_thresholds_rising, r"classes\.thresholds must fall from the best class to the worst"),
    (_edit_thresholds_classes, r"classes\.thresholds must give every class but the last"),
    (_edit_within_group, r"classes\.within names group but the preset has no groups"),
    (_edit_two_catch_alls, r"at most one group may be the catch-all"),
    (_edit_duplicate_rule, r"rule ids repeat: major_safety_accident, major_safety_accident"),
    (_edit_duplicate_consequence, r"consequences: two entries for population lessee, class D"),
    (_edit_window_order, r"consequences\[2\]: window_to is before window_from"),
    (_edit_window_half, r"consequences\[2\]: window_from and window_to go together"),
    (_edit_window_twice, r"consequences\[2\]: give the collection window as dates or as window_months, not both"),
    (_edit_empty_condition, r"rules\[0\]\.when: a rule needs a condition"),
    (_edit_indicator_without_bound, r"rules\[0\]\.when: indicator tax_per_mu needs below or at_least"),
    (_edit_bound_without_indicator, r"rules\[0\]\.when: below / at_least need an indicator"),
    (_edit_two_actions, r"rules\[0\]\.then: an action is exactly one of set, down, best, worst"),
    (_edit_region, r"region: 339999 is not a Zhejiang province, city or county adcode"),
    (_edit_industry_code, r"groups\.textile_shoe_rubber_plastic\.industries: 99 is not a GB/T 4754-2017"),
    (_edit_extra_field, r"weights: Extra inputs are not permitted"),
]


@pytest.mark.parametrize("edit, message", CROSS, ids=[e.__name__.removeprefix("_edit_") for e, _ in CROSS])
def test_cross_field_errors_say_what_is_wrong(edit, message):
    data = base()
    edit(data)
    with pytest.raises(PolicyError, match=message) as err:
        policy.parse(data, SOURCE)
    assert str(err.value).startswith(f"{SOURCE}: ")
    assert "\n" not in str(err.value)
