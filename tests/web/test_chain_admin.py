"""``/admin/chains``: admins edit the chain model in the web (list, upload, download, one segment's
codes and keywords, manual decisions, delete and restore, recompute membership); every other role
gets 403 on every route. The app runs over its own copy of the small province, since these tests
change the chain model."""

from __future__ import annotations

import io
import re
import shutil
from types import SimpleNamespace

import fastexcel
import pytest
from fastapi.testclient import TestClient

from shanhai.jobs import chain_model
from shanhai.store import accounts, open_store
from shanhai.web.app import app_routes, create_app
from web_helpers import PASSWORD, csrf_of, make_client, sign_in

ROLES = {"admin": "330000", "province": "330000", "city": "331100", "county": "331127", "viewer": "331127"}

PENS = """
[[chains]]
chain_id = "pens"
name = "制笔"
[[chains.segments]]
stage = "midstream"
name = "笔的制造"
codes = ["2412"]
keywords = ["制笔"]
"""


@pytest.fixture(scope="module")
def world(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("chain_admin") / "chains.duckdb"
    shutil.copy(small_db, path)
    with open_store(path) as store:
        for role, region in ROLES.items():
            accounts.add_user(store, f"ca-{role}", PASSWORD, role, region, f"链{role}")
        firm = store.con.execute("SELECT uscc FROM enterprise_segments WHERE segment_id = 'smart_home.midstream' "
                                 "AND method = 'code' ORDER BY uscc LIMIT 1").fetchone()[0]
    app = create_app(path, secret_key="chain-admin-tests")
    with TestClient(app):
        clients = {}
        for i, role in enumerate(ROLES):
            client = make_client(app, f"10.30.0.{i + 1}")
            assert sign_in(client, f"ca-{role}").status_code == 303
            client.csrf = csrf_of(client, "/jobs")
            clients[role] = client
        yield SimpleNamespace(app=app, clients=clients, firm=firm, path=path)


def store_of(world):
    from shanhai.store.connection import Store

    return Store(world.path, world.app.state.store.con.cursor(), False)


def post(client, url, data=None, files=None):
    return client.post(url, data={"csrf_token": client.csrf, **(data or {})}, files=files, follow_redirects=False)


def follow(client, response):
    assert response.status_code == 303, response.text[:500]
    return client.get(response.headers["location"])


def test_routes_are_admin_only(world):
    routes = [(r.path, m) for r in app_routes(world.app) if r.path.startswith("/admin/chains")
              for m in r.methods - {"HEAD"}]
    assert len(routes) == 9
    for role, client in world.clients.items():
        for path, method in routes:
            url = path.replace("{chain_id}", "digital_security")
            r = client.request(method, url, headers={"X-CSRF-Token": client.csrf}, follow_redirects=False)
            if role == "admin":
                assert r.status_code < 500, (method, url, r.status_code)
            else:
                assert r.status_code == 403, (role, method, url, r.status_code)
    nav = world.clients["admin"].get("/admin/chains").text
    assert 'href="/admin/chains"' in nav
    assert 'href="/admin/chains"' not in world.clients["province"].get("/jobs").text


def test_list_and_chain_pages(world):
    admin = world.clients["admin"]
    page = admin.get("/admin/chains")
    assert page.status_code == 200
    for name in ("数字安防", "现代纺织", "节能与新能源汽车"):
        assert name in page.text
    english = admin.get("/admin/chains?lang=en")
    assert "Chain model" in english.text and "Recompute membership" in english.text
    chain = admin.get("/admin/chains/modern_textiles")
    assert chain.status_code == 200
    assert "印染与后整理" in chain.text and "modern_textiles.midstream.dyeing" in chain.text
    assert admin.get("/admin/chains/no_such_chain").status_code == 404


def test_download_the_model(world):
    admin = world.clients["admin"]
    r = admin.get("/admin/chains/export")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "attachment" in r.headers["content-disposition"]
    reader = fastexcel.read_excel(r.content)
    assert reader.sheet_names == [chain_model.SHEET, chain_model.NOTES_SHEET]
    rows = reader.load_sheet(0).to_arrow().num_rows
    assert rows == 35
    s = store_of(world)
    try:
        assert s.con.execute("SELECT count(*) FROM audit_log WHERE action = 'export' AND target = 'chains'").fetchone()[0] >= 1
    finally:
        s.con.close()


def test_upload_a_chain_file(world):
    admin = world.clients["admin"]
    r = post(admin, "/admin/chains/import", {"recompute": "1"},
             files={"file": ("制笔.toml", PENS.encode("utf-8"), "application/toml")})
    page = follow(admin, r)
    assert "已导入 制笔.toml" in page.text and "企业归属已重新计算" in page.text
    assert "pens" in page.text
    # a workbook with a bad code: the page names the file, row and column; nothing is written
    book = io.BytesIO()
    import xlsxwriter

    wb = xlsxwriter.Workbook(book, {"in_memory": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["产业链代码", "产业链名称", "环节(上游/中游/下游)", "环节名称", "行业代码"])
    ws.write_row(1, 0, ["inks", "墨水", "中游", "墨水制造", "9999"])
    wb.close()
    r = post(admin, "/admin/chains/import", files={"file": ("墨水.xlsx", book.getvalue(), "application/octet-stream")})
    assert r.status_code == 400
    assert "墨水.xlsx: 第2行 row 2" in r.text and "行业代码" in r.text and "9999" in r.text
    assert "inks" not in admin.get("/admin/chains").text
    r = post(admin, "/admin/chains/import", files={"file": ("x.csv", b"a,b", "text/csv")})
    assert r.status_code == 400


def test_edit_a_segment(world):
    admin = world.clients["admin"]
    r = post(admin, "/admin/chains/smart_home/segment",
             {"segment_id": "smart_home.downstream", "codes": "", "keywords": "全屋定制、软装;家居", "recompute": "1"})
    page = follow(admin, r)
    assert "已保存环节 smart_home.downstream" in page.text
    s = store_of(world)
    try:
        assert s.con.execute("SELECT keywords FROM chain_segments WHERE segment_id = 'smart_home.downstream'"
                             ).fetchone() == ("全屋定制;软装;家居",)
        assert s.con.execute("SELECT origin FROM chains WHERE chain_id = 'smart_home'").fetchone() == ("user",)
        # synthetic 家居 firms now sit downstream by keyword
        assert s.con.execute("SELECT count(*) FROM enterprise_segments WHERE segment_id = 'smart_home.downstream' "
                             "AND method = 'keyword'").fetchone()[0] > 0
    finally:
        s.con.close()
    bad = post(admin, "/admin/chains/smart_home/segment",
               {"segment_id": "smart_home.downstream", "codes": "9999", "keywords": "家居"})
    assert bad.status_code == 400 and "unknown GB/T 4754-2017 manufacturing code &#39;9999&#39;" in bad.text
    assert re.search(r'<textarea name="codes"[^>]*>9999</textarea>', bad.text)
    assert post(admin, "/admin/chains/smart_home/segment", {"segment_id": "digital_security.upstream"}).status_code == 404
    # restore the packaged definition: origin package again, membership recomputed
    page = follow(admin, post(admin, "/admin/chains/smart_home/restore"))
    assert "已恢复" in page.text
    s = store_of(world)
    try:
        assert s.con.execute("SELECT origin FROM chains WHERE chain_id = 'smart_home'").fetchone() == ("package",)
    finally:
        s.con.close()


def test_exclude_a_firm_and_undo(world):
    admin = world.clients["admin"]
    r = post(admin, "/admin/chains/smart_home/member",
             {"uscc": world.firm.lower(), "segment_id": "smart_home.midstream", "role": "excluded"})
    page = follow(admin, r)
    assert "已更新" in page.text and world.firm in page.text
    s = store_of(world)
    try:
        row = f"SELECT role, method FROM enterprise_segments WHERE uscc = '{world.firm}' AND segment_id = 'smart_home.midstream'"
        assert s.con.execute(row).fetchone() == ("excluded", "manual")
        follow(admin, post(admin, "/admin/chains/members"))          # survives recomputation
        assert s.con.execute(row).fetchone() == ("excluded", "manual")
        follow(admin, post(admin, "/admin/chains/smart_home/member",
                           {"uscc": world.firm, "segment_id": "smart_home.midstream", "role": "clear"}))
        assert s.con.execute(row).fetchone() in (("member", "code"), ("chain_leader", "code"))
    finally:
        s.con.close()
    r = post(admin, "/admin/chains/smart_home/member", {"uscc": "91330000MA00000000", "segment_id": "smart_home.midstream",
                                                        "role": "excluded"})
    assert r.status_code == 400 and "企业名录中没有" in r.text


def test_delete(world):
    admin = world.clients["admin"]
    follow(admin, post(admin, "/admin/chains/import", files={"file": ("pens.toml", PENS.encode("utf-8"), "text/plain")}))
    assert post(admin, "/admin/chains/digital_security/delete").status_code == 400
    page = follow(admin, post(admin, "/admin/chains/pens/delete"))
    assert "已删除产业链 制笔" in page.text
    assert admin.get("/admin/chains/pens").status_code == 404
    assert post(admin, "/admin/chains/pens/delete").status_code == 404


def test_writes_need_the_csrf_token(world):
    admin = world.clients["admin"]
    r = admin.post("/admin/chains/members", follow_redirects=False)
    assert r.status_code == 403


def test_every_change_is_audited(world):
    s = store_of(world)
    try:
        actions = {a for (a,) in s.con.execute("SELECT DISTINCT action FROM audit_log WHERE username = 'ca-admin' "
                                               "OR action LIKE 'chains.%'").fetchall()}
    finally:
        s.con.close()
    assert {"chains.import", "chains.segment.edit", "chains.restore", "chains.members", "chains.member.set",
            "chains.member.clear", "chains.delete", "export"} <= actions
