"""``shanhai.jobs.coop_profile`` on the small synthetic province: the per-mu figures equal the stored
run's roll-ups, the counts equal plain SQL over the facts, the category targets carry the
unverified mark, the scope rules hold (a profile outside the region is refused; the 26-county table
hides another county's projects and money figures behind fewer than three firms), the action plan's
values, gaps and lights, the enclaves' visibility and progress; the policy file's model; the
workbooks."""

from __future__ import annotations

import io
import json
import shutil

import fastexcel
import pytest

from shanhai.errors import NotFoundError, ShanhaiError
from shanhai.jobs import coop_profile as cp
from shanhai.policy import PolicyError
from shanhai.policy import _coop_targets as ct
from shanhai.reports import coop_profile_excel as cx
from shanhai.store import open_store
from shanhai.store.scope import OutOfScopeError, Scope

JINGNING, LONGYOU, KEQIAO = "331127", "330825", "330603"


@pytest.fixture(scope="module")
def evaluated(small_evaluated):
    path, year, run_id = small_evaluated
    with open_store(path, read_only=True) as store:
        yield store, year, run_id


@pytest.fixture(scope="module")
def store(evaluated):
    return evaluated[0]


@pytest.fixture(scope="module")
def year(evaluated):
    return evaluated[1]


@pytest.fixture(scope="module")
def province_view(store, year):
    return cp.overview(store, Scope.province(), year)


@pytest.fixture(scope="module")
def progress(store, year):
    return cp.action_plan_progress(store, Scope.province(), year)


def scalar(store, sql):
    return store.con.execute(sql).fetchone()[0]


MOUNTAIN = "(SELECT adcode FROM regions WHERE level = 'county' AND mountain26)"


# ---- figures ---------------------------------------------------------------------------------

def test_per_mu_figures_equal_the_runs_above_scale_rollups(store, evaluated, province_view):
    run_id = evaluated[2]
    stored = {k: v for k, *v in store.con.execute(f"""
        SELECT key, firms, tax_per_mu, value_added_per_mu, labour_productivity, CAST(value_added AS DOUBLE)
        FROM mujun_rollups WHERE run_id = '{run_id}' AND level = 'county' AND scope = 'above_scale'""").fetchall()}
    assert len(province_view["rows"]) == 26
    for row in province_view["rows"]:
        firms, tax, va, productivity, value_added = stored[row["adcode"]]
        assert row["above_scale"] == firms
        for mine, theirs in ((row["tax_per_mu"], tax), (row["value_added_per_mu"], va),
                             (row["labour_productivity"], productivity), (row["value_added"], value_added)):
            assert mine == pytest.approx(theirs, rel=1e-9, abs=1e-9)


def test_new_above_scale_firms_are_those_not_above_scale_the_year_before(store, year):
    years = [r[0] for r in store.con.execute("SELECT DISTINCT year FROM enterprise_years ORDER BY 1").fetchall()]
    expected = dict(store.con.execute(f"""
        SELECT e.county_adcode, count(*) FROM enterprise_years y JOIN enterprises e USING (uscc)
        LEFT JOIN enterprise_years p ON p.uscc = y.uscc AND p.year = y.year - 1
        WHERE y.year = {year} AND y.above_scale AND NOT coalesce(p.above_scale, false)
          AND e.county_adcode IN {MOUNTAIN} GROUP BY 1""").fetchall())
    since = dict(store.con.execute(f"""
        SELECT e.county_adcode, count(DISTINCT y.uscc) FROM enterprise_years y JOIN enterprises e USING (uscc)
        LEFT JOIN enterprise_years p ON p.uscc = y.uscc AND p.year = y.year - 1
        WHERE y.year BETWEEN {max(2021, years[0] + 1)} AND {year} AND y.above_scale AND NOT coalesce(p.above_scale, false)
          AND e.county_adcode IN {MOUNTAIN} GROUP BY 1""").fetchall())
    for county in cp.mountain_counties(store):
        fig = cp.county_figures(store, county["adcode"], year, years)
        assert fig["new_above_scale"] == expected.get(county["adcode"], 0), county["name"]
        assert fig["new_above_scale_since"] == since.get(county["adcode"], 0), county["name"]
        assert fig["above_scale_prev"] == scalar(store, f"""
            SELECT count(*) FROM enterprise_years y JOIN enterprises e USING (uscc)
            WHERE y.year = {year - 1} AND y.above_scale AND e.county_adcode = '{county['adcode']}'""")
    first = cp.county_figures(store, JINGNING, years[0], years)
    assert first["new_above_scale"] is None and first["above_scale_prev"] is None   # no year before in the store


