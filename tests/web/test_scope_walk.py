"""Walk EVERY route of the app, for every role, and check the region scope.

For each route in ``app.routes`` (routers added later are walked automatically), the path
parameters are filled from :data:`PARAMS`: values inside the caller's region and values outside
it (another county's firm, another city's run, an adcode elsewhere, someone else's job, and ids
that do not exist). The walk asserts that

- no response — HTML, JSON, CSV, Excel, Word or PDF — contains the USCC or the name of a firm
  outside the caller's region (the ids the request itself named are not counted);
- asking for an object outside the region (or one that does not exist) answers 403 or 404
  (state-changing routes are only ever called with such ids, and may also answer 422 when
  their form is missing);
- no route answers 5xx, and GET routes given out-of-region ``?region=`` / ``?adcode=`` /
  ``?county=`` / ``?uscc=`` / ``?run=`` query parameters still leak nothing.

A route with a path parameter that PARAMS cannot fill fails the walk: register values for it.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Callable
from itertools import product
from types import SimpleNamespace
from urllib.parse import quote, urlencode

import pytest

from shanhai.store.connection import Store
from shanhai.store.scope import Scope
from shanhai.web.app import app_routes

ROLES = ("admin", "province", "city", "county", "viewer")
WIDE = ("admin", "province")
MISSING_USCC = "91330000MA00000000"        # well-formed, in no table
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture(scope="module")
def world(app, web_db, clients):
    """Ids inside and outside each role's region, and the out-of-region firms to look for."""
    return build_world(app, web_db)


def build_world(app, web_db, label: str = "walk {role}") -> SimpleNamespace:
    """``world`` over ``app`` (started) and its ``web_db`` (tests/web/test_words_not_codes.py walks its own)."""
    cur = app.state.store.con.cursor()
    store = Store(app.state.db_path, cur, False)
    try:
        users = {role: u for role, u in web_db.users.items()}
        # a finished background job per role
        job_ids = {}
        for role, user in users.items():
            job_ids[role] = app.state.jobs.submit("export", label.format(role=role), lambda progress: None, user)
        for job_id in job_ids.values():
            app.state.jobs.wait(job_id)
        # an import summary of the county user (the data screen's documented layout)
        token = "walkimport0001"
        folder = web_db.path.parent / f"{web_db.path.name}.uploads" / token
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "summary.json").write_text(json.dumps({
            "token": token, "user_id": users["county"].user_id, "username": users["county"].username,
            "kind": "enterprises", "file_name": "walk.xlsx", "finished_at": "2026-01-01T00:00:00",
            "rows": 0, "inserted": 0, "updated": 0, "rejected": 0}, ensure_ascii=False), "utf-8")
        firms = store.con.execute("SELECT uscc, name, county_adcode FROM enterprises").fetchall()
        scopes = {role: Scope.of(store, u.region_adcode) for role, u in users.items()}
        leaks = {}
        for role, scope in scopes.items():
            inside_names = {n for u, n, c in firms if scope.covers(c)}
            leaks[role] = SimpleNamespace(
                usccs={u for u, n, c in firms if not scope.covers(c)},
                names={n for u, n, c in firms if not scope.covers(c) and n not in inside_names})
    finally:
        cur.close()
    return SimpleNamespace(db=web_db, users=users, jobs=job_ids, token=token, leaks=leaks, scopes=scopes)


def _narrow(role: str) -> bool:
    return role not in WIDE


def _pairing_plans(w) -> dict[str, str]:
    """Two 一企一县 pairing plans, made once through the server's job runner: the whole province's
    (every role sees its own counties in it) and 衢州's only (outside 丽水 and 景宁)."""
    if not hasattr(w, "pairing_plans"):
        from shanhai.jobs import pairing
        from shanhai.web.jobs import runner

        made: dict[str, str] = {}

        def plan(key, region):
            def job(progress):
                made[key] = pairing.build_plan(progress.store, Scope.province(), region=region, user="walk")["run_id"]
            return job

        for key, region in (("province", None), ("quzhou", "330800")):
            job = runner().wait(runner().submit("pairing", f"walk {key}", plan(key, region), w.users["admin"]), 120)
            assert job.status == "done", job.error
        w.pairing_plans = made
    return w.pairing_plans


