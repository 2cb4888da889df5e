"""Every link a page shows leads somewhere: no 404, no 500 behind an ``<a href>``.

The walk opens the HTML pages of the app as the administrator and as a county user (the pages of
tests/web/test_words_not_codes.py: every GET route, path parameters filled inside the role's
region, over a store with rows in every state), collects the ``href`` of every ``<a>`` that stays
inside the app and follows each one once. A link must answer 200 or a redirect: a 404 is a link
to a page that does not exist (the 腾笼换鸟 register linked every firm to /enterprises/USCC), a
403 a link the reader is refused, a 500 a page that breaks. Links to the same route with other ids are
sampled (:data:`PER_ROUTE` of them per route of the app and set of query keys) so a run table of a
thousand firms costs a few requests; a link no route matches is followed (and answers 404).
"""

from __future__ import annotations

from collections import defaultdict
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from shanhai.web.app import app_routes
from test_words_not_codes import WALKED, _pages, own  # noqa: F401  (own: the fixture)

PER_ROUTE = 3
SKIP = ("/signout", "/lang", "/static/")        # a link that signs out or only switches the language cookie


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def links_of(html: str, page_url: str) -> list[str]:
    """The in-app links of a page, as path + query (fragments, mail and other sites left out)."""
    parser = _Links()
    parser.feed(html)
    out = []
    for href in parser.hrefs:
        if href.startswith(("#", "mailto:", "javascript:", "tel:")):
            continue
        parts = urlsplit(urljoin("http://testserver" + page_url, href))
        if parts.netloc != "testserver":
            continue
        out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def _shape(url: str, routes) -> str:
    """The route a link goes to (its path template, or the path when none matches) and its query's keys."""
    path, _, query = url.partition("?")
    template = next((r.path for r in routes if getattr(r, "path_regex", None) is not None and r.path_regex.match(path)),
                    path)
    keys = sorted({p.partition("=")[0] for p in query.split("&") if p})
    return template + "?" + "&".join(keys)


def test_links_are_found_and_shaped():
    html = ('<a href="/coop/counties/331127?year=2024">县</a><a href="#top">顶</a><a href="https://x.org/">外</a>'
            '<a href="items/a">相对</a><a>无</a>')
    assert links_of(html, "/service/") == ["/coop/counties/331127?year=2024", "/service/items/a"]


def test_links_are_sampled_per_route(own):  # noqa: F811
    routes = app_routes(own.app)
    assert _shape("/mujun/runs/mujun-2024-20261207T232655-c12f43/enterprises/91331127234832221A?x=1&a=2&x=3", routes) == \
        "/mujun/runs/{run_id}/enterprises/{uscc}?a&x"
    assert _shape("/no/such/page", routes) == "/no/such/page?"


@pytest.mark.parametrize("role", WALKED)
def test_every_link_of_every_page_answers(own, role):  # noqa: F811
    client = own.clients[role]
    sources: dict[str, str] = {}
    for url, response in _pages(own, role):
        for link in links_of(response.text, url):
            if not link.startswith(SKIP):
                sources.setdefault(link, url)
    routes = app_routes(own.app)
    sampled: dict[str, int] = defaultdict(int)
    broken, followed = [], 0
    for link, page in sorted(sources.items()):
        shape = _shape(link, routes)
        if sampled[shape] >= PER_ROUTE:
            continue
        sampled[shape] += 1
        followed += 1
        status = client.get(link, follow_redirects=False).status_code
        if status not in (200, 301, 302, 303, 307):
            broken.append(f"{status} {link}  (on {page})")
    assert followed > 100, followed
    assert not broken, f"{len(broken)} links of {role}'s pages do not answer:\n" + "\n".join(broken)