def test_category_targets_and_the_unverified_mark(store, province_view):
    rows = {r["adcode"]: r for r in province_view["rows"]}
    categories = dict(store.con.execute(
        "SELECT adcode, mountain_category FROM regions WHERE mountain26").fetchall())
    assert set(categories.values()) == {"leapfrog", "ecological"}
    for adcode, category in categories.items():
        r = rows[adcode]
        assert r["tax_target"] == {"leapfrog": 25, "ecological": 20}[category]
        assert r["targets"]["labour_productivity"]["target"] == 15
        assert not r["category_verified"] and r["category_label"].endswith("（待核实）")
        met = r["targets"]["tax_per_mu"]["met"]
        assert met is None or met == (r["tax_per_mu"] >= r["tax_target"])
    assert "未经核实" in province_view["category_note"] and "not verified" in province_view["category_note_en"]
    assert province_view["totals"]["tax_met"] == sum(1 for r in rows.values() if r["targets"]["tax_per_mu"]["met"])


# ---- the profile -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def jingning(store, year):
    return cp.profile(store, Scope.of(store, JINGNING), JINGNING, year)


def test_the_profile_gathers_every_part(store, year, jingning):
    from shanhai.jobs import chains as jc
    from shanhai.jobs.opportunities import opportunities

    p = jingning
    assert p["county"]["adcode"] == JINGNING and p["year"] == year
    assert p["county"]["category"] == "ecological" and p["county"]["category_note"]
    tax = next(t for t in p["targets"] if t["id"] == "tax_per_mu")
    assert tax["target"] == 20 and tax["unverified"] and "生态发展类" in tax["label"]
    assert {t["id"] for t in p["targets"]} >= {"tax_per_mu", "labour_productivity", "va-over-5-2023", "va-over-8-2025"}
    assert [x["name"] for x in p["leads"]] == [r[0] for r in store.con.execute(
        f"SELECT name FROM lead_industries WHERE adcode = '{JINGNING}' ORDER BY position").fetchall()]
    o = opportunities(store, JINGNING, scope=Scope.province(), year=year, top=cp.TOP_SUGGESTIONS)
    assert [r["code"] for r in p["suggestions"]["develop"]] == [r["code"] for r in o.develop]
    assert [r["code"] for r in p["suggestions"]["strengthen"]] == [r["code"] for r in o.strengthen]
    assert [x["developed_name"] for x in p["partners"]] == [r[0] for r in store.con.execute(
        f"SELECT developed_name FROM pairings WHERE mountain_adcode = '{JINGNING}'").fetchall()]
    grid = jc.panorama_grid(store, Scope.of(store, JINGNING), year=year)
    assert {c["chain_id"]: c["statuses"] for c in p["chains"]} == {g["chain_id"]: g["statuses"] for g in grid}
    assert all(sum(c["counts"].values()) == c["segments"] for c in p["chains"])
    # 丽景民族工业园: 景宁 owns it inside 丽水市
    assert [(e["enclave_id"], e["role"], e["packaged"]) for e in p["enclaves"]] == [
        ("ref-lishui-jingning", "owner", True)]
    json.dumps(p, default=str)


