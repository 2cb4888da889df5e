"""``/zones`` and ``/api/v1/zones`` (web.routers.zones): the ranking page for every role with tier
arrows, bottom-N flags and the chart's data; a zone's page with its explanation for its own
region only (403 elsewhere, 404 unknown); the JSON API; the audited workbook with no other
region's zone details and no firm at all; the page before any run."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

ROLES = ("admin", "province", "city", "county", "viewer")


@pytest.fixture(scope="module")
def store(app):
    from shanhai.store.connection import Store

    cur = app.state.store.con.cursor()
    yield Store(app.state.db_path, cur, False)
    cur.close()


@pytest.fixture(scope="module")
def zone_runs(app, web_db, clients):
    """Before any run: the empty page. Then zhejiang-2021 runs for the last two years and a
    lishui-2020 run, made through the server's job runner."""
    empty = clients["province"].get("/zones")
    empty_county = clients["county"].get("/zones")
    from shanhai.jobs import zones as jz

    made: dict = {}

    def job(progress):
        made["zj"] = jz.evaluate_years(progress.store, "zhejiang-2021", [web_db.year - 1, web_db.year], user="walk")
        made["ls"] = jz.evaluate(progress.store, "lishui-2020", web_db.year, user="walk")

    done = app.state.jobs.wait(app.state.jobs.submit("zones", "zones", job, web_db.users["admin"]), 120)
    assert done.status == "done", done.error
    return {"empty": empty, "empty_county": empty_county, **made}


