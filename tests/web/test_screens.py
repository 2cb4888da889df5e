"""The dashboard's screens over the web (TestClient, one signed-in client per role from
conftest.py): the overview's map data and drill-down, the per-mu screens (runs, results, the
enterprise page, comparison, what-if, running an evaluation, exports, briefings), data upload and
collection progress, the presets — each within the caller's region, and refused outside it.

Writes (an evaluation, a what-if, an import) are confined to a 丽水 county that no test account
holds (``web_db.near_county``), so the other tests' views of the shared database do not change."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile

import pytest

from shanhai.jobs import dashboard
from shanhai.store.scope import Scope


def map_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', html, re.S)
    assert m, "no map data on the page"
    return json.loads(m.group(1))


def counties_of(store_like, city: str) -> set[str]:
    return {r[0] for r in store_like.con.execute(
        f"SELECT adcode FROM regions WHERE level = 'county' AND city_adcode = '{city}'").fetchall()}


def xlsx_text(data: bytes) -> str:
    """Every string of a workbook (shared strings and inline strings)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/") and n.endswith(".xml"))


@pytest.fixture(scope="module")
def store(app):
    from shanhai.store.connection import Store

    cur = app.state.store.con.cursor()
    yield Store(app.state.db_path, cur, False)
    cur.close()


# ---- overview ------------------------------------------------------------------------------

def test_overview_map_per_role(clients, web_db, store):
    expected = {
        "province": None, "admin": None,
        "city": counties_of(store, web_db.city),
        "county": {web_db.county}, "viewer": {web_db.county},
    }
    for role, client in clients.items():
        r = client.get("/")
        assert r.status_code == 200, (role, r.text[:300])
        assert "亩均效益总览" in r.text and 'id="county-map"' in r.text and "/static/js/map.js" in r.text
        data = map_data(r.text)
        got = {c["adcode"] for c in data["counties"]}
        if expected[role] is None:
            assert len(got) == 90
        else:
            assert got and got <= expected[role], role
        assert len(data["mountain26"]) == 26
        assert {m["id"] for m in data["metrics"]} == set(dashboard.METRICS)
        # every figure says where it comes from
        assert data["run"]["run_id"] in r.text and "zhejiang-2018" in r.text
    # the county user's own county: its figures are on the page, the far county's are not
    page = clients["county"].get("/").text
    assert "景宁" in page
    assert web_db.firm_far[1] not in page


def test_overview_target_notes_read_in_the_pages_language(clients):
    """The province's target table notes the unverified mountain split in the page's language (the Chinese
    page showed '山区县分类待核实 the mountain category split is not yet verified')."""
    notes = re.findall(r'class="sh-note target-note">([^<]*)<', clients["province"].get("/").text)
    assert notes and set(notes) == {"山区县分类待核实"}
    english = re.findall(r'class="sh-note target-note">([^<]*)<', clients["province"].get("/?lang=en").text)
    assert english and set(english) == {"the mountain category split is not yet verified"}


def test_overview_drill_down(clients, web_db, store):
    c = clients["province"]
    run = web_db.province_run
    city = c.get(f"/?run={run}&region={web_db.city}")
    assert city.status_code == 200 and "各县（市、区）" in city.text
    for county in counties_of(store, web_db.city):
        assert f"region={county}" in city.text
    county = c.get(f"/?run={run}&region={web_db.county}")
    assert county.status_code == 200 and "各乡镇（街道）" in county.text
    town = re.search(r"region=(" + web_db.county + r"\d{3})", county.text).group(1)
    firms = c.get(f"/?run={run}&region={town}")
    assert firms.status_code == 200 and "企业名单" in firms.text
    assert f"/mujun/runs/{run}/enterprises/" in firms.text
    assert f"town={town}" in firms.text
    # the metric switch keeps its choice
    assert 'value="share_bottom" selected' in c.get(f"/?metric=share_bottom").text


def test_overview_refuses_regions_outside_the_scope(clients, web_db):
    for role in ("county", "viewer"):
        assert clients[role].get(f"/?region={web_db.far_county}").status_code == 403
        assert clients[role].get(f"/?region={web_db.near_county}").status_code == 403
        assert clients[role].get("/?region=330000").status_code == 403
        assert clients[role].get(f"/?run={web_db.far_run}").status_code == 403
    assert clients["city"].get(f"/?region={web_db.far_county}").status_code == 403
    assert clients["city"].get(f"/?region={web_db.near_county}").status_code == 200
    assert clients["county"].get("/?run=mujun-1999-none").status_code == 404


