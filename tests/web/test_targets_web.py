"""``/targets`` and ``/api/v1/targets/…``: the board, the drill-down and the registry render for
every role; each role sees only the regions (and zones) of its scope in pages, JSON and the
workbook; a target is set only inside the caller's region by write roles (CSRF, audited) and a
stored run is never overwritten. The app runs over its own copy of the small province (these
tests write)."""

from __future__ import annotations

import html
import re

import shutil
from types import SimpleNamespace

import fastexcel
import pytest
from fastapi.testclient import TestClient

from shanhai.store import accounts, open_store
from shanhai.web.app import app_routes, create_app
from web_helpers import PASSWORD, csrf_of, make_client, sign_in

ROLES = {"admin": "330000", "province": "330000", "city": "331100", "county": "331127", "viewer": "331127"}
JINGNING, LISHUI, HANGZHOU_COUNTY = "331127", "331100", "330109"


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("targets_web") / "targets.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        for role, region in ROLES.items():
            accounts.add_user(store, f"tg-{role}", PASSWORD, role, region, f"目标{role}")
    app = create_app(path, secret_key="targets-tests")
    with TestClient(app):
        clients = {}
        for i, role in enumerate(ROLES):
            client = make_client(app, f"10.43.0.{i + 1}")
            assert sign_in(client, f"tg-{role}").status_code == 303
            client.csrf = csrf_of(client, "/jobs")
            clients[role] = client
        yield SimpleNamespace(app=app, clients=clients, path=path)


def xlsx_text(content: bytes) -> str:
    reader = fastexcel.read_excel(content)
    return "\n".join(str(v) for name in reader.sheet_names
                     for col in reader.load_sheet(name, header_row=None, dtypes="string").to_arrow().columns
                     for v in col.to_pylist() if v)


def test_routes_and_nav(world):
    paths = {r.path for r in app_routes(world.app)}
    assert {"/targets", "/targets/indicators/{indicator_id}", "/targets/registry", "/targets/set", "/targets/run",
            "/targets/export.xlsx", "/api/v1/targets/status", "/api/v1/targets/summary", "/api/v1/targets/watch",
            "/api/v1/targets/index", "/api/v1/targets/indicators", "/api/v1/targets/runs"} <= paths
    page = world.clients["county"].get("/targets")
    assert page.status_code == 200
    assert 'href="/targets"' in page.text


@pytest.mark.parametrize("role", list(ROLES))
def test_pages_render_for_every_role(world, role):
    c = world.clients[role]
    for url in ("/targets", "/targets?group=mountain26", "/targets/indicators/industrial_va",
                "/targets/indicators/tax_per_mu", "/targets/registry", "/targets?rules=yinchuan&month=6"):
        r = c.get(url)
        assert r.status_code == 200, (url, r.text[:300])
    board = c.get("/targets").text
    assert "序时进度" in board and 'id="targets-matrix"' in board and 'id="index-table"' in board


def test_the_rules_picker_and_the_basis_read_as_words(world):
    """The rules picker lists the rule sets by their names (默认规则…, 银川方案…), not by file ids
    (days, ratio4, yinchuan), and the calendar basis of 序时进度 is a word (按天计, not ``days``)."""
    from shanhai.policy._indicator_registry import monitoring_rule_sets

    c = world.clients["county"]
    board = c.get("/targets?rules=days").text
    picker = re.search(r'<select name="rules".*?</select>', board, re.S).group(0)
    options = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', picker)
    sets = monitoring_rule_sets()
    assert options[0][0] == "default" and {v for v, _ in options} == set(sets)
    assert all(html.unescape(shown) == sets[v].display_name and shown != v for v, shown in options), options
    assert re.search(r'<option value="days" selected>', picker)
    basis = re.search(r'id="targets-basis">(.*?)</div>', board, re.S).group(1)
    assert "（按天计）" in basis and "(days)" not in basis
    assert "(by months)" in c.get("/targets?lang=en").text


def test_an_indicator_says_its_source_and_cadence_in_words(world):
    """An indicator's line of facts reads 来源 导入 / 由企业数据计算 and 频度 月度 / 年度 (it printed
    imported (indicators import kind …) and month / year); the registry the same."""
    from test_words_not_codes import visible_texts

    c = world.clients["county"]
    for indicator, source, cadence in (("mfg_investment", "导入（数据类型“指标数值与目标”）", "频度 月度"),
                                       ("tax_per_mu", "由企业数据计算", "频度 年度")):
        text = " ".join(visible_texts(c.get(f"/targets/indicators/{indicator}?lang=zh").text))
        assert source in text and cadence in text, (indicator, text[:400])
        assert "imported" not in text and not re.search(r"频度 (month|year|quarter)", text), indicator
    registry = visible_texts(c.get("/targets/registry?lang=zh").text)
    words = {w for text in registry for w in text.split()}
    assert {"月度", "年度"} <= words and not {"month", "year", "quarter"} & words


def test_status_is_scoped_to_the_county(world):
    doc = world.clients["county"].get("/api/v1/targets/status").json()
    assert doc["region"]["adcode"] == JINGNING
    assert doc["rows"], "景宁 has the synthetic plans and the mountain-county per-mu targets"
    assert {r["region_adcode"] for r in doc["rows"]} == {JINGNING}
    assert world.clients["county"].get(f"/api/v1/targets/status?region={LISHUI}").status_code == 403
    assert world.clients["county"].get(f"/api/v1/targets/status?region={HANGZHOU_COUNTY}").status_code == 403
    city = world.clients["city"].get("/api/v1/targets/status").json()
    assert {r["region_adcode"][:4] for r in city["rows"]} == {"3311"}
    # 丽水's zone targets show up for the city, each zone inside it
    assert any(r["level"] == "zone" for r in city["rows"])
    province = world.clients["province"].get("/api/v1/targets/status").json()
    assert len(province["rows"]) > len(city["rows"]) > len(doc["rows"])
    assert province["counts"]["red"] and province["counts"]["amber"] and province["counts"]["green"]


