"""The 山海协作 screens over the web (TestClient, one signed-in client per role from conftest.py:
the county user is 景宁 331127, one of the 26; the city user 丽水 331100): /coop with its map data,
table and the action plan's lights; a county's profile (refused outside the caller's region, 404
for a county that is not one of the 26); the enclaves; the workbooks (audited); the JSON API; the
navigation entry; the page conventions (no inline script, no link to another host, page data in
JSON blocks)."""

from __future__ import annotations

import io
import json
import re

import fastexcel
import pytest

ROLES = ("admin", "province", "city", "county", "viewer")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml"
LONGYOU, KEQIAO = "330825", "330603"


@pytest.fixture(scope="module")
def store(app):
    from shanhai.store.connection import Store

    cur = app.state.store.con.cursor()
    yield Store(app.state.db_path, cur, False)
    cur.close()


def page_json(html: str, element_id: str) -> dict:
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert m, f"no {element_id} on the page"
    return json.loads(m.group(1))


def conventions(html: str) -> None:
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or "application/json" in tag, tag
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


def book(data: bytes) -> dict[str, list[list]]:
    reader = fastexcel.read_excel(io.BytesIO(data).getvalue())
    return {n: [list(r.values()) for r in reader.load_sheet_by_name(n, header_row=None).to_arrow().to_pylist()]
            for n in reader.sheet_names}


