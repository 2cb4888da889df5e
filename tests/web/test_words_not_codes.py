"""Pages show words, never internal codes: a job's kind 导出 (not ``export``), a pay-out state 已确认
(not ``confirmed``), a role 县级用户 (not ``county``), a light 绿灯 (not ``green``) …

The walk opens every HTML page of the app (the GET routes of ``app_routes``, path parameters
filled like tests/web/test_scope_walk.py fills them) as the administrator and as a county user, in
Chinese, collects the text a reader sees (no attributes, no ``<script>``/``<style>``, no
``<code>``/``<pre>``: ids and commands are shown there on purpose) and fails when a text node's
Latin words are all codes of the label maps (a code among Chinese words and numbers; English
prose and formulas that mention a code pass, see :func:`codes_in`). The vocabulary is read from
the maps themselves (every ``*_LABELS`` / ``*_ZH`` / ``*_MODES`` dict of the modules the web app
loads, and every map of the templates' ``label()``), so a new code is checked as soon as its
label exists. A page whose rows the walk must meet is listed in :data:`SEEN`; the same pages in
English show the maps' English words.

The app runs over its own copy of the small province, with rows in every state the pages list
(background jobs of every kind, a support-policy run with pay-outs applied to paid, enterprise
requests, an early-warning scan, a pairing plan, transition actions), so a page printing a code
has something to print.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from shanhai.store import open_store
from shanhai.web.app import create_app, plugin_modules
from test_scope_walk import _alert_ids, _combos, _fill, _pairing_plans, _request_ids, _routes, build_world
from web_helpers import build_web_db, csrf_of, make_client, sign_in

WALKED = ("admin", "county")
MAP_NAME = re.compile(r"[A-Z][A-Z_]*(LABELS|_ZH|MODES)")
PACKAGES = ("shanhai.jobs", "shanhai.analysis", "shanhai.policy", "shanhai.web", "shanhai.store.accounts",
            "shanhai.reference")

# Codes that are also ordinary words a page may show in the Chinese view, with the reason why
# (none so far: a Latin word in a Chinese page that is not part of English text is a code)
ALLOWED: dict[str, str] = {}


def vocabulary() -> dict[str, list[str]]:
    """code → the label maps it is a key of (module.NAME), over every label map the web app loaded."""
    from shanhai.web.deps import LABEL_MAPS, label_map

    for vocab in LABEL_MAPS:            # imports the modules of the templates' label() maps
        label_map(vocab)
    # and every module of the packages, so the vocabulary does not depend on what earlier tests
    # happened to import (a map of a module no test had loaded was missed when this file ran alone)
    for package in PACKAGES:
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(getattr(root, "__path__", []), f"{package}."):
            if not info.name.endswith("__main__"):
                importlib.import_module(info.name)
    out: dict[str, list[str]] = {}
    for name, module in sorted(sys.modules.items()):
        if module is None or not name.startswith(PACKAGES):
            continue
        for attr, value in vars(module).items():
            if not (MAP_NAME.fullmatch(attr) and isinstance(value, dict)):
                continue
            for code, label in value.items():
                if isinstance(code, str) and isinstance(label, (str, tuple)) and code not in ALLOWED:
                    out.setdefault(code, []).append(f"{name}.{attr}")
    return out


class _VisibleText(HTMLParser):
    """The text nodes a reader sees (attributes, scripts, styles, <code> and <pre> left out)."""

    SKIP = {"script", "style", "code", "pre", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth and data.strip():
            self.texts.append(data.strip())


def visible_texts(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser.texts


WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")


def codes_in(text: str, vocab) -> list[str]:
    """The codes a text node shows: its words (letters, digits, ``_`` and inner ``-``) when every
    one of them is a code. A node with another Latin word in it is English or a formula
    (``value_added ÷ energy_tce``, ``closed ÷ collected``, a job's label ``walk province``),
    where a code is part of the sentence; a code alone among Chinese words and numbers
    (``export``, ``— done 100%``, ``（county）· 已提交``) is one a reader should see as a word."""
    words = WORD.findall(text)
    return words if words and all(w in vocab for w in words) else []


def test_the_detector_finds_a_code_and_not_a_word():
    plugin_modules()                   # the routers and the label maps they import
    vocab = vocabulary()
    assert {"confirmed", "no_application", "export", "county", "green", "done"} <= set(vocab)
    page = ('<p class="st-confirmed" data-state="confirmed">已确认</p><script>var s = "done";</script>'
            '<td>导出</td><code>export</code><li>任务 — done 100%</li><span>no_application</span>')
    found = [c for t in visible_texts(page) for c in codes_in(t, vocab)]
    assert found == ["done", "no_application"]
    assert codes_in("value_added ÷ energy_tce", vocab) == [] and codes_in("（county）· 已提交", vocab) == ["county"]


@pytest.fixture(scope="module")
def own(small_db, tmp_path_factory):
    """An app over its own copy of the small province, with rows in the states pages list."""
    db = build_web_db(small_db, tmp_path_factory.mktemp("words") / "words.duckdb")
    with open_store(db.path) as store:
        # display names without role codes in them (the shared fixture's are 测试admin …)
        store.con.execute("UPDATE users SET display_name = '词语' || CAST(user_id AS VARCHAR)")
    app = create_app(db.path, secret_key="words-not-codes")
    with TestClient(app):
        world = build_world(app, db, label="走查任务")
        clients = {}
        for i, role in enumerate(WALKED):
            client = make_client(app, f"10.53.0.{i + 1}")
            assert sign_in(client, f"t-{role}").status_code == 303
            client.csrf = csrf_of(client, "/jobs")
            clients[role] = client
        _pairing_plans(world)
        _alert_ids(world)
        _request_ids(world)
        extra = _rows_in_every_state(app, world)
        yield SimpleNamespace(app=app, db=db, world=world, clients=clients, extra=extra)


PAYOUT_ITEM = "zhuji-digital-spend-2024"


def _rows_in_every_state(app, world) -> list[str]:
    """Jobs of every kind (one failed), pay-outs applied / confirmed / on notice / paid, a request accepted,
    portal links active and revoked, list service tasks contacted; returns the extra pages to walk
    (the service desk's page of a firm with tasks and links)."""
    from shanhai.jobs import service_lists, service_requests
    from shanhai.jobs import service_policies as sp
    from shanhai.store.scope import Scope
    from shanhai.web.jobs import KIND_LABELS, runner

    admin, county = world.users["admin"], world.users["county"]
    made: dict = {}

    def seed(progress):
        store, province = progress.store, Scope.province()
        run = sp.run(store, user="words")
        eligible = [u for (u,) in store.con.execute(
            f"SELECT uscc FROM service_match_results WHERE run_id = '{run['run_id']}' AND item_id = '{PAYOUT_ITEM}' "
            "AND outcome = 'eligible' AND amount IS NOT NULL ORDER BY amount, uscc LIMIT 4").fetchall()]
        assert len(eligible) == 4, eligible
        for uscc in eligible:           # an on-application item: applied, then three confirmed
            sp.apply(store, PAYOUT_ITEM, uscc, actor="words", on_behalf=True)
        for uscc in eligible[:3]:
            sp.confirm(store, PAYOUT_ITEM, uscc, actor="words", on_behalf=True)
        sp.notice(store, province, PAYOUT_ITEM, actor="words", uscc=eligible[1], days=0)
        sp.approve(store, province, PAYOUT_ITEM, actor="words", uscc=eligible[1])
        sp.pay(store, province, PAYOUT_ITEM, actor="words", uscc=eligible[1])
        sp.notice(store, province, PAYOUT_ITEM, actor="words", uscc=eligible[2])
        service_requests.transition(store, province, world.request_ids[0][0], "accept", user="words")
        service_lists.build(store, user="words")
        task = store.con.execute(
            "SELECT task_id, uscc FROM visit_tasks WHERE source IN ('key_list', 'struggling_list') "
            f"ORDER BY county_adcode = '{world.db.county}' DESC, task_id LIMIT 1").fetchone()
        assert task is not None
        service_lists.log(store, province, task[0], "contact", user="words")
        service_requests.issue_token(store, province, task[1], user="words")
        old = service_requests.issue_token(store, province, task[1], user="words")
        service_requests.revoke_token(store, province, task[1], old["token_id"], user="words")
        made["firm"] = task[1]
        made["pool"] = store.con.execute(
            "SELECT p.uscc FROM listing_pipeline p JOIN enterprises e USING (uscc) "
            f"ORDER BY e.county_adcode = '{world.db.county}' DESC, p.uscc LIMIT 1").fetchone()[0]

    done = runner().wait(runner().submit("export", "词语走查 · 状态", seed, admin), 300)
    assert done.status == "done", done.error
    for kind in KIND_LABELS:
        runner().wait(runner().submit(kind, "词语走查", lambda progress: None, admin), 60)

    def fails(progress):
        from shanhai.errors import ShanhaiError

        raise ShanhaiError("词语走查：预期中止")

    # last, the county user's: the screens list a user's latest 5 or 10 jobs of their kind
    for kind in JOB_PAGES:
        job = runner().wait(runner().submit(kind, "词语走查", fails if kind == "import" else (lambda progress: None),
                                            county), 60)
        assert job.status == ("failed" if kind == "import" else "done"), job.error
        world.jobs[f"county {kind}"] = job.job_id
    return [f"/service/firm/{made['firm']}", f"/service/firm/{made['pool']}"]


# job kind → the screen listing the user's latest jobs of that kind (their status in words)
JOB_PAGES = {"evaluate": "/mujun/runs", "pairing": "/coop/pairing", "import": "/data", "alerts": "/alerts",
             "power_index": "/indices", "service": "/service"}


# lists whose default filter hides rows in other states (the walk opens routes without a query)
VARIANTS = ("/alerts?status=all", "/alerts/tasks?state=all", "/service/requests?status=all",
            "/service/lists?kind=struggling", "/coop/leads?status=landed")


def _pages(own, role):
    """(url, response) of every HTML page the role can open, path parameters filled inside its region."""
    for url in [*own.extra, *VARIANTS]:
        r = own.clients[role].get(url, follow_redirects=False)
        if r.status_code == 403 and role != "admin" and url in own.extra:
            continue                    # a firm outside the county user's region
        assert r.status_code == 200, (role, url, r.status_code)
        yield url, r
    for path, method, names in _routes(own.app):
        if method != "GET" or path.startswith(("/api/", "/static/")) or path in ("/signout", "/lang"):
            continue
        ok, _ = _combos(names, own.world, role)
        for values in (ok[:1] if names else [{}]):
            url = _fill(path, values)
            r = own.clients[role].get(url, follow_redirects=False)
            if r.status_code == 200 and r.headers.get("content-type", "").startswith("text/html"):
                yield url, r


@pytest.mark.parametrize("role", WALKED)
def test_pages_show_words_not_codes(own, role):
    vocab = vocabulary()
    problems, walked = [], 0
    for url, r in _pages(own, role):
        walked += 1
        for text in visible_texts(r.text):
            for code in codes_in(text, vocab):
                problems.append(f"{url}: {code!r} in {text[:80]!r} ({', '.join(vocab[code][:2])})")
    assert walked > 40
    assert not problems, f"{len(problems)} codes shown as text to {role}:\n" + "\n".join(sorted(set(problems))[:200])


@pytest.fixture(autouse=True)
def _chinese(request):
    """``?lang=en`` leaves a cookie on the client: every test starts (and the walk runs) in Chinese."""
    if "own" in request.fixturenames:
        from shanhai.web.deps import LANG_COOKIE

        for client in request.getfixturevalue("own").clients.values():
            client.cookies.delete(LANG_COOKIE)
    yield


def _page(own, role, url, lang="zh") -> str:
    r = own.clients[role].get(url + ("&" if "?" in url else "?") + f"lang={lang}")
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    return r.text


def _words(html: str) -> str:
    return "\n".join(visible_texts(html))


# (page, a code the page carries in an attribute, its Chinese word, its English word): the walk met
# rows in these states (so a page printing the code would have failed it), and each shows its word
# in the page's language
SEEN = [
    ("/jobs", 'data-kind="export"', "导出", "Export"),
    ("/jobs", 'data-kind="service"', "惠企政策匹配", "Support-policy matching"),
    ("/jobs", "status-failed", "失败", "failed"),
    ("/service/payouts", 'data-state="paid"', "已兑现", "Paid"),
    ("/service/payouts", 'data-state="confirmed"', "已确认", "Confirmed"),
    ("/service/payouts", 'data-state="applied"', "已申报", "Applied"),
    ("{firm}", 'data-state="revoked"', "已撤销", "Revoked"),
    ("{firm}", 'data-state="active"', "有效", "Active"),
    ("{firm}", 'data-state="pushed"', "已联系", "Contacted"),
    ("{firm}", "data-task=", "重点企业名单", "Key enterprise list"),
    ("/targets/registry", 'data-kind="level"', "总量/水平", "Level"),
    ("/transition", "tl-planned", "合成演示", "Synthetic demo"),
    ("/service/lists", 'data-state="pushed"', "已联系", "Contacted"),
]


@pytest.mark.parametrize("url, marker, zh, en", SEEN)
def test_the_walk_meets_rows_and_shows_their_words(own, url, marker, zh, en):
    url = url.format(firm=own.extra[0])
    chinese = _page(own, "admin", url)
    assert marker in chinese, f"{url} has no row {marker}: the walk would not see its code"
    assert zh in _words(chinese)
    english = _words(_page(own, "admin", url, "en"))
    assert en in english and zh not in english


@pytest.mark.parametrize("kind", JOB_PAGES)
def test_screens_list_their_jobs_with_words(own, kind):
    """Each screen's list of background jobs (met by the walk) names the job's status in words."""
    url, job_id = JOB_PAGES[kind], own.world.jobs[f"county {kind}"]
    zh, en = ("失败", "failed") if kind == "import" else ("已完成", "done")
    link = f'href="/jobs/{job_id}"'
    for role in ("admin",) if kind == "alerts" else WALKED:     # scanning alerts: admin and province only
        for lang, word in (("zh", zh), ("en", en)):
            page = _page(own, role, url, lang)
            assert link in page, (role, url)
            after = page[page.index(link):][:300].partition(">")[2]       # the job's line
            assert word in _words(after), (role, url, lang, _words(after))


def test_a_pool_firm_reads_its_tier_in_words(own):
    """A listing-pipeline tier is an id of the preset (start, sprint …): the firm's page names it."""
    from shanhai.policy._service_desk import pipeline

    tiers = {t.id: t for t in pipeline("xiaoshan-2021").tiers}
    page = _page(own, "admin", own.extra[1])
    tier = re.search(r'data-tier="([a-z_]+)"', page).group(1)
    assert tier in tiers and f'data-tier="{tier}">{tiers[tier].label}<' in page
    assert f'data-tier="{tier}">{tiers[tier].label_en}<' in _page(own, "admin", own.extra[1], "en")


def test_english_pages_name_codes_in_english(own):
    """The English view uses the maps' English words. (Some English words are the codes
    themselves — a job is ``done``, a department ``county`` — so the walk's check is Chinese only.)"""
    jobs = _page(own, "admin", "/jobs", "en")
    assert ">Export</td>" in jobs and ">Power-use alert scan</td>" in jobs and ">导出<" not in jobs
    request_id = own.world.request_ids[0][0]
    assert re.search(r"\((县级|市级|省级)\)", _words(_page(own, "admin", f"/service/requests/{request_id}")))
    english = _words(_page(own, "admin", f"/service/requests/{request_id}", "en"))
    assert re.search(r"\((county|city|province)\)", english) and "县级" not in english
    users = _words(_page(own, "admin", "/admin/users", "en"))
    assert "administrator" in users and "系统管理员" not in users


def test_label_maps_cover_their_codes():
    """Every code the templates' label() meets has a word: the maps against the codes' own lists
    (and every job kind a screen submits), and an unknown code shows as itself instead of failing."""
    from pathlib import Path
    from typing import get_args

    from shanhai.jobs import service_lists, service_requests, transition
    from shanhai.policy._indicator_registry import Calendar, Indicator
    from shanhai.policy._model import Benchmark, IndicatorRule
    from shanhai.policy._rules import AMOUNT_KINDS
    from shanhai.policy._transition import QUOTA_KINDS
    from shanhai.store import accounts
    from shanhai.web import deps
    from shanhai.web.routers import chain_admin

    assert set(deps.label_map("amount_kind")) == set(AMOUNT_KINDS)
    assert set(deps.label_map("quota_kind")) == set(QUOTA_KINDS)
    assert set(deps.label_map("benchmark_kind")) == set(get_args(Benchmark.model_fields["kind"].annotation))
    assert set(deps.label_map("missing_rule")) == set(get_args(IndicatorRule.model_fields["missing"].annotation))
    assert set(deps.label_map("service_task_state")) == set(service_lists.TASK_STATES)
    assert set(deps.label_map("service_task_source")) >= set(service_lists.SOURCES.values())
    assert set(deps.label_map("role")) == set(accounts.ROLES)
    assert set(deps.label_map("job_status")) == {"queued", "running", "done", "failed"}
    assert deps.label_map("link_state") is service_requests.LINK_STATE_LABELS
    assert deps.label_map("action_source") is transition.SOURCE_LABELS
    assert set(deps.label_map("calendar_basis")) == set(get_args(Calendar.model_fields["basis"].annotation))
    assert set(deps.label_map("cadence")) == set(get_args(Indicator.model_fields["cadence"].annotation))
    web = Path(deps.__file__).parent
    submitted = {k for f in [*web.glob("*.py"), *(web / "routers").glob("*.py")]
                 for k in re.findall(r'submit\(\s*"([a-z_]+)"', f.read_text("utf-8"))} | {chain_admin.KIND}
    assert len(submitted) >= 10 and submitted <= set(deps.label_map("job_kind")), submitted
    assert deps.label_of("job_kind", "export", "zh") == "导出" and deps.label_of("job_kind", "export", "en") == "Export"
    assert deps.label_of("payout_state", "no-such-state", "zh") == "no-such-state"
    assert deps.label_of("payout_state", None, "zh") == ""
    with pytest.raises(KeyError):
        deps.label_map("no_such_vocabulary")
