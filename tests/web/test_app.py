"""The application's frame: router plugins and their navigation, the map and ECharts served
from the package, the signing key. (One process owning the database: tests/cli/test_users_cli.py.)"""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from fastapi.testclient import TestClient

from shanhai.store import accounts, load_reference, open_store
from shanhai.web import app as web_app
from shanhai.web.app import app_routes, create_app
from web_helpers import PASSWORD, sign_in

PLUGIN = '''
from fastapi import APIRouter, Depends, Request

from shanhai.store.scope import Scope
from shanhai.web.deps import current_scope, render

router = APIRouter()
NAV = [(5, "/zz-plugin", "插件页", "Plugin page", ("province", "city")),
       (6, "/zz-admin-only", "仅管理员", "Admins only", ("admin",))]


@router.get("/zz-plugin")
def page(request: Request, scope: Scope = Depends(current_scope)):
    return render(request, "error.html", {"status": 200, "message_zh": "插件 " + scope.adcode,
                                          "message_en": "plugin " + scope.adcode})
'''


@pytest.fixture
def tiny_db(tmp_path):
    path = tmp_path / "tiny.duckdb"
    with open_store(path) as store:
        load_reference(store.con)
        for role, region in (("admin", None), ("city", "331100"), ("county", "331127")):
            accounts.add_user(store, f"p-{role}", PASSWORD, role, region)
    return path


def test_a_router_file_is_a_screen(tiny_db, tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "zz_plugin_screen.py").write_text(textwrap.dedent(PLUGIN), "utf-8")
    import shanhai.web.routers as routers

    monkeypatch.setattr(routers, "__path__", [*routers.__path__, str(folder)])
    monkeypatch.delitem(sys.modules, "shanhai.web.routers.zz_plugin_screen", raising=False)
    app = create_app(tiny_db, secret_key="k")
    assert any(r.path == "/zz-plugin" for r in app_routes(app))
    assert [e[1] for e in app.state.nav][:2] == ["/zz-plugin", "/zz-admin-only"]     # ordered by `order`
    with TestClient(app) as c:
        assert sign_in(c, "p-city").status_code == 303
        page = c.get("/zz-plugin")
        assert page.status_code == 200 and "插件 331100" in page.text
        assert 'href="/zz-plugin" class="active"' in page.text and "/zz-admin-only" not in page.text
    with TestClient(app) as c:
        assert sign_in(c, "p-county").status_code == 303
        assert "/zz-plugin" not in c.get("/jobs").text                       # not for county users
        assert sign_in(c, "p-admin").status_code == 303
        assert "/zz-plugin" in c.get("/jobs").text and "/zz-admin-only" in c.get("/jobs").text


def test_a_broken_plugin_is_not_hidden(tiny_db, tmp_path, monkeypatch):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "zz_broken_screen.py").write_text("import no_such_module_anywhere\n", "utf-8")
    import shanhai.web.routers as routers

    monkeypatch.setattr(routers, "__path__", [*routers.__path__, str(folder)])
    with pytest.raises(ModuleNotFoundError):
        create_app(tiny_db, secret_key="k")


def test_static_map_and_echarts(anonymous):
    geo = anonymous.get("/static/geo/zhejiang_counties.geojson")
    assert geo.status_code == 200 and geo.headers["content-type"].startswith("application/geo+json")
    assert len(json.loads(geo.content)["features"]) == 90
    js = anonymous.get("/static/vendor/echarts/echarts.min.js")
    assert js.status_code == 200 and len(js.content) > 500_000
    assert "Apache License" in anonymous.get("/static/vendor/echarts/LICENSE").text
    assert anonymous.get("/static/vendor/echarts/NOTICE").status_code == 200
    helper = anonymous.get("/static/js/shanhai.js").text
    finished, set_option = helper.index("chart.on('finished'"), helper.index("chart.setOption(")
    assert finished < set_option and "dataset.rendered = '1'" in helper
    assert anonymous.get("/static/css/shanhai.css").status_code == 200


def test_secret_key_file_beside_the_database(tiny_db, monkeypatch):
    monkeypatch.delenv("SHANHAI_SECRET_KEY", raising=False)
    first = web_app.load_secret_key(tiny_db, None)
    key_file = tiny_db.parent / f"{tiny_db.name}.secret"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert web_app.load_secret_key(tiny_db, None) == first                      # kept across restarts
    monkeypatch.setenv("SHANHAI_SECRET_KEY", "from-the-environment")
    assert web_app.load_secret_key(tiny_db, None) == b"from-the-environment"
    assert web_app.load_secret_key(tiny_db, "given") == b"given"