def _alert_ids(w) -> list[tuple[str, str, str]]:
    """(alert_id, task_id, county) of the visit tasks of one early-warning scan of the latest
    month, made once through the server's job runner."""
    if not hasattr(w, "alert_ids"):
        from shanhai.jobs import alerts
        from shanhai.web.jobs import runner

        made: list = []

        def job(progress):
            alerts.scan(progress.store, user="walk")
            made.extend(progress.store.con.execute(
                "SELECT alert_id, task_id, county_adcode FROM visit_tasks ORDER BY priority DESC").fetchall())

        done = runner().wait(runner().submit("export", "walk alerts scan", job, w.users["admin"]), 120)
        assert done.status == "done", done.error
        w.alert_ids = made
    return w.alert_ids


def _alert_param(w, role, i: int, missing: str) -> tuple[list[str], list[str]]:
    """An alert's (i = 0) or task's (i = 1) id inside the role's region (when it has one) and one outside."""
    rows = _alert_ids(w)
    inside = [r[i] for r in rows if w.scopes[role].covers(r[2])][:1]
    outside = [r[i] for r in rows if not w.scopes[role].covers(r[2])][:1] if _narrow(role) else []
    return inside, outside + [missing]


def _request_ids(w) -> list[tuple[str, str]]:
    """(request_id, county) of one enterprise request per county of the walk's firms (issue 12's
    service desk), made once through the server's job runner."""
    if not hasattr(w, "request_ids"):
        from shanhai.jobs import service_requests
        from shanhai.web.jobs import runner

        made: list = []

        def job(progress):
            for uscc in (w.db.firm_in[0], w.db.firm_near[0], w.db.firm_far[0]):
                q = service_requests.submit(progress.store, Scope.province(), uscc=uscc, title="walk", user="walk")
                made.append((q["request_id"], q["county_adcode"]))

        done = runner().wait(runner().submit("export", "walk requests", job, w.users["admin"]), 120)
        assert done.status == "done", done.error
        w.request_ids = made
    return w.request_ids


def _request_param(w, role) -> tuple[list[str], list[str]]:
    rows = _request_ids(w)
    inside = [r[0] for r in rows if w.scopes[role].covers(r[1])][:1]
    outside = [r[0] for r in rows if not w.scopes[role].covers(r[1])][:1] if _narrow(role) else []
    return inside, outside + ["R19990101-nosuchrq"]


# name → (world, role) → (values inside the role's region, values outside it or missing)
PARAMS: dict[str, Callable[[SimpleNamespace, str], tuple[list[str], list[str]]]] = {
    "run_id": lambda w, role: (
        [w.db.province_run, w.db.county_run],
        ([w.db.far_run] if _narrow(role) else []) + ["mujun-1999-nosuchrun"]),
    "uscc": lambda w, role: (
        [w.db.firm_in[0]] + ([w.db.firm_near[0]] if role in ("admin", "province", "city") else []),
        ([w.db.firm_far[0]] if _narrow(role) else []) + ([w.db.firm_near[0]] if role in ("county", "viewer") else [])
        + [MISSING_USCC]),
    "adcode": lambda w, role: (
        [w.db.county] + ([w.db.city, w.db.near_county] if role != "county" and role != "viewer" else []),
        ([w.db.far_county, "330100"] if _narrow(role) else [])
        + ([w.db.near_county, w.db.city] if role in ("county", "viewer") else []) + ["339999"]),
    "name": lambda w, role: (["zhejiang-2018"], ["no-such-preset"]),
    # imports: the county user's (a bare summary file) is someone else's for every other role
    "token": lambda w, role: (
        [], ([] if role in ("county", "admin") else [w.token]) + ["nosuchimport00"]),
    "job_id": lambda w, role: (
        [w.jobs[role]],
        [w.jobs[other] for other in ROLES if other != role and role != "admin"][:2] + ["nosuchjob"]),
    "user_id": lambda w, role: (
        [str(w.users[role].user_id)],
        ([str(w.users["admin"].user_id)] if role != "admin" else []) + ["999999"]),
    # industrial chains are the same for every region (the region is a query parameter)
    "chain_id": lambda w, role: (["modern_textiles"], ["no_such_chain"]),
    "segment_id": lambda w, role: (["modern_textiles.midstream"], ["no_such_chain.upstream"]),
    # pairing plans: the province's is seen by every role (its own counties), 衢州's is outside narrow roles
    "plan_id": lambda w, role: (
        [_pairing_plans(w)["province"]],
        ([_pairing_plans(w)["quzhou"]] if _narrow(role) else []) + ["pairing-19990101T000000-000000"]),
    # investment leads: synth gives every county the lead LD<adcode>001, found by it
    "lead_id": lambda w, role: (
        [f"LD{w.db.county}001"],
        ([f"LD{w.db.far_county}001"] if _narrow(role) else [])
        + ([f"LD{w.db.near_county}001"] if role in ("county", "viewer") else []) + ["LD000000999"]),
    # development zones: synth gives every county one zone, Z<adcode>, run by that county
    "zone_id": lambda w, role: (
        [f"Z{w.db.county}"] + ([f"Z{w.db.near_county}"] if role in ("admin", "province", "city") else []),
        ([f"Z{w.db.far_county}"] if _narrow(role) else [])
        + ([f"Z{w.db.near_county}"] if role in ("county", "viewer") else []) + ["Z000000"]),
    # the indicator registry is the same for every region (the region is a query parameter)
    "indicator_id": lambda w, role: (["industrial_va", "tax_per_mu"], ["no_such_indicator"]),
    # early warning: alerts and visit tasks of one scan, by the firm's county
    "alert_id": lambda w, role: _alert_param(w, role, 0, "alerts-199901-nosuchalert"),
    "task_id": lambda w, role: _alert_param(w, role, 1, "T-alerts-199901-nosuchtask"),
    # support-policy items are the same for every region (firms are filtered by the caller's scope)
    "item_id": lambda w, role: (["zhuji-digital-spend-2024"], ["no-such-item"]),
    "action": lambda w, role: (["confirm"], ["no-such-action"]),
    # enterprise requests (issue 12's service desk): one per walk firm, by the firm's county
    "request_id": lambda w, role: _request_param(w, role),
}

