"""Router plugins: every module here defining ``router: APIRouter`` is included by
:func:`shanhai.web.app.create_app`; ``NAV = [(order, path, zh, en, roles_or_None)]`` adds top
navigation entries. Modules whose name starts with ``_`` are skipped. See docs/web.md.
"""
