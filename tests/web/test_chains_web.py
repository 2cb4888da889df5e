"""The industrial-chain screens and API over the web (TestClient, one signed-in client per role from
conftest.py): the chain list (and the county × chain matrix above county level), a chain's
panorama with its diagram data, the firms behind a segment, the attraction targets (masked
outside the caller's region, named inside) with their Excel export, chain risk — each within the
caller's region and refused outside it, each naming its basis, every export audited."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile

import fastexcel
import pytest

from shanhai.jobs import chains as jc

ROLES = ("admin", "province", "city", "county", "viewer")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml"


@pytest.fixture(scope="module")
def store(app):
    from shanhai.store.connection import Store

    cur = app.state.store.con.cursor()
    yield Store(app.state.db_path, cur, False)
    cur.close()


@pytest.fixture(scope="module")
def chain_ids(store, web_db):
    """The chain with the most member firms in the county user's county, and one of its segments
    with firms there."""
    row = store.con.execute(f"""
        SELECT s.chain_id, es.segment_id, count(*) AS n FROM enterprise_segments es
        JOIN chain_segments s USING (segment_id) JOIN enterprises e USING (uscc)
        WHERE e.county_adcode = '{web_db.county}' AND es.role <> 'excluded'
        GROUP BY ALL ORDER BY n DESC, 1, 2 LIMIT 1""").fetchone()
    assert row is not None, "the test province has no chain member in the county"
    return row[0], row[1]


def outside_firms(store, county_or_city: str) -> tuple[set[str], set[str]]:
    """USCCs and names of firms outside a county (or a city)."""
    rows = store.con.execute(f"""SELECT e.uscc, e.name FROM enterprises e JOIN regions r ON r.adcode = e.county_adcode
        WHERE e.county_adcode <> '{county_or_city}' AND r.city_adcode <> '{county_or_city}'""").fetchall()
    return {r[0] for r in rows}, {r[1] for r in rows}


def workbook(data: bytes, tmp_path) -> dict[str, list[list]]:
    path = tmp_path / "book.xlsx"
    path.write_bytes(data)
    reader = fastexcel.read_excel(str(path))
    return {name: [list(r.values()) for r in reader.load_sheet_by_name(name, header_row=None).to_arrow().to_pylist()]
            for name in reader.sheet_names}


def cells(book: dict[str, list[list]]) -> str:
    return "\n".join(str(v) for rows in book.values() for row in rows for v in row if v is not None)


def diagram(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="chain-diagram-data">(.*?)</script>', html, re.S)
    assert m, "no diagram data on the panorama"
    return json.loads(m.group(1))


# ---- every screen, every role ------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_every_screen_renders_for_each_role(clients, web_db, chain_ids, role):
    c = clients[role]
    chain_id, segment_id = chain_ids
    region = f"?region={web_db.county}"
    pages = ["/chains", f"/chains{region}", f"/chains/{chain_id}{region}", f"/chains/{chain_id}",
             f"/chains/{chain_id}/segments/{segment_id}{region}", "/chains/targets" + region,
             f"/chains/targets{region}&chain={chain_id}", "/chains/risk" + region,
             f"/chains/risk{region}&chain={chain_id}"]
    for path in pages:
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:400])
        assert 'id="chain-basis"' in r.text and "数据指纹" in r.text, path
        assert 'href="/chains"' in r.text                      # the navigation entry
    fragment = c.get(f"/chains/{chain_id}/segments/{segment_id}{region}&fragment=1")
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="segment-firms-table"' in fragment.text
    api = c.get("/api/v1/chains" + region)
    assert api.status_code == 200
    body = api.json()
    assert body["basis"]["data_fingerprint"] and body["chains"]
    for path in (f"/api/v1/chains/{chain_id}{region}", f"/api/v1/chains/{chain_id}/segments/{segment_id}{region}",
                 f"/api/v1/chains/targets{region}", f"/api/v1/chains/risk{region}", f"/api/v1/chains/grid{region}"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert r.json()["basis"]["rules"] == "default"


def test_chain_list_statuses_health_and_matrix(clients, web_db, store):
    province = clients["province"].get("/chains")
    assert province.status_code == 200
    assert 'id="county-matrix"' in province.text                          # county × chain for the province
    n_chains = store.con.execute("SELECT count(*) FROM chains").fetchone()[0]
    assert province.text.count("<tr data-chain=") == n_chains
    city = clients["city"].get("/chains")
    assert 'id="county-matrix"' in city.text
    counties = store.con.execute(f"SELECT name FROM regions WHERE city_adcode = '{web_db.city}' AND level = 'county'"
                                 ).fetchall()
    matrix = city.text.split('id="county-matrix"', 1)[1]
    assert all(name in matrix for (name,) in counties)
    assert "杭州" not in matrix and "上城区" not in matrix                    # no county outside the city
    county = clients["county"].get("/chains")
    assert 'id="county-matrix"' not in county.text and "ch-health" in county.text
    api = clients["county"].get("/api/v1/chains").json()
    known = {r[0] for r in store.con.execute("SELECT chain_id FROM chains").fetchall()}
    assert {c["chain_id"] for c in api["chains"]} == known
    for c in api["chains"]:
        assert set(c["statuses"].values()) <= set(jc.STATUS_LABELS)
        assert 0 <= c["health"] <= 100


# ---- panorama ------------------------------------------------------------------------------------

def test_panorama_diagram_table_and_rules(clients, web_db, chain_ids, store):
    chain_id, segment_id = chain_ids
    r = clients["county"].get(f"/chains/{chain_id}")
    assert r.status_code == 200
    d = diagram(r.text)
    n_segments = store.con.execute(f"SELECT count(*) FROM chain_segments WHERE chain_id = '{chain_id}'").fetchone()[0]
    assert len(d["segments"]) == n_segments
    assert [s["id"] for s in d["statuses"]][:4] == ["strong", "present", "weak", "missing"]
    assert "{id}" in d["fragment_url"] and f"region={web_db.county}" in d["fragment_url"]
    seg = next(s for s in d["segments"] if s["id"] == segment_id)
    assert seg["firms"] > 0
    assert r.text.count('data-segment="') >= n_segments                  # a table row per segment
    assert "规则" in r.text                                               # the rule that decided each status
    assert f'/chains/targets?' in r.text and "chain=" + chain_id in r.text  # links to targets and risk
    en = clients["county"].get(f"/chains/{chain_id}?lang=en")
    clients["county"].get("/chains?lang=zh")                  # the switch is a cookie: back to Chinese
    assert "Chain diagram" in en.text and "Segments" in en.text
    assert diagram(en.text)["lang"] == "en"


def test_panorama_refuses_other_regions(clients, web_db, chain_ids):
    chain_id, segment_id = chain_ids
    county = clients["county"]
    for region in (web_db.far_county, web_db.near_county, web_db.city, "330000"):
        assert county.get(f"/chains/{chain_id}?region={region}").status_code == 403, region
        assert county.get(f"/api/v1/chains/{chain_id}?region={region}").status_code == 403, region
        assert county.get(f"/chains/{chain_id}/segments/{segment_id}?region={region}").status_code == 403
        assert county.get(f"/chains/targets?region={region}").status_code == 403
        assert county.get(f"/chains/targets.xlsx?region={region}").status_code == 403
        assert county.get(f"/chains/risk?region={region}").status_code == 403
    city = clients["city"]
    assert city.get(f"/chains/{chain_id}?region={web_db.near_county}").status_code == 200
    assert city.get(f"/chains/{chain_id}?region={web_db.far_county}").status_code == 403
    assert county.get(f"/chains/{chain_id}?run={web_db.far_run}").status_code == 403   # another county's run
    assert county.get("/chains/no_such_chain").status_code == 404
    assert county.get("/api/v1/chains/no_such_chain").status_code == 404
    assert county.get(f"/chains/{chain_id}/segments/no.such.segment").status_code == 404
    other = "modern_textiles" if chain_id != "modern_textiles" else "biomedicine"
    assert county.get(f"/chains/{other}/segments/{segment_id}").status_code == 404  # a segment of another chain
    assert county.get("/chains/no_such_chain/segments/no.such").status_code == 404
    assert county.get("/chains?region=339999").status_code == 404
    assert county.get("/api/v1/chains/risk?region=339999").json()["status"] == 404


def test_segment_firms_are_the_regions_and_link_to_the_enterprise_page(clients, web_db, chain_ids, store):
    chain_id, segment_id = chain_ids
    r = clients["county"].get(f"/api/v1/chains/{chain_id}/segments/{segment_id}")
    body = r.json()
    assert body["total"] >= 1 and all(f["county_adcode"] == web_db.county for f in body["firms"])
    page = clients["county"].get(f"/chains/{chain_id}/segments/{segment_id}")
    assert page.status_code == 200
    evaluated = [f for f in body["firms"] if f["mujun_class"]]
    if evaluated:
        run = body["basis"]["run_id"]
        assert f"/mujun/runs/{run}/enterprises/{evaluated[0]['uscc']}" in page.text
        assert clients["county"].get(f"/mujun/runs/{run}/enterprises/{evaluated[0]['uscc']}").status_code == 200
    usccs, names = outside_firms(store, web_db.county)
    assert not any(u in page.text for u in usccs)


# ---- targets -----------------------------------------------------------------------------------

def test_targets_are_masked_outside_the_region(clients, web_db, store):
    county = clients["county"].get(f"/api/v1/chains/targets?limit=500").json()
    assert county["total"] > 0 and county["segments"]
    outside = [t for t in county["targets"] if t["county_adcode"] != web_db.county]
    assert outside, "a mountain county's targets lie elsewhere in the province"
    assert all(t["masked"] and t["uscc"] is None and t["name"] == jc.MASKED_NAME[0] and t["revenue"] is None
               for t in outside)
    assert all(abs(sum(t["points"].values()) - t["score"]) < 1e-3 for t in county["targets"])
    assert [t["rank"] for t in county["targets"]] == list(range(1, len(county["targets"]) + 1))
    page = clients["county"].get("/chains/targets")
    assert page.status_code == 200 and jc.MASKED_NAME[0] in page.text and 'id="targets-table"' in page.text
    usccs, names = outside_firms(store, web_db.county)
    assert not any(u in page.text for u in usccs)
    assert not any(n in page.text for n in names if n and len(n) > 5)
    # the province officer sees the same list for the county with names
    province = clients["province"].get(f"/api/v1/chains/targets?region={web_db.county}&limit=500").json()
    assert province["total"] == county["total"]
    assert all(not t["masked"] and t["uscc"] and t["name"] != jc.MASKED_NAME[0] for t in province["targets"])
    named = clients["province"].get(f"/chains/targets?region={web_db.county}")
    assert province["targets"][0]["name"] in named.text and jc.MASKED_NAME[0] not in named.text
    # the city officer: firms of the city named, firms elsewhere masked
    city = clients["city"].get(f"/api/v1/chains/targets?region={web_db.county}&limit=500").json()
    city_counties = {r[0] for r in store.con.execute(
        f"SELECT adcode FROM regions WHERE city_adcode = '{web_db.city}'").fetchall()}
    for t in city["targets"]:
        assert t["masked"] == (t["county_adcode"] not in city_counties)


def test_targets_filters_by_chain_and_segment(clients, web_db):
    c = clients["county"]
    every = c.get("/api/v1/chains/targets?limit=2000").json()
    chain_id = every["segments"][0]["chain_id"]
    one = c.get(f"/api/v1/chains/targets?chain={chain_id}&limit=2000").json()
    assert one["targets"] and {t["chain_id"] for t in one["targets"]} == {chain_id}
    seg = one["segments"][0]["segment_id"]
    only = c.get(f"/api/v1/chains/targets?chain={chain_id}&segment={seg}").json()
    assert {t["segment_id"] for t in only["targets"]} == {seg}
    assert c.get("/chains/targets?chain=no_such_chain").status_code == 404
    page = c.get(f"/chains/targets?chain={chain_id}&segment={seg}")
    assert page.status_code == 200 and f"/chains/targets.xlsx?" in page.text and f"segment={seg}" in page.text
    blank = c.get(f"/api/v1/chains/targets?chain={chain_id}&segment=&limit=2000").json()   # the form's "every"
    assert blank["total"] == one["total"]
    assert c.get(f"/chains/targets?chain={chain_id}&segment=").text.count("<tr class=") == min(100, one["total"])
    en = c.get(f"/chains/targets?chain={chain_id}&lang=en")
    c.get("/chains?lang=zh")
    assert "Attraction targets" in en.text and "per-mu efficiency +" in en.text and "补缺环节" not in en.text


def test_targets_export_is_masked_has_the_basis_and_is_audited(clients, web_db, store, tmp_path):
    c = clients["county"]
    r = c.get("/chains/targets.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    assert "attachment" in r.headers["content-disposition"] and "filename*=UTF-8''" in r.headers["content-disposition"]
    book = workbook(r.content, tmp_path)
    assert list(book) == ["招商目标", "说明"]
    header = book["招商目标"][1]
    assert header[:2] == ["排名", "总分"] and "企业名称" in header and "入选理由" in header
    name_col, uscc_col, county_col = header.index("企业名称"), header.index("统一社会信用代码"), header.index("所在县(市、区)")
    rows = [row for row in book["招商目标"][2:] if row[name_col] and row[county_col]]
    assert rows
    county_name = store.con.execute(f"SELECT name FROM regions WHERE adcode = '{web_db.county}'").fetchone()[0]
    for row in rows:
        if row[county_col] != county_name:
            assert row[name_col] == jc.MASKED_NAME[0] and row[uscc_col] is None
    text = cells(book)
    api = c.get("/api/v1/chains/targets").json()
    assert api["basis"]["data_fingerprint"] in text and api["basis"]["rules_version"] in text
    usccs, names = outside_firms(store, web_db.county)
    raw = "".join(zipfile.ZipFile(io.BytesIO(r.content)).read(n).decode("utf-8", "ignore")
                  for n in zipfile.ZipFile(io.BytesIO(r.content)).namelist() if n.endswith(".xml"))
    assert not any(u in raw for u in usccs)
    assert not any(n in raw for n in names if n and len(n) > 5)
    audit = store.con.execute("SELECT username, detail::VARCHAR FROM audit_log WHERE action = 'export' "
                              f"AND target = 'chains:targets:{web_db.county}' ORDER BY seq DESC").fetchall()
    assert any(u == "t-county" and "chain_targets" in d for u, d in audit)
    # the province officer's workbook of the same county names the firms
    named = workbook(clients["province"].get(f"/chains/targets.xlsx?region={web_db.county}").content, tmp_path)
    assert jc.MASKED_NAME[0] not in [row[name_col] for row in named["招商目标"][2:]]


def test_panorama_export_has_every_segment_and_the_basis(clients, web_db, chain_ids, store, tmp_path):
    chain_id, _ = chain_ids
    r = clients["city"].get(f"/chains/{chain_id}/panorama.xlsx?region={web_db.county}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    book = workbook(r.content, tmp_path)
    assert list(book) == ["环节", "说明"]
    n = store.con.execute(f"SELECT count(*) FROM chain_segments WHERE chain_id = '{chain_id}'").fetchone()[0]
    assert len([row for row in book["环节"][2:] if row[1] and row[3] in [v[0] for v in jc.STATUS_LABELS.values()]]) == n
    pan = clients["city"].get(f"/api/v1/chains/{chain_id}?region={web_db.county}").json()
    assert pan["basis"]["data_fingerprint"] in cells(book)
    audit = store.con.execute("SELECT username FROM audit_log WHERE action = 'export' "
                              f"AND target = 'chains:panorama:{chain_id}:{web_db.county}'").fetchall()
    assert ("t-city",) in audit
    assert clients["county"].get(f"/chains/{chain_id}/panorama.xlsx?region={web_db.far_county}").status_code == 403


# ---- risk ----------------------------------------------------------------------------------------

def test_risk_penalties_add_up(clients, web_db):
    body = clients["county"].get("/api/v1/chains/risk").json()
    assert body["chains"]
    for c in body["chains"]:
        assert abs(100 - sum(c["penalties"].values()) - c["health"]) < 1e-9 or c["health"] == 0
        for f in c["findings"]:
            if "uscc" in f:
                assert f["name"]                                          # a leader inside the region
    page = clients["county"].get("/chains/risk")
    assert page.status_code == 200 and page.text.count('class="sh-panel" id="risk-') == len(body["chains"])
    assert "合计（= 100 − 健康度）" in page.text


def test_chains_need_a_session(anonymous, chain_ids):
    chain_id, _ = chain_ids
    for path in ("/chains", f"/chains/{chain_id}", "/chains/targets", "/chains/targets.xlsx", "/chains/risk"):
        r = anonymous.get(path, follow_redirects=False)
        assert r.status_code == 303 and "/signin" in r.headers["location"]
    assert anonymous.get("/api/v1/chains").status_code == 401


# ---- 一县一业 (opportunities) ---------------------------------------------------------------------

@pytest.mark.parametrize("role", ["province", "city", "county"])
def test_opportunities_screen_and_api(clients, web_db, role):
    c = clients[role]
    r = c.get(f"/opportunities?region={web_db.county}")
    assert r.status_code == 200, r.text[:300]
    m = re.search(r'<script type="application/json" id="opportunity-data">(.*?)</script>', r.text, re.S)
    points = json.loads(m.group(1))["points"]
    assert points and all(p["x"] is not None and p["y"] is not None for p in points)
    assert 'id="develop-table"' in r.text and 'id="opportunity-basis"' in r.text
    api = c.get(f"/api/v1/opportunities?region={web_db.county}&industries=false").json()
    assert api["adcode"] == web_db.county and "industries" not in api and api["provenance"]["fingerprint"]
    assert c.get("/opportunities").status_code == 200                 # default: the caller's (first) county


def test_opportunities_method_reads_in_the_pages_language(clients, web_db):
    """The method line under 计算依据 is Chinese on the Chinese page (it was the English sentence only)."""
    from shanhai.jobs.opportunities import METHOD, METHOD_ZH

    c = clients["county"]
    zh = re.search(r'id="opportunity-method">(.*?)</span>', c.get(f"/opportunities?region={web_db.county}").text, re.S)
    en = re.search(r'id="opportunity-method">(.*?)</span>', c.get(f"/opportunities?region={web_db.county}&lang=en").text, re.S)
    assert zh and html.unescape(zh.group(1)) == METHOD_ZH and "eigenvector" not in zh.group(1)
    assert en and html.unescape(en.group(1)) == METHOD
    api = c.get(f"/api/v1/opportunities?region={web_db.county}&industries=false").json()
    assert api["provenance"]["method_zh"] == METHOD_ZH


def test_opportunities_refuses_other_counties(clients, web_db):
    county = clients["county"]
    assert county.get(f"/opportunities?region={web_db.far_county}").status_code == 403
    assert county.get(f"/api/v1/opportunities?region={web_db.near_county}").status_code == 403
    assert clients["city"].get(f"/opportunities?region={web_db.far_county}").status_code == 403
    assert clients["city"].get(f"/opportunities?region={web_db.city}").status_code == 400   # a city: per county only
    assert county.get("/opportunities?region=339999").status_code in (403, 404)
    assert county.get(f"/opportunities/export.xlsx?region={web_db.far_county}").status_code == 403


def test_opportunities_export_is_audited(clients, web_db, store, tmp_path):
    from shanhai.web.routers.opportunities import workbook_available

    if not workbook_available():
        pytest.skip("shanhai.reports.opportunities_excel is not installed")
    r = clients["county"].get("/opportunities/export.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith(XLSX)
    book = workbook(r.content, tmp_path)
    fingerprint = clients["county"].get("/api/v1/opportunities?industries=false").json()["provenance"]["fingerprint"]
    assert fingerprint in cells(book)
    audit = store.con.execute("SELECT username FROM audit_log WHERE action = 'export' "
                              f"AND target = 'opportunities:{web_db.county}'").fetchall()
    assert ("t-county",) in audit