def chart(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="zones-data">(.*?)</script>', html, re.S)
    assert m, "no chart data on the page"
    return json.loads(m.group(1))


def test_the_page_before_any_run(zone_runs):
    r = zone_runs["empty"]
    if 'id="zones-basis"' in r.text:
        pytest.skip("another test module stored a zone run first")
    assert r.status_code == 200 and 'id="zones-empty"' in r.text and "shanhai zones evaluate" in r.text
    assert "新建评价批次" in r.text.split('id="zones-empty"')[1]
    # a county user cannot start one: the page says who does, not a command it cannot run
    county = zone_runs["empty_county"].text
    said = county.split('id="zones-empty"')[1].split("</div>")[0]
    assert "评价由省级用户发起" in said and "shanhai zones evaluate" not in said and 'id="zones-evaluate"' not in county


@pytest.mark.parametrize("role", ROLES)
def test_the_ranking_renders_for_every_role(clients, zone_runs, web_db, role):
    r = clients[role].get("/zones?method=zhejiang-2021")
    assert r.status_code == 200, r.text[:300]
    run_id = zone_runs["zj"][-1]["run_id"]
    assert run_id in r.text and "东北片" in r.text and "西南片" in r.text
    assert "zones-chart" in r.text and 'class="zn-change' in r.text
    data = chart(r.text)
    assert {g["label"] for g in data["groups"]} == {"东北片", "西南片"}
    mine = [z for g in data["groups"] for z in g["zones"] if z["mine"]]
    if role in ("county", "viewer"):
        assert [z["name"] for z in mine] and len(mine) == 1
        # only the own zone links to its page
        links = set(re.findall(r'href="/zones/(Z\d{6})\?', r.text))
        assert links == {f"Z{web_db.county}"}
    elif role == "city":
        assert all(z.startswith("Z3311") for z in re.findall(r'href="/zones/(Z\d{6})\?', r.text))
    else:
        assert len(mine) == sum(len(g["zones"]) for g in data["groups"])
    # the bottom flags of the stored run show
    bottom = sum(1 for g in data["groups"] for z in g["zones"] if z["bottom"])
    assert bottom == zone_runs["zj"][-1]["bottom"] and r.text.count('class="zn-flag"') == bottom


def test_filters_and_english(clients, zone_runs, web_db):
    c = clients["county"]
    r = c.get("/zones?method=zhejiang-2021&group=area%3Dsouthwest&mine=true")
    assert r.status_code == 200
    assert len(re.findall(r'<tr data-zone=', r.text)) == 1
    r = c.get(f"/zones?method=zhejiang-2021&year={web_db.year - 1}")
    assert zone_runs["zj"][0]["run_id"] in r.text
    r = c.get("/zones?method=lishui-2020&lang=en")
    c.get("/zones?lang=zh")
    assert "Development-zone evaluation" in r.text and zone_runs["ls"]["run_id"] in r.text
    assert "echelon" in r.text and "梯队" not in re.sub(r"<script.*?</script>", "", r.text.split('id="zones-summary"')[1], flags=re.S)
    r = c.get(f"/zones/Z{web_db.county}?lang=en")
    c.get("/zones?lang=zh")
    assert "Opening-up" in r.text and "Tier" in r.text and "Explanation" in r.text
    assert c.get("/zones?group=area%3Dnowhere").status_code == 404
    assert c.get("/zones?run=zones-nosuchrun").status_code == 404


def test_a_zone_page_for_its_own_region_only(clients, zone_runs, web_db):
    own = f"Z{web_db.county}"
    r = clients["county"].get(f"/zones/{own}")
    assert r.status_code == 200
    assert 'id="zone-explanation"' in r.text and "亩均增加值" in r.text and 'id="zone-points-total"' in r.text
    total = re.search(r'id="zone-total">([\d.]+)<', r.text).group(1)
    points = re.search(r'id="zone-points-total">([\d.]+)<', r.text).group(1)
    assert float(total) == pytest.approx(float(points), abs=0.01)
    assert 'id="zone-history"' in r.text and zone_runs["zj"][0]["run_id"] in r.text
    for role, zone in (("county", f"Z{web_db.near_county}"), ("viewer", f"Z{web_db.far_county}"),
                       ("city", f"Z{web_db.far_county}")):
        assert clients[role].get(f"/zones/{zone}").status_code == 403
        assert clients[role].get(f"/api/v1/zones/{zone}").status_code == 403
        assert clients[role].get(f"/api/v1/zones/{zone}/history").status_code == 403
    assert clients["city"].get(f"/zones/Z{web_db.near_county}").status_code == 200
    assert clients["province"].get("/zones/Z999999").status_code == 404
    r = clients["county"].get(f"/zones/{own}?method=lishui-2020")
    assert r.status_code == 200 and zone_runs["ls"]["run_id"] in r.text


def test_the_api(clients, zone_runs, web_db):
    c = clients["county"]
    doc = c.get("/api/v1/zones?method=zhejiang-2021").json()
    assert doc["basis"]["run_id"] == zone_runs["zj"][-1]["run_id"]
    assert [z["zone_id"] for z in doc["zones"] if z["in_scope"]] == [f"Z{web_db.county}"]
    assert not any("explanation" in z or "value_added_per_mu" in z for z in doc["zones"])
    zone = c.get(f"/api/v1/zones/Z{web_db.county}").json()
    assert zone["points_total"] == pytest.approx(zone["result"]["total_score"], abs=1e-6)
    assert {m["name"] for m in c.get("/api/v1/zones/methods").json()} >= {"zhejiang-2021", "lishui-2020"}
    assert {r["run_id"] for r in c.get("/api/v1/zones/runs").json()} >= {zone_runs["ls"]["run_id"]}
    assert c.get("/api/v1/zones?method=mofcom-2021").status_code == 404


def test_the_workbook_is_scoped_and_audited(clients, zone_runs, store, web_db):
    before = store.con.execute("SELECT count(*) FROM audit_log WHERE action = 'export'").fetchone()[0]
    r = clients["county"].get("/zones/export.xlsx?method=zhejiang-2021")
    assert r.status_code == 200 and r.content[:4] == b"PK\x03\x04"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        text = "".join(z.read(n).decode("utf-8", "ignore") for n in z.namelist() if n.endswith(".xml"))
    assert "排名" in text and "指标得分" in text and zone_runs["zj"][-1]["run_id"] in text
    firms = store.con.execute("SELECT uscc, name FROM enterprises").fetchall()
    assert not any(u in text for u, _ in firms) and not any(n in text for _, n in firms)
    names = dict(store.con.execute("SELECT zone_id, name FROM zones").fetchall())
    # the score sheet names the own zone only; other zones appear in the public ranking
    sheet = zipfile.ZipFile(io.BytesIO(r.content)).read("xl/worksheets/sheet2.xml").decode("utf-8")
    strings = re.findall(r"<si><t[^>]*>(.*?)</t></si>", zipfile.ZipFile(io.BytesIO(r.content)).read(
        "xl/sharedStrings.xml").decode("utf-8"))
    used = {strings[int(i)] for i in re.findall(r'<c r="A\d+"[^>]*t="s"[^>]*><v>(\d+)</v>', sheet)}
    assert names[f"Z{web_db.county}"] in used
    assert not (used & {n for z, n in names.items() if z != f"Z{web_db.county}"})
    after = store.con.execute("SELECT count(*), max_by(detail, seq) FROM audit_log WHERE action = 'export'").fetchone()
    assert after[0] == before + 1 and '"kind": "zones"' in after[1]


def test_evaluating_from_the_page(app, clients, zone_runs, store, web_db):
    """Province write roles queue a run (a new run, never an overwrite); narrower roles are refused
    and never see the form; bad input is a 400."""
    c = clients["province"]
    assert 'id="zones-evaluate"' in c.get("/zones").text
    assert 'id="zones-evaluate"' not in clients["city"].get("/zones").text
    before = store.con.execute("SELECT count(*) FROM runs WHERE kind = 'zones'").fetchone()[0]
    r = c.post("/zones/evaluate", data={"csrf_token": c.csrf, "method": "mofcom-2021", "year": str(web_db.year)},
               follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    job = app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[-1], timeout=120)
    assert job.status == "done", job.error
    assert store.con.execute("SELECT count(*) FROM runs WHERE kind = 'zones'").fetchone()[0] == before + 1
    assert job.url.startswith("/zones?run=zones-")
    page = c.get(job.url)
    assert page.status_code == 200 and "国家级经开区" in page.text
    for role, status in (("city", 403), ("county", 403), ("viewer", 403)):
        x = clients[role]
        got = x.post("/zones/evaluate", data={"csrf_token": x.csrf, "method": "zhejiang-2021"}, follow_redirects=False)
        assert got.status_code == status, (role, got.status_code)
    for data in ({"method": "nope"}, {"year": "1999"}, {"year": "abc"}):
        got = c.post("/zones/evaluate", data={"csrf_token": c.csrf, **data}, follow_redirects=False)
        assert got.status_code == 400, (data, got.status_code)
    got = c.post("/api/v1/zones/evaluate", json={"method": "lishui-2020"}, headers={"X-CSRF-Token": c.csrf})
    assert got.status_code == 200 and app.state.jobs.wait(got.json()["job_id"], timeout=120).status == "done"
    assert c.post("/zones/evaluate", data={"method": "zhejiang-2021"}, follow_redirects=False).status_code == 403