def test_overview_without_runs_explains_itself(clients, web_db, app, monkeypatch):
    monkeypatch.setattr(dashboard, "runs", lambda store, scope, limit=200: [])
    monkeypatch.setattr(dashboard, "default_run", lambda store, scope: None)
    r = clients["county"].get("/")
    assert r.status_code == 200 and "尚无可查看的亩均效益评价批次" in r.text
    assert "shanhai evaluate mujun" in r.text


# ---- per-mu screens --------------------------------------------------------------------------

def test_runs_page(clients, web_db):
    page = clients["county"].get("/mujun/runs")
    assert page.status_code == 200
    assert web_db.province_run in page.text and web_db.county_run in page.text
    assert web_db.far_run not in page.text
    assert 'action="/mujun/runs"' in page.text                      # a county user may run one
    viewer = clients["viewer"].get("/mujun/runs").text
    assert 'action="/mujun/runs"' not in viewer and "只读账号不能运行评价" in viewer
    assert web_db.far_run in clients["province"].get("/mujun/runs").text


def test_results_page_filters_and_scope(clients, web_db, store):
    run = web_db.province_run
    c = clients["county"]
    page = c.get(f"/mujun/runs/{run}")
    assert page.status_code == 200
    assert 'id="results-table"' in page.text and 'data-chart="bands"' in page.text
    assert "导出公示名单" in page.text and run in page.text
    firm_in, firm_near = web_db.firm_in, web_db.firm_near
    found = c.get(f"/mujun/runs/{run}?q={firm_in[0]}")
    assert firm_in[0] in found.text
    missing = c.get(f"/mujun/runs/{run}?q={firm_near[0]}").text
    assert firm_near[1] not in missing and "没有符合条件的企业" in missing
    assert c.get(f"/mujun/runs/{run}?county={web_db.near_county}").status_code == 403
    # a class filter shows only that class; sorting and pages work
    cls = store.con.execute(f"SELECT max(\"class\") FROM mujun_results WHERE run_id = '{run}' "
                            f"AND county_adcode = '{web_db.county}' AND \"class\" IN ('B', 'C', 'D')").fetchone()[0]
    d_page = c.get(f"/mujun/runs/{run}?class={cls}&sort=tax_per_mu&desc=1")
    assert d_page.status_code == 200
    table = d_page.text.split('id="results-table"')[1].split("</table>")[0]
    assert f'sh-cls-{cls}"' in table and 'sh-cls-A"' not in table
    total = store.con.execute(f"SELECT count(*) FROM mujun_results WHERE run_id = '{run}' "
                              f"AND county_adcode = '{web_db.county}'").fetchone()[0]
    assert f"（{total:,} 家）" in page.text
    assert c.get(f"/mujun/runs/{run}?band=value_added_per_mu&page=2").status_code == 200
    # the city sees its counties, not the far one
    city = clients["city"].get(f"/mujun/runs/{run}?q={web_db.firm_near[0]}")
    assert web_db.firm_near[1] in city.text
    assert web_db.firm_far[1] not in clients["city"].get(f"/mujun/runs/{run}?q={web_db.firm_far[0]}").text
    # runs outside the scope
    assert c.get(f"/mujun/runs/{web_db.far_run}").status_code == 403
    assert c.get("/mujun/runs/mujun-1999-none").status_code == 404
    assert clients["province"].get(f"/mujun/runs/{web_db.far_run}").status_code == 200