def test_index_ranks_the_whole_group_but_lists_the_scope(world):
    county = world.clients["county"].get("/api/v1/targets/index?group=mountain26").json()
    assert [r["adcode"] for r in county["rows"]] == [JINGNING]
    assert county["rows"][0]["of"] == 26 and 1 <= county["rows"][0]["rank"] <= 26
    province = world.clients["province"].get("/api/v1/targets/index?group=mountain26").json()
    same = next(r for r in province["rows"] if r["adcode"] == JINGNING)
    assert same["rank"] == county["rows"][0]["rank"]
    assert len(province["rows"]) == 26
    assert world.clients["province"].get("/api/v1/targets/index?group=towns").status_code == 422


def test_watch_and_summary_are_scoped(world):
    w = world.clients["city"].get("/api/v1/targets/watch").json()
    assert w["items"]
    for i in w["items"]:
        assert i["entity"].startswith("zone:") or i["entity"][:4] == "3311"
    s = world.clients["county"].get("/api/v1/targets/summary").json()
    assert set(s) >= {"counts", "rows", "red", "trending_to_miss", "rose", "fell"}
    assert s["rows"] and all(r["region_adcode"] == JINGNING for r in s["rows"])
    assert any(r["level"] == "zone" for r in s["rows"]), "景宁's zone carries 丽水's platform targets"


def test_unknown_indicator_is_404(world):
    assert world.clients["province"].get("/targets/indicators/no_such_indicator").status_code == 404
    assert world.clients["province"].get("/api/v1/targets/indicators/no_such_indicator").status_code == 404


def test_set_target_inside_the_scope_only(world):
    county = world.clients["county"]
    r = county.post("/targets/set", data={"indicator_id": "mfg_investment", "adcode": JINGNING, "year": "2024",
                                          "value": "12345", "kind": "level", "source": "景宁测试计划",
                                          "csrf_token": county.csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    doc = county.get("/api/v1/targets/status?indicator=mfg_investment").json()
    mine = [x for x in doc["rows"] if x["entity"] == JINGNING and x["target_year"] == 2024]
    assert [x["target"] for x in mine] == [12345.0] and mine[0]["origin"] == "user"
    # another county, and the city above, are outside the county user's region
    for adcode in (HANGZHOU_COUNTY, LISHUI):
        r = county.post("/targets/set", data={"indicator_id": "mfg_investment", "adcode": adcode, "year": "2024",
                                              "value": "1", "csrf_token": county.csrf}, follow_redirects=False)
        assert r.status_code == 403
    # the viewer cannot write; without the CSRF token nobody can
    viewer = world.clients["viewer"]
    r = viewer.post("/targets/set", data={"indicator_id": "mfg_investment", "adcode": JINGNING, "year": "2024",
                                          "value": "1", "csrf_token": viewer.csrf}, follow_redirects=False)
    assert r.status_code == 403
    r = county.post("/targets/set", data={"indicator_id": "mfg_investment", "adcode": JINGNING, "year": "2024",
                                          "value": "1"}, follow_redirects=False)
    assert r.status_code in (400, 403)
    # a bad value is one clear sentence, not a 500
    r = county.post("/api/v1/targets", json={"indicator_id": "mfg_investment", "adcode": JINGNING, "year": 2024,
                                             "value": "lots"}, headers={"X-CSRF-Token": county.csrf})
    assert r.status_code == 400 and "number" in r.json()["detail"]
    cur = world.app.state.store.con.cursor()
    try:
        rows = cur.execute("SELECT username, target FROM audit_log WHERE action = 'targets.set'").fetchall()
    finally:
        cur.close()
    assert rows == [("tg-county", f"mfg_investment:{JINGNING}:2024:level")]


def test_runs_are_stored_and_scoped(world):
    city = world.clients["city"]
    r1 = city.post("/targets/run", data={"csrf_token": city.csrf}, follow_redirects=False)
    r2 = city.post("/targets/run", data={"csrf_token": city.csrf}, follow_redirects=False)
    assert r1.status_code == r2.status_code == 303
    runs = city.get("/api/v1/targets/runs").json()["runs"]
    assert len({r["run_id"] for r in runs}) >= 2 and all(r["region"] == LISHUI for r in runs)
    doc = city.get(f"/api/v1/targets/runs?run_id={runs[0]['run_id']}").json()
    assert doc["status"] and all(x["region_adcode"][:4] == "3311" for x in doc["status"])
    county_doc = world.clients["county"].get(f"/api/v1/targets/runs?run_id={runs[0]['run_id']}")
    assert county_doc.status_code == 403
    assert world.clients["county"].get("/api/v1/targets/runs?run_id=targets-nosuchrun").status_code == 404


def test_export_is_scoped_and_audited(world):
    r = world.clients["county"].get("/targets/export.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    text = xlsx_text(r.content)
    assert "序时进度" in text and "景宁" in text
    assert "杭州" not in text and "萧山" not in text and "莲都" not in text
    province = xlsx_text(world.clients["province"].get("/targets/export.xlsx").content)
    assert "杭州市" in province and "规上工业亩均增加值" in province


def test_english_page(world):
    c = world.clients["province"]
    page = c.get("/targets?lang=en").text
    assert "Targets board" in page and "calendar progress" in page
