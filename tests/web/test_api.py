"""The JSON API under /api/v1: the same data and scope rules as the screens, 401 without a
session, 403 outside the region, 404 for what does not exist, and an OpenAPI document that
describes the responses."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def store(app):
    from shanhai.store.connection import Store

    cur = app.state.store.con.cursor()
    yield Store(app.state.db_path, cur, False)
    cur.close()


def scalar(store, sql):
    return store.con.execute(sql).fetchone()[0]


def test_api_needs_a_session(anonymous, web_db):
    for path in ("/api/v1/runs", f"/api/v1/runs/{web_db.province_run}/results", "/api/v1/policies",
                 f"/api/v1/runs/{web_db.province_run}/enterprises/{web_db.firm_in[0]}", "/api/v1/collection"):
        r = anonymous.get(path)
        assert r.status_code == 401, path
        assert r.json()["detail"].startswith("Sign in first")


def test_runs_per_role(clients, web_db):
    county = {r["run_id"]: r for r in clients["county"].get("/api/v1/runs").json()}
    assert web_db.province_run in county and web_db.county_run in county and web_db.far_run not in county
    run = county[web_db.province_run]
    assert run["policy"] == "zhejiang-2018" and run["year"] == web_db.year and run["region"] == "330000"
    province = {r["run_id"]: r for r in clients["province"].get("/api/v1/runs").json()}
    assert web_db.far_run in province
    assert province[web_db.province_run]["firms"] > run["firms"] > 0


def test_results_numbers_and_scope(clients, web_db, store):
    run = web_db.province_run
    r = clients["county"].get(f"/api/v1/runs/{run}/results", params={"per_page": 500})
    assert r.status_code == 200
    body = r.json()
    assert body["run"]["run_id"] == run and body["run"]["policy_version"]
    assert body["total"] == scalar(store, f"SELECT count(*) FROM mujun_results WHERE run_id = '{run}' "
                                          f"AND county_adcode = '{web_db.county}'")
    assert {row["county_adcode"] for row in body["rows"]} == {web_db.county}
    firm = next(row for row in body["rows"] if row["uscc"] == web_db.firm_in[0])
    cls, score = store.con.execute(f"SELECT \"class\", total_score FROM mujun_results WHERE run_id = '{run}' "
                                   f"AND uscc = '{web_db.firm_in[0]}'").fetchone()
    assert firm["class"] == cls and firm["total_score"] == pytest.approx(score)
    # filters and sorting
    only = clients["county"].get(f"/api/v1/runs/{run}/results", params={"class": cls, "sort": "score", "desc": True})
    rows = only.json()["rows"]
    assert rows and all(x["class"] == cls for x in rows)
    scores = [x["total_score"] for x in rows]
    assert scores == sorted(scores, reverse=True)
    assert clients["county"].get(f"/api/v1/runs/{run}/results", params={"sort": "drop table"}).status_code == 422
    # outside the region
    assert clients["county"].get(f"/api/v1/runs/{run}/results", params={"county": web_db.near_county}).status_code == 403
    assert clients["county"].get(f"/api/v1/runs/{web_db.far_run}/results").status_code == 403
    assert clients["county"].get("/api/v1/runs/mujun-1999-none/results").status_code == 404
    city = clients["city"].get(f"/api/v1/runs/{run}/results", params={"county": web_db.near_county}).json()
    assert city["total"] > 0 and {x["county_adcode"] for x in city["rows"]} == {web_db.near_county}


def test_summary_bands_counties_drill_headline(clients, web_db, store):
    run = web_db.province_run
    c = clients["county"]
    s = c.get(f"/api/v1/runs/{run}").json()
    assert s["firms"] == sum(x["firms"] for x in s["classes"])
    b = c.get(f"/api/v1/runs/{run}/bands", params={"indicator": "value_added_per_mu"}).json()
    assert b["total"] == s["evaluated"] and b["unit"] == "万元/亩"
    counties = c.get(f"/api/v1/runs/{run}/counties").json()
    assert [x["adcode"] for x in counties["counties"]] == [web_db.county]
    tax = scalar(store, f"SELECT tax_per_mu FROM mujun_rollups WHERE run_id = '{run}' AND level = 'county' "
                        f"AND scope = 'above_scale' AND key = '{web_db.county}'")
    assert counties["counties"][0]["tax_per_mu"] == pytest.approx(tax)
    drill = c.get(f"/api/v1/runs/{run}/regions/{web_db.county}").json()
    assert drill["child_level"] == "town" and all(t["adcode"].startswith(web_db.county) for t in drill["children"])
    assert c.get(f"/api/v1/runs/{run}/regions/{web_db.near_county}").status_code == 403
    assert c.get(f"/api/v1/runs/{run}/regions/339999").status_code == 404
    head = c.get(f"/api/v1/runs/{run}/headline").json()
    assert head["figures"]["adcode"] == web_db.county
    assert all(g["key"] == web_db.county for g in head["targets"])
    prov = clients["province"].get(f"/api/v1/runs/{run}/headline").json()
    assert any(g["level"] == "province" for g in prov["targets"]) and prov["mountain26"]


def test_enterprise(clients, web_db):
    run = web_db.province_run
    e = clients["county"].get(f"/api/v1/runs/{run}/enterprises/{web_db.firm_in[0]}")
    assert e.status_code == 200
    body = e.json()
    assert body["explain"]["uscc"] == web_db.firm_in[0] and body["explain"]["indicators"]
    assert body["years"] and body["runs"]
    assert {r["run_id"] for r in body["runs"]} >= {run}
    assert clients["county"].get(f"/api/v1/runs/{run}/enterprises/{web_db.firm_near[0]}").status_code == 403
    assert clients["county"].get(f"/api/v1/runs/{run}/enterprises/91330000MA00000000").status_code == 404


def test_compare(clients, web_db):
    c = clients["county"]
    r = c.get("/api/v1/compare", params={"a": web_db.province_run, "b": web_db.county_run})
    assert r.status_code == 200
    body = r.json()
    assert body["both"] == sum(sum(v.values()) for v in body["matrix"].values())
    assert {m["county_adcode"] for m in body["movers"]} <= {web_db.county}
    assert c.get("/api/v1/compare", params={"a": web_db.province_run, "b": web_db.far_run}).status_code == 403


def test_collection_and_policies(clients, web_db):
    p = clients["county"].get("/api/v1/collection").json()
    assert p["year"] == web_db.year and [c["adcode"] for c in p["counties"]] == [web_db.county]
    assert clients["county"].get("/api/v1/collection", params={"county": web_db.near_county}).status_code == 403
    names = {x["name"] for x in clients["viewer"].get("/api/v1/policies").json()}
    assert "zhejiang-2018" in names
    cmp = clients["viewer"].get("/api/v1/policies/compare", params={"a": "zhejiang-2018", "b": "huangyan-2022"})
    assert cmp.status_code == 200 and cmp.json()["diff"]
    assert clients["viewer"].get("/api/v1/policies/zhejiang-2018").json()["version"]
    assert clients["viewer"].get("/api/v1/policies/no-such").status_code == 404


def test_write_endpoints(app, clients, web_db):
    r = clients["county"].post("/api/v1/runs", data={"policy": "zhejiang-2018", "year": web_db.year})
    assert r.status_code == 403                                           # no CSRF token
    r = clients["viewer"].post("/api/v1/runs", data={"policy": "zhejiang-2018", "year": web_db.year},
                               headers={"X-CSRF-Token": clients["viewer"].csrf})
    assert r.status_code == 403                                           # read-only
    r = clients["county"].post(f"/api/v1/runs/{web_db.far_run}/whatif", data={"policy": "huangyan-2022"},
                               headers={"X-CSRF-Token": clients["county"].csrf})
    assert r.status_code == 403
    r = clients["county"].post("/api/v1/runs", data={"policy": "zhejiang-2018", "year": web_db.year,
                                                     "region": web_db.near_county},
                               headers={"X-CSRF-Token": clients["county"].csrf})
    assert r.status_code == 403


def test_openapi_describes_the_responses(clients):
    doc = clients["viewer"].get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    for path in ("/api/v1/runs", "/api/v1/runs/{run_id}/results", "/api/v1/runs/{run_id}/enterprises/{uscc}",
                 "/api/v1/runs/{run_id}/counties", "/api/v1/compare", "/api/v1/collection", "/api/v1/policies"):
        assert path in paths, path
    schema = paths["/api/v1/runs/{run_id}/results"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/ResultsPage")
    row = doc["components"]["schemas"]["ResultRow"]["properties"]
    assert "class" in row and "tax_per_mu" in row and "万元/亩" in row["tax_per_mu"].get("description", "")
