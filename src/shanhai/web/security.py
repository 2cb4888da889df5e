"""Response headers and the cookies every page may need, as one plain ASGI middleware.

- Content-Security-Policy ``default-src 'self'`` (scripts only from files under /static, no
  inline script; inline ``style`` attributes allowed for ECharts' tooltips; images also from
  ``data:``/``blob:`` for chart downloads), ``frame-ancestors 'none'`` and X-Frame-Options DENY,
  nosniff, a same-origin referrer, HSTS when served over https.
- ``Cache-Control: no-store`` on every response outside /static (data pages, exports, the API)
  unless the route set its own.
- ``?lang=zh|en`` on any page stores the language in a cookie.
- A page rendered before sign-in gets the anonymous cookie its CSRF token is bound to.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
       "form-action 'self'")
LANG_MAX_AGE = 365 * 24 * 3600


class SecurityMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from shanhai.web import deps

        path = scope.get("path", "")
        https = scope.get("scheme") == "https"
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        lang = (query.get("lang") or [None])[0]
        state = scope.setdefault("state", {})
        app = scope["app"]

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                add = [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if https:
                    add.append((b"strict-transport-security", b"max-age=31536000"))
                if b"cache-control" not in names:
                    add.append((b"cache-control", b"public, max-age=3600" if path.startswith("/static/")
                                else b"no-store"))
                cookies = []
                if lang in deps.LANGS:
                    cookies.append((deps.LANG_COOKIE, lang, LANG_MAX_AGE))
                seed = state.get("anon_seed")
                if seed:
                    cookies.append((deps.ANON_COOKIE, seed, None))
                for name, value, max_age in cookies:
                    c = SimpleCookie()
                    c[name] = deps.sign(app, value)
                    c[name]["path"] = "/"
                    c[name]["httponly"] = True
                    c[name]["samesite"] = "Lax"
                    if https:
                        c[name]["secure"] = True
                    if max_age:
                        c[name]["max-age"] = max_age
                    add.append((b"set-cookie", c.output(header="").strip().encode("latin-1")))
                message = {**message, "headers": headers + [h for h in add if h[0] not in names or h[0] == b"set-cookie"]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