# query parameters a reader might honour: filled with a value outside the role's region
QUERY_PROBES = ("region", "adcode", "county", "city", "uscc", "run", "run_id")


def _probe_values(w, role) -> dict[str, str]:
    far = w.db.far_county if _narrow(role) else "339999"
    return {"region": far, "adcode": far, "county": far, "city": "330100" if _narrow(role) else "339900",
            "uscc": w.db.firm_far[0] if _narrow(role) else MISSING_USCC, "run": w.db.far_run, "run_id": w.db.far_run}


def _routes(app):
    """(path, method, param names) of every route the app serves (static files aside)."""
    out = []
    for r in app_routes(app):
        methods = getattr(r, "methods", None)
        if not methods:
            continue                        # the /static mount: files, no data
        names = re.findall(r"{([^}:]+)(?::[^}]*)?}", r.path)
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            out.append((r.path, method, names))
    return out


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{([^}:]+)(?::[^}]*)?}", lambda m: quote(values[m.group(1)], safe=""), path)


def _texts(response) -> str:
    """Everything readable in a response: the text of pages and JSON, the XML inside Excel and
    Word files, the text layer of a PDF."""
    body = response.content
    ctype = response.headers.get("content-type", "")
    if body[:4] == b"PK\x03\x04":
        parts = []
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            for name in z.namelist():
                if name.endswith((".xml", ".rels")):
                    parts.append(z.read(name).decode("utf-8", "ignore"))
        return "\n".join(parts)
    if body[:5] == b"%PDF-":
        if shutil.which("pdftotext") is None:
            pytest.fail("pdftotext (poppler-utils) is needed to read PDF responses: `make sysdeps`")
        done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=body, capture_output=True, timeout=60)
        return done.stdout.decode("utf-8", "ignore")
    if "image/" in ctype:
        return ""
    return body.decode("utf-8", "ignore")


USCC_RE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{18}(?![0-9A-Z])")
NAME_END = re.compile(r"公司|厂")


def _leaks(text: str, leaks: SimpleNamespace, asked: set[str]) -> list[str]:
    found = set()
    for m in USCC_RE.finditer(text):
        if m.group(0) in leaks.usccs and m.group(0) not in asked:
            found.add(m.group(0))
    if leaks.names:
        for m in NAME_END.finditer(text):
            end = m.end()
            for k in range(4, 41):
                if end - k < 0:
                    break
                candidate = text[end - k:end]
                if candidate in leaks.names:
                    found.add(candidate)
    return sorted(found)