def test_enterprise_page(clients, web_db, store):
    run = web_db.province_run
    uscc, name = web_db.firm_in
    page = clients["county"].get(f"/mujun/runs/{run}/enterprises/{uscc}")
    assert page.status_code == 200
    assert name in page.text and 'id="indicator-table"' in page.text and "亩均税收" in page.text
    assert 'data-chart="history"' in page.text and "历次评价" in page.text
    # no bonus or penalty reads 0, not +0 / −0
    bonus = re.search(r'id="score-bonus">([^<]*)<', page.text).group(1)
    penalty = re.search(r'id="score-penalty">([^<]*)<', page.text).group(1)
    for shown in (bonus, penalty):
        assert not re.fullmatch(r"[+−-][0.,]+", shown), shown
    assert "总分" in page.text and "zhejiang-2018" in page.text
    code, industry = store.con.execute("SELECT e.industry_code, i.name FROM enterprises e JOIN industries i "
                                       f"ON i.code = e.industry_code WHERE e.uscc = '{uscc}'").fetchone()
    assert f"{code} {industry}" in page.text            # the industry by name, not a bare code
    assert clients["county"].get(f"/mujun/runs/{run}/enterprises/{web_db.firm_near[0]}").status_code == 403
    assert clients["county"].get(f"/mujun/runs/{run}/enterprises/{web_db.firm_far[0]}").status_code == 403
    assert clients["county"].get(f"/mujun/runs/{run}/enterprises/91330000000000000X").status_code == 404
    assert clients["city"].get(f"/mujun/runs/{run}/enterprises/{web_db.firm_near[0]}").status_code == 200
    assert clients["city"].get(f"/mujun/runs/{run}/enterprises/{web_db.firm_far[0]}").status_code == 403


def test_compare_page(clients, web_db):
    c = clients["county"]
    empty = c.get("/mujun/compare")
    assert empty.status_code == 200 and "请选择两个批次" in empty.text
    page = c.get(f"/mujun/compare?a={web_db.province_run}&b={web_db.county_run}")
    assert page.status_code == 200 and "类别转移矩阵" in page.text
    assert web_db.firm_near[1] not in page.text
    assert c.get(f"/mujun/compare?a={web_db.province_run}&b={web_db.far_run}").status_code == 403
    assert c.get(f"/mujun/compare?a={web_db.province_run}&b=nope").status_code == 404


def test_review_page_lists_remediation_and_inefficient_land_inside_the_region(clients, web_db, store):
    run = web_db.province_run

    def cd(where):
        return {u for (u,) in store.con.execute(
            f"SELECT uscc FROM mujun_results WHERE run_id = '{run}' AND \"class\" IN ('C', 'D') AND {where}").fetchall()}

    city_cd, near_cd = cd(f"county_adcode LIKE '{web_db.city[:4]}%'"), cd(f"county_adcode = '{web_db.near_county}'")
    assert near_cd and near_cd < city_cd, "the test province needs C/D firms in the city"
    c = clients["city"]
    page = c.get(f"/mujun/runs/{run}/review")
    assert page.status_code == 200 and "整改名单" in page.text and "低效用地（按县）" in page.text
    shown = set(re.findall(r"/enterprises/([0-9A-Z]{18})", page.text))
    assert shown and shown <= city_cd and web_db.firm_far[0] not in page.text
    assert 'id="review-link"' in c.get(f"/mujun/runs/{run}").text
    near = c.get(f"/mujun/runs/{run}/review?region={web_db.near_county}")
    assert near.status_code == 200 and set(re.findall(r"/enterprises/([0-9A-Z]{18})", near.text)) <= near_cd
    api = c.get(f"/api/v1/runs/{run}/review?limit=0").json()
    assert {x["uscc"] for x in api["remediation"]} == city_cd == {x["uscc"] for x in api["firms"]}
    assert api["remediation_total"] == len(city_cd) and api["target_class"] == "B"
    for x in api["remediation"]:                 # the gap to B is the score to reach less the total
        if x["gap"] is not None:
            assert x["gap"] == pytest.approx(x["target_score"] - x["total_score"], abs=1e-6)
    # a county user: its own county only, another county is refused
    county = clients["county"].get(f"/mujun/runs/{run}/review")
    assert county.status_code == 200
    assert set(re.findall(r"/enterprises/([0-9A-Z]{18})", county.text)) <= cd(f"county_adcode = '{web_db.county}'")
    assert web_db.firm_near[0] not in county.text
    assert clients["county"].get(f"/mujun/runs/{run}/review?region={web_db.near_county}").status_code == 403
    assert clients["county"].get(f"/api/v1/runs/{run}/review?region={web_db.near_county}").status_code == 403