@pytest.mark.parametrize("role", ROLES)
def test_every_screen_renders_for_each_role(clients, web_db, role):
    c = clients[role]
    for path in ("/coop", "/coop?metric=labour_productivity", f"/coop?year={web_db.year}",
                 f"/coop/counties/{web_db.county}", "/coop/enclaves", f"/coop/enclaves?year={web_db.year}"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        conventions(r.text)
        assert 'href="/coop"' in r.text and "山海协作" in r.text                 # the navigation entry
    for path in ("/api/v1/coop/counties", f"/api/v1/coop/counties/{web_db.county}", "/api/v1/coop/targets",
                 "/api/v1/coop/enclaves"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.text[:300])


def test_the_26_with_the_map_and_the_plan(clients, web_db):
    r = clients["province"].get("/coop")
    html = r.text
    assert html.count('<tr data-adcode="') == 26 and 'id="category-warning"' in html and "未经核实" in html
    data = page_json(html, "map-data")
    assert len(data["counties"]) == 26 == len(data["mountain26"]) and data["region"]["level"] == "province"
    assert {m["id"] for m in data["metrics"]} >= {"tax_per_mu", "value_added_per_mu", "labour_productivity"}
    assert all(c["href"] == f"/coop/counties/{c['adcode']}" for c in data["counties"])
    assert 'id="county-map"' in html and 'data-link="profile"' in html and "/static/js/map.js" in html
    progress = page_json(html, "coop-progress-data")
    assert len(progress["items"]) == 10 and {i["light"] for i in progress["items"]} <= {"green", "amber", "red", "grey"}
    assert html.count('<tr data-target="') == 10 and "/static/js/coop.js" in html
    en = clients["province"].get("/coop?lang=en")
    clients["province"].get("/coop?lang=zh")                  # the switch is a cookie: back to Chinese
    assert "Mountain–sea cooperation" in en.text and "not verified" in en.text


def test_a_county_user_sees_others_only_as_public_totals(clients, web_db):
    html = clients["county"].get("/coop").text
    data = page_json(html, "map-data")
    assert [c["adcode"] for c in data["counties"] if c["href"]] == [web_db.county]
    assert html.count('class="muted"') == 25
    assert f'href="/coop/counties/{LONGYOU}' not in html and f'href="/coop/counties/{web_db.county}' in html
    api = clients["county"].get("/api/v1/coop/counties").json()
    for row in api["rows"]:
        assert row["in_scope"] == (row["adcode"] == web_db.county)
        if not row["in_scope"]:
            assert row["projects"] is None
            if row["above_scale"] < api["public_min_firms"]:
                assert row["suppressed"] and row["value_added"] is None and row["tax_per_mu"] is None
    city = clients["city"].get("/api/v1/coop/counties").json()
    assert {r["adcode"] for r in city["rows"] if r["in_scope"]} == {
        r["adcode"] for r in city["rows"] if r["city_adcode"] == web_db.city}


def test_the_profile_page(clients, web_db):
    r = clients["county"].get(f"/coop/counties/{web_db.county}")
    html = r.text
    for part in ("profile-cards", "per-mu", "leads", "partners", "enclaves", "projects", "chains", "category-warning"):
        assert f'id="{part}"' in html, part
    assert "生态发展类（待核实）" in html and "丽景民族工业园" in html
    assert f'href="/opportunities?region={web_db.county}' in html
    assert re.search(rf'href="/chains/[a-z_]+\?region={web_db.county}', html)
    targets = page_json(html, "coop-targets-data")
    assert [i["target"] for i in targets["items"]] == [20, 15]
    api = clients["county"].get(f"/api/v1/coop/counties/{web_db.county}").json()
    assert api["county"]["adcode"] == web_db.county and api["county"]["category_verified"] is False
    assert api["figures"]["above_scale"] >= 0 and api["basis"]["plan"] == "action_plan"


@pytest.mark.parametrize("role, adcode, status", [
    ("county", LONGYOU, 403), ("viewer", LONGYOU, 403), ("city", LONGYOU, 403),
    ("county", "331100", 403), ("province", KEQIAO, 404), ("province", "331100", 404), ("admin", "339999", 404),
])
def test_a_profile_outside_the_region_or_not_a_mountain_county_is_refused(clients, role, adcode, status):
    c = clients[role]
    for path in (f"/coop/counties/{adcode}", f"/coop/counties/{adcode}/profile.xlsx",
                 f"/api/v1/coop/counties/{adcode}"):
        r = c.get(path)
        assert r.status_code == status, (path, r.status_code)
    assert "detail_zh" in c.get(f"/api/v1/coop/counties/{adcode}").json()


def test_enclaves_page_and_api(clients):
    html = clients["county"].get("/coop/enclaves").text
    assert html.count('<tr data-enclave="') == 10 and "镇海—龙游" in html and "10 <span" in html
    chart = page_json(html, "coop-returns-data")
    assert chart["years"] == [2020] and chart["amounts"] == [331.0]
    api = clients["county"].get("/api/v1/coop/enclaves").json()
    assert api["progress"]["counted"] == 10 and api["progress"]["target"] == 30 and api["hidden"] == 0
    targets = clients["viewer"].get("/api/v1/coop/targets").json()
    assert len(targets["items"]) == 10 and targets["counties"] == 26


def test_exports_are_workbooks_and_audited(clients, web_db, store):
    before = store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'export' AND target LIKE 'coop:%'"
                               ).fetchone()[0]
    c = clients["county"]
    for path, first in (("/coop/export.xlsx", "山区26县"), (f"/coop/counties/{web_db.county}/profile.xlsx", "概况"),
                        ("/coop/enclaves.xlsx", "飞地")):
        r = c.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX), path
        assert "filename*=UTF-8''" in r.headers["content-disposition"]
        sheets = book(r.content)
        assert list(sheets)[0] == first
    sheets = book(c.get("/coop/export.xlsx").content)
    rows = [r for r in sheets["山区26县"][2:28]]
    assert sum(1 for r in rows if r[17] is not None) == 1                 # projects: the user's own county only
    after = store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'export' AND target LIKE 'coop:%'"
                              ).fetchone()[0]
    assert after == before + 4


def test_the_routes_use_parameters_the_scope_walk_knows(app):
    from shanhai.web.app import app_routes
    from shanhai.web.routers.coop import router

    mine = [r.path for r in router.routes]
    assert len(mine) == 10 and set(mine) <= {r.path for r in app_routes(app)}
    for path in mine:
        assert set(re.findall(r"{([^}:]+)", path)) <= {"adcode"}, path      # PARAMS of test_scope_walk.py


def test_only_the_most_specific_nav_entry_is_active(clients):
    """/coop/pairing lights 结对规划, not also 山海协作 (whose path is its prefix)."""
    page = clients["province"].get("/coop/pairing")
    assert page.status_code == 200
    assert 'href="/coop/pairing" class="active"' in page.text
    assert 'href="/coop" class="active"' not in page.text
    assert 'href="/coop" class="active"' in clients["province"].get("/coop").text