def _combos(names, w, role):
    """The fillings to request: all inside; then each parameter outside in turn (others inside)."""
    inside, outside = {}, {}
    for name in names:
        if name not in PARAMS:
            raise LookupError(name)
        inside[name], outside[name] = PARAMS[name](w, role)
    ok = [] if any(not inside[n] for n in names) else [dict(zip(names, vals))
                                                       for vals in product(*(inside[n] for n in names))][:3]
    bad = []
    for name in names:
        base = {n: (inside[n][0] if inside[n] else None) for n in names}
        for value in outside[name]:
            filled = {**base, name: value}
            if all(v is not None for v in filled.values()):
                bad.append((name, filled))
            else:   # no inside value for another parameter: use its outside ones
                for others in product(*([v] if v is not None else outside[n] for n, v in filled.items())):
                    bad.append((name, dict(zip(names, others))))
    return ok, bad


def test_every_path_parameter_is_registered(app):
    unknown = sorted({(path, name) for path, _, names in _routes(app) for name in names if name not in PARAMS})
    assert not unknown, (
        "routes with path parameters the scope walk cannot fill — add each name to PARAMS in "
        f"tests/web/test_scope_walk.py with values inside and outside every role's region: {unknown}")


@pytest.mark.parametrize("role", ROLES)
def test_scope_walk(app, clients, world, role):
    client = clients[role]
    leaks = world.leaks[role]
    problems: list[str] = []
    walked = 0
    timings = []
    for path, method, names in _routes(app):
        started = time.perf_counter()
        if path in ("/signout",):
            continue                        # would end the walking client's session
        try:
            ok, bad = _combos(names, world, role)
        except LookupError as exc:
            pytest.fail(f"route {method} {path}: path parameter {exc} has no values in PARAMS "
                        "(tests/web/test_scope_walk.py): register values inside and outside each role's region")
        headers = {"X-CSRF-Token": client.csrf}
        if method == "GET":
            for i, values in enumerate(ok or ([{}] if not names else [])):
                url = _fill(path, values)
                r = client.get(url, follow_redirects=False)
                walked += 1
                if r.status_code >= 500:
                    problems.append(f"GET {url} → {r.status_code}")
                found = _leaks(_texts(r), leaks, set(values.values()))
                if found:
                    problems.append(f"GET {url} ({r.status_code}) shows firms outside {role}'s region: {found[:5]}")
                if i:
                    continue
                # the first filling again with out-of-region query parameters
                probes = _probe_values(world, role)
                url_q = url + ("&" if "?" in url else "?") + urlencode(probes)
                r = client.get(url_q, follow_redirects=False)
                walked += 1
                if r.status_code >= 500:
                    problems.append(f"GET {url_q} → {r.status_code}")
                found = _leaks(_texts(r), leaks, set(values.values()) | set(probes.values()))
                if found:
                    problems.append(f"GET {url_q} ({r.status_code}) shows firms outside {role}'s region: {found[:5]}")
        for name, values in bad:
            if method != "GET" and method not in UNSAFE:
                continue
            url = _fill(path, values)
            r = client.request(method, url, headers=headers, follow_redirects=False)
            walked += 1
            allowed = (403, 404) if method == "GET" else (403, 404, 422)
            if r.status_code not in allowed:
                problems.append(f"{method} {url} ({name} outside {role}'s region) → {r.status_code}, "
                                f"expected {' or '.join(map(str, allowed))}")
            found = _leaks(_texts(r), leaks, set(values.values()))
            if found:
                problems.append(f"{method} {url} ({r.status_code}) shows firms outside {role}'s region: {found[:5]}")
        timings.append((time.perf_counter() - started, method, path))
    print("slowest routes:", [(round(s, 2), m, p) for s, m, p in sorted(timings, reverse=True)[:5]])
    assert walked > 0
    assert not problems, f"{len(problems)} scope problems for {role}:\n" + "\n".join(problems[:60])


def test_the_walk_would_notice_a_leak(world):
    """The detector itself: an out-of-region USCC or firm name is found, an asked-for one is not."""
    leaks = world.leaks["county"]
    uscc, name = world.db.firm_far
    assert _leaks(f"<td>{uscc}</td><td>{name}</td>", leaks, set()) == sorted({uscc, name})
    assert _leaks(f"/enterprises/{uscc} 不在您的数据范围内", leaks, {uscc}) == []
    assert _leaks(f"<td>{world.db.firm_in[0]}</td><td>{world.db.firm_in[1]}</td>", leaks, set()) == []
    assert world.leaks["province"].usccs == set() and world.leaks["admin"].names == set()


def test_a_route_with_an_unknown_parameter_fails_the_walk(world):
    with pytest.raises(LookupError):
        _combos(["no_such_parameter"], world, "county")