def test_projects_are_counted_by_stage_without_names(store):
    county = scalar(store, f"SELECT landing_adcode FROM projects WHERE landing_adcode IN {MOUNTAIN} "
                           "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    p = cp.county_projects(store, county)
    expected = dict(store.con.execute(
        f"SELECT stage, count(*) FROM projects WHERE landing_adcode = '{county}' GROUP BY 1").fetchall())
    assert {s["stage"]: s["projects"] for s in p["by_stage"] if s["projects"]} == expected
    assert p["total"] == sum(expected.values()) > 0
    assert p["chain_cooperation"] == scalar(store, f"SELECT count(*) FROM projects WHERE landing_adcode = '{county}' "
                                                   "AND is_cooperation AND chain_id IS NOT NULL")
    text = json.dumps(p, ensure_ascii=False)
    for (investor,) in store.con.execute(f"SELECT investor_name FROM projects WHERE landing_adcode = '{county}' "
                                         "AND investor_name IS NOT NULL").fetchall():
        assert investor not in text


def test_the_profile_refuses_what_it_cannot_show(store):
    jingning = Scope.of(store, JINGNING)
    with pytest.raises(OutOfScopeError):
        cp.profile(store, jingning, LONGYOU)                     # another mountain county
    with pytest.raises(OutOfScopeError):
        cp.profile(store, Scope.of(store, "331100"), LONGYOU)    # 丽水 does not see 衢州's county
    with pytest.raises(NotFoundError, match="26"):
        cp.profile(store, Scope.province(), KEQIAO)              # not a mountain county
    with pytest.raises(NotFoundError):
        cp.profile(store, Scope.province(), "331100")            # a city
    with pytest.raises(NotFoundError):
        cp.profile(store, Scope.province(), "339999")            # no such region
    with pytest.raises(ShanhaiError, match="no enterprise data for 1999"):
        cp.profile(store, Scope.province(), JINGNING, 1999)


# ---- the 26 counties ---------------------------------------------------------------------------

def test_a_county_sees_the_26_but_only_public_aggregates_of_the_others(store, year, province_view):
    view = cp.overview(store, Scope.of(store, JINGNING), year)
    mine = {r["adcode"]: r for r in view["rows"]}
    full = {r["adcode"]: r for r in province_view["rows"]}
    assert set(mine) == set(full) and len(mine) == 26
    for code, r in mine.items():
        assert r["in_scope"] == (code == JINGNING)
        assert r["above_scale"] == full[code]["above_scale"] and r["partners"] == full[code]["partners"]
        if code == JINGNING:
            assert r["projects"] == full[code]["projects"] and not r["suppressed"]
            assert r["tax_per_mu"] == full[code]["tax_per_mu"]
            continue
        assert r["projects"] is None
        small = full[code]["above_scale"] < cp.PUBLIC_MIN_FIRMS
        assert r["suppressed"] == small
        for field in ("value_added", "tax_per_mu", "value_added_per_mu", "labour_productivity"):
            assert r[field] == (None if small else full[code][field])
        if small:
            assert all(t["met"] is None for t in r["targets"].values())
    assert view["totals"]["suppressed"] == sum(1 for r in mine.values() if r["suppressed"])
    # the 26 together are public: the same for every caller
    for key in ("value_added", "tax_per_mu", "above_scale", "new_above_scale"):
        assert view["totals"][key] == province_view["totals"][key]


def test_no_small_cell_is_hidden_from_its_own_county(store, year):
    smallest = min(cp.overview(store, Scope.province(), year)["rows"], key=lambda r: r["above_scale"])
    own = cp.overview(store, Scope.of(store, smallest["adcode"]), year)
    row = next(r for r in own["rows"] if r["adcode"] == smallest["adcode"])
    assert row["in_scope"] and not row["suppressed"] and row["value_added"] == smallest["value_added"]


# ---- the action plan ---------------------------------------------------------------------------

def test_every_target_of_the_plan_is_reported(progress):
    plan = ct.coop_targets()
    assert [i["id"] for i in progress["items"]] == [t.id for t in plan.targets]
    assert {i["target_year"] for i in progress["items"]} == {2023, 2025}
    by_id = {i["id"]: i for i in progress["items"]}
    assert by_id["va-over-5-2023"]["target"] == 26 and by_id["va-over-8-2025"]["target"] == 26
    assert by_id["enclaves-2025"]["target"] == 30 and by_id["specialised-2025"]["target"] == 500
    assert by_id["new-above-scale-2025"]["target"] == 2300 and by_id["projects-2023"]["target"] == 100
    assert "seed 000" in progress["source"]
    for i in progress["items"]:
        assert i["as_of"] == min(progress["year"], i["target_year"])
        if i["actual"] is not None:
            assert i["gap"] == max(0.0, i["target"] - i["actual"])
            assert i["achieved"] == pytest.approx(i["actual"] / i["target"])
        assert i["light"] in cp.LIGHTS


def test_the_plans_values_equal_plain_sql(store, year, progress):
    by_id = {i["id"]: i for i in progress["items"]}
    as_of = by_id["projects-2025"]["as_of"]
    assert by_id["projects-2025"]["actual"] == scalar(store, f"""
        SELECT count(*) FROM projects WHERE is_cooperation AND chain_id IS NOT NULL AND landing_adcode IN {MOUNTAIN}
          AND year(signed_on) BETWEEN 2021 AND {as_of}""")
    assert by_id["specialised-2025"]["actual"] == scalar(store, f"""
        SELECT count(DISTINCT f.uscc) FROM enterprise_flags f JOIN enterprises e USING (uscc)
        WHERE f.flag = 'specialised' AND e.county_adcode IN {MOUNTAIN} AND f.valid_from <= DATE '{as_of}-12-31'
          AND (f.valid_to IS NULL OR f.valid_to >= DATE '{as_of}-01-01')""")
    for target_id, threshold in (("va-over-8-2025", 80000), ("va-over-100-2025", 1000000)):
        over = {r[0] for r in store.con.execute(f"""
            SELECT e.county_adcode FROM enterprise_years y JOIN enterprises e USING (uscc)
            WHERE y.year = {as_of} AND y.above_scale AND e.county_adcode IN {MOUNTAIN}
            GROUP BY 1 HAVING sum(y.value_added) > {threshold}""").fetchall()}
        assert by_id[target_id]["actual"] == len(over)
        assert {c["adcode"] for c in by_id[target_id]["detail"]["counties"]} == over
    # every packaged enclave involves a mountain county and is dated no later than the data
    assert by_id["enclaves-2025"]["actual"] == 10
    assert by_id["new-above-scale-2025"]["partial"]          # the synthetic data begins in 2021, not 2020


@pytest.mark.parametrize("actual, target, as_of, target_year, light", [
    (None, 100, 2024, 2025, "grey"),
    (100, 100, 2022, 2025, "green"),         # reached
    (90, 100, 2025, 2025, "red"),            # the target year has come, unmet
    (50, 100, 2023, 2025, "amber"),          # 序时进度 3/5 = 60 %, 10 points behind
    (25, 100, 2023, 2025, "red"),            # 35 points behind
    (70, 100, 2023, 2025, "green"),          # ahead of 序时进度
    (30, 100, 2023, 2025, "amber"),          # exactly 30 points behind
])
def test_lights(actual, target, as_of, target_year, light):
    got, schedule = cp._light(actual, target, as_of, target_year, 2021, 30)
    assert got == light
    assert schedule == pytest.approx(min(1, (as_of - 2020) / (target_year - 2020)))


# ---- enclaves --------------------------------------------------------------------------------

def test_enclaves_packaged_ones_are_public_with_their_sources(store, year):
    doc = cp.enclaves(store, Scope.of(store, KEQIAO), year)
    assert len(doc["enclaves"]) == 10 and doc["hidden"] == 0
    assert all(e["packaged"] and e["source_url"].startswith("http") and e["confidence"] for e in doc["enclaves"])
    assert doc["progress"]["counted"] == 10 and doc["progress"]["target"] == 30
    assert sum(k["count"] for k in doc["by_kind"].values()) == 10
    assert doc["returns_by_year"] == [{"year": 2020, "amount": 331.0}]
    zhenhai = next(e for e in doc["enclaves"] if e["enclave_id"] == "ref-zhenhai-longyou")
    assert (zhenhai["host_name"], zhenhai["owner_name"], zhenhai["established"]) == ("镇海区", "龙游县", "2019-11")


def test_an_imported_enclave_is_seen_by_its_regions_and_counted_for_all(small_db, tmp_path):
    path = tmp_path / "enclaves.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        store.con.execute("""INSERT INTO enclaves VALUES
            ('FD-1', '龙游—柯桥产业飞地', 'industrial', '330603', '330825', DATE '2022-05-01', 200, 'import-test'),
            ('FD-2', '柯桥—越城园区', 'industrial', '330602', '330603', DATE '2022-05-01', 50, 'import-test'),
            ('FD-3', '新飞地', 'innovation', '330106', '331127', DATE '2030-01-01', NULL, 'import-test')""")
        store.con.execute("INSERT INTO enclave_returns VALUES ('FD-1', 2023, 120), ('FD-1', 2024, 150)")
        year = scalar(store, "SELECT max(year) FROM enterprise_years")
        longyou = cp.enclaves(store, Scope.of(store, LONGYOU), year)
        assert {e["enclave_id"] for e in longyou["enclaves"] if not e["packaged"]} == {"FD-1"}
        assert longyou["hidden"] == 2
        # FD-2 involves no mountain county; FD-3 is dated after the year
        assert longyou["progress"]["counted"] == 11
        keqiao = cp.enclaves(store, Scope.of(store, KEQIAO), year)
        assert {e["enclave_id"] for e in keqiao["enclaves"] if not e["packaged"]} == {"FD-1", "FD-2"}
        fd1 = next(e for e in keqiao["enclaves"] if e["enclave_id"] == "FD-1")
        assert fd1["returns_total"] == 270 and fd1["counts"] and fd1["source_url"] is None
        assert {r["year"]: r["amount"] for r in keqiao["returns_by_year"]}[2024] == 150
        profile = cp.profile(store, Scope.of(store, LONGYOU), LONGYOU, year)
        assert {e["enclave_id"]: e["role"] for e in profile["enclaves"]}["FD-1"] == "owner"
        progress = cp.action_plan_progress(store, Scope.province(), year)
        assert next(i for i in progress["items"] if i["id"] == "enclaves-2025")["actual"] == 11


# ---- the policy file ---------------------------------------------------------------------------

def test_the_action_plan_file(monkeypatch, tmp_path):
    plan = ct.coop_targets()
    assert plan.counted_from == 2021 and plan.per_mu.labour_productivity == 15
    assert {k: v.tax_per_mu for k, v in plan.categories.items()} == {"leapfrog": 25, "ecological": 20}
    assert len(plan.targets) == 10 and "seed 000" in plan.source
    # a county's own copy in $SHANHAI_POLICY_DIR/coop wins
    (tmp_path / "coop").mkdir()
    mine = ct.ACTION_PLAN_FILE.read_text("utf-8").replace("amber_points = 30", "amber_points = 10")
    (tmp_path / "coop" / "action_plan.toml").write_text(mine, "utf-8")
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    assert ct.coop_targets().lights.amber_points == 10


@pytest.mark.parametrize("change, message", [
    (('value = 100\nunit = "个"', 'value = 100\nall_counties = true\nunit = "个"'), "exactly one"),
    (("threshold = 800000        # 万元 = 80 亿元\n", ""), "threshold"),
    (("counted_from = 2021", "counted_from = 2024"), "before counted_from"),
    (("tax_per_mu = 25", "tax_per_mu = -1"), "greater than 0"),
    (('indicator = "enclaves"', 'indicator = "unicorns"'), "indicator"),
])
def test_a_bad_action_plan_is_refused(change, message, monkeypatch, tmp_path):
    text = ct.ACTION_PLAN_FILE.read_text("utf-8")
    assert change[0] in text
    (tmp_path / "coop").mkdir()
    (tmp_path / "coop" / "action_plan.toml").write_text(text.replace(change[0], change[1], 1), "utf-8")
    monkeypatch.setenv("SHANHAI_POLICY_DIR", str(tmp_path))
    with pytest.raises(PolicyError, match=message):
        ct.coop_targets()


# ---- workbooks ---------------------------------------------------------------------------------

def sheets(data: bytes) -> dict[str, list[list]]:
    reader = fastexcel.read_excel(io.BytesIO(data).getvalue())
    return {name: [list(r.values()) for r in reader.load_sheet_by_name(name, header_row=None).to_arrow().to_pylist()]
            for name in reader.sheet_names}


def test_workbooks_carry_the_figures_the_marks_and_the_blanks(store, year, jingning, progress):
    view = cp.overview(store, Scope.of(store, JINGNING), year)
    book = sheets(cx.overview_workbook(view, progress))
    assert list(book) == ["山区26县", "行动计划目标", "说明"]
    rows = {r[0]: r for r in book["山区26县"][2:28]}
    assert len(rows) == 26 and all(r[2].endswith("（待核实）") for r in rows.values())
    for r in view["rows"]:
        line = rows[r["name"]]
        assert line[17] is None if not r["in_scope"] else line[17] is not None     # projects: own county only
        if r["suppressed"]:
            assert line[8] is None and line[9] is None                              # value added, tax per mu
    assert len(book["行动计划目标"]) >= 12 and "未经核实" in json.dumps(book["说明"], ensure_ascii=False)
    profile = sheets(cx.profile_workbook(jingning))
    assert list(profile) == ["概况", "主导产业与建议", "结对与飞地", "项目与产业链", "说明"]
    text = json.dumps(profile, ensure_ascii=False)
    assert "景宁畲族自治县" in text and "分类待核实" in text and "丽景民族工业园" in text
    enclaves = sheets(cx.enclaves_workbook(cp.enclaves(store, Scope.province(), year)))
    assert list(enclaves) == ["飞地", "年度收益", "说明"] and len(enclaves["飞地"]) >= 12
    # the reports' confidence reads in words (可信度高/中/低), never the code high/medium/low
    words = json.dumps(enclaves["飞地"], ensure_ascii=False) + text
    assert "可信度" in words and not any(f'"{code}"' in words for code in ("high", "medium", "low"))
