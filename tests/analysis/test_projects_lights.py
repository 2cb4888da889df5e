"""The project lifecycle (analysis.projects): the light of each preset rule at its boundaries, planned
against actual per stage, the stalled flag, the KPIs; and the project rule sets' validation
(policy._coop_projects)."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from shanhai.analysis import projects as ap
from shanhai.policy import PolicyError
from shanhai.policy._coop_projects import (COOP_DIR, LIFECYCLE, KINDS, LifecycleRules, coop_rule_sets, credit_rules,
                                           lifecycle_rules, ranking_rules, sharing_rules)

D = dt.date
RULES = lifecycle_rules()
SIGNED = D(2022, 1, 1)
# planned: land 2022-03, start 2022-07, complete 2023-07, produce 2023-09, above 2024-09, full 2025-12-31
PLANNED = {"signed": SIGNED, "land_supplied": D(2022, 3, 1), "started": D(2022, 7, 1), "completed": D(2023, 7, 1),
           "producing": D(2023, 9, 1), "above_scale": D(2024, 9, 1), "full_output": D(2025, 12, 31)}


def light(as_of, reached, planned=PLANNED, rules=RULES):
    return ap.calc_light(as_of=as_of, signed_on=SIGNED, reached=reached, planned=planned, rules=rules)


def test_months_between_counts_whole_months():
    assert ap.months_between(D(2024, 1, 31), D(2024, 2, 29)) == 0
    assert ap.months_between(D(2024, 1, 31), D(2024, 3, 1)) == 1
    assert ap.months_between(D(2024, 1, 15), D(2024, 7, 15)) == 6
    assert ap.months_between(D(2024, 1, 15), D(2024, 7, 14)) == 5
    assert ap.months_between(D(2024, 5, 1), D(2024, 1, 1)) == 0
    assert ap.add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert ap.add_months(D(2023, 11, 30), 3) == D(2024, 2, 29)


def test_on_plan_is_green_and_full_output_is_always_green():
    assert light(D(2022, 5, 1), "land_supplied").light == "green"
    assert light(D(2023, 10, 1), "producing").light == "green"
    done = light(D(2030, 1, 1), "full_output")
    assert done.light == "green" and done.reasons == () and done.progress == 1.0


def test_the_progress_gap_bands():
    # calendar progress at T is (T − S) / (F − S); stage progress of 'started' is 0.15
    span = (PLANNED["full_output"] - SIGNED).days
    at = lambda c: SIGNED + dt.timedelta(days=round(c * span))  # noqa: E731
    # only the progress rule can fire: next stage planned far ahead
    far = {**PLANNED, "completed": D(2026, 6, 1)}
    assert light(at(0.15 + 0.15), "started", far).light == "green"           # gap = amber_gap: not above it
    amber = light(at(0.15 + 0.20), "started", far)
    assert amber.light == "amber" and [r[0] for r in amber.reasons] == ["progress"]
    red = light(at(0.15 + 0.31), "started", far)
    assert red.light == "red" and 0.30 < red.gap < 0.32


def test_months_overdue_bands_on_the_next_stage():
    # producing reached; above_scale planned 2024-09-01; no progress rule (full output far away)
    late = {**PLANNED, "full_output": D(2040, 1, 1)}
    assert light(D(2024, 11, 30), "producing", late).light == "green"          # 2 months
    three = light(D(2024, 12, 1), "producing", late)
    assert three.light == "amber" and three.months_overdue == 3 and three.next_stage == "above_scale"
    six = light(D(2025, 3, 1), "producing", late)
    assert six.light == "red" and six.months_overdue == 6


def test_due_but_not_started():
    far = {**PLANNED, "land_supplied": D(2030, 1, 1), "full_output": D(2040, 1, 1)}
    # planned start 2022-07-01, one month's grace
    assert not light(D(2022, 8, 1), "signed", far).not_started
    x = light(D(2022, 8, 2), "signed", far)
    assert x.not_started and x.light == "red" and "not_started" in [r[0] for r in x.reasons]
    amber_rules = RULES.model_copy(update={"not_started": RULES.not_started.model_copy(update={"light": "amber"})})
    assert light(D(2022, 8, 2), "signed", far, amber_rules).light == "amber"
    assert not light(D(2022, 8, 2), "started", far).not_started


def test_the_worst_rule_wins():
    x = light(D(2025, 1, 1), "started")            # far behind in calendar, overdue since 2023-07, started
    assert x.light == "red" and {r[0] for r in x.reasons} == {"progress", "overdue"}


def test_lifecycle_plans_actuals_stalled_and_honoured():
    project = {"project_id": "P1", "signed_on": SIGNED, "expected_full_output": D(2025, 12, 31),
               "planned_investment": 10_000, "stage": "started"}
    events = [{"stage": "signed", "event_date": SIGNED, "invested": 0, "output": None},
              {"stage": "land_supplied", "event_date": D(2022, 4, 1), "invested": 500, "output": None},
              {"stage": "started", "event_date": D(2022, 9, 1), "invested": 1500, "output": None},
              {"stage": "completed", "event_date": D(2030, 1, 1), "invested": 9000, "output": None}]  # after as-of
    plan = {"started": {"planned_date": D(2022, 7, 1), "planned_investment": 1500}}
    x = ap.lifecycle(project, events, plan, RULES, D(2023, 10, 1))
    assert x.reached == "started" and x.invested == 1500.0 and x.planned_investment == 10_000.0
    rows = {s["stage"]: s for s in x.stages}
    assert [s["stage"] for s in x.stages] == list(LIFECYCLE)
    assert rows["started"]["planned_date"] == D(2022, 7, 1) and rows["started"]["actual_date"] == D(2022, 9, 1)
    assert rows["started"]["delay_days"] == 62 and rows["started"]["planned_investment"] == 1500.0
    # a stage without a plan row: months after signing from the rule set; full output: the expected date
    assert rows["completed"]["planned_date"] == ap.add_months(SIGNED, RULES.default_plan_months["completed"])
    assert rows["full_output"]["planned_date"] == D(2025, 12, 31)
    assert rows["completed"]["actual_date"] is None and rows["completed"]["reached"] is False
    # 2022-09-01 → 2023-10-01: 13 months without a new stage
    assert x.stalled and x.stalled_months == 13
    assert x.light.months_overdue == 3 and x.honoured            # completed planned 2023-07-01: 3 ≤ 3 months
    later = ap.lifecycle(project, events, plan, RULES, D(2023, 10, 2))
    assert later.light.months_overdue == 3
    assert not ap.lifecycle(project, events, plan, RULES, D(2023, 11, 1)).honoured


def test_the_reported_stage_counts_when_events_lag():
    project = {"project_id": "P2", "signed_on": SIGNED, "expected_full_output": None, "planned_investment": None,
               "stage": "producing"}
    x = ap.lifecycle(project, [], {}, RULES, D(2023, 1, 1))
    assert x.reached == "producing" and x.invested is None and x.last_event == SIGNED


def test_kpis_count_and_rate():
    def item(pid, reached, invested, planned, overdue, stalled=False):
        lt = ap.Light("red" if overdue > 6 else "green", 0.5, 0.5, 0.0, overdue, None, False)
        return ap.Lifecycle(pid, reached, lt, [], invested, planned, None, stalled, 0,
                            overdue <= RULES.kpi.honoured_grace_months)

    items = [item("a", "signed", None, 100.0, 8), item("b", "started", 40.0, 100.0, 0),
             item("c", "producing", 90.0, 100.0, 2, True), item("d", "full_output", 120.0, 100.0, 0)]
    k = ap.calc_kpis(items)
    assert k["projects"] == 4 and k["honoured"] == 3 and k["honoured_rate"] == 0.75
    assert k["started"] == 3 and k["producing"] == 2 and k["producing_rate"] == 0.5
    assert k["invested"] == 250.0 and k["planned_investment"] == 400.0 and k["funds_rate"] == 0.625
    assert k["lights"] == {"green": 3, "amber": 0, "red": 1} and k["stalled"] == 1
    assert ap.calc_kpis([])["honoured_rate"] is None
    by = ap.kpis_by(items, lambda x: ["all", "early"] if x.reached in ("signed", "started") else ["all"])
    assert by["all"]["projects"] == 4 and by["early"]["projects"] == 2


# ---- the rule sets ------------------------------------------------------------------------------

def test_the_packaged_rule_sets_load():
    assert [s for s in LIFECYCLE] == ["signed", "land_supplied", "started", "completed", "producing",
                                      "above_scale", "full_output"]
    for kind in KINDS:
        assert "default" in coop_rule_sets(kind)
    s = sharing_rules()
    assert s.schedule(2024) == [(2024, 2026, 0.5), (2027, None, 0.7)]
    assert credit_rules().caps.per_project > 0 and ranking_rules().energy.limit("330922") == 0.52
    assert abs(sum(ranking_rules().weights.model_dump().values()) - 1) < 1e-9


def _data(kind: str) -> dict:
    return tomllib.loads((COOP_DIR / f"{kind}_default.toml").read_text("utf-8"))


@pytest.mark.parametrize("change, message", [
    (lambda d: d["stage_weights"].update(started=0.9), "must not decrease"),
    (lambda d: d["stage_weights"].pop("completed"), "needs every stage"),
    (lambda d: d["stage_weights"].update(finished=1.0), "unknown stages"),
    (lambda d: d["progress"].update(red_gap=0.1), "red_gap must be at least amber_gap"),
    (lambda d: d["overdue"].update(red_months=1), "red_months"),
    (lambda d: d["not_started"].update(light="green"), "not_started.light"),
])
def test_a_bad_lifecycle_rule_set_is_refused(change, message):
    data = _data("lifecycle")
    change(data)
    with pytest.raises(Exception, match=message):
        LifecycleRules.model_validate(data)


def test_rule_sets_from_the_policy_dir_and_their_errors(tmp_path, monkeypatch):
    folder = tmp_path / "coop"
    folder.mkdir()
    text = (COOP_DIR / "sharing_default.toml").read_text("utf-8").replace('name = "default"', 'name = "county-a"')
    (folder / "sharing_county-a.toml").write_text(text.replace("landing_share = 0.7", "landing_share = 0.8"), "utf-8")
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    assert sharing_rules("county-a").schedule(2020)[-1] == (2023, None, 0.8)
    with pytest.raises(PolicyError, match="unknown sharing rule set 'nope'"):
        sharing_rules("nope")
    (folder / "credit_wrong.toml").write_text((COOP_DIR / "credit_default.toml").read_text("utf-8"), "utf-8")
    with pytest.raises(PolicyError, match=r"file name must be credit_default\.toml"):
        credit_rules()
    (folder / "credit_wrong.toml").unlink()
    bad = (COOP_DIR / "ranking_default.toml").read_text("utf-8").replace('name = "default"', 'name = "bad"')
    (folder / "ranking_bad.toml").write_text(bad.replace("chain = 0.30", "chain = 0.50"), "utf-8")
    with pytest.raises(PolicyError, match="must add up to 1"):
        ranking_rules()
    assert Path(COOP_DIR).is_dir()