def test_official_result_is_published_by_a_covering_writer_and_read_downstream(app, clients, web_db, store):
    from shanhai.jobs import chains as jc
    from shanhai.jobs import mujun_official

    run, county_run = web_db.province_run, web_db.county_run
    page = clients["county"].get(f"/mujun/runs/{run}")
    assert page.status_code == 200 and "尚未指定" in page.text and 'id="set-official"' not in page.text
    # a county cannot publish the province's result; the viewer cannot write at all
    assert clients["county"].post(f"/mujun/runs/{run}/official",
                                  data={"action": "set", "csrf_token": clients["county"].csrf}).status_code == 403
    assert clients["viewer"].post(f"/mujun/runs/{county_run}/official",
                                  data={"action": "set", "csrf_token": clients["viewer"].csrf}).status_code == 403
    try:
        p = clients["province"]
        assert 'id="set-official"' in p.get(f"/mujun/runs/{run}").text
        r = p.post(f"/mujun/runs/{run}/official", data={"action": "set", "note": "公示", "csrf_token": p.csrf},
                   follow_redirects=False)
        assert r.status_code == 303 and "本批次是" in p.get(f"/mujun/runs/{run}").text
        assert jc.default_run(store, web_db.year) == run
        # the county publishes its own run: it holds the county's classes from then on
        c = clients["county"]
        assert c.post(f"/mujun/runs/{county_run}/official", data={"action": "set", "csrf_token": c.csrf},
                      follow_redirects=False).status_code == 303
        assert mujun_official.official_for(store, web_db.year, web_db.county) == county_run
        assert mujun_official.official_for(store, web_db.year, web_db.near_county) == run
        assert dashboard.default_run(store, Scope(web_db.county, "county")).run_id == county_run
        rows = store.con.execute("SELECT action, username, target FROM audit_log WHERE action LIKE 'mujun.official%' "
                                 "ORDER BY seq").fetchall()
        assert [(a, t) for a, _, t in rows][-2:] == [("mujun.official", run), ("mujun.official", county_run)]
        assert p.post(f"/mujun/runs/{web_db.far_run}/official",
                      data={"action": "withdraw", "csrf_token": p.csrf}).status_code == 400
    finally:
        for year_region in ((web_db.year, web_db.county), (web_db.year, "330000")):
            if mujun_official.official(store, *year_region):
                mujun_official.withdraw(store, *year_region, user="tests")
        dashboard.clear_cache_for(store)
    assert mujun_official.official_for(store, web_db.year, web_db.county) is None


def test_export_is_scoped_and_audited(clients, web_db, store):
    run = web_db.province_run
    c = clients["county"]
    r = c.get(f"/mujun/runs/{run}/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in r.headers["content-disposition"] and "filename*=UTF-8''" in r.headers["content-disposition"]
    text = xlsx_text(r.content)
    assert web_db.firm_in[0] in text and web_db.firm_near[0] not in text and web_db.firm_far[0] not in text
    workbook = c.get(f"/mujun/runs/{run}/export?kind=county&region={web_db.county}")
    assert workbook.status_code == 200 and web_db.firm_near[0] not in xlsx_text(workbook.content)
    assert c.get(f"/mujun/runs/{run}/export?region={web_db.near_county}").status_code == 403
    assert c.get(f"/mujun/runs/{run}/export?kind=county&region={web_db.far_county}").status_code == 403
    city = clients["city"].get(f"/mujun/runs/{run}/export?region={web_db.near_county}")
    assert city.status_code == 200 and web_db.firm_near[0] in xlsx_text(city.content)
    assert web_db.firm_in[0] not in xlsx_text(city.content)
    rows = store.con.execute("SELECT username, target, detail::VARCHAR FROM audit_log WHERE action = 'export' "
                             f"AND target = '{run}' ORDER BY seq").fetchall()
    assert any(u == "t-county" and web_db.county in d for u, _, d in rows)


@pytest.mark.skipif(not __import__("shanhai.web.routers.mujun", fromlist=["x"]).briefing_available(),
                    reason="shanhai.reports.briefing is not installed")
def test_briefing_button_and_route(clients, web_db):
    run = web_db.province_run
    c = clients["county"]
    assert "生成专报" in c.get(f"/mujun/runs/{run}").text
    r = c.get(f"/mujun/runs/{run}/briefing?fmt=xlsx")
    assert r.status_code == 200, r.text[:500]
    assert "attachment" in r.headers["content-disposition"]
    assert web_db.firm_near[0] not in xlsx_text(r.content)
    assert c.get(f"/mujun/runs/{run}/briefing?fmt=xlsx&region={web_db.near_county}").status_code == 403
    assert c.get(f"/mujun/runs/{web_db.far_run}/briefing?fmt=xlsx").status_code == 403
    assert c.get(f"/mujun/runs/{run}/briefing?fmt=exe").status_code == 422


def test_write_forms_need_csrf_and_a_write_role(clients, web_db):
    run = web_db.province_run
    for path, data in ((f"/mujun/runs/{run}/whatif", {"policy": "huangyan-2022"}),
                       ("/mujun/runs", {"policy": "zhejiang-2018", "year": str(web_db.year)})):
        assert clients["county"].post(path, data=data, follow_redirects=False).status_code == 403     # no token
        viewer = clients["viewer"].post(path, data={**data, "csrf_token": clients["viewer"].csrf},
                                        follow_redirects=False)
        assert viewer.status_code == 403
    # a region outside the scope
    r = clients["county"].post("/mujun/runs", data={"policy": "zhejiang-2018", "year": str(web_db.year),
                                                    "region": web_db.near_county,
                                                    "csrf_token": clients["county"].csrf}, follow_redirects=False)
    assert r.status_code == 403
    r = clients["county"].post(f"/mujun/runs/{web_db.far_run}/whatif",
                               data={"policy": "huangyan-2022", "csrf_token": clients["county"].csrf},
                               follow_redirects=False)
    assert r.status_code == 403
    r = clients["county"].post("/mujun/runs", data={"policy": "no-such-preset", "year": str(web_db.year),
                                                    "csrf_token": clients["county"].csrf}, follow_redirects=False)
    assert r.status_code == 400


def test_run_evaluation_and_whatif_in_the_background(app, clients, web_db):
    """The city user evaluates one of its counties (no test account holds it), then what-if."""
    c = clients["city"]
    r = c.post("/mujun/runs", data={"policy": "zhejiang-2018", "year": str(web_db.year),
                                    "region": web_db.near_county, "csrf_token": c.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs/")
    job = app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=120)
    assert job.status == "done", job.error
    run_page = c.get(job.url)
    assert run_page.status_code == 200 and web_db.firm_near[1] in c.get(f"{job.url}?q={web_db.firm_near[0]}").text
    new_run = job.url.rsplit("/", 1)[1]
    assert clients["county"].get(job.url).status_code == 403            # another county's run
    r = c.post(f"/mujun/runs/{new_run}/whatif", data={"policy": "huangyan-2022", "csrf_token": c.csrf},
               follow_redirects=False)
    assert r.status_code == 303
    job = app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=120)
    assert job.status == "done", job.error
    assert job.url.startswith(f"/mujun/compare?a={new_run}&b=")
    page = c.get(job.url)
    assert page.status_code == 200 and "类别转移矩阵" in page.text and "评价办法差异" in page.text


# ---- data and presets ------------------------------------------------------------------------

def test_data_page_collection_progress(clients, web_db):
    page = clients["county"].get("/data")
    assert page.status_code == 200 and "采集进度" in page.text and 'id="progress-table"' in page.text
    assert 'data-chart="progress"' in page.text
    assert f"{web_db.year}" in page.text
    assert clients["county"].get(f"/data?county={web_db.near_county}").status_code == 403
    city = clients["city"].get(f"/data?county={web_db.near_county}")
    assert city.status_code == 200 and "乡镇（街道）" in city.text
    assert 'action="/data/import"' not in clients["viewer"].get("/data").text


def test_data_page_offers_the_blank_templates(clients):
    """The data page downloads a kind's blank template (the workbook of ``shanhai template KIND``) instead of
    telling a county user a command; an unknown kind is a 404 with a sentence."""
    import fastexcel

    from shanhai.ingest.spec import kind

    page = clients["county"].get("/data").text
    assert 'action="/data/template.xlsx"' in page and "shanhai template KIND" not in page
    r = clients["viewer"].get("/data/template.xlsx?kind=enterprise-years")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    book = fastexcel.read_excel(r.content)
    headers = [str(h) for h in book.load_sheet(0, header_row=None, n_rows=1, dtypes="string").to_arrow().to_pylist()[0].values()]
    required = [c.label for c in kind("enterprise-years").columns if c.required]
    assert required and all(any(label in h for h in headers) for label in required), (required, headers)
    missing = clients["county"].get("/data/template.xlsx?kind=no-such-kind")
    assert missing.status_code == 404 and "没有这种数据类型" in missing.text


def test_upload_import_summary_and_rejects(app, clients, web_db):
    """A towns file whose rows are all wrong: nothing is loaded, the rejects come back."""
    c = clients["city"]
    csv = ("乡镇(街道)代码,乡镇(街道)名称,所属县(市、区)\n"
           "ABC,测试镇,999999\n"
           f"{web_db.near_county}9999999999,,{web_db.near_county}\n").encode("utf-8")
    r = c.post("/data/import", data={"kind": "towns", "csrf_token": c.csrf},
               files={"file": ("乡镇测试.csv", csv, "text/csv")}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    job = app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=60)
    assert job.status == "done", job.error
    summary = c.get(job.url)
    assert summary.status_code == 200 and "导入结果" in summary.text and "乡镇测试.csv" in summary.text
    assert "下载拒绝行工作簿" in summary.text
    rejects = c.get(job.url + "/rejects")
    assert rejects.status_code == 200 and "ABC" in xlsx_text(rejects.content)
    # someone else's import is not found
    assert clients["county"].get(job.url).status_code == 404
    assert clients["county"].get(job.url + "/rejects").status_code == 404
    assert clients["admin"].get(job.url).status_code == 200
    assert "乡镇测试.csv" in c.get("/data").text
    # wrong files are refused with a sentence
    bad = c.post("/data/import", data={"kind": "towns", "csrf_token": c.csrf},
                 files={"file": ("x.exe", b"MZ", "application/octet-stream")}, follow_redirects=False)
    assert bad.status_code == 400
    assert clients["viewer"].post("/data/import", data={"kind": "towns", "csrf_token": clients["viewer"].csrf},
                                  files={"file": ("t.csv", csv, "text/csv")}).status_code == 403
    assert c.get("/data/imports/not-a-token!").status_code == 404


def test_policies_page(clients):
    page = clients["viewer"].get("/policies?a=zhejiang-2018&b=huangyan-2022")
    assert page.status_code == 200
    assert "浙江省亩均效益综合评价" in page.text and "差异字段" in page.text and 'id="side-by-side"' in page.text
    assert clients["viewer"].get("/policies?a=nope&b=zhejiang-2018").status_code == 404


def test_policies_differences_name_their_fields(clients):
    """The list of differing fields names each field in words (规上工业企业 › 亩均税收 › 基准 › 基准值), the dotted
    path kept as the row's title; every field of every pair of presets has a word."""
    import itertools

    from shanhai.jobs import dashboard
    from shanhai.web.routers.policies import _STEP, FIELD_LABELS, field_label

    page = clients["viewer"].get("/policies?a=huangyan-2021&b=huangyan-2022").text
    rows = re.findall(r'<td class="path" title="([^"]+)">([^<]+)</td>', page)
    assert rows and ("populations[above_scale].indicators[tax_per_mu].benchmark.value", "规上工业企业 › 亩均税收 › 基准 › 基准值") \
        in [(p, html.unescape(w)) for p, w in rows]
    assert not any(re.search(r"[a-z]{3,}", html.unescape(w)) for _, w in rows), rows
    names = [p["name"] for p in dashboard.presets_list()]
    for a, b in itertools.combinations(names, 2):
        cmp = dashboard.presets_compare(a, b)
        for d in cmp["diff"]:
            unknown = [n for n, _ in _STEP.findall(d["path"])
                       if n not in FIELD_LABELS and n not in ("populations", "indicators") and not re.fullmatch("[A-Z]", n)]
            assert not unknown, (a, b, d["path"])
            assert field_label(d["path"], cmp)[0]


def test_english_labels(clients):
    page = clients["province"].get("/?lang=en")
    assert page.status_code == 200 and "Per-mu overview" in page.text
    clients["province"].get("/?lang=zh")


def test_screens_need_a_session(anonymous, web_db):
    for path in ("/", "/mujun/runs", f"/mujun/runs/{web_db.province_run}", "/data", "/policies",
                 f"/mujun/runs/{web_db.province_run}/enterprises/{web_db.firm_in[0]}", "/mujun/compare"):
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin"), path
